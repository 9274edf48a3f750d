"""A dataset directory opened lazily: `cardworld.open(DIR)`.

    world = cardworld.open("out/world")    # reads the manifest and the part files' footers, no rows
    world.n_users, world.n_rows, world.n_shards, world.manifest
    tx = world.transactions()               # pyarrow.dataset.Dataset, contract schema (timestamp[s])
    tx.to_table(filter=pyarrow.dataset.field("user_id") == 5, columns=["timestamp", "amount"])
    world.scan()                            # polars LazyFrame (timestamps as Datetime("ms"))
    world.consumers(), world.cards(), ...    # pyarrow Tables, contract types (small tables: read whole)
    one = world.user(5)                     # bio, cards, accounts, trips, statements, transactions
    for table in world.iter_user_batches(["user_id", "amount"]): ...   # whole users, row group by group

Transactions are read only where asked: user() reads the row groups holding that user (the index comes
from the footers, io.row_groups), iter_user_batches one row group at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cardworld.errors import FIX, Fix, InputError
from cardworld.io.dataset import BUILD_DIR, MANIFEST, read_manifest, read_table
from cardworld.io.row_groups import UserIndex, read_footers
from cardworld.io.schema import SCHEMAS, conform

if TYPE_CHECKING:  # pyarrow.dataset imports pandas (over a second): only transactions() needs it
    import pyarrow.dataset as pads

#: How to finish an interrupted run, per interface (the resume keeps its finished shards).
RESUME = Fix(
    python="finish it with cardworld.engine.run.generate(config, out, resume=True), same config and seed",
    cli="finish it with the same `cardworld generate` command plus --resume",
)


@dataclass(frozen=True)
class UserRecord:
    """One consumer: the consumers row as a dict, and its rows of the other tables (contract types)."""

    user_id: int
    bio: dict[str, Any]
    cards: pa.Table
    accounts: pa.Table
    trips: pa.Table
    statements: pa.Table
    transactions: pa.Table  # sorted by timestamp; read from that user's row groups only


def open(path: str | os.PathLike) -> CardworldDataset:  # shadows builtins.open in this module only
    """Open the dataset directory that `generate` wrote (the manifest and the part files' footers only)."""
    return CardworldDataset(path)


class CardworldDataset:
    """A complete dataset directory, read lazily. See the module doc."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.manifest: dict[str, Any] = _complete_manifest(self.path)
        shards = sorted(self.manifest["shards"], key=lambda s: s["index"])
        self.files: list[Path] = [self.path / s["file"] for s in shards]
        metas = read_footers(self.files)
        self.index = UserIndex.from_footers(self.files, metas)
        if not self.index.ordered:
            raise InputError(
                f"the part files of {str(self.path)!r} do not hold increasing, disjoint user id ranges; "
                "they were changed after writing: re-run the dataset"
            )
        stored = metas[0].schema.to_arrow_schema() if metas else SCHEMAS["transactions"]
        contract = SCHEMAS["transactions"]
        self._schema = pa.schema(
            [contract.field(f.name) if f.name in contract.names else f for f in stored]
        )  # Parquet stores timestamp[s] as ms: the dataset casts back to the contract types

    @property
    def n_shards(self) -> int:
        return len(self.files)

    @property
    def n_rows(self) -> int:
        """Transaction rows (card payments; cash purchases are in cash())."""
        return self.index.n_rows

    @property
    def n_users(self) -> int:
        """Users with at least one transaction (consumers() lists every consumer)."""
        return self.index.n_users

    @property
    def user_ids(self) -> np.ndarray:
        """The ids of the users with transactions, ascending (the (shard, user) order)."""
        return self.index.user_ids

    @property
    def status(self) -> str:
        return str(self.manifest.get("status"))

    def __repr__(self) -> str:
        cfg = self.manifest.get("config") or {}
        span = f", {cfg['start']}..{cfg['end']}" if "start" in cfg and "end" in cfg else ""
        shards = "shard" if self.n_shards == 1 else "shards"
        return (
            f"CardworldDataset({str(self.path)!r}: {self.n_rows:,} rows, {self.n_users:,} users, "
            f"{self.n_shards} {shards}{span}, {self.status})"
        )

    # --- transactions ---

    def transactions(self) -> pads.Dataset:
        """A pyarrow Dataset over the part files with the contract schema (scans give timestamp[s])."""
        import pyarrow.dataset as pads

        return pads.dataset([os.fspath(f) for f in self.files], schema=self._schema, format="parquet")

    def scan(self) -> Any:
        """A polars LazyFrame over the part files. Polars has no seconds unit: timestamps are
        Datetime("ms") as stored, use_chip is Categorical."""
        try:
            import polars as pl
        except ImportError:
            raise InputError(
                "scan() needs polars, which is not installed: pip install polars (or use transactions(), "
                "a pyarrow dataset)"
            ) from None
        return pl.scan_parquet([os.fspath(f) for f in self.files])

    def iter_user_batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """Transactions in (shard, user) order as tables of whole users, one row group at a time (at most
        65,536 rows unless one user has more), contract types. Memory: one row group."""
        cols = self._columns(columns)
        idx = self.index
        starts = set(zip(idx.user_file.tolist(), idx.user_start.tolist(), strict=True))
        for f, path in enumerate(self.files):
            groups = np.flatnonzero(idx.group_file == f).tolist()
            with _parquet_file(path) as handle:
                pending: list[int] = []
                for g in groups:
                    pending.append(int(idx.group_number[g]))
                    end = int(idx.group_start[g] + idx.group_rows[g])
                    if g == groups[-1] or (f, end) in starts:  # the next group starts with a new user
                        yield self._conform(handle.read_row_groups(pending, columns=cols), path, cols)
                        pending = []

    def _columns(self, columns: Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
        cols = [columns] if isinstance(columns, str) else list(columns)
        if missing := [c for c in cols if c not in self._schema.names]:
            raise InputError(
                f"the transactions of {str(self.path)!r} have no column(s) {', '.join(map(str, missing))} "
                f"(their columns: {', '.join(self._schema.names)})"
            )
        return cols

    def user(self, user_id: int) -> UserRecord:
        """One consumer's bio, cards, accounts, trips, statements and transactions; only the row groups
        holding its transactions are read. An unknown id is an InputError naming the id range."""
        uid = _user_id(user_id)
        pos = int(self.index.positions(np.array([uid]))[0])
        consumers = self._user_rows("consumers", uid)
        if consumers.num_rows == 0:
            ids = read_table(self.path, "consumers", ["user_id"]).column("user_id")
            have = f"{pc.min(ids).as_py()}..{pc.max(ids).as_py()}" if len(ids) else "none"
            raise InputError(
                f"user_id {uid} is not in the dataset {str(self.path)!r}: its consumers' user ids are {have}"
            )
        return UserRecord(
            user_id=uid,
            bio=consumers.to_pylist()[0],
            cards=self._user_rows("cards", uid),
            accounts=self._user_rows("accounts", uid),
            trips=self._user_rows("trips", uid),
            statements=self._user_rows("statements", uid),
            transactions=SCHEMAS["transactions"].empty_table() if pos < 0 else self._user_transactions(pos),
        )

    def _user_transactions(self, pos: int) -> pa.Table:
        idx = self.index
        groups = np.arange(idx.user_group[pos], idx.user_group_end[pos])
        path = self.files[int(idx.user_file[pos])]
        with _parquet_file(path) as handle:
            table = handle.read_row_groups(idx.group_number[groups].tolist())
        first = int(idx.user_start[pos] - idx.group_start[groups[0]])
        return self._conform(table.slice(first, int(idx.user_rows[pos])), path, None)

    def _user_rows(self, name: str, uid: int) -> pa.Table:
        table = read_table(self.path, name)
        return table.filter(pc.equal(table["user_id"], uid))

    @staticmethod
    def _conform(table: pa.Table, path: Path, columns: Sequence[str] | None) -> pa.Table:
        return conform("transactions", table, where=f"file {str(path)!r}", subset=columns is not None)

    # --- the other tables (per-consumer sized: read whole, contract types) ---

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """Dataset table `name` (consumers, cards, accounts, trips, cash, merchants, fraudsters,
        statements, defaults)."""
        return read_table(self.path, name, columns)

    def consumers(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self.table("consumers", columns)

    def cards(self, columns: Sequence[str] | None = None) -> pa.Table:
        """One row per issue of a card (see cardworld.io.cards to join them as of a time)."""
        return self.table("cards", columns)

    def accounts(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self.table("accounts", columns)

    def trips(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self.table("trips", columns)

    def statements(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self.table("statements", columns)

    def defaults(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self.table("defaults", columns)

    def merchants(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self.table("merchants", columns)

    def fraudsters(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self.table("fraudsters", columns)

    def cash(self, columns: Sequence[str] | None = None) -> pa.Table:
        """Purchases paid in cash (the transaction columns that apply without a card)."""
        return self.table("cash", columns)


def _complete_manifest(d: Path) -> dict[str, Any]:
    """The manifest of a complete dataset; errors for a missing directory, no dataset, an unfinished run."""
    if not d.is_dir():
        what = "is a file, not a directory" if d.exists() else "does not exist"
        raise InputError(f"dataset directory {str(d)!r} {what}; pass the directory that generate wrote")
    if not (d / MANIFEST).is_file():
        if (d / BUILD_DIR).is_dir():
            raise InputError(
                f"{str(d)!r} holds no finished dataset, only {str(d / BUILD_DIR)!r}, the build folder of an "
                f"interrupted run; {FIX}",
                fix=RESUME,
            )
        raise InputError(
            f"{str(d)!r} is not a cardworld dataset directory: it has no {MANIFEST}; "
            "pass the directory that generate wrote"
        )
    manifest = read_manifest(d)
    if manifest["status"] != "complete":
        raise InputError(
            f"the dataset in {str(d)!r} is partial (its manifest says status {manifest['status']!r}): its run "
            f"did not finish; {FIX}",
            fix=RESUME,
        )
    return manifest


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(
            f"file {str(path)!r} could not be opened ({e}); it was removed or damaged after the dataset "
            "was opened: open it again (or re-run it)"
        ) from e


def _user_id(user_id: Any) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int | np.integer):
        raise InputError(f"user_id is {user_id!r}; pass an integer user id")
    return int(user_id)


__all__ = ["RESUME", "CardworldDataset", "UserRecord", "open"]
