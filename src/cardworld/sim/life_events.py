"""Life events that put a consumer in financial distress, month by month (the credit cycle's driver).

    path = distress_path(cfg.credit, span, c.birth_day, c.works, rng)   # rng: Stream.CREDIT, user
    path.level[m], path.cause[m]     # distress in [0, 1] and its LifeEvent in the month from path.month[m]

Each event is a documented mechanism with a rate from public sources (the fields of config.credit):
  * job loss (workers before retirement): a monthly hazard of job_loss_per_year / 12 scaled by the year's
    unemployment rate over the long-run rate (BLS, cardworld.data.economy, or the what-if path), so more
    people lose their jobs in recessions; the spell out of work lasts a geometric number of months with mean
    unemployment_months, also scaled by the year's rate (spells lengthen in recessions). Severity 0.6-1.0.
  * medical bills: medical_per_year, twice as likely from 65 on; distress for 1 + ~4 months, severity 0.3-0.8.
  * divorce: divorce_per_year at ages 25-64; distress for 6 + ~6 months, severity 0.3-0.7.
  * retirement: a worker's income drops at retirement; with P retirement_distress the drop strains the
    budget for 12 months, severity 0.2-0.5.
Trouble rarely starts on the day: before a job loss hours and overtime are cut and the employer struggles,
a divorce follows a separation, large medical bills an illness, so distress builds up over LEAD_MONTHS
(job loss, divorce: 6; medical bills: 3) to LEAD_LEVEL of the event's severity. While an event lasts its
distress is its severity; afterwards it fades with a half-life of RECOVERY_MONTHS (debts run up in the bad
months take time to pay down). Events overlap: the month's level is the largest,
and its cause that event's. default_multiplier scales every rate (the over-sampling what-if).

Draws (fixed count, so the path of one consumer never depends on another draw): 9 uniforms per month
(hazard, length, severity for each of job loss, medical bills, divorce), then 2 (retirement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cardworld.codes import LifeEvent
from cardworld.credit_config import Credit
from cardworld.data.economy import LONG_RUN_UNEMPLOYMENT, unemployment_rate
from cardworld.dates import DAYS_PER_YEAR
from cardworld.sim.balances import month_starts
from cardworld.sim.rows import LifeSpan

RECOVERY_MONTHS = 3.0  # half-life of distress after an event ends
LEAD_MONTHS = (6, 3, 6)  # months distress builds up before a job loss, medical bills, a divorce
LEAD_LEVEL = 0.4  # the share of the event's severity reached just before it
_FLOOR = 0.02  # distress below this is none
_EVENTS = (LifeEvent.JOB_LOSS, LifeEvent.MEDICAL_BILLS, LifeEvent.DIVORCE)


@dataclass(frozen=True)
class DistressPath:
    """Per calendar month of the consumer's span: its first day, distress level and cause."""

    month: np.ndarray  # int64 epoch day of the month's first day (the first month holds span.first_day)
    level: np.ndarray  # float64 in [0, 1]
    cause: np.ndarray  # int8 LifeEvent (NONE where level is 0)
    first_day: int  # the span's first day: day_level[0]
    day_level: np.ndarray  # float64 level of each day of the span (a lookup for at_days)

    @classmethod
    def over(cls, span: LifeSpan, month: np.ndarray, level: np.ndarray, cause: np.ndarray) -> DistressPath:
        """The path of these months (month_grid(span.first_day, span.last_day)) over the span."""
        lengths = np.append(month[1:], span.last_day + 1) - np.maximum(month, span.first_day)
        return cls(month, level, cause, span.first_day, np.repeat(level, lengths))

    def at_days(self, days: np.ndarray) -> np.ndarray:
        """Distress level on each epoch day in `days` (days within the span)."""
        return self.day_level[np.asarray(days) - self.first_day]


def month_grid(first_day: int, last_day: int) -> np.ndarray:
    """int64 epoch days of the first day of every month from first_day's month to last_day's."""
    first = (
        np.datetime64(int(first_day), "D").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    )
    return np.concatenate([[first], month_starts(first_day, last_day)]).astype(np.int64)


def distress_path(
    cfg: Credit, span: LifeSpan, birth_day: int, works: bool, rng: np.random.Generator
) -> DistressPath:
    """The consumer's distress month by month over `span` (see the module docstring). Draws: 9 per month, then 2."""
    month = month_grid(span.first_day, span.last_day)
    n = month.size
    u = rng.random((3, 3, n))
    u_retire = rng.random(2)
    years = month.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    ratio = unemployment_rate(years, cfg.unemployment) / LONG_RUN_UNEMPLOYMENT
    age = (month - birth_day) / DAYS_PER_YEAR
    working = works & (month < span.retire_day)
    k = cfg.default_multiplier
    hazard = np.stack(
        [
            np.where(working, cfg.job_loss_per_year * ratio, 0.0),
            cfg.medical_per_year * np.where(age >= 65.0, 2.0, 1.0),
            np.where((age >= 25.0) & (age < 65.0), cfg.divorce_per_year, 0.0),
        ]
    )
    p_month = np.minimum(k * hazard / 12.0, 1.0)
    mean_len = np.stack([cfg.unemployment_months * ratio, np.full(n, 4.0), np.full(n, 6.0)])
    base_len = np.array([0, 1, 6])
    sev_lo, sev_hi = np.array([0.6, 0.3, 0.3]), np.array([1.0, 0.8, 0.7])
    level = np.zeros(n)
    cause = np.zeros(n, dtype=np.int8)
    for e, event in enumerate(_EVENTS):
        for m in np.flatnonzero(u[e, 0] < p_month[e]):
            length = base_len[e] + _geometric(u[e, 1, m], mean_len[e, m])
            severity = sev_lo[e] + (sev_hi[e] - sev_lo[e]) * u[e, 2, m]
            _add_event(level, cause, int(m), length, severity, event, LEAD_MONTHS[e])
    if works and span.first_day <= span.retire_day <= span.last_day:
        m = int(np.searchsorted(month, span.retire_day, side="right") - 1)
        if u_retire[0] < min(k * cfg.retirement_distress, 1.0):
            _add_event(level, cause, m, 12, 0.2 + 0.3 * u_retire[1], LifeEvent.RETIREMENT)
    return DistressPath.over(span, month, level, cause)


def _geometric(u: float, mean: float) -> int:
    """A geometric number of months >= 1 with the given mean, from one uniform (inverse CDF)."""
    if mean <= 1.0:
        return 1
    q = 1.0 - 1.0 / mean
    return 1 + int(np.log1p(-u) / np.log(q))


def _add_event(
    level: np.ndarray, cause: np.ndarray, start: int, length: int, severity: float, event, lead: int = 0
) -> None:
    """Distress building up over `lead` months before `start`, `severity` for `length` months from it,
    then fading; kept where it is the largest."""
    n = level.size
    lo = max(start - lead, 0)
    m = np.arange(lo, n)
    after = np.maximum(m - (start + length) + 1, 0)
    d = severity * 0.5 ** (after / RECOVERY_MONTHS)
    if lead:  # month start - k of the lead-up: (lead - k + 1) / lead of LEAD_LEVEL x severity
        k = start - m
        d = np.where(k > 0, severity * LEAD_LEVEL * (lead - k + 1) / lead, d)
    d = np.where(d >= _FLOOR, d, 0.0)
    top = d > level[lo:]
    level[lo:] = np.where(top, d, level[lo:])
    cause[lo:] = np.where(top, np.int8(event), cause[lo:])


__all__ = ["RECOVERY_MONTHS", "DistressPath", "distress_path", "month_grid"]
