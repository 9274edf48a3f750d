"""Accumulators for streamed figures: what a pass over the transactions keeps between batches.

Memory follows what is counted, never the rows: distinct values (cent amounts, merchants), boxes of
integer coordinates (users x cards x years, months, MCCs, states) and a few counters. Every update is a
handful of numpy passes over a batch (bincount on int64 keys), with no per-row Python.

    grid = Grid((None, 24), {"rows": np.int64})     # axis 0 grows (user ids), axis 1 is 0..23
    grid.add((user, hour))                           # one per point; add(..., cents=w) sums weights
    TransactionAccumulator(card_types).add(batch)    # every count the realism report needs
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.codes import USE_CHIP
from cardworld.dates import SECONDS_PER_DAY, SECONDS_PER_HOUR
from cardworld.errors import InputError
from cardworld.jit import kernel

#: A card type the cards table does not give (the last index of the card-type axis).
UNKNOWN_TYPE = 3
_EPOCH = dt.date(1970, 1, 1)
# Cent amounts counted densely (a bincount over the batch's range); the rest go to a Histogram.
_DENSE_CENTS = (-(1 << 20), 1 << 22)  # -$10,485.76 .. $41,943.04


class Histogram:
    """Distinct values and their counts, merged shard after shard: memory grows with the distinct values
    (cent amounts: at most a few million), never with the rows. Merges are batched, so each value is
    re-sorted a few times only."""

    def __init__(self) -> None:
        self._values, self._counts = np.zeros(0), np.zeros(0, np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0

    def add(self, x: np.ndarray) -> None:
        values, counts = np.unique(x, return_counts=True)
        self.add_counts(values, counts)

    def add_counts(self, values: np.ndarray, counts: np.ndarray) -> None:
        """Add distinct `values` seen `counts` times each."""
        self._pending.append((values, counts))
        self._pending_size += values.size
        if self._pending_size > max(1 << 20, 2 * self._values.size):
            self._merge()

    def _merge(self) -> None:
        if self._pending:
            values = np.concatenate([self._values, *(v for v, _ in self._pending)])
            counts = np.concatenate([self._counts, *(c for _, c in self._pending)])
            self._values, inverse = np.unique(values, return_inverse=True)
            self._counts = np.bincount(inverse, weights=counts, minlength=self._values.size).astype(np.int64)
            self._pending, self._pending_size = [], 0

    def values_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted distinct values, their counts)."""
        self._merge()
        return self._values, self._counts


