"""Generate a world: a fixed shard plan run on a local process pool, written atomically with a manifest.

Shard k holds consumers [k * shard_size, (k + 1) * shard_size). A worker simulates its shard from the
consumers' own streams and writes its transactions part file plus staging parts of the other tables;
the parent merges the staging parts in shard order. Nothing depends on the number of workers or the
order shards finish in, so the output is byte-identical either way.

Everything is built in DIR/.build (shard files, staging parts, merged tables, and a manifest with status
"partial" listing the shards finished so far) and moved into DIR only when complete (commit_build), so a
failed or interrupted run leaves the dataset in DIR as it was. Ctrl-C reaches the parent only (workers
ignore SIGINT); the parent stops the pool at once and raises RunInterrupted, keeping the finished shards
in DIR/.build, where a later resume can continue from.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from cardworld.config import WorldConfig, config_dict, make_config
from cardworld.engine.merge import Merger
from cardworld.engine.shard import STAGED_TABLES, run_shard, staged_part
from cardworld.errors import ConfigError
from cardworld.io.dataset import (
    BUILD_DIR,
    MANIFEST,
    ShardInfo,
    add_shard,
    add_table,
    check_output_dir,
    commit_build,
    new_manifest,
    read_manifest,
    start_build,
    write_manifest,
    write_table,
)
from cardworld.sim.detectors import Detector, check_detector

_SIGMASK = hasattr(signal, "pthread_sigmask")  # POSIX
STAGING = "_staging"  # in DIR/.build: the shards' parts of the other tables (engine.shard writes them)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped `generate`: the dataset in DIR is unchanged and the finished shards stay in
    DIR/.build. The message says so in one line; `finished` and `total` count shards."""

    def __init__(self, out_dir: Path, finished: int, total: int, had_dataset: bool) -> None:
        self.out_dir, self.finished, self.total = out_dir, finished, total
        where = str(out_dir)
        before = (
            f"the dataset in {where!r} is unchanged"
            if had_dataset
            else f"no dataset was written to {where!r}"
        )
        kept = (
            f"{finished} of {total} shards had finished and are kept in {str(out_dir / BUILD_DIR)!r}"
            if finished
            else "no shard had finished"
        )
        super().__init__(f"interrupted: {before}; {kept}")


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
    and revokes the ones it flags (see cardworld.sim.detectors for its signature).

    The dataset is built in DIR/.build and replaces the one in DIR (with `overwrite`) only when complete;
    files in DIR that are not dataset files are never touched. On an error the dataset in DIR stays as it
    was and DIR/.build is removed; on Ctrl-C it stays too, the finished shards are kept in DIR/.build,
    and RunInterrupted (a KeyboardInterrupt) says so.
    """
    check_detector(detector, workers)
    plan = shard_plan(cfg)
    ks = list(range(len(plan))) if order is None else list(order)
    if sorted(ks) != list(range(len(plan))):
        raise ValueError("order must be a permutation of the shard indexes")
    out_dir = check_output_dir(out, overwrite)
    had_dataset = (out_dir / MANIFEST).is_file()
    build = out_dir / BUILD_DIR
    manifest = _new_manifest(cfg, plan, detector)
    try:
        _build(cfg, start_build(out_dir), manifest, ks, workers, on_shard, detector)
    except KeyboardInterrupt:
        finished = len(manifest["shards"])
        if not finished:  # nothing worth keeping
            shutil.rmtree(build, ignore_errors=True)
        raise RunInterrupted(out_dir, finished, len(plan), had_dataset) from None
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    with _sigint_ignored():  # a few renames: Ctrl-C must not cut the commit in half
        commit_build(out_dir, manifest)
    manifest["status"] = "complete"
    return manifest


def _new_manifest(cfg: WorldConfig, plan: list[dict[str, int]], detector: Detector | None) -> dict[str, Any]:
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
    return manifest


def _build(cfg, build: Path, manifest, ks, workers, on_shard, detector) -> None:
    """Build the whole dataset in `build`; `manifest` records each finished shard (also on interrupt)."""
    write_manifest(build, manifest)
    staging = build / STAGING
    staging.mkdir()

    def record(info: ShardInfo) -> None:  # what a resume may rely on: the shard and its staging parts
        add_shard(manifest, info)
        write_manifest(build, manifest)

    with Merger(build, staging) as merger:

        def done(info: ShardInfo) -> None:
            record(info)
            merger.shard_done(info.index)
            if on_shard:
                on_shard(len(manifest["shards"]), len(ks))

        if workers <= 1 or len(ks) == 1:
            for k in ks:
                done(run_shard(cfg, k, str(build), detector))
        else:
            _run_pool(cfg, build, ks, workers, detector, done, record)
        merged = merger.finish(len(ks))
    for name in STAGED_TABLES:
        add_table(manifest, name, merged[name])
    fraudsters = pq.read_table(staged_part(staging, "fraudsters", 0))
    add_table(manifest, "fraudsters", write_table(build, "fraudsters", fraudsters))
    shutil.rmtree(staging)
    write_manifest(build, manifest)  # every built file listed: what commit_build moves


def _run_pool(cfg, build: Path, ks, workers, detector, done, record) -> None:
    """Run the shards on a spawned process pool, calling done(info) in the parent as each one finishes.

    On any error or interrupt the pool is stopped at once (pending shards cancelled, running ones
    terminated, not waited for); shards that had finished by then still go to record(info).
    """
    futures: dict[Future, int] = {}
    handled: set[Future] = set()
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker
    )
    try:
        with _sigint_deferred():  # the workers start here (see _sigint_deferred)
            futures = {pool.submit(run_shard, cfg, k, str(build), detector): k for k in ks}
        for f in as_completed(futures):
            handled.add(f)
            done(f.result())
    except BaseException:
        with _sigint_ignored():  # a second Ctrl-C must not interrupt the clean-up
            _stop(pool)
            for f in futures:
                if f not in handled and f.done() and not f.cancelled() and f.exception() is None:
                    record(f.result())
        raise
    pool.shutdown()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the pool's pending shards and end its workers now (shutdown alone waits for running ones)."""
    procs = list((pool._processes or {}).values())  # private, but the only handle on the workers
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=2)
        if p.is_alive():
            p.kill()
            p.join(timeout=2)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C in this block (only the main thread can change signal handlers; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if old is None else old)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C off until the block ends, then raise KeyboardInterrupt; for starting worker processes.

    SIGINT is also blocked in the signal mask, which a spawned process inherits across exec: a worker
    cannot be hit by a terminal's Ctrl-C (sent to the whole group) while it imports, before its
    initializer ignores SIGINT (the stdlib's resource tracker is started the same way). The parent, in
    turn, is not interrupted half-way through starting a worker.
    """
    # Only a Python handler is deferred: SIGINT ignored (a background job) stays so, workers included.
    if threading.current_thread() is not threading.main_thread() or not callable(
        signal.getsignal(signal.SIGINT)
    ):
        yield
        return
    got: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if _SIGMASK else None
    try:
        yield
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, old)
    if got:
        raise KeyboardInterrupt


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the parent handles Ctrl-C: it stops the workers
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def dataset_config(directory: str | os.PathLike) -> WorldConfig:
    """The config a dataset directory was generated with (its manifest's ``config``)."""
    manifest = read_manifest(directory)
    where = f"{Path(directory) / MANIFEST}: config"
    if not isinstance(manifest.get("config"), Mapping):
        raise ConfigError(
            f"{where} is missing or not a mapping; the dataset was not written by a cardworld run"
        )
    return make_config(manifest["config"], where)


__all__ = [
    "RunInterrupted",
    "dataset_config",
    "generate",
    "shard_plan",
]
