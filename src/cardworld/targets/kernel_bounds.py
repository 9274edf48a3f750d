"""Window bound kernels: per window, the half-open row range [ws[j], we[j]) that row pos[j] aggregates over.

pos are the rows where targets are evaluated (every row when dense, the chosen ones when sparse), sorted.
Each bound is O(1) per position (a table lookup), so sparse targets pay only for their positions. Bounds are
monotone in the row for every window kind, which is what keeps the aggregates after them linear.
"""

from __future__ import annotations

from cardworld.jit import kernel
from cardworld.targets.kernel_codes import (
    MODE_EXPANDING,
    MODE_FULL,
    MODE_LEADING,
    MODE_TRAILING,
    WIN_CAL,
    WIN_CNT,
    WIN_DUR,
)

# Duration windows search their bound within time slots of 2**16 s (18.2 h): a shift, not a division, and
# few rows per slot in card data, so the search is short.
SLOT_BITS = 16


@kernel
def chunk_bounds(window, n, pos, tpad, buckets, fi, fr, slots, top, ws, we) -> None:
    """One window's bounds at the positions `pos` (a chunk of them)."""
    kind, unit, mode, param = window[0], window[1], window[2], window[3]
    m = pos.size
    if kind == WIN_CAL:
        calendar_bounds(buckets[unit], fi[unit], fr[unit], pos, m, mode, param, ws, we)
    elif kind == WIN_DUR:
        duration_bounds(tpad, pos, m, slots, top, mode, param, ws, we)
    else:
        simple_bounds(kind, n, pos, m, mode, param, ws, we)


@kernel
def slot_table(tpad, n, slots) -> int:
    """slots[r] = the first row at or after time tpad[0] + r * 2**SLOT_BITS, for r = 0..R+1 (slots[R+1] = n).
    Built once per user and shared by every duration window (branch-free, as first_row_table). Returns
    R + 1, the top index."""
    base = tpad[0]
    top = ((tpad[n - 1] - base) >> SLOT_BITS) + 1
    slots[: top + 1] = n
    for i in range(n - 1, -1, -1):
        slots[(tpad[i] - base) >> SLOT_BITS] = i
    for r in range(top - 1, -1, -1):
        slots[r] = min(slots[r], slots[r + 1])
    return top


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
def duration_bounds(tpad, pos, m, slots, top, mode, d, ws, we) -> None:
    """Bounds of duration windows. The bound of row i, the first row with t > t_i - d (trailing) or
    t > t_i + d (leading), lies within the time slot of that limit: the slot table gives the slot's first
    row, and a branch-free binary search over 8 rows finds it (9 or more rows in a slot fall back to a loop,
    rarely). Rows are independent (no pointer carried from row to row), so the CPU overlaps them, and no
    branch depends on the data: a two-pointer scan, one mispredicted exit a row, is slower here.
    tpad is the user's times padded with 9 int64 maxima, so the search never reads past the end."""
    lead = mode == MODE_LEADING
    base = tpad[0]
    for j in range(m):
        i = pos[j]
        lim = tpad[i] + d if lead else tpad[i] - d
        p = slots[min(max((lim - base) >> SLOT_BITS, 0), top)]
        p += 4 * (tpad[p + 3] <= lim)
        p += 2 * (tpad[p + 1] <= lim)
        p += tpad[p] <= lim
        if tpad[p] <= lim:
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
