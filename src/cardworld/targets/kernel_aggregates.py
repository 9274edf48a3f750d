"""Aggregation kernels: prefix counts and sums, then each aggregate over a chunk of rows into a float64 buffer.

Prefix differences give sum/mean/count in O(1) a row, a two-stack queue gives max/min and a k-register top_k;
thresholds and mixed targets then read the same buffer, and store_chunk copies it to the float32 output.
"""

from __future__ import annotations

import numpy as np

from cardworld.jit import kernel
from cardworld.targets.kernel_codes import AGG_COUNT, AGG_SUM

# Branch-free filtering (a branch on the filter bit mispredicts on every other kept row): a kept value
# times 1.0 and a dropped one times 0.0 (values are finite, so exactly x or 0), and for max/min a kept
# value plus MISSING[1] = 0.0, a dropped one plus MISSING[0] = -inf. Running sums restart the same way:
# acc * same.
MISSING = np.array([-np.inf, 0.0])


@kernel
def prefix_count(fbits_w, bit, n, kc) -> None:
    cnt = 0
    kc[0] = 0
    for i in range(n):
        cnt += (fbits_w[i] >> bit) & 1
        kc[i + 1] = cnt


@kernel
def prefix_sums4(xs, fbits, channels, group, n, pre) -> None:
    """pre[c, i] = the sum of kept xs[:i] of channel c, for up to 4 channels (group: 4 channel ids, repeats
    allowed) in one loop: each prefix sum is a chain of float adds, and independent chains overlap.
    Whole cents sum exactly (xs holds integers). The filter is applied without a branch (x * kept)."""
    c0, c1, c2, c3 = group[0], group[1], group[2], group[3]
    x0, x1, x2, x3 = xs[channels[c0, 1]], xs[channels[c1, 1]], xs[channels[c2, 1]], xs[channels[c3, 1]]
    w0, w1 = fbits[channels[c0, 0] >> 6], fbits[channels[c1, 0] >> 6]
    w2, w3 = fbits[channels[c2, 0] >> 6], fbits[channels[c3, 0] >> 6]
    b0, b1, b2, b3 = channels[c0, 0] & 63, channels[c1, 0] & 63, channels[c2, 0] & 63, channels[c3, 0] & 63
    p0, p1, p2, p3 = pre[c0], pre[c1], pre[c2], pre[c3]
    a0 = a1 = a2 = a3 = 0.0
    p0[0] = p1[0] = p2[0] = p3[0] = 0.0
    for i in range(n):
        a0 += x0[i] * np.float64((w0[i] >> b0) & 1)  # x * 0 or x * 1, exactly: no branch on the filter
        a1 += x1[i] * np.float64((w1[i] >> b1) & 1)
        a2 += x2[i] * np.float64((w2[i] >> b2) & 1)
        a3 += x3[i] * np.float64((w3[i] >> b3) & 1)
        p0[i + 1] = a0
        p1[i + 1] = a1
        p2[i + 1] = a2
        p3[i + 1] = a3


@kernel
def agg_prefix(agg, pre, inv, kc, ws, we, i0, i1, fill, buf, col) -> None:
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
def agg_running(agg, b, xs, fbits_w, bit, inv, i0, i1, fill, st, stf, buf, col) -> None:
    """sum, mean or count over this calendar period so far (b: bucket ids; all zeros for "all so far"):
    one pass with an accumulator that restarts when the bucket changes, and no bounds or prefix arrays.
    State across chunks: st = (count, bucket), stf[0] = sum. One loop per aggregation keeps each
    branch-free."""
    cnt = st[0]
    prev = st[1] if i0 > 0 else b[0]
    acc = stf[0]
    if agg == AGG_COUNT:
        for i in range(i0, i1):
            cnt = cnt * np.int64(b[i] == prev) + ((fbits_w[i] >> bit) & 1)
            prev = b[i]
            buf[i - i0, col] = cnt
    elif agg == AGG_SUM:
        for i in range(i0, i1):
            same = b[i] == prev
            prev = b[i]
            kept = (fbits_w[i] >> bit) & 1
            acc = acc * np.float64(same) + xs[i] * np.float64(kept)
            cnt = cnt * np.int64(same) + kept
            buf[i - i0, col] = acc * inv if cnt > 0 else fill
    else:
        for i in range(i0, i1):
            same = b[i] == prev
            prev = b[i]
            kept = (fbits_w[i] >> bit) & 1
            acc = acc * np.float64(same) + xs[i] * np.float64(kept)
            cnt = cnt * np.int64(same) + kept
            buf[i - i0, col] = acc * inv / cnt if cnt > 0 else fill
    st[0] = cnt
    st[1] = prev
    stf[0] = acc


@kernel
def agg_extreme(x, a, fbits_w, bit, sign, ws, we, i0, i1, fill, suf, st, back_st, buf, col) -> None:
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
            back = max(back, sign * x[a + j] + MISSING[(fbits_w[j] >> bit) & 1])
            j += 1
        if s >= bnd:
            bnd = e
            m = NEG
            for t in range(e - 1, s - 1, -1):
                m = max(m, sign * x[a + t] + MISSING[(fbits_w[t] >> bit) & 1])
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
def agg_topk(x, a, fbits_w, bit, k, ws, we, i0, i1, fill, reg, st, buf, col) -> None:
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
def apply_threshold(buf, rows, col, width, thr) -> None:
    for i in range(rows):
        for q in range(width):
            buf[i, col + q] = 1.0 if buf[i, col + q] > thr else 0.0


@kernel
def mixed_target(buf, rows, col, has_den, fill, has_thr, thr, nc, ncoef, dc, dcoef) -> None:
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
def store_chunk(buf, rows, out, r0) -> None:
    """Copy a chunk's float64 results to the float32 output. With the same row width both are one
    contiguous block, copied as a flat (vectorised) loop; otherwise only the output's leading columns."""
    n_cols = out.shape[1]
    if n_cols == buf.shape[1]:
        src = buf.reshape(buf.size)
        dst = out.reshape(out.size)
        o = r0 * n_cols
        for k in range(rows * n_cols):
            dst[o + k] = src[k]
    else:
        for i in range(rows):
            for c in range(n_cols):
                out[r0 + i, c] = buf[i, c]
