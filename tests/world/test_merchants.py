import numpy as np

from cardworld.world.merchants import merchant_count, merchant_hash, merchant_id, mix64, uniform_from_hash


def test_ids_are_stable_distinct_and_signed():
    cell = np.repeat(np.arange(50), 40)
    mcc = np.tile(np.array([5411, 5541, 5812, 5912]), 500)
    k = np.arange(2000) % 7
    a = merchant_id(1, cell, mcc, k)
    assert a.dtype == np.int64
    assert np.array_equal(a, merchant_id(1, cell, mcc, k))
    assert not np.array_equal(a, merchant_id(2, cell, mcc, k))
    triples = np.unique(np.stack([cell, mcc, k], 1), axis=0).shape[0]
    assert np.unique(a).size == triples
    assert (a < 0).any()
    assert (a > 0).any()


def test_one_merchant_one_mcc():
    # The same k in the same cell under another MCC is another merchant.
    a = merchant_hash(0, np.array([3, 3]), np.array([5411, 5499]), np.array([0, 0]))
    assert a[0] != a[1]


def test_mix64_known_value():
    # splitmix64 of state 0 (first output of the reference generator seeded with 0).
    assert int(mix64(np.array([0], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF


def test_counts_and_uniforms():
    assert merchant_count(np.array([0, 8_000, 80_000, 10**8])).tolist() == [2, 2, 10, 400]
    u = uniform_from_hash(mix64(np.arange(100_000, dtype=np.uint64)), 7)
    assert u.min() >= 0
    assert u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01
