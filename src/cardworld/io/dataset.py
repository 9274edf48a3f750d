"""A dataset directory: atomic Parquet tables, transaction shards and the manifest.

    DIR/manifest.json                      version, resolved config, seed, shard plan, shards, status
    DIR/consumers.parquet ... fraudsters.parquet
    DIR/transactions/part-00000.parquet    one file per shard, rows sorted by (user_id, timestamp)
    DIR/.build/                            a run in progress (or interrupted): the same layout

    out = check_output_dir(path, overwrite)                  # refuse a non-empty dir unless overwrite
    build = start_build(out)                                 # a fresh DIR/.build; DIR is left as it is
    manifest = new_manifest(config=cfg, seed=seed, shard_plan=plan)
    for k, table in enumerate(shards):
        add_shard(manifest, write_shard(build, k, table))    # atomic; returns rows + sha256
        write_manifest(build, manifest)                      # status "partial": what is finished
    add_table(manifest, "consumers", write_table(build, "consumers", consumers))
    commit_build(out, manifest)                              # the new dataset replaces the old one

Every file is written under a temporary name and renamed when complete, and a dataset is built in
DIR/.build and moved into place only when complete, so a crash, a failure or Ctrl-C never leaves half a
file nor harms the dataset in DIR. Written bytes depend only on the table and pyarrow (no creation times).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.errors import FIX, OVERWRITE, InputError
from cardworld.io.atomic import atomic_output
from cardworld.io.manifest import MANIFEST, new_manifest, read_manifest, write_manifest
from cardworld.io.row_groups import write_user_groups
from cardworld.io.schema import SCHEMAS, TABLE_NAMES, conform

SHARD_DIR = "transactions"
BUILD_DIR = ".build"  # where a run builds its dataset (and where an interrupted run's shards stay)
#: Chosen by measurement (one core, 2M-row shards, pyarrow 26): with dictionary/RLE and delta encoding
#: doing most of the work, snappy writes ~3% faster and reads ~10% faster than zstd level 1 for files only
#: ~4% larger (about 14 bytes a row); zstd level 3 is slower still for 1% less. Pass compression= to change.
DEFAULT_COMPRESSION = "snappy"
DEFAULT_COMPRESSION_LEVEL: int | None = None
_LEVELLED = ("zstd", "gzip", "brotli")
_SHARD_RE = re.compile(r"^part-(\d{5})\.parquet$")


@dataclass(frozen=True)
class FileInfo:
    """A written file of a dataset directory: its path relative to the directory, rows and checksum."""

    file: str  # relative to the dataset directory, with "/" separators
    rows: int
    sha256: str
    bytes: int

    def to_manifest(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "sha256": self.sha256, "bytes": self.bytes}


@dataclass(frozen=True)
class ShardInfo(FileInfo):
    index: int = 0

    def to_manifest(self) -> dict[str, Any]:
        return {"index": self.index, **super().to_manifest()}


# ---------------------------------------------------------------------------------------------------------
# Paths


def shard_name(k: int) -> str:
    """The file name of shard k: part-NNNNN.parquet."""
    if not 0 <= int(k) <= 99_999:
        raise InputError(f"shard index {k} is out of range; shards are numbered 0..99999")
    return f"part-{int(k):05d}.parquet"


def shard_path(directory: str | os.PathLike, k: int) -> Path:
    """DIR/transactions/part-NNNNN.parquet."""
    return Path(directory) / SHARD_DIR / shard_name(k)


def table_path(directory: str | os.PathLike, name: str) -> Path:
    """DIR/NAME.parquet of one of TABLE_NAMES."""
    if name not in TABLE_NAMES:
        raise InputError(f"unknown dataset table {name!r}; the tables are {', '.join(TABLE_NAMES)}")
    return Path(directory) / f"{name}.parquet"


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# Output directory


def check_output_dir(directory: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check that `directory` may receive a new dataset, create it if missing, and return it.

    Refuses a non-empty directory unless `overwrite`, and a path that is a file, lies under a file, or is
    not writable. Removes nothing: the new dataset is built in DIR/.build and replaces the old one's files
    only when complete (commit_build); files that are not dataset files are never touched.
    """
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise InputError(f"output path {str(out)!r} is a file, not a directory; choose a directory path")
    if out.is_dir():
        entries = [p.name for p in out.iterdir()]
        if entries and not overwrite:
            what, remedy = "is not empty", "replace the dataset there"
            if entries == [BUILD_DIR]:
                what = f"holds only {str(out / BUILD_DIR)!r}, the build folder of an interrupted run"
                remedy = "start over"
            raise InputError(
                f"output directory {str(out)!r} {what}; {FIX} to {remedy}, or choose an empty or new directory",
                fix=OVERWRITE,
            )
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError(f"output directory {str(out)!r} is not writable; choose another directory")
    else:
        parent = out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if parent.exists() and not parent.is_dir():
            raise InputError(
                f"cannot create output directory {str(out)!r}: {str(parent)!r} is a file; choose another path"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(
                f"cannot create output directory {str(out)!r}: {str(parent)!r} is not writable; "
                "choose another path"
            )
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"cannot create output directory {str(out)!r} ({e}); choose another path") from e
    return out


