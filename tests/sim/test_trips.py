import numpy as np

from cardworld.config import Trips as TripsConfig
from cardworld.sim.trips import BUSINESS, GETAWAY, HOME, VACATION, day_states, simulate_trips


def _dest(rng, kinds, foreign):
    return np.where(foreign, 100, 1) + np.zeros(kinds.size, dtype=np.int64)


def _trips(seed=0, propensity=1.0, works_until=10**6, old_from=10**6, cfg=None):
    rng = np.random.default_rng(seed)
    return simulate_trips(rng, cfg or TripsConfig(), 0, 3652, propensity, works_until, old_from, _dest)


def test_trips_do_not_overlap_and_stay_in_range():
    for seed in range(20):
        t = _trips(seed)
        assert (t.start[1:] > t.end[:-1]).all()
        assert (t.start <= t.end).all()
        assert t.start.min(initial=0) >= 0
        assert t.end.max(initial=0) <= 3652


def test_rates_lengths_and_weekend_getaways():
    kinds, lengths, starts = [], [], []
    for seed in range(200):
        t = _trips(seed)
        kinds.append(t.kind)
        lengths.append(t.end - t.start + 1)
        starts.append(t.start)
    k, ln, st = np.concatenate(kinds), np.concatenate(lengths), np.concatenate(starts)
    years = 200 * 3653 / 365.25
    cfg = TripsConfig()
    # Poisson counts over 2,000 person-years: within ~10% (overlaps push a few trips past the end).
    assert abs((k == GETAWAY).sum() / years - cfg.getaways_per_year) < 0.1 * cfg.getaways_per_year
    assert abs((k == VACATION).sum() / years - cfg.vacations_per_year) < 0.1 * cfg.vacations_per_year
    assert (
        abs((k == BUSINESS).sum() / years - cfg.business_trips_per_year) < 0.12 * cfg.business_trips_per_year
    )
    g = k == GETAWAY
    assert set(np.unique(ln[g])) <= {2, 3}
    weekday = (st[g] + 3) % 7  # Monday = 0
    assert np.isin(weekday, [4, 5]).mean() > 0.9  # pushed trips may move off Friday/Saturday
    assert abs(ln[k == VACATION].mean() - cfg.vacation_days) < 1.5


def test_no_business_trips_after_work_and_less_travel_when_old():
    retired = [_trips(s, works_until=-1) for s in range(50)]
    assert all((t.kind != BUSINESS).all() for t in retired)
    young = sum(len(_trips(s)) for s in range(100))
    old = sum(len(_trips(s, old_from=0)) for s in range(100))
    assert 0.35 < old / young < 0.65


def test_foreign_share_follows_config():
    cfg = TripsConfig(foreign_vacation=1.0, foreign_getaway=0.0, foreign_business=0.0)
    t = _trips(1, propensity=3.0, cfg=cfg)
    assert (t.foreign == (t.kind == VACATION)).all()
    assert (t.dest[t.foreign] == 100).all()


def test_day_states_mark_each_trip():
    t = _trips(5, propensity=2.0)
    state, trip = day_states(t, 0, 3653)
    for i in range(len(t)):
        assert (state[t.start[i] : t.end[i] + 1] == t.kind[i]).all()
        assert (trip[t.start[i] : t.end[i] + 1] == i).all()
    assert (state == HOME).sum() == 3653 - (t.end - t.start + 1).sum()
