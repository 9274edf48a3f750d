"""Classifier metrics in numpy only (no sklearn): ROC-AUC, average precision, recall at a false-positive rate,
and the best single-column rule, for the report's baselines and the learnability tests.

Every metric takes optional row weights, so that a uniform sample of the negatives, each weighted by the
inverse of its sampling rate, gives the figures of the full set (precision depends on the class ratio).
Ties are handled exactly: rows with the same score are flagged together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The false-positive rate recall is measured at (1% of the genuine rows flagged).
FPR = 0.01
_EPS = 1e-12  # float slack when a cumulative weight share is compared with a rate


@dataclass(frozen=True)
class _Curve:
    """Distinct scores in descending order, the positive and negative weight at each, and both cumulated."""

    scores: np.ndarray
    tp: np.ndarray  # positive weight with score >= scores[i]
    fp: np.ndarray  # negative weight with score >= scores[i]
    pos: np.ndarray  # positive weight at exactly scores[i]
    neg: np.ndarray

    @property
    def n_pos(self) -> float:
        return float(self.tp[-1])

    @property
    def n_neg(self) -> float:
        return float(self.fp[-1])


def _curve(score: np.ndarray, positive: np.ndarray, weight: np.ndarray | None) -> _Curve:
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError(f"score and positive must be 1-d arrays of one length, not {s.shape} and {y.shape}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN: fill missing values first")
    w = np.ones(s.size) if weight is None else np.asarray(weight, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    new = np.r_[True, s[1:] != s[:-1]] if s.size else np.zeros(0, dtype=bool)
    group = np.cumsum(new) - 1
    pos = np.bincount(group, weights=w * y, minlength=int(new.sum()))
    neg = np.bincount(group, weights=w * ~y, minlength=int(new.sum()))
    curve = _Curve(s[new], np.cumsum(pos), np.cumsum(neg), pos, neg)
    if s.size == 0 or curve.n_pos <= 0 or curve.n_neg <= 0:
        raise ValueError("the metric needs both positives and negatives")
    return curve


def roc_auc(score: np.ndarray, positive: np.ndarray, weight: np.ndarray | None = None) -> float:
    """P(a random positive scores above a random negative), ties counting one half (Mann-Whitney U)."""
    c = _curve(score, positive, weight)
    below = c.n_neg - c.fp  # negative weight strictly below each distinct score
    return float(np.sum(c.pos * (below + 0.5 * c.neg)) / (c.n_pos * c.n_neg))


def average_precision(score: np.ndarray, positive: np.ndarray, weight: np.ndarray | None = None) -> float:
    """PR-AUC as average precision: the precision at each distinct threshold, weighted by the recall it
    adds (a step function, no interpolation; sklearn's average_precision_score)."""
    c = _curve(score, positive, weight)
    return float(np.sum(c.pos / c.n_pos * c.tp / (c.tp + c.fp)))


def threshold_at_fpr(
    score: np.ndarray, positive: np.ndarray, fpr: float = FPR, weight: np.ndarray | None = None
) -> float:
    """The lowest threshold t whose rule `score >= t` flags at most `fpr` of the negatives (inf: none)."""
    c = _curve(score, positive, weight)
    ok = np.flatnonzero(c.fp <= fpr * c.n_neg + _EPS)
    return float(c.scores[ok[-1]]) if ok.size else float("inf")


def rates_at(
    score: np.ndarray, positive: np.ndarray, threshold: float, weight: np.ndarray | None = None
) -> tuple[float, float]:
    """(recall, false-positive rate) of the rule `score >= threshold`."""
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    w = np.ones(s.size) if weight is None else np.asarray(weight, dtype=np.float64)
    flag = s >= threshold
    n_pos, n_neg = w[y].sum(), w[~y].sum()
    if n_pos <= 0 or n_neg <= 0:
        raise ValueError("the metric needs both positives and negatives")
    return float(w[flag & y].sum() / n_pos), float(w[flag & ~y].sum() / n_neg)


def recall_at_fpr(
    score: np.ndarray, positive: np.ndarray, fpr: float = FPR, weight: np.ndarray | None = None
) -> float:
    """The recall of the best rule `score >= t` that flags at most `fpr` of the negatives."""
    return rates_at(score, positive, threshold_at_fpr(score, positive, fpr, weight), weight)[0]


def single_column_auc(values: np.ndarray, positive: np.ndarray) -> float:
    """The best AUC of one numeric column used as a score, either sign, with NaN (missing) placed at
    either end: how well a threshold rule on that column alone separates positives."""
    x = np.asarray(values, dtype=np.float64)
    nan = np.isnan(x)
    if not nan.any():
        a = roc_auc(x, positive)
        return max(a, 1.0 - a)
    lo, hi = (np.nanmin(x) - 1.0, np.nanmax(x) + 1.0) if (~nan).any() else (0.0, 0.0)
    best = 0.0
    for fill in (lo, hi):
        a = roc_auc(np.where(nan, fill, x), positive)
        best = max(best, a, 1.0 - a)
    return best


def category_auc(values: np.ndarray, positive: np.ndarray) -> float:
    """AUC of a categorical column scored by each category's positive rate (either sign): the best a
    rule on that column alone can do, measured on the same rows (optimistic)."""
    _, inverse = np.unique(np.asarray(values), return_inverse=True)
    positive = np.asarray(positive, dtype=bool)
    rate = np.bincount(inverse, weights=positive) / np.bincount(inverse)
    a = roc_auc(rate[inverse], positive)
    return max(a, 1.0 - a)


# --- the best single-column rule: chosen on training rows, measured on test rows ---


@dataclass(frozen=True)
class _Scorer:
    """One column turned into a score: sign and NaN fill (numeric), or each category's training rate."""

    direction: str  # "higher" | "lower" | "categories"
    nan_fill: float = 0.0
    categories: np.ndarray | None = None
    rates: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.categories is not None and self.rates is not None:
            if self.categories.size == 0:
                return np.full(x.size, -1.0)
            at = np.clip(np.searchsorted(self.categories, x), 0, self.categories.size - 1)
            return np.where(self.categories[at] == x, self.rates[at], -1.0)  # unseen: never flagged
        s = x if self.direction == "higher" else -x
        return np.where(np.isnan(s), self.nan_fill, s)


def _scorers(x: np.ndarray, y: np.ndarray, categorical: bool) -> list[_Scorer]:
    if categorical:
        cats, inv = np.unique(x, return_inverse=True)
        rates = np.bincount(inv, weights=y, minlength=cats.size) / np.bincount(inv, minlength=cats.size)
        return [_Scorer("categories", categories=cats, rates=rates)]
    nan = np.isnan(x)
    if nan.all():
        return []
    span = np.nanmax(np.abs(x)) + 1.0
    fills = (-span, span) if nan.any() else (-span,)
    return [_Scorer(d, nan_fill=f) for d in ("higher", "lower") for f in fills]


def _rule_text(name: str, scorer: _Scorer, threshold: float) -> str:
    if scorer.categories is not None and scorer.rates is not None:
        n = int((scorer.rates >= threshold).sum()) if np.isfinite(threshold) else 0
        return f"{name} in the {n} values with the highest training fraud rate"
    if not np.isfinite(threshold):
        return f"{name}: no threshold keeps false positives within the rate"
    cut = threshold if scorer.direction == "higher" else -threshold
    text = f"{name} {'>=' if scorer.direction == 'higher' else '<='} {cut:.6g}"
    return text + (" or missing" if scorer.nan_fill > 0 else "")


def best_rule(
    train: dict[str, np.ndarray],
    y_train: np.ndarray,
    test: dict[str, np.ndarray],
    y_test: np.ndarray,
    *,
    categorical: frozenset[str] = frozenset(),
    test_weight: np.ndarray | None = None,
    fpr: float = FPR,
) -> dict:
    """The best one-column rule: for each column (numeric: a threshold, either sign, missing values at
    either end; `categorical`: the values with the highest training positive rate) the direction and the
    threshold that flags `fpr` of the training negatives are chosen on TRAIN; the column whose rule has the
    highest training recall (then training AUC) wins, and is measured on TEST: its AUC, its recall and its
    false-positive rate there. Returns {"feature", "direction", "rule", "roc_auc", "recall_at_1pct_fpr",
    "test_fpr", "train_recall"} (None values when no column gives a score)."""
    y_train = np.asarray(y_train, dtype=bool)
    best: tuple[tuple[float, float], str, _Scorer, float] | None = None
    for name, x in train.items():
        for scorer in _scorers(np.asarray(x, dtype=np.float64), y_train, name in categorical):
            s = scorer(np.asarray(x, dtype=np.float64))
            thr = threshold_at_fpr(s, y_train, fpr)
            key = (rates_at(s, y_train, thr)[0], roc_auc(s, y_train))
            if best is None or key > best[0]:
                best = (key, name, scorer, thr)
    if best is None:
        return {"feature": None, "direction": None, "rule": None, "roc_auc": None,
                "recall_at_1pct_fpr": None, "test_fpr": None, "train_recall": None}  # fmt: skip
    (train_recall, _), name, scorer, thr = best
    s = scorer(np.asarray(test[name], dtype=np.float64))
    recall, false_pos = rates_at(s, y_test, thr, test_weight)
    return {
        "feature": name,
        "direction": scorer.direction,
        "rule": _rule_text(name, scorer, thr),
        "roc_auc": roc_auc(s, y_test, test_weight),
        "recall_at_1pct_fpr": recall,
        "test_fpr": false_pos,
        "train_recall": train_recall,
    }
