"""TransactionDataset and collate_padded: targets on full histories then truncated, features, padding,
pickling, and real DataLoaders (fork and spawn workers) checked against the naive reference."""

from __future__ import annotations

import datetime as dt
import pickle
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from cardworld.bench.suites import SUITE_20
from cardworld.errors import InputError
from cardworld.io import TransactionArrays
from cardworld.sequences import PaddedBatch, TransactionDataset, collate_padded
from cardworld.targets import TargetSpec, compute_targets, output_names
from cardworld.targets.reference import reference_targets

RTOL, ATOL = 1e-5, 1e-4
DAY = 86400
JAN_2024 = 19723 * DAY  # 2024-01-01T00:00:00, a Monday
MCCS = np.array([5411, 5912, 6513, 5812, 5814, 5541, 4511, 7011, 5300, 5999], dtype=np.int16)


def _make_data(n_users: int, max_rows: int, seed: int) -> dict[str, np.ndarray]:
    """Users with 1..max_rows rows over ~4 months (ties included), rows shuffled across users."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(1, max_rows + 1, n_users)
    lens[0] = 1  # a one-row user
    user = np.repeat(np.arange(100, 100 + n_users), lens)
    n = user.size
    time = JAN_2024 - 40 * DAY + rng.integers(0, 120 * DAY, n) // 600 * 600  # 10-minute grid: ties
    amount = np.round(rng.lognormal(3, 1, n), 2) * np.where(rng.random(n) < 0.1, -1, 1)
    mcc = rng.choice(MCCS, n)
    order = rng.permutation(n)
    return {"user_id": user[order], "timestamp": time[order], "amount": amount[order], "mcc": mcc[order]}


def _write_parquet(data: dict[str, np.ndarray], path) -> None:
    table = pa.table(
        {
            "user_id": pa.array(data["user_id"], pa.int64()),
            "timestamp": pa.array(data["timestamp"] * 1000, pa.timestamp("ms")),
            "amount": pa.array(data["amount"], pa.float64()),
            "mcc": pa.array(data["mcc"], pa.int16()),
        }
    )
    pq.write_table(table, path, row_group_size=97)


def _user_rows(data: dict[str, np.ndarray], uid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One user's rows sorted stably by time: independent of the reader's grouping."""
    rows = np.flatnonzero(data["user_id"] == uid)
    rows = rows[np.argsort(data["timestamp"][rows], kind="stable")]
    return data["timestamp"][rows], data["amount"][rows], data["mcc"][rows]


def _civil(t: int) -> tuple[int, int, int, int]:
    d = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=int(t))
    return d.hour, d.weekday(), d.day, d.month


def _check_item(item: dict, data: dict, specs, max_len: int | None, ref=reference_targets) -> None:
    """An item equals: reference targets of the user's full history, then its last max_len rows."""
    uid = int(item["user_id"])
    t, a, m = _user_rows(data, uid)
    keep = t.size if max_len is None else min(t.size, max_len)
    sl = slice(t.size - keep, t.size)
    assert int(item["length"]) == keep
    np.testing.assert_allclose(
        item["targets"].numpy(), ref(specs, time=t, amount=a, mcc=m)[sl], rtol=RTOL, atol=ATOL
    )
    np.testing.assert_array_equal(item["amount"].numpy(), a[sl].astype(np.float32))
    np.testing.assert_array_equal(item["mcc"].numpy(), m[sl])
    delta = np.diff(t, prepend=t[0])  # previous transaction of the full history; 0 for the first
    np.testing.assert_array_equal(item["time_delta"].numpy(), delta[sl].astype(np.float32))
    cal = np.array([_civil(x) for x in t[sl]]).reshape(-1, 4)
    for j, name in enumerate(("hour", "weekday", "day_of_month", "month")):
        np.testing.assert_array_equal(item[name].numpy(), cal[:, j], err_msg=name)
        assert item[name].dtype == torch.int64
    assert item["amount"].dtype == item["time_delta"].dtype == item["targets"].dtype == torch.float32


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return _make_data(n_users=14, max_rows=40, seed=7)


