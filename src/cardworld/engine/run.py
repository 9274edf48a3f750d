"""Generate a world: a fixed shard plan run on a local process pool, written atomically with a manifest.

Shard k holds consumers [k * shard_size, (k + 1) * shard_size). A worker simulates its shard from the
consumers' own streams and writes its transactions part file plus staging parts of the other tables;
the parent merges the staging parts in shard order. Nothing depends on the number of workers or the
order shards finish in, so the output is byte-identical either way.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.config import WorldConfig, config_dict
from cardworld.engine.shard import STAGED_TABLES, run_shard
from cardworld.io.atomic import atomic_output
from cardworld.io.dataset import (
    DEFAULT_COMPRESSION,
    DEFAULT_COMPRESSION_LEVEL,
    FileInfo,
    ShardInfo,
    add_shard,
    add_table,
    check_output_dir,
    file_sha256,
    new_manifest,
    table_path,
    write_manifest,
    write_table,
)
from cardworld.io.schema import empty_table

STAGING = "_staging"


def shard_plan(cfg: WorldConfig) -> list[dict[str, int]]:
    return [
        {"index": k, "first_consumer": lo, "end_consumer": hi}
        for k in range(cfg.n_shards())
        for lo, hi in [cfg.shard_bounds(k)]
    ]


def generate(
    cfg: WorldConfig,
    out: str | os.PathLike,
    *,
    workers: int = 1,
    overwrite: bool = False,
    order: list[int] | None = None,
    on_shard: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the world's dataset directory; returns the manifest. `order` runs shards in another order
    (for tests of determinism); on_shard(done, total) reports progress."""
    out_dir = check_output_dir(out, overwrite)
    staging = out_dir / STAGING
    staging.mkdir(exist_ok=True)
    plan = shard_plan(cfg)
    manifest = new_manifest(config=config_dict(cfg), seed=cfg.seed, shard_plan=plan)
    manifest["representative"] = cfg.representative
    write_manifest(out_dir, manifest)
    ks = list(range(len(plan))) if order is None else list(order)
    if sorted(ks) != list(range(len(plan))):
        raise ValueError("order must be a permutation of the shard indexes")
    infos: dict[int, ShardInfo] = {}
    if workers <= 1 or len(ks) == 1:
        for k in ks:
            infos[k] = run_shard(cfg, k, str(out_dir))
            if on_shard:
                on_shard(len(infos), len(ks))
    else:
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_pin_threads) as pool:
            futures = {pool.submit(run_shard, cfg, k, str(out_dir)): k for k in ks}
            for f in as_completed(futures):
                infos[futures[f]] = f.result()
                if on_shard:
                    on_shard(len(infos), len(ks))
    for k in sorted(infos):
        add_shard(manifest, infos[k])
    for name in STAGED_TABLES:
        parts = [staging / f"{name}-{k:05d}.parquet" for k in range(len(plan))]
        add_table(manifest, name, _merge(out_dir, name, parts))
    add_table(manifest, "fraudsters", write_table(out_dir, "fraudsters", empty_table("fraudsters")))
    shutil.rmtree(staging)
    manifest["status"] = "complete"
    write_manifest(out_dir, manifest)
    return manifest


def _pin_threads() -> None:
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def _merge(out_dir: Path, name: str, parts: list[Path]) -> FileInfo:
    """Concatenate staging parts in shard order into DIR/NAME.parquet (merchants: deduplicated by id)."""
    path = table_path(out_dir, name)
    if name == "merchants":
        table = pa.concat_tables([pq.read_table(p) for p in parts])
        ids = table.column("merchant_id").to_numpy()
        _, first = np.unique(ids, return_index=True)  # sorted by id; a merchant is the same in every shard
        return write_table(out_dir, name, table.take(pa.array(first)))
    rows = 0
    with atomic_output(path, overwrite=True) as tmp:
        writer = None
        for p in parts:
            t = pq.read_table(p)
            if writer is None:
                writer = pq.ParquetWriter(
                    tmp,
                    t.schema,
                    compression=DEFAULT_COMPRESSION,
                    compression_level=DEFAULT_COMPRESSION_LEVEL,
                )
            writer.write_table(t)
            rows += t.num_rows
        if writer is not None:
            writer.close()
        digest = file_sha256(tmp)
        size = Path(tmp).stat().st_size
    return FileInfo(file=path.name, rows=rows, sha256=digest, bytes=size)


__all__ = ["generate", "shard_plan"]
