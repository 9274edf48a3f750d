"""Each stage of sim.consumer against its contract, on a few real consumers of a small world."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.codes import Channel
from cardworld.config import load_config
from cardworld.engine.shard import consumer_inputs, context, fraud_world
from cardworld.rng import Stream, stream
from cardworld.sim.card_choice import choose_cards
from cardworld.sim.channels import channel_and_cash
from cardworld.sim.consumer import simulate_consumer
from cardworld.sim.declines import account_terms, card_rows, declines, merge_order
from cardworld.sim.merchant_choice import choose_merchants
from cardworld.sim.purchases import draw_days, purchase_amounts, purchase_days, purchase_times
from cardworld.sim.refunds import draw_refunds
from cardworld.sim.routine import draw_routine
from cardworld.sim.tastes import draw_tastes, life_span
from cardworld.world.cards import make_cards
from cardworld.world.consumers import make_consumers
from cardworld.world.merchants import ONLINE_CELL

DAY = 86400


@pytest.fixture(scope="module")
def world():
    # The stages without the credit cycle (its stages: tests/sim/test_credit_cycle.py, test_distress.py).
    cfg = load_config(consumers=6, start="2013-01-01", end="2015-12-31", seed=5, credit={"enabled": False})
    consumers = make_consumers(cfg, np.arange(6, dtype=np.int64))
    cards, accounts = make_cards(cfg, consumers)
    return context(cfg), consumer_inputs(consumers, cards, accounts)


@pytest.fixture(scope="module")
def staged(world):
    """Every consumer run stage by stage: (consumer, span, days, purchases, refunds, rows before and after
    declines)."""
    ctx, inputs = world
    out = []
    for c in inputs:
        rng = stream(ctx.cfg.seed, Stream.CONSUMER, c.user_id)
        span = life_span(ctx, c)
        if span is None:
            continue
        tastes = draw_tastes(ctx, c, rng)
        days = draw_days(ctx, c, span, rng)
        p = purchase_days(ctx, tastes, days, span, rng)
        if p is None:
            continue
        routine = draw_routine(ctx.cfg.routine, span, c.user_id, rng)
        purchase_times(ctx, c, routine, span, p, rng)
        purchase_amounts(ctx, tastes, p, rng)
        channel_and_cash(ctx, c, p, rng)
        choose_merchants(ctx, c, days.trips, p, rng)
        choose_cards(c, p, rng)
        keep = ~p.cash & p.card_ok
        refunds = draw_refunds(ctx, c, span, p, keep, rng)
        rows = card_rows(ctx, c, p, refunds, rng)
        terms = account_terms(c, rows, rng)
        before = rows.take(np.arange(len(rows)))
        after, _ = declines(ctx, c, rows, terms, span.first_day, rng)
        out.append((c, span, days, p, refunds, before, after))
    assert len(out) >= 3
    return out


def test_life_span_starts_at_adulthood_and_first_card(world):
    ctx, inputs = world
    for c in inputs:
        span = life_span(ctx, c)
        first_card = int(c.valid_from.min() // DAY)
        expected = max(ctx.start_day, c.birth_day + 6574, first_card)  # 18 years of 365.25 days
        assert (span is None) == (expected > ctx.end_day)
        if span is not None:
            assert span.first_day == expected
            assert span.last_day == ctx.end_day


def test_purchase_days_and_times(staged):
    for _c, span, days, p, *_ in staged:
        assert p.offsets.tolist() == [0, len(p)]
        assert ((p.day >= span.first_day) & (p.day <= span.last_day)).all()
        assert (p.time // DAY == p.day).all()  # within the day
        assert (p.time % 60 == 0).all()  # whole minutes
        assert (p.state == days.state[p.day - span.first_day]).all()


def test_amounts_positive_on_their_step(world, staged):
    cat = world[0].catalogue
    for *_, p, _, _, _ in staged:
        step_cents = np.round(cat.amount_step[p.item] * 100).astype(np.int64)
        assert (p.cents >= step_cents).all()
        assert (p.cents % step_cents == 0).all()


def test_channel_online_only_where_online_shopping_exists(world, staged):
    ctx = world[0]
    for *_, p, _, _, _ in staged:
        share = ctx.online_share[p.year - 1900, p.item]
        assert not p.online[share == 0].any()
        assert not (p.cash & p.online).any()  # cash is in person


def test_merchants(world, staged):
    ctx = world[0]
    for c, _, _, p, *_ in staged:
        assert (p.cell[p.online] == ONLINE_CELL).all()
        home = ~p.online & ~p.away
        assert (p.cell[home] == ctx.zip_city[c.home_zip_row]).all()
        assert (p.k >= 0).all()


def test_card_valid_at_the_rows_time(staged):
    for c, _, _, p, _, before, after in staged:
        ok = p.card_ok
        assert (c.valid_from[p.card[ok]] <= p.time[ok]).all()
        assert (p.time[ok] < c.valid_to[p.card[ok]]).all()
        assert p.cash[~ok & ~p.online].all()  # no usable card in person: cash
        for rows in (before, after):  # refunds and retries too
            assert (c.valid_from[rows.issue] <= rows.time).all()
            assert (rows.time < c.valid_to[rows.issue]).all()


def test_refunds_follow_their_purchase(staged):
    for _, span, _, p, refunds, before, _ in staged:
        assert (refunds.time > p.time[refunds.source] + DAY).all()  # at least 2 days less 3 hours later
        assert ((refunds.cents >= 1) & (refunds.cents <= p.cents[refunds.source])).all()
        assert (refunds.time < (span.last_day + 1) * DAY).all()
        assert (before.amount < 0).sum() == refunds.source.size


def test_card_rows_sorted_with_channels(staged):
    for c, _, _, p, _, before, after in staged:
        for rows in (before, after):
            assert (np.diff(rows.time) >= 0).all()
        assert ((before.chan == Channel.ONLINE) == p.online[before.source]).all()
        assert not before.pin[before.chan == Channel.ONLINE].any()
        assert not (after.chan == Channel.CHIP)[~c.has_chip[after.issue]].any()


def test_declines_and_retries(staged):
    retried = 0
    for *_, before, after in staged:
        extra = len(after) - len(before)
        assert extra >= 0
        retried += extra
        # Each retry repeats a declined row's purchase within 5 minutes (a refund shares its purchase's
        # source too, but not its amount).
        again = (after.source[1:] == after.source[:-1]) & (after.amount[1:] == after.amount[:-1])
        assert again.sum() == extra
        for i in np.flatnonzero(np.r_[False, again]):
            assert after.errors[i - 1] != 0
            assert 0 <= after.time[i] - after.time[i - 1] <= 300
    assert retried > 0


def test_pipeline_matches_stages(world, staged):
    ctx, _ = world
    for c, *_, after in staged:
        out = simulate_consumer(ctx, None, c)
        np.testing.assert_array_equal(out.card["timestamp"], after.time)
        np.testing.assert_array_equal(out.card["errors"], after.errors)


def test_merge_order_is_a_stable_sort():
    a = np.array([1, 3, 3, 7])
    b = np.array([0, 3, 8])
    o = merge_order(a, b)
    np.testing.assert_array_equal(o, np.argsort(np.concatenate([a, b]), kind="stable"))


def test_fraud_world_is_separate_from_the_context():
    cfg = load_config(consumers=2, start="2015-01-01", end="2015-03-31", seed=1)
    assert fraud_world(cfg).ctx is context(cfg)
    off = load_config(consumers=2, start="2015-01-01", end="2015-03-31", seed=1, fraud={"enabled": False})
    assert fraud_world(off) is None
    assert not hasattr(context(cfg), "fraud")
