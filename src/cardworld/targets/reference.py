"""The naive reference: the target contract (docs/design.md, "Targets") run literally, one transaction at a time.

For each user and each transaction i this builds the window W(i) from the contract table, filters it with
numpy boolean masks and aggregates it (sums with math.fsum). Calendar buckets come from Python's `datetime`,
not from the fast path's arithmetic, so the two implementations share nothing but the spec model. It is the
oracle of the parity tests and the "baseline" of the benchmark; it is O(n * window) and slow on purpose.

    y = reference_targets(specs, time=t, amount=a, mcc=m)   # same contract as compute_targets
    end = reference_period_end_mask(t, "week")              # same contract as period_end_mask
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

from cardworld.dates import SECONDS_PER_DAY
from cardworld.errors import InputError
from cardworld.targets.plan import TargetPlan
from cardworld.targets.spec import (
    CALENDAR_UNITS,
    AnySpec,
    MixedTarget,
    TargetSpec,
    as_spec_list,
    check_spec_set,
    parse_window,
    spec_output_names,
    topo_order,
)

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


# --- inputs ---


def _specs_of(specs: AnySpec | Sequence[AnySpec] | TargetPlan) -> list[AnySpec]:
    if isinstance(specs, TargetPlan):
        # A plan keeps the validated specs as JSON; rebuild them rather than read its numeric arrays.
        spec_list: list[AnySpec] = []
        for kind, data in json.loads(specs.specs_json):
            spec_list.append(MixedTarget(**data) if kind == "MixedTarget" else TargetSpec(**data))
    else:
        spec_list = as_spec_list(specs)
    check_spec_set(spec_list)
    return spec_list


def _seconds(time: np.ndarray) -> np.ndarray:
    """int64 seconds since 1970-01-01 (naive wall clock), floored, from int64 seconds or datetime64."""
    t = np.asarray(time)
    if t.ndim != 1:
        raise InputError(f"time must be 1-D, got shape {t.shape}")
    if np.issubdtype(t.dtype, np.datetime64):
        nat = np.isnat(t)
        if nat.any():
            raise InputError(f"time[{int(np.argmax(nat))}] is NaT; drop rows without a timestamp first")
        return t.astype("datetime64[s]").astype(np.int64)  # numpy floors sub-second parts
    if not np.issubdtype(t.dtype, np.integer):
        raise InputError(f"time must be int64 seconds or datetime64, got dtype {t.dtype}")
    return t.astype(np.int64)


def _check_sorted(t: np.ndarray, start: int = 0, user: int = 0) -> None:
    bad = np.flatnonzero(t[1:] < t[:-1])
    if bad.size:
        r = int(bad[0]) + 1
        raise InputError(
            f"time is not sorted within a user: time[{start + r}] = {t[r]} < time[{start + r - 1}] = "
            f"{t[r - 1]} (user {user}, its row {r}); sort each user's rows by time"
        )


def _column(name: str, x: np.ndarray | None, n: int) -> np.ndarray:
    if x is None:
        raise InputError(f"column {name!r} is needed by a spec but was not given; pass it in columns=")
    a = np.asarray(x, dtype=np.float64)
    if a.shape != (n,):
        raise InputError(f"{name} has shape {a.shape}, expected ({n},) like time")
    return a


# --- calendar ---


def _bucket(seconds: int, unit: str) -> int:
    """Index of the calendar period holding `seconds`; consecutive periods have consecutive indices."""
    day = dt.date.fromordinal(_EPOCH_ORDINAL + seconds // SECONDS_PER_DAY)
    if unit == "day":
        return day.toordinal()
    if unit == "week":
        # ISO weeks start on Monday; the Monday's ordinal names the week, even across New Year.
        # Ordinal 1 (0001-01-01) is a Monday, so Monday ordinals are 1 mod 7 and // 7 counts weeks.
        return (day.toordinal() - day.weekday()) // 7
    if unit == "month":
        return day.year * 12 + day.month - 1
    if unit == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    if unit == "year":
        return day.year
    raise AssertionError(unit)


# --- one spec, one user ---


def _window(kind: str, param: int, mode: str, periods: int, i: int, t: np.ndarray, b: np.ndarray | None):
    """W(i) as a half-open row range [lo, hi) of the sorted rows; the contract table, case by case."""
    n = t.shape[0]
    if kind == "calendar":
        assert b is not None
        if mode == "expanding":  # j <= i, B(i) - periods < B(j) <= B(i)
            return int(np.searchsorted(b, b[i] - periods, side="right")), i + 1
        if mode == "full":  # B(i) - periods < B(j) <= B(i)
            lo = int(np.searchsorted(b, b[i] - periods, side="right"))
            return lo, int(np.searchsorted(b, b[i], side="right"))
        # next: B(i) < B(j) <= B(i) + periods
        return int(np.searchsorted(b, b[i], side="right")), int(
            np.searchsorted(b, b[i] + periods, side="right")
        )
    if kind == "duration":
        if mode == "trailing":  # j <= i, t_j > t_i - d
            return int(np.searchsorted(t, t[i] - param, side="right")), i + 1
        # leading: j > i, t_j <= t_i + d
        return i + 1, max(i + 1, int(np.searchsorted(t, t[i] + param, side="right")))
    if kind == "count":
        if mode == "trailing":  # i - N < j <= i
            return max(0, i - param + 1), i + 1
        return i + 1, min(n, i + param + 1)  # leading: i < j <= i + N
    # all
    return 0, (i + 1 if mode == "expanding" else n)


def _target(
    spec: TargetSpec, t: np.ndarray, amount: np.ndarray, mcc: np.ndarray | None, value: np.ndarray
) -> np.ndarray:
    """(n, n_outputs) float64 values of one TargetSpec for one user, threshold applied."""
    n = t.shape[0]
    kind, param = parse_window(spec.window)
    b = None
    if kind == "calendar":
        unit = CALENDAR_UNITS[param]
        b = np.array([_bucket(int(s), unit) for s in t], dtype=np.int64)
    k = spec.n_outputs
    out = np.full((n, k), spec.fill, dtype=np.float64)

    # The filter does not depend on i: one boolean mask over the user's rows.
    keep = np.ones(n, dtype=bool)
    if spec.mcc is not None:
        assert mcc is not None
        keep &= np.isin(mcc, spec.mcc)
    if spec.exclude_mcc is not None:
        assert mcc is not None
        keep &= ~np.isin(mcc, spec.exclude_mcc)
    if spec.amount_min is not None:
        keep &= amount >= spec.amount_min
    if spec.amount_max is not None:
        keep &= amount <= spec.amount_max

    for i in range(n):
        lo, hi = _window(kind, param, str(spec.mode), spec.periods, i, t, b)
        vals = value[lo:hi][keep[lo:hi]]
        if spec.agg == "count":
            out[i, 0] = float(vals.size)  # an empty window counts 0, whatever the fill
            continue
        if vals.size == 0:
            continue  # fill, already there
        if spec.agg == "sum":
            out[i, 0] = math.fsum(vals.tolist())
        elif spec.agg == "mean":
            out[i, 0] = math.fsum(vals.tolist()) / vals.size
        elif spec.agg == "max":
            out[i, 0] = float(vals.max())
        elif spec.agg == "min":
            out[i, 0] = float(vals.min())
        else:  # top_k: largest first; missing ones keep the fill
            top = np.sort(vals)[::-1][:k]
            out[i, : top.size] = top
    if spec.threshold is not None:
        out = np.where(out > spec.threshold, 1.0, 0.0)
    return out


def _mixed(spec: MixedTarget, by_name: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    # IEEE results (inf on overflow, nan from inf - inf) are the contract's values, not errors.
    with np.errstate(over="ignore", invalid="ignore"):
        return _mixed_values(spec, by_name, n)


def _mixed_values(spec: MixedTarget, by_name: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    num = np.zeros(n, dtype=np.float64)
    for name, coef in spec.terms.items():
        num += coef * by_name[name]
    if spec.divide_by is None:
        out = num
    else:
        den = np.zeros(n, dtype=np.float64)
        for name, coef in spec.divide_by.items():
            den += coef * by_name[name]
        zero = den == 0.0
        out = np.where(zero, spec.fill, num / np.where(zero, 1.0, den))
    if spec.threshold is not None:
        out = np.where(out > spec.threshold, 1.0, 0.0)
    return out


def _one_user(
    specs: list[AnySpec],
    t: np.ndarray,
    amount: np.ndarray,
    mcc: np.ndarray | None,
    columns: Mapping[str, np.ndarray],
) -> np.ndarray:
    n = t.shape[0]
    by_name: dict[str, np.ndarray] = {}  # every output name, hidden ones included -> float64 (n,)
    for s in specs:
        if isinstance(s, TargetSpec):
            value = amount if s.value == "amount" else columns[s.value]
            vals = _target(s, t, amount, mcc, value)
            for j, name in enumerate(spec_output_names(s)):
                by_name[name] = vals[:, j]
    for idx in topo_order(specs):
        s = specs[idx]
        assert isinstance(s, MixedTarget)
        by_name[s.name] = _mixed(s, by_name, n)
    cols = [by_name[name] for s in specs if s.output for name in spec_output_names(s)]
    with np.errstate(over="ignore"):  # beyond float32 range is inf, as a float32 store would give
        return np.stack(cols, axis=1).astype(np.float32)


# --- public ---


def reference_targets_batch(
    specs: AnySpec | Sequence[AnySpec] | TargetPlan,
    *,
    time: np.ndarray,
    amount: np.ndarray,
    mcc: np.ndarray | None = None,
    offsets: np.ndarray,
    columns: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Naive `compute_targets_batch`: user u is rows offsets[u]:offsets[u+1], each sorted by time."""
    spec_list = _specs_of(specs)
    t = _seconds(time)
    n = t.shape[0]
    a = _column("amount", amount, n)
    targets = [s for s in spec_list if isinstance(s, TargetSpec)]
    needs_mcc = any(s.mcc is not None or s.exclude_mcc is not None for s in targets)
    m = None
    if needs_mcc:
        if mcc is None:
            raise InputError("a spec filters on mcc (mcc or exclude_mcc) but no mcc array was given")
        m = np.asarray(mcc)
        if m.shape != (n,):
            raise InputError(f"mcc has shape {m.shape}, expected ({n},) like time")
    cols: dict[str, np.ndarray] = {}
    for s in targets:
        if s.value != "amount" and s.value not in cols:
            cols[s.value] = _column(s.value, (columns or {}).get(s.value), n)

    off = np.asarray(offsets)
    if off.ndim != 1 or off.size < 1 or not np.issubdtype(off.dtype, np.integer):
        raise InputError(f"offsets must be a 1-D integer array of user bounds, got {off.dtype} {off.shape}")
    if off[0] != 0 or off[-1] != n or (np.diff(off) < 0).any():
        raise InputError(f"offsets must start at 0, never decrease and end at {n} (the number of rows)")

    names = [name for s in spec_list if s.output for name in spec_output_names(s)]
    out = np.zeros((n, len(names)), dtype=np.float32)
    for u in range(off.size - 1):
        lo, hi = int(off[u]), int(off[u + 1])
        _check_sorted(t[lo:hi], lo, u)
        out[lo:hi] = _one_user(
            spec_list,
            t[lo:hi],
            a[lo:hi],
            None if m is None else m[lo:hi],
            {c: v[lo:hi] for c, v in cols.items()},
        )
    return out


