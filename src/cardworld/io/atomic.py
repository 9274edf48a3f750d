"""Atomic output: write to a temporary name beside the target, rename on success, remove on failure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cardworld.errors import FIX, OVERWRITE, InputError


@contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces `path` only if the block finishes without error."""
    out = Path(path)
    if out.exists() and not overwrite:
        raise InputError(f"output {str(out)!r} already exists; {FIX} or choose another path", fix=OVERWRITE)
    if out.is_dir():
        raise InputError(f"output {str(out)!r} is a directory; give a file path")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output directory {str(parent)!r} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output directory {str(parent)!r} is not writable")
    tmp = parent / f".{out.name}.tmp-{os.getpid()}"
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
