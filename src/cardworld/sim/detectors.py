"""Model-in-the-loop fraud detection: a Python callable that watches each card and can flag it.

    def detector(card: CardHistory) -> np.ndarray | None:
        return card.amount > 2_000          # one flag per transaction (or None: nothing flagged)

    generate(cfg, "out/world", detector=detector)

The world calls the detector once per card number: a card index from its first transaction, or from its
last revocation, to the end of the run (or its next revocation). `CardHistory` holds that card's
transactions in time order, the owner's and any fraudster's. The detector returns one flag per
transaction; the first flagged transaction revokes the card at that moment: fraud after it never
happens, and the owner's later purchases move to a replacement card (the same card index with a new
number, ``cards_issued`` + 1), which the detector then sees as a new card. A false alarm on a genuine
purchase also replaces the card.

Flags must be causal: flag transaction i from transactions 0..i only, as a deployed model would. The
later transactions are those that happen if the card is not revoked. With ``workers > 1`` the callable
is sent to worker processes, so it must be picklable: a module-level function or an instance of a
module-level class.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cardworld.errors import ConfigError

Detector = Callable[["CardHistory"], Any]


@dataclass(frozen=True)
class CardHistory:
    """One card number's transactions in time order (before declines are decided)."""

    user_id: int
    card_index: int
    timestamp: np.ndarray  # int64 seconds since 1970, the cardholder's local time
    amount: np.ndarray  # float64 dollars; negative for a refund
    use_chip: np.ndarray  # int8: 0 swipe, 1 chip, 2 online
    mcc: np.ndarray  # int16
    merchant_id: np.ndarray  # int64, as in the transactions table
    foreign: np.ndarray  # bool: a merchant abroad
    is_fraud: np.ndarray  # bool labels: for oracle detectors and tests only; a model must not read them

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])


def first_flag(detector: Detector, card: CardHistory) -> int | None:
    """Position of the first transaction the detector flags, or None; errors name the card."""
    n = len(card)
    try:
        flags = detector(card)
    except Exception as e:
        raise ConfigError(f"detector: raised {type(e).__name__}: {e} {_where(card)}; fix the detector") from e
    if flags is None:
        return None
    arr = np.asarray(flags)
    if arr.shape != (n,) or arr.dtype.kind not in "biu":
        raise ConfigError(
            f"detector: returned {_describe(arr)} {_where(card)}; return None or one boolean flag per "
            f"transaction (shape ({n},))"
        )
    hits = np.flatnonzero(arr)
    return int(hits[0]) if hits.size else None


def check_detector(detector: Any, workers: int) -> None:
    """Refuse a detector that cannot be called, or cannot reach worker processes."""
    if detector is None:
        return
    if not callable(detector):
        raise ConfigError(
            f"detector: {type(detector).__name__} object is not callable; pass a function that takes a "
            "CardHistory and returns one flag per transaction (or None)"
        )
    if workers > 1:
        try:
            pickle.dumps(detector)
        except Exception as e:
            raise ConfigError(
                f"detector: cannot be sent to worker processes ({e}); use a module-level function or class "
                "instance, or workers=1"
            ) from None


def first_fraud(card: CardHistory) -> np.ndarray:
    """An oracle that flags the first fraudulent transaction (an upper bound for any real model)."""
    return card.is_fraud


@dataclass(frozen=True)
class AmountRule:
    """Flags purchases above a dollar amount: the simplest rule an issuer runs."""

    limit: float

    def __call__(self, card: CardHistory) -> np.ndarray:
        return card.amount > self.limit


def _where(card: CardHistory) -> str:
    span = ""
    if len(card):
        first, last = (np.datetime64(int(card.timestamp[i]), "s") for i in (0, -1))
        span = f", transactions 0..{len(card) - 1} from {first} to {last}"
    return f"on card {card.card_index} of user {card.user_id} ({len(card)} transactions{span})"


def _describe(arr: np.ndarray) -> str:
    return f"an array of shape {arr.shape} and dtype {arr.dtype}" if arr.ndim else f"{arr.item()!r}"


__all__ = ["AmountRule", "CardHistory", "Detector", "check_detector", "first_flag", "first_fraud"]
