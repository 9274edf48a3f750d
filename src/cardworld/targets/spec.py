"""Target specs: the typed language users write (in Python or YAML).

A `TargetSpec` aggregates one value column over a filtered window of each transaction's neighbours; a
`MixedTarget` combines other targets by name (linear combination, optionally divided by another one).
The exact semantics are in docs/design.md ("Targets"); `cardworld.targets.reference` is their executable form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from cardworld.dates import (
    CALENDAR_UNIT_NAMES,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    SECONDS_PER_MINUTE,
    SECONDS_PER_WEEK,
)
from cardworld.errors import SpecError
from cardworld.validation import describe_errors
from cardworld.yamlfile import read_yaml

Agg = Literal["sum", "mean", "max", "min", "count", "top_k"]
Mode = Literal["expanding", "full", "next", "trailing", "leading"]

CALENDAR_UNITS = CALENDAR_UNIT_NAMES  # a calendar window's name; its index is its CalendarUnit
DURATION_SECONDS = {
    "s": 1,
    "m": SECONDS_PER_MINUTE,
    "h": SECONDS_PER_HOUR,
    "d": SECONDS_PER_DAY,
    "w": SECONDS_PER_WEEK,
}
MODES_BY_KIND = {
    "calendar": ("expanding", "full", "next"),
    "duration": ("trailing", "leading"),
    "count": ("trailing", "leading"),
    "all": ("expanding", "full"),
}
_DURATION_RE = re.compile(r"^(-?\d+)([smhdw])$")
_COUNT_RE = re.compile(r"^(-?\d+)tx$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
MCC_MAX = 9999


def parse_window(window: str) -> tuple[str, int]:
    """Split a window string into (kind, parameter).

    kind is calendar (parameter: index into CALENDAR_UNITS), duration (seconds), count (rows) or all (0).
    """
    w = window.strip().lower()
    if w in CALENDAR_UNITS:
        return "calendar", CALENDAR_UNITS.index(w)
    if w == "all":
        return "all", 0
    m = _DURATION_RE.match(w)
    if m:
        size = int(m.group(1))
        if size <= 0:
            raise ValueError(f"duration window {window!r} must be positive, like '7d' or '12h'")
        return "duration", size * DURATION_SECONDS[m.group(2)]
    m = _COUNT_RE.match(w)
    if m:
        size = int(m.group(1))
        if size <= 0:
            raise ValueError(f"count window {window!r} must be at least 1 transaction, like '10tx'")
        return "count", size
    raise ValueError(
        f"unknown window {window!r}: use day|week|month|quarter|year, a duration like '7d' or '12h' "
        "(units s, m, h, d, w), a count like '10tx', or 'all'"
    )


def _check_mcc_list(v: list[int] | None, field: str) -> list[int] | None:
    if v is None:
        return None
    if len(v) == 0:
        raise ValueError(f"{field} is an empty list; leave it out to keep every MCC")
    bad = [c for c in v if not 0 <= c <= MCC_MAX]
    if bad:
        raise ValueError(f"{field} has codes outside 0..{MCC_MAX}: {bad}; MCCs are 4-digit codes")
    return sorted(set(v))


# True while a validation that reports its own errors runs (pydantic calls each spec's __init__ then).
_VALIDATING: ContextVar[bool] = ContextVar("cardworld_spec_validating", default=False)


@contextmanager
def _spec_errors(where: str, prefix: str = "") -> Iterator[None]:
    """Pydantic's ValidationError inside becomes one SpecError: `where: field.path: what is wrong; ...`.

    Validations nested in one already watched (a spec's __init__, called by pydantic while it
    validates a list of specs) let their errors through, so that the outer one reports every field path.
    """
    if _VALIDATING.get():
        yield
        return
    token = _VALIDATING.set(True)
    try:
        yield
    except ValidationError as err:
        raise SpecError(f"{where}: {format_validation_error(err, prefix)}") from None
    finally:
        _VALIDATING.reset(token)


class _Base(BaseModel):
    """Fields and rules shared by both kinds of spec; invalid fields raise SpecError, not pydantic's error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    if not TYPE_CHECKING:  # type checkers keep the field-by-field signature pydantic gives them

        def __init__(self, /, **data: Any) -> None:
            name = data.get("name")
            with _spec_errors(
                f"{type(self).__name__} {name!r}" if isinstance(name, str) else type(self).__name__
            ):
                super().__init__(**data)

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        """Like pydantic's, but an invalid spec raises SpecError naming the field."""
        with _spec_errors(cls.__name__):
            return super().model_validate(obj, **kwargs)

    name: str | None = Field(None, description="output column name; generated from the fields if omitted")
    fill: float = Field(0.0, description="value for an empty window (count always gives 0)")
    threshold: float | None = Field(None, description="binarise: 1.0 where the value is above it, else 0.0")
    output: bool = Field(True, description="false: compute (for mixed targets) but do not output")

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str | None) -> str | None:
        if v is not None and not _NAME_RE.match(v):
            raise ValueError(
                f"name {v!r} must start with a letter or _ and use letters, digits, '_', '.', '-' only"
            )
        return v

    @field_validator("threshold")
    @classmethod
    def _threshold_ok(cls, v: float | None) -> float | None:
        if v is not None and math.isnan(v):
            raise ValueError("threshold is NaN; give a number or leave it out")
        return v


