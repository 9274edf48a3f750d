"""Stages 2-5 of a consumer's life (sim.consumer): their days, which purchases fall on which day, at what
time, and for how much."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cardworld.codes import TripKind
from cardworld.dates import DAYS_PER_YEAR, SECONDS_PER_DAY
from cardworld.sim.context import SimContext
from cardworld.sim.routine import Routine
from cardworld.sim.routine_kernels import purchase_seconds_kernel
from cardworld.sim.rows import ConsumerInput, Days, LifeSpan, Purchases, Tastes
from cardworld.sim.trips import day_states, simulate_trips

N_CLASSES = 8  # day classes: trip state (4) x weekend


def destination_picker(
    ctx: SimContext,
) -> Callable[[np.random.Generator, np.ndarray, np.ndarray], np.ndarray]:
    """pick(rng, kinds, foreign) -> destination rows: business trips by the destinations' business weight,
    others by their leisure weight, among foreign or domestic ones. Draws one uniform per trip."""
    dest = ctx.dest

    def pick(r: np.random.Generator, kinds: np.ndarray, foreign: np.ndarray) -> np.ndarray:
        w = np.where(kinds[:, None] == TripKind.BUSINESS, dest.business[None, :], dest.leisure[None, :])
        w = w * (dest.foreign[None, :] == foreign[:, None])
        cum = np.cumsum(w, axis=1)
        u = r.random(kinds.size) * cum[:, -1]
        return (cum < u[:, None]).sum(axis=1)

    return pick


def draw_days(ctx: SimContext, c: ConsumerInput, span: LifeSpan, rng: np.random.Generator) -> Days:
    """Home, getaway, vacation or business trip on each day (sim.trips), and each day's class (state x
    weekend). Draws: those of sim.trips.simulate_trips (destinations included)."""
    works_until = span.retire_day if c.works else span.first_day - 1
    trips = simulate_trips(
        rng, ctx.cfg.trips, span.first_day, span.last_day, c.travel_propensity, works_until, span.old_day,
        destination_picker(ctx),
    )  # fmt: skip
    state, trip_of_day = day_states(trips, span.first_day, span.n_days)
    days = span.first_day + np.arange(span.n_days)
    weekend = ((days + 3) % 7) >= 5
    klass = state.astype(np.int64) * 2 + weekend
    n_class = np.bincount(klass, minlength=N_CLASSES)
    return Days(
        trips=trips,
        days=days,
        state=state,
        trip_of_day=trip_of_day,
        order=np.argsort(klass, kind="stable"),
        n_class=n_class,
        class_off=np.concatenate(([0], np.cumsum(n_class))),
    )


def purchase_days(
    ctx: SimContext, tastes: Tastes, days: Days, span: LifeSpan, rng: np.random.Generator
) -> Purchases | None:
    """The day of every purchase: at will, a Poisson count per (item, day class) at the personal rate times
    the item's weekday/weekend and trip-state propensities, spread uniformly over that class's days;
    recurring bills on the personal day of the month (every `12 / rate` months). Items outside their
    years are dropped. None if nothing is bought.

    Draws: (n_items, 8) Poisson counts, then one uniform per purchase at will."""
    cat = ctx.catalogue
    n_items = len(cat)
    rate = tastes.rate
    wk = np.stack([cat.weekday, cat.weekend], axis=1)  # (items, 2)
    classes = np.arange(N_CLASSES)
    lam = (rate / DAYS_PER_YEAR)[:, None] * cat.trip_factor[:, classes // 2] * wk[:, classes % 2]
    lam = lam * days.n_class[None, :]
    lam[cat.recurring] = 0.0
    counts = rng.poisson(lam)
    item = np.repeat(np.repeat(np.arange(n_items), N_CLASSES), counts.ravel())
    cls = np.repeat(np.tile(classes, n_items), counts.ravel())
    pick = np.floor(rng.random(item.size) * days.n_class[cls]).astype(np.int64)
    day = days.days[days.order[days.class_off[cls] + pick]]
    rec_items = np.flatnonzero(cat.recurring & (rate > 0))
    if rec_items.size:
        dom = ctx.dom(days.days)
        r_item, r_day = [item], [day]
        for i in rec_items.tolist():
            every = max(1, round(12.0 / max(rate[i], 1e-9)))  # bill every `every` months
            hit = days.days[dom == tastes.bill_dom[i]]
            hit = hit[np.arange(hit.size) % every == 0]
            r_item.append(np.full(hit.size, i))
            r_day.append(hit)
        item, day = np.concatenate(r_item), np.concatenate(r_day)
    year = ctx.year(day).astype(np.int64)
    alive = (cat.first_year[item] <= year) & (year <= cat.last_year[item])
    item, day, year = item[alive], day[alive], year[alive]
    if item.size == 0:
        return None
    return Purchases(
        item=item,
        day=day,
        year=year,
        state=days.state[day - span.first_day],
        trip=days.trip_of_day[day - span.first_day],
        offsets=np.array([0, item.size], dtype=np.int64),
    )


def purchase_times(
    ctx: SimContext,
    c: ConsumerInput,
    routine: Routine,
    span: LifeSpan,
    p: Purchases,
    rng: np.random.Generator,
) -> None:
    """Sets p.time and p.slot. At home, a routine.in_slot_share of purchases fall in one of the day's
    personal slots (sim.routine; p.slot its id): at the slot's clock time where the item allows it, else
    in the item's own hours (sim.routine.slot_seconds); the others, and all purchases on trips, at a
    uniform quantile of the item's hour profile (p.slot -1). Profiles are the working-day ones on working
    days (a worker before retirement, Monday-Friday, at home or on a business trip). The quantile gives
    the hour and the whole minute.

    Draws: per purchase one uniform (in a slot?), one uniform (which slot), one normal (spread), one
    uniform (slot's clock hour kept?), one uniform (quantile off the routine)."""
    cfg = ctx.cfg.routine
    n = len(p)
    day, st = p.day, p.state
    weekday = ((day + 3) % 7) < 5
    working = (
        c.works & (day < span.retire_day) & weekday & ((st == TripKind.HOME) | (st == TripKind.BUSINESS))
    )
    u_in, u_slot, z, u_keep, u_free = (
        rng.random(n),
        rng.random(n),
        rng.normal(size=n),
        rng.random(n),
        rng.random(n),
    )
    in_slot = (st == TripKind.HOME) & (u_in < cfg.in_slot_share)
    row = p.item + len(ctx.catalogue) * working
    t = ctx.slots
    second, p.slot = purchase_seconds_kernel(
        day, in_slot, row, working.astype(np.int64), u_slot, z, u_keep, u_free,
        routine.bounds, routine.u, routine.cum_weight, routine.n_weekday, cfg.slot_spread,
        t.clock, t.accept, t.reject_lo, t.reject_w, t.excess, ctx.item_hours,
    )  # fmt: skip
    p.time = day * SECONDS_PER_DAY + second


def purchase_amounts(ctx: SimContext, tastes: Tastes, p: Purchases, rng: np.random.Generator) -> None:
    """Sets p.cents: lognormal around the personal median of the item (a bill: the median itself),
    clipped to the item's range and rounded to its step (money transfers in steps of $20), at least one
    step. Draws one normal per purchase."""
    cat = ctx.catalogue
    item = p.item
    med = tastes.amount_median[item]
    amt = np.exp(np.log(med) + tastes.amount_sigma[item] * rng.normal(size=len(p)))
    amt = np.where(cat.recurring[item], med, amt)
    amt = np.clip(amt, cat.amount_min[item], cat.amount_max[item])
    step = cat.amount_step[item]
    amt = np.maximum(np.round(amt / step), 1) * step
    p.cents = np.round(amt * 100).astype(np.int64)


__all__ = ["destination_picker", "draw_days", "purchase_amounts", "purchase_days", "purchase_times"]
