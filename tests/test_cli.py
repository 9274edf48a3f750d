"""The CLI as a user runs it: exit codes, one-line errors on stderr, and no half-written output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cardworld.targets import compute_targets_batch, load_target_specs

SPEC = """targets:
  - {name: grocery_today, agg: sum, mcc: [5411], window: day}
  - {name: top, agg: top_k, k: 2, window: 7d, mode: trailing}
"""


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cardworld.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture
def tx_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 300
    user = np.sort(rng.integers(0, 7, n))
    t = np.datetime64("2021-03-01T00:00", "s").astype(np.int64) + rng.integers(0, 40 * 86400, n)
    order = np.lexsort((t, user))
    table = pa.table(
        {
            "user_id": user[order],
            "timestamp": pa.array(t[order].astype("datetime64[s]")),
            "amount": np.round(rng.lognormal(3, 1, n), 2)[order],
            "mcc": rng.choice(np.array([5411, 5812, 5541], dtype=np.int16), n)[order],
        }
    )
    path = tmp_path / "tx.parquet"
    pq.write_table(table, path)
    return path


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    p = tmp_path / "targets.yaml"
    p.write_text(SPEC)
    return p


def test_targets_writes_parquet(tmp_path, tx_file, spec_file):
    out = tmp_path / "out.parquet"
    r = run_cli(
        "targets", str(tx_file), "--spec", str(spec_file), "--out", str(out), "--batch-users", "3", "-q"
    )
    assert r.returncode == 0, r.stderr
    got = pq.read_table(out)
    assert got.column_names == ["user_id", "timestamp", "grocery_today", "top_top1", "top_top2"]
    src = pq.read_table(tx_file).to_pydict()
    users = np.asarray(src["user_id"])
    offsets = np.concatenate([[0], np.cumsum(np.unique(users, return_counts=True)[1])])
    t = np.asarray(src["timestamp"], dtype="datetime64[s]").astype(np.int64)
    expected = compute_targets_batch(
        load_target_specs(spec_file), time=t, amount=np.asarray(src["amount"]), mcc=np.asarray(src["mcc"]),
        offsets=offsets,
    )  # fmt: skip
    for j, name in enumerate(["grocery_today", "top_top1", "top_top2"]):
        np.testing.assert_array_equal(got.column(name).to_numpy(), expected[:, j])
    assert np.array_equal(got.column("user_id").to_numpy(), users)


def _assert_one_line_error(r: subprocess.CompletedProcess, fragment: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: "), r.stderr
    assert fragment in lines[0]


def test_bad_spec_exits_2_and_writes_nothing(tmp_path, tx_file):
    spec = tmp_path / "bad.yaml"
    spec.write_text("- {agg: sum, window: 0d}\n")
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(tx_file), "--spec", str(spec), "--out", str(out))
    _assert_one_line_error(r, "targets.0.window")
    assert not out.exists()


def test_missing_input(tmp_path, spec_file):
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(tmp_path / "nope.parquet"), "--spec", str(spec_file), "--out", str(out))
    _assert_one_line_error(r, "nope.parquet")
    assert not out.exists()


def test_existing_output_needs_overwrite(tmp_path, tx_file, spec_file):
    out = tmp_path / "out.parquet"
    out.write_text("keep me")
    r = run_cli("targets", str(tx_file), "--spec", str(spec_file), "--out", str(out))
    _assert_one_line_error(r, "already exists; pass --overwrite")
    assert out.read_text() == "keep me"
    r = run_cli("targets", str(tx_file), "--spec", str(spec_file), "--out", str(out), "--overwrite", "-q")
    assert r.returncode == 0, r.stderr
    assert pq.read_table(out).num_rows == 300


def test_failure_midway_leaves_nothing(tmp_path, spec_file):
    """The second batch's rows are bad: the error comes after the first batch went to the temp file."""
    t = np.array([0, 60, 120, 500, 400], dtype=np.int64) + 1_600_000_000
    table = pa.table(
        {"user_id": [0, 0, 1, 1, 1], "timestamp": t, "amount": [1.0, 2.0, 3.0, float("nan"), 5.0],
         "mcc": np.array([5411] * 5, dtype=np.int16)}
    )  # fmt: skip
    src = tmp_path / "bad.parquet"
    pq.write_table(table, src)
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(src), "--spec", str(spec_file), "--out", str(out), "--batch-users", "1")
    assert r.returncode == 2
    assert "amount" in r.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_corrupt_input(tmp_path, spec_file):
    src = tmp_path / "broken.parquet"
    src.write_bytes(b"PAR1 this is not parquet")
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(src), "--spec", str(spec_file), "--out", str(out))
    _assert_one_line_error(r, "broken.parquet")
    assert not out.exists()


