"""Stages of a consumer's life (sim.consumer) after the purchases: the time-sorted card rows, the account
terms that match the consumer's spending, fraud merged in, and declines with their retries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.codes import AccountKind, Channel, DeclineReason
from cardworld.dates import SECONDS_PER_DAY, SECONDS_PER_MINUTE
from cardworld.rng import Stream, stream
from cardworld.sim.balances import simulate_balances
from cardworld.sim.channels import card_channels
from cardworld.sim.context import SimContext
from cardworld.sim.credit_cycle import CreditInputs, StatementBuffers
from cardworld.sim.fraud import FraudRows
from cardworld.sim.rows import CardRows, ConsumerInput, Purchases, Refunds

LIMIT_GROWTH = 1.3  # a credit limit grows to at least this many months of the account's mean spend
SLACK = 1.8  # median ratio of money coming in to card spending (calibrated: ~1% Insufficient Balance)
CARD_SHARE_OF_PAYCHECK = 0.4  # the balance model keeps this share of each paycheck for card spending
DAYS_PER_MONTH = 30.44
_INSUFFICIENT = 1 << DeclineReason.INSUFFICIENT_BALANCE


@dataclass(frozen=True)
class AccountTerms:
    """Per account: the pay share, paycheck and credit limit the balance model runs with."""

    pay_share: np.ndarray
    paycheck: np.ndarray
    limit: np.ndarray


def card_rows(
    ctx: SimContext, c: ConsumerInput, p: Purchases, refunds: Refunds, rng: np.random.Generator
) -> CardRows:
    """The purchases paid by card and their refunds, sorted by time (ties: purchases before refunds, each
    in draw order), with channel and PIN (sim.channels.card_channels: its draws)."""
    ci = np.flatnonzero(~p.cash & p.card_ok)
    source = np.concatenate([ci, refunds.source])
    time = np.concatenate([p.time[ci], refunds.time])
    signed = np.concatenate([p.cents[ci], -refunds.cents])
    o = np.argsort(time, kind="stable")
    source, time = source[o], time[o]
    issue = p.card[source]
    chan, pin = card_channels(ctx, c, p.online[source], issue, time, p.item[source], rng)
    n = source.size
    return CardRows(
        source=source,
        time=time,
        amount=signed[o] / 100.0,
        chan=chan,
        issue=issue,
        alt_issue=p.alt_card[source],
        pin=pin,
        cell=p.cell[source],
        mcc=p.mcc[source],
        k=p.k[source],
        u=np.zeros((n, 5)),
        is_fraud=np.zeros(n, dtype=bool),
        errors=np.zeros(n, dtype=np.uint8),
    )


def account_terms(c: ConsumerInput, rows: CardRows, rng: np.random.Generator) -> AccountTerms:
    """Payments, paychecks and credit limits that match how much this person spends on each account, and
    rows.u, the decline kernel's uniforms.

    People broadly live within their means: a credit account's monthly payment covers its monthly card
    spend times a personal slack, and a debit account's inflow covers its spend likewise. The slack is
    lognormal around SLACK and lower for low incomes, so declines for insufficient balance come from the
    tight months of tight budgets (and grow near the limit), not from a balance that drifts forever.
    Issuers raise the limits of accounts whose spending outgrows them (the cards table keeps the limit at
    opening); months well above the usual still hit the limit.

    Draws: one normal (slack), then (rows, 5) uniforms (rows.u)."""
    acct = c.card_account[rows.issue].astype(np.int32)
    n_acct = c.acct_kind.size
    first = np.full(n_acct, np.iinfo(np.int64).max)
    last = np.full(n_acct, np.iinfo(np.int64).min)
    np.minimum.at(first, acct, rows.time)
    np.maximum.at(last, acct, rows.time)
    months = np.maximum((last - first) / (SECONDS_PER_DAY * DAYS_PER_MONTH), 1.0)
    spend = np.bincount(acct, weights=np.maximum(rows.amount, 0.0), minlength=n_acct) / months
    slack = SLACK * np.exp(0.3 * rng.normal()) * min(max(c.yearly_income / 45_000.0, 0.5), 2.0) ** 0.3
    credit = c.acct_kind == AccountKind.CREDIT
    need_share = np.where(c.acct_limit > 0, spend * slack / np.maximum(c.acct_limit, 1.0), 1.0)
    pay_share = np.where(
        credit, np.clip(np.maximum(c.acct_pay_share, need_share), 0.0, 1.0), c.acct_pay_share
    )
    per_period = spend * c.acct_pay_period / DAYS_PER_MONTH
    paycheck = np.where(
        c.acct_kind == AccountKind.DEBIT,
        np.maximum(c.acct_paycheck, per_period * slack / CARD_SHARE_OF_PAYCHECK),
        c.acct_paycheck,
    )
    limit = np.where(credit, np.maximum(c.acct_limit, LIMIT_GROWTH * spend), c.acct_limit)
    rows.u = rng.random((len(rows), 5))
    return AccountTerms(pay_share=pay_share, paycheck=paycheck, limit=limit)


def merge_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The permutation that sorts concatenate([a, b]) stably, for sorted a and b (ties: a first), without
    a full sort."""
    o = np.empty(a.size + b.size, dtype=np.int64)
    o[np.arange(a.size) + np.searchsorted(b, a, side="left")] = np.arange(a.size)
    o[np.arange(b.size) + np.searchsorted(a, b, side="right")] = a.size + np.arange(b.size)
    return o


