"""Label health by hand: months with activity and no label, tested against the dataset's own label rate
(plain Poisson with dispersion=1.0; the estimated dispersion of clustered labels checked by hand too)."""

from __future__ import annotations

import pytest

from cardworld.errors import InputError
from cardworld.report.label_health import estimate_dispersion, label_health

MONTHS = ["2019-01", "2019-02", "2019-03", "2019-04", "2019-05"]


def _measures(rows, fraud, statements=None, charge_offs=None, months=MONTHS):
    return {
        "by_month": {
            "months": months,
            "rows": rows,
            "fraud_rows": fraud,
            "statements": statements,
            "charge_offs": charge_offs,
        }
    }


def test_a_large_empty_month_is_flagged_and_a_small_one_is_not():
    # rate = 10 labels / 11,010 rows; February: 10,000 rows, expected 9.08 labels, p(none) = exp(-9.08)
    # = 1.136e-4 < 0.001; March: 10 rows, p = exp(-0.00908) = 0.991; April has no rows (not a month without
    # a label: nothing happened); May has a label.
    h = label_health(_measures([1000, 10_000, 10, 0, 0], [10, 0, 0, 0, 0]), dispersion=1.0)["fraud"]
    assert h["rate"] == pytest.approx(10 / 11_010)
    assert h["dispersion"] == 1.0
    assert h["exposure"] == 11_010
    assert h["labels"] == 10
    assert h["months_active"] == 3
    assert h["months_without_label"] == 2
    assert len(h["flagged"]) == 1
    (flag,) = h["flagged"]
    assert flag["month"] == "2019-02"
    assert flag["exposure"] == 10_000
    assert flag["expected"] == pytest.approx(9.0827, abs=1e-4)
    assert flag["p"] == pytest.approx(1.1362e-4, rel=1e-4)
    assert h["longest_run"] == {"from": "2019-02", "to": "2019-03", "months": 2}


def test_alpha_sets_the_threshold():
    m = _measures([1000, 10_000, 10, 0, 0], [10, 0, 0, 0, 0])
    assert label_health(m, alpha=1e-5, dispersion=1.0)["fraud"]["flagged"] == []  # p = 1.14e-4 > 1e-5
    out = label_health(m, alpha=0.995, dispersion=1.0)  # p = 0.991 for March is below 0.995
    assert [f["month"] for f in out["fraud"]["flagged"]] == ["2019-02", "2019-03"]
    assert out["alpha"] == 0.995


def test_a_month_without_activity_ends_a_run_and_ties_keep_the_first():
    # runs: Jan-Feb (2 months), ended by an inactive March; Apr-May (2 months) ties it.
    h = label_health(_measures([5, 5, 0, 5, 5], [0, 0, 0, 0, 0]))["fraud"]
    assert h["longest_run"] == {"from": "2019-01", "to": "2019-02", "months": 2}
    assert h["months_active"] == 4
    assert h["months_without_label"] == 4
    # no labels at all: rate 0, so an empty month is no surprise (p = 1) and nothing is flagged
    assert h["rate"] == 0.0
    assert h["flagged"] == []


def test_a_longer_run_later_wins_and_labelled_months_have_no_run():
    h = label_health(_measures([5, 5, 5, 5, 5], [0, 1, 0, 0, 0]))["fraud"]
    assert h["longest_run"] == {"from": "2019-03", "to": "2019-05", "months": 3}
    assert label_health(_measures([5] * 5, [1] * 5))["fraud"]["longest_run"] is None


def test_default_health_from_statements_and_charge_offs():
    # 4 charge-offs over 2,000 statements: rate 0.002; March has 1,500 statements and none:
    # p = exp(-3) = 0.0498, not flagged at 0.001 but flagged at 0.05.
    m = _measures([1] * 5, [0] * 5, statements=[100, 100, 1500, 200, 100], charge_offs=[1, 1, 0, 2, 0])
    d = label_health(m, dispersion=1.0)["default"]
    assert d["rate"] == pytest.approx(0.002)
    assert d["months_without_label"] == 2
    assert d["flagged"] == []
    d = label_health(m, alpha=0.05, dispersion=1.0)["default"]
    assert [f["month"] for f in d["flagged"]] == ["2019-03"]
    assert d["flagged"][0]["p"] == pytest.approx(0.049787, rel=1e-4)
    assert d["flagged"][0]["expected"] == pytest.approx(3.0)


def test_no_credit_means_no_default_health():
    out = label_health(_measures([1] * 5, [0] * 5))
    assert out["default"] is None
    assert out["fraud"] is not None


def test_counts_that_do_not_match_the_months_are_refused():
    with pytest.raises(InputError, match="5 months but 4 exposure"):
        label_health(_measures([1, 2, 3, 4], [0, 0, 0, 0]))


TEN = [f"2019-{m:02d}" for m in range(1, 11)]


