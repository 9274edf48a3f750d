"""`cardworld summary` of a dataset with credit statements, with the cycle off, and from before the cycle.

A small generated world gets hand-built statements and defaults, so every credit figure is worked out here:
  account 10: $1,000 on every statement 2019-01 .. 2020-03, 30 DPD in 2019-12 only;
  account 11: $400 2019-01 .. 2019-07, 30 DPD from 2019-02, charged off at 180 DPD on 2019-07-01.
2019 (12 dates): date totals Jan-Jul 1,400, Aug-Dec 1,000; 30+ DPD balances 6 x 400 + 1,000.
2020 (3 dates): 1,000 each; nothing late, nothing charged off.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pyarrow as pa
import pytest
from cli_helpers import run_cli

from cardworld.config import load_config
from cardworld.data.economy import UNEMPLOYMENT
from cardworld.engine.run import generate
from cardworld.io.dataset import table_path, write_table
from cardworld.io.schema import build_table, empty_table
from cardworld.report.summary import CREDIT_COLUMNS, CREDIT_OFF, dataset_summary

AVG_2019 = (7 * 1400 + 5 * 1000) / 12
LATE_2019 = 6 * 400 + 1000
TOTAL_2019 = 7 * 1400 + 5 * 1000


def _statements() -> pa.Table:
    months = np.datetime64("2019-01", "M") + np.arange(15)
    rows = [(0, 10, m, 1000.0, 30 if k == 11 else 0) for k, m in enumerate(months)]
    rows += [(1, 11, m, 400.0, 30 * k) for k, m in enumerate(months[:7])]
    user, account, month, balance, dpd = (np.array(c) for c in zip(*rows, strict=True))
    n = len(rows)
    return build_table(
        "statements",
        {
            "user_id": user,
            "account_id": account,
            "statement_date": month.astype("datetime64[D]"),
            "balance": balance,
            "minimum_due": np.full(n, 25.0),
            "payment": np.zeros(n),
            "payment_date": pa.nulls(n, pa.date32()),
            "days_past_due": dpd,
            "apr": np.full(n, 19.4),
            "fees": np.zeros(n),
            "credit_limit": np.full(n, 4000.0),
            "fico_score": np.full(n, 680),
        },
    )


def _defaults() -> pa.Table:
    return build_table(
        "defaults",
        {
            "user_id": [1],
            "account_id": [11],
            "first_delinquent_date": np.array(["2019-02-01"], dtype="datetime64[D]"),
            "charge_off_date": np.array(["2019-07-01"], dtype="datetime64[D]"),
            "balance_charged_off": [400.0],
            "cause": ["medical_bills"],
        },
    )


def _set_credit_config(directory, **credit) -> None:
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["config"].setdefault("credit", {}).update(credit)
    path.write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """on: hand-built statements; off: empty tables, the config's cycle off; older: no credit tables."""
    d = tmp_path_factory.mktemp("credit_summary")
    generate(load_config(consumers=4, start="2019-01-01", end="2020-03-31", seed=3), d / "on")
    for name in ("off", "older"):
        shutil.copytree(d / "on", d / name)
    write_table(d / "on", "statements", _statements())
    write_table(d / "on", "defaults", _defaults())
    for name in ("statements", "defaults"):
        write_table(d / "off", name, empty_table(name))
        table_path(d / "older", name).unlink(missing_ok=True)
    _set_credit_config(d / "off", enabled=False)
    return d


def test_the_summary_has_the_credit_figures_overall_and_by_year(worlds):
    s = dataset_summary(worlds / "on")
    balance_years = AVG_2019 + 1000 * 3 / 12  # 2020 has a quarter-year of statements
    assert s.figures["credit charge-offs"] == "1 ($400)"
    assert s.figures["credit charge-off rate"] == f"{100 * 400 / balance_years:.2f}% of balances a year"
    assert s.figures["credit accounts charged off"] == f"{100 / 3:.2f}% of active a year"  # 2 + 1 active
    assert s.figures["credit 30+ DPD"] == f"{100 * LATE_2019 / (TOTAL_2019 + 3000):.2f}% of balances"
    assert s.credit_by_year == [
        dict(
            zip(
                CREDIT_COLUMNS,
                ["2019", f"{UNEMPLOYMENT[2019]:.1f}", f"{100 * 400 / AVG_2019:.2f}", "50.00",
                 f"{100 * LATE_2019 / TOTAL_2019:.2f}", "1"],
                strict=True,
            )
        ),
        dict(zip(CREDIT_COLUMNS, ["2020", f"{UNEMPLOYMENT[2020]:.1f}", "0.00", "0.00", "0.00", "0"], strict=True)),
    ]  # fmt: skip
    assert s.notes == []


def test_the_cli_prints_the_credit_table_after_the_main_one(worlds):
    r = run_cli("summary", str(worlds / "on"))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"credit charge-offs\W+1 \(\$400\)", out), out
    assert re.search(rf"credit 30\+ DPD\W+{100 * LATE_2019 / (TOTAL_2019 + 3000):.2f}% of balances", out), out
    assert out.index("world summary") < out.index("credit cycle by year")
    year_2019 = (
        rf"2019\W+3\.7\W+{100 * 400 / AVG_2019:.2f}\W+50\.00\W+{100 * LATE_2019 / TOTAL_2019:.2f}\W+1\W"
    )
    assert re.search(year_2019, out), out
    assert re.search(r"2020\W+8\.1\W+0\.00\W+0\.00\W+0\.00\W+0\W", out), out
    assert CREDIT_OFF not in out


def test_a_dataset_with_the_cycle_off_says_so_after_the_table(worlds):
    assert dataset_summary(worlds / "off").notes == [CREDIT_OFF]
    r = run_cli("summary", str(worlds / "off"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().splitlines()[-1] == CREDIT_OFF
    assert "credit cycle by year" not in r.stdout
    assert "charge-off" not in r.stdout


def test_a_dataset_from_before_the_cycle_has_no_credit_section(worlds):
    s = dataset_summary(worlds / "older")
    assert (s.credit_by_year, s.notes) == ([], [])
    assert not any("credit" in k or "DPD" in k for k in s.figures)
    r = run_cli("summary", str(worlds / "older"))
    assert r.returncode == 0, r.stderr
    assert "credit cycle" not in r.stdout
    assert "charge-off" not in r.stdout
    assert re.search(r"\btransactions\W+[\d,]+\W", r.stdout), r.stdout  # the main table as before
