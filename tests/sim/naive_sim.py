"""Plain-Python twins of the sim layer's numba kernels, written from their docstrings, for parity tests.
(The balance kernel's twin is `reference` in tests/sim/test_balances.py.)"""

from __future__ import annotations

CREDIT, PREPAID = 1, 2  # cardworld.codes.CardType
SWIPE, CHIP, ONLINE = 0, 1, 2  # cardworld.codes.Channel


TRAVEL_MCCS = {4111, 4112, 4131, 4411, 4511, 4722, 7011, 7512}
EVERYDAY_MCCS = {5411, 5422, 5441, 5451, 5462, 5499, 5541, 5542, 5814, 5912}


def credit_weight(cents: int, boost: bool, mcc: int) -> float:
    """A credit card's weight factor: (amount / $30) ** 2.5 within [0.02, 50], doubled where boost, else
    halved at an everyday MCC."""
    x = min(max((max(cents, 1) / 3000.0) ** 2.5, 0.02), 50.0)
    if boost:
        return 2.0 * x
    return 0.5 * x if mcc in EVERYDAY_MCCS else x


def is_travel(mcc: int) -> bool:
    return 3000 <= mcc <= 3999 or mcc in TRAVEL_MCCS


def card_weights(t, credit_w, cents, pref, kind, load_cents, valid_from, valid_to) -> list[float]:
    """Each issue's weight for one purchase at time t (credit_w: that purchase's credit factor)."""
    out = []
    for j in range(len(pref)):
        x = 0.0
        if valid_from[j] <= t < valid_to[j]:
            if kind[j] == PREPAID:
                x = pref[j] * 10.0 if cents <= 0.25 * load_cents[j] else 0.0
            elif kind[j] == CREDIT:
                x = pref[j] * credit_w
            else:
                x = pref[j]
        out.append(x)
    return out


def choose_card(time, credit_w, cents, u, pref, kind, load_cents, valid_from, valid_to):
    """(pick, weights) per purchase: pick is the first issue whose running total exceeds u x total (the
    last issue if none), -1 when no issue has weight."""
    picks, weights = [], []
    for i in range(len(time)):
        w = card_weights(time[i], credit_w[i], cents[i], pref, kind, load_cents, valid_from, valid_to)
        total, running = 0.0, []
        for x in w:
            total += x
            running.append(total)
        pick = -1
        if total > 0.0:
            target = u[i] * total
            pick = next((j for j, r in enumerate(running) if r > target), len(w) - 1)
        picks.append(pick)
        weights.append(w)
    return picks, weights


def leak_events(t, chan, issue, has_chip, day0, intensity, chip_usable, off_from, off_to, w_kind, random_w,
                shim, breach, expected_rows, rows_per_episode, u):  # fmt: skip
    """(rows, kinds) as lists."""
    n_days = len(intensity[0])
    weights, total = [], 0.0
    for i in range(len(t)):
        if off_from <= t[i] < off_to:
            weights.append((0.0, 0.0, 0.0))
            continue
        d = min(max(t[i] // 86400 - day0, 0), n_days - 1)
        cp = {SWIPE: 1.0, CHIP: shim, ONLINE: 0.0}[int(chan[i])]
        if has_chip[issue[i]]:
            cp *= chip_usable[d]
        cnp = 1.0 if chan[i] == ONLINE else breach
        w = (w_kind[0] * cp * intensity[0][d], w_kind[1] * cnp * intensity[1][d], random_w)
        weights.append(w)
        total += w[0] + w[1] + w[2]
    rows, kinds = [], []
    if total <= 0.0:
        return rows, kinds
    scale = [expected_rows / total / rows_per_episode[k] for k in range(3)]
    for i, w in enumerate(weights):
        c0 = w[0] * scale[0]
        c1 = c0 + w[1] * scale[1]
        c2 = c1 + w[2] * scale[2]
        if u[i] < c2:
            rows.append(i)
            kinds.append(0 if u[i] < c0 else 1 if u[i] < c1 else 2)
    return rows, kinds
