"""Default is learnable from account history, yet no single feature separates defaulters (the shared
world of conftest.py: 500 consumers 2006-2019, life events x4).

PD samples at 6- and 12-month horizons, split by time (training label windows ending before the first
test date); features from `pd_features`. LightGBM trained on the training samples beats the best
single-feature rule (the best test AUC of any one feature, either sign, chosen on the test samples
themselves, so optimistic) by a clear margin.

Measured (2026-12-01, this world and the same world with seeds 1 and 2): at 6 months LightGBM 0.889 /
0.894 / 0.896 against the best single feature 0.862 / 0.868 / 0.865 (the payment ratio): +0.027, +0.026,
+0.031; at 12 months 0.788 / 0.779 / 0.777 against 0.751 (payment ratio) / 0.765 (FICO score) / 0.736:
+0.037, +0.014, +0.041. Distress shows in the history months before the first missed payment (it builds
up before a job loss or a divorce: the minimum only, cash advances, utilisation rising), but a default
a year out often starts with a life event that has not happened yet, so the 12-month edge is smaller.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from credit_metrics import roc_auc, single_column_auc

from cardworld.labels.pd_features import FEATURES, pd_features
from cardworld.labels.pd_samples import pd_samples

lgb = pytest.importorskip("lightgbm")

HORIZONS = (6, 12)
MARGIN = {6: 0.015, 12: 0.015}  # observed +0.026..+0.031 (6 months), +0.014..+0.041 (12): see above
MAX_SINGLE_AUC = 0.9
# Test-date label rates (this world and seeds 1, 2): 6 months 1.64, 1.52, 2.24%; 12 months 3.99, 3.60,
# 5.34%; life events x4 give about 4x a default world's (less where they overlap). The ranges allow for the
# spread of ~40-100 defaulting accounts: a rate outside them means the cycle's calibration moved.
LABEL_RATE = {6: (0.006, 0.05), 12: (0.015, 0.10)}
PARAMS = {"objective": "binary", "learning_rate": 0.03, "num_leaves": 4, "lambda_l2": 10.0, "verbose": -1,
          "num_threads": 2, "seed": 0, "deterministic": True,
          # an account gives a sample a month: a leaf must span many accounts, or the model learns
          # accounts (by their credit limit) instead of risk
          "min_data_in_leaf": 500}  # fmt: skip
ROUNDS = 200


@pytest.fixture(scope="module", params=HORIZONS, ids=lambda h: f"{h}m")
def data(request, credit_world: Path) -> dict[str, np.ndarray]:
    samples = pd_samples(credit_world, horizon_months=request.param, split="time")
    feats = pd_features(credit_world, samples)
    X = np.column_stack([feats[n].to_numpy(zero_copy_only=False) for n in FEATURES])
    test = np.array(samples["split"].to_pylist()) == "test"
    return {"X": X, "y": samples["label"].to_numpy().astype(bool), "test": test,
            "account": samples["account_id"].to_numpy(), "horizon": request.param}  # fmt: skip


def _single_aucs(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {n: round(single_column_auc(X[:, i], y), 3) for i, n in enumerate(FEATURES)}


@pytest.mark.slow
def test_enough_defaults_on_both_sides(data):
    y, test, account = data["y"], data["test"], data["account"]
    for side in (~test, test):
        assert np.unique(account[side & y]).size >= 25, np.unique(account[side & y]).size


@pytest.mark.slow
def test_a_model_on_history_beats_every_single_feature(data):
    X, y, test = data["X"], data["y"], data["test"]
    model = lgb.train(PARAMS, lgb.Dataset(X[~test], y[~test].astype(float)), ROUNDS)
    auc = roc_auc(model.predict(X[test]), y[test])
    singles = _single_aucs(X[test], y[test])
    assert auc > max(singles.values()) + MARGIN[data["horizon"]], (auc, singles)


@pytest.mark.slow
def test_no_single_feature_separates_defaulters(data):
    X, y, test = data["X"], data["y"], data["test"]
    for rows in (test, ~test):
        singles = _single_aucs(X[rows], y[rows])
        assert max(singles.values()) <= MAX_SINGLE_AUC, singles
        assert max(singles.values()) > 0.6, singles  # the features do carry signal


@pytest.mark.slow
def test_the_test_date_label_rate_is_calibrated(data):
    rate = data["y"][data["test"]].mean()
    lo, hi = LABEL_RATE[data["horizon"]]
    assert lo <= rate <= hi, rate
