"""Account balances of one consumer, and the declines (TabFormer "Errors?") they and other causes produce.

    errors, balance = simulate_balances(time, amount, account, card_present, pin_used, kind, limit, balance0,
                                        pay_share, paycheck, pay_period, start_day, u, p_bad_pin=..., ...)
    text = errors_to_strings(errors)   # None or "Bad PIN,Insufficient Balance" ...

Each account has one number, its balance: for credit (kind AccountKind.CREDIT) the amount owed, for debit and
prepaid the money available. Everything is one pass in time order over the consumer's rows; money events happen at
00:00 of their day, so they come before every row of that day, and only on days after `start_day` (the
balances are `balance0` at the start of `start_day`, after that day's events).

Money events
  * credit, day 1 of every month (statement date): if owed > 0 the consumer pays
    min(owed, max(pay_share * owed, 25, 2% of owed)), so pay_share = 1 clears the balance and a low
    pay_share still pays the minimum. A credit balance (owed <= 0, from refunds) is left alone.
  * debit, every `pay_period` days from start_day (start_day + k * pay_period, k >= 1): the paycheck comes in
    and the non-card outflow (rent, bills) of BILLS_SHARE (60%) of the paycheck goes out, so the account
    gains 40% of a paycheck per period less what the card spends. Money above SAVINGS_CAP paychecks is
    swept to savings, and the balance never sits below -limit (the overdraft allowance): balances stay
    bounded whatever the card spending.
  * prepaid, on a day the card is used (after start_day): if the balance is below RELOAD_SHARE (10%) of the
    load size `limit`, the holder tops it up with `limit` first (at most once a day).

Rows
  * A refund (amount < 0) is never declined: it credits the account (credit: owed -= |amount|; debit and
    prepaid: available += |amount|).
  * A purchase (amount >= 0) gets `Insufficient Balance` when amount > 0 and
    credit: owed + amount > limit; debit: available + limit < amount; prepaid: available < amount.
  * Independently of the balance, from the caller's pre-drawn uniforms u (n, 4), on purchases only:
      Bad PIN            u0 < p_bad_pin, only where a PIN was used;
      Technical Glitch   u1 < p_glitch, any purchase;
      Bad Card Number / Bad CVV / Bad Expiration, only card-not-present: u2 falls in consecutive intervals
                         [0, p_card), [p_card, p_card + p_cvv), [.., .. + p_exp) (at most one of the three);
      Bad Zipcode        u3 < p_bad_zip, only card-not-present.
    Reasons drawn from different uniforms combine (TabFormer has combinations such as "Bad PIN,Technical
    Glitch"). A row with any error is declined: its money does not move.
  * Retry: a declined purchase is tried again at once with probability p_retry (u4 < p_retry), on the same
    card and account (after Insufficient Balance: on the row's alternative account, if it has one), with fresh draws for the random reasons (the low bits of u0..u3) and the balance
    check repeated: a mistyped PIN usually goes through the second time, an empty account does not. The
    caller writes the retry as its own row a little later.

The errors mask has bit k set for ERROR_REASONS[k] (cardworld.codes.DeclineReason); TabFormer writes the
reasons comma-joined in that order.
The balance returned per row is that row's account balance after the row.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cardworld.codes import DECLINE_REASON_NAMES, AccountKind, DeclineReason
from cardworld.dates import SECONDS_PER_DAY
from cardworld.errors import InputError
from cardworld.jit import JIT_OPTIONS, kernel
from cardworld.sim.credit_cycle import (
    AVOID_DAYS,
    CreditInputs,
    StatementBuffers,
    apply_payments,
    disabled_credit,
    new_buffers,
    new_state,
    next_payment,
    statement_month,
)

ERROR_REASONS = DECLINE_REASON_NAMES  # the contract's order: bit k is ERROR_REASONS[k]
BAD_PIN, INSUFFICIENT, GLITCH, BAD_CARD_NUMBER, BAD_CVV, BAD_EXPIRATION, BAD_ZIP = (
    1 << r for r in DeclineReason
)

CREDIT, DEBIT, PREPAID = int(AccountKind.CREDIT), int(AccountKind.DEBIT), int(AccountKind.PREPAID)
MIN_PAYMENT = 25.0  # credit: minimum monthly payment in dollars ...
MIN_PAYMENT_SHARE = 0.02  # ... or this share of the amount owed, whichever is larger
BILLS_SHARE = 0.6  # debit: non-card outflow per paycheck, as a share of the paycheck
SAVINGS_CAP = 3.0  # debit: money above this many paychecks is swept to savings at each paycheck
RELOAD_SHARE = 0.1  # prepaid: reload with `limit` when the balance is below this share of it on day 1
_NEVER = np.int64(2**62)
RETRY_REMIX = float(2**24)


def _inline(fn):
    """A per-row helper inlined into its caller in numba IR, so its array arguments cost no reference
    counting per call (a plain call increfs/decrefs every array of the NamedTuples each row)."""
    return njit(inline="always", **JIT_OPTIONS)(fn)


class RowArrays(NamedTuple):
    """A consumer's card rows, sorted by time, as the balance kernel reads them."""

    time: np.ndarray  # int64 seconds
    amount: np.ndarray  # float64 dollars, negative = refund
    account: np.ndarray  # int64 account row
    card_present: np.ndarray  # bool
    pin_used: np.ndarray  # bool
    u: np.ndarray  # (n, 5) float64 decline uniforms
    alt_account: np.ndarray  # int64 account of the retry after Insufficient Balance, -1 for none
    is_fraud: np.ndarray  # bool: a fraudster's row (declined on a charged-off account, never moved)


