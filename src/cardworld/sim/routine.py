"""A consumer's personal routine (sim.consumer): the few time slots their purchases at home fall into.

Real card histories are spiky per person (in TabFormer's single-user file one hour holds nearly half of
the purchases) while the population's hour shape is smooth. A slot is a clock time, the quantile u of
the clock's hour profile (the catalogue items' profiles weighted by their expected purchases), shared
across the items a person buys. Each item keeps the slot's hour as often as its own profile allows and
otherwise moves to the hours it has more of (a maximal coupling, SlotTables): groceries and coffee
share the morning slot, a bar's slot moves to the evening, and since u is uniform over consumers every
item keeps its population hour profile exactly.

Slot quantiles are spread over consumers with low discrepancy (van der Corput in the user id, plus a
small jitter from the consumer's stream), so a few hundred spiky consumers still add up to the smooth
shape. Life has phases (before retirement age, retired, from 75 on). Working days use the working-day
profiles (hour_profiles), so before retirement a worker's weekday slots avoid the hours at work; at
retirement the same habits read the free-day clock, which moves them into the working day. From 75 on
the slots' weights are re-drawn and they keep to the central part of the day (config
routine.old_age_span). The model has no move of home or change of job, so those change nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.config import Routine as RoutineConfig
from cardworld.dates import SECONDS_PER_HOUR, SECONDS_PER_MINUTE
from cardworld.sim.rows import LifeSpan

N_PHASES = 3  # before retirement age, retired, from 75 on
SLOT_JITTER = 0.02  # random spread of a slot's quantile around its low-discrepancy position
_GOLDEN = (5**0.5 - 1) / 2
WORK_HOUR_WEIGHT = 0.5  # on working days, the weight left to the hours at work
_WORK_HOURS = np.where(np.isin(np.arange(24), [9, 10, 11, 13, 14, 15, 16]), WORK_HOUR_WEIGHT, 1.0)


@dataclass(frozen=True)
class Routine:
    """A consumer's slots per phase of life. Slot j of a phase is a weekday slot for j < n_weekday, a
    weekend slot otherwise; a slot's global id is phase * n_slots + j."""

    bounds: np.ndarray  # int64 (N_PHASES - 1,) first day of phases 1 and 2 (non-decreasing)
    u: np.ndarray  # float64 (N_PHASES, n_slots) slot quantiles in [0, 1)
    cum_weight: np.ndarray  # float64 (N_PHASES * 2, n_slots) cumulative slot weights per (phase, weekend)
    n_weekday: int

    @property
    def n_slots(self) -> int:
        return int(self.u.shape[1])

    def phase(self, day: np.ndarray) -> np.ndarray:
        """Phase of life (0, 1 or 2) on each epoch day."""
        return np.searchsorted(self.bounds, day, side="right")


def draw_routine(cfg: RoutineConfig, span: LifeSpan, user_id: int, rng: np.random.Generator) -> Routine:
    """The consumer's routine: weekday and weekend slots at quantiles uniform over consumers, with
    gamma(slot_weight_shape) weights, heaviest first, which sum to 1 within each (phase, weekday/weekend)
    group. At retirement age the slots keep their quantiles (up to a jitter) and weights; the clock they
    read changes for a worker (working days end), so their times move. From 75 on the weights are
    re-drawn and the quantiles narrowed to the central old_age_span of the day. Shapes depend on the
    config only.

    Draws: (N_PHASES, n_slots) uniforms (quantiles), then (N_PHASES, n_slots) gammas (weights)."""
    n_wd, n = cfg.weekday_slots, cfg.weekday_slots + cfg.weekend_slots
    # Slot j of consumer uid at vdc(uid) + j * golden ratio (mod 1): for every j, uniform over consumers
    # with low discrepancy, so a few hundred spiky people still add up to the population's hour shape.
    base = _van_der_corput(user_id) + np.arange(n) * _GOLDEN
    u = np.mod(base[None, :] + SLOT_JITTER * (rng.random((N_PHASES, n)) - 0.5), 1.0)
    u[2] = 0.5 + (u[2] - 0.5) * cfg.old_age_span
    w = rng.gamma(cfg.slot_weight_shape, size=(N_PHASES, n)) + 1e-12
    w[1] = w[0]  # retired, the same habits on the free-day clock: a worker's slots move into the day
    cum = np.ones((N_PHASES * 2, n))  # padding of 1.0 is never picked: the group's last slot reaches 1
    for g, (lo, hi) in enumerate(((0, n_wd), (n_wd, n))):
        # The heaviest slot first: it takes most purchases, and its quantile is the best spread one.
        part = np.cumsum(-np.sort(-w[:, lo:hi], axis=1), axis=1)
        cum[g::2, lo:hi] = part / part[:, -1:]
        cum[g::2, hi - 1] = 1.0
    bounds = np.maximum.accumulate(np.array([span.retire_day, span.old_day], dtype=np.int64))
    return Routine(bounds=bounds, u=u, cum_weight=cum, n_weekday=n_wd)


def _van_der_corput(n: int) -> float:
    """The base-2 van der Corput number of n >= 0 (bits of n mirrored after the binary point)."""
    x, f = 0.0, 0.5
    while n:
        x, n, f = x + f * (n & 1), n >> 1, f / 2
    return x


