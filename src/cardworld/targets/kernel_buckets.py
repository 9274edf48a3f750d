"""max, min and top_k over whole calendar periods ("full" and "next" windows of one period): one pass builds
each period's top values, then every row reads its period's (or the next one's). No window bounds and no
sliding structure: O(1) per row with no data-dependent branch, where a two-stack queue would rebuild per
period.
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
        if not (fw[i] >> bit) & 1:
            continue
        v = sign * x[a + i]
        row = bk[b[i] - b0]
        if v <= row[k - 1]:
            continue
        p = k - 1
        while p > 0 and row[p - 1] < v:
            row[p] = row[p - 1]
            p -= 1
        row[p] = v
    return r_max


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
