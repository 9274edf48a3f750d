"""Numba kernel of the fraud simulation: which of a consumer's purchases leak their card.

One pass sums the leak weights (for the consumer's normalisation), a second draws the leaks; it replaces
some twenty whole-array numpy operations per consumer.
"""

from __future__ import annotations

import numpy as np

from cardworld.codes import Channel
from cardworld.dates import SECONDS_PER_DAY
from cardworld.jit import kernel

_SWIPE, _CHIP, _ONLINE = int(Channel.SWIPE), int(Channel.CHIP), int(Channel.ONLINE)


@kernel
def leak_events(
    t, chan, issue, has_chip, day0, intensity, chip_usable, off_from, off_to, w_kind, random_w, shim, breach,
    expected_rows, rows_per_episode, u,
):  # fmt: skip
    """(rows that leak, their kind: 0 card-present, 1 card-not-present, 2 random).

    Row i's weight of kind k is w_kind[k] x its channel factor (card-present: 1 for a swipe, `shim` for a
    chip read, times `chip_usable` of the day for a chip card; card-not-present: 1 online, `breach` in
    person) x the kind's campaign intensity that day; random fraud weighs `random_w`. Rows in
    [off_from, off_to) weigh nothing. Weights are scaled so that the expected fraud rows, at
    rows_per_episode[k] rows per leak of kind k, total `expected_rows`; one uniform per row picks at most
    one kind."""
    n = t.size
    n_days = intensity.shape[1]
    w = np.zeros((n, 3))
    total = 0.0
    for i in range(n):
        if off_from <= t[i] < off_to:
            continue
        d = min(max(t[i] // SECONDS_PER_DAY - day0, 0), n_days - 1)
        c = chan[i]
        if c == _SWIPE:
            cp = 1.0
        elif c == _CHIP:
            cp = shim
        else:
            cp = 0.0
        if has_chip[issue[i]]:
            cp *= chip_usable[d]
        cnp = 1.0 if c == _ONLINE else breach
        w[i, 0] = w_kind[0] * cp * intensity[0, d]
        w[i, 1] = w_kind[1] * cnp * intensity[1, d]
        w[i, 2] = random_w
        total += w[i, 0] + w[i, 1] + w[i, 2]
    rows = np.empty(n, np.int64)
    kinds = np.empty(n, np.int64)
    m = 0
    if total <= 0.0:
        return rows[:0], kinds[:0]
    s0 = expected_rows / total / rows_per_episode[0]
    s1 = expected_rows / total / rows_per_episode[1]
    s2 = expected_rows / total / rows_per_episode[2]
    for i in range(n):
        c0 = w[i, 0] * s0
        c1 = c0 + w[i, 1] * s1
        c2 = c1 + w[i, 2] * s2
        if u[i] < c2:
            rows[m] = i
            kinds[m] = 0 if u[i] < c0 else (1 if u[i] < c1 else 2)
            m += 1
    return rows[:m], kinds[:m]


__all__ = ["leak_events"]
