"""Stage of a consumer's life (sim.consumer): refunds of earlier card purchases."""

from __future__ import annotations

import numpy as np

from cardworld.dates import SECONDS_PER_DAY, SECONDS_PER_HOUR
from cardworld.sim.context import SimContext
from cardworld.sim.rows import ConsumerInput, LifeSpan, Purchases, Refunds


def draw_refunds(
    ctx: SimContext,
    c: ConsumerInput,
    span: LifeSpan,
    p: Purchases,
    keep_card: np.ndarray,
    rng: np.random.Generator,
) -> Refunds:
    """Refunds of card purchases (keep_card) up to the configured amount, at the item's refund rate
    (scaled online and in person): a later negative row at the same merchant and card, mostly for the same
    amount (a partial share refunds 20-90%), 2+ days later (geometric) give or take 3 hours. Refunds land
    before the end of the run and while the card issue is still valid.

    Draws: one uniform per purchase (refund?), then per refund: a uniform (partial?), a uniform (share),
    a geometric (days), an integer (hours)."""
    rf = ctx.cfg.refunds
    p_refund = ctx.catalogue.refund_rate[p.item] * np.where(p.online, rf.online_scale, rf.in_person_scale)
    refund = keep_card & (p.cents <= rf.max_amount * 100) & (rng.random(len(p)) < p_refund)
    idx = np.flatnonzero(refund)
    part = rng.random(idx.size) < rf.partial_share
    frac = rng.uniform(0.2, 0.9, size=idx.size)
    cents = np.where(part, np.maximum(np.round(p.cents[idx] * frac), 1), p.cents[idx]).astype(np.int64)
    delay = (1 + rng.geometric(0.25, size=idx.size)) * SECONDS_PER_DAY
    delay = delay + rng.integers(-3, 4, size=idx.size) * SECONDS_PER_HOUR
    time = p.time[idx] + delay
    ok = (time < (span.last_day + 1) * SECONDS_PER_DAY) & (time < c.valid_to[p.card[idx]])
    return Refunds(source=idx[ok], time=time[ok], cents=cents[ok])


__all__ = ["draw_refunds"]
