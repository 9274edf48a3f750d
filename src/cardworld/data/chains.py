"""Merchant chains: real national and multinational brands, each with its MCC and where it trades.

``chains.yaml`` lists over 300 chains (grocers, fuel, fast food, pharmacies, department stores, apparel,
electronics, online and digital merchants, airlines, car rental, hotels, ...). Each has one ISO 18245 MCC,
the ISO alpha-2 countries it trades in (or named ``country_groups``, expanded on load), how much it
favours cities (``urban``), its online presence (``online``) and a relative market size (``weight``).
``load_chains`` validates the file with pydantic (a bad edit names the chain and field) and returns a
frozen, picklable, columnar ``Chains``; ``Chains.chains_for(mcc, country)`` gives the candidate rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cardworld.data import data_path
from cardworld.data.destinations import _ro
from cardworld.errors import ConfigError
from cardworld.yamlfile import describe as _describe
from cardworld.yamlfile import fail as _fail
from cardworld.yamlfile import read_yaml as _read_yaml

DEFAULT_FILE = "chains.yaml"

_ISO = r"^[A-Z]{2}$"
_GROUP = r"^[a-z][a-z0-9_]*$"
_Share = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _codes(v: Any) -> Any:
    if isinstance(v, list):
        for x in v:
            if isinstance(x, bool):
                raise ValueError('a country code was read as a boolean; quote it ("NO" for Norway)')
    return v


class ChainSpec(_Strict):
    """One chain as written in the YAML (countries may name country_groups)."""

    name: Annotated[str, Field(min_length=1, max_length=60)]
    mcc: Annotated[int, Field(ge=0, le=9999)]
    countries: Annotated[list[Annotated[str, Field(pattern=f"{_ISO}|{_GROUP}")]], Field(min_length=1)]
    urban: _Share
    online: _Share
    weight: Annotated[float, Field(gt=0.0)]

    @field_validator("countries", mode="before")
    @classmethod
    def _no_bools(cls, v: Any) -> Any:
        return _codes(v)


class ChainsFile(_Strict):
    version: Annotated[int, Field(ge=1)]
    country_groups: dict[
        Annotated[str, Field(pattern=_GROUP)],
        Annotated[list[Annotated[str, Field(pattern=_ISO)]], Field(min_length=1)],
    ] = {}
    chains: Annotated[list[dict[str, Any]], Field(min_length=1)]

    @field_validator("country_groups", mode="before")
    @classmethod
    def _no_bools(cls, v: Any) -> Any:
        return {k: _codes(x) for k, x in v.items()} if isinstance(v, dict) else v


@dataclass(frozen=True, eq=False)
class Chains:
    """Columnar chains, one row per chain; read-only numpy arrays.

    ``name`` (unicode), ``mcc`` (int16), ``countries`` (tuple of tuples of ISO alpha-2 codes, groups
    expanded), ``us`` (bool: 'US' in countries), ``urban``, ``online``, ``weight`` (float64).
    """

    name: np.ndarray
    mcc: np.ndarray
    countries: tuple[tuple[str, ...], ...]
    us: np.ndarray
    urban: np.ndarray
    online: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.name)

    @cached_property
    def _by_key(self) -> dict[tuple[int, str], np.ndarray]:
        out: dict[tuple[int, str], list[int]] = {}
        for i, (m, cs) in enumerate(zip(self.mcc.tolist(), self.countries, strict=True)):
            for c in cs:
                out.setdefault((m, c), []).append(i)
        return {k: _ro(np.array(v, dtype=np.int64)) for k, v in out.items()}

    def chains_for(self, mcc: int, country: str = "US") -> np.ndarray:
        """Rows (int64, ascending) of chains with this MCC trading in ``country`` (ISO alpha-2); may be empty."""
        return self._by_key.get((int(mcc), country), _EMPTY)

    def index(self, name: str) -> int:
        """Row of a chain by name; raises ``ConfigError`` if unknown."""
        hits = np.flatnonzero(self.name == name)
        if len(hits) == 0:
            raise ConfigError(f"chains: no chain named {name!r}; see load_chains().name")
        return int(hits[0])


_EMPTY = _ro(np.zeros(0, dtype=np.int64))


# ---------------------------------------------------------------------------------------------- loading


def _parse(path: Path) -> tuple[list[ChainSpec], list[tuple[str, ...]]]:
    from cardworld.data.mcc import is_mcc

    raw = _read_yaml(path, "chains")
    if not isinstance(raw, dict):
        raise _fail(path, "top level", "expected a mapping with version, country_groups and chains")
    try:
        top = ChainsFile.model_validate(raw)
    except ValidationError as exc:
        raise _fail(path, "top level", _describe(exc)) from None
    groups = top.country_groups
    specs: list[ChainSpec] = []
    countries: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    for pos, entry in enumerate(top.chains):
        label = f"chain #{pos}"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            label = f"chain '{entry['name']}' (#{pos})"
        try:
            spec = ChainSpec.model_validate(entry)
        except ValidationError as exc:
            raise _fail(path, label, _describe(exc)) from None
        if spec.name in seen:
            raise _fail(
                path, label, f"field 'name': duplicate of chain #{seen[spec.name]}; names must be unique"
            )
        seen[spec.name] = pos
        if not is_mcc(spec.mcc):
            raise _fail(
                path,
                label,
                f"field 'mcc': {spec.mcc:04d} is not an ISO 18245 / card-network MCC known to iso18245; "
                "use a listed code (cardworld.data.mcc.all_mccs())",
            )
        expanded: list[str] = []
        for j, c in enumerate(spec.countries):
            if c.islower():
                if c not in groups:
                    raise _fail(
                        path,
                        label,
                        f"field 'countries.{j}': unknown group {c!r}; use one of {sorted(groups)}",
                    )
                expanded.extend(groups[c])
            else:
                expanded.append(c)
        specs.append(spec)
        countries.append(tuple(dict.fromkeys(expanded)))
    return specs, countries


def _build(specs: list[ChainSpec], countries: list[tuple[str, ...]]) -> Chains:
    def col(name: str, dtype: Any) -> np.ndarray:
        return _ro(np.array([getattr(s, name) for s in specs], dtype=dtype))

    return Chains(
        name=col("name", str),
        mcc=col("mcc", np.int16),
        countries=tuple(countries),
        us=_ro(np.array(["US" in cs for cs in countries], dtype=bool)),
        urban=col("urban", np.float64),
        online=col("online", np.float64),
        weight=col("weight", np.float64),
    )


@lru_cache(maxsize=8)
def _load(path: str) -> Chains:
    return _build(*_parse(Path(path)))


def load_chains(path: str | Path | None = None) -> Chains:
    """Load and validate a chains YAML (default: the shipped ``chains.yaml``); cached per path.

    Raises ``ConfigError`` naming the file, the chain (name and position) and the field on a bad edit.
    """
    return _load(str(Path(path).resolve()) if path is not None else data_path(DEFAULT_FILE))
