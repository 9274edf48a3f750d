"""Atomic output: write to a temporary name beside the target, rename on success, remove on failure.

A target that is a stream rather than a file (a character device such as /dev/null or a terminal, a FIFO,
or a pipe reached through /dev/stdout) is written directly: renaming over it would replace the device
node or FIFO with a regular file. A symbolic link is followed: the temporary file goes beside the file it
points to and replaces that file, so the link stays a link.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cardworld.errors import FIX, OVERWRITE, InputError

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
# The host goes into temp names: Dask workers on several nodes may write (and retry) the same shard on one
# shared filesystem, where process ids alone can collide.
_WRITER = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:40] or "host"


@contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a path to write; it replaces `path` only if the block finishes without error.

    For a character device or FIFO the path itself is yielded (it is written in place; nothing there is
    replaced, so `overwrite` is not needed, and a failure may leave part of the output in the stream).
    """
    out = Path(path)
    mode = _mode(out)
    if mode is not None and _is_stream(mode):
        with _named(out):
            yield out
        return
    _check_target(out, mode, overwrite)
    target = Path(os.path.realpath(out)) if out.is_symlink() else out  # replace the file, keep the link
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output directory {str(parent)!r} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output directory {str(parent)!r} is not writable; choose another path")
    tmp = parent / f".{target.name}.tmp-{_WRITER}-{os.getpid()}"
    try:
        with _named(out):
            yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_output(path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """The errors atomic_output would raise for `path`, raised now: before a long job, not after it."""
    out = Path(path)
    mode = _mode(out)
    if mode is not None and _is_stream(mode):
        return
    _check_target(out, mode, overwrite)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output directory {str(parent)!r} does not exist; create it first")


def _mode(out: Path) -> int | None:
    """st_mode of what `out` names (links followed), or None when nothing is there."""
    try:
        return os.stat(out).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(
            f"output {str(out)!r} cannot be inspected ({e.strerror}); choose another path"
        ) from e


def _is_stream(mode: int) -> bool:
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _check_target(out: Path, mode: int | None, overwrite: bool) -> None:
    """Refuse what must not be replaced: directories, block devices, sockets; files unless `overwrite`."""
    if mode is None:
        return
    if stat.S_ISDIR(mode):
        raise InputError(f"output {str(out)!r} is a directory; give a file path")
    if not stat.S_ISREG(mode):
        kind = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file"
        raise InputError(f"output {str(out)!r} is {kind}; give a file path (or a FIFO, or /dev/stdout)")
    if not overwrite:
        raise InputError(f"output {str(out)!r} already exists; {FIX} or choose another path", fix=OVERWRITE)


@contextmanager
def _named(out: Path) -> Iterator[None]:
    """A full disk while writing becomes an error naming the output (not a traceback)."""
    try:
        yield
    except OSError as e:
        if e.errno not in _NO_SPACE:
            raise
        raise InputError(
            f"writing output {str(out)!r} failed: {e.strerror or e}; free some space or choose another path"
        ) from e


__all__ = ["atomic_output", "check_output"]
