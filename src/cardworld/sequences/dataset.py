"""A map-style dataset of user transaction sequences with their synthetic targets, for torch DataLoaders.

    ds = TransactionDataset("out/world/transactions", specs, max_len=512)
    loader = DataLoader(ds, batch_size=64, num_workers=2, collate_fn=ds.collate_fn)
    for batch in loader:                      # PaddedBatch
        batch.payload["amount"], batch.targets, batch.seq_len_mask

One item is one user. Targets are computed on the user's FULL history, then the most recent `max_len`
rows are kept, so a truncated sequence keeps the target values of the real history (an expanding window
still counts the rows cut off). A whole batch of users goes through one compute_targets_batch call.

torch is imported inside methods only: importing this module does not need torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cardworld.errors import InputError
from cardworld.io.transactions import TransactionArrays, parquet_files, read_transactions
from cardworld.jit import kernel
from cardworld.sequences.batch import (
    LENGTH,
    TARGET_NAMES,
    TARGETS,
    USER_ID,
    collate_padded,
    mark_padded,
    padded_buffer,
)
from cardworld.targets import compile_plan, compute_targets_batch
from cardworld.targets.calendar import civil_date
from cardworld.targets.plan import TargetPlan
from cardworld.targets.spec import AnySpec

ROLES = ("user_id", "timestamp", "amount", "mcc")
ITEM_KEYS = (LENGTH, USER_ID, TARGETS, TARGET_NAMES)
# Sequence features of every item (mcc only when the source has MCCs), then any extra_features.
FEATURES = ("amount", "mcc", "time_delta", "hour", "weekday", "day_of_month", "month")


@kernel
def _row_features(
    time, amount, mcc, has_mcc, boff, keep, width, delta, amt, mcc_out, hour, weekday, dom, month
) -> None:
    """Features of the kept (last keep[u]) rows of each user u = rows boff[u]:boff[u+1].

    Written in padded layout: user u's j-th kept row goes to u * width + j; the rest of its width is 0.
    """
    for u in range(boff.size - 1):
        first, end = boff[u], boff[u + 1]
        o = u * width
        last_day = np.int64(-(2**62))
        wd = d = m = np.int64(0)
        for i in range(end - keep[u], end):
            t = time[i]
            # Seconds since the previous transaction of the full history (0 only for the user's first).
            delta[o] = 0.0 if i == first else np.float32(t - time[i - 1])
            amt[o] = amount[i]
            if has_mcc:
                mcc_out[o] = mcc[i]
            day = t // 86400
            hour[o] = (t - day * 86400) // 3600
            if day != last_day:  # civil date once per day
                last_day = day
                wd = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
                _, m, d = civil_date(day)
            weekday[o] = wd
            dom[o] = d
            month[o] = m
            o += 1
        for o in range(u * width + keep[u], (u + 1) * width):  # padding
            delta[o] = 0.0
            amt[o] = 0.0
            if has_mcc:
                mcc_out[o] = 0
            hour[o] = weekday[o] = dom[o] = month[o] = 0


@kernel
def _pad_rows(src, boff, keep, width, out) -> None:
    """out[u * width + j] = src row j of user u's kept (last keep[u]) rows; zeros after them."""
    for u in range(boff.size - 1):
        o = u * width
        for i in range(boff[u + 1] - keep[u], boff[u + 1]):
            out[o, :] = src[i, :]
            o += 1
        out[o : (u + 1) * width, :] = 0


