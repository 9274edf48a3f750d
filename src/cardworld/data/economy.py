"""The US economy the credit cycle runs in, and the public figures it is calibrated to.

    unemployment_rate(np.array([1991, 2009, 2030]))        # percent: BLS, long-run level outside 1990-2020
    PUBLIC_CHARGE_OFF[2014], PUBLIC_DPD30[2014]             # percent of balances, for comparisons

Sources (annual figures; the published series are quarterly or monthly):
  * Unemployment: US Bureau of Labor Statistics, Current Population Survey, civilian unemployment rate,
    annual averages 1990-2020 (series LNU04000000). Outside those years the world uses the long-run level,
    the mean of the shipped years (5.9%).
  * Charge-off: net charge-offs over average balances, annualised, credit cards. Large banks: Philadelphia
    Fed FR Y-14M (FRED RCCCBNCOPCT), annual means 2013-2019. All commercial banks (FRED CORCCACBS),
    quarterly points: 1991Q3 4.83%, 1997Q3 5.50%, 2002Q1 7.65%, 2004Q4 4.67%, 2006Q1 3.17%; banks and
    thrifts 9.80% in 2009 and 7.41% in 2010 (FDIC).
  * Delinquency: 30+ days past due as a share of balances at Q4, large banks (FR Y-14M).
These figures are dollar-weighted (shares of balances, not of accounts): an account-level default rate is not
published, so calibrating an account simulation to them is an approximation.
"""

from __future__ import annotations

import numpy as np

#: BLS CPS civilian unemployment rate, annual average, percent.
UNEMPLOYMENT: dict[int, float] = {
    1990: 5.6, 1991: 6.8, 1992: 7.5, 1993: 6.9, 1994: 6.1, 1995: 5.6, 1996: 5.4, 1997: 4.9, 1998: 4.5,
    1999: 4.2, 2000: 4.0, 2001: 4.7, 2002: 5.8, 2003: 6.0, 2004: 5.5, 2005: 5.1, 2006: 4.6, 2007: 4.6,
    2008: 5.8, 2009: 9.3, 2010: 9.6, 2011: 8.9, 2012: 8.1, 2013: 7.4, 2014: 6.2, 2015: 5.3, 2016: 4.9,
    2017: 4.4, 2018: 3.9, 2019: 3.7, 2020: 8.1,
}  # fmt: skip
#: The level outside the shipped years: the mean of 1990-2020 (percent).
LONG_RUN_UNEMPLOYMENT: float = round(float(np.mean(list(UNEMPLOYMENT.values()))), 2)

#: Published card charge-off rates, percent of balances (see the module docstring for each source).
PUBLIC_CHARGE_OFF: dict[int, float] = {
    1991: 4.83, 1997: 5.50, 2002: 7.65, 2004: 4.67, 2006: 3.17, 2009: 9.80, 2010: 7.41, 2013: 3.96,
    2014: 3.55, 2015: 3.33, 2016: 3.63, 2017: 4.30, 2018: 4.49, 2019: 4.63,
}  # fmt: skip
#: Published 30+ days-past-due rates at Q4, percent of balances (large banks, FR Y-14M).
PUBLIC_DPD30: dict[int, float] = {2012: 3.12, 2014: 2.29, 2016: 2.60, 2018: 2.89, 2019: 2.96}


def unemployment_rate(years: np.ndarray, override: dict[int, float] | None = None) -> np.ndarray:
    """float64 percent per year: `override` (a what-if path), else the BLS series, else the long-run level."""
    table = {**UNEMPLOYMENT, **(override or {})}
    y = np.asarray(years, dtype=np.int64)
    return np.array([table.get(int(v), LONG_RUN_UNEMPLOYMENT) for v in y.ravel()], dtype=np.float64).reshape(
        y.shape
    )


__all__ = [
    "LONG_RUN_UNEMPLOYMENT",
    "PUBLIC_CHARGE_OFF",
    "PUBLIC_DPD30",
    "UNEMPLOYMENT",
    "unemployment_rate",
]
