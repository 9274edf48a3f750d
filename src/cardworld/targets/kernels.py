"""Numba kernels of the targets engine. Arrays and scalars in, arrays out; no Python objects, no RNG.

One call runs every user of a batch. Per user, a few passes over rows that stay in cache:
  1. prep: validate (sorted time, finite values, MCC range); decide per value column whether it is whole
     cents (then sums are exact integers of cents, so a refund cancels its purchase to exactly 0);
     filter bits (one table lookup gives every filter's MCC verdict); day index;
  2. calendar bucket ids per unit used, and a first-row-of-bucket table per unit;
  3. per filter: prefix count; per (filter, value): prefix sum;
  4. per distinct window: (start, end) row bounds, the window being rows [start, end). Bounds are monotone in
     the row for every window kind, which is what makes everything after linear;
  5. per spec, in chunks of rows whose output block stays in L1: the aggregate (prefix differences for
     sum/count/mean, a monotonic deque for max/min, a k-register for top_k), then mixed targets.
"""

from __future__ import annotations

import numpy as np

from cardworld.dates import SECONDS_PER_DAY, CalendarUnit, bucket_of_day
from cardworld.jit import kernel

ERR_NONE, ERR_UNSORTED, ERR_NONFINITE, ERR_MCC = 0, 1, 2, 3
MCC_LIMIT = 10000
# 2**53: integer cents stay exact in float64 below this.
_EXACT = 9007199254740992.0
# x is whole cents when x*100 is within float rounding of an integer.
_CENT_TOL = 4.0 * 2.220446049250313e-16
# Day span above which unit tables would be too big; buckets are then computed row by row.
MAX_TABLE_DAYS = 200 * 366
# Values per aggregation chunk: its float64 buffer (rows x outputs, 32 KB) stays in L1. Few outputs give
# long chunks, which keeps the per-chunk dispatch cost small.
CHUNK_VALUES = 4096

AGG_SUM, AGG_MEAN, AGG_MAX, AGG_MIN, AGG_COUNT, AGG_TOPK = 0, 1, 2, 3, 4, 5
WIN_CAL, WIN_DUR, WIN_CNT, WIN_ALL = 0, 1, 2, 3
MODE_EXPANDING, MODE_FULL, MODE_NEXT, MODE_TRAILING, MODE_LEADING = 0, 1, 2, 3, 4


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
def _is_sorted(time, a, n) -> bool:
    bad = 0
    for i in range(a + 1, a + n):
        bad += time[i] < time[i - 1]
    return bad == 0


