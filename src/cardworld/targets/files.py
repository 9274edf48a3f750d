"""Targets for Parquet files of transactions, written to Parquet (what `cardworld targets` runs).

    write_targets_parquet("out/world", specs, "y.parquet")   # one file: row i is input row i
    write_targets_dir("out/world", specs, "y")               # y/part-NNNNN.parquet: one per input part

The input's part files (a dataset's shards, a directory's *.parquet files in name order, or one file) are
read one at a time, only the columns the specs need: a part's targets are computed and written before
the next part is read, so memory holds one part, never the whole input. That needs each user's rows in
one part, which holds when the users ascend from part to part, as in a cardworld dataset (the Parquet
statistics say so before anything is read; without them it is checked as the parts are read). Each
part is put in (user, time) order to compute and its targets are written back in its own row order.
Input whose users span parts (a directory split by date, say) is read whole, sorted and scattered back,
and only into one file.

`write_targets_dir` hands its parts to a `runner` (default: one after the other, in this process), e.g.
a Dask cluster's (cli/targets_cmd.py): a part's output is a pure function of its input file and the
specs, so a retried task writes the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.errors import InputError, SpecError
from cardworld.io.atomic import atomic_output
from cardworld.io.transactions import TransactionArrays, read_transactions
from cardworld.targets.compute import compute_targets_batch
from cardworld.targets.parts import (
    Part,
    check_ascending,
    check_rows,
    footer,
    output_dir,
    parts_of,
    users_ascend,
)
from cardworld.targets.plan import TargetPlan, compile_plan
from cardworld.targets.spec import AnySpec

KEY_COLUMNS = ("user_id", "timestamp")  # the first columns of a targets file, whatever the input calls them
_CHUNK_ROWS = 1 << 17  # rows per record batch when unsorted input is written back in its own order
#: runner(fn, tasks, done) runs fn(*tasks[k]) for every k, calling done(k, result) as each one finishes
#: (cardworld.engine.cluster.run_on_dask with its client bound is one).
Runner = Callable[[Callable[..., Any], dict[int, tuple], Callable[[int, Any], None]], None]
Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass(frozen=True)
class _Read:
    """What to read from each part file, and how many users one kernel call takes."""

    user_col: str
    time_col: str
    amount_col: str
    mcc_col: str | None  # None unless a spec filters on MCC: MCCs nobody uses need not exist or be valid
    value_cols: tuple[str, ...]
    batch_users: int

    @classmethod
    def of(cls, plan: TargetPlan, user_col, time_col, amount_col, mcc_col, batch_users) -> _Read:
        value_cols = tuple(c for c in plan.value_columns if c != "amount")
        return cls(
            user_col, time_col, amount_col, mcc_col if plan.uses_mcc else None, value_cols, batch_users
        )

    def arrays(self, source: str | os.PathLike) -> TransactionArrays:
        return read_transactions(
            source,
            user_col=self.user_col,
            time_col=self.time_col,
            amount_col=self.amount_col,
            mcc_col=self.mcc_col,
            extra_columns=self.value_cols,
            require_mcc=self.mcc_col is not None,
            finite_columns=self.value_cols,
        )


def write_targets_parquet(
    source: str | os.PathLike,
    specs: list[AnySpec],
    out: str | os.PathLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    mcc_col: str | None = "mcc",
    batch_users: int = 256,
    overwrite: bool = False,
    allow_empty: bool = False,
    progress: Progress | None = None,
) -> int:
    """Compute targets per transaction and write (user_id, timestamp, one column per output) to the file
    `out`; user_id keeps the input's integer type.

    `source` is a Parquet file, a directory of them, or a cardworld dataset directory (its transactions;
    every shard its manifest lists must be there); the `*_col` arguments name its columns. Row i of `out`
    is row i of the input (files in name order, rows in file order) with that row's targets. The kernels
    need each user's rows in time order: each part is sorted stably by (user, time) (rows with equal
    times keep their order) and its results put back in its row order. When the users ascend from part
    to part (a cardworld dataset), the parts are read, computed and written one at a time and
    `batch_users` users per kernel call, so memory holds one part; otherwise the whole input is read,
    sorted and scattered back (4 bytes per output per row until written).

    An input without rows is an error unless `allow_empty` (then `out` gets the schema and no rows).
    `progress(rows done, rows in all)` is called after each batch. Returns the number of rows written.
    Nothing is left at `out` unless the whole file was written.
    """
    plan = compile_plan(specs)
    _check_key_names(plan)
    read = _Read.of(plan, user_col, time_col, amount_col, mcc_col, batch_users)
    with atomic_output(out, overwrite=overwrite) as tmp:  # checks `out` before the long read
        parts = parts_of(source, user_col)
        total = check_rows(source, parts, allow_empty)
        track = _Tracker(progress, total)
        if users_ascend(parts) is not False:
            try:
                return _write_streamed(tmp, parts, plan, read, track)
            except _UsersSpanParts:  # found while reading parts without statistics: start again
                track.done = 0
        return _write_whole(tmp, source, parts, plan, read, track)


def write_targets_dir(
    source: str | os.PathLike,
    specs: list[AnySpec],
    out_dir: str | os.PathLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    mcc_col: str | None = "mcc",
    batch_users: int = 256,
    overwrite: bool = False,
    allow_empty: bool = False,
    progress: Progress | None = None,
    runner: Runner | None = None,
) -> int:
    """Compute targets per transaction into the directory `out_dir`: one part file per input part, with
    the input part's name (part-NNNNN.parquet for a dataset), whose row i is the part's row i (columns
    as in write_targets_parquet). Concatenated in name order, the parts are write_targets_parquet's file.

    Each user's rows must lie in one input part (users ascending from part to part, as in a cardworld
    dataset); otherwise it is an error, and write_targets_parquet writes one file instead. `runner`
    runs the parts (see Runner; default: one after the other here); each writes its file atomically into
    a build directory beside `out_dir`, which replaces `out_dir` only when every part is there, so a
    failure leaves nothing. An existing non-empty `out_dir` is replaced only with `overwrite`, and only
    when it holds nothing but .parquet files. `progress(rows done, rows in all)` is called per part.
    Returns the number of rows written.
    """
    plan = compile_plan(specs)
    _check_key_names(plan)
    read = _Read.of(plan, user_col, time_col, amount_col, mcc_col, batch_users)
    parts = parts_of(source, user_col)
    total = check_rows(source, parts, allow_empty)
    if users_ascend(parts) is False:
        check_ascending([(p.rows, *(p.users or (None, None))) for p in parts], parts)
    user_type = next((p.user_type for p in parts if p.user_type is not None), None)
    track = _Tracker(progress, total)
    with output_dir(Path(out_dir), overwrite, [p.path for p in parts]) as build:
        tasks = {
            k: (str(p.path), str(build / p.path.name), plan, read, user_type) for k, p in enumerate(parts)
        }
        results: dict[int, tuple[int, int | None, int | None]] = {}

        def done(k: int, result: tuple[int, int | None, int | None]) -> None:
            results[k] = result
            track(track.done + result[0])

        (runner or _run_here)(_targets_part, tasks, done)
        check_ascending([results[k] for k in range(len(parts))], parts)
        missing = [p.path.name for p in parts if not (build / p.path.name).is_file()]
        if missing:
            raise InputError(
                f"the targets of input part(s) {', '.join(missing)} were not written; run it again"
            )
    return sum(r[0] for r in results.values())


def _targets_part(
    src: str, dst: str, plan: TargetPlan, read: _Read, user_type: pa.DataType | None
) -> tuple[int, int | None, int | None]:
    """The targets of part file `src` written to `dst` atomically: (rows, first user id, last user id).
    A pure function of its arguments, so a retry writes the same bytes (what a Dask task runs)."""
    tx = read.arrays(src)
    schema = _schema(plan, user_type or footer(Path(src), read.user_col).user_type)
    with atomic_output(dst, overwrite=True) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for batch in _record_batches(tx, plan, read, schema, None):
            writer.write_batch(batch)
    if tx.n_users == 0:
        return 0, None, None
    return tx.n_rows, int(tx.user_ids[0]), int(tx.user_ids[-1])


def _run_here(fn: Callable[..., Any], tasks: dict[int, tuple], done: Callable[[int, Any], None]) -> None:
    for k, args in tasks.items():
        done(k, fn(*args))


class _UsersSpanParts(Exception):
    """A part holds a user that an earlier part held too (or lower): the parts cannot be streamed."""


class _Tracker:
    """Rows done so far, reported to a progress callback (if any) with the total."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, done: int) -> None:
        self.done = done
        if self.progress is not None:
            self.progress(done, self.total)


