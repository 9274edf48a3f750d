"""Fraud is not trivially separable, yet learnable from context (a mid-size world, 500 consumers 2010-2019).

No single column (an amount threshold, a set of MCCs, cities, states, hours, the channel, the errors)
catches half the fraud at 1% false positives, even with the rule chosen on the test rows themselves; a
gradient-boosted model on simple per-card history features, trained on 2010-2015 and tested on
2016-2019, beats the best of them clearly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fraud_features import best_category_rule, card_features, recall_at_fpr

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.io.dataset import read_dataset_transactions

lgb = pytest.importorskip("lightgbm")

MARGIN = 0.15  # measured (seed 7): best rule 0.46 (MCC), model 0.72


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("learn") / "world"
    generate(load_config(consumers=500, start="2010-01-01", end="2019-12-31", seed=7), out, workers=2)
    tx = read_dataset_transactions(out)
    t = tx["timestamp"].cast(pa.int64()).to_numpy()
    year = t.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    return tx, tx["is_fraud"].to_numpy(zero_copy_only=False), year >= 2016, (t // 3600) % 24


def _best_rule(tx, fraud, rows, hour) -> dict[str, float]:
    amount = tx["amount"].to_numpy()[rows]
    f = fraud[rows]
    out = {"amount": max(recall_at_fpr(amount, f), recall_at_fpr(-amount, f))}
    for col in ("mcc", "use_chip", "merchant_city", "merchant_state", "zip", "errors"):
        values = pc.fill_null(tx[col].cast(pa.string()), "").to_numpy(zero_copy_only=False)[rows]
        out[col] = best_category_rule(values, f)
    out["hour"] = best_category_rule(hour[rows], f)
    return out


@pytest.mark.slow
def test_no_single_column_catches_half_the_fraud(data):
    tx, fraud, test, hour = data
    assert fraud[test].sum() > 500
    rules = _best_rule(tx, fraud, test, hour)
    assert max(rules.values()) < 0.5, rules
    assert rules["amount"] > 0.05  # amounts do differ: the rule is not vacuous


@pytest.mark.slow
def test_a_model_on_card_history_beats_every_rule(data):
    tx, fraud, test, hour = data
    feats = card_features(tx)
    online = pc.equal(tx["use_chip"], "Online Transaction").to_numpy(zero_copy_only=False)
    X = np.column_stack([*feats.values(), tx["mcc"].to_numpy().astype(float), online.astype(float), hour])
    train = ~test & (fraud | (np.random.default_rng(0).random(fraud.size) < 0.1))
    params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "verbose": -1, "num_threads": 2,
              "seed": 0, "deterministic": True}  # fmt: skip
    mcc_col = len(feats)
    model = lgb.train(
        params, lgb.Dataset(X[train], fraud[train].astype(float), categorical_feature=[mcc_col]), 150
    )
    recall = recall_at_fpr(model.predict(X[test]), fraud[test])
    best = max(_best_rule(tx, fraud, test, hour).values())
    assert recall > best + MARGIN, (recall, best)
