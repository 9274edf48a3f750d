"""The fused numba driver of the targets engine. Arrays and scalars in, arrays out; no Python objects, no RNG.

One call runs every user of a batch, densely (every row) or at chosen rows (`at=`, sparse). Per user, a few
passes over rows that stay in cache:
  1. prep, validating in passing: one vectorised pass over time and amount (sorted, finite, whole cents ->
     exact integer-cent sums so a refund cancels its purchase to exactly 0; day index), then filter bits
     (one MCC table lookup gives every filter's verdict). Every check is an integer count, never a float
     reduction, so the loops vectorise: the checks cost under 2 ns a row and nothing is ever skipped;
  2. calendar bucket ids per unit used, first-row-of-bucket tables (branch-free), and for duration windows
     one table of 18-hour time slots shared by all of them;
  3. per filter: prefix count; per (filter, value): prefix sum;
  4. max/min/top_k over one whole calendar period: each period's top values, once;
  5. in chunks of positions whose buffers stay in L1: each window's bounds at those positions (O(1) each:
     table lookups and a branch-free search, so sparse rows cost only themselves), then every spec reading
     that window: prefix differences for sum/count/mean, a running accumulator for "so far" windows, a
     two-stack queue for other max/min, a k-register for top_k; then thresholds and mixed targets.

Steps 1-2 live in kernel_prep and kernel_bounds, 3 and 5's aggregates in kernel_aggregates, 4 in
kernel_buckets; the integer codes the plan writes are in kernel_codes. This module only allocates the
scratch arrays and runs the steps per user.
"""

from __future__ import annotations

import numpy as np

from cardworld.jit import kernel
from cardworld.targets.kernel_aggregates import (
    agg_extreme,
    agg_prefix,
    agg_running,
    agg_topk,
    apply_threshold,
    mixed_target,
    prefix_count,
    prefix_sums4,
    store_chunk,
)
from cardworld.targets.kernel_bounds import SLOT_BITS, chunk_bounds, slot_table
from cardworld.targets.kernel_buckets import agg_period, agg_period_at, period_tops
from cardworld.targets.kernel_codes import (
    AGG_COUNT,
    AGG_MAX,
    AGG_MEAN,
    AGG_MIN,
    AGG_SUM,
    AGG_TOPK,
    MODE_EXPANDING,
    MODE_FULL,
    MODE_NEXT,
    WIN_ALL,
    WIN_CAL,
    WIN_DUR,
)
from cardworld.targets.kernel_prep import (
    MAX_TABLE_DAYS,
    check_rows,
    check_values,
    day_range,
    filter_bits,
    first_row_table,
    locate_error,
    unit_tables,
    user_buckets,
)

# Values per aggregation chunk: its float64 buffer (rows x outputs, 32 KB) stays in L1. Few outputs give
# long chunks, which keeps the per-chunk dispatch cost small.
CHUNK_VALUES = 65536


