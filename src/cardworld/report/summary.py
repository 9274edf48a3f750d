"""A short summary of a dataset directory: what `make run` prints after generating a world."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from cardworld.codes import USE_CHIP
from cardworld.data.mcc import mcc_description
from cardworld.engine.run import dataset_config
from cardworld.errors import ConfigError
from cardworld.io.dataset import MANIFEST, read_dataset_transactions, read_manifest, read_table
from cardworld.report.credit import credit_rates, credit_state, pooled_rates

#: The first key of a summary of a what-if world; its value says why the world is not representative.
NOT_REPRESENTATIVE = "not representative"
#: The note of a dataset generated with the credit cycle off (one made before the cycle has none).
CREDIT_OFF = "credit cycle: off"
CREDIT_EMPTY = "credit cycle: on, but no account had a statement"
#: The columns of the "credit cycle by year" table, in display order.
CREDIT_COLUMNS = (
    "year",
    "unemployment %",
    "charge-off % of balances",
    "accounts charged off %",
    "30+ DPD %",
    "charge-offs",
)


@dataclass(frozen=True)
class Summary:
    """A dataset's summary: figures (label -> value, NOT_REPRESENTATIVE first for a what-if world), the
    "credit cycle by year" rows (CREDIT_COLUMNS -> value; none without statements) and notes (lines)."""

    figures: dict[str, str]
    credit_by_year: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def what_ifs(dataset: str | os.PathLike) -> list[str]:
    """Why a dataset does not represent the default world, from its manifest (empty when it does, or when
    the directory has no manifest to tell)."""
    if not (Path(dataset) / MANIFEST).is_file():
        return []
    manifest = read_manifest(dataset)
    try:
        reasons = dataset_config(dataset).what_ifs()
    except ConfigError:  # a manifest of another version: trust its flag
        reasons = []
    detector = (manifest.get("fraud") or {}).get("detector")
    if detector is not None:
        reasons.append(f"fraud detector in the loop ({detector}): fraud after its flags never happened")
    if not reasons and manifest.get("representative") is False:
        reasons.append("the manifest says representative: false")
    return reasons


def summarize(dataset: str | os.PathLike, top: int = 5) -> dict[str, str]:
    """Label -> formatted value, in display order; a what-if world starts with NOT_REPRESENTATIVE."""
    return dataset_summary(dataset, top).figures


def dataset_summary(dataset: str | os.PathLike, top: int = 5) -> Summary:
    """The figures of `dataset` with, when it has credit statements, its credit cycle: the overall
    charge-off and 30+ DPD rates among the figures and a table by year (see report.credit)."""
    figures = _figures(dataset, top)
    state = credit_state(dataset)
    if state != "on":
        return Summary(figures, notes={"off": [CREDIT_OFF], "empty": [CREDIT_EMPTY]}.get(state, []))
    rates = credit_rates(dataset)
    overall = pooled_rates(rates, rates["year"].to_pylist())
    figures["credit charge-offs"] = f"{overall['charge_offs']:,} (${overall['charged_off']:,.0f})"
    figures["credit charge-off rate"] = f"{_pct(overall['charge_off_rate'])} of balances a year"
    figures["credit accounts charged off"] = f"{_pct(overall['account_charge_off_rate'])} of active a year"
    figures["credit 30+ DPD"] = f"{_pct(overall['dpd30_rate'])} of balances"
    return Summary(figures, [_year_row(r) for r in rates.to_pylist()])


def _year_row(r: dict) -> dict[str, str]:
    """A row of credit_rates formatted as a row of the "credit cycle by year" table."""
    values = (
        str(r["year"]),
        f"{r['unemployment']:.1f}",
        _num(r["charge_off_rate"]),
        _num(r["account_charge_off_rate"]),
        _num(r["dpd30_rate"]),
        f"{r['charge_offs']:,}",
    )
    return dict(zip(CREDIT_COLUMNS, values, strict=True))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _figures(dataset: str | os.PathLike, top: int) -> dict[str, str]:
    reasons = what_ifs(dataset)
    tx = read_dataset_transactions(dataset)
    n = tx.num_rows
    consumers = read_table(dataset, "consumers").num_rows
    cards = read_table(dataset, "cards")
    n_cards = len(
        {(u, c) for u, c in zip(cards["user_id"].to_pylist(), cards["card_index"].to_pylist(), strict=True)}
    )
    cash = read_table(dataset, "cash").num_rows
    out = {NOT_REPRESENTATIVE: "; ".join(reasons)} if reasons else {}
    out |= {
        "transactions": f"{n:,}",
        "consumers": f"{consumers:,}",
        "cards (card indexes)": f"{n_cards:,}",
        "cash purchases (cash.parquet)": f"{cash:,}",
    }
    if n == 0:
        return out
    t = tx["timestamp"]
    out["first / last"] = f"{pc.min(t).as_py():%Y-%m-%d} / {pc.max(t).as_py():%Y-%m-%d}"
    chip = Counter(tx["use_chip"].to_pylist())
    for k in USE_CHIP:
        out[k] = f"{100 * chip.get(k, 0) / n:.1f}%"
    amount = tx["amount"].to_numpy()
    out["amount mean / median"] = f"${amount.mean():.2f} / ${np.median(amount):.2f}"
    out["refunds"] = f"{100 * (amount < 0).mean():.1f}%"
    out["rows with errors"] = f"{100 * (1 - tx['errors'].null_count / n):.2f}%"
    fraud = int(pc.sum(tx["is_fraud"]).as_py() or 0)
    out["fraud rate"] = f"{100 * fraud / n:.3f}%"
    codes, counts = np.unique(tx["mcc"].to_numpy(), return_counts=True)
    for i in np.argsort(-counts, kind="stable")[:top]:
        out[f"MCC {codes[i]} {mcc_description(int(codes[i]))[:32]}"] = f"{100 * counts[i] / n:.1f}%"
    return out


__all__ = [
    "CREDIT_COLUMNS",
    "CREDIT_EMPTY",
    "CREDIT_OFF",
    "NOT_REPRESENTATIVE",
    "Summary",
    "dataset_summary",
    "summarize",
    "what_ifs",
]
