"""Balances and declines: hand-computed cases, and a naive day-by-day reference compared on random inputs."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from cardworld.codes import AccountKind
from cardworld.errors import InputError
from cardworld.sim.balances import ERROR_REASONS, errors_to_strings, month_starts, simulate_balances

PIN, INSUF, GLITCH, CARD, CVV, EXP, ZIP = 1, 2, 4, 8, 16, 32, 64
CREDIT, DEBIT, PREPAID = (int(k) for k in (AccountKind.CREDIT, AccountKind.DEBIT, AccountKind.PREPAID))
NO_ERRORS = {
    "p_bad_pin": 0.0,
    "p_glitch": 0.0,
    "p_bad_card_number": 0.0,
    "p_bad_cvv": 0.0,
    "p_bad_expiration": 0.0,
    "p_bad_zip": 0.0,
}


def day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def ts(*stamps: str) -> np.ndarray:
    return np.array([np.datetime64(s, "s").astype(np.int64) for s in stamps], dtype=np.int64)


def run(
    time,
    amount,
    *,
    kind,
    limit,
    balance0,
    start,
    account=None,
    pay_share=None,
    paycheck=None,
    pay_period=None,
    card_present=None,
    pin_used=None,
    u=None,
    **p,
):
    n, m = len(time), len(kind)
    probs = {**NO_ERRORS, **p}
    e, _, b = simulate_balances(
        time,
        np.asarray(amount, dtype=np.float64),
        np.zeros(n, np.int32) if account is None else np.asarray(account, np.int32),
        np.ones(n, bool) if card_present is None else np.asarray(card_present, bool),
        np.zeros(n, bool) if pin_used is None else np.asarray(pin_used, bool),
        np.asarray(kind, np.int8),
        np.asarray(limit, np.float64),
        np.asarray(balance0, np.float64),
        np.ones(m) if pay_share is None else np.asarray(pay_share, np.float64),
        np.zeros(m) if paycheck is None else np.asarray(paycheck, np.float64),
        np.full(m, 30, np.int32) if pay_period is None else np.asarray(pay_period, np.int32),
        day(start),
        np.full((n, 5), 0.99) if u is None else np.asarray(u, np.float64),
        **probs,
    )
    return e, b


# ---------------------------------------------------------------- credit


def test_credit_limit_decline_then_statement_clears():
    t = ts("2020-01-20T10:00", "2020-01-20T11:00", "2020-01-21T09:00", "2020-02-01T00:00", "2020-02-02T12:00")
    e, b = run(t, [60, 30, 20, 20, 0], kind=[CREDIT], limit=[100], balance0=[0], start="2020-01-10")
    # 60, 90, 90+20 > 100 declined; Feb 1 statement (00:00, before the row) pays 90 in full; 20 passes.
    assert e.tolist() == [0, 0, INSUF, 0, 0]
    np.testing.assert_allclose(b, [60, 90, 90, 20, 20], rtol=0, atol=1e-12)
    assert errors_to_strings(e)[2] == "Insufficient Balance"


def test_credit_minimum_payment():
    # Probes (amount 0) read each account's balance after the statements.
    t = ts(*[f"2020-{mo}-03T12:00" for mo in ("02", "02", "02", "02", "03", "03")])
    e, b = run(
        t,
        np.zeros(6),
        account=[0, 1, 2, 3, 0, 2],
        kind=[CREDIT] * 4,
        limit=[5000] * 4,
        balance0=[1000, 3000, 10, 1000],
        pay_share=[0.01, 0.01, 0.5, 0.5],
        start="2020-01-10",
    )
    assert not e.any()
    # Feb 1: 1000 pays max(10, 25, 20) = 25; 3000 pays max(30, 25, 60) = 60; 10 pays min(25, 10) = 10;
    # 1000 at share .5 pays 500. Mar 1: 975 pays max(9.75, 25, 19.5) = 25; account 2 owes 0: nothing.
    np.testing.assert_allclose(b, [975, 2940, 0, 500, 950, 0], rtol=0, atol=1e-9)


def test_no_statement_on_start_day_and_credit_balance_left_alone():
    t = ts("2020-02-01T08:00", "2020-02-15T08:00", "2020-03-02T08:00")
    e, b = run(t, [0, -50, 0], kind=[CREDIT], limit=[100], balance0=[40], pay_share=[1.0], start="2020-02-01")
    # Balances are balance0 on start_day (a 1st): no payment that day; refund -> -10; Mar 1: owed <= 0.
    assert not e.any()
    np.testing.assert_allclose(b, [40, -10, -10], rtol=0, atol=1e-12)


# ---------------------------------------------------------------- debit


def test_debit_paycheck_path_and_overdraft():
    start = "2021-03-01"
    t = ts(
        "2021-03-02T10:00",  # 200 - 250 = -50 (200 + 100 overdraft >= 250)
        "2021-03-03T10:00",  # -50 + 100 = 50 < 60: declined
        "2021-03-03T11:00",  # 50 >= 50: -100
        "2021-03-15T00:30",  # payday 03-15 (start + 14): -100 + 1000 - 600 = 300; -10 -> 290
        "2021-03-31T09:00",  # payday 03-29: 690
        "2021-04-12T09:00",  # payday 04-12: 1090; -1000 -> 90
        "2021-04-12T10:00",  # 90 + 100 < 191: declined
    )
    e, b = run(
        t,
        [250, 60, 50, 10, 0, 1000, 191],
        kind=[DEBIT],
        limit=[100],
        balance0=[200],
        paycheck=[1000],
        pay_period=[14],
        start=start,
    )
    assert e.tolist() == [0, INSUF, 0, 0, 0, 0, INSUF]
    np.testing.assert_allclose(b, [-50, -50, -100, 290, 690, 90, 90], rtol=0, atol=1e-9)


def test_debit_savings_cap_and_months_do_not_touch_debit():
    t = ts("2021-01-08T09:00", "2021-02-02T09:00")
    e, b = run(
        t,
        [0, 0],
        kind=[DEBIT],
        limit=[0],
        balance0=[2900],
        paycheck=[1000],
        pay_period=[7],
        start="2021-01-01",
    )
    # Jan 8: 2900 + 400 = 3300, swept to 3 paychecks = 3000; paydays 15, 22, 29: each back to 3000.
    assert not e.any()
    np.testing.assert_allclose(b, [3000, 3000], rtol=0, atol=1e-9)


def test_debit_floor_at_minus_overdraft():
    t = ts("2021-01-02T09:00", "2021-01-08T09:00")
    e, b = run(
        t,
        [0, 0],
        kind=[DEBIT],
        limit=[100],
        balance0=[-500],
        paycheck=[100],
        pay_period=[7],
        start="2021-01-01",
    )
    # balance0 below -limit stands until the first payday, where -500 + 40 = -460 is floored at -100.
    assert not e.any()
    np.testing.assert_allclose(b, [-500, -100], rtol=0, atol=1e-9)


# ---------------------------------------------------------------- prepaid


def test_prepaid_reload():
    t = ts("2022-05-10T10:00", "2022-05-10T11:00", "2022-05-11T10:00", "2022-06-01T10:00")
    e, b = run(t, [25, 10, 10, 0], kind=[PREPAID], limit=[200], balance0=[30], start="2022-05-05")
    # 30 >= 20 no reload; 30 - 25 = 5; same day, 10 > 5 declined; next day of use: 5 < 20 -> reload 205,
    # -10 -> 195; Jun 1: 195 >= 20, no reload.
    assert e.tolist() == [0, INSUF, 0, 0]
    np.testing.assert_allclose(b, [5, 5, 195, 195], rtol=0, atol=1e-12)


def test_retry_same_card_and_other_card():
    t = ts("2020-01-05T10:00", "2020-01-05T11:00", "2020-01-05T12:00", "2020-01-05T13:00")
    u = np.full((4, 5), 0.99)
    u[0, 0] = (
        16777 + 0.75
    ) / 2**24  # Bad PIN on the first try (~0.001); its low bits give 0.75 for the retry
    u[:, 4] = [0.1, 0.1, 0.95, 0.1]  # rows 0, 1, 3 are retried when declined (p_retry 0.5)
    e, r, b = simulate_balances(
        t,
        np.array([10.0, 80.0, 80.0, 50.0]),
        np.array([0, 0, 0, 0], np.int32),
        np.ones(4, bool),
        np.array([True, False, False, False]),
        np.array([CREDIT, CREDIT], np.int8),
        np.array([100.0, 100.0]),
        np.array([0.0, 0.0]),
        np.ones(2),
        np.zeros(2),
        np.full(2, 30, np.int32),
        day("2020-01-01"),
        u,
        0.5,  # p_bad_pin
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.5,  # p_retry
        np.array([1, 1, 1, -1], np.int32),  # alternative account per row
    )
    # Row 0: Bad PIN, retried on the same account and accepted (owed 10). Row 1: 10 + 80 fits (90).
    # Row 2: 90 + 80 > 100, not retried (u4 0.95). Row 3: 90 + 50 > 100, retried, no other card: declined.
    assert e.tolist() == [PIN, 0, INSUF, INSUF]
    assert r.tolist() == [0, -1, -1, INSUF]
    np.testing.assert_allclose(b, [10, 90, 90, 90], rtol=0, atol=1e-12)
    # With an alternative account, the retry after Insufficient Balance goes there and passes.
    e2, r2, _ = simulate_balances(
        t[3:], np.array([150.0]), np.array([0], np.int32), np.ones(1, bool), np.zeros(1, bool),
        np.array([CREDIT, CREDIT], np.int8), np.array([100.0, 500.0]), np.array([0.0, 0.0]), np.ones(2),
        np.zeros(2), np.full(2, 30, np.int32), day("2020-01-01"), u[3:], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        1.0, np.array([1], np.int32),
    )  # fmt: skip
    assert e2.tolist() == [INSUF]
    assert r2.tolist() == [0]


# ---------------------------------------------------------------- refunds and random reasons


def test_refunds_never_declined_and_credit_accounts():
    t = ts("2020-01-05T10:00", "2020-01-05T11:00", "2020-01-05T12:00")
    all_on = dict.fromkeys(NO_ERRORS, 1.0)
    e, b = run(
        t,
        [-50, -20, -5],
        account=[0, 1, 2],
        kind=[CREDIT, DEBIT, PREPAID],
        limit=[100, 0, 10],
        balance0=[30, -10, 2],  # prepaid above its 10% reload mark
        card_present=[False] * 3,
        pin_used=[True] * 3,
        u=np.zeros((3, 5)),
        start="2020-01-01",
        **all_on,
    )
    assert e.tolist() == [0, 0, 0]
    np.testing.assert_allclose(b, [-20, 10, 7], rtol=0, atol=1e-12)


def test_bad_pin_only_where_pin_used():
    n = 6
    t = ts(*[f"2020-01-05T1{i}:00" for i in range(n)])
    pin = [True, False, True, False, False, True]
    e, b = run(
        t,
        np.full(n, 1.0),
        kind=[CREDIT],
        limit=[1000],
        balance0=[0],
        pin_used=pin,
        u=np.zeros((n, 5)),
        start="2020-01-01",
        p_bad_pin=0.5,
    )
    assert e.tolist() == [PIN if p else 0 for p in pin]
    # Declined rows don't move money: only the three clean purchases count.
    np.testing.assert_allclose(b, [0, 1, 1, 2, 3, 3], rtol=0, atol=1e-12)


def test_card_not_present_reasons():
    n = 8
    t = ts(*[f"2020-01-05T1{i}:00" for i in range(n)])
    u = np.full((n, 5), 0.99)
    u[:, 2] = [0.05, 0.15, 0.25, 0.35] * 2
    u[:, 3] = 0.05
    cp = [False] * 4 + [True] * 4
    e, _ = run(
        t,
        np.full(n, 1.0),
        kind=[CREDIT],
        limit=[1000],
        balance0=[0],
        card_present=cp,
        u=u,
        start="2020-01-01",
        p_bad_card_number=0.1,
        p_bad_cvv=0.1,
        p_bad_expiration=0.1,
        p_bad_zip=0.1,
    )
    assert e.tolist() == [CARD | ZIP, CVV | ZIP, EXP | ZIP, ZIP, 0, 0, 0, 0]


def test_glitch_any_row_and_combinations_set_both_bits():
    t = ts("2020-01-05T10:00", "2020-01-05T11:00", "2020-01-05T12:00")
    u = np.array([[0.0, 0.0, 0.99, 0.99, 0.99], [0.99, 0.0, 0.99, 0.99, 0.99], [0.0, 0.99, 0.99, 0.99, 0.99]])
    e, b = run(
        t,
        [10, 10, 500],
        kind=[CREDIT],
        limit=[100],
        balance0=[0],
        pin_used=[True, False, True],
        u=u,
        start="2020-01-01",
        p_bad_pin=0.01,
        p_glitch=0.01,
    )
    assert e.tolist() == [PIN | GLITCH, GLITCH, PIN | INSUF]
    np.testing.assert_allclose(b, [0, 0, 0], rtol=0, atol=1e-12)
    assert errors_to_strings(e).tolist() == [
        "Bad PIN,Technical Glitch",
        "Technical Glitch",
        "Bad PIN,Insufficient Balance",
    ]


def test_errors_to_strings_exact():
    out = errors_to_strings(np.array([0, 1, 2, 3, 6, 72, 127], dtype=np.uint8))
    assert out.dtype == object
    assert out.tolist() == [
        None,
        "Bad PIN",
        "Insufficient Balance",
        "Bad PIN,Insufficient Balance",
        "Insufficient Balance,Technical Glitch",
        "Bad Card Number,Bad Zipcode",
        "Bad PIN,Insufficient Balance,Technical Glitch,Bad Card Number,Bad CVV,Bad Expiration,Bad Zipcode",
    ]
    assert ERROR_REASONS[1] == "Insufficient Balance"
    assert errors_to_strings(np.zeros((0,), np.uint8)).shape == (0,)


def test_month_starts():
    assert month_starts(day("2020-01-01"), day("2020-03-01")).tolist() == [
        day("2020-02-01"),
        day("2020-03-01"),
    ]
    assert month_starts(day("2020-01-31"), day("2020-01-31")).size == 0


def test_input_errors():
    t = ts("2020-01-05T10:00", "2020-01-04T10:00")
    with pytest.raises(InputError, match="not sorted"):
        run(t, [1, 1], kind=[CREDIT], limit=[10], balance0=[0], start="2020-01-01")
    t = ts("2020-01-05T10:00", "2020-01-06T10:00")
    with pytest.raises(InputError, match="account"):
        run(t, [1, 1], account=[0, 1], kind=[CREDIT], limit=[10], balance0=[0], start="2020-01-01")
    with pytest.raises(InputError, match="u: expected"):
        run(t, [1, 1], kind=[CREDIT], limit=[10], balance0=[0], start="2020-01-01", u=np.zeros((2, 3)))
    with pytest.raises(InputError, match="pay_period"):
        run(t, [1, 1], kind=[DEBIT], limit=[10], balance0=[0], pay_period=[0], start="2020-01-01")


def test_empty():
    e, b = run(np.zeros(0, np.int64), [], kind=[CREDIT], limit=[10], balance0=[0], start="2020-01-01")
    assert e.shape == b.shape == (0,)


# ---------------------------------------------------------------- naive reference


def reference(time, amount, account, card_present, pin_used, kind, limit, balance0, pay_share, paycheck,
              pay_period, start_day, u, probs, p_retry=0.0, alt=None):  # fmt: skip
    """Day-by-day walk written from the module docstring: money events at 00:00 of days after start_day."""
    bal = [float(x) for x in balance0]
    checked = [start_day] * len(kind)  # prepaid: last day a reload was considered
    retries = []
    epoch = dt.date(1970, 1, 1)
    done = start_day  # events of days <= done are applied
    errors, out = [], []
    p_pin, p_glitch, p_card, p_cvv, p_exp, p_zip = probs
    for i in range(len(time)):
        d_row = int(time[i]) // 86400
        for d in range(done + 1, d_row + 1):
            first = (epoch + dt.timedelta(days=d)).day == 1
            for a in range(len(kind)):
                if kind[a] == CREDIT and first and bal[a] > 0:
                    owed = bal[a]
                    pay = min(owed, max(pay_share[a] * owed, 25.0, 0.02 * owed))
                    bal[a] = owed - pay
                elif kind[a] == DEBIT and (d - start_day) % pay_period[a] == 0:
                    x = bal[a] + paycheck[a] - 0.6 * paycheck[a]
                    bal[a] = max(min(x, 3.0 * paycheck[a]), -limit[a])
        done = max(done, d_row)
        a, x, e = account[i], float(amount[i]), 0
        if kind[a] == PREPAID and d_row > checked[a]:
            checked[a] = d_row
            if bal[a] < 0.1 * limit[a]:
                bal[a] += limit[a]

        def attempt(v, acct, i=i, x=x):
            credit = kind[acct] == CREDIT
            reasons = set()
            if pin_used[i] and v[0] < p_pin:
                reasons.add("Bad PIN")
            if v[1] < p_glitch:
                reasons.add("Technical Glitch")
            if not card_present[i]:
                if v[2] < p_card:
                    reasons.add("Bad Card Number")
                elif v[2] < p_card + p_cvv:
                    reasons.add("Bad CVV")
                elif v[2] < p_card + p_cvv + p_exp:
                    reasons.add("Bad Expiration")
                if v[3] < p_zip:
                    reasons.add("Bad Zipcode")
            short = (
                (credit and bal[acct] + x > limit[acct])
                or (kind[acct] == DEBIT and bal[acct] + limit[acct] < x)
                or (kind[acct] == PREPAID and bal[acct] < x)
            )
            if x > 0 and short:
                reasons.add("Insufficient Balance")
            err = sum(1 << k for k, r in enumerate(ERROR_REASONS) if r in reasons)
            if err == 0:
                bal[acct] += x if credit else -x
            return err

        r = -1
        if x < 0:
            bal[a] += x if kind[a] == CREDIT else -x
        else:
            e = attempt(u[i, :4], a)
            if e and u[i, 4] < p_retry:
                other = alt[i] if alt is not None and alt[i] >= 0 and e & INSUF else a
                r = attempt([math.modf(v * 2**24)[0] for v in u[i, :4]], other)
        errors.append(e)
        retries.append(r)
        out.append(bal[a])
    return np.array(errors, dtype=np.uint8), np.array(retries), np.array(out)


@pytest.mark.parametrize("seed", range(12))
def test_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(50, 400)), int(rng.integers(1, 6))
    start_day = day("2019-01-01") + int(rng.integers(0, 400))
    if seed % 3 == 0:  # start on a 1st
        start_day = int(
            np.datetime64(start_day, "D").astype("datetime64[M]").astype("datetime64[D]").astype(int)
        )
    span = int(rng.integers(20, 400)) * 86400
    time = np.sort(start_day * 86400 + rng.integers(0, span, n))
    if seed % 4 == 1:  # some rows exactly at midnight (event boundary)
        time = np.sort((time // 86400) * 86400)
    kind = rng.integers(0, 3, m).astype(np.int8)
    limit = rng.choice([0.0, 50.0, 300.0, 1500.0], m)
    balance0 = np.where(kind == CREDIT, rng.uniform(0, 1, m) * limit, rng.uniform(-50, 400, m))
    pay_share = rng.choice([0.01, 0.2, 1.0], m)
    paycheck = rng.choice([0.0, 500.0, 1200.0], m)
    pay_period = rng.choice([7, 14, 15, 30], m).astype(np.int32)
    amount = np.round(rng.exponential(40.0, n), 2)
    amount[rng.random(n) < 0.08] *= -1
    amount[rng.random(n) < 0.03] = 0.0
    account = rng.integers(0, m, n).astype(np.int32)
    card_present = rng.random(n) < 0.6
    pin_used = card_present & (rng.random(n) < 0.5)
    u = rng.random((n, 5))
    probs = (0.1, 0.05, 0.05, 0.04, 0.03, 0.08)
    p_retry = 0.6
    alt = np.where(rng.random(n) < 0.5, rng.integers(0, m, n), -1).astype(np.int32)
    args = (time, amount, account, card_present, pin_used, kind, limit, balance0, pay_share, paycheck,
            pay_period, start_day, u)  # fmt: skip
    e, r, b = simulate_balances(*args, *probs, p_retry, alt)
    e_ref, r_ref, b_ref = reference(*args, probs, p_retry, alt)
    np.testing.assert_array_equal(e, e_ref)
    np.testing.assert_array_equal(r, r_ref)
    assert (r >= 0).any()
    np.testing.assert_allclose(b, b_ref, rtol=0, atol=1e-9)
    assert (e & INSUF).any()  # both branches exercised
    assert (e == 0).any()