def merge_fraud(
    ctx: SimContext, c: ConsumerInput, n_purchases: int, rows: CardRows, fraud: FraudRows
) -> CardRows:
    """The owner's rows with the fraud rows merged in by time (ties: the owner's first). A fraud row has
    source n_purchases + j, no alternative card and no PIN; its decline uniforms come from the victim's
    stream (Stream.VICTIM, user, 1), so the owner's rows keep theirs."""
    fe = fraud.episode
    m = len(fe)
    fr = CardRows(
        source=n_purchases + np.arange(m),
        time=fe.time,
        amount=fe.cents / 100.0,
        chan=fe.chan,
        issue=fraud.issue,
        alt_issue=np.full(m, -1),
        pin=np.zeros(m, dtype=bool),
        cell=fe.cell,
        mcc=fe.mcc,
        k=fe.k,
        u=stream(ctx.cfg.seed, Stream.VICTIM, c.user_id, 1).random((m, 5)),
        is_fraud=np.ones(m, dtype=bool),
        errors=np.zeros(m, dtype=np.uint8),
    )
    o = merge_order(rows.time, fe.time)
    both = CardRows(
        **{f: np.concatenate([getattr(rows, f), getattr(fr, f)]) for f in rows.__dataclass_fields__}
    )
    return both.take(o)


def declines(
    ctx: SimContext,
    c: ConsumerInput,
    rows: CardRows,
    terms: AccountTerms,
    first_day: int,
    rng: np.random.Generator,
    cycle: CreditInputs | None = None,
) -> tuple[CardRows, StatementBuffers | None]:
    """Declines from balances and other causes (sim.balances), and the retried declines as rows of their own
    a few minutes later (after Insufficient Balance on the alternative card; a fraudster moves on rather
    than retrying); a retry elsewhere on a card without chip is swiped. With `cycle`, the credit cycle
    runs too (its statements are returned): the holder's rows on a charged-off account move to the other
    usable card, or are dropped when there is none.

    Draws: one integer per retry (minutes later)."""
    e = ctx.cfg.errors
    acct = c.card_account[rows.issue].astype(np.int32)
    alt_acct = np.where(rows.alt_issue >= 0, c.card_account[np.maximum(rows.alt_issue, 0)], -1)
    result = simulate_balances(
        rows.time, rows.amount, acct, rows.chan != Channel.ONLINE, rows.pin, c.acct_kind, terms.limit,
        c.acct_balance0, terms.pay_share, terms.paycheck, c.acct_pay_period, first_day, rows.u, e.bad_pin,
        e.technical_glitch, e.bad_card_number, e.bad_cvv, e.bad_expiration, e.bad_zipcode, e.retry, alt_acct,
        credit=cycle, is_fraud=rows.is_fraud,
    )  # fmt: skip
    statements = None
    if cycle is None:
        errors, retry, _ = result
    else:
        errors, retry, statements = result.errors, result.retry, result.statements
        if result.moved.any():
            rows.issue = np.where(result.moved == 1, rows.alt_issue, rows.issue)
            keep = np.flatnonzero(result.moved != 2)
            rows, errors, retry = rows.take(keep), errors[keep], retry[keep]
    rows.errors = errors
    retry = np.where(rows.is_fraud, -1, retry)
    retry_issue = np.where(
        ((errors & _INSUFFICIENT) != 0) & (rows.alt_issue >= 0), rows.alt_issue, rows.issue
    )
    rows = with_retries(rows, retry, retry_issue, c.valid_to, rng)
    rows.chan = np.where(
        (rows.chan == Channel.CHIP) & ~c.has_chip[rows.issue], Channel.SWIPE, rows.chan
    ).astype(np.int8)
    return rows, statements


def with_retries(
    rows: CardRows, retry: np.ndarray, retry_issue: np.ndarray, valid_to: np.ndarray, rng: np.random.Generator
) -> CardRows:
    """Insert a row for each retried decline (retry >= 0: its errors), 1 to 5 minutes after it (and before
    the consumer's next row, and while the card issue it is retried on is in use), with the retry's own
    errors and card; the rows stay sorted by time (a retry after the row it retries).

    Draws: one integer per retry."""
    at = np.flatnonzero(retry >= 0)
    if at.size == 0:
        return rows
    time = rows.time
    gap = np.append(time[1:] - time[:-1], 10**9)[at]
    left = np.maximum((valid_to[retry_issue[at]] - 1 - time[at]) // SECONDS_PER_MINUTE, 0)
    minutes = np.minimum(np.minimum(rng.integers(1, 6, size=at.size), gap // 120), left)
    pos = np.concatenate([np.arange(time.size) * 2, at * 2 + 1])
    t = np.concatenate([time, time[at] + minutes * SECONDS_PER_MINUTE])
    o = np.lexsort((pos, t))
    out = rows.take(np.concatenate([np.arange(time.size), at])[o])
    out.time = t[o]
    out.errors = np.concatenate([rows.errors, retry[at].astype(np.uint8)])[o]
    out.issue = np.concatenate([rows.issue, retry_issue[at]])[o]
    return out


__all__ = [
    "AccountTerms",
    "account_terms",
    "card_rows",
    "declines",
    "merge_fraud",
    "merge_order",
    "with_retries",
]