def test_a_labelling_gap_is_still_flagged_with_the_estimated_dispersion():
    # 1,000 rows a month, 80 labels: rate 0.008, 8 expected a month. Squared Pearson residuals (k - 8)^2 / 8:
    # 0.5, 0.125, 1.125, 0.5, 0.5, 0, 2, 0.5 and 8, 8 for the two empty months; median 0.5, over the
    # chi-square(1) median 0.455: dispersion 1.099. An empty month: p = exp(-8 / 1.099) = 6.90e-4 < 0.001.
    labels = [10, 9, 11, 10, 10, 8, 12, 10, 0, 0]
    assert estimate_dispersion([1000] * 10, labels) == pytest.approx(1.09906, rel=1e-4)
    h = label_health(_measures([1000] * 10, labels, months=TEN))["fraud"]
    assert [f["month"] for f in h["flagged"]] == ["2019-09", "2019-10"]
    assert h["flagged"][0]["p"] == pytest.approx(6.899e-4, rel=1e-3)
    assert h["flagged"][0]["expected"] == pytest.approx(8.0)


def test_clustered_labels_do_not_flag_their_quiet_months():
    # Three campaigns of ~50 fraud rows, nothing in between: rate 0.015, 15 expected a month. Residuals:
    # 15 for each of the 7 empty months, 70-90 for the campaigns; median 15 -> dispersion 15 / 0.455 = 33.0,
    # so an empty month has p = exp(-15 / 33.0) = 0.634. The plain Poisson test would flag all seven
    # (p = exp(-15) = 3.1e-7) although the world only has its fraud in episodes.
    labels = [0, 50, 0, 0, 48, 0, 0, 0, 52, 0]
    m = _measures([1000] * 10, labels, months=TEN)
    h = label_health(m)["fraud"]
    assert h["dispersion"] == pytest.approx(32.9717, rel=1e-4)
    assert h["flagged"] == []
    plain = label_health(m, dispersion=1.0)["fraud"]
    assert len(plain["flagged"]) == 7
    assert plain["flagged"][0]["p"] == pytest.approx(3.059e-7, rel=1e-3)


def test_dispersion_is_one_without_labels_or_with_few_months():
    assert estimate_dispersion([5, 5, 5], [0, 0, 0]) == 1.0
    assert estimate_dispersion([5, 5], [10, 0]) == 1.0  # two active months: too few to estimate
    assert estimate_dispersion([100] * 5, [1, 1, 1, 1, 1]) == 1.0  # less spread than Poisson: at least 1


def test_a_run_of_quiet_months_is_flagged_where_no_single_month_is():
    # rate = 60 labels / 60,000 rows = 0.001; each of Feb-May: 2,000 rows, expected 2 labels, p = exp(-2)
    # = 0.135, not flagged alone (alpha 0.01); the run of four: 8,000 rows, expected 8, p = exp(-8) = 3.35e-4,
    # flagged.
    months = ["2019-01", "2019-02", "2019-03", "2019-04", "2019-05", "2019-06", "2019-07", "2019-08"]
    rows = [26_000, 2_000, 2_000, 2_000, 2_000, 24_000, 1_000, 1_000]
    fraud = [30, 0, 0, 0, 0, 30, 0, 0]  # total 60 over 60,000 rows; Feb-May one run, Jul-Aug another
    h = label_health(_measures(rows, fraud, months=months), alpha=0.01, dispersion=1.0)["fraud"]
    assert h["flagged"] == []
    assert len(h["flagged_runs"]) == 1
    (run,) = h["flagged_runs"]
    assert (run["from"], run["to"], run["months"], run["exposure"]) == ("2019-02", "2019-05", 4, 8_000)
    assert run["expected"] == pytest.approx(8.0)
    assert run["p"] == pytest.approx(3.3546e-4, rel=1e-4)  # exp(-8); Jul-Aug: exp(-2) = 0.135, kept out
    # a dispersion of 4 divides the evidence: exp(-2) = 0.135, no longer flagged
    assert (
        label_health(_measures(rows, fraud, months=months), alpha=0.01, dispersion=4.0)["fraud"][
            "flagged_runs"
        ]
        == []
    )


def test_fraud_episodes_are_the_labels_when_the_measures_have_them():
    # the same rows, fraud as rows (a burst of 30 on one card in January) or as cards with fraud (1):
    # with episodes the rate is 2 / 30,000 and February's 10,000 rows expect 0.667: p = 0.513, not flagged;
    # with rows the rate is 31 / 30,000 and February expects 10.3 labels: p = 3.3e-5, flagged
    m = _measures([10_000, 10_000, 10_000], [30, 0, 1], months=MONTHS[:3])
    by_rows = label_health(m, dispersion=1.0)["fraud"]
    assert by_rows["labels_are"] == "fraud rows"
    assert [f["month"] for f in by_rows["flagged"]] == ["2019-02"]
    m["by_month"]["fraud_cards"] = [1, 0, 1]
    by_cards = label_health(m, dispersion=1.0)["fraud"]
    assert by_cards["labels_are"] == "cards with fraud in the month"
    assert by_cards["rate"] == pytest.approx(2 / 30_000)
    assert by_cards["flagged"] == []
