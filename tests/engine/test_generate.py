"""A small world end to end: invariants of the dataset contract and the determinism contract."""

import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import CardworldError
from cardworld.io.dataset import read_table
from cardworld.io.schema import SCHEMAS

CFG = {"consumers": 12, "shard_size": 4, "start": "2012-01-01", "end": "2018-12-31", "seed": 7}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("w") / "world"
    generate(load_config(**CFG), out, workers=1)
    return out


def _tx(world: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted((world / "transactions").glob("*.parquet"))])


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_directory_layout_and_manifest(world):
    import json

    m = json.loads((world / "manifest.json").read_text())
    assert m["status"] == "complete"
    assert m["seed"] == 7
    assert [s["index"] for s in m["shards"]] == [0, 1, 2]
    for name in ("consumers", "cards", "accounts", "trips", "cash", "merchants", "fraudsters"):
        assert (world / f"{name}.parquet").is_file()
    assert not (world / "_staging").exists()
    assert not (world / ".build").exists()
    assert sum(s["rows"] for s in m["shards"]) == _tx(world).num_rows > 1000


def test_transaction_invariants(world):
    t = _tx(world)
    u = t["user_id"].to_numpy()
    ts = t["timestamp"].cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    assert ((np.diff(u) > 0) | ((np.diff(u) == 0) & (np.diff(ts) >= 0))).all()  # sorted by (user, time)
    assert (ts % 60 == 0).all()
    amt = t["amount"].to_numpy()
    np.testing.assert_array_equal(np.round(amt, 2), amt)  # 2 decimals
    chip = np.array(t["use_chip"].to_pylist())
    city = np.array(t["merchant_city"].to_pylist(), dtype=object)
    state = np.array(t["merchant_state"].to_pylist(), dtype=object)
    zips = np.array(t["zip"].to_pylist(), dtype=object)
    online = chip == "Online Transaction"
    assert (city[online] == "ONLINE").all()
    assert all(s is None for s in state[online])
    assert all(z is None for z in zips[online])
    us = np.array([s is not None and len(s) == 2 for s in state])
    foreign = ~online & ~us
    assert all(z is None for z in zips[foreign])  # abroad: country name, no ZIP
    assert all(z is not None and len(z) == 5 for z in zips[us])
    # Chip only from the 2015 liability shift, and only on chip cards.
    years = ts // 86400 // 365.25 + 1970
    assert years[chip == "Chip Transaction"].min() >= 2015
    # Merchant -> MCC is a function.
    mid, mcc = t["merchant_id"].to_numpy(), t["mcc"].to_numpy()
    pairs = np.unique(np.stack([mid, mcc], 1), axis=0)
    assert np.unique(pairs[:, 0]).size == pairs.shape[0]


def test_cards_used_only_while_active_and_chip_only_on_chip_cards(world):
    t = _tx(world)
    cards = pq.read_table(world / "cards.parquet")
    vf = cards["valid_from"].cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    vt = cards["valid_to"].cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    cu, ci, chip = cards["user_id"].to_numpy(), cards["card_index"].to_numpy(), cards["has_chip"].to_numpy()
    u, c = t["user_id"].to_numpy(), t["card_id"].to_numpy()
    ts = t["timestamp"].cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    is_chip = np.array(t["use_chip"].to_pylist()) == "Chip Transaction"
    for i in range(0, t.num_rows, 7):  # a systematic sample keeps the test fast
        m = (cu == u[i]) & (ci == c[i]) & (vf <= ts[i]) & (ts[i] < vt)
        assert m.sum() == 1, i  # exactly one issue of that card is in use
        if is_chip[i]:
            assert chip[m][0]


def test_ids_unique(world):
    cons = pq.read_table(world / "consumers.parquet")
    assert np.array_equal(cons["user_id"].to_numpy(), np.arange(12))
    cards = pq.read_table(world / "cards.parquet")
    key = np.stack(
        [cards["user_id"].to_numpy(), cards["card_index"].to_numpy(), cards["cards_issued"].to_numpy()], 1
    )
    assert np.unique(key, axis=0).shape[0] == cards.num_rows
    merchants = pq.read_table(world / "merchants.parquet")
    assert np.unique(merchants["merchant_id"].to_numpy()).size == merchants.num_rows
    assert set(_tx(world)["merchant_id"].to_numpy().tolist()) <= set(
        merchants["merchant_id"].to_numpy().tolist()
    )


@pytest.mark.slow
def test_byte_identical_across_workers_and_shard_order(world, tmp_path):
    a = _files(world)
    peaks: dict[str, int] = {}
    generate(load_config(**CFG), tmp_path / "w2", workers=2, worker_peaks=peaks)
    assert _files(tmp_path / "w2") == a
    # The pool's workers, by pid (not this process), each with its peak RSS in bytes: a Python process
    # holding numpy, pyarrow and numba is far above 20 MiB (in KiB the same number would be below it).
    assert 1 <= len(peaks) <= 2, peaks
    for key, peak in peaks.items():
        assert re.fullmatch(r"pid-\d+", key), key
        assert int(key[4:]) != os.getpid()
        assert 20 * 2**20 < peak < 64 * 2**30, (key, peak)
    in_process: dict[str, int] = {}
    generate(load_config(**CFG), tmp_path / "w3", workers=1, order=[2, 0, 1], worker_peaks=in_process)
    assert _files(tmp_path / "w3") == a
    assert in_process == {}  # the shards ran in this process: its own peak is the caller's to take
    generate(load_config(**{**CFG, "seed": 8}), tmp_path / "w4", workers=1)
    assert _files(tmp_path / "w4") != a


def test_refuses_non_empty_output(world):
    with pytest.raises(CardworldError, match="overwrite"):
        generate(load_config(**CFG), world)


def test_cash_has_the_transaction_columns_that_apply_with_their_exact_types(world):
    """cash.parquet: the transactions' columns without a card, as stored in the shard files, nothing else."""
    cash = pq.read_schema(world / "cash.parquet")
    tx = pq.read_schema(world / "transactions" / "part-00000.parquet")
    expected = [
        "user_id",
        "timestamp",
        "amount",
        "merchant_id",
        "merchant_city",
        "merchant_state",
        "zip",
        "mcc",
    ]
    assert cash.names == expected
    for name in expected:
        assert cash.field(name).type == tx.field(name).type, name
        assert cash.field(name).nullable == tx.field(name).nullable, name
    assert read_table(world, "cash").schema.equals(SCHEMAS["cash"])  # contract types, no extra column
    assert pq.read_metadata(world / "cash.parquet").num_rows > 0


def test_polars_combines_cash_with_transactions(world):
    pl = pytest.importorskip("polars")
    tx = pl.read_parquet(world / "transactions" / "part-00000.parquet")
    cash = pl.read_parquet(world / "cash.parquet")
    both = pl.concat([tx, cash], how="diagonal_relaxed")
    assert both.columns == tx.columns
    assert both.height == tx.height + cash.height
    assert both.schema == tx.schema  # cash takes the transactions' types (use_chip stays categorical)
    card_only = ["card_id", "use_chip", "errors", "is_fraud", "fraudster_id"]
    assert both.tail(cash.height).select(pl.col(card_only).is_null().all()).row(0) == (True,) * 5
