"""A tiny world for the experiment's tests (the tiny preset's recipe), generated once per session."""

from __future__ import annotations

import pytest

from cardworld.experiment.presets import TINY


@pytest.fixture(autouse=True)
def _one_thread():
    """The experiment's tests train models: one torch thread each (the machine has 2 cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    from cardworld.config import load_config
    from cardworld.engine.run import generate

    out = tmp_path_factory.mktemp("experiment") / "world"
    generate(load_config(**TINY.world.overrides()), out, workers=1)
    return out


@pytest.fixture(scope="session")
def tiny_loaded(tiny_world):
    from cardworld.experiment.data import load_world
    from cardworld.experiment.inputs import row_columns

    world = load_world(tiny_world, TINY.test_from)
    return world, row_columns(world)
