"""The credit tests' shared world: 500 consumers over 2006-2019 with life events four times as frequent as
the public rates (credit.default_multiplier 4), for enough charge-offs (about 140 accounts) to measure
learnability and leaks; it generates in about 15-25 s on 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate

CREDIT_WORLD = {"consumers": 500, "start": "2006-01-01", "end": "2019-12-31", "seed": 0,
                "credit": {"default_multiplier": 4.0}}  # fmt: skip


@pytest.fixture(scope="session")
def credit_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("credit") / "world"
    generate(load_config(**CREDIT_WORLD), out, workers=2)
    return out
