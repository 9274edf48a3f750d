"""The report's baselines: the split year, user sampling, fraud features, both models on tiny worlds."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io.dataset import read_dataset_transactions
from cardworld.labels.pd_samples import pd_samples
from cardworld.report import baselines as base
from cardworld.report.baselines import baselines, sample_users, split_year
from cardworld.report.fraud_features import card_features, fraud_features, plain_features

# 30 consumers over 3 years, fraud at 1% of rows and life events x10: enough fraud for a split by year and
# enough defaults for PD samples on both sides (generates in ~5-10 s on 2 cores).
WORLD = {"consumers": 30, "start": "2017-01-01", "end": "2019-12-31", "seed": 3, "fraud": {"rate": 0.01},
         "credit": {"default_multiplier": 10.0}}  # fmt: skip
STEPS = ["baselines: fraud features", "baselines: fraud model", "baselines: default samples",
         "baselines: default model"]  # fmt: skip


# --- the split year, on hand-made counts ---


def test_split_year_takes_the_year_closest_to_30_percent_of_rows():
    years = np.arange(2010, 2020)
    assert split_year(years, np.full(10, 100), np.ones(10)) == 2017  # 2017-2019: 30%
    rows = np.array([100, 100, 100, 100, 100, 100, 100, 200, 200, 200])  # 2017-: 46%, 2018-: 31%
    assert split_year(years, rows, np.ones(10)) == 2018


def test_split_year_needs_fraud_on_both_sides():
    years = np.arange(2010, 2020)
    fraud = np.r_[np.zeros(7), 1, 1, 1]  # 2017 would leave no training fraud: 2018 (20%) is closest
    assert split_year(years, np.full(10, 100), fraud) == 2018
    assert split_year(years, np.full(10, 100), np.r_[np.zeros(9), 1]) is None  # fraud in 2019 only
    assert split_year(years, np.full(10, 100), np.zeros(10)) is None
    assert split_year(np.array([2019]), np.array([100]), np.array([5])) is None


def test_split_year_breaks_a_tie_towards_more_training_years():
    # test shares from 2011: 60%, 40%, 20%: 40% and 20% are both 10 points from 30%
    assert split_year(np.arange(2010, 2014), np.array([40, 20, 20, 20]), np.ones(4)) == 2013


# --- user sampling ---


def test_sample_users_takes_all_or_a_seeded_sample():
    ids = np.arange(100, 130)
    assert sample_users(ids[::-1], 30, 0).tolist() == ids.tolist()
    a, b = sample_users(ids, 10, 4), sample_users(ids, 10, 4)
    assert a.tolist() == b.tolist()
    assert a.size == 10
    assert np.unique(a).size == 10
    assert np.all(np.diff(a) > 0)
    assert np.isin(a, ids).all()
    assert sample_users(ids, 10, 5).tolist() != a.tolist()


# --- the features, on a hand-built table ---


def _tx(rows: list[tuple]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.table({
        "user_id": pa.array(cols[0], pa.int32()), "card_id": pa.array(cols[1], pa.int16()),
        "timestamp": pa.array(cols[2], pa.int64()).cast(pa.timestamp("s")),
        "amount": pa.array(cols[3], pa.float64()), "use_chip": pa.array(cols[4]).dictionary_encode(),
        "merchant_id": pa.array(cols[5], pa.int64()), "merchant_city": pa.array(cols[6]),
        "merchant_state": pa.array(cols[7], pa.string()), "mcc": pa.array(cols[8], pa.int16()),
        "errors": pa.array(cols[9], pa.string()),
    })  # fmt: skip


MONDAY_1345 = int(np.datetime64("2024-01-01T13:45:00", "s").astype(np.int64))


def test_plain_features_read_the_row():
    tx = _tx([
        (1, 0, MONDAY_1345, 12.5, "Swipe Transaction", 7, "Boston", "MA", 5411, None),
        (1, 0, 0, -3.0, "Online Transaction", 8, "ONLINE", None, 5311, "Bad CVV"),  # Thursday 1970-01-01
        (2, 1, MONDAY_1345 + 86400 * 5 + 3600, 40.0, "Chip Transaction", 9, "Rome", "Italy", 5812, None),
    ])  # fmt: skip
    f = plain_features(tx)
    assert f["amount"].tolist() == [12.5, -3.0, 40.0]
    assert f["hour"].tolist() == [13, 0, 14]
    assert f["weekday"].tolist() == [0, 3, 5]  # Monday, Thursday, Saturday
    assert f["channel"].tolist() == [0, 2, 1]  # CHANNELS: swipe, chip, online
    assert f["mcc"].tolist() == [5411, 5311, 5812]
    assert f["foreign"].tolist() == [0, 0, 1]
    assert f["has_errors"].tolist() == [0, 1, 0]
    assert set(fraud_features(tx)) == set(f) | set(card_features(tx))


def test_card_features_use_only_the_cards_earlier_rows():
    # card (1, 0) at 0 s, 1,800 s and 90,000 s (25 h, hour 1); card (1, 1) once in between; shuffled
    tx = _tx([
        (1, 0, 90_000, 100.0, "Swipe Transaction", 6, "A", "MA", 5411, None),
        (1, 1, 100, 50.0, "Swipe Transaction", 5, "A", "MA", 5411, None),
        (1, 0, 0, 10.0, "Swipe Transaction", 5, "A", "MA", 5411, None),
        (1, 0, 1_800, 30.0, "Swipe Transaction", 5, "B", "MA", 5411, None),
    ])  # fmt: skip
    f = card_features(tx)
    assert f["card_rows_so_far"].tolist() == [2, 0, 0, 1]
    assert f["log_gap"].tolist() == pytest.approx([np.log1p(88_200), -1, -1, np.log1p(1_800)])
    assert f["amount_vs_card_mean"][[0, 3]].tolist() == pytest.approx([100 / 20, 30 / 10])
    assert np.isnan(f["amount_vs_card_mean"][[1, 2]]).all()  # no earlier row on the card
    assert f["rows_last_hour"].tolist() == [0, 0, 0, 1]
    assert f["rows_last_24h"].tolist() == [0, 0, 0, 1]  # 1,800 s is more than a day before 90,000 s
    assert f["hour_dev"][0] == pytest.approx(1.0)
    assert f["new_merchant"].tolist() == [1, 1, 1, 0]  # merchant 5 is new on card 1 too
    assert f["new_city"].tolist() == [0, 1, 1, 1]
    assert f["new_mcc"].tolist() == [0, 1, 1, 0]


# --- errors ---


def test_missing_lightgbm_says_which_extra_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm now raises ImportError
    with pytest.raises(InputError, match=r'pip install "cardworld\[report\]"'):
        baselines(tmp_path)


def test_bad_options_are_input_errors(tmp_path):
    pytest.importorskip("lightgbm")
    with pytest.raises(InputError, match="1 or more"):
        baselines(tmp_path, max_users=0)
    with pytest.raises(InputError, match="integer"):
        baselines(tmp_path, seed=1.5)


# --- on generated worlds ---


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    pytest.importorskip("lightgbm")
    out = tmp_path_factory.mktemp("baselines") / "world"
    generate(load_config(**WORLD), out, workers=2)
    return out


@pytest.fixture(scope="module")
def figures(world):
    steps: list[str] = []
    return baselines(world, progress=steps.append), steps


def _years(tx: pa.Table) -> np.ndarray:
    t = tx["timestamp"].cast(pa.int64()).to_numpy().astype("datetime64[s]")
    return t.astype("datetime64[Y]").astype(np.int64) + 1970


def _span(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


def _check_scores(fig: dict) -> None:
    for key in ("roc_auc", "pr_auc", "recall_at_1pct_fpr"):
        assert 0.0 <= fig[key] <= 1.0, (key, fig[key])
    rule = fig["best_rule"]
    for key in ("roc_auc", "recall_at_1pct_fpr", "test_fpr", "train_recall"):
        assert 0.0 <= rule[key] <= 1.0, (key, rule)
    shares = [s for _, s in fig["top_features"]]
    assert 0 < len(shares) <= 8
    assert shares == sorted(shares, reverse=True)
    assert sum(shares) <= 1 + 1e-3


@pytest.mark.slow
def test_fraud_figures_match_the_dataset(world, figures):
    fig, steps = figures
    fraud = fig["fraud"]
    assert steps == STEPS
    tx = read_dataset_transactions(world, columns=["timestamp", "is_fraud"])
    year, is_fraud = _years(tx), tx["is_fraud"].to_numpy(zero_copy_only=False)
    (lo, hi), (test_lo, test_hi) = _span(fraud["train_years"]), _span(fraud["test_years"])
    assert (lo, hi + 1, test_hi) == (2017, test_lo, 2019)
    test = year >= test_lo
    assert (fraud["users"], fraud["users_total"]) == (30, 30)
    assert (fraud["train_rows"], fraud["test_rows"]) == ((~test).sum(), test.sum())
    assert (fraud["train_fraud"], fraud["test_fraud"]) == ((is_fraud & ~test).sum(), (is_fraud & test).sum())
    assert fraud["test_fraud_rate"] == pytest.approx(is_fraud[test].mean(), abs=1e-4)
    _check_scores(fraud)
    assert fraud["roc_auc"] > 0.5  # 1% fraud from fraudsters' bursts: the card history shows it
    names = set(fraud_features(read_dataset_transactions(world).slice(0, 10)))
    assert {n for n, _ in fraud["top_features"]} <= names
    assert fraud["best_rule"]["feature"] in names


@pytest.mark.slow
def test_default_figures_match_the_pd_samples(world, figures):
    default = figures[0]["default"]
    assert "skipped" not in default, default
    samples = pd_samples(world, horizon_months=12, split="time")
    test = pc.equal(samples["split"], "test").to_numpy(zero_copy_only=False)
    label = samples["label"].to_numpy().astype(bool)
    assert (default["train_rows"], default["test_rows"]) == ((~test).sum(), test.sum())
    assert default["samples"] == samples.num_rows
    account = samples["account_id"].to_numpy()
    assert default["train_default_accounts"] == np.unique(account[label & ~test]).size
    assert default["test_default_accounts"] == np.unique(account[label & test]).size
    first_test = pc.min(samples.filter(pa.array(test))["obs_date"]).as_py()
    assert default["test_dates"].startswith(first_test.strftime("%Y-%m.."))
    assert (default["train_positives"], default["test_positives"]) == (
        (label & ~test).sum(),
        (label & test).sum(),
    )
    assert default["users"] == np.unique(samples["user_id"].to_numpy()).size
    _check_scores(default)


@pytest.mark.slow
def test_a_small_sample_of_users_is_seeded_and_counted(world):
    a = baselines(world, max_users=10, seed=1)
    assert a == baselines(world, max_users=10, seed=1)
    fraud = a["fraud"]
    assert (fraud["users"], fraud["users_total"]) == (10, 30)
    tx = read_dataset_transactions(world, columns=["user_id"])
    users = sample_users(np.unique(tx["user_id"].to_numpy()), 10, 1)
    rows = int(np.isin(tx["user_id"].to_numpy(), users).sum())
    assert fraud["train_rows"] + fraud["test_rows"] == rows < tx.num_rows
    other = baselines(world, max_users=10, seed=2)["fraud"]
    assert other["train_rows"] + other["test_rows"] != rows


@pytest.mark.slow
def test_a_row_cap_samples_genuine_rows_and_keeps_the_counts(world, figures, monkeypatch):
    monkeypatch.setattr(base, "ROW_CAP", 20_000)  # ~27% of the genuine rows, every fraud row
    capped, full = baselines(world)["fraud"], figures[0]["fraud"]
    for key in ("train_rows", "test_rows", "train_fraud", "test_fraud", "train_years", "test_years"):
        assert capped[key] == full[key], key
    assert "genuine rows sampled at" in capped["note"]
    assert "sampled at" not in full["note"]
    _check_scores(capped)


@pytest.mark.slow
def test_one_year_without_credit_is_skipped_with_reasons(tmp_path):
    pytest.importorskip("lightgbm")
    out = tmp_path / "tiny"
    cfg = load_config(consumers=5, start="2019-01-01", end="2019-12-31", seed=1, credit={"enabled": False})
    generate(cfg, out, workers=1)
    fig = baselines(out)
    assert "one calendar year" in fig["fraud"]["skipped"]
    assert 0 < fig["fraud"]["users"] == fig["fraud"]["users_total"] <= 5
    assert "credit cycle off" in fig["default"]["skipped"]
