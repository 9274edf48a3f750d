"""TransactionDataset(target_positions=...): sparse targets. Each kind of position against a hand-written
loop, targets equal to the dense dataset's at those rows and to the naive reference, with max_len and
samples, random positions reproducible across datasets, pickling and workers, the padded batch, and the
errors."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch.utils.data import DataLoader

from cardworld.bench.suites import SUITE_20
from cardworld.errors import InputError
from cardworld.sequences import PaddedBatch, TransactionDataset, collate_padded
from cardworld.targets import TargetSpec, output_names
from cardworld.targets.reference import reference_targets

DAY = 86400
JAN_2024 = 19723 * DAY  # 2024-01-01T00:00:00, a Monday
MCCS = np.array([5411, 5912, 5812, 5541, 4511], dtype=np.int16)
SPECS = [  # a few window kinds, small enough for the naive reference
    TargetSpec(name="day_sum", agg="sum", window="day", mode="expanding"),
    TargetSpec(name="month_count", agg="count", window="month", mode="full"),
    TargetSpec(name="next_week", agg="max", window="7d", mode="leading"),
    TargetSpec(name="last10_grocery", agg="mean", mcc=[5411], window="10tx", mode="trailing"),
]
N_OUT = len(output_names(SUITE_20))  # top_k specs have several outputs
UNITS = ("day", "week", "month", "quarter", "year")


def _make_data(n_users: int, max_rows: int, seed: int) -> dict[str, np.ndarray]:
    """Users 100.. with 1..max_rows rows over ~8 months (ties included), rows shuffled across users."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(1, max_rows + 1, n_users)
    lens[0] = 1
    user = np.repeat(np.arange(100, 100 + n_users), lens)
    n = user.size
    time = JAN_2024 - 100 * DAY + rng.integers(0, 240 * DAY, n) // 3600 * 3600
    amount = np.round(rng.lognormal(3, 1, n), 2)
    order = rng.permutation(n)
    return {
        "user_id": user[order],
        "timestamp": time[order],
        "amount": amount[order],
        "mcc": rng.choice(MCCS, n)[order],
    }


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return _make_data(n_users=12, max_rows=60, seed=11)


def _user_rows(data, uid: int) -> dict[str, np.ndarray]:
    rows = np.flatnonzero(data["user_id"] == uid)
    rows = rows[np.argsort(data["timestamp"][rows], kind="stable")]
    return {k: v[rows] for k, v in data.items()}


