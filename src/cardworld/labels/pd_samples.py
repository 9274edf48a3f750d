"""Probability-of-default samples: one row per (credit account, observation date) with a 0/1 label, from a
dataset directory's statements and defaults.

    table = pd_samples("out/world", horizon_months=12)    # user_id, account_id, obs_date, label, split

Vectorised over statement rows (sorts and searchsorted; no Python loop over rows or accounts), so millions
of statements take seconds. The statements are read in chunks of whole accounts (credit_tables.history_chunks),
so memory holds one chunk's statements and the samples found so far, never every statement at once. The
semantics are in `pd_samples`' docstring.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyarrow as pa

from cardworld.errors import FIX, Fix, InputError
from cardworld.labels.credit_tables import (
    CreditHistory,
    check_credit_dataset,
    history_chunks,
    statement_chunks,
)
from cardworld.labels.observation import (
    TEST_FROM_FIX,
    add_months,
    day_text,
    month_starts,
    observation_days,
    to_day,
)
from cardworld.labels.splits import SPLITS, account_split, time_split

DEFAULT_DPD = 90  # days past due that count as default, as charge-off does
SAMPLES_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.int32(), nullable=False),
        pa.field("account_id", pa.int64(), nullable=False),
        pa.field("obs_date", pa.date32(), nullable=False),
        pa.field("label", pa.int8(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
    ]
)


def _positive_int(value: Any, keyword: str, option: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(
            f"{what} is {value!r}; it must be a whole number of months, 1 or more: {FIX}",
            fix=Fix(f"pass {keyword}=1 or more", f"pass {option} 1 or more"),
        )
    return int(value)


def _check_options(split: Any, test_share: Any, seed: Any) -> None:
    if split not in SPLITS:
        raise InputError(
            f"split {split!r} is not one of {', '.join(SPLITS)}: 'time' tests on later dates, 'account' on "
            f"held-out accounts; {FIX}",
            fix=Fix("pass split='time' or split='account'", "pass --split time or --split account"),
        )
    if isinstance(test_share, bool) or not isinstance(test_share, int | float) or not 0 < test_share < 1:
        raise InputError(
            f"the test share is {test_share!r}; it must lie strictly between 0 and 1: {FIX}",
            fix=Fix("pass test_share=0.25, for example", "pass --test-share 0.25, for example"),
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(
            f"the seed is {seed!r}, not an integer; {FIX}",
            fix=Fix("pass seed=<an integer>", "pass --seed <an integer>"),
        )


def pd_samples(
    dataset: str | os.PathLike,
    *,
    dates: Any = None,
    every_months: int = 1,
    horizon_months: int = 12,
    split: str = "time",
    test_from: Any = None,
    test_share: float = 0.25,
    seed: int = 0,
) -> pa.Table:
    """PD samples of dataset directory `dataset`: "charged off, or 90+ days past due, within the next
    `horizon_months` months", for every credit account current at each observation date.

    Columns: user_id int32, account_id int64, obs_date date32, label int8 (0/1), split string ("train" or
    "test"); rows sorted by (obs_date, user_id, account_id).

    - Observation dates d: `dates` (datetime.date, "YYYY-MM-DD" strings or numpy datetime64), else every
      `every_months`-th 1st of the month from the first to the last statement date of the dataset.
    - An account is sampled at d when it is current there: its latest statement dated on or before d
      exists and is less than one calendar month old (the account is open and billed: a month without a
      statement means it was closed; this is at most 31 days), shows 0 days past due, and the account was
      not charged off on or before d. Its state at d includes the statement dated d itself, while a
      sequence model sees only the transactions before d (TransactionDataset(samples=...)).
    - label = 1 when, within (d, d + horizon_months], the account has a statement 90 or more days past
      due or is charged off (defaults.charge_off_date); else 0.
    - Censoring: a sample whose window ends after the dataset's last statement date is dropped (its label
      is not known yet), so the last horizon_months of observation dates give no samples.
    - split="time": test samples are those with d >= test_from (default: the date from which about
      `test_share` of the distinct observation dates that have samples are test dates); train samples are
      those whose label window ends before test_from (d + horizon_months < test_from). Samples in between
      (the gap) are dropped, so no training label looks into the test period.
      split="account": about `test_share` of the accounts, picked by a hash of account_id and `seed`
      (deterministic, independent of the data), are test with all their dates; nothing is dropped.

    Errors (InputError): not a dataset directory, a dataset made before the credit cycle or with it off, a
    bad option or date, test_from outside the data, or no samples left (which step removed them is said).
    """
    every = _positive_int(
        every_months, "every_months", "--every-months", "the step between observation dates"
    )
    horizon = _positive_int(horizon_months, "horizon_months", "--horizon-months", "the label horizon")
    _check_options(split, test_share, seed)
    obs = None if dates is None else observation_days(dates)  # date errors before reading the dataset
    check_credit_dataset(dataset)
    first, last = _date_range(dataset)
    if obs is None:
        obs = month_starts(first, last, every)
    user, acct, d, end, label, n_current, latest = _samples(dataset, obs, horizon, last)
    if n_current == 0:
        raise InputError(
            f"no PD samples: no credit account is current (billed in the last month, 0 days past "
            f"due) at any of the {obs.size} observation dates from {day_text(obs[0])} to "
            f"{day_text(obs[-1])}; the statements run from {day_text(first)} to {day_text(last)}"
        )
    if d.size == 0:
        raise InputError(
            f"no PD samples: every label window of {horizon} months ends after the last statement date "
            f"{day_text(last)} (the latest current observation date is {day_text(latest)}); {FIX}",
            fix=Fix(
                "pass a smaller horizon_months, or earlier dates",
                "pass a smaller --horizon-months, or earlier --dates",
            ),
        )
    if split == "time":
        start = None if test_from is None else _test_start(test_from, first, last)
        keep, is_test = time_split(d, end, start, test_share, horizon)
    else:
        keep, is_test = account_split(acct, test_share, int(seed))
    return _table(user, acct, d, label, is_test, keep)


def _date_range(dataset: str | os.PathLike) -> tuple[int, int]:
    """The first and last statement dates (day numbers), reading only that column, a chunk at a time."""
    lo, hi = None, None
    for chunk in statement_chunks(dataset, ["statement_date"]):
        if chunk.num_rows:
            days = chunk.column("statement_date").cast(pa.int32()).to_numpy()
            lo = int(days.min()) if lo is None else min(lo, int(days.min()))
            hi = int(days.max()) if hi is None else max(hi, int(days.max()))
    if lo is None or hi is None:
        raise InputError(
            f"dataset {str(dataset)!r} has no credit statements (no consumer holds a credit account), so it "
            "has no PD samples; generate a world with more consumers"
        )
    return lo, hi


def _samples(dataset: str | os.PathLike, obs: np.ndarray, horizon: int, last: int) -> tuple[Any, ...]:
    """(user, account, d, window end, label) of the current pairs whose label is known (window end <= last),
    chunk of accounts by chunk, then how many pairs were current and the latest current date (or None)."""
    parts, n_current, latest = [], 0, None
    for h, _ in history_chunks(dataset):
        rows, d = _current_pairs(h, obs)
        if rows.size == 0:
            continue
        n_current += rows.size
        latest = int(d.max()) if latest is None else max(latest, int(d.max()))
        end = add_months(d, horizon)
        known = end <= last
        rows, d, end = rows[known], d[known], end[known]
        if rows.size:
            parts.append((h.user_id[rows], h.account_id[rows], d, end, _labels(h, rows, d, end)))
    if not parts:
        parts = [(np.zeros(0, np.int32), *(np.zeros(0, np.int64) for _ in range(3)), np.zeros(0, np.int8))]
    return (*(np.concatenate(c) for c in zip(*parts, strict=True)), n_current, latest)


def _test_start(test_from: Any, first: int, last: int) -> int:
    day = to_day(test_from, f"the test start ({test_from!r})", TEST_FROM_FIX)
    if not first < day <= last:
        raise InputError(
            f"the test start {day_text(day)} is outside the data: the statements run from {day_text(first)} "
            f"to {day_text(last)}; {FIX}",
            fix=Fix(
                f"pass test_from after {day_text(first)} and no later than {day_text(last)}",
                f"pass --test-from after {day_text(first)} and no later than {day_text(last)}",
            ),
        )
    return day


def _current_pairs(h: CreditHistory, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(statement row, observation day) of every account current at an observation date.

    Statement row r is the account's state at the observation dates from day[r] up to, not including, its
    next statement or one month after day[r], whichever comes first (an account with no statement for a
    whole cycle is closed); only rows at 0 days past due can make the account current.
    """
    n = h.n_rows
    last_of_account = np.r_[h.account[1:] != h.account[:-1], True]
    until = add_months(h.day, 1) - 1  # current for one billing cycle (28 to 31 days)
    before_next = np.r_[h.day[1:], 0] - 1  # the day before the account's next statement
    until = np.where(last_of_account, until, np.minimum(until, before_next))
    lo = np.searchsorted(obs, h.day, "left")
    hi = np.searchsorted(obs, until, "right")
    count = np.where(h.dpd == 0, np.maximum(hi - lo, 0), 0)
    rows = np.repeat(np.arange(n, dtype=np.int64), count)
    first_pair = np.cumsum(count) - count  # where each row's pairs start in the output
    k = lo[rows] + (np.arange(rows.size, dtype=np.int64) - first_pair[rows])
    d = obs[k]
    alive = d < h.charge_off[h.account[rows]]  # charged off on or before d: not current
    return rows[alive], d[alive]


