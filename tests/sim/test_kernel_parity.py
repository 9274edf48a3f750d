"""Every sim kernel against its plain-Python twin (tests/sim/naive_sim.py) on random small inputs."""

from __future__ import annotations

import naive_sim
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cardworld.sim.card_choice import EVERYDAY_MCCS, choose_card_kernel, credit_weights, is_travel_mcc
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
    cents = rng.integers(100, 50_000, n).astype(np.int64)
    credit_w = credit_weights(cents, rng.random(n) < 0.5, rng.random(n) < 0.5)
    load = rng.choice([100.0, 500.0, 2000.0], m) * 100.0
    u = rng.random(n)
    return time, credit_w, cents, u, pref, kind, load, valid_from.astype(np.int64), valid_to.astype(np.int64)


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
    credit_w = np.array([2.0, 1.0, 1.0, 1.0])
    cents = np.array([3000, 1000, 6000, 1000])
    # Row 0: $30 is above 25% of the prepaid load: weights 2, 1, 0 (total 3); u 0.7 -> target 2.1 > 2:
    #   debit. Alt: credit (2).
    # Row 1: $10 fits: weights 1, 1, 10 (prepaid x10); u 0.99 -> target 11.88 > 2: prepaid. Alt: the first
    #   of the tied ones.
    # Row 2: $60: weights 1, 1, 0; u 0.2 -> credit; alt debit.
    # Row 3: after every issue ends: no card.
    u = np.array([0.7, 0.99, 0.2, 0.5])
    pick, alt, ok = choose_card_kernel(time, credit_w, cents, u, **args)
    assert pick[:3].tolist() == [1, 2, 0]
    assert ok.tolist() == [True, True, True, False]
    assert alt.tolist() == [0, 0, 1, -1]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2_000_000), st.booleans(), st.integers(0, 9999) | st.sampled_from(EVERYDAY_MCCS)
        ),
        max_size=30,
    )
)
def test_credit_weights_and_travel_match_naive(rows):
    cents = np.array([r[0] for r in rows], np.int64)
    boost = np.array([r[1] for r in rows], bool)
    mcc = np.array([r[2] for r in rows], np.int64)
    got = credit_weights(cents, boost, np.isin(mcc, EVERYDAY_MCCS))
    assert np.allclose(got, [naive_sim.credit_weight(*r) for r in rows], rtol=1e-12, atol=0)
    assert is_travel_mcc(mcc).tolist() == [naive_sim.is_travel(m) for _, _, m in rows]


def test_credit_weights_hand_case():
    # $30 is the pivot (1); (amount / $30) ** 2.5: $60 -> 2 ** 2.5 = 5.657, $15 -> 0.1768, $90 -> 15.59;
    # $3, 1 cent and $10,000 hit the clip [0.02, 50]; a boost doubles; an everyday MCC halves (not with a
    # boost).
    cents = np.array([3000, 6000, 1500, 9000, 300, 1, 1_000_000, 3000, 6000, 6000, 6000])
    boost = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1], bool)
    everyday = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1], bool)
    got = credit_weights(cents, boost, everyday)
    expected = [1.0, 5.656854, 0.1767767, 15.588457, 0.02, 0.02, 50.0, 2.0, 11.313708, 2.828427, 11.313708]
    assert np.allclose(got, expected, rtol=1e-6)
    mcc = np.array([2999, 3000, 3999, 4000, 4511, 5411, 5812, 7011, 4722])
    assert is_travel_mcc(mcc).tolist() == [False, True, True, False, True, False, False, True, True]


def test_credit_pays_the_larger_and_travel_purchases() -> None:
    # One credit and one debit card, equal preferences, both in use: P(credit) = w / (w + 1) with w the
    # credit factor: $6 -> 0.02 / 1.02 (clipped), $30 -> 1/2, $60 -> 5.657 / 6.657, $30 at a hotel -> 2/3,
    # $30 at a grocer -> 1/3 (20,000 draws each: SE <= 0.0035).
    n = 20_000
    rng = np.random.default_rng(0)
    args = dict(pref=np.ones(2), kind=np.array([1, 0], np.int8), load_cents=np.zeros(2),
                valid_from=np.zeros(2, np.int64), valid_to=np.full(2, DAY, np.int64))  # fmt: skip
    for cents, mcc, expected in (
        (600, 5732, 0.02 / 1.02),  # electronics: neither travel nor everyday
        (3000, 5732, 0.5),
        (6000, 5732, 2**2.5 / (2**2.5 + 1)),
        (3000, 7011, 2 / 3),
        (3000, 5411, 1 / 3),
    ):
        c = np.full(n, cents, np.int64)
        w = credit_weights(c, is_travel_mcc(np.full(n, mcc)), np.isin(np.full(n, mcc), EVERYDAY_MCCS))
        pick, _, ok = choose_card_kernel(np.zeros(n, np.int64), w, c, rng.random(n), **args)
        assert ok.all()
        assert abs((pick == 0).mean() - expected) < 0.015, (cents, mcc)


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
