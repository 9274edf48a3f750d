"""atomic_output: files are replaced whole or not at all; devices, FIFOs and links are never renamed over.

Real devices are only looked at (a failing block keeps anything from being renamed); anything written to
is a FIFO, a device node or a link made in tmp_path.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from cardworld.errors import InputError
from cardworld.io.atomic import atomic_output


class Boom(Exception):
    pass


def _write(path: Path, data: bytes, *, overwrite: bool = False) -> Path:
    with atomic_output(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
        return tmp


def _fail_inside(path: str | Path, exc: BaseException, seen: list[Path] | None = None) -> None:
    """Write part of the output, then fail inside the block."""
    with atomic_output(path, overwrite=True) as tmp:
        if seen is not None:
            seen.append(tmp)
        else:
            tmp.write_bytes(b"partial")
        raise exc


def _read_fifo_in_thread(path: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as f:  # blocks until the writer opens the FIFO
            got.append(f.read())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t, got


def test_a_new_file_appears_only_when_complete(tmp_path):
    out = tmp_path / "a.csv"
    with atomic_output(out) as tmp:
        tmp.write_bytes(b"x,y\n")
        assert not out.exists()
        assert tmp.parent == tmp_path
    assert out.read_bytes() == b"x,y\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_an_existing_file_needs_overwrite_and_survives_a_failure(tmp_path):
    out = tmp_path / "a.csv"
    out.write_bytes(b"old")
    with pytest.raises(InputError) as e:
        _write(out, b"new")
    assert "pass overwrite=True" in str(e.value)
    assert "pass --overwrite" in e.value.for_cli()
    with pytest.raises(Boom):
        _fail_inside(out, Boom())
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    _write(out, b"new", overwrite=True)
    assert out.read_bytes() == b"new"


def test_a_directory_is_refused_even_with_overwrite(tmp_path):
    with pytest.raises(InputError, match="is a directory; give a file path"):
        _write(tmp_path, b"x", overwrite=True)
    with pytest.raises(InputError, match="is a directory"):
        _write(tmp_path, b"x")  # not "already exists; pass overwrite=True", which would not help


def test_a_missing_directory_is_named(tmp_path):
    with pytest.raises(InputError, match="does not exist; create it first"):
        _write(tmp_path / "no" / "a.csv", b"x")


def test_a_fifo_is_written_directly_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader, got = _read_fifo_in_thread(fifo)
    used = _write(fifo, b"a,b\n1,2\n", overwrite=True)
    reader.join(timeout=30)
    assert used == fifo  # the FIFO itself, not a temporary file renamed over it
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got == [b"a,b\n1,2\n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_fifo_needs_no_overwrite(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader, got = _read_fifo_in_thread(fifo)
    _write(fifo, b"z")  # writing into a stream replaces nothing
    reader.join(timeout=30)
    assert got == [b"z"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_character_device_node_is_written_directly(tmp_path):
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    except (PermissionError, OSError) as e:
        pytest.skip(f"cannot make a device node here ({e})")
    _write(node, b"discarded", overwrite=True)
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert os.lstat(node).st_rdev == os.makedev(1, 3)


def test_dev_null_is_yielded_itself(tmp_path):
    # Read-only for /dev: the block fails, so nothing is renamed whatever atomic_output yields.
    before = os.lstat("/dev/null")
    assert stat.S_ISCHR(before.st_mode)
    seen: list[Path] = []
    with pytest.raises(Boom):
        _fail_inside("/dev/null", Boom(), seen)  # nothing is written to it
    assert seen == [Path("/dev/null")]
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(path))
        with pytest.raises(InputError, match="is a socket; give a file path"):
            _write(path, b"x", overwrite=True)
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        s.close()


def test_a_symlink_stays_a_link_and_its_file_is_replaced(tmp_path):
    target = tmp_path / "data" / "real.csv"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    with pytest.raises(InputError, match="already exists"):
        _write(link, b"new")
    used = _write(link, b"new", overwrite=True)
    assert used.parent == target.parent  # the temporary file sits beside the real file (same filesystem)
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.csv"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "made.csv")
    _write(link, b"x")
    assert link.is_symlink()
    assert (tmp_path / "made.csv").read_bytes() == b"x"


def test_a_symlink_to_a_fifo_writes_the_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "out"
    link.symlink_to(fifo)  # like /dev/stdout -> /proc/self/fd/1 when stdout is a pipe
    reader, got = _read_fifo_in_thread(fifo)
    _write(link, b"q")
    reader.join(timeout=30)
    assert got == [b"q"]
    assert link.is_symlink()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_full_disk_is_an_error_naming_the_output(tmp_path):
    out = tmp_path / "a.csv"
    out.write_bytes(b"old")
    with pytest.raises(InputError, match=r"writing output '.*a\.csv' failed: No space left") as e:
        _fail_inside(out, OSError(errno.ENOSPC, "No space left on device"))
    assert "free some space" in str(e.value)
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
