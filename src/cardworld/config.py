"""World configuration: one typed model for the YAML file and the CLI, validated with field paths.

    cfg = load_config("world.yaml", consumers=300)     # file, then overrides
    print(default_yaml())                               # every field with its default and meaning

Defaults are calibrated to the IBM TabFormer dataset and its companion files (sd254_users / sd254_cards),
to the Federal Reserve Payments Study and to Census e-commerce figures. Mean/sd pairs mirror Table 1 of
E. Altman, "Synthesizing Credit Card Transactions" (ICAIF 2021), the design this world follows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import typing
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cardworld.config_types import Day, MeanSd, NonNeg, PosFloat, Prob, Strict
from cardworld.credit_config import Credit
from cardworld.errors import FIX, ConfigError, Fix
from cardworld.validation import describe_errors
from cardworld.yamlfile import read_yaml


class Table1(Strict):
    """The source paper's Table 1 parameters, by name (defaults: TabFormer / sd254 figures)."""

    cards_per_consumer: MeanSd = Field(MeanSd(mean=3.07, sd=1.6), description="cards held, 1..9")
    cards_per_account: MeanSd = Field(
        MeanSd(mean=1.1, sd=0.35), description="cards sharing one account (authorised users)"
    )
    transactions_per_year: MeanSd = Field(
        MeanSd(mean=1000.0, sd=480.0),
        description="card purchases per consumer-year in 2010 (more cash before, less after); calibrated so "
        "a TabFormer-scale world writes about TabFormer's 24.4M card rows",
    )
    fico: MeanSd = Field(MeanSd(mean=710.0, sd=67.0), description="FICO score, clipped to 480..850")
    income: MeanSd = Field(
        MeanSd(mean=45_700.0, sd=24_000.0), description="yearly income in dollars, tied to the ZIP's income"
    )
    debt_to_income: MeanSd = Field(
        MeanSd(mean=1.4, sd=1.0), description="total debt / yearly income (5% of consumers have none)"
    )
    credit_limit: MeanSd = Field(MeanSd(mean=14_000.0, sd=9_000.0), description="credit card limit ($)")
    balance_to_limit: MeanSd = Field(
        MeanSd(mean=0.25, sd=0.2), description="revolving balance as a fraction of the credit limit"
    )
    years_account_open: MeanSd = Field(MeanSd(mean=9.0, sd=6.0), description="years since account opening")
    years_since_pin_change: MeanSd = Field(
        MeanSd(mean=4.0, sd=3.0), description="years since the card's PIN was last changed"
    )


class Underwriting(Strict):
    """Credit card limits (world.cards) the way underwriting sets them, from income and credit score:
    ``income_share x yearly income x fico_bands[band] x exp(sd x z)``, z ~ N(0, 1), whole dollars; sd is
    the spread of ``table1.credit_limit`` (mean over TabFormer's $10,100 median) less what income and the
    bands explain. Sources: lines are a share of stated income (ability to pay: CARD Act 2009, Regulation Z
    1026.51) set by score tier; the tiers are the CFPB's (Consumer Credit Card Market report 2019: < 580,
    580-619, 620-659, 660-719, 720+; split at 780 here), super-prime lines several times subprime ones.
    The factors are our reading of that spread, calibrated to TabFormer."""

    income_share: PosFloat = Field(
        0.21,
        description="credit limit as a share of yearly income at band factor 1 (calibrated so the median "
        "credit limit is TabFormer's $10,100)",
    )
    fico_bands: dict[int, PosFloat] = Field(
        {300: 0.2, 580: 0.35, 620: 0.55, 660: 0.8, 720: 1.1, 780: 1.4},
        min_length=1,
        description="lowest FICO score of each band -> factor on the limit (CFPB score tiers); scores "
        "below the lowest band take its factor",
    )


class Trips(Strict):
    """Trips per consumer-year (scaled by the person's travel propensity, which rises with wealth)."""

    getaways_per_year: NonNeg = Field(2.0, description="weekend getaways (2-3 days)")
    vacations_per_year: NonNeg = Field(1.0, description="vacations")
    business_trips_per_year: NonNeg = Field(1.2, description="business trips (workers only)")
    vacation_days: PosFloat = Field(7.0, description="mean vacation length in days")
    business_days: PosFloat = Field(3.0, description="mean business-trip length in days")
    foreign_getaway: Prob = Field(0.03, description="P(a getaway is abroad)")
    foreign_vacation: Prob = Field(0.18, description="P(a vacation is abroad)")
    foreign_business: Prob = Field(0.08, description="P(a business trip is abroad)")


