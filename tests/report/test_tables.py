"""The realism report's display tables (report.tables) from hand-built measures."""

from __future__ import annotations

import copy
import json

import pytest
from test_measures import ROWS, SOURCE, _cards, _consumers, _transactions

from cardworld.report.measures import measure_source
from cardworld.report.tables import TABLE_IDS, TOP, report_tables

approx = pytest.approx
FORMATS = {"int", "money", "pct", "num", "text"}


@pytest.fixture(scope="module")
def measures():
    return measure_source([_transactions(ROWS)], _consumers(), _cards(), source=SOURCE)


@pytest.fixture(scope="module")
def tables(measures):
    return {t["id"]: t for t in report_tables(measures)}


def test_every_table_is_there_in_order_with_a_format_per_column(measures):
    tables = report_tables(measures)
    assert [t["id"] for t in tables] == list(TABLE_IDS)
    for t in tables:
        assert set(t) == {"id", "title", "columns", "formats", "rows", "note"}
        assert len(t["formats"]) == len(t["columns"]), t["id"]
        assert set(t["formats"]) <= FORMATS, t["id"]
        assert all(len(row) == len(t["columns"]) for row in t["rows"]), t["id"]
    assert json.loads(json.dumps(tables)) == tables


def test_consumers_and_cards_tables(tables):
    t2 = {row[0]: row[1:] for row in tables["table2"]["rows"]}
    assert t2["Age (years)"] == approx([30, 10, None])
    assert t2["Female %"] == approx([200 / 3, None, None])  # a percentage in Table 2
    assert t2["Yearly income ($)"] == approx([50_000, 20_000, 50_000])
    assert t2["Cards per consumer"] == approx([1, 1, None])
    t3 = {row[0]: row[1:] for row in tables["table3"]["rows"]}
    assert t3["Brand: Visa"] == approx([1 / 3, None, None, None])
    assert t3["Type: Credit"] == approx([2 / 3, 4000, 2**0.5 * 1000, 4000])
    assert t3["Type: Debit"] == [approx(1 / 3), 1000.0, None, 1000.0]
    assert tables["table3"]["formats"][1] == "pct"


def test_transaction_tables(tables):
    assert tables["table4a"]["rows"] == [
        ["Over the whole span", 3.0, approx(2**0.5)],
        ["Per calendar year", 2.0, 1.0],
    ]
    assert tables["table4b"]["rows"][1] == ["Fraud", 40.0, approx(200**0.5)]
    c = {row[0]: row[1:] for row in tables["table4c"]["rows"]}
    assert c["Swipe"] == [2, approx(1 / 3), 7.75, approx(3.181980515)]
    assert c["All"][:2] == [6, 1.0]
    d = {row[0]: row[1:] for row in tables["table4d"]["rows"]}
    assert d["Genuine"][:3] == [4, approx(2 / 3), 7.875]
    assert d["Fraud"] == [2, approx(1 / 3), 40.0, approx(200**0.5), approx(80 / 115.5)]
    assert tables["table4d"]["formats"] == ["text", "int", "pct", "money", "money", "pct"]


def test_breakdown_tables(tables):
    assert tables["by_state"]["rows"] == [
        ["CA", 2, 2, approx(1 / 3), 6.0, 0],
        ["NY", 1, 1, approx(1 / 6), 5.5, 0],
    ]
    assert tables["by_country"]["rows"] == [["Italy", 1, approx(1 / 6), 50.0, 1]]
    assert [row[:3] for row in tables["by_mcc"]["rows"]] == [
        ["5411", "Groceries and supermarkets", 2],
        ["5812", "Eating places and restaurants", 2],
        ["5999", "Miscellaneous and speciality retail outlets", 2],
    ]
    years = tables["by_year"]
    assert years["columns"][:3] == ["year", "rows", "active cards"]
    assert "charge-off rate" not in years["columns"]  # no credit cycle in these measures
    assert years["rows"][1][:3] == ["2020", 3, 2]
    assert years["rows"][1][years["columns"].index("fraud rate")] == approx(2 / 3)


def test_long_breakdowns_show_the_top_rows_and_say_so(measures):
    m = copy.deepcopy(measures)
    one = m["breakdowns"]["mcc"][0]
    m["breakdowns"]["mcc"] = [{**one, "mcc": 1000 + i, "rows": 100 - i} for i in range(TOP + 5)]
    m["breakdowns"]["country"] = [
        {"country": f"C{i}", "rows": 50 - i, "amount": 1.0, "fraud_rows": 0} for i in range(40)
    ]
    t = {x["id"]: x for x in report_tables(m)}
    assert len(t["by_mcc"]["rows"]) == TOP
    assert t["by_mcc"]["note"] == f"top {TOP} of {TOP + 5} MCCs by rows"
    assert t["by_mcc"]["rows"][0][0] == "1000"
    assert len(t["by_country"]["rows"]) == TOP
    assert t["by_country"]["note"].startswith(f"top {TOP} of 40 countries")


def test_credit_columns_and_missing_tables(measures):
    m = copy.deepcopy(measures)
    m["by_year"]["credit.charge_off_rate"] = {"2019": 0.05, "2020": None}
    m["by_year"]["credit.dpd30_rate"] = {"2019": 0.03, "2020": 0.04}
    for k in [k for k in m["figures"] if k.startswith(("consumers", "cards"))]:
        del m["figures"][k]
    t = {x["id"]: x for x in report_tables(m)}
    years = t["by_year"]
    assert years["columns"][-2:] == ["charge-off rate", "30+ DPD (Q4)"]
    assert [row[-2:] for row in years["rows"]] == [[0.05, 0.03], [None, 0.04]]
    assert (t["table2"]["rows"], t["table2"]["note"]) == ([], "no consumers table")
    assert (t["table3"]["rows"], t["table3"]["note"]) == ([], "no cards table")
