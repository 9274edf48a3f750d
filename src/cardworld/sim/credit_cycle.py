"""The credit cycle of one consumer's credit accounts: statements, payments, delinquency and charge-off.

The balance kernel (sim.balances) calls these at 00:00 of each month's first day (`statement_month`) and
of each payment day (`apply_payments`), in time order with the consumer's card rows, so purchases, refunds,
interest, fees and payments move the same balances.

At each statement date M, a holder in distress may first move debt from a card near its limit to one with
room (a balance transfer, `_balance_transfer`). Then, for each credit account open for billing (opened before M; after the holder
closes it, only while something is owed):
  * the cycle closes: if the previous minimum is not paid in full, a late fee; if the previous balance was
    not paid in full (revolving), interest of apr / 12 on the balance (paying in full keeps the grace period);
  * days past due = 30 x the number of earlier minimums still unpaid (a payment covers the oldest first);
    at 180 the account is charged off: this statement is its last, the account is closed (its cards are
    declined and the holder stops using them) and a default is recorded;
  * the statement: balance B, minimum due min(B, max(floor, share x B)) plus what is past due; fees are
    the late fee and any balance-transfer fee of the cycle;
  * the holder decides the payment, made on a day within `due_days` (see `_decide`): their habit while
    all is well (pay_share of the balance, at least the minimum: 1 pays in full); in distress
    (sim.life_events) the minimum only, then a partial or missed payment; once behind, they miss again
    (the account rolls to the next bucket), cure (pay all that is past due) or pay the current minimum
    (it stays in its bucket). How likely each is depends on can_pay = 1 - distress x (1 - resilience)
    (resilience is higher with a higher score) and, for rolling, on how deep the account already is.
After all accounts, the holder's score for the month: the score at the world's start less a penalty for the
worst delinquency (it decays with a half-life of about three years) and for high utilisation.

Uniforms: 4 per (account, month) from the consumer's credit stream, drawn whether used or not.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cardworld.jit import kernel

QUEUE = 8  # unpaid minimums remembered per account (charge-off comes at 6)
CHARGE_OFF_BUCKETS = 6  # 180 days past due
MISS_FIRST = 0.6  # scale of P(first slip) = MISS_FIRST x (1 - can_pay) for an account that is current
BASE_MISS = 0.0015  # P(a current account's payment is missed with no distress): forgotten, cured soon
ROLL_DEPTH = 2.0  # P(roll to the next bucket) = 1 - can_pay ** (ROLL_DEPTH x (buckets behind + 1))
CURE = 0.95  # P(cure | no roll): the rest pays only the current minimum and stays in its bucket
SCORE_DECAY = 0.98  # monthly decay of the delinquency penalty on the score
SCORE_HIT = np.array(
    [0.0, 60.0, 90.0, 110.0, 130.0, 140.0, 150.0, 160.0]
)  # by buckets behind; last: charge-off
UTIL_PENALTY = 60.0  # score points per unit of utilisation above 30%
# Balance transfers: a holder in distress (at least TRANSFER_DISTRESS) moves debt from a card at least
# TRANSFER_FROM used to one at most TRANSFER_TO used and current, at most once in TRANSFER_EVERY months,
# for a fee of TRANSFER_FEE of the amount (at least TRANSFER_MIN dollars, leaving TRANSFER_KEEP of the
# source's limit and filling the destination to at most TRANSFER_ROOM of its limit).
TRANSFER_DISTRESS, TRANSFER_FROM, TRANSFER_TO, TRANSFER_EVERY = 0.2, 0.8, 0.4, 12
TRANSFER_FEE, TRANSFER_MIN, TRANSFER_KEEP, TRANSFER_ROOM = 0.03, 100.0, 0.3, 0.9
AVOID_DAYS = 3  # a holder declined for the balance tries that card again after this many days (sooner
# after a payment or paycheck)
NEVER = np.int64(2**62)


class CreditInputs(NamedTuple):
    """What the cycle needs of one consumer: per account (all accounts; non-credit ones are skipped), per
    statement month (aligned with the kernel's month days), and scalars."""

    enabled: bool
    apr: np.ndarray  # float64 percent per account
    open_day: np.ndarray  # int64 epoch day the account opened
    close_day: np.ndarray  # int64 epoch day the holder closes it (NEVER while open)
    distress: np.ndarray  # float64 per month
    cause: np.ndarray  # int8 LifeEvent per month
    u: np.ndarray  # float64 (n_accounts, n_months, 4)
    floor: float
    share: float
    late_fee: float
    due_days: int
    fico0: float
    resilience: float  # in [0, 1)
    end_day: int  # the world's last day: payments after it are not known


class CreditState(NamedTuple):
    """Mutable per-account state of the cycle (arrays; scalars in 1-element arrays)."""

    queue: np.ndarray  # (n_accounts, QUEUE) float64 unpaid minimums, oldest first
    n_due: np.ndarray  # int64 entries in queue
    stmt_balance: np.ndarray  # float64 balance of the last statement
    paid: np.ndarray  # float64 paid toward the last statement
    pay_day: np.ndarray  # int64 day of the pending payment (NEVER: none)
    pay_amount: np.ndarray  # float64
    last_row: np.ndarray  # int64 output row of the last statement, -1 before the first
    closed: np.ndarray  # bool: charged off
    avoid_until: np.ndarray  # int64 day until which the holder avoids an account declined for its balance
    delinquent_since: np.ndarray  # int64 statement day the account first showed 30 DPD, -1 when current
    delinquent_cause: np.ndarray  # int8 LifeEvent at that statement
    fee_due: np.ndarray  # float64 fees of the cycle so far other than the late fee (balance transfers)
    last_transfer: np.ndarray  # (1,) int64 month index of the holder's last balance transfer
    penalty: np.ndarray  # (1,) float64 score penalty
    n_rows: np.ndarray  # (1,) int64 statements written
    n_defaults: np.ndarray  # (1,) int64 defaults written


class StatementBuffers(NamedTuple):
    """Preallocated outputs: statements (one per account per month at most) and defaults."""

    account: np.ndarray  # int64
    day: np.ndarray  # int64
    balance: np.ndarray
    minimum_due: np.ndarray
    payment: np.ndarray
    payment_day: np.ndarray  # int64, -1: none
    days_past_due: np.ndarray  # int16
    apr: np.ndarray
    fees: np.ndarray
    credit_limit: np.ndarray
    fico: np.ndarray  # int16
    d_account: np.ndarray  # defaults: int64
    d_first_day: np.ndarray
    d_day: np.ndarray
    d_balance: np.ndarray
    d_cause: np.ndarray  # int8


def disabled_credit() -> CreditInputs:
    """Inputs that turn the cycle off (the kernel's types, empty arrays)."""
    z = np.zeros(0)
    i = np.zeros(0, np.int64)
    return CreditInputs(False, z, i, i, z, np.zeros(0, np.int8), np.zeros((0, 0, 4)), 0.0, 0.0, 0.0,
                        np.int64(1), 0.0, 0.0, np.int64(0))  # fmt: skip


def new_state(n_accounts: int) -> CreditState:
    return CreditState(
        queue=np.zeros((n_accounts, QUEUE)),
        n_due=np.zeros(n_accounts, np.int64),
        stmt_balance=np.zeros(n_accounts),
        paid=np.zeros(n_accounts),
        pay_day=np.full(n_accounts, NEVER, np.int64),
        pay_amount=np.zeros(n_accounts),
        last_row=np.full(n_accounts, -1, np.int64),
        closed=np.zeros(n_accounts, np.bool_),
        avoid_until=np.zeros(n_accounts, np.int64),
        delinquent_since=np.full(n_accounts, -1, np.int64),
        delinquent_cause=np.zeros(n_accounts, np.int8),
        fee_due=np.zeros(n_accounts),
        last_transfer=np.full(1, -TRANSFER_EVERY, np.int64),
        penalty=np.zeros(1),
        n_rows=np.zeros(1, np.int64),
        n_defaults=np.zeros(1, np.int64),
    )


def new_buffers(n_rows: int, n_accounts: int) -> StatementBuffers:
    f, i = np.float64, np.int64
    z = [np.zeros(n_rows, t) for t in (i, i, f, f, f, i, np.int16, f, f, f, np.int16)]
    d = [np.zeros(n_accounts, t) for t in (i, i, i, f, np.int8)]
    return StatementBuffers(*z, *d)


@kernel
def next_payment(pay_day):
    """The earliest pending payment day of CreditState.pay_day (NEVER: none)."""
    t = NEVER
    for a in range(pay_day.size):
        t = min(t, pay_day[a])
    return t


@kernel
def apply_payments(day, bal, st, out):
    """Make every pending payment due on or before `day`: it lowers the balance and pays the oldest unpaid
    minimums first."""
    for a in range(st.pay_day.size):
        if st.pay_day[a] <= day:
            x = st.pay_amount[a]
            bal[a] -= x
            st.paid[a] += x
            _pay_queue(st, a, x)
            st.pay_day[a] = NEVER
            st.avoid_until[a] = 0


@kernel
def _pay_queue(st, a, x):
    k = 0
    n = st.n_due[a]
    while k < n and x >= st.queue[a, k] - 0.005:
        x -= st.queue[a, k]
        k += 1
    if k < n:
        st.queue[a, k] -= x
    for j in range(k, n):
        st.queue[a, j - k] = st.queue[a, j]
    st.n_due[a] = n - k


@kernel
def statement_month(j, day, kind, limit, pay_share, bal, cr, st, out):
    """The statements of month j (epoch day `day`) of every credit account, then the holder's score."""
    if cr.distress[j] >= TRANSFER_DISTRESS and j - st.last_transfer[0] >= TRANSFER_EVERY:
        _balance_transfer(j, day, kind, limit, bal, cr, st)
    first = st.n_rows[0]
    worst = 0
    owed = 0.0
    room = 0.0
    for a in range(kind.size):
        if kind[a] != 1 or st.closed[a] or cr.open_day[a] >= day:
            continue
        if day > cr.close_day[a] and bal[a] <= 0.005 and st.n_due[a] == 0:
            continue
        behind = _statement(j, day, a, limit, pay_share, bal, cr, st, out)
        worst = max(worst, behind)
        if not st.closed[a]:
            owed += max(bal[a], 0.0)
            room += limit[a]
    util = owed / room if room > 0.0 else 0.0
    st.penalty[0] = max(st.penalty[0] * SCORE_DECAY, SCORE_HIT[min(worst, SCORE_HIT.size - 1)])
    score = cr.fico0 - st.penalty[0] - UTIL_PENALTY * max(util - 0.3, 0.0)
    score = min(max(np.floor(score + 0.5), 300.0), 850.0)
    for r in range(first, st.n_rows[0]):
        out.fico[r] = np.int16(score)


@kernel
def _balance_transfer(j, day, kind, limit, bal, cr, st):
    """Move debt from the most used card to the least used current one (see TRANSFER_*): the amount pays
    the source like a payment and is owed on the destination, with its fee in the next statement."""
    src, dst = -1, -1
    hi, lo = TRANSFER_FROM, TRANSFER_TO
    for a in range(kind.size):
        if kind[a] != 1 or st.closed[a] or cr.open_day[a] >= day or day > cr.close_day[a] or limit[a] <= 0.0:
            continue
        used = bal[a] / limit[a]
        if used >= hi:
            hi, src = used, a
        if used <= lo and st.n_due[a] == 0:
            lo, dst = used, a
    if src < 0 or dst < 0 or src == dst:
        return
    x = min(
        bal[src] - TRANSFER_KEEP * limit[src], (TRANSFER_ROOM * limit[dst] - bal[dst]) / (1.0 + TRANSFER_FEE)
    )
    if x < TRANSFER_MIN:
        return
    bal[src] -= x
    st.paid[src] += x
    st.avoid_until[src] = 0
    _pay_queue(st, src, x)
    bal[dst] += x
    st.fee_due[dst] += TRANSFER_FEE * x
    st.last_transfer[0] = j


@kernel
def _statement(j, day, a, limit, pay_share, bal, cr, st, out):
    """Close account a's cycle and write its statement; returns its buckets behind (7: charged off)."""
    fees = st.fee_due[a]
    st.fee_due[a] = 0.0
    if st.last_row[a] >= 0:
        if st.n_due[a] > 0:  # the last minimum (or an older one) is still unpaid at the due date
            fees += cr.late_fee
        if st.paid[a] < st.stmt_balance[a] - 0.005 and bal[a] > 0.0:
            bal[a] += bal[a] * cr.apr[a] / 1200.0
    bal[a] += fees
    behind = st.n_due[a]
    b = bal[a]
    if b <= 0.005:  # nothing owed: nothing is past due either
        st.n_due[a] = 0
        behind = 0
    if behind > 0 and st.delinquent_since[a] < 0:
        st.delinquent_since[a] = day
        st.delinquent_cause[a] = cr.cause[j] if cr.cause[j] != 0 else cr.cause[max(j - 1, 0)]
    elif behind == 0:
        st.delinquent_since[a] = -1
    past = 0.0
    for k in range(st.n_due[a]):
        past += st.queue[a, k]
    current = min(b, max(cr.floor, cr.share * b)) if b > 0.005 else 0.0
    minimum = min(b, current + past) if b > 0.005 else 0.0
    r = st.n_rows[0]
    out.account[r] = a
    out.day[r] = day
    out.balance[r] = b
    out.minimum_due[r] = minimum
    out.payment[r] = 0.0
    out.payment_day[r] = -1
    out.days_past_due[r] = np.int16(30 * min(behind, CHARGE_OFF_BUCKETS))
    out.apr[r] = cr.apr[a]
    out.fees[r] = fees
    out.credit_limit[r] = limit[a]
    st.n_rows[0] = r + 1
    st.last_row[a] = r
    st.stmt_balance[a] = b
    st.paid[a] = 0.0
    if behind >= CHARGE_OFF_BUCKETS:
        d = st.n_defaults[0]
        out.d_account[d] = a
        out.d_first_day[d] = st.delinquent_since[a]
        out.d_day[d] = day
        out.d_balance[d] = b
        out.d_cause[d] = st.delinquent_cause[a]
        st.n_defaults[0] = d + 1
        st.closed[a] = True
        return 7
    if current > 0.0 and st.n_due[a] < QUEUE:
        st.queue[a, st.n_due[a]] = current
        st.n_due[a] += 1
    pay = _decide(j, a, b, minimum, current, behind, pay_share[a], cr)
    if pay > 0.0:
        u = cr.u[a, j, 3]
        pay_day = day + 1 + np.int64(u * (cr.due_days - 1))
        if pay_day <= cr.end_day:
            st.pay_day[a] = pay_day
            st.pay_amount[a] = pay
            out.payment[r] = pay
            out.payment_day[r] = pay_day
    return behind


@kernel
def _decide(j, a, b, minimum, current, behind, pay_share, cr):
    """What the holder pays toward this statement (see the module docstring)."""
    if b <= 0.005:
        return 0.0
    distress = cr.distress[j]
    can_pay = 1.0 - distress * (1.0 - cr.resilience)
    u0, u1, u2 = cr.u[a, j, 0], cr.u[a, j, 1], cr.u[a, j, 2]
    if behind > 0:
        # Arrears, fees and interest add up: the deeper the account, the likelier it rolls on, for a
        # budget that is short at all; a holder out of distress always catches up in the end.
        roll = 1.0 - can_pay ** (ROLL_DEPTH * (behind + 1))
        if u0 < roll:
            return 0.0  # rolls to the next bucket
        if u0 < roll + (1.0 - roll) * CURE:
            return minimum  # cure: everything past due and this month's minimum
        return current  # the current minimum only: the account stays in its bucket
    slip = MISS_FIRST * (1.0 - can_pay) + BASE_MISS
    if u0 < slip:
        return u2 * minimum if u1 < 0.5 else 0.0  # a partial payment or none: 30 days past due next month
    if distress >= 0.1:
        return minimum
    return max(minimum, min(b, pay_share * b))  # the habit: pay_share 1 pays in full


__all__ = [
    "CreditInputs",
    "CreditState",
    "StatementBuffers",
    "apply_payments",
    "disabled_credit",
    "new_buffers",
    "new_state",
    "next_payment",
    "statement_month",
]
