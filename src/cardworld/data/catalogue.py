"""The goods and services consumers buy: how often, when, where, for how much, and under which MCCs.

``catalogue.yaml`` lists about a hundred items (groceries, fuel, tolls, airline tickets, ...). Each item
says how many people ever buy it, a lognormal yearly purchase rate among buyers, hour-of-day and
weekday/weekend propensities, multipliers by trip state, an online-share curve over the years, income
elasticities, a lognormal amount, PIN, refund and cash propensities, and the MCCs it is sold under.
The YAML header describes every field and names the sources; ``load_catalogue`` validates the file with
pydantic (a bad edit names the item and field) and returns a frozen, picklable, columnar ``Catalogue``.

Conventions the simulator can rely on (all applied on load):

* ``hours`` rows sum to 1 (probability of each local hour 0..23).
* ``weekday`` and ``weekend`` are rescaled so that ``5 * weekday + 2 * weekend == 7``: they shape the
  week without changing the yearly rate.
* ``trip_factor[i, s]`` = raw multiplier for trip state ``s`` divided by its average under the default
  time shares ``trip_time_share`` (share of days at home, on a getaway, on vacation, on a business
  trip): a person with the default travel pattern buys at ``rate_median_per_year`` on average, and an
  airline ticket (home ≈ 0) is bought on trip days. The raw multipliers are kept in ``trip``.
* ``mcc_weights`` of an item sum to 1.
* Rates and amounts are at ``reference_income``; at household income ``y`` they scale by
  ``(y / reference_income) ** elasticity`` (``rate_income_elasticity``, ``amount_income_elasticity``).
* Amounts are lognormal(``amount_median``, ``amount_sigma``), clipped to [``amount_min``, ``amount_max``],
  then rounded to a multiple of ``amount_step``.
* The online share in year ``y`` is 0 before ``online_start_year``, else
  ``online_max_share / (1 + exp(-online_slope * (y - online_mid_year)))``.
* An item exists only in ``first_year`` .. ``last_year`` (video rental ends, app stores begin).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cardworld.codes import TRIP_KIND_NAMES
from cardworld.data import data_path
from cardworld.errors import ConfigError
from cardworld.stats import norm_cdf
from cardworld.yamlfile import describe, read_yaml
from cardworld.yamlfile import fail as _fail

DEFAULT_FILE = "catalogue.yaml"

_NAME = r"^[a-z][a-z0-9_]*$"
_Share = Annotated[float, Field(ge=0.0, le=1.0)]
_NonNeg = Annotated[float, Field(ge=0.0)]
_Pos = Annotated[float, Field(gt=0.0)]
_Elasticity = Annotated[float, Field(ge=-3.0, le=3.0)]
_Year = Annotated[int, Field(ge=1900, le=2200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MccWeight(_Strict):
    mcc: Annotated[int, Field(ge=0, le=9999)]
    weight: _Pos


class ItemSpec(_Strict):
    """One catalogue item as written in the YAML (after ``defaults`` are merged in)."""

    name: Annotated[str, Field(pattern=_NAME, max_length=40)]
    description: Annotated[str, Field(min_length=1)]
    mccs: Annotated[list[MccWeight], Field(min_length=1)]
    buyers: Annotated[float, Field(gt=0.0, le=1.0)]
    rate_median_per_year: _Pos
    rate_sigma: Annotated[float, Field(ge=0.0, le=3.0)]
    hours: str | Annotated[list[_NonNeg], Field(min_length=24, max_length=24)]
    weekday: _NonNeg
    weekend: _NonNeg
    home: _NonNeg
    getaway: _NonNeg
    vacation: _NonNeg
    business: _NonNeg
    first_year: _Year
    last_year: _Year
    recurring: bool
    online_start_year: _Year
    online_max_share: _Share
    online_mid_year: Annotated[float, Field(ge=1900, le=2200)]
    online_slope: _Pos
    rate_income_elasticity: _Elasticity
    amount_income_elasticity: _Elasticity
    amount_median: _Pos
    amount_sigma: Annotated[float, Field(ge=0.0, le=3.0)]
    amount_min: _Pos
    amount_max: _Pos
    amount_step: _Pos
    card_present_pin_share: _Share
    refund_rate: _Share
    cash_affinity: _NonNeg
    sources: Annotated[list[str], Field(min_length=1)]

    @field_validator("mccs")
    @classmethod
    def _unique_mccs(cls, v: list[MccWeight]) -> list[MccWeight]:
        codes = [m.mcc for m in v]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"MCC {dup[0]} is listed twice; merge its weights into one entry")
        return v

    @field_validator("hours")
    @classmethod
    def _hours_not_zero(cls, v: str | list[float]) -> str | list[float]:
        if isinstance(v, list) and sum(v) <= 0:
            raise ValueError("all 24 hour weights are 0; give at least one positive weight")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ItemSpec:
        if not self.amount_min <= self.amount_median <= self.amount_max:
            raise ValueError(
                f"amount_median {self.amount_median} must lie in [amount_min {self.amount_min}, "
                f"amount_max {self.amount_max}]"
            )
        if self.weekday + self.weekend <= 0:
            raise ValueError("weekday and weekend are both 0; give one a positive propensity")
        if self.home + self.getaway + self.vacation + self.business <= 0:
            raise ValueError("home, getaway, vacation and business are all 0; give one a positive multiplier")
        if self.first_year > self.last_year:
            raise ValueError(f"first_year {self.first_year} is after last_year {self.last_year}")
        return self


class TripTimeShare(_Strict):
    home: _Share
    getaway: _Share
    vacation: _Share
    business: _Share

    @model_validator(mode="after")
    def _sums_to_one(self) -> TripTimeShare:
        total = self.home + self.getaway + self.vacation + self.business
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares sum to {total:g}; they must sum to 1")
        return self


class CatalogueFile(_Strict):
    """Top level of catalogue.yaml. Items stay raw here and are validated one by one (to name them)."""

    version: Annotated[int, Field(ge=1)]
    reference_income: _Pos
    trip_time_share: TripTimeShare
    sources: dict[str, str]
    hour_profiles: dict[str, Annotated[list[_NonNeg], Field(min_length=24, max_length=24)]]
    defaults: dict[str, Any]
    items: Annotated[list[dict[str, Any]], Field(min_length=1)]


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Columnar catalogue: one row per item; arrays are read-only numpy arrays (picklable, numba-friendly).

    Per item (length n): ``buyers``, ``rate_median_per_year``, ``rate_sigma``, ``weekday``, ``weekend``,
    ``online_max_share``, ``online_mid_year``, ``online_slope``, ``rate_income_elasticity``,
    ``amount_income_elasticity``, ``amount_median``, ``amount_sigma``, ``amount_min``, ``amount_max``,
    ``amount_step``, ``card_present_pin_share``, ``refund_rate``, ``cash_affinity`` (float64);
    ``online_start_year``, ``first_year``, ``last_year`` (int32); ``recurring`` (bool).
    ``hours`` (n, 24) float64, rows sum to 1. ``trip`` and ``trip_factor`` (n, 4) float64, columns in
    ``codes.TRIP_KIND_NAMES`` (TripKind) order. MCCs as CSR: item i sells under
    ``mcc_codes[mcc_offsets[i]:mcc_offsets[i+1]]``
    (int32) with probabilities ``mcc_weights[...]`` (float64, sum to 1); ``mcc_offsets`` is int64 (n+1).
    """

    names: tuple[str, ...]
    descriptions: tuple[str, ...]
    sources: tuple[tuple[str, ...], ...]
    buyers: np.ndarray
    rate_median_per_year: np.ndarray
    rate_sigma: np.ndarray
    hours: np.ndarray
    weekday: np.ndarray
    weekend: np.ndarray
    trip: np.ndarray
    trip_factor: np.ndarray
    first_year: np.ndarray
    last_year: np.ndarray
    recurring: np.ndarray
    online_start_year: np.ndarray
    online_max_share: np.ndarray
    online_mid_year: np.ndarray
    online_slope: np.ndarray
    rate_income_elasticity: np.ndarray
    amount_income_elasticity: np.ndarray
    amount_median: np.ndarray
    amount_sigma: np.ndarray
    amount_min: np.ndarray
    amount_max: np.ndarray
    amount_step: np.ndarray
    card_present_pin_share: np.ndarray
    refund_rate: np.ndarray
    cash_affinity: np.ndarray
    mcc_offsets: np.ndarray
    mcc_codes: np.ndarray
    mcc_weights: np.ndarray
    reference_income: float
    trip_time_share: np.ndarray
    source_notes: dict[str, str] = field(repr=False)
    hour_profile_names: tuple[str | None, ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.names)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    def index(self, name: str) -> int:
        """Row of an item by name; raises ``ConfigError`` listing close names if unknown."""
        try:
            return self._index[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, self.names, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"catalogue: no item named {name!r}{hint}; see ITEM_NAMES") from None

    def mccs_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes, weights) of item ``i``."""
        lo, hi = self.mcc_offsets[i], self.mcc_offsets[i + 1]
        return self.mcc_codes[lo:hi], self.mcc_weights[lo:hi]

    def mean_rate_among_buyers(self) -> np.ndarray:
        """E[yearly rate | buyer] = median · exp(σ²/2), per item, at the reference income."""
        return self.rate_median_per_year * np.exp(0.5 * self.rate_sigma**2)

    def expected_rate(self, year: int | None = None) -> np.ndarray:
        """Expected purchases per person-year, per item (buyers × mean rate), optionally only items alive in ``year``."""
        rate = self.buyers * self.mean_rate_among_buyers()
        if year is not None:
            rate = np.where((self.first_year <= year) & (year <= self.last_year), rate, 0.0)
        return rate

    def online_share(self, year: float) -> np.ndarray:
        """Share of each item's purchases made online (card not present) in ``year``."""
        share = self.online_max_share / (1.0 + np.exp(-self.online_slope * (year - self.online_mid_year)))
        return np.where(year >= self.online_start_year, share, 0.0)

    def income_factors(self, income: float) -> tuple[np.ndarray, np.ndarray]:
        """(rate factor, amount factor) per item for a household income in dollars."""
        ratio = max(float(income), 1.0) / self.reference_income
        return ratio**self.rate_income_elasticity, ratio**self.amount_income_elasticity