@kernel
def _user_days(time, a, n, day_lo, days) -> None:
    """Day index of each row; unsigned 32-bit division (vectorisable) when the offset fits."""
    base = day_lo * SECONDS_PER_DAY
    if time[a + n - 1] - base < 2**32:
        for i in range(n):
            days[i] = day_lo + np.int64(np.uint32(time[a + i] - base) // np.uint32(SECONDS_PER_DAY))
    else:
        for i in range(n):
            days[i] = time[a + i] // SECONDS_PER_DAY


@kernel
def _filter_bits(mcc, a, n, check_mcc, mcc_bits, all_bits, bounded, bounds, amount, fbits) -> bool:
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
    return bad == 0


@kernel
def _check_values(x, a, n, xs) -> tuple[bool, float]:
    """(all finite, cents scale) of a value column; xs[i] = the row's value in that scale (whole cents are
    rounded to exact integers, so sums of them are exact and need no rounding later)."""
    bad = False
    ok = True
    mx = 0.0
    for i in range(n):
        v = x[a + i]
        bad |= (v - v) != 0.0
        y = v * 100.0
        r = np.rint(y)
        ok &= abs(y - r) <= _CENT_TOL * abs(y)
        mx = max(mx, abs(y))
        xs[i] = r
    if ok and mx * n < _EXACT:
        return not bad, 100.0
    for i in range(n):
        xs[i] = x[a + i]
    return not bad, 1.0


@kernel
def _locate_error(time, values, mcc, a, n, check_mcc, err) -> None:
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
def _user_buckets(days, n, unit, day_lo, tab, use_tab, out) -> None:
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
def _first_row_table(b, n, fi) -> int:
    """fi[j] = first row whose bucket >= b[0] + j, for j = 0..R+1 (fi[R+1] = n). Returns R."""
    r = b[n - 1] - b[0]
    j = 0
    for i in range(n):
        rel = b[i] - b[0]
        while j <= rel:
            fi[j] = i
            j += 1
    fi[r + 1] = n
    return r


@kernel
def _calendar_bounds(b, fi, r, n, mode, periods, ws, we) -> None:
    b0 = b[0]
    top = r + 1
    if mode == MODE_EXPANDING:
        for i in range(n):
            ws[i] = fi[min(max(b[i] - periods + 1 - b0, 0), top)]
            we[i] = i + 1
    elif mode == MODE_FULL:
        for i in range(n):
            ws[i] = fi[min(max(b[i] - periods + 1 - b0, 0), top)]
            we[i] = fi[min(b[i] + 1 - b0, top)]
    else:
        for i in range(n):
            ws[i] = fi[min(b[i] + 1 - b0, top)]
            we[i] = fi[min(b[i] + periods + 1 - b0, top)]


@kernel
def _duration_bounds(tpad, n, b_day, fi_day, r_day, mode, d, ws, we) -> None:
    """Bounds of duration windows. The answer for row i, the first row with t > t_i - d (trailing) or
    t > t_i + d (leading), lies within the day of that limit: the first-row-of-day table gives the day's
    rows, and a fixed, branch-free count over 8 slots finds the row (more than 8 rows in a day falls back to
    a loop). tpad is the user's times padded with 8 int64 maxima, so the count never reads past the end."""
    lead = mode == MODE_LEADING
    d0 = b_day[0]
    top = r_day + 1
    for i in range(n):
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
            ws[i] = i + 1
            we[i] = p
        else:
            ws[i] = p
            we[i] = i + 1


@kernel
def _simple_bounds(kind, n, mode, size, ws, we) -> None:
    if kind == WIN_CNT and mode == MODE_TRAILING:
        for i in range(n):
            ws[i] = max(0, i - size + 1)
            we[i] = i + 1
    elif kind == WIN_CNT:
        for i in range(n):
            ws[i] = i + 1
            we[i] = min(n, i + 1 + size)
    else:  # all
        full = mode != MODE_EXPANDING
        for i in range(n):
            ws[i] = 0
            we[i] = n if full else i + 1


@kernel
def _prefix_count(fbits_w, bit, n, kc) -> None:
    cnt = 0
    kc[0] = 0
    for i in range(n):
        cnt += (fbits_w[i] >> bit) & 1
        kc[i + 1] = cnt


@kernel
def _prefix_sum(xs, n, fbits_w, bit, pre) -> None:
    acc = 0.0
    pre[0] = 0.0
    for i in range(n):
        acc += xs[i] if (fbits_w[i] >> bit) & 1 else 0.0
        pre[i + 1] = acc


@kernel
def _agg_prefix(agg, pre, inv, kc, ws, we, i0, i1, fill, buf, col) -> None:
    """sum, mean and count from prefix arrays: O(1) per row."""
    if agg == AGG_COUNT:
        for i in range(i0, i1):
            buf[i - i0, col] = kc[we[i]] - kc[ws[i]]
    elif agg == AGG_SUM and fill == 0.0:  # an empty window sums to exactly 0: no count needed
        for i in range(i0, i1):
            buf[i - i0, col] = (pre[we[i]] - pre[ws[i]]) * inv
    elif agg == AGG_SUM:
        for i in range(i0, i1):
            s = ws[i]
            e = we[i]
            buf[i - i0, col] = (pre[e] - pre[s]) * inv if kc[e] != kc[s] else fill
    else:
        for i in range(i0, i1):
            s = ws[i]
            e = we[i]
            c = kc[e] - kc[s]
            buf[i - i0, col] = (pre[e] - pre[s]) * inv / c if c > 0 else fill


@kernel
def _agg_running(agg, b, xs, fbits_w, bit, inv, i0, i1, fill, st, stf, buf, col) -> None:
    """sum, mean or count over this calendar period so far (b: bucket ids; all zeros for "all so far"):
    one pass with an accumulator that restarts when the bucket changes, and no bounds or prefix arrays.
    State across chunks: st = (count, bucket), stf[0] = sum. One loop per aggregation keeps each
    branch-free."""
    cnt = st[0]
    prev = st[1] if i0 > 0 else b[0]
    acc = stf[0]
    if agg == AGG_COUNT:
        for i in range(i0, i1):
            cnt = (cnt if b[i] == prev else 0) + ((fbits_w[i] >> bit) & 1)
            prev = b[i]
            buf[i - i0, col] = cnt
    elif agg == AGG_SUM:
        for i in range(i0, i1):
            same = b[i] == prev
            prev = b[i]
            kept = (fbits_w[i] >> bit) & 1
            acc = (acc if same else 0.0) + (xs[i] if kept else 0.0)
            cnt = (cnt if same else 0) + kept
            buf[i - i0, col] = acc * inv if cnt > 0 else fill
    else:
        for i in range(i0, i1):
            same = b[i] == prev
            prev = b[i]
            kept = (fbits_w[i] >> bit) & 1
            acc = (acc if same else 0.0) + (xs[i] if kept else 0.0)
            cnt = (cnt if same else 0) + kept
            buf[i - i0, col] = acc * inv / cnt if cnt > 0 else fill
    st[0] = cnt
    st[1] = prev
    stf[0] = acc


@kernel
def _agg_extreme(x, a, fbits_w, bit, sign, ws, we, i0, i1, fill, suf, st, back_st, buf, col) -> None:
    """max (sign=1) or min (sign=-1) of kept values over [s, e), as a two-stack queue: the window is split at
    B into a front [s, B) whose suffix maxima are stored and a back [B, e) with a running maximum. When s
    passes B, the front is rebuilt from [s, e) and B = e; each row enters a rebuild at most once per pass of
    the window, so the cost stays linear with few mispredicted branches. State: st = (B, end so far),
    back_st[0] = the back's maximum."""
    NEG = -np.inf
    bnd = st[0]
    j = st[1]
    back = back_st[0]
    for i in range(i0, i1):
        s = ws[i]
        e = we[i]
        while j < e:
            back = max(back, sign * x[a + j] if (fbits_w[j] >> bit) & 1 else NEG)
            j += 1
        if s >= bnd:
            bnd = e
            m = NEG
            for t in range(e - 1, s - 1, -1):
                m = max(m, sign * x[a + t] if (fbits_w[t] >> bit) & 1 else NEG)
                suf[t] = m
            back = NEG
        best = max(suf[s] if s < bnd else NEG, back)
        buf[i - i0, col] = sign * best if best != NEG else fill
    st[0] = bnd
    st[1] = j
    back_st[0] = back


@kernel
def _reg_insert(reg, cnt, k, v) -> int:
    """Insert v into reg[0:cnt] (sorted descending, capacity k). Returns the new count."""
    if cnt == k:
        if v <= reg[k - 1]:
            return cnt
        pos = k - 1
    else:
        pos = cnt
        cnt += 1
    while pos > 0 and reg[pos - 1] < v:
        reg[pos] = reg[pos - 1]
        pos -= 1
    reg[pos] = v
    return cnt


@kernel
def _agg_topk(x, a, fbits_w, bit, k, ws, we, i0, i1, fill, reg, st, buf, col) -> None:
    """The k largest kept values over [s, e). The register is updated as the window grows and rebuilt only
    when a row that may be in it leaves; st = (count, previous start, previous end)."""
    cnt = st[0]
    ps = st[1]
    pe = st[2]
    for i in range(i0, i1):
        s = ws[i]
        e = we[i]
        if s != ps or e != pe:
            rebuild = s >= pe
            if not rebuild:
                for j in range(ps, s):
                    if (fbits_w[j] >> bit) & 1 and (cnt < k or x[a + j] >= reg[cnt - 1]):
                        rebuild = True
                        break
            lo = s if rebuild else pe
            if rebuild:
                cnt = 0
            for j in range(lo, e):
                if (fbits_w[j] >> bit) & 1:
                    cnt = _reg_insert(reg, cnt, k, x[a + j])
            ps = s
            pe = e
        for q in range(k):
            buf[i - i0, col + q] = reg[q] if q < cnt else fill
    st[0] = cnt
    st[1] = ps
    st[2] = pe


@kernel
def _threshold(buf, rows, col, width, thr) -> None:
    for i in range(rows):
        for q in range(width):
            buf[i, col + q] = 1.0 if buf[i, col + q] > thr else 0.0


@kernel
def _mixed(buf, rows, col, has_den, fill, has_thr, thr, nc, ncoef, dc, dcoef) -> None:
    for i in range(rows):
        num = 0.0
        for t in range(nc.size):
            num += ncoef[t] * buf[i, nc[t]]
        val = num
        if has_den:
            den = 0.0
            for t in range(dc.size):
                den += dcoef[t] * buf[i, dc[t]]
            val = num / den if den != 0.0 else fill
        if has_thr:
            val = 1.0 if val > thr else 0.0
        buf[i, col] = val


@kernel
def targets_kernel(
    time,
    values,
    mcc,
    offsets,
    unit_used,
    mcc_bits,
    all_bits,
    bounded,
    bounds,
    channels,
    windows,
    spec_int,
    spec_float,
    mix_int,
    mix_float,
    num_ptr,
    num_col,
    num_coef,
    den_ptr,
    den_col,
    den_coef,
    check_mcc,
    out,
    err,
) -> None:
    """Every target of every user: users are rows offsets[u]:offsets[u+1] of the flat arrays."""
    n_users = offsets.size - 1
    maxn = 0
    for u in range(n_users):
        maxn = max(maxn, offsets[u + 1] - offsets[u])
    if maxn == 0:
        return
    n_val = values.shape[0]
    n_words = mcc_bits.shape[0]
    n_f = 1
    for q in range(spec_int.shape[0]):
        n_f = max(n_f, spec_int[q, 1] + 1)
    n_c = channels.shape[0]
    n_w = windows.shape[0]
    n_s = spec_int.shape[0]

    day_lo, day_hi = day_range(time, offsets)
    n_days = day_hi - day_lo + 1
    use_tab = n_days <= MAX_TABLE_DAYS
    tab = unit_tables(day_lo, n_days if use_tab else 1, unit_used)

    # Running specs (sum/mean/count over "this period so far" or "all so far") take one pass of their own;
    # the others need window bounds, prefix sums, and prefix counts (count, mean, sums whose fill is not 0).
    running = np.zeros(n_s, dtype=np.bool_)
    need_count = np.zeros(n_f, dtype=np.bool_)
    need_channel = np.zeros(max(n_c, 1), dtype=np.bool_)
    need_window = np.zeros(max(n_w, 1), dtype=np.bool_)
    need_fi = np.zeros(5, dtype=np.bool_)
    want_unit = unit_used.copy()
    for q in range(n_s):
        agg = spec_int[q, 0]
        w = spec_int[q, 4]
        kind = windows[w, 0]
        prefix_agg = agg == AGG_SUM or agg == AGG_MEAN or agg == AGG_COUNT
        expanding = windows[w, 2] == MODE_EXPANDING and (
            kind == WIN_ALL or (kind == WIN_CAL and windows[w, 3] == 1)
        )
        if prefix_agg and expanding:
            running[q] = True
            continue
        need_window[w] = True
        if kind == WIN_CAL:
            need_fi[windows[w, 1]] = True
        if kind == WIN_DUR:  # duration bounds search within the day: they need the day table
            want_unit[CalendarUnit.DAY] = True
            need_fi[CalendarUnit.DAY] = True
        if spec_int[q, 3] >= 0:
            need_channel[spec_int[q, 3]] = True
        if agg == AGG_COUNT or agg == AGG_MEAN or (agg == AGG_SUM and spec_float[q, 0] != 0.0):
            need_count[spec_int[q, 1]] = True

    days = np.empty(maxn, dtype=np.int64)
    need_days = want_unit.any()
    tpad = np.empty(maxn + 9, dtype=np.int64)
    fbits = np.empty((n_words, maxn), dtype=np.uint64)
    buckets = np.empty((5, maxn), dtype=np.int64)
    fi_cap = maxn + 2
    fi = np.empty((5, fi_cap), dtype=np.int32)
    fr = np.zeros(5, dtype=np.int64)
    kc = np.empty((n_f, maxn + 1), dtype=np.int32) if need_count.any() else np.empty((n_f, 1), np.int32)
    pre = np.empty((max(n_c, 1), maxn + 1), dtype=np.float64)
    ws = np.empty((n_w, maxn), dtype=np.int32)
    we = np.empty((n_w, maxn), dtype=np.int32)
    suf = np.empty((n_s, maxn), dtype=np.float64)
    kmax = 1
    for q in range(n_s):
        kmax = max(kmax, spec_int[q, 5])
    reg = np.empty((n_s, kmax), dtype=np.float64)
    st = np.empty((n_s, 3), dtype=np.int64)
    back_st = np.empty((n_s, 1), dtype=np.float64)
    stf = np.empty((n_s, 1), dtype=np.float64)
    chunk = max(16, CHUNK_VALUES // max(out.shape[1], 1))
    buf = np.empty((chunk, out.shape[1]), dtype=np.float64)
    scale = np.ones(n_val, dtype=np.float64)
    xs = np.empty((n_val, maxn), dtype=np.float64)
    zeros = np.zeros(maxn, dtype=np.int64)  # the single bucket of "all so far"

    for u in range(n_users):
        a = offsets[u]
        n = offsets[u + 1] - a
        if n == 0:
            continue
        valid = _is_sorted(time, a, n)
        for v in range(n_val):
            finite, scale[v] = _check_values(values[v], a, n, xs[v])
            valid &= finite
        valid &= _filter_bits(mcc, a, n, check_mcc, mcc_bits, all_bits, bounded, bounds, values[0], fbits)
        if not valid:
            _locate_error(time, values, mcc, a, n, check_mcc, err)
            return
        if need_days:
            _user_days(time, a, n, day_lo, days)
        if need_fi[CalendarUnit.DAY]:
            tpad[:n] = time[a : a + n]
            tpad[n : n + 9] = np.iinfo(np.int64).max

        # Calendar buckets and first-row tables.
        for unit in range(5):
            if want_unit[unit]:
                _user_buckets(days, n, unit, day_lo, tab, use_tab, buckets[unit])
                if not need_fi[unit]:
                    continue
                need = buckets[unit, n - 1] - buckets[unit, 0] + 2
                if need > fi_cap:
                    fi_cap = 2 * need
                    fi = np.empty((5, fi_cap), dtype=np.int32)
                    for prev_unit in range(unit):  # tables built before the growth are rebuilt
                        if need_fi[prev_unit]:
                            fr[prev_unit] = _first_row_table(buckets[prev_unit], n, fi[prev_unit])
                fr[unit] = _first_row_table(buckets[unit], n, fi[unit])

        # Filters and prefix sums.
        for f in range(n_f):
            if need_count[f]:
                _prefix_count(fbits[f >> 6], f & 63, n, kc[f])
        for c in range(n_c):
            if not need_channel[c]:
                continue
            f = channels[c, 0]
            v = channels[c, 1]
            _prefix_sum(xs[v], n, fbits[f >> 6], f & 63, pre[c])

        # Window bounds.
        for w in range(n_w):
            if not need_window[w]:
                continue
            kind = windows[w, 0]
            unit = windows[w, 1]
            mode = windows[w, 2]
            param = windows[w, 3]
            if kind == WIN_CAL:
                _calendar_bounds(buckets[unit], fi[unit], fr[unit], n, mode, param, ws[w], we[w])
            elif kind == WIN_DUR:
                _duration_bounds(
                    tpad,
                    n,
                    buckets[CalendarUnit.DAY],
                    fi[CalendarUnit.DAY],
                    fr[CalendarUnit.DAY],
                    mode,
                    param,
                    ws[w],
                    we[w],
                )
            else:
                _simple_bounds(kind, n, mode, param, ws[w], we[w])

        # Aggregates, chunk by chunk into a float64 buffer that stays in L1; mixed targets and thresholds
        # read it (so they see float64 values), then the chunk is copied to the float32 output in one block.
        st[:, :] = 0
        stf[:, :] = 0.0
        back_st[:, :] = -np.inf
        for i0 in range(0, n, chunk):
            i1 = min(n, i0 + chunk)
            for q in range(n_s):
                agg = spec_int[q, 0]
                f = spec_int[q, 1]
                v = spec_int[q, 2]
                c = spec_int[q, 3]
                w = spec_int[q, 4]
                k = spec_int[q, 5]
                col = spec_int[q, 6]
                fill = spec_float[q, 0]
                fw = fbits[f >> 6]
                bit = f & 63
                if running[q]:
                    b = buckets[windows[w, 1]] if windows[w, 0] == WIN_CAL else zeros
                    inv = 1.0 / scale[v]
                    _agg_running(agg, b, xs[v], fw, bit, inv, i0, i1, fill, st[q], stf[q], buf, col)
                elif agg == AGG_SUM or agg == AGG_MEAN or agg == AGG_COUNT:
                    inv = 1.0 / scale[v]
                    _agg_prefix(agg, pre[max(c, 0)], inv, kc[f], ws[w], we[w], i0, i1, fill, buf, col)
                elif agg == AGG_MAX or agg == AGG_MIN:
                    sign = 1.0 if agg == AGG_MAX else -1.0
                    sq = st[q]
                    _agg_extreme(
                        values[v],
                        a,
                        fw,
                        bit,
                        sign,
                        ws[w],
                        we[w],
                        i0,
                        i1,
                        fill,
                        suf[q],
                        sq,
                        back_st[q],
                        buf,
                        col,
                    )
                else:
                    _agg_topk(values[v], a, fw, bit, k, ws[w], we[w], i0, i1, fill, reg[q], st[q], buf, col)
                if spec_float[q, 2] != 0.0:
                    _threshold(buf, i1 - i0, col, k if agg == AGG_TOPK else 1, spec_float[q, 1])
            for x in range(mix_int.shape[0]):
                _mixed(
                    buf,
                    i1 - i0,
                    mix_int[x, 0],
                    mix_int[x, 1] != 0,
                    mix_float[x, 0],
                    mix_float[x, 2] != 0.0,
                    mix_float[x, 1],
                    num_col[num_ptr[x] : num_ptr[x + 1]],
                    num_coef[num_ptr[x] : num_ptr[x + 1]],
                    den_col[den_ptr[x] : den_ptr[x + 1]],
                    den_coef[den_ptr[x] : den_ptr[x + 1]],
                )
            _store(buf, i1 - i0, out, a + i0)


@kernel
def _store(buf, rows, out, r0) -> None:
    """Copy a chunk's float64 results to the float32 output: both are row-major with the same row width,
    so the chunk is one contiguous block, copied as a flat (vectorised) loop."""
    n_cols = out.shape[1]
    src = buf.reshape(buf.size)
    dst = out.reshape(out.size)
    o = r0 * n_cols
    for k in range(rows * n_cols):
        dst[o + k] = src[k]


@kernel
def period_end_kernel(b, offsets, out) -> None:
    """out[i] = True where row i is the last of its bucket within its user."""
    for u in range(offsets.size - 1):
        a, e = offsets[u], offsets[u + 1]
        for i in range(a, e):
            out[i] = i == e - 1 or b[i + 1] != b[i]
