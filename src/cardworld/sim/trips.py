"""Where a consumer is on each day: the home / getaway / vacation / business-trip state machine.

Trips of each kind start as a Poisson process whose yearly rate is the config's mean times the person's
travel propensity (which rises with wealth); business trips happen only while the person works, and
travel halves after 75. A trip that would overlap the previous one starts the day after it ends, so the
person is in exactly one state per day. Getaways start on Fridays or Saturdays and last 2-3 days; the
other lengths are geometric (at least 1 day; vacations at least 3) with the configured means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.codes import TripKind
from cardworld.config import Trips as TripsConfig

HOME, GETAWAY, VACATION, BUSINESS = (int(k) for k in TripKind)


@dataclass(frozen=True)
class Trips:
    """One consumer's trips, sorted by start day (days since 1970)."""

    kind: np.ndarray  # int8: GETAWAY, VACATION or BUSINESS
    start: np.ndarray  # int64 first day away
    end: np.ndarray  # int64 last day away (inclusive)
    dest: np.ndarray  # int32 row in the destinations table
    foreign: np.ndarray  # bool

    def __len__(self) -> int:
        return int(self.kind.shape[0])


def simulate_trips(
    rng: np.random.Generator,
    cfg: TripsConfig,
    first_day: int,
    last_day: int,
    travel_propensity: float,
    works_until_day: int,
    old_from_day: int,
    pick_destination,
) -> Trips:
    """Trips between first_day and last_day. pick_destination(rng, kinds, foreign) -> destination rows."""
    span_years = (last_day - first_day + 1) / 365.25
    rates = np.array(
        [cfg.getaways_per_year, cfg.vacations_per_year, cfg.business_trips_per_year], dtype=np.float64
    )
    counts = rng.poisson(rates * travel_propensity * max(span_years, 0.0))
    kind = np.repeat(np.array([GETAWAY, VACATION, BUSINESS], dtype=np.int8), counts)
    n = kind.size
    start = first_day + np.floor(rng.random(n) * (last_day - first_day + 1)).astype(np.int64)
    # Getaways leave on a Friday (day 1 of 1970-01-01's week is Thursday) or Saturday.
    weekday = (start + 3) % 7  # Monday = 0
    is_get = kind == GETAWAY
    target = np.where(rng.random(n) < 0.7, 4, 5)
    start = np.where(is_get, start + (target - weekday) % 7, start)
    length = np.where(
        is_get,
        2 + (rng.random(n) < 0.4),
        rng.geometric(1.0 / np.where(kind == VACATION, cfg.vacation_days, cfg.business_days)),
    ).astype(np.int64)
    length = np.where(kind == VACATION, np.maximum(length, 3), length)
    keep_draw = rng.random(n)
    keep = (start <= last_day) & ~((kind == BUSINESS) & (start > works_until_day))
    keep &= ~((start >= old_from_day) & (keep_draw < 0.5))
    p_foreign = np.select(
        [kind == GETAWAY, kind == VACATION], [cfg.foreign_getaway, cfg.foreign_vacation], cfg.foreign_business
    )
    foreign = rng.random(n) < p_foreign
    order = np.argsort(start, kind="stable")
    kind, start, length, foreign, keep = kind[order], start[order], length[order], foreign[order], keep[order]
    kind, start, length, foreign = kind[keep], start[keep], length[keep], foreign[keep]
    # Push overlapping trips after the previous one (sequential, but trips are few).
    end = start + length - 1
    for i in range(1, kind.size):
        if start[i] <= end[i - 1]:
            start[i] = end[i - 1] + 1
            end[i] = start[i] + length[i] - 1
    inside = start <= last_day
    kind, start, end, foreign = (
        kind[inside],
        start[inside],
        np.minimum(end[inside], last_day),
        foreign[inside],
    )
    dest = pick_destination(rng, kind, foreign)
    return Trips(kind, start, end, dest.astype(np.int32), foreign)


def day_states(trips: Trips, first_day: int, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(state int8, trip index int32 or -1) for each day first_day .. first_day + n_days - 1."""
    state = np.zeros(n_days, dtype=np.int8)
    trip = np.full(n_days, -1, dtype=np.int32)
    for i in range(len(trips)):
        a = int(trips.start[i]) - first_day
        b = int(trips.end[i]) - first_day + 1
        state[a:b] = trips.kind[i]
        trip[a:b] = i
    return state, trip


__all__ = ["BUSINESS", "GETAWAY", "HOME", "VACATION", "Trips", "day_states", "simulate_trips"]
