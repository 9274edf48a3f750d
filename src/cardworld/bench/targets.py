"""`cardworld bench targets`: users per second of each way to compute the suites' targets.

Rows: baseline (the naive reference, on a subset of users), numba (batch API, 1 process, into a reused
output buffer), numba-sparse (the same at K random positions per user, compute_targets_batch(at=)),
numba-mp (N processes, each computing its share of users), polars (the targets Polars can express,
1 thread), and dataloader (TransactionDataset over a Parquet file, DataLoader with 2 workers, batch 64).
Each timing is the best of `repeats` runs after a warm-up (numba compiles on first call, then loads from
its cache). Threads are pinned to 1 per process; set before numba, polars or torch start their pools.
The bar table (bench/targets_bars.py) is built from these.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from cardworld.bench.machine import POLARS_THREADS, THREAD_VARS
from cardworld.bench.suites import SUITES
from cardworld.sample import SampleData, make_sample_data
from cardworld.targets.compute import compute_targets_batch
from cardworld.targets.plan import compile_plan
from cardworld.targets.spec import TargetSpec, spec_name

POSITIONS_SEED = 64  # the sparse row's positions: the same rows in every run and on every machine


def pin_threads() -> None:
    """One thread per process for every pool we may start (oversubscribed OpenMP is 15-20x slower)."""
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    os.environ.setdefault(POLARS_THREADS, "1")


@dataclass
class BenchRow:
    impl: str
    processes: int
    users: int
    txns_per_user: int
    targets: int
    seconds: float
    users_per_s: float
    note: str = ""


def best_of(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _row(impl: str, procs: int, users: int, txns: int, targets: int, sec: float, note: str = "") -> BenchRow:
    return BenchRow(impl, procs, users, txns, targets, round(sec, 6), round(users / sec, 1), note)


def _batch(
    specs, data: SampleData, at: np.ndarray | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    return compute_targets_batch(
        specs, time=data.time, amount=data.amount, mcc=data.mcc, offsets=data.offsets, at=at, out=out
    )


def _touched(rows: int, cols: int) -> np.ndarray:
    """An output buffer whose pages are already mapped (as a reused one is in a training loop)."""
    out = np.empty((rows, cols), dtype=np.float32)
    out.fill(0.0)
    return out


def bench_baseline(specs, data: SampleData, users: int, repeats: int = 1) -> BenchRow:
    from cardworld.targets.reference import reference_targets_batch

    sub = data.subset(min(users, data.n_users))

    def call(d: SampleData) -> np.ndarray:
        return reference_targets_batch(specs, time=d.time, amount=d.amount, mcc=d.mcc, offsets=d.offsets)

    call(data.subset(1))  # first-call costs (lazy imports, numpy's first dispatches) are not the baseline
    sec = best_of(lambda: call(sub), repeats)
    txns = int(np.diff(sub.offsets).max())
    return _row("baseline", 1, sub.n_users, txns, len(specs), sec, f"naive reference on {sub.n_users} users")


def bench_numba(specs, data: SampleData, repeats: int) -> BenchRow:
    plan = compile_plan(specs)
    _batch(plan, data.subset(min(8, data.n_users)))  # compile or load from cache
    out = _touched(int(data.offsets[-1]), plan.n_outputs)
    sec = best_of(lambda: _batch(plan, data, out=out), repeats)
    txns = int(np.diff(data.offsets).max())
    note = "one compute_targets_batch call, out buffer reused"
    return _row("numba", 1, data.n_users, txns, len(specs), sec, note)


def sparse_positions(offsets: np.ndarray, k: int, seed: int = POSITIONS_SEED) -> np.ndarray:
    """min(k, rows of the user) distinct rows of each user, drawn uniformly from `seed`: flat row indices,
    strictly increasing (what compute_targets_batch(at=) takes). A user with k rows or fewer gives all."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rng = np.random.default_rng(seed)
    off = np.asarray(offsets, dtype=np.int64)
    parts = []
    for a, b in itertools.pairwise(off.tolist()):
        n = b - a
        rows = np.arange(n) if n <= k else np.sort(rng.choice(n, size=k, replace=False))
        parts.append(a + rows)
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def bench_sparse(specs, data: SampleData, k: int, repeats: int) -> BenchRow:
    """numba at `k` positions per user, drawn before the timing: one compute_targets_batch(at=) call."""
    plan = compile_plan(specs)
    at = sparse_positions(data.offsets, k)
    small = data.subset(min(8, data.n_users))
    _batch(plan, small, at=sparse_positions(small.offsets, k))  # compile or load from cache
    out = _touched(at.size, plan.n_outputs)
    sec = best_of(lambda: _batch(plan, data, at=at, out=out), repeats)
    txns = int(np.diff(data.offsets).max())
    per_user = at.size / max(data.n_users, 1)
    note = f"compute_targets_batch(at=): {per_user:g} positions per user, out buffer reused"
    return _row("numba-sparse", 1, data.n_users, txns, len(specs), sec, note)