def start_build(directory: str | os.PathLike) -> Path:
    """A fresh, empty DIR/.build (a stale one of an earlier run is removed); returns its path."""
    build = Path(directory) / BUILD_DIR
    if build.is_dir():
        shutil.rmtree(build)
    build.mkdir()
    return build


def commit_build(directory: str | os.PathLike, manifest: Mapping[str, Any]) -> Path:
    """Move the dataset built in DIR/.build (the files `manifest` lists) into DIR, replacing the one there.

    The old manifest goes first and the new one (status "complete", written in DIR/.build beforehand, so
    a full disk cannot strike half-way) comes last, as the commit marker: DIR never holds a manifest whose
    files are not all there. The old dataset's other files go too (no stale
    shard survives); files that are not dataset files stay. Returns the path of the new manifest.
    """
    out = Path(directory)
    build = out / BUILD_DIR
    files = [rec["file"] for rec in (*manifest["tables"].values(), *manifest["shards"])]
    if missing := [f for f in files if not (build / f).is_file()]:  # checked before anything is moved
        raise InputError(f"the build folder {str(build)!r} lacks {', '.join(missing)}; run it again")
    staged = build / "_commit"  # the new manifest is written first (a full disk stops here, harmlessly)
    staged.mkdir(exist_ok=True)
    write_manifest(staged, {**manifest, "status": "complete"})
    remove_dataset_files(out)
    (out / SHARD_DIR).mkdir(exist_ok=True)
    for f in files:
        os.replace(build / f, out / f)
    os.replace(staged / MANIFEST, out / MANIFEST)
    shutil.rmtree(build)
    return out / MANIFEST


def remove_dataset_files(out: Path) -> None:
    """Remove a dataset's files from `out` (manifest first), leaving other files (and DIR/.build) alone."""

    def is_temp(p: Path) -> bool:
        return p.name.startswith(".") and ".tmp-" in p.name

    (out / MANIFEST).unlink(missing_ok=True)  # first: a half-removed dataset must not look complete
    for p in out.iterdir():
        if p.is_file() and (p.name in {f"{t}.parquet" for t in TABLE_NAMES} or is_temp(p)):
            p.unlink()
    shards = out / SHARD_DIR
    if shards.is_dir():
        for p in shards.iterdir():
            if p.is_file() and (_SHARD_RE.match(p.name) or is_temp(p)):
                p.unlink()


# ---------------------------------------------------------------------------------------------------------
# Writing