class AccountArrays(NamedTuple):
    """The consumer's accounts (AccountKind codes and money terms)."""

    kind: np.ndarray  # int8 AccountKind
    limit: np.ndarray  # float64
    balance0: np.ndarray  # float64
    pay_share: np.ndarray  # float64 (credit: share of the amount owed paid monthly)
    paycheck: np.ndarray  # float64 (debit)
    pay_period: np.ndarray  # int32 days (debit)


class DeclineRates(NamedTuple):
    """Probabilities of the decline causes other than the balance, and of a retry after a decline."""

    bad_pin: float
    glitch: float
    bad_card_number: float
    bad_cvv: float
    bad_expiration: float
    bad_zip: float
    retry: float


@kernel
def balances_kernel(
    rows, acc, rates, start_day, month_days, errors, retry_errors, balance_out, cr, st, out, moved
):
    """One pass over one consumer's rows (sorted by time). Writes errors (uint8), retry_errors (int16, -1
    where the row is not retried) and balance_out (float64). rows: RowArrays, acc: AccountArrays,
    rates: DeclineRates (NamedTuples, so the kernel reads like the model instead of 25 arguments).

    month_days: sorted int64 day numbers of the first days of months after start_day (statement and reload
    dates), covering at least the last row's day (with the credit cycle: through cr.end_day). Inputs are
    trusted (the wrapper validates them).

    With cr.enabled, credit accounts run the credit cycle (sim.credit_cycle: statements into `out`, state
    `st`) through cr.end_day, and moved[i] says what became of a consumer's own purchase on a charged-off
    account, or on a credit or debit account declined for its balance in the last few days (AVOID_DAYS;
    the holder knows it is empty): 1 moved to its
    alternative account, 2 dropped (no other card can take it: paid otherwise, or not bought). A
    fraudster's attempt on a charged-off account is declined (Insufficient Balance).
    """
    # The NamedTuples' arrays as locals: each attribute read of a tuple in the loop would incref and
    # decref its array (atomics that were most of this kernel's time).
    time, amount, account = rows.time, rows.amount, rows.account
    card_present, pin_used, u = rows.card_present, rows.pin_used, rows.u
    alt_account, is_fraud = rows.alt_account, rows.is_fraud
    kind, limit = acc.kind, acc.limit
    closed, avoid_until = st.closed, st.avoid_until
    n_acc = kind.size
    bal = acc.balance0.copy()
    # Next paycheck day per debit account; month events through month_days[clock[0]].
    next_pay = np.empty(n_acc, dtype=np.int64)
    for a in range(n_acc):
        next_pay[a] = start_day + acc.pay_period[a] if kind[a] == DEBIT else _NEVER
    reload_checked = np.full(n_acc, start_day, dtype=np.int64)
    clock = np.zeros(2, dtype=np.int64)  # index of the next month day, and that day
    clock[1] = month_days[0] if month_days.size > 0 else _NEVER
    next_event = _next_event(clock, next_pay, cr.enabled, st.pay_day)
    p_cvv_hi = rates.bad_card_number + rates.bad_cvv
    p_exp_hi = p_cvv_hi + rates.bad_expiration
    credit = cr.enabled

    for i in range(time.size):
        day = time[i] // SECONDS_PER_DAY
        if day >= next_event:
            _money_events(day, clock, month_days, next_pay, bal, acc, cr, st, out)
            next_event = _next_event(clock, next_pay, credit, st.pay_day)

        a = account[i]
        x = amount[i]
        retry_errors[i] = -1
        if credit and x >= 0.0:  # a refund still credits its own account
            # The account it goes to. A fraudster's stays on its card (-2: declined when charged off). A
            # holder's moves off a charged-off account, and off a credit or debit account declined for its
            # balance in the last AVOID_DAYS days while it still cannot take x, to the row's other usable
            # card when that can (moved 1), else it is not made on a card (moved 2, a = -1).
            if is_fraud[i]:
                a = -2 if closed[a] else a
            elif closed[a] or (day < avoid_until[a] and not _fits(kind[a], bal[a], limit[a], x)):
                alt = alt_account[i]
                if alt >= 0 and not closed[alt] and _fits(kind[alt], bal[alt], limit[alt], x):
                    moved[i] = 1
                    a = alt
                else:
                    moved[i] = 2
                    a = -1
            if a < 0:  # not made on a card (-1), or a fraudster's attempt on a closed account (-2)
                errors[i] = INSUFFICIENT if a == -2 else 0
                balance_out[i] = bal[account[i]]
                continue
        e = 0
        if kind[a] == PREPAID and day > reload_checked[a]:
            reload_checked[a] = day
            if bal[a] < RELOAD_SHARE * limit[a]:
                bal[a] += limit[a]
        if x < 0.0:
            if kind[a] == CREDIT:
                bal[a] += x
            else:
                bal[a] -= x
        else:
            e = _attempt(1.0, x, kind[a], bal[a], limit[a], pin_used[i], card_present[i], u[i, 0], u[i, 1],
                         u[i, 2], u[i, 3], rates, p_cvv_hi, p_exp_hi)  # fmt: skip
            if e == 0:
                bal[a] = _moved(kind[a], bal[a], x)
            if credit and (e & INSUFFICIENT) and kind[a] != PREPAID and not is_fraud[i]:
                avoid_until[a] = day + AVOID_DAYS  # the holder now knows: no more tries for a while
            if e != 0 and u[i, 4] < rates.retry:
                # The retry's own draws come from the low bits of the same uniforms (independent of the
                # high bits the first attempt compared). After Insufficient Balance it uses another card.
                a2 = alt_account[i] if (e & INSUFFICIENT) and alt_account[i] >= 0 else a
                if credit and closed[a2]:
                    retry_errors[i] = INSUFFICIENT
                else:
                    e2 = _attempt(RETRY_REMIX, x, kind[a2], bal[a2], limit[a2], pin_used[i], card_present[i],
                                  u[i, 0], u[i, 1], u[i, 2], u[i, 3], rates, p_cvv_hi, p_exp_hi)  # fmt: skip
                    if e2 == 0:
                        bal[a2] = _moved(kind[a2], bal[a2], x)
                    retry_errors[i] = e2
        errors[i] = e
        balance_out[i] = bal[a]
    if credit:  # statements and payments continue to the world's end
        _money_events(cr.end_day, clock, month_days, next_pay, bal, acc, cr, st, out)


