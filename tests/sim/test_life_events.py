"""Life events (sim.life_events.distress_path): who they happen to and how often, over many consumers
(one rng per draw), against the rates the config states; and the path's invariants."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.codes import LifeEvent
from cardworld.credit_config import Credit
from cardworld.data.economy import LONG_RUN_UNEMPLOYMENT, UNEMPLOYMENT
from cardworld.dates import DAYS_PER_YEAR
from cardworld.sim.life_events import LEAD_LEVEL, DistressPath, distress_path
from cardworld.sim.rows import LifeSpan

N = 3000
NONE_ON = {
    "job_loss_per_year": 0.0,
    "medical_per_year": 0.0,
    "divorce_per_year": 0.0,
    "retirement_distress": 0.0,
}


def day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def span_of(first: str, last: str, retire: str = "2090-01-01") -> LifeSpan:
    return LifeSpan(day(first), day(last), day(retire), day(retire) + 3650)


def paths(cfg: Credit, span: LifeSpan, age: float, works: bool = True, n: int = N) -> list[DistressPath]:
    """n consumers aged `age` at the span's first day, each with its own rng."""
    birth = span.first_day - int(age * DAYS_PER_YEAR)
    return [distress_path(cfg, span, birth, works, np.random.default_rng([97, s])) for s in range(n)]


def only(**rates) -> Credit:
    return Credit(**{**NONE_ON, **rates})


def starts(path: DistressPath, above: float = LEAD_LEVEL) -> np.ndarray:
    """Months where a job loss begins (the level rises above the lead-up's highest, LEAD_LEVEL x 1.0); with
    one kind of event only, overlaps aside."""
    level = np.concatenate([[0.0], path.level])
    return np.flatnonzero((level[1:] > level[:-1]) & (level[1:] > above))


def share_with(ps: list[DistressPath], event: LifeEvent) -> float:
    return float(np.mean([(p.cause == event).any() for p in ps]))


