"""Sparse targets: which rows of each item's kept sequence get targets (TransactionDataset(target_positions=)).

    rule = parse_positions("every:16")                       # or "period_end:month", "random:64", a callable
    pos = batch_positions(rule, time, boff, stop, keep, ...)  # one batch: flat rows for compute_targets_batch(at=)

Positions index the item's kept rows (after max_len truncation and a samples cut), 0 = its first kept row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from cardworld.errors import InputError
from cardworld.rng import Stream, stream
from cardworld.targets import period_end_mask
from cardworld.targets.spec import CALENDAR_UNITS

PERIOD_END, EVERY, RANDOM, CALLABLE = "period_end", "every", "random", "callable"
_FORMS = (
    "'period_end:<unit>' (unit one of " + ", ".join(CALENDAR_UNITS) + "), 'every:<N>' (N >= 1), "
    "'random:<K>' (K >= 1), a callable f(time, length) -> row indices, or None for targets at every row"
)
_MASK = (1 << 64) - 1  # spawn keys are unsigned: ids are taken modulo 2**64 (a negative id stays distinct)


class PositionRule(NamedTuple):
    """A parsed target_positions: kind, its number (every: step, random: K, period_end: the unit's name
    in `unit`) and the callable."""

    kind: str
    n: int = 0
    unit: str = ""
    fn: Callable[[np.ndarray, int], Any] | None = None


class Positions(NamedTuple):
    """One batch's positions: `at` the flat rows of the batch's full histories (strictly increasing, for
    compute_targets_batch(at=)), `rel` the same rows as positions in their item's kept sequence, and
    `counts` how many each item has (item u's are rel[poff[u]:poff[u+1]], poff the cumsum)."""

    at: np.ndarray
    rel: np.ndarray
    counts: np.ndarray


def _bad(spec: Any, why: str = "") -> InputError:
    return InputError(f"target_positions is {spec!r}{why}; pass {_FORMS}")


def parse_positions(spec: Any) -> PositionRule | None:
    """The rule of a target_positions argument (None: dense targets); one InputError for every bad form."""
    if spec is None:
        return None
    if callable(spec):
        return PositionRule(CALLABLE, fn=spec)
    if not isinstance(spec, str):
        raise _bad(spec, f" (a {type(spec).__name__})")
    kind, sep, arg = spec.strip().lower().partition(":")
    kind, arg = kind.strip(), arg.strip()
    if not sep or kind not in (PERIOD_END, EVERY, RANDOM):
        raise _bad(spec)
    if kind == PERIOD_END:
        if arg not in CALENDAR_UNITS:
            raise _bad(spec, f": {arg!r} is not a calendar unit")
        return PositionRule(PERIOD_END, unit=arg)
    if not arg.isdigit() or int(arg) < 1:  # isdigit: no sign, no "1.5", no "1e3"
        raise _bad(spec, f": {arg!r} is not a positive whole number")
    return PositionRule(kind, n=int(arg))


def check_seed(name: str, value: Any) -> int:
    """A non-negative int (numpy ints too; not bool), for positions_seed and epoch."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(f"{name} is {value!r}; pass a non-negative whole number")
    return int(value)


def batch_positions(
    rule: PositionRule,
    time: np.ndarray,
    boff: np.ndarray,
    stop: np.ndarray,
    keep: np.ndarray,
    *,
    seed: int,
    epoch: int,
    keys: Sequence[tuple[int, ...]],
    names: Callable[[int], str],
) -> Positions:
    """Positions of every item of a batch (see _Layout in dataset.py for boff, stop, keep).

    keys[u]: the ids that seed item u's random positions (user id, plus obs_day for a sample);
    names(u): how an error message names item u."""
    start = stop - keep  # first kept row of each item, flat
    if rule.kind == PERIOD_END:
        return _period_ends(rule.unit, time, boff, start, stop)
    if rule.kind == EVERY:
        counts = (keep + rule.n - 1) // rule.n
        rel = _every_from_end(keep, counts, rule.n)
    elif rule.kind == RANDOM:
        rel_list = [_random_rows(int(n), rule.n, seed, epoch, keys[u]) for u, n in enumerate(keep.tolist())]
        rel, counts = _concat(rel_list)
    else:
        assert rule.fn is not None
        rel_list = [
            _called(rule.fn, time[a:e], e - a, names, u)
            for u, (a, e) in enumerate(zip(start.tolist(), stop.tolist(), strict=True))
        ]
        rel, counts = _concat(rel_list)
    at = rel + np.repeat(start, counts)
    return Positions(at, rel, counts)


def _concat(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    counts = np.array([p.size for p in parts], dtype=np.int64)
    rel = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return rel.astype(np.int64, copy=False), counts


def _every_from_end(keep: np.ndarray, counts: np.ndarray, step: int) -> np.ndarray:
    """Rows keep-1, keep-1-step, ... >= 0 of each item, ascending: the last kept row is always one."""
    total = int(counts.sum())
    first = np.repeat(np.cumsum(counts) - counts, counts)
    j = np.arange(total, dtype=np.int64) - first  # 0.. within the item
    return np.repeat(keep - 1, counts) - step * (np.repeat(counts, counts) - 1 - j)


def _period_ends(
    unit: str, time: np.ndarray, boff: np.ndarray, start: np.ndarray, stop: np.ndarray
) -> Positions:
    """Kept rows that end a calendar period of the user's FULL history (rows after a samples cut count),
    so at every position the period is complete ('full' and 'expanding' windows agree)."""
    rows = np.flatnonzero(period_end_mask(time, unit, boff))
    item = np.searchsorted(boff, rows, side="right") - 1  # empty items share a bound: this is the holder
    kept = (rows >= start[item]) & (rows < stop[item])
    at, item = rows[kept].astype(np.int64), item[kept]
    counts = np.bincount(item, minlength=start.size).astype(np.int64)
    return Positions(at, at - start[item], counts)


def _random_rows(n: int, k: int, seed: int, epoch: int, key: tuple[int, ...]) -> np.ndarray:
    """k distinct rows of 0..n-1, ascending (all of them when n <= k), from the item's own stream."""
    if n <= k:
        return np.arange(n, dtype=np.int64)
    ids = [epoch, *(int(x) & _MASK for x in key)]
    rng = stream(seed, Stream.TARGET_POSITIONS, *ids)
    return np.sort(rng.choice(n, size=k, replace=False, shuffle=False)).astype(np.int64)


def _called(
    fn: Callable[[np.ndarray, int], Any], time: np.ndarray, n: int, names: Callable[[int], str], u: int
) -> np.ndarray:
    """The callable's rows for one item, checked (integers, in 0..n-1, distinct) and sorted."""
    view = time.view()
    view.flags.writeable = False  # the batch's own rows: a callable must not change them
    got = fn(view, n)
    rows = np.asarray(got)
    where = f"target_positions callable for {names(u)} (length {n})"
    if rows.size == 0 and rows.ndim <= 1:
        return np.zeros(0, dtype=np.int64)
    if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
        hint = " (a boolean mask? pass np.flatnonzero(mask))" if rows.dtype == np.bool_ else ""
        raise InputError(
            f"the {where} returned {rows.dtype} of shape {rows.shape}{hint}; return a 1-D array of integer "
            "row indices"
        )
    rows = np.sort(rows.astype(np.int64))
    if rows[0] < 0 or rows[-1] >= n:
        bad = int(rows[0] if rows[0] < 0 else rows[-1])
        raise InputError(
            f"the {where} returned row {bad}, outside 0..{n - 1}; return rows of the kept sequence"
        )
    dup = np.flatnonzero(rows[1:] == rows[:-1])
    if dup.size:
        raise InputError(
            f"the {where} returned row {int(rows[dup[0]])} twice; return distinct rows (np.unique dedupes)"
        )
    return rows


__all__ = ["PositionRule", "Positions", "batch_positions", "check_seed", "parse_positions"]
