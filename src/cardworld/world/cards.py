"""Cards and accounts: each consumer's card indexes, every issue (reissue) of each, and the accounts behind.

    cards, accounts = make_cards(cfg, consumers)

RNG discipline: everything for consumer ``u`` comes from ``stream(cfg.seed, Stream.CARDS, u)``: first one
fixed-size block of uniforms (``MAX_CARDS + 1`` rows × ``_CW``: one row per card-index slot, used or not,
and one consumer row), then, once the issue schedule is known, the digits of that consumer's card numbers
and CVVs. A consumer's cards therefore do not depend on which other consumers are drawn with it.

Model (TabFormer ``sd254_cards`` shares as targets):

* A consumer holds ``num_credit_cards`` card indexes 0..n-1. Index k ≥ 1 is, with probability
  ``share_p`` (solved from ``table1.cards_per_account``), an extra card (authorised user) on an earlier
  credit or debit account: same account, kind, brand and limit. Otherwise it opens a new account.
* Account kind: Debit / Credit / Debit (Prepaid) with TabFormer's shares, tilted by FICO (credit likelier
  with a high score, prepaid with a low one; the tilt is linear in the clipped FICO z-score so the average
  shares stay put). Amex and Discover are always credit.
* Opening: years before ``cfg.end`` lognormal with ``table1.years_account_open``; if that falls before
  the consumer's 18th birthday (or more than ``MAX_YEARS_OPEN`` years back), a uniform point of their
  adult life (at most that many years) instead. Opening dates therefore pile up towards the end, so the
  active card population grows over the years.
* Issues: a card index's product has a fixed term of 3-5 years (prepaid 1-3); each issue expires at the
  end of the month ``term`` years after its start, and the next issue (a new number, ``cards_issued``
  + 1) starts ``lead`` days (14-45) before that. Issues of one index never overlap: ``valid_to`` of one
  issue is ``valid_from`` of the next. Prepaid cards are never reissued: their account closes at expiry.
  Credit and debit accounts close with a small yearly hazard (``CLOSE_HAZARD``); the last issue then ends
  on the closing day. Otherwise the last issue runs to its expiry, possibly past ``cfg.end``.
* Chip: an issue has a chip iff it starts in or after ``cfg.channels.chip_card_year``.
* Limits: credit lognormal around a $10,100 median, rising with income and FICO (mean from
  ``table1.credit_limit.mean``); debit ("limit" = overdraft/daily capacity) ∝ income, median $16,454;
  prepaid small, median $65.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from cardworld.config import WorldConfig
from cardworld.errors import InputError
from cardworld.rng import Stream, stream
from cardworld.world.consumers import MAX_CARDS, Consumers, cards_pmf, norm_ppf
from cardworld.world.luhn import BRANDS, card_numbers

CARD_TYPES: tuple[str, ...] = ("Debit", "Credit", "Debit (Prepaid)")
ACCOUNT_KINDS: tuple[str, ...] = ("debit", "credit", "prepaid")  # same order as CARD_TYPES
PAYMENT_HABITS: tuple[str, ...] = ("full", "minimum", "partial")

# TabFormer sd254_cards shares.
TYPE_SHARES = {"Debit": 0.57, "Credit": 0.33, "Debit (Prepaid)": 0.094}
BRAND_SHARES = {"Mastercard": 0.52, "Visa": 0.38, "Amex": 0.065, "Discover": 0.034}
CREDIT_LIMIT_MEDIAN = 10_100.0
DEBIT_LIMIT_MEDIAN = 16_454.0
PREPAID_LIMIT_MEDIAN = 65.0
FICO_TILT = 0.5  # relative change in P(credit) (and -P(prepaid)) per FICO sd
CLOSE_HAZARD = 0.012  # yearly closing hazard of a credit/debit account
# Calibration (measured on 20,000 consumers): FICO rises with the number of cards, so the FICO tilt
# skews card indexes towards credit; these undo it. OPEN_YEARS_BOOST undoes the adult-life bound
# (the young cannot have old accounts) so years_account_open averages the configured mean.
CREDIT_BIAS = 0.96
PREPAID_BIAS = 1.045
OPEN_YEARS_BOOST = 1.3
PIN_YEARS_BOOST = 1.35
MAX_YEARS_OPEN = 45  # a longer draw falls back to a uniform point of the (capped) adult life
TERM_YEARS = (np.array([3, 4, 5]), np.array([0.3, 0.4, 0.3]))
PREPAID_TERM_YEARS = (np.array([1, 2, 3]), np.array([0.4, 0.35, 0.25]))
MC_TWO_SERIES_YEAR = 2017  # Mastercard 2221-2720 numbers are issued from this year on ...
MC_TWO_SERIES_SHARE = 0.2  # ... for this share of new Mastercard issues
# Pay frequency (BLS, private establishments): weekly, biweekly, semimonthly, monthly.
PAY_PERIODS = (np.array([7, 14, 15, 30]), np.array([0.27, 0.43, 0.20, 0.10]))
TAKE_HOME = 0.78  # net pay / gross income

# Columns of the per-card-index uniform rows.
(_TYPE, _BRAND, _VM, _SHARE, _SHARE_WHICH, _YEARS, _ADULT, _TERM, _LEAD, _LIMIT, _HABIT, _PART, _BAL,
 _CLOSE, _PIN, _OPEN_SHARED) = range(16)  # fmt: skip
_CW = 16
# Columns of the consumer row.
_PAY_PERIOD = 0
_ISSUE_DIGITS = 20  # per issue: 16 number digits + 4 CVV digits


@dataclass(frozen=True, eq=False)
class Cards:
    """One row per card issue (reissues included), sorted by consumer (input order), card index, issue.

    Fields (dtype): ``user_id`` (int32), ``card_index`` (int16, 0..8 within the consumer),
    ``cards_issued`` (int16, 1 for the first issue, +1 per reissue), ``card_brand`` (<U10:
    Visa|Mastercard|Amex|Discover), ``card_type`` (<U15: Debit|Credit|Debit (Prepaid)), ``card_number``
    (<U16, Luhn-valid, 15 digits for Amex), ``cvv`` (<U4: 4 digits for Amex, else 3), ``expires``
    (datetime64[D], the last day of the expiry month), ``has_chip`` (bool), ``credit_limit`` (float64,
    the account's), ``acct_open_date`` (datetime64[D], when the card index was opened), ``valid_from`` /
    ``valid_to`` (datetime64[s], the half-open span [from, to) this issue is the one in use),
    ``year_pin_last_changed`` (int16, per card index), ``card_on_dark_web`` (bool, False; fraud sets it),
    ``account_id`` (int64).
    """

    user_id: np.ndarray
    card_index: np.ndarray
    cards_issued: np.ndarray
    card_brand: np.ndarray
    card_type: np.ndarray
    card_number: np.ndarray
    cvv: np.ndarray
    expires: np.ndarray
    has_chip: np.ndarray
    credit_limit: np.ndarray
    acct_open_date: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray
    year_pin_last_changed: np.ndarray
    card_on_dark_web: np.ndarray
    account_id: np.ndarray

    def __len__(self) -> int:
        return int(self.user_id.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def latest(self) -> np.ndarray:
        """Row positions of each card index's latest issue (one per (user, card_index))."""
        last = np.ones(len(self), dtype=bool)
        if len(self) > 1:
            same = (self.user_id[1:] == self.user_id[:-1]) & (self.card_index[1:] == self.card_index[:-1])
            last[:-1] = ~same
        return np.flatnonzero(last)

    def in_use(self, when: np.datetime64) -> np.ndarray:
        """Row positions of the issues in use at ``when`` (valid_from <= when < valid_to)."""
        t = np.datetime64(when, "s")
        return np.flatnonzero((self.valid_from <= t) & (t < self.valid_to))


@dataclass(frozen=True, eq=False)
class Accounts:
    """One row per account, sorted by consumer (input order) then ``account_id``.

    Fields (dtype): ``account_id`` (int64, ``user_id * 16 + k`` with k the card index that opened it),
    ``user_id`` (int32), ``kind`` (<U7: credit|debit|prepaid), ``credit_limit`` (float64),
    ``payment_habit`` (<U7: full|minimum|partial; debit/prepaid accounts are 'full'), ``pay_share``
    (float64, share of the statement balance paid each month: 1 full, 0.03 minimum, 0.1-0.9 partial),
    ``opened`` (datetime64[D]), ``closed`` (datetime64[D], NaT while open through ``cfg.end``; prepaid
    accounts close when their card expires), ``initial_balance`` (float64: credit balance_to_limit ×
    limit, debit 2-6 weeks of gross income, prepaid 20-100% of the limit), ``paycheck_amount`` (float64,
    net pay per period, split equally over the consumer's debit accounts; 0 on others), ``pay_period_days``
    (int8: 7|14|15|30, per consumer; non-workers 30: pensions and benefits), ``n_cards`` (int8, card
    indexes on the account).
    """

    account_id: np.ndarray
    user_id: np.ndarray
    kind: np.ndarray
    credit_limit: np.ndarray
    payment_habit: np.ndarray
    pay_share: np.ndarray
    opened: np.ndarray
    closed: np.ndarray
    initial_balance: np.ndarray
    paycheck_amount: np.ndarray
    pay_period_days: np.ndarray
    n_cards: np.ndarray

    def __len__(self) -> int:
        return int(self.account_id.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _pick(u: np.ndarray, values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(probs) / np.sum(probs)
    return values[np.minimum(np.searchsorted(cdf, u, side="right"), len(values) - 1)]


def _month_end(d: np.ndarray, add_months: np.ndarray) -> np.ndarray:
    m = d.astype("datetime64[M]") + add_months.astype(np.int64) + 1
    return m.astype("datetime64[D]") - np.timedelta64(1, "D")


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    s2 = math.log1p((sd / max(mean, 1e-9)) ** 2)
    return math.log(max(mean, 1e-9)) - s2 / 2.0, math.sqrt(s2)


def share_probability(cfg: WorldConfig, cards_pmf: np.ndarray) -> float:
    """P(card index k >= 1 joins an earlier account) so that cards per account averages
    ``table1.cards_per_account.mean``."""
    k = np.arange(1, len(cards_pmf) + 1)
    mean_cards = float((cards_pmf * k).sum())
    r = max(float(cfg.table1.cards_per_account.mean), 1.0)
    extra = float((cards_pmf * (k - 1)).sum())
    if extra <= 0:
        return 0.0
    # Slightly more than the plain solution: an index with no earlier credit/debit account cannot share.
    return float(min(0.9, 1.08 * (mean_cards - mean_cards / r) / extra))


def make_cards(cfg: WorldConfig, consumers: Consumers) -> tuple[Cards, Accounts]:
    """Every card issue and account of ``consumers`` (see the module docstring for the model)."""
    n = len(consumers)
    ncards = consumers.num_credit_cards.astype(np.int64)
    if n and (ncards.min() < 1 or ncards.max() > MAX_CARDS):
        raise InputError(f"consumers.num_credit_cards must lie in 1..{MAX_CARDS}")
    t1 = cfg.table1
    end = np.datetime64(cfg.end, "D")
    uid = consumers.user_id.astype(np.int64)

    gens = [stream(cfg.seed, Stream.CARDS, int(u)) for u in uid.tolist()]
    blocks = (
        np.stack([g.random((MAX_CARDS + 1, _CW)) for g in gens]) if n else np.zeros((0, MAX_CARDS + 1, _CW))
    )
    cu = blocks[:, MAX_CARDS, :]  # consumer row

    # ---- card indexes (flattened over used slots)
    slot = np.arange(MAX_CARDS)
    used = slot[None, :] < ncards[:, None]
    owner, kidx = np.nonzero(used)  # owner: consumer position; kidx: card index
    u = blocks[owner, kidx]  # (C, _CW)
    c = owner.shape[0]

    fico = consumers.fico_score.astype(np.float64)[owner]
    zc = np.clip((fico - t1.fico.mean) / max(t1.fico.sd, 1e-9), -2.0, 2.0)
    income = consumers.yearly_income[owner]
    inc_mu, inc_sigma = lognormal_params(t1.income.mean, t1.income.sd)

    share_p = share_probability(cfg, cards_pmf(cfg))
    f_shared = 1.0 - 1.0 / max(float(t1.cards_per_account.mean), 1.0)
    p_pre = TYPE_SHARES["Debit (Prepaid)"] / sum(TYPE_SHARES.values()) / (1.0 - f_shared)
    p_cre = (
        TYPE_SHARES["Credit"]
        / sum(TYPE_SHARES.values())
        * (1.0 - p_pre)
        / (1.0 - TYPE_SHARES["Debit (Prepaid)"] / sum(TYPE_SHARES.values()))
    )
    p_credit = CREDIT_BIAS * p_cre * (1.0 + FICO_TILT * zc)
    p_prepaid = PREPAID_BIAS * p_pre * (1.0 - FICO_TILT * zc)
    ut = u[:, _TYPE]
    kind = np.where(ut < p_credit, 1, np.where(ut < p_credit + p_prepaid, 2, 0))  # index into CARD_TYPES

    # Brand: Amex/Discover only on credit; Visa vs Mastercard for the rest.
    credit_total = TYPE_SHARES["Credit"]
    p_amex = BRAND_SHARES["Amex"] / credit_total
    p_disc = BRAND_SHARES["Discover"] / credit_total
    p_visa = BRAND_SHARES["Visa"] / (BRAND_SHARES["Visa"] + BRAND_SHARES["Mastercard"])
    ub = u[:, _BRAND]
    vm = np.where(u[:, _VM] < p_visa, 0, 1)  # BRANDS: Visa 0, Mastercard 1, Amex 2, Discover 3
    brand = np.where((kind == 1) & (ub < p_amex), 2, np.where((kind == 1) & (ub < p_amex + p_disc), 3, vm))

    # ---- opening dates
    adult = (
        (consumers.birth_year.astype(np.int64) + 18 - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    )
    adult = adult + (consumers.birth_day.astype(np.int64) - 1)
    adult_days = np.maximum((end - adult).astype(np.int64), 0)[owner]
    yo_mu, yo_sigma = lognormal_params(
        OPEN_YEARS_BOOST * t1.years_account_open.mean, OPEN_YEARS_BOOST * t1.years_account_open.sd
    )
    days_open = np.rint(np.exp(yo_mu + yo_sigma * norm_ppf(u[:, _YEARS])) * 365.25).astype(np.int64)
    max_days = np.minimum(adult_days, int(MAX_YEARS_OPEN * 365.25))
    fallback = np.floor(u[:, _ADULT] * (max_days + 1)).astype(np.int64)
    days_open = np.where(days_open > max_days, fallback, days_open)

    # ---- accounts: primary card indexes open accounts; some later indexes join an earlier one
    pos = np.arange(c)
    first_of_owner = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(ncards, out=first_of_owner[1:])
    acct_of = pos.copy()  # row (card-index position) of the primary card of each card's account
    joins = (kidx >= 1) & (u[:, _SHARE] < share_p)
    # Sequential over k (at most 9 steps), vectorised over consumers: candidates are earlier primaries
    # of kind debit/credit.
    for k in range(1, MAX_CARDS):
        rows = np.flatnonzero(joins & (kidx == k))
        if rows.size == 0:
            continue
        base = first_of_owner[owner[rows]]
        earlier = base[:, None] + np.arange(k)[None, :]  # (r, k) positions of indexes 0..k-1
        ok = (acct_of[earlier] == earlier) & (kind[earlier] != 2)
        cnt = ok.sum(axis=1)
        can = cnt > 0
        which = np.minimum(np.floor(u[rows, _SHARE_WHICH] * np.maximum(cnt, 1)).astype(np.int64), cnt - 1)
        rank = np.cumsum(ok, axis=1) - 1
        target = np.where(ok & (rank == which[:, None]), earlier, -1).max(axis=1)
        acct_of[rows[can]] = target[can]
    shared = acct_of != pos
    kind = kind[acct_of]
    brand = brand[acct_of]
    # Accounts close (credit/debit) with a yearly hazard; prepaid ones when their only card expires.
    acct_open = end - days_open[acct_of]
    close_years = -np.log1p(-u[acct_of, _CLOSE]) / CLOSE_HAZARD
    close = acct_open + np.rint(close_years * 365.25).astype(np.int64)
    closes = (kind != 2) & (close <= end)
    close = np.where(closes, close, np.datetime64("NaT", "D"))
    # A shared card opens at a uniform point of its account's life up to the end (or the closing day).
    span = (np.where(closes, close, end) - acct_open).astype(np.int64)
    offset = np.floor(u[:, _OPEN_SHARED] * (span + 1)).astype(np.int64)
    open_date = np.where(shared, acct_open + offset, end - days_open)

    # ---- limits (per account, taken from the primary row)
    log_inc = np.log(np.maximum(income, 1.0)) - inc_mu
    cl_sigma = math.sqrt(
        max(2.0 * math.log(max(t1.credit_limit.mean, CREDIT_LIMIT_MEDIAN) / CREDIT_LIMIT_MEDIAN), 0.04)
    )
    noise_sd = math.sqrt(max(cl_sigma**2 - (0.6 * inc_sigma) ** 2 - 0.25**2 * 0.8, 0.01))
    zl = norm_ppf(u[:, _LIMIT])
    credit_lim = CREDIT_LIMIT_MEDIAN * 0.82 * np.exp(0.6 * log_inc + 0.25 * zc + noise_sd * zl)
    debit_lim = DEBIT_LIMIT_MEDIAN * 0.94 * np.exp(log_inc + 0.3 * zl)
    prepaid_lim = np.minimum(PREPAID_LIMIT_MEDIAN * np.exp(0.8 * zl), 500.0)
    limit = np.rint(np.select([kind == 1, kind == 0], [credit_lim, debit_lim], prepaid_lim))[acct_of]

    # ---- issue schedule
    term = np.where(
        kind == 2, _pick(u[:, _TERM], *PREPAID_TERM_YEARS), _pick(u[:, _TERM], *TERM_YEARS)
    ).astype(np.int64)
    lead = (14 + np.floor(u[:, _LEAD] * 32)).astype(np.int64)

    issue_card, issue_no, issue_from, issue_exp, issue_to = [], [], [], [], []
    active = np.arange(c)
    vf = open_date.copy()
    j = 0
    while active.size:
        exp = _month_end(vf[active], 12 * term[active])
        nxt = exp - lead[active]
        cl = close[active]
        has_close = ~np.isnat(cl)
        cont = (kind[active] != 2) & (nxt <= end) & ~(has_close & (nxt >= cl))
        to = np.where(cont, nxt, np.where(has_close, np.minimum(cl, exp + 1), exp + 1))
        to = np.maximum(to, vf[active] + 1)  # at least one day in use (closing on the opening day)
        issue_card.append(active)
        issue_no.append(np.full(active.size, j + 1, dtype=np.int64))
        issue_from.append(vf[active])
        issue_exp.append(exp)
        issue_to.append(to)
        vf[active] = nxt
        active = active[cont]
        j += 1
    card_row = np.concatenate(issue_card) if issue_card else np.zeros(0, dtype=np.int64)
    issued = np.concatenate(issue_no) if issue_no else np.zeros(0, dtype=np.int64)
    order = np.lexsort((issued, card_row))
    card_row, issued = card_row[order], issued[order]
    vfrom = np.concatenate(issue_from)[order] if issue_from else np.zeros(0, "datetime64[D]")
    expires = np.concatenate(issue_exp)[order] if issue_exp else np.zeros(0, "datetime64[D]")
    vto = np.concatenate(issue_to)[order] if issue_to else np.zeros(0, "datetime64[D]")

    # ---- second draw per consumer: number and CVV digits, prefix choices (exact sizes)
    issues_per_owner = np.bincount(owner[card_row], minlength=n)
    digit_parts, pref_parts = [], []
    for g, m in zip(gens, issues_per_owner.tolist(), strict=True):
        digit_parts.append(g.integers(0, 10, size=(m, _ISSUE_DIGITS), dtype=np.int8))
        pref_parts.append(g.random((m, 2)))
    digits = np.concatenate(digit_parts) if digit_parts else np.zeros((0, _ISSUE_DIGITS), np.int8)
    pref = np.concatenate(pref_parts) if pref_parts else np.zeros((0, 2))
    ibrand = brand[card_row]
    issue_year = vfrom.astype("datetime64[Y]").astype(np.int64) + 1970
    two_series = (ibrand == 1) & (issue_year >= MC_TWO_SERIES_YEAR) & (pref[:, 1] < MC_TWO_SERIES_SHARE)
    numbers = card_numbers(ibrand, digits[:, :16], pref[:, 0], two_series)
    cvv_len = np.where(ibrand == 2, 4, 3)
    cvv_bytes = (digits[:, 16:20] + 48).astype(np.uint8)
    cvv_bytes[cvv_len == 3, 3] = 0
    cvv = cvv_bytes.view("S4").ravel().astype("U4")

    # PIN: years since the last change (lognormal), not before the card index was opened.
    pin_mu, pin_sigma = lognormal_params(
        PIN_YEARS_BOOST * t1.years_since_pin_change.mean, PIN_YEARS_BOOST * t1.years_since_pin_change.sd
    )
    pin_years = np.rint(np.exp(pin_mu + pin_sigma * norm_ppf(u[:, _PIN]))).astype(np.int64)
    open_year = open_date.astype("datetime64[Y]").astype(np.int64) + 1970
    pin_year = np.clip(cfg.end.year - pin_years, open_year, cfg.end.year)

    brand_names = np.array(BRANDS)
    type_names = np.array(CARD_TYPES)
    account_id = uid[owner] * 16 + (acct_of - first_of_owner[owner])
    cards = Cards(
        user_id=uid[owner][card_row].astype(np.int32),
        card_index=kidx[card_row].astype(np.int16),
        cards_issued=issued.astype(np.int16),
        card_brand=brand_names[ibrand].astype("U10"),
        card_type=type_names[kind[card_row]].astype("U15"),
        card_number=numbers,
        cvv=cvv,
        expires=expires.astype("datetime64[D]"),
        has_chip=issue_year >= cfg.channels.chip_card_year,
        credit_limit=limit[card_row].astype(np.float64),
        acct_open_date=open_date[card_row].astype("datetime64[D]"),
        valid_from=vfrom.astype("datetime64[s]"),
        valid_to=vto.astype("datetime64[s]"),
        year_pin_last_changed=pin_year[card_row].astype(np.int16),
        card_on_dark_web=np.zeros(card_row.shape[0], dtype=bool),
        account_id=account_id[card_row].astype(np.int64),
    )

    # ---- accounts (primary rows)
    prim = np.flatnonzero(~shared)
    a_owner = owner[prim]
    a_kind = kind[prim]
    ua = u[prim]
    a_fico_z = zc[prim]
    p_full = np.clip(0.45 + 0.2 * a_fico_z, 0.05, 0.95)
    p_min = np.clip(0.15 - 0.08 * a_fico_z, 0.02, 0.5)
    habit = np.where(ua[:, _HABIT] < p_full, 0, np.where(ua[:, _HABIT] < p_full + p_min, 1, 2))
    habit = np.where(a_kind == 1, habit, 0)
    pay_share = np.select([habit == 0, habit == 1], [1.0, 0.03], 0.1 + 0.8 * ua[:, _PART])
    btl = np.clip(t1.balance_to_limit.mean + t1.balance_to_limit.sd * norm_ppf(ua[:, _BAL]), 0.0, 1.0)
    a_income = consumers.yearly_income[a_owner]
    a_limit = limit[prim]
    init = np.select(
        [a_kind == 1, a_kind == 0],
        [btl * a_limit, a_income / 52.0 * (2.0 + 4.0 * ua[:, _BAL])],
        a_limit * (0.2 + 0.8 * ua[:, _BAL]),
    )
    period_c = np.where(consumers.works, _pick(cu[:, _PAY_PERIOD], *PAY_PERIODS), 30).astype(np.int64)
    per_year = np.select([period_c == 7, period_c == 14, period_c == 15], [52.0, 26.0, 24.0], 12.0)
    net_pay = consumers.yearly_income * TAKE_HOME / per_year
    n_debit = np.bincount(a_owner[a_kind == 0], minlength=n)
    paycheck = np.where(a_kind == 0, net_pay[a_owner] / np.maximum(n_debit[a_owner], 1), 0.0)
    n_on = np.bincount(acct_of, minlength=c)[prim]
    a_close = close[prim]
    prepaid_end = vto[np.searchsorted(card_row, prim, side="right") - 1].astype("datetime64[D]")
    a_close = np.where(
        a_kind == 2, np.where(prepaid_end <= end, prepaid_end, np.datetime64("NaT", "D")), a_close
    )
    accounts = Accounts(
        account_id=account_id[prim].astype(np.int64),
        user_id=uid[a_owner].astype(np.int32),
        kind=np.array(ACCOUNT_KINDS)[a_kind].astype("U7"),
        credit_limit=a_limit.astype(np.float64),
        payment_habit=np.array(PAYMENT_HABITS)[habit].astype("U7"),
        pay_share=pay_share.astype(np.float64),
        opened=open_date[prim].astype("datetime64[D]"),
        closed=a_close.astype("datetime64[D]"),
        initial_balance=np.round(init, 2),
        paycheck_amount=np.round(paycheck, 2),
        pay_period_days=period_c[a_owner].astype(np.int8),
        n_cards=n_on.astype(np.int8),
    )
    return cards, accounts


__all__ = ["ACCOUNT_KINDS", "CARD_TYPES", "PAYMENT_HABITS", "Accounts", "Cards", "make_cards"]
