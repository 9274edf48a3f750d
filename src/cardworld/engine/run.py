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
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.config import WorldConfig, config_dict
from cardworld.engine.shard import STAGED_TABLES, run_shard, staged_part
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
    remove_dataset_files,
    table_path,
    write_manifest,
    write_table,
)
from cardworld.sim.detectors import Detector, check_detector

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
    detector: Detector | None = None,
) -> dict[str, Any]:
    """Write the world's dataset directory; returns the manifest. `order` runs shards in another order
    (for tests of determinism); on_shard(done, total) reports progress; `detector` watches every card
    and revokes the ones it flags (see cardworld.sim.detectors for its signature). On any error the
    dataset files written so far are removed, so nothing is left half-written."""
    check_detector(detector, workers)
    out_dir = check_output_dir(out, overwrite)
    try:
        return _generate(cfg, out_dir, workers, order, on_shard, detector)
    except BaseException:
        remove_dataset_files(out_dir)
        shutil.rmtree(out_dir / STAGING, ignore_errors=True)
        raise


def _generate(cfg, out_dir, workers, order, on_shard, detector) -> dict[str, Any]:
    staging = out_dir / STAGING
    staging.mkdir(exist_ok=True)
    plan = shard_plan(cfg)
    manifest = new_manifest(config=config_dict(cfg), seed=cfg.seed, shard_plan=plan)
    manifest["representative"] = cfg.representative
    manifest["fraud"] = {
        "enabled": cfg.fraud.enabled,
        "realistic_rates": cfg.fraud.realistic,
        "oversample_fraud": cfg.fraud.oversample_fraud,
        "detector": None
        if detector is None
        else getattr(detector, "__qualname__", type(detector).__qualname__),
    }
    write_manifest(out_dir, manifest)
    ks = list(range(len(plan))) if order is None else list(order)
    if sorted(ks) != list(range(len(plan))):
        raise ValueError("order must be a permutation of the shard indexes")
    infos: dict[int, ShardInfo] = {}
    with _Merger(out_dir, staging) as merger:
        if workers <= 1 or len(ks) == 1:
            for k in ks:
                infos[k] = run_shard(cfg, k, str(out_dir), detector)
                merger.shard_done(k)
                if on_shard:
                    on_shard(len(infos), len(ks))
        else:
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_pin_threads) as pool:
                futures = {pool.submit(run_shard, cfg, k, str(out_dir), detector): k for k in ks}
                for f in as_completed(futures):
                    infos[futures[f]] = f.result()
                    merger.shard_done(futures[f])
                    if on_shard:
                        on_shard(len(infos), len(ks))
        merged = merger.finish(len(plan))
    for k in sorted(infos):
        add_shard(manifest, infos[k])
    for name in STAGED_TABLES:
        add_table(manifest, name, merged[name])
    fraudsters = pq.read_table(staged_part(staging, "fraudsters", 0))
    add_table(manifest, "fraudsters", write_table(out_dir, "fraudsters", fraudsters))
    shutil.rmtree(staging)
    manifest["status"] = "complete"
    write_manifest(out_dir, manifest)
    return manifest


def _pin_threads() -> None:
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


class _Merger:
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

    def __enter__(self) -> _Merger:
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


__all__ = ["generate", "shard_plan"]
