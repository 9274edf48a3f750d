"""`cardworld bench` as a user runs it (small sizes: speed is not asserted here)."""

from __future__ import annotations

import json

import pytest
from cli_helpers import assert_one_line_error, run_cli


@pytest.mark.slow
def test_bench_targets_small(tmp_path):
    path = tmp_path / "bench.json"
    r = run_cli(
        "bench", "targets", "--users", "6", "--txns", "80", "--suite", "20", "--repeats", "1",
        "--baseline-users", "2", "--json", str(path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = json.loads(path.read_text())
    assert [row["impl"] for row in rows] == ["baseline", "numba", "numba-mp", "polars", "dataloader"]
    keys = {"impl", "processes", "users", "txns_per_user", "targets", "seconds", "users_per_s"}
    for row in rows:
        assert keys <= set(row)
        assert row["seconds"] > 0
        # users/s is written to 0.1 (seconds to the microsecond): below 50 users/s that rounding is more
        # than 0.1% of the rate
        rate = row["users"] / row["seconds"]
        assert abs(row["users_per_s"] - rate) <= 0.05 + 1e-3 * rate, row
    assert rows[0]["users"] == 2
    assert rows[1]["targets"] == 20
    assert "numba" in r.stdout


def test_bench_rejects_bad_suite():
    r = run_cli("bench", "targets", "--suite", "7")
    assert r.returncode == 2


@pytest.mark.slow
def test_bench_world_on_dask_local(tmp_path):
    path = tmp_path / "world.json"
    r = run_cli(
        "bench", "world", "--consumers", "6", "--years", "1", "--shard-size", "2", "--dask", "local:2",
        "--dir", str(tmp_path), "--json", str(path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(path.read_text())
    assert (row["backend"], row["workers"], row["shards"]) == ("dask", 2, 3)
    assert row["rows"] > 0
    assert row["bytes_per_row"] > 0
    # parent + 2 worker processes, each a Python process with numpy and numba loaded (> 50 MB apiece)
    assert row["peak_rss_mb"] > 150
    assert "peak RSS MB" in r.stdout  # off a terminal the table is printed wide: no header cut short
    assert [p.name for p in tmp_path.iterdir()] == ["world.json"]  # the world was removed


def test_bench_world_refuses_workers_with_dask():
    r = run_cli("bench", "world", "--workers", "2", "--dask", "local:2")
    assert_one_line_error(r, "--workers")


def test_bench_world_refuses_a_junk_address():
    r = run_cli("bench", "world", "--consumers", "2", "--years", "0.2", "--dask", "nowhere")
    assert_one_line_error(r, "--dask 'nowhere' is not a Dask address")
