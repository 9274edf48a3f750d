"""The part files of a targets run: which input files, what their footers say (rows, user id ranges from
the statistics), whether each user's rows lie in one part, and the output directory that replaces the old
one only when every part is written (a build directory beside it, then renames).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.errors import FIX, OVERWRITE, Fix, InputError, option_fix
from cardworld.io.transactions import parquet_files


@dataclass(frozen=True)
class Part:
    """An input part file as its footer describes it."""

    path: Path
    rows: int
    users: tuple[int, int] | None  # lowest and highest user id, from statistics (None: unknown or no rows)
    user_type: pa.DataType | None  # None when the file has no user column (reading it says so)


def input_files(source: str | os.PathLike) -> list[Path]:
    """The part files of `source` in order (see io.transactions.parquet_files). For a cardworld dataset
    directory, the shards its manifest lists, each of which must be there (a missing one is named)."""
    files = parquet_files(source)
    d = Path(source)
    listed = _manifest_shards(d / "manifest.json") if d.is_dir() else None
    if listed is None:
        return files
    for f in listed:
        if not (d / f).is_file():
            raise InputError(
                f"file {str(d / f)!r} is missing: the manifest of dataset {str(d)!r} lists it; the dataset "
                "is incomplete: re-run it (or restore the file)"
            )
    return [d / f for f in listed]


def _manifest_shards(path: Path) -> list[str] | None:
    """The shard files a cardworld manifest lists, in index order; None when `path` is not such a manifest
    (then the directory's part files are what there is)."""
    try:
        shards = json.loads(path.read_text(encoding="utf-8"))["shards"]
        return [s["file"] for s in sorted(shards, key=lambda s: int(s["index"]))]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def parts_of(source: str | os.PathLike, user_col: str) -> list[Part]:
    return [footer(p, user_col) for p in input_files(source)]


def footer(path: Path, user_col: str) -> Part:
    """A part's rows, user id range (from row-group statistics) and user column type, from its footer."""
    try:
        md = pq.read_metadata(path)
        schema = md.schema.to_arrow_schema()
    except (pa.ArrowException, OSError) as e:
        raise InputError(
            f"file {str(path)!r} is not a readable Parquet file ({e}); re-write it or remove it"
        ) from e
    if user_col not in schema.names:
        return Part(path, md.num_rows, None, None)
    j = [md.schema.column(i).path for i in range(md.num_columns)].index(user_col)
    lo = hi = None
    for i in range(md.num_row_groups):
        if md.row_group(i).num_rows == 0:
            continue
        stats = md.row_group(i).column(j).statistics
        if stats is None or not stats.has_min_max or not isinstance(stats.min, int):
            return Part(path, md.num_rows, None, schema.field(user_col).type)
        lo = stats.min if lo is None else min(lo, stats.min)
        hi = stats.max if hi is None else max(hi, stats.max)
    users = None if lo is None or hi is None else (lo, hi)
    return Part(path, md.num_rows, users, schema.field(user_col).type)


def check_rows(source: str | os.PathLike, parts: list[Part], allow_empty: bool) -> int:
    total = sum(p.rows for p in parts)
    if total == 0 and not allow_empty:
        raise InputError(
            f"input {os.fspath(source)!r} has no transaction rows; check the path, or {FIX} "
            "to write an empty targets file",
            fix=option_fix("allow_empty", "--allow-empty"),
        )
    return total


def users_ascend(parts: list[Part]) -> bool | None:
    """Whether the statistics show the users ascending from part to part (no user in two parts); None
    when a part with rows has no statistics for its user column."""
    last = None
    for p in parts:
        if p.rows == 0:
            continue
        if p.users is None:
            return None
        if last is not None and p.users[0] <= last:
            return False
        last = p.users[1]
    return True


def check_ascending(ranges: list[tuple[int, int | None, int | None]], parts: list[Part]) -> None:
    """Refuse parts (rows, first user, last user) whose users do not ascend from part to part."""
    prev = None
    for (rows, first, last), part in zip(ranges, parts, strict=True):
        if not rows or first is None or last is None:
            continue
        if prev is not None and first <= prev[1]:
            raise InputError(
                f"file {str(part.path)!r} holds user {first}, but the earlier part {str(prev[0])!r} holds "
                f"users up to {prev[1]}: a directory of targets needs each user's rows in one part and the "
                f"parts in user order; {FIX}",
                fix=Fix(
                    "write one file with write_targets_parquet, which sorts the whole input",
                    "write one file instead (--out FILE.parquet), which sorts the whole input",
                ),
            )
        prev = (part.path, last)


# ---------------------------------------------------------------------------------------------------------
# Output directory

_WRITER = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:40] or "host"


@contextmanager
def output_dir(out: Path, overwrite: bool, inputs: list[Path]) -> Iterator[Path]:
    """Yield an empty build directory beside `out`; it becomes `out` only if the block finishes. `out` may
    not be a directory holding `inputs` (replacing it would delete them)."""
    if out.is_dir() and any(p.resolve().parent == out.resolve() for p in inputs):
        raise InputError(
            f"output directory {str(out)!r} holds the input part files; writing the targets there would "
            "replace them: choose another directory"
        )
    if out.exists() and not out.is_dir():
        raise InputError(
            f"output {str(out)!r} exists and is not a directory; a targets directory replaces only a "
            f"directory: {FIX}",
            fix=Fix(
                "choose another path, or write one file with write_targets_parquet",
                "choose another path, or one ending in .parquet to write one file",
            ),
        )
    if out.is_dir():
        old = sorted(p.name for p in out.iterdir())
        if old and not overwrite:
            raise InputError(
                f"output directory {str(out)!r} is not empty; {FIX} to replace it, or choose an empty or "
                "new directory",
                fix=OVERWRITE,
            )
        others = [n for n in old if not (n.endswith(".parquet") and (out / n).is_file())]
        if others:
            raise InputError(
                f"output directory {str(out)!r} holds {', '.join(others[:3])}, which are not targets part "
                "files; it is not replaced: choose another directory"
            )
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output directory {str(parent)!r} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"output directory {str(parent)!r} is not writable; choose another path")
    build = parent / f".{out.name}.tmp-{_WRITER}-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    try:
        yield build
        _replace_dir(build, out)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _replace_dir(build: Path, out: Path) -> None:
    """Move `build` to `out`, the old `out` (empty or checked to hold only part files) going first."""
    if not out.is_dir():
        os.replace(build, out)
        return
    trash = out.parent / f".{out.name}.old-{_WRITER}-{os.getpid()}"
    os.replace(out, trash)
    try:
        os.replace(build, out)
    except OSError:
        os.replace(trash, out)  # put the old one back
        raise
    shutil.rmtree(trash, ignore_errors=True)


__all__ = [
    "Part",
    "check_ascending",
    "check_rows",
    "footer",
    "input_files",
    "output_dir",
    "parts_of",
    "users_ascend",
]
