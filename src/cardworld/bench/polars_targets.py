"""The targets benchmark's Polars comparison: the same targets written as idiomatic Polars expressions.

Every spec of the language (all aggs, windows, modes, periods, filters, fill, threshold, value columns,
hidden and mixed targets) has a Polars form, exact to the contract including tied timestamps. The specs
become expressions over one frame (user_id, timestamp in int64 seconds, amount, mcc, sorted by user_id
then timestamp), collected as ONE lazy query. Polars' common-subexpression elimination does not reach
inside window (`over`) expressions, so shared work is staged explicitly: per-row inputs (masks, calendar
buckets, sequence keys), then each distinct window aggregate once, then the outputs.
x is the value masked to null by the filter (`pl.when(mask).then(amount)`); aggregations skip nulls, an
empty max/min is null (then `fill_null(fill)`), a count is the window sum of `x.is_not_null()`.
Row-preserving windows run per user with `over("user_id", mapping_strategy="explode")`: the rows are
checked sorted by user, so the exploded group order is the row order, without the default's scatter.

How the windows are written:

- all: `x.cum_sum().over(user)` / `x.sum().over(user)`.
- calendar full: `x.sum().over([user, bucket])`; periods > 1 `rolling_sum_by(bucket, "<p>i")` on integer
  bucket ids that are consecutive per calendar period (an empty month still counts as a period).
- calendar next: the by-value window (b, b + p] ahead, as a trailing window on the reversed rows and
  negated keys: `x.reverse().rolling_sum_by(-bucket.reverse(), "<p>i", closed="left").reverse()`.
- calendar expanding and duration windows: Polars' by-value windows take every row with the same key, but
  the contract is by index (j <= i) when timestamps tie. Rolling by a sequence key `key * m + row number`
  (m above any row distance) makes keys unique and keeps the exact boundary: the window of d * m units is
  {j <= i : key_j > key_i - d}; leading windows are (k_i, k_i + (d + 1) m - 1] on the reversed rows.
  This is also faster than `cum_sum().over([user, day])`, whose many small groups are costly.
- count windows: `rolling_sum(N, min_samples=1)`, leading ones on the reversed rows shifted by one.
- top_k: `x.drop_nulls().top_k(k)` per group (`over(..., mapping_strategy="join")`) for full windows; a
  running top-k in k passes of `cum_max` (see `_cum_topk`) for prefix windows ('all' expanding, one
  calendar period expanding), where `cumulative_eval` would be quadratic; else the generic
  `Expr.rolling(key, period=..., offset=...)`, which runs top_k on each row's window (rows x window work).
  k = 1 is a max. Mixed targets: arithmetic on the Float32 outputs they refer to.

Timing: `POLARS_MAX_THREADS=1 python -m cardworld.bench.polars_targets [users] [txns]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from cardworld.bench.suites import SUITE_1, SUITE_20
from cardworld.dates import SECONDS_PER_DAY, CalendarUnit
from cardworld.errors import InputError
from cardworld.sample import SampleData, make_sample_data
from cardworld.targets.spec import (
    AnySpec,
    MixedTarget,
    TargetSpec,
    check_spec_set,
    output_names,
    parse_window,
    spec_name,
    spec_output_names,
)

if TYPE_CHECKING:  # polars is an optional dependency: imported inside the functions
    import polars as pl

USER, TIME = "user_id", "timestamp"
FRAME_COLUMNS = (USER, TIME, "amount", "mcc")
_MAX_KEY = 2**62  # sequence keys and their window bounds stay below this (int64)


def polars_support(spec: AnySpec) -> str | None:
    """None if `spec` can be written as Polars expressions, else a short reason why not.

    Every TargetSpec and MixedTarget of the spec language can (the module docstring says how); the
    costliest forms are top_k over rolling windows, which `Expr.rolling` evaluates window by window.
    """
    if not isinstance(spec, TargetSpec | MixedTarget):
        return f"not a target spec ({type(spec).__name__}): pass TargetSpec or MixedTarget objects"
    return None


def bench_frame(data: SampleData) -> pl.DataFrame:
    """The benchmark arrays as a Polars frame (zero-copy through Arrow for the contiguous numeric arrays).

    user_id is flagged sorted (checked here): `over(user_id)` then groups by slices instead of hashing.
    """
    import polars as pl
    import pyarrow as pa

    uid = np.ascontiguousarray(data.user_id)
    if uid.size > 1 and (np.diff(uid) < 0).any():
        i = int(np.flatnonzero(np.diff(uid) < 0)[0]) + 1
        raise InputError(
            f"user_id[{i}] = {uid[i]} < user_id[{i - 1}]; rows must be grouped by ascending user"
        )
    table = pa.table(
        {
            USER: pa.array(uid),
            TIME: pa.array(np.ascontiguousarray(data.time, dtype=np.int64)),
            "amount": pa.array(np.ascontiguousarray(data.amount, dtype=np.float64)),
            "mcc": pa.array(np.ascontiguousarray(data.mcc)),
        }
    )
    return pl.DataFrame(table).with_columns(pl.col(USER).set_sorted())


def polars_targets(specs: Sequence[AnySpec], frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The specs' outputs as one Float32 column each (in input row order) and their names.

    `frame` has columns user_id, timestamp (int64 seconds), amount, mcc (plus any `value` column the
    specs use), sorted by user_id then timestamp. Every spec is supported (see `polars_support`).
    """
    specs = list(specs)
    check_spec_set(specs)
    _check_frame(frame, specs)
    b = _Builder(_tie_scale(frame, specs))
    final: dict[str, pl.Expr] = {}  # output name -> final Float32 expression (hidden ones too)
    for s in specs:
        if isinstance(s, TargetSpec):
            for name, e in zip(spec_output_names(s), b.target(s), strict=True):
                final[name] = _finish(e, s.threshold)
    mixed = [s for s in specs if isinstance(s, MixedTarget)]
    while mixed:  # dependency order: a mixed target waits until everything it refers to is built
        ready = [m for m in mixed if all(r in final for r in m.references())]
        for m in ready:
            final[spec_name(m)] = _finish(_mixed(m, final), m.threshold)
        mixed = [m for m in mixed if m not in ready]
    names = output_names(specs)
    out = b.query(frame, {n: final[n] for n in names}).collect()
    return out, names


