"""`cardworld targets` and `demo` as a user runs them: exit codes, one-line errors, no half-written output."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from cli_helpers import assert_one_line_error, run_cli

from cardworld.targets import compute_targets_batch, load_target_specs


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


def test_bad_spec_exits_2_and_writes_nothing(tmp_path, tx_file):
    spec = tmp_path / "bad.yaml"
    spec.write_text("- {agg: sum, window: 0d}\n")
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(tx_file), "--spec", str(spec), "--out", str(out))
    assert_one_line_error(r, "targets.0.window")
    assert not out.exists()


def test_missing_input(tmp_path, spec_file):
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(tmp_path / "nope.parquet"), "--spec", str(spec_file), "--out", str(out))
    assert_one_line_error(r, "nope.parquet")
    assert not out.exists()


def test_existing_output_needs_overwrite(tmp_path, tx_file, spec_file):
    out = tmp_path / "out.parquet"
    out.write_text("keep me")
    r = run_cli("targets", str(tx_file), "--spec", str(spec_file), "--out", str(out))
    assert_one_line_error(r, "already exists; pass --overwrite")
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
    assert_one_line_error(r, "broken.parquet")
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
