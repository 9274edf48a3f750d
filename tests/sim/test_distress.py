"""Spending in distress (sim.distress): purchases of a real consumer of a small world, under a distress
path built by hand (calm months and distressed ones)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from cardworld.codes import CardType, LifeEvent
from cardworld.config import load_config
from cardworld.engine.shard import consumer_inputs, context
from cardworld.rng import Stream, stream
from cardworld.sim.distress import (
    ADVANCE_ITEM,
    CREDIT_SHIFT,
    DISCRETIONARY_CUT,
    NECESSITIES,
    distress_card_shift,
    distress_spending,
)
from cardworld.sim.life_events import DistressPath
from cardworld.sim.purchases import draw_days, purchase_days
from cardworld.sim.rows import Purchases
from cardworld.sim.tastes import draw_tastes, life_span
from cardworld.world.cards import make_cards
from cardworld.world.consumers import make_consumers


@pytest.fixture(scope="module")
def consumer():
    """(ctx, consumer, span, days, purchases) of the consumer with the most purchases over 2013-2015."""
    cfg = load_config(consumers=6, start="2013-01-01", end="2015-12-31", seed=5)
    consumers = make_consumers(cfg, np.arange(6, dtype=np.int64))
    cards, accounts = make_cards(cfg, consumers)
    ctx = context(cfg)
    best = None
    for c in consumer_inputs(consumers, cards, accounts):
        rng = stream(cfg.seed, Stream.CONSUMER, c.user_id)
        span = life_span(ctx, c)
        if span is None:
            continue
        days = draw_days(ctx, c, span, rng)
        p = purchase_days(ctx, draw_tastes(ctx, c, rng), days, span, rng)
        if p is not None and (best is None or len(p) > len(best[-1])):
            best = (ctx, c, span, days, p)
    assert best is not None
    assert len(best[-1]) > 1000
    return best


def path_for(span, level_of_month) -> DistressPath:
    """A path over the span's months; level_of_month(k) for month k."""
    lo = np.datetime64(int(span.first_day), "D").astype("datetime64[M]")
    hi = np.datetime64(int(span.last_day), "D").astype("datetime64[M]") + 1
    month = np.arange(lo, hi, dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)
    level = np.array([level_of_month(k) for k in range(month.size)], dtype=float)
    cause = np.where(level > 0, LifeEvent.JOB_LOSS, LifeEvent.NONE).astype(np.int8)
    return DistressPath.over(span, month, level, cause)


def month_of(path: DistressPath, day: np.ndarray) -> np.ndarray:
    return np.searchsorted(path.month, day, side="right") - 1


def test_no_distress_returns_the_purchases_unchanged(consumer):
    ctx, _c, span, days, p = consumer
    path = path_for(span, lambda k: 0.0)
    assert distress_spending(ctx, path, days, span, p, np.random.default_rng(1)) is p