@_inline
def _fits(k, b, lim, x):
    """Whether an account of kind k, balance b and limit lim can take a purchase of x without Insufficient
    Balance."""
    if k == CREDIT:
        return b + x <= lim
    if k == DEBIT:
        return b + lim >= x
    return b >= x


@_inline
def _next_event(clock, next_pay, credit, pay_day):
    """The next day with a money event: a month event, a paycheck or (credit) a card payment."""
    t = clock[1]
    for a in range(next_pay.size):
        t = min(t, next_pay[a])
    if credit:
        t = min(t, next_payment(pay_day))
    return t


@_inline
def _money_events(day, clock, month_days, next_pay, bal, acc, cr, st, out):
    """Every money event on or before `day`, in time order: card payments (credit cycle) before the next
    statement, month events (statements or the plain monthly payment), paychecks. Paychecks and month
    events are per account and each account has one kind, so their order across accounts does not matter."""
    while True:
        if cr.enabled:
            t = next_payment(st.pay_day)
            while t <= day and t < clock[1]:
                apply_payments(t, bal, st, out)
                t = next_payment(st.pay_day)
        if clock[1] > day:
            break
        if cr.enabled:
            statement_month(clock[0], clock[1], acc.kind, acc.limit, acc.pay_share, bal, cr, st, out)
        else:
            for a in range(acc.kind.size):
                if acc.kind[a] == CREDIT:
                    owed = bal[a]
                    if owed > 0.0:
                        pay = max(acc.pay_share[a] * owed, MIN_PAYMENT, MIN_PAYMENT_SHARE * owed)
                        bal[a] = owed - min(pay, owed)
        clock[0] += 1
        clock[1] = month_days[clock[0]] if clock[0] < month_days.size else _NEVER
    for a in range(acc.kind.size):
        while next_pay[a] <= day:
            b = bal[a] + acc.paycheck[a] - BILLS_SHARE * acc.paycheck[a]
            b = min(b, SAVINGS_CAP * acc.paycheck[a])
            bal[a] = max(b, -acc.limit[a])
            next_pay[a] += acc.pay_period[a]
            if cr.enabled:
                st.avoid_until[a] = 0  # money again: the holder uses the card again


