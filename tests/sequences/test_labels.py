"""Labels in TransactionDataset (batch.labels, never the payload) and cardworld dataset directories as
sources, checked against the generated world's shards read independently with pyarrow."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io import TransactionArrays
from cardworld.sequences import PaddedBatch, TransactionDataset, collate_padded
from cardworld.targets import TargetSpec

DAY = 86400
SPECS = [TargetSpec(name="day_sum", agg="sum", window="day", mode="expanding")]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world") / "w"
    # A higher fraud rate than the default, so that the kept rows hold fraud whatever the seed does.
    cfg = load_config(consumers=5, start="2018-01-01", end="2019-12-31", seed=1, fraud={"rate": 0.01})
    generate(cfg, out)
    return out


@pytest.fixture(scope="module")
def world_rows(world) -> dict[int, dict[str, np.ndarray]]:
    """Each user's rows in time order (stable), read with plain pyarrow from the transaction shards."""
    table = pq.read_table(world / "transactions", columns=["user_id", "timestamp", "amount", "is_fraud"])
    cols = {c: table.column(c).to_numpy() for c in table.column_names}
    rows = {}
    for uid in np.unique(cols["user_id"]):
        r = np.flatnonzero(cols["user_id"] == uid)
        r = r[np.argsort(cols["timestamp"][r], kind="stable")]
        rows[int(uid)] = {c: v[r] for c, v in cols.items()}
    return rows


