"""Reading the cards table: the latest issue of each card, and the issue in use at each transaction.

    from cardworld.io.cards import join_card_issues, latest_card_issues
    cards = read_table("out/world", "cards")              # one row per issue (reissues, replacements)
    current = latest_card_issues(cards)                   # one row per (user_id, card_index)
    tx = join_card_issues(read_dataset_transactions("out/world"), cards)   # + the issue's columns

``cards.parquet`` has one row per issue of a card index, each in use on ``[valid_from, valid_to)``, so a
plain join on ``(user_id, card_index)`` repeats each transaction once per issue. The right join is as of
the transaction's time: the issue of its ``(user_id, card_id)`` with ``valid_from <= timestamp <
valid_to``; every transaction of a generated dataset has exactly one. In Polars (both sides sorted by
time; Parquet gives both in milliseconds)::

    tx.sort("timestamp").join_asof(cards.sort("valid_from"), left_on="timestamp", right_on="valid_from",
                                   by_left=["user_id", "card_id"], by_right=["user_id", "card_index"])

Debugging truths, not features: ``card_on_dark_web`` (whether fraud leaked that issue's number, like
``fraudster_id`` on transactions; the TabFormer/sd254 export writes "No" throughout, as TabFormer's file
does), and the end of an issue revoked after fraud (its ``valid_to``, and the replacement's ``valid_from``
and ``cards_issued``) is known only after the fact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from cardworld.errors import InputError

_KEY_COLUMNS = ("user_id", "card_index", "valid_from", "valid_to")


def latest_card_issues(cards: pa.Table) -> pa.Table:
    """One row per (user_id, card_index): the issue with the latest valid_from (the last on ties), sorted
    by user_id then card_index."""
    _require(cards, ("user_id", "card_index", "valid_from"), "cards")
    if cards.num_rows == 0:
        return cards
    user = _ints(cards, "user_id", "cards")
    idx = _ints(cards, "card_index", "cards")
    start = _seconds(cards, "valid_from", "cards")
    order = np.lexsort((start, idx, user))
    u, c = user[order], idx[order]
    last = np.ones(order.size, dtype=bool)
    last[:-1] = (u[1:] != u[:-1]) | (c[1:] != c[:-1])
    return cards.take(pa.array(order[last]))


def card_issue_rows(
    cards: pa.Table, user_id: np.ndarray, card_index: np.ndarray, timestamp: np.ndarray
) -> np.ndarray:
    """Row position in ``cards`` of the issue in use at each (user_id, card_index, timestamp): the issue
    of that card with ``valid_from <= timestamp < valid_to`` (the latest-starting one if issues overlap),
    -1 where there is none. ``timestamp``: int64 seconds since 1970 or datetime64."""
    _require(cards, _KEY_COLUMNS, "cards")
    m = cards.num_rows
    t = _as_seconds(np.asarray(timestamp))
    key = _card_key(np.asarray(user_id), np.asarray(card_index))
    if t.shape != key.shape:
        raise InputError(
            f"card_issue_rows: user_id, card_index and timestamp must have one value per transaction, "
            f"got {key.size} keys and {t.size} timestamps"
        )
    ckey = _card_key(_ints(cards, "user_id", "cards"), _ints(cards, "card_index", "cards"))
    vf = _seconds(cards, "valid_from", "cards")
    vt = _seconds(cards, "valid_to", "cards")
    # One sort of issue starts and transaction times by (card, time); an issue sorts before a transaction
    # at its starting second. Each transaction's candidate is the last issue start before it.
    keys = np.concatenate([ckey, key])
    times = np.concatenate([vf, t])
    is_tx = np.concatenate([np.zeros(m, np.int8), np.ones(key.size, np.int8)])
    o = np.lexsort((is_tx, times, keys))
    last = np.maximum.accumulate(np.where(is_tx[o] == 0, np.arange(o.size), -1))
    out = np.full(key.size, -1, dtype=np.int64)
    tx_at = np.flatnonzero(is_tx[o] == 1)
    cand = np.where(last[tx_at] >= 0, o[np.maximum(last[tx_at], 0)], -1)
    tx_row = o[tx_at] - m
    ok = cand >= 0
    ok[ok] = (ckey[cand[ok]] == key[tx_row[ok]]) & (t[tx_row[ok]] < vt[cand[ok]])
    out[tx_row[ok]] = cand[ok]
    return out


def join_card_issues(
    transactions: pa.Table,
    cards: pa.Table,
    columns: Sequence[str] | None = None,
    card_column: str = "card_id",
) -> pa.Table:
    """``transactions`` with the columns of the card issue in use at each row appended (as of
    ``timestamp``: see ``card_issue_rows``); null where a row has no issue. ``columns``: the cards columns
    to append (default: all but user_id and card_index); ``card_column``: the transactions' card index."""
    _require(transactions, ("user_id", card_column, "timestamp"), "transactions")
    names = (
        [c for c in cards.column_names if c not in ("user_id", "card_index")]
        if columns is None
        else list(columns)
    )
    _require(cards, names, "cards")
    clash = [c for c in names if c in transactions.column_names]
    if clash:
        raise InputError(
            f"join_card_issues: the transactions already have column(s) {clash}; drop or rename them, or "
            "leave them out of columns"
        )
    rows = card_issue_rows(
        cards,
        _ints(transactions, "user_id", "transactions"),
        _ints(transactions, card_column, "transactions"),
        _seconds(transactions, "timestamp", "transactions"),
    )
    picked = cards.select(names).take(pa.array(rows, mask=rows < 0))
    out = transactions
    for name in names:
        out = out.append_column(cards.schema.field(name), picked.column(name))
    return out


def _require(table: pa.Table, names: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise InputError(
            f"{what}: no column(s) {missing} (has {table.column_names}); pass the dataset's {what} table "
            "(cardworld.io.dataset.read_table / read_dataset_transactions)"
        )


def _ints(table: pa.Table, name: str, what: str) -> np.ndarray:
    col = table.column(name)
    if col.null_count or not pa.types.is_integer(col.type):
        raise InputError(
            f"{what}.{name} must be integers without nulls, got {col.type} ({col.null_count} nulls)"
        )
    return col.to_numpy().astype(np.int64)


def _seconds(table: pa.Table, name: str, what: str) -> np.ndarray:
    """A timestamp (any unit) or integer-seconds column as int64 seconds since 1970."""
    col = table.column(name)
    if col.null_count:
        raise InputError(f"{what}.{name} has {col.null_count} nulls; every row needs a time")
    if pa.types.is_timestamp(col.type):
        per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[col.type.unit]
        return np.floor_divide(col.cast(pa.int64()).to_numpy(), per_second)
    if pa.types.is_integer(col.type):
        return col.to_numpy().astype(np.int64)
    raise InputError(f"{what}.{name} must be a timestamp (or integer seconds since 1970), got {col.type}")


def _as_seconds(t: np.ndarray) -> np.ndarray:
    if t.dtype.kind == "M":
        return t.astype("datetime64[s]").astype(np.int64)
    if t.dtype.kind not in "iu":
        raise InputError(f"card_issue_rows: timestamp must be int64 seconds or datetime64, got {t.dtype}")
    return t.astype(np.int64)


def _card_key(user: np.ndarray, card: np.ndarray) -> np.ndarray:
    """One int64 per (user, card index): card indexes are small non-negative numbers (int16)."""
    return (user.astype(np.int64) << 16) | (card.astype(np.int64) & 0xFFFF)


__all__ = ["card_issue_rows", "join_card_issues", "latest_card_issues"]
