"""Per-transaction fraud features: the row's own columns, and causal history features of its card (from the
card's earlier rows only), for the report's fraud baseline and the fraud learnability test.

    feats = fraud_features(tx)     # {name: float array}, in the table's row order
    card_features(tx)              # the history features alone
    plain_features(tx)             # the row's own columns

A card is (user_id, card_id), so a table must hold each user's rows whole (any order): a user's rows split
between two tables would lose their history. Rows are features only: nothing here reads the labels.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.codes import ONLINE_CITY, USE_CHIP
from cardworld.data.geography import STATES
from cardworld.report.metrics import FPR, recall_at_fpr

#: The transaction columns the features read.
FEATURE_COLUMNS = (
    "user_id",
    "card_id",
    "timestamp",
    "amount",
    "use_chip",
    "merchant_id",
    "merchant_city",
    "merchant_state",
    "mcc",
    "errors",
)
#: Channel codes of the `channel` feature.
CHANNELS = USE_CHIP
#: Features that are categories (codes), not quantities.
CATEGORICAL = frozenset({"channel", "mcc", "hour", "weekday"})
_THURSDAY = 3  # 1970-01-01, day 0, was a Thursday (Monday = 0)


def fraud_features(tx: pa.Table) -> dict[str, np.ndarray]:
    """The row's own columns (plain_features) and its card's history (card_features, less the amount)."""
    history = card_features(tx)
    del history["amount"]
    return {**plain_features(tx), **history}


def plain_features(tx: pa.Table) -> dict[str, np.ndarray]:
    """amount, hour and weekday (Monday 0) of the local timestamp, channel (a code into CHANNELS), MCC,
    foreign merchant (merchant_state holds a country, not a US state; online rows are not foreign) and
    has errors (a decline reason is recorded)."""
    t = tx["timestamp"].cast(pa.int64()).to_numpy()
    chip = pc.cast(tx["use_chip"], pa.string())
    state = tx["merchant_state"]
    foreign = pc.and_(pc.is_valid(state), pc.invert(pc.is_in(state, pa.array(STATES))))
    foreign = pc.and_(foreign, pc.not_equal(tx["merchant_city"], ONLINE_CITY))
    return {
        "amount": tx["amount"].to_numpy().astype(np.float64),
        "hour": ((t // 3600) % 24).astype(np.float64),
        "weekday": ((t // 86400 + _THURSDAY) % 7).astype(np.float64),
        "channel": pc.fill_null(pc.index_in(chip, pa.array(CHANNELS)), -1).to_numpy().astype(np.float64),
        "mcc": tx["mcc"].to_numpy().astype(np.float64),
        "foreign": pc.fill_null(foreign, False).to_numpy(zero_copy_only=False).astype(np.float64),
        "has_errors": pc.is_valid(tx["errors"]).to_numpy(zero_copy_only=False).astype(np.float64),
    }


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
    start = np.r_[True, c[1:] != c[:-1]] if c.size else np.zeros(0, dtype=bool)
    grp = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    before = np.arange(c.size) - first[grp]  # rows earlier on the card

    def mean_before(x: np.ndarray) -> np.ndarray:
        cs = np.cumsum(x) - x  # sum of earlier rows (all cards) ...
        return np.where(before > 0, (cs - cs[first][grp]) / np.maximum(before, 1), np.nan)  # ... on this card

    key = c * 10**11 + ts
    previous = np.r_[ts[:1], ts[:-1]]
    feats = {
        "amount": a,
        "log_gap": np.where(start, -1.0, np.log1p(np.maximum(ts - previous, 0))),
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
    first = np.r_[True, np.any(cv[:, 1:] != cv[:, :-1], axis=0)] if card.size else np.zeros(0, dtype=bool)
    out = np.empty(card.size, dtype=bool)
    out[o] = first
    return out


def best_category_rule(values: np.ndarray, fraud: np.ndarray, fpr: float = FPR) -> float:
    """Recall of the best set of categories whose genuine share stays within fpr, chosen and measured on
    the same rows (optimistic): categories are taken greedily by fraud-to-genuine ratio (the optimal order
    for a knapsack of shares, up to one item)."""
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


__all__ = [
    "CATEGORICAL",
    "CHANNELS",
    "FEATURE_COLUMNS",
    "FPR",
    "best_category_rule",
    "card_features",
    "fraud_features",
    "plain_features",
    "recall_at_fpr",
]