class TransactionDataset:
    """Map-style dataset (torch DataLoader accepts it): item u is user u's sequence and targets.

    source: a Parquet file or directory (read once here, re-read lazily in each spawned worker: only the
    path is pickled), a TransactionArrays, or a dict of arrays keyed by the column names.
    specs: target specs (or a compiled plan); None for no targets. max_len: keep the most recent rows
    (None keeps all). columns: role -> column name, roles user_id, timestamp, amount, mcc, and any value
    column the specs read or extra feature (default: the role's own name). extra_features: more columns
    passed through as float32 sequence features.

    An item is a dict of tensors: amount (float32), mcc (int64; absent without an mcc column),
    time_delta (float32 seconds since the previous transaction of the full history, 0 for the first),
    hour, weekday (Monday = 0), day_of_month, month (int64, 1-based), extra features, targets (float32,
    (L, n_outputs)), length (int64 scalar), user_id (int64 scalar), and target_names (a tuple).
    """

    collate_fn = staticmethod(collate_padded)

    def __init__(
        self,
        source: str | os.PathLike | TransactionArrays | Mapping[str, np.ndarray],
        specs: AnySpec | Sequence[AnySpec] | TargetPlan | None,
        max_len: int | None = 4096,
        columns: Mapping[str, str] | None = None,
        *,
        extra_features: Sequence[str] = (),
    ) -> None:
        if max_len is not None and (
            isinstance(max_len, bool) or not isinstance(max_len, int | np.integer) or max_len < 1
        ):
            raise InputError(f"max_len is {max_len!r}; pass a positive number of rows, or None to keep all")
        self.max_len = None if max_len is None else int(max_len)
        self.plan: TargetPlan | None = None if specs is None else compile_plan(specs)  # type: ignore[arg-type]
        self.target_names: list[str] = [] if self.plan is None else list(self.plan.names)
        self._names = tuple(self.target_names)
        cols = dict(columns or {})
        self.columns = {r: cols.get(r, r) for r in ROLES}
        self.extra_features = list(extra_features)
        clash = [f for f in self.extra_features if f in (*FEATURES, *ITEM_KEYS)]
        if clash:
            raise InputError(
                f"extra feature {clash[0]!r} has the name of a built-in item entry; rename it with "
                f"columns={{'<new name>': {clash[0]!r}}} and extra_features=['<new name>']"
            )
        # Value columns the specs read (besides amount) and extra features: name -> source column.
        value_cols = [] if self.plan is None else self.plan.value_columns[1:]
        self._extra = {c: cols.get(c, c) for c in dict.fromkeys([*value_cols, *self.extra_features])}
        self._value_cols = value_cols
        uses_mcc = self.plan is not None and self.plan.uses_mcc

        self._path: str | None = None
        if isinstance(source, (str, os.PathLike)):
            self._path = os.fspath(source)
            parquet_files(self._path)  # fail now on a missing path
            arrays = self._read()
        elif isinstance(source, TransactionArrays):
            arrays = source
        elif isinstance(source, Mapping):
            arrays = self._from_mapping(source)
        else:
            raise InputError(
                f"source is a {type(source).__name__}; pass a Parquet path, a TransactionArrays, "
                "or a dict of arrays (user_id, timestamp, amount, mcc)"
            )
        if uses_mcc and arrays.mcc is None:
            raise InputError(
                f"the target specs filter on MCC but the source has no {self.columns['mcc']!r} column; "
                "pass columns={'mcc': <column name>}"
            )
        missing = [c for c in self._extra.values() if c not in arrays.extra]
        if missing:
            raise InputError(
                f"column {missing[0]!r} (a spec's value column or an extra feature) is not in the source's "
                f"extra arrays {sorted(arrays.extra)}; add it, or map it with columns={{...}}"
            )
        self._arrays: TransactionArrays | None = arrays
        self._n_users = arrays.n_users

    def _read(self) -> TransactionArrays:
        assert self._path is not None
        return read_transactions(
            self._path,
            user_col=self.columns["user_id"],
            time_col=self.columns["timestamp"],
            amount_col=self.columns["amount"],
            mcc_col=self.columns["mcc"],
            extra_columns=list(self._extra.values()),
            require_mcc=self.plan is not None and self.plan.uses_mcc,
        )

    def _from_mapping(self, source: Mapping[str, np.ndarray]) -> TransactionArrays:
        c = self.columns
        required = {c["user_id"]: "user_id", c["timestamp"]: "timestamp", c["amount"]: "amount"}
        required.update({src: name for name, src in self._extra.items()})
        for key, role in required.items():
            if key not in source:
                raise InputError(
                    f"the source dict has no {key!r} array (keys: {sorted(source)}); "
                    f"add it or map it with columns={{{role!r}: <key>}}"
                )
        return TransactionArrays.from_arrays(
            source[c["user_id"]],
            source[c["timestamp"]],
            source[c["amount"]],
            source.get(c["mcc"]),
            {src: source[src] for src in self._extra.values()},
        )

    @property
    def arrays(self) -> TransactionArrays:
        """The grouped transactions (read from the Parquet path on first use in a fresh process)."""
        if self._arrays is None:
            arrays = self._read()
            if arrays.n_users != self._n_users:
                raise InputError(
                    f"{self._path!r} now holds {arrays.n_users} users, not the {self._n_users} it held when "
                    "the dataset was built; do not rewrite the files while a DataLoader reads them"
                )
            self._arrays = arrays
        return self._arrays

    @property
    def feature_names(self) -> list[str]:
        """Sequence features of each item (the payload of a collated batch)."""
        base = [f for f in FEATURES if f != "mcc" or self.arrays.mcc is not None]
        return base + self.extra_features

    def _feature_dtypes(self) -> list[tuple[str, Any]]:
        import torch

        floats = ("amount", "time_delta", *self.extra_features)
        return [(f, torch.float32 if f in floats else torch.int64) for f in self.feature_names]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._path is not None:  # workers re-read the file instead of unpickling every array
            state["_arrays"] = None
        return state

    def __len__(self) -> int:
        return self._n_users

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Items of many users at once: their rows go through ONE compute_targets_batch call."""
        import torch
        from torch.utils.data import get_worker_info

        arr = self.arrays
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = arr.n_users
        if idx.size == 0:
            return []
        if idx.min() < -n or idx.max() >= n:
            bad = int(idx[(idx < -n) | (idx >= n)][0])
            raise IndexError(f"user index {bad} is out of range for a dataset of {n} users")
        idx = np.where(idx < 0, idx + n, idx)
        b = idx.size
        s, e = arr.offsets[idx], arr.offsets[idx + 1]
        full = e - s
        boff = np.zeros(b + 1, dtype=np.int64)
        np.cumsum(full, out=boff[1:])
        if (s[1:] == e[:-1]).all():  # consecutive users (sequential sampler): views, no copy

            def take(x: np.ndarray) -> np.ndarray:
                return x[s[0] : e[-1]]

        else:
            bounds = list(zip(s.tolist(), e.tolist(), strict=True))

            def take(x: np.ndarray) -> np.ndarray:
                return np.concatenate([x[lo:hi] for lo, hi in bounds])

        time, amount = take(arr.time), take(arr.amount)
        mcc = None if arr.mcc is None else take(arr.mcc)
        extra = {name: take(arr.extra[src]) for name, src in self._extra.items()}

        # Targets on the full histories, before truncation.
        n_rows = int(boff[-1])
        if self.plan is None:
            y = np.zeros((n_rows, 0), dtype=np.float32)
        else:
            values = {c: extra[c] for c in self._value_cols}
            y = compute_targets_batch(
                self.plan, time=time, amount=amount, mcc=mcc, offsets=boff, columns=values
            )

        keep = full if self.max_len is None else np.minimum(full, self.max_len)
        width = int(keep.max())
        # Every tensor is written once, already padded to (b, width): collate_padded hands these buffers
        # on without copying, and in a DataLoader worker they live in shared memory (no copy on transfer).
        shared = get_worker_info() is not None
        cols = {name: padded_buffer((b, width), dtype, shared) for name, dtype in self._feature_dtypes()}
        flat = {name: t.numpy().reshape(-1) for name, t in cols.items()}
        no_mcc = np.zeros(1, dtype=np.int64)
        _row_features(
            time,
            amount,
            no_mcc if mcc is None else mcc,
            mcc is not None,
            boff,
            keep,
            width,
            flat["time_delta"],
            flat["amount"],
            flat.get("mcc", no_mcc),
            flat["hour"],
            flat["weekday"],
            flat["day_of_month"],
            flat["month"],
        )
        for name in self.extra_features:
            src = np.asarray(extra[name], dtype=np.float32).reshape(-1, 1)
            _pad_rows(src, boff, keep, width, flat[name].reshape(-1, 1))
        n_out = y.shape[1]
        if not shared and (full == width).all():  # no padding, no truncation
            targets = mark_padded(torch.from_numpy(y.reshape(b, width, n_out)))  # already padded: no copy
        else:
            targets = padded_buffer((b, width, n_out), torch.float32, shared)
            _pad_rows(y, boff, keep, width, targets.numpy().reshape(b * width, n_out))

        views = {name: t.unbind(0) for name, t in cols.items()}
        views[TARGETS] = targets.unbind(0)
        lens_t = torch.from_numpy(keep.astype(np.int64))
        users_t = torch.from_numpy(arr.user_ids[idx])
        lens = keep.tolist()
        items = []
        for u in range(b):
            n_u = lens[u]
            if n_u == width:
                item = {name: v[u] for name, v in views.items()}
            else:
                item = {name: v[u][:n_u] for name, v in views.items()}
            item[LENGTH] = lens_t[u]
            item[USER_ID] = users_t[u]
            item[TARGET_NAMES] = self._names
            items.append(item)
        return items


__all__ = ["FEATURES", "ITEM_KEYS", "ROLES", "TransactionDataset"]
