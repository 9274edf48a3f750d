"""The credit cycle (sim.credit_cycle, run by sim.balances): hand-built accounts whose decisions are forced
by the uniforms, statements computed by hand, and a naive day-by-day reference on random cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from credit_reference import FLOOR, INSUF, LATE_FEE, SHARE, minimum, reference

from cardworld.codes import AccountKind, LifeEvent
from cardworld.errors import InputError
from cardworld.sim import credit_cycle as cc
from cardworld.sim.balances import simulate_balances
from cardworld.sim.credit_cycle import NEVER, CreditInputs, disabled_credit

CREDIT, DEBIT, PREPAID = (int(k) for k in (AccountKind.CREDIT, AccountKind.DEBIT, AccountKind.PREPAID))
START = "2020-01-01"
DUE_DAYS = 25
# Decisions, as uniforms (u0, u1, u2, u3) of one (account, month); u3 = 0.5 with 25 due days pays on the
# 13th day after the statement (day + 1 + int(0.5 x 24)).
PAY_AFTER = 13
HABIT = (0.5, 0.9, 0.5, 0.5)  # no distress, current: the habit (pay_share of the balance)
MISS = (0.3, 0.9, 0.5, 0.5)  # distress 1, resilience 0: a current account slips (u0 < 0.6) and pays nothing
CURE = (0.5, 0.9, 0.5, 0.5)  # no distress, behind: pays everything past due and the current minimum
CURRENT_ONLY = (0.97, 0.9, 0.5, 0.5)  # no distress, behind: pays only the current minimum


def day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def months_between(start: str, end: str) -> list[int]:
    """Epoch days of the 1st of every month after `start` up to `end` (the statement dates)."""
    d = dt.date.fromisoformat(start).replace(day=1)
    out = []
    while True:
        d = (d + dt.timedelta(days=32)).replace(day=1)
        if d > dt.date.fromisoformat(end):
            return out
        out.append(day(d.isoformat()))


def uniforms(n_acc: int, n_months: int, default=HABIT, **by_month) -> np.ndarray:
    """(n_acc, n_months, 4) uniforms: `default`, and m<k>=(u0, u1, u2, u3) for month k of every account."""
    u = np.tile(np.asarray(default, float), (n_acc, n_months, 1))
    for key, v in by_month.items():
        u[:, int(key[1:])] = v
    return u


def run_cycle(rows, *, kind, end="2020-12-31", limit=None, pay_share=None, apr=18.0, balance0=None,
              distress=None, cause=None, u=None, open_day=None, close_day=None, fico0=720.0, resilience=0.0,
              paycheck=None, pay_period=None, p_retry=0.0, row_u=None):  # fmt: skip
    """simulate_balances with the credit cycle over START..end; rows: (iso time, amount, account[, alt[,
    fraud]]). Returns the BalanceResult and the statement dates."""
    months = months_between(START, end)
    n, m, k = len(rows), len(kind), len(months)
    full = [r + (-1, False)[len(r) - 3 :] for r in rows]
    cr = CreditInputs(
        True,
        np.broadcast_to(np.asarray(apr, float), (m,)).copy(),
        np.full(m, day(START) - 400, np.int64) if open_day is None else np.asarray(open_day, np.int64),
        np.full(m, NEVER, np.int64) if close_day is None else np.asarray(close_day, np.int64),
        np.zeros(k) if distress is None else np.asarray(distress, float),
        np.zeros(k, np.int8) if cause is None else np.asarray(cause, np.int8),
        uniforms(m, k) if u is None else np.ascontiguousarray(u, float),
        FLOOR, SHARE, LATE_FEE, np.int64(DUE_DAYS), float(fico0), float(resilience), np.int64(day(end)),
    )  # fmt: skip
    result = simulate_balances(
        np.array([np.datetime64(r[0], "s").astype(np.int64) for r in full], np.int64).reshape(n),
        np.array([r[1] for r in full], float).reshape(n),
        np.array([r[2] for r in full], np.int32).reshape(n),
        np.ones(n, bool), np.zeros(n, bool), np.asarray(kind, np.int8),
        np.full(m, 100_000.0) if limit is None else np.asarray(limit, float),
        np.zeros(m) if balance0 is None else np.asarray(balance0, float),
        np.ones(m) if pay_share is None else np.asarray(pay_share, float),
        np.zeros(m) if paycheck is None else np.asarray(paycheck, float),
        np.full(m, 10_000, np.int32) if pay_period is None else np.asarray(pay_period, np.int32),
        day(START), np.full((n, 5), 0.99) if row_u is None else row_u, 0, 0, 0, 0, 0, 0, p_retry,
        np.array([r[3] for r in full], np.int32).reshape(n),
        credit=cr, is_fraud=np.array([r[4] for r in full], bool).reshape(n),
    )  # fmt: skip
    return result, months


def distressed(k: int, *months: int) -> np.ndarray:
    """Distress per statement month: 1 in `months`, else 0."""
    return np.isin(np.arange(k), months).astype(float)


def of_account(s: cc.StatementBuffers, a: int) -> dict[str, np.ndarray]:
    keep = s.account == a
    return {f: getattr(s, f)[keep] for f in s._fields[:11]}


# ---------------------------------------------------------------- hand-computed accounts


def test_full_payer():
    rows = [("2020-01-05T10:00", 120.0, 0), ("2020-01-20T12:00", 80.5, 0), ("2020-02-03T09:00", 40.0, 0),
            ("2020-02-20T09:00", 2000.0, 0), ("2020-03-10T09:00", 10.0, 0)]  # fmt: skip
    r, months = run_cycle(rows, kind=[CREDIT], limit=[10_000.0])
    s = of_account(r.statements, 0)
    assert s["day"].tolist() == months  # every 1st of month after the start, through the end
    balance = [200.5, 2040.0, 10.0] + [0.0] * 8  # each month's purchases: the last statement was paid
    assert s["balance"].tolist() == pytest.approx(balance)
    assert s["minimum_due"].tolist() == pytest.approx([25.0, 61.2, 10.0] + [0.0] * 8)
    assert s["payment"].tolist() == pytest.approx(balance)
    assert s["payment_day"].tolist() == [m + PAY_AFTER for m in months[:3]] + [-1] * 8
    assert (s["fees"] == 0).all()
    assert (s["days_past_due"] == 0).all()
    assert set(zip(s["apr"], s["credit_limit"], strict=True)) == {(18.0, 10_000.0)}
    assert (s["fico"] == 720).all()  # current, utilisation under 30%
    # The payment of Feb 14 clears January's 200.5, not the 40 bought on Feb 3.
    assert r.balance.tolist() == pytest.approx([120.0, 200.5, 240.5, 2040.0, 2050.0])
    assert len(r.statements.d_account) == 0
    assert (r.moved == 0).all()


def test_revolver_pays_interest_a_full_payer_does_not():
    rows = [("2020-01-10T10:00", 1000.0, 0), ("2020-01-11T10:00", 300.0, 1), ("2020-02-15T10:00", 200.0, 0)]
    r, _ = run_cycle(rows, kind=[CREDIT, CREDIT], pay_share=[0.4, 1.0], apr=[24.0, 24.0], end="2020-04-30")
    rate = 24.0 / 1200
    b1 = 1000.0  # Feb 1; 400 paid Feb 14, 200 bought Feb 15
    b2 = (b1 - 0.4 * b1 + 200.0) * (1 + rate)  # not paid in full: interest on the balance
    b3 = (b2 - 0.4 * b2) * (1 + rate)
    s = of_account(r.statements, 0)
    assert s["balance"].tolist() == pytest.approx([b1, b2, b3])
    assert s["minimum_due"].tolist() == pytest.approx([minimum(b) for b in (b1, b2, b3)])
    assert s["payment"].tolist() == pytest.approx([0.4 * b for b in (b1, b2, b3)])
    assert (s["fees"] == 0).all()
    assert (s["days_past_due"] == 0).all()
    full = of_account(r.statements, 1)
    assert full["balance"].tolist() == pytest.approx([300.0, 0.0, 0.0])  # paid in full: no interest


def six_misses(extra_rows=(), kind=(CREDIT,), **kw):
    """A 1000 balance, then distress from the first statement on: nothing is paid again."""
    rows = [("2020-01-10T10:00", 1000.0, 0), *extra_rows]
    k = len(months_between(START, "2020-12-31"))
    cause = np.full(k, LifeEvent.JOB_LOSS, np.int8)
    return run_cycle(rows, kind=list(kind), distress=np.ones(k), cause=cause,
                     u=uniforms(len(kind), k, default=MISS), **kw)  # fmt: skip


def test_six_misses_roll_to_charge_off():
    r, months = six_misses()
    rate = 18.0 / 1200
    balances, minimums, queue = [1000.0], [minimum(1000.0)], [minimum(1000.0)]
    for _ in range(6):  # each later statement: interest, a late fee, one more minimum past due
        b = balances[-1] * (1 + rate) + LATE_FEE
        balances.append(b)
        minimums.append(min(b, minimum(b) + sum(queue)))
        queue.append(minimum(b))
    s = of_account(r.statements, 0)
    assert s["day"].tolist() == months[:7]  # the 7th statement, at 180 DPD, is the last
    assert s["days_past_due"].tolist() == [0, 30, 60, 90, 120, 150, 180]
    assert s["balance"].tolist() == pytest.approx(balances)
    assert s["minimum_due"].tolist() == pytest.approx(minimums)
    assert s["fees"].tolist() == [0.0] + [LATE_FEE] * 6
    assert (s["payment"] == 0).all()
    assert (s["payment_day"] == -1).all()
    d = r.statements
    assert d.d_account.tolist() == [0]
    assert d.d_first_day.tolist() == [months[1]]  # the statement that first showed 30 DPD
    assert d.d_day.tolist() == [months[6]]
    assert d.d_balance.tolist() == pytest.approx([balances[6]])
    assert d.d_cause.tolist() == [LifeEvent.JOB_LOSS]
    fico = s["fico"].astype(int)
    assert fico[0] == 720
    assert (np.diff(fico) < 0).all()


def test_after_charge_off_purchases_move_or_drop_and_fraud_is_declined():
    after = [("2020-09-05T10:00", 50.0, 0, 1), ("2020-09-06T10:00", 30.0, 0, -1),
             ("2020-09-07T10:00", 40.0, 0, 1, True), ("2020-09-08T10:00", 20.0, 1),
             ("2020-09-09T10:00", 5000.0, 1, 0)]  # fmt: skip
    row_u = np.full((6, 5), 0.99)
    row_u[5, 4] = 0.0  # the declined debit purchase is retried on its alternative: the charged-off card
    r, months = six_misses(after, kind=(CREDIT, DEBIT), limit=[100_000.0, 0.0], balance0=[0.0, 500.0],
                           p_retry=0.5, row_u=row_u)  # fmt: skip
    assert r.statements.d_day.tolist() == [months[6]]  # charged off on Aug 1
    charged_off = r.statements.d_balance[0]  # what the account still holds
    assert r.moved.tolist() == [0, 1, 2, 0, 0, 0]
    assert r.errors.tolist() == [0, 0, 0, INSUF, 0, INSUF]
    assert r.retry.tolist() == [-1, -1, -1, -1, -1, INSUF]
    # Moved: the debit account pays the 50; dropped: nothing moves; the fraud attempt moves nothing.
    assert r.balance[1:].tolist() == pytest.approx([450.0, charged_off, charged_off, 430.0, 430.0])
    assert (r.statements.account == 0).sum() == 7  # no statement after the charge-off


def test_cure_resets_to_current():
    k = len(months_between(START, "2020-06-30"))
    d = distressed(k, 0)
    r, _ = run_cycle([("2020-01-10T10:00", 1000.0, 0)], kind=[CREDIT], end="2020-06-30", distress=d,
                     u=uniforms(1, k, m0=MISS, m1=CURE))  # fmt: skip
    rate = 18.0 / 1200
    b2 = 1000.0 * (1 + rate) + LATE_FEE
    m2 = minimum(b2) + minimum(1000.0)
    b3 = (b2 - m2) * (1 + rate)  # cured, but the statement was not paid in full: interest, no fee
    s = of_account(r.statements, 0)
    assert s["days_past_due"].tolist() == [0, 30, 0, 0, 0]
    assert s["balance"].tolist() == pytest.approx([1000.0, b2, b3, 0.0, 0.0])
    assert s["minimum_due"][:3].tolist() == pytest.approx([30.0, m2, minimum(b3)])
    assert s["payment"][:3].tolist() == pytest.approx([0.0, m2, b3])
    assert s["fees"].tolist() == [0.0, LATE_FEE, 0.0, 0.0, 0.0]


def test_paying_the_current_minimum_keeps_the_bucket():
    k = len(months_between(START, "2020-06-30"))
    d = distressed(k, 0)
    r, _ = run_cycle([("2020-01-10T10:00", 1000.0, 0)], kind=[CREDIT], end="2020-06-30", distress=d,
                     u=uniforms(1, k, m0=MISS, m1=CURRENT_ONLY, m2=CURE))  # fmt: skip
    rate = 18.0 / 1200
    b2 = 1000.0 * (1 + rate) + LATE_FEE
    c2 = minimum(b2)
    b3 = (b2 - c2) * (1 + rate) + LATE_FEE  # one minimum is still unpaid: another fee
    m3 = minimum(b3) + minimum(1000.0)  # the payment covered the oldest minimum; one is left
    s = of_account(r.statements, 0)
    assert s["days_past_due"].tolist() == [0, 30, 30, 0, 0]
    assert s["payment"][:3].tolist() == pytest.approx([0.0, c2, m3])
    assert s["balance"][:3].tolist() == pytest.approx([1000.0, b2, b3])
    assert s["minimum_due"][2] == pytest.approx(m3)
    assert s["fees"].tolist() == [0.0, LATE_FEE, LATE_FEE, 0.0, 0.0]


def test_a_payment_covering_the_oldest_minimums_rolls_back_one_bucket():
    """Two small minimums past due, then a large balance: its current minimum pays both old ones and
    part of itself, so the account goes from 60 to 30 DPD."""
    k = len(months_between(START, "2020-07-31"))
    d = distressed(k, 0, 1)
    rows = [("2020-01-10T10:00", 100.0, 0), ("2020-03-15T10:00", 5000.0, 0)]
    r, _ = run_cycle(rows, kind=[CREDIT], end="2020-07-31", distress=d,
                     u=uniforms(1, k, m0=MISS, m1=MISS, m2=CURRENT_ONLY, m3=CURE))  # fmt: skip
    rate = 18.0 / 1200
    b2 = 100.0 * (1 + rate) + LATE_FEE
    b3 = (b2 + 5000.0) * (1 + rate) + LATE_FEE
    c3 = minimum(b3)
    left = 50.0  # c3 pays the two 25s and c3 - 50 of itself: 50 of its own minimum is left unpaid
    b4 = (b3 - c3) * (1 + rate) + LATE_FEE
    s = of_account(r.statements, 0)
    assert s["days_past_due"].tolist() == [0, 30, 60, 30, 0, 0]
    assert s["minimum_due"][:4].tolist() == pytest.approx([25.0, 50.0, c3 + 50.0, minimum(b4) + left])
    assert s["payment"][2] == pytest.approx(c3)
    assert s["balance"][3] == pytest.approx(b4)


def test_a_partial_payment_leaves_the_rest_of_the_minimum_past_due():
    k = len(months_between(START, "2020-04-30"))
    d = distressed(k, 0)
    r, _ = run_cycle([("2020-01-10T10:00", 1000.0, 0)], kind=[CREDIT], end="2020-04-30", distress=d,
                     u=uniforms(1, k, m0=(0.3, 0.2, 0.4, 0.5)))  # fmt: skip
    rate = 18.0 / 1200
    paid = 0.4 * 30.0  # u1 < 0.5: u2 x the minimum
    b2 = (1000.0 - paid) * (1 + rate) + LATE_FEE
    s = of_account(r.statements, 0)
    assert s["payment"][0] == pytest.approx(paid)
    assert s["payment_day"][0] == day("2020-02-14")
    assert s["days_past_due"].tolist() == [0, 30, 0]
    assert s["balance"][1] == pytest.approx(b2)
    assert s["minimum_due"][1] == pytest.approx(minimum(b2) + 30.0 - paid)


@pytest.mark.parametrize(("u3", "recorded"), [(0.99, False), (0.0, True)])
def test_payments_after_the_end_are_not_recorded(u3, recorded):
    end = "2020-06-03"
    k = len(months_between(START, end))
    r, months = run_cycle([("2020-01-10T10:00", 1000.0, 0)], kind=[CREDIT], pay_share=[0.5], end=end,
                          u=uniforms(1, k, m4=(0.5, 0.9, 0.5, u3)))  # fmt: skip
    s = of_account(r.statements, 0)
    assert s["day"].tolist() == months  # statements through the end, with no rows after January
    assert (s["payment"][:4] > 0).all() & (s["payment_day"][:4] > 0).all()
    if recorded:  # Jun 2, within the world
        assert s["payment"][4] == pytest.approx(0.5 * s["balance"][4])
        assert s["payment_day"][4] == day("2020-06-02")
    else:  # Jun 25: after the end
        assert s["payment"][4] == 0.0
        assert s["payment_day"][4] == -1


def test_statements_from_the_month_after_opening_until_closed_with_nothing_owed():
    opened = [day("2020-01-15"), day("2020-02-01"), day("2019-06-01"), day("2019-06-01")]
    closed = [NEVER, NEVER, day("2020-02-10"), day("2020-02-10")]
    rows = [("2020-01-20T10:00", 100.0, 0), ("2020-01-20T11:00", 100.0, 2), ("2020-01-20T12:00", 1000.0, 3)]
    r, months = run_cycle(rows, kind=[CREDIT] * 4, open_day=opened, close_day=closed,
                          pay_share=[1.0, 1.0, 1.0, 0.5])  # fmt: skip
    s = r.statements
    assert of_account(s, 0)["day"].tolist() == months  # opened Jan 15: from Feb 1
    assert of_account(s, 1)["day"].tolist() == months[1:]  # opened Feb 1: from Mar 1
    assert of_account(s, 2)["day"].tolist() == months[:1]  # closed Feb 10, paid in full Feb 14
    rev = of_account(s, 3)  # closed, but owing: statements until it is paid off
    assert rev["day"].tolist() == months[: rev["day"].size]
    assert rev["day"].size > 2
    assert rev["payment"][-1] == pytest.approx(rev["balance"][-1])
    assert (rev["payment"][:-1] < rev["balance"][:-1]).all()


def test_disabled_credit_equals_no_credit():
    rng = np.random.default_rng(7)
    n, m = 300, 4
    time = np.sort(day(START) * 86400 + rng.integers(0, 400 * 86400, n))
    args = (time, np.round(rng.lognormal(3, 1.5, n) * np.where(rng.random(n) < 0.1, -1, 1), 2),
            rng.integers(0, m, n).astype(np.int32), rng.random(n) < 0.6, rng.random(n) < 0.3,
            np.array([CREDIT, DEBIT, PREPAID, CREDIT], np.int8), np.array([800.0, 100.0, 150.0, 2000.0]),
            np.array([0.0, 300.0, 50.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.2]), np.array([0.0, 900.0, 0.0, 0.0]),
            np.array([30, 14, 30, 30], np.int32), day(START), rng.random((n, 5)), 0.02, 0.01, 0.01, 0.01,
            0.01, 0.01, 0.5, rng.integers(-1, m, n).astype(np.int32))  # fmt: skip
    errors, retry, balance = simulate_balances(*args)
    r = simulate_balances(*args, credit=disabled_credit())
    assert (r.errors.tolist(), r.retry.tolist()) == (errors.tolist(), retry.tolist())
    assert np.array_equal(r.balance, balance)
    assert (r.moved == 0).all()
    assert (r.statements.account.size, r.statements.d_account.size) == (0, 0)
    # Enabled, but for accounts with no credit among them: no statements, and the same rows as before up
    # to the first purchase the holder moves off a debit account declined for its balance.
    kinds = np.array([DEBIT, DEBIT, PREPAID, PREPAID], np.int8)
    plain = simulate_balances(*args[:5], kinds, *args[6:])
    k = len(months_between(START, str(np.datetime64(int(time[-1] // 86400), "D"))))
    cr = disabled_credit()._replace(
        enabled=True, apr=np.zeros(m), open_day=np.zeros(m, np.int64), close_day=np.full(m, NEVER),
        distress=np.zeros(k), cause=np.zeros(k, np.int8), u=np.full((m, k, 4), 0.5), due_days=np.int64(25),
        end_day=np.int64(time[-1] // 86400),
    )  # fmt: skip
    on = simulate_balances(*args[:5], kinds, *args[6:], credit=cr)
    first = int(np.flatnonzero(on.moved)[0]) if on.moved.any() else n
    assert (on.errors[:first] == plain[0][:first]).all()
    assert np.array_equal(on.balance[:first], plain[2][:first])
    assert on.statements.account.size == 0
    account = args[2]
    for i in np.flatnonzero(on.moved):  # each after a decline for the balance on its (debit) account
        before = np.flatnonzero((account[:i] == account[i]) & ((on.errors[:i] & INSUF) != 0))
        assert before.size
        assert kinds[account[i]] == DEBIT


def test_a_refund_on_a_charged_off_account_credits_that_account():
    refunds = [("2020-09-05T10:00", -50.0, 0, 1), ("2020-09-06T10:00", -30.0, 0, -1)]
    r, _ = six_misses(refunds, kind=(CREDIT, DEBIT), limit=[100_000.0, 0.0], balance0=[0.0, 500.0])
    charged_off = r.statements.d_balance[0]
    assert r.moved.tolist() == [0, 0, 0]  # it stays on the card of the purchase it refunds
    assert r.balance[1:].tolist() == pytest.approx([charged_off - 50.0, charged_off - 80.0])


@pytest.mark.parametrize("field", ["distress", "u"])
def test_credit_inputs_of_the_wrong_shape_are_refused(field):
    k = len(months_between(START, "2020-06-30"))
    short = {"distress": np.zeros(k - 1), "u": uniforms(1, k - 1)}[field]  # one statement month short
    with pytest.raises(InputError, match=f"credit.{field}"):
        run_cycle([("2020-01-10T10:00", 100.0, 0)], kind=[CREDIT], end="2020-06-30", **{field: short})


# ---------------------------------------------------------------- a naive reference, day by day


def random_case(rng: np.random.Generator) -> dict:
    start = day("2018-01-01") + int(rng.integers(0, 28))
    end = start + 730 + int(rng.integers(-20, 20))
    months = months_between(str(np.datetime64(start, "D")), str(np.datetime64(end, "D")))
    k, m = len(months), int(rng.integers(1, 4))
    accounts = [(float(rng.choice([13.9, 19.4, 25.9])), float(rng.uniform(300, 5000)),
                 float(rng.choice([1.0, 0.5, 0.05, rng.uniform()])), start + int(rng.integers(-300, 200)),
                 int(NEVER) if rng.random() < 0.7 else start + int(rng.integers(100, 700)))
                for _ in range(m)]  # fmt: skip
    distress = np.zeros(k)
    for _ in range(int(rng.integers(0, 6))):  # spells of distress, total or partial
        s = int(rng.integers(0, k))
        distress[s : s + int(rng.integers(1, 9))] = 1.0 if rng.random() < 0.3 else rng.uniform(0.2, 1.0)
    u = rng.random((m, k, 4))
    if rng.random() < 0.5:  # u0 from a few levels: every branch of the decision is taken often
        u[..., 0] = rng.choice([0.0005, 0.3, 0.7, 0.97, 0.999], size=(m, k))
    n = int(rng.integers(40, 200))
    t = np.sort((start + 1) * 86400 + rng.integers(0, (end - start) * 86400, n))
    amount = np.round(rng.lognormal(4.0, 1.2, n), 2) * np.where(rng.random(n) < 0.1, -1, 1)
    rows = [(int(t[i]), float(amount[i]), int(rng.integers(0, m)), int(rng.integers(-1, m)),
             bool(rng.random() < 0.05)) for i in range(n)]  # fmt: skip
    return {"start": start, "end": end, "months": months, "accounts": accounts, "rows": rows,
            "distress": distress, "cause": np.where(rng.random(k) < 0.6, rng.integers(1, 5, k), 0).astype(np.int8),
            "u": u, "resilience": float(rng.uniform(0, 0.9)),
            "fico0": float(rng.integers(550, 820)), "due_days": int(rng.integers(1, 28))}  # fmt: skip


def kernel_run(case: dict):
    acc = np.array(case["accounts"])
    m, rows = len(case["accounts"]), case["rows"]
    n = len(rows)
    col = [np.array([r[f] for r in rows]) for f in range(5)]
    cr = CreditInputs(True, acc[:, 0].copy(), acc[:, 3].astype(np.int64), acc[:, 4].astype(np.int64),
                      case["distress"], case["cause"], case["u"], FLOOR, SHARE, LATE_FEE,
                      np.int64(case["due_days"]), case["fico0"], case["resilience"], np.int64(case["end"]))  # fmt: skip
    return simulate_balances(
        col[0].astype(np.int64), col[1].astype(float), col[2].astype(np.int32), np.ones(n, bool),
        np.zeros(n, bool), np.full(m, CREDIT, np.int8), acc[:, 1].copy(), np.zeros(m), acc[:, 2].copy(),
        np.zeros(m), np.ones(m, np.int32), case["start"], np.full((n, 5), 0.99), 0, 0, 0, 0, 0, 0, 0.0,
        col[3].astype(np.int32), credit=cr, is_fraud=col[4].astype(bool),
    )  # fmt: skip


def test_kernel_matches_the_naive_reference_on_random_cases():
    rng = np.random.default_rng(20240601)
    seen = {"dpd": 0, "defaults": 0, "interest": 0, "moved": 0, "transfers": 0}
    for _ in range(60):
        case = random_case(rng)
        errors, balance, moved, rows, defaults = reference(case)
        r = kernel_run(case)
        assert r.errors.tolist() == errors
        assert r.moved.tolist() == moved
        assert r.balance == pytest.approx(balance, rel=1e-9, abs=1e-6)
        s = r.statements
        got = np.column_stack([getattr(s, f).astype(float) for f in s._fields[:11]])
        want = np.array(rows, dtype=float).reshape(-1, 11)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)
        got_d = np.column_stack([getattr(s, f).astype(float) for f in s._fields[11:]])
        np.testing.assert_allclose(got_d, np.array(defaults, dtype=float).reshape(-1, 5), rtol=1e-9)
        seen["dpd"] += int((want[:, 6] > 0).sum())
        seen["defaults"] += len(defaults)
        seen["moved"] += sum(v > 0 for v in moved)
        seen["interest"] += int((want[1:, 2] > want[:-1, 2] + 0.01).sum())
        seen["transfers"] += int(((want[:, 8] > 0) & (np.abs(want[:, 8] - LATE_FEE) > 1e-9)).sum())
    # The cases reach delinquency, charge-off and its moved rows, and balance transfers (their fee).
    assert min(seen.values()) > 0, seen


def test_a_maxed_out_card_is_avoided_for_a_few_days():
    """Declined for the limit, the holder puts the next purchases on the other card for AVOID_DAYS (3)
    while this one has no room (or makes them off cards without one); then, or after a payment, they try
    it again."""
    rows = [("2020-01-10T10:00", 900.0, 0, 1),  # to 900 of 1,000
            ("2020-01-11T10:00", 200.0, 0, 1),  # declined: over the limit; avoided until Jan 14
            ("2020-01-12T10:00", 150.0, 0, 1),  # no room: on the debit card instead
            ("2020-01-13T10:00", 800.0, 0, 1),  # no room on either (debit: 250 + 500 overdraft): not made
            ("2020-01-14T10:00", 50.0, 0, 1),  # fits (950): made on the credit card as chosen
            ("2020-01-15T10:00", -40.0, 0, 1),  # a refund credits it (910) and moves nothing
            ("2020-01-16T10:00", 200.0, 0, 1),  # three days on: tried again, declined; avoided to Jan 19
            ("2020-01-17T10:00", 200.0, 0, 1),  # on the debit card
            ("2020-02-20T10:00", 200.0, 0, 1)]  # fmt: skip
    # The January statement (Feb 1) is paid in full on Feb 14 (PAY_AFTER): room again on Feb 20.
    r, _ = run_cycle(rows, kind=(CREDIT, DEBIT), limit=[1000.0, 500.0], balance0=[0.0, 400.0])
    assert cc.AVOID_DAYS == 3
    assert r.errors.tolist() == [0, INSUF, 0, 0, 0, 0, INSUF, 0, 0]
    assert r.moved.tolist() == [0, 0, 1, 2, 0, 0, 0, 1, 0]
    assert r.balance.tolist() == pytest.approx([900.0, 900.0, 250.0, 900.0, 950.0, 910.0, 910.0, 50.0, 200.0])
