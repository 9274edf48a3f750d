"""Helpers shared by the engine tests: a shard that fails on purpose, a detector that holds the later
shards in a pool, a port nobody listens on."""

from __future__ import annotations

import multiprocessing as mp
import socket
import time

import cardworld.engine.run as run_mod


def stop_at_shard(monkeypatch, stop: int, exc: BaseException) -> None:
    """Make shard `stop` raise `exc` (the shards before it run for real, in order, in this process)."""
    real = run_mod.run_shard

    def fake(cfg, k, out_dir, detector=None):
        if k == stop:
            raise exc
        return real(cfg, k, out_dir, detector)

    monkeypatch.setattr(run_mod, "run_shard", fake)


_held: set[int] = set()


def hold_later_shards_in_a_pool(card) -> None:
    """A detector that flags nothing. In a pool worker it holds each consumer but user 0 for 5 s (once):
    with shard_size 1, shard 0 is in while the later shards are still running, however fast they are.
    Run in this process (workers=1, as a resume is here) it holds nothing."""
    if card.user_id != 0 and mp.parent_process() is not None and card.user_id not in _held:
        _held.add(card.user_id)
        time.sleep(5)


def closed_port() -> int:
    """A local TCP port that was free a moment ago (nothing listens on it)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
