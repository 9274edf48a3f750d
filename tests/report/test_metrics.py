"""The report's classifier metrics against hand-computed cases and a brute-force pairwise AUC."""

from __future__ import annotations

import numpy as np
import pytest

from cardworld.report.metrics import (
    average_precision,
    best_rule,
    category_auc,
    rates_at,
    recall_at_fpr,
    roc_auc,
    single_column_auc,
    threshold_at_fpr,
)


def _pairwise_auc(score, positive, weight=None):
    """P(positive above negative) over every weighted pair, ties one half: the definition, O(n^2)."""
    w = np.ones(len(score)) if weight is None else np.asarray(weight, dtype=float)
    s, y = np.asarray(score, dtype=float), np.asarray(positive, dtype=bool)
    diff = s[y][:, None] - s[~y][None, :]
    pair = w[y][:, None] * w[~y][None, :]
    return float((pair * ((diff > 0) + 0.5 * (diff == 0))).sum() / pair.sum())


def test_roc_auc_of_hand_computed_cases():
    # 0.8 beats both negatives, 0.35 beats 0.1 only: 3 of 4 pairs
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    # the positive ties one negative (1/2) and beats the other (1): 1.5 of 2 pairs
    assert roc_auc([1.0, 1.0, 0.0], [1, 0, 0]) == pytest.approx(0.75)
    assert roc_auc([3.0, 2.0, 1.0], [1, 1, 0]) == 1.0
    assert roc_auc([1.0, 2.0, 3.0], [1, 1, 0]) == 0.0
    assert roc_auc([5.0, 5.0, 5.0, 5.0], [1, 0, 1, 0]) == 0.5


def test_roc_auc_matches_brute_force_pairs_with_ties_and_weights():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(5, 60))
        score = rng.integers(0, 6, n).astype(float)  # few values: many ties
        y = rng.random(n) < 0.3
        y[:2] = [True, False]
        w = rng.integers(1, 4, n).astype(float)
        assert roc_auc(score, y) == pytest.approx(_pairwise_auc(score, y))
        assert roc_auc(score, y, w) == pytest.approx(_pairwise_auc(score, y, w))


def test_average_precision_of_hand_computed_cases():
    # by score: + (P 1, R 1/2), - , + (P 2/3, R 1): 1/2 x 1 + 1/2 x 2/3
    assert average_precision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(5 / 6)
    # a tie flags two rows at once: at 1.0 TP 1 FP 1 (P 1/2, R 1/2), at 0.0 TP 2 FP 1 (P 2/3)
    assert average_precision([1.0, 1.0, 0.0], [1, 0, 1]) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    assert average_precision([3.0, 2.0, 1.0], [1, 1, 0]) == 1.0


def test_a_weight_counts_as_repeated_rows():
    rng = np.random.default_rng(5)
    score = rng.integers(0, 8, 40).astype(float)
    y = rng.random(40) < 0.25
    y[:2] = [True, False]
    w = rng.integers(1, 4, 40)
    rep_s, rep_y = np.repeat(score, w), np.repeat(y, w)
    assert average_precision(score, y, w) == pytest.approx(average_precision(rep_s, rep_y))
    assert roc_auc(score, y, w) == pytest.approx(roc_auc(rep_s, rep_y))
    assert recall_at_fpr(score, y, 0.1, w) == pytest.approx(recall_at_fpr(rep_s, rep_y, 0.1))


def test_recall_at_fpr_flags_at_most_that_share_of_negatives():
    neg = np.arange(100.0)  # 1% of 100 negatives: only the top one (99) may be flagged
    score = np.r_[neg, 99.5, 99.0, 98.5, 50.0]
    y = np.r_[np.zeros(100, bool), np.ones(4, bool)]
    assert threshold_at_fpr(score, y) == 98.5  # down to the next negative (98)
    assert recall_at_fpr(score, y) == pytest.approx(3 / 4)  # all but 50
    assert rates_at(score, y, 98.5) == (pytest.approx(0.75), pytest.approx(0.01))
    assert rates_at(score, y, 99.5) == (pytest.approx(0.25), 0.0)


