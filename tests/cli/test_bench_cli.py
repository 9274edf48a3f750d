"""`cardworld bench` as a user runs it (small sizes: speed is not asserted here)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cli_helpers import assert_one_line_error, run_cli

from cardworld.bench.tables import markdown_table


def _load(path) -> dict:
    doc = json.loads(path.read_text())
    assert dt.datetime.fromisoformat(doc["date"]).tzinfo is not None
    assert {"cpu", "cores", "memory_gib", "os", "python", "packages", "threads"} <= set(doc["machine"])
    assert set(doc["machine"]["packages"]) >= {"numpy", "numba", "pyarrow", "torch"}
    assert doc["machine"]["threads"]["NUMBA_NUM_THREADS"] == "1"  # the command pins it when unset
    return doc


@pytest.mark.slow
def test_bench_targets_bar_table(tmp_path):
    path = tmp_path / "targets.json"
    r = run_cli(
        "bench", "targets", "--users", "6", "--txns", "80", "--positions", "100", "--repeats", "1", "--runs",
        "2", "--baseline-users", "2", "--json", str(path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = _load(path)
    assert doc["kind"] == "targets-bars"
    # 100 positions of 80-row users: clamped to all 80 rows; small sizes are marked as not the bars'
    assert doc["arguments"] | {"skip": None} == {
        "users": 6, "txns": 80, "positions": 80, "repeats": 1, "runs": 2, "baseline_users": 2, "skip": None,
        "at_bar_sizes": False,
    }  # fmt: skip
    keys = ["numba-1", "numba-20", "sparse-20", "dataloader-20"]
    assert len(doc["runs"]) == 2
    for run in doc["runs"]:
        assert set(run) == {*keys, "baseline-1", "baseline-20"}
        assert run["numba-1"]["baseline_users_per_s"] == run["baseline-1"]["users_per_s"] > 0
        for key in keys[1:]:  # the 20-target rows stand beside the 20-target baseline of the same run
            assert run[key]["baseline_users_per_s"] == run["baseline-20"]["users_per_s"] > 0
        assert run["baseline-20"]["users"] == 2
    assert [row["key"] for row in doc["rows"]] == keys
    for row in doc["rows"]:
        figures = [run[row["key"]]["users_per_s"] for run in doc["runs"]]
        assert (row["min"], row["median"]) == (min(figures), sum(figures) / 2)  # recomputable from runs
        assert row["met"] is None  # not measured at the bars' sizes
        assert row["work"] in r.stdout
    assert "80 positions per user" in doc["rows"][2]["work"]
    assert "n/a" in r.stdout
    table = run_cli("bench", "table", str(path))
    assert table.returncode == 0, table.stderr
    assert table.stdout == markdown_table(doc) + "\n"
    assert all(f"| {row['work']} |" in table.stdout for row in doc["rows"])


@pytest.mark.slow
def test_bench_targets_suite_table(tmp_path):
    path = tmp_path / "bench.json"
    r = run_cli(
        "bench", "targets", "--users", "6", "--txns", "80", "--suite", "20", "--repeats", "1",
        "--baseline-users", "2", "--positions", "8", "--json", str(path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = _load(path)
    assert (doc["kind"], doc["outputs"], doc["arguments"]["suite"]) == ("targets-suite", 22, 20)
    rows = doc["rows"]
    assert [row["impl"] for row in rows] == [
        "baseline", "numba", "numba-sparse", "numba-mp", "polars", "dataloader",
    ]  # fmt: skip
    keys = {"impl", "processes", "users", "txns_per_user", "targets", "seconds", "users_per_s"}
    for row in rows:
        assert keys <= set(row)
        assert row["seconds"] > 0
        # users/s is written to 0.1, seconds to the microsecond (a relative error of 0.5e-6 / seconds)
        rate = row["users"] / row["seconds"]
        assert abs(row["users_per_s"] - rate) <= 0.05 + rate * 0.5e-6 / row["seconds"] * 1.01, row
    assert rows[0]["users"] == 2
    assert rows[1]["targets"] == 20
    assert "8 positions per user" in rows[2]["note"]
    assert len(doc["per_target"]) == 20  # Polars expresses every target of the suite
    assert "numba-sparse" in r.stdout
    assert "Each target alone" in markdown_table(doc)


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
    doc = _load(path)
    assert doc["kind"] == "world"
    assert doc["arguments"] | {"fraud": None} == {
        "consumers": 6, "years": 1.0, "workers": 2, "dask": "local:2", "shard_size": 2, "fraud": None,
        "credit": True,
    }  # fmt: skip
    (row,) = doc["rows"]
    assert (row["backend"], row["workers"], row["shards"]) == ("dask", 2, 3)
    assert row["rows"] > 0
    assert row["bytes_per_row"] > 0
    # parent + 2 worker processes, each a Python process with numpy and numba loaded (> 50 MB apiece)
    assert row["peak_rss_mb"] > 150
    assert "peak RSS MB" in r.stdout  # off a terminal the table is printed wide: no header cut short
    assert [p.name for p in tmp_path.iterdir()] == ["world.json"]  # the world was removed


def test_bench_world_refuses_workers_with_dask():
    r = run_cli("bench", "world", "--consumers", "2", "--workers", "2", "--dask", "local:2")
    assert_one_line_error(r, "--workers")


def test_bench_world_refuses_a_junk_address():
    r = run_cli("bench", "world", "--consumers", "2", "--years", "0.2", "--dask", "nowhere")
    assert_one_line_error(r, "--dask 'nowhere' is not a Dask address")


@pytest.mark.slow
def test_bench_world_bar_table(tmp_path):
    path = tmp_path / "world.json"
    r = run_cli(
        "bench", "world", "--scale", "0.004", "--repeats", "1", "--runs", "2", "--dir", str(tmp_path),
        "--json", str(path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = _load(path)
    assert doc["kind"] == "world-bars"
    assert doc["arguments"] == {"runs": 2, "repeats": 1, "scale": 0.004, "workers": 2, "at_bar_sizes": False}
    assert len(doc["runs"]) == 2
    for run in doc["runs"]:
        assert set(run) == {"world-500", "world-tabformer"}
        # 500 and 2,000 consumers scaled by 0.004; the worlds end on TabFormer's last day
        assert [(w["consumers"], w["years"]) for w in run.values()] == [(2, 20.0), (8, 29.16)]
        for w in run.values():
            assert w["rows"] > 0
            assert w["probe_users_per_s"] > 0
            rate = w["rows"] / w["seconds"]  # seconds are written to the millisecond
            assert abs(w["txn_per_s"] - rate) <= rate * 0.0005 / w["seconds"] + 0.05, w
    assert [row["key"] for row in doc["rows"]] == ["world-500", "world-tabformer"]
    for row in doc["rows"]:
        figures = [run[row["key"]]["txn_per_s"] for run in doc["runs"]]
        assert (row["min"], row["median"], row["met"]) == (min(figures), sum(figures) / 2, None)
        assert row["work"] in r.stdout
    assert "machine-speed" not in r.stderr  # the status line is not left on stderr off a terminal
    assert "Probe users/s: the naive targets reference" in r.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["world.json"]  # every world was removed


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("targets", "--positions", "0"), "--positions"),
        (("targets", "--suite", "20", "--runs", "2"), "--runs applies to the bar table"),
        (("targets", "--skip", "numba"), "unknown row 'numba'"),
        (("targets", "--repeats", "0"), "--repeats"),
        (("world", "--consumers", "5", "--runs", "2"), "--runs apply to the bar table"),
        (
            ("world", "--years", "1", "--scale", "0.1", "--repeats", "1"),
            "--repeats, --scale apply to the bar table",
        ),
        (("world", "--dask", "local:2"), "--dask configure one world"),
        (("world", "--no-fraud"), "--fraud configure one world"),
        (("world", "--scale", "0"), "--scale"),
    ],
)
def test_bench_bad_arguments(args, fragment):
    assert_one_line_error(run_cli("bench", *args), fragment)


def test_bench_table_refuses_other_json(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps([{"impl": "numba"}]))
    assert_one_line_error(run_cli("bench", "table", str(path)), "not a benchmark document")
