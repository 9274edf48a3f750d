"""The bar tables' logic on hand-made numbers: min and median over runs, the speed-up over the in-run
baseline, met (the median reaches the bar), the sizes a row is judged at, the sparse row's positions,
the JSON's machine record and the Markdown the README pastes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cardworld.bench import targets_bars, world_bars
from cardworld.bench.bars import TARGET_BARS, WORLD_BARS, Bar, bar_row
from cardworld.bench.machine import THREAD_VARS, _cpu_model, _memory_gib, machine_info, machine_line
from cardworld.bench.results import envelope
from cardworld.bench.suites import SUITE_20
from cardworld.bench.tables import markdown_table
from cardworld.bench.targets import bench_sparse, sparse_positions
from cardworld.sample import make_sample_data

BAR = Bar("x", "users/s", 1000)


def test_min_median_speedup_over_three_runs():
    row = bar_row(BAR, "work", [900.0, 1100.0, 1000.0], [1.0, 2.0, 1.25])
    assert (row["min"], row["median"], row["runs"]) == (900.0, 1000.0, 3)
    assert row["baseline_median"] == 1.25
    assert row["speedup"] == 800.0  # the median of each run's ratio: 900, 550, 800
    assert row["met"] is True  # the median equals the bar: reached


def test_speedup_is_the_median_of_within_run_ratios():
    row = bar_row(BAR, "work", [100.0, 200.0, 300.0], [10.0, 1.0, 2.0])
    assert row["speedup"] == 150.0  # ratios 10, 200, 150; the ratio of the medians would be 200 / 2 = 100
    row = bar_row(BAR, "work", [100.0, 400.0], [1.0, 2.0])
    assert row["speedup"] == 150.0  # two runs: the mean of 100 and 200 (the ratio of medians: 166.7)


def test_met_uses_the_median_not_the_best_run():
    row = bar_row(BAR, "work", [500.0, 1500.0, 900.0])
    assert row["met"] is False  # the best run (1500) passes, the median (900) does not
    assert bar_row(BAR, "work", [999.0, 1001.0])["met"] is True  # median 1000 of two runs
    assert bar_row(BAR, "work", [1e9], judged=False)["met"] is None


def test_missing_baselines():
    row = bar_row(BAR, "work", [10.0, 20.0])
    assert (row["baseline_median"], row["speedup"]) == (None, None)
    row = bar_row(BAR, "work", [10.0, 20.0], [None, 4.0])  # a run without baseline: only the other's ratio
    assert (row["baseline_median"], row["speedup"]) == (4.0, 5.0)
    with pytest.raises(ValueError, match="2 runs but 1 baselines"):
        bar_row(BAR, "work", [10.0, 20.0], [1.0])
    with pytest.raises(ValueError, match="no runs"):
        bar_row(BAR, "work", [])


def _target_run(scale: float, dataloader: bool = True) -> dict:
    run = {
        "numba-1": {"users_per_s": 20_000 * scale, "baseline_users_per_s": 50.0 * scale},
        "numba-20": {"users_per_s": 1_000 * scale, "baseline_users_per_s": 1.0 * scale},
        "sparse-20": {"users_per_s": 12_000 * scale, "baseline_users_per_s": 1.0 * scale},
    }
    if dataloader:
        run["dataloader-20"] = {"users_per_s": 900 * scale, "baseline_users_per_s": 1.0 * scale}
    return run


def test_targets_summary_in_table_order_with_the_bars():
    runs = [_target_run(1.0), _target_run(0.5, dataloader=False), _target_run(0.8)]
    rows = targets_bars.summarize(runs, users=2000, txns=4096, positions=64)
    assert [r["key"] for r in rows] == ["numba-1", "numba-20", "sparse-20"]  # dataloader missed a run
    one, twenty, sparse = rows
    assert (one["min"], one["median"], one["bar"]) == (10_000, 16_000, 50_000)
    assert one["speedup"] == pytest.approx(400.0)  # a slow machine slows both: the ratio holds
    assert (one["met"], twenty["met"]) == (False, False)
    assert sparse["median"] == 9_600
    assert sparse["met"] is False
    assert twenty["bar"] == TARGET_BARS["numba-20"].bar == 3_000
    assert sparse["work"] == "targets, 20-target suite, 64 positions per user"


def test_targets_rows_are_judged_only_at_the_bars_sizes():
    runs = [_target_run(1.0)]
    judged = {r["key"]: r["met"] for r in targets_bars.summarize(runs, users=5000, txns=4096, positions=64)}
    assert judged == {"numba-1": False, "numba-20": False, "sparse-20": True, "dataloader-20": False}
    other_k = {r["key"]: r["met"] for r in targets_bars.summarize(runs, users=2000, txns=4096, positions=32)}
    assert other_k["sparse-20"] is None
    assert other_k["numba-1"] is False
    for users, txns in ((1999, 4096), (2000, 80)):
        rows = targets_bars.summarize(runs, users=users, txns=txns, positions=64)
        assert all(r["met"] is None for r in rows)


def test_world_summary():
    def run(txn_500, txn_tab, probe):
        return {
            "world-500": {
                "txn_per_s": txn_500,
                "probe_users_per_s": probe,
                "rows": 5_000_000,
                "seconds": 9.0,
            },
            "world-tabformer": {
                "txn_per_s": txn_tab,
                "probe_users_per_s": probe,
                "rows": 21_000_000,
                "seconds": 40.0 + probe,
            },
        }

    runs = [run(400_000, 700_000, 50.0), run(600_000, 800_000, 40.0)]
    small, tab = world_bars.summarize(runs, scale=1.0, workers=2)
    assert (small["min"], small["median"], small["baseline_median"]) == (400_000, 500_000, 45.0)
    assert (small["bar"], tab["bar"]) == (WORLD_BARS["world-500"].bar, 1_500_000)
    assert small["speedup"] is None  # txn/s over the probe's users/s is no speed-up
    assert (tab["rows"], tab["seconds_min"]) == (21_000_000, 80.0)
    assert (small["met"], tab["met"]) == (False, False)
    assert small["work"] == "world, 500 consumers x 20 years, 2 workers (start-up included)"
    assert tab["work"] == "world, TabFormer scale (2,000 consumers, 29 years), 2 workers"
    scaled = world_bars.summarize(runs, scale=0.01, workers=2)
    assert [r["met"] for r in scaled] == [None, None]
    assert scaled[0]["work"].startswith("world, 5 consumers x 20 years (scaled x0.01)")
    assert [r["met"] for r in world_bars.summarize(runs, scale=1.0, workers=1)] == [None, None]


def test_sparse_positions():
    offsets = np.array([0, 5, 5, 105, 108])  # 5 rows, none, 100 rows, 3 rows
    at = sparse_positions(offsets, 4)
    assert (np.diff(at) > 0).all()  # strictly increasing, as compute_targets_batch(at=) wants
    users = np.searchsorted(offsets, at, side="right") - 1
    assert np.bincount(users, minlength=4).tolist() == [4, 0, 4, 3]  # min(k, rows of the user)
    assert at[users == 3].tolist() == [105, 106, 107]  # fewer rows than k: all of them
    assert np.array_equal(at, sparse_positions(offsets, 4))  # the same rows in every run
    assert not np.array_equal(at, sparse_positions(offsets, 4, seed=1))
    with pytest.raises(ValueError, match="at least 1"):
        sparse_positions(offsets, 0)


def test_sparse_positions_are_uniform_within_each_user():
    offsets = np.arange(0, 2001 * 100, 100)  # 2,000 users of 100 rows
    at = sparse_positions(offsets, 10)
    rel = at - np.repeat(offsets[:-1], 10)
    assert rel.min() == 0
    assert rel.max() == 99
    # 20,000 draws of a uniform 0..99 position: mean 49.5, standard error 0.2
    assert abs(rel.mean() - 49.5) < 1.0
    assert np.bincount(rel // 10, minlength=10).min() > 1700  # every tenth of the history: ~2,000


def test_bench_sparse_counts_clamped_positions():
    data = make_sample_data(3, 50)
    assert "8 positions per user" in bench_sparse(SUITE_20, data, 8, 1).note
    assert "50 positions per user" in bench_sparse(SUITE_20, data, 100, 1).note  # all 50 rows


def test_machine_record(tmp_path):
    cpu = tmp_path / "cpuinfo"
    cpu.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Test CPU @ 2.0GHz\nflags\t: fpu\n")
    assert _cpu_model(cpu) == "Test CPU @ 2.0GHz"
    assert _cpu_model(tmp_path / "missing")  # falls back to the platform's name
    mem = tmp_path / "meminfo"
    mem.write_text("MemTotal:       24683584 kB\nMemFree:  1 kB\n")
    assert _memory_gib(mem) == 23.5
    info = machine_info()
    assert {"cpu", "cores", "usable_cores", "memory_gib", "os", "python", "packages", "threads"} <= set(info)
    assert set(info["packages"]) == {"numpy", "numba", "pyarrow", "torch", "polars"}
    assert info["packages"]["numpy"] == np.__version__
    m = {"cpu": "C", "usable_cores": 2, "memory_gib": 24.0, "threads": dict.fromkeys(THREAD_VARS, "1")}
    assert machine_line(m) == "C, 2 cores, 24 GiB, 1 thread per process"
    m["threads"]["OMP_NUM_THREADS"] = None
    assert machine_line(m).endswith("threads not pinned")


def test_envelope():
    doc = envelope("world", {"consumers": 3}, rows=[])
    assert dt.datetime.fromisoformat(doc["date"]).tzinfo is not None
    assert (doc["kind"], doc["arguments"], doc["rows"]) == ("world", {"consumers": 3}, [])
    with pytest.raises(ValueError, match="unknown benchmark kind"):
        envelope("nope", {})


def _doc() -> dict:
    return {
        "kind": "targets-bars",
        "date": "2026-12-02T10:00:00+00:00",
        "machine": {
            "cpu": "Test CPU",
            "usable_cores": 2,
            "memory_gib": 24.0,
            "threads": dict.fromkeys(THREAD_VARS, "1"),
        },
        "arguments": {
            "users": 2000,
            "txns": 4096,
            "positions": 64,
            "repeats": 3,
            "runs": 2,
            "baseline_users": 10,
        },
        "rows": [
            {
                "work": "targets, 1-target suite, numba, 1 process",
                "min": 17131.4,
                "median": 18000.0,
                "baseline_median": 51.24,
                "speedup": 336.2,
                "bar": 50000,
                "met": False,
            },
            {
                "work": "w2",
                "min": 3100.0,
                "median": 3200.6,
                "baseline_median": 1.113,
                "speedup": 2875.5,
                "bar": 3000,
                "met": True,
            },
            {
                "work": "w3",
                "min": 9.5,
                "median": 9.5,
                "baseline_median": None,
                "speedup": None,
                "bar": 10000,
                "met": None,
            },
        ],
    }


def test_markdown_of_a_targets_table():
    head, blank, *table = markdown_table(_doc()).split("\n")
    assert head.startswith(
        "**Targets against the bars** (2026-12-02; Test CPU, 2 cores, 24 GiB, 1 thread per process): "
        "2,000 users × 4,096 transactions, 2 runs, each run's figure the best of 3 calls."
    )
    assert "on 10 users of the same suite" in head
    assert "met: the median over runs reaches the bar." in head
    assert head.endswith(
        "n/a: not measured at the bar's sizes (2,000 or more users × 4,096 transactions, 64 positions)."
    )
    assert blank == ""
    assert table == [
        "| work | users/s min | users/s median | naive baseline users/s | speed-up | bar | met |",
        "|---|---:|---:|---:|---:|---:|---|",
        "| targets, 1-target suite, numba, 1 process | 17,131 | 18,000 | 51.2 | 336× | 50,000 | not met |",
        "| w2 | 3,100 | 3,201 | 1.11 | 2,876× | 3,000 | met |",
        "| w3 | 9.50 | 9.50 | — | — | 10,000 | n/a |",
    ]


def test_markdown_refuses_other_json():
    with pytest.raises(ValueError, match="not a benchmark document"):
        markdown_table({"rows": []})
