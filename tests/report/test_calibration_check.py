"""The calibration check on hand-made measures (the measures contract of report.measures): which figures
pass, fail or do not apply, and why."""

from __future__ import annotations

import pytest

from cardworld.report.calibration import calibrate, counts
from cardworld.report.profile import load_profile, parse_profile

FULL_SPAN = list(range(1991, 2021))


def _measures(years, figures=None, by_year=None, *, credit="on", kind="cardworld"):
    return {
        "source": {"kind": kind, "path": "x", "rows": 1000, "years": years, "credit": credit, "what_ifs": []},
        "figures": {"rows": 1000, **(figures or {})},
        "by_year": by_year or {},
    }


def _profile(*figures):
    return parse_profile({"name": "test", "figures": list(figures)})


def _by_id(rows):
    return {r["id"]: r for r in rows}


FRAUD_1991_2020 = {"id": "fraud", "metric": "tx.fraud_rate", "value": 0.00122, "rel_tolerance": 0.2,
                   "period": [1991, 2020], "source": "TabFormer"}  # fmt: skip
CHIP_2016 = {"id": "chip2016", "metric": "tx.chip_share_card_present", "value": 0.19, "tolerance": 0.07,
             "year": 2016, "source": "Fed"}  # fmt: skip
ECOM_1998 = {"id": "ecom1998", "metric": "tx.online_amount_share", "range": [0.001, 0.006], "year": 1998}


def test_demo_world_is_not_judged_on_a_1991_2020_figure_but_is_on_2016():
    years = list(range(2010, 2021))
    m = _measures(years, {"tx.fraud_rate": 0.00122}, {"tx.chip_share_card_present": {"2016": 0.22}})
    rows = _by_id(calibrate(m, _profile(FRAUD_1991_2020, CHIP_2016, ECOM_1998)))
    assert rows["fraud"]["status"] == "n/a"
    assert rows["fraud"]["why"] == "world spans 2010-2020, figure is for 1991-2020"
    assert rows["fraud"]["measured"] is None
    assert rows["chip2016"]["status"] == "pass"
    assert rows["chip2016"]["measured"] == 0.22
    assert rows["ecom1998"]["status"] == "n/a"
    assert rows["ecom1998"]["why"] == "world spans 2010-2020, figure is for 1998"


def test_a_2016_share_outside_its_tolerance_fails():
    m = _measures(list(range(2010, 2021)), by_year={"tx.chip_share_card_present": {"2016": 0.95}})
    (row,) = calibrate(m, _profile(CHIP_2016))
    assert row["status"] == "fail"
    assert row["why"] == ""


def test_a_world_covering_the_period_is_judged_and_the_bounds_are_inclusive():
    # 0.00122 x (1 +- 0.2) = [0.000976, 0.001464]
    for measured, status in [(0.00122, "pass"), (0.0009761, "pass"), (0.0014639, "pass"), (0.00097, "fail"),
                             (0.0015, "fail")]:  # fmt: skip
        (row,) = calibrate(_measures(FULL_SPAN, {"tx.fraud_rate": measured}), _profile(FRAUD_1991_2020))
        assert row["status"] == status, measured
    # a world of 1990-2021 covers 1991-2020 too, but its figure mixes in 1990 and 2021: not judged, unless
    # the figure is of the population (a snapshot); one ending in 2019 does not cover it
    (row,) = calibrate(
        _measures(list(range(1990, 2022)), {"tx.fraud_rate": 0.0012}), _profile(FRAUD_1991_2020)
    )
    assert row["status"] == "n/a"
    assert row["why"] == "world spans 1990-2021, figure is for 1991-2020 only (give it per year instead)"
    chip = {"id": "c", "metric": "cards.chip_share", "value": 0.9, "tolerance": 0.05, "period": [2020, 2020]}
    (row,) = calibrate(_measures(list(range(2010, 2022)), {"cards.chip_share": 0.9}), _profile(chip))
    assert row["status"] == "pass"
    (row,) = calibrate(
        _measures(list(range(1991, 2020)), {"tx.fraud_rate": 0.0012}), _profile(FRAUD_1991_2020)
    )
    assert row["status"] == "n/a"
    assert row["why"] == "world spans 1991-2019, figure is for 1991-2020"


