"""The credit cycle's figures by year: charge-off and delinquency rates, as the published series measure them.

    rates = credit_rates(DIR)                       # one row per calendar year of statement dates
    pooled_rates(rates, range(2013, 2020))          # the same rates pooled over a set of years
    comparison_rows(rates)                          # simulated beside the public figures (README table)

Rates are percentages and dollar-weighted like the public figures (data.economy): charged-off balances over
the average of the statement-date totals of positive balances, annualised; 30+ DPD balances over all positive
balances. Negative balances (credit from refunds) owe nothing and count as zero.

A dataset's statements are read in chunks of whole accounts (labels.credit_tables.statement_chunks) and
summed in whole cents, so the figures are exact whatever the chunks, and memory holds one chunk, a total
per statement date and a few sums per year.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.data.economy import PUBLIC_CHARGE_OFF, PUBLIC_DPD30, unemployment_rate
from cardworld.engine.run import dataset_config
from cardworld.errors import ConfigError, InputError
from cardworld.io.dataset import MANIFEST, read_table, table_path
from cardworld.labels.credit_tables import statement_chunks

#: Statement dates a full year has (statements fall on the 1st of each month).
MONTHS = 12
#: 30+ days past due: what the published delinquency rates count.
DPD30 = 30

RATES_SCHEMA = pa.schema(
    [
        pa.field("year", pa.int32(), nullable=False),
        pa.field("statement_dates", pa.int32(), nullable=False),  # distinct statement dates that year
        pa.field("accounts", pa.int64(), nullable=False),
        pa.field("active_accounts", pa.int64(), nullable=False),
        pa.field("average_balance", pa.float64(), nullable=False),
        pa.field("charged_off", pa.float64(), nullable=False),
        pa.field("charge_offs", pa.int64(), nullable=False),
        pa.field("charge_off_rate", pa.float64()),
        pa.field("account_charge_off_rate", pa.float64()),
        pa.field("dpd30_rate", pa.float64()),
        pa.field("dpd30_q4", pa.float64()),
        pa.field("unemployment", pa.float64(), nullable=False),
    ]
)
_STATEMENT_COLUMNS = ("account_id", "statement_date", "balance", "days_past_due")
_DEFAULT_COLUMNS = ("account_id", "charge_off_date", "balance_charged_off")


def credit_state(dataset: str | os.PathLike) -> Literal["on", "off", "empty", "absent"]:
    """Whether a dataset has the credit cycle: "absent" when it was made before the cycle existed (no
    statements.parquet); "off" when made with the cycle off (its config says so, or, a config without the
    setting, it has no statements); "empty" when the cycle ran but no account had a statement; else "on"."""
    if not table_path(dataset, "statements").is_file():
        return "absent"
    enabled = getattr(getattr(_config(dataset), "credit", None), "enabled", None)
    if enabled is False:
        return "off"
    if table_rows(dataset, "statements"):
        return "on"
    return "empty" if enabled else "off"


def credit_rates(dataset: str | os.PathLike) -> pa.Table:
    """The credit rates by year of a dataset directory (see rates_from_tables), with the unemployment path
    the world ran with (its config's credit.unemployment override over the BLS series)."""
    if not table_path(dataset, "statements").is_file():
        raise InputError(
            f"dataset {str(dataset)!r} has no statements.parquet: it was made before the credit cycle "
            "existed; generate it again to get credit statements"
        )
    rates = _YearRates()
    for chunk in statement_chunks(dataset, _STATEMENT_COLUMNS):  # whole accounts a chunk
        rates.add(chunk)
    defaults = read_table(dataset, "defaults", _DEFAULT_COLUMNS)
    credit = getattr(_config(dataset), "credit", None)
    return rates.table(defaults, getattr(credit, "unemployment", None))


def rates_from_tables(
    statements: pa.Table, defaults: pa.Table, unemployment: Mapping[int, float] | None = None
) -> pa.Table:
    """One row per calendar year of statement dates (RATES_SCHEMA), from statements and defaults tables
    (at least the columns account_id, statement_date, balance, days_past_due / account_id,
    charge_off_date, balance_charged_off). No statements (credit off): an empty table.

    average_balance: the mean over the year's statement dates of the total positive balance on that date.
    charge_off_rate: charged_off / average_balance x 100, scaled by 12 / dates in a year with fewer than 12.
    account_charge_off_rate: charge_offs over the accounts with a positive balance that year, x 100.
    dpd30_rate / dpd30_q4: positive balances 30+ DPD over all positive balances, x 100, on the year's
    statements / its October-December ones (null without a Q4 statement). Rates are null over nothing.
    unemployment: data.economy.unemployment_rate with `unemployment` (year -> percent) as the override.
    Balances count in whole cents.
    """
    rates = _YearRates()
    rates.add(statements)
    return rates.table(defaults, unemployment)


# The sums _YearRates keeps per year, in order: distinct accounts, distinct accounts with a positive
# balance, then cents of positive balances: all, 30+ DPD, in Q4, 30+ DPD in Q4.
_SUMS = ("accounts", "active", "total", "late", "q4_total", "q4_late")


class _YearRates:
    """rates_from_tables' sums, added chunk by chunk; a chunk must hold whole accounts (the distinct
    accounts of a year are counted within it). Balances are summed as whole cents in float64, exact up
    to 2^53 cents ($90 trillion), so the order of the chunks and rows changes nothing."""

    def __init__(self) -> None:
        self.date_cents: dict[int, float] = {}  # statement day -> total positive balance, cents
        self.years: dict[int, np.ndarray] = {}  # year -> the _SUMS

    def add(self, statements: pa.Table) -> None:
        if statements.num_rows == 0:
            return
        cents = np.maximum(np.rint(_np(statements["balance"], np.float64) * 100), 0.0)
        account = _np(statements["account_id"], np.int64)
        late = _np(statements["days_past_due"], np.int64) >= DPD30
        dates, di = _date_index(_days(statements["statement_date"]))
        for day, total in zip(dates.tolist(), np.bincount(di, weights=cents).tolist(), strict=True):
            self.date_cents[day] = self.date_cents.get(day, 0.0) + total
        date_year, date_month = _year_month(dates)
        years, date_yi = np.unique(date_year, return_inverse=True)
        ny = len(years)
        yi, q4 = date_yi[di], (date_month >= 10)[di]
        sums = np.column_stack(
            [
                _distinct(yi, account, ny),
                _distinct(yi[cents > 0], account[cents > 0], ny),
                np.bincount(yi, weights=cents, minlength=ny),
                np.bincount(yi, weights=cents * late, minlength=ny),
                np.bincount(yi[q4], weights=cents[q4], minlength=ny),
                np.bincount(yi[q4], weights=(cents * late)[q4], minlength=ny),
            ]
        ).astype(np.float64)
        for year, row in zip(years.tolist(), sums, strict=True):
            self.years[year] = self.years.get(year, 0.0) + row

    def table(self, defaults: pa.Table, unemployment: Mapping[int, float] | None) -> pa.Table:
        if not self.date_cents:
            return RATES_SCHEMA.empty_table()
        dates = np.array(sorted(self.date_cents), dtype=np.int64)
        date_total = np.array([self.date_cents[d] for d in dates.tolist()]) / 100  # dollars
        years, date_yi = np.unique(_year_month(dates)[0], return_inverse=True)
        ny = len(years)
        n_dates = np.bincount(date_yi, minlength=ny)
        average = np.bincount(date_yi, weights=date_total, minlength=ny) / n_dates
        sums = dict(zip(_SUMS, np.array([self.years[int(y)] for y in years]).T, strict=True))
        charged_off, charge_offs = _charge_offs(defaults, years)
        scale = MONTHS / np.minimum(n_dates, MONTHS)
        columns = {
            "year": years,
            "statement_dates": n_dates,
            "accounts": sums["accounts"].astype(np.int64),
            "active_accounts": sums["active"].astype(np.int64),
            "average_balance": average,
            "charged_off": charged_off,
            "charge_offs": charge_offs,
            "charge_off_rate": _percent(charged_off * scale, average),
            "account_charge_off_rate": _percent(charge_offs, sums["active"]),
            "dpd30_rate": _percent(sums["late"], sums["total"]),
            "dpd30_q4": _percent(sums["q4_late"], sums["q4_total"]),
            "unemployment": unemployment_rate(years, dict(unemployment) if unemployment else None),
        }
        arrays = [pa.array(columns[f.name]).cast(f.type) for f in RATES_SCHEMA]  # pa.array keeps a null mask
        return pa.Table.from_arrays(arrays, schema=RATES_SCHEMA)


def table_rows(dataset: str | os.PathLike, name: str) -> int:
    """Rows of dataset table `name` from its Parquet footer (no column is read); errors name the file."""
    path = table_path(dataset, name)
    if not path.is_file():
        raise InputError(
            f"file {str(path)!r} is missing; the dataset is incomplete: re-run it (or restore the file)"
        )
    try:
        return pq.read_metadata(path).num_rows
    except (pa.ArrowException, OSError) as e:
        raise InputError(
            f"file {str(path)!r} is not a readable Parquet file ({e}); it is damaged: re-run the dataset"
        ) from e


def pooled_rates(table: pa.Table, years: Iterable[int]) -> dict[str, Any]:
    """The rates of a credit_rates table pooled over `years` (those of them the table has; listed under
    "years"): charge_off_rate = sum of charged_off / sum of the yearly average balances, each weighted by
    the share of the year it covers (dates / 12); account_charge_off_rate = charge-offs / active accounts
    summed over the years; dpd30_rate = 30+ DPD balances / balances over all the years' statements;
    dpd30_q4 = the years' Q4 rates weighted by their average balances. A rate over nothing is None."""
    wanted = {int(y) for y in years}
    rows = [r for r in table.to_pylist() if r["year"] in wanted]
    balance_years = sum(r["average_balance"] * min(r["statement_dates"], MONTHS) / MONTHS for r in rows)
    balances = sum(r["average_balance"] * r["statement_dates"] for r in rows)  # total of statement balances
    late = sum((r["dpd30_rate"] or 0.0) / 100 * r["average_balance"] * r["statement_dates"] for r in rows)
    q4 = [r for r in rows if r["dpd30_q4"] is not None]
    q4_weight = sum(r["average_balance"] for r in q4)
    charged_off = sum(r["charged_off"] for r in rows)
    charge_offs = sum(r["charge_offs"] for r in rows)
    active = sum(r["active_accounts"] for r in rows)
    return {
        "years": sorted(r["year"] for r in rows),
        "charged_off": charged_off,
        "charge_offs": charge_offs,
        "charge_off_rate": 100 * charged_off / balance_years if balance_years > 0 else None,
        "account_charge_off_rate": 100 * charge_offs / active if active > 0 else None,
        "dpd30_rate": 100 * late / balances if balances > 0 else None,
        "dpd30_q4": sum(r["dpd30_q4"] * r["average_balance"] for r in q4) / q4_weight
        if q4_weight > 0
        else None,
        "unemployment": float(np.mean([r["unemployment"] for r in rows])) if rows else None,
    }


def comparison_rows(rates: pa.Table) -> list[dict[str, Any]]:
    """Per year of `rates`: year, unemployment, simulated charge-off % (charge_off_rate) beside the public
    one, simulated 30+ DPD % at Q4 (dpd30_q4, what the public figure measures) beside the public one;
    a public figure is None where none is published (data.economy.PUBLIC_CHARGE_OFF / PUBLIC_DPD30)."""
    return [
        {
            "year": r["year"],
            "unemployment": r["unemployment"],
            "charge_off": r["charge_off_rate"],
            "public_charge_off": PUBLIC_CHARGE_OFF.get(r["year"]),
            "dpd30": r["dpd30_q4"],
            "public_dpd30": PUBLIC_DPD30.get(r["year"]),
        }
        for r in rates.to_pylist()
    ]


def comparison_markdown(rates: pa.Table) -> str:
    """comparison_rows as a Markdown table for the README ("-" where there is no figure)."""
    head = (
        "| year | unemployment | simulated charge-off % | public charge-off % | simulated 30+ DPD % "
        "| public 30+ DPD % |\n|---:|---:|---:|---:|---:|---:|\n"
    )
    keys = ("unemployment", "charge_off", "public_charge_off", "dpd30", "public_dpd30")
    cells = [[str(r["year"]), *(_cell(r[k]) for k in keys)] for r in comparison_rows(rates)]
    return head + "".join(f"| {' | '.join(c)} |\n" for c in cells)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _config(dataset: str | os.PathLike) -> Any:
    """The dataset's config, or None when it has no manifest or one of another version."""
    if not (Path(dataset) / MANIFEST).is_file():
        return None
    try:
        return dataset_config(dataset)
    except ConfigError:
        return None


def _charge_offs(defaults: pa.Table, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dollars charged off and charge-offs per year of `years` (charge-offs in other years are left out:
    a charge-off falls on a statement date, so there are none in a real dataset)."""
    co_year, _ = _year_month(_days(defaults["charge_off_date"]))
    amount = _np(defaults["balance_charged_off"], np.float64)
    pos = np.searchsorted(years, co_year)
    seen = (pos < len(years)) & (years[np.minimum(pos, len(years) - 1)] == co_year)
    return (
        np.bincount(pos[seen], weights=amount[seen], minlength=len(years)),
        np.bincount(pos[seen], minlength=len(years)),
    )


def _date_index(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct days, sorted, and each row's index into them: counted over the span of days (a few
    thousand) rather than by sorting millions of rows."""
    first = int(days.min())
    on_day = np.bincount(days - first) > 0
    index_of_day = np.cumsum(on_day) - 1
    return np.flatnonzero(on_day) + first, index_of_day[days - first]


def _np(column: pa.ChunkedArray | pa.Array, dtype: type) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=dtype)


def _days(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """date32 as int64 days since 1970."""
    return np.asarray(column.cast(pa.int32()).to_numpy(), dtype=np.int64)


def _year_month(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months // 12 + 1970, months % 12 + 1


def _distinct(group: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """The number of distinct ids in each group 0..n_groups-1."""
    order = np.lexsort((ids, group))
    g, a = group[order], ids[order]
    new = np.ones(len(g), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (a[1:] != a[:-1])
    return np.bincount(g[new], minlength=n_groups)


def _percent(num: np.ndarray, den: np.ndarray) -> pa.Array:
    """100 x num / den, null where den is 0."""
    den = np.asarray(den, dtype=np.float64)
    ok = den > 0
    out = np.where(ok, 100 * np.asarray(num, dtype=np.float64) / np.where(ok, den, 1.0), 0.0)
    return pa.array(out, pa.float64(), mask=~ok)


__all__ = [
    "RATES_SCHEMA",
    "comparison_markdown",
    "comparison_rows",
    "credit_rates",
    "credit_state",
    "pooled_rates",
    "rates_from_tables",
    "table_rows",
]
