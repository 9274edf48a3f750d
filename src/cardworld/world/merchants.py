"""The merchant universe, generated lazily: a merchant is a pure function of (cell, MCC, k).

A cell is a place: a US city (its row in the geography's city table), a foreign destination, or the
online world. Cell c sells MCC m through `merchant_count(c, m)` merchants, k = 0 .. count-1; nothing is
stored, so the universe can hold tens of millions of locations while a shard only materialises the ones
its consumers visit. The id is a stable 64-bit hash of (seed, cell, mcc, k) (signed, so it may be
negative, as in TabFormer); each merchant has exactly one MCC by construction. Attributes that need
randomness (the ZIP within a city, whether it is a chain outlet) come from further hashes of the id, so
every worker derives the same merchant without talking to the others.
"""

from __future__ import annotations

import numpy as np

ONLINE_CELL = -1
FOREIGN_BASE = 1_000_000  # foreign destination d is cell FOREIGN_BASE + d
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser over uint64 arrays (wrapping arithmetic)."""
    z = np.asarray(x, dtype=np.uint64) + _GOLD
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def merchant_hash(seed: int, cell: np.ndarray, mcc: np.ndarray, k: np.ndarray) -> np.ndarray:
    """uint64 hash of (seed, cell, mcc, k)."""
    h = mix64(np.full(np.shape(cell), seed, dtype=np.uint64))
    h = mix64(h ^ np.asarray(cell, dtype=np.int64).astype(np.uint64))
    h = mix64(h ^ np.asarray(mcc, dtype=np.uint64))
    return mix64(h ^ np.asarray(k, dtype=np.uint64))


def merchant_id(seed: int, cell: np.ndarray, mcc: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The signed 64-bit merchant id."""
    return merchant_hash(seed, cell, mcc, k).view(np.int64)


def merchant_count(population: np.ndarray, online: bool = False) -> np.ndarray:
    """Merchants per (cell, MCC): about one per 8,000 residents, at least 2; online a few big ones."""
    if online:
        return np.full(np.shape(population), 60, dtype=np.int64)
    return np.clip(np.asarray(population, dtype=np.float64) / 8_000.0, 2, 400).astype(np.int64)


def uniform_from_hash(h: np.ndarray, salt: int) -> np.ndarray:
    """A deterministic uniform in [0, 1) derived from a hash (for merchant attributes)."""
    return (mix64(h ^ np.uint64(salt)) >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


__all__ = [
    "FOREIGN_BASE",
    "ONLINE_CELL",
    "merchant_count",
    "merchant_hash",
    "merchant_id",
    "mix64",
    "uniform_from_hash",
]
