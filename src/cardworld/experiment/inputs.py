"""What the encoder reads of a row, one definition for every route into it: TransactionDataset sources
(pre-training, fine-tuning) and CoLES's feature dicts (coles.py).

The row inputs are the dataset's own payload (amount, mcc, hour, weekday) plus four extra features:
log_gap (log1p seconds since the user's previous row, on the real history, so a window cut out of a
sequence keeps its first gap), channel (swipe, chip, online), foreign, has_errors and card (the
user's card number: fraud is per card). No label, no
fraudster_id, no target.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cardworld.dates import SECONDS_PER_DAY, SECONDS_PER_HOUR
from cardworld.experiment.data import World, log_gap
from cardworld.io.transactions import TransactionArrays

#: Extra features passed to TransactionDataset (float32 payload entries).
EXTRA = ("log_gap", "channel", "foreign", "has_errors", "card")
#: Payload entries the encoder reads.
INPUTS = ("amount", "mcc", "hour", "weekday", *EXTRA)
#: A 0/1 value column for targets that count online rows (not a model input).
ONLINE = "online"


def row_columns(world: World) -> dict[str, np.ndarray]:
    """The extra columns of every row of `world` (EXTRA, and ONLINE for the targets)."""
    return {
        "log_gap": log_gap(world),
        "channel": world.channel.astype(np.float32),
        "foreign": world.foreign,
        "has_errors": world.has_errors,
        "card": (world.card % 1000).astype(np.float32),
        ONLINE: (world.channel == 2).astype(np.float64),
    }


def arrays(
    world: World,
    columns: Mapping[str, np.ndarray],
    rows: np.ndarray,
    bounds: np.ndarray,
    ids: np.ndarray | None = None,
    *,
    fraud_label: bool = False,
) -> TransactionArrays:
    """A TransactionDataset source of the rows `rows` (sequence k is rows[bounds[k]:bounds[k + 1]], each by
    time), with ids `ids` (default 0..K-1); the fraud label as extra column is_fraud only when asked (fraud
    fine-tuning), so no other source can hand it to a target spec."""
    k = bounds.size - 1
    extra = {name: np.ascontiguousarray(col[rows]) for name, col in columns.items()}
    if fraud_label:
        extra["is_fraud"] = world.fraud[rows]
    return TransactionArrays(
        user_ids=np.arange(k, dtype=np.int64) if ids is None else ids.astype(np.int64),
        time=world.time[rows],
        amount=world.amount[rows],
        mcc=world.mcc[rows],
        offsets=bounds.astype(np.int64),
        extra=extra,
    )


def feature_dict(world: World, columns: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The encoder inputs of `rows` as TransactionDataset's payload has them (same dtypes and formulas)."""
    t = world.time[rows]
    day = t // SECONDS_PER_DAY
    out = {
        "amount": world.amount[rows].astype(np.float32),
        "mcc": world.mcc[rows].astype(np.int64),
        "hour": ((t - day * SECONDS_PER_DAY) // SECONDS_PER_HOUR).astype(np.int64),
        "weekday": ((day + 3) % 7).astype(np.int64),  # 1970-01-01 was a Thursday; Monday = 0
    }
    out.update({name: np.asarray(columns[name][rows], dtype=np.float32) for name in EXTRA})
    return out
