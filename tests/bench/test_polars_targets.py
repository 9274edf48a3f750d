"""The Polars comparison computes the same targets as the fast path (and as hand-worked cases)."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.bench.polars_targets import bench_frame, polars_support, polars_targets
from cardworld.bench.suites import SUITE_1, SUITE_20
from cardworld.dates import calendar_buckets
from cardworld.errors import InputError
from cardworld.sample import SampleData, make_sample_data
from cardworld.targets import MixedTarget, TargetSpec, compute_targets_batch, output_names
from cardworld.targets.spec import CALENDAR_UNITS, AnySpec

pl = pytest.importorskip("polars")

RTOL, ATOL = 1e-5, 1e-4
DAY, HOUR = 86400, 3600
MCCS = np.array([5411, 5912, 6513, 5812, 5814, 5541, 5542, 4511, 7011, 5300, 5310, 5311, 1234], np.int16)


def _sec(s: str) -> int:
    return int(np.datetime64(s, "s").astype(np.int64))


def _data(seed: int = 7) -> SampleData:
    """A few users, ~400 rows: times on a 6-hour grid from Monday midnights (so 12h/7d/30d/90d windows and
    day/week/month boundaries are hit exactly), +-1 s jitter next to them, many equal timestamps, an empty
    user, a one-row user, and a user whose history crosses 1970 (negative times) and New Year."""
    rng = np.random.default_rng(seed)
    bases = [
        _sec("2019-12-30"),
        _sec("1969-12-29"),
        _sec("2020-12-28"),
        _sec("2021-03-29"),
        _sec("2019-12-30"),
    ]
    sizes = [150, 120, 0, 1, 130]
    times = []
    for base, n in zip(bases, sizes, strict=True):
        steps = rng.integers(0, 420, n) * 6 * HOUR  # ~105 days: crosses month, quarter and year ends
        jitter = rng.choice([0, 0, 0, 0, -1, 1], n)
        t = base + steps + jitter
        t[rng.random(n) < 0.25] = base + 4 * 6 * HOUR  # a pile of ties on one instant
        times.append(np.sort(t))
    time = np.concatenate(times).astype(np.int64)
    n = time.size
    amount = rng.choice([5.0, 12.34, -7.5, 100.0], n)  # equal values: top_k ties
    free = rng.random(n) < 0.6
    amount[free] = np.round(rng.normal(40, 60, free.sum()), 2)
    mcc = rng.choice(MCCS, n)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    user_id = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
    # The cases the docstring promises (checked here, at collection, rather than as a test of the fixture).
    assert (np.diff(time)[np.diff(user_id) == 0] == 0).sum() > 20
    assert (time < 0).any()
    assert (time > 0).any()
    assert np.isin(np.diff(np.unique(time)), [7 * DAY, 12 * HOUR]).any()
    assert (np.diff(offsets) == 0).any()
    return SampleData(user_id, time, amount, mcc, offsets)


DATA = _data()


def _compare(specs: list[AnySpec], data: SampleData = DATA, columns: dict | None = None) -> list[str]:
    """polars_targets equals compute_targets_batch on every supported output; returns the names."""
    frame = bench_frame(data)
    if columns:
        frame = frame.with_columns([pl.Series(k, v) for k, v in columns.items()])
    out, names = polars_targets(specs, frame)
    assert names == output_names(specs)  # every spec is supported
    assert out.columns == names
    assert out.height == data.time.size
    ref = compute_targets_batch(
        specs, time=data.time, amount=data.amount, mcc=data.mcc, offsets=data.offsets, columns=columns
    )
    all_names = output_names(specs)
    for name in names:
        assert out[name].dtype == pl.Float32
        np.testing.assert_allclose(
            out[name].to_numpy(), ref[:, all_names.index(name)], rtol=RTOL, atol=ATOL, err_msg=name
        )
    return names


@pytest.mark.parametrize("suite", [SUITE_1, SUITE_20], ids=["suite1", "suite20"])
def test_suites_are_supported_and_match_fast_path(suite: list[TargetSpec]) -> None:
    assert [polars_support(s) for s in suite] == [None] * len(suite)
    assert len(_compare(list(suite))) == sum(s.n_outputs for s in suite)


def test_polars_support_gives_a_reason_for_what_it_cannot_express() -> None:
    assert polars_support(MixedTarget(name="m", terms={"a": 1.0})) is None
    why = polars_support({"agg": "sum", "window": "day"})  # type: ignore[arg-type]
    assert isinstance(why, str)
    assert "TargetSpec" in why


def _grid() -> list[TargetSpec]:
    windows = [
        *((u, m, p) for u in CALENDAR_UNITS for m in ("expanding", "full", "next") for p in (1, 2)),
        ("12h", "trailing", 1),
        ("12h", "leading", 1),
        ("7d", "trailing", 1),
        ("30d", "leading", 1),
        ("1s", "trailing", 1),
        ("1s", "leading", 1),
        ("4tx", "trailing", 1),
        ("4tx", "leading", 1),
        ("all", "expanding", 1),
        ("all", "full", 1),
    ]
    specs = []
    for i, (w, mode, p) in enumerate(windows):
        for agg in ("sum", "mean", "max", "min", "count", "top_k"):
            kw: dict = {"k": 3 if i % 2 else 2} if agg == "top_k" else {}
            filt: dict = [
                {"mcc": [5411, 5812, 5912]},
                {"exclude_mcc": [5411, 1234]},
                {"amount_min": 0.0, "amount_max": 60.0},
                {},
            ][(i + len(specs)) % 4]
            specs.append(TargetSpec(agg=agg, window=w, mode=mode, periods=p, fill=-1.5, **filt, **kw))
    return specs


def test_every_window_mode_and_agg_matches_fast_path() -> None:
    specs = _grid()
    assert all(polars_support(s) is None for s in specs)
    assert len(_compare(specs)) == sum(s.n_outputs for s in specs)


def test_fill_threshold_value_column_hidden_and_mixed_targets() -> None:
    balance = np.round(np.random.default_rng(3).normal(1000, 300, DATA.time.size), 2)
    specs: list[AnySpec] = [
        TargetSpec(name="g_sum", agg="sum", mcc=[5411], window="week", fill=-3.0, output=False),
        TargetSpec(name="all_n", agg="count", window="30d", mode="leading"),
        TargetSpec(name="big", agg="max", window="month", mode="full", threshold=80.005),
        TargetSpec(name="bal", agg="mean", value="balance", window="7d", amount_min=0.0),
        TargetSpec(name="bal_top", agg="top_k", k=2, value="balance", window="3tx", threshold=1000.005),
        TargetSpec(name="top1", agg="top_k", k=1, window="all", fill=9.0),  # k = 1 is a running max
        MixedTarget(name="per_tx", terms={"g_sum": 1.0}, divide_by={"all_n": 1.0}, fill=-2.0),
        MixedTarget(name="combo", terms={"per_tx": 2.0, "bal_top_top2": 0.5, "big": -1.0}, threshold=500.005),
    ]
    names = _compare(specs, columns={"balance": balance})
    assert "g_sum" not in names
    assert {"per_tx", "combo", "bal_top_top1", "bal_top_top2"} <= set(names)


def test_hand_worked_running_top_k_with_filtered_rows_and_equal_values() -> None:
    """The k-pass running top-k ('all' expanding): rows 1 and 5 are filtered out (mcc 1234)."""
    data = SampleData(
        np.zeros(6, np.int32),
        np.arange(6, dtype=np.int64) * 100,
        np.array([3.0, 99.0, 5.0, 3.0, 4.0, 98.0]),
        np.array([5411, 1234, 5411, 5411, 5411, 1234], np.int16),
        np.array([0, 6], np.int64),
    )
    spec = TargetSpec(name="top", agg="top_k", k=3, mcc=[5411], window="all", fill=-1.0)
    out, _ = polars_targets([spec], bench_frame(data))
    assert out["top_top1"].to_list() == [3.0, 3.0, 5.0, 5.0, 5.0, 5.0]
    assert out["top_top2"].to_list() == [-1.0, -1.0, 3.0, 3.0, 4.0, 4.0]
    assert out["top_top3"].to_list() == [-1.0, -1.0, -1.0, 3.0, 3.0, 3.0]


def test_hand_worked_ties_are_by_index() -> None:
    """t = 0, 10, 10, 20 (one user); the contract's windows are by index when times tie."""
    data = SampleData(
        np.zeros(4, np.int32),
        np.array([0, 10, 10, 20], np.int64),
        np.array([1.0, 2.0, 4.0, 8.0]),
        np.full(4, 5411, np.int16),
        np.array([0, 4], np.int64),
    )
    specs = [
        TargetSpec(name="trail", agg="sum", window="10s", mode="trailing"),
        TargetSpec(name="lead", agg="sum", window="10s", mode="leading", fill=-1.0),
        TargetSpec(name="lead_max", agg="max", window="10s", mode="leading", fill=-1.0),
        TargetSpec(name="trail_top", agg="top_k", k=2, window="10s", fill=0.5),
    ]
    out, _ = polars_targets(specs, bench_frame(data))
    assert out["trail"].to_list() == [1.0, 2.0, 6.0, 8.0]  # row 1 does not see its tie, row 2 does
    assert out["lead"].to_list() == [6.0, 12.0, 8.0, -1.0]  # row 1 sees row 2, not row 1 itself
    assert out["lead_max"].to_list() == [4.0, 8.0, 8.0, -1.0]
    assert out["trail_top_top1"].to_list() == [1.0, 2.0, 4.0, 8.0]
    assert out["trail_top_top2"].to_list() == [0.5, 0.5, 2.0, 0.5]


