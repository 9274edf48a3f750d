"""The README's benchmark tables come from benchmarks/*.json: each file's Markdown (bench.tables) is in
README.md exactly. After a new benchmark run, paste `cardworld bench table benchmarks/*.json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardworld.bench.tables import markdown_table

ROOT = Path(__file__).resolve().parents[2]
RESULTS = sorted((ROOT / "benchmarks").glob("*.json"))


@pytest.mark.skipif(not RESULTS, reason="benchmarks/ holds no JSON yet (make bench writes it)")
@pytest.mark.parametrize("path", RESULTS, ids=[p.name for p in RESULTS])
def test_readme_holds_the_table_of(path: Path):
    expected = markdown_table(json.loads(path.read_text()))
    readme = (ROOT / "README.md").read_text()
    assert expected in readme, (
        f"README.md does not hold the table of benchmarks/{path.name}; paste the output of "
        f"`cardworld bench table benchmarks/{path.name}`:\n\n{expected}"
    )
