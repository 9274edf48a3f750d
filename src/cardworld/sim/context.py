"""Read-only knowledge a simulation run shares across consumers: built once per process from the config.

It holds the catalogue, cities and destinations, the string vocabularies the output columns are coded
against (city, state, zip), and the per-year tables (online share, chip adoption, cash share), so the
per-consumer code only indexes arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.config import WorldConfig
from cardworld.data.catalogue import Catalogue, load_catalogue
from cardworld.data.destinations import Destinations, load_destinations
from cardworld.data.geography import Cities, ZipTable, load_zips
from cardworld.dates import SECONDS_PER_DAY, epoch_day
from cardworld.sim.routine import SlotTables, hour_profiles, slot_tables
from cardworld.stats import norm_cdf
from cardworld.world.merchants import merchant_count

YEAR0 = 1900  # per-year tables start here
N_YEARS = 220
CALENDAR_MARGIN = 7  # days of calendar tables either side of the run (retries just after midnight)
CARD_RATE_YEAR = 2010  # the year the catalogue's card purchase rates describe
SMALL_CASH, LARGE_CASH = 1.5, 0.7  # cash propensity below / above cfg.cash.small_amount


@dataclass(frozen=True, eq=False)
class SimContext:
    cfg: WorldConfig
    catalogue: Catalogue
    zips: ZipTable
    cities: Cities
    dest: Destinations
    start_day: int
    end_day: int  # inclusive
    zip_city: np.ndarray  # int32 city row of each ZIP row
    city_merchants: np.ndarray  # int64 merchants per (city, MCC)
    dest_city: np.ndarray  # int32 city row of a domestic destination, -1 abroad
    dest_merchants: np.ndarray  # int64 merchants per (destination, MCC)
    # Output vocabularies: city codes = city rows, then foreign destinations, then ONLINE.
    city_vocab: list[str]
    state_vocab: list[str]
    city_state: np.ndarray  # int32 state code of each city row
    dest_state: np.ndarray  # int32 state code (country name) of each destination
    online_city: int
    # Per-item MCC choice: global cumulative weights (item index + cumulative weight within the item).
    mcc_gcum: np.ndarray
    # Per-year tables (index year - YEAR0).
    online_share: np.ndarray  # (N_YEARS, n_items)
    chip_adoption: np.ndarray  # (N_YEARS,)
    chip_shift: int  # seconds: chip reads only from the liability shift on
    cash_share: np.ndarray  # (N_YEARS,)
    rate_scale: float  # catalogue rates -> config transactions_per_year
    # Catalogue rates are card purchases (calibrated to TabFormer's card rows) in CARD_RATE_YEAR; people
    # also pay cash, so their purchase rate is the card rate / (1 - that year's cash share of the item).
    cash_boost: np.ndarray  # (n_items,)
    # Hour profiles (sim.routine), cumulative, free days then working days, and the slot tables against
    # the clock (the items' profiles weighted by their expected purchases).
    item_hours: np.ndarray  # (2 * n_items, 24)
    slots: SlotTables
    # Calendar lookups for days first_calendar_day .. (cheaper than datetime64 conversions per row).
    calendar_day0: int
    year_of_day: np.ndarray  # int16
    day_of_month: np.ndarray  # int8, 1..31

    def year(self, day: np.ndarray) -> np.ndarray:
        """Calendar year of epoch days within the run (and a few days either side)."""
        return self.year_of_day[day - self.calendar_day0]

    def dom(self, day: np.ndarray) -> np.ndarray:
        """Day of the month of epoch days within the run."""
        return self.day_of_month[day - self.calendar_day0]

    @classmethod
    def build(cls, cfg: WorldConfig) -> SimContext:
        cat = load_catalogue()
        zips = load_zips()
        cities = zips.cities()
        dest = load_destinations()
        zip_city = np.empty(len(zips.zip), dtype=np.int32)
        for c in range(len(cities)):
            zip_city[cities.zips_of(c)] = c
        key = {
            (n, s): i
            for i, (n, s) in enumerate(zip(cities.name.tolist(), cities.state.tolist(), strict=True))
        }
        dest_city = np.array(
            [
                -1 if f else key.get((n, s), _nearest(cities, la, lo))
                for n, s, f, la, lo in zip(
                    dest.city.tolist(),
                    dest.state.tolist(),
                    dest.foreign.tolist(),
                    dest.lat.tolist(),
                    dest.lon.tolist(),
                    strict=True,
                )
            ],
            dtype=np.int32,
        )
        states = sorted(set(cities.state.tolist()))
        countries = sorted(set(dest.country[dest.foreign].tolist()))
        state_vocab = states + countries
        sidx = {s: i for i, s in enumerate(state_vocab)}
        city_state = np.array([sidx[s] for s in cities.state.tolist()], dtype=np.int32)
        dest_state = np.array(
            [sidx[c] if f else sidx.get(s, -1) for c, s, f in zip(
                dest.country.tolist(), dest.state.tolist(), dest.foreign.tolist(), strict=True
            )],
            dtype=np.int32,
        )  # fmt: skip
        city_vocab = cities.name.tolist() + dest.city.tolist() + ["ONLINE"]
        mcc_gcum = _mcc_gcum(cat)
        online, chip, cash = _year_tables(cfg, cat)
        total = float(cat.expected_rate().sum())
        day0 = epoch_day(cfg.start) - CALENDAR_MARGIN
        cal = np.arange(day0, epoch_day(cfg.end) + CALENDAR_MARGIN).astype("datetime64[D]")
        cash_boost = 1.0 / (1.0 - np.clip(_item_cash_share(cfg, cat, cash[CARD_RATE_YEAR - YEAR0]), 0, 0.6))
        item_hours = hour_profiles(cat.hours)
        clock = (cat.expected_rate()[:, None] * cat.hours / cat.hours.sum(axis=1, keepdims=True)).sum(axis=0)
        return cls(
            cfg=cfg,
            catalogue=cat,
            zips=zips,
            cities=cities,
            dest=dest,
            start_day=epoch_day(cfg.start),
            end_day=epoch_day(cfg.end),
            zip_city=zip_city,
            city_merchants=merchant_count(cities.population),
            dest_city=dest_city,
            dest_merchants=merchant_count(dest.population),
            city_vocab=city_vocab,
            state_vocab=state_vocab,
            city_state=city_state,
            dest_state=dest_state,
            online_city=len(city_vocab) - 1,
            mcc_gcum=mcc_gcum,
            online_share=np.clip(online, 0.0, 0.97),
            chip_adoption=chip,
            chip_shift=epoch_day(cfg.channels.chip_shift_date) * SECONDS_PER_DAY,
            cash_share=cash,
            rate_scale=cfg.table1.transactions_per_year.mean / total,
            cash_boost=cash_boost,
            item_hours=item_hours,
            slots=slot_tables(item_hours, hour_profiles(clock[None, :])),
            calendar_day0=day0,
            year_of_day=(cal.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int16),
            day_of_month=((cal - cal.astype("datetime64[M]")).astype(np.int64) + 1).astype(np.int8),
        )


def _mcc_gcum(cat: Catalogue) -> np.ndarray:
    """Item i's MCCs as cumulative weights in (i, i + 1]: item + uniform picks an MCC of that item."""
    n_items = len(cat)
    item_of_mcc = np.repeat(np.arange(n_items), np.diff(cat.mcc_offsets))
    within = np.empty_like(cat.mcc_weights)
    for i in range(n_items):
        lo, hi = cat.mcc_offsets[i], cat.mcc_offsets[i + 1]
        within[lo:hi] = np.cumsum(cat.mcc_weights[lo:hi])
        within[hi - 1] = 1.0
    return item_of_mcc + within


