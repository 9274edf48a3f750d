"""Hand-computed target cases. Each runs through the naive reference AND the fast path, and both must give the
numbers written here (worked out by hand from the contract table, not by running either implementation)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cardworld.errors import InputError
from cardworld.targets import (
    MixedTarget,
    TargetSpec,
    compile_plan,
    compute_targets,
    compute_targets_batch,
    output_names,
)
from cardworld.targets.reference import _bucket, reference_targets, reference_targets_batch


def ts(*stamps: str) -> np.ndarray:
    """int64 seconds of naive ISO timestamps."""
    return np.array([np.datetime64(s, "s").astype(np.int64) for s in stamps], dtype=np.int64)


def check(specs, expected, *, time, amount, mcc=None, columns=None) -> None:
    exp = np.asarray(expected, dtype=np.float64)
    if exp.ndim == 1:
        exp = exp[:, None]
    for impl in (reference_targets, compute_targets):
        got = impl(specs, time=time, amount=np.asarray(amount, dtype=np.float64), mcc=mcc, columns=columns)
        assert got.dtype == np.float32, impl.__name__
        assert got.shape == exp.shape, impl.__name__
        np.testing.assert_allclose(got, exp, rtol=1e-6, atol=1e-6, err_msg=impl.__name__)


# --- the seed's example: daily cumulative grocery spend ---

SEED_T = ts(
    "2024-03-01T09:00",
    "2024-03-01T12:00",
    "2024-03-01T18:00",
    "2024-03-02T08:00",
    "2024-03-02T09:00",
    "2024-03-04T10:00",
    "2024-03-04T11:00",
    "2024-03-04T23:59:59",
)
SEED_M = np.array([5411, 5812, 5411, 5411, 4829, 5812, 5411, 5411])
SEED_A = [10.0, 7.5, 2.25, 4.0, 100.0, 3.0, 1.5, 0.5]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # running sum of today's 5411 rows so far; 03-04 10:00 has none yet -> fill 0
        ("expanding", [10, 10, 12.25, 4, 4, 0, 1.5, 2.0]),
        ("full", [12.25, 12.25, 12.25, 4, 4, 2, 2, 2]),
        # tomorrow's total: 03-03 is empty, 03-05 too
        ("next", [4, 4, 4, 0, 0, 0, 0, 0]),
    ],
)
def test_seed_daily_grocery_sum(mode: str, expected: list[float]) -> None:
    spec = TargetSpec(agg="sum", mcc=[5411], window="day", mode=mode)
    check([spec], expected, time=SEED_T, amount=SEED_A, mcc=SEED_M)


# --- calendar buckets ---


def test_iso_week_spans_new_year() -> None:
    t = ts(
        "2020-12-27T23:59:59",  # Sunday: still the week of Mon 2020-12-21
        "2020-12-28T00:00",  # Monday: ISO week 2020-W53 starts
        "2020-12-30T12:00",  # Wednesday
        "2021-01-02T12:00",  # Saturday: same week as Wednesday
        "2021-01-03T23:00",  # Sunday: last day of 2020-W53
        "2021-01-04T00:00",  # Monday: 2021-W01
    )
    a = [32, 1, 2, 4, 8, 16]
    check([TargetSpec(agg="sum", window="week")], [32, 1, 3, 7, 15, 16], time=t, amount=a)
    check([TargetSpec(agg="sum", window="week", mode="full")], [32, 15, 15, 15, 15, 16], time=t, amount=a)
    check([TargetSpec(agg="count", window="week", mode="next")], [4, 1, 1, 1, 1, 0], time=t, amount=a)
    # the year, by contrast, does split at New Year
    check([TargetSpec(agg="sum", window="year")], [32, 33, 35, 4, 12, 28], time=t, amount=a)


def test_week_bucket_matches_isocalendar() -> None:
    # Two days share a bucket iff they share an ISO (year, week); buckets of consecutive weeks differ by one.
    day0 = dt.date(1999, 12, 1)
    prev = None
    for d in range(0, 12 * 366):
        day = day0 + dt.timedelta(days=d)
        secs = (day.toordinal() - dt.date(1970, 1, 1).toordinal()) * 86400 + 3600 * (d % 24)
        key = (_bucket(secs, "week"), day.isocalendar()[:2])
        if prev is not None:
            same_iso = key[1] == prev[1]
            assert (key[0] == prev[0]) == same_iso, day
            assert key[0] - prev[0] == (0 if same_iso else 1), day
        prev = key


def test_periods_two_looks_back_over_an_empty_month() -> None:
    t = ts("2021-01-15", "2021-01-31T23:59:59", "2021-03-01T00:00", "2021-03-20", "2021-04-30")
    a = [1, 2, 4, 8, 16]  # February has no rows
    exp = TargetSpec(agg="sum", window="month", periods=2)
    full = TargetSpec(agg="sum", window="month", mode="full", periods=2)
    nxt = TargetSpec(agg="sum", window="month", mode="next", periods=2, fill=-1)
    # March rows look back to February (empty), not to January
    check([exp], [1, 3, 4, 12, 28], time=t, amount=a)
    check([full], [3, 3, 12, 12, 28], time=t, amount=a)
    # January looks ahead to Feb + Mar; March to Apr + May; April to May + June (empty -> fill)
    check([nxt], [12, 12, 16, 16, -1], time=t, amount=a)


def test_quarter_and_year_boundaries() -> None:
    t = ts("2020-11-30", "2020-12-31T23:59:59", "2021-01-01T00:00", "2021-03-31T23:59:59", "2021-04-01T00:00")
    a = [1, 2, 4, 8, 16]
    check([TargetSpec(agg="sum", window="quarter")], [1, 3, 4, 12, 16], time=t, amount=a)
    check([TargetSpec(agg="sum", window="quarter", periods=2)], [1, 3, 7, 15, 28], time=t, amount=a)
    check([TargetSpec(agg="sum", window="quarter", mode="next")], [12, 12, 16, 16, 0], time=t, amount=a)
    check([TargetSpec(agg="sum", window="year", mode="full")], [3, 3, 28, 28, 28], time=t, amount=a)
    check(
        [TargetSpec(agg="max", window="year", mode="next", periods=3, fill=-5)],
        [16, 16, -5, -5, -5],
        time=t,
        amount=a,
    )


# --- duration and count windows ---

DUR_T = ts("2021-06-01T00:00", "2021-06-01T00:30", "2021-06-01T01:00", "2021-06-01T01:00", "2021-06-01T02:00")
DUR_A = [1, 2, 4, 8, 16]


def test_duration_trailing_excludes_the_exact_boundary() -> None:
    # {j <= i : t_j > t_i - 1h}: row 0 (00:00) is out of rows 2 and 3 (01:00); equal times split by index
    check([TargetSpec(agg="sum", window="1h")], [1, 3, 6, 14, 16], time=DUR_T, amount=DUR_A)
    check([TargetSpec(agg="count", window="60m")], [1, 2, 2, 3, 1], time=DUR_T, amount=DUR_A)


def test_duration_leading_includes_the_exact_boundary() -> None:
    # {j > i : t_j <= t_i + 1h}: row 2 sees row 3 (same time, later) and row 4 (exactly 1h later)
    check(
        [TargetSpec(agg="sum", window="1h", mode="leading", fill=-7)],
        [14, 12, 24, 16, -7],
        time=DUR_T,
        amount=DUR_A,
    )
    check(
        [TargetSpec(agg="count", window="3600s", mode="leading")], [3, 2, 2, 1, 0], time=DUR_T, amount=DUR_A
    )


def test_duration_window_over_many_rows_in_one_day() -> None:
    # 20 rows 5 minutes apart from 10:00, amount = row + 1. A 30-minute window holds the 5 rows before (or
    # after) a row: trailing {j <= i: t_j > t_i - 30m} = rows i-5..i, leading {j > i: t_j <= t_i + 30m} =
    # rows i+1..i+6. Late rows' trailing bound lies more than 8 rows into the day.
    t = np.datetime64("2021-06-01T10:00", "s").astype(np.int64) + 300 * np.arange(20)
    a = np.arange(1.0, 21.0)
    trail_lo = [max(0, i - 5) for i in range(20)]
    lead_hi = [min(19, i + 6) for i in range(20)]
    check(
        [TargetSpec(agg="count", window="30m")],
        [i - lo + 1 for i, lo in enumerate(trail_lo)],
        time=t,
        amount=a,
    )
    check([TargetSpec(agg="min", window="30m")], [lo + 1 for lo in trail_lo], time=t, amount=a)
    check(
        [TargetSpec(agg="max", window="30m", mode="leading", fill=-1)],
        [hi + 1 if hi > i else -1 for i, hi in enumerate(lead_hi)],
        time=t,
        amount=a,
    )
    check(
        [TargetSpec(agg="count", window="30m", mode="leading")],
        [hi - i for i, hi in enumerate(lead_hi)],
        time=t,
        amount=a,
    )


def test_count_windows_select_rows_then_filter() -> None:
    t = ts("2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04", "2021-01-05")
    a = [1, 2, 4, 8, 16]
    m = np.array([1, 2, 1, 1, 2])
    check([TargetSpec(agg="sum", window="3tx")], [1, 3, 7, 14, 28], time=t, amount=a)
    check(
        [TargetSpec(agg="sum", window="3tx", mode="leading", fill=-1)], [14, 28, 24, 16, -1], time=t, amount=a
    )
    # the last 3 rows, then keep MCC 1 (not the last 3 MCC-1 rows)
    check([TargetSpec(agg="sum", window="3tx", mcc=[1])], [1, 1, 5, 12, 12], time=t, amount=a, mcc=m)
    check(
        [TargetSpec(agg="count", window="1tx", mode="leading", mcc=[2])],
        [1, 0, 0, 1, 0],
        time=t,
        amount=a,
        mcc=m,
    )


def test_all_windows() -> None:
    t = ts("2021-01-01", "2022-05-01", "2023-09-09")
    a = [2, -1, 5]
    check([TargetSpec(agg="mean", window="all")], [2, 0.5, 2], time=t, amount=a)
    check([TargetSpec(agg="mean", window="all", mode="full")], [2, 2, 2], time=t, amount=a)
    check([TargetSpec(agg="min", window="all")], [2, -1, -1], time=t, amount=a)
    check([TargetSpec(agg="max", window="all", mode="full")], [5, 5, 5], time=t, amount=a)


# --- filters ---

FLT_T = ts("2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04", "2021-01-05")


def test_amount_bounds_are_inclusive() -> None:
    a = [5, 10, 15, 20, 25]
    check(
        [TargetSpec(agg="count", window="all", amount_min=10, amount_max=20)],
        [0, 1, 2, 3, 3],
        time=FLT_T,
        amount=a,
    )
    check(
        [TargetSpec(agg="sum", window="all", amount_min=10, amount_max=20)],
        [0, 10, 25, 45, 45],
        time=FLT_T,
        amount=a,
    )
    check([TargetSpec(agg="sum", window="all", amount_max=10)], [5, 15, 15, 15, 15], time=FLT_T, amount=a)
    # the bounds test the amount column even when another column is aggregated
    bal = {"balance": np.array([100.0, 200, 300, 400, 500])}
    spec = TargetSpec(agg="sum", value="balance", window="all", amount_min=10, amount_max=20)
    check([spec], [0, 200, 500, 900, 900], time=FLT_T, amount=a, columns=bal)


def test_exclude_mcc() -> None:
    a = [1, 2, 4, 8, 16]
    m = np.array([1, 2, 3, 2, 1])
    check(
        [TargetSpec(agg="sum", window="all", exclude_mcc=[2])], [1, 1, 5, 5, 21], time=FLT_T, amount=a, mcc=m
    )
    both = TargetSpec(agg="sum", window="all", mcc=[1, 2], exclude_mcc=[2])
    check([both], [1, 1, 1, 1, 17], time=FLT_T, amount=a, mcc=m)


# --- fill, top_k, threshold ---


def test_fill_for_empty_windows_but_count_gives_zero() -> None:
    t = ts("2021-01-01", "2021-01-01T05:00", "2021-01-03")
    a = [3, 4, 5]
    specs = [
        TargetSpec(name="mean_next", agg="mean", window="day", mode="next", fill=-2.5),
        TargetSpec(name="cnt_next", agg="count", window="day", mode="next", fill=9),
        TargetSpec(name="min_lead", agg="min", window="1d", mode="leading", fill=42),
    ]
    # day after 01-01 is empty; 01-03 has no next day; min over the next 24h: row 0 -> 4, row 1 -> none
    check(specs, [[-2.5, 0, 4], [-2.5, 0, 42], [-2.5, 0, 42]], time=t, amount=a)


def test_nan_fill_is_passed_through() -> None:
    t = ts("2021-01-01", "2021-01-02")
    spec = TargetSpec(agg="max", window="day", mode="next", fill=float("nan"))
    for impl in (reference_targets, compute_targets):
        got = impl([spec], time=t, amount=np.array([1.0, 2.0]))
        np.testing.assert_array_equal(
            got, np.array([[2.0], [np.nan]], dtype=np.float32), err_msg=impl.__name__
        )


def test_top_k_with_fewer_values_than_k() -> None:
    t = ts("2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04")
    a = [5, -1, 7, 7]
    spec = TargetSpec(name="big", agg="top_k", k=3, window="all", fill=-9)
    assert output_names([spec]) == ["big_top1", "big_top2", "big_top3"]
    check([spec], [[5, -9, -9], [5, -1, -9], [7, 5, -1], [7, 7, 5]], time=t, amount=a)


def test_threshold() -> None:
    t = ts("2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04")
    a = [5, 1, -10, 20]
    specs = [
        TargetSpec(name="s", agg="sum", window="all", threshold=5),  # sums 5, 6, -4, 16; 5 > 5 is false
        TargetSpec(
            name="f", agg="sum", window="day", mode="next", fill=10, threshold=5
        ),  # fill, then binarise
        TargetSpec(name="c", agg="count", window="all", mode="full", amount_min=0, threshold=2.5),  # 3 rows
        TargetSpec(name="t", agg="top_k", k=2, window="all", threshold=4),  # top2: -, -, 1, 5
    ]
    exp = [
        [0, 0, 1, 1, 0],
        [1, 0, 1, 1, 0],
        [0, 1, 1, 1, 0],
        [1, 1, 1, 1, 1],
    ]
    # next-day sums: 1, -10, 20, then the fill 10 -> 0, 0, 1, 1
    check(specs, exp, time=t, amount=a)


# --- mixed targets ---


def test_mixed_ratio_zero_denominator_gives_fill() -> None:
    t = ts("2021-01-01T08:00", "2021-01-01T09:00", "2021-01-02T08:00", "2021-01-02T09:00", "2021-01-03")
    a = [3, 1, 2, -2, 0]
    m = np.array([1, 2, 2, 2, 1])
    specs = [
        TargetSpec(name="grocery", agg="sum", mcc=[1], window="day", output=False),
        TargetSpec(name="spend", agg="sum", window="day", output=False),
        MixedTarget(name="share", terms={"grocery": 1}, divide_by={"spend": 1}, fill=-1),
    ]
    # grocery 3,3,0(fill),0(fill),0; spend 3,4,2,0 (2 - 2),0 (one zero amount)
    check(specs, [1, 0.75, 0, -1, -1], time=t, amount=a, mcc=m)


def test_mixed_linear_combination_chain_and_thresholded_inputs() -> None:
    t = ts("2021-01-01", "2021-01-02", "2021-01-03")
    a = [4, 6, -2]
    specs = [
        TargetSpec(name="total", agg="sum", window="all"),  # 4, 10, 8
        TargetSpec(name="many", agg="count", window="all", threshold=1, output=False),  # 0, 1, 1
        MixedTarget(name="combo", terms={"total": 2, "many": -0.5}),  # 8, 19.5, 15.5
        MixedTarget(name="chained", terms={"combo": 1, "total": 1}, divide_by={"many": 2}, fill=3),
        MixedTarget(name="flag", terms={"chained": 1}, threshold=14),
    ]
    assert output_names(specs) == ["total", "combo", "chained", "flag"]
    # chained = (combo + total) / (2 * many): 0 -> fill 3, 29.5 / 2, 23.5 / 2
    check(specs, [[4, 8, 3, 0], [10, 19.5, 14.75, 1], [8, 15.5, 11.75, 0]], time=t, amount=a)


def test_mixed_refers_to_a_later_mixed_and_top_k_outputs() -> None:
    t = ts("2021-01-01", "2021-01-02", "2021-01-03")
    a = [4, 6, -2]
    specs = [
        MixedTarget(name="gap_x2", terms={"gap": 2}),  # refers to a mixed target defined after it
        MixedTarget(name="gap", terms={"big_top1": 1, "big_top2": -1}),
        TargetSpec(name="big", agg="top_k", k=2, window="all", fill=0, output=False),  # (4,0) (6,4) (6,4)
    ]
    check(specs, [[8, 4], [4, 2], [4, 2]], time=t, amount=a)


# Mixed targets must read their inputs in float64: in float32, 1234567.89 - 1234560 gives 7.875, not 7.89.
@pytest.mark.parametrize("impl", [reference_targets, compute_targets])
def test_mixed_targets_combine_in_float64(impl) -> None:
    t = ts("2021-01-01", "2021-01-02")
    specs = [
        TargetSpec(name="b", agg="sum", mcc=[1], window="all", output=False),
        TargetSpec(name="c", agg="sum", mcc=[2], window="all", output=False),
        MixedTarget(name="gap", terms={"b": 1, "c": -1}),
    ]
    got = impl(specs, time=t, amount=np.array([1234567.89, 1234560.0]), mcc=np.array([1, 2]))
    # 1234567.89 then 1234567.89 - 1234560 = 7.89 (float64), each stored as float32
    np.testing.assert_allclose(got[:, 0], [1234567.89, 7.89], rtol=1e-6)


def test_hidden_helpers_are_not_output() -> None:
    specs = [
        TargetSpec(name="a", agg="sum", window="all", output=False),
        TargetSpec(name="b", agg="count", window="all"),
        MixedTarget(name="a_per_b", terms={"a": 1}, divide_by={"b": 1}),
    ]
    assert output_names(specs) == ["b", "a_per_b"]
    t = ts("2021-01-01", "2021-01-02")
    check(specs, [[1, 3], [2, 2.5]], time=t, amount=[3, 2])


# --- batches and inputs ---


def test_batch_with_one_row_and_empty_users() -> None:
    specs = [
        TargetSpec(name="d", agg="sum", window="day", mode="full"),
        TargetSpec(name="lead", agg="count", window="2tx", mode="leading"),
        TargetSpec(name="prev", agg="max", window="7d", fill=-1, mcc=[7]),
    ]
    # users: [] | [row0] | [] | [row1, row2, row3] | []
    t = ts("2021-05-05", "2021-05-05", "2021-05-05T10:00", "2021-05-06")
    a = np.array([5.0, 1.0, 2.0, 4.0])
    m = np.array([7, 8, 7, 7])
    off = np.array([0, 0, 1, 1, 4, 4])
    exp = np.array([[5, 0, 5], [3, 2, -1], [3, 1, 2], [4, 0, 4]], dtype=np.float32)
    for impl in (reference_targets_batch, compute_targets_batch):
        got = impl(specs, time=t, amount=a, mcc=m, offsets=off)
        np.testing.assert_array_equal(got, exp, err_msg=impl.__name__)
    for impl in (reference_targets, compute_targets):
        assert impl(specs, time=t[:0], amount=a[:0], mcc=m[:0]).shape == (0, 3)


@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_datetime64_equals_int64_seconds(unit: str) -> None:
    specs = [
        TargetSpec(name="w", agg="sum", window="week"),
        TargetSpec(name="h", agg="count", window="1h", mode="leading"),
        TargetSpec(name="q", agg="mean", window="quarter", mode="full"),
    ]
    stamps = [
        "1969-12-31T23:30:00.250",
        "2020-12-31T23:00:00.999",
        "2021-01-01T00:00:00.5",
        "2021-01-03T23:59:59.9",
    ]
    dt64 = np.array(stamps, dtype=f"datetime64[{unit}]")
    secs = ts("1969-12-31T23:30", "2020-12-31T23:00", "2021-01-01T00:00", "2021-01-03T23:59:59")  # floored
    a = np.array([1.0, 2.0, 4.0, 8.0])
    # week: 1969-12-31 is a Wednesday (alone); 12-31, 01-01 and 01-03 share 2020-W53
    exp = [[1, 0, 1], [2, 1, 2], [6, 0, 6], [14, 0, 6]]
    check(specs, exp, time=secs, amount=a)
    for impl in (reference_targets, compute_targets):
        got = impl(specs, time=dt64, amount=a)
        np.testing.assert_array_equal(got, impl(specs, time=secs, amount=a), err_msg=impl.__name__)


def test_reference_accepts_a_plan() -> None:
    specs = [TargetSpec(name="s", agg="sum", mcc=[5411], window="day"), MixedTarget(name="d", terms={"s": 2})]
    y = reference_targets(compile_plan(specs), time=SEED_T, amount=np.array(SEED_A), mcc=SEED_M)
    np.testing.assert_array_equal(
        y, reference_targets(specs, time=SEED_T, amount=np.array(SEED_A), mcc=SEED_M)
    )
    np.testing.assert_array_equal(y[:, 1], 2 * y[:, 0])


def test_reference_input_errors() -> None:
    spec = TargetSpec(agg="sum", mcc=[1], window="day")
    t = ts("2021-01-02", "2021-01-01")
    a = np.array([1.0, 2.0])
    with pytest.raises(InputError, match="not sorted"):
        reference_targets([spec], time=t, amount=a, mcc=np.array([1, 1]))
    with pytest.raises(InputError, match="mcc"):
        reference_targets([spec], time=t[::-1], amount=a)
    with pytest.raises(InputError, match="NaT"):
        reference_targets([spec], time=np.array(["NaT", "2021-01-01"], "datetime64[s]"), amount=a, mcc=a)
    with pytest.raises(InputError, match="balance"):
        reference_targets([TargetSpec(agg="sum", value="balance", window="day")], time=t[::-1], amount=a)
    with pytest.raises(InputError, match="offsets"):
        reference_targets_batch(
            [spec], time=t[::-1], amount=a, mcc=np.array([1, 1]), offsets=np.array([0, 1])
        )