def _check_frame(frame: pl.DataFrame, specs: Sequence[AnySpec]) -> None:
    import polars as pl

    need = [*FRAME_COLUMNS, *(s.value for s in specs if isinstance(s, TargetSpec))]
    missing = [c for c in dict.fromkeys(need) if c not in frame.columns]
    if missing:
        raise InputError(
            f"frame lacks column {missing[0]!r} (has {frame.columns}); build it with bench_frame() or add it"
        )
    if frame.schema[TIME] != pl.Int64:
        raise InputError(f"frame column {TIME!r} is {frame.schema[TIME]}; pass int64 seconds since 1970")
    # Order matters (cumulative and reversed windows follow row order): sorted by (user, time).
    bad = frame.select(
        ((pl.col(USER).diff() < 0) | ((pl.col(USER).diff() == 0) & (pl.col(TIME).diff() < 0)))
        .arg_true()
        .first()
    ).item()
    if bad is not None:
        raise InputError(f"frame row {bad} is out of order; sort by ({USER}, {TIME}) first")


def _tie_scale(frame: pl.DataFrame, specs: Sequence[AnySpec]) -> int:
    """The sequence keys' scale m (> any row distance within a user), checked to keep keys in int64."""
    m = max(frame.height, 1)
    span = max(
        [
            parse_window(s.window)[1]
            for s in specs
            if isinstance(s, TargetSpec) and s.window_kind == "duration"
        ],
        default=0,
    )
    t_abs = int(frame[TIME].abs().max() or 0)
    if (t_abs + span + 2) * m >= _MAX_KEY:
        raise InputError(
            f"timestamps up to {t_abs} s with {m} rows overflow the int64 sequence keys; "
            "split the frame into fewer rows (by user) per call"
        )
    return m


def _finish(e: pl.Expr, threshold: float | None) -> pl.Expr:
    import polars as pl

    if threshold is not None:
        e = (e > threshold).cast(pl.Float64)
    return e.cast(pl.Float32)  # the output dtype; mixed targets read these rounded values, like the kernel


def _mixed(m: MixedTarget, final: dict[str, pl.Expr]) -> pl.Expr:
    import polars as pl

    def lin(terms: dict[str, float]) -> pl.Expr:
        return pl.sum_horizontal([c * final[r].cast(pl.Float64) for r, c in terms.items()])

    num = lin(m.terms)
    if m.divide_by is None:
        return num
    den = lin(m.divide_by)
    return pl.when(den != 0.0).then(num / den).otherwise(m.fill)


