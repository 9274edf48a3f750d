"""Merge the shards' staging parts of the small tables into DIR/.build/NAME.parquet, in shard order.

Every table but merchants is appended shard after shard. A merchant is seen by many shards, and the table
is sorted and deduplicated by id, so each shard's merchants are first spilled into buckets of the id range
(BUCKETS files, in id order); the end merges one bucket at a time. The parent's memory is then bounded by a
shard's staging parts and one bucket, not by the size of the world.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.engine.shard import STAGED_TABLES, staged_part
from cardworld.io.atomic import atomic_output
from cardworld.io.dataset import (
    DEFAULT_COMPRESSION,
    DEFAULT_COMPRESSION_LEVEL,
    FileInfo,
    file_sha256,
    table_path,
    write_table,
)
from cardworld.io.schema import SCHEMAS, conform


class Merger:
    """Appends the shards' staging parts to the final tables in shard order while later shards still run
    (so the merge overlaps the simulation); merchants, deduplicated by id, are merged at the end.

    The biggest table (cash) is appended, and merchants merged, on a helper thread while this one does the
    others: pyarrow releases the GIL, and the last shard's merge is on the run's critical path. Each table
    is still written by one thread in shard order, so the bytes do not change."""

    BUCKETS = 64  # of the int64 id range, by its top bits: bucket order is id order
    ROW_GROUP = 1 << 17  # merchants rows per row group of the merged table
    ASIDE = "cash"  # the table appended on the helper thread

    def __init__(self, out_dir: Path, staging: Path) -> None:
        self.out_dir, self.staging = out_dir, staging
        self.stack = ExitStack()
        self.tmp: dict[str, Path] = {}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows = dict.fromkeys(STAGED_TABLES, 0)
        self.finished: set[int] = set()
        self.next = 0
        self.spill = staging / "_merchant_buckets"
        self.buckets: dict[int, pq.ParquetWriter] = {}
        self.helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cardworld-merge")

    def __enter__(self) -> Merger:
        self.stack.__enter__()
        self.stack.callback(self.helper.shutdown)  # runs last: after the writers are closed
        for name in STAGED_TABLES:
            if name != "merchants":
                self.tmp[name] = self.stack.enter_context(
                    atomic_output(table_path(self.out_dir, name), overwrite=True)
                )
        return self

    def __exit__(self, *exc) -> bool:
        first: OSError | None = None
        for w in (*self.writers.values(), *self.buckets.values()):
            try:  # close every writer, even after one fails (a full disk): none may flush again later
                w.close()
            except OSError as e:
                first = first or e
        self.writers.clear()
        self.buckets.clear()
        if first is not None and exc[0] is None:
            self.stack.__exit__(type(first), first, first.__traceback__)
            raise first
        return self.stack.__exit__(*exc)

    def shard_done(self, k: int) -> None:
        self.finished.add(k)
        while self.next in self.finished:
            aside = self.helper.submit(self._append, self.ASIDE, self.next)
            try:
                for name in self.tmp:
                    if name != self.ASIDE:
                        self._append(name, self.next)
                self._spill_merchants(pq.read_table(staged_part(self.staging, "merchants", self.next)))
            finally:
                aside.result()  # waited for even after an error here: no write may outlive the call
            self.next += 1

    def _append(self, name: str, k: int) -> None:
        """Append shard k's staging part of table `name` to the merged table."""
        t = pq.read_table(staged_part(self.staging, name, k))
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(
                self.tmp[name],
                t.schema,
                compression=DEFAULT_COMPRESSION,
                compression_level=DEFAULT_COMPRESSION_LEVEL,
            )
        self.writers[name].write_table(t)
        self.rows[name] += t.num_rows

    def _spill_merchants(self, t: pa.Table) -> None:
        """Append a shard's merchants to the bucket files of their ids."""
        bucket = _bucket(t.column("merchant_id").to_numpy())
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self.BUCKETS + 1))
        for b in np.flatnonzero(np.diff(bounds)).tolist():
            part = t.take(pa.array(order[bounds[b] : bounds[b + 1]]))
            if b not in self.buckets:
                self.spill.mkdir(exist_ok=True)
                self.buckets[b] = pq.ParquetWriter(
                    self.spill / f"{b:02d}.parquet", t.schema, compression="none"
                )
            self.buckets[b].write_table(part)

    def finish(self, n_shards: int) -> dict[str, FileInfo]:
        """Close the tables (all n_shards merged) and describe them; the files land when the block exits."""
        assert self.next == n_shards, "every shard must be merged before finishing"
        merchants = self.helper.submit(self._merge_merchants)
        out = {}
        try:
            for name, tmp in self.tmp.items():
                self.writers.pop(name).close()
                out[name] = FileInfo(
                    file=table_path(self.out_dir, name).name,
                    rows=self.rows[name],
                    sha256=file_sha256(tmp),
                    bytes=Path(tmp).stat().st_size,
                )
        finally:
            out["merchants"] = merchants.result()
        return out

    def _merge_merchants(self) -> FileInfo:
        """Write merchants.parquet from the buckets, in id order, each deduplicated on its own."""
        for w in self.buckets.values():
            w.close()
        buckets = sorted(self.buckets)
        self.buckets.clear()
        if not buckets:  # no shard saw a merchant
            return write_table(
                self.out_dir, "merchants", pq.read_table(staged_part(self.staging, "merchants", 0))
            )
        path = table_path(self.out_dir, "merchants")
        rows, pending = 0, []
        with atomic_output(path, overwrite=True) as tmp:
            with pq.ParquetWriter(tmp, SCHEMAS["merchants"], compression=DEFAULT_COMPRESSION) as writer:
                for b in buckets:
                    t = pq.read_table(self.spill / f"{b:02d}.parquet")
                    _, first = np.unique(t.column("merchant_id").to_numpy(), return_index=True)
                    pending.append(t.take(pa.array(first)))
                    rows += len(first)
                    if sum(p.num_rows for p in pending) >= self.ROW_GROUP or b == buckets[-1]:
                        table = conform("merchants", pa.concat_tables(pending))
                        writer.write_table(table, row_group_size=self.ROW_GROUP)
                        pending = []
            info = FileInfo(file=path.name, rows=rows, sha256=file_sha256(tmp), bytes=tmp.stat().st_size)
        return info


def _bucket(ids: np.ndarray) -> np.ndarray:
    """Bucket 0..63 of each int64 id, increasing with the id (its top 6 bits, sign included)."""
    return (ids >> 58) + 32


__all__ = ["Merger"]
