"""Names and street addresses from uniforms (vectorised): the caller owns the randomness.

Each picker maps uniforms in [0, 1) to list entries by inverse CDF over rank-based weights
``w_r ∝ 1 / (r + r0) ** s`` (a Zipf-like rank-frequency law, close to the Census surname and SSA
given-name frequency curves over their top few hundred entries). Lists: ``cardworld.world.names_data``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cardworld.stats import pick
from cardworld.world.names_data import (
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    STREET_NAMES,
    STREET_SUFFIXES,
)


@lru_cache(maxsize=16)
def _table(values: tuple[str, ...], r0: float, s: float) -> tuple[np.ndarray, np.ndarray]:
    ranks = np.arange(len(values), dtype=np.float64)
    w = 1.0 / (ranks + r0) ** s
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    arr = np.array(values)
    arr.setflags(write=False)
    cdf.setflags(write=False)
    return arr, cdf


def _pick(values: tuple[str, ...], u: np.ndarray, r0: float = 8.0, s: float = 1.0) -> np.ndarray:
    arr, cdf = _table(values, r0, s)
    return arr[pick(cdf, np.asarray(u, dtype=np.float64))]


def first_names(u: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Given names (<U) for uniforms ``u``, from the female or male list by ``female`` (bool)."""
    return np.where(female, _pick(FEMALE_FIRST_NAMES, u), _pick(MALE_FIRST_NAMES, u))


def last_names(u: np.ndarray) -> np.ndarray:
    """Surnames (<U) for uniforms ``u``."""
    return _pick(LAST_NAMES, u, r0=4.0, s=0.9)


def full_names(u_first: np.ndarray, u_last: np.ndarray, female: np.ndarray) -> np.ndarray:
    """'First Last' (<U), as TabFormer's ``Person`` column."""
    return np.char.add(np.char.add(first_names(u_first, female), " "), last_names(u_last))


def street_addresses(u_number: np.ndarray, u_street: np.ndarray, u_suffix: np.ndarray) -> np.ndarray:
    """'462 Rose Lane' (<U): a house number 5..9999 (log-uniform, small numbers more common), a street
    name and a suffix."""
    number = np.floor(10.0 ** (0.7 + 3.3 * np.asarray(u_number, dtype=np.float64))).astype(np.int64)
    number = np.clip(number, 1, 9999)
    street = _pick(STREET_NAMES, u_street, r0=20.0, s=0.7)
    suffix = _pick(STREET_SUFFIXES, u_suffix, r0=2.0, s=1.2)
    return np.char.add(np.char.add(np.char.add(number.astype("U4"), " "), np.char.add(street, " ")), suffix)


__all__ = ["first_names", "full_names", "last_names", "street_addresses"]
