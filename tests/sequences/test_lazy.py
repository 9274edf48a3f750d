"""TransactionDataset over a dataset directory reads user by user: the same items as the eager reading
of the same part files (a plain directory of Parquet files), only the row groups of a batch's users read,
a bounded cache, pickles without rows, and DataLoader workers that split the row groups."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader, get_worker_info

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io import row_groups
from cardworld.sequences import TransactionDataset
from cardworld.targets import TargetSpec

GROUP_ROWS = 1500  # small row groups: several per shard, about two users each
SPECS = [
    TargetSpec(name="day_sum", agg="sum", window="day", mode="expanding"),
    TargetSpec(name="next_week", agg="count", mcc=[5411, 5812], window="7d", mode="leading"),
    TargetSpec(name="max_card", agg="max", value="card_id", window="30d", mode="trailing"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lazy") / "w"
    cfg = load_config(
        consumers=10, shard_size=3, start="2018-01-01", end="2019-06-30", seed=4, fraud={"rate": 0.01}
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(row_groups, "MAX_GROUP_ROWS", GROUP_ROWS)
        generate(cfg, out)
    return out


@pytest.fixture(scope="module")
def footer_groups(world) -> list[tuple[int, int, int, int, int]]:
    """(file, group, min user, max user, rows) of every row group, from the footers' statistics."""
    out = []
    for f, path in enumerate(sorted((world / "transactions").glob("part-*.parquet"))):
        md = pq.read_metadata(path)
        for g in range(md.num_row_groups):
            st = md.row_group(g).column(0).statistics
            out.append((f, g, st.min, st.max, md.row_group(g).num_rows))
    return out


def _groups_of(footer_groups, users) -> set[tuple[int, int]]:
    return {(f, g) for f, g, lo, hi, _ in footer_groups if any(lo <= u <= hi for u in users)}


def _read(ds: TransactionDataset) -> set[tuple[int, int]]:
    """The (file, row group) pairs this process's reader decoded."""
    idx = ds._lazy.index
    return {(int(idx.group_file[g]), int(idx.group_number[g])) for g in ds._lazy.groups_read}