def quantile(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """np.quantile(rows, q) (linear method) of the rows a histogram counts (sorted distinct values)."""
    ends = np.cumsum(counts)
    h = (int(ends[-1]) - 1) * q
    lo = int(np.floor(h))
    a = values[np.searchsorted(ends, lo, "right")]
    b = values[np.searchsorted(ends, min(lo + 1, int(ends[-1]) - 1), "right")]
    return float(a + (h - lo) * (b - a))


def mean_sd(n: float, s: float, s2: float) -> tuple[float | None, float | None]:
    """Mean and sample sd in dollars from a count and sums of cents and squared cents."""
    n = float(n)
    if not n:
        return None, None
    if n < 2:
        return float(s) / (100 * n), None
    var = max(float(s2) - float(s) * float(s) / n, 0.0) / (n - 1)
    return float(s) / (100 * n), float(np.sqrt(var)) / 100


class CentHistogram:
    """The distinct amounts and their counts: whole-cent amounts in a dense window of cents (a grid over
    the cents the batches span, at most _DENSE_CENTS), anything else (fractions of a cent, huge amounts)
    in a Histogram."""

    def __init__(self) -> None:
        self.dense = Grid((None,), {"rows": np.int64})
        self._other = Histogram()

    def cover(self, amount: np.ndarray) -> Grid:
        """The dense grid, grown to the cents of `amount` inside the window."""
        lo, hi = _DENSE_CENTS
        a, b = float(np.rint(amount.min() * 100)), float(np.rint(amount.max() * 100))
        self.dense.cover([int(min(max(a, lo), hi - 1))], [int(min(max(b, lo), hi - 1)) + 1])
        return self.dense

    def add(self, amount: np.ndarray, cents: np.ndarray, whole: np.ndarray) -> None:
        """Count `amount` (dollars); `cents` is rint(amount x 100) and `whole` marks the rows where that
        is exact."""
        lo, hi = _DENSE_CENTS
        dense = whole & (cents >= lo) & (cents < hi)
        self.dense.add((cents[dense].astype(np.int64),), rows=None)
        if not dense.all():
            self.add_other(amount[~dense])

    def add_other(self, amount: np.ndarray) -> None:
        """Count amounts (dollars) outside the dense window."""
        self._other.add(amount)

    def values_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted distinct amounts in dollars, their counts)."""
        counts = self.dense.arrays["rows"]
        seen = np.flatnonzero(counts)
        values = (seen + self.dense.lo[0]) / 100
        other_values, other_counts = self._other.values_counts()
        if other_values.size == 0:
            return values, counts[seen]
        merged = Histogram()
        merged.add_counts(values, counts[seen])
        merged.add_counts(other_values, other_counts)
        return merged.values_counts()


class DistinctValues:
    """The distinct integers seen (merchant ids): each batch's are found by hashing (pyarrow), then
    merged with the others by sorting now and then."""

    def __init__(self) -> None:
        self._values = np.zeros(0, np.int64)
        self._pending: list[np.ndarray] = []
        self._pending_size = 0

    def add(self, values: pa.Array) -> None:
        distinct = pc.unique(values).to_numpy(zero_copy_only=False)
        self._pending.append(distinct)
        self._pending_size += distinct.size
        if self._pending_size > max(1 << 20, 2 * self._values.size):
            self._merge()

    def _merge(self) -> None:
        if self._pending:
            values = np.sort(np.concatenate([self._values, *self._pending]))
            first = np.ones(values.size, np.bool_)
            first[1:] = values[1:] != values[:-1]
            self._values = values[first]  # np.sort + a mask: several times faster than np.unique here
            self._pending, self._pending_size = [], 0

    def count(self) -> int:
        self._merge()
        return int(self._values.size)

    def values(self) -> np.ndarray:
        """The distinct values, ascending."""
        self._merge()
        return self._values


class Grid:
    """Named dense arrays over a box of integer coordinates. An axis of size None grows to hold every
    point added (with slack, so a stream that grows it batch after batch copies it a few times only);
    an axis of fixed size n holds 0..n-1. Memory follows the box, never the rows."""

    def __init__(self, sizes: Sequence[int | None], dtypes: Mapping[str, type]) -> None:
        self.sizes = tuple(sizes)
        self.lo = [0] * len(self.sizes)
        self.shape = tuple(s or 0 for s in self.sizes)
        self.arrays = {name: np.zeros(self.shape, dtype) for name, dtype in dtypes.items()}

    def add(self, coords: Sequence[np.ndarray], **weights: np.ndarray | None) -> None:
        """At the points (coords[0][i], coords[1][i], ...), add 1 to the array of each name given None
        and weights[name][i] to the others. Coordinates are int64 arrays of equal length."""
        if coords[0].size == 0:
            return
        lo, hi = [], []
        for c, size in zip(coords, self.sizes, strict=True):
            lo.append(0 if size is not None else int(c.min()))
            hi.append(size if size is not None else int(c.max()) + 1)
        self.cover(lo, hi)
        box = [h - low for low, h in zip(lo, hi, strict=True)]
        key = coords[0] - lo[0] if lo[0] else coords[0]
        for c, low, width in zip(coords[1:], lo[1:], box[1:], strict=True):
            key = key * width + (c - low if low else c)
        where = tuple(slice(low - o, h - o) for low, h, o in zip(lo, hi, self.lo, strict=True))
        cells = math.prod(box)
        for name, w in weights.items():
            self.arrays[name][where] += np.bincount(key, weights=w, minlength=cells).reshape(box)

    def cover(self, lo: Sequence[int], hi: Sequence[int]) -> None:
        """Grow the growable axes to hold the box [lo, hi) (an axis that grows gets half its size again as
        slack); fixed axes are left as they are."""
        new_lo, new_hi = list(self.lo), [o + s for o, s in zip(self.lo, self.shape, strict=True)]
        for a, size in enumerate(self.sizes):
            if size is not None:
                continue
            if self.shape[a] == 0:
                new_lo[a], new_hi[a] = lo[a], hi[a]
                continue
            slack = max(self.shape[a] // 2, 1)
            if lo[a] < new_lo[a]:
                new_lo[a] = min(lo[a], new_lo[a] - slack)
            if hi[a] > new_hi[a]:
                new_hi[a] = max(hi[a], new_hi[a] + slack)
        if new_lo == self.lo and [h - low for low, h in zip(new_lo, new_hi, strict=True)] == list(self.shape):
            return
        shape = tuple(h - low for low, h in zip(new_lo, new_hi, strict=True))
        where = tuple(slice(o - n, o - n + s) for o, n, s in zip(self.lo, new_lo, self.shape, strict=True))
        for name, old in self.arrays.items():
            grown = np.zeros(shape, old.dtype)
            grown[where] = old
            self.arrays[name] = grown
        self.lo, self.shape = new_lo, shape

    def span(self, name: str, axis: int, lo: int, hi: int) -> np.ndarray:
        """Array `name` with `axis` cut (or zero-padded) to exactly the coordinates lo..hi-1."""
        arr = self.arrays[name]
        shape = list(arr.shape)
        shape[axis] = hi - lo
        out = np.zeros(shape, arr.dtype)
        a, b = max(lo, self.lo[axis]), min(hi, self.lo[axis] + arr.shape[axis])
        if a < b:
            src = [slice(None)] * arr.ndim
            dst = [slice(None)] * arr.ndim
            src[axis], dst[axis] = slice(a - self.lo[axis], b - self.lo[axis]), slice(a - lo, b - lo)
            out[tuple(dst)] = arr[tuple(src)]
        return out

    def coordinates(self, axis: int) -> np.ndarray:
        """The coordinates of `axis`, ascending."""
        return np.arange(self.lo[axis], self.lo[axis] + self.shape[axis])


class Vocabulary:
    """Strings of dictionary columns -> stable ids 0, 1, ... in order of first sight."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def indices(self, column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Each row's dictionary index (int64; nulls: the dictionary's length) and the lookup from
        those indices to 1 + the string's id (0 for null)."""
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        texts = column.dictionary.to_pylist()
        lut = np.array([1 + self.ids.setdefault(s, len(self.ids)) for s in texts] + [0], np.int64)
        indices = column.indices
        if indices.null_count:
            indices = indices.fill_null(len(texts))
        return np.asarray(indices.to_numpy(zero_copy_only=False), np.int64), lut

    def strings(self) -> list[str]:
        """The strings, by id."""
        return list(self.ids)


