"""Stages of a consumer's life (sim.consumer): online or in person, cash or card, chip or swipe, PIN."""

from __future__ import annotations

import numpy as np

from cardworld.codes import CardType, Channel
from cardworld.dates import SECONDS_PER_DAY
from cardworld.sim.context import LARGE_CASH, SMALL_CASH, YEAR0, SimContext
from cardworld.sim.rows import ConsumerInput, Purchases


def channel_and_cash(ctx: SimContext, c: ConsumerInput, p: Purchases, rng: np.random.Generator) -> None:
    """Sets p.online (by the item's online share that year times the personal propensity, at most 97%)
    and p.cash (in person only; more often for small amounts, low incomes and earlier years).

    Draws: one uniform per purchase (online), then one per purchase (cash)."""
    cfg = ctx.cfg
    cat = ctx.catalogue
    n = len(p)
    yi = np.clip(p.year - YEAR0, 0, ctx.online_share.shape[0] - 1)
    p_online = np.clip(ctx.online_share[yi, p.item] * c.online_propensity, 0, 0.97)
    p.online = rng.random(n) < p_online
    small = np.where(p.cents < cfg.cash.small_amount * 100, SMALL_CASH, LARGE_CASH)
    low = 1.3 if c.yearly_income < cfg.cash.low_income else 0.85
    p_cash = np.clip(
        ctx.cash_share[yi] * c.cash_propensity * cat.cash_affinity[p.item] * small * low, 0, 0.95
    )
    p.cash = ~p.online & (rng.random(n) < p_cash)


def card_channels(
    ctx: SimContext,
    c: ConsumerInput,
    online: np.ndarray,
    issue: np.ndarray,
    time: np.ndarray,
    item: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(Channel int8, PIN entered bool) of card rows: online purchases are ONLINE; in person a chip card
    reads as CHIP from the liability shift on where the terminal has adopted chip (that year's adoption),
    else SWIPE; a PIN is entered in person on debit and prepaid cards at the item's PIN share.

    Draws: one uniform per row (chip terminal), then one per row (PIN)."""
    n = time.size
    year = np.clip(ctx.year(time // SECONDS_PER_DAY) - YEAR0, 0, None)
    chip = c.has_chip[issue] & (time >= ctx.chip_shift) & (rng.random(n) < ctx.chip_adoption[year])
    chan = np.where(online, Channel.ONLINE, np.where(chip, Channel.CHIP, Channel.SWIPE)).astype(np.int8)
    card_present = chan != Channel.ONLINE
    pin_share = ctx.catalogue.card_present_pin_share[item]
    pin = card_present & (c.card_kind[issue] != CardType.CREDIT) & (rng.random(n) < pin_share)
    return chan, pin


__all__ = ["card_channels", "channel_and_cash"]
