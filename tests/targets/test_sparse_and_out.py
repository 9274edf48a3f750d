"""compute_targets(_batch)'s at= (sparse rows) and out= (a reused output buffer): results and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.bench.suites import SUITE_20
from cardworld.errors import InputError
from cardworld.sample import make_sample_data
from cardworld.targets import MixedTarget, TargetSpec, compute_targets, compute_targets_batch, output_names

DATA = make_sample_data(users=12, txns=300, seed=3)
KW = {"time": DATA.time, "amount": DATA.amount, "mcc": DATA.mcc, "offsets": DATA.offsets}


def test_sparse_rows_equal_dense_rows_exactly_on_cents() -> None:
    # Sample amounts are whole cents: every sum is an exact integer of cents, so the sparse path (prefix
    # differences) and the dense one (running accumulators, too) agree to the bit.
    dense = compute_targets_batch(SUITE_20, **KW)
    rng = np.random.default_rng(0)
    at = np.sort(rng.choice(DATA.time.size, 500, replace=False))
    np.testing.assert_array_equal(compute_targets_batch(SUITE_20, **KW, at=at), dense[at])


def test_users_without_positions_and_empty_at() -> None:
    at = np.arange(DATA.offsets[3], DATA.offsets[4])  # only user 3
    dense = compute_targets_batch(SUITE_20, **KW)
    np.testing.assert_array_equal(compute_targets_batch(SUITE_20, **KW, at=at), dense[at])
    empty = compute_targets_batch(SUITE_20, **KW, at=np.array([], dtype=np.int64))
    assert empty.shape == (0, len(output_names(SUITE_20)))


def test_out_buffer_is_written_and_returned() -> None:
    n_out = len(output_names(SUITE_20))
    buf = np.full((DATA.time.size, n_out), np.nan, dtype=np.float32)
    got = compute_targets_batch(SUITE_20, **KW, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, compute_targets_batch(SUITE_20, **KW))
    at = np.array([0, 5, 299, 300, 3599])
    small = np.zeros((5, n_out), dtype=np.float32)
    assert compute_targets_batch(SUITE_20, **KW, at=at, out=small) is small
    np.testing.assert_array_equal(small, buf[at])


def test_hidden_helper_columns_are_not_written_to_out() -> None:
    specs = [
        TargetSpec(name="s", agg="sum", window="7d", mode="trailing", output=False),
        MixedTarget(name="half", terms={"s": 0.5}),
    ]
    t, a, m = DATA.user(0)
    ref = compute_targets(specs, time=t, amount=a, mcc=m)
    out = np.empty((t.size, 1), dtype=np.float32)
    compute_targets(specs, time=t, amount=a, mcc=m, out=out)
    np.testing.assert_array_equal(out, ref)
    # half of the trailing 7-day sum, by hand for the last row
    last = t[-1]
    assert out[-1, 0] == pytest.approx(0.5 * a[t > last - 7 * 86400].sum(), rel=1e-6)


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (np.array([3, 3]), "strictly increasing"),
        (np.array([5, 2]), "strictly increasing"),
        (np.array([-1]), "outside"),
        (np.array([DATA.time.size]), "outside"),
        (np.array([0.5]), "integer row indices"),
        (np.array([[0, 1]]), "1-D"),
    ],
)
def test_bad_positions(at, message) -> None:
    with pytest.raises(InputError, match=message):
        compute_targets_batch(SUITE_20, **KW, at=at)


@pytest.mark.parametrize(
    "out",
    [
        np.empty((10, 22), dtype=np.float32),
        np.empty((DATA.time.size, 22), dtype=np.float64),
        np.empty((DATA.time.size, 44), dtype=np.float32)[:, ::2],
        [[0.0] * 22],
    ],
)
def test_bad_out(out) -> None:
    with pytest.raises(InputError, match="out"):
        compute_targets_batch(SUITE_20, **KW, out=out)