def test_distress_thins_discretionary_items_and_adds_money_transfers(consumer):
    ctx, _c, span, days, p = consumer
    cat = ctx.catalogue
    path = path_for(span, lambda k: 1.0 if 6 <= k < 18 else 0.0)  # a year of full distress
    out = distress_spending(ctx, path, days, span, p, np.random.default_rng(2))
    advance = cat.names.index(ADVANCE_ITEM)
    kept_item = np.array([n in NECESSITIES for n in cat.names]) | cat.recurring
    before, after = Counter(zip(p.item, p.day, strict=True)), Counter(zip(out.item, out.day, strict=True))
    distressed = lambda d: path.level[month_of(path, np.asarray(d))] > 0  # noqa: E731
    for (item, d), n in before.items():
        if item == advance:  # kept, and extra ones may fall on the same day
            assert after[(item, d)] >= n
        elif kept_item[item] or not distressed(d):  # necessities, bills and calm months: all kept
            assert after[(item, d)] == n, (cat.names[item], d)
        else:
            assert after[(item, d)] <= n
    # Discretionary purchases of distressed months: about half dropped (DISCRETIONARY_CUT x 1).
    disc = ~kept_item[p.item] & distressed(p.day)
    n_kept = sum(min(after[k], n) for k, n in Counter(zip(p.item[disc], p.day[disc], strict=True)).items())
    share = n_kept / disc.sum()
    assert disc.sum() > 200
    assert abs(share - (1 - DISCRETIONARY_CUT)) < 4 * np.sqrt(0.25 / disc.sum())
    # Extra money transfers: only in distressed months, about ADVANCES_PER_MONTH (2) a month.
    extra = Counter(out.day[out.item == advance]) - Counter(p.day[p.item == advance])
    extra_days = np.array(sorted(extra.elements()), dtype=np.int64)
    assert distressed(extra_days).all()
    assert 10 <= extra_days.size <= 45  # Poisson(24) over 12 months
    assert ((extra_days >= span.first_day) & (extra_days <= span.last_day)).all()
    # Every purchase keeps a consistent day, year and trip state.
    assert (out.state == days.state[out.day - span.first_day]).all()
    assert (out.trip == days.trip_of_day[out.day - span.first_day]).all()
    assert (out.year == ctx.year(out.day)).all()
    assert out.offsets.tolist() == [0, len(out)]


def shift_case(consumer, n: int = 6000):
    """Purchases over the span on hand-picked (card, alternative) pairs; cards: debit, prepaid, credit,
    debit."""
    _ctx, c, span, _days, _p = consumer
    rng = np.random.default_rng(3)
    c = dataclasses.replace(c, card_kind=np.array([CardType.DEBIT, CardType.PREPAID, CardType.CREDIT,
                                                   CardType.DEBIT], np.int8))  # fmt: skip
    pairs = np.array([(0, 2), (1, 2), (0, 3), (2, 0), (0, -1), (3, 2)])
    pick = rng.integers(0, len(pairs), n)
    day = rng.integers(span.first_day, span.last_day + 1, n)
    z = np.zeros(n, np.int64)
    p = Purchases(item=z, day=day, year=z, state=z.astype(np.int8), trip=z.astype(np.int32),
                  offsets=np.array([0, n]), card=pairs[pick, 0].copy(), alt_card=pairs[pick, 1].copy(),
                  card_ok=rng.random(n) < 0.9, cash=rng.random(n) < 0.1)  # fmt: skip
    return c, span, p


def test_card_shift_moves_debit_and_prepaid_purchases_to_a_credit_alternative(consumer):
    c, span, p = shift_case(consumer)
    path = path_for(span, lambda k: 1.0 if k % 2 else 0.0)  # every other month in full distress
    card, alt = p.card.copy(), p.alt_card.copy()
    distress_card_shift(c, path, p, np.random.default_rng(4))
    moved = p.card != card
    assert (p.card[moved] == alt[moved]).all()  # swapped with the alternative
    assert (p.alt_card[moved] == card[moved]).all()
    assert (p.alt_card[~moved] == alt[~moved]).all()
    assert (c.card_kind[p.card[moved]] == CardType.CREDIT).all()
    assert (c.card_kind[card[moved]] != CardType.CREDIT).all()
    assert not moved[p.cash | ~p.card_ok].any()
    calm = path.level[month_of(path, p.day)] == 0
    assert not moved[calm].any()
    eligible = ~calm & ~p.cash & p.card_ok & (alt >= 0) & (alt == 2) & (card != 2)
    assert not moved[~eligible].any()
    share = moved[eligible].mean()
    assert abs(share - CREDIT_SHIFT) < 4 * np.sqrt(0.24 / eligible.sum())


def test_card_shift_does_nothing_without_distress(consumer):
    c, span, p = shift_case(consumer, n=500)
    card = p.card.copy()
    distress_card_shift(c, path_for(span, lambda k: 0.0), p, np.random.default_rng(5))
    assert (p.card == card).all()
