"""make_consumers: determinism, subset invariance, marginals, copula ranks, geography and segments."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.config import ATTRIBUTES, DEFAULT_CORRELATION, WorldConfig, make_config
from cardworld.data.geography import load_zips
from cardworld.errors import ConfigError
from cardworld.world import Consumers, age_pmf, cards_pmf, is_representative, make_consumers
from cardworld.world.consumers import max_cards_at

N = 3000


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman's rho needs."""
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inv]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def _equal(a: Consumers, b: Consumers) -> None:
    for name, col in a.columns().items():
        other = b.columns()[name]
        assert col.dtype == other.dtype, name
        assert np.array_equal(col, other), name


@pytest.fixture(scope="module")
def cfg() -> WorldConfig:
    return WorldConfig(consumers=N, seed=7)


@pytest.fixture(scope="module")
def pop(cfg: WorldConfig) -> Consumers:
    return make_consumers(cfg)


def test_dtypes_and_lengths(pop: Consumers) -> None:
    assert len(pop) == N
    for col in pop.columns().values():
        assert col.shape == (N,)
    assert pop.user_id.dtype == np.int32
    assert pop.zip_row.dtype == np.int32
    assert pop.birth_year.dtype == np.int16
    assert pop.birth_month.dtype == np.int8
    assert pop.birth_day.dtype == np.int16
    assert pop.fico_score.dtype == np.int16
    assert pop.num_credit_cards.dtype == np.int8
    assert pop.works.dtype == bool
    assert pop.yearly_income.dtype == np.float64
    assert pop.zipcode.dtype == np.dtype("<U5")
    assert np.array_equal(pop.user_id, np.arange(N))


def test_subset_equals_rows_of_full_draw(cfg: WorldConfig) -> None:
    full = make_consumers(cfg, range(10))
    _equal(make_consumers(cfg, [5, 6]), full.take(np.array([5, 6])))
    _equal(make_consumers(cfg, np.array([9, 0, 3])), full.take(np.array([9, 0, 3])))
    assert len(make_consumers(cfg, [])) == 0


def test_same_seed_same_bytes_other_seed_differs(cfg: WorldConfig) -> None:
    a, b = make_consumers(cfg, range(50)), make_consumers(cfg, range(50))
    for name, col in a.columns().items():
        if col.dtype != object:
            assert col.tobytes() == b.columns()[name].tobytes(), name
    other = make_consumers(cfg.model_copy(update={"seed": 8}), range(50))
    assert not np.array_equal(a.yearly_income, other.yearly_income)
    assert not np.array_equal(a.zip_row, other.zip_row)


def test_marginals(cfg: WorldConfig, pop: Consumers) -> None:
    t1 = cfg.table1
    # Income: lognormal with the config's mean; the sample mean of 3000 has a ~1% standard error.
    assert abs(pop.yearly_income.mean() / t1.income.mean - 1.0) < 0.15
    assert 35_000 < np.median(pop.yearly_income) < 46_000  # TabFormer median $40.7k
    # FICO ~ N(710, 67) clipped to 480..850: SE of the mean ~1.2, of the sd ~0.9.
    assert pop.fico_score.min() >= 480
    assert pop.fico_score.max() <= 850
    assert abs(pop.fico_score.mean() - 710) < 10
    assert abs(pop.fico_score.std() - 67) < 10
    # No-debt share 5%: binomial SE ~0.4 points, so ±1.5 points is ~4 SE.
    assert abs((pop.total_debt == 0).mean() - 0.05) < 0.015
    assert abs(pop.total_debt.mean() / 63_700 - 1.0) < 0.15
    # Cards per consumer: 1..9, mean 3.07 (SE ~0.03).
    assert pop.num_credit_cards.min() >= 1
    assert pop.num_credit_cards.max() <= 9
    assert abs(pop.num_credit_cards.mean() - 3.07) < 0.15
    pmf = cards_pmf(cfg)
    k = np.arange(1, 10)
    assert abs((pmf * k).sum() - 3.07) < 0.01
    assert abs(np.sqrt((pmf * (k - 3.07) ** 2).sum()) - 1.6) < 0.02
    # Age: adults 18..101, following the Census structure (mean ~48).
    ages, p = age_pmf()
    assert pop.age.min() >= 18
    assert pop.age.max() <= 101
    assert abs(pop.age.mean() - (ages * p).sum()) < 1.5
    assert abs((pop.gender == "Female").mean() - 0.508) < 0.03
    assert set(np.unique(pop.gender)) == {"Female", "Male"}
    assert pop.retirement_age.min() >= 60
    assert pop.retirement_age.max() <= 75
    assert abs(pop.retirement_age.mean() - 66) < 0.5