def test_bad_argument_exits_2(tmp_path, tx_file, spec_file):
    r = run_cli(
        "targets", str(tx_file), "--spec", str(spec_file), "--out", str(tmp_path / "o"), "--batch-users", "0"
    )
    assert r.returncode == 2
    assert "batch-users" in r.stderr


def test_demo_runs():
    r = run_cli("demo", "--users", "2", "--txns", "50")
    assert r.returncode == 0, r.stderr
    assert "grocery_today" in r.stdout
    assert "grocery_share_month" in r.stdout


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
        assert row["users_per_s"] == pytest.approx(row["users"] / row["seconds"], rel=1e-3)
    assert rows[0]["users"] == 2
    assert rows[1]["targets"] == 20
    assert "numba" in r.stdout


def test_bench_rejects_bad_suite():
    r = run_cli("bench", "targets", "--suite", "7")
    assert r.returncode == 2


# ----------------------------------------------------------------------------------------------- world
WORLD = ("--consumers", "6", "--start", "2015-01-01", "--end", "2017-12-31", "--seed", "3", "-q")


def test_generate_export_summary(tmp_path):
    out = tmp_path / "w"
    r = run_cli("generate", *WORLD, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "manifest.json").is_file()
    csv = tmp_path / "t.csv"
    r = run_cli("export", str(out), "--format", "tabformer", "--out", str(csv))
    assert r.returncode == 0, r.stderr
    lines = csv.read_text().splitlines()
    assert lines[0] == (
        "User,Card,Year,Month,Day,Time,Amount,Use Chip,Merchant Name,Merchant City,Merchant State,Zip,MCC,"
        "Errors?,Is Fraud?"
    )
    assert len(lines) > 100
    r = run_cli("summary", str(out))
    assert r.returncode == 0, r.stderr
    assert "transactions" in r.stdout


def test_config_defaults_prints_documented_yaml():
    import yaml

    r = run_cli("config", "--defaults")
    assert r.returncode == 0, r.stderr
    assert "# number of consumers" in r.stdout
    assert yaml.safe_load(r.stdout)["consumers"] == 100


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--consumers", "0"), "consumers: Input should be greater than 0"),
        (("--start", "2020-01-01", "--end", "2019-01-01"), "must be after start"),
        (("--start", "2020-13-45"), "start"),
    ],
)
def test_generate_bad_config_writes_nothing(tmp_path, args, fragment):
    out = tmp_path / "w"
    r = run_cli("generate", "--out", str(out), "-q", *args)
    _assert_one_line_error(r, fragment)
    assert not out.exists()


def test_generate_bad_config_file(tmp_path):
    cfg = tmp_path / "world.yaml"
    cfg.write_text("consumers: 5\ntrips: {foreign_vacation: 3}\nbogus: 1\n")
    out = tmp_path / "w"
    r = run_cli("generate", "--out", str(out), "--config", str(cfg), "-q")
    _assert_one_line_error(r, "trips.foreign_vacation")
    assert "bogus: unknown key" in r.stderr
    assert not out.exists()


def test_generate_refuses_non_empty_dir(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    r = run_cli("generate", *WORLD, "--out", str(out))
    _assert_one_line_error(r, "--overwrite")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_export_missing_dataset(tmp_path):
    r = run_cli("export", str(tmp_path / "nope"), "--out", str(tmp_path / "t.csv"))
    _assert_one_line_error(r, "nope")
    assert not (tmp_path / "t.csv").exists()
