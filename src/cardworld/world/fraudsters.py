"""The fraudster population: people who work at fraud as a job, each with a life of their own.

    fraudsters = make_fraudsters(cfg, cities, destinations, start_day, end_day, first_online_day)

Fraudster ``i`` comes from ``stream(cfg.seed, Stream.FRAUDSTER, i)`` alone, so every worker rebuilds the
same population without talking to the others. Each one has:

* a home: a US city (by population) or a city abroad (counterfeit cards are also cashed out abroad);
* a modus operandi: card-present (skimmed or counterfeit cards, used in shops near home), online (card
  data bought from breaches and the dark web), or a mix; `cnp_weight` is the share of its work online;
* preferred goods: four MCCs from a pool that resells well (electronics, jewellery, department stores,
  gift-card-like money transfers, online retail, and travel, whose airline and hotel codes are drawn as
  genuine travellers use them), an amount level and spread, and a share of
  ordinary purchases (groceries, fuel) that keeps fraud from being trivially separable;
* a working schedule: weekdays and a window of hours in the victim's local time (fraudsters abroad work
  their own daytime, which is the middle of the night in the US);
* an active period of months to years: campaigns start and stop, so fraud is episodic from year to year;
* a capacity (how many cards they work at once, relative to the others) and habits for a burst: planned
  purchases and days on one card, the chance of a small test purchase first and of a refund at the end.

With ``cfg.fraud.twins`` every fraudster appears twice (ids 2i and 2i + 1, twin 0 and 1) with identical
traits; twin g works only cards of consumers in half g, so both halves face statistically identical fraud.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.config import WorldConfig
from cardworld.data.destinations import Destinations
from cardworld.data.geography import Cities
from cardworld.dates import SECONDS_PER_DAY
from cardworld.rng import Stream, stream
from cardworld.stats import pick, pick_weighted
from cardworld.world.merchants import FOREIGN_BASE, mix64

KINDS: tuple[str, ...] = ("card-present", "online", "mixed")
KIND_SHARES = np.array([0.35, 0.45, 0.20])
# MCC pools by modus: goods that resell well, and the travel and online codes card data is cashed out on.
CARD_PRESENT_MCCS = np.array([5732, 5944, 5311, 5310, 5999, 5912, 5541, 5651, 5661, 5941, 5399, 5300, 5045])
TRAVEL = (
    -1
)  # a preference for travel: airlines, hotels and agencies, each MCC as often as genuine buyers use it
ONLINE_MCCS = np.array([5732, 5045, 5964, 5999, 4829, 5816, 5815, 5734, TRAVEL, TRAVEL, 5944, 5945])
N_MCCS = 4
FOREIGN_SHARE = {"card-present": 0.10, "online": 0.40, "mixed": 0.25}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, eq=False)
class Fraudsters:
    """Columnar fraudster population (one row per fraudster; twins are separate rows)."""

    fraudster_id: np.ndarray  # int32
    kind: np.ndarray  # <U12, one of KINDS
    cnp_weight: np.ndarray  # float64 share of the work done online
    cell: np.ndarray  # int64 home cell: city row, or FOREIGN_BASE + destination row
    home: np.ndarray  # <U: "City, ST" or "City, Country"
    foreign: np.ndarray  # bool
    start: np.ndarray  # int64 seconds: first day in the field
    end: np.ndarray  # int64 seconds: first day out of it
    capacity: np.ndarray  # float64 relative number of cards worked per month
    amount_median: np.ndarray  # float64 dollars
    amount_sigma: np.ndarray  # float64 (log scale)
    mccs: np.ndarray  # (n, N_MCCS) int16 preferred MCCs
    weekdays: np.ndarray  # (n, 7) bool, Monday first
    hour_start: np.ndarray  # int8 first working hour in the victim's local time
    hour_span: np.ndarray  # int8 working hours
    test_purchase: np.ndarray  # float64 P(a small test purchase opens a burst)
    final_refund: np.ndarray  # float64 P(a burst ends with a refund)
    ordinary_share: np.ndarray  # float64 share of ordinary purchases (groceries, fuel, food)
    burst_rows: np.ndarray  # float64 mean planned purchases on one card
    burst_days: np.ndarray  # float64 mean days spent on one card
    salt: np.ndarray  # uint64: picks the fraudster's few favourite merchants
    twin: np.ndarray  # int8: -1 without twins, else the half of the consumers it works

    def __len__(self) -> int:
        return int(self.fraudster_id.shape[0])

    def table_columns(self) -> dict[str, np.ndarray]:
        """The columns of fraudsters.parquet (contract columns first)."""
        hours = [
            f"{h:02d}:00+{s}h" for h, s in zip(self.hour_start.tolist(), self.hour_span.tolist(), strict=True)
        ]
        days = [
            " ".join(d for d, on in zip(_WEEKDAYS, row, strict=True) if on) for row in self.weekdays.tolist()
        ]
        return {
            "fraudster_id": self.fraudster_id,
            "kind": self.kind.astype(object),
            "start": self.start.astype("datetime64[s]"),
            "end": self.end.astype("datetime64[s]"),
            "home": self.home.astype(object),
            "foreign": self.foreign,
            "card_not_present_share": self.cnp_weight,
            "capacity": self.capacity,
            "amount_median": self.amount_median,
            "amount_sigma": self.amount_sigma,
            "mccs": np.array(
                [" ".join("travel" if m == TRAVEL else str(m) for m in row) for row in self.mccs.tolist()],
                dtype=object,
            ),
            "weekdays": np.array(days, dtype=object),
            "hours": np.array(hours, dtype=object),
            "test_purchase": self.test_purchase,
            "final_refund": self.final_refund,
            "ordinary_share": self.ordinary_share,
            "burst_rows": self.burst_rows,
            "burst_days": self.burst_days,
            "twin": self.twin,
        }


def twin_group(seed: int, user_ids: np.ndarray) -> np.ndarray:
    """The half (0 or 1) of the consumers a user belongs to with ``cfg.fraud.twins``: a hashed coin."""
    h = mix64(
        mix64(np.full(np.shape(user_ids), seed, dtype=np.uint64)) ^ np.asarray(user_ids, dtype=np.uint64)
    )
    return (h & np.uint64(1)).astype(np.int8)


def n_fraudsters(cfg: WorldConfig) -> int:
    """The configured population size, or one per 25 consumers (at least 6)."""
    f = cfg.fraud.fraudsters
    return f if f is not None else max(6, round(cfg.consumers / 25))


def make_fraudsters(
    cfg: WorldConfig, cities: Cities, dest: Destinations, start_day: int, end_day: int, first_online_day: int
) -> Fraudsters:
    """The world's fraudsters (twins doubled) for a run over epoch days start_day..end_day; online shopping
    begins on first_online_day."""
    n = n_fraudsters(cfg)
    city_w = cities.population / cities.population.sum()
    foreign_rows = np.flatnonzero(dest.foreign)
    dest_w = dest.leisure[foreign_rows] / dest.leisure[foreign_rows].sum()
    rows = [
        _one(cfg, i, start_day, end_day, first_online_day, city_w, foreign_rows, dest_w) for i in range(n)
    ]
    if cfg.fraud.twins:
        rows = [dict(r, twin=g) for r in rows for g in (0, 1)]
    else:
        rows = [dict(r, twin=-1) for r in rows]
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]} if rows else {}
    cell = col["cell"].astype(np.int64)
    foreign = cell >= FOREIGN_BASE
    d = np.clip(cell - FOREIGN_BASE, 0, len(dest) - 1)
    cc = np.clip(cell, 0, len(cities) - 1)
    home = np.where(
        foreign,
        np.char.add(np.char.add(dest.city[d].astype(str), ", "), dest.country[d].astype(str)),
        np.char.add(np.char.add(cities.name[cc].astype(str), ", "), cities.state[cc].astype(str)),
    )
    return Fraudsters(
        fraudster_id=np.arange(len(rows), dtype=np.int32),
        kind=np.asarray(KINDS)[col["kind"]],
        cnp_weight=col["cnp_weight"].astype(np.float64),
        cell=cell,
        home=home,
        foreign=foreign,
        start=col["start"].astype(np.int64) * SECONDS_PER_DAY,
        end=col["end"].astype(np.int64) * SECONDS_PER_DAY,
        capacity=col["capacity"].astype(np.float64),
        amount_median=col["amount_median"].astype(np.float64),
        amount_sigma=col["amount_sigma"].astype(np.float64),
        mccs=col["mccs"].astype(np.int16).reshape(len(rows), N_MCCS),
        weekdays=col["weekdays"].astype(bool).reshape(len(rows), 7),
        hour_start=col["hour_start"].astype(np.int8),
        hour_span=col["hour_span"].astype(np.int8),
        test_purchase=col["test_purchase"].astype(np.float64),
        final_refund=col["final_refund"].astype(np.float64),
        ordinary_share=col["ordinary_share"].astype(np.float64),
        burst_rows=col["burst_rows"].astype(np.float64),
        burst_days=col["burst_days"].astype(np.float64),
        salt=col["salt"].astype(np.uint64),
        twin=col["twin"].astype(np.int8),
    )


def _one(cfg, i, start_day, end_day, first_online_day, city_w, foreign_rows, dest_w) -> dict:
    """One fraudster's traits, from its own stream (a fixed sequence of draws)."""
    fc = cfg.fraud
    rng = stream(cfg.seed, Stream.FRAUDSTER, i)
    u = rng.random(8)
    kind = int(pick_weighted(KIND_SHARES, u[0]))
    name = KINDS[kind]
    cnp = (0.0, 1.0, 0.3 + 0.4 * u[1])[kind]
    foreign = u[2] < FOREIGN_SHARE[name]
    if foreign:
        cell = FOREIGN_BASE + int(foreign_rows[pick(np.cumsum(dest_w), u[3])])
    else:
        cell = int(pick(np.cumsum(city_w), u[3]))
    # Active period: a start anywhere in (a year before) the run, months to years in the field. Online-only
    # fraudsters start once there is online shopping to defraud.
    lo = start_day - 365 if name != "online" else max(start_day - 365, first_online_day)
    lo = min(lo, end_day)
    start = int(lo + u[4] * (end_day - lo + 1))
    length = int(np.clip(np.exp(np.log(400.0) + 0.9 * rng.normal()), 60, 8 * 365))
    capacity = float(np.exp(0.7 * rng.normal() - 0.245))
    pool = ONLINE_MCCS if name == "online" else CARD_PRESENT_MCCS if name == "card-present" else None
    if pool is None:
        pool = np.union1d(CARD_PRESENT_MCCS, ONLINE_MCCS)
    mccs = rng.choice(pool, size=N_MCCS, replace=False)  # TRAVEL may come twice: a stronger preference
    amount_median = float(np.exp(rng.uniform(np.log(60.0), np.log(450.0))))
    amount_sigma = float(rng.uniform(0.4, 0.9))
    weekdays = rng.random(7) < 0.75
    if weekdays.sum() < 3:
        weekdays[rng.choice(7, size=3, replace=False)] = True
    span = int(rng.integers(4, 10))
    if foreign:  # their own working day, 5-10 hours ahead of US time: early morning to night in the US
        hour_start = int((10 - rng.integers(5, 11)) % 24)
    else:
        hour_start = int(np.clip(np.round(rng.normal(13.0, 3.5)), 6, 21))
    return {
        "kind": kind,
        "cnp_weight": cnp,
        "cell": cell,
        "start": start,
        "end": start + length,
        "capacity": capacity,
        "amount_median": amount_median,
        "amount_sigma": amount_sigma,
        "mccs": mccs,
        "weekdays": weekdays,
        "hour_start": hour_start,
        "hour_span": span,
        "test_purchase": float(rng.uniform(0.1, 0.6)),
        "final_refund": float(rng.uniform(0.0, 0.2)),
        "ordinary_share": float(rng.uniform(0.15, 0.5)),
        "burst_rows": float(fc.burst_rows * np.exp(0.3 * rng.normal() - 0.045)),
        "burst_days": float(fc.burst_days * np.exp(0.3 * rng.normal() - 0.045)),
        "salt": int(rng.integers(0, 2**62)),
    }


__all__ = [
    "CARD_PRESENT_MCCS",
    "KINDS",
    "ONLINE_MCCS",
    "Fraudsters",
    "make_fraudsters",
    "n_fraudsters",
    "twin_group",
]
