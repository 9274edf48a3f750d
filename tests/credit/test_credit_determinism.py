"""The credit cycle's determinism, and what turning it off changes.

Small worlds (12 consumers over 2015-2018, 4 consumers a shard: 3 shards) with life events ten times as
frequent as the public rates, so a few accounts are charged off:
  * statements.parquet and defaults.parquet are byte-identical with 1 and 2 workers;
  * with credit.enabled false both tables are empty (contract schema), the transactions differ (distress
    thins discretionary spending, adds money transfers and moves purchases to credit cards), and the
    consumers and accounts tables are byte-identical. cards.parquet is byte-identical too when fraud is off;
    with fraud on it differs only in issues: a genuine purchase may leak its card, and the purchases differ,
    so replacements after fraud come at other times. Each card index keeps its account, kind, brand, limit,
    opening date and first issue.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.io.dataset import list_shards, read_dataset_transactions, read_table, table_path
from cardworld.io.schema import DEFAULTS_SCHEMA, STATEMENTS_SCHEMA

WORLD = {"consumers": 12, "start": "2015-01-01", "end": "2018-12-31", "seed": 3, "shard_size": 4}
CREDIT = {"default_multiplier": 10.0}
CARD_INDEX = [
    "user_id",
    "card_index",
    "account_id",
    "card_type",
    "card_brand",
    "credit_limit",
    "acct_open_date",
]
FIRST_ISSUE = ["card_number", "expires", "cvv", "valid_from"]


def _world(root: Path, name: str, *, workers: int = 1, enabled: bool = True, fraud: bool = True) -> Path:
    out = root / name
    cfg = load_config(**WORLD, credit={**CREDIT, "enabled": enabled}, fraud={"enabled": fraud})
    generate(cfg, out, workers=workers)
    return out


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("credit_det")
    return {
        "one": _world(root, "one"),
        "two": _world(root, "two", workers=2),
        "off": _world(root, "off", enabled=False),
        "no_fraud": _world(root, "no_fraud", fraud=False),
        "no_fraud_off": _world(root, "no_fraud_off", enabled=False, fraud=False),
    }


def _bytes(world: Path, name: str) -> bytes:
    return table_path(world, name).read_bytes()


@pytest.mark.slow
def test_credit_tables_are_byte_identical_whatever_the_workers(worlds):
    one, two = worlds["one"], worlds["two"]
    assert len(list_shards(two)) == 3
    assert read_table(two, "defaults").num_rows >= 1  # a charge-off is compared, not only statements
    assert read_table(two, "statements").num_rows > 100
    for name in ("statements", "defaults"):
        assert _bytes(one, name) == _bytes(two, name), name


@pytest.mark.slow
def test_the_cycle_off_leaves_empty_tables_and_other_spending(worlds):
    on, off = worlds["two"], worlds["off"]
    for name, schema in (("statements", STATEMENTS_SCHEMA), ("defaults", DEFAULTS_SCHEMA)):
        table = read_table(off, name)
        assert table.num_rows == 0
        assert table.schema.equals(schema), name
    tx_on, tx_off = read_dataset_transactions(on), read_dataset_transactions(off)
    assert not tx_on.equals(tx_off)
    # distress adds money transfers (MCC 4829): more of them with the cycle on
    transfers = [pc.sum(pc.equal(t["mcc"], 4829)).as_py() for t in (tx_on, tx_off)]
    assert transfers[0] > transfers[1], transfers
    for name in ("consumers", "accounts"):
        assert _bytes(on, name) == _bytes(off, name), name


@pytest.mark.slow
def test_cards_are_unchanged_by_the_cycle_but_for_fraud_replacements(worlds):
    assert _bytes(worlds["no_fraud"], "cards") == _bytes(worlds["no_fraud_off"], "cards")
    assert not read_dataset_transactions(worlds["no_fraud"]).equals(
        read_dataset_transactions(worlds["no_fraud_off"])
    )
    on, off = read_table(worlds["two"], "cards"), read_table(worlds["off"], "cards")

    def first_issues(cards: pa.Table) -> pa.Table:
        first = cards.filter(pc.equal(cards["cards_issued"], 1))
        return first.select(CARD_INDEX + FIRST_ISSUE)

    assert first_issues(on).equals(first_issues(off))
    key = [
        np.unique(t["user_id"].to_numpy().astype(np.int64) * 16 + t["card_index"].to_numpy())
        for t in (on, off)
    ]
    assert np.array_equal(*key)
