"""Every sim kernel against its plain-Python twin (tests/sim/naive_sim.py) on random small inputs."""

from __future__ import annotations

import naive_sim
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cardworld.sim.card_choice import choose_card_kernel
from cardworld.sim.fraud_kernels import leak_events

DAY = 86400


@st.composite
def card_cases(draw):
    m = draw(st.integers(1, 5))
    n = draw(st.integers(0, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Few distinct preferences, so equal weights (ties) occur.
    pref = rng.choice([0.5, 1.0, 1.0, 2.0, 3.7], m) if draw(st.booleans()) else np.exp(rng.normal(size=m))
    kind = rng.integers(0, 3, m).astype(np.int8)
    valid_from = rng.integers(0, 50, m) * DAY
    valid_to = valid_from + rng.integers(0, 60, m) * DAY
    time = rng.integers(0, 110, n) * DAY + rng.integers(0, DAY, n)
    time[: n // 4] = valid_to[rng.integers(0, m, n // 4)]  # exactly at an end: not in use
    boost = rng.random(n) < 0.5
    cents = rng.integers(100, 50_000, n).astype(np.int64)
    load = rng.choice([100.0, 500.0, 2000.0], m) * 100.0
    u = rng.random(n)
    return time, boost, cents, u, pref, kind, load, valid_from.astype(np.int64), valid_to.astype(np.int64)


@settings(max_examples=50, deadline=None)
@given(card_cases())
def test_choose_card_kernel_matches_naive(case):
    pick, alt, ok = choose_card_kernel(*case)
    ref_pick, weights = naive_sim.choose_card(*case)
    for i, (p_ref, w) in enumerate(zip(ref_pick, weights, strict=True)):
        assert ok[i] == (p_ref >= 0)
        if p_ref < 0:
            assert alt[i] == -1
            continue
        assert pick[i] == p_ref
        assert w[pick[i]] > 0.0 or pick[i] == len(w) - 1
        others = [x for j, x in enumerate(w) if j != pick[i]]
        best = max(others, default=0.0)
        if best <= 0.0:
            assert alt[i] == -1
        else:  # the heaviest other usable issue (ties: any of the tied ones)
            assert alt[i] != pick[i]
            assert np.isclose(w[alt[i]], best, rtol=1e-12, atol=0)


def test_choose_card_kernel_hand_case():
    # Issue 0 credit, 1 debit, 2 prepaid (load $100), all in use; preferences 1, 1, 1.
    args = dict(pref=np.ones(3), kind=np.array([1, 0, 2], np.int8), load_cents=np.full(3, 10_000.0),
                valid_from=np.zeros(3, np.int64), valid_to=np.full(3, 10 * DAY, np.int64))  # fmt: skip
    time = np.array([DAY, DAY, DAY, 11 * DAY])
    boost = np.array([True, False, False, False])
    cents = np.array([1000, 1000, 5000, 1000])
    # Row 0: weights 2, 1, 0.05 (total 3.05); u 0.7 -> target 2.135 > 2: debit. Alt: credit (2).
    # Row 1: weights 1, 1, 0.05; u 0.99 -> target 2.0295 > 2: prepaid. Alt: the first of the tied ones.
    # Row 2: $50 is more than a quarter of the prepaid load: weights 1, 1, 0; u 0.2 -> credit; alt debit.
    # Row 3: after every issue ends: no card.
    u = np.array([0.7, 0.99, 0.2, 0.5])
    pick, alt, ok = choose_card_kernel(time, boost, cents, u, **args)
    assert pick[:3].tolist() == [1, 2, 0]
    assert ok.tolist() == [True, True, True, False]
    assert alt.tolist() == [0, 0, 1, -1]


@st.composite
def leak_cases(draw):
    n = draw(st.integers(0, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_days, day0 = 30, 100
    t = np.sort((day0 + rng.integers(-3, n_days + 3, n)) * DAY + rng.integers(0, DAY, n))
    chan = rng.integers(0, 3, n).astype(np.int8)
    m = 3
    issue = rng.integers(0, m, n).astype(np.int64)
    has_chip = rng.random(m) < 0.5
    intensity = rng.choice([0.0, 0.5, 1.0, 2.0], (2, n_days))
    chip_usable = rng.random(n_days)
    off = (day0 + 10) * DAY, (day0 + 12) * DAY
    if draw(st.booleans()):
        off = (0, 0)
    w_kind = rng.random(2)
    random_w = float(rng.choice([0.0, 0.1]))
    expected = float(rng.choice([0.0, 0.5, 5.0, 50.0]))  # 50: probabilities above 1 too
    rpe = rng.uniform(1.0, 4.0, 3)
    u = rng.random(n)
    return (t, chan, issue, has_chip, day0, intensity, chip_usable, off[0], off[1], w_kind, random_w, 0.05, 0.05,
            expected, rpe, u)  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(leak_cases())
def test_leak_events_matches_naive(case):
    rows, kinds = leak_events(*case)
    ref_rows, ref_kinds = naive_sim.leak_events(*case)
    assert rows.tolist() == ref_rows
    assert kinds.tolist() == ref_kinds


def test_leak_events_hand_case():
    # Two swipes on day 0 (intensity 1), one online row; only card-present weight (w_kind 1, 0), no random
    # fraud. Weights 1, 1, 0 -> total 2; expected 1 row at 1 row per episode: P = 0.5 per swipe.
    t = np.array([10, 20, 30], np.int64)
    chan = np.array([0, 0, 2], np.int8)
    args = (t, chan, np.zeros(3, np.int64), np.zeros(1, bool), 0, np.ones((2, 1)), np.ones(1), 0, 0,
            np.array([1.0, 0.0]), 0.0, 0.05, 0.05, 1.0, np.ones(3))  # fmt: skip
    rows, kinds = leak_events(*args, np.array([0.49, 0.51, 0.0]))
    assert rows.tolist() == [0]
    assert kinds.tolist() == [0]
    rows, _ = leak_events(*args, np.array([0.6, 0.2, 0.0]))
    assert rows.tolist() == [1]
