"""One consumer's life as transactions: what they buy, when, where, with which card, and how it ends.

`simulate_consumer` runs a short pipeline of stages, each a function with its own docstring and test,
over small typed containers (sim.rows). Every draw comes from the consumer's own stream (so the result
does not depend on shards or workers), in this order:

  0. life_span (sim.tastes): the days from adulthood and the first card to the end of the run;
  1. tastes (sim.tastes): which catalogue items they buy, a personal yearly rate, amount level and
     spread, the items' hour profiles, a day of the month for bills;
  2. days (sim.purchases): home, getaway, vacation or business trip (sim.trips), weekday or weekend;
  3. purchase days (sim.purchases): per item and day class, a Poisson count at the personal rate, days
     uniform within the class; recurring bills on the personal day of the month;
  4. routine (sim.routine): a few personal time slots, shared across items, that shift at retirement
     and at 75; purchase times (sim.purchases): most purchases at home in a slot; 5. amounts;
  6. channel and cash (sim.channels): online by the item's yearly online share; cash more often for small
     amounts, low incomes and earlier years;
  7. merchants (sim.merchant_choice): regulars near home (a favourite per item and slot), destination
     merchants on trips, big sites online;
  8. card choice (sim.card_choice): an issue in use, by personal preference;
  9. refunds (sim.refunds) of earlier purchases at the same merchant and card;
 10. card rows (sim.declines): card purchases and refunds by time, chip after the liability shift, PIN;
     account terms that match the consumer's spending;
 11. fraud (sim.fraud, from its own streams): rows of fraudsters and random fraud on this consumer's cards
     join the owner's before declines are decided (they spend the owner's money);
 12. declines (sim.balances) and their retries a few minutes later;
 13. columns (sim.columns).
Purchases at will are thinned so a person's expected spending stays within their means; working days
move purchases out of working hours, so retirement shifts them back in. Rows come out sorted by time.
"""

from __future__ import annotations

from cardworld.rng import Stream, stream
from cardworld.sim.card_choice import choose_card_kernel, choose_cards
from cardworld.sim.channels import channel_and_cash
from cardworld.sim.columns import card_columns, cash_columns
from cardworld.sim.context import SimContext
from cardworld.sim.credit import credit_tables, cycle_inputs
from cardworld.sim.declines import account_terms, card_rows, declines, merge_fraud, merge_order
from cardworld.sim.detectors import Detector
from cardworld.sim.distress import distress_card_shift, distress_spending
from cardworld.sim.fraud import simulate_fraud
from cardworld.sim.fraud_world import FraudWorld
from cardworld.sim.life_events import distress_path
from cardworld.sim.merchant_choice import choose_merchants, merchant_place
from cardworld.sim.purchases import draw_days, purchase_amounts, purchase_days, purchase_times
from cardworld.sim.refunds import draw_refunds
from cardworld.sim.routine import draw_routine
from cardworld.sim.rows import ConsumerInput, ConsumerOutput
from cardworld.sim.tastes import draw_tastes, life_span


def simulate_consumer(
    ctx: SimContext, fraud: FraudWorld | None, c: ConsumerInput, detector: Detector | None = None
) -> ConsumerOutput | None:
    """Consumer c's card rows, cash rows, trips, visited merchants and card revocations, or None if they
    buy nothing in the run. fraud: the fraud world (None: no fraud); detector: sees each card's rows and
    may revoke it (sim.detectors)."""
    rng = stream(ctx.cfg.seed, Stream.CONSUMER, c.user_id)
    span = life_span(ctx, c)
    if span is None:
        return None
    credit = ctx.cfg.credit
    crng = stream(ctx.cfg.seed, Stream.CREDIT, c.user_id)
    path = distress_path(credit, span, c.birth_day, c.works, crng) if credit.enabled else None
    tastes = draw_tastes(ctx, c, rng)
    days = draw_days(ctx, c, span, rng)
    p = purchase_days(ctx, tastes, days, span, rng)
    if p is not None and path is not None:
        p = distress_spending(ctx, path, days, span, p, crng)
    if p is None or len(p) == 0:
        return None
    routine = draw_routine(ctx.cfg.routine, span, c.user_id, rng)
    purchase_times(ctx, c, routine, span, p, rng)
    purchase_amounts(ctx, tastes, p, rng)
    channel_and_cash(ctx, c, p, rng)
    choose_merchants(ctx, c, days.trips, p, rng)
    choose_cards(c, p, rng)
    if path is not None:
        distress_card_shift(c, path, p, crng)
    refunds = draw_refunds(ctx, c, span, p, ~p.cash & p.card_ok, rng)
    rows = card_rows(ctx, c, p, refunds, rng)
    terms = account_terms(c, rows, rng)
    stolen = None
    if fraud is not None:
        cents = (rows.amount * 100).round().astype("int64")
        stolen = simulate_fraud(ctx, fraud, c, rows.time, cents, rows.chan, rows.issue, rows.cell, rows.mcc,
                                rows.k, detector)  # fmt: skip
    if stolen is not None and len(stolen.episode):
        rows = merge_fraud(ctx, c, len(p), rows, stolen)
    cycle = cycle_inputs(credit, c, span, path, crng) if path is not None else None
    rows, statements = declines(ctx, c, rows, terms, span.first_day, rng, cycle)
    card, seen = card_columns(ctx, c, rows, stolen, len(p))
    credit_out = credit_tables(c, statements) if statements is not None else (None, None)
    return ConsumerOutput(
        user_id=c.user_id,
        card=card,
        cash=cash_columns(ctx, c, p),
        trips=days.trips,
        merchants=seen,
        revocations=stolen.revocations if stolen is not None else [],
        dark_web=stolen.dark_web if stolen is not None else [],
        statements=credit_out[0],
        defaults=credit_out[1],
    )


__all__ = [
    "ConsumerInput",
    "ConsumerOutput",
    "choose_card_kernel",
    "merchant_place",
    "merge_order",
    "simulate_consumer",
]
