"""The strong baseline: LightGBM on hand-made aggregate features, on the same splits as the encoders.

Fraud: each row's own columns and its card's history before it (report.fraud_features, the report's
fraud baseline), trained on the labelled users' rows before the test (every fraud row and a sample of the
genuine ones), scored on the same test rows and weights as the encoders. Default: aggregates of the user's
transactions before the observation date, the kinds of row the encoders read (spend, counts and maxima
over 30, 90 and 365 days, by category, cash, online, foreign, declines, refunds and large purchases, days
since the last row, trend ratios), computed by the targets engine (trailing windows at the last row
before the observation date). They reach a year back, where the encoders read the last `pd_len` rows
(about six weeks in the small preset): the hand-made features' usual edge, kept on purpose.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from cardworld.errors import InputError
from cardworld.experiment.data import World
from cardworld.experiment.finetune import metrics
from cardworld.experiment.splits import Windows, seeded
from cardworld.experiment.suite import CASH, DINING, GROCERY
from cardworld.report.baselines import FRAUD_PARAMS, FRAUD_ROUNDS, PD_LEAF_SHARE, PD_PARAMS, PD_ROUNDS
from cardworld.report.fraud_features import fraud_features
from cardworld.targets import TargetSpec, compute_targets_batch

TRAIN_GENUINE = 100_000  # genuine training rows at most (every fraud row besides), as the report's baseline
_GBM_KEY = 11  # seeded() stream of the genuine-row sample


def _lightgbm() -> Any:
    import lightgbm

    return lightgbm


def fraud_matrix(world: World) -> tuple[np.ndarray, list[str]]:
    feats = fraud_features(world.table)
    names = list(feats)
    return np.column_stack([feats[n].astype(np.float32) for n in names]), names


def lightgbm_fraud(
    X: np.ndarray,
    names: list[str],
    world: World,
    users: np.ndarray,
    evalw: Windows,
    *,
    seed: int,
    threads: int,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    lgb = _lightgbm()
    mine = np.isin(world.user, users) & world.before_test
    fraud = world.fraud
    genuine = np.flatnonzero(mine & ~fraud)
    rng = seeded(seed, _GBM_KEY)
    take = rng.choice(genuine, size=min(genuine.size, TRAIN_GENUINE), replace=False)
    train = np.sort(np.concatenate([np.flatnonzero(mine & fraud), take]))
    cat = [i for i, n in enumerate(names) if n in ("mcc", "channel")]
    params = {**FRAUD_PARAMS, "seed": seed, "num_threads": threads}
    data = lgb.Dataset(X[train], fraud[train].astype(np.float64), feature_name=names, categorical_feature=cat,
                       params={"verbose": -1})  # fmt: skip
    model = lgb.train(params, data, FRAUD_ROUNDS)
    rows = evalw.rows[evalw.scored]
    score = model.predict(X[rows])
    return {**metrics(score, fraud[rows], evalw.weight[evalw.scored]), "seconds": time.perf_counter() - t0}


def _aggregate_specs() -> list[TargetSpec]:
    out = []
    for w in ("30d", "90d", "365d"):
        out += [
            TargetSpec(name=f"spend_{w}", agg="sum", window=w, mode="trailing"),
            TargetSpec(name=f"n_{w}", agg="count", window=w, mode="trailing"),
            TargetSpec(name=f"max_{w}", agg="max", window=w, mode="trailing"),
            TargetSpec(name=f"cash_{w}", agg="sum", window=w, mode="trailing", mcc=CASH),
        ]
    out += [
        TargetSpec(name="grocery_90d", agg="sum", window="90d", mode="trailing", mcc=GROCERY),
        TargetSpec(name="dining_90d", agg="sum", window="90d", mode="trailing", mcc=DINING),
        TargetSpec(name="online_30d", agg="sum", window="30d", mode="trailing", value="online"),
        TargetSpec(name="foreign_90d", agg="sum", window="90d", mode="trailing", value="foreign"),
        TargetSpec(name="declines_30d", agg="sum", window="30d", mode="trailing", value="has_errors"),
        TargetSpec(name="declines_90d", agg="sum", window="90d", mode="trailing", value="has_errors"),
        TargetSpec(name="refunds_90d", agg="count", window="90d", mode="trailing", amount_max=-0.01),
        TargetSpec(name="large_90d", agg="count", window="90d", mode="trailing", amount_min=500.0),
    ]
    return out


def pd_matrix(
    world: World, columns: dict[str, np.ndarray], samples: pa.Table
) -> tuple[np.ndarray, list[str]]:
    """Aggregate features per PD sample (module doc); NaN for a sample with no earlier transaction."""
    specs = _aggregate_specs()
    uid = samples["user_id"].to_numpy().astype(np.int64)
    pos = np.minimum(np.searchsorted(world.users, uid), world.users.size - 1)
    if not np.array_equal(world.users[pos], uid):
        raise InputError(
            "a PD sample's user has no transactions in the world; filter the samples to its users"
        )
    obs = samples["obs_date"].cast(pa.int32()).to_numpy().astype(np.int64) * 86400
    lo = world.offsets[pos]
    # the last row before obs in each user's rows (sorted by time): a search in the (user, time) order
    key = world.user_of_rows().astype(np.int64) * (1 << 40) + world.time
    last = np.searchsorted(key, pos * (1 << 40) + obs) - 1
    has = last >= lo
    at = np.unique(last[has])
    cols = {
        "online": columns["online"],
        **{c: columns[c].astype(np.float64) for c in ("foreign", "has_errors")},
    }
    vals = compute_targets_batch(specs, time=world.time, amount=world.amount, mcc=world.mcc,
                                 offsets=world.offsets, columns=cols, at=at)  # fmt: skip
    X = np.full((samples.num_rows, len(specs) + 3), np.nan, dtype=np.float32)
    X[has, : len(specs)] = vals[np.searchsorted(at, last[has])]
    names = [s.name for s in specs]
    col = {n: i for i, n in enumerate(names)}
    X[has, -3] = (obs[has] - world.time[last[has]]) / 86400.0
    with np.errstate(divide="ignore", invalid="ignore"):
        X[:, -2] = X[:, col["spend_30d"]] * 12 / X[:, col["spend_365d"]]
        X[:, -1] = X[:, col["cash_90d"]] / X[:, col["spend_90d"]]
    X[~np.isfinite(X)] = np.nan
    return X, [*names, "days_since_last", "spend_trend", "cash_share_90d"]


def lightgbm_pd(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, w_test: np.ndarray,
    names: list[str], *, seed: int, threads: int,
) -> dict[str, Any]:  # fmt: skip
    t0 = time.perf_counter()
    lgb = _lightgbm()
    leaf = max(20, round(PD_LEAF_SHARE * y_train.size))
    params = {**PD_PARAMS, "seed": seed, "min_data_in_leaf": leaf, "num_threads": threads}
    data = lgb.Dataset(X_train, y_train.astype(np.float64), feature_name=names, params={"verbose": -1})
    model = lgb.train(params, data, PD_ROUNDS)
    return {**metrics(model.predict(X_test), y_test, w_test), "seconds": time.perf_counter() - t0}