def _period(t: int, unit: str) -> tuple[int, ...]:
    d = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=int(t))
    iso = d.isocalendar()
    return {
        "day": (d.year, d.month, d.day),
        "week": (iso.year, iso.week),
        "month": (d.year, d.month),
        "quarter": (d.year, (d.month - 1) // 3),
        "year": (d.year,),
    }[unit]


def _naive_period_ends(t_full: np.ndarray, first: int, stop: int, unit: str) -> list[int]:
    """Kept rows first..stop-1 (of the full history t_full) that end a calendar period, kept-relative."""
    out = []
    for i in range(first, stop):
        if i == t_full.size - 1 or _period(t_full[i + 1], unit) != _period(t_full[i], unit):
            out.append(i - first)
    return out


def _naive_every(n: int, step: int) -> list[int]:
    out = []
    i = n - 1
    while i >= 0:
        out.append(i)
        i -= step
    return out[::-1]


def _afternoons(time: np.ndarray, length: int) -> np.ndarray:
    """A callable's positions: rows at or after noon (module level: picklable)."""
    assert time.shape == (length,)
    assert time.dtype == np.int64
    return np.flatnonzero(time % DAY >= 12 * 3600)[::-1]  # unsorted on purpose: the dataset sorts


def _naive_afternoons(t_kept: np.ndarray) -> list[int]:
    return [j for j, x in enumerate(t_kept.tolist()) if x % DAY >= 43200]


def _expected_positions(spec, t_full: np.ndarray, keep: int) -> list[int]:
    first = t_full.size - keep
    if spec.startswith("period_end:"):
        return _naive_period_ends(t_full, first, t_full.size, spec.split(":")[1])
    if spec.startswith("every:"):
        return _naive_every(keep, int(spec.split(":")[1]))
    return _naive_afternoons(t_full[first:])


# --- positions and values ---


@pytest.mark.parametrize("max_len", [None, 13])
@pytest.mark.parametrize(
    "spec", [*(f"period_end:{u}" for u in UNITS), "every:1", "every:4", "every:100", _afternoons]
)
def test_positions_and_targets_equal_naive_and_dense(data, spec, max_len):
    sparse = TransactionDataset(data, SUITE_20, max_len=max_len, target_positions=spec)
    dense = TransactionDataset(data, SUITE_20, max_len=max_len)
    assert sparse.sparse
    assert not dense.sparse
    order = [3, 0, 11, 5, 5, 7]  # not consecutive, with a repeat
    items, dense_items = sparse.__getitems__(order), dense.__getitems__(order)
    for item, full in zip(items, dense_items, strict=True):
        rows = _user_rows(data, int(item["user_id"]))
        keep = int(item["length"])
        assert keep == (rows["timestamp"].size if max_len is None else min(max_len, rows["timestamp"].size))
        want = _expected_positions(spec if isinstance(spec, str) else "callable", rows["timestamp"], keep)
        pos = item["target_positions"]
        assert pos.dtype == torch.int64
        assert pos.tolist() == want
        assert item["targets"].shape == (len(want), N_OUT)
        # Exactly the dense dataset's targets at those rows (the same engine, evaluated sparsely).
        torch.testing.assert_close(item["targets"], full["targets"][pos], rtol=0, atol=0)
        torch.testing.assert_close(item["amount"], full["amount"], rtol=0, atol=0)  # payload as dense


@pytest.mark.parametrize("spec", ["period_end:month", "every:3", "random:5", _afternoons])
def test_targets_equal_the_naive_reference_on_the_full_history(data, spec):
    ds = TransactionDataset(data, SPECS, max_len=10, target_positions=spec)
    for item in ds.__getitems__(range(len(ds))):
        rows = _user_rows(data, int(item["user_id"]))
        ref = reference_targets(SPECS, time=rows["timestamp"], amount=rows["amount"], mcc=rows["mcc"])
        first = rows["timestamp"].size - int(item["length"])
        np.testing.assert_allclose(
            item["targets"].numpy(), ref[first + item["target_positions"].numpy()], rtol=1e-5, atol=1e-4
        )


def test_every_counts_from_the_end_by_hand():
    t = JAN_2024 + np.arange(7) * 3600
    src = {"user_id": np.zeros(7, np.int64), "timestamp": t, "amount": np.arange(1.0, 8.0)}
    spec = [TargetSpec(name="running", agg="sum", window="all", mode="expanding")]
    item = TransactionDataset(src, spec, max_len=None, target_positions="every:3")[0]
    assert item["target_positions"].tolist() == [0, 3, 6]  # 6 = the last row, then every third back
    assert item["targets"][:, 0].tolist() == [1.0, 10.0, 28.0]
    cut = TransactionDataset(src, spec, max_len=5, target_positions="every:3")[0]  # kept rows 2..6
    assert cut["target_positions"].tolist() == [1, 4]  # rows 3 and 6 of the history
    assert cut["targets"][:, 0].tolist() == [10.0, 28.0]  # the expanding sum still sees rows 0 and 1


def test_random_positions_are_distinct_sorted_and_reproducible(data):
    ds = TransactionDataset(data, SUITE_20[:3], max_len=None, target_positions="random:6", positions_seed=3)
    lens = [int(it["length"]) for it in ds.__getitems__(range(len(ds)))]
    assert min(lens) < 6 < max(lens)  # both kinds of item below
    first = {int(it["user_id"]): it["target_positions"].tolist() for it in ds.__getitems__(range(len(ds)))}
    for u, pos in first.items():
        n = _user_rows(data, u)["timestamp"].size
        if n <= 6:
            assert pos == list(range(n))
        else:
            assert len(pos) == 6
            assert pos == sorted(set(pos))
            assert pos[0] >= 0
            assert pos[-1] < n
    # The same item gives the same positions whatever the batch, a fresh dataset, or a pickled one.
    again = TransactionDataset(
        data, SUITE_20[:3], max_len=None, target_positions="random:6", positions_seed=3
    )
    copy = pickle.loads(pickle.dumps(ds))
    for other, order in ((again, [7, 2]), (copy, [11, 0, 7]), (ds, [7])):
        for it in other.__getitems__(order):
            assert it["target_positions"].tolist() == first[int(it["user_id"])]
    # Another seed, or another epoch, draws others; going back to epoch 0 gives the first ones again.
    long_users = [u for u in range(len(ds)) if lens[u] > 12]
    seeded = TransactionDataset(data, None, max_len=None, target_positions="random:6", positions_seed=4)
    assert any(seeded[u]["target_positions"].tolist() != first[100 + u] for u in long_users)
    ds.epoch = 1
    assert any(ds[u]["target_positions"].tolist() != first[100 + u] for u in long_users)
    ds.epoch = 0
    assert all(ds[u]["target_positions"].tolist() == first[100 + u] for u in long_users)


def test_random_positions_cover_the_rows_evenly():
    # 400 users of 10 rows, 3 positions each: every row is drawn 120 times in expectation.
    n_users, n = 400, 10
    src = {
        "user_id": np.repeat(np.arange(n_users), n),
        "timestamp": np.tile(JAN_2024 + np.arange(n) * 60, n_users),
        "amount": np.ones(n_users * n),
    }
    ds = TransactionDataset(src, None, max_len=None, target_positions="random:3")
    counts = np.zeros(n)
    for it in ds.__getitems__(range(n_users)):
        counts[it["target_positions"].numpy()] += 1
    assert counts.sum() == 3 * n_users
    assert np.abs(counts - 120).max() < 45  # ~4 standard deviations (binomial, p = 0.3)


def test_period_ends_see_the_full_history_over_samples():
    # Rows on Jan 5, Jan 20 and Feb 3. Cut at Jan 25: Jan 20 ends January (Feb 3 follows), a position;
    # cut at Jan 15: Jan 5 is not the last of January in the user's history, so no position.
    days = [5, 20, 34]
    t = JAN_2024 + (np.array(days) - 1) * DAY + 3600
    src = {"user_id": np.zeros(3, np.int64), "timestamp": t, "amount": [1.0, 2.0, 4.0]}
    samples = pa.table(
        {
            "user_id": [0, 0, 0],
            "obs_date": [dt.date(2024, 1, 25), dt.date(2024, 1, 15), dt.date(2024, 3, 1)],
            "label": [1, 0, 1],
        }
    )
    month = [TargetSpec(name="month_sum", agg="sum", window="month", mode="full")]
    for specs in (month, None):  # without specs too: the rows after the cut are still read
        ds = TransactionDataset(src, specs, samples=samples, target_positions="period_end:month")
        items = ds.__getitems__([0, 1, 2])
        assert [int(it["length"]) for it in items] == [2, 1, 3]
        assert [it["target_positions"].tolist() for it in items] == [[1], [], [1, 2]]
    assert items[0]["targets"].shape == (1, 0)
    ds = TransactionDataset(src, month, samples=samples, target_positions="period_end:month")
    assert [it["targets"][:, 0].tolist() for it in ds.__getitems__([0, 2])] == [[3.0], [3.0, 4.0]]


def test_samples_with_every_and_random(data):
    t0 = (JAN_2024 - 100 * DAY) // DAY
    samples = pa.table(
        {
            "user_id": [101, 104, 104, 104, 109],
            "obs_date": pa.array(np.array([t0 + 120, t0 + 150, t0 + 150, t0 + 200, t0 + 1], np.int32)).cast(
                pa.date32()
            ),
            "label": [0, 1, 1, 0, 1],
        }
    )
    ds = TransactionDataset(data, SPECS, max_len=8, samples=samples, target_positions="every:3")
    for k, item in enumerate(ds.__getitems__(range(5))):
        rows = _user_rows(data, samples["user_id"][k].as_py())
        obs = (samples["obs_date"][k].as_py() - dt.date(1970, 1, 1)).days * DAY
        cut = int(np.searchsorted(rows["timestamp"], obs))
        keep = min(cut, 8)
        assert int(item["length"]) == keep
        assert item["target_positions"].tolist() == _naive_every(keep, 3)
        ref = reference_targets(SPECS, time=rows["timestamp"], amount=rows["amount"], mcc=rows["mcc"])
        rows_at = cut - keep + item["target_positions"].numpy()
        np.testing.assert_allclose(item["targets"].numpy(), ref[rows_at], rtol=1e-5, atol=1e-4)
    assert int(ds[4]["length"]) == 0
    assert ds[4]["target_positions"].numel() == 0
    rnd = TransactionDataset(data, None, max_len=None, samples=samples, target_positions="random:4")
    a, b, c = (rnd[i]["target_positions"].tolist() for i in (1, 2, 3))
    assert a == b  # the same user and obs_date: the same sequence, the same positions
    assert len(c) == 4
    assert c != a


# --- the padded batch ---


def test_collate_pads_positions_and_targets_by_positions(data):
    ds = TransactionDataset(data, SUITE_20, max_len=20, target_positions="every:6")
    items = ds.__getitems__([0, 4, 2])  # user 0 has one row: one position
    counts = [it["target_positions"].numel() for it in items]
    assert counts[0] == 1
    assert max(counts) > 1
    most = max(counts)
    batch = ds.collate_fn(items)
    assert isinstance(batch, PaddedBatch)
    assert batch.target_positions.shape == (3, most)
    assert batch.target_positions.dtype == torch.int64
    assert batch.target_mask.shape == (3, most)
    assert batch.target_mask.dtype == torch.bool
    assert batch.targets.shape == (3, most, N_OUT)
    assert batch.targets.dtype == torch.float32
    assert batch.target_mask.sum(1).tolist() == counts
    assert batch.seq_len_mask.shape == (3, batch.max_len)  # the payload is padded by rows, as dense
    for i, (it, p) in enumerate(zip(items, counts, strict=True)):
        assert batch.target_mask[i].tolist() == [True] * p + [False] * (most - p)
        torch.testing.assert_close(batch.target_positions[i, :p], it["target_positions"], rtol=0, atol=0)
        torch.testing.assert_close(batch.targets[i, :p], it["targets"], rtol=0, atol=0)
        assert not batch.targets[i, p:].any()
        assert not batch.target_positions[i, p:].any()
        # A position indexes the padded payload: the row's amount is there.
        n = int(it["length"])
        assert int(batch.target_positions[i, p - 1]) == n - 1
    # Copied items (not one __getitems__ buffer) collate to the same batch.
    clones = [{k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in it.items()} for it in items]
    slow = collate_padded(clones)
    for name in ("targets", "target_positions", "target_mask"):
        torch.testing.assert_close(getattr(slow, name), getattr(batch, name), rtol=0, atol=0)
    # .to() maps the new tensors too (a dtype shows it on a CPU-only machine).
    moved = batch.to(torch.float64)
    assert moved.target_positions.dtype == moved.target_mask.dtype == torch.float64
    meta = batch.to("meta")
    assert meta.target_positions.device.type == meta.target_mask.device.type == "meta"


def test_dense_layout_is_unchanged(data):
    batch = TransactionDataset(data, SUITE_20, max_len=9).collate_fn(
        TransactionDataset(data, SUITE_20, max_len=9).__getitems__([1, 2, 3])
    )
    assert batch.target_positions is None
    assert batch.target_mask is None
    assert batch.targets.shape == (3, batch.max_len, N_OUT)
    assert "target_positions" not in TransactionDataset(data, SUITE_20)[1]


def test_no_positions_at_all_gives_empty_tensors():
    src = {"user_id": [1, 2], "timestamp": [JAN_2024, JAN_2024 + 5], "amount": [1.0, 2.0]}
    ds = TransactionDataset(src, SPECS[:1], target_positions=lambda t, n: [])
    batch = ds.collate_fn(ds.__getitems__([0, 1]))
    assert batch.target_positions.shape == (2, 0)
    assert batch.targets.shape == (2, 0, 1)
    assert batch.target_mask.shape == (2, 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinning and moving need a CUDA device")
def test_pin_memory_and_to_cuda_move_the_positions(data):
    ds = TransactionDataset(data, SUITE_20, max_len=20, target_positions="every:6")
    batch = ds.collate_fn(ds.__getitems__([0, 4, 2]))
    pinned = batch.pin_memory()
    assert pinned.target_positions.is_pinned()
    assert pinned.target_mask.is_pinned()
    assert pinned.targets.is_pinned()
    cuda = pinned.to("cuda", non_blocking=True)
    assert cuda.target_positions.device.type == cuda.target_mask.device.type == "cuda"
    torch.testing.assert_close(cuda.targets.cpu(), batch.targets, rtol=0, atol=0)


# --- DataLoader workers ---


def _loader_batches(ds, num_workers: int, epoch: int = 0) -> list[PaddedBatch]:
    ds.epoch = epoch
    loader = DataLoader(
        ds,
        batch_size=3,
        num_workers=num_workers,
        collate_fn=ds.collate_fn,
        multiprocessing_context="fork" if num_workers else None,
    )
    return list(loader)


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # machines with fewer cores than workers
@pytest.mark.parametrize("spec", ["random:5", "period_end:week", _afternoons])
def test_fork_workers_match_the_main_process(data, spec):
    ds = TransactionDataset(data, SUITE_20[:8], max_len=15, target_positions=spec)
    main, forked = _loader_batches(ds, 0), _loader_batches(ds, 2)
    assert len(main) == len(forked) == 4
    for a, b in zip(main, forked, strict=True):
        for name in ("targets", "target_positions", "target_mask", "user_ids", "seq_lens"):
            torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0)
    if spec == "random:5":  # workers start from the dataset's epoch
        other = _loader_batches(ds, 2, epoch=5)
        assert any(
            not torch.equal(a.target_positions, b.target_positions) for a, b in zip(main, other, strict=True)
        )
        assert ds.epoch == 5


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.slow
def test_spawned_workers_draw_the_same_random_positions(data):
    # Spawned workers unpickle the dataset in fresh interpreters: positions depend on the item only.
    ds = TransactionDataset(data, SUITE_20[:4], max_len=30, target_positions="random:5", positions_seed=9)
    ds.epoch = 2
    loader = DataLoader(
        ds, batch_size=3, num_workers=2, multiprocessing_context="spawn", collate_fn=ds.collate_fn
    )
    main = _loader_batches(ds, 0, epoch=2)
    spawned = list(loader)
    for a, b in zip(main, spawned, strict=True):
        for name in ("targets", "target_positions", "target_mask", "user_ids"):
            torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0)


