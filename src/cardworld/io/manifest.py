"""The manifest of a dataset directory: DIR/manifest.json (version, resolved config, seed, shard plan, shards,
tables, status), written atomically with sorted keys and read back with checks that name the file."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cardworld.errors import InputError
from cardworld.io.atomic import atomic_output

MANIFEST = "manifest.json"
FORMAT = "cardworld-dataset"
FORMAT_VERSION = 1
STATUSES = ("partial", "complete")


def new_manifest(
    *,
    config: Mapping[str, Any],
    seed: int,
    shard_plan: Any,
    status: str = "partial",
) -> dict[str, Any]:
    """A manifest with no shards or tables yet; fill it with add_shard / add_table."""
    from cardworld import __version__

    _check_status(status, "new_manifest")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cardworld_version": __version__,
        "config": dict(config),
        "seed": int(seed),
        "shard_plan": shard_plan,
        "shards": [],
        "tables": {},
        "status": status,
    }


def write_manifest(out_dir: str | os.PathLike, manifest: Mapping[str, Any]) -> Path:
    """Write DIR/manifest.json atomically: sorted keys, indent 2, a final newline.

    numpy scalars and arrays, paths, dates and sets are written as JSON numbers, strings and lists.
    """
    if "status" in manifest:
        _check_status(manifest["status"], "manifest")
    try:
        text = json.dumps(manifest, sort_keys=True, indent=2, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InputError(
            f"the manifest cannot be written as JSON ({e}); the config and shard plan must hold only "
            "numbers, strings, booleans, None, lists and dicts with string keys"
        ) from e
    path = Path(out_dir) / MANIFEST
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return path


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check DIR/manifest.json; errors name the file and what is wrong."""
    d = Path(directory)
    path = d / MANIFEST
    if not d.is_dir():
        raise InputError(
            f"dataset directory {str(d)!r} does not exist; pass a directory written by cardworld"
        )
    if not path.is_file():
        raise InputError(
            f"{str(path)!r} does not exist: {str(d)!r} is not a cardworld dataset directory "
            "(or its run was interrupted before the first shard); pass the directory a run wrote"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(
            f"{str(path)!r} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); "
            "the file is damaged: re-run the dataset"
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{str(path)!r} could not be read ({e})") from e
    if not isinstance(manifest, dict):
        raise InputError(f"{str(path)!r} holds a JSON {type(manifest).__name__}, not an object; re-run")
    for key in ("status", "shards"):
        if key not in manifest:
            raise InputError(f"{str(path)!r} has no {key!r} entry; it is not a cardworld manifest")
    _check_status(manifest["status"], str(path))
    shards = manifest["shards"]
    if not isinstance(shards, list):
        raise InputError(f"{str(path)!r}: 'shards' must be a list of shard records")
    for i, s in enumerate(shards):
        if not isinstance(s, dict) or not {"index", "file", "rows", "sha256"} <= set(s):
            raise InputError(
                f"{str(path)!r}: shards[{i}] must be an object with index, file, rows and sha256"
            )
    return manifest


def _check_status(status: Any, where: str) -> None:
    if status not in STATUSES:
        raise InputError(f"{where}: status {status!r} is not one of {', '.join(STATUSES)}")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    if isinstance(o, dt.date | dt.datetime | dt.time):
        return o.isoformat()
    if isinstance(o, set | frozenset):
        return sorted(o)
    raise TypeError(f"{type(o).__name__} {o!r} is not JSON serialisable")


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "STATUSES",
    "new_manifest",
    "read_manifest",
    "write_manifest",
]
