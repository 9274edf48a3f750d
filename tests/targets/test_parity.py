"""Property tests: the fast path (compute_targets_batch) equals the naive reference on random users and specs.

Rows whose expected value is decided by rounding alone are left out of the comparison: a threshold within
float noise of the raw value, and a ratio whose denominator is within noise of zero (the reference sums with
math.fsum, the fast path with prefix sums, so a mathematically zero sum may come out as 1e-17 in one of them).
Mixed targets get an extra allowance for the float32 rounding of the targets they read (the fast path reads
float32 outputs; the reference keeps float64, see test_reference_cases.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardworld.targets import (
    MixedTarget,
    TargetSpec,
    compute_targets,
    compute_targets_batch,
    output_names,
    period_end_mask,
)
from cardworld.targets.reference import (
    reference_period_end_mask,
    reference_targets,
    reference_targets_batch,
)
from cardworld.targets.spec import CALENDAR_UNITS, AnySpec, spec_output_names, topo_order

RTOL, ATOL = 1e-5, 1e-4
DEN_EPS = 1e-6  # |denominator| below this (but not exactly 0 in both) is rounding-ambiguous
F32_EPS = 2.0**-23  # twice float32's unit roundoff
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _sec(s: str) -> int:
    return int(np.datetime64(s, "s").astype(np.int64))


# Instants next to calendar boundaries: ISO weeks across New Year (2020-W53 runs Mon 2020-12-28 .. Sun
# 2021-01-03; 2020-W01 starts Mon 2019-12-30; 2022-01-01 is a Saturday in 2021-W52), month/quarter/year
# ends, a leap day, the epoch (negative deltas give times before 1970).
ANCHORS = [
    _sec(s)
    for s in (
        "2020-12-28",
        "2021-01-01",
        "2021-01-04",
        "2019-12-30",
        "2022-01-01",
        "2021-03-01",
        "2021-04-01",
        "2024-02-29",
        "2021-06-15T12:00",
        "1970-01-01",
    )
]
DAY = 86400
DELTAS = st.one_of(
    st.sampled_from(
        [0, 1, -1, 59, -60, 3599, 3600, -3600, 43200, DAY - 1, -DAY, DAY, 7 * DAY, -7 * DAY, 30 * DAY]
    ),
    st.integers(-45 * DAY, 45 * DAY),
)
MCCS = [5411, 5812, 4829]
CENTS = st.one_of(
    st.sampled_from([0.0, 5.0, -5.0, 12.34, -12.34, 100.0]),
    st.integers(-20_000, 50_000).map(lambda c: c / 100),
)


def _snap(x: float) -> float:
    """Tiny magnitudes to 0: below float32's range, float32 and float64 outputs would disagree."""
    return x if abs(x) >= 1e-3 else 0.0


FLOATS = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False).map(_snap)


@st.composite
def batches(draw, max_users: int = 4, max_rows: int = 14):
    """(time, amount, mcc, offsets, columns): 1..max_users users sorted by time, some empty or 1-row."""
    n_users = draw(st.integers(1, max_users))
    sizes = [draw(st.one_of(st.sampled_from([0, 1]), st.integers(0, max_rows))) for _ in range(n_users)]
    amounts = draw(st.sampled_from([CENTS, FLOATS]))
    times: list[int] = []
    for size in sizes:
        anchor = draw(st.sampled_from(ANCHORS))
        times += sorted(anchor + d for d in draw(st.lists(DELTAS, min_size=size, max_size=size)))
    n = len(times)
    a = np.array(draw(st.lists(amounts, min_size=n, max_size=n)), dtype=np.float64)
    m = np.array(draw(st.lists(st.sampled_from(MCCS), min_size=n, max_size=n)), dtype=np.int64)
    bal = np.array(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=np.float64)
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return np.array(times, dtype=np.int64), a, m, off, {"balance": bal}


WINDOWS = st.one_of(
    st.tuples(
        st.sampled_from(CALENDAR_UNITS), st.sampled_from(["expanding", "full", "next"]), st.integers(1, 3)
    ),
    st.tuples(
        st.sampled_from(["1s", "59s", "90m", "1h", "12h", "1d", "2d", "7d", "1w", "30d"]),
        st.sampled_from(["trailing", "leading"]),
        st.just(1),
    ),
    st.tuples(
        st.integers(1, 5).map(lambda k: f"{k}tx"), st.sampled_from(["trailing", "leading"]), st.just(1)
    ),
    st.tuples(st.just("all"), st.sampled_from(["expanding", "full"]), st.just(1)),
)
FILLS = st.one_of(st.sampled_from([0.0, -1.0, 2.5]), st.floats(-100, 100).map(_snap))
THRESHOLDS = st.one_of(
    st.none(), st.none(), st.sampled_from([0.0, 1.0, 10.0, -5.0]), st.floats(-200, 200).map(_snap)
)
BOUNDS = st.one_of(
    st.none(), st.sampled_from([-50.0, -5.0, 0.0, 5.0, 12.34, 100.0]), st.floats(-1e3, 1e3).map(_snap)
)
MCC_SETS = st.one_of(st.none(), st.lists(st.sampled_from(MCCS), min_size=1, max_size=2, unique=True))


