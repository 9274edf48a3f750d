"""Public entry points of the fast path: validate and convert inputs, allocate, call the kernel."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cardworld.dates import SECONDS_PER_DAY, calendar_buckets
from cardworld.errors import InputError
from cardworld.targets.kernel_codes import ERR_NONE, ERR_NONFINITE, ERR_UNSORTED
from cardworld.targets.kernel_prep import period_end_kernel
from cardworld.targets.kernels import targets_kernel
from cardworld.targets.plan import TargetPlan, compile_plan
from cardworld.targets.spec import CALENDAR_UNITS, AnySpec

# Timestamps beyond this many seconds from 1970 (about year 9999) are surely not seconds.
MAX_ABS_SECONDS = 253_402_300_800
_MCC_DTYPES = (np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.int64))


def as_seconds(time: np.ndarray, name: str = "time", check_range: bool = True) -> np.ndarray:
    """int64 seconds of naive wall-clock time, from int64 seconds or any numpy datetime64.

    check_range=False leaves the plausibility check to the caller (compute_targets_batch checks each
    user's first and last rows, which bound the rest once the kernel has checked the order)."""
    t = np.asarray(time)
    if t.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {t.shape}")
    if np.issubdtype(t.dtype, np.datetime64):
        if t.size and np.isnat(t).any():
            i = int(np.flatnonzero(np.isnat(t))[0])
            raise InputError(f"{name}[{i}] is NaT; drop rows without a timestamp first")
        return t.astype("datetime64[s]").view(np.int64)
    if not np.issubdtype(t.dtype, np.integer):
        raise InputError(
            f"{name} has dtype {t.dtype}; pass int64 seconds since 1970-01-01 or numpy datetime64 values"
        )
    t = np.ascontiguousarray(t, dtype=np.int64)
    if check_range and t.size and (t.min() < -MAX_ABS_SECONDS or t.max() > MAX_ABS_SECONDS):
        _implausible(t, np.flatnonzero(np.abs(t) > MAX_ABS_SECONDS), name)
    return t


def _implausible(t: np.ndarray, rows: np.ndarray, name: str = "time") -> None:
    i = int(rows[0])
    raise InputError(
        f"{name}[{i}] = {t[i]} is not a plausible number of seconds (beyond year 9999); "
        "pass seconds, or datetime64 values (e.g. datetime64[ns]) which are converted"
    )


def _check_time_range(t: np.ndarray, off: np.ndarray) -> None:
    """Each user's first and last rows within +-MAX_ABS_SECONDS: O(users), not O(rows). A row beyond them
    inside a user is out of order, which the kernel reports."""
    ends = np.concatenate([off[:-1][np.diff(off) > 0], off[1:][np.diff(off) > 0] - 1])
    bad = ends[np.abs(t[ends]) > MAX_ABS_SECONDS]
    if bad.size:
        _implausible(t, np.sort(bad))


def _as_values(name: str, x: np.ndarray, n: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {x.shape}")
    if x.shape[0] != n:
        raise InputError(f"{name} has {x.shape[0]} rows but time has {n}; pass arrays of equal length")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise InputError(f"{name} has dtype {x.dtype}; pass numbers")
    return np.ascontiguousarray(x, dtype=np.float64)


def _as_mcc(mcc: np.ndarray | None, n: int, needed: bool) -> np.ndarray:
    if mcc is None:
        if needed:
            raise InputError("the specs filter on mcc but no mcc array was given; pass mcc=...")
        return np.zeros(1, dtype=np.int16)
    m = np.asarray(mcc)
    if m.ndim != 1:
        raise InputError(f"mcc must be one-dimensional, got shape {m.shape}")
    if m.shape[0] != n:
        raise InputError(f"mcc has {m.shape[0]} rows but time has {n}; pass arrays of equal length")
    if not np.issubdtype(m.dtype, np.integer):
        raise InputError(f"mcc has dtype {m.dtype}; pass integer merchant category codes")
    if m.dtype not in _MCC_DTYPES:
        m = m.astype(np.int32)
    return np.ascontiguousarray(m)


def check_offsets(offsets: np.ndarray, n: int) -> np.ndarray:
    off = np.asarray(offsets)
    if off.ndim != 1 or off.size < 1 or not np.issubdtype(off.dtype, np.integer):
        raise InputError("offsets must be a 1-D integer array of n_users + 1 row bounds, like [0, 3, 7]")
    off = np.ascontiguousarray(off, dtype=np.int64)
    if off[0] != 0:
        raise InputError(f"offsets[0] is {off[0]}; it must be 0 (user 0 starts at row 0)")
    if off[-1] != n:
        raise InputError(
            f"offsets[-1] is {off[-1]} but the arrays have {n} rows; the last bound must cover every row"
        )
    d = np.diff(off)
    if (d < 0).any():
        i = int(np.flatnonzero(d < 0)[0]) + 1
        raise InputError(
            f"offsets are not monotone: offsets[{i}] = {off[i]} < offsets[{i - 1}] = {off[i - 1]}; "
            "they must be non-decreasing row bounds"
        )
    return off


def _user_of(off: np.ndarray, row: int) -> int:
    return int(np.searchsorted(off, row, side="right") - 1)


def compute_targets_batch(
    specs: AnySpec | list[AnySpec] | TargetPlan,
    *,
    time: np.ndarray,
    amount: np.ndarray,
    mcc: np.ndarray | None = None,
    offsets: np.ndarray,
    columns: Mapping[str, np.ndarray] | None = None,
    at: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Targets of many users whose rows are concatenated; user u is rows offsets[u]:offsets[u+1].

    Each user's rows must be sorted by time. `columns` supplies value columns other than amount
    (for specs with `value: <column>`). Returns float32 of shape (n_rows, len(output_names(specs))).

    at: row indices (strictly increasing) where targets are wanted; then the result has one row per index,
    equal to the dense result's row at that index (windows still see every row; only the evaluation is
    sparse, and costs only what those rows need). out: a float32 C-contiguous array of the result's shape
    to write into and return (reuse one across calls: no page faults on fresh memory).
    """
    plan = compile_plan(specs)
    t = as_seconds(time, check_range=False)
    n = t.shape[0]
    off = check_offsets(offsets, n)
    _check_time_range(t, off)
    cols = {"amount": amount, **(columns or {})}
    missing = [c for c in plan.value_columns if c not in cols]
    if missing:
        raise InputError(f"value column {missing[0]!r} is used by a spec but not given; pass columns={{...}}")
    vals = [_as_values(c, cols[c], n) for c in plan.value_columns]
    values = vals[0].reshape(1, n) if len(vals) == 1 else np.stack(vals)
    m = _as_mcc(mcc, n, plan.uses_mcc)
    sparse = at is not None
    at_rel, at_off = _as_positions(at, off) if sparse else (_NO_ROWS, _NO_ROWS)
    n_out = at_rel.size if sparse else n
    out = _as_out(out, n_out, plan.n_outputs)
    err = np.zeros(3, dtype=np.int64)
    targets_kernel(
        t,
        values,
        m,
        off,
        plan.unit_used,
        plan.mcc_bits,
        plan.all_bits,
        plan.bounded,
        plan.bounds,
        plan.channels,
        plan.windows,
        plan.spec_int,
        plan.spec_float,
        plan.mix_int,
        plan.mix_float,
        plan.num_ptr,
        plan.num_col,
        plan.num_coef,
        plan.den_ptr,
        plan.den_col,
        plan.den_coef,
        plan.uses_mcc,
        sparse,
        at_rel,
        at_off,
        out,
        err,
    )
    if err[0] != ERR_NONE:
        _raise_input_error(err, t, values, m, off, plan)
    return out


_NO_ROWS = np.zeros(1, dtype=np.int64)


def _as_positions(at: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows relative to their user, per-user bounds into them) of strictly increasing flat row indices."""
    rows = np.asarray(at)
    if rows.ndim != 1 or not (np.issubdtype(rows.dtype, np.integer) or rows.size == 0):
        raise InputError(
            f"at must be a 1-D array of integer row indices, got {rows.dtype} of shape {rows.shape}"
        )
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    n = int(off[-1])
    if rows.size and (rows[0] < 0 or rows[-1] >= n):
        bad = int(rows[(rows < 0) | (rows >= n)][0])
        raise InputError(f"at holds row {bad}, outside 0..{n - 1}; pass row indices of the given arrays")
    step = np.diff(rows)
    if (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        raise InputError(
            f"at is not strictly increasing: at[{i}] = {rows[i]} after at[{i - 1}] = {rows[i - 1]}; "
            "pass sorted, distinct row indices (np.unique sorts and dedupes)"
        )
    at_off = np.searchsorted(rows, off, side="left").astype(np.int64)
    rel = rows - np.repeat(off[:-1], np.diff(at_off))
    return rel, at_off


def _as_out(out: np.ndarray | None, rows: int, cols: int) -> np.ndarray:
    if out is None:
        return np.empty((rows, cols), dtype=np.float32)
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != (rows, cols):
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise InputError(f"out is {got}; pass a float32 array of shape ({rows}, {cols}), or None")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise InputError(
            "out must be a writeable C-contiguous float32 array (e.g. np.empty(shape, np.float32))"
        )
    return out


def _raise_input_error(err, t, values, m, off, plan) -> None:
    code, row, col = (int(x) for x in err)
    user = _user_of(off, row)
    where = f"row {row} (user {user}, its row {row - off[user]})"
    if code == ERR_UNSORTED:
        raise InputError(
            f"time is not sorted within a user: time[{row}] = {t[row]} < time[{row - 1}] = {t[row - 1]} "
            f"at {where}; sort each user's rows by time"
        )
    if code == ERR_NONFINITE:
        name = plan.value_columns[col]
        raise InputError(f"{name}[{row}] is {values[col, row]} at {where}; drop or fill missing values first")
    raise InputError(f"mcc[{row}] = {m[row]} at {where} is outside 0..9999; MCCs are 4-digit codes")


def compute_targets(
    specs: AnySpec | list[AnySpec] | TargetPlan,
    *,
    time: np.ndarray,
    amount: np.ndarray,
    mcc: np.ndarray | None = None,
    columns: Mapping[str, np.ndarray] | None = None,
    at: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Targets of one user's transactions (sorted by time): float32 (n, len(output_names(specs))), or
    (len(at), ...) at the rows `at` only (see compute_targets_batch)."""
    n = np.asarray(time).shape[0] if np.ndim(time) == 1 else -1
    if n < 0:
        raise InputError(f"time must be one-dimensional, got shape {np.shape(time)}")
    return compute_targets_batch(
        specs,
        time=time,
        amount=amount,
        mcc=mcc,
        offsets=np.array([0, n], dtype=np.int64),
        columns=columns,
        at=at,
        out=out,
    )


def period_end_mask(time: np.ndarray, window: str, offsets: np.ndarray | None = None) -> np.ndarray:
    """True on the last transaction of each calendar period (per user when offsets are given).

    Use it to train only at period ends, where 'full' and 'expanding' windows coincide.
    """
    w = str(window).strip().lower()
    if w not in CALENDAR_UNITS:
        raise InputError(f"period_end_mask window {window!r} must be one of {', '.join(CALENDAR_UNITS)}")
    t = as_seconds(time)
    off = np.array([0, t.size], dtype=np.int64) if offsets is None else check_offsets(offsets, t.size)
    b = calendar_buckets(t, CALENDAR_UNITS.index(w))
    out = np.empty(t.size, dtype=np.bool_)
    period_end_kernel(b, off, out)
    return out


__all__ = [
    "SECONDS_PER_DAY",
    "as_seconds",
    "check_offsets",
    "compute_targets",
    "compute_targets_batch",
    "period_end_mask",
]