def test_ranges_and_absolute_tolerances():
    prof = _profile(
        {"id": "r", "metric": "tx.fraud_online_share", "range": [0.5, 0.8]},
        {"id": "a", "metric": "consumers.fico.mean", "value": 710, "tolerance": 12},
    )
    rows = _by_id(
        calibrate(_measures([2019], {"tx.fraud_online_share": 0.8, "consumers.fico.mean": 723}), prof)
    )
    assert rows["r"]["status"] == "pass"  # a timeless figure: judged on any world
    assert rows["a"]["status"] == "fail"  # 723 - 710 = 13 > 12
    rows = _by_id(
        calibrate(_measures([2019], {"tx.fraud_online_share": 0.49, "consumers.fico.mean": 698}), prof)
    )
    assert rows["r"]["status"] == "fail"
    assert rows["a"]["status"] == "pass"


def test_row_format():
    prof = _profile(
        FRAUD_1991_2020,
        {"id": "r", "metric": "tx.fraud_online_share", "range": [0.5, 0.8], "period": [1991, 2020]},
        {"id": "m", "metric": "tx.amount.mean.Debit", "value": 36.5, "tolerance": 5, "year": 2010},
        {"id": "p", "metric": "tx.channel_share.swipe", "value": 0.631, "tolerance": 0.03},
        {"id": "n", "metric": "consumers.cards.mean", "value": 3.07, "tolerance": 0.3},
    )
    m = _measures(
        FULL_SPAN,
        {"tx.fraud_rate": 0.0011, "tx.fraud_online_share": 0.7, "tx.channel_share.swipe": 0.61,
         "consumers.cards.mean": 3.0},
        {"tx.amount.mean.Debit": {"2010": 40.0}},
    )  # fmt: skip
    rows = _by_id(calibrate(m, prof))
    assert rows["fraud"] == {
        "id": "fraud", "metric": "tx.fraud_rate", "scope": "1991-2020", "reference": 0.00122, "measured": 0.0011,
        "tolerance": "±20%", "low": pytest.approx(0.000976), "high": pytest.approx(0.001464), "status": "pass",
        "why": "", "source": "TabFormer", "unit": "pct",
    }  # fmt: skip
    assert rows["r"]["reference"] == [0.5, 0.8]
    assert rows["r"]["tolerance"] == ""
    assert (rows["m"]["tolerance"], rows["m"]["unit"], rows["m"]["scope"]) == ("±$5.00", "money", "2010")
    assert (rows["p"]["tolerance"], rows["p"]["unit"], rows["p"]["scope"]) == ("±3 pp", "pct", "any period")
    assert (rows["n"]["tolerance"], rows["n"]["unit"]) == ("±0.3", "num")
    assert counts(calibrate(m, prof)) == {"pass": 5, "fail": 0, "n/a": 0}


def test_missing_measures_are_not_applicable_with_the_reason():
    prof = _profile(
        {"id": "co", "metric": "credit.charge_off_rate", "value": 0.0355, "tolerance": 0.04, "year": 2014},
        {"id": "pooled", "metric": "credit.dpd30_rate", "value": 0.03, "tolerance": 0.04},
        {"id": "fico", "metric": "consumers.fico.mean", "value": 710, "tolerance": 12},
        {"id": "visa", "metric": "cards.brand_share.Visa", "value": 0.38, "tolerance": 0.04},
        {"id": "p99", "metric": "tx.amount.p99", "value": 320.84, "rel_tolerance": 0.2},
    )
    rows = _by_id(calibrate(_measures([2014, 2015], credit="off"), prof))
    assert {r["status"] for r in rows.values()} == {"n/a"}
    assert rows["co"]["why"] == rows["pooled"]["why"] == "the world was generated with the credit cycle off"
    assert rows["fico"]["why"] == "the dataset has no consumers table"
    assert rows["visa"]["why"] == "the dataset has no cards table"
    assert rows["p99"]["why"] == "the measures have no tx.amount.p99"
    tabformer = _by_id(calibrate(_measures([2014], credit="absent", kind="tabformer"), prof))
    assert tabformer["co"]["why"] == "the dataset has no credit tables"


