"""A naive day-by-day twin of the credit cycle (sim.credit_cycle), written from its module docstring:
statements, payments, the queue of unpaid minimums, charge-off, balance transfers and the score. It imports
only the module's constants, never its functions."""

from __future__ import annotations

import math

from cardworld.sim import credit_cycle as cc

INSUF = 2  # the Insufficient Balance bit
FLOOR, SHARE, LATE_FEE = 25.0, 0.03, 30.0  # the tests' minimum payment terms and late fee


def minimum(b: float) -> float:
    return min(b, max(FLOOR, SHARE * b)) if b > 0.005 else 0.0


class RefAccount:
    """One credit account of the reference: its terms and where its cycle stands."""

    def __init__(self, apr: float, limit: float, share: float, opened: int, closes: int) -> None:
        self.apr, self.limit, self.share, self.opened, self.closes = apr, limit, share, opened, closes
        self.bal = 0.0
        self.unpaid: list[float] = []  # minimums not yet paid, oldest first
        self.last: float | None = None  # balance of the last statement
        self.paid = 0.0  # paid since the last statement
        self.pending: tuple[int, float] | None = None
        self.charged_off = False
        self.since, self.since_cause = -1, 0
        self.transfer_fee = 0.0
        self.avoid_until = 0  # the day until which the holder avoids it after a decline for the limit  # a balance transfer's fee, charged at the next statement

    def pay(self, x: float) -> None:
        self.avoid_until = 0  # room again: the holder tries this card again
        self.bal -= x
        self.paid += x
        while self.unpaid and x >= self.unpaid[0] - 0.005:  # the oldest minimum first
            x -= self.unpaid.pop(0)
        if self.unpaid:
            self.unpaid[0] -= x


def ref_decision(acc: RefAccount, b: float, due: float, current: float, behind: int, distress: float,
                 resilience: float, u) -> float:  # fmt: skip
    """What the holder pays, as the module docstring of sim.credit_cycle describes it."""
    if b <= 0.005:
        return 0.0
    can_pay = 1.0 - distress * (1.0 - resilience)
    if behind:
        roll = 1.0 - can_pay ** (cc.ROLL_DEPTH * (behind + 1))
        if u[0] < roll:
            return 0.0
        return due if u[0] < roll + (1.0 - roll) * cc.CURE else current
    if u[0] < cc.MISS_FIRST * (1.0 - can_pay) + cc.BASE_MISS:
        return u[2] * due if u[1] < 0.5 else 0.0
    return due if distress >= 0.1 else max(due, min(b, acc.share * b))


def ref_transfer(accs: list[RefAccount], d: int) -> bool:
    """A balance transfer from the most used card (>= 80%) to the least used current one (<= 40%)."""
    open_ = [a for a in accs if not a.charged_off and a.opened < d <= a.closes and a.limit > 0]
    src = max((a for a in open_ if a.bal / a.limit >= 0.8), key=lambda a: a.bal / a.limit, default=None)
    dst = min((a for a in open_ if a.bal / a.limit <= 0.4 and not a.unpaid), key=lambda a: a.bal / a.limit,
              default=None)  # fmt: skip
    if src is None or dst is None or src is dst:
        return False
    x = min(src.bal - 0.3 * src.limit, (0.9 * dst.limit - dst.bal) / 1.03)
    if x < 100.0:
        return False
    src.pay(x)
    dst.bal += x
    dst.transfer_fee += 0.03 * x
    return True