def _middle_length(world_rows) -> int:
    """A max_len that truncates some users and pads others."""
    lens = sorted(r["is_fraud"].size for r in world_rows.values())
    assert lens[0] < lens[len(lens) // 2] < lens[-1], "the world needs users of different lengths"
    return lens[len(lens) // 2]


# --- dataset directories and labels ---


def test_dataset_directory_is_its_transactions(world, world_rows):
    ds = TransactionDataset(world)  # no specs: the directory alone
    assert len(ds) == len(world_rows)
    for u, (uid, rows) in enumerate(sorted(world_rows.items())):
        item = ds[u]
        assert int(item["user_id"]) == uid
        np.testing.assert_array_equal(item["amount"].numpy(), rows["amount"][-4096:].astype(np.float32))
        assert item["targets"].shape == (int(item["length"]), 0)
        assert item["labels"].shape == (int(item["length"]), 0)
        assert item["label_names"] == ()


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # machines with fewer cores than workers
def test_dataloader_labels_equal_source_is_fraud(world, world_rows):
    max_len = _middle_length(world_rows)
    ds = TransactionDataset(world, SPECS, max_len=max_len, labels=["is_fraud"])
    assert ds.label_names == ["is_fraud"]
    loader = DataLoader(
        ds, batch_size=2, shuffle=True, num_workers=2, collate_fn=TransactionDataset.collate_fn
    )
    seen, kept_fraud, padded = [], 0, 0
    for batch in loader:
        assert isinstance(batch, PaddedBatch)
        assert "is_fraud" not in batch.payload
        assert set(batch.payload) == set(ds.feature_names)
        assert batch.label_names == ["is_fraud"]
        b, length = batch.seq_len_mask.shape
        assert batch.labels.shape == (b, length, 1)
        assert batch.labels.dtype == torch.float32
        assert not batch.labels[~batch.seq_len_mask].any(), "labels are not zero where padded"
        for i in range(b):
            rows = world_rows[int(batch.user_ids[i])]
            n = int(batch.seq_lens[i])
            assert n == min(rows["is_fraud"].size, max_len)
            assert batch.seq_len_mask[i, :n].all()
            expected = rows["is_fraud"][-n:].astype(np.float32)
            np.testing.assert_array_equal(batch.labels[i, :n, 0].numpy(), expected)
            np.testing.assert_array_equal(
                batch.payload["amount"][i, :n].numpy(), rows["amount"][-n:].astype(np.float32)
            )
            kept_fraud += int(expected.sum())
            padded += n < length
            seen.append(int(batch.user_ids[i]))
    assert sorted(seen) == sorted(world_rows)
    assert kept_fraud > 0  # the check saw fraud
    assert padded > 0  # and padding


def test_pickled_dataset_rereads_labels(world, world_rows):
    ds = TransactionDataset(world, None, max_len=50, labels=["is_fraud"])
    again = pickle.loads(pickle.dumps(ds))
    assert again._arrays is None  # spawned workers re-read the directory
    for u in range(len(ds)):
        torch.testing.assert_close(again[u]["labels"], ds[u]["labels"], rtol=0, atol=0)
    uid = int(ds.arrays.user_ids[-1])
    np.testing.assert_array_equal(again[-1]["labels"][:, 0].numpy(), world_rows[uid]["is_fraud"][-50:])


def test_labels_by_hand_truncated_padded_and_mapped():
    # User 5: rows at hours 1, 2, 3 with fraud on the 2nd; user 6: one row with label 1. max_len=2.
    src = {
        "user_id": np.array([5, 6, 5, 5]),
        "timestamp": np.array([3600, 100, 7200, 10800]),
        "amount": np.array([1.0, 2.0, 3.0, 4.0]),
        "fraud_flag": np.array([False, True, True, False]),
        "score": np.array([0.5, 7, 0.25, 2], dtype=np.float64),
    }
    ds = TransactionDataset(
        src, SPECS, max_len=2, columns={"is_fraud": "fraud_flag"}, labels=["is_fraud", "score"]
    )
    item = ds[0]
    np.testing.assert_array_equal(item["labels"].numpy(), [[1.0, 0.25], [0.0, 2.0]])
    assert item["label_names"] == ("is_fraud", "score")
    batch = ds.collate_fn(ds.__getitems__([0, 1]))
    np.testing.assert_array_equal(batch.labels.numpy(), [[[1.0, 0.25], [0.0, 2.0]], [[1.0, 7.0], [0.0, 0.0]]])
    np.testing.assert_array_equal(batch.targets[..., 0].numpy(), [[4.0, 8.0], [2.0, 0.0]])
    assert batch.label_names == ["is_fraud", "score"]
    assert not {"is_fraud", "fraud_flag", "score"} & set(batch.payload)
    # Equal lengths and no truncation: labels come out of the no-copy path, same values.
    whole = TransactionDataset(src, None, max_len=None, labels=["score"]).__getitems__([1])
    np.testing.assert_array_equal(whole[0]["labels"].numpy(), [[7.0]])


def test_labels_in_arrays_and_prepadded_collate():
    rng = np.random.default_rng(0)
    n = 40
    user = rng.integers(0, 6, n)
    time = rng.integers(0, 30 * DAY, n)
    label = rng.random(n) < 0.3
    arrays = TransactionArrays.from_arrays(user, time, rng.random(n), extra={"is_fraud": label})
    ds = TransactionDataset(arrays, SPECS, max_len=5, labels=["is_fraud"])
    items = ds.__getitems__([3, 0, 5, 1])
    fast = ds.collate_fn(items)
    slow = ds.collate_fn([{k: v.clone() if torch.is_tensor(v) else v for k, v in it.items()} for it in items])
    torch.testing.assert_close(fast.labels, slow.labels, rtol=0, atol=0)
    for i, u in enumerate(fast.user_ids.tolist()):
        rows = np.flatnonzero(user == u)
        rows = rows[np.argsort(time[rows], kind="stable")][-5:]
        n_u = rows.size
        np.testing.assert_array_equal(fast.labels[i, :n_u, 0].numpy(), label[rows].astype(np.float32))
        assert not fast.labels[i, n_u:].any()


# --- errors ---


def test_label_errors(world):
    src = {"user_id": [1, 1], "timestamp": [0, 60], "amount": [1.0, 2.0], "is_fraud": [False, True]}
    with pytest.raises(
        InputError, match="label 'is_fraud' reads column 'is_fraud', which is also extra feature"
    ):
        TransactionDataset(src, None, labels=["is_fraud"], extra_features=["is_fraud"])
    with pytest.raises(InputError, match=r"which is also extra feature 'f'.*remove it from extra_features"):
        TransactionDataset(src, None, columns={"f": "is_fraud"}, labels=["is_fraud"], extra_features=["f"])
    with pytest.raises(
        InputError, match="label 'amount' reads column 'amount', which is also the amount column"
    ):
        TransactionDataset(src, None, labels=["amount"])
    with pytest.raises(InputError, match="labels lists 'is_fraud' twice"):
        TransactionDataset(src, None, labels=["is_fraud", "is_fraud"])
    with pytest.raises(InputError, match=r"labels is 'is_fraud'; pass a list of column names"):
        TransactionDataset(src, None, labels="is_fraud")
    with pytest.raises(InputError, match=r"extra_features is 'is_fraud'; pass a list"):
        TransactionDataset(src, None, extra_features="is_fraud")
    with pytest.raises(
        InputError, match=r"the source dict has no 'chargeback' array \(label 'chargeback'; keys"
    ):
        TransactionDataset(src, None, labels=["chargeback"])
    arrays = TransactionArrays.from_arrays(np.array([1]), np.array([0]), np.array([1.0]))
    with pytest.raises(
        InputError, match=r"column 'is_fraud' \(label 'is_fraud'\) is not in the source's extra"
    ):
        TransactionDataset(arrays, None, labels=["is_fraud"])
    with pytest.raises(InputError) as err:
        TransactionDataset(world, None, labels=["chargeback"])
    msg = str(err.value)
    assert "has no column 'chargeback' (label 'chargeback'; its columns: user_id, card_id" in msg
    assert "is_fraud" in msg
    assert "columns={'chargeback': <column name>}" in msg
    assert "extra_columns" not in msg


def test_parquet_hints_speak_dataset_keywords(world, tmp_path):
    # read_transactions' own hints (time_col=, mcc_col=None, extra_columns) are not TransactionDataset's.
    with pytest.raises(InputError) as err:
        TransactionDataset(world, None, columns={"timestamp": "ts"})
    assert "has no column 'ts' (the timestamp column" in str(err.value)
    assert "columns={'timestamp': <column name>}" in str(err.value)
    assert "time_col" not in str(err.value)
    with pytest.raises(InputError, match=r"value column 'bal' of the target specs.*columns=\{'bal'"):
        TransactionDataset(world, [TargetSpec(name="b", agg="max", value="bal", window="all", mode="full")])
    mcc_spec = [TargetSpec(name="g", agg="count", mcc=[5411], window="all", mode="full")]
    with pytest.raises(InputError, match=r"no column 'merchant_cc' \(the mcc column the target specs filter"):
        TransactionDataset(world, mcc_spec, columns={"mcc": "merchant_cc"})
    table = pq.read_table(world / "transactions", columns=["user_id", "timestamp", "amount", "mcc"])
    pq.write_table(table, tmp_path / "a.parquet")
    pq.write_table(table.drop(["mcc"]), tmp_path / "b.parquet")
    with pytest.raises(InputError) as err:
        TransactionDataset(tmp_path, None)
    assert "b.parquet' has no column 'mcc' but other files do" in str(err.value)
    assert "mcc_col" not in str(err.value)


# --- PaddedBatch ---


def test_padded_batch_carries_labels():
    items = [
        {"x": torch.tensor([1.0, 2.0]), "labels": torch.tensor([[1.0], [0.0]]), "length": 2},
        {"x": torch.tensor([3.0]), "labels": torch.tensor([[1.0]]), "length": 1, "label_names": ("y",)},
    ]
    items[0]["label_names"] = ("y",)
    batch = collate_padded(items)
    assert set(batch.payload) == {"x"}
    assert batch.labels.tolist() == [[[1.0], [0.0]], [[1.0], [0.0]]]
    assert batch.label_names == ["y"]
    moved = batch.to("meta")
    assert moved.labels.device.type == "meta"
    assert moved.labels.shape == (2, 2, 1)
    assert moved.label_names == ["y"]
    plain = collate_padded([{"x": torch.zeros(2), "length": 2}])
    assert plain.labels is None
    assert plain.label_names == []
