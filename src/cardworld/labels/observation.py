"""Observation dates of PD samples as int day numbers (days since 1970-01-01), and calendar-month steps.

Dates come as datetime.date, "YYYY-MM-DD" strings or numpy datetime64 (a whole day); every error names the
entry and says what a date looks like, in the caller's interface (Python keyword or CLI option).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np

from cardworld.dates import epoch_day
from cardworld.errors import FIX, Fix, InputError
from cardworld.validation import DATE_FORMAT, parse_date

DATES_FIX = Fix(
    "pass dates as a list of datetime.date, numpy datetime64 or 'YYYY-MM-DD' strings",
    "pass --dates as comma-separated YYYY-MM-DD dates, e.g. --dates 2015-01-01,2016-01-01",
)
TEST_FROM_FIX = Fix(
    "pass test_from as a datetime.date or a 'YYYY-MM-DD' string", "pass --test-from YYYY-MM-DD"
)


def to_day(value: Any, what: str, fix: Fix) -> int:
    """The day number of one date; `what` names it in the message ("observation date 3", "the test start")."""
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InputError(f"{what} is NaT, not a date; {FIX}", fix=fix)
        day = value.astype("datetime64[D]")
        if day != value:  # a time of day: the cut at midnight would silently move it
            raise InputError(
                f"{what} is {value}, a date and time, not a date ({DATE_FORMAT}); {FIX}", fix=fix
            )
        return int(day.astype(np.int64))
    try:
        return epoch_day(parse_date(value))
    except ValueError as e:
        raise InputError(f"{what}: {e}; {FIX}", fix=fix) from None


def observation_days(dates: Any) -> np.ndarray:
    """Sorted distinct day numbers of the given observation dates (a list, tuple or numpy array)."""
    if isinstance(dates, str | bytes | dt.date | np.datetime64) or not isinstance(dates, Iterable):
        raise InputError(f"the observation dates are {dates!r}, not a list of dates; {FIX}", fix=DATES_FIX)
    items: list[Any] = list(dates)
    if not isinstance(dates, list | tuple):  # numpy, pyarrow and pandas arrays of dates, as datetime64
        arr = np.asarray(dates)
        if np.issubdtype(arr.dtype, np.datetime64):
            items = list(arr.reshape(-1))
    if not items:
        raise InputError(f"the list of observation dates is empty; {FIX}", fix=DATES_FIX)
    days = [
        to_day(v, f"observation date {i + 1} of {len(items)} ({v!r})", DATES_FIX) for i, v in enumerate(items)
    ]
    return np.unique(np.asarray(days, dtype=np.int64))


def month_starts(first_day: int, last_day: int, every_months: int) -> np.ndarray:
    """Every `every_months`-th 1st of the month from the first one on or after first_day to last_day."""
    first = np.datetime64(int(first_day), "D")
    month = first.astype("datetime64[M]")
    if month.astype("datetime64[D]") < first:
        month += 1
    last = np.datetime64(int(last_day), "D").astype("datetime64[M]")
    months = np.arange(month, last + 1, every_months)
    return months.astype("datetime64[D]").astype(np.int64)


def add_months(days: np.ndarray, months: int) -> np.ndarray:
    """days + `months` calendar months (the day of the month kept, clipped to the month's last day)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    start = d.astype("datetime64[M]")
    offset = (d - start.astype("datetime64[D]")).astype(np.int64)
    target = start + int(months)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]").astype(np.int64) + np.minimum(offset, length - 1)


def day_text(day: int | np.integer) -> str:
    """YYYY-MM-DD of a day number."""
    return str(np.datetime64(int(day), "D"))


__all__ = [
    "DATES_FIX",
    "TEST_FROM_FIX",
    "add_months",
    "day_text",
    "month_starts",
    "observation_days",
    "to_day",
]