def _write_streamed(tmp: Path, parts: list[Part], plan: TargetPlan, read: _Read, track: _Tracker) -> int:
    """Part after part into one file; _UsersSpanParts when a part's users do not follow the last one's."""
    writer, rows, last_user = None, 0, None
    try:
        for part in parts:
            tx = read.arrays(part.path)
            if tx.n_users and last_user is not None and tx.user_ids[0] <= last_user:
                raise _UsersSpanParts(part.path)
            if writer is None:  # the first read checked the columns: the first part has a user column
                schema = _schema(plan, part.user_type)
                writer = pq.ParquetWriter(tmp, schema)
            base = rows
            for batch in _record_batches(tx, plan, read, schema, lambda done, base=base: track(base + done)):
                writer.write_batch(batch)
            rows += tx.n_rows
            last_user = int(tx.user_ids[-1]) if tx.n_users else last_user
        if writer is None:  # no part at all (a manifest listing no shard): the schema, no rows
            writer = pq.ParquetWriter(tmp, _schema(plan, None))
    finally:
        if writer is not None:
            writer.close()
    return rows


def _write_whole(
    tmp: Path, source: str | os.PathLike, parts: list[Part], plan: TargetPlan, read: _Read, track: _Tracker
) -> int:
    """Every part at once: sorted stably by (user, time), computed, written back in input order."""
    tx = read.arrays(source)
    schema = _schema(plan, parts[0].user_type)
    with pq.ParquetWriter(tmp, schema) as writer:
        for batch in _record_batches(tx, plan, read, schema, track):
            writer.write_batch(batch)
    return tx.n_rows


