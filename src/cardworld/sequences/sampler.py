"""Block-shuffled batches: random enough for training, cheap to read from user-aligned row groups.

    sampler = ds.batch_sampler(64, shuffle=True, seed=0, num_workers=2)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=2, collate_fn=ds.collate_fn)

Each item belongs to a block (the row group holding its user). The blocks are split into one stream per
DataLoader worker (contiguous runs of blocks with about equal numbers of items); each epoch a stream
visits its blocks in a random order, `window` blocks at a time, and cuts the shuffled items of a window
(plus the previous window's remainder) into batches. Streams are interleaved round-robin, which is how a
DataLoader hands batches to its workers, so each worker reads only its own stream's row groups, a few
at a time, and its cache serves the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from cardworld.errors import InputError


def _positive(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(f"{name} is {value!r}; pass an integer of at least {minimum}")
    return int(value)


class BlockBatchSampler:
    """Batches of item indices for DataLoader(batch_sampler=...); see the module doc.

    blocks: the block of each item (any integers). `shuffle=False` gives the items in order, block by
    block (streams interleaved). `seed` and the epoch fix the order: epoch e of seed s is always the same;
    the epoch counts the passes (`iter`) unless set_epoch sets it.
    """

    def __init__(
        self,
        blocks: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        window: int = 4,
        num_workers: int = 0,
    ) -> None:
        self.batch_size = _positive("batch_size", batch_size)
        self.window = _positive("window", window)
        streams = max(1, _positive("num_workers", num_workers, 0))
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        blocks = np.asarray(blocks).reshape(-1)
        order = np.argsort(blocks, kind="stable")  # items grouped by block, in index order within one
        ids, starts = np.unique(blocks[order], return_index=True)
        self._blocks = np.split(order, starts[1:]) if ids.size else []
        self._streams = _split(np.array([b.size for b in self._blocks], dtype=np.int64), streams)

    def set_epoch(self, epoch: int) -> None:
        """Fix the next pass's order (as DistributedSampler.set_epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = 0
        for stream in self._streams:
            items = sum(self._blocks[b].size for b in stream)
            n += items // self.batch_size if self.drop_last else -(-items // self.batch_size)
        return n

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, self.epoch])))
        self.epoch += 1
        gens = [self._batches(stream, rng) for stream in self._streams]
        while gens:  # round-robin, as a DataLoader assigns batches to its workers
            for gen in list(gens):
                batch = next(gen, None)
                if batch is None:
                    gens.remove(gen)
                else:
                    yield batch

    def _batches(self, stream: list[int], rng: np.random.Generator) -> Iterator[list[int]]:
        blocks = [stream[i] for i in rng.permutation(len(stream))] if self.shuffle else list(stream)
        carry = np.zeros(0, dtype=np.int64)
        for w in range(0, len(blocks), self.window):
            items = np.concatenate([self._blocks[b] for b in blocks[w : w + self.window]])
            if self.shuffle:
                items = rng.permutation(items)
            items = np.concatenate([carry, items])
            full = items.size // self.batch_size * self.batch_size
            for i in range(0, full, self.batch_size):
                yield items[i : i + self.batch_size].tolist()
            carry = items[full:]
        if carry.size and not self.drop_last:
            yield carry.tolist()


def _split(sizes: np.ndarray, n: int) -> list[list[int]]:
    """Block numbers 0..len(sizes)-1 in at most n contiguous runs of about equal total size."""
    if sizes.size == 0:
        return []
    ends = np.cumsum(sizes)
    cuts = []
    for k in range(1, min(n, sizes.size)):
        target = ends[-1] * k / n
        c = int(np.searchsorted(ends, target))  # the first block whose end reaches the target
        cuts.append(c if c > 0 and target - ends[c - 1] <= ends[c] - target else c + 1)  # the nearer end
    cuts = sorted(set(c for c in cuts if 0 < c < sizes.size))
    return [run.tolist() for run in np.split(np.arange(sizes.size), cuts)]


__all__ = ["BlockBatchSampler"]
