"""Transaction part files whose row groups never split a user, and the index user -> row group.

A part file is sorted by (user_id, timestamp). write_user_groups cuts it into row groups of whole users,
at most MAX_GROUP_ROWS rows each (a user with more rows gets a row group of its own), and stores the
exact list of its users and their row counts in the file's key-value metadata (INDEX_KEY, JSON
{"user_id": [...], "rows": [...]}): row-group statistics give each group's min/max user_id, not which
users lie in between, and a reader needs the exact list (a consumer may have no transactions). So

    index = UserIndex.from_footers(files, read_footers(files))   # footers only, no column is read
    index.n_users, index.user_ids, index.position(user_id), index.groups(positions)

A part file without that metadata (written before it existed, or by another tool) is indexed from its
user_id column instead, which is slower but exact; so is one whose metadata does not match its footer.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.errors import InputError

MAX_GROUP_ROWS = 65_536
INDEX_KEY = "cardworld.user_index"


def user_runs(user_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, row counts) of the runs of equal ids of a column sorted by user."""
    u = np.asarray(user_id)
    if u.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(u) != 0) + 1))
    return u[starts].astype(np.int64), np.diff(np.append(starts, u.size)).astype(np.int64)


def group_bounds(rows: np.ndarray, max_rows: int = MAX_GROUP_ROWS) -> np.ndarray:
    """Row bounds [0, ..., n] of row groups of whole users (rows: each user's row count, in file order).

    Users are added to a group while it stays within max_rows; a user alone above it gets its own group.
    """
    bounds, size, start = [0], 0, 0
    for r in rows.tolist():
        if size and size + r > max_rows:
            bounds.append(start)
            size = 0
        size += r
        start += r
    if size:
        bounds.append(start)
    return np.asarray(bounds, dtype=np.int64)


def write_user_groups(table: pa.Table, path: str | os.PathLike, **writer_options: Any) -> None:
    """Write `table` (sorted by user_id) to `path` in row groups of whole users, with the user index.

    `writer_options` are pyarrow.parquet.ParquetWriter's (compression, encodings, statistics). The bytes
    depend only on the table, the options and pyarrow.
    """
    user = table.column("user_id").to_numpy()
    if user.size > 1 and (down := np.flatnonzero(np.diff(user) < 0)).size:
        raise InputError(
            f"transactions rows are not sorted by user_id (row {int(down[0]) + 1} comes after a larger id); "
            "build the table with cardworld.io.schema.transactions_table, which sorts it"
        )
    ids, rows = user_runs(user)
    bounds = group_bounds(rows, MAX_GROUP_ROWS).tolist()  # the module's value when called (tests lower it)
    index = json.dumps({"user_id": ids.tolist(), "rows": rows.tolist()}, separators=(",", ":"))
    with pq.ParquetWriter(path, table.schema, **writer_options) as writer:
        if table.num_rows == 0:
            writer.write_table(table)
        for lo, hi in itertools.pairwise(bounds):
            writer.write_table(table.slice(lo, hi - lo), row_group_size=hi - lo)
        writer.add_key_value_metadata({INDEX_KEY: index})


def read_footers(files: Sequence[Path]) -> list[pq.FileMetaData]:
    """Each part file's footer (metadata only); errors name the missing or unreadable file."""
    metas = []
    for path in files:
        if not path.is_file():
            raise InputError(
                f"file {str(path)!r} is missing; the dataset is incomplete: re-run it (or restore the file)"
            )
        try:
            metas.append(pq.read_metadata(path))
        except (pa.ArrowException, OSError) as e:
            raise InputError(
                f"file {str(path)!r} is not a readable Parquet file ({e}); it is damaged: re-run the dataset"
            ) from e
    return metas


