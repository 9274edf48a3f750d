"""`cardworld bench world`: transactions per second of `cardworld generate`, end to end to Parquet.

Each run writes a fresh world into a temporary directory (the same code path as the CLI), then reports
rows, wall seconds, transactions per second, peak RSS (the largest of this process and its workers) and
Parquet bytes per transaction row. Threads are pinned to 1 per process. `fraud=False` measures the
world without fraud (what fraud costs), `credit=False` without the credit cycle (what it costs).
"""

from __future__ import annotations

import datetime as dt
import resource
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cardworld.bench.targets import pin_threads
from cardworld.config import load_config


@dataclass
class WorldRow:
    consumers: int
    years: float
    workers: int
    fraud: bool
    credit: bool
    rows: int
    seconds: float
    txn_per_s: float
    peak_rss_mb: float
    bytes_per_row: float


def bench_world(
    consumers: int,
    years: float,
    workers: int,
    end: dt.date = dt.date(2020, 2, 28),
    seed: int = 0,
    fraud: bool = True,
    credit: bool = True,
) -> WorldRow:
    pin_threads()
    from cardworld.engine.run import generate

    start = end - dt.timedelta(days=round(years * 365.25))
    cfg = load_config(consumers=consumers, start=start, end=end, seed=seed, fraud={"enabled": fraud},
                      credit={"enabled": credit})  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cardworld-bench-") as tmp:
        out = Path(tmp) / "world"
        t0 = time.perf_counter()
        manifest = generate(cfg, out, workers=workers)
        sec = time.perf_counter() - t0
        rows = sum(s["rows"] for s in manifest["shards"])
        size = sum(s["bytes"] for s in manifest["shards"])
    rss_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return WorldRow(
        consumers=consumers,
        years=round(years, 2),
        workers=workers,
        fraud=fraud,
        credit=credit,
        rows=rows,
        seconds=round(sec, 3),
        txn_per_s=round(rows / sec, 1) if sec > 0 else 0.0,
        peak_rss_mb=round(rss_kb / 1024, 1),
        bytes_per_row=round(size / rows, 2) if rows else 0.0,
    )


def rows_dicts(rows: list[WorldRow]) -> list[dict]:
    return [asdict(r) for r in rows]


__all__ = ["WorldRow", "bench_world", "rows_dicts"]
