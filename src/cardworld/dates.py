"""Time on the ground floor: seconds per day, civil dates, and calendar buckets, for every layer.

Integer arithmetic only (no datetime objects in the hot path). Timestamps are int64 seconds of naive wall-clock time. A bucket id is a consecutive integer per calendar
period, so "B(i) - periods" counts calendar periods, not non-empty ones:
day = floor(t / 86400); week = floor((day + 3) / 7) (ISO weeks, Monday start: 1970-01-01 was a Thursday,
so weeks never split at New Year); month = 12 * year + month - 1; quarter = 4 * year + (month - 1) // 3; year.
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum

import numpy as np

from cardworld.jit import kernel

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86400
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
DAYS_PER_YEAR = 365.25  # mean Gregorian-ish year, for ages and rates
_EPOCH = dt.date(1970, 1, 1)


def epoch_day(d: dt.date) -> int:
    """Days since 1970-01-01 of a date (the day numbers every layer uses)."""
    return (d - _EPOCH).days


class CalendarUnit(IntEnum):
    """A calendar period (not a number of seconds); its value indexes CALENDAR_UNIT_NAMES."""

    DAY = 0
    WEEK = 1
    MONTH = 2
    QUARTER = 3
    YEAR = 4


CALENDAR_UNIT_NAMES = tuple(u.name.lower() for u in CalendarUnit)  # "day" ... "year", as specs write them


@kernel
def civil_date(z: int) -> tuple[int, int, int]:
    """(year, month 1..12, day 1..31) of a day count since 1970-01-01 (proleptic Gregorian; H. Hinnant's
    algorithm)."""
    z = z + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return y, m, d


@kernel
def civil_from_days(z: int) -> tuple[int, int]:
    """(year, month 1..12) of a day count since 1970-01-01."""
    y, m, _ = civil_date(z)
    return y, m


@kernel
def bucket_of_day(unit: int, day: int) -> int:
    """Bucket id of a day count for a calendar unit (a CalendarUnit)."""
    if unit == CalendarUnit.DAY:
        return day
    if unit == CalendarUnit.WEEK:
        return (day + 3) // 7
    y, m = civil_from_days(day)
    if unit == CalendarUnit.MONTH:
        return y * 12 + m - 1
    if unit == CalendarUnit.QUARTER:
        return y * 4 + (m - 1) // 3
    return y


@kernel
def _buckets(time: np.ndarray, unit: int, out: np.ndarray) -> None:
    last_day = np.int64(-(2**62))
    last_b = np.int64(0)
    for i in range(time.size):
        d = time[i] // SECONDS_PER_DAY
        if d != last_day:  # rows are mostly sorted: civil arithmetic once per day
            last_day = d
            last_b = bucket_of_day(unit, d)
        out[i] = last_b


def calendar_buckets(time: np.ndarray, unit: int) -> np.ndarray:
    """Bucket id (int64) of every timestamp (int64 seconds) for a calendar unit (a CalendarUnit)."""
    t = np.ascontiguousarray(time, dtype=np.int64)
    out = np.empty(t.size, dtype=np.int64)
    _buckets(t, int(unit), out)
    return out
