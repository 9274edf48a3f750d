"""The experiment's statistics against hand-computed cases: means and sds over seeds, display order, the
paired differences on the seeds both methods have, and the exact sign-flip p against a brute-force count."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from experiment_helpers import record as rec

from cardworld.errors import InputError
from cardworld.experiment.stats import (
    MAX_EXACT_SEEDS,
    METHODS,
    paired,
    sign_flip_p,
    summary,
    unit_positives,
)


def brute_force_p(diffs):
    """Every sign pattern spelled out with itertools, counted with plain Python floats."""
    observed = abs(sum(diffs)) / len(diffs)
    hits = total = 0
    for signs in itertools.product((1, -1), repeat=len(diffs)):
        total += 1
        hits += abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) / len(diffs) >= observed - 1e-12
    return hits / total


# --- summary ---


def test_summary_means_and_sds_by_hand():
    rocs = [0.80, 0.82, 0.84, 0.86, 0.88]
    prs = [0.1, 0.2, None, 0.3, 0.4]
    records = [
        rec(seed=s, roc=r, pr=p, positives=20 + s) for s, (r, p) in enumerate(zip(rocs, prs, strict=True))
    ]
    (row,) = summary(records)
    assert (row["task"], row["fraction"], row["method"]) == ("fraud", 0.1, "from scratch")
    assert row["runs"] == 5
    assert row["seeds"] == 5
    assert row["roc_auc_n"] == 5
    assert row["pr_auc_n"] == 4
    assert row["roc_auc_mean"] == pytest.approx(0.84, abs=1e-12)
    # squared deviations 0.0016, 0.0004, 0, 0.0004, 0.0016: sum 0.004, over n - 1 = 4
    assert row["roc_auc_sd"] == pytest.approx(math.sqrt(0.001), abs=1e-12)
    assert row["pr_auc_mean"] == pytest.approx(0.25, abs=1e-12)
    # 0.0225 + 0.0025 + 0.0025 + 0.0225 = 0.05, over n - 1 = 3 (the None seed is left out)
    assert row["pr_auc_sd"] == pytest.approx(math.sqrt(0.05 / 3), abs=1e-12)
    assert row["positives_mean"] == pytest.approx(22.0)
    assert row["seconds_mean"] == pytest.approx(2.0)


def test_summary_one_value_has_no_sd_and_no_value_has_no_mean():
    rows = summary([rec(method="CoLES", roc=0.7, pr=None), rec(method="LightGBM", roc=None, pr=None)])
    coles, lgbm = rows
    assert coles["roc_auc_mean"] == pytest.approx(0.7)
    assert coles["roc_auc_sd"] is None
    assert coles["pr_auc_mean"] is None
    assert coles["pr_auc_n"] == 0
    assert coles["seeds"] == 1
    assert lgbm["roc_auc_mean"] is None
    assert lgbm["seeds"] == 0
    assert lgbm["runs"] == 1


def test_summary_orders_tasks_fractions_then_methods_unknown_last_as_first_seen():
    records = [
        rec(method="zeta", task="default", fraction=1.0),
        rec(method="LightGBM", task="default", fraction=0.01),
        rec(method="alpha", task="fraud", fraction=1.0),
        rec(method="pretrained: targets", task="fraud", fraction=1.0),
        rec(method="from scratch", task="fraud", fraction=0.01),
        rec(method="CoLES", task="fraud", fraction=1.0),
    ]
    keys = [(r["task"], r["fraction"], r["method"]) for r in summary(records)]
    assert keys == [
        ("fraud", 0.01, "from scratch"),
        ("fraud", 1.0, "pretrained: targets"),
        ("fraud", 1.0, "CoLES"),
        ("fraud", 1.0, "alpha"),
        ("default", 0.01, "LightGBM"),
        ("default", 1.0, "zeta"),
    ]
    assert METHODS.index("CoLES") < METHODS.index("from scratch") < METHODS.index("LightGBM")


# --- paired ---


def test_paired_all_five_seeds_better_gives_the_smallest_p():
    ours = [0.90, 0.91, 0.92, 0.93, 0.94]
    theirs = [0.88, 0.90, 0.89, 0.92, 0.90]
    records = [rec("pretrained: targets", s, r) for s, r in enumerate(ours)]
    records += [rec("from scratch", s, r) for s, r in enumerate(theirs)]
    (row,) = paired(records, "pretrained: targets", "from scratch", "roc_auc")
    diffs = [0.02, 0.01, 0.03, 0.01, 0.04]
    assert row["n"] == 5
    assert row["wins"] == 5
    assert row["seeds"] == [0, 1, 2, 3, 4]
    assert row["mean_diff"] == pytest.approx(0.022, abs=1e-12)
    mean = 0.022
    assert row["sd_diff"] == pytest.approx(math.sqrt(sum((d - mean) ** 2 for d in diffs) / 4), abs=1e-12)
    assert row["p"] == pytest.approx(2 / 32)  # only all-plus and all-minus reach the observed |mean|
    assert (row["method"], row["baseline"], row["metric"]) == (
        "pretrained: targets",
        "from scratch",
        "roc_auc",
    )


def test_paired_matches_seeds_not_positions_and_skips_missing_ones():
    ours = [rec("CoLES", s, 0.70 + 0.01 * s) for s in (4, 0, 2, 1, 3)]  # shuffled order
    theirs = [
        rec("from scratch", 0, 0.69),
        rec("from scratch", 1, 0.73),
        rec("from scratch", 3, None),  # not evaluated: seed 3 drops out
        rec("from scratch", 4, 0.70),  # seed 2 has no baseline run at all
    ]
    (row,) = paired(ours + theirs, "CoLES", "from scratch", "roc_auc")
    assert row["seeds"] == [0, 1, 4]
    assert row["n"] == 3
    diffs = [0.70 - 0.69, 0.71 - 0.73, 0.74 - 0.70]
    assert row["mean_diff"] == pytest.approx(sum(diffs) / 3, abs=1e-12)
    assert row["wins"] == 2
    assert row["p"] == pytest.approx(brute_force_p(diffs))


def test_paired_rows_per_task_and_fraction_in_order():
    records = []
    for task, fraction in [("default", 0.1), ("fraud", 1.0), ("fraud", 0.01)]:
        for s in range(2):
            records += [rec("CoLES", s, 0.8, task=task, fraction=fraction)]
            records += [rec("from scratch", s, 0.7, task=task, fraction=fraction)]
    records.append(rec("CoLES", 0, 0.9, task="default", fraction=1.0))  # no baseline there: no row
    rows = paired(records, "CoLES", "from scratch", "pr_auc")
    assert [(r["task"], r["fraction"]) for r in rows] == [("fraud", 0.01), ("fraud", 1.0), ("default", 0.1)]
    assert all(r["n"] == 2 and r["mean_diff"] == 0 and r["wins"] == 0 and r["p"] == 1 for r in rows)


def test_paired_without_shared_evaluated_seeds_has_no_statistics():
    records = [rec("CoLES", 0, None), rec("from scratch", 0, 0.7), rec("from scratch", 1, 0.7)]
    (row,) = paired(records, "CoLES", "from scratch", "roc_auc")
    assert row["n"] == 0
    assert row["mean_diff"] is None
    assert row["sd_diff"] is None
    assert row["p"] is None


@pytest.mark.parametrize("n", range(1, 9))
def test_sign_flip_p_matches_brute_force(n):
    rnd = random.Random(n)
    for _ in range(5):
        diffs = [round(rnd.gauss(0.01, 0.02), 3) for _ in range(n)]
        assert sign_flip_p(diffs) == pytest.approx(brute_force_p(diffs), abs=1e-12)


def test_sign_flip_p_by_hand():
    assert sign_flip_p([0.5]) == 1.0  # one difference: both signs reach it
    assert sign_flip_p([1.0, -1.0]) == 1.0  # observed mean 0: every pattern is as extreme
    # [3, 1]: the four means are 2, 1, -1, -2; |mean| >= 2 in 2 of 4
    assert sign_flip_p([3.0, 1.0]) == 0.5
    # [2, 1, 1]: |means| 4/3, 2/3, 2/3, 0 (and mirrors); only ±(2, 1, 1) reach 4/3: 2 of 8
    assert sign_flip_p([2.0, 1.0, 1.0]) == 0.25
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0
    assert sign_flip_p([0.01] * 5) == 2 / 32  # the floor with 5 seeds


def test_sign_flip_p_refuses_empty_and_too_many():
    with pytest.raises(InputError, match="at least one"):
        sign_flip_p([])
    with pytest.raises(InputError, match=str(MAX_EXACT_SEEDS)):
        sign_flip_p([0.1] * (MAX_EXACT_SEEDS + 1))


# --- positives and checks ---


def test_unit_positives_counts_each_seed_once():
    records = [
        rec("CoLES", 0, positives=10),
        rec("from scratch", 0, positives=10),
        rec("CoLES", 1, positives=20),
    ]
    records.append(rec("CoLES", 0, task="default", positives=3))
    assert unit_positives(records) == {("fraud", 0.1): 15.0, ("default", 0.1): 3.0}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"task": "fruad"}, "task 'fruad' is not one of fraud, default"),
        ({"fraction": 0.0}, r"fraction 0 is not in \(0, 1\]"),
        ({"fraction": 1.5}, r"fraction 1.5 is not in \(0, 1\]"),
        ({"roc_auc": 1.2}, r"roc_auc 1.2 is not in \[0, 1\]; pass None"),
        ({"pr_auc": float("nan")}, "pr_auc nan is not a finite number"),
        ({"roc_auc": "0.9"}, "roc_auc '0.9' is not a finite number"),
        ({"roc_auc": 0.9, "seed": 7}, None),  # a good record: accepted
        ({"positives": -1}, "positives -1 is not a whole number of at least 0"),
        ({"seed": 1.5}, "seed 1.5 is not a whole number"),
        ({"method": ""}, "method '' is not a name"),
        ({"seconds": None}, "seconds None is not a finite number"),
    ],
)
def test_bad_records_are_named(bad, message):
    records = [rec(seed=1), {**rec(seed=0), **bad}]
    if message is None:
        assert summary(records)[0]["runs"] == 2
        return
    with pytest.raises(InputError, match=f"record 1: {message}"):
        summary(records)


def test_missing_fields_duplicates_and_unequal_subsets_are_refused():
    partial = rec()
    del partial["labelled"], partial["seconds"]
    with pytest.raises(InputError, match="record 0 lacks labelled, seconds"):
        summary([partial])
    with pytest.raises(InputError, match="record 0 is a list"):
        summary([[1, 2]])
    with pytest.raises(
        InputError, match=r"records 0 and 1 are both task 'fraud', method 'CoLES', fraction 0\.1, seed 3"
    ):
        summary([rec("CoLES", 3), rec("CoLES", 3)])
    with pytest.raises(InputError, match=r"records 0 and 1 .* have 30 and 31 positives; the same seed"):
        paired([rec("CoLES", 3), rec("from scratch", 3, positives=31)], "CoLES", "from scratch", "roc_auc")
    with pytest.raises(InputError, match="metric 'f1' is not one of roc_auc, pr_auc"):
        paired([rec()], "CoLES", "from scratch", "f1")
