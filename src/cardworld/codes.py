"""One vocabulary for every layer: the integer codes of concepts that cross layers, and the strings the
dataset contract writes for them.

A code's value is its index into its string table (``USE_CHIP[Channel.CHIP]`` is "Chip Transaction"), so
a column of codes becomes a Parquet dictionary column without a lookup. Numba kernels compare IntEnum
members with integers directly. Nothing else in cardworld defines these codes or strings.
"""

from __future__ import annotations

from enum import IntEnum


class AccountKind(IntEnum):
    """The account behind a card (accounts.kind)."""

    DEBIT = 0
    CREDIT = 1
    PREPAID = 2


ACCOUNT_KIND_NAMES: tuple[str, ...] = ("debit", "credit", "prepaid")


class CardType(IntEnum):
    """A card's type (cards.card_type, TabFormer's "Card Type"); the same order as AccountKind."""

    DEBIT = 0
    CREDIT = 1
    PREPAID = 2


CARD_TYPE_NAMES: tuple[str, ...] = ("Debit", "Credit", "Debit (Prepaid)")


class Channel(IntEnum):
    """How a purchase was made (transactions.use_chip)."""

    SWIPE = 0
    CHIP = 1
    ONLINE = 2


USE_CHIP: tuple[str, ...] = ("Swipe Transaction", "Chip Transaction", "Online Transaction")


class TripKind(IntEnum):
    """A consumer's state on a day; every state but HOME is a trip (trips.kind)."""

    HOME = 0
    GETAWAY = 1
    VACATION = 2
    BUSINESS = 3


TRIP_KIND_NAMES: tuple[str, ...] = ("home", "getaway", "vacation", "business")


class DeclineReason(IntEnum):
    """Bit k of a transaction's errors mask is reason k; TabFormer joins the names in this order."""

    BAD_PIN = 0
    INSUFFICIENT_BALANCE = 1
    TECHNICAL_GLITCH = 2
    BAD_CARD_NUMBER = 3
    BAD_CVV = 4
    BAD_EXPIRATION = 5
    BAD_ZIPCODE = 6


DECLINE_REASON_NAMES: tuple[str, ...] = (
    "Bad PIN",
    "Insufficient Balance",
    "Technical Glitch",
    "Bad Card Number",
    "Bad CVV",
    "Bad Expiration",
    "Bad Zipcode",
)
DECLINE_BITS: dict[str, int] = {name: 1 << k for k, name in enumerate(DECLINE_REASON_NAMES)}

CARD_BRANDS: tuple[str, ...] = ("Visa", "Mastercard", "Amex", "Discover")
PAYMENT_HABITS: tuple[str, ...] = ("full", "minimum", "partial")


class LifeEvent(IntEnum):
    """What put a consumer in financial distress (sim.life_events); defaults.cause names it."""

    NONE = 0
    JOB_LOSS = 1
    MEDICAL_BILLS = 2
    DIVORCE = 3
    RETIREMENT = 4


LIFE_EVENT_NAMES: tuple[str, ...] = ("none", "job_loss", "medical_bills", "divorce", "retirement")
ONLINE_CITY = "ONLINE"  # merchant_city of an online purchase

__all__ = [
    "ACCOUNT_KIND_NAMES",
    "CARD_BRANDS",
    "CARD_TYPE_NAMES",
    "DECLINE_BITS",
    "DECLINE_REASON_NAMES",
    "LIFE_EVENT_NAMES",
    "ONLINE_CITY",
    "PAYMENT_HABITS",
    "TRIP_KIND_NAMES",
    "USE_CHIP",
    "AccountKind",
    "CardType",
    "Channel",
    "DeclineReason",
    "LifeEvent",
    "TripKind",
]
