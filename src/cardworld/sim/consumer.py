"""One consumer's life as transactions: what they buy, when, where, with which card, and how it ends.

Per consumer, from their own stream (so the result does not depend on shards or workers):
  1. tastes: which catalogue items they buy, a personal yearly rate, amount level and spread, and a few
     favourite hours per item (TabFormer consumers are spiky: most purchases fall in a few slots);
  2. days: home, getaway, vacation or business trip (sim.trips), weekday or weekend;
  3. purchases: per item and day class, a Poisson count at the personal rate times the item's day-type
     and trip-state propensities, spread uniformly over the days of that class; recurring bills fall on
     a personal day of the month instead;
  4. where: near home from a personal set of regular merchants (the favourite grocery, the usual gas
     station) with occasional new ones; at the destination while travelling; online at a few big sites;
  5. how: cash (to cash.parquet) more often for small amounts, low incomes and earlier years; otherwise
     a card active that day, by personal preference; online by the item's yearly online share; chip
     only on chip cards after the liability shift, as terminals adopt it; swipe otherwise;
  6. afterwards: refunds of earlier purchases at the same merchant a few days later (some partial), and
     declines from balances and other causes (sim.balances), most of them retried a few minutes later
     (after Insufficient Balance on another card);
  7. fraud (sim.fraud, from its own streams): rows of fraudsters and random fraud on this consumer's cards
     join the owner's before declines are decided (they spend the owner's money); a revoked card is
     replaced under the same card index (world.reissue), where the owner's later purchases continue.
Purchases at will are thinned so a person's expected spending stays within their means (BUDGET_SHARE of
income); working days move purchases out of working hours, so retirement shifts them back in.
Rows come out sorted by time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.jit import kernel
from cardworld.rng import Stream, stream
from cardworld.sim.balances import INSUFFICIENT, simulate_balances
from cardworld.sim.context import LARGE_CASH, SMALL_CASH, YEAR0, SimContext
from cardworld.sim.detectors import Detector
from cardworld.sim.fraud import simulate_fraud
from cardworld.sim.trips import BUSINESS, HOME, Trips, day_states, simulate_trips
from cardworld.world.merchants import FOREIGN_BASE, ONLINE_CELL, merchant_hash

SWIPE, CHIP, ONLINE = 0, 1, 2
USE_CHIP = ("Swipe Transaction", "Chip Transaction", "Online Transaction")
_DAY = 86400


@dataclass
class ConsumerInput:
    """What the simulator needs of one consumer, their card issues and accounts (plain arrays)."""

    user_id: int
    birth_day: int  # days since 1970
    retirement_age: int
    yearly_income: float
    home_zip_row: int
    travel_propensity: float
    online_propensity: float
    cash_propensity: float
    works: bool
    # card issues
    card_index: np.ndarray  # int16
    valid_from: np.ndarray  # int64 seconds
    valid_to: np.ndarray  # int64 seconds
    has_chip: np.ndarray  # bool
    card_kind: np.ndarray  # int8: 0 credit, 1 debit, 2 prepaid
    card_account: np.ndarray  # int32 local account of each issue
    # accounts
    acct_kind: np.ndarray
    acct_limit: np.ndarray
    acct_balance0: np.ndarray
    acct_pay_share: np.ndarray
    acct_paycheck: np.ndarray
    acct_pay_period: np.ndarray


@dataclass
class ConsumerOutput:
    user_id: int
    card: dict[str, np.ndarray]  # transaction columns (coded), sorted by time
    cash: dict[str, np.ndarray]
    trips: Trips
    merchants: np.ndarray  # (m, 3) int64 unique (cell, mcc, k) visited
    revocations: list[tuple[int, int]]  # (card index, second it is revoked), by time
    dark_web: list[tuple[int, int]]  # (card index, second): card numbers sold on the dark web


def simulate_consumer(
    ctx: SimContext, c: ConsumerInput, detector: Detector | None = None
) -> ConsumerOutput | None:
    cfg = ctx.cfg
    cat = ctx.catalogue
    rng = stream(cfg.seed, Stream.CONSUMER, c.user_id)
    first_card = int(c.valid_from.min() // _DAY) if c.valid_from.size else ctx.end_day + 1
    adult_day = c.birth_day + int(18 * 365.25)
    first_day = max(ctx.start_day, adult_day, first_card)
    last_day = ctx.end_day
    if first_day > last_day:
        return None
    n_days = last_day - first_day + 1
    retire_day = c.birth_day + int(c.retirement_age * 365.25)
    old_day = c.birth_day + int(75 * 365.25)

    # 1. Tastes.
    n_items = len(cat)
    # An average earner (config income mean) buys at the catalogue's reference-income rates.
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
    # Living within one's means: purchases at will are thinned so that expected spending (card and cash)
    # stays within BUDGET_SHARE of income; bills are paid regardless.
    spend = rate * amount_med * np.exp(0.5 * amount_sig**2)
    at_will = ~cat.recurring
    room = max(BUDGET_SHARE * c.yearly_income - spend[~at_will].sum(), 0.1 * spend[at_will].sum())
    if spend[at_will].sum() > room:
        rate = np.where(at_will, rate * room / spend[at_will].sum(), rate)
    hours = _personal_hours(rng, cat.hours)  # (2 * n_items, 24): free days, then working days
    bill_dom = rng.integers(1, 29, size=n_items)

    # 2. Days.
    def pick_destination(r: np.random.Generator, kinds: np.ndarray, foreign: np.ndarray) -> np.ndarray:
        w = np.where(kinds[:, None] == 3, ctx.dest.business[None, :], ctx.dest.leisure[None, :])
        w = w * (ctx.dest.foreign[None, :] == foreign[:, None])
        cum = np.cumsum(w, axis=1)
        u = r.random(kinds.size) * cum[:, -1]
        return (cum < u[:, None]).sum(axis=1)

    works_until = retire_day if c.works else first_day - 1
    trips = simulate_trips(
        rng, cfg.trips, first_day, last_day, c.travel_propensity, works_until, old_day, pick_destination
    )
    state, trip_of_day = day_states(trips, first_day, n_days)
    days = first_day + np.arange(n_days)
    weekend = ((days + 3) % 7) >= 5
    klass = state.astype(np.int64) * 2 + weekend
    order = np.argsort(klass, kind="stable")
    n_class = np.bincount(klass, minlength=8)
    class_off = np.concatenate(([0], np.cumsum(n_class)))

    # 3. Purchases at will: Poisson per (item, day class), days uniform within the class.
    wk = np.stack([cat.weekday, cat.weekend], axis=1)  # (items, 2)
    per_day = rate / 365.25
    lam = (
        per_day[:, None] * cat.trip_factor[:, np.arange(8) // 2] * wk[:, np.arange(8) % 2] * n_class[None, :]
    )
    lam[cat.recurring] = 0.0
    counts = rng.poisson(lam)
    item = np.repeat(np.repeat(np.arange(n_items), 8), counts.ravel())
    cls = np.repeat(np.tile(np.arange(8), n_items), counts.ravel())
    pick = np.floor(rng.random(item.size) * n_class[cls]).astype(np.int64)
    day = days[order[class_off[cls] + pick]]
    # Recurring bills: a personal day of the month, at home rates (12 a year at most).
    rec_items = np.flatnonzero(cat.recurring & (rate > 0))
    if rec_items.size:
        dom = ctx.dom(days)
        r_item, r_day = [item], [day]
        for i in rec_items.tolist():
            every = max(1, round(12.0 / max(rate[i], 1e-9)))  # bill every `every` months
            hit = days[dom == bill_dom[i]]
            hit = hit[np.arange(hit.size) % every == 0]
            r_item.append(np.full(hit.size, i))
            r_day.append(hit)
        item, day = np.concatenate(r_item), np.concatenate(r_day)
    year = ctx.year(day).astype(np.int64)
    alive = (cat.first_year[item] <= year) & (year <= cat.last_year[item])
    item, day, year = item[alive], day[alive], year[alive]
    n = item.size
    if n == 0:
        return None
    st = state[day - first_day]
    # Working days (a worker before retirement, Monday-Friday, at home or on a business trip) use the
    # working-day hours; retirees, weekends and holidays the free-day ones.
    working = c.works & (day < retire_day) & (((day + 3) % 7) < 5) & ((st == HOME) | (st == BUSINESS))
    key = item + n_items * working
    # Inverse CDF over the flattened (row, hour) cumulative table: row r's hours are r + cum[r, h].
    flat_hours = (np.arange(2 * n_items)[:, None] + hours).ravel()
    hour = (np.searchsorted(flat_hours, key + rng.random(n), side="right") - key * 24).clip(0, 23)
    minute = rng.integers(0, 60, size=n)
    time = day * _DAY + hour * 3600 + minute * 60
    trip = trip_of_day[day - first_day]

    # Amounts in cents (money transfers in steps of $20).
    amt = np.exp(np.log(amount_med[item]) + amount_sig[item] * rng.normal(size=n))
    amt = np.where(cat.recurring[item], amount_med[item], amt)
    amt = np.clip(amt, cat.amount_min[item], cat.amount_max[item])
    step = cat.amount_step[item]
    amt = np.maximum(np.round(amt / step), 1) * step
    cents = np.round(amt * 100).astype(np.int64)

    # 5. Channel and cash.
    yi = np.clip(year - YEAR0, 0, ctx.online_share.shape[0] - 1)
    p_online = np.clip(ctx.online_share[yi, item] * c.online_propensity, 0, 0.97)
    online = rng.random(n) < p_online
    small = np.where(cents < cfg.cash.small_amount * 100, SMALL_CASH, LARGE_CASH)
    low = 1.3 if c.yearly_income < cfg.cash.low_income else 0.85
    p_cash = np.clip(ctx.cash_share[yi] * c.cash_propensity * cat.cash_affinity[item] * small * low, 0, 0.95)
    cash = ~online & (rng.random(n) < p_cash)

    # 4. Merchants: cell, MCC and k.
    mcc_pos = np.searchsorted(ctx.mcc_gcum, item + rng.random(n), side="right")
    mcc_pos = np.minimum(mcc_pos, cat.mcc_offsets[item + 1] - 1)
    mcc = cat.mcc_codes[mcc_pos].astype(np.int64)
    home_city = int(ctx.zip_city[c.home_zip_row])
    cell = np.full(n, home_city, dtype=np.int64)
    away = (st != HOME) & (trip >= 0)
    trip_dest = np.append(trips.dest, -1)  # index -1 (no trip) reads the sentinel
    dest = np.where(away, trip_dest[trip], -1)
    dest_city = np.where(dest >= 0, ctx.dest_city[np.maximum(dest, 0)], -1)
    cell = np.where(away & (dest_city >= 0), dest_city, cell)
    cell = np.where(away & (dest_city < 0), FOREIGN_BASE + dest, cell)
    cell = np.where(online, ONLINE_CELL, cell)
    k = _choose_k(ctx, rng, home_city, item, cell, online, away)
    # Regular merchants carry their own MCC (each merchant has exactly one): re-read it from the regulars.
    mcc = np.where(k[1] >= 0, k[1], mcc)
    k = k[0]

    # Card choice among issues active at that time, by personal preference.
    card_pick, card_alt, card_ok = _choose_card(rng, c, time, online | away, cents)
    # Without a usable card (none active, or only a prepaid card too small) an in-person purchase is paid
    # cash and an online one does not happen.
    cash |= ~card_ok & ~online
    keep_card = ~cash & card_ok
    # 6a. Refunds: a later negative row at the same merchant and card, mostly for the same amount.
    rf = cfg.refunds
    p_refund = cat.refund_rate[item] * np.where(online, rf.online_scale, rf.in_person_scale)
    refund = keep_card & (cents <= rf.max_amount * 100) & (rng.random(n) < p_refund)
    r_idx = np.flatnonzero(refund)
    r_part = rng.random(r_idx.size) < rf.partial_share
    r_frac = rng.uniform(0.2, 0.9, size=r_idx.size)
    r_cents = np.where(r_part, np.maximum(np.round(cents[r_idx] * r_frac), 1), cents[r_idx]).astype(np.int64)
    r_delay = (1 + rng.geometric(0.25, size=r_idx.size)) * _DAY + rng.integers(-3, 4, size=r_idx.size) * 3600
    r_time = time[r_idx] + r_delay
    # Refunds land before the end and while the card issue is still valid.
    r_ok = (r_time < (last_day + 1) * _DAY) & (r_time < c.valid_to[card_pick[r_idx]])
    r_idx, r_time, r_cents = r_idx[r_ok], r_time[r_ok], r_cents[r_ok]

    ci = np.flatnonzero(keep_card)
    rows = np.concatenate([ci, r_idx])
    t_all = np.concatenate([time[ci], r_time])
    signed = np.concatenate([cents[ci], -r_cents])
    o = np.argsort(t_all, kind="stable")  # ties keep purchases before refunds, each in draw order
    rows, t_all = rows[o], t_all[o]
    issue = card_pick[rows]
    alt_issue = card_alt[rows]
    amount = signed[o] / 100.0
    chan = np.where(
        online[rows],
        ONLINE,
        np.where(
            c.has_chip[issue]
            & (t_all >= ctx.chip_shift)
            & (rng.random(rows.size) < ctx.chip_adoption[np.clip(ctx.year(t_all // _DAY) - YEAR0, 0, None)]),
            CHIP,
            SWIPE,
        ),
    ).astype(np.int8)
    card_present = chan != ONLINE
    pin = (
        card_present
        & (c.card_kind[issue] != 0)
        & (rng.random(rows.size) < cat.card_present_pin_share[item[rows]])
    )
    e = cfg.errors
    acct = c.card_account[issue].astype(np.int32)
    pay_share, paycheck, limit = _money_habits(rng, c, acct, amount, t_all)  # the owner's own spending
    u_bal = rng.random((rows.size, 5))
    # 7. Fraud (own streams): rows from fraudsters and random fraud join the owner's before declines.
    fraud = None
    if ctx.fraud is not None:
        fraud = simulate_fraud(
            ctx, c, t_all, np.round(amount * 100).astype(np.int64), chan, issue, cell[rows], mcc[rows], k[rows],
            detector,
        )  # fmt: skip
    if fraud is not None and len(fraud.episode):
        fe = fraud.episode
        m = len(fe)
        o = merge_order(t_all, fe.time)
        t_all = np.concatenate([t_all, fe.time])[o]
        rows = np.concatenate([rows, n + np.arange(m)])[o]
        cell, mcc, k = (
            np.concatenate([cell, fe.cell]),
            np.concatenate([mcc, fe.mcc]),
            np.concatenate([k, fe.k]),
        )
        amount = np.concatenate([amount, fe.cents / 100.0])[o]
        chan = np.concatenate([chan, fe.chan])[o]
        issue = np.concatenate([issue, fraud.issue])[o]
        alt_issue = np.concatenate([alt_issue, np.full(m, -1)])[o]  # the fraudster has no other card
        pin = np.concatenate([pin, np.zeros(m, dtype=bool)])[o]  # and no PIN
        u_fraud = stream(cfg.seed, Stream.VICTIM, c.user_id, 1).random((m, 5))
        u_bal = np.concatenate([u_bal, u_fraud])[o]
        acct = c.card_account[issue].astype(np.int32)
        card_present = chan != ONLINE
    errors, retry, _ = simulate_balances(
        t_all,
        amount,
        acct,
        card_present,
        pin,
        c.acct_kind,
        limit,
        c.acct_balance0,
        pay_share,
        paycheck,
        c.acct_pay_period,
        first_day,
        u_bal,
        e.bad_pin,
        e.technical_glitch,
        e.bad_card_number,
        e.bad_cvv,
        e.bad_expiration,
        e.bad_zipcode,
        e.retry,
        np.where(alt_issue >= 0, c.card_account[np.maximum(alt_issue, 0)], -1),
    )
    retry = np.where(rows >= n, -1, retry)  # a fraudster moves on rather than retrying a decline
    retry_issue = np.where(((errors & INSUFFICIENT) != 0) & (alt_issue >= 0), alt_issue, issue)
    rows, t_all, amount, chan, errors, issue = _with_retries(
        rng, retry, retry_issue, c.valid_to, rows, t_all, amount, chan, errors, issue
    )
    chan = np.where((chan == CHIP) & ~c.has_chip[issue], SWIPE, chan).astype(np.int8)  # retried elsewhere
    card_id = c.card_index[issue].astype(np.int64)  # a replacement after fraud keeps the card index
    is_fraud = rows >= n
    fraudster = np.full(rows.size, -1, dtype=np.int32)
    revocations: list[tuple[int, int]] = []
    dark_web: list[tuple[int, int]] = []
    if fraud is not None:
        revocations, dark_web = fraud.revocations, fraud.dark_web
        if is_fraud.any():
            fraudster[is_fraud] = fraud.fraudster[rows[is_fraud] - n]
    card_cols, h = _columns(ctx, c, rows, t_all, amount, chan, errors, card_id, cell, mcc, k)
    card_cols["is_fraud"] = is_fraud
    card_cols["fraudster_id"] = fraudster
    cash_rows = np.flatnonzero(cash)
    cash_cols, _ = _columns(
        ctx,
        c,
        cash_rows,
        time[cash_rows],
        cents[cash_rows] / 100.0,
        np.zeros(cash_rows.size, np.int8),
        np.zeros(cash_rows.size, np.uint8),
        None,
        cell,
        mcc,
        k,
    )
    o = np.argsort(cash_cols["timestamp"], kind="stable")
    cash_cols = {name: v[o] for name, v in cash_cols.items()}
    # Visited merchants, unique by their hash (a 64-bit sort, far cheaper than unique rows).
    _, first = np.unique(h, return_index=True)
    seen = np.stack([cell[rows[first]], mcc[rows[first]], k[rows[first]]], axis=1)
    return ConsumerOutput(
        user_id=c.user_id,
        card=card_cols,
        cash=cash_cols,
        trips=trips,
        merchants=seen,
        revocations=revocations,
        dark_web=dark_web,
    )


def merge_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The permutation that sorts concatenate([a, b]) stably, for sorted a and b (ties: a first), without
    a full sort."""
    o = np.empty(a.size + b.size, dtype=np.int64)
    o[np.arange(a.size) + np.searchsorted(b, a, side="left")] = np.arange(a.size)
    o[np.arange(b.size) + np.searchsorted(a, b, side="right")] = a.size + np.arange(b.size)
    return o


