"""TransactionDataset(samples=...): one item per sample row, the history cut at obs_date 00:00 (checked
against plain pyarrow filtering), the label in batch.labels (B, 1) and never in the payload, targets on the
full history cut like the payload, DataLoader workers, and the errors; end to end on a generated world."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from cardworld.errors import InputError
from cardworld.sequences import PaddedBatch, TransactionDataset
from cardworld.targets import TargetSpec
from cardworld.targets.reference import reference_targets

DAY = 86400
T0 = 16436 * DAY  # 2015-01-01T00:00
SPECS = [
    TargetSpec(name="day_sum", agg="sum", window="day", mode="expanding"),
    TargetSpec(name="next_week", agg="count", window="7d", mode="leading"),
]


@pytest.fixture(scope="module")
def tx(tmp_path_factory) -> tuple[pa.Table, str]:
    """Users 10..15 over ~4 months, times on a 10-minute grid; rows at exactly midnight and just before."""
    rng = np.random.default_rng(5)
    n = 900
    user = rng.integers(10, 16, n)
    t = T0 + rng.integers(0, 120 * DAY, n) // 600 * 600
    user[:12] = np.tile(np.arange(10, 16), 2)
    t[:6] = T0 + 40 * DAY  # every user has a row at 2015-02-10T00:00 exactly (cut there: excluded)
    t[6:12] = T0 + 40 * DAY - 60  # and at 23:59 the day before (included), the latest before the cut
    table = pa.table(
        {
            "user_id": pa.array(user, pa.int32()),
            "timestamp": pa.array(t * 1000, pa.timestamp("ms")),
            "amount": np.round(rng.lognormal(3, 1, n), 2),
            "mcc": pa.array(rng.choice([5411, 5812, 5541], n), pa.int16()),
        }
    )
    path = tmp_path_factory.mktemp("tx") / "tx.parquet"
    pq.write_table(table, path)
    return table, str(path)


def _samples(rng: np.random.Generator, n: int) -> pa.Table:
    users = rng.integers(10, 16, n)
    days = 16436 + rng.integers(0, 125, n)  # some after the last row
    days[:4] = 16436 + 40  # 2015-02-10: the cut at the exact-midnight rows
    days[4:6] = 16436  # 2015-01-01: before every row, an empty sequence
    return pa.table(
        {
            "user_id": pa.array(users, pa.int32()),
            "account_id": pa.array(users * 100 + 1, pa.int64()),
            "obs_date": pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32()),
            "label": pa.array(rng.integers(0, 2, n), pa.int8()),
            "split": pa.array(["train"] * n),
        }
    )


def _history(tx: pa.Table, user: int, obs: dt.date) -> pa.Table:
    """The user's rows before obs 00:00 in time order (stable), by pyarrow filtering."""
    cut = pa.scalar(dt.datetime.combine(obs, dt.time()), pa.timestamp("ms"))
    rows = tx.filter(pc.and_(pc.equal(tx["user_id"], user), pc.less(tx["timestamp"], cut)))
    order = np.argsort(rows["timestamp"].cast(pa.int64()).to_numpy(), kind="stable")
    return rows.take(pa.array(order))


def _check_batch(batch: PaddedBatch, tx: pa.Table, samples: pa.Table, max_len: int | None) -> list[int]:
    s = samples.to_pydict()
    assert batch.label_names == ["label"]
    assert batch.labels.shape == (len(batch), 1)
    assert batch.labels.dtype == torch.float32
    assert not {"label", "labels", "obs_date", "account_id", "split"} & set(batch.payload)
    seen = []
    for i in range(len(batch)):
        k = int(batch.sample_indices[i])
        obs = s["obs_date"][k]
        hist = _history(tx, s["user_id"][k], obs)
        n = hist.num_rows if max_len is None else min(hist.num_rows, max_len)
        assert int(batch.seq_lens[i]) == n
        assert int(batch.user_ids[i]) == s["user_id"][k]
        assert int(batch.obs_dates[i]) == (obs - dt.date(1970, 1, 1)).days
        assert float(batch.labels[i, 0]) == s["label"][k]
        want = hist["amount"].to_numpy()[hist.num_rows - n :].astype(np.float32)
        np.testing.assert_array_equal(batch.payload["amount"][i, :n].numpy(), want)
        assert not batch.payload["amount"][i, n:].any()
        seen.append(k)
    return seen


