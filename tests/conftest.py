"""Fixtures every test directory may use."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def warm_world_kernels(tmp_path_factory) -> None:
    """Compile and cache the world's numba kernels, in this process and in a pool's worker processes, for
    tests that time the engine (Ctrl-C, a worker killed after the first shard). From a fresh clone the
    caches are cold, and each worker's first shard compiles for tens of seconds on a loaded 2-core
    machine, which shifts when shards finish against each other. Those tests are about the engine, not
    about the first compile."""
    from cardworld.config import load_config
    from cardworld.engine.run import generate

    cfg = load_config(consumers=2, shard_size=1, start="2010-01-01", end="2019-12-31", seed=1)
    generate(cfg, tmp_path_factory.mktemp("warm") / "world", workers=2)