class Routine(Strict):
    """Personal routines (sim.routine): a few time slots a person's purchases at home fall into, shared
    across items, and favourite merchants per (item, slot). A slot is a clock time; an item keeps it as
    often as its own hour profile allows (a bar's slot moves to the evening), so every item keeps its
    population hour profile while each person is spiky. Slots shift when life changes: at retirement a
    worker's slots move into the working day; from 75 on they are re-weighted and keep to the day."""

    weekday_slots: int = Field(2, ge=1, le=8, description="personal time slots on weekdays (Monday-Friday)")
    weekend_slots: int = Field(1, ge=1, le=8, description="personal time slots on Saturdays and Sundays")
    in_slot_share: Prob = Field(
        0.9, description="share of purchases at home in a slot (the rest at the item's usual hours)"
    )
    slot_spread: Prob = Field(
        0.01,
        description="sd of a purchase's time around its slot, as a share of the day's purchases (quantile "
        "units: 0.01 is about 10 minutes at busy hours, more at quiet ones)",
    )
    slot_weight_shape: PosFloat = Field(
        0.4, description="gamma shape of the slots' weights (smaller: one slot takes most purchases)"
    )
    old_age_span: Prob = Field(
        0.7, description="from 75 on, slots keep to this central share of the day (fewer late purchases)"
    )
    loyalty: Prob = Field(
        0.8, description="P(a purchase in a slot goes to the favourite merchant of its item and slot)"
    )
    new_merchant_share: Prob = Field(
        0.02, description="at home, P(a purchase goes to a merchant outside the person's regulars)"
    )
    merchant_popularity: float = Field(
        2.0,
        ge=1.0,
        description="merchants differ in popularity: the k-th of n in a city and MCC is picked at "
        "n * u ** this (1: all alike; larger: a few popular merchants take most customers)",
    )


class Channels(Strict):
    """How purchases are made: online growth, chip cards and terminals."""

    online_scale: NonNeg = Field(1.0, description="multiplies each item's online share curve")
    chip_card_year: int = Field(2014, description="cards issued from this year on carry a chip")
    chip_shift_date: Day = Field(dt.date(2015, 10, 1), description="US EMV liability shift")
    chip_adoption: dict[int, Prob] = Field(
        {2015: 0.90, 2016: 0.95, 2020: 0.97},
        description="share of in-person chip-card purchases read by chip, by year (interpolated; TabFormer's "
        "quick switch; the Fed's terminal survey is slower: 19% 2016, 42% 2017, ~90% 2022)",
    )


class Cash(Strict):
    """Purchases paid in cash go to cash.parquet, not to the card data."""

    share_1990: Prob = Field(0.45, description="share of purchases paid cash in 1990")
    share_2020: Prob = Field(0.18, description="share of purchases paid cash in 2020")
    small_amount: PosFloat = Field(20.0, description="below this amount, cash is more likely")
    low_income: PosFloat = Field(30_000.0, description="below this income, cash is more likely")


class Refunds(Strict):
    """Refunds: a later negative row at the same merchant and card (TabFormer: 5.1% of rows, 0.5% online)."""

    in_person_scale: NonNeg = Field(
        5.8, description="multiplies each item's refund rate for in-person purchases (TabFormer-calibrated)"
    )
    online_scale: NonNeg = Field(0.3, description="multiplies each item's refund rate for online purchases")
    partial_share: Prob = Field(0.2, description="P(a refund returns only part of the amount)")
    max_amount: PosFloat = Field(
        500.0, description="purchases above this are never refunded (TabFormer's floor)"
    )


class Errors(Strict):
    """Declines and errors (TabFormer: 98.4% of rows have none)."""

    bad_pin: Prob = Field(0.02, description="P(wrong PIN) per purchase where a PIN is entered")
    technical_glitch: Prob = Field(0.002, description="P(technical glitch) per purchase")
    bad_card_number: Prob = Field(0.0005, description="P(mistyped card number) per card-not-present purchase")
    bad_cvv: Prob = Field(0.0005, description="P(wrong CVV) per card-not-present purchase")
    bad_expiration: Prob = Field(0.0005, description="P(wrong expiry) per card-not-present purchase")
    bad_zipcode: Prob = Field(0.0001, description="P(wrong ZIP) per purchase")
    retry: Prob = Field(0.8, description="P(the consumer retries right after a decline)")


