"""Bad input to the fast path: one clear error naming the array, index or user, and how to fix it."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.errors import InputError
from cardworld.targets import TargetSpec, compute_targets, compute_targets_batch, period_end_mask

DAY = 86400
SPECS = [TargetSpec(agg="sum", mcc=[5411], window="day")]


def test_unsorted_names_first_offending_index():
    t = np.array([0, 10, 5, 20, 3], dtype=np.int64)
    with pytest.raises(InputError, match=r"time\[2\] = 5 < time\[1\] = 10") as err:
        compute_targets(SPECS, time=t, amount=np.ones(5), mcc=np.full(5, 5411))
    assert "sort each user's rows by time" in str(err.value)


def test_unsorted_in_batch_names_user():
    t = np.array([0, 10, 20, 5, 1], dtype=np.int64)  # user 1 = rows 3..4: 5 then 1
    with pytest.raises(InputError, match=r"time\[4\].*user 1, its row 1"):
        compute_targets_batch(SPECS, time=t, amount=np.ones(5), mcc=np.full(5, 5411), offsets=[0, 3, 5])


def test_user_boundary_may_go_back_in_time():
    t = np.array([100, 200, 0, 50], dtype=np.int64)
    y = compute_targets_batch(SPECS, time=t, amount=np.ones(4), mcc=np.full(4, 5411), offsets=[0, 2, 4])
    assert y[:, 0].tolist() == [1, 2, 1, 2]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_amount(bad):
    a = np.array([1.0, 2.0, bad])
    with pytest.raises(InputError, match=r"amount\[2\] is (nan|inf|-inf)"):
        compute_targets(SPECS, time=np.arange(3), amount=a, mcc=np.full(3, 5411))


def test_mismatched_lengths():
    with pytest.raises(InputError, match="amount has 2 rows but time has 3"):
        compute_targets(SPECS, time=np.arange(3), amount=np.ones(2), mcc=np.full(3, 5411))
    with pytest.raises(InputError, match="mcc has 4 rows but time has 3"):
        compute_targets(SPECS, time=np.arange(3), amount=np.ones(3), mcc=np.full(4, 5411))


def test_mcc_needed_and_in_range():
    with pytest.raises(InputError, match="filter on mcc but no mcc array"):
        compute_targets(SPECS, time=np.arange(3), amount=np.ones(3))
    with pytest.raises(InputError, match=r"mcc\[1\] = 12345 .* outside 0..9999"):
        compute_targets(SPECS, time=np.arange(3), amount=np.ones(3), mcc=np.array([5411, 12345, 1]))
    # Without an MCC filter, mcc is optional.
    y = compute_targets([TargetSpec(agg="count", window="all")], time=np.arange(3), amount=np.ones(3))
    assert y[:, 0].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("offsets", "fragment"),
    [
        ([1, 3], "offsets[0] is 1"),
        ([0, 2], "offsets[-1] is 2 but the arrays have 3 rows"),
        ([0, 2, 1, 3], "offsets are not monotone: offsets[2] = 1 < offsets[1] = 2"),
        ([[0, 3]], "1-D integer array"),
        ([0.0, 3.0], "1-D integer array"),
    ],
)
def test_bad_offsets(offsets, fragment):
    with pytest.raises(InputError) as err:
        compute_targets_batch(
            SPECS, time=np.arange(3), amount=np.ones(3), mcc=np.full(3, 5411), offsets=offsets
        )
    assert fragment in str(err.value)


def test_time_types():
    with pytest.raises(InputError, match="dtype float64"):
        compute_targets(SPECS, time=np.arange(3.0), amount=np.ones(3), mcc=np.full(3, 5411))
    with pytest.raises(InputError, match="not a plausible number of seconds"):
        compute_targets(SPECS, time=np.arange(3) * 10**18, amount=np.ones(3), mcc=np.full(3, 5411))
    t = np.array(["2020-01-01T10:00", "NaT"], dtype="datetime64[m]")
    with pytest.raises(InputError, match=r"time\[1\] is NaT"):
        compute_targets(SPECS, time=t, amount=np.ones(2), mcc=np.full(2, 5411))


def test_missing_value_column():
    spec = [TargetSpec(agg="max", value="balance", window="all")]
    with pytest.raises(InputError, match="value column 'balance'"):
        compute_targets(spec, time=np.arange(3), amount=np.ones(3))
    y = compute_targets(
        spec, time=np.arange(3), amount=np.ones(3), columns={"balance": np.array([5.0, 1.0, 7.5])}
    )
    assert y[:, 0].tolist() == [5.0, 5.0, 7.5]


def test_refund_cancels_to_exact_zero():
    """Whole-cent amounts are summed as integers: a refund cancels its purchase exactly (ratio -> fill)."""
    from cardworld.targets import MixedTarget

    a = np.array([0.1, 0.2, -0.3, 19.99, -19.99])
    t = np.arange(5, dtype=np.int64) * 60
    specs = [
        TargetSpec(name="s", agg="sum", window="all"),
        MixedTarget(name="r", terms={"s": 1.0}, divide_by={"s": 1.0}, fill=-1.0),
        TargetSpec(name="pos", agg="sum", window="all", threshold=0.0),
    ]
    y = compute_targets(specs, time=t, amount=a)
    assert y[2, 0] == 0.0
    assert y[4, 0] == 0.0
    assert y[:, 1].tolist() == [1.0, 1.0, -1.0, 1.0, -1.0]
    assert y[:, 2].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]


def test_period_end_mask():
    base = np.datetime64("2020-12-28T00:00", "s").astype(np.int64)  # a Monday
    # Mon, Wed 2020-12-30, Sat 2021-01-02 (same ISO week), Mon 2021-01-04, then Jan 31 and Feb 1.
    days = np.array([0, 2, 5, 7, 34, 35])
    t = base + days * DAY + 3600
    # Sun 2021-01-31 closes the week of Mon 2021-01-25; Mon 2021-02-01 opens the next.
    assert period_end_mask(t, "week").tolist() == [False, False, True, True, True, True]
    assert period_end_mask(t, "day").all()
    assert period_end_mask(t, "month").tolist() == [False, True, False, False, True, True]
    assert period_end_mask(t, "year").tolist() == [False, True, False, False, False, True]
    off = np.array([0, 2, 6])
    assert period_end_mask(t, "year", offsets=off).tolist() == [False, True, False, False, False, True]
    with pytest.raises(InputError, match="must be one of day, week, month, quarter, year"):
        period_end_mask(t, "7d")
