"""Stages 0-1 of a consumer's life (sim.consumer): the days they are simulated on, and their tastes."""

from __future__ import annotations

import numpy as np

from cardworld.dates import DAYS_PER_YEAR, SECONDS_PER_DAY
from cardworld.sim.context import SimContext
from cardworld.sim.rows import ConsumerInput, LifeSpan, Tastes

BUDGET_SHARE = 1.5  # expected yearly spending (card and cash) at most this share of personal income
# (households pool incomes and borrow, so spending may exceed one earner's income)


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
    """Which catalogue items the consumer buys, at what personal yearly rate, amount level and spread
    (when in the day is sim.routine's).

    An average earner (config income mean) buys at the catalogue's reference-income rates. Purchases at
    will are thinned so that expected spending (card and cash) stays within BUDGET_SHARE of income; bills
    are paid regardless.

    Draws, in order: 1 normal (activity), n_items uniforms (buyer), n_items normals (rate), n_items normals
    (amount level), n_items uniforms (amount spread), n_items integers (bill day of the month)."""
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
    bill_dom = rng.integers(1, 29, size=n_items)
    return Tastes(rate=rate, amount_median=amount_med, amount_sigma=amount_sig, bill_dom=bill_dom)


__all__ = ["BUDGET_SHARE", "draw_tastes", "life_span"]
