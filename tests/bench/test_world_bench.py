"""bench_world: peak RSS is this process's peak plus each worker process's own peak (the Dask row: the
CLI test in tests/cli/test_bench_cli.py)."""

from __future__ import annotations

import pytest

import cardworld.engine.cluster as cluster
import cardworld.engine.run as run_mod
from cardworld.bench.world import bench_world

TINY = {"consumers": 4, "years": 1, "shard_size": 2}  # 2 shards
MiB = 2**20


def _spy(monkeypatch, module, name: str, seen: list) -> None:
    real = getattr(module, name)

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append((kwargs, out))
        return out

    monkeypatch.setattr(module, name, spy)


@pytest.mark.slow
def test_pool_peak_is_the_sum_of_every_process(monkeypatch):
    seen: list = []
    _spy(monkeypatch, run_mod, "generate", seen)
    row = bench_world(TINY["consumers"], TINY["years"], 2, shard_size=TINY["shard_size"])
    parent = cluster.peak_rss_bytes()  # a peak only grows: at least what bench_world read
    ((kwargs, manifest),) = seen
    peaks = kwargs["worker_peaks"]
    assert 1 <= len(peaks) <= 2  # the pool's workers that ran a shard (not this process)
    assert all(p > 30 * MiB for p in peaks.values())  # each a whole Python process with numba loaded
    expected = (parent + sum(peaks.values())) / MiB
    assert expected - 2 <= row.peak_rss_mb <= expected + 0.1  # not max(self, children)
    assert row.peak_rss_mb > max([parent, *peaks.values()]) / MiB + 30
    assert (row.backend, row.workers, row.shards) == ("pool", 2, 2)
    assert row.rows == sum(s["rows"] for s in manifest["shards"]) > 0