class _Builder:
    """Builds the query in three projections, sharing work explicitly by key.

    Stage 1 holds per-row inputs (masked values, calendar buckets, sequence keys), stage 2 the window
    aggregates (one per distinct op/channel/window: a mean and a count over the same window share the
    count; `over` groups are cached within the stage), stage 3 the outputs (fill, mean = sum / count,
    top_k list items, thresholds, mixed targets).
    `m`, the sequence keys' tie-break scale, exceeds every row distance (the frame height will do).
    """

    def __init__(self, m: int) -> None:
        import polars as pl

        self.pl = pl
        self.m = m
        self.user = pl.col(USER)
        self.time = pl.col(TIME)
        self.inputs: dict[tuple, tuple[str, pl.Expr, int]] = {}  # key -> (column, expression, level)
        self.windows: dict[tuple, tuple[str, pl.Expr]] = {}

    def query(self, frame: pl.DataFrame, outputs: dict[str, pl.Expr]) -> pl.LazyFrame:
        pl = self.pl
        # user_id was checked sorted: the flag lets `over(user_id)` take contiguous slices, not hash.
        lf = frame.lazy().with_columns(pl.col(USER).set_sorted())
        for level in (0, 1):  # sequence keys (level 1) are built on buckets (level 0)
            stage1 = [e.alias(n) for n, e, lv in self.inputs.values() if lv == level]
            if stage1:
                lf = lf.with_columns(stage1)
        stage2 = [e.alias(n) for n, e in self.windows.values()]
        if stage2:
            lf = lf.with_columns(stage2)
        return lf.select([e.alias(n) for n, e in outputs.items()])

    def per_user(self, e: pl.Expr) -> pl.Expr:
        """A row-preserving expression per user. Rows are checked grouped by ascending user, so the
        "explode" strategy (results concatenated in group order) gives the input order, without the
        default strategy's scatter (3-4x faster for cum_sum on the benchmark frame)."""
        return e.over(self.user, mapping_strategy="explode")

    def _input(self, key: tuple, make, level: int = 0) -> pl.Expr:
        if key not in self.inputs:
            self.inputs[key] = (f"__cw_in{len(self.inputs)}", make(), level)
        return self.pl.col(self.inputs[key][0])

    def _window(self, key: tuple, make) -> pl.Expr:
        if key not in self.windows:
            self.windows[key] = (f"__cw_win{len(self.windows)}", make())
        return self.pl.col(self.windows[key][0])

    # ---- stage 1: per-row inputs ----------------------------------------------------------------
    def bucket(self, unit: int) -> pl.Expr:
        """Consecutive integer id per calendar period (day, ISO week, month, quarter, year)."""

        def make() -> pl.Expr:
            t = self.time
            dt = self.pl.from_epoch(t, time_unit="s")
            if unit == CalendarUnit.DAY:
                return t.floordiv(SECONDS_PER_DAY)
            if (
                unit == CalendarUnit.WEEK
            ):  # Polars' weeks start on Monday; the epoch day of a Monday is 4 mod 7
                return dt.dt.truncate("1w").dt.epoch("d").cast(self.pl.Int64).floordiv(7)
            if unit == CalendarUnit.MONTH:
                return dt.dt.year().cast(self.pl.Int64) * 12 + dt.dt.month() - 1
            if unit == CalendarUnit.QUARTER:
                return dt.dt.year().cast(self.pl.Int64) * 4 + dt.dt.quarter() - 1
            return dt.dt.year().cast(self.pl.Int64)

        return self._input(("bucket", unit), make)

    def seq(self, unit: int | None) -> pl.Expr:
        """key * m + row number for key = timestamp (unit None) or a calendar bucket: unique, increasing.

        A by-value window of d * m units on it holds exactly the rows j <= i with key_j > key_i - d: the
        row number breaks ties by index (the contract), yet never adds up to a whole key unit.
        """
        pl = self.pl
        key = self.time if unit is None else self.bucket(unit)
        return self._input(("seq", unit), lambda: key * self.m + pl.int_range(pl.len(), dtype=pl.Int64), 1)

    def channel(self, s: TargetSpec, what: str) -> pl.Expr:
        """The spec's value where its filter keeps the row: "x" null elsewhere, "x0" 0 elsewhere,
        "n" 1 where kept else 0 (counts are sums of it)."""
        pl = self.pl
        f = self._filter_key(s)

        def make() -> pl.Expr:
            conds = []
            if s.mcc is not None:
                conds.append(pl.col("mcc").is_in(s.mcc))
            if s.exclude_mcc is not None:
                conds.append(~pl.col("mcc").is_in(s.exclude_mcc))
            if s.amount_min is not None:
                conds.append(pl.col("amount") >= s.amount_min)
            if s.amount_max is not None:
                conds.append(pl.col("amount") <= s.amount_max)
            v = pl.col(s.value).cast(pl.Float64)
            x = pl.when(pl.all_horizontal(conds)).then(v) if conds else v
            return {"x": x, "x0": x.fill_null(0.0), "n": x.is_not_null().cast(pl.Int64)}[what]

        return self._input(("channel", what, f), make)

    # ---- stage 3: one spec's outputs ------------------------------------------------------------
    def target(self, s: TargetSpec) -> list[pl.Expr]:
        pl = self.pl
        if s.agg == "top_k" and s.k == 1:  # the largest value is the max
            return [self.window(s, "max", "x").fill_null(s.fill)]
        if s.agg == "top_k":
            top = self.topk(s)
            return [top.list.get(q, null_on_oob=True).fill_null(s.fill) for q in range(s.k or 1)]
        if s.agg in ("max", "min"):
            return [self.window(s, s.agg, "x").fill_null(s.fill)]
        count = self.window(s, "sum", "n")
        if s.agg == "count":
            return [count.cast(pl.Float64)]
        total = self.window(s, "sum", "x0")
        if s.agg == "mean":
            return [pl.when(count > 0).then(total / count).otherwise(s.fill)]
        if s.fill == 0.0:  # an empty sum is already 0: no count needed
            return [total]
        return [pl.when(count > 0).then(total).otherwise(s.fill)]

    # ---- stage 2: window aggregates -------------------------------------------------------------
    def window(self, s: TargetSpec, op: str, what: str) -> pl.Expr:
        """Aggregate `op` (sum, max, min) of a channel over the spec's window; max/min null when empty."""
        e = self.channel(s, what)
        kind, param = parse_window(s.window)
        u, m, per_user = self.user, self.m, self.per_user

        def make() -> pl.Expr:
            if kind == "all":
                return per_user(_cum(e, op)) if s.mode == "expanding" else _agg(e, op).over(u)
            if kind == "count":
                if s.mode == "trailing":
                    return per_user(_roll(e, op, param))
                return per_user(_roll(_shift(e.reverse(), op), op, param).reverse())
            if kind == "duration":
                if s.mode == "trailing":
                    return per_user(_roll_by(e, op, self.seq(None), param * m))
                # (k_i, k_i + (d + 1) m - 1] is j > i with t_j <= t_i + d
                return per_user(_lead_by(e, op, self.seq(None), (param + 1) * m - 1))
            b, p = self.bucket(param), s.periods
            if s.mode == "expanding":
                return per_user(_roll_by(e, op, self.seq(param), p * m))
            if s.mode == "next":  # by value on bucket ids: whole buckets b+1 .. b+p
                return per_user(_lead_by(e, op, b, p))
            return _agg(e, op).over([u, b]) if p == 1 else per_user(_roll_by(e, op, b, p))

        return self._window((op, what, self._filter_key(s), s.window, s.mode, s.periods), make)

    def topk(self, s: TargetSpec) -> pl.Expr:
        """The k largest kept values of the window, largest first, as a list (null or short when few).

        Full windows aggregate per group, prefix windows (all, or one calendar period) use the running
        form `_cum_topk`; the others the generic `Expr.rolling`, which runs top_k on every row's window
        (rows x window work, where the kernel updates a register).
        """
        pl = self.pl
        x = self.channel(s, "x")
        kind, param = parse_window(s.window)
        u, m, per_user = self.user, self.m, self.per_user
        top = x.drop_nulls().top_k(s.k or 1).sort(descending=True)

        def make() -> pl.Expr:
            if kind == "all":
                if s.mode == "expanding":
                    return per_user(_cum_topk(x, s.k or 1))
                return top.over(u, mapping_strategy="join")
            if kind == "count":
                idx = pl.int_range(pl.len(), dtype=pl.Int64)
                offset = None if s.mode == "trailing" else "0i"
                return per_user(top.rolling(idx, period=f"{param}i", offset=offset))
            if kind == "duration":
                if s.mode == "trailing":
                    return per_user(top.rolling(self.seq(None), period=f"{param * m}i"))
                lead = f"{(param + 1) * m - 1}i"
                return per_user(top.rolling(self.seq(None), period=lead, offset="0i"))
            b, p = self.bucket(param), s.periods
            if s.mode == "expanding" and p == 1:
                return _cum_topk(x, s.k or 1).over([u, b])
            if s.mode == "expanding":
                return per_user(top.rolling(self.seq(param), period=f"{p * m}i"))
            if s.mode == "next":
                return per_user(top.rolling(b, period=f"{p}i", offset="0i"))
            if p == 1:
                return top.over([u, b], mapping_strategy="join")
            return per_user(top.rolling(b, period=f"{p}i"))

        return self._window(("top", s.k, self._filter_key(s), s.window, s.mode, s.periods), make)

    @staticmethod
    def _filter_key(s: TargetSpec) -> tuple:
        return (
            s.value,
            s.mcc and tuple(s.mcc),
            s.exclude_mcc and tuple(s.exclude_mcc),
            s.amount_min,
            s.amount_max,
        )


