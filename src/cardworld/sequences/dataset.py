"""A map-style dataset of user transaction sequences with their synthetic targets and labels, for torch
DataLoaders.

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

With `target_positions=` (sparse targets) targets are computed only at some rows of each kept sequence
(sequences.positions), through compute_targets_batch(at=...), with the dense values at those rows.

A cardworld dataset directory is read lazily, user by user (sequences.lazy; batch_sampler for cheap
random batches); other Parquet sources are read whole. torch is imported inside methods only: importing
this module does not need torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from cardworld.dates import SECONDS_PER_DAY, SECONDS_PER_HOUR, civil_date
from cardworld.errors import InputError
from cardworld.io.transactions import TransactionArrays
from cardworld.jit import kernel
from cardworld.sequences.batch import (
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
    mark_padded,
    padded_buffer,
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
    from_mapping,
    load_parquet,
    load_samples,
    resolve_columns,
)
from cardworld.targets import compile_plan, compute_targets_batch
from cardworld.targets.plan import TargetPlan
from cardworld.targets.spec import AnySpec

ITEM_KEYS = (
    LENGTH,
    USER_ID,
    TARGETS,
    TARGET_NAMES,
    LABELS,
    LABEL_NAMES,
    SAMPLE_INDEX,
    OBS_DATE,
    TARGET_POSITIONS,
)
SAMPLE_LABEL = "label"  # label_names of a dataset over samples
# Sequence features of every item (mcc only when the source has MCCs), then any extra_features.
FEATURES = ("amount", "mcc", "time_delta", "hour", "weekday", "day_of_month", "month")


@kernel
def _row_features(
    time, amount, mcc, has_mcc, boff, stop, keep, width, delta, amt, mcc_out, hour, weekday, dom, month
) -> None:
    """Features of the kept rows of each item u: the last keep[u] before stop[u] of its rows boff[u]:...

    Written in padded layout: item u's j-th kept row goes to u * width + j; the rest of its width is 0.
    """
    for u in range(boff.size - 1):
        first, end = boff[u], stop[u]
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
            day = t // SECONDS_PER_DAY
            hour[o] = (t - day * SECONDS_PER_DAY) // SECONDS_PER_HOUR
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
def _pad_rows(src, stop, keep, width, out) -> None:
    """out[u * width + j] = src row j of item u's kept rows (the last keep[u] before stop[u]); zeros after."""
    for u in range(stop.size):
        o = u * width
        for i in range(stop[u] - keep[u], stop[u]):
            out[o, :] = src[i, :]
            o += 1
        out[o : (u + 1) * width, :] = 0


@kernel
def _cut_rows(time, offsets, pos, cut, out) -> None:
    """out[i] = the first row of user pos[i] at or after time cut[i] (its rows end there if none is)."""
    for i in range(pos.size):
        lo, hi = offsets[pos[i]], offsets[pos[i] + 1]
        out[i] = lo + np.searchsorted(time[lo:hi], cut[i])


