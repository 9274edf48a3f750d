"""The life of each card index: when it opens and closes, its issues (reissues) and its PIN changes.

Steps of ``make_cards`` (see ``cardworld.world.cards`` for the model), on flattened card-index rows
("slots"), all dates ``datetime64[D]``:

    days_open = opening_days(cfg, consumers, owner, u_years, u_adult)
    open_date, close = opening_and_closing(end, days_open, kind, acct_of, u_close, u_open_shared)
    close, renewals = keep_covered(owner, open_date, close, kind, acct_of, term, lead, end)
    issues = issue_schedule(open_date, close, kind, term, lead, renewals, end)
    pins = pin_years(cfg, u_pin, w_pin, open_date, issues)

Coverage: an account closes (yearly hazard) only while another of the consumer's cards is in use (else
on the day their next card opens, or never), and a prepaid card is renewed at expiry while it is the
consumer's only card in use, so from their first card on every consumer holds a card in use through the
end of the run (the model has no death or default that would end all of a person's cards).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.codes import CardType
from cardworld.config import WorldConfig
from cardworld.stats import lognormal_params, norm_ppf
from cardworld.world.consumers import Consumers

CLOSE_HAZARD = 0.012  # yearly closing hazard of a credit/debit account
# OPEN_YEARS_BOOST undoes the adult-life bound (the young cannot have old accounts) so years_account_open
# averages the configured mean; PIN_YEARS_BOOST does the same for years_since_pin_change.
OPEN_YEARS_BOOST = 1.3
PIN_YEARS_BOOST = 1.35
MAX_YEARS_OPEN = 45  # a longer draw falls back to a uniform point of the (capped) adult life


@dataclass(frozen=True)
class Issues:
    """The issue schedule, one entry per issue, sorted by slot then issue number."""

    slot: np.ndarray  # int64 card-index row
    issued: np.ndarray  # int64 1, 2, ... (cards_issued)
    valid_from: np.ndarray  # datetime64[D]
    expires: np.ndarray  # datetime64[D], the last day of the expiry month
    valid_to: np.ndarray  # datetime64[D], exclusive


def month_end(d: np.ndarray, add_months: np.ndarray) -> np.ndarray:
    """The last day of the month ``add_months`` after the month of ``d``."""
    m = d.astype("datetime64[M]") + add_months.astype(np.int64) + 1
    return m.astype("datetime64[D]") - np.timedelta64(1, "D")


def opening_days(
    cfg: WorldConfig, consumers: Consumers, owner: np.ndarray, u_years: np.ndarray, u_adult: np.ndarray
) -> np.ndarray:
    """Days before ``cfg.end`` each slot opens: lognormal years (``table1.years_account_open``), or, if that
    falls before the holder's 18th birthday or more than MAX_YEARS_OPEN years back, a uniform point of
    their adult life (at most that long)."""
    t1 = cfg.table1
    end = np.datetime64(cfg.end, "D")
    adult = (
        (consumers.birth_year.astype(np.int64) + 18 - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    )
    adult = adult + (consumers.birth_day.astype(np.int64) - 1)
    adult_days = np.maximum((end - adult).astype(np.int64), 0)[owner]
    yo_mu, yo_sigma = lognormal_params(
        OPEN_YEARS_BOOST * t1.years_account_open.mean, OPEN_YEARS_BOOST * t1.years_account_open.sd
    )
    days_open = np.rint(np.exp(yo_mu + yo_sigma * norm_ppf(u_years)) * 365.25).astype(np.int64)
    max_days = np.minimum(adult_days, int(MAX_YEARS_OPEN * 365.25))
    fallback = np.floor(u_adult * (max_days + 1)).astype(np.int64)
    return np.where(days_open > max_days, fallback, days_open)


def opening_and_closing(
    end: np.datetime64,
    days_open: np.ndarray,
    kind: np.ndarray,
    acct_of: np.ndarray,
    u_close: np.ndarray,
    u_open_shared: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(opening day, account closing day or NaT) per slot. Credit/debit accounts close with a yearly
    hazard (NaT: open through the end); a shared card opens at a uniform point of its account's life."""
    shared = acct_of != np.arange(acct_of.size)
    acct_open = end - days_open[acct_of]
    close_years = -np.log1p(-u_close[acct_of]) / CLOSE_HAZARD
    close = acct_open + np.rint(close_years * 365.25).astype(np.int64)
    closes = (kind != CardType.PREPAID) & (close <= end)
    close = np.where(closes, close, np.datetime64("NaT", "D"))
    span = (np.where(closes, close, end) - acct_open).astype(np.int64)
    offset = np.floor(u_open_shared * (span + 1)).astype(np.int64)
    return np.where(shared, acct_open + offset, end - days_open), close