# ---- window building blocks (op is sum, max or min) ------------------------------------------------
def _agg(e: pl.Expr, op: str) -> pl.Expr:
    return getattr(e, op)()


def _cum(e: pl.Expr, op: str) -> pl.Expr:
    """Running aggregate; cum_max/cum_min leave nulls at null rows, so carry the last value over them."""
    return e.cum_sum() if op == "sum" else getattr(e, f"cum_{op}")().forward_fill()


def _roll_by(e: pl.Expr, op: str, by: pl.Expr, size: int, closed: str = "right") -> pl.Expr:
    """By-value window (by - size, by] (per `closed`); an empty sum is 0, an empty max/min null."""
    fn = getattr(e, f"rolling_{op}_by")
    return fn(by, window_size=f"{size}i", closed=closed, min_samples=0 if op == "sum" else 1)


def _lead_by(e: pl.Expr, op: str, by: pl.Expr, size: int) -> pl.Expr:
    """By-value window (by, by + size]: a trailing window [-by - size, -by) on the reversed rows."""
    return _roll_by(e.reverse(), op, (-by).reverse(), size, "left").reverse()


def _roll(e: pl.Expr, op: str, n: int) -> pl.Expr:
    """The last n rows (fewer at the start)."""
    return getattr(e, f"rolling_{op}")(n, min_samples=1)


