"""Where a batch's rows go: the padded layout of TransactionDataset's items, and the kernels that write the
payload features and padded per-row arrays into it. torch is imported inside functions only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from cardworld.dates import SECONDS_PER_DAY, SECONDS_PER_HOUR, civil_date
from cardworld.jit import kernel
from cardworld.sequences.batch import mark_padded, padded_buffer


@kernel
def row_features(
    time, amount, mcc, has_mcc, boff, stop, keep, width, delta, amt, mcc_out, hour, weekday, dom, month
) -> None:
    """Features of the kept rows of each item u: the last keep[u] before stop[u] of its rows boff[u]:...

    Written in padded layout: item u's j-th kept row goes to u * width + j; the rest of its width is 0.
    """
    for u in range(boff.size - 1):
        first, end = boff[u], stop[u]
        o = u * width
        last_day = np.int64(-(2**62))
        wd = d = m = np.int64(0)
        for i in range(end - keep[u], end):
            t = time[i]
            # Seconds since the previous transaction of the full history (0 only for the user's first).
            delta[o] = 0.0 if i == first else np.float32(t - time[i - 1])
            amt[o] = amount[i]
            if has_mcc:
                mcc_out[o] = mcc[i]
            day = t // SECONDS_PER_DAY
            hour[o] = (t - day * SECONDS_PER_DAY) // SECONDS_PER_HOUR
            if day != last_day:  # civil date once per day
                last_day = day
                wd = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
                _, m, d = civil_date(day)
            weekday[o] = wd
            dom[o] = d
            month[o] = m
            o += 1
        for o in range(u * width + keep[u], (u + 1) * width):  # padding
            delta[o] = 0.0
            amt[o] = 0.0
            if has_mcc:
                mcc_out[o] = 0
            hour[o] = weekday[o] = dom[o] = month[o] = 0


@kernel
def pad_rows(src, stop, keep, width, out) -> None:
    """out[u * width + j] = src row j of item u's kept rows (the last keep[u] before stop[u]); zeros after."""
    for u in range(stop.size):
        o = u * width
        for i in range(stop[u] - keep[u], stop[u]):
            out[o, :] = src[i, :]
            o += 1
        out[o : (u + 1) * width, :] = 0


@kernel
def cut_rows(time, offsets, pos, cut, out) -> None:
    """out[i] = the first row of user pos[i] at or after time cut[i] (its rows end there if none is)."""
    for i in range(pos.size):
        lo, hi = offsets[pos[i]], offsets[pos[i] + 1]
        out[i] = lo + np.searchsorted(time[lo:hi], cut[i])


def kept_rows(stop: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The flat rows stop[u]-keep[u] .. stop[u]-1 of every item, ascending."""
    first = np.repeat(stop - keep, keep)
    return first + (np.arange(int(keep.sum()), dtype=np.int64) - np.repeat(np.cumsum(keep) - keep, keep))


class Layout(NamedTuple):
    """Where a batch's rows go: item u's rows boff[u]:boff[u+1] (its full history), of which the last
    keep[u] before stop[u] are kept and written to row u of a (B, width) buffer, zero-padded."""

    boff: np.ndarray
    stop: np.ndarray
    keep: np.ndarray
    width: int
    whole: bool  # every user keeps all its rows and none is padded
    shared: bool  # in a DataLoader worker: write straight into shared memory

    @property
    def b(self) -> int:
        return int(self.keep.size)


class Rows(NamedTuple):
    """The concatenated full-history rows of a batch's users."""

    time: np.ndarray
    amount: np.ndarray
    mcc: np.ndarray | None
    extra: dict[str, np.ndarray]  # source column -> values


def item_positions(indices: Sequence[int], n: int, what: str = "user") -> np.ndarray:
    """Item positions 0..n-1 (negative indices count from the end)."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx[(idx < -n) | (idx >= n)][0])
        raise IndexError(f"{what} index {bad} is out of range for a dataset of {n} {what}s")
    return np.where(idx < 0, idx + n, idx)


def gatherer(s: np.ndarray, e: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function concatenating rows s[i]:e[i] of a column over the batch."""
    if (s[1:] == e[:-1]).all():  # consecutive users (sequential sampler): views, no copy
        return lambda x: x[s[0] : e[-1]]
    bounds = list(zip(s.tolist(), e.tolist(), strict=True))
    return lambda x: np.concatenate([x[lo:hi] for lo, hi in bounds])


def pad_matrix(values: np.ndarray, lay: Layout) -> Any:
    """(B, width, k) float32 tensor of per-row values (n_rows, k) of the full histories, kept rows only."""
    import torch

    b, k = lay.b, values.shape[1]
    if lay.whole and not lay.shared:  # no padding, no truncation: already in padded layout, no copy
        return mark_padded(torch.from_numpy(values.reshape(b, lay.width, k)))
    out = padded_buffer((b, lay.width, k), torch.float32, lay.shared)
    pad_rows(values, lay.stop, lay.keep, lay.width, out.numpy().reshape(b * lay.width, k))
    return out
