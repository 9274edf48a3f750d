"""The report's baselines: is fraud (and default) learnable, yet not trivially so?

    figures = baselines("out/world", max_users=2000, seed=0)   # {"fraud": {...}, "default": {...}}

Fraud: a sample of users (all of them up to max_users) is read through `cardworld.open`, a chunk of whole
users at a time (a filter on user_id: row groups hold whole users, so only theirs are read), with the
columns the features need. Each row gets its own columns and its card's history before it
(report.fraud_features). The split is by time, on whole calendar years (`split_year`): LightGBM trains on
the earlier years (every fraud row and a sample of the genuine ones) and is measured on the later ones,
beside the best single-column rule (chosen on the training rows, measured on the test rows).

Default (a dataset with credit statements): PD samples at a 12-month horizon split by time, and their
history features (cardworld.labels), of the sampled users; the same model, metrics and best single feature.

Memory: the features of at most ROW_CAP rows (every fraud row, a uniform sample of the genuine ones,
weighted back so the test metrics are those of all rows) and one chunk of users' transactions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from cardworld.errors import FIX, InputError
from cardworld.io.reader import CardworldDataset
from cardworld.io.reader import open as open_dataset
from cardworld.report.fraud_features import CATEGORICAL, FEATURE_COLUMNS, fraud_features
from cardworld.report.metrics import FPR, average_precision, best_rule, recall_at_fpr, roc_auc

#: Share of the rows the test years should hold (the split year is the one closest to it).
TEST_SHARE = 0.3
#: Feature rows kept across the sampled users: every fraud row, and genuine rows sampled to fit.
ROW_CAP = 2_000_000
#: Genuine training rows the fraud model and the rule see at most (all fraud rows besides).
TRAIN_GENUINE = 100_000
#: Users read and featurised at a time.
USER_CHUNK = 250
#: Features in the importance list.
TOP_FEATURES = 8
FRAUD_ROUNDS = 150
FRAUD_PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "verbose": -1,
                "num_threads": 1, "deterministic": True, "force_col_wise": True}  # fmt: skip
#: The PD model of tests/credit/test_pd_learnable.py; min_data_in_leaf is set from the sample count.
PD_ROUNDS = 200
PD_PARAMS = {"objective": "binary", "learning_rate": 0.03, "num_leaves": 4, "lambda_l2": 10.0, "verbose": -1,
             "num_threads": 1, "deterministic": True, "force_col_wise": True}  # fmt: skip
#: A leaf must span many accounts (each gives a sample a month), or the model learns accounts: 2% of the
#: training samples (about the 500 the credit tests use on their ~25k), at least 20.
PD_LEAF_SHARE = 0.02
PD_HORIZON = 12
#: Below these counts the note warns that the figures are noisy.
FEW_FRAUD = 100
FEW_DEFAULTING = 25
_NO_CREDIT = {
    "off": "the dataset was generated with the credit cycle off, so it has no credit statements",
    "empty": "the credit cycle ran but no account got a statement",
    "absent": "the dataset has no statements table (it was made before the credit cycle existed)",
}

Progress = Callable[[str], None]


def baselines(
    path: str | os.PathLike, *, max_users: int = 2000, seed: int = 0, progress: Progress | None = None
) -> dict[str, dict[str, Any]]:
    """The fraud and default baselines of dataset directory `path` on a sample of at most `max_users`
    users (drawn with numpy's default_rng(seed); all of them when there are no more): {"fraud": {...},
    "default": {...}}, each either the figures (see the module doc) or {"skipped": why}. `progress(step)`
    is called with the name of each step as it starts. Needs lightgbm (the "report" extra)."""
    lgb = _lightgbm()
    if isinstance(max_users, bool) or not isinstance(max_users, int | np.integer) or max_users < 1:
        raise InputError(
            f"the number of users to sample for the baselines is {max_users!r}; it must be 1 or more"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(f"the baselines' seed is {seed!r}; it must be an integer")
    step = progress or (lambda _name: None)
    world = open_dataset(path)
    users = sample_users(world.user_ids, int(max_users), int(seed))
    return {
        "fraud": fraud_baseline(world, users, seed=int(seed), progress=step, lgb=lgb),
        "default": default_baseline(world.path, users, seed=int(seed), progress=step, lgb=lgb),
    }


def sample_users(user_ids: np.ndarray, max_users: int, seed: int) -> np.ndarray:
    """`max_users` of the ids drawn without replacement by default_rng(seed), ascending; all when fewer."""
    ids = np.sort(np.asarray(user_ids, dtype=np.int64))
    if ids.size <= max_users:
        return ids
    return np.sort(np.random.default_rng(seed).choice(ids, size=max_users, replace=False))


def split_year(
    years: np.ndarray, rows: np.ndarray, fraud: np.ndarray, test_share: float = TEST_SHARE
) -> int | None:
    """The first test year of a split by whole calendar years: among the years after the first, the one
    from which on the years hold the share of the rows closest to `test_share` (a tie: the later year),
    with fraud rows on both sides. None when no year qualifies (one year only, or fraud on one side).
    `years` ascending, with their row and fraud row counts."""
    years, rows, fraud = (np.asarray(a, dtype=np.int64) for a in (years, rows, fraud))
    total = rows.sum()
    best: tuple[float, int] | None = None
    for i in range(1, years.size):
        if fraud[:i].sum() == 0 or fraud[i:].sum() == 0:
            continue
        gap = abs(rows[i:].sum() / total - test_share)
        if best is None or gap <= best[0] + 1e-12:
            best = (gap, int(years[i]))
    return None if best is None else best[1]


def _no_split_reason(years: np.ndarray, fraud: np.ndarray) -> str:
    if years.size < 2:
        return "the sampled rows span one calendar year; a split by time needs two"
    if fraud.sum() == 0:
        return "the sampled users have no fraud rows"
    with_fraud = ", ".join(str(y) for y in years[fraud > 0])
    return f"no split by year leaves fraud on both sides: fraud rows fall in {with_fraud} only"


def _span(years: np.ndarray) -> str:
    lo, hi = int(years.min()), int(years.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


class _FraudRows:
    """The kept rows of the sampled users (features, year, label, weight), and all rows' counts by year."""

    def __init__(self, world: CardworldDataset, users: np.ndarray, keep: float, rng: np.random.Generator):
        field = pads.field("user_id")
        dataset = world.transactions()
        parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = []
        counts: dict[int, list[int]] = {}
        for chunk in np.array_split(users, max(1, -(-users.size // USER_CHUNK))):
            if chunk.size == 0:
                continue
            where = (field >= int(chunk[0])) & (field <= int(chunk[-1])) & field.isin(chunk.tolist())
            tx = dataset.to_table(filter=where, columns=[*FEATURE_COLUMNS, "is_fraud"])
            if tx.num_rows == 0:
                continue
            fraud = tx["is_fraud"].to_numpy(zero_copy_only=False).astype(bool)
            year = _years(tx["timestamp"])
            for y, n, f in zip(*_year_counts(year, fraud), strict=True):
                c = counts.setdefault(int(y), [0, 0])
                c[0], c[1] = c[0] + int(n), c[1] + int(f)
            kept = fraud | (rng.random(fraud.size) < keep)
            feats = {k: v[kept].astype(np.float32) for k, v in fraud_features(tx).items()}
            parts.append((feats, year[kept], fraud[kept]))
        self.names = list(parts[0][0]) if parts else []
        self.X = {n: np.concatenate([p[0][n] for p in parts]) for n in self.names}
        self.year = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
        self.fraud = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, bool)
        self.weight = np.where(self.fraud, 1.0, 1.0 / keep)
        ys = sorted(counts)
        self.years = np.array(ys, dtype=np.int64)
        self.year_rows = np.array([counts[y][0] for y in ys], dtype=np.int64)
        self.year_fraud = np.array([counts[y][1] for y in ys], dtype=np.int64)


def _years(timestamps: pa.ChunkedArray) -> np.ndarray:
    t = timestamps.cast(pa.int64()).to_numpy().astype("datetime64[s]")
    return t.astype("datetime64[Y]").astype(np.int64) + 1970


def _year_counts(year: np.ndarray, fraud: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ys, inv, n = np.unique(year, return_inverse=True, return_counts=True)
    return ys, n, np.bincount(inv, weights=fraud, minlength=ys.size).astype(np.int64)


def fraud_baseline(
    world: CardworldDataset, users: np.ndarray, *, seed: int, progress: Progress, lgb: Any
) -> dict[str, Any]:
    """LightGBM and the best single-column rule on the fraud of `users`, split by year (module doc)."""
    progress("baselines: fraud features")
    pos = world.index.positions(users)
    total = int(world.index.user_rows[pos[pos >= 0]].sum())
    keep = min(1.0, ROW_CAP / max(total, 1))
    rng = np.random.default_rng([seed, 1])
    rows = _FraudRows(world, users, keep, rng)
    head: dict[str, Any] = {"users": int(users.size), "users_total": int(world.n_users)}
    first_test = split_year(rows.years, rows.year_rows, rows.year_fraud)
    if first_test is None:
        return {**head, "skipped": _no_split_reason(rows.years, rows.year_fraud)}
    before = rows.years < first_test
    test = rows.year >= first_test
    train_genuine = int((~test & ~rows.fraud).sum())
    share = min(1.0, TRAIN_GENUINE / max(train_genuine, 1))
    train = ~test & (rows.fraud | (rng.random(test.size) < share))
    progress("baselines: fraud model")
    X = np.column_stack([rows.X[n] for n in rows.names])
    cat = [i for i, n in enumerate(rows.names) if n in ("mcc", "channel")]
    model = _train(
        lgb, X[train], rows.fraud[train], rows.names, {**FRAUD_PARAMS, "seed": seed}, FRAUD_ROUNDS, cat
    )
    y, w = rows.fraud[test], rows.weight[test]
    score = model.predict(X[test])
    rule = best_rule(
        {n: rows.X[n][train] for n in rows.names},
        rows.fraud[train],
        {n: rows.X[n][test] for n in rows.names},
        y,
        categorical=CATEGORICAL,
        test_weight=w,
    )
    train_years, test_years = _span(rows.years[before]), _span(rows.years[~before])
    genuine = share * keep  # of all the genuine training rows
    trained_on = "all rows" if genuine >= 1 else f"every fraud row and {genuine:.1%} of the genuine ones"
    sampled = "" if keep >= 1 else f"; genuine rows sampled at {keep:.1%} and weighted back"
    return {
        **head,
        "train_years": train_years,
        "test_years": test_years,
        "train_rows": int(rows.year_rows[before].sum()),
        "test_rows": int(rows.year_rows[~before].sum()),
        "train_fraud": int(rows.year_fraud[before].sum()),
        "test_fraud": int(rows.year_fraud[~before].sum()),
        "test_fraud_rate": _round(rows.year_fraud[~before].sum() / rows.year_rows[~before].sum()),
        **_scores(score, y, w),
        "top_features": _top_features(model, rows.names),
        "best_rule": _rounded(rule),
        "note": (
            f"LightGBM ({FRAUD_ROUNDS} rounds) on the card rows of {users.size:,} users, trained on "
            f"{train_years} ({trained_on}), tested on {test_years}{sampled}. Features: the row's own "
            "columns and its card's history before it. Recall at 1% FPR: "
            "the share of test fraud caught when 1% of the genuine test rows are flagged. The best single-"
            "column rule is chosen on the training rows and measured on the test rows."
            + _few(int(rows.year_fraud[~before].sum()), "test fraud rows", FEW_FRAUD)
        ),
    }


def default_baseline(
    path: str | os.PathLike, users: np.ndarray, *, seed: int, progress: Progress, lgb: Any
) -> dict[str, Any]:
    """LightGBM and the best single feature on 12-month PD samples of `users`, split by time."""
    from cardworld.labels.pd_features import FEATURES, pd_features
    from cardworld.labels.pd_samples import pd_samples
    from cardworld.report.credit import credit_state

    state = credit_state(path)
    if state != "on":
        return {"skipped": _NO_CREDIT[state]}
    progress("baselines: default samples")
    try:
        samples = pd_samples(path, horizon_months=PD_HORIZON, split="time")
    except InputError as e:
        return {"skipped": f"no default samples: {_plain(e)}"}
    samples = samples.filter(pc.is_in(samples["user_id"], pa.array(users.astype(np.int32))))
    test = np.array(samples["split"].to_pylist()) == "test"
    y = samples["label"].to_numpy().astype(bool)
    for name, side in (("training", ~test), ("test", test)):
        if not (y[side].any() and (~y[side]).any()):
            what = "defaults" if not y[side].any() else "non-defaults"
            return {"skipped": f"the sampled users' {name} samples hold no {what}"}
    feats = pd_features(path, samples)
    names = list(FEATURES)
    X = np.column_stack([feats[n].to_numpy(zero_copy_only=False).astype(np.float64) for n in names])
    progress("baselines: default model")
    leaf = max(20, round(PD_LEAF_SHARE * int((~test).sum())))
    params = {**PD_PARAMS, "seed": seed, "min_data_in_leaf": leaf}
    model = _train(lgb, X[~test], y[~test], names, params, PD_ROUNDS, [])
    score = model.predict(X[test])
    rule = best_rule({n: X[~test, i] for i, n in enumerate(names)}, y[~test],
                     {n: X[test, i] for i, n in enumerate(names)}, y[test])  # fmt: skip
    dates = samples["obs_date"].to_numpy(zero_copy_only=False)
    account = samples["account_id"].to_numpy()
    defaulting = [int(np.unique(account[side & y]).size) for side in (~test, test)]
    return {
        "users": int(np.unique(samples["user_id"].to_numpy()).size),
        "horizon_months": PD_HORIZON,
        "train_dates": _month_span(dates[~test]),
        "test_dates": _month_span(dates[test]),
        "samples": int(test.size),
        "train_rows": int((~test).sum()),
        "test_rows": int(test.sum()),
        "train_positives": int(y[~test].sum()),
        "test_positives": int(y[test].sum()),
        "train_default_accounts": defaulting[0],
        "test_default_accounts": defaulting[1],
        "test_default_rate": _round(y[test].mean()),
        **_scores(score, y[test], None),
        "top_features": _top_features(model, names),
        "best_rule": _rounded(rule),
        "note": (
            f"Probability of default within {PD_HORIZON} months (charged off or 90+ days past due), one "
            "sample per current credit account and month; trained on the earlier observation dates (label "
            "windows ending before the test dates), tested on the later ones. LightGBM on the accounts' "
            "statement and spending history; the best single feature is chosen on the training samples."
            + _few(min(defaulting), "defaulting accounts on a side")
        ),
    }


def _train(
    lgb: Any, X: np.ndarray, y: np.ndarray, names: list[str], params: dict, rounds: int, cat: list[int]
):
    data = lgb.Dataset(
        X, y.astype(np.float64), feature_name=names, categorical_feature=cat or "auto", params={"verbose": -1}
    )
    return lgb.train(params, data, rounds)


def _scores(score: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> dict[str, float | None]:
    return {
        "roc_auc": _round(roc_auc(score, y, w)),
        "pr_auc": _round(average_precision(score, y, w)),
        "recall_at_1pct_fpr": _round(recall_at_fpr(score, y, FPR, w)),
    }


def _top_features(model: Any, names: list[str]) -> list[list[Any]]:
    gain = np.asarray(model.feature_importance(importance_type="gain"), dtype=np.float64)
    share = gain / gain.sum() if gain.sum() > 0 else gain
    order = np.argsort(-share, kind="stable")[:TOP_FEATURES]
    return [[names[i], _round(share[i])] for i in order]


def _few(n: int, what: str, few: int = FEW_DEFAULTING) -> str:
    return f" Only {n:,} {what}: the figures are noisy." if n < few else ""


def _month_span(dates: np.ndarray) -> str:
    months = np.asarray(dates).astype("datetime64[M]")
    return f"{months.min()}..{months.max()}"


def _round(x: Any) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def _rounded(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: _round(v) if isinstance(v, float) else v for k, v in rule.items()}


def _plain(err: InputError) -> str:
    """The message without its interface-specific fix (the report is read in neither interface)."""
    return err.template.split(FIX)[0].rstrip(" ;:,") if err.fix is not None else str(err)


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError:
        raise InputError(
            'the report\'s baselines need lightgbm, which is not installed: pip install "cardworld[report]"'
        ) from None
    return lightgbm


__all__ = ["baselines", "default_baseline", "fraud_baseline", "sample_users", "split_year"]