def _file_users(path: Path, meta: pq.FileMetaData) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, rows) of a part file: from its index metadata when it matches the footer, else from its
    user_id column."""
    raw = (meta.metadata or {}).get(INDEX_KEY.encode())
    if raw is not None:
        try:
            doc = json.loads(raw)
            ids, rows = np.asarray(doc["user_id"], np.int64), np.asarray(doc["rows"], np.int64)
        except (ValueError, KeyError, TypeError):
            ids = rows = np.zeros(0, np.int64)
        if ids.shape == rows.shape and int(rows.sum()) == meta.num_rows and (rows > 0).all():
            return ids, rows
    if meta.num_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    try:
        user = pq.read_table(path, columns=["user_id"]).column("user_id").to_numpy()
    except (pa.ArrowException, OSError, KeyError) as e:
        raise InputError(f"file {str(path)!r}: its user_id column could not be read ({e}); re-run it") from e
    ids, rows = user_runs(user)
    if ids.size > 1 and (np.diff(ids) <= 0).any():
        raise InputError(
            f"file {str(path)!r} is not sorted by user_id (a part file holds each user's rows together); "
            "it was changed after writing: re-run the dataset"
        )
    return ids, rows


def _columns(parts: list[tuple[np.ndarray, ...]], n: int) -> list[np.ndarray]:
    """Per-file tuples of n arrays, concatenated column by column as int64."""
    if not parts:
        return [np.zeros(0, np.int64) for _ in range(n)]
    return [np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(n)]


@dataclass(frozen=True, eq=False)
class UserIndex:
    """Where each user's transactions are: file, first row in it, row count and row groups.

    Users are in (file, row) order. Global row group g is local row group group_number[g] of file
    group_file[g], rows group_start[g]:group_start[g] + group_rows[g] of that file. User u's rows lie in
    row groups user_group[u]:user_group_end[u] (one group when the file's groups are aligned to users).
    """

    files: tuple[str, ...]
    user_ids: np.ndarray  # int64 (n_users,)
    user_file: np.ndarray  # int64 (n_users,)
    user_start: np.ndarray  # int64 (n_users,): first row within its file
    user_rows: np.ndarray  # int64 (n_users,)
    user_group: np.ndarray  # int64 (n_users,): first global row group
    user_group_end: np.ndarray  # int64 (n_users,)
    group_file: np.ndarray  # int64 (n_groups,)
    group_number: np.ndarray  # int64 (n_groups,): row group number within its file
    group_start: np.ndarray  # int64 (n_groups,)
    group_rows: np.ndarray  # int64 (n_groups,)

    @classmethod
    def from_footers(cls, files: Sequence[Path], metas: Sequence[pq.FileMetaData]) -> UserIndex:
        """The index of these part files from their footers (see the module doc)."""
        users: list[tuple[np.ndarray, ...]] = []
        groups: list[tuple[np.ndarray, ...]] = []
        n_groups = 0
        for f, (path, meta) in enumerate(zip(files, metas, strict=True)):
            ids, rows = _file_users(Path(path), meta)
            g_rows = np.array([meta.row_group(i).num_rows for i in range(meta.num_row_groups)], np.int64)
            g_start = np.cumsum(g_rows) - g_rows
            start = np.cumsum(rows) - rows
            # a user's first and last row groups: the groups holding its first and last rows
            g0 = np.searchsorted(g_start, start, side="right") - 1 + n_groups
            g1 = np.searchsorted(g_start, start + rows - 1, side="right") + n_groups
            users.append((ids, np.full(ids.size, f), start, rows, g0, g1))
            groups.append((np.full(g_rows.size, f), np.arange(g_rows.size), g_start, g_rows))
            n_groups += g_rows.size
        return cls(tuple(os.fspath(x) for x in files), *_columns(users, 6), *_columns(groups, 4))

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    @property
    def n_rows(self) -> int:
        return int(self.user_rows.sum())

    @property
    def n_groups(self) -> int:
        return int(self.group_rows.size)

    @property
    def ordered(self) -> bool:
        """Every user appears once and ids ascend in (file, row) order (each shard holds an id range)."""
        return bool((np.diff(self.user_ids) > 0).all())

    def positions(self, user_ids: np.ndarray) -> np.ndarray:
        """The position of each id (-1 where it has no transactions); needs an ordered index."""
        ids = np.asarray(user_ids, dtype=np.int64).reshape(-1)
        if not self.n_users:
            return np.full(ids.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.user_ids, ids), self.n_users - 1)
        return np.where(self.user_ids[pos] == ids, pos, -1)

    def groups(self, positions: np.ndarray) -> np.ndarray:
        """The global row groups (sorted, unique) holding the rows of the users at these positions."""
        pos = np.unique(np.asarray(positions, dtype=np.int64))
        spans = [np.arange(a, b) for a, b in zip(self.user_group[pos], self.user_group_end[pos], strict=True)]
        return np.unique(np.concatenate(spans)) if spans else np.zeros(0, np.int64)


__all__ = [
    "INDEX_KEY",
    "MAX_GROUP_ROWS",
    "UserIndex",
    "group_bounds",
    "read_footers",
    "user_runs",
    "write_user_groups",
]