def _assert_items_equal(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k, v in x.items():
            if isinstance(v, torch.Tensor):
                torch.testing.assert_close(v, y[k], rtol=0, atol=0, msg=k)
            else:
                assert v == y[k], k


KWARGS = [
    {"specs": SPECS, "max_len": 50, "labels": ["is_fraud"], "extra_features": ["merchant_id"]},
    {"specs": None, "max_len": None},
    {"specs": SPECS[:1], "max_len": 7, "columns": {"amount": "amount"}},
]


@pytest.mark.parametrize("kwargs", KWARGS)
def test_lazy_items_equal_the_eager_items(world, kwargs):
    lazy = TransactionDataset(world, **kwargs)
    eager = TransactionDataset(world / "transactions", **kwargs)  # a plain directory of Parquet files
    assert lazy._lazy is not None
    assert eager._lazy is None
    assert len(lazy) == len(eager) > 0
    assert lazy.user_ids.tolist() == eager.user_ids.tolist()
    assert lazy.feature_names == eager.feature_names
    for u in range(len(lazy)):
        _assert_items_equal([lazy[u]], [eager[u]])
    picks = [7, 0, 7, 3, len(lazy) - 1]  # unordered, repeated, across shards
    _assert_items_equal(lazy.__getitems__(picks), eager.__getitems__(picks))


def test_lazy_samples_equal_the_eager_samples(world):
    eager_all = TransactionDataset(world / "transactions", None)
    rng = np.random.default_rng(0)
    users = rng.choice(eager_all.user_ids, 30)
    days = 17532 + rng.integers(0, 540, 30)  # 2018-01-01 + up to 18 months
    samples = pa.table(
        {
            "user_id": pa.array(users, pa.int32()),
            "obs_date": pa.array(days.astype(np.int32)).cast(pa.date32()),
            "label": rng.integers(0, 2, 30),
        }
    )
    for specs in (SPECS, None):
        lazy = TransactionDataset(world, specs, max_len=20, samples=samples)
        eager = TransactionDataset(world / "transactions", specs, max_len=20, samples=samples)
        assert len(lazy) == 30
        _assert_items_equal(lazy.__getitems__(range(30)), eager.__getitems__(range(30)))
    stranger = samples.set_column(0, "user_id", pa.array([999] * 30, pa.int32()))
    with pytest.raises(InputError, match="row 0 names user_id 999, who has no transactions in the source"):
        TransactionDataset(world, None, samples=stranger)


def test_construction_reads_no_rows_and_a_batch_reads_only_its_row_groups(world, footer_groups):
    ds = TransactionDataset(world, SPECS, max_len=30)
    assert ds._lazy.groups_read == []
    assert ds._lazy.rows_read == 0
    total = sum(rows for *_, rows in footer_groups)
    for picks in ([0, 1], [4], [2, 9]):
        ds._lazy._reset()
        ds.__getitems__(picks)
        users = ds.user_ids[picks].tolist()
        want = _groups_of(footer_groups, users)
        assert _read(ds) == want
        assert ds._lazy.rows_read == sum(r for f, g, *_, r in footer_groups if (f, g) in want) < total / 2


def test_the_cache_is_bounded_by_rows(world, footer_groups):
    biggest = max(rows for *_, rows in footer_groups)
    ds = TransactionDataset(world, None, cache_rows=biggest)
    for u in range(len(ds)):
        ds[u]
        assert ds._lazy._cached_rows <= biggest
    assert len(ds._lazy._cache) == 1
    reads = len(ds._lazy.groups_read)
    ds[0]  # evicted long ago: read again
    assert len(ds._lazy.groups_read) == reads + 1
    ds[0]  # cached
    assert len(ds._lazy.groups_read) == reads + 1


def test_pickle_ships_the_path_and_index_only(world):
    ds = TransactionDataset(world, SPECS, max_len=30, labels=["is_fraud"])
    before = ds.__getitems__(range(len(ds)))  # fills the cache
    assert ds._lazy._cached_rows > 0
    blob = pickle.dumps(ds)
    fresh = pickle.dumps(TransactionDataset(world, SPECS, max_len=30, labels=["is_fraud"]))
    assert blob == fresh  # the cache and counters stay behind
    assert len(pickle.dumps(ds._lazy)) < 8_000  # path, columns and index; the rows would take ~100x more
    again = pickle.loads(blob)
    assert again._lazy.groups_read == []
    assert again._arrays is None
    _assert_items_equal(again.__getitems__(range(len(ds))), before)


def test_a_rewritten_part_file_is_refused(world, tmp_path):
    copy = tmp_path / "w"
    shutil.copytree(world, copy)
    ds = pickle.loads(pickle.dumps(TransactionDataset(copy, None)))
    first = copy / "transactions" / "part-00000.parquet"
    pq.write_table(pq.read_table(first), first)  # one row group now
    with pytest.raises(InputError, match="no longer has the row groups it had when the dataset was built"):
        ds[0]


def test_part_files_without_the_index_read_the_same(world, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(world, copy)
    for f in (copy / "transactions").glob("part-*.parquet"):
        pq.write_table(pq.read_table(f), f, row_group_size=700)  # no index; users span row groups
    lazy = TransactionDataset(copy, SPECS, max_len=40)
    eager = TransactionDataset(world / "transactions", SPECS, max_len=40)
    _assert_items_equal(lazy.__getitems__(range(len(lazy))), eager.__getitems__(range(len(eager))))


def test_nulls_are_refused_as_they_are_read_naming_file_and_row(world):
    ds = TransactionDataset(world, None, extra_features=["fraudster_id"])  # null on genuine purchases
    with pytest.raises(
        InputError, match=r"part-00000\.parquet': column 'fraudster_id' is null at row (\d+)"
    ) as e:
        ds[0]
    row = int(str(e.value).split("null at row ")[1].split(";")[0])
    column = pq.read_table(world / "transactions" / "part-00000.parquet", columns=["fraudster_id"])[0]
    assert column[row].as_py() is None
    assert column.slice(0, row).null_count == 0  # the first null of the file: user 0's row group is first


def test_wrong_types_are_refused_up_front_as_the_eager_reader_does(world):
    with pytest.raises(InputError) as lazy:
        TransactionDataset(world, None, extra_features=["merchant_city"])
    with pytest.raises(InputError) as eager:
        TransactionDataset(world / "transactions", None, extra_features=["merchant_city"])
    assert (
        "part-00000.parquet': column 'merchant_city' has type string; it must be numeric or boolean"
        in str(lazy.value)
    )
    assert str(lazy.value) == str(eager.value)


# --- DataLoader workers ---


def _collate_noting_reads(items):
    """Collate, and note which worker read which row groups (so far)."""
    ds = get_worker_info().dataset
    return TransactionDataset.collate_fn(items), get_worker_info().id, set(_read(ds))


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # machines with fewer cores than workers
def test_block_sampler_workers_read_their_own_row_groups(world, footer_groups):
    ds = TransactionDataset(world, SPECS, max_len=25)
    eager = TransactionDataset(world / "transactions", SPECS, max_len=25)
    sampler = ds.batch_sampler(2, seed=1, window=2, num_workers=2)
    loader = DataLoader(
        ds,
        batch_sampler=sampler,
        num_workers=2,
        collate_fn=_collate_noting_reads,
        multiprocessing_context="fork",
    )
    served: dict[int, list[int]] = {0: [], 1: []}
    read: dict[int, set] = {0: set(), 1: set()}
    for batch, worker, groups in loader:
        users = batch.user_ids.tolist()
        served[worker] += users
        read[worker] |= groups
        for i, uid in enumerate(users):
            n = int(batch.seq_lens[i])
            want = eager[int(np.searchsorted(eager.user_ids, uid))]
            torch.testing.assert_close(batch.targets[i, :n], want["targets"], rtol=0, atol=0)
            torch.testing.assert_close(batch.payload["amount"][i, :n], want["amount"], rtol=0, atol=0)
    assert sorted(served[0] + served[1]) == ds.user_ids.tolist()
    for w in (0, 1):
        assert read[w] <= _groups_of(footer_groups, served[w])  # on demand only
        assert len(read[w]) < len(footer_groups)  # not everything
    assert len(read[0] & read[1]) <= 2 * 2  # at most the tail windows when one stream runs out first


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_plain_shuffled_dataloader_still_works(world):
    ds = TransactionDataset(world, None, max_len=10, labels=["is_fraud"])
    eager = TransactionDataset(world / "transactions", None, max_len=10, labels=["is_fraud"])
    loader = DataLoader(ds, batch_size=3, shuffle=True, num_workers=2, collate_fn=ds.collate_fn)
    seen = []
    for batch in loader:
        for i, uid in enumerate(batch.user_ids.tolist()):
            n = int(batch.seq_lens[i])
            want = eager[int(np.searchsorted(eager.user_ids, uid))]
            torch.testing.assert_close(batch.labels[i, :n], want["labels"], rtol=0, atol=0)
            seen.append(uid)
    assert sorted(seen) == ds.user_ids.tolist()


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.slow
def test_spawned_workers_read_lazily(world):
    ds = TransactionDataset(world, SPECS[:1], max_len=10)
    loader = DataLoader(
        ds,
        batch_sampler=ds.batch_sampler(4, num_workers=2),
        num_workers=2,
        multiprocessing_context="spawn",
        collate_fn=ds.collate_fn,
    )
    seen = [uid for batch in loader for uid in batch.user_ids.tolist()]
    assert sorted(seen) == ds.user_ids.tolist()


def test_batch_sampler_over_a_plain_parquet_source_is_a_plain_shuffle(world):
    eager = TransactionDataset(world / "transactions", None)
    batches = list(eager.batch_sampler(3, seed=2))
    assert sorted(i for b in batches for i in b) == list(range(len(eager)))