class TargetSpec(_Base):
    """One aggregate over a window of each transaction's neighbours (see docs/design.md, "Targets")."""

    agg: Agg
    k: int | None = Field(None, description="number of outputs of top_k (largest first)")
    value: str = Field("amount", description="column to aggregate")
    mcc: list[int] | None = Field(None, description="keep only these MCCs")
    exclude_mcc: list[int] | None = Field(None, description="drop these MCCs")
    amount_min: float | None = Field(None, description="keep amounts >= this")
    amount_max: float | None = Field(None, description="keep amounts <= this")
    window: str
    mode: Mode | None = Field(
        None, description="defaults: expanding (calendar, all), trailing (duration, count)"
    )
    periods: int = Field(1, description="calendar periods looked back (expanding/full) or ahead (next)")

    @field_validator("mcc")
    @classmethod
    def _mcc_ok(cls, v: list[int] | None) -> list[int] | None:
        return _check_mcc_list(v, "mcc")

    @field_validator("exclude_mcc")
    @classmethod
    def _exclude_ok(cls, v: list[int] | None) -> list[int] | None:
        return _check_mcc_list(v, "exclude_mcc")

    @field_validator("window")
    @classmethod
    def _window_ok(cls, v: str) -> str:
        parse_window(v)
        return v.strip().lower()

    @field_validator("value")
    @classmethod
    def _value_ok(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("value must name a column, such as 'amount'")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TargetSpec:
        kind, _ = parse_window(self.window)
        if self.mode is None:
            object.__setattr__(self, "mode", "trailing" if kind in ("duration", "count") else "expanding")
        allowed = MODES_BY_KIND[kind]
        if self.mode not in allowed:
            raise ValueError(
                f"mode {self.mode!r} is invalid with window {self.window!r} ({kind}); use one of {allowed}"
            )
        if self.periods < 1:
            raise ValueError(f"periods must be >= 1, got {self.periods}")
        if self.periods != 1 and kind != "calendar":
            raise ValueError(f"periods applies only to calendar windows, not to {self.window!r}")
        if self.agg == "top_k":
            if self.k is None:
                raise ValueError("top_k needs k, the number of largest values to output (e.g. k: 3)")
            if self.k < 1:
                raise ValueError(f"k must be >= 1, got {self.k}")
        elif self.k is not None:
            raise ValueError(f"k applies only to agg top_k, not to {self.agg!r}; remove it")
        if self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max:
            raise ValueError(f"amount_min {self.amount_min} is above amount_max {self.amount_max}")
        for f in ("amount_min", "amount_max"):
            v = getattr(self, f)
            if v is not None and math.isnan(v):
                raise ValueError(f"{f} is NaN; give a number or leave it out")
        if self.mcc and self.exclude_mcc and not set(self.mcc) - set(self.exclude_mcc):
            raise ValueError("exclude_mcc removes every code in mcc: the target would always be empty")
        return self

    @property
    def window_kind(self) -> str:
        return parse_window(self.window)[0]

    @property
    def n_outputs(self) -> int:
        return self.k if self.agg == "top_k" else 1

    def default_name(self) -> str:
        parts = [self.agg if self.agg != "top_k" else f"top{self.k}", self.value]
        if self.mcc:
            parts.append("mcc" + "-".join(map(str, self.mcc)))
        if self.exclude_mcc:
            parts.append("not" + "-".join(map(str, self.exclude_mcc)))
        if self.amount_min is not None:
            parts.append(f"ge{self.amount_min:g}")
        if self.amount_max is not None:
            parts.append(f"le{self.amount_max:g}")
        parts.append(self.window if self.periods == 1 else f"{self.periods}{self.window}")
        parts.append(str(self.mode))
        if self.threshold is not None:
            parts.append(f"gt{self.threshold:g}")
        return "_".join(parts)


class MixedTarget(_Base):
    """A combination of other targets by output name: sum(coef * target) [/ sum(coef * target)].

    Example, the grocery share of this month's spend:
    `MixedTarget(name="grocery_share", terms={"grocery_month": 1}, divide_by={"spend_month": 1})`.
    A zero denominator gives `fill`.
    """

    name: str  # type: ignore[assignment]  # required here: other targets refer to it
    terms: dict[str, float] = Field(description="numerator: output name -> coefficient")
    divide_by: dict[str, float] | None = Field(None, description="denominator: output name -> coefficient")

    @field_validator("terms")
    @classmethod
    def _terms_ok(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("terms is empty; name at least one target, e.g. {grocery_month: 1.0}")
        return v

    @field_validator("divide_by")
    @classmethod
    def _den_ok(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None and not v:
            raise ValueError("divide_by is empty; leave it out for a plain linear combination")
        return v

    @property
    def n_outputs(self) -> int:
        return 1

    def default_name(self) -> str:
        return self.name

    def references(self) -> list[str]:
        return list(self.terms) + list(self.divide_by or {})


AnySpec = TargetSpec | MixedTarget


def _spec_kind(v: Any) -> str:
    if isinstance(v, MixedTarget):
        return "mixed"
    if isinstance(v, dict) and ("terms" in v or "divide_by" in v):
        return "mixed"
    return "target"


_TAGS = ("target", "mixed")  # the union's tags, which pydantic puts in error locations
_MCC_HINT = "write a list of merchant category codes, like [5411, 5499]"
_FIELD_HINTS = {"mcc": _MCC_HINT, "exclude_mcc": _MCC_HINT}
_SPEC_LIST = TypeAdapter(
    list[
        Annotated[
            Annotated[TargetSpec, Tag("target")] | Annotated[MixedTarget, Tag("mixed")],
            Discriminator(_spec_kind),
        ]
    ]
)


def spec_name(spec: AnySpec) -> str:
    return spec.name or spec.default_name()


def spec_output_names(spec: AnySpec) -> list[str]:
    base = spec_name(spec)
    if isinstance(spec, TargetSpec) and spec.agg == "top_k":
        return [f"{base}_top{j + 1}" for j in range(spec.n_outputs)]
    return [base]


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """Every one of pydantic's errors as `prefix + field.path: problem`, joined by '; ' (no URLs)."""
    parts = describe_errors(
        err, unknown_key="unknown field; remove it or fix its spelling", skip=_TAGS, hints=_FIELD_HINTS
    )
    return "; ".join(prefix + part for part in parts)


def parse_target_specs(data: Any, source: str = "specs") -> list[AnySpec]:
    """Validate already-loaded data: a list of spec mappings, or {'targets': [...]}."""
    if isinstance(data, dict) and set(data) == {"targets"}:
        data = data["targets"]
    if not isinstance(data, list):
        raise SpecError(
            f"{source}: expected a list of target specs (or a mapping with one key 'targets'), "
            f"got {type(data).__name__}"
        )
    with _spec_errors(source, "targets."):
        specs = _SPEC_LIST.validate_python(data)
    check_spec_set(specs, source)
    return specs


def load_target_specs(path: str | Path) -> list[AnySpec]:
    """Read target specs from a YAML file (a list, or a mapping with a 'targets' list)."""
    p = Path(path)
    data = read_yaml(p, "spec file", error=SpecError)
    if data is None:
        raise SpecError(f"{p}: the file is empty; list at least one target spec")
    return parse_target_specs(data, source=str(p))


def check_spec_set(specs: Sequence[AnySpec], source: str = "specs") -> None:
    """Cross-spec rules: unique output names, known references, no cycles, at least one output."""
    if len(specs) == 0:
        raise SpecError(f"{source}: no target specs given; pass at least one")
    owner: dict[str, int] = {}
    for i, s in enumerate(specs):
        if not isinstance(s, TargetSpec | MixedTarget):
            raise SpecError(f"{source}[{i}]: expected a TargetSpec or MixedTarget, got {type(s).__name__}")
        for name in spec_output_names(s):
            if name in owner:
                raise SpecError(
                    f"{source}[{i}]: output name {name!r} is already used by spec {owner[name]}; "
                    "give one of them another name"
                )
            owner[name] = i
    for i, s in enumerate(specs):
        if isinstance(s, MixedTarget):
            for ref in s.references():
                if ref not in owner:
                    raise SpecError(
                        f"{source}[{i}] ({s.name}): refers to unknown target {ref!r}; "
                        f"known outputs are {sorted(owner)}"
                    )
    topo_order(specs, source)
    if not any(s.output for s in specs):
        raise SpecError(f"{source}: every spec has output: false; nothing would be computed")


def topo_order(specs: Sequence[AnySpec], source: str = "specs") -> list[int]:
    """Indices of the mixed targets in an order where each comes after those it refers to."""
    owner = {name: i for i, s in enumerate(specs) for name in spec_output_names(s)}
    order: list[int] = []
    state: dict[int, int] = {}  # 1 visiting, 2 done

    def visit(i: int, path: list[str]) -> None:
        if state.get(i) == 2:
            return
        s = specs[i]
        if state.get(i) == 1:
            cycle = " -> ".join([*path, spec_name(s)])
            raise SpecError(f"{source}: mixed targets form a cycle ({cycle}); remove one of the references")
        state[i] = 1
        if isinstance(s, MixedTarget):
            for ref in s.references():
                visit(owner[ref], [*path, spec_name(s)])
            order.append(i)
        state[i] = 2

    for i in range(len(specs)):
        visit(i, [])
    return order


def as_spec_list(specs: AnySpec | Iterable[AnySpec]) -> list[AnySpec]:
    if isinstance(specs, TargetSpec | MixedTarget):
        return [specs]
    return list(specs)


def output_names(specs: AnySpec | Iterable[AnySpec]) -> list[str]:
    """Names of the output columns, in order (top_k gives name_top1..name_topk; hidden specs are left out)."""
    specs = as_spec_list(specs)
    check_spec_set(specs)
    return [n for s in specs if s.output for n in spec_output_names(s)]
