"""Credit rates by year from hand-built statements and defaults, every figure worked out by hand here."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from cardworld.data.economy import LONG_RUN_UNEMPLOYMENT, UNEMPLOYMENT
from cardworld.errors import InputError
from cardworld.io.dataset import write_table
from cardworld.io.schema import build_table, empty_table
from cardworld.report.credit import (
    RATES_SCHEMA,
    comparison_markdown,
    comparison_rows,
    credit_rates,
    credit_state,
    pooled_rates,
    rates_from_tables,
)


def _months(first: str, n: int) -> list[np.datetime64]:
    start = np.datetime64(first, "M")
    return [(start + k).astype("datetime64[D]") for k in range(n)]


def _rows() -> list[tuple[int, int, np.datetime64, float, int]]:
    """(user, account, statement date, balance, days past due) for four accounts over 2019 and 2020H1."""
    rows = []
    # account 1: $1,000 on every statement, 2019-01 .. 2020-06, never late
    rows += [(1, 1, d, 1000.0, 0) for d in _months("2019-01", 18)]
    # account 2: $500, late from 2019-07, $600 at 180 DPD in 2019-12: charged off there (its last statement)
    dpd2 = [0] * 6 + [30, 60, 90, 120, 150, 180]
    rows += [(2, 2, d, 600.0 if k == 11 else 500.0, dpd2[k]) for k, d in enumerate(_months("2019-01", 12))]
    # account 3: a credit balance (-$20) from 2019-07 to 2019-12 (owes nothing), then $200 in 2020, late in Mar-Apr
    rows += [(2, 3, d, -20.0, 0) for d in _months("2019-07", 6)]
    rows += [(2, 3, d, 200.0, k) for d, k in zip(_months("2020-01", 6), [0, 0, 30, 60, 0, 0], strict=True)]
    # account 4: $300 in 2020-01 (150 DPD) and 2020-02 (180 DPD): charged off 2020-02-01
    rows += [(3, 4, d, 300.0, k) for d, k in zip(_months("2020-01", 2), [150, 180], strict=True)]
    return rows


def _statements(rows):
    user, account, date, balance, dpd = (np.array(c) for c in zip(*rows, strict=True))
    n = len(rows)
    return build_table(
        "statements",
        {
            "user_id": user,
            "account_id": account,
            "statement_date": np.array(date, dtype="datetime64[D]"),
            "balance": balance,
            "minimum_due": np.zeros(n),
            "payment": np.zeros(n),
            "payment_date": pa.nulls(n, pa.date32()),
            "days_past_due": dpd,
            "apr": np.full(n, 17.9),
            "fees": np.zeros(n),
            "credit_limit": np.full(n, 5000.0),
            "fico_score": np.full(n, 700),
        },
    )


def _defaults():
    return build_table(
        "defaults",
        {
            "user_id": [2, 3],
            "account_id": [2, 4],
            "first_delinquent_date": np.array(["2019-07-01", "2020-01-01"], dtype="datetime64[D]"),
            "charge_off_date": np.array(["2019-12-01", "2020-02-01"], dtype="datetime64[D]"),
            "balance_charged_off": [600.0, 300.0],
            "cause": ["job_loss", "none"],
        },
    )


# 2019: 12 statement dates. Date totals of positive balances: Jan-Nov 1000 + 500 (account 3's -20 owes
# nothing) = 1500, Dec 1000 + 600 = 1600.
AVG_2019 = (11 * 1500 + 1600) / 12
LATE_2019 = 5 * 500 + 600  # account 2, Jul-Dec
# 2020: 6 dates (Jan-Jun). Jan-Feb 1000 + 200 + 300 = 1500, Mar-Jun 1000 + 200 = 1200.
AVG_2020 = (2 * 1500 + 4 * 1200) / 6
LATE_2020 = 2 * 300 + 2 * 200  # account 4 Jan-Feb, account 3 Mar-Apr

EXPECTED = [
    {
        "year": 2019,
        "statement_dates": 12,
        "accounts": 3,
        "active_accounts": 2,  # account 3 never owed anything in 2019
        "average_balance": AVG_2019,
        "charged_off": 600.0,
        "charge_offs": 1,
        "charge_off_rate": 100 * 600 / AVG_2019,
        "account_charge_off_rate": 50.0,
        "dpd30_rate": 100 * LATE_2019 / (11 * 1500 + 1600),
        "dpd30_q4": 100 * (500 + 500 + 600) / (1500 + 1500 + 1600),
        "unemployment": UNEMPLOYMENT[2019],
    },
    {
        "year": 2020,
        "statement_dates": 6,
        "accounts": 3,
        "active_accounts": 3,
        "average_balance": AVG_2020,
        "charged_off": 300.0,
        "charge_offs": 1,
        "charge_off_rate": 100 * 300 / AVG_2020 * 12 / 6,  # half a year of statements: annualised
        "account_charge_off_rate": 100 / 3,
        "dpd30_rate": 100 * LATE_2020 / (2 * 1500 + 4 * 1200),
        "dpd30_q4": None,  # no October-December statement
        "unemployment": UNEMPLOYMENT[2020],
    },
]


def _assert_rows(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.keys() == e.keys()
        for k, v in e.items():
            assert g[k] == (v if v is None or isinstance(v, int) else pytest.approx(v, rel=1e-12)), (
                g["year"],
                k,
            )


def test_rates_by_year_match_the_hand_computed_figures():
    t = rates_from_tables(_statements(_rows()), _defaults())
    assert t.schema == RATES_SCHEMA
    _assert_rows(t.to_pylist(), EXPECTED)


def test_row_order_does_not_matter():
    rows = _rows()
    shuffled = [rows[i] for i in np.random.default_rng(5).permutation(len(rows))]
    _assert_rows(rates_from_tables(_statements(shuffled), _defaults()).to_pylist(), EXPECTED)


def test_a_negative_balance_counts_as_nothing():
    # account 3's credit balance made 10x larger changes no figure: it owes nothing either way
    rows = [(u, a, d, b * 10 if b < 0 else b, k) for u, a, d, b, k in _rows()]
    _assert_rows(rates_from_tables(_statements(rows), _defaults()).to_pylist(), EXPECTED)


def test_the_unemployment_override_replaces_the_series_for_its_years():
    t = rates_from_tables(_statements(_rows()), _defaults(), {2019: 12.5, 2031: 1.0})
    assert t["unemployment"].to_pylist() == [12.5, UNEMPLOYMENT[2020]]


def test_no_statements_give_an_empty_table():
    t = rates_from_tables(empty_table("statements"), empty_table("defaults"))
    assert t.num_rows == 0
    assert t.schema == RATES_SCHEMA
    assert comparison_rows(t) == []
    assert pooled_rates(t, [2019])["charge_off_rate"] is None


def test_pooled_rates_weight_each_year_by_the_balance_it_carried():
    t = rates_from_tables(_statements(_rows()), _defaults())
    p = pooled_rates(t, {2019, 2020, 2031})
    assert p["years"] == [2019, 2020]  # 2031 is not in the table
    assert p["charged_off"] == 900.0
    assert p["charge_offs"] == 2
    # 2020 carried its average balance for half a year
    assert p["charge_off_rate"] == pytest.approx(100 * 900 / (AVG_2019 + AVG_2020 * 6 / 12))
    assert p["account_charge_off_rate"] == pytest.approx(100 * 2 / 5)
    total = (11 * 1500 + 1600) + (2 * 1500 + 4 * 1200)
    assert p["dpd30_rate"] == pytest.approx(100 * (LATE_2019 + LATE_2020) / total)
    assert p["dpd30_q4"] == pytest.approx(EXPECTED[0]["dpd30_q4"])  # only 2019 has a Q4
    assert p["unemployment"] == pytest.approx((UNEMPLOYMENT[2019] + UNEMPLOYMENT[2020]) / 2)
    one = pooled_rates(t, [2019])
    for k in ("charge_off_rate", "account_charge_off_rate", "dpd30_rate", "dpd30_q4"):
        assert one[k] == pytest.approx(EXPECTED[0][k])
    assert pooled_rates(t, [1990])["years"] == []


def test_comparison_rows_put_the_public_figures_beside_the_simulated_ones():
    rows = comparison_rows(rates_from_tables(_statements(_rows()), _defaults()))
    assert [r["year"] for r in rows] == [2019, 2020]
    first, second = rows
    assert (first["public_charge_off"], first["public_dpd30"]) == (4.63, 2.96)  # FR Y-14M, 2019
    assert first["charge_off"] == pytest.approx(EXPECTED[0]["charge_off_rate"])
    assert first["dpd30"] == pytest.approx(EXPECTED[0]["dpd30_q4"])  # the Q4 figure, as published
    assert (second["public_charge_off"], second["public_dpd30"], second["dpd30"]) == (None, None, None)
    md = comparison_markdown(rates_from_tables(_statements(_rows()), _defaults())).splitlines()
    assert md[0].startswith("| year | unemployment | simulated charge-off % | public charge-off %")
    assert md[2] == f"| 2019 | 3.70 | {100 * 600 / AVG_2019:.2f} | 4.63 | {1600 / 46:.2f} | 2.96 |"
    assert md[3] == f"| 2020 | 8.10 | {200 * 300 / AVG_2020:.2f} | - | - | - |"


def test_a_dataset_directory_says_whether_it_has_the_credit_cycle(tmp_path):
    older, off, on = tmp_path / "older", tmp_path / "off", tmp_path / "on"
    for d in (older, off, on):
        d.mkdir()
    write_table(off, "statements", empty_table("statements"))
    write_table(off, "defaults", empty_table("defaults"))
    write_table(on, "statements", _statements(_rows()))
    write_table(on, "defaults", _defaults())
    assert [credit_state(d) for d in (older, off, on)] == ["absent", "off", "on"]
    _assert_rows(credit_rates(on).to_pylist(), EXPECTED)  # no manifest: the BLS series
    assert credit_rates(off).num_rows == 0
    with pytest.raises(InputError, match="made before the credit cycle"):
        credit_rates(older)


def test_a_year_outside_the_series_uses_the_long_run_level():
    rows = [(1, 1, d, 100.0, 0) for d in _months("2031-01", 2)]
    (row,) = rates_from_tables(_statements(rows), empty_table("defaults")).to_pylist()
    assert row["unemployment"] == LONG_RUN_UNEMPLOYMENT
    assert (row["charge_off_rate"], row["charge_offs"], row["dpd30_rate"]) == (0.0, 0, 0.0)


def test_rates_over_no_positive_balance_are_null():
    rows = [(1, 1, d, -5.0, 0) for d in _months("2019-11", 2)]
    (row,) = rates_from_tables(_statements(rows), empty_table("defaults")).to_pylist()
    assert (row["accounts"], row["active_accounts"], row["average_balance"]) == (1, 0, 0.0)
    for k in ("charge_off_rate", "account_charge_off_rate", "dpd30_rate", "dpd30_q4"):
        assert row[k] is None


def _manifest(directory, credit: dict) -> None:
    config = {"start": "2019-01-01", "end": "2020-06-30", "credit": credit}
    (directory / "manifest.json").write_text(
        json.dumps({"status": "complete", "shards": [], "config": config})
    )


def test_a_dataset_runs_with_its_configs_unemployment_path(tmp_path):
    write_table(tmp_path, "statements", _statements(_rows()))
    write_table(tmp_path, "defaults", _defaults())
    _manifest(tmp_path, {"unemployment": {2020: 11.5}})  # JSON keys are strings, as in a written manifest
    assert credit_rates(tmp_path)["unemployment"].to_pylist() == [UNEMPLOYMENT[2019], 11.5]
    assert credit_state(tmp_path) == "on"


@pytest.mark.parametrize(("enabled", "state"), [(False, "off"), (True, "empty")])
def test_a_dataset_without_statements_says_whether_the_cycle_ran(tmp_path, enabled, state):
    write_table(tmp_path, "statements", empty_table("statements"))
    write_table(tmp_path, "defaults", empty_table("defaults"))
    _manifest(tmp_path, {"enabled": enabled})
    assert credit_state(tmp_path) == state
