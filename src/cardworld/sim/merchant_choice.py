"""Stage of a consumer's life (sim.consumer): where each purchase is made (merchant cell, MCC and k), and
where a merchant is (city, state, ZIP codes)."""

from __future__ import annotations

import numpy as np

from cardworld.codes import TripKind
from cardworld.sim.context import SimContext
from cardworld.sim.routine import N_PHASES
from cardworld.sim.rows import ConsumerInput, Purchases
from cardworld.sim.trips import Trips
from cardworld.world.merchants import FOREIGN_BASE, ONLINE_CELL

ONLINE_SITES = 60  # online merchants per MCC (a few big sites take most)


def choose_merchants(
    ctx: SimContext, c: ConsumerInput, trips: Trips, p: Purchases, rng: np.random.Generator
) -> None:
    """Sets p.cell, p.mcc, p.k and p.away: the home city, the trip's destination (a foreign one as its own
    cell) or ONLINE; the MCC by the item's weights (a regular merchant's own MCC at home); k from
    regular_merchants (a purchase in a routine slot mostly at the favourite of its item and slot).

    Draws: one uniform per purchase (MCC), then those of regular_merchants."""
    cat = ctx.catalogue
    item = p.item
    mcc_pos = np.searchsorted(ctx.mcc_gcum, item + rng.random(len(p)), side="right")
    mcc_pos = np.minimum(mcc_pos, cat.mcc_offsets[item + 1] - 1)
    mcc = cat.mcc_codes[mcc_pos].astype(np.int64)
    home_city = int(ctx.zip_city[c.home_zip_row])
    cell = np.full(len(p), home_city, dtype=np.int64)
    away = (p.state != TripKind.HOME) & (p.trip >= 0)
    trip_dest = np.append(trips.dest, -1)  # index -1 (no trip) reads the sentinel
    dest = np.where(away, trip_dest[p.trip], -1)
    dest_city = np.where(dest >= 0, ctx.dest_city[np.maximum(dest, 0)], -1)
    cell = np.where(away & (dest_city >= 0), dest_city, cell)
    cell = np.where(away & (dest_city < 0), FOREIGN_BASE + dest, cell)
    cell = np.where(p.online, ONLINE_CELL, cell)
    k, reg_mcc = regular_merchants(
        ctx, rng, home_city, item, p.slot, cell, p.online, away, p.trip, len(trips.dest)
    )
    p.cell, p.k, p.away = cell, k, away
    p.mcc = np.where(reg_mcc >= 0, reg_mcc, mcc)  # each merchant has exactly one MCC