def ref_statement(acc: RefAccount, a: int, j: int, d: int, case: dict, rows: list, defaults: list) -> int:
    fee, acc.transfer_fee = acc.transfer_fee, 0.0
    if acc.last is not None:
        fee += LATE_FEE if acc.unpaid else 0.0
        if acc.paid < acc.last - 0.005 and acc.bal > 0.0:
            acc.bal += acc.bal * acc.apr / 1200.0
    acc.bal += fee
    b = acc.bal
    if b <= 0.005:
        acc.unpaid = []
    behind = len(acc.unpaid)
    if behind and acc.since < 0:
        cause = case["cause"]
        acc.since, acc.since_cause = d, int(cause[j] or cause[max(j - 1, 0)])
    elif not behind:
        acc.since = -1
    current = minimum(b)
    due = min(b, current + sum(acc.unpaid)) if b > 0.005 else 0.0
    row = [a, d, b, due, 0.0, -1, 30 * min(behind, 6), acc.apr, fee, acc.limit]
    rows.append(row)
    acc.last, acc.paid = b, 0.0
    if behind >= 6:
        defaults.append((a, acc.since, d, b, acc.since_cause))
        acc.charged_off = True
        return 7
    if current > 0.0:
        acc.unpaid.append(current)
    u = case["u"][a, j]
    pay = ref_decision(acc, b, due, current, behind, case["distress"][j], case["resilience"], u)
    pay_day = d + 1 + int(u[3] * (case["due_days"] - 1))
    if pay > 0.0 and pay_day <= case["end"]:
        acc.pending = (pay_day, pay)
        row[4:6] = [pay, pay_day]
    return behind


def reference(case: dict):
    """(per-row errors, balance, moved; statement rows; default rows) of a consumer with credit accounts."""
    accs = [RefAccount(*t) for t in case["accounts"]]
    month = {m: j for j, m in enumerate(case["months"])}
    by_day: dict[int, list[int]] = {}
    for i, r in enumerate(case["rows"]):
        by_day.setdefault(r[0] // 86400, []).append(i)
    n = len(case["rows"])
    errors, balance, moved = [0] * n, [0.0] * n, [0] * n
    rows: list = []
    defaults: list = []
    penalty, last_transfer = 0.0, -12
    for d in range(case["start"] + 1, case["end"] + 1):
        for acc in accs:
            if acc.pending is not None and acc.pending[0] == d:
                acc.pay(acc.pending[1])
                acc.pending = None
        if d in month:
            j = month[d]
            if case["distress"][j] >= 0.2 and j - last_transfer >= 12 and ref_transfer(accs, d):
                last_transfer = j
            first, worst, owed, room = len(rows), 0, 0.0, 0.0
            for a, acc in enumerate(accs):
                if acc.charged_off or acc.opened >= d:
                    continue
                if d > acc.closes and acc.bal <= 0.005 and not acc.unpaid:
                    continue
                worst = max(worst, ref_statement(acc, a, month[d], d, case, rows, defaults))
                if not acc.charged_off:
                    owed, room = owed + max(acc.bal, 0.0), room + acc.limit
            penalty = max(penalty * cc.SCORE_DECAY, cc.SCORE_HIT[min(worst, 7)])
            util = owed / room if room > 0 else 0.0
            score = case["fico0"] - penalty - cc.UTIL_PENALTY * max(util - 0.3, 0.0)
            for row in rows[first:]:
                row.append(min(max(math.floor(score + 0.5), 300), 850))
        for i in by_day.get(d, []):
            _, x, a, alt, fraud = case["rows"][i]
            own = accs[a]  # a refund (x < 0) always credits its own account, even a charged-off one
            if x >= 0 and fraud and own.charged_off:
                errors[i], balance[i] = INSUF, own.bal
                continue
            if (
                x >= 0
                and not fraud
                and (own.charged_off or (d < own.avoid_until and own.bal + x > own.limit))
            ):
                # the holder avoids a closed card, and for a few days one just declined for its limit
                if alt >= 0 and not accs[alt].charged_off and accs[alt].bal + x <= accs[alt].limit:
                    moved[i], a = 1, alt
                else:
                    moved[i], balance[i] = 2, own.bal
                    continue
            acc = accs[a]
            if x > 0 and acc.bal + x > acc.limit:
                errors[i] = INSUF
                if not fraud:
                    acc.avoid_until = d + cc.AVOID_DAYS
            else:
                acc.bal += x
            balance[i] = acc.bal
    return errors, balance, moved, rows, defaults