class CardTypes:
    """Each row's card type from (user_id, card_index) -> CardType code: a dense lookup over the ids the
    cards table spans; UNKNOWN_TYPE outside it."""

    def __init__(self, user: np.ndarray, card: np.ndarray, code: np.ndarray) -> None:
        self.u0 = int(user.min()) if user.size else 0
        self.c0 = int(card.min()) if card.size else 0
        shape = (int(user.max()) - self.u0 + 1, int(card.max()) - self.c0 + 1) if user.size else (0, 0)
        self.table = np.full(shape, UNKNOWN_TYPE, np.int64)
        self.table[user - self.u0, card - self.c0] = code

    def __call__(self, user: np.ndarray, card: np.ndarray) -> np.ndarray:
        u, c = user - self.u0, card - self.c0
        nu, nc = self.table.shape
        if u.size and u.min() >= 0 and u.max() < nu and c.min() >= 0 and c.max() < nc:
            return self.table[u, c]
        out = np.full(user.size, UNKNOWN_TYPE, np.int64)
        ok = (u >= 0) & (u < nu) & (c >= 0) & (c < nc)
        out[ok] = self.table[u[ok], c[ok]]
        return out


class TransactionAccumulator:
    """Every count the realism report takes from the transactions, batch after batch (whatever the
    batching: a user's rows may span batches). Grids, each with one array "sums" whose last axis holds
    (rows, cents[, cents squared]), or "rows" (see measures for how they become figures):

    cube           (year, channel, fraud, refund, error, card type, 3): sums
    user_card_year (user, card, year, 2): sums;  user_year_fraud (user, year, 2): sums of fraud rows
    mcc (mcc, fraud, 2) / state (1 + Vocabulary id, 0 for null; fraud; 2): sums
    user_hour (user, hour) / week_hour (weekday, hour, fraud) / month (month, fraud): rows
    errors (1 + Vocabulary id, 0 for null): rows;  amounts / fraud_amounts: CentHistogram
    fraud_cards: the distinct (month, user, card) of fraud rows, as month << 47 | user << 16 | card (the
    fraud episodes of each month: label health counts them, fraud rows come in bursts per card)
    Months are 12 x year + month - 1; cents are exact for whole-cent amounts (integers summed in
    float64, exact to 2^53, so sums do not depend on the batching), amount x 100 otherwise.
    """

    def __init__(self, card_types: CardTypes | None) -> None:
        self.card_types = card_types or CardTypes(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        self.rows = 0
        self.first_day: int | None = None
        self.last_day: int | None = None
        sums = {"sums": np.float64}
        self.cube = Grid((None, 3, 2, 2, 2, 4, 3), sums)
        self.user_card_year = Grid((None, None, None, 2), sums)
        self.user_year_fraud = Grid((None, None, 2), sums)
        self.mcc = Grid((None, 2, 2), sums)
        self.state = Grid((None, 2, 2), sums)
        self.user_hour = Grid((None, 24), {"rows": np.int32})
        self.week_hour = Grid((7, 24, 2), {"rows": np.int64})
        self.month = Grid((None, 2), {"rows": np.int64})
        self.errors = Grid((None,), {"rows": np.int64})
        self.states, self.error_texts = Vocabulary(), Vocabulary()
        self.amounts, self.fraud_amounts = CentHistogram(), CentHistogram()
        self.merchants = DistinctValues()
        self.fraud_cards = DistinctValues()

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Count a batch with the transactions contract columns (at least user_id, card_id, timestamp,
        amount, use_chip, merchant_id, merchant_state, mcc, errors, is_fraud)."""
        for part in batch.to_batches() if isinstance(batch, pa.Table) else [batch]:
            if part.num_rows:
                self._add(part)

    def _add(self, b: pa.RecordBatch) -> None:
        self.rows += b.num_rows
        user, card, mcc = _ints(b, "user_id"), _ints(b, "card_id"), _ints(b, "mcc")
        fraud = np.asarray(_column(b, "is_fraud").to_numpy(zero_copy_only=False), np.bool_)
        amount = np.asarray(_column(b, "amount").to_numpy(zero_copy_only=False), np.float64)
        if not np.isfinite(amount).all():
            i = int(np.flatnonzero(~np.isfinite(amount))[0])
            raise InputError(
                f"transactions column 'amount' is {amount[i]} at row {i} of a batch; amounts must be finite"
            )
        t, per_second = _seconds(_column(b, "timestamp"))
        channel, channel_lut = _channels(_column(b, "use_chip"))
        state, state_lut = self.states.indices(_column(b, "merchant_state"))
        error, error_lut = self.error_texts.indices(_column(b, "errors"))
        d0, d1 = int(t.min()) // per_second // SECONDS_PER_DAY, int(t.max()) // per_second // SECONDS_PER_DAY
        self.first_day, self.last_day = _min(self.first_day, d0), _max(self.last_day, d1)
        month_of_day = _months_of_days(d0, d1)
        (m0, m1), (u0, u1), (c0, c1) = _range(month_of_day), _range(user), _range(card)
        y0, y1 = m0 // 12, (m1 - 1) // 12 + 1
        (mcc0, mcc1), fixed = _range(mcc), [0] * 6
        boxes = {
            self.cube: ([y0, *fixed], [y1, *fixed]),
            self.user_card_year: ([u0, c0, y0, 0], [u1, c1, y1, 0]),
            self.user_year_fraud: ([u0, y0, 0], [u1, y1, 0]),
            self.mcc: ([mcc0, 0, 0], [mcc1, 0, 0]),
            self.user_hour: ([u0, 0], [u1, 0]),
            self.month: ([m0, 0], [m1, 0]),
        }
        for grid, (lo, hi) in boxes.items():
            grid.cover(lo, hi)
        self.state.cover([0, 0, 0], [len(self.states.ids) + 1, 0, 0])
        self.errors.cover([0], [len(self.error_texts.ids) + 1])
        dense = self.amounts.cover(amount)
        cut = np.zeros(amount.size, np.bool_)  # rows the kernel leaves to the sparse histogram
        _count(
            user, card, mcc, t, per_second, amount, fraud, channel, channel_lut, state, state_lut,
            error, error_lut, month_of_day, d0, self.card_types.table, self.card_types.u0, self.card_types.c0,
            *(next(iter(g.arrays.values())) for g in boxes), *(np.array(g.lo, np.int64) for g in boxes),
            self.week_hour.arrays["rows"], self.state.arrays["sums"], self.errors.arrays["rows"],
            dense.arrays["rows"], dense.lo[0], cut,
        )  # fmt: skip
        if cut.any():
            self.amounts.add_other(amount[cut])
        if fraud.any():
            cents = np.rint(amount[fraud] * 100)
            self.fraud_amounts.add(amount[fraud], cents, cents / 100 == amount[fraud])
            months = month_of_day[t[fraud] // (per_second * SECONDS_PER_DAY) - d0]
            self.fraud_cards.add(pa.array((months << 47) | (user[fraud] << 16) | card[fraud]))
        self.merchants.add(_column(b, "merchant_id"))

    def first_last(self) -> tuple[dt.date, dt.date] | None:
        """The first and last dates with a row (None without rows)."""
        if self.first_day is None or self.last_day is None:
            return None
        return _EPOCH + dt.timedelta(days=self.first_day), _EPOCH + dt.timedelta(days=self.last_day)


@kernel
def _count(
    user, card, mcc, t, per_second, amount, fraud, channel, channel_lut, state, state_lut, error, error_lut,
    month_of_day, d0, type_table, tu0, tc0,
    cube, ucy, uyf, mcc_sums, user_hour, month, cube_lo, ucy_lo, uyf_lo, mcc_lo, uh_lo, month_lo,
    week_hour, state_sums, error_rows, cent_rows, cent_lo, cut,
):  # fmt: skip
    """One pass over a batch's rows into every grid of TransactionAccumulator (which cover the batch
    already; each *_lo is its grid's lower corner). Rows whose amount is not a whole cent inside the
    dense window of cents are marked in `cut`."""
    nu, nc = type_table.shape
    day_ticks, hour_ticks = SECONDS_PER_DAY * per_second, SECONDS_PER_HOUR * per_second
    day, day_start, day_end, m = 0, 0, 0, 0
    for i in range(user.size):
        ti = t[i]
        if not day_start <= ti < day_end:  # a new day: rows come mostly in time order
            day = ti // day_ticks
            day_start, day_end = day * day_ticks, (day + 1) * day_ticks
            m = month_of_day[day - d0]
        hour = (ti - day_start) // hour_ticks
        y = m // 12
        f = 1 if fraud[i] else 0
        a = amount[i]
        c = np.rint(a * 100)
        whole = c / 100 == a
        x = c if whole else a * 100
        e = error_lut[error[i]]
        u, k = user[i], card[i]
        kind = UNKNOWN_TYPE
        if 0 <= u - tu0 < nu and 0 <= k - tc0 < nc:
            kind = type_table[u - tu0, k - tc0]
        cell = cube[y - cube_lo[0], channel_lut[channel[i]], f, 1 if a < 0 else 0, 1 if e else 0, kind]
        cell[0] += 1
        cell[1] += x
        cell[2] += x * x
        cell = ucy[u - ucy_lo[0], k - ucy_lo[1], y - ucy_lo[2]]
        cell[0] += 1
        cell[1] += x
        if f:
            cell = uyf[u - uyf_lo[0], y - uyf_lo[1]]
            cell[0] += 1
            cell[1] += x
        cell = mcc_sums[mcc[i] - mcc_lo[0], f]
        cell[0] += 1
        cell[1] += x
        cell = state_sums[state_lut[state[i]], f]
        cell[0] += 1
        cell[1] += x
        user_hour[u - uh_lo[0], hour] += 1
        week_hour[(day + 3) % 7, hour, f] += 1  # 1970-01-01 was a Thursday
        month[m - month_lo[0], f] += 1
        error_rows[e] += 1
        j = np.int64(c) - cent_lo
        if whole and 0 <= j < cent_rows.size:
            cent_rows[j] += 1
        else:
            cut[i] = True


def _column(b: pa.RecordBatch, name: str) -> pa.Array:
    try:
        column = b.column(name)
    except KeyError:
        raise InputError(
            f"the transactions have no column {name!r} (their columns: {', '.join(b.schema.names)})"
        ) from None
    if column.null_count and name not in ("merchant_state", "errors"):
        raise InputError(f"transactions column {name!r} has {column.null_count} null(s); it must have none")
    return column


def _ints(b: pa.RecordBatch, name: str) -> np.ndarray:
    return np.asarray(_column(b, name).to_numpy(zero_copy_only=False), np.int64)


def _range(x: np.ndarray) -> tuple[int, int]:
    """[min, max + 1) of an integer array."""
    return int(x.min()), int(x.max()) + 1


def _seconds(column: pa.Array) -> tuple[np.ndarray, int]:
    """Naive wall-clock timestamps as int64 in their unit, and that unit's ticks per second."""
    if not pa.types.is_timestamp(column.type):
        raise InputError(f"transactions column 'timestamp' has type {column.type}; it must be a timestamp")
    per_second = {"s": 1, "ms": 1000, "us": 10**6, "ns": 10**9}[column.type.unit]
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64), per_second


def _months_of_days(d0: int, d1: int) -> np.ndarray:
    """Month index (12 x year + month - 1) of each day d0..d1 (days since 1970)."""
    days = np.arange(d0, d1 + 1).astype("datetime64[D]")
    return days.astype("datetime64[M]").astype(np.int64) + 1970 * 12


def _channels(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary indices of use_chip and their channel codes (codes.Channel)."""
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    texts = column.dictionary.to_pylist()
    if unknown := [t for t in texts if t not in USE_CHIP]:
        raise InputError(
            f"transactions column 'use_chip' holds {unknown[0]!r}; "
            f"its values must be one of {', '.join(USE_CHIP)}"
        )
    lut = np.array([USE_CHIP.index(t) for t in texts] or [0], np.int64)
    return np.asarray(column.indices.to_numpy(zero_copy_only=False), np.int64), lut


def _min(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def _max(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


__all__ = [
    "UNKNOWN_TYPE",
    "CardTypes",
    "CentHistogram",
    "DistinctValues",
    "Grid",
    "Histogram",
    "TransactionAccumulator",
    "Vocabulary",
    "mean_sd",
    "quantile",
]