def write_parquet(
    path: str | os.PathLike,
    table: pa.Table,
    *,
    compression: str = DEFAULT_COMPRESSION,
    compression_level: int | None = DEFAULT_COMPRESSION_LEVEL,
    overwrite: bool = True,
    user_groups: bool = False,
) -> FileInfo:
    """Write `table` to `path` atomically (temp name beside it, then rename); return rows and sha256.
    `user_groups`: row groups of whole users and the user index in the metadata (io.row_groups)."""
    path = Path(path)
    options: dict[str, Any] = {
        "compression": compression,
        "compression_level": compression_level if compression in _LEVELLED else None,
    }
    if "timestamp" in table.column_names and "user_id" in table.column_names:
        # Event tables: times are nearly sorted and nearly unique, so delta encoding beats a dictionary
        # (smaller and ~30% faster to write); min/max statistics only where readers filter.
        options["use_dictionary"] = [c for c in table.column_names if c != "timestamp"]
        options["column_encoding"] = {"timestamp": "DELTA_BINARY_PACKED"}
        options["write_statistics"] = ["user_id", "timestamp"]
    with atomic_output(path, overwrite=overwrite) as tmp:
        (write_user_groups if user_groups else pq.write_table)(table, tmp, **options)
        digest = file_sha256(tmp)
        size = tmp.stat().st_size
    return FileInfo(file=path.name, rows=table.num_rows, sha256=digest, bytes=size)


def write_shard(
    out_dir: str | os.PathLike,
    shard_index: int,
    table: pa.Table,
    *,
    compression: str = DEFAULT_COMPRESSION,
    compression_level: int | None = DEFAULT_COMPRESSION_LEVEL,
) -> ShardInfo:
    """Write one transactions shard to DIR/transactions/part-NNNNN.parquet atomically.

    The table must follow the transactions contract (see schema.transactions_table: sorted by user_id,
    timestamp); it is cast to the exact contract types. Row groups hold whole users, at most 65,536 rows
    unless one user has more, and the file's metadata lists its users (io.row_groups). Returns what the
    manifest records: index, file, rows, sha256, bytes.
    """
    path = shard_path(out_dir, shard_index)
    table = conform("transactions", table)
    if not Path(out_dir).is_dir():
        raise InputError(
            f"dataset directory {str(out_dir)!r} does not exist; create it with check_output_dir first"
        )
    path.parent.mkdir(exist_ok=True)
    info = write_parquet(
        path, table, compression=compression, compression_level=compression_level, user_groups=True
    )
    return ShardInfo(
        file=f"{SHARD_DIR}/{path.name}",
        rows=info.rows,
        sha256=info.sha256,
        bytes=info.bytes,
        index=shard_index,
    )


def write_table(
    out_dir: str | os.PathLike,
    name: str,
    table: pa.Table,
    *,
    compression: str = DEFAULT_COMPRESSION,
    compression_level: int | None = DEFAULT_COMPRESSION_LEVEL,
) -> FileInfo:
    """Write dataset table `name` (one of TABLE_NAMES) to DIR/NAME.parquet atomically, contract types."""
    path = table_path(out_dir, name)
    table = conform(name, table)
    return write_parquet(path, table, compression=compression, compression_level=compression_level)


# ---------------------------------------------------------------------------------------------------------
# Manifest


def add_shard(manifest: dict[str, Any], info: ShardInfo) -> dict[str, Any]:
    """Record a written shard (replacing an earlier record of the same index); shards stay in index order."""
    shards = [s for s in manifest.setdefault("shards", []) if s.get("index") != info.index]
    shards.append(info.to_manifest())
    manifest["shards"] = sorted(shards, key=lambda s: s["index"])
    return manifest


def add_table(manifest: dict[str, Any], name: str, info: FileInfo) -> dict[str, Any]:
    """Record a written table under manifest["tables"][name]."""
    manifest.setdefault("tables", {})[name] = info.to_manifest()
    return manifest


# ---------------------------------------------------------------------------------------------------------
# Reading


def list_shards(directory: str | os.PathLike) -> list[Path]:
    """Paths of the transaction shards in index order: from the manifest when the directory has one (so a
    missing file shows up when read), otherwise the part-NNNNN.parquet files present in DIR/transactions."""
    d = Path(directory)
    if (d / MANIFEST).is_file():
        manifest = read_manifest(d)
        return [d / s["file"] for s in sorted(manifest["shards"], key=lambda s: s["index"])]
    if not d.is_dir():
        raise InputError(f"dataset directory {str(d)!r} does not exist; pass a directory written by generate")
    sd = d / SHARD_DIR
    if not sd.is_dir():
        raise InputError(
            f"{str(d)!r} has neither {MANIFEST} nor a {SHARD_DIR}/ directory; pass a cardworld dataset directory"
        )
    return sorted(p for p in sd.iterdir() if _SHARD_RE.match(p.name) and p.is_file())


