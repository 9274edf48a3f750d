"""max, min and top_k over whole calendar periods ("full" and "next" windows of one period). Dense: one pass
builds each period's top values, then every row reads its period's (or the next one's): no window bounds and
no sliding structure, O(1) per row with no data-dependent branch. Sparse: only the periods the positions
fall in are scanned (a day window at 64 positions reads a few hundred rows, not the history).
"""

from __future__ import annotations

import numpy as np

from cardworld.jit import kernel
from cardworld.targets.kernel_aggregates import MISSING
from cardworld.targets.kernel_codes import MODE_NEXT

NONE = -np.inf  # no kept row: values are validated finite, so -inf cannot be a value


@kernel
def period_tops(x, a, fw, bit, sign, b, n, k, bk) -> int:
    """bk[r, t] = the t-th largest of sign * x over the kept rows of period b[0] + r (NONE where it has fewer
    than t + 1), for r = 0..R, and bk[R + 1] = NONE (the period after the last). Returns R."""
    b0 = b[0]
    r_max = b[n - 1] - b0
    bk[: r_max + 2, :k] = NONE
    if k == 1:  # a running maximum in a register, restarted per period; a period's last row writes it last
        cur = NONE
        prev = b0
        for i in range(n):
            v = sign * x[a + i] + MISSING[(fw[i] >> bit) & 1]  # branch-free filter, see kernel_aggregates
            r = b[i]
            cur = max(cur + MISSING[np.int64(r == prev)], v)  # a new period starts from -inf
            prev = r
            bk[r - b0, 0] = cur
        return r_max
    for i in range(n):
        push_top(bk[b[i] - b0], k, sign * x[a + i] + MISSING[(fw[i] >> bit) & 1])
    return r_max


@kernel
def push_top(reg, k, v) -> None:
    """Insert v into reg[:k] (descending, NONE-padded) with a min/max network: no branch on the data, and a
    dropped row (v = -inf) changes nothing."""
    for p in range(k - 1, 0, -1):
        reg[p] = max(reg[p], min(reg[p - 1], v))
    reg[0] = max(reg[0], v)


@kernel
def agg_period(b, bk, k, mode, sign, pos, i0, i1, fill, buf, col) -> None:
    """Each position's period tops (mode full) or the next period's (mode next) into buf."""
    b0 = b[0]
    shift = 1 if mode == MODE_NEXT else 0
    for j in range(i0, i1):
        row = bk[b[pos[j]] - b0 + shift]
        for t in range(k):
            v = row[t]
            buf[j - i0, col + t] = sign * v if v != NONE else fill


@kernel
def range_top1(x, a, fw, bit, sign, s, e) -> float:
    """max of sign * x over the kept rows s..e-1 (NONE if none), four independent maxima per step."""
    m0 = m1 = m2 = m3 = NONE
    i = s
    while i + 4 <= e:
        m0 = max(m0, sign * x[a + i] + MISSING[(fw[i] >> bit) & 1])
        m1 = max(m1, sign * x[a + i + 1] + MISSING[(fw[i + 1] >> bit) & 1])
        m2 = max(m2, sign * x[a + i + 2] + MISSING[(fw[i + 2] >> bit) & 1])
        m3 = max(m3, sign * x[a + i + 3] + MISSING[(fw[i + 3] >> bit) & 1])
        i += 4
    while i < e:
        m0 = max(m0, sign * x[a + i] + MISSING[(fw[i] >> bit) & 1])
        i += 1
    return max(max(m0, m1), max(m2, m3))


@kernel
def agg_period_at(x, a, fw, bit, sign, b, fi, r_max, k, mode, pos, i0, i1, fill, reg, st, buf, col) -> None:
    """Sparse positions' period tops, scanning each period the first time a position needs it. State across
    chunks: st[0] = the period in reg (-1: none yet), reg[:k] its tops (sorted descending, NONE-padded)."""
    b0 = b[0]
    shift = 1 if mode == MODE_NEXT else 0
    for j in range(i0, i1):
        r = b[pos[j]] - b0 + shift
        if r != st[0]:
            st[0] = r
            reg[:k] = NONE
            if r <= r_max:
                s, e = fi[r], fi[r + 1]
                if k == 1:
                    reg[0] = range_top1(x, a, fw, bit, sign, s, e)
                else:
                    for i in range(s, e):
                        push_top(reg, k, sign * x[a + i] + MISSING[(fw[i] >> bit) & 1])
        for t in range(k):
            v = reg[t]
            buf[j - i0, col + t] = sign * v if v != NONE else fill
