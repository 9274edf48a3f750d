"""Merge the shards' staging parts of the small tables into DIR/.build/NAME.parquet, in shard order."""

from __future__ import annotations

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


class Merger:
    """Appends the shards' staging parts to the final tables in shard order while later shards still run
    (so the merge overlaps the simulation); merchants, deduplicated by id, are merged at the end."""

    def __init__(self, out_dir: Path, staging: Path) -> None:
        self.out_dir, self.staging = out_dir, staging
        self.stack = ExitStack()
        self.tmp: dict[str, Path] = {}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows = dict.fromkeys(STAGED_TABLES, 0)
        self.finished: set[int] = set()
        self.next = 0

    def __enter__(self) -> Merger:
        self.stack.__enter__()
        for name in STAGED_TABLES:
            if name != "merchants":
                self.tmp[name] = self.stack.enter_context(
                    atomic_output(table_path(self.out_dir, name), overwrite=True)
                )
        return self

    def __exit__(self, *exc) -> bool:
        for w in self.writers.values():
            w.close()
        return self.stack.__exit__(*exc)

    def shard_done(self, k: int) -> None:
        self.finished.add(k)
        while self.next in self.finished:
            for name, tmp in self.tmp.items():
                t = pq.read_table(staged_part(self.staging, name, self.next))
                if name not in self.writers:
                    self.writers[name] = pq.ParquetWriter(
                        tmp,
                        t.schema,
                        compression=DEFAULT_COMPRESSION,
                        compression_level=DEFAULT_COMPRESSION_LEVEL,
                    )
                self.writers[name].write_table(t)
                self.rows[name] += t.num_rows
            self.next += 1

    def finish(self, n_shards: int) -> dict[str, FileInfo]:
        """Close the tables (all n_shards merged) and describe them; the files land when the block exits."""
        assert self.next == n_shards, "every shard must be merged before finishing"
        out = {}
        for name, tmp in self.tmp.items():
            self.writers.pop(name).close()
            out[name] = FileInfo(
                file=table_path(self.out_dir, name).name,
                rows=self.rows[name],
                sha256=file_sha256(tmp),
                bytes=Path(tmp).stat().st_size,
            )
        table = pa.concat_tables(
            [pq.read_table(staged_part(self.staging, "merchants", k)) for k in range(n_shards)]
        )
        _, first = np.unique(table.column("merchant_id").to_numpy(), return_index=True)  # sorted by id
        out["merchants"] = write_table(self.out_dir, "merchants", table.take(pa.array(first)))
        return out


__all__ = ["Merger"]
