"""Comparing with another dataset: what a target is, exact uniform row samples, tables side by side, the
SDMetrics fidelity score, and a world's TabFormer export measured like the world itself."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pyarrow as pa
import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io.tabformer import export_tabformer
from cardworld.report.compare import (
    RowSampler,
    compare_measures,
    fidelity,
    fidelity_frame,
    figures_table,
    pair_tables,
    resolve_target,
    sample_rows,
    side_by_side,
)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def secs(*args: int) -> int:
    return int((dt.datetime(*args, tzinfo=dt.UTC) - EPOCH).total_seconds())


def numbered(n: int, *, batch: int) -> list[pa.Table]:
    """Tables of rows 0..n-1 (column "i"), `batch` rows each."""
    return [pa.table({"i": np.arange(a, min(a + batch, n))}) for a in range(0, n, batch)]


# ---------------------------------------------------------------------------------------------------------
# Targets


def test_targets_are_datasets_csvs_or_directories_holding_one_csv(tmp_path):
    with pytest.raises(InputError, match="does not exist; pass a cardworld dataset directory"):
        resolve_target(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match=r"is not a \.csv file or a directory; pass"):
        resolve_target(tmp_path / "notes.txt")
    with pytest.raises(InputError, match=r"has neither manifest.json nor a card_transaction\*\.csv"):
        resolve_target(tmp_path)
    (tmp_path / "card_transaction.v1.csv").write_text("x")
    t = resolve_target(tmp_path)
    assert (t.kind, t.path.name, t.users, t.cards) == ("tabformer", "card_transaction.v1.csv", None, None)
    (tmp_path / "sd254_cards.csv").write_text("x")
    t = resolve_target(tmp_path / "card_transaction.v1.csv")
    assert (t.users, t.cards) == (None, tmp_path / "sd254_cards.csv")
    (tmp_path / "card_transaction.v2.csv").write_text("x")
    with pytest.raises(
        InputError, match=r"several TabFormer CSVs \(card_transaction.v1.csv, card_transaction.v2"
    ):
        resolve_target(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    assert resolve_target(tmp_path).kind == "cardworld"  # a manifest wins


def test_compare_measures_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(InputError, match=r"comparison target .* does not exist"):
        compare_measures(tmp_path / "nope.csv")


# ---------------------------------------------------------------------------------------------------------
# Row samples


def test_a_sample_has_exactly_n_distinct_rows_of_the_stream_in_stream_order():
    s = sample_rows(numbered(10_000, batch=777), n=500, seed=3)
    i = s["i"].to_numpy()
    assert i.size == 500
    assert np.unique(i).size == 500
    assert (np.diff(i) > 0).all()
    assert i.min() >= 0
    assert i.max() < 10_000


def test_a_stream_shorter_than_n_is_sampled_whole():
    assert sample_rows(numbered(30, batch=7), n=100)["i"].to_pylist() == list(range(30))
    assert sample_rows([], n=10, columns=["i"]).num_rows == 0


def test_the_sample_depends_on_the_seed_but_not_on_the_batching():
    a = sample_rows(numbered(5_000, batch=5_000), n=200, seed=1)["i"].to_pylist()
    assert a == sample_rows(numbered(5_000, batch=333), n=200, seed=1)["i"].to_pylist()
    assert a == sample_rows(numbered(5_000, batch=7), n=200, seed=1)["i"].to_pylist()
    assert a != sample_rows(numbered(5_000, batch=333), n=200, seed=2)["i"].to_pylist()


def test_every_row_is_equally_likely_to_be_sampled():
    """n = 10 of 40 rows, 200 seeds: each row's count is Binomial(200, 1/4) (mean 50, sd 6.1)."""
    counts = np.zeros(40, np.int64)
    for seed in range(200):
        counts[sample_rows(numbered(40, batch=9), n=10, seed=seed)["i"].to_numpy()] += 1
    assert counts.sum() == 2_000
    assert counts.min() > 50 - 5 * 6.1
    assert counts.max() < 50 + 5 * 6.1
    # early rows as likely as late ones: hypergeometric, mean 1000, sd sqrt(200 * 10 * 1/4 * 30/39) = 19.6
    assert abs(counts[:20].sum() - 1_000) < 5 * 19.6