@kernel
def spec_needs(spec_int, spec_float, windows, unit_used, n_f, n_c, n_w, sparse):
    """What the batch must build, from the plan alone: running specs (sum/mean/count over "this period so
    far" or "all so far") take one pass of their own when every row is evaluated; the others (and running
    specs at sparse positions) need window bounds, prefix sums, and prefix counts (count, mean, sums whose
    fill is not 0). max, min and top_k over one whole calendar period (full or next, periods 1) read
    per-period tops instead (kernel_buckets). Returns (running, periodic, need_count, need_channel,
    need_window, need_fi, want_unit)."""
    n_s = spec_int.shape[0]
    running = np.zeros(n_s, dtype=np.bool_)
    periodic = np.zeros(n_s, dtype=np.bool_)
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
        if prefix_agg and expanding and not sparse:
            running[q] = True
            continue
        mode = windows[w, 2]
        if (
            not prefix_agg
            and kind == WIN_CAL
            and windows[w, 3] == 1
            and (mode == MODE_FULL or mode == MODE_NEXT)
        ):
            periodic[q] = True
            want_unit[windows[w, 1]] = True
            need_fi[windows[w, 1]] |= sparse  # sparse positions scan their period's rows
            continue
        need_window[w] = True
        if kind == WIN_CAL:
            need_fi[windows[w, 1]] = True
        if spec_int[q, 3] >= 0:
            need_channel[spec_int[q, 3]] = True
        if agg == AGG_COUNT or agg == AGG_MEAN or (agg == AGG_SUM and spec_float[q, 0] != 0.0):
            need_count[spec_int[q, 1]] = True
    return running, periodic, need_count, need_channel, need_window, need_fi, want_unit


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
    sparse,
    at_rel,
    at_off,
    out,
    err,
) -> None:
    """Every target of every user: users are rows offsets[u]:offsets[u+1] of the flat arrays.

    Dense (sparse False): out row a+i is the user's row i. Sparse: the user's targets are evaluated at its
    rows at_rel[at_off[u]:at_off[u+1]] (relative, ascending) and written to out rows at_off[u]... . out may
    have fewer columns than the plan computes (hidden helper targets come last and are not stored)."""
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

    running, periodic, need_count, need_channel, need_window, need_fi, want_unit = spec_needs(
        spec_int, spec_float, windows, unit_used, n_f, n_c, n_w, sparse
    )
    ident = np.arange(maxn)  # the positions of a dense user: every row
    # The channels that need a prefix sum, in groups of 4 (the last group padded with repeats).
    wanted = np.flatnonzero(need_channel[:n_c])
    n_groups = (wanted.size + 3) // 4
    groups = np.empty(n_groups * 4, dtype=np.int64)
    for g in range(groups.size):
        groups[g] = wanted[min(g, wanted.size - 1)]
    need_tpad = False
    for w in range(n_w):
        need_tpad |= need_window[w] and windows[w, 0] == WIN_DUR
    days = np.empty(maxn, dtype=np.int64)

    tpad = np.empty(maxn + 9, dtype=np.int64)
    fbits = np.empty((n_words, maxn), dtype=np.uint64)
    buckets = np.empty((5, maxn), dtype=np.int64)
    fi_cap = maxn + 2
    fi = np.empty((5, fi_cap), dtype=np.int32)
    fr = np.zeros(5, dtype=np.int64)
    kc = np.empty((n_f, maxn + 1), dtype=np.int32) if need_count.any() else np.empty((n_f, 1), np.int32)
    pre = np.empty((max(n_c, 1), maxn + 1), dtype=np.float64)
    slots_cap = maxn + 2
    slots = np.empty(slots_cap, dtype=np.int32)
    top = 0
    suf = np.empty((n_s, maxn), dtype=np.float64)
    kmax = 1
    for q in range(n_s):
        kmax = max(kmax, spec_int[q, 5])
    reg = np.empty((n_s, kmax), dtype=np.float64)
    pslot = np.cumsum(periodic) - 1  # periodic spec q's tops are tops[pslot[q]]
    tops_cap = maxn + 2
    tops = np.empty((max(periodic.sum(), 1), tops_cap, kmax), dtype=np.float64)
    st = np.empty((n_s, 3), dtype=np.int64)
    back_st = np.empty((n_s, 1), dtype=np.float64)
    stf = np.empty((n_s, 1), dtype=np.float64)
    n_cols = out.shape[1]  # every column the plan computes, hidden helpers included
    for q in range(n_s):
        n_cols = max(n_cols, spec_int[q, 6] + (spec_int[q, 5] if spec_int[q, 0] == AGG_TOPK else 1))
    for x in range(mix_int.shape[0]):
        n_cols = max(n_cols, mix_int[x, 0] + 1)
    chunk = max(16, CHUNK_VALUES // max(n_cols, 1))
    buf = np.empty((chunk, n_cols), dtype=np.float64)
    ws = np.empty((n_w, chunk), dtype=np.int32)  # a chunk's window bounds: they stay in L1 with buf
    we = np.empty((n_w, chunk), dtype=np.int32)
    scale = np.ones(n_val, dtype=np.float64)
    xs = np.empty((n_val, maxn), dtype=np.float64)
    zeros = np.zeros(maxn, dtype=np.int64)  # the single bucket of "all so far"

    for u in range(n_users):
        a = offsets[u]
        n = offsets[u + 1] - a
        if n == 0:
            continue
        if sparse:
            o0 = at_off[u]
            m = at_off[u + 1] - o0
            pos = at_rel[o0 : o0 + m]
        else:
            o0 = a
            m = n
            pos = ident
        valid, scale[0] = check_rows(time, values[0], a, n, day_lo, xs[0], days)
        for v in range(1, n_val):
            finite, scale[v] = check_values(values[v], a, n, xs[v])
            valid &= finite
        valid &= filter_bits(mcc, a, n, check_mcc, mcc_bits, all_bits, bounded, bounds, values[0], fbits)
        if not valid:
            locate_error(time, values, mcc, a, n, check_mcc, err)
            return
        if need_tpad:
            tpad[:n] = time[a : a + n]
            tpad[n : n + 9] = np.iinfo(np.int64).max
            need = ((tpad[n - 1] - tpad[0]) >> SLOT_BITS) + 2
            if need > slots_cap:
                slots_cap = 2 * need
                slots = np.empty(slots_cap, dtype=np.int32)
            top = slot_table(tpad, n, slots)

        # Calendar buckets and first-row tables.
        for unit in range(5):
            if want_unit[unit]:
                user_buckets(days, n, unit, day_lo, tab, use_tab, buckets[unit])
                if not need_fi[unit]:
                    continue
                need = buckets[unit, n - 1] - buckets[unit, 0] + 2
                if need > fi_cap:
                    fi_cap = 2 * need
                    fi = np.empty((5, fi_cap), dtype=np.int32)
                    for prev_unit in range(unit):  # tables built before the growth are rebuilt
                        if need_fi[prev_unit]:
                            fr[prev_unit] = first_row_table(buckets[prev_unit], n, fi[prev_unit])
                fr[unit] = first_row_table(buckets[unit], n, fi[unit])

        # Filters and prefix sums.
        for f in range(n_f):
            if need_count[f]:
                prefix_count(fbits[f >> 6], f & 63, n, kc[f])
        for g in range(0, n_groups * 4, 4):
            prefix_sums4(xs, fbits, channels, groups[g : g + 4], n, pre)

        # Per-period tops of the max/min/top_k specs over whole periods.
        for q in range(n_s):
            if periodic[q] and not sparse:
                unit = windows[spec_int[q, 4], 1]
                need = buckets[unit, n - 1] - buckets[unit, 0] + 2
                if need > tops_cap:  # grow: the tops already built for this user are rebuilt below
                    tops_cap = 2 * need
                    tops = np.empty((tops.shape[0], tops_cap, kmax), dtype=np.float64)
        for q in range(n_s):
            if periodic[q] and not sparse:
                f = spec_int[q, 1]
                sign = -1.0 if spec_int[q, 0] == AGG_MIN else 1.0
                k = spec_int[q, 5] if spec_int[q, 0] == AGG_TOPK else 1
                b = buckets[windows[spec_int[q, 4], 1]]
                period_tops(values[spec_int[q, 2]], a, fbits[f >> 6], f & 63, sign, b, n, k, tops[pslot[q]])

        # Chunk by chunk: each window's bounds for the chunk, then the aggregates into a float64 buffer that
        # stays in L1 with them; mixed targets and thresholds read it (so they see float64 values), then the
        # chunk is copied to the float32 output in one block.
        st[:, :] = 0
        stf[:, :] = 0.0
        back_st[:, :] = -np.inf
        if m == 0:
            continue
        for i0 in range(0, m, chunk):  # i: the index of a position (the row itself when dense)
            i1 = min(m, i0 + chunk)
            for w in range(n_w):
                if need_window[w]:
                    chunk_bounds(windows[w], n, pos[i0:i1], tpad, buckets, fi, fr, slots, top, ws[w], we[w])
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
                if periodic[q]:
                    sign = -1.0 if agg == AGG_MIN else 1.0
                    kq = k if agg == AGG_TOPK else 1
                    unit = windows[w, 1]
                    b = buckets[unit]
                    if sparse:
                        if i0 == 0:
                            st[q, 0] = -1
                        agg_period_at(
                            values[v], a, fw, bit, sign, b, fi[unit], fr[unit], kq, windows[w, 2], pos,
                            i0, i1, fill, reg[q], st[q], buf, col,
                        )  # fmt: skip
                    else:
                        agg_period(b, tops[pslot[q]], kq, windows[w, 2], sign, pos, i0, i1, fill, buf, col)
                elif running[q]:
                    b = buckets[windows[w, 1]] if windows[w, 0] == WIN_CAL else zeros
                    inv = 1.0 / scale[v]
                    agg_running(agg, b, xs[v], fw, bit, inv, i0, i1, fill, st[q], stf[q], buf, col)
                elif agg == AGG_SUM or agg == AGG_MEAN or agg == AGG_COUNT:
                    inv = 1.0 / scale[v]
                    agg_prefix(agg, pre[max(c, 0)], inv, kc[f], ws[w], we[w], 0, i1 - i0, fill, buf, col)
                elif agg == AGG_MAX or agg == AGG_MIN:
                    sign = 1.0 if agg == AGG_MAX else -1.0
                    sq = st[q]
                    agg_extreme(
                        values[v],
                        a,
                        fw,
                        bit,
                        sign,
                        ws[w],
                        we[w],
                        0,
                        i1 - i0,
                        fill,
                        suf[q],
                        sq,
                        back_st[q],
                        buf,
                        col,
                    )
                else:
                    agg_topk(
                        values[v], a, fw, bit, k, ws[w], we[w], 0, i1 - i0, fill, reg[q], st[q], buf, col
                    )
                if spec_float[q, 2] != 0.0:
                    apply_threshold(buf, i1 - i0, col, k if agg == AGG_TOPK else 1, spec_float[q, 1])
            for x in range(mix_int.shape[0]):
                mixed_target(
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
            store_chunk(buf, i1 - i0, out, o0 + i0)
