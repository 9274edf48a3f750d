"""Consumers: who lives where, how old, how rich — one row per consumer, columnar numpy arrays.

    cons = make_consumers(cfg, np.arange(cfg.consumers))
    cons.yearly_income[:5], cons.state[:5]

RNG discipline: every draw for consumer ``u`` comes from ``stream(cfg.seed, Stream.POPULATION, u)``, as one
block of ``BLOCK`` uniforms per attempt (normals via the inverse normal CDF), so a consumer is the same
whatever ids it is drawn with: ``make_consumers(cfg, [5, 6])`` equals rows 5 and 6 of
``make_consumers(cfg, range(10))``. A segment in ``restrict`` / ``oversample`` mode redraws rejected
consumers from the next block of the same stream.

Attributes (age, income, debt, FICO, number of cards) are tied by a Gaussian copula over
``cfg.population.correlation`` (read as Spearman rank correlations and converted to the normal
correlations ``2 sin(π ρ_s / 6)`` so the ranks come out as configured), then mapped through each marginal:

* age (as of ``cfg.end``): the US adult age structure (Census 2020, 18..101), shifted a little towards
  the home ZIP's median age;
* income: lognormal with ``table1.income`` mean/sd overall, the person's part times the home ZIP's income
  relative to the nation (elasticity ``ZIP_INCOME_ELASTICITY``), so rich ZIPs have rich people;
* debt: ``NO_DEBT_SHARE`` have none, the rest lognormal as ``debt_to_income × income`` (independent
  lognormals) with overall mean ``debt_to_income.mean × income.mean``;
* FICO: normal ``table1.fico``, rounded, clipped to 480..850;
* cards: a discretised normal on 1..9 solved to ``table1.cards_per_consumer`` mean/sd, capped by age
  (``max_cards_at``: holdings accumulate, one more card per ``YEARS_PER_CARD`` adult years at most).

Dependence (``cfg.population.correlation``, documented there): older consumers earn, score and hold more;
debt rises with income and falls a little with age; credit limits follow income and FICO by underwriting
(``world.cards``) and account histories are bounded by adult life (``world.card_life``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from cardworld.config import ATTRIBUTES, WorldConfig
from cardworld.data.geography import ZipTable, load_zips
from cardworld.errors import ConfigError
from cardworld.rng import Stream, stream
from cardworld.stats import lognormal_params, norm_cdf, norm_ppf, pick
from cardworld.world.names import full_names, street_addresses

FEMALE_SHARE = 0.508  # Census 2020: 50.8% of US residents are female
NO_DEBT_SHARE = 0.05
ZIP_INCOME_ELASTICITY = 0.6  # log personal income moves 0.6 per unit of log ZIP median income
AGE_ZIP_SHIFT = 0.25  # copula-normal shift per sd of ZIP median age (renormalised to keep N(0, 1))
APARTMENT_SHARE = 0.25  # ~25% of TabFormer users have an apartment number; more in dense ZIPs
FICO_RANGE = (480, 850)
MAX_CARDS = 9
RETIREMENT_AGE = (66.0, 3.5, 60, 75)  # mean, sd, min, max
WORK_START_HOURS = (np.arange(6, 11), np.array([0.10, 0.25, 0.35, 0.20, 0.10]))
# Employment-population ratio by age (BLS CPS, around 2019), before retirement age.
EMPLOYMENT_BY_AGE = ((18, 0.55), (20, 0.68), (25, 0.80), (55, 0.70), (62, 0.55))
# US resident population by age, Census 2020 (millions), adults only: (first age, last age, people).
AGE_BANDS = (
    (18, 19, 8.7), (20, 24, 21.4), (25, 29, 22.4), (30, 34, 22.3), (35, 39, 21.6), (40, 44, 20.1),
    (45, 49, 20.0), (50, 54, 20.5), (55, 59, 21.5), (60, 64, 20.8), (65, 69, 17.6), (70, 74, 14.3),
    (75, 79, 9.7), (80, 84, 6.3), (85, 89, 3.8), (90, 94, 1.8), (95, 99, 0.5), (100, 101, 0.1),
)  # fmt: skip
PROPENSITY_NOISE = 0.4  # log-sd of the personal part of each propensity
# Holdings accumulate: a first card at 18, then at most one more per YEARS_PER_CARD years of adult life
# (the young hold fewer cards: Fed SHED / CFPB young-adult card ownership), on top of the copula's
# age-cards rank correlation.
YEARS_PER_CARD = 1.5

# Columns of a consumer's uniform block (one block per draw attempt).
_Z0, _ZIP, _GENDER, _DOY, _RETIRE, _JLAT, _JLON, _TRAVEL, _ONLINE, _CASH = 0, 5, 6, 7, 8, 9, 10, 11, 12, 13
_FIRST, _LAST, _HOUSE, _STREET, _SUFFIX, _APT, _APTNO, _WORKS, _HOUR, _ACCEPT = range(14, 24)
BLOCK = 24
SEGMENT_PROBE = 20_000  # draws used to size up a segment before sampling it
MIN_SEGMENT_RATE = 1e-3  # below this acceptance rate a segment counts as (nearly) empty
MAX_ATTEMPTS = 100_000  # per consumer


# ---------------------------------------------------------------- the table
@dataclass(frozen=True, eq=False)
class Consumers:
    """One row per consumer (all arrays have length ``len(self)``), in the order of the requested ids.

    Fields (dtype):

    * ``user_id`` (int32); ``zip_row`` (int32, row in ``load_zips()``)
    * ``name`` (<U, 'First Last'); ``gender`` (<U6, 'Female'/'Male')
    * ``age`` (int16, whole years on ``cfg.end``); ``birth_year`` (int16); ``birth_month`` (int8, 1..12);
      ``birth_day`` (int16, day of the birth year, 1..365)
    * ``retirement_age`` (int16, 60..75); ``retire_year`` (int16, ``birth_year + retirement_age``: the
      year work stops)
    * ``address`` (<U, '462 Rose Lane'); ``apartment`` (object: None, or the apartment number as int)
    * ``city`` (<U), ``state`` (<U2), ``zipcode`` (<U5): the home ZIP's
    * ``latitude``/``longitude`` (float64): the home ZIP's point plus ~1 km of jitter
    * ``per_capita_income_zip`` (float64): the ZIP's median household income scaled to TabFormer's
      per-capita level (half the config's mean income for the average ZIP)
    * ``yearly_income``, ``total_debt`` (float64, dollars, whole cents); ``fico_score`` (int16, 480..850);
      ``num_credit_cards`` (int8, 1..9: how many card indexes ``make_cards`` opens)
    * ``travel_propensity`` (float64, rises with income, mean ~1), ``online_propensity`` (float64, falls
      with age, mean ~1), ``cash_propensity`` (float64, falls with income, mean ~1)
    * ``works`` (bool): has a job at ``cfg.start`` (employment falls with age; nobody past retirement
      age); work stops in ``retire_year``. ``work_start_hour`` (int8, 6..10 for workers, -1 otherwise)
    * ``in_segment`` (bool): inside ``cfg.population.segment`` (all True for a representative world)
    """

    user_id: np.ndarray
    zip_row: np.ndarray
    name: np.ndarray
    gender: np.ndarray
    age: np.ndarray
    birth_year: np.ndarray
    birth_month: np.ndarray
    birth_day: np.ndarray
    retirement_age: np.ndarray
    retire_year: np.ndarray
    address: np.ndarray
    apartment: np.ndarray
    city: np.ndarray
    state: np.ndarray
    zipcode: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    per_capita_income_zip: np.ndarray
    yearly_income: np.ndarray
    total_debt: np.ndarray
    fico_score: np.ndarray
    num_credit_cards: np.ndarray
    travel_propensity: np.ndarray
    online_propensity: np.ndarray
    cash_propensity: np.ndarray
    works: np.ndarray
    work_start_hour: np.ndarray
    in_segment: np.ndarray

    def __len__(self) -> int:
        return int(self.user_id.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        """Field name -> array, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def take(self, rows: np.ndarray) -> Consumers:
        """The given rows (positions, not user ids), as a new table."""
        return Consumers(**{k: v[rows] for k, v in self.columns().items()})


def is_representative(cfg: WorldConfig) -> bool:
    """True when the world's population is not restricted or re-weighted by a segment (a segment that
    constrains nothing counts as representative)."""
    seg = cfg.population.segment
    if seg is None:
        return True
    bounds = (seg.states, seg.age_min, seg.age_max, seg.income_min, seg.income_max)
    if all(b is None for b in bounds):
        return True
    return seg.mode == "oversample" and seg.weight == 1.0


# ---------------------------------------------------------------- marginals and context
@lru_cache(maxsize=1)
def _age_table() -> tuple[np.ndarray, np.ndarray]:
    ages, weights = [], []
    for a0, a1, people in AGE_BANDS:
        span = a1 - a0 + 1
        ages.extend(range(a0, a1 + 1))
        weights.extend([people / span] * span)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.array(ages, dtype=np.int16), cdf


def age_pmf() -> tuple[np.ndarray, np.ndarray]:
    """(ages 18..101, probabilities): the US adult age structure the population follows."""
    ages, cdf = _age_table()
    return ages.copy(), np.diff(cdf, prepend=0.0)


@lru_cache(maxsize=16)
def _cards_cdf(mean: float, sd: float) -> np.ndarray:
    """CDF over 1..MAX_CARDS of a discretised normal whose (truncated) mean and sd hit the targets."""
    k = np.arange(1, MAX_CARDS + 1, dtype=np.float64)
    mean = min(max(mean, 1.0), float(MAX_CARDS))
    m, s = mean, max(sd, 0.05)
    for _ in range(500):
        logit = -0.5 * ((k - m) / s) ** 2
        p = np.exp(logit - logit.max())
        p /= p.sum()
        got_m = (p * k).sum()
        got_s = math.sqrt(max((p * (k - got_m) ** 2).sum(), 1e-12))
        m = min(max(m + mean - got_m, -20.0), 30.0)
        s = min(max(s * (max(sd, 0.05) / got_s) ** 0.5, 0.05), 50.0)
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return cdf


def max_cards_at(age: np.ndarray) -> np.ndarray:
    """The most card indexes a consumer of ``age`` (years on cfg.end) holds: 1 at 18, one more per
    YEARS_PER_CARD years, at most MAX_CARDS."""
    adult_years = np.maximum(np.asarray(age, dtype=np.float64) - 18.0, 0.0)
    return np.minimum(1 + np.floor(adult_years / YEARS_PER_CARD), MAX_CARDS).astype(np.int64)


def cards_pmf(cfg: WorldConfig) -> np.ndarray:
    """P(num_credit_cards = 1..9) implied by ``cfg.table1.cards_per_consumer``, before the age cap
    (``max_cards_at``, which lowers the mean by about 0.06)."""
    mc = cfg.table1.cards_per_consumer
    return np.diff(_cards_cdf(float(mc.mean), float(mc.sd)), prepend=0.0)


def copula_factor(correlation: list[list[float]]) -> np.ndarray:
    """A with A Aᵀ = the normal correlation matrix whose Gaussian copula has the given Spearman
    correlations (via 2 sin(π ρ_s / 6)); eigen-based so a PSD (singular) matrix works too."""
    rs = np.asarray(correlation, dtype=np.float64)
    r = 2.0 * np.sin(np.pi * rs / 6.0)
    np.fill_diagonal(r, 1.0)
    vals, vecs = np.linalg.eigh(r)
    a = vecs * np.sqrt(np.clip(vals, 0.0, None))
    a /= np.sqrt((a * a).sum(axis=1, keepdims=True))  # unit diagonal after clipping tiny negatives
    return a


@dataclass(frozen=True)
class _Ctx:
    zips: ZipTable
    zip_rows: np.ndarray  # candidate ZIP rows (all, or the segment's states in restrict mode)
    zip_cdf: np.ndarray
    factor: np.ndarray
    inc_mu: float
    inc_sigma: float
    inc_sigma_total: float
    zip_log_inc_mean: float
    zip_inc_norm: float
    age_mean_zip: float
    age_sd_zip: float
    debt_mu: float
    debt_sigma: float
    cards_cdf: np.ndarray
    pc_income_scale: float
    urban_mean: float
    end: dt.date
    start: dt.date


def _context(cfg: WorldConfig) -> _Ctx:
    zt = load_zips()
    t1 = cfg.table1
    w = zt.adult_weights()
    seg = cfg.population.segment
    rows = np.arange(len(zt))
    if seg is not None and seg.states is not None:
        unknown = sorted(set(seg.states) - set(np.unique(zt.state).tolist()))
        if unknown:
            raise ConfigError(
                f"population.segment.states: {unknown} have no residential ZIPs (50 states + DC only); "
                "use 2-letter codes such as 'CA'"
            )
        if seg.mode == "restrict":
            rows = np.flatnonzero(np.isin(zt.state, seg.states))
    cdf = np.cumsum(zt.adult_population[rows])
    cdf /= cdf[-1]

    log_zip = np.log(zt.median_household_income)
    zm = float((w * log_zip).sum())
    zvar = float((w * (log_zip - zm) ** 2).sum())
    beta = ZIP_INCOME_ELASTICITY
    _, s_t = lognormal_params(t1.income.mean, t1.income.sd)
    s_p = math.sqrt(max(s_t**2 - beta**2 * zvar, 0.25 * s_t**2))
    norm = float((w * np.exp(beta * (log_zip - zm))).sum())

    _, dti_s = lognormal_params(t1.debt_to_income.mean, t1.debt_to_income.sd)
    debt_s = math.sqrt(dti_s**2 + s_t**2)
    debtor_mean = t1.debt_to_income.mean * t1.income.mean / (1.0 - NO_DEBT_SHARE)
    age_m = float((w * zt.median_age).sum())
    age_s = float(np.sqrt((w * (zt.median_age - age_m) ** 2).sum()))
    mhi_mean = float((w * zt.median_household_income).sum())
    return _Ctx(
        zips=zt,
        zip_rows=rows,
        zip_cdf=cdf,
        factor=copula_factor(cfg.population.correlation),
        inc_mu=math.log(t1.income.mean) - s_p**2 / 2.0,
        inc_sigma=s_p,
        inc_sigma_total=s_t,
        zip_log_inc_mean=zm,
        zip_inc_norm=norm,
        age_mean_zip=age_m,
        age_sd_zip=max(age_s, 1e-9),
        debt_mu=math.log(debtor_mean) - debt_s**2 / 2.0,
        debt_sigma=debt_s,
        cards_cdf=_cards_cdf(float(t1.cards_per_consumer.mean), float(t1.cards_per_consumer.sd)),
        pc_income_scale=0.5 * t1.income.mean / mhi_mean,
        urban_mean=float((w * zt.urban).sum()),
        end=cfg.end,
        start=cfg.start,
    )


# ---------------------------------------------------------------- from uniform blocks to attributes
def _core(cfg: WorldConfig, ctx: _Ctx, u: np.ndarray) -> dict[str, np.ndarray]:
    """The attributes a segment can test (and everything they need), from (n, BLOCK) uniforms."""
    zt = ctx.zips
    e = norm_ppf(u[:, _Z0 : _Z0 + len(ATTRIBUTES)])
    z = e @ ctx.factor.T  # correlated standard normals, columns in ATTRIBUTES order
    zip_row = ctx.zip_rows[pick(ctx.zip_cdf, u[:, _ZIP])].astype(np.int32)

    shift = (zt.median_age[zip_row] - ctx.age_mean_zip) / ctx.age_sd_zip
    z_age = (z[:, 0] + AGE_ZIP_SHIFT * shift) / math.sqrt(1.0 + AGE_ZIP_SHIFT**2)
    ages, age_cdf = _age_table()
    age = ages[pick(age_cdf, norm_cdf(z_age))]

    log_zip = np.log(zt.median_household_income[zip_row]) - ctx.zip_log_inc_mean
    income = np.exp(ctx.inc_mu + ctx.inc_sigma * z[:, 1] + ZIP_INCOME_ELASTICITY * log_zip) / ctx.zip_inc_norm
    income = np.round(income, 2)
    return {"z": z, "zip_row": zip_row, "age": age.astype(np.int16), "yearly_income": income}


def _in_segment(cfg: WorldConfig, ctx: _Ctx, core: dict[str, np.ndarray]) -> np.ndarray:
    seg = cfg.population.segment
    ok = np.ones(core["age"].shape[0], dtype=bool)
    if seg is None:
        return ok
    if seg.states is not None:
        ok &= np.isin(ctx.zips.state[core["zip_row"]], seg.states)
    if seg.age_min is not None:
        ok &= core["age"] >= seg.age_min
    if seg.age_max is not None:
        ok &= core["age"] <= seg.age_max
    if seg.income_min is not None:
        ok &= core["yearly_income"] >= seg.income_min
    if seg.income_max is not None:
        ok &= core["yearly_income"] <= seg.income_max
    return ok


def _accept(cfg: WorldConfig, ctx: _Ctx, u: np.ndarray, core: dict[str, np.ndarray]) -> np.ndarray:
    seg = cfg.population.segment
    inside = _in_segment(cfg, ctx, core)
    if seg is None or seg.mode == "restrict":
        return inside
    w = float(seg.weight)  # relative weight w: inside kept with min(1, w), outside with min(1, 1/w)
    return np.where(inside, u[:, _ACCEPT] < min(1.0, w), u[:, _ACCEPT] < min(1.0, 1.0 / w))


def _finish(cfg: WorldConfig, ctx: _Ctx, ids: np.ndarray, u: np.ndarray) -> Consumers:
    zt = ctx.zips
    core = _core(cfg, ctx, u)
    z, zip_row, age, income = core["z"], core["zip_row"], core["age"], core["yearly_income"]
    n = ids.shape[0]
    t1 = cfg.table1

    # Debt: a point mass at 0, then a lognormal (copula uniform rescaled past the mass).
    u_debt = norm_cdf(z[:, 2])
    has_debt = u_debt >= NO_DEBT_SHARE
    z_debt = norm_ppf(np.where(has_debt, (u_debt - NO_DEBT_SHARE) / (1.0 - NO_DEBT_SHARE), 0.5))
    debt = np.where(has_debt, np.round(np.exp(ctx.debt_mu + ctx.debt_sigma * z_debt), 2), 0.0)

    fico = np.clip(np.rint(t1.fico.mean + t1.fico.sd * z[:, 3]), *FICO_RANGE).astype(np.int16)
    cards = np.minimum(1 + pick(ctx.cards_cdf, norm_cdf(z[:, 4])), max_cards_at(age))  # cdf covers 1..9

    female = u[:, _GENDER] < FEMALE_SHARE
    doy = (1 + np.floor(u[:, _DOY] * 365.0)).astype(np.int16)
    end_doy = ctx.end.timetuple().tm_yday
    birth_year = (ctx.end.year - age - (doy > end_doy)).astype(np.int16)
    birth_date = (birth_year.astype(np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]") + (
        doy.astype(np.int64) - 1
    )
    birth_month = (birth_date.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int8)

    r_mean, r_sd, r_min, r_max = RETIREMENT_AGE
    retirement_age = np.clip(np.rint(r_mean + r_sd * norm_ppf(u[:, _RETIRE])), r_min, r_max).astype(np.int16)
    retire_year = (birth_year + retirement_age).astype(np.int16)

    lat = zt.lat[zip_row] + 0.01 * norm_ppf(u[:, _JLAT])
    lon = zt.lon[zip_row] + 0.01 * norm_ppf(u[:, _JLON])

    urban = zt.urban[zip_row]
    p_apt = np.clip(APARTMENT_SHARE * urban / ctx.urban_mean, 0.0, 0.9)
    apt_no = np.floor(10.0 ** (3.0 * u[:, _APTNO])).astype(np.int64) + 1
    apartment = np.full(n, None, dtype=object)
    has_apt = u[:, _APT] < p_apt
    apartment[has_apt] = apt_no[has_apt].tolist()

    travel, online, cash = _propensities(cfg, ctx, u, income, age)
    works, work_start_hour = _work(ctx, u, z, age, retirement_age)

    return Consumers(
        user_id=ids.astype(np.int32),
        zip_row=zip_row,
        name=full_names(u[:, _FIRST], u[:, _LAST], female),
        gender=np.where(female, "Female", "Male"),
        age=age,
        birth_year=birth_year,
        birth_month=birth_month,
        birth_day=doy,
        retirement_age=retirement_age,
        retire_year=retire_year,
        address=street_addresses(u[:, _HOUSE], u[:, _STREET], u[:, _SUFFIX]),
        apartment=apartment,
        city=zt.city[zip_row],
        state=zt.state[zip_row],
        zipcode=zt.zip[zip_row],
        latitude=lat,
        longitude=lon,
        per_capita_income_zip=np.round(zt.median_household_income[zip_row] * ctx.pc_income_scale, 0),
        yearly_income=income,
        total_debt=debt,
        fico_score=fico,
        num_credit_cards=cards.astype(np.int8),
        travel_propensity=travel,
        online_propensity=online,
        cash_propensity=cash,
        works=works,
        work_start_hour=work_start_hour,
        in_segment=_in_segment(cfg, ctx, core),
    )


def _propensities(
    cfg: WorldConfig, ctx: _Ctx, u: np.ndarray, income: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(travel, online, cash) propensities: lognormal, mean ~1 (the constant removes the variance of the
    exponent); travel rises and cash falls with income, online falls with age."""
    t1 = cfg.table1
    log_inc = np.log(np.maximum(income, 1.0)) - (math.log(t1.income.mean) - ctx.inc_sigma_total**2 / 2.0)
    s2 = ctx.inc_sigma_total**2
    noise2 = PROPENSITY_NOISE**2
    travel = np.exp(0.7 * log_inc + PROPENSITY_NOISE * norm_ppf(u[:, _TRAVEL]) - (0.49 * s2 + noise2) / 2.0)
    cash = np.exp(-0.5 * log_inc + PROPENSITY_NOISE * norm_ppf(u[:, _CASH]) - (0.25 * s2 + noise2) / 2.0)
    ages, age_p = age_pmf()
    age_mean = float((ages * age_p).sum())
    age_var = float(((ages - age_mean) ** 2 * age_p).sum())
    slope = -0.025
    online = np.exp(
        slope * (age - age_mean)
        + PROPENSITY_NOISE * norm_ppf(u[:, _ONLINE])
        - (slope**2 * age_var + noise2) / 2.0
    )
    return travel, online, cash


def _work(
    ctx: _Ctx, u: np.ndarray, z: np.ndarray, age: np.ndarray, retirement_age: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(works, work_start_hour; -1 for non-workers): employment by age at cfg.start, a little likelier
    with higher income (copula column 1); none past retirement."""
    age_start = age - (ctx.end.year - ctx.start.year)
    band_ages = np.array([a for a, _ in EMPLOYMENT_BY_AGE])
    band_p = np.array([p for _, p in EMPLOYMENT_BY_AGE])
    p_work = band_p[np.clip(np.searchsorted(band_ages, age_start, side="right") - 1, 0, len(band_p) - 1)]
    p_work = np.clip(p_work * (0.75 + 0.5 * norm_cdf(z[:, 1])), 0.0, 0.97)
    works = (u[:, _WORKS] < p_work) & (age_start < retirement_age)
    hours, hour_p = WORK_START_HOURS
    hour = hours[pick(np.cumsum(hour_p), u[:, _HOUR])]
    return works, np.where(works, hour, -1).astype(np.int8)


# ---------------------------------------------------------------- sampling
def _segment_rate(cfg: WorldConfig, ctx: _Ctx) -> float:
    """Share of draws a segment accepts, from SEGMENT_PROBE draws of the world's SEGMENT stream."""
    u = stream(cfg.seed, Stream.SEGMENT, 0).random((SEGMENT_PROBE, BLOCK))
    rate = float(_accept(cfg, ctx, u, _core(cfg, ctx, u)).mean())
    if rate < MIN_SEGMENT_RATE:
        seg = cfg.population.segment
        raise ConfigError(
            f"population.segment: (nearly) empty — only {rate:.3%} of consumers drawn fall in it "
            f"(states={seg.states}, age {seg.age_min}..{seg.age_max}, income {seg.income_min}..{seg.income_max}); "
            "widen the age or income band, or add states"
        )
    return rate


def make_consumers(cfg: WorldConfig, ids: np.ndarray | range | list[int] | None = None) -> Consumers:
    """Consumers ``ids`` (default ``range(cfg.consumers)``), one row each, in the given order.

    Each consumer's attributes come only from ``stream(cfg.seed, Stream.POPULATION, id)``: any subset of
    ids gives exactly the rows the full draw gives. Raises ``ConfigError`` for a segment with unknown
    states or one that (nearly) no consumer falls into.
    """
    ids = np.arange(cfg.consumers) if ids is None else np.asarray(ids, dtype=np.int64).reshape(-1)
    if ids.size and ids.min() < 0:
        raise ConfigError(f"consumer ids must be >= 0, got {int(ids.min())}")
    ctx = _context(cfg)
    gens = [stream(cfg.seed, Stream.POPULATION, int(i)) for i in ids.tolist()]
    if is_representative(cfg):
        u = np.stack([g.random(BLOCK) for g in gens]) if gens else np.zeros((0, BLOCK))
        return _finish(cfg, ctx, ids, u)

    rate = _segment_rate(cfg, ctx)
    # Several attempts per generator call; a consumer keeps its first accepted block. Generator.random
    # fills doubles in order, so the result does not depend on the batch size.
    batch = int(min(256, max(1, math.ceil(1.5 / rate))))
    chosen = np.zeros((ids.shape[0], BLOCK))
    pending = np.arange(ids.shape[0])
    attempts = 0
    while pending.size:
        if attempts >= MAX_ATTEMPTS:
            raise ConfigError(
                f"population.segment: {pending.size} consumers found no draw inside the segment in "
                f"{MAX_ATTEMPTS} attempts; widen the segment"
            )
        u = np.stack([gens[i].random((batch, BLOCK)) for i in pending.tolist()]).reshape(-1, BLOCK)
        ok = _accept(cfg, ctx, u, _core(cfg, ctx, u)).reshape(pending.size, batch)
        hit = ok.any(axis=1)
        first = ok.argmax(axis=1)
        chosen[pending[hit]] = u.reshape(pending.size, batch, BLOCK)[hit, first[hit]]
        pending = pending[~hit]
        attempts += batch
    return _finish(cfg, ctx, ids, chosen)


__all__ = [
    "Consumers",
    "age_pmf",
    "cards_pmf",
    "copula_factor",
    "is_representative",
    "make_consumers",
    "max_cards_at",
]