def _with_retries(rng, retry, retry_issue, valid_to, rows, time, amount, chan, errors, issue):
    """Insert a row for each retried decline, 1 to 5 minutes after it (and before the consumer's next row,
    and while the card issue it is retried on is in use), with the retry's own errors and card; the
    columns stay sorted by time."""
    at = np.flatnonzero(retry >= 0)
    if at.size == 0:
        return rows, time, amount, chan, errors, issue
    gap = np.append(time[1:] - time[:-1], 10**9)[at]
    left = np.maximum((valid_to[retry_issue[at]] - 1 - time[at]) // 60, 0)  # minutes before the issue ends
    delay = np.minimum(np.minimum(rng.integers(1, 6, size=at.size), gap // 120), left) * 60  # whole minutes
    pos = np.concatenate([np.arange(time.size) * 2, at * 2 + 1])
    t = np.concatenate([time, time[at] + delay])
    o = np.lexsort((pos, t))
    return (
        np.concatenate([rows, rows[at]])[o],
        t[o],
        np.concatenate([amount, amount[at]])[o],
        np.concatenate([chan, chan[at]])[o],
        np.concatenate([errors, retry[at].astype(np.uint8)])[o],
        np.concatenate([issue, retry_issue[at]])[o],
    )


def _money_habits(
    rng: np.random.Generator, c: ConsumerInput, acct: np.ndarray, amount: np.ndarray, time: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Payments, paychecks and credit limits that match how much this person spends on each account.

    People broadly live within their means: a credit account's monthly payment covers its monthly card
    spend times a personal slack, and a debit account's inflow covers its spend likewise. The slack is
    lognormal around 2 and lower for low incomes, so declines for insufficient balance come from the
    tight months of tight budgets (and grow near the limit), not from a balance that drifts forever.
    """
    n_acct = c.acct_kind.size
    # Monthly spend while the account is in use (from its first to its last row).
    first = np.full(n_acct, np.iinfo(np.int64).max)
    last = np.full(n_acct, np.iinfo(np.int64).min)
    np.minimum.at(first, acct, time)
    np.maximum.at(last, acct, time)
    months = np.maximum((last - first) / (_DAY * 30.44), 1.0)
    spend = np.bincount(acct, weights=np.maximum(amount, 0.0), minlength=n_acct) / months
    slack = SLACK * np.exp(0.3 * rng.normal()) * min(max(c.yearly_income / 45_000.0, 0.5), 2.0) ** 0.3
    credit = c.acct_kind == 0
    need_share = np.where(c.acct_limit > 0, spend * slack / np.maximum(c.acct_limit, 1.0), 1.0)
    pay_share = np.where(
        credit, np.clip(np.maximum(c.acct_pay_share, need_share), 0.0, 1.0), c.acct_pay_share
    )
    per_period = spend * c.acct_pay_period / 30.44
    # The balance model keeps 40% of each paycheck for card spending (the rest pays bills).
    paycheck = np.where(
        c.acct_kind == 1, np.maximum(c.acct_paycheck, per_period * slack / 0.4), c.acct_paycheck
    )
    # Issuers raise the limits of accounts whose spending outgrows them (the cards table keeps the limit at
    # opening); months well above the usual still hit the limit.
    limit = np.where(credit, np.maximum(c.acct_limit, LIMIT_GROWTH * spend), c.acct_limit)
    return pay_share, paycheck, limit


def _personal_hours(rng: np.random.Generator, item_hours: np.ndarray) -> np.ndarray:
    """Cumulative personal hour distributions, (2 * n_items, 24): free days, then working days.

    40% the item's profile, 60% on three favourite hours drawn from it (weights 0.3, 0.18, 0.12): TabFormer
    consumers are spiky. On working days the hours spent at work (9-11 and 13-16) keep WORK_HOUR_WEIGHT of
    their weight, so retirement moves purchases into the working day."""
    n_items = item_hours.shape[0]
    cum = np.cumsum(item_hours, axis=1)
    fav = (cum[:, None, :] < rng.random((n_items, 3))[:, :, None] * cum[:, -1:, None]).sum(axis=2).clip(0, 23)
    personal = 0.4 * item_hours / item_hours.sum(axis=1, keepdims=True)
    for j, w in enumerate((0.3, 0.18, 0.12)):
        personal[np.arange(n_items), fav[:, j]] += w
    both = np.concatenate([personal, personal * _WORK_HOURS[None, :]])
    pc = np.cumsum(both, axis=1)
    return pc / pc[:, -1:]


WORK_HOUR_WEIGHT = 0.5
BUDGET_SHARE = 1.5  # expected yearly spending (card and cash) at most this share of personal income
# (households pool incomes and borrow, so spending may exceed one earner's income)
LIMIT_GROWTH = 1.3  # a credit limit grows to at least this many months of the account's mean spend
SLACK = 1.8  # median ratio of money coming in to card spending (calibrated: ~1% Insufficient Balance)
_WORK_HOURS = np.where(np.isin(np.arange(24), [9, 10, 11, 13, 14, 15, 16]), WORK_HOUR_WEIGHT, 1.0)


def _choose_k(
    ctx: SimContext,
    rng: np.random.Generator,
    home_city: int,
    item: np.ndarray,
    cell: np.ndarray,
    online: np.ndarray,
    away: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(k, regular's MCC or -1) per row. At home: a personal set of regulars per item (Zipf weights) and a
    10% chance of a new merchant; away: any merchant at the destination; online: a few big sites."""
    n = item.size
    cat = ctx.catalogue
    n_items = len(cat)
    # Regulars: 1-6 per item, each with its own MCC (drawn by the item's weights) and k.
    n_reg = np.minimum(1 + rng.poisson(1.2, size=n_items), 6)
    reg_item = np.repeat(np.arange(n_items), n_reg)
    rank = np.arange(reg_item.size) - np.repeat(np.cumsum(n_reg) - n_reg, n_reg)
    w = 1.0 / (1.0 + rank) ** 1.3
    grp_sum = np.bincount(reg_item, weights=w, minlength=n_items)
    within = np.cumsum(w) - np.repeat(np.cumsum(grp_sum) - grp_sum, n_reg)
    gcum = reg_item + within / grp_sum[reg_item]
    gcum[np.cumsum(n_reg) - 1] = np.arange(n_items) + 1.0
    pos = np.searchsorted(ctx.mcc_gcum, reg_item + rng.random(reg_item.size), side="right")
    pos = np.minimum(pos, cat.mcc_offsets[reg_item + 1] - 1)
    reg_mcc = cat.mcc_codes[pos].astype(np.int64)
    n_home = ctx.city_merchants[home_city]
    reg_k = np.floor(rng.random(reg_item.size) * n_home).astype(np.int64)
    r = np.searchsorted(gcum, item + rng.random(n), side="right")
    r = np.minimum(r, np.cumsum(n_reg)[item] - 1)
    u_new = rng.random(n)
    u_k = rng.random(n)
    at_home = ~online & ~away
    regular = at_home & (u_new >= 0.10)
    k = np.where(regular, reg_k[r], 0)
    size = np.where(
        cell >= FOREIGN_BASE,
        ctx.dest_merchants[np.clip(cell - FOREIGN_BASE, 0, ctx.dest_merchants.size - 1)],
        ctx.city_merchants[np.clip(cell, 0, ctx.city_merchants.size - 1)],
    )
    k = np.where(~regular & ~online, np.floor(u_k * size).astype(np.int64), k)
    k = np.where(online, np.floor(60 * u_k**3).astype(np.int64), k)  # a few big sites take most
    return k, np.where(regular, reg_mcc[r], -1)


def _choose_card(
    rng: np.random.Generator,
    c: ConsumerInput,
    time: np.ndarray,
    travel_or_online: np.ndarray,
    cents: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(issue row, alternative issue row or -1, has an active card) per purchase, by personal preference
    among the issues in use:
    credit cards are favoured online and on trips; a prepaid card is a rare choice, and never for more
    than a quarter of its load."""
    n_cards = int(c.card_index.max()) + 1 if c.card_index.size else 0
    pref = np.exp(rng.normal(0.0, 1.0, size=max(n_cards, 1)))
    load_cents = c.acct_limit[c.card_account] * 100.0
    return choose_card_kernel(
        time,
        travel_or_online,
        cents,
        rng.random(time.size),
        pref[c.card_index],
        c.card_kind,
        load_cents,
        c.valid_from,
        c.valid_to,
    )


@kernel
def choose_card_kernel(time, boost, cents, u, pref, kind, load_cents, valid_from, valid_to):
    """Weighted pick among the issues active at each time (inverse CDF over the issues' weights), and the
    heaviest other usable issue (-1 if none): the card a declined purchase is retried on."""
    n, m = time.size, pref.size
    pick = np.zeros(n, np.int64)
    alt = np.full(n, -1, np.int64)
    ok = np.zeros(n, np.bool_)
    w = np.empty(m)
    for i in range(n):
        total = 0.0
        for j in range(m):
            x = 0.0
            if valid_from[j] <= time[i] < valid_to[j]:
                x = pref[j]
                if kind[j] == 0 and boost[i]:
                    x *= 2.0
                elif kind[j] == 2:
                    x = x * 0.05 if cents[i] <= 0.25 * load_cents[j] else 0.0
            total += x
            w[j] = total
        if total > 0.0:
            ok[i] = True
            target = u[i] * total
            j = 0
            while j < m - 1 and w[j] <= target:
                j += 1
            pick[i] = j
            best = 0.0
            for q in range(m):
                wq = w[q] - (w[q - 1] if q > 0 else 0.0)
                if q != j and wq > best:
                    best = wq
                    alt[i] = q
    return pick, alt, ok


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


def _columns(ctx, c, rows, time, amount, chan, errors, card_id, cell, mcc, k):
    """(coded transaction columns for the chosen rows, their merchant hashes)."""
    seed = ctx.cfg.seed
    cl, mc, kk = cell[rows], mcc[rows], k[rows]
    h = merchant_hash(seed, cl, mc, kk)
    city, state, zipc = merchant_place(ctx, cl, h)
    cols = {
        "user_id": np.full(rows.size, c.user_id, dtype=np.int32),
        "timestamp": time.astype(np.int64),
        "amount": amount.astype(np.float64),
        "use_chip": chan.astype(np.int8),
        "merchant_id": h.view(np.int64),
        "merchant_city": city.astype(np.int32),
        "merchant_state": state.astype(np.int32),
        "zip": zipc.astype(np.int32),
        "mcc": mc.astype(np.int16),
        "errors": errors.astype(np.uint8),
    }
    if card_id is not None:
        cols["card_id"] = card_id.astype(np.int16)
    return cols, h


__all__ = [
    "CHIP",
    "ONLINE",
    "SWIPE",
    "USE_CHIP",
    "ConsumerInput",
    "ConsumerOutput",
    "merchant_place",
    "simulate_consumer",
]