def test_birth_dates_match_age(cfg: WorldConfig, pop: Consumers) -> None:
    birth = (pop.birth_year.astype(np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    birth = birth + (pop.birth_day.astype(np.int64) - 1)
    month = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    assert np.array_equal(month, pop.birth_month)
    end = np.datetime64(cfg.end)
    years = end.astype("datetime64[Y]").astype(np.int64) - birth.astype("datetime64[Y]").astype(np.int64)
    birthday_passed = birth.astype("datetime64[D]") - birth.astype("datetime64[Y]").astype(
        "datetime64[D]"
    ) <= (end - end.astype("datetime64[Y]").astype("datetime64[D]"))
    assert np.array_equal(years - ~birthday_passed, pop.age)


def test_copula_rank_correlations(pop: Consumers) -> None:
    # Spearman's rho on 3000 draws has SE ~ (1 - rho^2) / sqrt(n) ~ 0.018; the ZIP income factor, ties in
    # the card counts and the debt point mass at 0 attenuate a little. ±0.08 leaves room for both.
    cols = {
        "age": pop.age,
        "income": pop.yearly_income,
        "debt": pop.total_debt,
        "fico": pop.fico_score,
        "cards": pop.num_credit_cards,
    }
    target = np.asarray(DEFAULT_CORRELATION)
    for i, a in enumerate(ATTRIBUTES):
        for j in range(i + 1, len(ATTRIBUTES)):
            b = ATTRIBUTES[j]
            got = spearman(cols[a], cols[b])
            assert abs(got - target[i, j]) < 0.08, (a, b, got, target[i, j])


def test_singular_correlation_is_accepted() -> None:
    ones = [[1.0] * 5 for _ in range(5)]  # PSD but singular: all attributes move together
    cfg = make_config({"population": {"correlation": ones}})
    pop = make_consumers(cfg, range(400))
    assert spearman(pop.fico_score, pop.num_credit_cards) > 0.9


def test_geography_follows_adult_population(pop: Consumers) -> None:
    zt = load_zips()
    # CA holds ~11.9% of US adults: binomial SE on 3000 is ~0.6 points, so ±2.5 points is ~4 SE.
    assert abs((pop.state == "CA").mean() - 0.119) < 0.025
    assert np.array_equal(pop.state, zt.state[pop.zip_row])
    assert np.array_equal(pop.zipcode, zt.zip[pop.zip_row])
    assert np.abs(pop.latitude - zt.lat[pop.zip_row]).max() < 0.1
    # Rich ZIPs have rich people.
    assert spearman(pop.per_capita_income_zip, pop.yearly_income) > 0.1
    assert 15_000 < pop.per_capita_income_zip.mean() < 35_000


def test_names_addresses_and_work(pop: Consumers) -> None:
    assert all(" " in s for s in pop.name[:100].tolist())
    assert all(s.split(" ", 1)[0].isdigit() for s in pop.address[:100].tolist())
    apt = np.array([a is not None for a in pop.apartment])
    assert 0.15 < apt.mean() < 0.35
    assert all(isinstance(a, int) and a > 0 for a in pop.apartment[apt].tolist())
    hours = pop.work_start_hour[pop.works]
    assert hours.min() >= 6
    assert hours.max() <= 10
    assert (pop.work_start_hour[~pop.works] == -1).all()
    assert 0.4 < pop.works.mean() < 0.8


def test_propensities(pop: Consumers) -> None:
    for p in (pop.travel_propensity, pop.online_propensity, pop.cash_propensity):
        assert (p > 0).all()
        assert abs(p.mean() - 1.0) < 0.1
    assert spearman(pop.travel_propensity, pop.yearly_income) > 0.3
    assert spearman(pop.cash_propensity, pop.yearly_income) < -0.3
    assert spearman(pop.online_propensity, pop.age) < -0.3


def test_segment_restrict() -> None:
    seg = {"states": ["NY", "VT"], "age_min": 30, "age_max": 40, "income_min": 20_000, "mode": "restrict"}
    cfg = make_config({"population": {"segment": seg}})
    assert not is_representative(cfg)
    assert is_representative(WorldConfig())
    pop = make_consumers(cfg, range(300))
    assert np.isin(pop.state, ["NY", "VT"]).all()
    assert pop.age.min() >= 30
    assert pop.age.max() <= 40
    assert pop.yearly_income.min() >= 20_000
    assert pop.in_segment.all()
    sub = make_consumers(cfg, [7, 3])
    _equal(sub, pop.take(np.array([7, 3])))


def test_segment_oversample() -> None:
    cfg = make_config({"population": {"segment": {"states": ["CA"], "mode": "oversample", "weight": 5}}})
    pop = make_consumers(cfg, range(1500))
    # Expected CA share 5 * 0.119 / (5 * 0.119 + 0.881) = 0.40; SE on 1500 ~1.3 points.
    assert abs((pop.state == "CA").mean() - 0.40) < 0.06
    assert np.array_equal(pop.in_segment, pop.state == "CA")


@pytest.mark.parametrize(
    "seg",
    [
        {"age_min": 105},
        {"income_min": 50_000_000},
        {"states": ["XX"]},
        {"states": ["WY"], "age_min": 101, "income_min": 300_000},
    ],
)
def test_empty_segment_is_a_config_error(seg: dict) -> None:
    cfg = make_config({"population": {"segment": seg}})
    with pytest.raises(ConfigError, match=r"population\.segment"):
        make_consumers(cfg, range(5))


def test_max_cards_at_hand_case() -> None:
    # 1 at 18, one more per 1.5 adult years, at most 9.
    ages = np.array([18, 19, 20, 21, 24, 29, 30, 80])
    assert max_cards_at(ages).tolist() == [1, 1, 2, 3, 5, 8, 9, 9]


def test_card_holdings_accumulate_with_age(pop: Consumers) -> None:
    assert (pop.num_credit_cards <= max_cards_at(pop.age)).all()
    young, settled = pop.age < 25, (pop.age >= 35) & (pop.age < 65)
    # ~360 consumers under 25 (mean cards SE ~0.1); before the age cap the gap was 0.5 cards, now ~1.2.
    assert pop.num_credit_cards[young].mean() < pop.num_credit_cards[settled].mean() - 0.7
    assert spearman(pop.age, pop.num_credit_cards) > 0.15
