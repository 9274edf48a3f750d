"""A built-in sample of transactions (no world needed): users x transactions over about two years, skewed
MCCs, lognormal amounts, refunds. ``cardworld targets demo`` shows targets on it and the benchmarks time
the targets engine on it.

    data = make_sample_data(users=3, txns=400, seed=0)

Deterministic per (seed, user): each user draws from its own stream (``Stream.SAMPLE``), so any subset of
users is the same whatever else is generated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.dates import SECONDS_PER_DAY
from cardworld.rng import Stream, stream

# About 100 MCCs with a Zipf-like frequency; the suite's codes are placed among the frequent ones.
_SUITE_MCCS = [5411, 5499, 5541, 5812, 5912, 4829, 4784, 5300, 4121, 7538, 5814, 5542, 6513, 4511, 7011,
               5310, 5311, 5651, 5732, 5942, 5999, 7832, 5211, 4900, 8011]  # fmt: skip
_EXTRA_MCCS = [c for c in range(3000, 9999, 97) if c not in _SUITE_MCCS][: 100 - len(_SUITE_MCCS)]
SAMPLE_MCCS = np.array(_SUITE_MCCS + _EXTRA_MCCS, dtype=np.int16)
_MCC_P = 1.0 / np.arange(1, SAMPLE_MCCS.size + 1) ** 1.1
_MCC_P /= _MCC_P.sum()

START = np.datetime64("2018-01-01T00:00:00", "s").astype(np.int64)
SPAN_SECONDS = 730 * SECONDS_PER_DAY


@dataclass(frozen=True)
class SampleData:
    """Transactions grouped by user: user u's rows are offsets[u]:offsets[u + 1], sorted by time."""

    user_id: np.ndarray  # int32 (n,)
    time: np.ndarray  # int64 seconds (n,), sorted within each user
    amount: np.ndarray  # float64 dollars, 2 decimals, ~5% refunds
    mcc: np.ndarray  # int16
    offsets: np.ndarray  # int64 (users + 1,)

    @property
    def n_users(self) -> int:
        return self.offsets.size - 1

    def user(self, u: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b = self.offsets[u], self.offsets[u + 1]
        return self.time[a:b], self.amount[a:b], self.mcc[a:b]

    def subset(self, n_users: int) -> SampleData:
        """The first n_users users (all of them when there are fewer)."""
        n_users = min(n_users, self.n_users)
        end = self.offsets[n_users]
        return SampleData(
            self.user_id[:end],
            self.time[:end],
            self.amount[:end],
            self.mcc[:end],
            self.offsets[: n_users + 1],
        )


def make_sample_data(users: int = 2000, txns: int = 4096, seed: int = 0) -> SampleData:
    """`users` users with `txns` transactions each, minute-resolution times over ~2 years."""
    n = users * txns
    time = np.empty(n, dtype=np.int64)
    amount = np.empty(n, dtype=np.float64)
    mcc = np.empty(n, dtype=np.int16)
    for u in range(users):
        rng = stream(seed, Stream.SAMPLE, u)
        sl = slice(u * txns, (u + 1) * txns)
        minutes = np.sort(rng.integers(0, SPAN_SECONDS // 60, size=txns))
        time[sl] = START + 60 * minutes
        level = rng.lognormal(3.2, 0.4)  # personal spending level
        amt = np.round(rng.lognormal(np.log(level), 0.9, size=txns), 2)
        refund = rng.random(txns) < 0.05
        amt[refund] = -np.minimum(amt[refund], 500.0)
        amount[sl] = amt
        mcc[sl] = rng.choice(SAMPLE_MCCS, size=txns, p=_MCC_P)
    offsets = np.arange(users + 1, dtype=np.int64) * txns
    user_id = np.repeat(np.arange(users, dtype=np.int32), txns)
    return SampleData(user_id, time, amount, mcc, offsets)


__all__ = ["SAMPLE_MCCS", "SampleData", "make_sample_data"]
