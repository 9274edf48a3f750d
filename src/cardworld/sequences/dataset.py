"""A map-style dataset of user sequences with their synthetic targets and labels, for torch DataLoaders.

    ds = TransactionDataset("out/world", specs, max_len=512, labels=["is_fraud"])  # a dataset directory
    loader = DataLoader(ds, batch_size=64, num_workers=2, collate_fn=ds.collate_fn)
    for batch in loader:                      # PaddedBatch
        batch.payload["amount"], batch.targets, batch.labels, batch.seq_len_mask

One item is one user. Targets are computed on the user's FULL history, then the most recent `max_len`
rows are kept, so a truncated sequence keeps the target values of the real history (an expanding window
still counts the rows cut off). A whole batch of users goes through one compute_targets_batch call,
evaluated at the kept rows only (at=...): rows cut off are read by the windows but cost no evaluation.
Three kinds of arrays are kept apart: the payload (model inputs), targets and labels; targets and labels
never enter the payload.

With `samples=` (a table of user_id, obs_date, label: e.g. cardworld.labels.pd_samples), one item is one
sample row instead: the user's transactions before obs_date 00:00 (the last `max_len` of them), with the
sample's label as batch.labels (B, 1).

A cardworld dataset directory is read lazily (sequences.lazy; batch_sampler for cheap random batches);
other Parquet sources are read whole. torch is imported inside methods only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cardworld.dates import SECONDS_PER_DAY
from cardworld.errors import InputError
from cardworld.io.transactions import TransactionArrays
from cardworld.sequences.batch import (
    ITEM_KEYS,
    LABEL_NAMES,
    LABELS,
    LENGTH,
    OBS_DATE,
    SAMPLE_INDEX,
    TARGET_NAMES,
    TARGET_POSITIONS,
    TARGETS,
    USER_ID,
    collate_padded,
    padded_buffer,
)
from cardworld.sequences.layout import (
    Layout,
    Rows,
    cut_rows,
    gatherer,
    item_positions,
    kept_rows,
    pad_matrix,
    pad_rows,
    row_features,
)
from cardworld.sequences.lazy import CACHE_ROWS, LazySource, is_dataset_dir
from cardworld.sequences.positions import PERIOD_END, Positions, batch_positions, check_seed, parse_positions
from cardworld.sequences.sampler import BlockBatchSampler
from cardworld.sequences.scratch import Scratch
from cardworld.sequences.source import (
    ROLES,
    Samples,
    SourceColumns,
    check_arrays,
    check_max_len,
    from_mapping,
    load_parquet,
    load_samples,
    name_list,
    resolve_columns,
    sample_positions,
)
from cardworld.targets import compile_plan, compute_targets_batch
from cardworld.targets.plan import TargetPlan
from cardworld.targets.spec import AnySpec

SAMPLE_LABEL = "label"  # label_names of a dataset over samples
# Sequence features of every item (mcc only when the source has MCCs), then any extra_features.
FEATURES = ("amount", "mcc", "time_delta", "hour", "weekday", "day_of_month", "month")


class TransactionDataset:
    """Map-style dataset (torch DataLoader accepts it): item u is user u's sequence, targets and labels.

    source: a cardworld dataset directory (one with a manifest.json: its transactions), read lazily
    (below); a Parquet file or a directory of them, read whole here and re-read in each spawned worker
    (only the path is pickled); or a TransactionArrays, or a dict of arrays keyed by the column names.
    specs: target specs (or a compiled plan); None for no targets. max_len: keep the most recent rows
    (None keeps all). columns: role -> column name, roles user_id, timestamp, amount, mcc, and any value
    column the specs read, extra feature or label (default: the role's own name). extra_features: more
    columns passed through as float32 sequence features (model inputs). labels: columns given as
    per-row labels (e.g. ["is_fraud"]), never in the payload; a label cannot also be an extra feature.

    An item is a dict of tensors: amount (float32), mcc (int64; absent without an mcc column),
    time_delta (float32 seconds since the previous transaction of the full history, 0 for the first),
    hour, weekday (Monday = 0), day_of_month, month (int64, 1-based), extra features, targets (float32,
    (L, n_outputs)), labels (float32, (L, n_labels) in label_names order: a bool column gives 0.0/1.0,
    what BCE losses expect), length (int64 scalar), user_id (int64 scalar), and target_names and
    label_names (tuples). Labels are the source's values on the kept rows (no computation on the history).

    samples: a pyarrow Table, or the path of a .parquet / .csv file, with user_id, obs_date and label
    columns (others, such as account_id and split, are ignored: filter the table first to keep one
    split), e.g. cardworld.labels.pd_samples(...). Then item i is sample row i: the user's transactions
    with timestamp < obs_date 00:00, the last max_len of them; its labels entry is the sample's label,
    float32 of shape (1,) (label_names ("label",); a batch's labels are (B, 1)), and it carries
    sample_index (the row, int64) and obs_date (int64 days since 1970-01-01). A user with no transaction
    before obs_date gives an empty sequence (length 0, all padding) with its label: a model must accept
    that (e.g. learn from the empty sequence) or the table must be filtered. A sample whose user has no
    transactions in the source at all is an error naming its row. Targets are computed on the user's
    full history (as without samples) and cut like the payload; labels=[...] cannot be combined with
    samples (the sample's label is the label).

    Lazy reading (a dataset directory): the constructor reads only the part files' footers (the user
    index: len(), user_ids and the order of users need no rows); a batch reads only the row groups
    holding its users (row groups hold whole users), through a per-process cache of at most
    `cache_rows` decoded rows, so a DataLoader worker holds one batch plus the cache, not the dataset;
    pickling ships the path and the index. Items are exactly those of reading everything. Values are
    checked as they are read: a null or NaN raises when its batch is read, naming the file and row.
    For random access, batch_sampler(...) draws each batch from a few row groups (pass it to the
    DataLoader as batch_sampler); DataLoader(ds, shuffle=True) works too, reading a row group per user.
    `arrays` reads every transaction (eager).

    target_positions (sparse targets; default None: targets at every kept row): targets only at some
    rows, positions in the item's KEPT sequence (after max_len and a samples cut; 0 = its first kept row).
    Targets are still computed on the full history, one compute_targets_batch(at=...) call per batch, and
    equal the dense targets at those rows. Forms:
      "period_end:<unit>" (day, week, month, quarter, year): kept rows that are the last transaction of a
        calendar period of the user's FULL history (cardworld.targets.period_end_mask), where 'full' and
        'expanding' windows agree; over samples, the last row before obs_date is one only if the user has
        no later row in its period.
      "every:N": every N-th row counted from the END: rows L-1, L-1-N, ... (the last row, "now", is always
        one; a position then means the same "N rows before now" whatever the length).
      "random:K": K distinct rows (all of them when fewer), ascending, drawn from the item's own stream
        (rng.stream of positions_seed, keyed by epoch and the user id; over samples, the user id and
        obs_day): the same item gets the same positions in every worker, batch order and run. They are
        fixed per item; set `ds.epoch = e` before an epoch to re-draw (workers see it when they start, so
        not with persistent_workers=True).
      a callable f(time, length) -> row indices: time is int64 seconds of the item's kept rows (read-only),
        length = len(time); it returns distinct integers in 0..length-1 (sorted here; anything else is an
        InputError naming the item). Spawned workers pickle it: use a module-level function.
    An item then carries target_positions (int64 (p,)) and targets float32 (p, n_outputs); a batch has
    target_positions and target_mask (B, P) and targets (B, P, n_outputs), P its most positions
    (PaddedBatch). Labels stay per row.

    Targets go into a float32 buffer each process reuses (out=), then are copied into the batch's tensors
    (never aliased), or straight into the batch tensor when its rows are already its padded layout.
    """

    collate_fn = staticmethod(collate_padded)

    def __init__(
        self,
        source: str | os.PathLike | TransactionArrays | Mapping[str, np.ndarray],
        specs: AnySpec | Sequence[AnySpec] | TargetPlan | None = None,
        max_len: int | None = 4096,
        columns: Mapping[str, str] | None = None,
        *,
        extra_features: Sequence[str] = (),
        labels: Sequence[str] = (),
        samples: Any = None,
        cache_rows: int = CACHE_ROWS,
        target_positions: str | Callable[[np.ndarray, int], Any] | None = None,
        positions_seed: int = 0,
    ) -> None:
        self.max_len = check_max_len(max_len)
        self._rule = parse_positions(target_positions)
        self.positions_seed = check_seed("positions_seed", positions_seed)
        self._epoch = 0
        self._scratch = Scratch()  # compute_targets_batch(out=): one buffer per process, reused
        self._samples: Samples | None = None if samples is None else load_samples(samples)
        if self._samples is not None and labels:
            raise InputError(
                "labels=[...] and samples= do not combine: with samples each item's label is its sample's "
                "(batch.labels holds one value per sequence); drop labels, or drop samples for per-row labels"
            )
        self.plan: TargetPlan | None = None if specs is None else compile_plan(specs)  # type: ignore[arg-type]
        self.target_names: list[str] = [] if self.plan is None else list(self.plan.names)
        row_labels = name_list("labels", labels, "is_fraud")  # per-row label columns of the source
        self._names = tuple(self.target_names)
        self._label_names = (SAMPLE_LABEL,) if self._samples is not None else tuple(row_labels)
        self.label_names: list[str] = list(self._label_names)
        self.extra_features = name_list("extra_features", extra_features, "balance")
        clash = [f for f in self.extra_features if f in (*FEATURES, *ITEM_KEYS)]
        if clash:
            raise InputError(
                f"extra feature {clash[0]!r} has the name of a built-in item entry; rename it with "
                f"columns={{'<new name>': {clash[0]!r}}} and extra_features=['<new name>']"
            )
        uses_mcc = self.plan is not None and self.plan.uses_mcc
        self._value_cols = [] if self.plan is None else self.plan.value_columns[1:]
        self._cols: SourceColumns = resolve_columns(
            columns or {}, self._value_cols, self.extra_features, row_labels, uses_mcc
        )
        self.columns = dict(self._cols.roles)

        self._path: str | None = None
        self._lazy: LazySource | None = None
        arrays: TransactionArrays | None = None
        if isinstance(source, (str, os.PathLike)):
            self._path = os.fspath(source)
            if is_dataset_dir(self._path) and self._cols.roles["user_id"] == "user_id":  # the index's column
                self._lazy = LazySource(self._path, self._cols, cache_rows)
            else:
                arrays = self._read()
        elif isinstance(source, TransactionArrays):
            check_arrays(source, self._cols)
            arrays = source
        elif isinstance(source, Mapping):
            arrays = from_mapping(source, self._cols)
        else:
            raise InputError(
                f"source is a {type(source).__name__}; pass a Parquet path, a TransactionArrays, "
                "or a dict of arrays (user_id, timestamp, amount, mcc)"
            )
        if self._lazy is not None:
            self._has_mcc = self._lazy.has_mcc
        else:
            assert arrays is not None
            self._has_mcc = arrays.mcc is not None
        if uses_mcc and not self._has_mcc:
            raise InputError(
                f"the target specs filter on MCC but the source has no {self.columns['mcc']!r} column; "
                "pass columns={'mcc': <column name>}"
            )
        self._arrays = arrays
        self._n_users = len(self.user_ids)
        if self._samples is not None:
            self._sample_pos = sample_positions(self.user_ids, self._samples)

    @property
    def epoch(self) -> int:
        """Part of the seed of random target positions (0 unless set): set it before each epoch to re-draw
        them; other positions do not depend on it."""
        return self._epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch = check_seed("epoch", value)

    @property
    def sparse(self) -> bool:
        """True when targets are computed at target_positions only (items carry target_positions)."""
        return self._rule is not None

    def _read(self) -> TransactionArrays:
        assert self._path is not None
        return load_parquet(self._path, self._cols)

    @property
    def user_ids(self) -> np.ndarray:
        """The id of each user (item u of a dataset without samples is user user_ids[u]), ascending."""
        if self._lazy is not None:
            return self._lazy.index.user_ids
        return self.arrays.user_ids

    @property
    def arrays(self) -> TransactionArrays:
        """Every transaction, grouped (read from the path on first use in a fresh process; over a
        dataset directory this reads all of them: batches never need it)."""
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
        base = [f for f in FEATURES if f != "mcc" or self._has_mcc]
        return base + self.extra_features

    def _feature_dtypes(self) -> list[tuple[str, Any]]:
        import torch

        floats = ("amount", "time_delta", *self.extra_features)
        return [(f, torch.float32 if f in floats else torch.int64) for f in self.feature_names]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._path is not None:  # workers re-read the file (or read lazily) instead of unpickling rows
            state["_arrays"] = None
        return state

    def __len__(self) -> int:
        return self._n_users if self._samples is None else len(self._samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Items of many users (or samples) at once: their rows go through ONE compute_targets_batch call."""
        from torch.utils.data import get_worker_info

        if self._samples is None:
            idx = item_positions(indices, self._n_users)
        else:
            idx = item_positions(indices, len(self._samples), "sample")
        if idx.size == 0:
            return []
        arr, pos = self._gather(idx if self._samples is None else self._sample_pos[idx])
        s, e = arr.offsets[pos], arr.offsets[pos + 1]
        stop = e
        if self._samples is not None:
            stop = np.empty(idx.size, dtype=np.int64)
            cut_rows(arr.time, arr.offsets, pos, self._samples.obs_day[idx] * SECONDS_PER_DAY, stop)
            period_ends = self._rule is not None and self._rule.kind == PERIOD_END
            if self.plan is None and not period_ends:  # targets and period ends need the full history
                e = stop
        full = e - s
        boff = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(full, out=boff[1:])
        before = stop - s
        keep = before if self.max_len is None else np.minimum(before, self.max_len)
        width = int(keep.max())
        whole = bool((full == width).all() and (keep == width).all())
        lay = Layout(boff, boff[:-1] + before, keep, width, whole, get_worker_info() is not None)
        take = gatherer(s, e)
        mcc = None if arr.mcc is None else take(arr.mcc)
        extra = {src: take(arr.extra[src]) for src in self._cols.extra_columns}
        rows = Rows(take(arr.time), take(arr.amount), mcc, extra)
        # Every tensor is written once, already padded to (b, width): collate_padded hands these buffers
        # on without copying, and in a DataLoader worker they live in shared memory (no copy on transfer).
        tensors = self._features(rows, lay)
        users = arr.user_ids[pos]
        counts = None
        if self._rule is None:
            tensors[TARGETS] = self._dense_targets(rows, lay)  # on the full histories
        else:
            where = self._positions(rows, lay, idx, users)
            tensors[TARGETS], tensors[TARGET_POSITIONS] = self._sparse_targets(rows, lay, where)
            counts = where.counts
        if self._samples is None:
            tensors[LABELS] = pad_matrix(self._labels(rows), lay)
        items = self._items(tensors, lay, users, counts)
        if self._samples is not None:
            self._add_sample_entries(items, idx)
        return items

    def _gather(self, pos: np.ndarray) -> tuple[TransactionArrays, np.ndarray]:
        """Arrays holding the users at positions `pos`, and where each lies in them."""
        if self._lazy is not None:
            return self._lazy.gather(pos)
        return self.arrays, pos

    def batch_sampler(
        self,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        window: int = 4,
        num_workers: int = 0,
    ) -> BlockBatchSampler:
        """Batches for DataLoader(ds, batch_sampler=...) drawn from `window` row groups at a time (a block
        shuffle, see cardworld.sequences.sampler), so a batch reads few row groups; pass the DataLoader's
        num_workers so each worker reads its own row groups. Over a Parquet file or arrays (no row
        groups to spare) it is a plain shuffle."""
        if self._lazy is None:
            blocks = np.zeros(len(self), dtype=np.int64)
        else:
            user_block = self._lazy.index.user_group
            blocks = user_block if self._samples is None else user_block[self._sample_pos]
        return BlockBatchSampler(
            blocks,
            batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
            window=window,
            num_workers=num_workers,
        )

    def _add_sample_entries(self, items: list[dict[str, Any]], idx: np.ndarray) -> None:
        """Each sample item's label (shape (1,)), row in the samples table and observation day."""
        import torch

        assert self._samples is not None
        labels = torch.from_numpy(self._samples.label[idx].reshape(-1, 1)).unbind(0)
        rows = torch.from_numpy(idx.astype(np.int64)).unbind(0)
        days = torch.from_numpy(self._samples.obs_day[idx]).unbind(0)
        for item, label, row, day in zip(items, labels, rows, days, strict=True):
            item[LABELS], item[SAMPLE_INDEX], item[OBS_DATE] = label, row, day

    def _features(self, rows: Rows, lay: Layout) -> dict[str, Any]:
        """The payload tensors, (B, width) each, of the kept rows."""
        cols = {
            name: padded_buffer((lay.b, lay.width), dt, lay.shared) for name, dt in self._feature_dtypes()
        }
        flat = {name: t.numpy().reshape(-1) for name, t in cols.items()}
        no_mcc = np.zeros(1, dtype=np.int64)
        row_features(
            rows.time,
            rows.amount,
            no_mcc if rows.mcc is None else rows.mcc,
            rows.mcc is not None,
            lay.boff,
            lay.stop,
            lay.keep,
            lay.width,
            flat["time_delta"],
            flat["amount"],
            flat.get("mcc", no_mcc),
            flat["hour"],
            flat["weekday"],
            flat["day_of_month"],
            flat["month"],
        )
        for name, src in self._cols.features.items():
            values = np.asarray(rows.extra[src], dtype=np.float32).reshape(-1, 1)
            pad_rows(values, lay.stop, lay.keep, lay.width, flat[name].reshape(-1, 1))
        return cols

    def _compute(
        self, rows: Rows, boff: np.ndarray, out: np.ndarray, at: np.ndarray | None = None
    ) -> np.ndarray:
        """Targets of the full histories (at rows `at` only, if given), written into `out`."""
        assert self.plan is not None
        values = {c: rows.extra[self._cols.values[c]] for c in self._value_cols}
        return compute_targets_batch(
            self.plan,
            time=rows.time,
            amount=rows.amount,
            mcc=rows.mcc,
            offsets=boff,
            columns=values,
            at=at,
            out=out,
        )

    def _dense_targets(self, rows: Rows, lay: Layout) -> Any:
        """(B, width, n_outputs) float32: every kept row's targets."""
        import torch

        k = len(self.target_names)
        out = padded_buffer((lay.b, lay.width, k), torch.float32, lay.shared)
        flat = out.numpy().reshape(lay.b * lay.width, k)
        if self.plan is None:
            return out  # no outputs: nothing to write
        if lay.whole:  # the batch's rows are already its padded layout: straight into the batch tensor
            self._compute(rows, lay.boff, flat)
            return out
        # Evaluated at the kept rows only (a truncated history costs only its kept rows; the values are
        # the dense ones), into this process's reused buffer, then copied out: the batch never aliases
        # the buffer, which the next batch overwrites.
        at = kept_rows(lay.stop, lay.keep)
        vals = self._compute(rows, lay.boff, self._scratch.get(at.size, k), at=at)
        pad_rows(vals, np.cumsum(lay.keep), lay.keep, lay.width, flat)
        return out

    def _positions(self, rows: Rows, lay: Layout, idx: np.ndarray, users: np.ndarray) -> Positions:
        """Each item's target positions; random ones are seeded by (positions_seed, epoch, user id) or,
        over samples, (..., user id, obs_day): the item's identity, whatever the worker or batch."""
        assert self._rule is not None
        uids = users.tolist()
        if self._samples is None:
            keys = [(u,) for u in uids]

            def names(u: int) -> str:
                return f"user {uids[u]}"
        else:
            keys = list(zip(uids, self._samples.obs_day[idx].tolist(), strict=True))

            def names(u: int) -> str:
                return f"sample {int(idx[u])} (user {uids[u]})"

        return batch_positions(
            self._rule,
            rows.time,
            lay.boff,
            lay.stop,
            lay.keep,
            seed=self.positions_seed,
            epoch=self._epoch,
            keys=keys,
            names=names,
        )

    def _sparse_targets(self, rows: Rows, lay: Layout, where: Positions) -> tuple[Any, Any]:
        """(targets (B, P, n_outputs) float32, positions (B, P) int64), zero-padded to the most positions P."""
        import torch

        counts = where.counts
        most = int(counts.max())
        ends = np.cumsum(counts)
        positions = padded_buffer((lay.b, most), torch.int64, lay.shared)
        pad_rows(where.rel.reshape(-1, 1), ends, counts, most, positions.numpy().reshape(lay.b * most, 1))
        k = len(self.target_names)
        out = padded_buffer((lay.b, most, k), torch.float32, lay.shared)
        flat = out.numpy().reshape(lay.b * most, k)
        if self.plan is None:
            return out, positions
        if (counts == most).all():  # no padding: straight into the batch tensor
            self._compute(rows, lay.boff, flat, at=where.at)
        else:  # into the reused buffer, then copied out (see _dense_targets)
            vals = self._compute(rows, lay.boff, self._scratch.get(where.at.size, k), at=where.at)
            pad_rows(vals, ends, counts, most, flat)
        return out, positions

    def _labels(self, rows: Rows) -> np.ndarray:
        out = np.empty((rows.time.size, len(self._label_names)), dtype=np.float32)
        for j, src in enumerate(self._cols.labels.values()):
            out[:, j] = rows.extra[src]  # a bool label becomes 0.0 / 1.0
        return out

    def _items(
        self, tensors: dict[str, Any], lay: Layout, user_ids: np.ndarray, counts: np.ndarray | None
    ) -> list[dict[str, Any]]:
        """One dict per user of views into the padded (B, width, ...) tensors, trimmed to its length (and
        sparse targets, (B, P, ...), to its number of positions counts[u])."""
        import torch

        by_pos = (TARGETS, TARGET_POSITIONS) if counts is not None else ()
        views = {name: t.unbind(0) for name, t in tensors.items() if name not in by_pos}
        pos_views = {name: tensors[name].unbind(0) for name in by_pos}
        n_pos = [0] * lay.b if counts is None else counts.tolist()
        lens_t = torch.from_numpy(lay.keep.astype(np.int64))
        users_t = torch.from_numpy(user_ids)
        items = []
        for u, n_u in enumerate(lay.keep.tolist()):
            item = {name: v[u] if n_u == lay.width else v[u][:n_u] for name, v in views.items()}
            for name, v in pos_views.items():
                item[name] = v[u][: n_pos[u]]
            item[LENGTH] = lens_t[u]
            item[USER_ID] = users_t[u]
            item[TARGET_NAMES] = self._names
            item[LABEL_NAMES] = self._label_names
            items.append(item)
        return items


__all__ = ["FEATURES", "ITEM_KEYS", "ROLES", "TransactionDataset"]