def test_a_sampler_keeps_only_its_columns_and_flattens_dictionaries():
    s = RowSampler(3, seed=0, columns=("b",))
    for k in range(3):
        s.add(pa.table({"a": [1, 2], "b": pa.array([f"x{k}", "y"]).dictionary_encode()}))
    out = s.table()
    assert out.column_names == ["b"]
    assert out["b"].type == pa.string()
    assert out.num_rows == 3
    assert set(out["b"].to_pylist()) <= {"x0", "x1", "x2", "y"}
    with pytest.raises(InputError, match=r"no column\(s\) c"):
        RowSampler(2, columns=("c",)).add(pa.table({"a": [1]}))


# ---------------------------------------------------------------------------------------------------------
# Side by side


def test_tables_pair_up_column_by_column_with_rows_matched_on_their_first_cell():
    ours = [
        {"id": "t", "title": "T", "columns": ["what", "mean", "sd"], "formats": ["text", "money", "num"], "note": "n1",
         "rows": [["age", 40.0, 10.0], ["x", 1, 2], ["x", 3, 4], ["only ours", 5, 6]]},
        {"id": "mine", "title": "M", "columns": ["k", "v"], "rows": [["a", 1]], "note": ""},
    ]  # fmt: skip
    theirs = [
        {"id": "t", "title": "T", "columns": ["what", "mean", "sd", "median"], "note": "n2",
         "formats": ["text", "int", "int", "pct"],
         "rows": [["x", 30, 40, 0], ["age", 50.0, 12.0, 49.0], ["x", 10, 20, 1], ["only theirs", 7, 8, 9]]},
        {"id": "yours", "title": "Y", "columns": ["k", "v"], "rows": [["b", 2]], "note": "n3"},
    ]  # fmt: skip
    out = pair_tables(ours, theirs, labels=("A", "B"))
    assert [t["id"] for t in out] == ["t", "mine", "yours"]
    t = out[0]
    assert t["columns"] == ["what", "mean (A)", "mean (B)", "sd (A)", "sd (B)", "median (A)", "median (B)"]
    assert t["formats"] == ["text", "money", "money", "num", "num", "pct", "pct"]  # ours where both have it
    assert t["rows"] == [
        ["age", 40.0, 50.0, 10.0, 12.0, None, 49.0],
        ["x", 1, 30, 2, 40, None, 0],  # the first "x" of each side
        ["x", 3, 10, 4, 20, None, 1],  # the second
        ["only ours", 5, None, 6, None, None, None],
        ["only theirs", None, 7, None, 8, None, 9],
    ]
    assert t["note"] == "A: n1; B: n2"
    assert out[1]["rows"] == [["a", 1, None]]
    assert out[1]["formats"] == ["text", "num", "num"]  # no hints: text, then numbers
    assert out[1]["note"] == "not in B"
    assert out[2]["rows"] == [["b", None, 2]]
    assert out[2]["note"] == "n3; not in A"


def test_the_figures_table_holds_every_shared_key_and_the_difference():
    ours = {"rows": 100, "tx.fraud_rate": 0.002, "a": None, "only.ours": 1, "flag": True}
    theirs = {"tx.fraud_rate": 0.001, "rows": 40, "a": 3.0, "only.theirs": 2, "flag": False}
    t = figures_table(ours, theirs, labels=("A", "B"))
    assert t["id"] == "figures"
    assert t["columns"] == ["key", "A", "B", "difference"]
    assert t["rows"] == [["rows", 100, 40, 60], ["tx.fraud_rate", 0.002, 0.001, 0.001], ["a", None, 3.0, None],
                         ["flag", True, False, None]]  # fmt: skip
    assert "2 key(s) only one side has are left out" in t["note"]