def test_undefined_measures_are_not_applicable():
    prof = _profile(CHIP_2016, {**FRAUD_1991_2020, "period": None})
    m = _measures(
        list(range(2010, 2021)),
        {"tx.fraud_rate": None},
        {"tx.chip_share_card_present": {"2015": 0.9, "2016": None}},
    )
    rows = _by_id(calibrate(m, prof))
    assert rows["chip2016"]["status"] == "n/a"
    assert "2016" in rows["chip2016"]["why"]
    assert rows["fraud"]["status"] == "n/a"
    assert rows["fraud"]["why"].startswith("tx.fraud_rate is undefined")
    rows = _by_id(calibrate(_measures([2016], {"tx.fraud_rate": float("nan")}), prof))
    assert rows["fraud"]["status"] == "n/a"
    assert rows["fraud"]["measured"] is None


def test_a_code_that_never_occurs_has_share_zero():
    prof = _profile({"id": "grocery", "metric": "tx.mcc_share.5411", "value": 0.117, "rel_tolerance": 0.25},
                    {"id": "night", "metric": "tx.hour_share.03", "value": 0.0075, "tolerance": 0.0075})  # fmt: skip
    rows = _by_id(calibrate(_measures([2019]), prof))  # 1,000 rows, none of them 5411 or at 3 am
    assert rows["grocery"]["measured"] == 0.0
    assert rows["grocery"]["status"] == "fail"
    assert rows["night"]["measured"] == 0.0
    assert rows["night"]["status"] == "pass"


def _perfect_measures(profile):
    """Measures of a 1991-2020 world that sit at the middle of every default figure's accepted interval."""
    figures, by_year = {}, {}
    for f in profile.figures:
        low, high = f.bounds()
        mid = (low + high) / 2
        if f.year is not None:
            by_year.setdefault(f.metric, {})[str(f.year)] = mid
        else:
            assert f.metric not in figures, f"{f.metric} twice in the default profile"
            figures[f.metric] = mid
    return _measures(FULL_SPAN, figures, by_year)


def test_the_default_profile_passes_a_world_at_its_references_and_fraud_x3_fails_the_fraud_rates():
    profile = load_profile()
    m = _perfect_measures(profile)
    rows = calibrate(m, profile)
    assert counts(rows) == {"pass": len(profile.figures), "fail": 0, "n/a": 0}
    rates = ["tx.fraud_rate", "tx.fraud_rate.swipe", "tx.fraud_rate.chip", "tx.fraud_rate.online"]
    for key in rates:  # three times the fraud on every channel: the online share of fraud is unchanged
        m["figures"][key] *= 3
    failed = {r["metric"] for r in calibrate(m, profile) if r["status"] == "fail"}
    assert failed == set(rates)


def test_the_default_profile_on_a_2010_2020_world():
    profile = load_profile()
    m = _perfect_measures(profile)
    m["source"]["years"] = list(range(2010, 2021))
    rows = calibrate(m, profile)
    status = {r["id"]: r["status"] for r in rows}
    assert status["tabformer.tx.fraud_rate"] == "n/a"  # 1991-2020
    assert status["us.chip_share_card_present.2016"] == "pass"
    assert status["us.ecommerce_share.2004"] == "n/a"
    assert status["tabformer.cards.chip_share"] == "pass"  # the 2020 snapshot
    assert status["tabformer.consumers.fico_mean"] == "pass"
    expected_na = {f.id for f in profile.figures if f.period == (1991, 2020) or (f.year or 2010) < 2010}
    assert {i for i, s in status.items() if s == "n/a"} == expected_na
