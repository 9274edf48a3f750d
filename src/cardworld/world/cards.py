"""Cards and accounts: each consumer's card indexes, every issue (reissue) of each, and the accounts behind.

    cards, accounts = make_cards(cfg, consumers)

RNG discipline: everything for consumer ``u`` comes from ``stream(cfg.seed, Stream.CARDS, u)``: first one
fixed-size block of uniforms (``MAX_CARDS + 1`` rows × ``_CW``: one row per card-index slot, used or not,
and one consumer row), then, once the issue schedule is known, the digits of that consumer's card numbers
and CVVs and one uniform per card index for its PIN history. A consumer's cards therefore do not depend
on which other consumers are drawn with it.

Model (TabFormer ``sd254_cards`` shares as targets); the timeline steps are in ``world.card_life``:

* A consumer holds ``num_credit_cards`` card indexes 0..n-1 (a replacement after fraud keeps its index:
  ``world.reissue``). Index k ≥ 1 is, with probability ``share_p`` (solved from
  ``table1.cards_per_account``), an extra card (authorised user) on an earlier credit or debit account:
  same account, kind, brand and limit. Otherwise it opens a new account.
* Account kind: Debit / Credit / Debit (Prepaid) with TabFormer's shares, tilted by FICO (credit likelier
  with a high score, prepaid with a low one; the tilt is linear in the clipped FICO z-score so the average
  shares stay put). A consumer's card indexes step through the kinds (``KIND_SPREAD``), so a person holds
  a debit and a credit card more often than independent draws would give. Amex and Discover are always
  credit.
* Opening: years before ``cfg.end`` lognormal with ``table1.years_account_open``; if that falls before
  the consumer's 18th birthday (or more than ``MAX_YEARS_OPEN`` years back), a uniform point of their
  adult life (at most that many years) instead. Opening dates therefore pile up towards the end, so the
  active card population grows over the years.
* Issues: a card index's product has a fixed term of 3-5 years (prepaid 1-3); each issue expires at the
  end of the month ``term`` years after its start, and the next issue (a new number, ``cards_issued``
  + 1) starts ``lead`` days (14-45) before that. Issues of one index never overlap: ``valid_to`` of one
  issue is ``valid_from`` of the next. Credit and debit accounts close with a small yearly hazard
  (``CLOSE_HAZARD``); the last issue then ends on the closing day. A prepaid card is not reissued: its
  account closes at expiry. Otherwise the last issue runs to its expiry, possibly past ``cfg.end``.
* Nobody is left without a card: an account closes only while another of the consumer's cards (on another
  account) is in use (otherwise on the day their next card opens, or never), and a prepaid card is renewed
  at expiry while it is the consumer's only card in use. From their first card on, every consumer holds a
  card in use on every day through ``cfg.end``.
* Chip: an issue has a chip iff it starts in or after ``cfg.channels.chip_card_year``.
* PIN: it belongs to the card index and carries over reissues; ``year_pin_last_changed`` is the last
  change as of each issue's last day in use (``world.card_life.pin_years``): between the opening year and
  that day's year.
* Limits: credit by underwriting (``cfg.underwriting``): a share of income times the FICO band's factor
  times lognormal noise, median about $10,100 and mean ``table1.credit_limit.mean``; debit ("limit" =
  overdraft/daily capacity) ∝ income, median $16,454; prepaid small, median $65.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from cardworld.codes import ACCOUNT_KIND_NAMES, CARD_BRANDS, CARD_TYPE_NAMES, PAYMENT_HABITS, CardType
from cardworld.config import WorldConfig
from cardworld.errors import InputError
from cardworld.rng import Stream, stream
from cardworld.stats import band_values, lognormal_params, norm_cdf, norm_ppf, pick
from cardworld.world.card_life import (
    CLOSE_HAZARD,
    MAX_YEARS_OPEN,
    OPEN_YEARS_BOOST,
    PIN_YEARS_BOOST,
    Issues,
    issue_schedule,
    keep_covered,
    opening_and_closing,
    opening_days,
    pin_years,
)
from cardworld.world.consumers import MAX_CARDS, Consumers, cards_pmf
from cardworld.world.issuing import ISSUE_DIGITS, draw_issues, issue_cards

# TabFormer sd254_cards shares.
TYPE_SHARES = {"Debit": 0.57, "Credit": 0.33, "Debit (Prepaid)": 0.094}
BRAND_SHARES = {"Mastercard": 0.52, "Visa": 0.38, "Amex": 0.065, "Discover": 0.034}
CREDIT_LIMIT_MEDIAN = 10_100.0
DEBIT_LIMIT_MEDIAN = 16_454.0
PREPAID_LIMIT_MEDIAN = 65.0
KIND_SPREAD = (math.sqrt(5.0) - 1.0) / 2.0  # golden-ratio step between a consumer's kind uniforms
# Credit holders are a narrower group than everyone (the FICO tilt of the kinds, the copula): income and
# the bands explain about half the log variance they would over all consumers (measured, 20,000 consumers).
EXPLAINED_SHARE = 0.5
FICO_TILT = 0.5  # relative change in P(credit) (and -P(prepaid)) per FICO sd
# Calibration (measured on 20,000 consumers): FICO rises with the number of cards, so the FICO tilt
# skews card indexes towards credit; these undo it.
CREDIT_BIAS = 0.96
PREPAID_BIAS = 1.045
TERM_YEARS = (np.array([3, 4, 5]), np.array([0.3, 0.4, 0.3]))
PREPAID_TERM_YEARS = (np.array([1, 2, 3]), np.array([0.4, 0.35, 0.25]))
# Pay frequency (BLS, private establishments): weekly, biweekly, semimonthly, monthly.
PAY_PERIODS = (np.array([7, 14, 15, 30]), np.array([0.27, 0.43, 0.20, 0.10]))
TAKE_HOME = 0.78  # net pay / gross income

# Columns of the per-card-index uniform rows.
(_TYPE, _BRAND, _VM, _SHARE, _SHARE_WHICH, _YEARS, _ADULT, _TERM, _LEAD, _LIMIT, _HABIT, _PART, _BAL,
 _CLOSE, _PIN, _OPEN_SHARED) = range(16)  # fmt: skip
_CW = 16
# Columns of the consumer row.
_PAY_PERIOD = 0


@dataclass(frozen=True, eq=False)
class Cards:
    """One row per card issue (reissues and replacements after fraud included), sorted by consumer (input
    order), card index, issue.

    Fields (dtype): ``user_id`` (int32), ``card_index`` (int16, 0..8 within the consumer: the card's slot,
    kept by reissues and replacements), ``cards_issued`` (int16, 1 for the first issue, +1 per reissue or
    replacement), ``card_brand`` (<U10: Visa|Mastercard|Amex|Discover), ``card_type`` (<U15:
    Debit|Credit|Debit (Prepaid)), ``card_number`` (<U16, Luhn-valid, 15 digits for Amex), ``cvv`` (<U4:
    4 digits for Amex, else 3), ``expires`` (datetime64[D], the last day of the expiry month),
    ``has_chip`` (bool), ``credit_limit`` (float64, the account's), ``acct_open_date`` (datetime64[D], when
    the card index was opened), ``valid_from`` / ``valid_to`` (datetime64[s], the half-open span [from,
    to) this issue is the one in use: every transaction of the card index falls in exactly one issue),
    ``year_pin_last_changed`` (int16, as of the issue's last day in use), ``card_on_dark_web`` (bool,
    False here; fraud sets it on leaked issues: a debugging truth like ``fraudster_id``, not a feature,
    and exported as "No" like TabFormer's file), ``account_id`` (int64).
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
    return values[pick(np.cumsum(probs) / np.sum(probs), u)]


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
    end = np.datetime64(cfg.end, "D")
    uid = consumers.user_id.astype(np.int64)
    gens = [stream(cfg.seed, Stream.CARDS, int(u)) for u in uid.tolist()]
    blocks = (
        np.stack([g.random((MAX_CARDS + 1, _CW)) for g in gens]) if n else np.zeros((0, MAX_CARDS + 1, _CW))
    )
    # Card-index rows ("slots"), flattened over the used ones: owner is the consumer position.
    owner, kidx = np.nonzero(np.arange(MAX_CARDS)[None, :] < ncards[:, None])
    u = blocks[owner, kidx]  # (C, _CW)
    first_of_owner = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(ncards, out=first_of_owner[1:])
    t1 = cfg.table1
    zc = np.clip(
        (consumers.fico_score.astype(np.float64)[owner] - t1.fico.mean) / max(t1.fico.sd, 1e-9), -2, 2
    )

    kind, brand = _kinds_and_brands(cfg, u, zc, kidx, first_of_owner[owner])
    days_open = opening_days(cfg, consumers, owner, u[:, _YEARS], u[:, _ADULT])
    acct_of = _share_accounts(cfg, owner, kidx, kind, u, first_of_owner)
    kind, brand = kind[acct_of], brand[acct_of]
    open_date, close = opening_and_closing(end, days_open, kind, acct_of, u[:, _CLOSE], u[:, _OPEN_SHARED])
    limit = _limits(cfg, consumers.yearly_income[owner], consumers.fico_score[owner], kind, u[:, _LIMIT])[
        acct_of
    ]
    term = np.where(
        kind == CardType.PREPAID, _pick(u[:, _TERM], *PREPAID_TERM_YEARS), _pick(u[:, _TERM], *TERM_YEARS)
    ).astype(np.int64)
    lead = (14 + np.floor(u[:, _LEAD] * 32)).astype(np.int64)
    close, renewals = keep_covered(owner, open_date, close, kind, acct_of, term, lead, end)
    iss = issue_schedule(open_date, close, kind, term, lead, renewals, end)

    # Second draw per consumer (exact sizes): number and CVV digits and prefix choices per issue, then one
    # uniform per card index for its earlier PIN changes.
    counts = np.bincount(owner[iss.slot], minlength=n).tolist()
    draws = [(*draw_issues(g, m), g.random(k)) for g, m, k in zip(gens, counts, ncards.tolist(), strict=True)]
    digits = np.concatenate([d[0] for d in draws]) if draws else np.zeros((0, ISSUE_DIGITS), np.int8)
    pref = np.concatenate([d[1] for d in draws]) if draws else np.zeros((0, 2))
    w_pin = np.concatenate([d[2] for d in draws]) if draws else np.zeros(0)
    ibrand = brand[iss.slot]
    numbers, cvv, has_chip = issue_cards(ibrand, iss.valid_from, digits, pref, cfg.channels.chip_card_year)
    account_id = uid[owner] * 16 + (acct_of - first_of_owner[owner])
    cards = Cards(
        user_id=uid[owner][iss.slot].astype(np.int32),
        card_index=kidx[iss.slot].astype(np.int16),
        cards_issued=iss.issued.astype(np.int16),
        card_brand=np.array(CARD_BRANDS)[ibrand].astype("U10"),
        card_type=np.array(CARD_TYPE_NAMES)[kind[iss.slot]].astype("U15"),
        card_number=numbers,
        cvv=cvv,
        expires=iss.expires.astype("datetime64[D]"),
        has_chip=has_chip,
        credit_limit=limit[iss.slot].astype(np.float64),
        acct_open_date=open_date[iss.slot].astype("datetime64[D]"),
        valid_from=iss.valid_from.astype("datetime64[s]"),
        valid_to=iss.valid_to.astype("datetime64[s]"),
        year_pin_last_changed=pin_years(cfg, u[:, _PIN], w_pin, open_date, iss).astype(np.int16),
        card_on_dark_web=np.zeros(iss.slot.shape[0], dtype=bool),
        account_id=account_id[iss.slot].astype(np.int64),
    )
    slots = _Slots(owner, kind, acct_of, limit, open_date, close, account_id, zc, u)
    return cards, _accounts(cfg, consumers, slots, blocks[:, MAX_CARDS, :], iss)


def _kinds_and_brands(
    cfg: WorldConfig, u: np.ndarray, zc: np.ndarray, kidx: np.ndarray, first_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(kind: a CardType, brand: index into codes.CARD_BRANDS) per card-index row, before account sharing.

    Account kind with TabFormer's shares tilted by FICO (credit likelier with a high score, prepaid with a
    low one); Amex/Discover only on credit, Visa vs Mastercard for the rest. The kind uniform of index k
    is the consumer's first one plus k x KIND_SPREAD (mod 1): each is still uniform, so the shares stay,
    but one person's cards spread over the kinds (a debit card and a credit card rather than two of one;
    Fed SCPC: most card holders hold both)."""
    f_shared = 1.0 - 1.0 / max(float(cfg.table1.cards_per_account.mean), 1.0)
    total = sum(TYPE_SHARES.values())
    p_pre = TYPE_SHARES["Debit (Prepaid)"] / total / (1.0 - f_shared)
    p_cre = TYPE_SHARES["Credit"] / total * (1.0 - p_pre) / (1.0 - TYPE_SHARES["Debit (Prepaid)"] / total)
    p_credit = CREDIT_BIAS * p_cre * (1.0 + FICO_TILT * zc)
    p_prepaid = PREPAID_BIAS * p_pre * (1.0 - FICO_TILT * zc)
    ut = np.mod(u[first_row, _TYPE] + kidx * KIND_SPREAD, 1.0)
    kind = np.where(
        ut < p_credit, CardType.CREDIT, np.where(ut < p_credit + p_prepaid, CardType.PREPAID, CardType.DEBIT)
    )
    credit_total = TYPE_SHARES["Credit"]
    p_amex = BRAND_SHARES["Amex"] / credit_total
    p_disc = BRAND_SHARES["Discover"] / credit_total
    p_visa = BRAND_SHARES["Visa"] / (BRAND_SHARES["Visa"] + BRAND_SHARES["Mastercard"])
    ub = u[:, _BRAND]
    vm = np.where(u[:, _VM] < p_visa, 0, 1)  # codes.CARD_BRANDS: Visa 0, Mastercard 1, Amex 2, Discover 3
    credit = kind == CardType.CREDIT
    brand = np.where(credit & (ub < p_amex), 2, np.where(credit & (ub < p_amex + p_disc), 3, vm))
    return kind, brand


def _share_accounts(
    cfg: WorldConfig,
    owner: np.ndarray,
    kidx: np.ndarray,
    kind: np.ndarray,
    u: np.ndarray,
    first_of_owner: np.ndarray,
) -> np.ndarray:
    """Row of the primary card of each row's account: index k >= 1 joins, with probability share_p, one of
    the consumer's earlier credit/debit primaries (uniformly), else it opens its own account."""
    pos = np.arange(owner.size)
    acct_of = pos.copy()
    joins = (kidx >= 1) & (u[:, _SHARE] < share_probability(cfg, cards_pmf(cfg)))
    # Sequential over k (at most 9 steps), vectorised over consumers.
    for k in range(1, MAX_CARDS):
        rows = np.flatnonzero(joins & (kidx == k))
        if rows.size == 0:
            continue
        base = first_of_owner[owner[rows]]
        earlier = base[:, None] + np.arange(k)[None, :]  # (r, k) positions of indexes 0..k-1
        ok = (acct_of[earlier] == earlier) & (kind[earlier] != CardType.PREPAID)
        cnt = ok.sum(axis=1)
        can = cnt > 0
        which = np.minimum(np.floor(u[rows, _SHARE_WHICH] * np.maximum(cnt, 1)).astype(np.int64), cnt - 1)
        rank = np.cumsum(ok, axis=1) - 1
        target = np.where(ok & (rank == which[:, None]), earlier, -1).max(axis=1)
        acct_of[rows[can]] = target[can]
    return acct_of