@st.composite
def target_specs(draw, name: str) -> TargetSpec:
    window, mode, periods = draw(WINDOWS)
    agg = draw(st.sampled_from(["sum", "mean", "max", "min", "count", "top_k"]))
    mcc, excl = draw(MCC_SETS), draw(MCC_SETS)
    if mcc and excl and set(mcc) <= set(excl):
        excl = None  # the spec would be always empty (and is refused)
    lo, hi = draw(BOUNDS), draw(BOUNDS)
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return TargetSpec(
        name=name,
        agg=agg,
        k=draw(st.integers(1, 4)) if agg == "top_k" else None,
        value=draw(st.sampled_from(["amount", "amount", "amount", "balance"])),
        mcc=mcc,
        exclude_mcc=excl,
        amount_min=lo,
        amount_max=hi,
        window=window,
        mode=mode,
        periods=periods,
        fill=draw(FILLS),
        threshold=draw(THRESHOLDS),
        output=draw(st.sampled_from([True, True, True, False])),
    )


COEFS = st.sampled_from([-2.0, -1.0, 0.5, 1.0, 3.0])


@st.composite
def spec_sets(draw) -> list[AnySpec]:
    specs: list[AnySpec] = [draw(target_specs(f"b{i}")) for i in range(draw(st.integers(1, 5)))]
    names = [n for s in specs for n in spec_output_names(s)]
    for i in range(draw(st.integers(0, 3))):
        terms = draw(st.dictionaries(st.sampled_from(names), COEFS, min_size=1, max_size=3))
        den = draw(
            st.one_of(st.none(), st.dictionaries(st.sampled_from(names), COEFS, min_size=1, max_size=2))
        )
        specs.append(
            MixedTarget(
                name=f"x{i}",
                terms=terms,
                divide_by=den,
                fill=draw(FILLS),
                threshold=draw(THRESHOLDS),
                output=draw(st.booleans()),
            )
        )
        names.append(f"x{i}")
    if not any(s.output for s in specs):
        specs[-1] = specs[-1].model_copy(update={"output": True})
    # Mixed targets may be listed before the targets they refer to: shuffle the order.
    return draw(st.permutations(specs))


def _lin(coefs: dict[str, float], val: dict, err: dict) -> tuple[np.ndarray, np.ndarray]:
    """sum(coef * value) and a bound on how far the fast path's may be from it."""
    total = sum(c * val[r] for r, c in coefs.items())
    bound = sum(abs(c) * (np.abs(val[r]) * F32_EPS + err[r]) for r, c in coefs.items())
    return total, bound


def _allowances(specs: list[AnySpec], data: dict, ref: np.ndarray, fast: np.ndarray):
    """Per output name: rows to skip (decided by rounding alone) and extra absolute error allowed.

    `specs` must show every mixed denominator as a visible `_den_<name>` target (see assert_parity).
    Mixed targets in the fast path read the other targets as float32 (see test_reference_cases), the
    reference as float64: each mixed value may be off by its inputs' float32 rounding, carried through.
    """
    n = data["time"].shape[0]
    names = [name for s in specs for name in spec_output_names(s)]
    skip = {name: np.zeros(n, dtype=bool) for name in names}
    err = {name: np.zeros(n) for name in names}
    vis = [s.model_copy(update={"output": True}) for s in specs]
    val = dict(zip(output_names(vis), reference_targets_batch(vis, **data).astype(np.float64).T, strict=True))
    cols = output_names(specs)
    raw: dict[str, np.ndarray] = {}  # unthresholded reference values of thresholded specs
    for p, s in enumerate(specs):
        if s.threshold is not None:
            probe = list(specs)
            probe[p] = s.model_copy(update={"threshold": None, "output": True})
            out = reference_targets_batch(probe, **data).astype(np.float64)
            for name in spec_output_names(s):
                raw[name] = out[:, output_names(probe).index(name)]
                if isinstance(s, TargetSpec):
                    skip[name] |= np.abs(raw[name] - s.threshold) <= 1e-5 * (1.0 + np.abs(raw[name]))
    with np.errstate(all="ignore"):
        for idx in topo_order(specs):
            s = specs[idx]
            assert isinstance(s, MixedTarget)
            for r in s.references():
                skip[s.name] |= skip[r]
            num, e = _lin(s.terms, val, err)
            if s.divide_by:
                den, e_den = _lin(s.divide_by, val, err)
                rd = ref[:, cols.index(f"_den_{s.name}")]
                fd = fast[:, cols.index(f"_den_{s.name}")]
                both_zero = (rd == 0) & (fd == 0)  # fill in both
                clear = np.abs(rd) > np.maximum(DEN_EPS, 4 * e_den)
                skip[s.name] |= ~(both_zero | clear)
                e = np.where(clear, (e + np.abs(num / den) * e_den) / np.abs(den), 0.0)
            if s.threshold is not None:
                r = raw[s.name]
                skip[s.name] |= np.abs(r - s.threshold) <= 2 * e + 1e-5 * (1.0 + np.abs(r))
                e = np.zeros(n)
            err[s.name] = np.where(skip[s.name], 0.0, e)
    return skip, err


