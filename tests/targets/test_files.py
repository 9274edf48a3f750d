"""write_targets_parquet: output rows in input order, renamed columns, empty input, errors naming file rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cardworld.errors import InputError, SpecError
from cardworld.targets import TargetSpec, compute_targets_batch
from cardworld.targets.files import write_targets_parquet

T0 = 1_700_000_000
# Each depends on the order of a user's rows at equal times (count and 2tx windows run by row position).
SPECS = [
    TargetSpec(name="n_today", agg="count", window="day"),
    TargetSpec(name="last2", agg="sum", window="2tx", mode="trailing"),
    TargetSpec(name="grocery_7d", agg="sum", mcc=[5411], window="7d"),
    TargetSpec(name="next2", agg="max", window="2tx", mode="leading"),
]
NAMES = ["n_today", "last2", "grocery_7d", "next2"]


def _shuffled(n: int = 240, seed: int = 5) -> dict[str, np.ndarray]:
    """Users interleaved, times unsorted, many duplicate (user, timestamp) pairs."""
    rng = np.random.default_rng(seed)
    return {
        "user_id": rng.integers(0, 9, n),
        "timestamp": T0 + 3600 * rng.integers(0, 40, n),  # hours: ~27 rows per user over 40 values
        "amount": np.round(rng.normal(30, 20, n), 2),
        "mcc": rng.choice(np.array([5411, 5812], np.int16), n),
        "row": np.arange(n),
    }


def _expected_in_input_order(cols: dict[str, np.ndarray]) -> np.ndarray:
    """Sort stably by (user, time) with Python's sorted, compute there, then put back by row id."""
    n = cols["row"].size
    order = sorted(range(n), key=lambda i: (cols["user_id"][i], cols["timestamp"][i]))
    users = cols["user_id"][order]
    offsets = np.concatenate([[0], np.flatnonzero(np.diff(users)) + 1, [n]])
    y = compute_targets_batch(
        SPECS, time=cols["timestamp"][order], amount=cols["amount"][order], mcc=cols["mcc"][order],
        offsets=offsets,
    )  # fmt: skip
    expected = np.empty_like(y)
    expected[cols["row"][order]] = y
    return expected


def _table(cols: dict[str, np.ndarray]) -> pa.Table:
    t = dict(cols)
    t["timestamp"] = pa.array(cols["timestamp"].astype("datetime64[s]"))
    return pa.table(t)


def _seconds(ts: pa.ChunkedArray) -> np.ndarray:
    return ts.cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()  # Parquet reads timestamp[s] back as ms


def _targets(path: Path) -> np.ndarray:
    t = pq.read_table(path)
    return np.column_stack([t.column(c).to_numpy() for c in NAMES])


def test_unsorted_input_keeps_its_row_order(tmp_path):
    cols = _shuffled()
    assert np.unique(np.column_stack([cols["user_id"], cols["timestamp"]]), axis=0).shape[0] < 200  # ties
    src = tmp_path / "tx.parquet"
    pq.write_table(_table(cols), src)
    out = tmp_path / "y.parquet"
    assert write_targets_parquet(src, SPECS, out, batch_users=2) == 240
    got = pq.read_table(out)
    assert got.column_names == ["user_id", "timestamp", *NAMES]
    np.testing.assert_array_equal(got.column("user_id").to_numpy(), cols["user_id"])
    np.testing.assert_array_equal(_seconds(got.column("timestamp")), cols["timestamp"])
    np.testing.assert_array_equal(_targets(out), _expected_in_input_order(cols))


def test_part_files_in_name_order_then_rows_in_file_order(tmp_path):
    cols = _shuffled(n=150, seed=8)
    d = tmp_path / "parts"
    d.mkdir()
    half = {k: v[90:] for k, v in cols.items()}
    pq.write_table(_table(half), d / "part-b.parquet")  # written first, read second
    pq.write_table(_table({k: v[:90] for k, v in cols.items()}), d / "part-a.parquet")
    out = tmp_path / "y.parquet"
    write_targets_parquet(d, SPECS, out, batch_users=4)
    np.testing.assert_array_equal(pq.read_table(out).column("user_id").to_numpy(), cols["user_id"])
    np.testing.assert_array_equal(_targets(out), _expected_in_input_order(cols))


def test_renamed_columns(tmp_path):
    cols = _shuffled(n=60, seed=2)
    table = _table(cols).rename_columns(["cust", "ts", "amt", "code", "row"])
    pq.write_table(table, tmp_path / "tx.parquet")
    out = tmp_path / "y.parquet"
    write_targets_parquet(
        tmp_path / "tx.parquet", SPECS, out, user_col="cust", time_col="ts", amount_col="amt", mcc_col="code"
    )
    assert pq.read_table(out).column_names[:2] == ["user_id", "timestamp"]  # the file's fixed key names
    np.testing.assert_array_equal(_targets(out), _expected_in_input_order(cols))
    with pytest.raises(InputError, match=r"no column 'timestamp'.*pass time_col=<name>") as err:
        write_targets_parquet(tmp_path / "tx.parquet", SPECS, tmp_path / "z.parquet", user_col="cust")
    assert "--time-col <name>" in err.value.for_cli()
    assert "time_col" not in err.value.for_cli()