def fico_band_factors(cfg: WorldConfig, fico: np.ndarray) -> np.ndarray:
    """The underwriting factor (``cfg.underwriting.fico_bands``) of each FICO score: its band's, the
    lowest band's below it."""
    return band_values(cfg.underwriting.fico_bands, fico)


def _bands(cfg: WorldConfig) -> tuple[np.ndarray, np.ndarray]:
    bands = sorted(cfg.underwriting.fico_bands.items())
    return np.array([b for b, _ in bands], dtype=np.float64), np.array([f for _, f in bands])


def credit_noise_sd(cfg: WorldConfig) -> float:
    """Log-sd of the personal noise on a credit limit: the spread ``table1.credit_limit`` implies (mean over
    the $10,100 median of a lognormal) less what income and the FICO bands explain among credit holders
    (EXPLAINED_SHARE of their log variances under the configured income and FICO marginals), at least 0.1."""
    t1 = cfg.table1
    total = 2.0 * math.log(max(t1.credit_limit.mean, CREDIT_LIMIT_MEDIAN) / CREDIT_LIMIT_MEDIAN)
    _, inc_sigma = lognormal_params(t1.income.mean, t1.income.sd)
    lows, factors = _bands(cfg)
    edges = norm_cdf((lows[1:] - t1.fico.mean) / max(t1.fico.sd, 1e-9))
    p = np.diff(np.concatenate([[0.0], edges, [1.0]]))
    log_f = np.log(factors)
    band_var = float((p * (log_f - (p * log_f).sum()) ** 2).sum())
    return math.sqrt(max(total - EXPLAINED_SHARE * (inc_sigma**2 + band_var), 0.01))


