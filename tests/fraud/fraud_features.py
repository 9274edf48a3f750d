"""Features and rules for the fraud learnability test: per-card history features, best single-column rules."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FPR = 0.01


def card_features(tx: pa.Table) -> dict[str, np.ndarray]:
    """Per-row features from the row and its card's earlier rows only (causal), in the table's row order:
    amount, log seconds since the card's last row, amount over the card's mean so far, hours away from the
    card's mean hour so far, rows on the card in the last hour and day, first use of the merchant, MCC
    and city on the card, and rows on the card so far."""
    user = tx["user_id"].to_numpy().astype(np.int64)
    card = user * 100_000 + tx["card_id"].to_numpy().astype(np.int64)
    t = tx["timestamp"].cast(pa.int64()).to_numpy()
    city = pc.fill_null(pc.dictionary_encode(tx["merchant_city"]).combine_chunks().indices, -1).to_numpy()
    o = np.lexsort((t, card))  # by card, then time
    c, ts = card[o], t[o]
    a = tx["amount"].to_numpy()[o]
    hour = ((ts // 3600) % 24).astype(float)
    start = np.r_[True, c[1:] != c[:-1]]
    grp = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    before = np.arange(c.size) - first[grp]  # rows earlier on the card

    def mean_before(x: np.ndarray) -> np.ndarray:
        cs = np.cumsum(x) - x  # sum of earlier rows (all cards) ...
        return np.where(before > 0, (cs - cs[first][grp]) / np.maximum(before, 1), np.nan)  # ... on this card

    key = c * 10**11 + ts
    feats = {
        "amount": a,
        "log_gap": np.where(start, -1.0, np.log1p(np.maximum(ts - np.r_[ts[0], ts[:-1]], 0))),
        "amount_vs_card_mean": np.abs(a) / np.maximum(mean_before(np.abs(a)), 1.0),
        "hour_dev": np.abs(hour - mean_before(hour)),
        "rows_last_hour": (np.arange(c.size) - np.searchsorted(key, key - 3600)).astype(float),
        "rows_last_24h": (np.arange(c.size) - np.searchsorted(key, key - 86400)).astype(float),
        "new_merchant": _first_seen(c, tx["merchant_id"].to_numpy()[o], ts).astype(float),
        "new_mcc": _first_seen(c, tx["mcc"].to_numpy()[o], ts).astype(float),
        "new_city": _first_seen(c, city[o], ts).astype(float),
        "card_rows_so_far": before.astype(float),
    }
    inv = np.empty_like(o)
    inv[o] = np.arange(o.size)
    return {k: v[inv] for k, v in feats.items()}


def _first_seen(card: np.ndarray, value: np.ndarray, t: np.ndarray) -> np.ndarray:
    """True where (card, value) appears for the first time (rows sorted by card, then time)."""
    o = np.lexsort((t, value, card))
    cv = np.stack([card[o], value[o]])
    first = np.r_[True, np.any(cv[:, 1:] != cv[:, :-1], axis=0)]
    out = np.empty(card.size, dtype=bool)
    out[o] = first
    return out


def recall_at_fpr(score: np.ndarray, fraud: np.ndarray, fpr: float = FPR) -> float:
    """Share of fraud scored above the genuine rows' (1 - fpr) quantile."""
    thr = np.quantile(score[~fraud], 1.0 - fpr)
    return float((score[fraud] > thr).mean())


def best_category_rule(values: np.ndarray, fraud: np.ndarray, fpr: float = FPR) -> float:
    """Recall of the best set of categories whose genuine share stays within fpr: categories are taken
    greedily by fraud-to-genuine ratio (the optimal order for a knapsack of shares, up to one item)."""
    cats, inv = np.unique(values, return_inverse=True)
    g = np.bincount(inv[~fraud], minlength=cats.size) / max((~fraud).sum(), 1)
    f = np.bincount(inv[fraud], minlength=cats.size) / max(fraud.sum(), 1)
    order = np.argsort(-(f / np.maximum(g, 1e-12)))
    caught = used = 0.0
    for i in order:
        if used + g[i] <= fpr:
            used += g[i]
            caught += f[i]
    return float(caught)
