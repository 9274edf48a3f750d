"""Generate a world: a fixed shard plan run on a local process pool (or a Dask cluster), written atomically
with a manifest.

Shard k holds consumers [k * shard_size, (k + 1) * shard_size). A worker simulates its shard from the
consumers' own streams and writes its transactions part file plus staging parts of the other tables;
the parent merges the staging parts in shard order. Nothing depends on the number of workers or the
order shards finish in, so the output is byte-identical either way.

Everything is built in DIR/.build (shard files, staging parts, merged tables, and a manifest with status
"partial" listing the shards finished so far) and moved into DIR only when complete (commit_build), so a
failed or interrupted run leaves the dataset in DIR as it was. Ctrl-C reaches the parent only (workers
ignore SIGINT); the parent stops the pool at once (after the finished shard it is recording and merging,
if any) and raises RunInterrupted, keeping the finished shards in DIR/.build, where
`generate(..., resume=True)` continues (engine.resume). A full disk, a worker that died or a failed Dask
run keep them too; any other error removes DIR/.build.
"""

from __future__ import annotations

import errno
import multiprocessing as mp
import os
import shutil
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from cardworld.config import WorldConfig, config_dict, make_config
from cardworld.engine.merge import Merger
from cardworld.engine.resume import WorkerDied, detector_fingerprint, fault_error, prepare_resume
from cardworld.engine.shard import STAGED, STAGED_TABLES, STAGING, ShardResult, run_shard, staged_part
from cardworld.errors import FIX, ConfigError, Fix
from cardworld.io.dataset import (
    BUILD_DIR,
    MANIFEST,
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
_RUNNING, _DONE = 1, 2  # a shard's state in the pool's shared array (0: not started)
_state = None  # in a pool worker: that shared array (set by _init_worker)


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
    resume: bool = False,
    client: Any = None,
    worker_peaks: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Write the world's dataset directory; returns the manifest. `order` runs shards in another order
    (for tests of determinism); on_shard(done, total) reports progress; `detector` watches every card
    and revokes the ones it flags (see cardworld.sim.detectors for its signature).

    The dataset is built in DIR/.build and replaces the one in DIR (with `overwrite`) only when complete;
    files in DIR that are not dataset files are never touched. On an error the dataset in DIR stays as it
    was and DIR/.build is removed; on Ctrl-C it stays too, the finished shards are kept in DIR/.build,
    and RunInterrupted (a KeyboardInterrupt) says so; a full disk or a worker that died keep them as well.

    `resume` continues the interrupted run in DIR/.build: it must have had the same cardworld version,
    config, seed and detector; its finished shards whose files verify are kept and only the others run.
    It implies `overwrite` (the interrupted run had to be allowed to replace the dataset in DIR).
    `client`, a dask.distributed Client, runs the shards on its cluster (`workers` is then ignored); DIR
    must be on a filesystem its workers share. `worker_peaks`, a dict, receives {worker: peak RSS in bytes}
    of every process other than this one that ran shards ("pid-PID"; on Dask "HOST-pid-PID").
    The output is byte-identical whatever the workers, the order, local or Dask, fresh or resumed.
    """
    check_detector(detector, workers if client is None else 1)
    if client is not None and detector is not None and detector_fingerprint(detector) is None:
        raise ConfigError(
            "detector: cannot be sent to worker processes (it cannot be pickled), and a Dask run needs it "
            f"on its workers; use a module-level function or class instance, or {FIX}",
            fix=Fix(python="call generate without a client", cli="run without --dask"),
        )
    plan = shard_plan(cfg)
    ks = list(range(len(plan))) if order is None else list(order)
    if sorted(ks) != list(range(len(plan))):
        raise ValueError("order must be a permutation of the shard indexes")
    manifest = _new_manifest(cfg, plan, detector)
    if resume:  # manifest then lists the kept shards
        out_dir = prepare_resume(out, manifest, detector)
    else:
        out_dir = check_output_dir(out, overwrite)
        start_build(out_dir)
    had_dataset = (out_dir / MANIFEST).is_file()
    build = out_dir / BUILD_DIR
    kept = {s["index"] for s in manifest["shards"]}
    todo = [k for k in ks if k not in kept]
    try:
        _build(cfg, build, manifest, todo, _Runner(workers, client, detector, worker_peaks), on_shard)
    except KeyboardInterrupt:
        finished = len(manifest["shards"])
        if not finished:  # nothing worth keeping
            shutil.rmtree(build, ignore_errors=True)
        raise RunInterrupted(out_dir, finished, len(plan), had_dataset) from None
    except BaseException as e:
        finished = len(manifest["shards"])
        fault = fault_error(e, out_dir, finished, len(plan), had_dataset, on_dask=client is not None)
        if fault is None or not finished:
            shutil.rmtree(build, ignore_errors=True)
        if fault is None:
            raise
        raise fault from e
    final = {**manifest, "shards": [{k: v for k, v in s.items() if k != STAGED} for s in manifest["shards"]]}
    with _sigint_ignored():  # a few renames: Ctrl-C must not cut the commit in half
        commit_build(out_dir, final)
    final["status"] = "complete"
    return final


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
        "detector_sha256": detector_fingerprint(detector),  # what a resume checks
    }
    return manifest


class _Runner:
    """Where the shards run (in this process, a local pool, or Dask) and what is noted of each worker."""

    def __init__(self, workers: int, client: Any, detector: Detector | None, peaks: dict | None) -> None:
        self.workers, self.client, self.detector, self.peaks = workers, client, detector, peaks

    def note(self, res: ShardResult) -> None:
        """Keep the peak RSS of the process that ran a shard (unless it is this one)."""
        if self.peaks is None or (res.host, res.pid) == (socket.gethostname(), os.getpid()):
            return
        key = f"pid-{res.pid}" if self.client is None else f"{res.host}-pid-{res.pid}"
        self.peaks[key] = max(self.peaks.get(key, 0), res.peak_rss)

    def run(self, cfg: WorldConfig, build: Path, todo: list[int], done, record) -> Callable[[], None]:
        """Run shards `todo`, calling done(result) in this process as each one finishes. Returns what waits
        for the worker processes to exit (they may still be exiting while the caller finishes the merge)."""
        if self.client is not None:
            if todo:
                _run_dask(self.client, cfg, build, todo, self.detector, done)
        elif self.workers <= 1 or len(todo) <= 1:
            for k in todo:
                done(run_shard(cfg, k, str(build), self.detector))
        else:
            return _run_pool(cfg, build, todo, self.workers, self.detector, done, record)
        return lambda: None


def _build(cfg, build: Path, manifest, todo: list[int], runner: _Runner, on_shard) -> None:
    """Build the whole dataset in `build`; `manifest` records each finished shard (also on interrupt).
    Shards it already lists (kept by a resume) are merged first; `todo` are run."""
    write_manifest(build, manifest)
    staging = build / STAGING
    staging.mkdir(exist_ok=True)
    total = len(manifest["shard_plan"])

    def record(res: ShardResult) -> None:  # what a resume may rely on: the shard and its staging parts
        shards = [s for s in manifest["shards"] if s["index"] != res.index] + [res.record()]
        shards.sort(key=lambda s: s["index"])
        write_manifest(build, {**manifest, "shards": shards})  # on a full disk the record stays as it was
        manifest["shards"] = shards
        runner.note(res)

    with Merger(build, staging) as merger:
        for k in [s["index"] for s in manifest["shards"]]:
            merger.shard_done(k)
        if on_shard and manifest["shards"]:
            on_shard(len(manifest["shards"]), total)

        def done(res: ShardResult) -> None:
            # Whole or not at all: a Ctrl-C between the manifest's write and `manifest` in memory would
            # drop a shard the build folder lists, and one inside the merge's first read (pyarrow imports
            # a module there, on both threads) can leave the import lock held and the helper thread stuck.
            with _sigint_deferred():
                record(res)
                merger.shard_done(res.index)
            if on_shard:
                on_shard(len(manifest["shards"]), total)

        exited = runner.run(cfg, build, todo, done, record)
        try:
            merged = merger.finish(total)
        finally:
            exited()
    for name in STAGED_TABLES:
        add_table(manifest, name, merged[name])
    fraudsters = pq.read_table(staged_part(staging, "fraudsters", 0))
    add_table(manifest, "fraudsters", write_table(build, "fraudsters", fraudsters))
    shutil.rmtree(staging)
    write_manifest(build, manifest)  # every built file listed: what commit_build moves


def _run_dask(client, cfg: WorldConfig, build: Path, todo: list[int], detector, done) -> None:
    """Run the shards on a Dask cluster (cluster.run_on_dask: retries, and errors that name the shard)."""
    from cardworld.engine.cluster import run_on_dask  # dask is an optional extra

    where = str(build.resolve())  # the workers' working directories are not ours
    tasks = {k: (cfg, k, where, detector) for k in todo}
    run_on_dask(client, run_shard, tasks, lambda k, res: done(res), what="shard")


def _run_pool(cfg, build: Path, ks, workers, detector, done, record) -> Callable[[], None]:
    """Run the shards on a spawned process pool, calling done(result) in the parent as each one finishes.
    Returns what waits for the workers to exit: a worker takes a while to free a shard's memory, which
    the parent's last merge need not wait for.

    On any error or interrupt the pool is stopped at once (pending shards cancelled, running ones
    terminated, not waited for); shards that had finished by then still go to record(result). A worker
    that dies (killed, out of memory) raises WorkerDied with the shards that were running then.
    """
    futures: dict[Future, int] = {}
    handled: set[Future] = set()
    ctx = mp.get_context("spawn")
    state = ctx.RawArray("b", max(ks) + 1)  # shared memory: which shards the workers are running
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(state,)
    )
    try:
        with _sigint_deferred():  # the workers start here (see _sigint_deferred)
            futures = {pool.submit(_pool_task, cfg, k, str(build), detector): k for k in ks}
        for f in as_completed(futures):
            handled.add(f)
            done(f.result())
    except BaseException as e:
        running = [k for k in sorted(ks) if state[k] == _RUNNING]
        with _sigint_ignored():  # a second Ctrl-C must not interrupt the clean-up
            _stop(pool)
            for f in futures:
                if f not in handled and f.done() and not f.cancelled() and f.exception() is None:
                    record(f.result())
        if isinstance(e, BrokenProcessPool):
            raise WorkerDied(running) from e
        raise
    pool.shutdown(wait=False)  # every shard is in: the workers are told to exit
    return pool.shutdown


def _pool_task(cfg: WorldConfig, k: int, build: str, detector: Detector | None) -> ShardResult:
    """run_shard in a pool worker, marked as running in the shared state meanwhile."""
    if _state is not None:
        _state[k] = _RUNNING
    try:
        return run_shard(cfg, k, build, detector)
    finally:
        if _state is not None:
            _state[k] = _DONE


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the pool's pending shards and end its workers now (shutdown alone waits for running ones)."""
    _quiet_feeder_races()
    procs = list((pool._processes or {}).values())  # private, but the only handle on the workers
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=2)
        if p.is_alive():
            p.kill()
            p.join(timeout=2)


def _quiet_feeder_races() -> None:
    """Stopping a pool races its queue feeder thread: the thread may still be writing a task (or, failing
    that, waking the manager) through a pipe shutdown has just closed, and CPython then prints that
    OSError from the thread, a traceback after our one 'interrupted' line. Drop exactly that case."""
    previous = threading.excepthook
    if getattr(previous, "_cardworld_quiet", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        thread = args.thread.name if args.thread is not None else ""
        errno_ = getattr(args.exc_value, "errno", None)
        if thread == "QueueFeederThread" and errno_ in (errno.EBADF, errno.EPIPE):
            return
        previous(args)

    hook._cardworld_quiet = True  # type: ignore[attr-defined]
    threading.excepthook = hook


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
    """Hold Ctrl-C off until the block ends, then raise KeyboardInterrupt: for starting worker processes,
    and for recording and merging a finished shard.

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


def _init_worker(state=None) -> None:
    global _state
    _state = state
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