def assert_parity(specs: list[AnySpec], data: dict, at: np.ndarray | None = None) -> None:
    """The fast path equals the reference on every row, or (with `at`) its sparse form on those rows."""
    # Each mixed denominator as a visible target too: both implementations' denominators are compared, and
    # a ratio row is judged only where they agree on the denominator being zero or clearly not.
    dens = [
        MixedTarget(name=f"_den_{s.name}", terms=dict(s.divide_by))
        for s in specs
        if isinstance(s, MixedTarget) and s.divide_by
    ]
    full = [*specs, *dens]
    ref = reference_targets_batch(full, **data)
    fast = compute_targets_batch(full, **data)
    names = output_names(full)
    assert ref.shape == fast.shape == (data["time"].shape[0], len(names))
    assert fast.dtype == ref.dtype == np.float32
    skip, err = _allowances(full, data, ref, fast)
    if at is not None:  # sparse: the same rows' reference values and allowances
        fast = compute_targets_batch(full, **data, at=at)
        assert fast.shape == (at.size, len(names))
        ref = ref[at]
        skip = {k: v[at] for k, v in skip.items()}
        err = {k: v[at] for k, v in err.items()}
    for j, name in enumerate(names):
        r, f = ref[:, j].astype(np.float64), fast[:, j].astype(np.float64)
        with np.errstate(invalid="ignore"):
            ok = (
                (np.abs(f - r) <= ATOL + RTOL * np.abs(r) + 2 * err[name])
                | (f == r)
                | (np.isnan(f) & np.isnan(r))
            )
        bad = np.flatnonzero(~ok & ~skip[name])
        if bad.size:
            raise AssertionError(
                f"output {name}: rows {bad[:10].tolist()}: reference {r[bad[:10]].tolist()}, "
                f"fast {f[bad[:10]].tolist()}, allowed extra error {err[name][bad[:10]].tolist()}"
            )


def _data(batch) -> dict:
    t, a, m, off, cols = batch
    return {"time": t, "amount": a, "mcc": m, "offsets": off, "columns": cols}


@settings(SETTINGS, max_examples=200)
@given(specs=spec_sets(), batch=batches())
def test_fast_path_matches_reference(specs: list[AnySpec], batch) -> None:
    assert_parity(specs, _data(batch))


@settings(SETTINGS, max_examples=150)
@given(specs=spec_sets(), batch=batches(), data=st.data())
def test_sparse_positions_match_reference(specs: list[AnySpec], batch, data) -> None:
    """compute_targets_batch(..., at=rows) equals the reference at those rows, whichever rows are chosen."""
    d = _data(batch)
    n = d["time"].size
    rows = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=n, unique=True)) if n else []
    assert_parity(specs, d, at=np.array(sorted(rows), dtype=np.int64))


def _grid() -> list[TargetSpec]:
    """Every window kind x valid mode x aggregation (calendar units at periods 1 and 2)."""
    windows = [(u, mode, p) for u in CALENDAR_UNITS for mode in ("expanding", "full", "next") for p in (1, 2)]
    windows += [(w, mode, 1) for w in ("1h", "2d", "3tx") for mode in ("trailing", "leading")]
    windows += [("all", "expanding", 1), ("all", "full", 1)]
    specs = []
    for w, mode, p in windows:
        for agg in ("sum", "mean", "max", "min", "count", "top_k"):
            specs.append(
                TargetSpec(
                    name=f"{agg}_{w}_{mode}_{p}",
                    agg=agg,
                    k=3 if agg == "top_k" else None,
                    mcc=[5411, 5812],
                    window=w,
                    mode=mode,
                    periods=p,
                    fill=-1.5,
                )
            )
    return specs