def test_history_cut_at_obs_date(tx):
    table, path = tx
    samples = _samples(np.random.default_rng(0), 60)
    for max_len in (None, 7):
        ds = TransactionDataset(path, None, max_len=max_len, samples=samples)
        assert len(ds) == 60
        assert ds.label_names == ["label"]
        seen = []
        for lo in range(0, 60, 8):
            seen += _check_batch(
                ds.collate_fn(ds.__getitems__(range(lo, min(lo + 8, 60)))), table, samples, max_len
            )
        assert seen == list(range(60))
    lens = [int(ds[i]["length"]) for i in range(60)]
    assert 0 in lens  # a sample before the user's first row: an empty sequence
    # the cut at 2015-02-10 excludes the rows at 00:00 and keeps those at 23:59 the day before
    for i in range(4):
        item = ds[i]
        assert (item["month"][-1], item["day_of_month"][-1], item["hour"][-1]) == (2, 9, 23)


def test_only_empty_sequences(tx):
    _, path = tx
    early = pa.table({"user_id": [10, 11], "obs_date": [dt.date(2014, 1, 1)] * 2, "label": [1, 0]})
    ds = TransactionDataset(path, SPECS, samples=early)
    batch = ds.collate_fn(ds.__getitems__([0, 1]))
    assert batch.seq_lens.tolist() == [0, 0]
    assert batch.payload["amount"].shape == (2, 0)
    assert batch.targets.shape == (2, 0, len(SPECS))
    assert batch.labels.tolist() == [[1.0], [0.0]]
    moved = batch.to("meta")
    assert moved.labels.shape == (2, 1)
    assert moved.obs_dates.device.type == "meta"
    assert moved.sample_indices.device.type == "meta"


def test_targets_on_full_history_cut_like_the_payload(tx):
    table, path = tx
    samples = _samples(np.random.default_rng(1), 20)
    ds = TransactionDataset(path, SPECS, max_len=9, samples=samples)
    t_all = table["timestamp"].cast(pa.int64()).to_numpy() // 1000
    for k in range(20):
        item = ds[k]
        u, obs = samples["user_id"][k].as_py(), samples["obs_date"][k].as_py()
        rows = np.flatnonzero(table["user_id"].to_numpy() == u)
        rows = rows[np.argsort(t_all[rows], kind="stable")]
        t, a = t_all[rows], table["amount"].to_numpy()[rows]
        cut = int(np.searchsorted(t, (obs - dt.date(1970, 1, 1)).days * DAY))
        n = min(cut, 9)
        full = reference_targets(SPECS, time=t, amount=a)  # the leading window sees past the cut
        np.testing.assert_allclose(item["targets"].numpy(), full[cut - n : cut], rtol=1e-5, atol=1e-4)
        assert item["labels"].tolist() == [float(samples["label"][k].as_py())]


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # machines with fewer cores than workers
def test_dataloader_two_workers(tx, tmp_path):
    table, path = tx
    samples = _samples(np.random.default_rng(2), 45)
    file = tmp_path / "samples.parquet"
    pq.write_table(samples, file)
    ds = TransactionDataset(path, SPECS, max_len=16, samples=file)  # both from paths
    loader = DataLoader(ds, batch_size=6, shuffle=True, num_workers=2, collate_fn=ds.collate_fn)
    seen = []
    for batch in loader:
        seen += _check_batch(batch, table, samples, 16)
    assert sorted(seen) == list(range(45))


