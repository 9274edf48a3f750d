"""Train/test splits of PD samples: by time (with a gap, so no training label looks into the test period)
or by account (a seeded hash of account_id, so an account's dates stay together)."""

from __future__ import annotations

import numpy as np

from cardworld.errors import FIX, Fix, InputError
from cardworld.labels.observation import day_text

SPLITS = ("time", "account")

_MORE_TRAIN = Fix(
    "pass a later test_from (or a smaller test_share), or a smaller horizon_months",
    "pass a later --test-from (or a smaller --test-share), or a smaller --horizon-months",
)
_MORE_TEST = Fix("pass an earlier test_from", "pass an earlier --test-from")


def default_test_start(d: np.ndarray, test_share: float) -> int:
    """The observation date from which about `test_share` of the distinct dates in `d` are test dates."""
    distinct = np.unique(d)
    if distinct.size < 2:
        raise InputError(
            f"no time split: all PD samples fall on one observation date ({day_text(distinct[0])}), so "
            f"none can be both earlier and later than another; {FIX}",
            fix=Fix(
                "pass split='account', or more dates (a longer world or a smaller horizon_months)",
                "pass --split account, or more dates (a longer world or a smaller --horizon-months)",
            ),
        )
    n_test = min(distinct.size - 1, max(1, round(test_share * distinct.size)))
    return int(distinct[-n_test])


def time_split(
    d: np.ndarray, end: np.ndarray, start: int | None, test_share: float, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """(keep, is_test) per sample: test from `start` on, train when its window `end` is before `start`."""
    if start is None:
        start = default_test_start(d, test_share)
    is_test = d >= start
    train = end < start
    if not train.any():
        raise InputError(
            f"no training samples: every label window of {horizon} months from an observation date before "
            f"the test start {day_text(start)} ends on or after it (the gap between train and test), and the "
            f"first observation date with samples is {day_text(d.min())}; {FIX}",
            fix=_MORE_TRAIN,
        )
    if not is_test.any():
        raise InputError(
            f"no test samples: the test start {day_text(start)} is after the last observation date with a "
            f"known label ({day_text(d.max())}); {FIX}",
            fix=_MORE_TEST,
        )
    return train | is_test, is_test


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def account_hash(account_id: np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per account id, fixed by (account_id, seed) alone."""
    key = _mix(np.array([seed], dtype=np.int64).view(np.uint64))
    ids = np.ascontiguousarray(account_id, dtype=np.int64).view(np.uint64)
    return (_mix(ids ^ key) >> np.uint64(11)).astype(np.float64) / float(2**53)


def account_split(account_id: np.ndarray, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(keep, is_test) per sample: an account is test when its hash is below `test_share`; all kept."""
    is_test = account_hash(account_id, seed) < test_share
    n = np.unique(account_id).size
    for empty, what in ((~is_test, "training"), (is_test, "test")):
        if not empty.any():
            raise InputError(
                f"no {what} samples: the account split put all {n} accounts with samples on one side; {FIX}",
                fix=Fix("pass another seed or test_share", "pass another --seed or --test-share"),
            )
    return np.ones(account_id.size, dtype=bool), is_test


__all__ = ["SPLITS", "account_hash", "account_split", "default_test_start", "time_split"]