@_inline
def _attempt(remix, x, k, b, lim, pin, present, u0, u1, u2, u3, rates, p_cvv_hi, p_exp_hi):
    """Errors of one attempt of a purchase of x dollars on an account of kind k, balance b and limit lim,
    from its uniforms (remix 1: the first attempt; RETRY_REMIX: a retry's fresh draws from their low
    bits). Scalars only: the caller moves the money of an accepted attempt (_moved)."""
    e = 0
    if pin and _draw(u0, remix) < rates.bad_pin:
        e |= BAD_PIN
    if _draw(u1, remix) < rates.glitch:
        e |= GLITCH
    if not present:
        v = _draw(u2, remix)
        if v < rates.bad_card_number:
            e |= BAD_CARD_NUMBER
        elif v < p_cvv_hi:
            e |= BAD_CVV
        elif v < p_exp_hi:
            e |= BAD_EXPIRATION
        if _draw(u3, remix) < rates.bad_zip:
            e |= BAD_ZIP
    if x > 0.0 and not _fits(k, b, lim, x):
        e |= INSUFFICIENT
    return e


@_inline
def _moved(k, b, x):
    """The balance after an accepted purchase (or refund, x < 0) of x on an account of kind k."""
    return b + x if k == CREDIT else b - x


@_inline
def _draw(v, remix):
    """v itself (remix 1), or the fractional part of v * remix: a fresh uniform from v's low bits."""
    w = v * remix
    return w - np.floor(w)