def test_samples_from_csv_and_table_agree(tx, tmp_path):
    _, path = tx
    samples = _samples(np.random.default_rng(3), 12)
    pacsv.write_csv(samples, tmp_path / "s.csv")
    a = TransactionDataset(path, None, samples=samples)
    b = TransactionDataset(path, None, samples=str(tmp_path / "s.csv"))
    text = samples.set_column(2, "obs_date", samples["obs_date"].cast(pa.string()))
    c = TransactionDataset(path, None, samples=text)
    for k in range(12):
        for other in (b, c):
            for key, v in a[k].items():
                if isinstance(v, torch.Tensor):
                    torch.testing.assert_close(v, other[k][key], rtol=0, atol=0)


def test_sample_errors(tx, tmp_path):
    _, path = tx
    ok = pa.table({"user_id": [10], "obs_date": [dt.date(2015, 3, 1)], "label": [1]})
    with pytest.raises(InputError, match=r"labels=\[\.\.\.\] and samples= do not combine"):
        TransactionDataset(path, None, labels=["is_fraud"], samples=ok)
    stranger = pa.table({"user_id": [10, 99], "obs_date": [dt.date(2015, 3, 1)] * 2, "label": [1, 0]})
    with pytest.raises(InputError, match="the samples table row 1 names user_id 99, who has no transactions"):
        TransactionDataset(path, None, samples=stranger)
    with pytest.raises(InputError, match=r"has no column\(s\) obs_date"):
        TransactionDataset(path, None, samples=ok.drop(["obs_date"]))
    bad_day = pa.table({"user_id": [10, 11], "obs_date": ["2015-03-01", "2015-02-30"], "label": [1, 0]})
    with pytest.raises(InputError, match="obs_date at row 1 is '2015-02-30', not a date"):
        TransactionDataset(path, None, samples=bad_day)
    noon = pa.table(
        {
            "user_id": [10],
            "obs_date": pa.array(np.array(["2015-03-01T12:00"], "datetime64[s]")),
            "label": [1],
        }
    )
    with pytest.raises(InputError, match="obs_date at row 0 is 2015-03-01 12:00:00, a time of day"):
        TransactionDataset(path, None, samples=noon)
    midnight = noon.set_column(1, "obs_date", pa.array(np.array(["2015-03-01"], "datetime64[s]")))
    assert TransactionDataset(path, None, samples=midnight)[0]["obs_date"].item() == 16495
    null_label = pa.table(
        {"user_id": [10], "obs_date": [dt.date(2015, 3, 1)], "label": pa.array([None], pa.int8())}
    )
    with pytest.raises(InputError, match="column 'label' is null at row 0"):
        TransactionDataset(path, None, samples=null_label)
    with pytest.raises(InputError, match=r"neither \.parquet nor \.csv"):
        TransactionDataset(path, None, samples=str(tmp_path / "s.json"))
    with pytest.raises(InputError, match="samples is a list"):
        TransactionDataset(path, None, samples=[1, 2])
    with pytest.raises(IndexError, match="sample index 1 is out of range for a dataset of 1 samples"):
        TransactionDataset(path, None, samples=ok)[1]


@pytest.mark.slow
def test_generated_world_end_to_end(tmp_path):
    """generate -> pd_samples -> TransactionDataset over the world's own transactions."""
    from cardworld.config import load_config
    from cardworld.engine.run import generate
    from cardworld.io.dataset import read_dataset_transactions
    from cardworld.labels import pd_samples

    world = tmp_path / "w"
    generate(load_config(consumers=12, start="2016-01-01", end="2018-06-30", seed=2), world)
    samples = pd_samples(world, horizon_months=6, every_months=3)
    assert samples.num_rows > 0
    train = samples.filter(pc.equal(samples["split"], "train"))
    ds = TransactionDataset(world, None, max_len=64, samples=train)
    assert len(ds) == train.num_rows
    tx = read_dataset_transactions(world, ["user_id", "timestamp", "amount"])
    tx = tx.set_column(1, "timestamp", tx["timestamp"].cast(pa.timestamp("ms")))
    picks = np.linspace(0, len(ds) - 1, min(len(ds), 24)).astype(int).tolist()
    _check_batch(ds.collate_fn(ds.__getitems__(picks)), tx, train, 64)