def test_calendar_buckets_agree_with_the_kernel_calendar() -> None:
    """Polars' truncation (weeks start on Monday) gives the same periods as the integer calendar."""
    rng = np.random.default_rng(11)
    t = np.sort(
        np.concatenate(
            [
                rng.integers(_sec("1969-06-01"), _sec("2031-01-01"), 3000),
                [
                    _sec(s) + d
                    for s in ("2020-12-28", "2021-01-03", "1970-01-01", "2024-02-29")
                    for d in (-1, 0, 1)
                ],
            ]
        )
    ).astype(np.int64)
    data = SampleData(
        np.zeros(t.size, np.int32), t, np.ones(t.size), np.zeros(t.size, np.int16), np.array([0, t.size])
    )
    frame = bench_frame(data)
    for unit, name in enumerate(CALENDAR_UNITS):
        # A count per full period is constant within a bucket and changes where the bucket changes.
        spec = TargetSpec(name="n", agg="count", window=name, mode="expanding")
        n = polars_targets([spec], frame)[0]["n"].to_numpy()
        b = calendar_buckets(t, unit)
        starts = np.concatenate([[True], np.diff(b) != 0])
        np.testing.assert_array_equal(n == 1, starts, err_msg=name)


def test_bench_frame_columns_and_order() -> None:
    data = make_sample_data(3, 64, seed=1)
    frame = bench_frame(data)
    assert frame.columns == ["user_id", "timestamp", "amount", "mcc"]
    assert frame["timestamp"].dtype == pl.Int64
    np.testing.assert_array_equal(frame["timestamp"].to_numpy(), data.time)
    np.testing.assert_array_equal(frame["amount"].to_numpy(), data.amount)
    np.testing.assert_array_equal(frame["mcc"].to_numpy(), data.mcc)
    np.testing.assert_array_equal(frame["user_id"].to_numpy(), data.user_id)
    assert frame["user_id"].flags["SORTED_ASC"]


def test_bad_frames_are_refused_with_the_row_or_column() -> None:
    frame = bench_frame(DATA)
    spec = [TargetSpec(name="s", agg="sum", window="day")]
    with pytest.raises(InputError, match="'mcc'"):
        polars_targets(spec, frame.drop("mcc"))
    with pytest.raises(InputError, match="'balance'"):
        polars_targets([TargetSpec(name="b", agg="sum", value="balance", window="day")], frame)
    swapped = pl.concat([frame.slice(1, 1), frame.slice(0, 1), frame.slice(2)])
    with pytest.raises(InputError, match="row 1 is out of order"):
        polars_targets(spec, swapped)
    with pytest.raises(InputError, match="int64 seconds"):
        polars_targets(spec, frame.with_columns(pl.col("timestamp").cast(pl.Float64)))
    bad = SampleData(
        np.array([1, 0], np.int32), np.zeros(2, np.int64), np.ones(2), np.zeros(2, np.int16), np.array([0, 2])
    )
    with pytest.raises(InputError, match="ascending user"):
        bench_frame(bad)
