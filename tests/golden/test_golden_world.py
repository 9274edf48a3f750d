"""Golden test: a tiny world pinned by a hash of every table's decoded column values.

It catches any unintended change to what `generate` writes. The hashes cover the values, not the file
bytes (those depend on the pyarrow version): per column, its name and its values as Python objects
(floats via repr to 9 significant digits, dictionary columns decoded, timestamps as datetimes), in row
order.

When an output change is MEANT (a model change, a new column), re-pin and commit the JSON with it:

    CARDWORLD_REPIN_GOLDEN=1 .venv/bin/python -m pytest -q tests/golden

That rewrites tests/golden/golden_world.json with the current hashes and the numpy, pyarrow and
cardworld versions they were made with. A mismatch under other numpy/pyarrow versions than the recorded
ones may come from the libraries, not from cardworld; the failure message says so.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import cardworld
from cardworld.config import load_config
from cardworld.engine.run import generate

GOLDEN = Path(__file__).with_name("golden_world.json")
REPIN = "CARDWORLD_REPIN_GOLDEN"
# 12 consumers in 2 shards over 3 years; fraud and defaults over-sampled so that fraud rows and
# charge-offs exist.
CFG = {
    "consumers": 12,
    "shard_size": 6,
    "start": "2014-01-01",
    "end": "2016-12-31",
    "seed": 2,
    "fraud": {"oversample_fraud": 4.0},
    "credit": {"default_multiplier": 10.0},
}


# Floats are hashed to 9 significant digits: numpy's exp and log take CPU-specific SIMD paths (AVX-512 or
# AVX2) that differ in the last bit, so the same code gives bit-different floats on two CPUs. Any model
# change moves values far more than 1e-9; a last-bit difference lands on a 9-digit rounding boundary
# with odds of about 1e-7 per value.
FLOAT_DIGITS = 9


def _canonical(v: object) -> object:
    return float(f"{v:.{FLOAT_DIGITS}g}") if isinstance(v, float) else v


def column_hash(name: str, col: pa.ChunkedArray) -> str:
    """sha256 (16 hex digits) of a column's name and its decoded values, repr'd as Python objects (floats
    to FLOAT_DIGITS significant digits)."""
    h = hashlib.sha256(name.encode())
    h.update(repr([_canonical(v) for v in col.to_pylist()]).encode())
    return h.hexdigest()[:16]


def world_hashes(world: Path) -> dict[str, dict[str, str]]:
    """{relative parquet path: {column: hash}} for every table of a dataset directory."""
    out = {}
    for p in sorted(world.rglob("*.parquet")):
        t = pq.read_table(p)
        cols = {name: column_hash(name, t.column(name)) for name in t.column_names}
        out[p.relative_to(world).as_posix()] = {"rows": str(t.num_rows), **cols}
    return out


def versions() -> dict[str, str]:
    return {"numpy": np.__version__, "pyarrow": pa.__version__, "cardworld": cardworld.__version__}


def _major_minor(v: str) -> str:
    return ".".join(v.split(".")[:2])


def diff_hashes(want: dict[str, dict[str, str]], got: dict[str, dict[str, str]]) -> list[str]:
    """What changed, one line per table: missing/new tables, and the columns whose hash differs."""
    lines = []
    for table in sorted(set(want) | set(got)):
        if table not in got:
            lines.append(f"{table}: missing from the output")
        elif table not in want:
            lines.append(f"{table}: new table, not pinned")
        else:
            w, g = want[table], got[table]
            changed = sorted(c for c in set(w) | set(g) if w.get(c) != g.get(c))
            if changed:
                lines.append(f"{table}: columns changed: {', '.join(changed)}")
    return lines


def version_note(recorded: dict[str, str]) -> str:
    now = versions()
    odd = [
        f"{lib} {recorded.get(lib)} -> {now[lib]}"
        for lib in ("numpy", "pyarrow")
        if _major_minor(str(recorded.get(lib))) != _major_minor(now[lib])
    ]
    if not odd:
        return ""
    return f" Note: pinned with other library versions ({'; '.join(odd)}); the change may come from them."


@pytest.fixture(scope="module")
def golden_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "world"
    generate(load_config(**CFG), out, workers=1)  # one worker keeps it ~3 s, in `make test-fast`
    return out


def test_tiny_world_matches_golden_hashes(golden_world):
    got = world_hashes(golden_world)
    fraud = [pq.read_table(p).column("is_fraud") for p in (golden_world / "transactions").glob("*.parquet")]
    assert any(pc.any(f).as_py() for f in fraud), "the golden world must contain fraud rows"
    assert pq.read_table(golden_world / "defaults.parquet").num_rows > 0, "... and charge-offs"
    if os.environ.get(REPIN) == "1":
        GOLDEN.write_text(json.dumps({"versions": versions(), "tables": got}, indent=1) + "\n")
        pytest.skip(f"re-pinned {GOLDEN.name}")
    pinned = json.loads(GOLDEN.read_text())
    changes = diff_hashes(pinned["tables"], got)
    assert not changes, (
        "generate's output changed: "
        + " | ".join(changes)
        + f". If the change is intended, re-pin with {REPIN}=1 pytest tests/golden and commit the JSON."
        + version_note(pinned["versions"])
    )


def test_diff_hashes_names_changed_tables_and_columns():
    want = {"a.parquet": {"x": "1", "y": "2"}, "b.parquet": {"z": "3"}}
    got = {"a.parquet": {"x": "1", "y": "9", "w": "4"}, "c.parquet": {"z": "3"}}
    assert diff_hashes(want, got) == [
        "a.parquet: columns changed: w, y",
        "b.parquet: missing from the output",
        "c.parquet: new table, not pinned",
    ]
    assert diff_hashes(want, want) == []


def test_column_hash_sees_values_order_and_name_not_encoding():
    plain = pa.chunked_array([pa.array(["a", "b", "a"])])
    dictionary = pa.chunked_array([pa.array(["a", "b", "a"]).dictionary_encode()])
    assert column_hash("c", plain) == column_hash("c", dictionary)  # decoded values, not the encoding
    assert column_hash("c", plain) != column_hash("d", plain)
    assert column_hash("c", plain) != column_hash("c", pa.chunked_array([pa.array(["b", "a", "a"])]))
    f1 = pa.chunked_array([pa.array([0.1 + 0.2])])
    f2 = pa.chunked_array([pa.array([0.3])])
    assert column_hash("f", f1) == column_hash("f", f2)  # one ulp apart (a CPU's SIMD exp) is no change
    f3 = pa.chunked_array([pa.array([0.3 * (1 + 1e-8)])])
    assert column_hash("f", f1) != column_hash("f", f3)  # a relative change of 1e-8 is


def test_version_note_only_when_major_minor_differ():
    now = versions()
    assert version_note(dict(now)) == ""
    assert "numpy 0.1.0 ->" in version_note({**now, "numpy": "0.1.0"})
