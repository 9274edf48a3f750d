"""Merchant category codes (MCC) and their descriptions, from ISO 18245.

Source: the ``iso18245`` package (MIT licence), which ships the ISO 18245 list of codes together with
the Visa, Mastercard, American Express, Stripe, USDA and Alipay lists. Codes 3000-3999 are reserved
by ISO for private use; the card networks assign them to airlines (3000-3350), car rental companies
(3351-3500) and lodging chains (3501-3999), so their descriptions come from the network lists.

A description is the ISO text when ISO has one, else the first non-empty one of Mastercard, Visa,
USDA, American Express, Stripe and Alipay. Codes are plain ints here (TabFormer writes ``MCC`` as an
int, so 742 is "0742 Veterinary services").
"""

from __future__ import annotations

from functools import lru_cache

from cardworld.errors import InputError

#: Network-assigned groups inside the ISO private range 3000-3999 (iso18245's private_ranges.csv).
PRIVATE_RANGES: tuple[tuple[int, int, str], ...] = (
    (3000, 3350, "Airlines"),
    (3351, 3500, "Car rental"),
    (3501, 3999, "Lodging"),
)


@lru_cache(maxsize=1)
def _table() -> dict[int, tuple[str, str]]:
    """code -> (description, ISO range description), built once from iso18245."""
    import iso18245

    table: dict[int, tuple[str, str]] = {}
    for m in iso18245.get_all_mccs():
        code = int(m.mcc)
        text = next(
            (
                d.strip()
                for d in (
                    m.iso_description,
                    m.mastercard_description,
                    m.visa_description,
                    m.usda_description,
                    m.amex_description,
                    m.stripe_description,
                    m.alipay_description,
                )
                if d and d.strip()
            ),
            "",
        )
        group = m.range.description
        for lo, hi, name in PRIVATE_RANGES:
            if lo <= code <= hi:
                group = name
        table[code] = (text or group, group)
    return table


def _code(code: int | str) -> int:
    try:
        value = int(code)
    except (TypeError, ValueError):
        raise InputError(
            f"MCC {code!r} is not a number: give a 4-digit merchant category code such as 5411"
        ) from None
    if not 0 <= value <= 9999:
        raise InputError(
            f"MCC {code!r} is outside 0..9999: give a 4-digit merchant category code such as 5411"
        )
    return value


def is_mcc(code: int | str) -> bool:
    """True when ``code`` is listed by iso18245 (ISO or any network list)."""
    try:
        return _code(code) in _table()
    except InputError:
        return False


def mcc_description(code: int | str) -> str:
    """Description of an MCC, e.g. ``mcc_description(5411) == "Groceries and supermarkets"``.

    Raises ``InputError`` for a code that iso18245 does not list.
    """
    value = _code(code)
    try:
        return _table()[value][0]
    except KeyError:
        raise InputError(
            f"MCC {value:04d} is not in the ISO 18245 lists shipped with iso18245: "
            "use a listed code (see cardworld.data.mcc.all_mccs())"
        ) from None


def mcc_group(code: int | str) -> str:
    """The ISO range an MCC falls in, e.g. "Retail outlets", or "Airlines"/"Car rental"/"Lodging" for 3000-3999."""
    mcc_description(code)  # validates
    return _table()[_code(code)][1]


def all_mccs() -> tuple[int, ...]:
    """Every code iso18245 lists, ascending."""
    return tuple(sorted(_table()))