def month_starts(start_day: int, last_day: int) -> np.ndarray:
    """int64 day numbers of every first-of-month in (start_day, last_day]."""
    if last_day <= start_day:
        return np.empty(0, dtype=np.int64)
    lo = np.datetime64(int(start_day), "D").astype("datetime64[M]") + 1
    hi = np.datetime64(int(last_day), "D").astype("datetime64[M]") + 1
    return np.arange(lo, hi, dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _per_row(name: str, x, dtype, n: int) -> np.ndarray:
    arr = np.ascontiguousarray(x, dtype=dtype)
    if arr.shape != (n,):
        raise InputError(f"{name}: expected shape ({n},) like time, got {arr.shape}")
    return arr


def _checked(time, amount, account, card_present, pin_used, kind, limit, balance0, pay_share, paycheck,
             pay_period, u, alt_account):  # fmt: skip
    """simulate_balances' inputs as contiguous arrays of the kernel's dtypes; InputError naming the
    argument (and row) where one is malformed."""
    t = np.ascontiguousarray(time, dtype=np.int64)
    if t.ndim != 1:
        raise InputError(f"time: expected a 1-d array, got shape {t.shape}")
    n = t.size
    amt = _per_row("amount", amount, np.float64, n)
    acc = _per_row("account", account, np.int32, n)
    cp = _per_row("card_present", card_present, np.bool_, n)
    pin = _per_row("pin_used", pin_used, np.bool_, n)
    kd = np.ascontiguousarray(kind, dtype=np.int8)
    if kd.ndim != 1:
        raise InputError(f"kind: expected a 1-d array (one per account), got shape {kd.shape}")
    m = kd.size
    per_acc = {}
    for name, x, dtype in (
        ("limit", limit, np.float64),
        ("balance0", balance0, np.float64),
        ("pay_share", pay_share, np.float64),
        ("paycheck", paycheck, np.float64),
        ("pay_period", pay_period, np.int32),
    ):
        arr = np.ascontiguousarray(x, dtype=dtype)
        if arr.shape != (m,):
            raise InputError(f"{name}: expected shape ({m},) like kind (one per account), got {arr.shape}")
        per_acc[name] = arr
    alt = (
        np.full(n, -1, np.int32) if alt_account is None else _per_row("alt_account", alt_account, np.int32, n)
    )
    if n and alt.max() >= m:
        raise InputError(
            f"alt_account: row {int(np.argmax(alt))} names account {int(alt.max())}, outside 0..{m - 1}"
        )
    uu = np.ascontiguousarray(u, dtype=np.float64)
    if uu.shape != (n, 5):
        raise InputError(f"u: expected shape ({n}, 5), got {uu.shape}")

    if n > 1 and np.any(t[1:] < t[:-1]):
        i = int(np.flatnonzero(t[1:] < t[:-1])[0]) + 1
        raise InputError(f"time: not sorted ascending at row {i}; sort the consumer's rows by time")
    if not np.all(np.isfinite(amt)):
        raise InputError(f"amount: non-finite value at row {int(np.flatnonzero(~np.isfinite(amt))[0])}")
    if n and (acc.min() < 0 or acc.max() >= m):
        i = int(np.flatnonzero((acc < 0) | (acc >= m))[0])
        raise InputError(f"account: row {i} has account {int(acc[i])}, outside 0..{m - 1}")
    if m and not np.all(np.isin(kd, [CREDIT, DEBIT, PREPAID])):
        raise InputError(
            f"kind: values must be {DEBIT} (debit), {CREDIT} (credit) or {PREPAID} (prepaid), as cardworld.codes.AccountKind"
        )
    if np.any((kd == DEBIT) & (per_acc["pay_period"] < 1)):
        raise InputError("pay_period: must be >= 1 day for debit accounts")
    for name in ("limit", "balance0", "pay_share", "paycheck"):
        if not np.all(np.isfinite(per_acc[name])):
            raise InputError(f"{name}: values must be finite")

    return t, amt, acc, cp, pin, kd, per_acc, alt, uu


class BalanceResult(NamedTuple):
    """simulate_balances' results with the credit cycle: per row, then the cycle's statements."""

    errors: np.ndarray  # uint8 decline bitmask
    retry: np.ndarray  # int16 errors of the retry, -1: not retried
    balance: np.ndarray  # float64 the row's account balance after the row
    moved: np.ndarray  # int8: 1 moved to the row's alternative account (charged off), 2 dropped
    statements: StatementBuffers  # trimmed to the statements and defaults written


def simulate_balances(
    time: np.ndarray,
    amount: np.ndarray,
    account: np.ndarray,
    card_present: np.ndarray,
    pin_used: np.ndarray,
    kind: np.ndarray,
    limit: np.ndarray,
    balance0: np.ndarray,
    pay_share: np.ndarray,
    paycheck: np.ndarray,
    pay_period: np.ndarray,
    start_day: int,
    u: np.ndarray,
    p_bad_pin: float,
    p_glitch: float,
    p_bad_card_number: float,
    p_bad_cvv: float,
    p_bad_expiration: float,
    p_bad_zip: float,
    p_retry: float = 0.0,
    alt_account: np.ndarray | None = None,
    *,
    credit: CreditInputs | None = None,
    is_fraud: np.ndarray | None = None,
):
    """(errors uint8 bitmask per row, retry errors int16 per row (-1: not retried), balance after each row
    float64). Declined rows don't move money; a retried decline is tried again at once (same card, amount
    and account, or after Insufficient Balance on alt_account where that row has one (>= 0)) and its
    errors are returned in retry errors.

    time: int64 seconds, sorted ascending (one consumer's card rows); amount: float64 dollars (negative is a
    refund); account: int32 account of each row (0..n_accounts-1); card_present, pin_used: bool per row;
    kind (int8 cardworld.codes.AccountKind), limit, balance0, pay_share, paycheck, pay_period (int32 days):
    per account; start_day: day number at which balances are balance0; u: float64 (n, 4) uniforms in [0, 1).
    See the module docstring for the mechanics.

    With `credit` (sim.credit_cycle.CreditInputs, enabled), credit accounts run the credit cycle through
    credit.end_day and the result is a BalanceResult (is_fraud: bool per row, the fraudsters' rows).
    """
    t, amt, acc, cp, pin, kd, per_acc, alt, uu = _checked(
        time, amount, account, card_present, pin_used, kind, limit, balance0, pay_share, paycheck, pay_period,
        u, alt_account,
    )  # fmt: skip
    n = t.size
    fraud = np.zeros(n, np.bool_) if is_fraud is None else _per_row("is_fraud", is_fraud, np.bool_, n)
    cr = disabled_credit() if credit is None else credit
    errors = np.zeros(n, dtype=np.uint8)
    retry = np.full(n, -1, dtype=np.int16)
    bal = np.empty(n, dtype=np.float64)
    moved = np.zeros(n, dtype=np.int8)
    last = int(t[-1] // SECONDS_PER_DAY) if n else int(start_day)
    if cr.enabled:
        last = max(last, int(cr.end_day))
    months = month_starts(int(start_day), last)
    if cr.enabled:
        _check_credit(cr, kd.size, months.size)
    n_credit = int(np.count_nonzero(kd == CREDIT)) if cr.enabled else 0
    st = new_state(kd.size if cr.enabled else 0)
    out = new_buffers(n_credit * months.size, n_credit)
    if n or cr.enabled:
        balances_kernel(
            RowArrays(t, amt, acc, cp, pin, uu, alt, fraud),
            AccountArrays(kd, per_acc["limit"], per_acc["balance0"], per_acc["pay_share"], per_acc["paycheck"],
                          per_acc["pay_period"]),
            DeclineRates(float(p_bad_pin), float(p_glitch), float(p_bad_card_number), float(p_bad_cvv),
                         float(p_bad_expiration), float(p_bad_zip), float(p_retry)),
            np.int64(start_day), months, errors, retry, bal, cr, st, out, moved,
        )  # fmt: skip
    if credit is None:
        return errors, retry, bal
    k, d = int(st.n_rows[0]), int(st.n_defaults[0])
    trimmed = StatementBuffers(*(b[:k] for b in out[:11]), *(b[:d] for b in out[11:]))
    return BalanceResult(errors, retry, bal, moved, trimmed)


def _check_credit(cr: CreditInputs, n_acc: int, n_months: int) -> None:
    """InputError naming the CreditInputs field whose shape does not match the accounts and months."""
    want = {"apr": (n_acc,), "open_day": (n_acc,), "close_day": (n_acc,), "distress": (n_months,),
            "cause": (n_months,), "u": (n_acc, n_months, 4)}  # fmt: skip
    for name, shape in want.items():
        got = np.shape(getattr(cr, name))
        if got != shape:
            raise InputError(
                f"credit.{name}: expected shape {shape} ({n_acc} accounts, {n_months} statement months from "
                f"start_day to credit.end_day), got {got}"
            )


def _reason_table() -> np.ndarray:
    table = np.empty(1 << len(ERROR_REASONS), dtype=object)
    for mask in range(table.size):
        names = [r for k, r in enumerate(ERROR_REASONS) if mask >> k & 1]
        table[mask] = ",".join(names) if names else None
    return table


_REASONS_TABLE = _reason_table()


def errors_to_strings(mask: np.ndarray) -> np.ndarray:
    """Object array: None where the mask is 0, else the reasons comma-joined in ERROR_REASONS order."""
    m = np.asarray(mask)
    if m.size and (m.min() < 0 or m.max() >= _REASONS_TABLE.size):
        raise InputError(f"mask: values must be in 0..{_REASONS_TABLE.size - 1}")
    return _REASONS_TABLE[m.astype(np.intp)]


__all__ = [
    "ERROR_REASONS",
    "BalanceResult",
    "balances_kernel",
    "errors_to_strings",
    "month_starts",
    "simulate_balances",
]