def _cum_topk(x: pl.Expr, k: int) -> pl.Expr:
    """Running top-k of a prefix in k vectorised passes (x null where filtered out).

    The q-th largest of x_0..x_i is max over j <= i of min(x_j, (q-1)-th largest of x_0..x_{j-1}):
    taking j as the latest of the q largest reaches it; and for any j, x_j and the q-1 larger-or-equal
    earlier values are q values >= that min, so it cannot exceed the q-th largest.
    """
    import polars as pl

    tops = [x.cum_max().forward_fill()]
    for _ in range(1, k):
        prev = tops[-1].shift(1)
        cand = pl.when(x.is_not_null() & prev.is_not_null()).then(pl.min_horizontal(x, prev))
        tops.append(cand.cum_max().forward_fill())
    return pl.concat_list(tops)


def _shift(e: pl.Expr, op: str) -> pl.Expr:
    """Down one row; a sum channel fills the vacated row with 0 so that its windows stay defined."""
    return e.shift(1, fill_value=0) if op == "sum" else e.shift(1)


def measure(users: int = 2000, txns: int = 4096, repeat: int = 3) -> dict[str, float]:
    """Best-of-`repeat` seconds of polars_targets for SUITE_1 and the supported part of SUITE_20 on
    make_sample_data(users, txns); building the frame is excluded. Set POLARS_MAX_THREADS before polars
    is first imported to pin its thread pool (the `__main__` entry point sets 1)."""
    import time

    import polars as pl

    frame = bench_frame(make_sample_data(users, txns))
    result: dict[str, float] = {"threads": float(pl.thread_pool_size()), "rows": float(frame.height)}
    for label, suite in (("suite1", SUITE_1), ("suite20", SUITE_20)):
        supported = [s for s in suite if polars_support(s) is None]
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            polars_targets(supported, frame)
            best = min(best, time.perf_counter() - t0)
        result[label] = best
        result[f"{label}_outputs"] = float(sum(s.n_outputs for s in supported))
    return result


if __name__ == "__main__":
    import os
    import sys

    os.environ.setdefault("POLARS_MAX_THREADS", "1")  # before polars is imported (measure imports it)
    args = [int(a) for a in sys.argv[1:3]]
    for key, value in measure(*args).items():
        print(f"{key}: {value:g}")