def reference_period_end_mask(time: np.ndarray, window: str, offsets: np.ndarray | None = None) -> np.ndarray:
    """Naive `period_end_mask`: row i ends its period when it is its user's last row or the next row's
    calendar period (from `datetime`) differs."""
    unit = str(window).strip().lower()
    if unit not in CALENDAR_UNITS:
        raise InputError(f"period_end_mask window {window!r} must be one of {', '.join(CALENDAR_UNITS)}")
    t = _seconds(time)
    off = np.array([0, t.size]) if offsets is None else np.asarray(offsets)
    out = np.zeros(t.size, dtype=bool)
    for u in range(off.size - 1):
        lo, hi = int(off[u]), int(off[u + 1])
        for i in range(lo, hi):
            out[i] = i == hi - 1 or _bucket(int(t[i + 1]), unit) != _bucket(int(t[i]), unit)
    return out


def reference_targets(
    specs: AnySpec | Sequence[AnySpec] | TargetPlan,
    *,
    time: np.ndarray,
    amount: np.ndarray,
    mcc: np.ndarray | None = None,
    columns: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Naive `compute_targets`: one user's transactions, sorted by time -> float32 (n, n_outputs)."""
    n = _seconds(time).shape[0]
    return reference_targets_batch(
        specs, time=time, amount=amount, mcc=mcc, offsets=np.array([0, n], dtype=np.int64), columns=columns
    )