class Segment(Strict):
    """A what-if population: restrict, or over-sample, consumers of a segment. Such a world is not
    representative, and the manifest says so."""

    states: list[str] | None = Field(None, description="2-letter state codes")
    age_min: int | None = Field(None, ge=18, le=110)
    age_max: int | None = Field(None, ge=18, le=110)
    income_min: NonNeg | None = None
    income_max: NonNeg | None = None
    mode: Literal["restrict", "oversample"] = Field("restrict", description="keep only, or weight up")
    weight: PosFloat = Field(5.0, description="over-sampling factor (mode oversample)")

    @field_validator("states")
    @classmethod
    def _states(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("give at least one state, or leave it out")
            bad = [s for s in v if not (len(s) == 2 and s.isalpha() and s.isupper())]
            if bad:
                raise ValueError(f"{bad[0]!r} is not a 2-letter state code like 'CA'")
        return v

    @model_validator(mode="after")
    def _bands(self) -> Segment:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("age_min is above age_max")
        if self.income_min is not None and self.income_max is not None and self.income_min > self.income_max:
            raise ValueError("income_min is above income_max")
        return self


class Fraud(Strict):
    """Fraud: a population of fraudsters who work compromised cards in bursts, plus random fraud.

    The share of rows that are fraud is set by `rate`; the mechanisms (campaigns of fraudsters entering and
    leaving the field, skimming at swipe terminals, breaches and the dark web, the owner and the issuer
    noticing) decide when, where and on which cards it falls. Defaults follow TabFormer: 0.122% of rows,
    about 60% of them online."""

    enabled: bool = Field(True, description="simulate fraud at all")
    rate: float = Field(
        0.00122,
        ge=0.0,
        lt=1.0,
        description="target share of card rows that are fraud, in [0, 1) (TabFormer 0.122%)",
    )
    fraudsters: int | None = Field(
        None, ge=1, description="size of the fraudster population (default: one per 25 consumers, at least 6)"
    )
    card_not_present_share: Prob = Field(
        0.25,
        description="share of fraud rows made online by fraudsters, as if no card had a chip: chip cards cut "
        "card-present fraud, and its share moves online (with the defaults about 60% of fraud is online at "
        "TabFormer scale)",
    )
    random_share: Prob = Field(
        0.10,
        description="share of fraud rows that are random fraud (random cards, times, merchants; no fraudster)",
    )
    oversample_fraud: float = Field(
        1.0,
        ge=1.0,
        description="what-if: multiply the fraud rate (balanced training sets); rates are then not realistic",
    )
    off_from: Day | None = Field(None, description="what-if: no fraud from this day ...")
    off_to: Day | None = Field(
        None, description="... to this day (inclusive; TabFormer has none in its last 4 months)"
    )
    twins: bool = Field(
        False,
        description="what-if: split consumers into two halves (consumers.twin) attacked by twin fraudster "
        "populations with identical behaviour, for bias tests",
    )
    owner_notice_days: PosFloat = Field(
        14.0, description="median days until a card's owner notices fraud (sooner as amounts add up)"
    )
    issuer_block: Prob = Field(
        0.01,
        description="P(the issuer blocks the card at a fraudulent purchase), higher for large and foreign ones",
    )
    burst_rows: PosFloat = Field(18.0, description="mean purchases a fraudster plans on one card")
    burst_days: PosFloat = Field(7.0, description="mean days over which a fraudster works one card")

    @model_validator(mode="after")
    def _fits(self) -> Fraud:
        cnp, rnd = self.card_not_present_share, self.random_share
        if cnp + rnd > 1.0 + 1e-12:
            raise ValueError(
                f"card_not_present_share ({cnp}) + random_share ({rnd}) = {cnp + rnd:g} is above 1; the rest "
                "is card-present fraud by fraudsters, so lower one of them"
            )
        if self.rate * self.oversample_fraud >= 0.5:
            raise ValueError(
                f"rate ({self.rate}) x oversample_fraud ({self.oversample_fraud}) must stay below 0.5: a card "
                "in a fraudster's hands cannot be stolen again, so higher rates are out of reach"
            )
        if (self.off_from is None) != (self.off_to is None):
            raise ValueError("give both off_from and off_to (the fraud-free window), or neither")
        if self.off_from is not None and self.off_to is not None and self.off_to < self.off_from:
            raise ValueError(f"off_to ({self.off_to}) is before off_from ({self.off_from})")
        return self

    @property
    def realistic(self) -> bool:
        """False for what-if fraud (over-sampled rates): the manifest records it."""
        return self.oversample_fraud == 1.0


ATTRIBUTES = ("age", "income", "debt", "fico", "cards")
# Rank correlations between consumer attributes (Gaussian copula), in ATTRIBUTES order. Older consumers
# earn more, have longer credit histories (higher FICO) and hold more cards; debt rises with income (those
# who earn more borrow more: mortgages, cars) and falls a little with age as loans are paid down (Fed
# Survey of Consumer Finances: debt peaks at 35-44); FICO falls with debt. On top of the copula, cards are
# capped by age (world.consumers.max_cards_at) and account histories by adult life (world.card_life).
DEFAULT_CORRELATION = [
    [1.00, 0.20, -0.10, 0.30, 0.20],
    [0.20, 1.00, 0.30, 0.25, 0.30],
    [-0.10, 0.30, 1.00, -0.20, 0.20],
    [0.30, 0.25, -0.20, 1.00, 0.15],
    [0.20, 0.30, 0.20, 0.15, 1.00],
]


class Population(Strict):
    correlation: list[list[float]] = Field(
        DEFAULT_CORRELATION,
        description=f"Spearman rank correlations of consumer attributes {list(ATTRIBUTES)} (Gaussian "
        "copula; PSD): debt follows income (+0.30) and falls with age (-0.10); cards rise with age (+0.20) "
        "and income (+0.30)",
    )
    segment: Segment | None = Field(None, description="what-if population (see Segment)")

    @field_validator("correlation")
    @classmethod
    def _psd(cls, v: list[list[float]]) -> list[list[float]]:
        k = len(ATTRIBUTES)
        m = np.asarray(v, dtype=float)
        if m.shape != (k, k):
            raise ValueError(f"must be a {k}x{k} matrix over {list(ATTRIBUTES)}, got shape {m.shape}")
        if not np.allclose(m, m.T):
            raise ValueError("must be symmetric")
        if not np.allclose(np.diag(m), 1.0):
            raise ValueError("must have ones on the diagonal")
        if np.abs(m).max() > 1.0:
            raise ValueError("entries must lie in [-1, 1]")
        if np.linalg.eigvalsh(m).min() < -1e-9:
            raise ValueError("is not positive semi-definite; lower the off-diagonal correlations")
        return v


class WorldConfig(Strict):
    """Everything that defines a world. Same version + config + seed => byte-identical output."""

    consumers: int = Field(100, gt=0, description="number of consumers")
    start: Day = Field(dt.date(2010, 1, 1), description="first day of transactions")
    end: Day = Field(dt.date(2020, 12, 31), description="last day of transactions (inclusive)")
    seed: int = Field(0, ge=0, description="root seed of every random stream")
    shard_size: int = Field(250, gt=0, description="consumers per shard (fixed; not tied to workers)")
    table1: Table1 = Table1()
    underwriting: Underwriting = Underwriting()
    trips: Trips = Trips()
    routine: Routine = Routine()
    channels: Channels = Channels()
    cash: Cash = Cash()
    refunds: Refunds = Refunds()
    errors: Errors = Errors()
    population: Population = Population()
    fraud: Fraud = Fraud()
    credit: Credit = Credit()

    @model_validator(mode="after")
    def _dates(self) -> WorldConfig:
        if self.end < self.start:
            raise ValueError(
                f"end ({self.end}) is before start ({self.start}); end is the last day (inclusive), so give "
                "an end on or after start"
            )
        if self.start.year < 1950 or self.end.year > 2100:
            raise ValueError("start and end must lie within 1950..2100")
        self.credit.check_years(self.start.year, self.end.year)
        return self

    @property
    def representative(self) -> bool:
        """False for a what-if world (see `what_ifs`): the manifest records it."""
        return not self.what_ifs()

    def what_ifs(self) -> list[str]:
        """Why the world does not represent the default population and fraud (empty when it does)."""
        f, seg = self.fraud, self.population.segment
        out = []
        if seg is not None:
            out.append(
                f"population segment ({seg.mode}"
                + (f" x{seg.weight:g})" if seg.mode == "oversample" else ")")
            )
        if not f.enabled:
            out.append("fraud disabled")
        else:
            if not f.realistic:
                out.append(f"fraud oversampled x{f.oversample_fraud:g}")
            if f.off_from is not None:
                out.append(f"fraud-free window {f.off_from}..{f.off_to}")
            if f.twins:
                out.append("twin fraudster populations (fraud.twins)")
        return out + self.credit.what_ifs()

    def n_shards(self) -> int:
        return -(-self.consumers // self.shard_size)

    def shard_bounds(self, k: int) -> tuple[int, int]:
        """Consumer ids [lo, hi) of shard k."""
        lo = k * self.shard_size
        return lo, min(self.consumers, lo + self.shard_size)


# Where every field is documented, in each interface's words.
_SEE_DEFAULTS = Fix(python="see cardworld.config.default_yaml()", cli="see `cardworld config --defaults`")


def make_config(data: Mapping[str, Any] | None = None, where: str = "config") -> WorldConfig:
    """Validate a dict into a WorldConfig; ConfigError names every bad field path."""
    try:
        return WorldConfig.model_validate(dict(data or {}))
    except ValidationError as e:
        parts = describe_errors(e, unknown_key=f"unknown key; remove it or fix its spelling ({FIX})")
        raise ConfigError(f"{where}: " + "; ".join(parts), fix=_SEE_DEFAULTS) from None


def load_config(path: str | os.PathLike | None = None, **overrides: Any) -> WorldConfig:
    """Defaults, then the YAML file (if given), then keyword overrides (top-level None values are ignored).

    Overrides merge deeply into the file's values: ``fraud={"rate": 0.01}`` changes the rate and keeps the
    file's other fraud fields. A section (a sub-model such as ``fraud`` or ``table1.fico``) merges key by
    key, from a mapping or a model instance (its explicitly set fields); any other value replaces, the
    year -> share mapping ``channels.chip_adoption`` and lists included.
    """
    data = {} if path is None else read_config_file(path)
    where = "config" if path is None else os.fspath(path)
    return make_config(merge_config(data, {k: v for k, v in overrides.items() if v is not None}), where)


def merge_config(
    base: Mapping[str, Any], overrides: Mapping[str, Any], model: type[BaseModel] = WorldConfig
) -> dict[str, Any]:
    """`base` with `overrides` merged in: sections of `model` key by key, other values replaced."""
    out = dict(base)
    for key, value in overrides.items():
        section = _section_model(model, key)
        if section is not None and isinstance(value, BaseModel):
            value = value.model_dump(exclude_unset=True)
        if section is not None and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            value = merge_config(out[key], value, section)
        out[key] = value
    return out


def _section_model(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    """The model of field `key` when it is a section (a model, or a model or None), else None."""
    field = model.model_fields.get(key)
    if field is None:
        return None
    for t in (field.annotation, *typing.get_args(field.annotation)):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping of a YAML config file, not yet validated; ConfigError names the file."""
    where = os.fspath(path)
    raw = read_yaml(path, "config file", dates_as_text=True)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of fields, like `consumers: 100`")
    return raw


def config_dict(cfg: WorldConfig) -> dict[str, Any]:
    """The resolved config as plain JSON/YAML types (for the manifest)."""
    return cfg.model_dump(mode="json")


def config_yaml(cfg: WorldConfig | None = None) -> str:
    """A config as YAML, each field preceded by its description; `load_config` reads it back to `cfg`.

    Without `cfg`, the defaults (`default_yaml`).
    """
    what = "its default" if cfg is None else "its value"
    lines = [f"# cardworld world config: every field with {what}. Unknown keys are refused."]

    def walk(model: type[BaseModel], value: BaseModel, indent: int) -> None:
        pad = "  " * indent
        for name, field in model.model_fields.items():
            v = getattr(value, name)
            if field.description:
                lines.append(f"{pad}# {field.description}")
            if isinstance(v, BaseModel) and not isinstance(v, MeanSd):
                lines.append(f"{pad}{name}:")
                walk(type(v), v, indent + 1)
            else:  # JSON is valid YAML: one line per leaf, flow style for small mappings and lists
                lines.append(f"{pad}{name}: {json.dumps(_plain(v))}")

    walk(WorldConfig, WorldConfig() if cfg is None else cfg, 0)
    return "\n".join(lines) + "\n"


def default_yaml() -> str:
    """The full default config as YAML, each field preceded by its description."""
    return config_yaml()


def _plain(v: Any) -> Any:
    if isinstance(v, BaseModel):
        return v.model_dump(mode="json")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


__all__ = [
    "ATTRIBUTES",
    "MeanSd",
    "WorldConfig",
    "config_dict",
    "config_yaml",
    "default_yaml",
    "load_config",
    "make_config",
    "merge_config",
    "read_config_file",
]
