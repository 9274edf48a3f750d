"""Stopping a pool: the queue feeder thread's closed-pipe OSError (a CPython race) prints nothing, and any
other thread's error still does."""

from __future__ import annotations

import errno
import threading

from cardworld.engine.run import _quiet_feeder_races


def _raise_in_thread(name: str, exc: BaseException) -> None:
    def boom() -> None:
        raise exc

    t = threading.Thread(target=boom, name=name)
    t.start()
    t.join()


def test_only_the_feeder_threads_closed_pipe_error_is_dropped(capsys, monkeypatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.thread.name))
    _quiet_feeder_races()
    _quiet_feeder_races()  # idempotent: one wrapper, not two
    _raise_in_thread("QueueFeederThread", OSError(errno.EBADF, "Bad file descriptor"))
    _raise_in_thread("QueueFeederThread", OSError(errno.EPIPE, "Broken pipe"))
    assert seen == []
    _raise_in_thread("QueueFeederThread", ValueError("a real bug"))
    _raise_in_thread("other", OSError(errno.EBADF, "Bad file descriptor"))
    assert seen == ["QueueFeederThread", "other"]