def _limits(
    cfg: WorldConfig, income: np.ndarray, fico: np.ndarray, kind: np.ndarray, u_limit: np.ndarray
) -> np.ndarray:
    """Each row's limit as if it opened the account (the caller takes the primary row's). Credit: the
    underwriting formula (config.Underwriting); debit ("limit" = overdraft/daily capacity) proportional to
    income, median $16,454; prepaid (the load) small, median $65, at most $500."""
    t1 = cfg.table1
    inc_mu, _ = lognormal_params(t1.income.mean, t1.income.sd)
    zl = norm_ppf(u_limit)
    credit_lim = (
        cfg.underwriting.income_share
        * np.maximum(income, 1.0)
        * fico_band_factors(cfg, fico)
        * np.exp(credit_noise_sd(cfg) * zl)
    )
    debit_lim = DEBIT_LIMIT_MEDIAN * 0.94 * np.exp(np.log(np.maximum(income, 1.0)) - inc_mu + 0.3 * zl)
    prepaid_lim = np.minimum(PREPAID_LIMIT_MEDIAN * np.exp(0.8 * zl), 500.0)
    return np.rint(
        np.select([kind == CardType.CREDIT, kind == CardType.DEBIT], [credit_lim, debit_lim], prepaid_lim)
    )


@dataclass(frozen=True)
class _Slots:
    """Per card-index row: what the accounts are built from."""

    owner: np.ndarray
    kind: np.ndarray
    acct_of: np.ndarray
    limit: np.ndarray
    open_date: np.ndarray
    close: np.ndarray
    account_id: np.ndarray
    zc: np.ndarray
    u: np.ndarray


