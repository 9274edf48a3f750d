"""The built-in sample transactions (cardworld.sample): per-user streams, shapes, used by the CLI demo."""

from __future__ import annotations

import numpy as np

from cardworld.rng import Stream, stream
from cardworld.sample import SAMPLE_MCCS, make_sample_data


def test_each_user_draws_from_its_own_sample_stream():
    big, small = make_sample_data(4, 30, seed=9), make_sample_data(2, 30, seed=9)
    assert np.array_equal(big.time[:60], small.time)  # a subset of users is the same whatever else is drawn
    assert np.array_equal(big.amount[:60], small.amount)
    # user 3's times are the first draw of stream(seed, SAMPLE, 3): sorted minutes over 730 days
    minutes = np.sort(stream(9, Stream.SAMPLE, 3).integers(0, 730 * 24 * 60, size=30))
    t, _, _ = big.user(3)
    assert np.array_equal(t - t[0], 60 * (minutes - minutes[0]))


def test_shapes_and_ranges():
    d = make_sample_data(3, 50, seed=0)
    assert d.n_users == 3
    assert d.offsets.tolist() == [0, 50, 100, 150]
    assert d.user_id.tolist() == [0] * 50 + [1] * 50 + [2] * 50
    assert np.isin(d.mcc, SAMPLE_MCCS).all()
    assert (d.time % 60 == 0).all()
    for u in range(3):
        assert (np.diff(d.user(u)[0]) >= 0).all()
    assert (d.amount >= -500).all()
