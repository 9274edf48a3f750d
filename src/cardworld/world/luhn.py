"""Luhn (mod 10) check digits and card numbers with real brand prefixes and lengths.

Scalar helpers for clarity and tests; ``card_numbers`` is the vectorised generator ``make_cards`` uses.

Prefixes and lengths (ISO/IEC 7812 IINs as the networks publish them):
Visa ``4`` (16 digits), Mastercard ``51``-``55`` or ``2221``-``2720`` (16), American Express ``34``/``37``
(15), Discover ``6011`` or ``65`` (16).
"""

from __future__ import annotations

import numpy as np

from cardworld.codes import CARD_BRANDS
from cardworld.errors import InputError

LENGTHS: dict[str, int] = {"Visa": 16, "Mastercard": 16, "Amex": 15, "Discover": 16}


def luhn_check_digit(digits: str) -> str:
    """The check digit that makes ``digits + check`` Luhn-valid."""
    if not digits.isdigit():
        raise InputError(f"luhn_check_digit: {digits!r} must be a non-empty string of digits")
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 0:  # rightmost payload digit is doubled (it sits left of the check digit)
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_luhn_valid(number: str) -> bool:
    """True when ``number`` (digits only, 2+ long) passes the Luhn check."""
    if len(number) < 2 or not number.isdigit():
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def _prefix(u: float, brand: str) -> str:
    if brand == "Visa":
        return "4"
    if brand == "Mastercard":
        return str(51 + int(u * 5)) if u < 0.8 else str(2221 + int((u - 0.8) / 0.2 * 500))
    if brand == "Amex":
        return "34" if u < 0.5 else "37"
    if brand == "Discover":
        return "6011" if u < 0.5 else "65"
    raise InputError(f"card brand {brand!r} is unknown; use one of {list(CARD_BRANDS)}")


def make_card_number(rng: np.random.Generator, brand: str) -> str:
    """One Luhn-valid card number of ``brand`` with a real prefix and length (scalar)."""
    prefix = _prefix(float(rng.random()), brand)
    n = LENGTHS[brand] - 1 - len(prefix)
    body = prefix + "".join(map(str, rng.integers(0, 10, size=n)))
    return body + luhn_check_digit(body)


def _luhn_digits(payload: np.ndarray) -> np.ndarray:
    """Check digits (int) for the rows of an (n, k) int array of payload digits."""
    k = payload.shape[1]
    # Position i from the right of the payload (0 = rightmost) is doubled when i is even.
    doubled = ((k - 1 - np.arange(k)) % 2) == 0
    d = payload.astype(np.int64)
    dd = d * 2
    dd = np.where(dd > 9, dd - 9, dd)
    total = np.where(doubled, dd, d).sum(axis=1)
    return (10 - total % 10) % 10


def card_numbers(
    brand_code: np.ndarray, digits: np.ndarray, u_prefix: np.ndarray, two_series: np.ndarray
) -> np.ndarray:
    """Luhn-valid card numbers (<U16), vectorised.

    ``brand_code`` indexes ``codes.CARD_BRANDS``; ``digits`` is an (n, 16) array of random digits 0..9
    (the body); ``u_prefix`` uniforms pick the prefix within a brand; ``two_series`` (bool) makes a
    Mastercard number use the 2221-2720 range (issued from 2017 on) instead of 51-55.
    """
    n = brand_code.shape[0]
    d = np.array(digits[:, :16], dtype=np.int64, copy=True)
    u = np.asarray(u_prefix, dtype=np.float64)
    visa, mc, amex, disc = (brand_code == k for k in range(4))
    d[visa, 0] = 4
    mc51 = mc & ~two_series
    d[mc51, 0] = 5
    d[mc51, 1] = 1 + np.minimum((u[mc51] * 5).astype(np.int64), 4)
    mc2 = mc & two_series
    p4 = 2221 + np.minimum((u[mc2] * 500).astype(np.int64), 499)
    for j, div in enumerate((1000, 100, 10, 1)):
        d[mc2, j] = (p4 // div) % 10
    d[amex, 0] = 3
    d[amex, 1] = np.where(u[amex] < 0.5, 4, 7)
    d6011 = disc & (u < 0.5)
    d[d6011, :4] = (6, 0, 1, 1)
    d65 = disc & (u >= 0.5)
    d[d65, :2] = (6, 5)
    length = np.where(amex, 15, 16)
    out = np.zeros((n, 16), dtype=np.uint8)
    for ln in (15, 16):
        rows = length == ln
        if rows.any():
            body = d[rows, : ln - 1]
            out[rows, : ln - 1] = body + 48
            out[rows, ln - 1] = _luhn_digits(body) + 48
    # Fixed-width bytes drop trailing NULs, so 15-digit rows come out 15 long.
    return out.view("S16").ravel().astype("U16")


__all__ = ["card_numbers", "is_luhn_valid", "luhn_check_digit", "make_card_number"]
