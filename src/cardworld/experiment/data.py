"""A world's transactions in memory, as the experiment reads them: one sorted array per column, users in
CSR order, the per-row model inputs (inputs.py) and the labels.

    world = load_world("out/world", test_from="2019-01-01")
    world.users, world.offsets            # user u's rows are offsets[u]:offsets[u + 1], by time
    world.time < world.test_from          # the rows pre-training and fine-tuning may see

Nothing here reads fraudster_id or any debugging truth: only what a bank would have at each row (the row's
columns) and the labels (is_fraud).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.codes import ONLINE_CITY, USE_CHIP
from cardworld.data.geography import STATES
from cardworld.dates import SECONDS_PER_DAY
from cardworld.errors import InputError
from cardworld.io.reader import open as open_dataset
from cardworld.labels.observation import TEST_FROM_FIX, to_day
from cardworld.report.fraud_features import FEATURE_COLUMNS

#: What the experiment reads: the fraud baseline's feature columns and the label.
COLUMNS = (*FEATURE_COLUMNS, "is_fraud")


@dataclass(frozen=True, eq=False)
class World:
    """Every transaction of a world, sorted by (user, time); `offsets` are the users' CSR bounds."""

    path: str
    users: np.ndarray  # int64 (U,), ascending
    offsets: np.ndarray  # int64 (U + 1,)
    user: np.ndarray  # int64 (n,)
    card: np.ndarray  # int64 (n,): user_id * 1000 + card_id, one key per card
    time: np.ndarray  # int64 (n,): seconds since 1970
    amount: np.ndarray  # float64 (n,)
    mcc: np.ndarray  # int64 (n,)
    channel: np.ndarray  # int64 (n,): index into USE_CHIP (swipe, chip, online)
    foreign: np.ndarray  # float32 (n,): a merchant abroad (not online)
    has_errors: np.ndarray  # float32 (n,): the row records a decline reason
    fraud: np.ndarray  # bool (n,)
    test_from: int  # seconds: rows at or after it are the test period
    table: pa.Table  # the COLUMNS, rows in the same order (for the LightGBM features)

    @property
    def n_rows(self) -> int:
        return int(self.time.size)

    @property
    def before_test(self) -> np.ndarray:
        return self.time < self.test_from

    def user_of_rows(self) -> np.ndarray:
        """Position (0..U-1) of each row's user."""
        return np.repeat(np.arange(self.users.size), np.diff(self.offsets))


def load_world(path: str | os.PathLike, test_from: object) -> World:
    """Read the transactions of the dataset directory `path`; `test_from` (YYYY-MM-DD) starts the test period."""
    ds = open_dataset(path)
    tx = ds.transactions().to_table(columns=list(COLUMNS))
    if tx.num_rows == 0:
        raise InputError(f"{os.fspath(path)!r} has no transactions; generate a world with some consumers")
    t = tx["timestamp"].cast(pa.int64()).to_numpy()
    user = tx["user_id"].to_numpy().astype(np.int64)
    order = np.lexsort((t, user))
    tx, t, user = tx.take(pa.array(order)), t[order], user[order]
    start = to_day(test_from, "test_from", TEST_FROM_FIX) * SECONDS_PER_DAY
    if not (t.min() < start <= t.max()):
        first, last = (np.array([t.min(), t.max()]) // SECONDS_PER_DAY).astype("datetime64[D]")
        raise InputError(
            f"test_from {test_from} is outside the world's transactions ({first} to {last}); pass a date "
            "inside it, so that both a training and a test period have rows"
        )
    users, first_row = np.unique(user, return_index=True)
    offsets = np.append(first_row, user.size).astype(np.int64)
    chip = pc.cast(tx["use_chip"], pa.string())
    state = tx["merchant_state"]
    foreign = pc.and_(pc.is_valid(state), pc.invert(pc.is_in(state, pa.array(STATES))))
    foreign = pc.and_(foreign, pc.not_equal(tx["merchant_city"], ONLINE_CITY))
    return World(
        path=os.fspath(path),
        users=users.astype(np.int64),
        offsets=offsets,
        user=user,
        card=user * 1000 + tx["card_id"].to_numpy().astype(np.int64),
        time=t,
        amount=tx["amount"].to_numpy().astype(np.float64),
        mcc=tx["mcc"].to_numpy().astype(np.int64),
        channel=pc.fill_null(pc.index_in(chip, pa.array(USE_CHIP)), 0).to_numpy().astype(np.int64),
        foreign=pc.fill_null(foreign, False).to_numpy(zero_copy_only=False).astype(np.float32),
        has_errors=pc.is_valid(tx["errors"]).to_numpy(zero_copy_only=False).astype(np.float32),
        fraud=tx["is_fraud"].to_numpy(zero_copy_only=False).astype(bool),
        test_from=start,
        table=tx,
    )


def log_gap(world: World) -> np.ndarray:
    """log1p(seconds since the user's previous row), 0 on a user's first row (float32)."""
    gap = np.zeros(world.n_rows, dtype=np.float64)
    gap[1:] = np.diff(world.time)
    gap[world.offsets[:-1]] = 0.0
    return np.log1p(np.maximum(gap, 0.0)).astype(np.float32)