def _accounts(cfg: WorldConfig, consumers: Consumers, s: _Slots, cu: np.ndarray, iss: Issues) -> Accounts:
    """One account per primary row: habits, balances, paychecks (``cu``: the consumer rows of uniforms)."""
    n = len(consumers)
    t1 = cfg.table1
    end = np.datetime64(cfg.end, "D")
    prim = np.flatnonzero(s.acct_of == np.arange(s.acct_of.size))
    a_owner = s.owner[prim]
    a_kind = s.kind[prim]
    ua = s.u[prim]
    a_fico_z = s.zc[prim]
    p_full = np.clip(0.45 + 0.2 * a_fico_z, 0.05, 0.95)
    p_min = np.clip(0.15 - 0.08 * a_fico_z, 0.02, 0.5)
    habit = np.where(ua[:, _HABIT] < p_full, 0, np.where(ua[:, _HABIT] < p_full + p_min, 1, 2))
    habit = np.where(a_kind == CardType.CREDIT, habit, 0)
    pay_share = np.select([habit == 0, habit == 1], [1.0, 0.03], 0.1 + 0.8 * ua[:, _PART])
    btl = np.clip(t1.balance_to_limit.mean + t1.balance_to_limit.sd * norm_ppf(ua[:, _BAL]), 0.0, 1.0)
    a_income = consumers.yearly_income[a_owner]
    a_limit = s.limit[prim]
    init = np.select(
        [a_kind == CardType.CREDIT, a_kind == CardType.DEBIT],
        [btl * a_limit, a_income / 52.0 * (2.0 + 4.0 * ua[:, _BAL])],
        a_limit * (0.2 + 0.8 * ua[:, _BAL]),
    )
    period_c = np.where(consumers.works, _pick(cu[:, _PAY_PERIOD], *PAY_PERIODS), 30).astype(np.int64)
    per_year = np.select([period_c == 7, period_c == 14, period_c == 15], [52.0, 26.0, 24.0], 12.0)
    net_pay = consumers.yearly_income * TAKE_HOME / per_year
    n_debit = np.bincount(a_owner[a_kind == CardType.DEBIT], minlength=n)
    paycheck = np.where(a_kind == CardType.DEBIT, net_pay[a_owner] / np.maximum(n_debit[a_owner], 1), 0.0)
    n_on = np.bincount(s.acct_of, minlength=s.acct_of.size)[prim]
    # A prepaid account closes when its (last) card expires.
    prepaid_end = iss.valid_to[np.searchsorted(iss.slot, prim, side="right") - 1].astype("datetime64[D]")
    a_close = np.where(
        a_kind == CardType.PREPAID,
        np.where(prepaid_end <= end, prepaid_end, np.datetime64("NaT", "D")),
        s.close[prim],
    )
    return Accounts(
        account_id=s.account_id[prim].astype(np.int64),
        user_id=consumers.user_id.astype(np.int64)[a_owner].astype(np.int32),
        kind=np.array(ACCOUNT_KIND_NAMES)[a_kind].astype("U7"),
        credit_limit=a_limit.astype(np.float64),
        payment_habit=np.array(PAYMENT_HABITS)[habit].astype("U7"),
        pay_share=pay_share.astype(np.float64),
        opened=s.open_date[prim].astype("datetime64[D]"),
        closed=a_close.astype("datetime64[D]"),
        initial_balance=np.round(init, 2),
        paycheck_amount=np.round(paycheck, 2),
        pay_period_days=period_c[a_owner].astype(np.int8),
        n_cards=n_on.astype(np.int8),
    )


__all__ = [
    "CLOSE_HAZARD",
    "MAX_YEARS_OPEN",
    "OPEN_YEARS_BOOST",
    "PIN_YEARS_BOOST",
    "Accounts",
    "Cards",
    "make_cards",
]