def _year_tables(cfg: WorldConfig, cat: Catalogue) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per calendar year from YEAR0: online share per item, chip adoption, cash share."""
    years = np.arange(YEAR0, YEAR0 + N_YEARS)
    online = np.stack([cat.online_share(float(y)) for y in years]) * cfg.channels.online_scale
    ad = cfg.channels.chip_adoption
    ky = np.array(sorted(ad), dtype=np.float64)
    chip = np.interp(years, ky, [ad[int(y)] for y in ky]) * (years >= cfg.channels.chip_shift_date.year)
    cash = np.interp(years, [1990, 2020], [cfg.cash.share_1990, cfg.cash.share_2020])
    cash = np.clip(
        cash + (cfg.cash.share_2020 - cfg.cash.share_1990) / 30 * np.clip(years - 2020, 0, 30), 0, 1
    )
    return online, chip, cash


def _item_cash_share(cfg: WorldConfig, cat: Catalogue, year_share: float) -> np.ndarray:
    """Expected share of an item's purchases paid cash for an average consumer, with the simulator's rule
    (sim.consumer): year share x item affinity x (1.5 below cfg.cash.small_amount, else 0.7)."""
    z = (np.log(cfg.cash.small_amount) - np.log(cat.amount_median)) / np.maximum(cat.amount_sigma, 1e-9)
    p_small = norm_cdf(z)
    return year_share * cat.cash_affinity * (SMALL_CASH * p_small + LARGE_CASH * (1.0 - p_small))


def _nearest(cities: Cities, lat: float, lon: float) -> int:
    d = (cities.lat - lat) ** 2 + ((cities.lon - lon) * np.cos(np.radians(lat))) ** 2
    return int(np.argmin(d))


__all__ = ["SimContext"]