# --- errors ---


@pytest.mark.parametrize(
    "spec",
    [
        "every:0",
        "every:-2",
        "random:x",
        "random:1.5",
        "period_end:fortnight",
        "period_end",
        "weekly:3",
        "",
        16,
        True,
        ["every:2"],
    ],
)
def test_bad_target_positions_name_the_argument_and_the_forms(data, spec):
    with pytest.raises(InputError, match=r"target_positions is .*pass 'period_end:<unit>' .*'every:<N>'"):
        TransactionDataset(data, SPECS, target_positions=spec)


def test_spec_strings_are_forgiving_about_case_and_spaces(data):
    a = TransactionDataset(data, None, target_positions=" Period_End : Month ")
    b = TransactionDataset(data, None, target_positions="period_end:month")
    assert a[5]["target_positions"].tolist() == b[5]["target_positions"].tolist()


@pytest.mark.parametrize("seed", [-1, 1.5, "3", None, True])
def test_bad_seeds_and_epochs(data, seed):
    with pytest.raises(InputError, match=r"positions_seed is .*; pass a non-negative whole number"):
        TransactionDataset(data, None, target_positions="random:3", positions_seed=seed)
    ds = TransactionDataset(data, None, target_positions="random:3")
    with pytest.raises(InputError, match=r"epoch is .*; pass a non-negative whole number"):
        ds.epoch = seed


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda t, n: [n], r"callable for user 103 \(length \d+\) returned row \d+, outside 0\.\.\d+"),
        (lambda t, n: [-1], "returned row -1, outside"),
        (lambda t, n: [0, 0], "returned row 0 twice; return distinct rows"),
        (
            lambda t, n: np.ones(n, bool),
            r"returned bool of shape \(\d+,\) \(a boolean mask\? pass np\.flatnonzero",
        ),
        (lambda t, n: [0.0], "returned float64 of shape"),
        (lambda t, n: np.zeros((1, 1), np.int64), r"returned int64 of shape \(1, 1\)"),
        (lambda t, n: 0, r"of shape \(\)"),
    ],
)
def test_bad_callable_output_names_the_item(data, fn, match):
    ds = TransactionDataset(data, None, target_positions=fn)
    with pytest.raises(InputError, match=match):
        ds.__getitems__([3])


def test_a_callable_cannot_change_the_rows(data):
    def scribble(t, n):
        t[:] = 0
        return []

    ds = TransactionDataset(data, None, target_positions=scribble)
    with pytest.raises(ValueError, match="read-only"):
        ds[3]


def test_a_bad_callable_over_samples_names_the_sample(data):
    samples = pa.table({"user_id": [104, 105], "obs_date": [dt.date(2024, 6, 1)] * 2, "label": [0, 1]})
    ds = TransactionDataset(data, None, samples=samples, target_positions=lambda t, n: [n])
    with pytest.raises(InputError, match=r"callable for sample 1 \(user 105\)"):
        ds.__getitems__([1])
