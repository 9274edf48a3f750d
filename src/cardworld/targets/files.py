"""Targets for a Parquet file of transactions, written to Parquet (what `cardworld targets` runs)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.errors import FIX, InputError, SpecError, option_fix
from cardworld.io.atomic import atomic_output
from cardworld.io.transactions import TransactionArrays, parquet_files, read_transactions
from cardworld.targets.compute import compute_targets_batch
from cardworld.targets.plan import TargetPlan, compile_plan
from cardworld.targets.spec import AnySpec

KEY_COLUMNS = ("user_id", "timestamp")  # the first columns of a targets file, whatever the input calls them
_CHUNK_ROWS = 1 << 17  # rows per record batch when unsorted input is written back in its own order


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
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Compute targets per transaction and write (user_id, timestamp, one column per output) to `out`;
    user_id keeps the input's integer type.

    `source` is a Parquet file, a directory of them, or a cardworld dataset directory (its transactions);
    the `*_col` arguments name its columns. Row i of `out` is row i of the input (files in name order,
    rows in file order) with that row's targets: the kernels need each user's rows in time order, so
    unsorted input is sorted stably by (user, time) (rows with equal times keep their input order) and
    the results are put back in input order. Input already in (user, time) order, like a cardworld
    dataset, is processed `batch_users` users at a time, so memory stays bounded by a batch's outputs;
    unsorted input holds every output (4 bytes per output per row) until it is written.

    An input without rows is an error unless `allow_empty` (then `out` gets the schema and no rows).
    Returns the number of rows written. Nothing is left at `out` unless the whole file was written.
    """
    plan = compile_plan(specs)
    _check_key_names(plan)
    value_cols = [c for c in plan.value_columns if c != "amount"]
    with atomic_output(out, overwrite=overwrite) as tmp:  # checks `out` before the long read
        tx = read_transactions(
            source,
            user_col=user_col,
            time_col=time_col,
            amount_col=amount_col,
            mcc_col=mcc_col if plan.uses_mcc else None,  # MCCs nobody filters on need not exist or be valid
            extra_columns=value_cols,
            require_mcc=plan.uses_mcc,
            finite_columns=value_cols,
        )
        if tx.n_rows == 0 and not allow_empty:
            raise InputError(
                f"input {os.fspath(source)!r} has no transaction rows; check the path, or {FIX} "
                "to write an empty targets file",
                fix=option_fix("allow_empty", "--allow-empty"),
            )
        schema = pa.schema(
            [(KEY_COLUMNS[0], _user_type(source, user_col)), (KEY_COLUMNS[1], pa.timestamp("s"))]
            + [(name, pa.float32()) for name in plan.names]
        )
        batches = _target_batches(tx, plan, value_cols, batch_users, progress)
        with pq.ParquetWriter(tmp, schema) as writer:
            if tx.input_row is None:  # already in (user, time) order: stream batch by batch
                for u0, u1, y in batches:
                    a, b = tx.offsets[u0], tx.offsets[u1]
                    users = np.repeat(tx.user_ids[u0:u1], np.diff(tx.offsets[u0 : u1 + 1]))
                    writer.write_batch(_record_batch(schema, users, tx.time[a:b], y))
            else:
                for users, time, y in _in_input_order(tx, batches, plan.n_outputs):
                    writer.write_batch(_record_batch(schema, users, time, y))
    return tx.n_rows


def _check_key_names(plan: TargetPlan) -> None:
    clash = [n for n in plan.names if n in KEY_COLUMNS]
    if clash:
        raise SpecError(
            f"target output name {clash[0]!r} is also a key column of the targets file "
            f"({', '.join(KEY_COLUMNS)}); give that target another name"
        )


def _target_batches(
    tx: TransactionArrays,
    plan: TargetPlan,
    value_cols: list[str],
    batch_users: int,
    progress: Callable[[int, int], None] | None,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(first user, end user, targets) of `batch_users` users at a time, in (user, time) order."""
    n_users = tx.n_users
    for u0 in range(0, n_users, batch_users):
        u1 = min(n_users, u0 + batch_users)
        a, b = int(tx.offsets[u0]), int(tx.offsets[u1])
        y = compute_targets_batch(
            plan,
            time=tx.time[a:b],
            amount=tx.amount[a:b],
            mcc=None if tx.mcc is None else tx.mcc[a:b],
            offsets=tx.offsets[u0 : u1 + 1] - a,
            columns={c: tx.extra[c][a:b] for c in value_cols},
        )
        yield u0, u1, y
        if progress is not None:
            progress(u1, n_users)


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


def _user_type(source: str | os.PathLike, user_col: str) -> pa.DataType:
    """The input's user id type (int32 in a cardworld dataset), so the output joins back without a cast."""
    return pq.read_schema(parquet_files(source)[0]).field(user_col).type


def _record_batch(schema: pa.Schema, users: np.ndarray, time: np.ndarray, y: np.ndarray) -> pa.RecordBatch:
    cols = [pa.array(users, schema.field(0).type), pa.array(time.astype("datetime64[s]"))]
    cols += [pa.array(np.ascontiguousarray(y[:, j])) for j in range(y.shape[1])]
    return pa.record_batch(cols, schema=schema)


__all__ = ["KEY_COLUMNS", "write_targets_parquet"]