def _first_expiry(open_date: np.ndarray, term: np.ndarray) -> np.ndarray:
    return month_end(open_date, 12 * term)


def _tentative_end(
    open_date: np.ndarray, close: np.ndarray, kind: np.ndarray, term: np.ndarray, end: np.datetime64
) -> np.ndarray:
    """The exclusive day each slot's coverage ends before any keep_covered change (end + 1: runs through
    the end). A closing slot ends on its closing day (at least one day after opening); a prepaid one the
    day after its expiry."""
    after = end + 1
    closing = np.where(np.isnat(close), after, np.maximum(close, open_date + 1))
    prepaid = _first_expiry(open_date, term) + 1
    return np.minimum(np.where(kind == CardType.PREPAID, prepaid, closing), after)


def keep_covered(
    owner: np.ndarray,
    open_date: np.ndarray,
    close: np.ndarray,
    kind: np.ndarray,
    acct_of: np.ndarray,
    term: np.ndarray,
    lead: np.ndarray,
    end: np.datetime64,
) -> tuple[np.ndarray, np.ndarray]:
    """(closing days, prepaid renewals) such that each consumer holds a card in use on every day from their
    first opening through ``end``. In time order of the slots' ends, a slot ending while no card of another
    account is in use is kept: its account closes only on the day the consumer's next card opens (never,
    if none does), and a prepaid card is renewed (one more issue, checked again at its expiry). Only
    consumers whose coverage has a gap are walked."""
    close = close.copy()
    renewals = np.zeros(owner.size, dtype=np.int64)
    stop = _tentative_end(open_date, close, kind, term, end)
    for rows in _consumers_with_gaps(owner, open_date, stop, end):
        _cover(rows, open_date, stop, close, renewals, kind, acct_of, term, lead, end)
    return close, renewals


def _consumers_with_gaps(
    owner: np.ndarray, open_date: np.ndarray, stop: np.ndarray, end: np.datetime64
) -> list[np.ndarray]:
    """Slot rows of each consumer whose slots leave a day from their first opening through ``end``
    without a card (owner rows are contiguous and ascending)."""
    if owner.size == 0:
        return []
    o = np.lexsort((open_date, owner))
    span = int((end + 2 - open_date.min()).astype(np.int64)) + 1
    base = owner[o].astype(np.int64) * span - open_date.min().astype(np.int64)
    reach = np.maximum.accumulate(base + stop[o].astype(np.int64))  # per consumer, as offsets never fall
    new_owner = np.r_[True, owner[o][1:] != owner[o][:-1]]
    gap_before = ~new_owner & (base + open_date[o].astype(np.int64) > np.r_[0, reach[:-1]])
    last = np.r_[new_owner[1:], True]
    short = last & (reach - base <= end.astype(np.int64))  # the last day has no card
    bad = np.unique(owner[o][gap_before | short])
    starts = np.searchsorted(owner, bad, side="left")
    stops = np.searchsorted(owner, bad, side="right")
    return [np.arange(a, b) for a, b in zip(starts.tolist(), stops.tolist(), strict=True)]


def _cover(rows, open_date, stop, close, renewals, kind, acct_of, term, lead, end) -> None:
    """keep_covered for one consumer's slot rows (updates close and renewals in place)."""
    end_i = int(end.astype(np.int64))
    opened = {r: int(open_date[r].astype(np.int64)) for r in rows.tolist()}
    ends = {r: int(stop[r].astype(np.int64)) for r in rows.tolist()}
    expiry = {
        r: _first_expiry(open_date[r : r + 1], term[r : r + 1])[0]
        for r in ends
        if kind[r] == CardType.PREPAID
    }
    done: set[int] = set()
    while True:
        pending = [r for r in ends if r not in done and ends[r] <= end_i]
        if not pending:
            break
        k = min(pending, key=lambda r: (ends[r], r))
        t = ends[k]
        if any(opened[j] <= t < ends[j] for j in ends if acct_of[j] != acct_of[k]):
            done.add(k)
        elif kind[k] == CardType.PREPAID:  # renewed: the next issue starts `lead` days before the expiry
            renewals[k] += 1
            expiry[k] = month_end(np.array([expiry[k] - lead[k]]), np.array([12 * term[k]]))[0]
            ends[k] = int(expiry[k].astype(np.int64)) + 1
        else:  # the account stays open until the consumer's next card opens (or for good)
            later = [opened[j] for j in ends if acct_of[j] != acct_of[k] and opened[j] > t]
            day = min(later) if later else None
            for j in ends:
                if acct_of[j] == acct_of[k]:
                    close[j] = np.datetime64("NaT", "D") if day is None else np.datetime64(day, "D")
                    ends[j] = end_i + 1 if day is None else max(day, opened[j] + 1)


