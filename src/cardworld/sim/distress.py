"""How financial distress changes a consumer's spending and card use (the credit cycle's first signs).

    p = distress_spending(ctx, path, days, span, p, rng)     # after purchase_days
    distress_card_shift(c, path, p, rng)                      # after choose_cards

Distress (sim.life_events) changes spending before it changes payments:
  * less discretionary spending: a purchase at will of a discretionary item is dropped with probability
    DISCRETIONARY_CUT x distress, so necessities (NECESSITIES: food at home, fuel and transport, health,
    housing and bills, childcare) take a larger share;
  * cash advances and money transfers: ADVANCES_PER_MONTH x distress extra purchases a month of the
    money_transfer item (MCC 4829, which issuers treat as quasi-cash: a cash advance);
  * borrowing on credit: a purchase on a debit or prepaid card moves to the consumer's other usable card
    when that is a credit card, with probability CREDIT_SHIFT x distress, so utilisation rises.
Draws (Stream.CREDIT): one uniform per purchase at will, a Poisson count per month, one uniform per extra
purchase (its day), then one uniform per purchase (the card shift).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cardworld.codes import CardType
from cardworld.data.catalogue import Catalogue
from cardworld.sim.context import SimContext
from cardworld.sim.life_events import DistressPath
from cardworld.sim.rows import ConsumerInput, Days, LifeSpan, Purchases

DISCRETIONARY_CUT = 0.5
ADVANCES_PER_MONTH = 2.0
CREDIT_SHIFT = 0.6
ADVANCE_ITEM = "money_transfer"
NECESSITIES = frozenset(
    [
        "groceries",
        "convenience_store",
        "fuel",
        "tolls",
        "parking",
        "public_transit",
        "rail",
        "bus_lines",
        "auto_service",
        "auto_parts",
        "drugstore",
        "prescriptions",
        "doctor",
        "dentist",
        "hospital",
        "medical_services",
        "eye_care",
        "childcare",
        "discount_store",
        "wholesale_club",
        "laundry_dry_cleaning",
        "utilities",
        "phone_service",
        "internet_service",
        "rent",
        "insurance",
        "money_transfer",
        "fuel_dealer",
        "government_fees",
        "postal_courier",
        "tuition",
        "funeral",
    ]
)


@lru_cache(maxsize=4)
def necessity_items(cat: Catalogue) -> np.ndarray:
    """bool per catalogue item: a necessity (NECESSITIES) or a recurring bill, kept in distress."""
    return np.array([n in NECESSITIES for n in cat.names]) | cat.recurring


def distress_spending(
    ctx: SimContext, path: DistressPath, days: Days, span: LifeSpan, p: Purchases, rng: np.random.Generator
) -> Purchases:
    """p with discretionary purchases thinned and cash advances added in distressed months (module doc)."""
    cat = ctx.catalogue
    d = path.at_days(p.day)
    u = rng.random(len(p))
    keep = necessity_items(cat)[p.item] | (u >= DISCRETIONARY_CUT * d)
    counts = rng.poisson(ADVANCES_PER_MONTH * path.level)
    m = np.repeat(np.arange(path.month.size), counts)
    month_end = np.append(path.month[1:], span.last_day + 1)
    lo = np.maximum(path.month[m], span.first_day)
    hi = np.minimum(month_end[m], span.last_day + 1)
    day = lo + np.floor(rng.random(m.size) * (hi - lo)).astype(np.int64)
    item_id = cat.names.index(ADVANCE_ITEM)
    day = day[(cat.first_year[item_id] <= ctx.year(day)) & (ctx.year(day) <= cat.last_year[item_id])]
    if keep.all() and day.size == 0:
        return p
    item = np.concatenate([p.item[keep], np.full(day.size, item_id)])
    return Purchases(
        item=item,
        day=np.concatenate([p.day[keep], day]),
        year=np.concatenate([p.year[keep], ctx.year(day).astype(np.int64)]),
        state=np.concatenate([p.state[keep], days.state[day - span.first_day]]),
        trip=np.concatenate([p.trip[keep], days.trip_of_day[day - span.first_day]]),
        offsets=np.array([0, item.size], dtype=np.int64),
    )


def distress_card_shift(c: ConsumerInput, path: DistressPath, p: Purchases, rng: np.random.Generator) -> None:
    """Move purchases from debit or prepaid cards to the other usable card where that is a credit card,
    with probability CREDIT_SHIFT x distress (swapping p.card and p.alt_card)."""
    u = rng.random(len(p))
    d = path.at_days(p.day)
    i = np.flatnonzero((d > 0.0) & p.card_ok & ~p.cash & (p.alt_card >= 0))  # the candidates
    alt, card = p.alt_card[i], p.card[i]
    credit = CardType.CREDIT
    shift = (c.card_kind[alt] == credit) & (c.card_kind[card] != credit) & (u[i] < CREDIT_SHIFT * d[i])
    if shift.any():
        j = i[shift]
        p.card[j], p.alt_card[j] = alt[shift], card[shift]


__all__ = ["NECESSITIES", "distress_card_shift", "distress_spending", "necessity_items"]
