"""The integer codes a compiled plan writes and the numba kernels read: one definition for both sides.

Plain ints, not enums, so that numba folds them into constants in every kernel.
"""

from __future__ import annotations

# Aggregations (spec_int[:, 0]).
AGG_SUM, AGG_MEAN, AGG_MAX, AGG_MIN, AGG_COUNT, AGG_TOPK = 0, 1, 2, 3, 4, 5
AGG_CODES = {
    "sum": AGG_SUM,
    "mean": AGG_MEAN,
    "max": AGG_MAX,
    "min": AGG_MIN,
    "count": AGG_COUNT,
    "top_k": AGG_TOPK,
}

# Window kinds (windows[:, 0]) and modes (windows[:, 2]).
WIN_CAL, WIN_DUR, WIN_CNT, WIN_ALL = 0, 1, 2, 3
WIN_KIND_CODES = {"calendar": WIN_CAL, "duration": WIN_DUR, "count": WIN_CNT, "all": WIN_ALL}
MODE_EXPANDING, MODE_FULL, MODE_NEXT, MODE_TRAILING, MODE_LEADING = 0, 1, 2, 3, 4
MODE_CODES = {
    "expanding": MODE_EXPANDING,
    "full": MODE_FULL,
    "next": MODE_NEXT,
    "trailing": MODE_TRAILING,
    "leading": MODE_LEADING,
}

# What the kernel reports in err[0] when an input row is bad (err[1] = row, err[2] = value column).
ERR_NONE, ERR_UNSORTED, ERR_NONFINITE, ERR_MCC = 0, 1, 2, 3