def _record_batches(
    tx: TransactionArrays,
    plan: TargetPlan,
    read: _Read,
    schema: pa.Schema,
    on_rows: Callable[[int], None] | None,
) -> Iterator[pa.RecordBatch]:
    """The targets of `tx` as record batches in its input row order; on_rows(rows done) after each batch."""
    batches = _target_batches(tx, plan, read, on_rows)
    if tx.input_row is None:  # already in (user, time) order: stream batch by batch
        for u0, u1, y in batches:
            a, b = tx.offsets[u0], tx.offsets[u1]
            users = np.repeat(tx.user_ids[u0:u1], np.diff(tx.offsets[u0 : u1 + 1]))
            yield _record_batch(schema, users, tx.time[a:b], y)
    else:
        for users, time, y in _in_input_order(tx, batches, plan.n_outputs):
            yield _record_batch(schema, users, time, y)


def _check_key_names(plan: TargetPlan) -> None:
    clash = [n for n in plan.names if n in KEY_COLUMNS]
    if clash:
        raise SpecError(
            f"target output name {clash[0]!r} is also a key column of the targets file "
            f"({', '.join(KEY_COLUMNS)}); give that target another name"
        )


def _target_batches(
    tx: TransactionArrays, plan: TargetPlan, read: _Read, on_rows: Callable[[int], None] | None
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(first user, end user, targets) of `batch_users` users at a time, in (user, time) order."""
    n_users = tx.n_users
    for u0 in range(0, n_users, read.batch_users):
        u1 = min(n_users, u0 + read.batch_users)
        a, b = int(tx.offsets[u0]), int(tx.offsets[u1])
        y = compute_targets_batch(
            plan,
            time=tx.time[a:b],
            amount=tx.amount[a:b],
            mcc=None if tx.mcc is None else tx.mcc[a:b],
            offsets=tx.offsets[u0 : u1 + 1] - a,
            columns={c: tx.extra[c][a:b] for c in read.value_cols},
        )
        yield u0, u1, y
        if on_rows is not None:
            on_rows(b)


def _in_input_order(
    tx: TransactionArrays, batches: Iterator[tuple[int, int, np.ndarray]], n_outputs: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Scatter every batch's targets back to the input rows, then yield (user, time, targets) chunks."""
    rows = tx.input_row
    assert rows is not None
    y_all = np.empty((tx.n_rows, n_outputs), dtype=np.float32)
    for u0, u1, y in batches:
        y_all[rows[tx.offsets[u0] : tx.offsets[u1]]] = y
    users = np.empty(tx.n_rows, dtype=np.int64)
    users[rows] = np.repeat(tx.user_ids, np.diff(tx.offsets))
    time = np.empty(tx.n_rows, dtype=np.int64)
    time[rows] = tx.time
    for r0 in range(0, tx.n_rows, _CHUNK_ROWS):
        r1 = r0 + _CHUNK_ROWS
        yield users[r0:r1], time[r0:r1], y_all[r0:r1]


def _schema(plan: TargetPlan, user_type: pa.DataType | None) -> pa.Schema:
    """user_id keeps the input's type (int32 in a cardworld dataset), so the output joins back uncast."""
    return pa.schema(
        [(KEY_COLUMNS[0], user_type or pa.int64()), (KEY_COLUMNS[1], pa.timestamp("s"))]
        + [(name, pa.float32()) for name in plan.names]
    )


def _record_batch(schema: pa.Schema, users: np.ndarray, time: np.ndarray, y: np.ndarray) -> pa.RecordBatch:
    cols = [pa.array(users, schema.field(0).type), pa.array(time.astype("datetime64[s]"))]
    cols += [pa.array(np.ascontiguousarray(y[:, j])) for j in range(y.shape[1])]
    return pa.record_batch(cols, schema=schema)


__all__ = [
    "KEY_COLUMNS",
    "Runner",
    "write_targets_dir",
    "write_targets_parquet",
]