def test_mcc_column_is_not_needed_when_no_spec_filters_on_it(tmp_path):
    cols = _shuffled(n=30)
    cols["mcc"] = np.full(30, 12345, np.int32)  # out of range, but nobody filters on it
    pq.write_table(_table(cols), tmp_path / "tx.parquet")
    specs = [TargetSpec(name="n_today", agg="count", window="day")]
    out = tmp_path / "y.parquet"
    assert write_targets_parquet(tmp_path / "tx.parquet", specs, out) == 30
    with pytest.raises(InputError, match=r"column 'mcc' is 12345 at row 0, outside 0..9999"):
        write_targets_parquet(tmp_path / "tx.parquet", SPECS, tmp_path / "z.parquet")
    assert not (tmp_path / "z.parquet").exists()


def test_bad_value_names_the_file_row_not_the_sorted_row(tmp_path):
    cols = _shuffled(n=20)
    cols["balance"] = np.arange(20, dtype=np.float64)
    cols["balance"][13] = np.nan
    pq.write_table(_table(cols), tmp_path / "tx.parquet")
    specs = [TargetSpec(name="b", agg="sum", value="balance", window="day")]
    with pytest.raises(InputError, match=r"tx\.parquet': column 'balance' at row 13 is nan"):
        write_targets_parquet(tmp_path / "tx.parquet", specs, tmp_path / "y.parquet")


def _empty_table() -> pa.Table:
    return _table({k: v[:0] for k, v in _shuffled(n=1).items()})


@pytest.mark.parametrize("layout", ["file", "dataset"])
def test_empty_input_is_an_error_unless_allowed(tmp_path, layout):
    if layout == "file":
        src = tmp_path / "tx.parquet"
        pq.write_table(_empty_table(), src)
    else:  # a dataset directory whose one shard has no rows
        src = tmp_path / "world"
        (src / "transactions").mkdir(parents=True)
        (src / "manifest.json").write_text(json.dumps({"format": "cardworld"}))
        pq.write_table(_empty_table(), src / "transactions" / "part-00000.parquet")
    out = tmp_path / "y.parquet"
    with pytest.raises(InputError, match="has no transaction rows") as err:
        write_targets_parquet(src, SPECS, out)
    assert str(src) in str(err.value)
    assert "allow_empty=True" in str(err.value)
    assert "--allow-empty" in err.value.for_cli()
    assert not out.exists()
    assert write_targets_parquet(src, SPECS, out, allow_empty=True) == 0
    got = pq.read_table(out)
    assert got.num_rows == 0
    pq.write_table(_table(_shuffled(n=3)), tmp_path / "some.parquet")
    write_targets_parquet(tmp_path / "some.parquet", SPECS, tmp_path / "some_y.parquet")
    assert got.schema == pq.read_schema(tmp_path / "some_y.parquet")  # the schema of a file with rows
    assert got.column_names == ["user_id", "timestamp", *NAMES]


def test_target_named_like_a_key_column(tmp_path):
    pq.write_table(_table(_shuffled(n=5)), tmp_path / "tx.parquet")
    with pytest.raises(SpecError, match=r"output name 'timestamp' is also a key column"):
        write_targets_parquet(
            tmp_path / "tx.parquet", [TargetSpec(name="timestamp", agg="count", window="day")], tmp_path / "y"
        )


@pytest.mark.parametrize("presorted", [True, False])  # streamed, or scattered back to input order
def test_failure_after_the_first_batch_leaves_nothing(tmp_path, presorted):
    cols = _shuffled(n=50)
    if presorted:
        order = np.lexsort((cols["timestamp"], cols["user_id"]))
        cols = {k: v[order] for k, v in cols.items()}
    pq.write_table(_table(cols), tmp_path / "tx.parquet")
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        write_targets_parquet(tmp_path / "tx.parquet", SPECS, tmp_path / "y.parquet", batch_users=2,
                              progress=progress)  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tx.parquet"]


def test_existing_output_is_refused_before_the_input_is_read(tmp_path):
    cols = _shuffled(n=10)
    cols["amount"][4] = np.nan  # reading would fail on this row
    pq.write_table(_table(cols), tmp_path / "tx.parquet")
    out = tmp_path / "y.parquet"
    out.write_text("keep me")
    with pytest.raises(InputError, match="already exists"):
        write_targets_parquet(tmp_path / "tx.parquet", SPECS, out)
    assert out.read_text() == "keep me"
