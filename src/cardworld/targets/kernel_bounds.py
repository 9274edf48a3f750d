"""Window bound kernels: per window, the half-open row range [ws[j], we[j]) that row pos[j] aggregates over.

pos are the rows where targets are evaluated (every row when dense, the chosen ones when sparse), sorted.
Each bound is O(1) per position (a table lookup), so sparse targets pay only for their positions. Bounds are
monotone in the row for every window kind, which is what keeps the aggregates after them linear.
"""

from __future__ import annotations

from cardworld.dates import SECONDS_PER_DAY
from cardworld.jit import kernel
from cardworld.targets.kernel_codes import MODE_EXPANDING, MODE_FULL, MODE_LEADING, MODE_TRAILING, WIN_CNT


@kernel
def calendar_bounds(b, fi, r, pos, m, mode, periods, ws, we) -> None:
    b0 = b[0]
    top = r + 1
    if mode == MODE_EXPANDING:
        for j in range(m):
            i = pos[j]
            ws[j] = fi[min(max(b[i] - periods + 1 - b0, 0), top)]
            we[j] = i + 1
    elif mode == MODE_FULL:
        for j in range(m):
            i = pos[j]
            ws[j] = fi[min(max(b[i] - periods + 1 - b0, 0), top)]
            we[j] = fi[min(b[i] + 1 - b0, top)]
    else:
        for j in range(m):
            i = pos[j]
            ws[j] = fi[min(b[i] + 1 - b0, top)]
            we[j] = fi[min(b[i] + periods + 1 - b0, top)]


@kernel
def duration_bounds(tpad, pos, m, b_day, fi_day, r_day, mode, d, ws, we) -> None:
    """Bounds of duration windows. The answer for row i, the first row with t > t_i - d (trailing) or
    t > t_i + d (leading), lies within the day of that limit: the first-row-of-day table gives the day's
    rows, and a fixed, branch-free count over 8 slots finds the row (more than 8 rows in a day falls back to
    a loop). tpad is the user's times padded with 8 int64 maxima, so the count never reads past the end."""
    lead = mode == MODE_LEADING
    d0 = b_day[0]
    top = r_day + 1
    for j in range(m):
        i = pos[j]
        lim = tpad[i] + d if lead else tpad[i] - d
        rel = lim // SECONDS_PER_DAY - d0
        p = fi_day[min(max(rel, 0), top)]
        c = 0
        for q in range(8):
            c += tpad[p + q] <= lim
        p += c
        if c == 8:
            while tpad[p] <= lim:
                p += 1
        if lead:
            ws[j] = i + 1
            we[j] = p
        else:
            ws[j] = p
            we[j] = i + 1


@kernel
def simple_bounds(kind, n, pos, m, mode, size, ws, we) -> None:
    if kind == WIN_CNT and mode == MODE_TRAILING:
        for j in range(m):
            i = pos[j]
            ws[j] = max(0, i - size + 1)
            we[j] = i + 1
    elif kind == WIN_CNT:
        for j in range(m):
            i = pos[j]
            ws[j] = i + 1
            we[j] = min(n, i + 1 + size)
    else:  # all
        full = mode != MODE_EXPANDING
        for j in range(m):
            ws[j] = 0
            we[j] = n if full else pos[j] + 1
