"""The per-process target buffer (compute_targets_batch(out=)): reused across batches, grown when needed,
never aliased by a batch (a batch stays intact after the next one is made), not pickled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from cardworld.bench.suites import SUITE_20
from cardworld.sequences import TransactionDataset
from cardworld.sequences.scratch import Scratch

DAY = 86400
JAN_2024 = 19723 * DAY


def _data(lens: list[int], seed: int = 0) -> dict[str, np.ndarray]:
    """Users 0.. with the given row counts over 90 days, each user's rows in time order."""
    rng = np.random.default_rng(seed)
    user = np.repeat(np.arange(len(lens)), lens)
    n = user.size
    time = JAN_2024 + rng.integers(0, 90 * DAY, n)
    order = np.lexsort((time, user))
    return {
        "user_id": user,
        "timestamp": time[order],
        "amount": np.round(rng.lognormal(3, 1, n), 2),
        "mcc": rng.choice(np.array([5411, 5812, 5541], np.int16), n),
    }


def _tensors(batch) -> dict[str, torch.Tensor]:
    out = {"targets": batch.targets, **batch.payload}
    if batch.target_positions is not None:
        out["target_positions"] = batch.target_positions
    return out


def _buffer(ds: TransactionDataset) -> np.ndarray | None:
    return getattr(ds._scratch._local, "buf", None)


CASES = {
    # name: (user lengths, max_len, target_positions); two batches of users 0-2 and 3-5
    "dense, truncated and padded": ([30, 5, 17, 40, 8, 25], 12, None),
    "dense, whole (equal lengths, no truncation)": ([20] * 6, None, None),
    "sparse, padded": ([30, 5, 17, 40, 8, 25], None, "every:4"),
    "sparse, as many positions each": ([30, 35, 40, 31, 38, 33], None, "random:7"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_batch_is_unchanged_after_the_next_one(case):
    lens, max_len, positions = CASES[case]
    ds = TransactionDataset(_data(lens), SUITE_20, max_len=max_len, target_positions=positions)
    first = ds.collate_fn(ds.__getitems__([0, 1, 2]))
    kept = {k: v.clone() for k, v in _tensors(first).items()}
    second = ds.collate_fn(ds.__getitems__([3, 4, 5]))
    assert not torch.equal(first.targets[..., :3], second.targets[..., :3])  # other users, other values
    for k, v in _tensors(first).items():
        torch.testing.assert_close(v, kept[k], rtol=0, atol=0, msg=f"{k} was overwritten by the next batch")
    buf = _buffer(ds)
    if buf is not None:  # the batch tensors never share memory with the buffer
        for batch in (first, second):
            for k, v in _tensors(batch).items():
                assert not np.shares_memory(v.numpy(), buf), k


def test_the_buffer_is_reused_and_grown():
    ds = TransactionDataset(_data([30, 5, 17, 40, 8, 25, 90]), SUITE_20, max_len=12)
    k = len(ds.target_names)
    ds.__getitems__([0, 1, 2])  # 12 + 5 + 12 kept rows: targets are evaluated there only
    buf = _buffer(ds)
    assert buf is not None
    assert buf.size == 29 * k
    ds.__getitems__([3, 4])  # 20 rows: the same buffer
    assert _buffer(ds) is buf
    ds.__getitems__([6, 5, 3])  # 36 rows: grown
    assert _buffer(ds).size >= 36 * k
    sparse = TransactionDataset(_data([30, 5, 17]), SUITE_20, max_len=None, target_positions="every:2")
    sparse.__getitems__([0, 1, 2])  # 15 + 3 + 9 positions
    assert sparse._scratch.capacity == 27 * k
    assert pickle.loads(pickle.dumps(ds))._scratch.capacity == 0  # a worker starts with its own


def test_whole_batches_are_computed_straight_into_the_batch():
    # Equal lengths and no truncation: the batch tensor is the only memory written, no buffer needed.
    ds = TransactionDataset(_data([20] * 4), SUITE_20, max_len=None)
    dense = ds.collate_fn(ds.__getitems__([0, 1, 2, 3]))
    assert ds._scratch.capacity == 0
    ref = TransactionDataset(_data([20] * 4), SUITE_20, max_len=None)
    for u in range(4):
        torch.testing.assert_close(dense.targets[u], ref[u]["targets"], rtol=0, atol=0)


def test_scratch_views_are_writeable_c_contiguous_float32():
    s = Scratch()
    a = s.get(3, 4)
    assert a.shape == (3, 4)
    assert a.dtype == np.float32
    assert a.flags.c_contiguous
    assert a.flags.writeable
    assert s.get(2, 5).base is a.base  # fits: the same memory
    assert s.get(0, 7).shape == (0, 7)
    assert s.capacity == 12
    s.get(5, 4)
    assert s.capacity == 20
    s.get(5, 5)
    assert s.capacity == 30  # grown geometrically (1.5x), at least to the request
