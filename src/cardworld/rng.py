"""The one RNG discipline: every random draw comes from a stream addressed by (seed, kind, entity ids).

    rng = stream(seed, Stream.CONSUMER, user_id)          # everything about consumer 7 ...
    rng = stream(seed, Stream.MERCHANT_CELL, cell, mcc)   # ... or one merchant cell

Streams are keyed by the entity, never by the worker or shard, so a consumer's data is the same whatever
the number of workers, the shard size or the run order (numpy calls `seed + worker_id` unsafe).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """The first spawn-key word: what kind of entity a stream belongs to."""

    POPULATION = 1  # the consumer population as a whole (ZIP, attributes via the copula)
    CONSUMER = 2  # one consumer's tastes and daily life
    CARDS = 3  # one consumer's cards and accounts
    MERCHANT_CELL = 4  # the merchants of one (place, MCC) cell
    FRAUDSTER = 5  # one fraudster's traits (home, goods, schedule, active period)
    SEGMENT = 6  # what-if over-sampling
    VICTIM = 7  # one consumer's exposure to fraud: which purchases leak their card, how soon they notice
    EPISODE = 8  # one fraud episode on one card (keyed by consumer, card index and the leak's time)
    REISSUE = 9  # the numbers of one consumer's cards replaced after fraud
    CREDIT = 10  # one consumer's life events, spending in distress and monthly payments (the credit cycle)
    SAMPLE = 0xBE7C  # one user of the built-in sample transactions (cardworld.sample: demo, benchmarks)
    TARGET_POSITIONS = (
        0x7A95  # one item's random target rows (TransactionDataset(target_positions="random:K"))
    )


def stream(seed: int, kind: Stream, *ids: int) -> np.random.Generator:
    """A Generator for one entity: SeedSequence(seed, spawn_key=(kind, *ids)) with PCG64."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(int(kind), *ids))))


__all__ = ["Stream", "stream"]