def test_recall_at_fpr_never_splits_a_tie():
    # the two top negatives tie at 5: flagging them is 2% > 1%, so nothing at 5 is flagged
    score = np.r_[5.0, 5.0, np.zeros(98), 6.0, 5.0, 5.0]
    y = np.r_[np.zeros(100, bool), np.ones(3, bool)]
    assert threshold_at_fpr(score, y) == 6.0
    assert recall_at_fpr(score, y) == pytest.approx(1 / 3)
    assert recall_at_fpr(np.r_[5.0, 5.0, np.zeros(98), 5.0], np.r_[np.zeros(100), 1.0]) == 0.0
    assert threshold_at_fpr([5.0, 5.0, 5.0], [0, 0, 1]) == np.inf


def test_metrics_reject_one_class_and_nan():
    for metric in (roc_auc, average_precision, recall_at_fpr):
        with pytest.raises(ValueError, match="both positives and negatives"):
            metric([0.1, 0.2], [1, 1])
        with pytest.raises(ValueError, match="NaN"):
            metric([np.nan, 0.2], [1, 0])


def test_single_column_auc_places_missing_values_at_the_better_end():
    # NaN low: the NaN positive loses both pairs, 3 wins both (0.5); NaN high: all four pairs won
    assert single_column_auc([np.nan, 1.0, 2.0, 3.0], [1, 0, 0, 1]) == 1.0
    assert single_column_auc([3.0, 2.0, 1.0], [0, 0, 1]) == 1.0  # either sign
    # rates a 1/2, b 0: the positive (a) beats both b negatives and ties the a one
    assert category_auc(["a", "b", "b", "a"], [1, 0, 0, 0]) == pytest.approx(2.5 / 3)


def _rule_data():
    rng = np.random.default_rng(0)
    y_train = np.r_[np.zeros(200, bool), np.ones(10, bool)]
    train = {"a": np.r_[np.arange(200.0), np.full(10, 300.0)], "noise": rng.random(210)}
    y_test = np.r_[np.zeros(100, bool), np.ones(4, bool)]
    test = {"a": np.r_[np.arange(100.0), 250.0, 199.0, 100.0, 5.0], "noise": rng.random(104)}
    return train, y_train, test, y_test


def test_best_rule_is_chosen_on_train_and_measured_on_test():
    train, y_train, test, y_test = _rule_data()
    rule = best_rule(train, y_train, test, y_test)
    # train: 1% of 200 negatives = 2, so the threshold is 198 and catches every training positive
    assert (rule["feature"], rule["direction"], rule["rule"]) == ("a", "higher", "a >= 198")
    assert rule["train_recall"] == 1.0
    # test: 250 and 199 pass 198, no negative does; AUC: 3 positives beat all 100, 5 beats 0..4, ties 5
    assert rule["recall_at_1pct_fpr"] == pytest.approx(0.5)
    assert rule["test_fpr"] == 0.0
    assert rule["roc_auc"] == pytest.approx((300 + 5.5) / 400)


def test_best_rule_finds_a_lower_is_riskier_column_and_missing_values():
    train, y_train, test, y_test = _rule_data()
    lower = best_rule({"a": -train["a"]}, y_train, {"a": -test["a"]}, y_test)
    assert (lower["direction"], lower["rule"], lower["recall_at_1pct_fpr"]) == ("lower", "a <= -198", 0.5)
    missing = np.r_[np.arange(200.0), np.full(10, np.nan)]  # the positives are the missing values
    rule = best_rule({"m": missing}, y_train, {"m": np.r_[np.arange(100.0), np.nan]}, np.r_[np.zeros(100), 1])
    assert rule["rule"].endswith("or missing")
    assert rule["recall_at_1pct_fpr"] == 1.0


def test_best_rule_on_a_category_uses_the_training_rates():
    y_train = np.r_[np.zeros(100, bool), np.ones(5, bool)]
    cat = np.r_[np.zeros(100), np.full(5, 7.0)]  # category 7: all fraud in train
    y_test = np.r_[np.zeros(50, bool), np.ones(4, bool)]
    test_cat = np.r_[np.zeros(50), 7.0, 7.0, 0.0, 9.0]  # 9 unseen in train: never flagged
    rule = best_rule({"c": cat}, y_train, {"c": test_cat}, y_test, categorical=frozenset({"c"}))
    assert rule["direction"] == "categories"
    assert rule["rule"] == "c in the 1 values with the highest training fraud rate"
    assert rule["recall_at_1pct_fpr"] == pytest.approx(0.5)
    # 7s beat every negative (2 x 50); the 0 ties all 50; the unseen 9 scores below all
    assert rule["roc_auc"] == pytest.approx((100 + 25) / 200)
