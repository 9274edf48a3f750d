"""Reference profiles: the published figures a world is checked against, one YAML file, validated.

    profile = load_profile()                    # the shipped one: cardworld/data/reference_default.yaml
    profile = load_profile("mine.yaml")         # a user's profile, same format

A profile names figures of the report's measures (report.measures: the `figures` and `by_year` keys) with
a reference value and a tolerance, or a range, and the years the figure was measured over:

    name: "US public figures"
    figures:
      - id: tabformer.fraud_rate           # unique
        metric: tx.fraud_rate              # a figures / by_year key of the measures
        value: 0.00122                     # with tolerance (absolute) or rel_tolerance; or range: [lo, hi]
        rel_tolerance: 0.2
        period: [1991, 2020]               # whole-period figure: judged only on a world of exactly these years
        # year: 2016                       # per-year figure; neither year nor period: timeless
        source: "IBM TabFormer card_transaction.v1.csv"

Shares and rates are fractions (0.00122 is 0.122%), money in dollars. report.calibration judges them.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cardworld.codes import CARD_BRANDS, CARD_TYPE_NAMES, DECLINE_REASON_NAMES
from cardworld.errors import InputError
from cardworld.validation import error_parts
from cardworld.yamlfile import read_yaml

CHANNELS = ("swipe", "chip", "online")
CARD_TYPES = CARD_TYPE_NAMES
_CREDIT = (
    "credit.charge_off_rate",
    "credit.account_charge_off_rate",
    "credit.dpd30_rate",
    "credit.charge_offs",
)


def _figure_keys() -> tuple[str, ...]:
    keys = ["rows", "consumers", "cards", "users_with_rows", "cash_rows", "merchants", "mccs"]
    keys += [f"consumers.{a}.{s}" for a in ("age", "retirement_age", "fico", "cards") for s in ("mean", "sd")]
    keys += [
        "consumers.female_share",
        "consumers.income.mean",
        "consumers.income.sd",
        "consumers.income.median",
    ]
    keys += ["consumers.debt.mean", "consumers.debt.sd", "consumers.debt.zero_share"]
    keys += [f"cards.brand_share.{b}" for b in CARD_BRANDS]
    keys += [f"cards.type_share.{t}" for t in CARD_TYPES] + ["cards.chip_share"]
    keys += [f"cards.limit.{s}.{t}" for s in ("mean", "sd", "median") for t in CARD_TYPES]
    keys += [f"tx.channel_share.{c}" for c in CHANNELS] + [
        "tx.chip_share_card_present",
        "tx.online_amount_share",
    ]
    keys += [f"tx.amount.{s}" for s in ("mean", "sd", "median", "p95", "p99", "min", "max")]
    keys += [f"tx.amount.{s}.{c}" for s in ("mean", "sd") for c in (*CHANNELS, "genuine", "fraud")]
    keys += ["tx.refund_share", "tx.online_refund_share", "tx.no_error_share", "tx.fraud_rate"]
    keys += [f"tx.fraud_rate.{c}" for c in CHANNELS]
    keys += ["tx.fraud_online_share", "tx.fraud_value_share", "tx.fraud_cnp_value_share"]
    per_user = (
        "tx.per_user_lifetime",
        "tx.per_user_year",
        "spend.per_user_year",
        "spend.per_user_year.fraud",
    )
    keys += [f"{k}.{s}" for k in per_user for s in ("mean", "sd", "median")]
    return (*keys, *_CREDIT)


def _by_year_keys() -> tuple[str, ...]:
    keys = ["rows", "active_cards", "active_users", "days"]
    keys += [f"tx.channel_share.{c}" for c in CHANNELS]
    keys += ["tx.chip_share_card_present", "tx.online_amount_share", "tx.refund_share", "tx.error_share"]
    keys += ["tx.fraud_rate", *(f"tx.fraud_rate.{c}" for c in CHANNELS)]
    keys += ["tx.fraud_value_share", "tx.fraud_cnp_value_share", "tx.amount.mean"]
    keys += [f"tx.amount.mean.{t}" for t in CARD_TYPES]
    return (*keys, *_CREDIT, "unemployment")


#: Whole-period keys of measures["figures"] (report.measures), besides the patterns in FIGURE_PATTERNS.
FIGURE_KEYS: tuple[str, ...] = _figure_keys()
#: Per-year keys of measures["by_year"].
BY_YEAR_KEYS: tuple[str, ...] = _by_year_keys()
#: Whole-period keys with a code in them: `tx.mcc_share.5411`, `tx.hour_share.07`, `tx.error_share.Bad PIN`.
FIGURE_PATTERNS: dict[str, re.Pattern[str]] = {
    "tx.mcc_share.<MCC code>": re.compile(r"tx\.mcc_share\.\d{1,4}"),
    "tx.hour_share.<00..23>": re.compile(r"tx\.hour_share\.(?:[01]\d|2[0-3])"),
    "tx.error_share.<reason>": re.compile(
        r"tx\.error_share\.(?:" + "|".join(re.escape(r) for r in DECLINE_REASON_NAMES) + ")"
    ),
}
_ALL_KEYS = sorted({*FIGURE_KEYS, *BY_YEAR_KEYS, *FIGURE_PATTERNS})
_FIELD_ERROR = "profile_field"  # a cross-field problem, its field named in the error's context

Unit = Literal["pct", "money", "num"]
_MONEY = (
    "tx.amount.",
    "spend.",
    "consumers.income.",
    "consumers.debt.mean",
    "consumers.debt.sd",
    "cards.limit.",
)


def is_figure_key(metric: str) -> bool:
    """Whether `metric` is a whole-period key of measures["figures"] (a pattern key included)."""
    return metric in FIGURE_KEYS or any(p.fullmatch(metric) for p in FIGURE_PATTERNS.values())


def is_pattern_key(metric: str) -> bool:
    """Whether `metric` is one of the share keys with a code (MCC, hour, error reason) in it: a code that
    never occurs in a dataset has share 0 there, not no figure."""
    return any(p.fullmatch(metric) for p in FIGURE_PATTERNS.values())


def metric_unit(metric: str) -> Unit:
    """How a metric's numbers read: "pct" (a fraction shown as percent), "money" (dollars) or "num"."""
    if metric == "unemployment":
        return "num"  # percent already, as in the config
    if any(part.endswith(("share", "rate")) or "_share_" in part for part in metric.split(".")):
        return "pct"
    return "money" if metric.startswith(_MONEY) else "num"


