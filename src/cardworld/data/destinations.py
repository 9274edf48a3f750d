"""Travel destinations: the cities US consumers visit on getaways, vacations and business trips.

``destinations.yaml`` lists about a hundred US cities and over a hundred foreign ones, each with its
coordinates, a rough metro population and relative ``leisure`` and ``business`` weights. The YAML header
names the sources (NTTO/ITA outbound travel statistics, US Travel Association, Census metro populations).
``load_destinations`` validates the file with pydantic (a bad edit names the entry and field) and returns a
frozen, picklable, columnar ``Destinations``.

Conventions the simulator can rely on:

* US rows have ``iso == "US"``, ``country == "United States"``, a 2-letter USPS ``state`` (DC included)
  and a ``city`` spelled as the USPS primary city of its ZIP codes; ``foreign`` is False.
* Foreign rows have ``state == ""``, ``country`` as TabFormer writes it in Merchant State ("Mexico",
  "United Kingdom") and ``foreign`` True.
* ``(city, state, iso)`` is unique; weights are >= 0 and not both 0 on a row. Weights are relative:
  normalise them over the rows you draw from (US and foreign rows are usually drawn separately).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cardworld.data import data_path
from cardworld.yamlfile import describe as _describe
from cardworld.yamlfile import fail as _fail
from cardworld.yamlfile import read_yaml as _read_yaml

DEFAULT_FILE = "destinations.yaml"

#: USPS codes of the 50 states and DC.
US_STATES: frozenset[str] = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)

#: ISO codes counted as Western Europe (for calibration checks of the foreign leisure mix).
WESTERN_EUROPE: frozenset[str] = frozenset(
    ["GB", "FR", "IT", "DE", "ES", "PT", "NL", "BE", "IE", "CH", "AT", "GR"]
)

_NonNeg = Annotated[float, Field(ge=0.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DestinationSpec(_Strict):
    """One destination as written in the YAML (US rows may omit ``country`` and ``iso``)."""

    city: Annotated[str, Field(min_length=1, max_length=60)]
    state: str = ""
    country: str = "United States"
    iso: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    lat: Annotated[float, Field(ge=-90.0, le=90.0)]
    lon: Annotated[float, Field(ge=-180.0, le=180.0)]
    population: Annotated[int, Field(ge=1)]
    leisure: _NonNeg
    business: _NonNeg

    @model_validator(mode="after")
    def _consistent(self) -> DestinationSpec:
        if self.iso == "US":
            if self.state not in US_STATES:
                raise ValueError(
                    f"state {self.state!r} is not a USPS state code; US rows need one of the 50 states or DC "
                    '(quote it: state: "NV")'
                )
            if self.country != "United States":
                raise ValueError(f"country {self.country!r} on a US row; omit it or write 'United States'")
        else:
            if self.state:
                raise ValueError(f"state {self.state!r} on a foreign row (iso {self.iso}); omit state")
            if self.country == "United States":
                raise ValueError(f"foreign row (iso {self.iso}) needs its country name, e.g. country: Mexico")
        if self.leisure + self.business <= 0:
            raise ValueError("leisure and business are both 0; give one a positive weight")
        return self


class DestinationsFile(_Strict):
    version: Annotated[int, Field(ge=1)]
    destinations: Annotated[list[dict[str, Any]], Field(min_length=1)]


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Destinations:
    """Columnar destinations, one row per city; read-only numpy arrays.

    ``city``, ``state``, ``country``, ``iso`` (unicode); ``lat``, ``lon``, ``leisure``, ``business``
    (float64); ``population`` (int64); ``foreign`` (bool).
    """

    city: np.ndarray
    state: np.ndarray
    country: np.ndarray
    iso: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    leisure: np.ndarray
    business: np.ndarray
    foreign: np.ndarray

    def __len__(self) -> int:
        return len(self.city)

    def label(self, i: int) -> str:
        """'City, ST' for US rows, 'City, Country' for foreign rows."""
        return f"{self.city[i]}, {self.country[i] if self.foreign[i] else self.state[i]}"


# ---------------------------------------------------------------------------------------------- loading


def _parse(path: Path) -> list[DestinationSpec]:
    raw = _read_yaml(path, "destinations")
    if not isinstance(raw, dict):
        raise _fail(path, "top level", "expected a mapping with version and destinations")
    try:
        top = DestinationsFile.model_validate(raw)
    except ValidationError as exc:
        raise _fail(path, "top level", _describe(exc)) from None
    specs: list[DestinationSpec] = []
    seen: dict[tuple[str, str, str], int] = {}
    for pos, entry in enumerate(top.destinations):
        label = f"destination #{pos}"
        if isinstance(entry, dict) and isinstance(entry.get("city"), str):
            label = f"destination '{entry['city']}' (#{pos})"
        try:
            spec = DestinationSpec.model_validate(entry)
        except ValidationError as exc:
            raise _fail(path, label, _describe(exc)) from None
        key = (spec.city, spec.state, spec.iso)
        if key in seen:
            raise _fail(
                path, label, f"field 'city': duplicate of destination #{seen[key]}; rows must be unique"
            )
        seen[key] = pos
        specs.append(spec)
    return specs


def _build(specs: list[DestinationSpec]) -> Destinations:
    def col(name: str, dtype: Any) -> np.ndarray:
        return _ro(np.array([getattr(s, name) for s in specs], dtype=dtype))

    return Destinations(
        city=col("city", str),
        state=col("state", str),
        country=col("country", str),
        iso=col("iso", str),
        lat=col("lat", np.float64),
        lon=col("lon", np.float64),
        population=col("population", np.int64),
        leisure=col("leisure", np.float64),
        business=col("business", np.float64),
        foreign=_ro(np.array([s.iso != "US" for s in specs], dtype=bool)),
    )


@lru_cache(maxsize=8)
def _load(path: str) -> Destinations:
    return _build(_parse(Path(path)))


def load_destinations(path: str | Path | None = None) -> Destinations:
    """Load and validate a destinations YAML (default: the shipped ``destinations.yaml``); cached per path.

    Raises ``ConfigError`` naming the file, the entry (city and position) and the field on a bad edit.
    """
    return _load(str(Path(path).resolve()) if path is not None else data_path(DEFAULT_FILE))