# numba-mp: each worker regenerates the (deterministic) benchmark data once, then computes its share of
# users; outputs stay in the workers, as they would in DataLoader workers.
_WORKER: dict = {}


def _mp_init(users: int, txns: int, seed: int, suite: int) -> None:
    pin_threads()
    data = make_sample_data(users, txns, seed)
    plan = compile_plan(SUITES[suite])
    _batch(plan, data.subset(min(8, users)))
    _WORKER.update(data=data, plan=plan)


def _mp_work(bounds: tuple[int, int]) -> int:
    u0, u1 = bounds
    d: SampleData = _WORKER["data"]
    a, b = d.offsets[u0], d.offsets[u1]
    y = compute_targets_batch(
        _WORKER["plan"],
        time=d.time[a:b],
        amount=d.amount[a:b],
        mcc=d.mcc[a:b],
        offsets=d.offsets[u0 : u1 + 1] - a,
    )
    return int(y.shape[0])


def bench_numba_mp(suite: int, users: int, txns: int, seed: int, processes: int, repeats: int) -> BenchRow:
    ctx = mp.get_context("spawn")  # fresh interpreters: no inherited thread pools
    shares = np.linspace(0, users, 4 * processes + 1).astype(int)
    chunks = [(int(a), int(b)) for a, b in itertools.pairwise(shares) if b > a]
    with ctx.Pool(processes, initializer=_mp_init, initargs=(users, txns, seed, suite)) as pool:
        pool.map(_mp_work, chunks[:processes])  # warm every worker
        sec = best_of(lambda: pool.map(_mp_work, chunks), repeats)
    return _row(
        "numba-mp", processes, users, txns, len(SUITES[suite]), sec, "spawned pool, outputs kept in workers"
    )


def bench_polars(specs, data: SampleData, repeats: int) -> tuple[BenchRow | None, list[str], dict[str, str]]:
    from cardworld.bench.polars_targets import bench_frame, polars_support, polars_targets

    supported = [s for s in specs if polars_support(s) is None]
    reasons = {spec_name(s): str(polars_support(s)) for s in specs if polars_support(s) is not None}
    if not supported:
        return None, [], reasons
    frame = bench_frame(data)
    polars_targets(supported, bench_frame(data.subset(min(8, data.n_users))))
    sec = best_of(lambda: polars_targets(supported, frame), repeats)
    txns = int(np.diff(data.offsets).max())
    names = [spec_name(s) for s in supported]
    note = f"{len(supported)} of {len(specs)} targets Polars can express; 1 thread"
    return _row("polars", 1, data.n_users, txns, len(supported), sec, note), names, reasons


def bench_per_target(specs, data: SampleData, repeats: int) -> list[dict]:
    """numba and Polars on each target alone (for 'faster than Polars on every target it can express')."""
    from cardworld.bench.polars_targets import bench_frame, polars_support, polars_targets

    frame = bench_frame(data)
    rows = []
    for s in specs:
        if polars_support(s) is not None:
            continue
        _batch([s], data.subset(8))
        t_numba = best_of(lambda s=s: _batch([s], data), repeats)
        polars_targets([s], bench_frame(data.subset(8)))
        t_polars = best_of(lambda s=s: polars_targets([s], frame), repeats)
        rows.append(
            {
                "target": spec_name(s),
                "numba_s": round(t_numba, 6),
                "polars_s": round(t_polars, 6),
                "speedup": round(t_polars / t_numba, 2),
            }
        )
    return rows


def bench_dataloader(
    suite: int, data: SampleData, workers: int = 2, batch_size: int = 64, repeats: int = 1
) -> BenchRow:
    import torch
    from torch.utils.data import DataLoader

    from cardworld.sequences import TransactionDataset

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.parquet"
        _write_parquet(data, path)
        ds = TransactionDataset(str(path), SUITES[suite], max_len=int(np.diff(data.offsets).max()))
        loader = DataLoader(
            ds,
            batch_size=batch_size,
            num_workers=workers,
            collate_fn=TransactionDataset.collate_fn,
            persistent_workers=True,
            multiprocessing_context="fork",
        )

        def epoch() -> int:
            n = 0
            for batch in loader:
                n += len(batch)
            return n

        epoch()  # start workers, load the file, compile or load kernels
        sec = best_of(epoch, repeats)
    txns = int(np.diff(data.offsets).max())
    note = f"{workers} workers, batch {batch_size}, Parquet file, persistent workers (warm epoch)"
    return _row("dataloader", workers, data.n_users, txns, len(SUITES[suite]), sec, note)


def _write_parquet(data: SampleData, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "user_id": data.user_id,
            "timestamp": pa.array(data.time.astype("datetime64[s]")),
            "amount": data.amount,
            "mcc": data.mcc,
        }
    )
    pq.write_table(table, path, row_group_size=1 << 20)


def n_outputs(specs: list[TargetSpec]) -> int:
    return len(compile_plan(specs).names)


def result_dict(rows: list[BenchRow]) -> list[dict]:
    return [asdict(r) for r in rows]
