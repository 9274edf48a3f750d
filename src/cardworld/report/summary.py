"""A short summary of a dataset directory: what `make run` prints after generating a world.

It streams: the transactions are read part file by part file (only the columns the figures need) into
counts, sums and a histogram of amounts, the cash and consumers tables are counted from their Parquet
footers, and the credit figures come from statements read a chunk of accounts at a time (report.credit).
Memory holds one part file, the cards' (user, card index) pairs and the distinct amounts."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.codes import USE_CHIP
from cardworld.data.mcc import mcc_description
from cardworld.engine.run import dataset_config
from cardworld.errors import ConfigError
from cardworld.io.dataset import MANIFEST, iter_shards, read_manifest, read_table
from cardworld.report.accumulate import Histogram as _Histogram
from cardworld.report.credit import credit_rates, credit_state, pooled_rates, table_rows

#: The first key of a summary of a what-if world; its value says why the world is not representative.
NOT_REPRESENTATIVE = "not representative"
#: The note of a dataset generated with the credit cycle off (one made before the cycle has none).
CREDIT_OFF = "credit cycle: off"
CREDIT_EMPTY = "credit cycle: on, but no account had a statement"
_TX_COLUMNS = ("timestamp", "use_chip", "amount", "errors", "is_fraud", "mcc")  # what _figures reads
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
    tx = _TransactionFigures()
    for _, shard in iter_shards(dataset, _TX_COLUMNS):  # one part file in memory at a time
        tx.add(shard)
    n = tx.rows
    cards = read_table(dataset, "cards", ["user_id", "card_index"])
    codes = cards["user_id"].to_numpy().astype(np.int64) * 65536 + cards["card_index"].to_numpy()
    out = {NOT_REPRESENTATIVE: "; ".join(reasons)} if reasons else {}
    out |= {
        "transactions": f"{n:,}",
        "consumers": f"{table_rows(dataset, 'consumers'):,}",
        "cards (card indexes)": f"{np.unique(codes).size:,}",
        "cash purchases (cash.parquet)": f"{table_rows(dataset, 'cash'):,}",
    }
    if n == 0:
        return out
    out["first / last"] = f"{tx.first:%Y-%m-%d} / {tx.last:%Y-%m-%d}"
    for k in USE_CHIP:
        out[k] = f"{100 * tx.chip.get(k, 0) / n:.1f}%"
    values, counts = tx.amounts.values_counts()
    out["amount mean / median"] = f"${_mean(values, counts, n):.2f} / ${_median(values, counts, n):.2f}"
    out["refunds"] = f"{100 * (int(counts[values < 0].sum()) / n):.1f}%"
    out["rows with errors"] = f"{100 * (1 - tx.no_errors / n):.2f}%"
    out["fraud rate"] = f"{100 * tx.fraud / n:.3f}%"
    mcc = np.array(sorted(tx.mcc), dtype=np.int64)
    mcc_counts = np.array([tx.mcc[int(c)] for c in mcc], dtype=np.int64)
    for i in np.argsort(-mcc_counts, kind="stable")[:top]:  # ties: the lower code first
        out[f"MCC {mcc[i]} {mcc_description(int(mcc[i]))[:32]}"] = f"{100 * mcc_counts[i] / n:.1f}%"
    return out


@dataclass
class _TransactionFigures:
    """What the summary says about the transactions, accumulated part file by part file."""

    rows: int = 0
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    chip: Counter = field(default_factory=Counter)
    amounts: _Histogram = field(default_factory=_Histogram)
    no_errors: int = 0  # rows whose errors field is null
    fraud: int = 0
    mcc: Counter = field(default_factory=Counter)

    def add(self, tx: pa.Table) -> None:
        if tx.num_rows == 0:
            return
        self.rows += tx.num_rows
        lo, hi = pc.min_max(tx["timestamp"]).values()
        self.first = lo.as_py() if self.first is None else min(self.first, lo.as_py())
        self.last = hi.as_py() if self.last is None else max(self.last, hi.as_py())
        for vc in pc.value_counts(tx["use_chip"]).to_pylist():
            self.chip[vc["values"]] += vc["counts"]
        self.amounts.add(tx["amount"].to_numpy())
        self.no_errors += tx["errors"].null_count
        self.fraud += int(pc.sum(tx["is_fraud"]).as_py() or 0)
        codes, counts = np.unique(tx["mcc"].to_numpy(), return_counts=True)
        self.mcc.update(dict(zip(codes.tolist(), counts.tolist(), strict=True)))


def _mean(values: np.ndarray, counts: np.ndarray, n: int) -> float:
    """The mean of the counted values: exact for whole-cent amounts (integer cents), fsum otherwise."""
    cents = np.rint(values * 100)
    if np.array_equal(cents / 100, values):
        return int(np.dot(cents.astype(np.int64), counts)) / (100 * n)  # a correctly rounded quotient
    return math.fsum(values * counts) / n


def _median(values: np.ndarray, counts: np.ndarray, n: int) -> float:
    """np.median of the rows the histogram counts: the middle value, or the mean of the two middle ones."""
    ends = np.cumsum(counts)  # rows before ends[i] hold values[:i+1]
    hi = values[np.searchsorted(ends, n // 2, "right")]  # the value at sorted position n // 2
    if n % 2:
        return float(hi)
    lo = values[np.searchsorted(ends, n // 2 - 1, "right")]
    return float(np.mean(np.array([lo, hi])))


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