@pytest.fixture(scope="module")
def parquet_path(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("tx") / "transactions.parquet"
    _write_parquet(data, path)
    return path


# --- items ---


@pytest.mark.parametrize("max_len", [None, 1, 7])
def test_items_equal_reference_on_full_history_then_truncated(data, parquet_path, max_len):
    ds = TransactionDataset(parquet_path, SUITE_20, max_len=max_len)
    assert len(ds) == 14
    assert ds.target_names == output_names(SUITE_20)
    for u in range(len(ds)):
        item = ds[u]
        assert int(item["user_id"]) == 100 + u
        _check_item(item, data, SUITE_20, max_len)


def test_truncation_keeps_full_history_targets_by_hand():
    # User 0: three purchases on one day; the expanding daily sum is 10, 30, 60 over the full history.
    # User 1: one purchase. With max_len=2 user 0 keeps its last two rows, user 1 is padded.
    t = np.array([JAN_2024 + 3600, JAN_2024 + 7200, JAN_2024 + 9000, JAN_2024])
    a = np.array([10.0, 20.0, 30.0, 5.0])
    spec = [TargetSpec(name="day_sum", agg="sum", window="day", mode="expanding")]
    ds = TransactionDataset({"user_id": np.array([0, 0, 0, 1]), "timestamp": t, "amount": a}, spec, max_len=2)
    item = ds[0]
    np.testing.assert_array_equal(item["targets"].numpy(), [[30.0], [60.0]])
    np.testing.assert_array_equal(item["amount"].numpy(), [20.0, 30.0])
    np.testing.assert_array_equal(item["time_delta"].numpy(), [3600.0, 1800.0])  # first kept row: real gap
    # Computing on the truncated sequence would have lost the first purchase.
    np.testing.assert_array_equal(compute_targets(spec, time=t[1:3], amount=a[1:3]), [[20.0], [50.0]])
    assert "mcc" not in item  # no mcc array given
    batch = ds.collate_fn(ds.__getitems__([0, 1]))
    assert batch.seq_lens.tolist() == [2, 1]
    np.testing.assert_array_equal(batch.targets[..., 0].numpy(), [[30.0, 60.0], [5.0, 0.0]])
    np.testing.assert_array_equal(batch.payload["amount"].numpy(), [[20.0, 30.0], [5.0, 0.0]])
    np.testing.assert_array_equal(batch.payload["hour"].numpy(), [[2, 2], [0, 0]])


def test_calendar_features_by_hand():
    t = np.array(
        [
            -1,  # 1969-12-31 23:59:59, a Wednesday
            int(dt.datetime(2024, 2, 29, 13, 45, tzinfo=dt.UTC).timestamp()),  # Thursday
            int(dt.datetime(2024, 3, 3, 23, 0, tzinfo=dt.UTC).timestamp()),  # Sunday
        ]
    )
    ds = TransactionDataset({"user_id": [1, 1, 1], "timestamp": t, "amount": [1.0, 2.0, 3.0]}, None)
    item = ds[0]
    assert item["hour"].tolist() == [23, 13, 23]
    assert item["weekday"].tolist() == [2, 3, 6]
    assert item["day_of_month"].tolist() == [31, 29, 3]
    assert item["month"].tolist() == [12, 2, 3]
    assert item["targets"].shape == (3, 0)  # no specs, no targets


def test_random_batches_equal_single_items(data):
    ds = TransactionDataset(data, SUITE_20, max_len=9)
    order = [5, 0, 13, 2, 2, -1]  # not consecutive, a repeat, a negative index
    batch = ds.__getitems__(order)
    for i, item in zip(order, batch, strict=True):
        single = ds[i]
        assert set(item) == set(single)
        for k, v in item.items():
            if isinstance(v, torch.Tensor):
                torch.testing.assert_close(v, single[k], rtol=0, atol=0)
    assert int(batch[-1]["user_id"]) == 113
    assert ds.__getitems__([]) == []
    with pytest.raises(IndexError, match="user index 14 is out of range for a dataset of 14 users"):
        ds.__getitems__([0, 14])


def test_value_column_mapping_and_extra_features():
    rng = np.random.default_rng(3)
    n = 30
    src = {
        "uid": np.repeat([7, 8], [12, 18]),
        "ts": JAN_2024 + np.sort(rng.integers(0, 30 * DAY, n)),
        "amount": rng.normal(10, 5, n),
        "acct_balance": rng.normal(1000, 100, n),
    }
    specs = [TargetSpec(name="bal_max", agg="max", value="balance", window="7d", mode="trailing")]
    ds = TransactionDataset(
        src,
        specs,
        max_len=10,
        columns={"user_id": "uid", "timestamp": "ts", "balance": "acct_balance"},
        extra_features=["balance"],
    )
    assert ds.feature_names == ["amount", "time_delta", "hour", "weekday", "day_of_month", "month", "balance"]
    item = ds[1]
    rows = slice(12, 30)
    full = compute_targets(
        specs,
        time=src["ts"][rows],
        amount=src["amount"][rows],
        columns={"balance": src["acct_balance"][rows]},
    )
    np.testing.assert_array_equal(item["targets"].numpy(), full[-10:])
    np.testing.assert_array_equal(item["balance"].numpy(), src["acct_balance"][rows][-10:].astype(np.float32))


def test_dataset_errors(data, tmp_path):
    with pytest.raises(InputError, match="max_len is 0; pass a positive number of rows"):
        TransactionDataset(data, SUITE_20, max_len=0)
    with pytest.raises(InputError, match=r"max_len is 2\.5"):
        TransactionDataset(data, SUITE_20, max_len=2.5)
    numpy_int = TransactionDataset(data, None, max_len=np.int64(3))
    assert max(int(it["length"]) for it in numpy_int.__getitems__(range(14))) == 3
    with pytest.raises(InputError, match="extra feature 'hour' has the name of a built-in item entry"):
        TransactionDataset({**data, "hour": data["amount"]}, None, extra_features=["hour"])
    no_mcc = {k: v for k, v in data.items() if k != "mcc"}
    with pytest.raises(InputError, match="specs filter on MCC but the source has no 'mcc' column"):
        TransactionDataset(no_mcc, SUITE_20)
    with pytest.raises(
        InputError, match=r"the source dict has no 'ts' array .*columns=\{'timestamp': <key>\}"
    ):
        TransactionDataset(data, SUITE_20, columns={"timestamp": "ts"})
    with pytest.raises(InputError, match="source is a list"):
        TransactionDataset([1, 2], SUITE_20)
    with pytest.raises(InputError, match="does not exist"):
        TransactionDataset(tmp_path / "missing", SUITE_20)
    arrays = TransactionArrays.from_arrays(data["user_id"], data["timestamp"], data["amount"], data["mcc"])
    with pytest.raises(InputError, match=r"column 'balance' .* is not in the source's extra arrays \[\]"):
        TransactionDataset(arrays, None, extra_features=["balance"])


# --- collate ---


def test_collate_pads_with_zeros_and_masks(data):
    ds = TransactionDataset(data, SUITE_20, max_len=None)
    items = ds.__getitems__([0, 3, 1])  # user 0 has 1 row
    lens = [int(it["length"]) for it in items]
    batch = ds.collate_fn(items)
    assert isinstance(batch, PaddedBatch)
    assert len(batch) == 3
    length = max(lens)
    assert batch.max_len == length
    assert batch.seq_lens.tolist() == lens
    assert batch.seq_len_mask.dtype == torch.bool
    assert batch.seq_len_mask.shape == (3, length)
    assert batch.seq_len_mask.sum(1).tolist() == lens
    assert batch.seq_len_mask[0].tolist() == [True] + [False] * (length - 1)
    assert set(batch.payload) == set(ds.feature_names)
    assert batch.targets.shape == (3, length, len(ds.target_names))
    assert batch.target_names == ds.target_names
    assert batch.user_ids.tolist() == [100, 103, 101]
    for i, (it, n) in enumerate(zip(items, lens, strict=True)):
        for k, v in batch.payload.items():
            assert v.shape == (3, length)
            assert v.dtype == it[k].dtype
            torch.testing.assert_close(v[i, :n], it[k], rtol=0, atol=0)
            assert not v[i, n:].any(), f"padding of {k} is not zero"
        torch.testing.assert_close(batch.targets[i, :n], it["targets"], rtol=0, atol=0)
        assert not batch.targets[i, n:].any()
    moved = batch.to("cpu")
    assert isinstance(moved, PaddedBatch)
    assert moved.payload["amount"].device.type == "cpu"


def test_collate_equal_lengths_and_plain_items():
    # Items that are plain dicts of tensors (not from the dataset) collate too.
    items = [
        {"x": torch.tensor([1.0, 2.0]), "length": torch.tensor(2)},
        {"x": torch.tensor([3.0, 4.0]), "length": 2},
    ]
    batch = collate_padded(items)
    assert batch.payload["x"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert batch.seq_len_mask.all()
    assert batch.targets is None
    assert batch.target_names == []
    with pytest.raises(InputError, match="empty list of items"):
        collate_padded([])
    with pytest.raises(InputError, match="need a 'length' entry"):
        collate_padded([{"x": torch.zeros(2)}])


@pytest.mark.parametrize("max_len", [None, 6])
def test_prepadded_batches_match_copied_ones(data, max_len):
    # A whole __getitems__ batch is collated without copying; a reordered or partial list is copied.
    ds = TransactionDataset(data, SUITE_20, max_len=max_len)
    items = ds.__getitems__([4, 9, 0, 2])
    fast = ds.collate_fn(items)
    assert fast.payload["amount"].data_ptr() == items[0]["amount"].data_ptr()  # no copy
    clones = [{k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in it.items()} for it in items]
    slow = ds.collate_fn(clones)
    for k in fast.payload:
        torch.testing.assert_close(fast.payload[k], slow.payload[k], rtol=0, atol=0)
    torch.testing.assert_close(fast.targets, slow.targets, rtol=0, atol=0)
    torch.testing.assert_close(fast.seq_len_mask, slow.seq_len_mask, rtol=0, atol=0)
    reordered = ds.collate_fn(items[::-1])
    torch.testing.assert_close(reordered.targets, fast.targets.flip(0), rtol=0, atol=0)
    part = ds.collate_fn(items[1:3])
    assert part.payload["amount"].data_ptr() != items[1]["amount"].data_ptr()
    torch.testing.assert_close(part.targets, fast.targets[1:3, : part.max_len], rtol=0, atol=0)


# --- pickling and DataLoader workers ---


def test_pickle_round_trip(data, parquet_path):
    mem = TransactionDataset(data, SUITE_20, max_len=5)
    mem2 = pickle.loads(pickle.dumps(mem))
    path_ds = TransactionDataset(parquet_path, SUITE_20, max_len=5)
    blob = pickle.dumps(path_ds)
    assert len(blob) < len(pickle.dumps(mem)) - data["timestamp"].nbytes  # the path, not the arrays
    path2 = pickle.loads(blob)
    assert path2._arrays is None  # re-read lazily on first use
    stale = pickle.loads(blob)
    for u in (0, 6, 13):
        for other in (mem2, path2):
            a, b = mem[u], other[u]
            for k, v in a.items():
                if isinstance(v, torch.Tensor):
                    torch.testing.assert_close(v, b[k], rtol=0, atol=0)
    # A worker that finds a different file says so instead of serving other users.
    _write_parquet(
        {k: v[data["user_id"] != 100] for k, v in data.items()}, parquet_path.with_name("other.parquet")
    )
    stale._path = str(parquet_path.with_name("other.parquet"))
    with pytest.raises(InputError, match="now holds 13 users, not the 14"):
        stale[0]


def _check_loader(loader: DataLoader, data, specs, max_len: int, n_users: int) -> None:
    seen = []
    for batch in loader:
        assert isinstance(batch, PaddedBatch)
        for i in range(len(batch)):
            n = int(batch.seq_lens[i])
            item = {k: v[i, :n] for k, v in batch.payload.items()}
            item.update(targets=batch.targets[i, :n], length=batch.seq_lens[i], user_id=batch.user_ids[i])
            assert not batch.seq_len_mask[i, n:].any()
            assert batch.seq_len_mask[i, :n].all()
            _check_item(item, data, specs, max_len)
            seen.append(int(batch.user_ids[i]))
    assert sorted(seen) == list(range(100, 100 + n_users))


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # machines with fewer cores than workers
def test_dataloader_fork_workers(data, parquet_path):
    ds = TransactionDataset(parquet_path, SUITE_20, max_len=12)
    loader = DataLoader(
        ds,
        batch_size=4,
        shuffle=True,
        num_workers=2,
        multiprocessing_context="fork",
        collate_fn=ds.collate_fn,
    )
    _check_loader(loader, data, SUITE_20, 12, len(ds))


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.slow
def test_dataloader_spawn_workers(data, parquet_path):
    # Spawned workers unpickle the dataset (path only) and re-read the Parquet file.
    specs = SUITE_20[:6]
    ds = TransactionDataset(parquet_path, specs, max_len=12)
    loader = DataLoader(
        ds, batch_size=5, num_workers=2, multiprocessing_context="spawn", collate_fn=ds.collate_fn
    )
    _check_loader(loader, data, specs, 12, len(ds))


def test_import_does_not_import_torch():
    code = (
        "import sys, cardworld.sequences, cardworld.io; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