# ---------------------------------------------------------------------------------------------- loading


def _describe(err: ValidationError) -> str:
    return describe(err, "(item)")


def _parse(path: Path) -> tuple[CatalogueFile, list[ItemSpec]]:
    raw = read_yaml(path, "catalogue")
    if not isinstance(raw, dict):
        raise _fail(
            path, "top level", "expected a mapping with version, sources, hour_profiles, defaults, items"
        )
    try:
        top = CatalogueFile.model_validate(raw)
    except ValidationError as exc:
        raise _fail(path, "top level", _describe(exc)) from None

    allowed = set(ItemSpec.model_fields)
    bad_defaults = sorted(set(top.defaults) - allowed)
    if bad_defaults:
        raise _fail(path, "defaults", f"unknown field(s) {bad_defaults}; allowed: {sorted(allowed)}")

    specs: list[ItemSpec] = []
    seen: dict[str, int] = {}
    for pos, item in enumerate(top.items):
        label = f"item #{pos}"
        if isinstance(item.get("name"), str):
            label = f"item '{item['name']}' (#{pos})"
        try:
            spec = ItemSpec.model_validate({**top.defaults, **item})
        except ValidationError as exc:
            raise _fail(path, label, _describe(exc)) from None
        if spec.name in seen:
            raise _fail(
                path, label, f"field 'name': duplicate of item #{seen[spec.name]}; names must be unique"
            )
        seen[spec.name] = pos
        if isinstance(spec.hours, str) and spec.hours not in top.hour_profiles:
            raise _fail(
                path,
                label,
                f"field 'hours': unknown profile {spec.hours!r}; use one of {sorted(top.hour_profiles)}",
            )
        missing = [s for s in spec.sources if s not in top.sources]
        if missing:
            raise _fail(
                path, label, f"field 'sources': unknown key(s) {missing}; define them under 'sources'"
            )
        specs.append(spec)
    for pname, weights in top.hour_profiles.items():
        if sum(weights) <= 0:
            raise _fail(
                path, f"hour_profiles.{pname}", "all 24 weights are 0; give at least one positive weight"
            )
    _check_mccs(path, specs)
    return top, specs


