"""Stages 0-1 of a consumer's life (sim.consumer): the days they are simulated on, and their tastes."""

from __future__ import annotations

import numpy as np

from cardworld.dates import DAYS_PER_YEAR, SECONDS_PER_DAY
from cardworld.sim.context import SimContext
from cardworld.sim.rows import ConsumerInput, LifeSpan, Tastes

BUDGET_SHARE = 1.5  # expected yearly spending (card and cash) at most this share of personal income
# (households pool incomes and borrow, so spending may exceed one earner's income)
WORK_HOUR_WEIGHT = 0.5
_WORK_HOURS = np.where(np.isin(np.arange(24), [9, 10, 11, 13, 14, 15, 16]), WORK_HOUR_WEIGHT, 1.0)
_FAVOURITE_WEIGHTS = (0.3, 0.18, 0.12)


def life_span(ctx: SimContext, c: ConsumerInput) -> LifeSpan | None:
    """The days from adulthood (18) and the first card, within the run; None if there are none. No draws."""
    first_card = int(c.valid_from.min() // SECONDS_PER_DAY) if c.valid_from.size else ctx.end_day + 1
    adult_day = c.birth_day + int(18 * DAYS_PER_YEAR)
    first_day = max(ctx.start_day, adult_day, first_card)
    if first_day > ctx.end_day:
        return None
    return LifeSpan(
        first_day=first_day,
        last_day=ctx.end_day,
        retire_day=c.birth_day + int(c.retirement_age * DAYS_PER_YEAR),
        old_day=c.birth_day + int(75 * DAYS_PER_YEAR),
    )


def draw_tastes(ctx: SimContext, c: ConsumerInput, rng: np.random.Generator) -> Tastes:
    """Which catalogue items the consumer buys, at what personal yearly rate, amount level and spread, and
    their favourite hours per item (TabFormer consumers are spiky: most purchases fall in a few slots).

    An average earner (config income mean) buys at the catalogue's reference-income rates. Purchases at
    will are thinned so that expected spending (card and cash) stays within BUDGET_SHARE of income; bills
    are paid regardless.

    Draws, in order: 1 normal (activity), n_items uniforms (buyer), n_items normals (rate), n_items normals
    (amount level), n_items uniforms (amount spread), (n_items, 3) uniforms (favourite hours), n_items
    integers (bill day of the month)."""
    cfg = ctx.cfg
    cat = ctx.catalogue
    n_items = len(cat)
    rate_f, amount_f = cat.income_factors(c.yearly_income / cfg.table1.income.mean * cat.reference_income)
    tpy = cfg.table1.transactions_per_year
    cv = tpy.sd / tpy.mean if tpy.mean > 0 else 0.0
    s2 = np.log1p(cv * cv)
    activity = np.exp(rng.normal(-0.5 * s2, np.sqrt(s2)))  # mean 1, cv of transactions per year
    buyer = rng.random(n_items) < cat.buyers
    rate = np.exp(np.log(cat.rate_median_per_year) + cat.rate_sigma * rng.normal(size=n_items))
    rate *= rate_f * ctx.rate_scale * ctx.cash_boost * activity * buyer
    amount_med = cat.amount_median * amount_f * np.exp(0.25 * rng.normal(size=n_items))
    amount_sig = cat.amount_sigma * rng.uniform(0.8, 1.1, size=n_items)
    spend = rate * amount_med * np.exp(0.5 * amount_sig**2)
    at_will = ~cat.recurring
    room = max(BUDGET_SHARE * c.yearly_income - spend[~at_will].sum(), 0.1 * spend[at_will].sum())
    if spend[at_will].sum() > room:
        rate = np.where(at_will, rate * room / spend[at_will].sum(), rate)
    hours = personal_hours(rng, cat.hours)
    bill_dom = rng.integers(1, 29, size=n_items)
    return Tastes(
        rate=rate, amount_median=amount_med, amount_sigma=amount_sig, hours=hours, bill_dom=bill_dom
    )


def personal_hours(rng: np.random.Generator, item_hours: np.ndarray) -> np.ndarray:
    """Cumulative personal hour distributions, (2 * n_items, 24): free days, then working days.

    40% the item's profile, 60% on three favourite hours drawn from it (weights 0.3, 0.18, 0.12): TabFormer
    consumers are spiky. On working days the hours spent at work (9-11 and 13-16) keep WORK_HOUR_WEIGHT of
    their weight, so retirement moves purchases into the working day. Draws (n_items, 3) uniforms."""
    n_items = item_hours.shape[0]
    cum = np.cumsum(item_hours, axis=1)
    fav = (cum[:, None, :] < rng.random((n_items, 3))[:, :, None] * cum[:, -1:, None]).sum(axis=2).clip(0, 23)
    personal = 0.4 * item_hours / item_hours.sum(axis=1, keepdims=True)
    for j, w in enumerate(_FAVOURITE_WEIGHTS):
        personal[np.arange(n_items), fav[:, j]] += w
    both = np.concatenate([personal, personal * _WORK_HOURS[None, :]])
    pc = np.cumsum(both, axis=1)
    return pc / pc[:, -1:]


__all__ = ["BUDGET_SHARE", "WORK_HOUR_WEIGHT", "draw_tastes", "life_span", "personal_hours"]
