"""The typed containers the consumer simulation's stages pass along (sim.consumer runs the stages).

`ConsumerInput` is what the world gives one consumer; `Purchases` holds their purchases, one entry per
purchase in draw order, filled stage by stage; `CardRows` holds the rows that reach a card, sorted by
time (the consumer's own, then fraud and retries merged in). Every array is per row; `offsets` delimits
consumers (one consumer today: [0, n]) so that a later step can run the stages over a whole shard's rows
at once without changing the containers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from cardworld.sim.trips import Trips


def _unset() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class ConsumerInput:
    """What the simulator needs of one consumer, their card issues and accounts (plain arrays)."""

    user_id: int
    birth_day: int  # days since 1970
    retirement_age: int
    yearly_income: float
    home_zip_row: int
    travel_propensity: float
    online_propensity: float
    cash_propensity: float
    works: bool
    # card issues
    card_index: np.ndarray  # int16
    valid_from: np.ndarray  # int64 seconds
    valid_to: np.ndarray  # int64 seconds
    has_chip: np.ndarray  # bool
    card_kind: np.ndarray  # int8 cardworld.codes.CardType
    card_account: np.ndarray  # int32 local account of each issue
    # accounts
    acct_kind: np.ndarray  # int8 cardworld.codes.AccountKind
    acct_limit: np.ndarray
    acct_balance0: np.ndarray
    acct_pay_share: np.ndarray
    acct_paycheck: np.ndarray
    acct_pay_period: np.ndarray
    # the credit cycle's (sim.credit_cycle)
    fico_score: int = 710  # at the world's start
    acct_id: np.ndarray = field(default_factory=_unset)  # int64 dataset account_id
    acct_open_day: np.ndarray = field(default_factory=_unset)  # int64 epoch day the account opened
    acct_close_day: np.ndarray = field(default_factory=_unset)  # int64 epoch day the holder closes it


@dataclass
class ConsumerOutput:
    user_id: int
    card: dict[str, np.ndarray]  # transaction columns (coded), sorted by time
    cash: dict[str, np.ndarray]
    trips: Trips
    merchants: np.ndarray  # (m, 3) int64 unique (cell, mcc, k) visited
    revocations: list[tuple[int, int]]  # (card index, second it is revoked), by time
    dark_web: list[tuple[int, int]]  # (card index, second): card numbers sold on the dark web
    statements: dict[str, np.ndarray] | None = None  # the credit cycle's statements (contract columns)
    defaults: dict[str, np.ndarray] | None = None  # its charged-off accounts


@dataclass(frozen=True)
class LifeSpan:
    """The days a consumer is simulated on (epoch days, inclusive) and their life's milestones."""

    first_day: int
    last_day: int
    retire_day: int
    old_day: int  # from 75 on, travel halves

    @property
    def n_days(self) -> int:
        return self.last_day - self.first_day + 1


@dataclass(frozen=True)
class Tastes:
    """Per catalogue item: what a consumer buys, how often and for how much."""

    rate: np.ndarray  # float64 purchases per year (0: not a buyer)
    amount_median: np.ndarray  # float64 dollars
    amount_sigma: np.ndarray  # float64 log-scale spread
    bill_dom: np.ndarray  # int64 day of the month a recurring bill falls on


@dataclass(frozen=True)
class Days:
    """The consumer's days: where they are (trip state) and which class each day is in."""

    trips: Trips
    days: np.ndarray  # int64 epoch days first_day .. last_day
    state: np.ndarray  # int8 TripKind per day
    trip_of_day: np.ndarray  # int32 trip index per day, -1 at home
    order: np.ndarray  # int64 days sorted by class (stable)
    n_class: np.ndarray  # int64 days per class (state * 2 + weekend), 8 classes
    class_off: np.ndarray  # int64 offsets of each class in `order`


@dataclass
class Purchases:
    """A consumer's purchases in draw order; the first fields are set when they are drawn, the others by
    the stage named beside them."""

    item: np.ndarray  # int64 catalogue item
    day: np.ndarray  # int64 epoch day
    year: np.ndarray  # int64 calendar year
    state: np.ndarray  # int8 TripKind that day
    trip: np.ndarray  # int32 trip index that day, -1 at home
    offsets: np.ndarray  # int64 consumer boundaries ([0, n] for one consumer)
    time: np.ndarray = field(default_factory=_unset)  # int64 seconds (purchase_times)
    slot: np.ndarray = field(default_factory=_unset)  # int64 routine slot id, -1 off routine (purchase_times)
    cents: np.ndarray = field(default_factory=_unset)  # int64 (purchase_amounts)
    online: np.ndarray = field(default_factory=_unset)  # bool (channel_and_cash)
    cash: np.ndarray = field(default_factory=_unset)  # bool: paid cash (channel_and_cash, card choice)
    away: np.ndarray = field(default_factory=_unset)  # bool: on a trip, in person (choose_merchants)
    cell: np.ndarray = field(default_factory=_unset)  # int64 merchant cell (choose_merchants)
    mcc: np.ndarray = field(default_factory=_unset)  # int64
    k: np.ndarray = field(default_factory=_unset)  # int64 merchant within (cell, mcc)
    card: np.ndarray = field(default_factory=_unset)  # int64 card issue row (choose_cards)
    alt_card: np.ndarray = field(default_factory=_unset)  # int64 another usable issue, -1 if none
    card_ok: np.ndarray = field(default_factory=_unset)  # bool: some issue was usable

    def __len__(self) -> int:
        return int(self.item.shape[0])


@dataclass(frozen=True)
class Refunds:
    """Refunds of earlier purchases: the purchase refunded, when, and how much (positive cents)."""

    source: np.ndarray  # int64 purchase index
    time: np.ndarray  # int64 seconds
    cents: np.ndarray  # int64


@dataclass
class CardRows:
    """The rows that reach a card, sorted by time. `source` is the purchase index of a consumer's row and
    n_purchases + j for fraud row j; a retry repeats its row's source."""

    source: np.ndarray  # int64
    time: np.ndarray  # int64 seconds
    amount: np.ndarray  # float64 dollars, negative for a refund
    chan: np.ndarray  # int8 Channel
    issue: np.ndarray  # int64 card issue row
    alt_issue: np.ndarray  # int64 another usable issue, -1 if none
    pin: np.ndarray  # bool: a PIN was entered
    cell: np.ndarray  # int64 merchant cell
    mcc: np.ndarray  # int64
    k: np.ndarray  # int64
    u: np.ndarray  # (rows, 5) float64 uniforms of the decline kernel
    is_fraud: np.ndarray  # bool
    errors: np.ndarray  # uint8 decline bitmask (0 until the declines stage)

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def take(self, idx: np.ndarray) -> CardRows:
        """The rows at idx (integer positions), every per-row field alike (np.take: the same rows as
        fancy indexing, several times faster on the (rows, 5) uniforms)."""
        return CardRows(**{f.name: np.take(getattr(self, f.name), idx, axis=0) for f in fields(self)})


__all__ = [
    "CardRows",
    "ConsumerInput",
    "ConsumerOutput",
    "Days",
    "LifeSpan",
    "Purchases",
    "Refunds",
    "Tastes",
]