def read_parquet(
    path: str | os.PathLike,
    name: str,
    columns: Sequence[str] | None = None,
    *,
    dictionary_columns: Sequence[str] = (),
) -> pa.Table:
    """Read a dataset Parquet file with table `name`'s contract types; errors name the file.

    `columns` reads only those columns (in that order); without it, every column, contract ones first.
    `dictionary_columns` (string columns) are read as dictionary arrays: faster, for readers that want codes.
    """
    path = Path(path)
    where = f"file {str(path)!r}"
    if not path.is_file():
        raise InputError(f"{where} is missing; the dataset is incomplete: re-run it (or restore the file)")
    try:
        present = pq.read_schema(path).names
        if columns is not None:
            missing = [c for c in columns if c not in present]
            if missing:
                raise InputError(
                    f"{where} has no column(s) {', '.join(missing)} (its columns: {', '.join(present)})"
                )
        table = pq.read_table(
            path,
            columns=None if columns is None else list(columns),
            read_dictionary=list(dictionary_columns) or None,
        )
    except (pa.ArrowException, OSError) as e:
        raise InputError(
            f"{where} is not a readable Parquet file ({e}); it is damaged: re-run the dataset"
        ) from e
    return conform(
        name, table, where=where, subset=columns is not None, keep_dictionary=bool(dictionary_columns)
    )


def read_table(directory: str | os.PathLike, name: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Read DIR/NAME.parquet with the exact contract types."""
    return read_parquet(table_path(directory, name), name, columns)


def iter_shards(
    directory: str | os.PathLike,
    columns: Sequence[str] | None = None,
    *,
    verify: bool = False,
    dictionary_columns: Sequence[str] = (),
) -> Iterator[tuple[Path, pa.Table]]:
    """Yield (path, table) per transactions shard in index order, contract types.

    With `verify`, each file's sha256 and row count are checked against the manifest first.
    `dictionary_columns`: string columns to read as dictionaries (see read_parquet).
    """
    d = Path(directory)
    records: dict[Path, dict[str, Any]] = {}
    if verify:
        manifest = read_manifest(d)
        records = {d / s["file"]: s for s in manifest["shards"]}
    for path in list_shards(d):
        if verify:
            rec = records[path]
            if path.is_file() and file_sha256(path) != rec["sha256"]:
                raise InputError(
                    f"file {str(path)!r} does not match the sha256 in {str(d / MANIFEST)!r}; "
                    "it was changed or damaged after writing: re-run the dataset"
                )
        table = read_parquet(path, "transactions", columns, dictionary_columns=dictionary_columns)
        if verify and table.num_rows != records[path]["rows"]:
            raise InputError(
                f"file {str(path)!r} has {table.num_rows} rows but the manifest says {records[path]['rows']}"
            )
        yield path, table


def read_dataset_transactions(
    directory: str | os.PathLike,
    columns: Sequence[str] | None = None,
    *,
    verify: bool = False,
) -> pa.Table:
    """All transaction shards of a dataset directory, concatenated in shard order."""
    tables = [t for _, t in iter_shards(directory, columns, verify=verify)]
    if not tables:
        schema = SCHEMAS["transactions"]
        return schema.empty_table() if columns is None else schema.empty_table().select(list(columns))
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


__all__ = [
    "BUILD_DIR",
    "DEFAULT_COMPRESSION",
    "MANIFEST",
    "SHARD_DIR",
    "FileInfo",
    "ShardInfo",
    "add_shard",
    "add_table",
    "check_output_dir",
    "commit_build",
    "file_sha256",
    "iter_shards",
    "list_shards",
    "new_manifest",
    "read_dataset_transactions",
    "read_manifest",
    "read_parquet",
    "read_table",
    "remove_dataset_files",
    "shard_name",
    "shard_path",
    "start_build",
    "table_path",
    "write_manifest",
    "write_parquet",
    "write_shard",
    "write_table",
]