def _field_error(field: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError(_FIELD_ERROR, "{problem}", {"field": field, "problem": problem})


Finite = Annotated[float, Field(allow_inf_nan=False)]


class Figure(BaseModel):
    """One published figure: a metric, its reference (value with a tolerance, or a range), its years."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    metric: str
    value: Finite | None = None
    range: tuple[Finite, Finite] | None = None
    tolerance: Finite | None = None
    rel_tolerance: Finite | None = None
    period: tuple[int, int] | None = None
    year: int | None = None
    source: str = ""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if v in FIGURE_KEYS or v in BY_YEAR_KEYS:
            return v
        if is_pattern_key(v):  # MCC codes as the measures write them: 0742 -> 742
            return re.sub(r"^(tx\.mcc_share\.)0+(?=\d)", r"\1", v)
        close = difflib.get_close_matches(v, _ALL_KEYS, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "no known key is close"
        raise ValueError(
            f"unknown metric {v!r} ({hint}); write a key of the report's measures, e.g. 'tx.fraud_rate', "
            f"or one of the patterns {', '.join(FIGURE_PATTERNS)}"
        )

    @field_validator("tolerance", "rel_tolerance")
    @classmethod
    def _non_negative(cls, v: float | None) -> float | None:
        if v is not None and v < 0:
            raise ValueError(f"must be >= 0 (a margin either side of value), got {v:g}; write {-v:g}")
        return v

    @field_validator("range")
    @classmethod
    def _ordered_range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and v[0] > v[1]:
            raise ValueError(f"low {v[0]:g} is above high {v[1]:g}; write [{v[1]:g}, {v[0]:g}]")
        return v

    @field_validator("period")
    @classmethod
    def _ordered_period(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and v[0] > v[1]:
            raise ValueError(f"start {v[0]} is after end {v[1]}; write [{v[1]}, {v[0]}]")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Figure:
        problem = self._cross_field_problem()
        if problem is not None:
            raise _field_error(*problem)
        return self

    def _cross_field_problem(self) -> tuple[str, str] | None:
        """(field, problem) of the first inconsistency between fields, or None."""
        if self.value is not None and self.range is not None:
            return "range", "give value (with a tolerance) or range, not both; remove one"
        if self.value is None and self.range is None:
            return "value", "missing: give value with tolerance or rel_tolerance, or range: [low, high]"
        if self.tolerance is not None and self.rel_tolerance is not None:
            return "rel_tolerance", "give tolerance (absolute) or rel_tolerance (relative), not both"
        if self.range is not None and (self.tolerance is not None or self.rel_tolerance is not None):
            which = "tolerance" if self.tolerance is not None else "rel_tolerance"
            return which, "a range needs no tolerance; remove it, or give value instead of range"
        if self.value is not None and self.tolerance is None and self.rel_tolerance is None:
            return "tolerance", "missing: give tolerance (absolute) or rel_tolerance (relative) for value"
        if self.year is not None and self.period is not None:
            return "year", "give year (a per-year figure) or period (a whole-period figure), not both"
        if self.year is not None and self.metric not in BY_YEAR_KEYS:
            return "metric", f"{self.metric!r} is not measured per year; remove year or use a per-year metric"
        if self.year is None and not is_figure_key(self.metric):
            return "metric", f"{self.metric!r} is measured per year only; add year: YYYY"
        return None

    @property
    def scope(self) -> str:
        """The years the figure is for: "2016", "1991-2020" or "any period"."""
        if self.year is not None:
            return str(self.year)
        if self.period is not None:
            a, b = self.period
            return str(a) if a == b else f"{a}-{b}"
        return "any period"

    def bounds(self) -> tuple[float, float]:
        """The accepted interval [low, high] of the measured figure."""
        if self.range is not None:
            return self.range
        assert self.value is not None  # the validator guarantees a value or a range
        margin = (
            self.tolerance if self.tolerance is not None else abs(self.value) * (self.rel_tolerance or 0.0)
        )
        return self.value - margin, self.value + margin


class Profile(BaseModel):
    """A named list of reference figures (ids unique)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    figures: list[Figure] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Profile:
        problems = _duplicate_ids([f.id for f in self.figures])
        if problems:
            raise _field_error(*problems[0])
        return self


def _duplicate_ids(ids: list[Any]) -> list[tuple[str, str]]:
    """(field path, problem) per figure whose id repeats an earlier one."""
    first: dict[Any, int] = {}
    out = []
    for i, fid in enumerate(ids):
        if not isinstance(fid, str):
            continue
        if fid in first:
            out.append(
                (f"figures[{i}].id", f"duplicate of figures[{first[fid]}].id {fid!r}; ids must be unique")
            )
        else:
            first[fid] = i
    return out


def _path(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a field path: ("figures", 3, "range", 0) -> "figures[3].range[0]"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problems(err: ValidationError) -> list[str]:
    """ "path: problem" per pydantic error, with the field of a cross-field check appended to its path."""
    parts = []
    plain = error_parts(err, unknown_key="unknown key; remove it or fix its spelling")
    for e, (_, problem) in zip(err.errors(include_url=False), plain, strict=True):
        path = _path(tuple(e["loc"]))
        if e["type"] == _FIELD_ERROR:
            field, problem = e["ctx"]["field"], e["ctx"]["problem"]
            path = field if field.startswith("figures[") else (f"{path}.{field}" if path else field)
        elif e["type"] == "model_type":  # a figure that is not a mapping
            problem = (
                f"expected a mapping with id, metric, value or range, ..., got {type(e['input']).__name__}"
            )
        parts.append(f"{path}: {problem}" if path else problem)
    return parts


def parse_profile(data: Any, where: str = "reference profile") -> Profile:
    """Validate already-loaded data into a Profile; InputError names `where` and every bad field path."""
    if not isinstance(data, Mapping):
        raise InputError(
            f"{where}: the top level must be a mapping with keys name and figures, like `name: My figures`, "
            f"got {'an empty file' if data is None else type(data).__name__}"
        )
    parts: list[str] = []
    try:
        profile = Profile.model_validate(dict(data))
    except ValidationError as exc:
        parts = _problems(exc)
        profile = None
    figures = data.get("figures")
    # duplicates are reported with the other errors, not only once those are fixed
    if isinstance(figures, list):
        ids = [f.get("id") if isinstance(f, Mapping) else None for f in figures]
        parts += [f"{p}: {m}" for p, m in _duplicate_ids(ids)]
    if parts or profile is None:
        raise InputError(f"{where}: " + "; ".join(dict.fromkeys(parts)))
    return profile


@contextmanager
def _profile_file(ref: str | os.PathLike) -> Iterator[Path]:
    if os.fspath(ref) == "default":
        with as_file(files("cardworld.data").joinpath("reference_default.yaml")) as path:
            yield path
    else:
        yield Path(ref)


def load_profile(ref: str | os.PathLike = "default") -> Profile:
    """The reference profile `ref`: "default" (the shipped public figures) or a profile YAML file.
    InputError names the file and each bad field path (e.g. `figures[3].tolerance`) and how to fix it."""
    with _profile_file(ref) as path:
        data = read_yaml(path, "reference profile", error=InputError)
        return parse_profile(data, f"reference profile {path}")


__all__ = [
    "BY_YEAR_KEYS",
    "FIGURE_KEYS",
    "FIGURE_PATTERNS",
    "Figure",
    "Profile",
    "is_figure_key",
    "is_pattern_key",
    "load_profile",
    "metric_unit",
    "parse_profile",
]
