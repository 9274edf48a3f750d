"""cardworld.open(DIR): the lazy dataset object, its user index from the footers, and its errors; checked
against the part files read whole with plain pyarrow."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import cardworld
from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io import reader, row_groups
from cardworld.io.dataset import read_table
from cardworld.io.schema import SCHEMAS

GROUP_ROWS = 1500  # small row groups, so that a shard has several (about two users each)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reader") / "w"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(row_groups, "MAX_GROUP_ROWS", GROUP_ROWS)
        generate(load_config(consumers=8, shard_size=3, start="2018-01-01", end="2019-12-31", seed=3), out)
    return out


@pytest.fixture(scope="module")
def everything(world) -> pa.Table:
    """Every transaction, read whole with pyarrow (shard order), contract types."""
    files = sorted((world / "transactions").glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]).cast(SCHEMAS["transactions"])


def _footer_groups(path: Path, uid: int) -> list[int]:
    """The row groups whose user_id statistics include uid (independent of the index)."""
    md = pq.read_metadata(path)
    out = []
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(0).statistics
        if st.min <= uid <= st.max:
            out.append(g)
    return out


def test_open_counts_users_rows_and_shards(world, everything):
    w = cardworld.open(world)
    assert isinstance(w, reader.CardworldDataset)
    assert w.n_shards == 3
    assert w.n_rows == everything.num_rows == sum(s["rows"] for s in w.manifest["shards"])
    ids = np.unique(everything["user_id"].to_numpy())
    assert w.n_users == ids.size
    assert w.user_ids.tolist() == ids.tolist()
    assert w.manifest["status"] == "complete"
    assert w.path == world
    md = pq.read_metadata(w.files[0])
    assert md.num_row_groups > 1  # the test needs several row groups per shard
    text = repr(w)
    for part in (f"{everything.num_rows:,} rows", f"{ids.size} users", "3 shards", "2018-01-01..2019-12-31"):
        assert part in text
    assert "complete" in text


def test_open_is_exported_lazily_and_never_by_star():
    assert cardworld.open is reader.open
    assert "open" not in cardworld.__all__  # `from cardworld import *` must not shadow builtins.open


def test_transactions_dataset_has_the_contract_schema(world, everything):
    tx = cardworld.open(world).transactions()
    assert isinstance(tx, pads.Dataset)
    assert tx.schema.equals(SCHEMAS["transactions"])
    got = tx.to_table(filter=pads.field("user_id") == 5, columns=["timestamp", "amount"])
    want = everything.filter(pc.equal(everything["user_id"], 5)).select(["timestamp", "amount"])
    assert got.schema.field("timestamp").type == pa.timestamp("s")
    assert got.num_rows > 0
    assert got.equals(want)
    assert tx.count_rows() == everything.num_rows


def test_scan_is_a_polars_lazy_frame(world, everything):
    pl = pytest.importorskip("polars")
    frame = cardworld.open(world).scan()
    assert isinstance(frame, pl.LazyFrame)
    got = frame.filter(pl.col("user_id") == 5).select("amount").collect()["amount"].to_list()
    assert got == everything.filter(pc.equal(everything["user_id"], 5))["amount"].to_pylist()
    assert frame.collect_schema()["timestamp"] == pl.Datetime("ms")


def test_scan_without_polars_says_how_to_install_it(world, monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)  # import polars raises ImportError
    with pytest.raises(InputError, match="pip install polars"):
        cardworld.open(world).scan()


def test_small_tables_have_contract_types(world):
    w = cardworld.open(world)
    for name in ("consumers", "cards", "accounts", "trips", "statements", "defaults", "merchants"):
        got = getattr(w, name)()
        assert got.equals(read_table(world, name)), name
        assert got.schema.field(0).type == SCHEMAS[name].field(0).type
    assert w.cash(["user_id"]).column_names == ["user_id"]
    assert w.fraudsters().schema.names[: len(SCHEMAS["fraudsters"])] == SCHEMAS["fraudsters"].names


def test_user_reads_only_the_row_groups_holding_it(world, everything, monkeypatch):
    w = cardworld.open(world)
    reads = []
    real = pq.ParquetFile.read_row_groups

    def spy(self, groups, *args, **kwargs):
        reads.append(list(groups))
        return real(self, groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    for uid in (0, 4, 7):
        one = w.user(uid)
        want = everything.filter(pc.equal(everything["user_id"], uid))
        assert one.transactions.equals(want)
        assert want.num_rows > 0
        assert one.transactions.schema.equals(SCHEMAS["transactions"])
        shard = uid // 3
        assert reads[-1] == _footer_groups(w.files[shard], uid)
        assert len(reads[-1]) < pq.read_metadata(w.files[shard]).num_row_groups  # not the whole file
        consumers = read_table(world, "consumers")
        assert one.bio == consumers.filter(pc.equal(consumers["user_id"], uid)).to_pylist()[0]
        for name in ("cards", "accounts", "trips", "statements"):
            table = read_table(world, name)
            assert getattr(one, name).equals(table.filter(pc.equal(table["user_id"], uid))), name


def test_unknown_user_names_the_id_range(world):
    with pytest.raises(InputError, match=r"user_id 99 is not in the dataset .*user ids are 0\.\.7"):
        cardworld.open(world).user(99)
    with pytest.raises(InputError, match="user_id is '3'; pass an integer"):
        cardworld.open(world).user("3")


def test_iter_user_batches_streams_whole_users(world, everything):
    batches = list(cardworld.open(world).iter_user_batches(["user_id", "amount"]))
    assert pa.concat_tables(batches).equals(everything.select(["user_id", "amount"]))
    seen = [np.unique(b["user_id"].to_numpy()) for b in batches]
    flat = np.concatenate(seen)
    assert flat.size == np.unique(flat).size  # no user is split across batches
    assert all(b.num_rows <= GROUP_ROWS or s.size == 1 for b, s in zip(batches, seen, strict=True))
    assert len(batches) > 3  # row group by row group, not shard by shard
    with pytest.raises(InputError, match=r"have no column.*balance"):
        next(cardworld.open(world).iter_user_batches(["balance"]))


def test_part_files_without_the_index_are_indexed_from_user_id(world, everything, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(world, old)
    for f in (old / "transactions").glob("part-*.parquet"):
        pq.write_table(pq.read_table(f), f, row_group_size=1000)  # no index, groups split users
    w = cardworld.open(old)
    assert w.user_ids.tolist() == np.unique(everything["user_id"].to_numpy()).tolist()
    for uid in (0, 4, 7):
        assert w.user(uid).transactions.equals(everything.filter(pc.equal(everything["user_id"], uid)))
    assert pa.concat_tables(w.iter_user_batches()).equals(everything)


# --- errors ---


def test_missing_directory_or_not_a_dataset(tmp_path):
    with pytest.raises(InputError, match=r"dataset directory '.*nowhere' does not exist"):
        cardworld.open(tmp_path / "nowhere")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InputError, match=r"f\.txt' is a file, not a directory"):
        cardworld.open(tmp_path / "f.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"is not a cardworld dataset directory: it has no manifest\.json"):
        cardworld.open(tmp_path / "empty")


def test_interrupted_or_partial_runs_say_resume(tmp_path, world):
    only_build = tmp_path / "crashed"
    (only_build / ".build" / "transactions").mkdir(parents=True)
    with pytest.raises(InputError, match=r"only '.*\.build', the build folder of an interrupted run") as err:
        cardworld.open(only_build)
    assert "resume=True" in str(err.value)
    assert "--resume" not in str(err.value)
    assert "--resume" in err.value.for_cli()
    assert "resume=True" not in err.value.for_cli()
    partial = tmp_path / "partial"
    shutil.copytree(world, partial)
    manifest = json.loads((partial / "manifest.json").read_text())
    (partial / "manifest.json").write_text(json.dumps({**manifest, "status": "partial"}))
    with pytest.raises(InputError, match=r"is partial .*status 'partial'.*resume=True"):
        cardworld.open(partial)


def test_missing_part_file_names_its_path(tmp_path, world):
    broken = tmp_path / "broken"
    shutil.copytree(world, broken)
    opened = cardworld.open(broken)
    (broken / "transactions" / "part-00001.parquet").unlink()
    with pytest.raises(InputError, match=r"part-00001\.parquet' is missing; the dataset is incomplete"):
        cardworld.open(broken)
    with pytest.raises(InputError, match=r"part-00001\.parquet' could not be opened .*removed or damaged"):
        opened.user(4)  # removed after opening
    assert opened.user(0).transactions.num_rows > 0
