"""Targets for a Parquet file of transactions, written to Parquet (what `cardworld targets` runs)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.io.atomic import atomic_output
from cardworld.io.transactions import read_transactions
from cardworld.targets.compute import compute_targets_batch
from cardworld.targets.plan import compile_plan
from cardworld.targets.spec import AnySpec


def write_targets_parquet(
    source: str | os.PathLike,
    specs: list[AnySpec],
    out: str | os.PathLike,
    *,
    batch_users: int = 256,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Compute targets per transaction and write (user_id, timestamp, one column per output).

    Users are processed `batch_users` at a time, so memory stays bounded by a batch's outputs. Returns the
    number of rows written. Nothing is left at `out` unless the whole file was written.
    """
    plan = compile_plan(specs)
    value_cols = [c for c in plan.value_columns if c != "amount"]
    tx = read_transactions(source, extra_columns=value_cols, require_mcc=plan.uses_mcc)
    schema = pa.schema(
        [("user_id", pa.int64()), ("timestamp", pa.timestamp("s"))]
        + [(name, pa.float32()) for name in plan.names]
    )
    n_users = tx.n_users
    with atomic_output(out, overwrite=overwrite) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for u0 in range(0, n_users, batch_users):
            u1 = min(n_users, u0 + batch_users)
            a, b = tx.offsets[u0], tx.offsets[u1]
            y = compute_targets_batch(
                plan,
                time=tx.time[a:b],
                amount=tx.amount[a:b],
                mcc=None if tx.mcc is None else tx.mcc[a:b],
                offsets=tx.offsets[u0 : u1 + 1] - a,
                columns={c: tx.extra[c][a:b] for c in value_cols},
            )
            users = np.repeat(tx.user_ids[u0:u1], np.diff(tx.offsets[u0 : u1 + 1]))
            cols = [pa.array(users), pa.array(tx.time[a:b].astype("datetime64[s]"))]
            cols += [pa.array(y[:, j]) for j in range(y.shape[1])]
            writer.write_batch(pa.record_batch(cols, schema=schema))
            if progress is not None:
                progress(u1, n_users)
    return tx.n_rows


__all__ = ["write_targets_parquet"]
