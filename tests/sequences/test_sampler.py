"""BlockBatchSampler: every item once per epoch, batches from few blocks, one stream per DataLoader worker
interleaved round-robin, reproducible epochs; checked on hand-made blocks."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.errors import InputError
from cardworld.sequences.sampler import BlockBatchSampler

# 18 items in 4 blocks of 5, 3, 4 and 6 items (block b of item i: BLOCKS[i])
BLOCKS = np.array([0] * 5 + [1] * 3 + [2] * 4 + [3] * 6)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("num_workers", [0, 2, 3])
@pytest.mark.parametrize("window", [1, 2, 8])
def test_every_item_once_per_epoch_and_len_counts_the_batches(shuffle, num_workers, window):
    sampler = BlockBatchSampler(BLOCKS, 4, shuffle=shuffle, window=window, num_workers=num_workers)
    for _ in range(2):
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert sorted(i for b in batches for i in b) == list(range(BLOCKS.size))
        assert all(1 <= len(b) <= 4 for b in batches)


def test_in_order_without_shuffle():
    batches = list(BlockBatchSampler(BLOCKS, 4, shuffle=False, window=1))
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15], [16, 17]]
    # blocks need not be sorted or numbered from 0: items are grouped by block, in index order within one
    batches = list(BlockBatchSampler(np.array([7, 3, 7, 3]), 2, shuffle=False))
    assert batches == [[1, 3], [0, 2]]


def test_a_batch_draws_from_its_window_and_the_carry_only():
    # a batch holds items of the current window of blocks and the previous window's remainder
    sampler = BlockBatchSampler(BLOCKS, 3, seed=4, window=1)
    for batch in sampler:
        assert len(set(BLOCKS[batch].tolist())) <= 2
    for batch in BlockBatchSampler(np.repeat(np.arange(50), 6), 6, seed=1, window=1):
        assert len(set(np.repeat(np.arange(50), 6)[batch].tolist())) == 1  # blocks of one batch each


def test_epochs_are_reproducible_and_differ():
    a = BlockBatchSampler(BLOCKS, 4, seed=1)
    first, second = list(a), list(a)
    assert first != second  # the epoch counts the passes
    b = BlockBatchSampler(BLOCKS, 4, seed=1)
    assert list(b) == first
    b.set_epoch(1)
    assert list(b) == second
    assert list(BlockBatchSampler(BLOCKS, 4, seed=2)) != first


def test_streams_split_the_blocks_and_alternate_as_dataloader_workers_do():
    # two streams of about equal size: blocks {0, 1} (8 items) and {2, 3} (10 items)
    batches = list(BlockBatchSampler(BLOCKS, 2, seed=3, num_workers=2))
    first, second = set(range(8)), set(range(8, 18))
    assert len(batches) == 4 + 5
    for k, batch in enumerate(batches[:8]):  # batch k goes to worker k % 2
        assert set(batch) <= (first if k % 2 == 0 else second)
    assert set(batches[8]) <= second  # the longer stream's last batch


def test_drop_last_drops_each_streams_partial_batch():
    sampler = BlockBatchSampler(BLOCKS, 4, drop_last=True, num_workers=2)  # streams of 8 and 10 items
    batches = list(sampler)
    assert len(batches) == len(sampler) == 2 + 2
    assert all(len(b) == 4 for b in batches)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size is 0; pass an integer of at least 1"),
        ({"batch_size": 2.5}, "batch_size is 2.5"),
        ({"batch_size": 2, "window": 0}, "window is 0"),
        ({"batch_size": 2, "num_workers": -1}, "num_workers is -1; pass an integer of at least 0"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        BlockBatchSampler(BLOCKS, **kwargs)


def test_no_items_no_batches():
    sampler = BlockBatchSampler(np.zeros(0, np.int64), 4)
    assert list(sampler) == []
    assert len(sampler) == 0
