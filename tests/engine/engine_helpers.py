"""Helpers shared by the engine tests: a shard that fails on purpose, a port nobody listens on."""

from __future__ import annotations

import socket

import cardworld.engine.run as run_mod


def stop_at_shard(monkeypatch, stop: int, exc: BaseException) -> None:
    """Make shard `stop` raise `exc` (the shards before it run for real, in order, in this process)."""
    real = run_mod.run_shard

    def fake(cfg, k, out_dir, detector=None):
        if k == stop:
            raise exc
        return real(cfg, k, out_dir, detector)

    monkeypatch.setattr(run_mod, "run_shard", fake)


def closed_port() -> int:
    """A local TCP port that was free a moment ago (nothing listens on it)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