GRID = _grid()


@settings(SETTINGS, max_examples=50)
@given(batch=batches(max_users=3, max_rows=25))
@pytest.mark.slow
def test_every_window_mode_and_aggregation(batch) -> None:
    d = _data(batch)
    assert_parity(GRID, d)
    assert_parity(GRID, d, at=np.arange(0, d["time"].size, 3))


@settings(SETTINGS, max_examples=50)
@given(specs=spec_sets(), batch=batches())
def test_batch_equals_users_one_by_one(specs: list[AnySpec], batch) -> None:
    data = _data(batch)
    off = data["offsets"]
    for batch_fn, one_fn in (
        (compute_targets_batch, compute_targets),
        (reference_targets_batch, reference_targets),
    ):
        whole = batch_fn(specs, **data)
        for u in range(off.size - 1):
            rows = slice(int(off[u]), int(off[u + 1]))
            alone = one_fn(
                specs,
                time=data["time"][rows],
                amount=data["amount"][rows],
                mcc=data["mcc"][rows],
                columns={"balance": data["columns"]["balance"][rows]},
            )
            np.testing.assert_array_equal(whole[rows], alone, err_msg=f"{batch_fn.__name__}, user {u}")


@settings(SETTINGS, max_examples=50)
@given(specs=spec_sets(), first=batches(max_users=2), second=batches(max_users=2), pick=st.integers(0, 1))
def test_a_user_does_not_depend_on_the_others(specs: list[AnySpec], first, second, pick: int) -> None:
    """User 0 of `first`, batched after all of `second`'s users, gives the same rows bitwise."""
    t1, a1, m1, off1, c1 = first
    t2, a2, m2, off2, c2 = second
    rows = slice(0, int(off1[1]))
    cat = {
        "time": np.concatenate([t2, t1[rows]]),
        "amount": np.concatenate([a2, a1[rows]]),
        "mcc": np.concatenate([m2, m1[rows]]),
        "offsets": np.concatenate([off2, [off2[-1] + off1[1]]]),
        "columns": {"balance": np.concatenate([c2["balance"], c1["balance"][rows]])},
    }
    fn = (compute_targets_batch, reference_targets_batch)[pick]
    alone = fn(specs, **_data(first))[rows]
    moved = fn(specs, **cat)[int(off2[-1]) :]
    np.testing.assert_array_equal(moved, alone)


CALENDAR_GRID = [s for s in GRID if s.window in CALENDAR_UNITS]
CENTURIES = (
    300 * 365 * DAY
)  # more than kernel_prep.MAX_TABLE_DAYS (200 years) between a batch's first and last day


@settings(SETTINGS, max_examples=15)
@given(first=batches(max_users=2, max_rows=10), second=batches(max_users=2, max_rows=10))
def test_batch_spanning_centuries_matches_reference(first, second) -> None:
    """A batch over more than 200 years computes month/quarter/year buckets row by row instead of from a
    per-day table; it must agree with the reference, and with each user computed alone (table path)."""
    t1, a1, m1, off1, c1 = first
    t2, a2, m2, off2, c2 = second
    data = {
        "time": np.concatenate([t1, t2 + CENTURIES]),
        "amount": np.concatenate([a1, a2]),
        "mcc": np.concatenate([m1, m2]),
        "offsets": np.concatenate([off1, off1[-1] + off2[1:]]),
        "columns": {"balance": np.concatenate([c1["balance"], c2["balance"]])},
    }
    assert_parity(CALENDAR_GRID, data)
    whole = compute_targets_batch(CALENDAR_GRID, **data)
    off = data["offsets"]
    for u in range(off.size - 1):
        rows = slice(int(off[u]), int(off[u + 1]))
        alone = compute_targets(
            CALENDAR_GRID, time=data["time"][rows], amount=data["amount"][rows], mcc=data["mcc"][rows]
        )
        np.testing.assert_array_equal(whole[rows], alone, err_msg=f"user {u}")


@settings(SETTINGS, max_examples=100)
@given(batch=batches(), unit=st.sampled_from(CALENDAR_UNITS), per_user=st.booleans())
def test_period_end_mask_matches_reference(batch, unit: str, per_user: bool) -> None:
    t, _, _, off, _ = batch
    offsets = off if per_user else None
    np.testing.assert_array_equal(
        period_end_mask(t, unit, offsets=offsets), reference_period_end_mask(t, unit, offsets=offsets)
    )
