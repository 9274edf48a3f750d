"""Last stage of a consumer's life (sim.consumer): their rows as coded transaction and cash columns."""

from __future__ import annotations

import numpy as np

from cardworld.sim.context import SimContext
from cardworld.sim.fraud import FraudRows
from cardworld.sim.merchant_choice import merchant_place
from cardworld.sim.rows import CardRows, ConsumerInput, Purchases
from cardworld.world.merchants import merchant_hash


def coded_columns(
    ctx: SimContext,
    user_id: int,
    time: np.ndarray,
    amount: np.ndarray,
    cell: np.ndarray,
    mcc: np.ndarray,
    k: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(the columns every row has, coded against ctx's vocabularies; the rows' merchant hashes)."""
    h = merchant_hash(ctx.cfg.seed, cell, mcc, k)
    city, state, zipc = merchant_place(ctx, cell, h)
    cols = {
        "user_id": np.full(time.size, user_id, dtype=np.int32),
        "timestamp": time.astype(np.int64),
        "amount": amount.astype(np.float64),
        "merchant_id": h.view(np.int64),
        "merchant_city": city.astype(np.int32),
        "merchant_state": state.astype(np.int32),
        "zip": zipc.astype(np.int32),
        "mcc": mcc.astype(np.int16),
    }
    return cols, h


def card_columns(
    ctx: SimContext, c: ConsumerInput, rows: CardRows, fraud: FraudRows | None, n_purchases: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(transaction columns of the card rows, the (m, 3) unique (cell, mcc, k) merchants they visit).
    A replacement after fraud keeps the card index, so card_id is the issue's card index. No draws."""
    cols, h = coded_columns(ctx, c.user_id, rows.time, rows.amount, rows.cell, rows.mcc, rows.k)
    cols["use_chip"] = rows.chan.astype(np.int8)
    cols["errors"] = rows.errors.astype(np.uint8)
    cols["card_id"] = c.card_index[rows.issue].astype(np.int64).astype(np.int16)
    fraudster = np.full(len(rows), -1, dtype=np.int32)
    if fraud is not None and rows.is_fraud.any():
        fraudster[rows.is_fraud] = fraud.fraudster[rows.source[rows.is_fraud] - n_purchases]
    cols["is_fraud"] = rows.is_fraud
    cols["fraudster_id"] = fraudster
    # Visited merchants, unique by their hash (a 64-bit sort, far cheaper than unique rows).
    _, first = np.unique(h, return_index=True)
    seen = np.stack([rows.cell[first], rows.mcc[first], rows.k[first]], axis=1)
    return cols, seen


def cash_columns(ctx: SimContext, c: ConsumerInput, p: Purchases) -> dict[str, np.ndarray]:
    """Columns of the purchases paid cash, sorted by time (stable). No draws."""
    at = np.flatnonzero(p.cash)
    cols, _ = coded_columns(ctx, c.user_id, p.time[at], p.cents[at] / 100.0, p.cell[at], p.mcc[at], p.k[at])
    o = np.argsort(cols["timestamp"], kind="stable")
    return {name: v[o] for name, v in cols.items()}


__all__ = ["card_columns", "cash_columns", "coded_columns"]