def _labels(h: CreditHistory, rows: np.ndarray, d: np.ndarray, end: np.ndarray) -> np.ndarray:
    """1 where the account has a statement at DEFAULT_DPD+ days past due dated in (d, end], or its
    charge-off falls there; row r is the account's latest statement on or before d."""
    base = int(h.day.min())
    span = int(max(h.day.max(), end.max())) - base + 1
    key = h.account * span + (h.day - base)  # sorted: rows are in (account, day) order
    window_end = np.searchsorted(key, h.account[rows] * span + (end - base), "right")  # one past the last
    bad = np.concatenate(([0], np.cumsum(h.dpd >= DEFAULT_DPD)))
    late = bad[window_end] - bad[rows + 1] > 0  # statements rows+1 .. window_end-1 lie in (d, end]
    co = h.charge_off[h.account[rows]]
    return (late | ((d < co) & (co <= end))).astype(np.int8)


def _table(
    user: np.ndarray, acct: np.ndarray, d: np.ndarray, label: np.ndarray, test: np.ndarray, keep: np.ndarray
) -> pa.Table:
    """The kept samples sorted by (obs_date, user, account), each column taken once (no Python objects)."""
    kept = np.flatnonzero(keep)
    order = kept[np.lexsort((acct[kept], user[kept], d[kept]))]
    split = pa.DictionaryArray.from_arrays(pa.array(test[order], pa.int8()), pa.array(["train", "test"]))
    return pa.Table.from_arrays(
        [
            pa.array(user[order], pa.int32()),
            pa.array(acct[order], pa.int64()),
            pa.array(d[order].astype(np.int32), pa.int32()).cast(pa.date32()),
            pa.array(label[order], pa.int8()),
            split.cast(pa.string()),
        ],
        schema=SAMPLES_SCHEMA,
    )


__all__ = ["DEFAULT_DPD", "SAMPLES_SCHEMA", "pd_samples"]
