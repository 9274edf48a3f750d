"""Per-user preparation kernels of the targets engine: input checks, filter bits, day indices, calendar buckets.

Steps 1 and 2 of the fused pass (see kernels.py): they run once per user before any window or aggregate, and
validate in passing, so bad input costs nothing until it is found (then locate_error names the first bad row).
"""

from __future__ import annotations

import numpy as np

from cardworld.dates import SECONDS_PER_DAY, CalendarUnit, bucket_of_day
from cardworld.jit import kernel
from cardworld.targets.kernel_codes import ERR_MCC, ERR_NONFINITE, ERR_UNSORTED

MCC_LIMIT = 10000
# 2**53: integer cents stay exact in float64 below this.
_EXACT = 9007199254740992.0
# Adding and subtracting 1.5 * 2**52 rounds to the nearest integer (ties to even) below 2**51.
_ROUND = 6755399441055744.0
_ROUND_LIMIT = 2251799813685248.0
# x is whole cents when x*100 is within float rounding of an integer.
_CENT_TOL = 4.0 * 2.220446049250313e-16
# Day span above which unit tables would be too big; buckets are then computed row by row.
MAX_TABLE_DAYS = 200 * 366


@kernel
def day_range(time: np.ndarray, offsets: np.ndarray) -> tuple[int, int]:
    """Smallest and largest day over a batch (first and last row of each user; validated later)."""
    lo = np.int64(2**62)
    hi = -np.int64(2**62)
    for u in range(offsets.size - 1):
        a, b = offsets[u], offsets[u + 1]
        if b > a:
            lo = min(lo, time[a] // SECONDS_PER_DAY, time[b - 1] // SECONDS_PER_DAY)
            hi = max(hi, time[a] // SECONDS_PER_DAY, time[b - 1] // SECONDS_PER_DAY)
    return lo, hi


@kernel
def unit_tables(day_lo: int, n_days: int, unit_used: np.ndarray) -> np.ndarray:
    """(5, n_days) bucket id per day for the month, quarter and year units (others are plain arithmetic)."""
    tab = np.zeros((5, n_days), dtype=np.int64)
    for unit in (CalendarUnit.MONTH, CalendarUnit.QUARTER, CalendarUnit.YEAR):
        if unit_used[unit]:
            for d in range(n_days):
                tab[unit, d] = bucket_of_day(unit, day_lo + d)
    return tab


@kernel
def filter_bits(mcc, a, n, check_mcc, mcc_bits, all_bits, bounded, bounds, amount, fbits) -> bool:
    """fbits[w, i]: bit f of word w = filter 64w+f keeps row i. Returns False on an MCC outside 0..9999."""
    bad = 0
    for w in range(fbits.shape[0]):
        fw = fbits[w]
        if check_mcc:
            table = mcc_bits[w]
            for i in range(n):
                m = mcc[a + i]
                bad += (m < 0) | (m >= MCC_LIMIT)
                fw[i] = table[min(max(m, 0), MCC_LIMIT - 1)]
        else:
            bits = all_bits[w]
            for i in range(n):
                fw[i] = bits
    apply_bounds(bounded, bounds, amount, a, n, fbits)
    return bad == 0


@kernel
def _cents(v, lim):
    """(v in cents rounded to an integer, v not finite, v not whole cents or too large): integer flags, so
    the loops counting them vectorise."""
    y = v * 100.0
    r = (y + _ROUND) - _ROUND
    ay = abs(y)
    return r, np.int64((v - v) != 0.0), np.int64((abs(y - r) > _CENT_TOL * ay) | (ay >= lim))


@kernel
def check_rows(time, x, a, n, day_lo, xs, days) -> tuple[bool, float]:
    """The pre-pass over time and the first value column, fused (both streams read once, and the loop still
    vectorises: no table lookup in it): sorted check, finite and cents check of x with xs (as
    check_values), and each row's day index. Returns (valid, cents scale)."""
    base = day_lo * SECONDS_PER_DAY
    short = time[a + n - 1] - base < 2**32  # unsigned 32-bit division (vectorisable) when offsets fit
    lim = min(_ROUND_LIMIT, _EXACT / n)
    unsorted = 0
    bad = 0
    off = 0
    for i in range(n):
        t = time[a + i]
        unsorted += t < time[a + max(i - 1, 0)]
        if short:
            days[i] = day_lo + np.int64(np.uint32(t - base) // np.uint32(SECONDS_PER_DAY))
        else:
            days[i] = t // SECONDS_PER_DAY
        xs[i], not_finite, not_cents = _cents(x[a + i], lim)
        bad += not_finite
        off += not_cents
    if off:
        for i in range(n):
            xs[i] = x[a + i]
    return unsorted + bad == 0, 1.0 if off else 100.0


@kernel
def check_values(x, a, n, xs) -> tuple[bool, float]:
    """(all finite, cents scale) of a value column; xs[i] = the row's value in that scale (whole cents are
    rounded to exact integers, so sums of them are exact and need no rounding later).

    Every check is an integer count, not a float max or flag chain: counts vectorise (a float reduction
    cannot be reordered without fastmath, so it would run one row per add's latency). Rounding is
    (y + 1.5 * 2**52) - 1.5 * 2**52, exact round-half-even below 2**51, again plain vectorisable adds."""
    lim = min(_ROUND_LIMIT, _EXACT / n)  # cents sums stay exact: n * max|cents| < 2**53
    bad = 0
    off = 0
    for i in range(n):
        xs[i], not_finite, not_cents = _cents(x[a + i], lim)
        bad += not_finite
        off += not_cents
    if off == 0:
        return bad == 0, 100.0
    for i in range(n):
        xs[i] = x[a + i]
    return bad == 0, 1.0


@kernel
def apply_bounds(bounded, bounds, amount, a, n, fbits) -> None:
    """Clear filter f's bit on rows whose amount is outside its [amount_min, amount_max]."""
    for q in range(bounded.size):
        f = bounded[q]
        fw = fbits[f >> 6]
        clear = ~(np.uint64(1) << np.uint64(f & 63))
        lo = bounds[q, 0]
        hi = bounds[q, 1]
        for i in range(n):
            x = amount[a + i]
            if not (lo <= x <= hi):
                fw[i] &= clear


@kernel
def locate_error(time, values, mcc, a, n, check_mcc, err) -> None:
    """Slow path: the first bad row, as (code, row, column)."""
    for i in range(a + 1, a + n):
        if time[i] < time[i - 1]:
            err[0], err[1], err[2] = ERR_UNSORTED, i, 0
            return
    for v in range(values.shape[0]):
        for i in range(a, a + n):
            x = values[v, i]
            if (x - x) != 0.0:
                err[0], err[1], err[2] = ERR_NONFINITE, i, v
                return
    if check_mcc:
        for i in range(a, a + n):
            if mcc[i] < 0 or mcc[i] >= MCC_LIMIT:
                err[0], err[1], err[2] = ERR_MCC, i, 0
                return


@kernel
def user_buckets(days, n, unit, day_lo, tab, use_tab, out) -> None:
    if unit == CalendarUnit.DAY:
        for i in range(n):
            out[i] = days[i]
    elif unit == CalendarUnit.WEEK:
        for i in range(n):
            out[i] = (days[i] + 3) // 7
    elif use_tab:
        for i in range(n):
            out[i] = tab[unit, days[i] - day_lo]
    else:
        last_d = -np.int64(2**62)
        last_b = np.int64(0)
        for i in range(n):
            d = days[i]
            if d != last_d:
                last_d = d
                last_b = bucket_of_day(unit, d)
            out[i] = last_b


@kernel
def first_row_table(b, n, fi) -> int:
    """fi[j] = first row whose bucket >= b[0] + j, for j = 0..R+1 (fi[R+1] = n). Returns R.

    Branch-free: every row writes its bucket's entry in reverse order (so the first row's write lands
    last), then empty buckets take the next bucket's first row by a backward min (n marks "none yet").
    A forward fill would branch once per bucket change, mispredicted about that often."""
    b0 = b[0]
    r = b[n - 1] - b0
    fi[: r + 2] = n
    for i in range(n - 1, -1, -1):
        fi[b[i] - b0] = i
    for j in range(r, -1, -1):
        fi[j] = min(fi[j], fi[j + 1])
    return r


@kernel
def period_end_kernel(b, offsets, out) -> None:
    """out[i] = True where row i is the last of its bucket within its user."""
    for u in range(offsets.size - 1):
        a, e = offsets[u], offsets[u + 1]
        for i in range(a, e):
            out[i] = i == e - 1 or b[i + 1] != b[i]