# ---------------------------------------------------------------------------------------------------------
# Fidelity


def rows_table(n: int, seed: int, *, amount_scale: float = 1.0, hour_shift: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    t = (
        secs(2019, 1, 1)
        + rng.integers(0, 365, n) * 86_400
        + (rng.integers(7, 22, n) + hour_shift) % 24 * 3600
    )
    online = rng.random(n) < 0.15
    return pa.table(
        {
            "timestamp": pa.array(t, pa.timestamp("s")),
            "amount": np.round(rng.lognormal(3.3, 1.0, n) * amount_scale, 2),
            "use_chip": pa.array(
                np.where(online, "Online Transaction", "Chip Transaction")
            ).dictionary_encode(),
            "mcc": pa.array(np.where(online, 5311, rng.choice([5411, 5541, 5812], n)), pa.int16()),
            "merchant_state": pa.array(np.where(online, None, np.where(rng.random(n) < 0.02, "Italy", "CA"))),
            "errors": pa.array(np.where(rng.random(n) < 0.02, "Bad PIN", None)),
            "is_fraud": rng.random(n) < 0.01,
        }
    )


def test_the_fidelity_columns_come_from_the_rows():
    t = pa.table(
        {
            "timestamp": pa.array(
                [secs(2024, 1, 1, 13, 5), secs(2024, 1, 7, 0, 0), secs(1969, 12, 31, 23, 0)],
                pa.timestamp("s"),
            ),
            "amount": [1.5, -2.0, 3.0],
            "use_chip": pa.array(
                ["Swipe Transaction", "Online Transaction", "Chip Transaction"]
            ).dictionary_encode(),
            "mcc": pa.array([5411, 5311, 4829], pa.int16()),
            "merchant_state": ["CA", None, "Italy"],
            "errors": [None, "Bad PIN", None],
            "is_fraud": [False, True, False],
        }
    )
    f = fidelity_frame(t)
    assert f["hour"].tolist() == [13, 0, 23]
    assert f["weekday"].tolist() == [0, 6, 2]  # a Monday, a Sunday, a Wednesday
    assert f["foreign"].tolist() == [False, False, True]
    assert f["errors"].tolist() == [False, True, False]
    assert f["use_chip"].tolist() == ["Swipe Transaction", "Online Transaction", "Chip Transaction"]
    assert f["amount"].tolist() == [1.5, -2.0, 3.0]
    with pytest.raises(InputError, match=r"no column\(s\) errors"):
        fidelity_frame(t.drop_columns(["errors"]))


def test_fidelity_without_sdmetrics_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sdmetrics", None)  # import sdmetrics now raises ImportError
    with pytest.raises(InputError, match=r'pip install "cardworld\[compare\]"'):
        fidelity(rows_table(10, 0), rows_table(10, 1))


@pytest.mark.slow  # importing sdmetrics takes seconds
def test_fidelity_is_near_one_against_itself_and_lower_against_a_shifted_copy():
    ours = rows_table(4_000, 0)
    assert fidelity(ours, ours)["score"] > 0.999
    same = fidelity(ours, rows_table(4_000, 1))  # another sample of the same distribution
    assert same["rows"] == [4_000, 4_000]
    assert same["score"] > 0.95
    assert same["column_shapes"] > 0.97
    assert {c["column"] for c in same["columns"]} == {
        "amount", "hour", "weekday", "use_chip", "mcc", "foreign", "errors", "is_fraud",
    }  # fmt: skip
    assert len(same["pairs"]) == 28  # every pair of the 8 columns
    shifted = fidelity(ours, rows_table(4_000, 1, amount_scale=3.0, hour_shift=6))
    assert shifted["score"] < same["score"] - 0.05
    score = {c["column"]: c["score"] for c in shifted["columns"]}
    before = {c["column"]: c["score"] for c in same["columns"]}
    assert score["amount"] < before["amount"] - 0.3
    assert score["hour"] < before["hour"] - 0.3
    assert abs(score["use_chip"] - before["use_chip"]) < 0.03  # untouched columns score the same
    with pytest.raises(InputError, match="the other side has no transactions"):
        fidelity(ours, ours.slice(0, 0))


# ---------------------------------------------------------------------------------------------------------
# A world against its own TabFormer export


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("compare")
    cfg = load_config(consumers=10, start="2018-01-01", end="2019-12-31", seed=5, fraud={"rate": 0.01})
    generate(cfg, d / "world")
    (d / "csv").mkdir()
    export_tabformer(d / "world", d / "csv" / "card_transaction.v1.csv", d / "csv" / "sd254_users.csv",
                     d / "csv" / "sd254_cards.csv")  # fmt: skip
    return d


@pytest.mark.slow
def test_the_export_measures_like_the_world(world):
    from cardworld.report.measures import measure_dataset

    ours = measure_dataset(world / "world")
    sampler = RowSampler(500, seed=0)
    theirs = compare_measures(world / "csv" / "card_transaction.v1.csv", sampler=sampler)
    src = theirs["source"]
    assert src["kind"] == "tabformer"
    assert src["files"] == {
        "transactions": str(world / "csv" / "card_transaction.v1.csv"),
        "users": str(world / "csv" / "sd254_users.csv"),
        "cards": str(world / "csv" / "sd254_cards.csv"),
    }
    assert (src["first"], src["last"], src["years"]) == (ours["source"]["first"], ours["source"]["last"],
                                                         ours["source"]["years"])  # fmt: skip
    a, b = ours["figures"], theirs["figures"]
    assert b["rows"] == a["rows"] > 1000
    assert b["tx.fraud_rate"] == a["tx.fraud_rate"] > 0
    for channel in ("swipe", "chip", "online"):
        assert b[f"tx.channel_share.{channel}"] == a[f"tx.channel_share.{channel}"]
    assert b["consumers"] == a["consumers"] == 10
    assert b["cards"] == a["cards"]
    assert sampler.seen == a["rows"]
    assert sampler.table().num_rows == 500


@pytest.mark.slow
def test_a_directory_target_without_sd254_files_has_no_consumer_figures(world, tmp_path):
    (tmp_path / "card_transaction.v1.csv").symlink_to(world / "csv" / "card_transaction.v1.csv")
    m = compare_measures(tmp_path)
    assert m["source"]["files"]["users"] is None
    assert m["source"]["files"]["cards"] is None
    assert "consumers" not in m["figures"]
    assert m["figures"]["rows"] > 1000


@pytest.mark.slow
def test_a_dataset_target_measures_as_measure_dataset_and_feeds_the_sampler(world):
    from cardworld.report.measures import measure_dataset

    sampler = RowSampler(300, seed=4)
    m = compare_measures(world / "world", sampler=sampler)
    assert m["figures"] == measure_dataset(world / "world")["figures"]
    assert m["source"]["kind"] == "cardworld"
    assert sampler.table().num_rows == 300


@pytest.mark.slow
def test_side_by_side_pairs_every_report_table_and_adds_the_figures(world):
    from cardworld.report.measures import measure_dataset

    report_tables = pytest.importorskip("cardworld.report.tables").report_tables

    ours = measure_dataset(world / "world")
    theirs = compare_measures(world / "csv")
    out = side_by_side(ours, theirs, labels=("this world", "export"))
    assert [t["id"] for t in out] == [t["id"] for t in report_tables(ours)] + ["figures"]
    figures = {r[0]: r for r in out[-1]["rows"]}
    assert figures["rows"][1:] == [ours["figures"]["rows"], ours["figures"]["rows"], 0]
    for table, mine in zip(out, report_tables(ours), strict=False):
        assert table["columns"][0] == mine["columns"][0]
        assert table["formats"] == [mine["formats"][0]] + [f for f in mine["formats"][1:] for _ in (0, 1)]
        assert [r[0] for r in table["rows"]][: len(mine["rows"])] == [r[0] for r in mine["rows"]]