def assert_binomial(share: float, p: float, n: int = N) -> None:
    """share of n draws is within 4 standard errors of p."""
    assert abs(share - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12, (share, p)


def test_job_loss_only_for_workers_before_retirement():
    cfg = only(job_loss_per_year=0.6)
    span = span_of("2030-01-01", "2031-12-31", retire="2031-01-15")
    assert share_with(paths(cfg, span, 50.0, works=False, n=500), LifeEvent.JOB_LOSS) == 0.0
    retired = span_of("2030-01-01", "2031-12-31", retire="2029-06-01")
    assert share_with(paths(cfg, retired, 70.0, n=500), LifeEvent.JOB_LOSS) == 0.0
    ps = paths(cfg, span, 60.0, n=500)
    first = [int(starts(p)[0]) for p in ps if starts(p).size]
    assert len(first) > 100  # a 5% monthly hazard over the working year: most lose a job
    last_working = np.searchsorted(ps[0].month, span.retire_day) - 1  # the month holding retirement
    assert max(int(s[-1]) for p in ps if (s := starts(p)).size) <= last_working


@pytest.mark.parametrize(
    ("year", "path", "ratio"),
    [
        (2030, None, 1.0),  # outside the BLS years: the long-run rate
        (2030, {2030: 2 * LONG_RUN_UNEMPLOYMENT}, 2.0),  # a what-if recession at twice the rate
        (2010, None, UNEMPLOYMENT[2010] / LONG_RUN_UNEMPLOYMENT),
    ],
)
def test_job_loss_rate_scales_with_the_unemployment_ratio(year, path, ratio):
    cfg = only(job_loss_per_year=0.06, unemployment=path)
    ps = paths(cfg, span_of(f"{year}-01-01", f"{year}-12-31"), 40.0)
    p_month = 0.06 * ratio / 12
    assert_binomial(share_with(ps, LifeEvent.JOB_LOSS), 1 - (1 - p_month) ** 12)


def test_a_recession_doubles_job_loss_starts():
    span = span_of("2030-01-01", "2030-12-31")
    base = paths(only(job_loss_per_year=0.06), span, 40.0)
    what_if = paths(only(job_loss_per_year=0.06, unemployment={2030: 11.8}), span, 40.0)
    n_base = sum(starts(p).size for p in base)
    n_what_if = sum(starts(p).size for p in what_if)
    ratio = 11.8 / LONG_RUN_UNEMPLOYMENT
    assert n_base > 100
    assert 0.75 * ratio <= n_what_if / n_base <= 1.25 * ratio  # about 180 vs 360 starts: noise ~10%


@pytest.mark.parametrize("k", [1.0, 3.0])
@pytest.mark.parametrize(
    ("event", "rates", "age", "p_month"),
    [
        (LifeEvent.JOB_LOSS, {"job_loss_per_year": 0.06}, 40.0, 0.06 / 12),
        (LifeEvent.MEDICAL_BILLS, {"medical_per_year": 0.03}, 40.0, 0.03 / 12),
        (LifeEvent.MEDICAL_BILLS, {"medical_per_year": 0.03}, 70.0, 2 * 0.03 / 12),  # twice as likely 65+
        (LifeEvent.DIVORCE, {"divorce_per_year": 0.04}, 40.0, 0.04 / 12),
    ],
)
def test_default_multiplier_scales_every_event(k, event, rates, age, p_month):
    cfg = only(**rates, default_multiplier=k)
    ps = paths(cfg, span_of("2030-01-01", "2030-12-31"), age, n=2000)
    assert_binomial(share_with(ps, event), 1 - (1 - k * p_month) ** 12, n=2000)


@pytest.mark.parametrize("k", [1.0, 3.0])
def test_retirement_distress_scaled_by_the_multiplier(k):
    cfg = only(retirement_distress=0.12, default_multiplier=k)
    span = span_of("2030-01-01", "2030-12-31", retire="2030-05-10")
    ps = paths(cfg, span, 64.5, n=2000)
    assert_binomial(share_with(ps, LifeEvent.RETIREMENT), min(k * 0.12, 1.0), n=2000)
    hit = [p for p in ps if (p.cause == LifeEvent.RETIREMENT).any()]
    assert all(int(np.flatnonzero(p.cause == LifeEvent.RETIREMENT)[0]) == 4 for p in hit)  # from May
    assert share_with(paths(cfg, span, 64.5, works=False, n=300), LifeEvent.RETIREMENT) == 0.0


@pytest.mark.parametrize("age", [20.0, 24.5, 40.0, 63.5, 66.0])
def test_divorce_only_at_25_to_64(age):
    span = span_of("2030-01-01", "2031-12-31")
    ps = paths(only(divorce_per_year=1.0), span, age, n=300)
    ages = (ps[0].month - (span.first_day - int(age * DAYS_PER_YEAR))) / DAYS_PER_YEAR
    eligible = (ages >= 25) & (ages < 65)
    for p in ps:  # the divorce itself (the separation before it may start earlier): above its lead-up
        first = np.flatnonzero((p.cause == LifeEvent.DIVORCE) & (p.level > LEAD_LEVEL * 0.7))
        if first.size:
            assert eligible[first[0]]  # it began at an eligible age (it may last past 65)
    n_eligible = int(eligible.sum())
    expected = 1 - (1 - 1 / 12) ** n_eligible
    assert_binomial(share_with(ps, LifeEvent.DIVORCE), expected, n=300)


def test_level_in_unit_interval_and_none_where_no_event():
    span = span_of("2008-01-01", "2011-12-31", retire="2010-03-01")
    for p in paths(Credit(default_multiplier=5.0), span, 60.0, n=500):
        assert ((p.level >= 0) & (p.level <= 1)).all()
        assert ((p.level == 0) == (p.cause == LifeEvent.NONE)).all()
        assert p.month.size == 48
    for p in paths(Credit(**NONE_ON), span, 60.0, n=50):
        assert (p.level == 0).all()
        assert (p.cause == LifeEvent.NONE).all()


def test_job_loss_severity_at_its_start():
    for p in paths(only(job_loss_per_year=0.3), span_of("2030-01-01", "2031-12-31"), 40.0, n=500):
        for m in starts(p):
            assert p.cause[m] == LifeEvent.JOB_LOSS
            assert 0.6 <= p.level[m] <= 1.0


def test_draws_are_fixed_in_number():
    """9 uniforms a month and 2 more, however many events happened (none, or many)."""
    span = span_of("2030-01-01", "2031-06-30", retire="2030-09-01")
    states = []
    for cfg in (Credit(**NONE_ON), Credit(default_multiplier=50.0)):
        rng = np.random.default_rng(5)
        distress_path(cfg, span, span.first_day - 50 * 365, True, rng)
        states.append(rng.bit_generator.state)
    plain = np.random.default_rng(5)
    plain.random(9 * 18 + 2)
    assert states[0] == states[1] == plain.bit_generator.state


def test_distress_builds_up_before_a_job_loss():
    """The six months before a job loss ramp up to LEAD_LEVEL of its severity (hours cut first)."""
    checked = 0
    for p in paths(only(job_loss_per_year=0.05), span_of("2030-01-01", "2033-12-31"), 40.0, n=400):
        s = starts(p)
        if s.size != 1 or s[0] < 6 or (p.level[: s[0] - 6] > 0).any():
            continue  # one job loss, with its whole lead-up in the span and nothing before it
        m, severity = int(s[0]), p.level[s[0]]
        ramp = [severity * LEAD_LEVEL * (6 - k + 1) / 6 for k in range(6, 0, -1)]  # months m-6 .. m-1
        np.testing.assert_allclose(p.level[m - 6 : m], ramp, rtol=1e-12)
        assert (p.cause[m - 6 : m] == LifeEvent.JOB_LOSS).all()
        checked += 1
    assert checked >= 20
