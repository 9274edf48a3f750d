"""`cardworld bench world`: transactions per second of `cardworld generate`, end to end to Parquet.

Each run writes a fresh world into a temporary directory (the same code path as the CLI), on a local
process pool or on a Dask cluster, then reports shards, rows, wall seconds, transactions per second, peak
RSS and Parquet bytes per transaction row. Peak RSS is the footprint of the whole run: this process's
peak plus the peak of every worker process (pool workers that ran shards; on Dask every worker of the
cluster, whose peaks include whatever those processes did before). Threads are pinned to 1 per process.
`fraud=False` measures the world without fraud (what fraud costs), `credit=False` without the credit
cycle (what it costs). Starting a Dask LocalCluster is not timed; starting the pool is (it is part of
`generate`), as is every worker building its per-process world knowledge.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cardworld.bench.targets import pin_threads
from cardworld.config import load_config
from cardworld.engine.cluster import peak_rss_bytes

_Run = tuple[int, dict[str, Any], float, dict[str, int]]  # workers, manifest, seconds, worker peaks


@dataclass
class WorldRow:
    consumers: int
    years: float
    workers: int  # pool worker processes, or the Dask cluster's workers
    backend: str  # "pool" or "dask"
    shards: int
    fraud: bool
    credit: bool
    rows: int
    seconds: float
    txn_per_s: float
    peak_rss_mb: float  # this process's peak + the sum of every worker process's peak
    bytes_per_row: float


def bench_world(
    consumers: int,
    years: float,
    workers: int = 2,
    end: dt.date = dt.date(2020, 2, 28),
    seed: int = 0,
    fraud: bool = True,
    credit: bool = True,
    *,
    dask: str | None = None,
    shard_size: int | None = None,
    base_dir: str | os.PathLike | None = None,
) -> WorldRow:
    """Generate one world and measure it. `dask` (an address, see cardworld.engine.cluster.parse_address)
    runs it on a Dask cluster instead of `workers` local processes; the world is written under
    `base_dir` (default: the system's temporary directory; on a multi-node cluster, a path every worker
    sees) and removed afterwards."""
    pin_threads()
    start = end - dt.timedelta(days=round(years * 365.25))
    sizes = {} if shard_size is None else {"shard_size": shard_size}
    cfg = load_config(consumers=consumers, start=start, end=end, seed=seed, fraud={"enabled": fraud},
                      credit={"enabled": credit}, **sizes)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cardworld-bench-", dir=base_dir) as tmp:
        out = Path(tmp) / "world"
        n_workers, manifest, sec, peaks = (
            _run_pool(cfg, out, workers) if dask is None else _run_dask(cfg, out, dask)
        )
    rows = sum(s["rows"] for s in manifest["shards"])
    size = sum(s["bytes"] for s in manifest["shards"])
    total = peak_rss_bytes() + sum(peaks.values())
    return WorldRow(
        consumers=consumers,
        years=round(years, 2),
        workers=n_workers,
        backend="pool" if dask is None else "dask",
        shards=len(manifest["shards"]),
        fraud=fraud,
        credit=credit,
        rows=rows,
        seconds=round(sec, 3),
        txn_per_s=round(rows / sec, 1) if sec > 0 else 0.0,
        peak_rss_mb=round(total / 2**20, 1),
        bytes_per_row=round(size / rows, 2) if rows else 0.0,
    )


def _run_pool(cfg, out: Path, workers: int) -> _Run:
    """generate on `workers` local processes, noting each worker process's peak."""
    from cardworld.engine.run import generate

    peaks: dict[str, int] = {}  # filled by generate: every process but this one that ran a shard
    t0 = time.perf_counter()
    manifest = generate(cfg, out, workers=workers, worker_peaks=peaks)
    return workers, manifest, time.perf_counter() - t0, peaks


def _run_dask(cfg, out: Path, address: str) -> _Run:
    """generate on the Dask cluster at `address`, then ask every worker for its peak."""
    from cardworld.engine.cluster import open_client, worker_peaks
    from cardworld.engine.run import generate

    with open_client(address) as client:
        n = len(client.scheduler_info()["workers"])
        t0 = time.perf_counter()
        manifest = generate(cfg, out, client=client)
        sec = time.perf_counter() - t0
        return n, manifest, sec, worker_peaks(client)


def rows_dicts(rows: list[WorldRow]) -> list[dict]:
    return [asdict(r) for r in rows]


__all__ = ["WorldRow", "bench_world", "rows_dicts"]
