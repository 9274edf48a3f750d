"""The dataset summary: its figures (streamed part by part, checked against all rows at once), and a what-if
world flagged before them."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cardworld.codes import USE_CHIP
from cardworld.config import load_config
from cardworld.data.mcc import mcc_description
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io.dataset import read_dataset_transactions, read_table
from cardworld.labels import credit_tables
from cardworld.report.credit import credit_rates, rates_from_tables, table_rows
from cardworld.report.summary import NOT_REPRESENTATIVE, _Histogram, _mean, _median, summarize, what_ifs
from cardworld.sim.detectors import AmountRule

SMALL = {"consumers": 4, "start": "2019-01-01", "end": "2019-12-31", "seed": 3}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    d = tmp_path_factory.mktemp("summary")
    generate(load_config(**SMALL), d / "plain")
    what_if = {
        "rate": 0.01,
        "oversample_fraud": 4,
        "twins": True,
        "off_from": "2019-06-01",
        "off_to": "2019-07-31",
    }
    generate(load_config(**SMALL, fraud=what_if), d / "what_if", detector=AmountRule(2_000))
    return d


def test_a_default_world_is_not_flagged(worlds):
    s = summarize(worlds / "plain")
    assert NOT_REPRESENTATIVE not in s
    assert next(iter(s)) == "transactions"
    assert s["transactions"] == f"{read_dataset_transactions(worlds / 'plain').num_rows:,}"
    assert what_ifs(worlds / "plain") == []


def test_a_what_if_world_is_flagged_first_with_every_reason(worlds):
    s = summarize(worlds / "what_if")
    assert next(iter(s)) == NOT_REPRESENTATIVE
    assert s[NOT_REPRESENTATIVE].split("; ") == [
        "fraud oversampled x4",
        "fraud-free window 2019-06-01..2019-07-31",
        "twin fraudster populations (fraud.twins)",
        "fraud detector in the loop (AmountRule): fraud after its flags never happened",
    ]
    manifest = json.loads((worlds / "what_if" / "manifest.json").read_text())
    assert manifest["representative"] is False


@pytest.mark.parametrize(
    ("flag", "expected"), [(False, ["the manifest says representative: false"]), (True, [])]
)
def test_a_manifest_config_of_another_version_falls_back_to_its_flag(tmp_path, flag, expected):
    manifest = {"status": "complete", "shards": [], "config": {"a_future_key": 1}, "representative": flag}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert what_ifs(tmp_path) == expected


def test_a_directory_without_a_manifest_has_no_reasons(tmp_path):
    assert what_ifs(tmp_path) == []


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sharded") / "w"
    generate(load_config(consumers=9, shard_size=3, start="2018-01-01", end="2019-12-31", seed=5), out)
    return out


def _naive_figures(d: Path, top: int = 5) -> dict[str, str]:
    """The transaction figures from every part file at once, with plain Python (statistics, Counter)."""
    parts = sorted((d / "transactions").glob("part-*.parquet"))
    tx = pa.concat_tables([pq.read_table(p) for p in parts]).to_pydict()
    n = len(tx["amount"])
    cards = pq.read_table(d / "cards.parquet").to_pydict()
    chip = Counter(tx["use_chip"])
    mcc = sorted(Counter(tx["mcc"]).items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {
        "transactions": f"{n:,}",
        "consumers": f"{pq.read_metadata(d / 'consumers.parquet').num_rows:,}",
        "cards (card indexes)": f"{len(set(zip(cards['user_id'], cards['card_index'], strict=True))):,}",
        "cash purchases (cash.parquet)": f"{pq.read_metadata(d / 'cash.parquet').num_rows:,}",
        "first / last": f"{min(tx['timestamp']):%Y-%m-%d} / {max(tx['timestamp']):%Y-%m-%d}",
        **{k: f"{100 * chip[k] / n:.1f}%" for k in USE_CHIP},
        "amount mean / median": f"${statistics.fmean(tx['amount']):.2f} / ${statistics.median(tx['amount']):.2f}",
        "refunds": f"{100 * sum(a < 0 for a in tx['amount']) / n:.1f}%",
        "rows with errors": f"{100 * sum(e is not None for e in tx['errors']) / n:.2f}%",
        "fraud rate": f"{100 * sum(tx['is_fraud']) / n:.3f}%",
        **{f"MCC {c} {mcc_description(c)[:32]}": f"{100 * k / n:.1f}%" for c, k in mcc},
    }


def test_streamed_figures_match_a_computation_over_all_rows_at_once(sharded):
    assert len(list((sharded / "transactions").glob("part-*.parquet"))) == 3
    s = summarize(sharded)
    credit = {k: s.pop(k) for k in list(s) if k.startswith("credit ")}
    assert s == _naive_figures(sharded)
    assert len(credit) == 4


@pytest.mark.parametrize("n", [1, 2, 5, 6])
def test_the_median_and_mean_of_a_histogram_are_those_of_the_rows(n):
    rng = np.random.default_rng(n)
    rows = np.round(rng.choice([-5.0, 0.1, 0.2, 7.35, 12.5], size=n), 2)
    h = _Histogram()
    for part in np.array_split(rows, 3):
        h.add(part)
    values, counts = h.values_counts()
    assert int(counts.sum()) == n
    assert _median(values, counts, n) == statistics.median(rows.tolist())
    assert _mean(values, counts, n) == pytest.approx(statistics.fmean(rows.tolist()), rel=1e-15)


def test_credit_rates_read_a_chunk_of_accounts_at_a_time(sharded, monkeypatch):
    """One row group of statements per shard, read one at a time, gives exactly the rates of the whole
    table (balances are summed in whole cents, so the order does not matter)."""
    whole = rates_from_tables(pq.read_table(sharded / "statements.parquet"), read_table(sharded, "defaults"))
    monkeypatch.setattr(credit_tables, "CHUNK_ROWS", 1)
    assert len(list(credit_tables.statement_chunks(sharded, ["account_id"]))) == 3
    rates = credit_rates(sharded)
    assert rates.num_rows == 2
    assert min(rates["accounts"].to_pylist()) > 0
    assert rates.equals(whole)


def test_a_missing_table_is_named(sharded, tmp_path):
    with pytest.raises(InputError, match=r"cash\.parquet' is missing"):
        table_rows(tmp_path, "cash")
    assert table_rows(sharded, "consumers") == 9
