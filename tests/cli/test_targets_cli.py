"""`cardworld targets` and `demo` as a user runs them: exit codes, one-line errors, no half-written output."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import assert_one_line_error, run_cli

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.targets import TargetSpec
from cardworld.targets.files import write_targets_dir, write_targets_parquet
from cardworld.targets.reference import reference_targets_batch

OUTPUTS = ["grocery_today", "top_top1", "top_top2"]  # of cli_helpers.SPEC
# cli_helpers.SPEC written as Python objects, so that the expectation does not go through the YAML loader, and
# computed by the naive reference (not the fast path the command runs).
SPECS = [
    TargetSpec(name="grocery_today", agg="sum", mcc=[5411], window="day"),
    TargetSpec(name="top", agg="top_k", k=2, window="7d", mode="trailing"),
]


def _assert_targets(got: np.ndarray, expected: np.ndarray) -> None:
    """The fast path sums in another order than the reference's math.fsum: float32 rounding apart."""
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)


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
    expected = reference_targets_batch(
        SPECS, time=t, amount=np.asarray(src["amount"]), mcc=np.asarray(src["mcc"]), offsets=offsets
    )
    assert np.count_nonzero(expected[:, 0]) > 0  # the grocery filter keeps some rows: not all fill values
    for j, name in enumerate(OUTPUTS):
        _assert_targets(got.column(name).to_numpy(), expected[:, j])
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


# --- row order, dataset directories, column options, empty input ---


def _expected(user, seconds, amount, mcc) -> np.ndarray:
    """Targets in input row order: Python's stable sort by (user, time), the naive reference, put back."""
    n = len(user)
    order = np.array(sorted(range(n), key=lambda i: (user[i], seconds[i])), dtype=np.int64)
    u = np.asarray(user)[order]
    offsets = np.concatenate([[0], np.flatnonzero(np.diff(u)) + 1, [n]])
    y = reference_targets_batch(
        SPECS, time=np.asarray(seconds)[order], amount=np.asarray(amount)[order],
        mcc=np.asarray(mcc)[order], offsets=offsets,
    )  # fmt: skip
    out = np.empty_like(y)
    out[order] = y
    return out


def _got(out: Path) -> np.ndarray:
    t = pq.read_table(out)
    return np.column_stack([t.column(c).to_numpy() for c in OUTPUTS])


def _shuffled_table(n: int = 200) -> pa.Table:
    """Users interleaved, times unsorted, duplicate (user, timestamp) pairs (retries in the same minute)."""
    rng = np.random.default_rng(4)
    t = 1_600_000_000 + 60 * rng.integers(0, 300, n)
    return pa.table(
        {
            "cust": rng.integers(0, 6, n),
            "ts": pa.array(t.astype("datetime64[s]")),
            "amt": np.round(rng.normal(20, 30, n), 2),
            "code": rng.choice(np.array([5411, 5812], np.int16), n),
        }
    )


COLUMN_OPTIONS = ["--user-col", "cust", "--time-col", "ts", "--amount-col", "amt", "--mcc-col", "code"]


def test_output_rows_line_up_with_unsorted_input(tmp_path, spec_file):
    table = _shuffled_table()
    src = tmp_path / "tx.parquet"
    pq.write_table(table, src)
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(src), "--spec", str(spec_file), "--out", str(out), "--batch-users", "2", "-q",
                *COLUMN_OPTIONS)  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = pq.read_table(out)
    assert got.column_names == ["user_id", "timestamp", *OUTPUTS]
    np.testing.assert_array_equal(got.column("user_id").to_numpy(), table.column("cust").to_numpy())
    assert got.column("timestamp").cast(pa.timestamp("s")).equals(table.column("ts"))
    seconds = table.column("ts").cast(pa.int64()).to_numpy()
    expected = _expected(table.column("cust").to_numpy(), seconds, table.column("amt").to_numpy(),
                         table.column("code").to_numpy())  # fmt: skip
    _assert_targets(_got(out), expected)


def test_missing_column_names_the_option(tmp_path, spec_file):
    src = tmp_path / "tx.parquet"
    pq.write_table(_shuffled_table(20), src)
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(src), "--spec", str(spec_file), "--out", str(out), "--user-col", "cust")
    assert_one_line_error(
        r, "has no column 'timestamp' (its columns: cust, ts, amt, code); pass --time-col <name>"
    )
    assert "time_col" not in r.stderr
    assert not out.exists()


