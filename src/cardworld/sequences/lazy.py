"""TransactionDataset's lazy source: a cardworld dataset directory, read user by user.

The index (cardworld.io.row_groups.UserIndex, from the part files' footers) says where each user's rows
are. A batch reads only the row groups holding its users, through a per-process cache of decoded row
groups bounded by rows, so a DataLoader worker holds a batch plus the cache, never the dataset. Pickling
ships the path and the index only; a fresh (or forked) process starts with an empty cache.

Values are checked as they are read (a null, a NaN amount, an MCC out of range: errors naming the file
and row), types and columns up front from the footers.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cardworld.errors import InputError
from cardworld.io.dataset import MANIFEST, list_shards
from cardworld.io.row_groups import MAX_GROUP_ROWS, UserIndex, read_footers
from cardworld.io.transactions import MAX_ABS_SECONDS, MCC_MAX, TransactionArrays
from cardworld.sequences.source import SourceColumns, check_schemas

#: Rows of decoded row groups a process keeps (8 full row groups: a block-shuffle window and the next).
CACHE_ROWS = 8 * MAX_GROUP_ROWS
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_MCC_DTYPES = (np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.int64))
_Group = dict[str, np.ndarray]  # source column -> values of one row group


def is_dataset_dir(path: str | os.PathLike) -> bool:
    """A cardworld dataset directory (one with a manifest.json)."""
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_time(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_integer(t)


def _is_value(t: pa.DataType) -> bool:
    return _is_number(t) or pa.types.is_boolean(t)


class LazySource:
    """The transactions of a dataset directory, gathered user by user (see the module doc)."""

    def __init__(self, directory: str, cols: SourceColumns, cache_rows: int = CACHE_ROWS) -> None:
        files = list_shards(directory)
        metas = read_footers(files)
        schemas = {f: m.schema.to_arrow_schema() for f, m in zip(files, metas, strict=True)}
        self.has_mcc = check_schemas({f: s.names for f, s in schemas.items()}, cols)
        self.index = UserIndex.from_footers(files, metas)
        if not self.index.ordered:
            raise InputError(
                f"the part files of {directory!r} do not hold increasing, disjoint user id ranges; they were "
                "changed after writing: re-run the dataset"
            )
        self.cols = cols
        r = cols.roles
        mcc = [r["mcc"]] if self.has_mcc else []
        self._read = list(dict.fromkeys([r["timestamp"], r["amount"], *mcc, *cols.extra_columns]))
        for f, schema in schemas.items():
            self._check_types(f, schema)
        self.cache_rows = int(cache_rows)
        self._reset()

    def _reset(self) -> None:
        """An empty cache and counters: at creation and in each new process."""
        self._pid = os.getpid()
        self._cache: OrderedDict[int, _Group] = OrderedDict()
        self._cached_rows = 0
        self._handles: OrderedDict[int, pq.ParquetFile] = OrderedDict()
        self.groups_read: list[int] = []  # global row groups decoded by this process, in order
        self.rows_read = 0

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_pid", "_cache", "_cached_rows", "_handles", "groups_read", "rows_read"):
            state.pop(key)  # per-process state: a new process starts afresh (_reset)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def _check_types(self, path: Path, schema: pa.Schema) -> None:
        r, where = self.cols.roles, f"file {str(path)!r}"
        kinds = {
            r["timestamp"]: ("a timestamp or integer seconds", _is_time),
            r["amount"]: ("numeric", _is_number),
            r["mcc"]: ("integer merchant category codes", pa.types.is_integer),
        }
        for c in self._read:
            kind, ok = kinds.get(c, ("numeric or boolean", _is_value))
            t = schema.field(c).type
            if not ok(t):
                raise InputError(f"{where}: column {c!r} has type {t}; it must be {kind}")

    # --- gathering a batch ---

    def gather(self, positions: np.ndarray) -> tuple[TransactionArrays, np.ndarray]:
        """The full histories of the users at these positions (in position order, each once), and where
        each requested position lies among them."""
        if os.getpid() != self._pid:  # a forked DataLoader worker: its own cache, file handles, counters
            self._reset()
        idx = self.index
        upos = np.unique(positions)
        groups = {int(g): self._group(int(g)) for g in idx.groups(upos)}
        pieces: list[tuple[int, int, int]] = []  # (group, first row, end row) within the group
        for u in upos.tolist():
            lo, hi = int(idx.user_start[u]), int(idx.user_start[u] + idx.user_rows[u])
            for g in range(int(idx.user_group[u]), int(idx.user_group_end[u])):
                g0 = int(idx.group_start[g])
                pieces.append((g, max(lo, g0) - g0, min(hi, g0 + int(idx.group_rows[g])) - g0))

        def take(c: str) -> np.ndarray:
            parts = [groups[g][c][a:b] for g, a, b in pieces]
            return parts[0] if len(parts) == 1 else np.concatenate(parts)

        offsets = np.zeros(upos.size + 1, dtype=np.int64)
        np.cumsum(idx.user_rows[upos], out=offsets[1:])
        r = self.cols.roles
        time, amount = take(r["timestamp"]), take(r["amount"])
        mcc = take(r["mcc"]) if self.has_mcc else None
        extra = {c: take(c) for c in self.cols.extra_columns}
        arrays = TransactionArrays(idx.user_ids[upos], time, amount, mcc, offsets, extra)
        return _time_sorted(arrays), np.searchsorted(upos, positions)

    def _group(self, g: int) -> _Group:
        """Global row group g decoded (from the cache, or read and cached)."""
        if g in self._cache:
            self._cache.move_to_end(g)
            return self._cache[g]
        idx = self.index
        f = int(idx.group_file[g])
        table = self._handle(f).read_row_group(int(idx.group_number[g]), columns=self._read)
        values = self._decode(table, idx.files[f], int(idx.group_start[g]))
        self.groups_read.append(g)
        self.rows_read += table.num_rows
        self._cache[g] = values
        self._cached_rows += table.num_rows
        while self._cached_rows > self.cache_rows and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_rows -= next(iter(old.values())).size
        return values

    def _handle(self, f: int) -> pq.ParquetFile:
        """An open part file (a few kept open); checked against the index when first opened here."""
        if f in self._handles:
            self._handles.move_to_end(f)
            return self._handles[f]
        idx = self.index
        path = idx.files[f]
        try:
            handle = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"file {path!r} could not be opened ({e}); it is missing or damaged") from e
        md = handle.metadata
        want = idx.group_rows[idx.group_file == f].tolist()
        if [md.row_group(i).num_rows for i in range(md.num_row_groups)] != want:
            raise InputError(
                f"{path!r} no longer has the row groups it had when the dataset was built ({len(want)} groups, "
                f"{sum(want)} rows); do not rewrite the files while a DataLoader reads them"
            )
        self._handles[f] = handle
        if len(self._handles) > 8:
            self._handles.popitem(last=False)
        return handle

    def _decode(self, table: pa.Table, path: str, row0: int) -> _Group:
        """Numpy columns of a row group, checked; errors name the file and its row (row0: the group's
        first row in the file)."""
        r, where = self.cols.roles, f"file {path!r}"
        out: _Group = {}
        for c in self._read:
            col = table.column(c)
            if col.null_count:
                i = row0 + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
                raise InputError(
                    f"{where}: column {c!r} is null at row {i}; drop or fill missing values first"
                )
            name = f"{where}: column {c!r}"
            if c == r["timestamp"]:
                out[c] = _seconds(col, name, row0)
            elif c == r["amount"]:
                out[c] = col.cast(pa.float64()).to_numpy()
            elif c == r["mcc"] and self.has_mcc:
                out[c] = _mcc(col.to_numpy(), name, row0, self.cols.require_mcc)
            else:
                out[c] = _values(col)
            if c == r["amount"] or c in self.cols.values.values():  # spec value columns: finite
                _check_finite(out[c], name, row0)
        return out


def _values(col: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_decimal(col.type):
        col = col.cast(pa.float64())
    return col.to_numpy(zero_copy_only=False)


def _seconds(col: pa.ChunkedArray, name: str, row0: int) -> np.ndarray:
    if pa.types.is_timestamp(col.type):
        if col.type.tz is not None:  # targets use naive wall-clock time
            col = pc.local_timestamp(col)
        return col.cast(pa.int64()).to_numpy() // _PER_SECOND[col.type.unit]
    t = col.to_numpy().astype(np.int64, copy=False)
    bad = np.abs(t) > MAX_ABS_SECONDS
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{name} at row {row0 + i} is {t[i]}, not a plausible number of seconds (beyond year 9999); "
            "integer times must be seconds since 1970: convert milliseconds etc., or store a timestamp type"
        )
    return t


def _check_finite(a: np.ndarray, name: str, row0: int) -> None:
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        i = int(np.flatnonzero(~np.isfinite(a))[0])
        raise InputError(f"{name} at row {row0 + i} is {a[i]}; drop or fill missing values first")


def _mcc(mcc: np.ndarray, name: str, row0: int, require: bool) -> np.ndarray:
    if require and ((mcc < 0) | (mcc > MCC_MAX)).any():
        i = int(np.flatnonzero((mcc < 0) | (mcc > MCC_MAX))[0])
        raise InputError(
            f"{name} is {mcc[i]} at row {row0 + i}, outside 0..{MCC_MAX}; MCCs are 4-digit codes: fix or "
            "drop that row"
        )
    return mcc if mcc.dtype in _MCC_DTYPES else mcc.astype(np.int32)


def _time_sorted(arrays: TransactionArrays) -> TransactionArrays:
    """Each user's rows in time order, as the eager reader's stable sort leaves them (part files are
    written sorted, so this is normally a check only)."""
    t, off = arrays.time, arrays.offsets
    if t.size < 2:
        return arrays
    down = np.diff(t) < 0
    down[off[1:-1] - 1] = False  # a new user may start earlier
    if not down.any():
        return arrays
    user = np.repeat(np.arange(arrays.n_users), np.diff(off))
    order = np.lexsort((t, user))

    def sort(x: np.ndarray | None) -> np.ndarray | None:
        return None if x is None else x[order]

    extra = {k: v[order] for k, v in arrays.extra.items()}
    return TransactionArrays(arrays.user_ids, t[order], arrays.amount[order], sort(arrays.mcc), off, extra)


__all__ = ["CACHE_ROWS", "LazySource", "is_dataset_dir"]
