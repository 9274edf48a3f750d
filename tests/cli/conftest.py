"""Fixtures of the CLI tests: a small transactions file and a target spec file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import SPEC


@pytest.fixture
def tx_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 300
    user = np.sort(rng.integers(0, 7, n))
    t = np.datetime64("2021-03-01T00:00", "s").astype(np.int64) + rng.integers(0, 40 * 86400, n)
    order = np.lexsort((t, user))
    table = pa.table(
        {
            "user_id": user[order],
            "timestamp": pa.array(t[order].astype("datetime64[s]")),
            "amount": np.round(rng.lognormal(3, 1, n), 2)[order],
            "mcc": rng.choice(np.array([5411, 5812, 5541], dtype=np.int16), n)[order],
        }
    )
    path = tmp_path / "tx.parquet"
    pq.write_table(table, path)
    return path


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    p = tmp_path / "targets.yaml"
    p.write_text(SPEC)
    return p
