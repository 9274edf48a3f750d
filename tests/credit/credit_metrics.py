"""ROC-AUC helpers for the credit tests: rank-based (ties share their mean rank), NaN as its own value."""

from __future__ import annotations

import numpy as np


def roc_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties counting one half (Mann-Whitney U)."""
    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both positives and negatives")
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    mean_rank = upper - (counts - 1) / 2.0  # 1-based mean rank of each distinct value
    ranks = mean_rank[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


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