def regular_merchants(
    ctx: SimContext,
    rng: np.random.Generator,
    home_city: int,
    item: np.ndarray,
    slot: np.ndarray,
    cell: np.ndarray,
    online: np.ndarray,
    away: np.ndarray,
    trip: np.ndarray,
    n_trips: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(k, regular's MCC or -1) per row. People are loyal (config routine.loyalty): at home, a personal
    set of 1-6 regulars per item (Zipf weights, each with its own MCC and k), one of them the favourite
    of each (item, routine slot): a loyal purchase in a slot goes to it, any other to a regular by
    weight, and with probability routine.new_merchant_share to another merchant. Away: a loyal purchase
    at the trip's favourite merchant for the item, others at any merchant there. Online: a loyal
    purchase at the person's favourite site for the item, others among a few big sites.
    slot: routine slot id per row, -1 off the routine; trip: trip index per row, -1 at home.

    Draws: n_items Poisson (regulars per item), a uniform per regular (MCC), a uniform per regular (k),
    then per row: a uniform (which regular), a uniform (new merchant?), a uniform (k); then
    (n_items, routine slots) uniforms (slot favourites), a uniform per row (loyal?), (n_trips, n_items)
    uniforms (trip favourites), n_items uniforms (favourite sites)."""
    n = item.size
    cat = ctx.catalogue
    n_items = len(cat)
    n_reg = np.minimum(1 + rng.poisson(1.2, size=n_items), 6)
    reg_item = np.repeat(np.arange(n_items), n_reg)
    rank = np.arange(reg_item.size) - np.repeat(np.cumsum(n_reg) - n_reg, n_reg)
    w = 1.0 / (1.0 + rank) ** 1.3
    grp_sum = np.bincount(reg_item, weights=w, minlength=n_items)
    within = np.cumsum(w) - np.repeat(np.cumsum(grp_sum) - grp_sum, n_reg)
    gcum = reg_item + within / grp_sum[reg_item]
    last = np.cumsum(n_reg) - 1
    gcum[last] = np.arange(n_items) + 1.0
    pos = np.searchsorted(ctx.mcc_gcum, reg_item + rng.random(reg_item.size), side="right")
    pos = np.minimum(pos, cat.mcc_offsets[reg_item + 1] - 1)
    reg_mcc = cat.mcc_codes[pos].astype(np.int64)
    n_home = ctx.city_merchants[home_city]
    pop = ctx.cfg.routine.merchant_popularity
    reg_k = np.floor(rng.random(reg_item.size) ** pop * n_home).astype(np.int64)
    r = np.minimum(np.searchsorted(gcum, item + rng.random(n), side="right"), last[item])
    u_new = rng.random(n)
    u_k = rng.random(n)
    cfg = ctx.cfg.routine
    n_slots = N_PHASES * (cfg.weekday_slots + cfg.weekend_slots)
    fav_item = np.repeat(np.arange(n_items), n_slots)
    fav = np.minimum(
        np.searchsorted(gcum, fav_item + rng.random(fav_item.size), side="right"), last[fav_item]
    )
    loyal = rng.random(n) < cfg.loyalty
    trip_fav = rng.random((max(n_trips, 1), n_items))
    site_fav = rng.random(n_items)
    r = np.where(loyal & (slot >= 0), fav[item * n_slots + np.maximum(slot, 0)], r)
    u_k = np.where(loyal & away, trip_fav[np.maximum(trip, 0), item], u_k)
    u_k = np.where(loyal & online, site_fav[item], u_k)
    regular = ~online & ~away & (u_new >= cfg.new_merchant_share)
    k = np.where(regular, reg_k[r], 0)
    other = np.flatnonzero(~regular & ~online)  # each formula on its own rows only
    c = cell[other]
    size = np.where(
        c >= FOREIGN_BASE,
        ctx.dest_merchants[np.clip(c - FOREIGN_BASE, 0, ctx.dest_merchants.size - 1)],
        ctx.city_merchants[np.clip(c, 0, ctx.city_merchants.size - 1)],
    )
    k[other] = np.floor(u_k[other] ** pop * size).astype(np.int64)
    web = np.flatnonzero(online)
    k[web] = np.floor(ONLINE_SITES * u_k[web] ** 3).astype(np.int64)
    return k, np.where(regular, reg_mcc[r], -1)


def merchant_place(ctx: SimContext, cell: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, ...]:
    """(city, state, zip) codes of merchants (cells and hashes) into ctx.city_vocab, ctx.state_vocab and
    the ZIP table; -1 is null (no state online, no ZIP online or abroad). A city merchant's ZIP is one of
    its city's, picked by its hash."""
    online = cell == ONLINE_CELL
    foreign = cell >= FOREIGN_BASE
    d = np.clip(cell - FOREIGN_BASE, 0, len(ctx.dest.city) - 1)
    cc = np.clip(cell, 0, len(ctx.cities) - 1)
    city = np.where(online, ctx.online_city, np.where(foreign, len(ctx.cities) + d, cc))
    state = np.where(online, -1, np.where(foreign, ctx.dest_state[d], ctx.city_state[cc]))
    nz = ctx.cities.zip_offsets[cc + 1] - ctx.cities.zip_offsets[cc]
    zrow = ctx.cities.zip_rows[ctx.cities.zip_offsets[cc] + (h % nz.astype(np.uint64)).astype(np.int64)]
    return city, state, np.where(online | foreign, -1, zrow)


__all__ = ["choose_merchants", "merchant_place", "regular_merchants"]
