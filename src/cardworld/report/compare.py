"""Side by side with another dataset, and SDMetrics' quality score on samples of both.

    theirs = compare_measures("card_transaction.v1.csv")   # the other side's measures (report.measures)
    tables = side_by_side(ours, theirs, labels=("this world", "TabFormer"))
    score = fidelity("out/world", "card_transaction.v1.csv")   # or two tables of rows (sample_rows)

The other side is a cardworld dataset directory (with its manifest), a TabFormer-format CSV file (IBM's
card_transaction.v1.csv or a ``cardworld export``; sd254_users.csv and sd254_cards.csv beside it are read
when present), or a directory holding one card_transaction*.csv. Everything streams: the CSV a block at a
time (io.tabformer_read), a dataset one row group at a time; row samples keep O(n) rows.

The fidelity score is SDMetrics' QualityReport on one table of uniform samples of rows (the other side
plays "real", this world "synthetic"): column shapes (KSComplement for amount, TVComplement for the
rest) and column pair trends over every pair of columns (sdmetrics' thresholds on the real side's
correlation and association are set to 0: by default it scores only the pairs associated in the real data,
which leaves few or none in card transactions). sdmetrics is an optional extra: ``pip install
"cardworld[compare]"``.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.data.geography import STATES
from cardworld.errors import InputError

Progress = Callable[[int], None]

#: What compare_measures and fidelity accept as the other side.
ACCEPTED = (
    "a cardworld dataset directory (with manifest.json), a TabFormer-format .csv file (card_transaction.v1.csv "
    "or a cardworld export), or a directory holding one card_transaction*.csv"
)
INSTALL_COMPARE = 'pip install "cardworld[compare]"'
#: The transaction columns a row sample keeps: what the fidelity columns derive from.
SAMPLE_COLUMNS = ("timestamp", "amount", "use_chip", "mcc", "merchant_state", "errors", "is_fraud")
#: The columns SDMetrics compares, with their sdtypes.
FIDELITY_COLUMNS: dict[str, str] = {
    "amount": "numerical",
    "hour": "categorical",  # the share of each hour matters, not its distance from midnight
    "weekday": "categorical",  # Monday = 0
    "use_chip": "categorical",
    "mcc": "categorical",
    "foreign": "boolean",  # merchant_state is a country, not a US state or DC
    "errors": "boolean",  # any decline reason
    "is_fraud": "boolean",
}
USERS_CSV, CARDS_CSV = "sd254_users.csv", "sd254_cards.csv"
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Target:
    """The other side, resolved: a cardworld dataset directory or a TabFormer CSV (+ sd254 files found)."""

    kind: str  # "cardworld" | "tabformer"
    path: Path
    users: Path | None = None
    cards: Path | None = None


def resolve_target(target: str | os.PathLike) -> Target:
    """What `target` is (see the module doc); anything else is an InputError saying what is accepted."""
    p = Path(target)
    if not p.exists():
        raise InputError(f"comparison target {str(p)!r} does not exist; pass {ACCEPTED}")
    if p.is_dir() and (p / _MANIFEST).is_file():
        return Target("cardworld", p)
    if p.is_dir():
        found = sorted(q for q in p.glob("card_transaction*.csv") if q.is_file())
        if len(found) > 1:
            raise InputError(
                f"directory {str(p)!r} holds several TabFormer CSVs ({', '.join(q.name for q in found)}); "
                "pass the one to compare with"
            )
        if not found:
            raise InputError(
                f"directory {str(p)!r} has neither {_MANIFEST} nor a card_transaction*.csv; pass {ACCEPTED}"
            )
        p = found[0]
    elif p.suffix.lower() != ".csv":
        raise InputError(f"comparison target {str(p)!r} is not a .csv file or a directory; pass {ACCEPTED}")
    beside = [p.parent / name for name in (USERS_CSV, CARDS_CSV)]
    users, cards = (q if q.is_file() else None for q in beside)
    return Target("tabformer", p, users, cards)


def target_batches(
    target: str | os.PathLike | Target, columns: Sequence[str] = SAMPLE_COLUMNS
) -> Iterator[pa.Table]:
    """The transactions of a target as tables with those contract columns, in file order, streamed."""
    t = target if isinstance(target, Target) else resolve_target(target)
    if t.kind == "cardworld":
        from cardworld.io.reader import open as open_dataset

        yield from open_dataset(t.path).iter_user_batches(list(columns))
        return
    from cardworld.io.tabformer_read import read_tabformer_transactions

    for table in read_tabformer_transactions(t.path):
        yield table.select(list(columns))


def compare_measures(
    target: str | os.PathLike,
    *,
    progress: Progress | None = None,
    sampler: RowSampler | None = None,
) -> dict[str, Any]:
    """The measures (report.measures) of the other side: measure_dataset for a dataset directory,
    measure_source of its TabFormer reading (plus the sd254 files beside it) for a CSV. For a CSV,
    measures["source"]["files"] names the files read ("users"/"cards": None where absent).

    `sampler` (a RowSampler) is fed the rows on the way, so fidelity needs no second pass over a CSV."""
    from cardworld.report.measures import measure_dataset, measure_source

    t = resolve_target(target)
    if t.kind == "cardworld":
        measures = measure_dataset(t.path, progress=progress)
        if sampler is not None:  # Parquet, projected: a quick second pass
            for table in target_batches(t, sampler.columns):
                sampler.add(table)
        return measures
    from cardworld.io.tabformer_read import read_sd254_cards, read_sd254_users

    consumers = read_sd254_users(t.users) if t.users is not None else None
    cards = read_sd254_cards(t.cards) if t.cards is not None else None
    files = {"transactions": str(t.path), "users": _opt(t.users), "cards": _opt(t.cards)}
    source = {"kind": "tabformer", "path": str(t.path), "what_ifs": [], "credit": "absent", "files": files}
    batches = target_batches(t, _TX_COLUMNS)
    if sampler is not None:
        batches = _feeding(batches, sampler)
    return measure_source(batches, consumers, cards, source=source, progress=progress)


# Every contract column measures or a sample could read (fraudster_id is all null in a TabFormer file).
_TX_COLUMNS = (
    "user_id", "card_id", "timestamp", "amount", "use_chip", "merchant_id", "merchant_city", "merchant_state",
    "zip", "mcc", "errors", "is_fraud",
)  # fmt: skip


def _opt(p: Path | None) -> str | None:
    return None if p is None else str(p)


def _feeding(batches: Iterable[pa.Table], sampler: RowSampler) -> Iterator[pa.Table]:
    for table in batches:
        sampler.add(table)
        yield table


# ---------------------------------------------------------------------------------------------------------
# Uniform row samples


class RowSampler:
    """An exact uniform sample of n rows (without replacement) of a stream of tables, in O(n) memory.

    Each row gets a random key (one numpy Generator seeded with `seed`, drawn row after row, so the sample
    does not depend on how the stream is batched); the rows with the n smallest keys are kept.
    """

    def __init__(self, n: int = 20_000, seed: int = 0, columns: Sequence[str] = SAMPLE_COLUMNS) -> None:
        if n < 1:
            raise InputError(f"a row sample needs n >= 1 rows, got {n}")
        self.n, self.columns, self.seen = int(n), tuple(columns), 0
        self._rng = np.random.default_rng(seed)
        self._keys = np.empty(0, np.float64)
        self._index = np.empty(0, np.int64)
        self._rows: pa.Table | None = None

    def add(self, batch: pa.Table | pa.RecordBatch) -> None:
        """Offer every row of `batch` (it must hold the sampler's columns)."""
        m = batch.num_rows
        if m == 0:
            return
        keys = self._rng.random(m)
        index = np.arange(self.seen, self.seen + m, dtype=np.int64)
        self.seen += m
        if self._keys.size == self.n:  # full: only rows below the largest kept key can enter
            keep = keys < self._keys.max()
            if not keep.any():
                return
            batch, keys, index = batch.filter(pa.array(keep)), keys[keep], index[keep]
        part = _plain(_select(batch, self.columns))
        rows = part if self._rows is None else pa.concat_tables([self._rows, part])
        keys, index = np.concatenate([self._keys, keys]), np.concatenate([self._index, index])
        if keys.size > self.n:
            pick = np.argpartition(keys, self.n - 1)[: self.n]
            rows, keys, index = rows.take(pa.array(pick)), keys[pick], index[pick]
        self._rows, self._keys, self._index = rows.combine_chunks(), keys, index

    def table(self) -> pa.Table:
        """The sampled rows in stream order (every row when the stream had n or fewer)."""
        if self._rows is None:
            return pa.table({c: pa.array([], pa.null()) for c in self.columns})
        return self._rows.take(pa.array(np.argsort(self._index, kind="stable")))


def sample_rows(
    batches: Iterable[pa.Table | pa.RecordBatch],
    n: int = 20_000,
    seed: int = 0,
    *,
    columns: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """An exact uniform sample of n rows of a stream (all rows if fewer), in stream order; deterministic
    for a seed, memory O(n). `columns`: those to keep (default: every column of the first batch)."""
    sampler: RowSampler | None = None
    for batch in batches:
        if sampler is None:
            sampler = RowSampler(n, seed, columns or batch.schema.names)
        sampler.add(batch)
        if progress is not None:
            progress(batch.num_rows)
    if sampler is None:
        return pa.table({c: pa.array([], pa.null()) for c in columns or ()})
    return sampler.table()


def _select(batch: pa.Table | pa.RecordBatch, columns: Sequence[str]) -> pa.Table:
    names = batch.schema.names
    if missing := [c for c in columns if c not in names]:
        raise InputError(
            f"rows to sample have no column(s) {', '.join(missing)} (they have {', '.join(names)})"
        )
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    return table.select(list(columns))


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns as their values: batches with different dictionaries then concatenate and take."""
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


# ---------------------------------------------------------------------------------------------------------
# Side by side


def side_by_side(
    ours: dict[str, Any], theirs: dict[str, Any], *, labels: tuple[str, str] = ("this world", "other")
) -> list[dict[str, Any]]:
    """report_tables' tables of both sides, column by column (rows matched on their first cell), then a
    "figures" table of every figures key both have: key, ours, theirs, difference (ours - theirs)."""
    from cardworld.report.tables import report_tables

    tables = pair_tables(report_tables(ours), report_tables(theirs), labels=labels)
    return [*tables, figures_table(ours.get("figures", {}), theirs.get("figures", {}), labels=labels)]


def pair_tables(
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    *,
    labels: tuple[str, str] = ("this world", "other"),
) -> list[dict[str, Any]]:
    """Tables of the same id merged: the first column, then each other column for each side in turn
    ("share (this world)", "share (other)"), with its format hint. Rows follow ours, then rows only the
    other side has; a cell a side lacks is None. A table only one side has is kept, the other side's cells
    None."""
    by_id = {t["id"]: t for t in theirs}
    ids = [t["id"] for t in ours] + [t["id"] for t in theirs if t["id"] not in {o["id"] for o in ours}]
    mine = {t["id"]: t for t in ours}
    return [_pair(mine.get(i), by_id.get(i), labels) for i in ids]


def _pair(a: dict[str, Any] | None, b: dict[str, Any] | None, labels: tuple[str, str]) -> dict[str, Any]:
    base = a or b
    assert base is not None
    first = base["columns"][0]
    values = list(base["columns"][1:])
    if a is not None and b is not None:
        values += [c for c in b["columns"][1:] if c not in values]
    kinds = {**_formats(b), **_formats(a)}  # a column's format hint, ours first
    sides = [_keyed_rows(t) for t in (a, b)]
    keys = list(sides[0]) + [k for k in sides[1] if k not in sides[0]]
    rows = []
    for key in keys:
        row: list[Any] = [key[0]]
        for c in values:
            row += [side.get(key, {}).get(c) for side in sides]
        rows.append(row)
    if a is None or b is None:
        notes = [base["note"]] if base.get("note") else []
        notes.append(f"not in {labels[0] if a is None else labels[1]}")
    elif a.get("note") == b.get("note"):
        notes = [a["note"]] if a.get("note") else []
    else:
        notes = [f"{label}: {t['note']}" for label, t in zip(labels, (a, b), strict=True) if t.get("note")]
    return {
        "id": base["id"],
        "title": base["title"],
        "columns": [first] + [f"{c} ({label})" for c in values for label in labels],
        "formats": [kinds.get(first, "text")] + [kinds.get(c, "num") for c in values for _ in labels],
        "rows": rows,
        "note": "; ".join(notes),
    }


def _formats(table: dict[str, Any] | None) -> dict[str, str]:
    """Column -> report_tables' format hint ("int", "money", "pct", "num", "text"), where it has them."""
    if table is None or not table.get("formats"):
        return {}
    return dict(zip(table["columns"], table["formats"], strict=False))


def _keyed_rows(table: dict[str, Any] | None) -> dict[tuple[Any, int], dict[str, Any]]:
    """Rows by (first cell, occurrence): a repeated first cell matches the same repeat on the other side."""
    if table is None:
        return {}
    out: dict[tuple[Any, int], dict[str, Any]] = {}
    seen: dict[Any, int] = {}
    names = table["columns"][1:]
    for row in table["rows"]:
        k = seen.get(row[0], 0)
        seen[row[0]] = k + 1
        out[(row[0], k)] = dict(zip(names, row[1:], strict=False))
    return out


def figures_table(
    ours: dict[str, Any], theirs: dict[str, Any], *, labels: tuple[str, str] = ("this world", "other")
) -> dict[str, Any]:
    """Every figures key both sides have, in our order: key, ours, theirs, ours - theirs (None unless both
    are numbers)."""
    rows = []
    for key, a in ours.items():
        if key not in theirs:
            continue
        b = theirs[key]
        rows.append([key, a, b, a - b if _number(a) and _number(b) else None])
    only = sum(k not in theirs for k in ours) + sum(k not in ours for k in theirs)
    return {
        "id": "figures",
        "title": "Every figure, side by side",
        "columns": ["key", labels[0], labels[1], "difference"],
        "formats": ["text", "num", "num", "num"],
        "rows": rows,
        "note": f"difference = {labels[0]} - {labels[1]}; {only} key(s) only one side has are left out",
    }


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


# ---------------------------------------------------------------------------------------------------------
# Fidelity (SDMetrics)


def fidelity(
    ours: pa.Table | str | os.PathLike,
    theirs: pa.Table | str | os.PathLike,
    *,
    rows: int = 20_000,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """SDMetrics' QualityReport of our rows against theirs (theirs as "real"), on FIDELITY_COLUMNS.

    Each side is a table of rows (e.g. sample_rows; it needs SAMPLE_COLUMNS) or a target (a dataset
    directory or a TabFormer CSV, see resolve_target) sampled here: `rows` uniform rows with `seed`
    (`progress` gets the rows read). Returns {"score", "column_shapes", "column_pair_trends", "columns":
    [{"column", "metric", "score"}], "pairs": [{"columns", "metric", "score"}], "rows": [ours, theirs],
    "note"}; a score sdmetrics cannot compute is None. Without sdmetrics: an InputError naming the extra."""
    QualityReport, version = _sdmetrics()  # fail fast, before the samples
    sides = [_rows_of(side, rows, seed, progress) for side in (ours, theirs)]
    for name, t in zip(("this side", "the other side"), sides, strict=True):
        if t.num_rows == 0:
            raise InputError(f"{name} has no transactions to score; compare datasets with rows")
    frames = [fidelity_frame(t) for t in sides]
    metadata = {
        "tables": {"transactions": {"columns": {c: {"sdtype": s} for c, s in FIDELITY_COLUMNS.items()}}}
    }
    with _quiet():
        report = QualityReport()
        report.real_correlation_threshold = 0  # score every pair, as the single-table report did
        report.real_association_threshold = 0
        report.generate({"transactions": frames[1]}, {"transactions": frames[0]}, metadata, verbose=False)
        props = dict(zip(*(report.get_properties()[k].tolist() for k in ("Property", "Score")), strict=True))
        shapes = report.get_details("Column Shapes", table_name="transactions")
        pairs = report.get_details("Column Pair Trends", table_name="transactions")
    return {
        "score": _score(report.get_score()),
        "column_shapes": _score(props.get("Column Shapes")),
        "column_pair_trends": _score(props.get("Column Pair Trends")),
        "columns": [
            {"column": r["Column"], "metric": r["Metric"], "score": _score(r["Score"])}
            for r in shapes.to_dict("records")
        ],
        "pairs": [
            {"columns": [r["Column 1"], r["Column 2"]], "metric": r["Metric"], "score": _score(r["Score"])}
            for r in pairs.to_dict("records")
        ],
        "rows": [sides[0].num_rows, sides[1].num_rows],
        "note": (
            f"SDMetrics {version} QualityReport on uniform samples of rows ({sides[0].num_rows:,} of this side, "
            f"{sides[1].num_rows:,} of the other, which plays the real data): column shapes (KSComplement for "
            "amount, TVComplement for the others) and column pair trends over every pair; 1 is identical"
        ),
    }


def _sdmetrics():
    try:
        with _quiet():
            import sdmetrics
            from sdmetrics.reports import QualityReport
    except ImportError as e:
        raise InputError(
            f"the fidelity score needs sdmetrics, which is not installed: {INSTALL_COMPARE}"
        ) from e
    return QualityReport, sdmetrics.__version__


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warnings (pytest turns them into errors) and no progress output from sdmetrics."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield


def _rows_of(side: pa.Table | str | os.PathLike, n: int, seed: int, progress: Progress | None) -> pa.Table:
    if isinstance(side, pa.Table):
        return side
    return sample_rows(target_batches(side), n, seed, columns=SAMPLE_COLUMNS, progress=progress)


def fidelity_frame(rows: pa.Table):
    """The FIDELITY_COLUMNS of transaction rows as a pandas DataFrame (hour and weekday of the wall clock)."""
    import pandas as pd

    names = rows.column_names
    if missing := [c for c in SAMPLE_COLUMNS if c not in names]:
        raise InputError(
            f"rows to score have no column(s) {', '.join(missing)} (they have {', '.join(names)})"
        )
    t = rows.column("timestamp").cast(pa.timestamp("s")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    state = rows.column("merchant_state").cast(pa.string())
    foreign = pc.and_(pc.is_valid(state), pc.invert(pc.is_in(state, value_set=pa.array(STATES))))
    return pd.DataFrame(
        {
            "amount": rows.column("amount").to_numpy(zero_copy_only=False).astype(np.float64),
            "hour": (t // 3600) % 24,
            "weekday": (t // 86_400 + 3) % 7,  # 1970-01-01 was a Thursday
            "use_chip": rows.column("use_chip").cast(pa.string()).to_numpy(zero_copy_only=False),
            "mcc": rows.column("mcc").to_numpy(zero_copy_only=False).astype(np.int64),
            "foreign": pc.fill_null(foreign, False).to_numpy(zero_copy_only=False).astype(bool),
            "errors": pc.is_valid(rows.column("errors")).to_numpy(zero_copy_only=False).astype(bool),
            "is_fraud": rows.column("is_fraud").to_numpy(zero_copy_only=False).astype(bool),
        }
    )


def _score(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


__all__ = [
    "ACCEPTED",
    "FIDELITY_COLUMNS",
    "SAMPLE_COLUMNS",
    "RowSampler",
    "Target",
    "compare_measures",
    "fidelity",
    "fidelity_frame",
    "figures_table",
    "pair_tables",
    "resolve_target",
    "sample_rows",
    "side_by_side",
    "target_batches",
]
