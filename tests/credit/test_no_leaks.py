"""No charge-off leaks in the account, card and transaction tables (the shared world of conftest.py).

Population: the credit accounts with statements; positive: charged off at some point (defaults.parquet).
Each column of accounts.parquet and of cards.parquet (the latest issue of each card index on those
accounts) must not separate them: single-column ROC-AUC (either sign) at most 0.7. Numbers and dates score
by value, strings of at most 20 categories by the category's charge-off rate (in-sample: optimistic),
other strings by their order. Ids and the documented debug-only columns (payment_habit, pay_share) are left
out (the money model's parameters: see DEBUG_ONLY). Measured here (2026-12-01): the highest is the
account's age (opened 0.642; acct_open_date, cards_issued close to it): an account open longer had more
months in which to be charged off.

consumers.parquet, per consumer holding such an account (positive: one of them charged off), is reported:
fico_score is predictive (the lower the score, the less resilient the budget) but does not separate
(measured 0.612); the highest are works 0.682 and work_start_hour 0.677 (only workers lose jobs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from credit_metrics import category_auc, single_column_auc

from cardworld.io.cards import latest_card_issues
from cardworld.io.dataset import list_shards, read_dataset_transactions, read_table
from cardworld.io.schema import TRANSACTIONS_SCHEMA

MAX_AUC = 0.7
CONSUMER_MAX_AUC = 0.85  # consumers: risk drivers (score, work) legitimately predict default
FICO_AUC = (0.55, 0.85)
IDS = {"account_id", "user_id", "card_index", "card_number"}
# The money model's behaviour parameters of accounts.parquet (documented debug-only, like fraudster_id):
# how the holder pays (payment_habit, pay_share) and is paid (pay_period_days: workers are paid weekly to
# twice a month, others monthly, and only workers lose jobs; paycheck_amount; initial_balance).
DEBUG_ONLY = {"payment_habit", "pay_share", "pay_period_days", "paycheck_amount", "initial_balance",
              "card_on_dark_web"}  # fmt: skip
CATEGORIES = 20


@pytest.fixture(scope="module")
def data(credit_world: Path) -> dict:
    billed = np.unique(read_table(credit_world, "statements", ["account_id"])["account_id"].to_numpy())
    defaults = read_table(credit_world, "defaults")
    charged = np.unique(defaults["account_id"].to_numpy())
    accounts = read_table(credit_world, "accounts")
    accounts = accounts.filter(pa.array(np.isin(accounts["account_id"].to_numpy(), billed)))
    cards = latest_card_issues(read_table(credit_world, "cards"))
    cards = cards.filter(pa.array(np.isin(cards["account_id"].to_numpy(), billed)))
    consumers = read_table(credit_world, "consumers")
    holders = np.isin(consumers["user_id"].to_numpy(), accounts["user_id"].to_numpy())
    consumers = consumers.filter(pa.array(holders))
    return {
        "accounts": (accounts, np.isin(accounts["account_id"].to_numpy(), charged)),
        "cards": (cards, np.isin(cards["account_id"].to_numpy(), charged)),
        "consumers": (consumers, np.isin(consumers["user_id"].to_numpy(), defaults["user_id"].to_numpy())),
    }


def _auc(col: pa.ChunkedArray, positive: np.ndarray) -> float:
    t = col.type
    if pa.types.is_date(t):
        return single_column_auc(col.cast(pa.int32()).to_numpy().astype(float), positive)
    if pa.types.is_timestamp(t):
        return single_column_auc(col.cast(pa.int64()).to_numpy().astype(float), positive)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return single_column_auc(np.asarray(col.to_numpy(zero_copy_only=False), dtype=float), positive)
    text = np.array([str(v) for v in col.to_pylist()])
    _, code = np.unique(text, return_inverse=True)
    if code.max() < CATEGORIES:
        return category_auc(code, positive)
    return single_column_auc(code.astype(float), positive)


def _separation(table: pa.Table, positive: np.ndarray) -> dict[str, float]:
    names = [n for n in table.column_names if n not in IDS | DEBUG_ONLY]
    return {n: round(_auc(table[n], positive), 3) for n in names}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["accounts", "cards"])
def test_no_account_or_card_column_separates_charged_off_accounts(data, name):
    table, positive = data[name]
    assert positive.sum() >= 50, positive.sum()  # both sides well populated
    assert (~positive).sum() >= 50, (~positive).sum()
    sep = _separation(table, positive)
    assert {"credit_limit", "opened" if name == "accounts" else "acct_open_date"} <= set(sep)
    leaks = {k: v for k, v in sep.items() if v > MAX_AUC}
    assert not leaks, (leaks, sep)


@pytest.mark.slow
def test_the_score_predicts_default_without_separating_it(data):
    table, positive = data["consumers"]
    assert positive.sum() >= 50, positive.sum()
    sep = _separation(table, positive)
    assert FICO_AUC[0] <= sep["fico_score"] <= FICO_AUC[1], sep
    # the direction: defaulters have the lower scores
    fico = table["fico_score"].to_numpy()
    assert np.median(fico[positive]) < np.median(fico[~positive])
    assert max(sep.values()) <= CONSUMER_MAX_AUC, sep


@pytest.mark.slow
def test_transactions_have_no_new_column(credit_world):
    for path in list_shards(credit_world)[:2]:
        assert pq.read_schema(path).names == TRANSACTIONS_SCHEMA.names
    assert read_dataset_transactions(credit_world).schema.equals(TRANSACTIONS_SCHEMA)
