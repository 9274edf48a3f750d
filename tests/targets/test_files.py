"""write_targets_parquet / write_targets_dir: output rows in input order, part files streamed one at a time, the
directory layout, renamed columns, empty input, errors naming file rows, nothing left behind on failure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cardworld.errors import InputError, SpecError
from cardworld.targets import TargetSpec, compute_targets_batch
from cardworld.targets.files import write_targets_dir, write_targets_parquet

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


# --- part files: streamed one at a time, the directory layout, runners, failures ---


def _parts_dir(tmp_path: Path, *, spanning: bool = False, statistics: bool = True) -> tuple[Path, dict]:
    """Three part files (names out of write order) of shuffled rows; users 0-2, 3-5, 6-8 (ascending from
    part to part) or, `spanning`, each part holding users of every range."""
    cols = _shuffled(n=270, seed=11)
    if not spanning:
        cols["user_id"] = np.arange(270) // 30  # 30 rows a user, 3 users a part
    d = tmp_path / "parts"
    d.mkdir()
    for name, lo in (("part-c.parquet", 180), ("part-a.parquet", 0), ("part-b.parquet", 90)):
        chunk = {k: v[lo : lo + 90] for k, v in cols.items()}
        order = np.random.default_rng(lo).permutation(90)  # each part's rows out of (user, time) order
        chunk = {k: v[order] for k, v in chunk.items()}
        pq.write_table(_table(chunk), d / name, write_statistics=statistics)
        cols = {k: np.concatenate([v[:lo], chunk[k], v[lo + 90 :]]) for k, v in cols.items()}
    cols["row"] = np.arange(270)  # the input position: parts in name order, rows in file order
    return d, cols


def _recording_reads(monkeypatch) -> list[str]:
    """The sources read_transactions is called with, in order."""
    import cardworld.targets.files as files

    calls: list[str] = []
    real = files.read_transactions

    def record(source, **kwargs):
        calls.append(Path(source).name)
        return real(source, **kwargs)

    monkeypatch.setattr(files, "read_transactions", record)
    return calls


def test_parts_whose_users_ascend_are_read_one_at_a_time(tmp_path, monkeypatch):
    d, cols = _parts_dir(tmp_path)
    calls = _recording_reads(monkeypatch)
    out = tmp_path / "y.parquet"
    assert write_targets_parquet(d, SPECS, out, batch_users=2) == 270
    assert calls == ["part-a.parquet", "part-b.parquet", "part-c.parquet"]  # never the whole directory
    np.testing.assert_array_equal(pq.read_table(out).column("user_id").to_numpy(), cols["user_id"])
    np.testing.assert_array_equal(_targets(out), _expected_in_input_order(cols))


@pytest.mark.parametrize("statistics", [True, False])
def test_users_spanning_parts_are_read_whole(tmp_path, monkeypatch, statistics):
    """With statistics the spanning is seen before reading; without, in the second part: start again."""
    d, cols = _parts_dir(tmp_path, spanning=True, statistics=statistics)
    calls = _recording_reads(monkeypatch)
    out = tmp_path / "y.parquet"
    write_targets_parquet(d, SPECS, out, batch_users=3)
    assert calls == (["parts"] if statistics else ["part-a.parquet", "part-b.parquet", "parts"])
    np.testing.assert_array_equal(_targets(out), _expected_in_input_order(cols))


def test_a_directory_output_has_the_input_parts_names_and_rows(tmp_path):
    d, cols = _parts_dir(tmp_path)
    single, parts = tmp_path / "y.parquet", tmp_path / "y"
    write_targets_parquet(d, SPECS, single)
    assert write_targets_dir(d, SPECS, parts, batch_users=2) == 270
    assert sorted(p.name for p in parts.iterdir()) == ["part-a.parquet", "part-b.parquet", "part-c.parquet"]
    for name, lo in (("part-a.parquet", 0), ("part-b.parquet", 90), ("part-c.parquet", 180)):
        got = pq.read_table(parts / name)
        np.testing.assert_array_equal(got.column("user_id").to_numpy(), cols["user_id"][lo : lo + 90])
        np.testing.assert_array_equal(_targets(parts / name), _expected_in_input_order(cols)[lo : lo + 90])
    assert pq.read_table(parts).equals(pq.read_table(single))  # in name order: the one file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts", "y", "y.parquet"]  # no build dir left


def test_parts_finishing_in_any_order_write_the_same_bytes(tmp_path):
    d, _ = _parts_dir(tmp_path)
    done_order = []

    def backwards(fn, tasks, done):
        for k in sorted(tasks, reverse=True):
            done_order.append(k)
            done(k, fn(*tasks[k]))

    write_targets_dir(d, SPECS, tmp_path / "here")
    write_targets_dir(d, SPECS, tmp_path / "backwards", runner=backwards)
    assert done_order == [2, 1, 0]
    for name in ("part-a.parquet", "part-b.parquet", "part-c.parquet"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "backwards" / name).read_bytes()


def test_a_directory_output_needs_each_users_rows_in_one_part(tmp_path):
    d, _ = _parts_dir(tmp_path, spanning=True)
    with pytest.raises(InputError, match=r"part-b\.parquet' holds user \d+, but the earlier part") as err:
        write_targets_dir(d, SPECS, tmp_path / "y")
    assert "write_targets_parquet" in str(err.value)
    assert "--out FILE.parquet" in err.value.for_cli()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]


@pytest.mark.parametrize("layout", ["file", "dir"])
def test_a_failure_in_the_last_part_leaves_nothing(tmp_path, layout):
    d, _ = _parts_dir(tmp_path)
    bad = pq.read_table(d / "part-c.parquet").to_pydict()
    bad["amount"][50] = float("nan")
    pq.write_table(pa.table(bad), d / "part-c.parquet")
    write = write_targets_parquet if layout == "file" else write_targets_dir
    out = tmp_path / ("y.parquet" if layout == "file" else "y")
    with pytest.raises(InputError, match=r"part-c\.parquet': column 'amount' at row 50 is nan"):
        write(d, SPECS, out, batch_users=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]


def test_a_directory_output_is_replaced_only_with_overwrite_and_only_a_targets_one(tmp_path):
    d, _ = _parts_dir(tmp_path)
    out = tmp_path / "y"
    out.mkdir()
    (out / "part-z.parquet").write_text("stale")
    with pytest.raises(InputError, match="is not empty") as err:
        write_targets_dir(d, SPECS, out)
    assert "--overwrite" in err.value.for_cli()
    write_targets_dir(d, SPECS, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["part-a.parquet", "part-b.parquet", "part-c.parquet"]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"notes\.txt, which are not targets part files"):
        write_targets_dir(d, SPECS, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    inputs = sorted(p.read_bytes() for p in d.iterdir())
    with pytest.raises(InputError, match="holds the input part files"):
        write_targets_dir(d, SPECS, d, overwrite=True)
    assert sorted(p.read_bytes() for p in d.iterdir()) == inputs


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from cardworld.config import load_config
    from cardworld.engine.run import generate

    out = tmp_path_factory.mktemp("world") / "w"
    generate(load_config(consumers=5, shard_size=2, start="2019-01-01", end="2019-06-30", seed=3), out)
    return out


@pytest.mark.parametrize("layout", ["file", "dir"])
def test_a_shard_the_manifest_lists_must_be_there(world, tmp_path, layout):
    ds = tmp_path / "w"
    shutil.copytree(world, ds)
    (ds / "transactions" / "part-00001.parquet").unlink()
    write = write_targets_parquet if layout == "file" else write_targets_dir
    with pytest.raises(InputError, match=r"part-00001\.parquet' is missing: the manifest"):
        write(ds, SPECS, tmp_path / ("y.parquet" if layout == "file" else "y"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


def test_a_dataset_gives_one_output_part_per_shard(world, tmp_path):
    single, parts = tmp_path / "y.parquet", tmp_path / "y"
    n = write_targets_parquet(world, SPECS, single)
    assert write_targets_dir(world, SPECS, parts) == n > 0
    assert sorted(p.name for p in parts.iterdir()) == [f"part-0000{k}.parquet" for k in range(3)]
    assert pq.read_table(parts).equals(pq.read_table(single))
    for k in range(3):
        rows = pq.read_metadata(world / "transactions" / f"part-0000{k}.parquet").num_rows
        assert pq.read_metadata(parts / f"part-0000{k}.parquet").num_rows == rows


def test_a_directory_output_does_not_replace_a_file(tmp_path):
    d, _ = _parts_dir(tmp_path)
    (tmp_path / "y").write_text("keep me")
    with pytest.raises(InputError, match="exists and is not a directory") as err:
        write_targets_dir(d, SPECS, tmp_path / "y", overwrite=True)
    assert "write_targets_parquet" in str(err.value)
    assert "ending in .parquet" in err.value.for_cli()
    assert (tmp_path / "y").read_text() == "keep me"
