"""sim.routine: personal time slots shared across items, the hour coupling that keeps each item's
profile, favourite merchants per slot, and the shift at retirement."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from cardworld.codes import TripKind
from cardworld.config import Routine as RoutineConfig
from cardworld.config import load_config
from cardworld.dates import DAYS_PER_YEAR, epoch_day
from cardworld.engine.shard import consumer_inputs, context
from cardworld.rng import Stream, stream
from cardworld.sim.channels import channel_and_cash
from cardworld.sim.merchant_choice import choose_merchants, regular_merchants
from cardworld.sim.purchases import draw_days, purchase_amounts, purchase_days, purchase_times
from cardworld.sim.routine import (
    N_PHASES,
    draw_routine,
    hour_profiles,
    pick_slots,
    quantile_seconds,
    slot_quantiles,
    slot_seconds,
)
from cardworld.sim.routine_kernels import purchase_seconds_kernel
from cardworld.sim.rows import LifeSpan
from cardworld.sim.tastes import draw_tastes, life_span
from cardworld.world.cards import make_cards
from cardworld.world.consumers import make_consumers

SPAN = LifeSpan(first_day=7000, last_day=20000, retire_day=12000, old_day=15000)
WORK_HOURS = [9, 10, 11, 13, 14, 15, 16]


def _cum(p: np.ndarray) -> np.ndarray:
    c = np.cumsum(np.asarray(p, dtype=float), axis=-1)
    return c / c[..., -1:]


def test_quantile_seconds_hand_computed():
    # Half the mass in hour 3, half in hour 10: quantile 0.25 is half-way through hour 3 (03:30),
    # 0.75 half-way through hour 10, 0.0 the start of hour 3, 0.999 the last minute of hour 10.
    p = np.zeros(24)
    p[3] = p[10] = 1.0
    cum = _cum(p)[None, :]
    q = np.array([0.25, 0.75, 0.0, 0.999])
    got = quantile_seconds(cum, np.zeros(4, dtype=np.int64), q)
    assert got.tolist() == [3 * 3600 + 30 * 60, 10 * 3600 + 30 * 60, 3 * 3600, 10 * 3600 + 59 * 60]


def test_draw_routine_deterministic_with_shapes_from_the_config_only():
    cfg = RoutineConfig()
    a = draw_routine(cfg, SPAN, 7, stream(1, Stream.CONSUMER, 7))
    b = draw_routine(cfg, SPAN, 7, stream(1, Stream.CONSUMER, 7))
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.cum_weight, b.cum_weight)
    other_span = LifeSpan(first_day=9000, last_day=9100, retire_day=30000, old_day=31000)
    c = draw_routine(cfg, other_span, 8, stream(1, Stream.CONSUMER, 8))
    assert a.u.shape == c.u.shape == (N_PHASES, cfg.weekday_slots + cfg.weekend_slots)
    # Shapes fixed => the stream is left at the same position whoever the consumer is (no batching effect).
    r1, r2 = stream(1, Stream.CONSUMER, 7), stream(1, Stream.CONSUMER, 7)
    draw_routine(cfg, SPAN, 7, r1)
    draw_routine(cfg, other_span, 7, r2)
    assert r1.random() == r2.random()
    assert ((a.u >= 0) & (a.u < 1)).all()
    n_wd = cfg.weekday_slots
    for cum in a.cum_weight.reshape(N_PHASES, 2, -1):
        assert cum[0, n_wd - 1] == 1.0  # each group's weights sum to 1
        assert cum[1, -1] == 1.0
        assert (np.diff(cum[0, :n_wd]) >= 0).all()
        assert (np.diff(cum[1, n_wd:]) >= 0).all()
        w = np.diff(cum[0, :n_wd], prepend=0.0)
        assert (np.diff(w) <= 1e-12).all()  # heaviest first


def test_slot_quantiles_uniform_over_consumers():
    cfg = RoutineConfig()
    u = np.array([draw_routine(cfg, SPAN, i, stream(3, Stream.CONSUMER, i)).u[0, 0] for i in range(200)])
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert counts.min() >= 15  # low discrepancy: 20 per decile, nearly exactly
    assert counts.max() <= 25
    old = np.array([draw_routine(cfg, SPAN, i, stream(3, Stream.CONSUMER, i)).u[2] for i in range(50)])
    lo, hi = 0.5 - cfg.old_age_span / 2, 0.5 + cfg.old_age_span / 2
    assert ((old >= lo) & (old <= hi)).all()


def test_pick_slots_by_phase_and_day_of_week():
    cfg = RoutineConfig(weekday_slots=2, weekend_slots=2)
    r = draw_routine(cfg, SPAN, 1, stream(2, Stream.CONSUMER, 1))
    # Epoch day 0 (1970-01-01) was a Thursday: day 2 a Saturday, day 4 a Monday.
    days = np.array([SPAN.retire_day - 3, SPAN.retire_day + 2, SPAN.old_day + 4, 8002, 8004])
    weekend = ((days + 3) % 7) >= 5
    slot = pick_slots(r, np.repeat(days, 200), np.tile(np.linspace(0, 0.999, 200), days.size))
    slot = slot.reshape(days.size, 200)
    phase = np.searchsorted([SPAN.retire_day, SPAN.old_day], days, side="right")
    for i in range(days.size):
        j = slot[i] - phase[i] * r.n_slots
        assert ((j >= 0) & (j < r.n_slots)).all()
        assert ((j >= cfg.weekday_slots) == weekend[i]).all()


@pytest.fixture(scope="module")
def tables():
    ctx = context(load_config(consumers=1, start="2015-01-01", end="2015-01-31", seed=1))
    return ctx, ctx.slots


def test_slot_coupling_keeps_each_items_profile(tables):
    # Uniform slot quantiles and keep-draws give each item exactly its own hour profile (maximal coupling).
    ctx, t = tables
    rng = np.random.default_rng(0)
    n = 200_000
    n_items = len(ctx.catalogue)
    profiles = np.diff(ctx.item_hours, axis=1, prepend=0.0)
    for row in (0, 5, n_items + 5, int(np.argmax(profiles[:n_items, 22]))):
        working = np.full(n, row >= n_items)
        sec = slot_seconds(t, np.full(n, row), working, rng.random(n), rng.random(n))
        got = np.bincount(sec // 3600, minlength=24) / n
        assert 0.5 * np.abs(got - profiles[row]).sum() < 0.01, row


def test_slots_share_clock_time_across_items_but_a_bar_stays_in_the_evening(tables):
    ctx, t = tables
    n_items = len(ctx.catalogue)
    rows = np.arange(n_items)
    profiles = np.diff(ctx.item_hours[:n_items], axis=1, prepend=0.0)
    rng = np.random.default_rng(1)
    same = []
    for q in rng.random(30):  # one slot, every item: how often two items get the slot's own hour
        sec = slot_seconds(t, rows, np.zeros(n_items, bool), np.full(n_items, q), rng.random(n_items))
        same.append(np.bincount(sec // 3600, minlength=24).max() / n_items)
    assert np.median(same) > 0.4  # per-item favourite hours (the old model) would give about 1/8
    night = int(np.argmax(profiles[:, 22] / profiles[:, 10]))  # the most evening-heavy item
    q = np.full(5000, 0.3)  # a morning slot
    sec = slot_seconds(t, np.full(5000, night), np.zeros(5000, bool), q, rng.random(5000))
    hours = sec // 3600
    assert (profiles[night, hours] >= 0.25 * profiles[night].max()).mean() > 0.8  # moved to its hours


def test_hour_profiles_working_days_weigh_work_hours_down():
    cum = hour_profiles(np.ones((1, 24)))
    free, work = np.diff(cum, axis=1, prepend=0.0)
    np.testing.assert_allclose(free, 1 / 24)
    assert work[WORK_HOURS].max() < work[[8, 12, 17]].min()
    assert work.sum() == pytest.approx(1.0)


def _staged(ctx, c):
    rng = stream(ctx.cfg.seed, Stream.CONSUMER, c.user_id)
    span = life_span(ctx, c)
    tastes = draw_tastes(ctx, c, rng)
    days = draw_days(ctx, c, span, rng)
    p = purchase_days(ctx, tastes, days, span, rng)
    routine = draw_routine(ctx.cfg.routine, span, c.user_id, rng)
    purchase_times(ctx, c, routine, span, p, rng)
    purchase_amounts(ctx, tastes, p, rng)
    channel_and_cash(ctx, c, p, rng)
    choose_merchants(ctx, c, days.trips, p, rng)
    return span, p


@pytest.fixture(scope="module")
def retirees():
    """Workers who retire at the start of 2006, in the middle of a 2000-2011 run (those with a card
    from 2004 on at the latest)."""
    cfg = load_config(consumers=6, start="2000-01-01", end="2011-12-31", seed=4)
    consumers = make_consumers(cfg, np.arange(6, dtype=np.int64))
    cards, accounts = make_cards(cfg, consumers)
    ctx = context(cfg)
    out = []
    for c in consumer_inputs(consumers, cards, accounts):
        birth = epoch_day(dt.date(2006, 1, 1)) - int(c.retirement_age * DAYS_PER_YEAR)
        c = dataclasses.replace(c, works=True, birth_day=birth)
        span, p = _staged(ctx, c)
        if span.first_day < epoch_day(dt.date(2004, 1, 1)):
            out.append((c, span, p))
    assert len(out) >= 3
    return ctx, out


def test_routine_shifts_at_retirement(retirees):
    # Before retirement a worker's weekday slots read the working-day clock, which keeps half the weight
    # of the hours at work; after, the free-day clock: their slots move and, over people, purchases move
    # into the working day (one person's slot may already sit in it, so the rise is over people).
    _, out = retirees
    rises = []
    for _c, span, p in out:
        hour = (p.time // 3600) % 24
        weekday = ((p.day + 3) % 7) < 5
        home = weekday & (p.state == TripKind.HOME)
        at_work = np.isin(hour, WORK_HOURS)
        pre, post = home & (p.day < span.retire_day), home & (p.day >= span.retire_day)
        rises.append(at_work[post].mean() - at_work[pre].mean())
        hb = np.bincount(hour[pre], minlength=24) / pre.sum()
        ha = np.bincount(hour[post], minlength=24) / post.sum()
        assert 0.5 * np.abs(hb - ha).sum() > 0.2  # each person's hours change
    assert np.mean(rises) > 0.1, rises
    assert np.mean(np.array(rises) > 0) > 0.5, rises


def test_people_are_spiky_and_loyal_to_favourites(retirees):
    ctx, out = retirees
    for _c, _span, p in out:
        hour = (p.time // 3600) % 24
        before = p.day < p.day.min() + 5 * 365
        assert np.bincount(hour[before], minlength=24).max() / before.sum() > 0.2
        # Loyalty: within an (item, slot) at home, most purchases go to one merchant.
        home = (p.slot >= 0) & ~p.online & ~p.away
        key = p.item[home] * 1000 + p.slot[home]
        merchant = p.mcc[home] * 10**9 + p.k[home]
        top = []
        for g in np.unique(key):
            m = merchant[key == g]
            if m.size >= 30:
                top.append(np.unique(m, return_counts=True)[1].max() / m.size)
        expected = ctx.cfg.routine.loyalty * (1 - ctx.cfg.routine.new_merchant_share)
        assert np.median(top) > expected - 0.05


def _home_choice(routine: dict, slot: np.ndarray, item: np.ndarray):
    cfg = load_config(consumers=1, start="2015-01-01", end="2015-01-31", seed=1, routine=routine)
    ctx = context(cfg)
    home = int(np.argmax(ctx.city_merchants))  # the biggest city: 400 merchants per MCC
    n = item.size
    no = np.zeros(n, dtype=bool)
    k, mcc = regular_merchants(
        ctx, np.random.default_rng(5), home, item, slot, np.full(n, home), no, no, np.full(n, -1), 0
    )
    return ctx, home, k, mcc


def test_loyal_slot_purchases_go_to_one_favourite():
    # Loyalty 1 and no new merchants: every purchase of an (item, slot) at the same merchant; off the
    # routine (slot -1) purchases spread over the item's regulars.
    n = 6000
    item = np.repeat(np.arange(3), n // 3)
    slot = np.tile(np.arange(3), n // 3)
    _, _, k, mcc = _home_choice({"loyalty": 1.0, "new_merchant_share": 0.0}, slot, item)
    for g in range(9):
        sel = (item * 3 + slot) == g
        assert np.unique(np.stack([k[sel], mcc[sel]], axis=1), axis=0).shape[0] == 1


@pytest.mark.parametrize("popularity", [1.0, 3.0])
def test_new_merchants_by_popularity(popularity):
    # Every purchase to a new merchant: k = floor(size * u ** popularity), so E[k / size] = 1 / (1 + a).
    n = 20_000
    ctx, home, k, _ = _home_choice(
        {"new_merchant_share": 1.0, "merchant_popularity": popularity}, np.full(n, -1), np.zeros(n, np.int64)
    )
    size = ctx.city_merchants[home]
    assert np.mean(k / size) == pytest.approx(1 / (1 + popularity), abs=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_purchase_seconds_kernel_matches_the_numpy_twin(tables, seed):
    """The kernel purchase_times runs equals, row for row, the numpy functions it fuses."""
    ctx, t = tables
    rng = np.random.default_rng(seed)
    routine = draw_routine(RoutineConfig(), SPAN, user_id=seed, rng=rng)
    n = 4000
    day = rng.integers(SPAN.first_day, SPAN.last_day, n)
    working = rng.random(n) < 0.4
    row = rng.integers(0, len(ctx.catalogue), n) + len(ctx.catalogue) * working
    in_slot = rng.random(n) < 0.8
    u_slot, z, u_keep, u_free = rng.random(n), rng.normal(size=n), rng.random(n), rng.random(n)
    spread = RoutineConfig().slot_spread
    second, slot = purchase_seconds_kernel(
        day, in_slot, row, working.astype(np.int64), u_slot, z, u_keep, u_free,
        routine.bounds, routine.u, routine.cum_weight, routine.n_weekday, spread,
        t.clock, t.accept, t.reject_lo, t.reject_w, t.excess, ctx.item_hours,
    )  # fmt: skip
    want_slot = np.where(in_slot, pick_slots(routine, day, u_slot), -1)
    q = slot_quantiles(routine, np.maximum(want_slot, 0), z, spread)
    want = np.where(
        in_slot,
        slot_seconds(t, row, working, q, u_keep),
        quantile_seconds(ctx.item_hours, row, u_free),
    )
    np.testing.assert_array_equal(slot, want_slot)
    np.testing.assert_array_equal(second, want)
    assert len(np.unique(slot[in_slot])) > 3  # several slots and phases exercised
    assert (second % 60 == 0).all()
