"""The numba kernel of purchase times (sim.purchases.purchase_times): one pass over a consumer's purchases.

It computes, row by row, exactly what the numpy functions of sim.routine compute over arrays
(`pick_slots`, `slot_quantiles`, `slot_seconds`, `quantile_seconds`), which stay as its naive twin
(tests/sim/test_routine.py compares the two). The uniforms and normals come in from the caller, drawn
from the consumer's stream in fixed shapes; the kernel draws nothing.
"""

from __future__ import annotations

import math

import numpy as np

from cardworld.dates import SECONDS_PER_HOUR, SECONDS_PER_MINUTE
from cardworld.jit import kernel

_LAST = 1.0 - 1e-12  # positions within an hour stay below 1


@kernel
def _quantile_hour(cum, r, q):
    """(hour, position in the hour) at quantile q of profile row r: as sim.routine.quantile_hour, which
    compares r + cum[r, h] with r + q (the same float sums, so the same hour)."""
    v = r + q
    hour = 0
    while hour < 24 and r + cum[r, hour] <= v:
        hour += 1
    hour = min(hour, 23)
    hi = cum[r, hour]
    lo = cum[r, hour - 1] if hour > 0 else 0.0
    frac = (q - lo) / max(hi - lo, 1e-300)
    return hour, min(max(frac, 0.0), _LAST)


@kernel
def _seconds(hour, frac):
    return hour * SECONDS_PER_HOUR + math.floor(frac * 60) * SECONDS_PER_MINUTE  # numba: floor is an int


@kernel
def purchase_seconds_kernel(
    day, in_slot, row, working, u_slot, z, u_keep, u_free,
    bounds, slot_u, cum_weight, n_weekday, spread,
    clock, accept, reject_lo, reject_w, excess, item_hours,
):  # fmt: skip
    """(second of the day, routine slot id or -1) per purchase. In a slot: the slot by the day's phase
    and weekday/weekend weights (u_slot), its quantile plus spread * z wrapped into [0, 1), the clock's
    hour there kept with probability accept (u_keep), else the item's excess hours at the same rank.
    Off the routine: quantile u_free of the item's own profile (row = item + n_items * working)."""
    n = day.size
    n_slots = slot_u.shape[1]
    second = np.empty(n, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        r = row[i]
        if not in_slot[i]:
            h, f = _quantile_hour(item_hours, r, u_free[i])
            second[i] = _seconds(h, f)
            continue
        phase = 0
        while phase < bounds.size and bounds[phase] <= day[i]:
            phase += 1
        weekend = (day[i] + 3) % 7 >= 5
        g = phase * 2 + (1 if weekend else 0)
        j = 0
        for s in range(n_slots):
            if cum_weight[g, s] <= u_slot[i]:
                j += 1
        if weekend:
            j += n_weekday
        sid = phase * n_slots + min(j, n_slots - 1)
        slot[i] = sid
        q = (slot_u[sid // n_slots, sid % n_slots] + spread * z[i]) % 1.0
        if q >= 1.0:
            q = 0.0
        h, f = _quantile_hour(clock, working[i], q)
        if u_keep[i] < accept[r, h]:
            second[i] = _seconds(h, f)
        else:
            rank = min(max(reject_lo[r, h] + f * reject_w[r, h], 0.0), _LAST)
            eh, ef = _quantile_hour(excess, r, rank)
            second[i] = _seconds(eh, ef)
    return second, slot


__all__ = ["purchase_seconds_kernel"]