def _check_mccs(path: Path, specs: Sequence[ItemSpec]) -> None:
    from cardworld.data.mcc import is_mcc

    for pos, spec in enumerate(specs):
        for j, m in enumerate(spec.mccs):
            if not is_mcc(m.mcc):
                raise _fail(
                    path,
                    f"item '{spec.name}' (#{pos})",
                    f"field 'mccs.{j}.mcc': {m.mcc:04d} is not an ISO 18245 / card-network MCC known to "
                    "iso18245; use a listed code (cardworld.data.mcc.all_mccs())",
                )


def _build(top: CatalogueFile, specs: Sequence[ItemSpec]) -> Catalogue:
    n = len(specs)

    def col(name: str, dtype: Any = np.float64) -> np.ndarray:
        return _ro(np.array([getattr(s, name) for s in specs], dtype=dtype))

    hours = np.array(
        [top.hour_profiles[s.hours] if isinstance(s.hours, str) else s.hours for s in specs], dtype=np.float64
    )
    hours /= hours.sum(axis=1, keepdims=True)

    wd = np.array([s.weekday for s in specs], dtype=np.float64)
    we = np.array([s.weekend for s in specs], dtype=np.float64)
    scale = 7.0 / (5.0 * wd + 2.0 * we)

    tts = top.trip_time_share
    shares = np.array([getattr(tts, s) for s in TRIP_KIND_NAMES], dtype=np.float64)
    trip = np.array([[getattr(s, st) for st in TRIP_KIND_NAMES] for s in specs], dtype=np.float64)
    avg = trip @ shares
    if np.any(avg <= 0):
        bad = specs[int(np.flatnonzero(avg <= 0)[0])].name
        raise ConfigError(
            f"catalogue: item '{bad}': its trip multipliers are 0 for every state with trip_time_share > 0; "
            "give a positive multiplier where people spend time"
        )

    counts = np.array([len(s.mccs) for s in specs], dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    codes = np.array([m.mcc for s in specs for m in s.mccs], dtype=np.int32)
    weights = np.array(
        [m.weight / sum(x.weight for x in s.mccs) for s in specs for m in s.mccs], dtype=np.float64
    )

    return Catalogue(
        names=tuple(s.name for s in specs),
        descriptions=tuple(s.description for s in specs),
        sources=tuple(tuple(s.sources) for s in specs),
        buyers=col("buyers"),
        rate_median_per_year=col("rate_median_per_year"),
        rate_sigma=col("rate_sigma"),
        hours=_ro(hours),
        weekday=_ro(wd * scale),
        weekend=_ro(we * scale),
        trip=_ro(trip),
        trip_factor=_ro(trip / avg[:, None]),
        first_year=col("first_year", np.int32),
        last_year=col("last_year", np.int32),
        recurring=col("recurring", bool),
        online_start_year=col("online_start_year", np.int32),
        online_max_share=col("online_max_share"),
        online_mid_year=col("online_mid_year"),
        online_slope=col("online_slope"),
        rate_income_elasticity=col("rate_income_elasticity"),
        amount_income_elasticity=col("amount_income_elasticity"),
        amount_median=col("amount_median"),
        amount_sigma=col("amount_sigma"),
        amount_min=col("amount_min"),
        amount_max=col("amount_max"),
        amount_step=col("amount_step"),
        card_present_pin_share=col("card_present_pin_share"),
        refund_rate=col("refund_rate"),
        cash_affinity=col("cash_affinity"),
        mcc_offsets=_ro(offsets),
        mcc_codes=_ro(codes),
        mcc_weights=_ro(weights),
        reference_income=float(top.reference_income),
        trip_time_share=_ro(shares),
        source_notes=dict(top.sources),
        hour_profile_names=tuple(s.hours if isinstance(s.hours, str) else None for s in specs),
    )


@lru_cache(maxsize=8)
def _load(path: str) -> Catalogue:
    p = Path(path)
    top, specs = _parse(p)
    return _build(top, specs)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load and validate a catalogue YAML (default: the shipped ``catalogue.yaml``); cached per path.

    Raises ``ConfigError`` naming the file, the item (name and position) and the field on a bad edit.
    """
    return _load(str(Path(path).resolve()) if path is not None else data_path(DEFAULT_FILE))


def __getattr__(name: str) -> Any:
    # ITEM_NAMES is computed from the shipped YAML on first use (PEP 562), so importing is free.
    if name == "ITEM_NAMES":
        return load_catalogue().names
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------ calibration


def estimate_mcc_shares(cat: Catalogue, year: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Expected share of card purchases per MCC: Σ_items buyers · E[rate] · weight, normalised.

    Returns (codes int32, shares float64) sorted by share, largest first. Ignores income, trips and the
    online share (which move purchases between states and channels, not between MCCs).
    """
    rate = cat.expected_rate(year)
    per_row = np.repeat(rate, np.diff(cat.mcc_offsets)) * cat.mcc_weights
    codes, inv = np.unique(cat.mcc_codes, return_inverse=True)
    totals = np.bincount(inv, weights=per_row, minlength=len(codes))
    shares = totals / totals.sum()
    order = np.argsort(-shares, kind="stable")
    return codes[order].astype(np.int32), shares[order]


def estimate_amounts(cat: Catalogue, year: int | None = None) -> dict[str, float]:
    """Mean and quantiles (median, p95, p99) and max of purchase amounts over all purchases, at the reference
    income: the mixture of the items' clipped lognormals weighted by their expected rates."""
    w = cat.expected_rate(year)
    w = w / w.sum()
    mu, s = np.log(cat.amount_median), np.maximum(cat.amount_sigma, 1e-9)
    lo, hi = cat.amount_min, cat.amount_max
    a, b = (np.log(lo) - mu) / s, (np.log(hi) - mu) / s
    mean_each = (
        lo * norm_cdf(a)
        + np.exp(mu + 0.5 * s**2) * (norm_cdf(b - s) - norm_cdf(a - s))
        + hi * (1.0 - norm_cdf(b))
    )
    grid = np.exp(np.linspace(np.log(0.01), np.log(float(hi.max()) * 1.001), 4000))
    z = (np.log(grid)[:, None] - mu[None, :]) / s[None, :]
    cdf_each = np.where(grid[:, None] < lo[None, :], 0.0, norm_cdf(z))
    cdf_each = np.where(grid[:, None] >= hi[None, :], 1.0, cdf_each)
    cdf = cdf_each @ w
    out = {"mean": float(mean_each @ w), "max": float(hi[w > 0].max())}
    for label, q in (("median", 0.5), ("p95", 0.95), ("p99", 0.99)):
        out[label] = float(grid[min(int(np.searchsorted(cdf, q)), len(grid) - 1)])
    return out