def test_help_says_rows_keep_input_order():
    r = run_cli("targets", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "Row i of OUT is row i of INPUT (files in name order, rows in file order)" in text
    assert "Any other OUT is a directory with one part file per INPUT part file" in text
    for option in ("--user-col", "--time-col", "--amount-col", "--mcc-col", "--allow-empty", "--dask"):
        assert option in text


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    generate(load_config(consumers=5, shard_size=2, start="2019-01-01", end="2019-12-31", seed=3), out)
    return out


def test_dataset_directory_means_its_transactions(tmp_path, world, spec_file):
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(world), "--spec", str(spec_file), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    parts = sorted((world / "transactions").glob("part-*.parquet"))
    assert len(parts) == 3
    tx = pa.concat_tables(
        [pq.read_table(p, columns=["user_id", "timestamp", "amount", "mcc"]) for p in parts]
    )
    seconds = tx.column("timestamp").cast(pa.int64()).to_numpy() // 1000  # stored as timestamp[ms]
    user = tx.column("user_id").to_numpy()
    got = pq.read_table(out)
    assert got.num_rows == tx.num_rows > 0
    np.testing.assert_array_equal(got.column("user_id").to_numpy(), user)
    assert got.schema.field("user_id").type == tx.schema.field("user_id").type == pa.int32()  # joins back
    expected = _expected(user, seconds, tx.column("amount").to_numpy(), tx.column("mcc").to_numpy())
    _assert_targets(_got(out), expected)


def test_empty_input_needs_allow_empty(tmp_path, spec_file):
    src = tmp_path / "empty.parquet"
    pq.write_table(_shuffled_table(0), src)
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(src), "--spec", str(spec_file), "--out", str(out), *COLUMN_OPTIONS)
    assert_one_line_error(r, f"input {str(src)!r} has no transaction rows")
    assert "pass --allow-empty to write an empty targets file" in r.stderr
    assert "allow_empty" not in r.stderr
    assert not out.exists()
    r = run_cli("targets", str(src), "--spec", str(spec_file), "--out", str(out), "--allow-empty", "-q",
                *COLUMN_OPTIONS)  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = pq.read_table(out)
    assert (got.num_rows, got.column_names) == (0, ["user_id", "timestamp", *OUTPUTS])


# --- part files: a directory output, Dask, failures ---


def test_a_directory_output_has_one_part_per_shard(tmp_path, world, spec_file):
    single, parts = tmp_path / "y.parquet", tmp_path / "y"
    write_targets_parquet(world, SPECS, single)
    r = run_cli("targets", str(world), "--spec", str(spec_file), "--out", str(parts))
    assert r.returncode == 0, r.stderr
    assert "targets to " in r.stderr
    assert "(3 part files)" in r.stderr
    assert sorted(p.name for p in parts.iterdir()) == [f"part-0000{k}.parquet" for k in range(3)]
    assert pq.read_table(parts).equals(pq.read_table(single))  # the parts in name order are the one file


def test_dask_needs_a_directory_output(tmp_path, tx_file, spec_file):
    out = tmp_path / "out.parquet"
    r = run_cli("targets", str(tx_file), "--spec", str(spec_file), "--out", str(out), "--dask", "local:2")
    assert_one_line_error(r, "--dask computes one part file per input part into a directory")
    assert "--out" in r.stderr
    assert not out.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_fails_fast_and_writes_nothing(tmp_path, world, spec_file):
    port = _free_port()  # nothing listens there once the socket is closed
    out = tmp_path / "y"
    start = time.monotonic()
    r = run_cli("targets", str(world), "--spec", str(spec_file), "--out", str(out), "--dask",
                f"tcp://127.0.0.1:{port}")  # fmt: skip
    assert_one_line_error(r, f"127.0.0.1:{port}")
    assert time.monotonic() - start < 60
    assert sorted(p.name for p in tmp_path.iterdir()) == [spec_file.name]


def test_a_missing_shard_leaves_nothing(tmp_path, world, spec_file):
    ds = tmp_path / "w"
    shutil.copytree(world, ds)
    (ds / "transactions" / "part-00001.parquet").unlink()
    for out in (tmp_path / "y.parquet", tmp_path / "y"):
        r = run_cli("targets", str(ds), "--spec", str(spec_file), "--out", str(out))
        assert_one_line_error(r, "part-00001.parquet' is missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == [spec_file.name, "w"]


@pytest.mark.slow
def test_dask_writes_the_parts_a_local_run_writes(tmp_path, world, spec_file):
    """A LocalCluster of 2 worker processes (1 thread each) writes byte-identical part files."""
    local, dask = tmp_path / "local", tmp_path / "dask"
    write_targets_dir(world, SPECS, local)
    r = run_cli(
        "targets", str(world), "--spec", str(spec_file), "--out", str(dask), "--dask", "local:2", "-q"
    )
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in local.iterdir())
    assert names == sorted(p.name for p in dask.iterdir()) == [f"part-0000{k}.parquet" for k in range(3)]
    for name in names:
        assert (local / name).read_bytes() == (dask / name).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask", "local", spec_file.name]