def pick_slots(routine: Routine, day: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Global slot id of each purchase on `day` by uniform u: among the day's phase and weekday/weekend
    slots, by their weights."""
    phase = routine.phase(day)
    weekend = ((day + 3) % 7) >= 5
    cum = routine.cum_weight[phase * 2 + weekend]
    j = (cum <= u[:, None]).sum(axis=1) + np.where(weekend, routine.n_weekday, 0)
    return phase * routine.n_slots + np.minimum(j, routine.n_slots - 1)


def slot_quantiles(routine: Routine, slot: np.ndarray, z: np.ndarray, spread: float) -> np.ndarray:
    """Each purchase's quantile in the clock's day: its slot's u plus spread * z, wrapped into [0, 1)
    (the day's end and start are neighbours, so a wrap stays near the slot)."""
    q = np.mod(routine.u.ravel()[slot] + spread * z, 1.0)
    return np.where(q >= 1.0, 0.0, q)  # mod of a tiny negative can round to 1.0


def hour_profiles(hours: np.ndarray) -> np.ndarray:
    """Cumulative hour profiles of the rows of `hours` ((n, 24) weights), (2 * n, 24): free days, then
    working days. On working days the hours spent at work (9-11 and 13-16) keep WORK_HOUR_WEIGHT of
    their weight, so retirement moves purchases into the working day. No draws."""
    share = hours / hours.sum(axis=1, keepdims=True)
    both = np.concatenate([share, share * _WORK_HOURS[None, :]])
    cum = np.cumsum(both, axis=1)
    return cum / cum[:, -1:]


@dataclass(frozen=True)
class SlotTables:
    """A maximal coupling of the clock's hour profile c and each item's p (rows: item + n_items *
    working): a slot's clock hour h is kept with probability accept = min(1, p(h) / c(h)); the rest go
    to the hours the item has more of (excess, cumulative, of max(p - c, 0)), at the same rank among the
    rejected (reject_lo + reject_w * position within h, cumulative over hours). So a slot puts a
    person's purchases of many items at one clock time, a bar's slot moves to the evening, and each item
    keeps its own hour profile exactly."""

    clock: np.ndarray  # (2, 24) cumulative: free days, working days
    accept: np.ndarray  # (2 * n_items, 24)
    excess: np.ndarray  # (2 * n_items, 24) cumulative
    reject_lo: np.ndarray  # (2 * n_items, 24) share of the rejected before hour h
    reject_w: np.ndarray  # (2 * n_items, 24) share of the rejected within hour h


def slot_tables(item_hours: np.ndarray, clock_hours: np.ndarray) -> SlotTables:
    """SlotTables from cumulative hour profiles (2 * n_items, 24) of the items and (2, 24) of the clock
    (free days, then working days). An item whose profile is the clock's keeps every slot hour."""
    p = np.diff(item_hours, axis=1, prepend=0.0)
    n_items = p.shape[0] // 2
    c = np.repeat(np.diff(clock_hours, axis=1, prepend=0.0), n_items, axis=0)
    accept = np.minimum(1.0, p / np.maximum(c, 1e-300))
    over = np.maximum(p - c, 0.0)
    rejected = c * (1.0 - accept)
    some = rejected.sum(axis=1, keepdims=True) > 1e-12
    over = np.where(some, over, p)
    rejected = np.where(some, rejected, c) / np.where(some, rejected.sum(axis=1, keepdims=True), 1.0)
    excess = np.cumsum(over, axis=1)
    return SlotTables(
        clock=clock_hours,
        accept=accept,
        excess=excess / excess[:, -1:],
        reject_lo=np.cumsum(rejected, axis=1) - rejected,
        reject_w=rejected,
    )


def slot_seconds(
    t: SlotTables, row: np.ndarray, working: np.ndarray, q: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Second of the day of purchases at quantile q of their slot: the slot's clock time (quantile q of
    the clock's free- or working-day profile) if uniform u < t.accept[row, hour], else the same rank
    among the rejected in the item's excess hours. Row: item + n_items * working."""
    hour, frac = quantile_hour(t.clock, working.astype(np.int64), q)
    keep = u < t.accept[row, hour]
    rank = np.clip(t.reject_lo[row, hour] + frac * t.reject_w[row, hour], 0.0, 1.0 - 1e-12)
    e_hour, e_frac = quantile_hour(t.excess, row, rank)
    return np.where(keep, _seconds(hour, frac), _seconds(e_hour, e_frac))


def quantile_hour(cum: np.ndarray, row: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hour, position within the hour in [0, 1)) at quantile q of hour profile `row` of `cum` ((rows,
    24) cumulative, each row ending at 1): the inverse CDF."""
    flat = (np.arange(cum.shape[0])[:, None] + cum).ravel()  # row r's hours are r + cum[r, h]
    hour = (np.searchsorted(flat, row + q, side="right") - row * 24).clip(0, 23)
    hi = cum[row, hour]
    lo = np.where(hour > 0, cum[row, np.maximum(hour - 1, 0)], 0.0)
    return hour, np.clip((q - lo) / np.maximum(hi - lo, 1e-300), 0.0, 1.0 - 1e-12)


def quantile_seconds(cum: np.ndarray, row: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Second of the day at quantile q of hour profile `row` of `cum`: the hour is the inverse CDF, the
    whole minute is q's position within that hour."""
    return _seconds(*quantile_hour(cum, row, q))


def _seconds(hour: np.ndarray, frac: np.ndarray) -> np.ndarray:
    return hour * SECONDS_PER_HOUR + np.floor(frac * 60).astype(np.int64) * SECONDS_PER_MINUTE


__all__ = [
    "N_PHASES",
    "WORK_HOUR_WEIGHT",
    "Routine",
    "SlotTables",
    "draw_routine",
    "hour_profiles",
    "pick_slots",
    "quantile_hour",
    "quantile_seconds",
    "slot_quantiles",
    "slot_seconds",
    "slot_tables",
]