def _kept_rows(stop: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The flat rows stop[u]-keep[u] .. stop[u]-1 of every item, ascending."""
    first = np.repeat(stop - keep, keep)
    return first + (np.arange(int(keep.sum()), dtype=np.int64) - np.repeat(np.cumsum(keep) - keep, keep))


class _Layout(NamedTuple):
    """Where a batch's rows go: item u's rows boff[u]:boff[u+1] (its full history), of which the last
    keep[u] before stop[u] are kept and written to row u of a (B, width) buffer, zero-padded."""

    boff: np.ndarray
    stop: np.ndarray
    keep: np.ndarray
    width: int
    whole: bool  # every user keeps all its rows and none is padded
    shared: bool  # in a DataLoader worker: write straight into shared memory

    @property
    def b(self) -> int:
        return int(self.keep.size)


class _Rows(NamedTuple):
    """The concatenated full-history rows of a batch's users."""

    time: np.ndarray
    amount: np.ndarray
    mcc: np.ndarray | None
    extra: dict[str, np.ndarray]  # source column -> values


def _positions(indices: Sequence[int], n: int, what: str = "user") -> np.ndarray:
    """Item positions 0..n-1 (negative indices count from the end)."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx[(idx < -n) | (idx >= n)][0])
        raise IndexError(f"{what} index {bad} is out of range for a dataset of {n} {what}s")
    return np.where(idx < 0, idx + n, idx)


def _gatherer(s: np.ndarray, e: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function concatenating rows s[i]:e[i] of a column over the batch."""
    if (s[1:] == e[:-1]).all():  # consecutive users (sequential sampler): views, no copy
        return lambda x: x[s[0] : e[-1]]
    bounds = list(zip(s.tolist(), e.tolist(), strict=True))
    return lambda x: np.concatenate([x[lo:hi] for lo, hi in bounds])


def _pad_matrix(values: np.ndarray, lay: _Layout) -> Any:
    """(B, width, k) float32 tensor of per-row values (n_rows, k) of the full histories, kept rows only."""
    import torch

    b, k = lay.b, values.shape[1]
    if lay.whole and not lay.shared:  # no padding, no truncation: already in padded layout, no copy
        return mark_padded(torch.from_numpy(values.reshape(b, lay.width, k)))
    out = padded_buffer((b, lay.width, k), torch.float32, lay.shared)
    _pad_rows(values, lay.stop, lay.keep, lay.width, out.numpy().reshape(b * lay.width, k))
    return out


def _check_max_len(max_len: Any) -> int | None:
    if max_len is not None and (
        isinstance(max_len, bool) or not isinstance(max_len, int | np.integer) or max_len < 1
    ):
        raise InputError(f"max_len is {max_len!r}; pass a positive number of rows, or None to keep all")
    return None if max_len is None else int(max_len)


def _name_list(keyword: str, names: Any, example: str) -> list[str]:
    """A list of column names; refuses a bare string (it would be read letter by letter)."""
    if names is None:
        return []
    if isinstance(names, str | bytes) or not isinstance(names, Iterable):
        raise InputError(f"{keyword} is {names!r}; pass a list of column names, e.g. {keyword}=[{example!r}]")
    names = list(names)
    bad = [x for x in names if not isinstance(x, str)]
    if bad:
        raise InputError(f"{keyword} holds {bad[0]!r}, not a column name; pass a list of strings")
    return names


def _sample_positions(user_ids: np.ndarray, samples: Samples) -> np.ndarray:
    """The user position of every sample (user_ids: the source's, ascending)."""
    pos = np.searchsorted(user_ids, samples.user_id)
    found = pos < user_ids.size
    found[found] = user_ids[pos[found]] == samples.user_id[found]
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        raise InputError(
            f"{samples.where} row {i} names user_id {int(samples.user_id[i])}, who has no transactions in "
            "the source; pass the transactions the samples were made from, or drop that row"
        )
    return pos.astype(np.int64)


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

    Targets are computed into a float32 buffer each process keeps and reuses (out=, no page faults on
    fresh memory), then copied into the batch's tensors (a batch never aliases it), except when the
    batch's rows are its padded layout: then they are computed straight into the batch tensor.
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
        self.max_len = _check_max_len(max_len)
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
        row_labels = _name_list("labels", labels, "is_fraud")  # per-row label columns of the source
        self._names = tuple(self.target_names)
        self._label_names = (SAMPLE_LABEL,) if self._samples is not None else tuple(row_labels)
        self.label_names: list[str] = list(self._label_names)
        self.extra_features = _name_list("extra_features", extra_features, "balance")
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
            self._sample_pos = _sample_positions(self.user_ids, self._samples)

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
            idx = _positions(indices, self._n_users)
        else:
            idx = _positions(indices, len(self._samples), "sample")
        if idx.size == 0:
            return []
        arr, pos = self._gather(idx if self._samples is None else self._sample_pos[idx])
        s, e = arr.offsets[pos], arr.offsets[pos + 1]
        stop = e
        if self._samples is not None:
            stop = np.empty(idx.size, dtype=np.int64)
            _cut_rows(arr.time, arr.offsets, pos, self._samples.obs_day[idx] * SECONDS_PER_DAY, stop)
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
        lay = _Layout(boff, boff[:-1] + before, keep, width, whole, get_worker_info() is not None)
        take = _gatherer(s, e)
        mcc = None if arr.mcc is None else take(arr.mcc)
        extra = {src: take(arr.extra[src]) for src in self._cols.extra_columns}
        rows = _Rows(take(arr.time), take(arr.amount), mcc, extra)
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
            tensors[LABELS] = _pad_matrix(self._labels(rows), lay)
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

    def _features(self, rows: _Rows, lay: _Layout) -> dict[str, Any]:
        """The payload tensors, (B, width) each, of the kept rows."""
        cols = {
            name: padded_buffer((lay.b, lay.width), dt, lay.shared) for name, dt in self._feature_dtypes()
        }
        flat = {name: t.numpy().reshape(-1) for name, t in cols.items()}
        no_mcc = np.zeros(1, dtype=np.int64)
        _row_features(
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
            _pad_rows(values, lay.stop, lay.keep, lay.width, flat[name].reshape(-1, 1))
        return cols

    def _compute(
        self, rows: _Rows, boff: np.ndarray, out: np.ndarray, at: np.ndarray | None = None
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

    def _dense_targets(self, rows: _Rows, lay: _Layout) -> Any:
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
        at = _kept_rows(lay.stop, lay.keep)
        vals = self._compute(rows, lay.boff, self._scratch.get(at.size, k), at=at)
        _pad_rows(vals, np.cumsum(lay.keep), lay.keep, lay.width, flat)
        return out

    def _positions(self, rows: _Rows, lay: _Layout, idx: np.ndarray, users: np.ndarray) -> Positions:
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

    def _sparse_targets(self, rows: _Rows, lay: _Layout, where: Positions) -> tuple[Any, Any]:
        """(targets (B, P, n_outputs) float32, positions (B, P) int64), zero-padded to the most positions P."""
        import torch

        counts = where.counts
        most = int(counts.max())
        ends = np.cumsum(counts)
        positions = padded_buffer((lay.b, most), torch.int64, lay.shared)
        _pad_rows(where.rel.reshape(-1, 1), ends, counts, most, positions.numpy().reshape(lay.b * most, 1))
        k = len(self.target_names)
        out = padded_buffer((lay.b, most, k), torch.float32, lay.shared)
        flat = out.numpy().reshape(lay.b * most, k)
        if self.plan is None:
            return out, positions
        if (counts == most).all():  # no padding: straight into the batch tensor
            self._compute(rows, lay.boff, flat, at=where.at)
        else:  # into the reused buffer, then copied out (see _dense_targets)
            vals = self._compute(rows, lay.boff, self._scratch.get(where.at.size, k), at=where.at)
            _pad_rows(vals, ends, counts, most, flat)
        return out, positions

    def _labels(self, rows: _Rows) -> np.ndarray:
        out = np.empty((rows.time.size, len(self._label_names)), dtype=np.float32)
        for j, src in enumerate(self._cols.labels.values()):
            out[:, j] = rows.extra[src]  # a bool label becomes 0.0 / 1.0
        return out

    def _items(
        self, tensors: dict[str, Any], lay: _Layout, user_ids: np.ndarray, counts: np.ndarray | None
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
