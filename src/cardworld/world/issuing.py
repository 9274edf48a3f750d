"""Issuing one card: its number, CVV and chip. Used by first issues and reissues (``world.cards``) and by
replacements after fraud (``world.reissue``), so every issue is made the same way.

    digits, pref = draw_issues(rng, n)                 # the randomness of n issues, in this order
    numbers, cvv, has_chip = issue_cards(brand, valid_from, digits, pref, chip_card_year)
"""

from __future__ import annotations

import numpy as np

from cardworld.codes import CARD_BRANDS
from cardworld.world.luhn import card_numbers

MC_TWO_SERIES_YEAR = 2017  # Mastercard 2221-2720 numbers are issued from this year on ...
MC_TWO_SERIES_SHARE = 0.2  # ... for this share of new Mastercard issues
ISSUE_DIGITS = 20  # per issue: 16 number digits + 4 CVV digits
_AMEX = CARD_BRANDS.index("Amex")
_MASTERCARD = CARD_BRANDS.index("Mastercard")


def draw_issues(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The random digits (n, ISSUE_DIGITS) int8 and prefix uniforms (n, 2) of n issues, drawn in this
    order (a caller's stream layout depends on it)."""
    return rng.integers(0, 10, size=(n, ISSUE_DIGITS), dtype=np.int8), rng.random((n, 2))


def issue_numbers(
    brand: np.ndarray, valid_from: np.ndarray, digits: np.ndarray, pref: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(card numbers <U16, CVVs <U4) of issues: ``brand`` indexes codes.CARD_BRANDS, ``digits`` (n, 20)
    random digits (16 for the number, 4 for the CVV), ``pref`` (n, 2) uniforms (prefix, Mastercard
    2-series)."""
    year = issue_year(valid_from)
    two_series = (brand == _MASTERCARD) & (year >= MC_TWO_SERIES_YEAR) & (pref[:, 1] < MC_TWO_SERIES_SHARE)
    numbers = card_numbers(brand, digits[:, :16], pref[:, 0], two_series)
    cvv_bytes = (digits[:, 16:20] + 48).astype(np.uint8)
    cvv_bytes[brand != _AMEX, 3] = 0  # 3 digits but Amex's 4
    return numbers, cvv_bytes.view("S4").ravel().astype("U4")


def issue_cards(
    brand: np.ndarray, valid_from: np.ndarray, digits: np.ndarray, pref: np.ndarray, chip_card_year: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(numbers, CVVs, has_chip) of issues starting at ``valid_from`` (datetime64): an issue has a chip iff
    it starts in or after ``chip_card_year``."""
    numbers, cvv = issue_numbers(brand, valid_from, digits, pref)
    return numbers, cvv, issue_year(valid_from) >= chip_card_year


def issue_year(d: np.ndarray) -> np.ndarray:
    """Calendar year (int64) of datetime64 values."""
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


__all__ = ["ISSUE_DIGITS", "draw_issues", "issue_cards", "issue_numbers", "issue_year"]