def issue_schedule(
    open_date: np.ndarray,
    close: np.ndarray,
    kind: np.ndarray,
    term: np.ndarray,
    lead: np.ndarray,
    renewals: np.ndarray,
    end: np.datetime64,
) -> Issues:
    """Every issue of every slot: each expires at the end of the month ``term`` years after it starts, and
    the next starts ``lead`` days before that, while that is on or before ``end`` and before the account
    closes; a prepaid card is reissued only ``renewals`` times. The last issue ends on the closing day, or
    the day after its expiry."""
    c = open_date.size
    parts: list[tuple[np.ndarray, ...]] = []
    active = np.arange(c)
    vf = open_date.copy()
    j = 0
    while active.size:
        exp = month_end(vf[active], 12 * term[active])
        nxt = exp - lead[active]
        cl = close[active]
        has_close = ~np.isnat(cl)
        reissued = (kind[active] != CardType.PREPAID) | (renewals[active] > j)
        cont = reissued & (nxt <= end) & ~(has_close & (nxt >= cl))
        to = np.where(cont, nxt, np.where(has_close, np.minimum(cl, exp + 1), exp + 1))
        to = np.maximum(to, vf[active] + 1)  # at least one day in use (closing on the opening day)
        parts.append((active, np.full(active.size, j + 1, dtype=np.int64), vf[active], exp, to))
        vf[active] = nxt
        active = active[cont]
        j += 1
    if not parts:
        empty = np.zeros(0, "datetime64[D]")
        return Issues(np.zeros(0, np.int64), np.zeros(0, np.int64), empty, empty, empty)
    slot, issued, vfrom, expires, vto = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.lexsort((issued, slot))
    return Issues(slot[order], issued[order], vfrom[order], expires[order], vto[order])


def pin_years(
    cfg: WorldConfig, u_pin: np.ndarray, w_pin: np.ndarray, open_date: np.ndarray, issues: Issues
) -> np.ndarray:
    """Year the PIN was last changed, per issue, as of the issue's last day in use (or ``cfg.end``).

    The PIN belongs to the card index and carries over reissues. Its last change before ``cfg.end`` lies
    lognormal years back (``table1.years_since_pin_change``), not before the opening year; an issue that
    ended before that change shows an earlier one: a uniform (per slot, ``w_pin``) point between the
    opening year and the issue's last year. So a PIN changes only while its card index is in use, and a
    later issue never shows an earlier change than the one before it.
    """
    t1 = cfg.table1
    mu, sigma = lognormal_params(
        PIN_YEARS_BOOST * t1.years_since_pin_change.mean, PIN_YEARS_BOOST * t1.years_since_pin_change.sd
    )
    back = np.rint(np.exp(mu + sigma * norm_ppf(u_pin))).astype(np.int64)
    open_year = _year(open_date)
    last_change = np.clip(cfg.end.year - back, open_year, cfg.end.year)[issues.slot]
    last_year = np.minimum(_year(issues.valid_to - 1), cfg.end.year)  # the issue's last day in use
    first = open_year[issues.slot]
    earlier = first + np.floor(w_pin[issues.slot] * (last_year - first + 1)).astype(np.int64)
    return np.where(last_change <= last_year, last_change, np.minimum(earlier, last_year))


def _year(d: np.ndarray) -> np.ndarray:
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


__all__ = [
    "CLOSE_HAZARD",
    "MAX_YEARS_OPEN",
    "OPEN_YEARS_BOOST",
    "PIN_YEARS_BOOST",
    "Issues",
    "issue_schedule",
    "keep_covered",
    "month_end",
    "opening_and_closing",
    "opening_days",
    "pin_years",
]
