"""The realism report's streamed figures (report.measures): hand-built tables against hand-computed values,
and a small generated world against a computation over all its rows at once."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cardworld.codes import DECLINE_REASON_NAMES, Channel
from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io.dataset import read_dataset_transactions, read_table
from cardworld.io.schema import build_table
from cardworld.report import measures as measures_module
from cardworld.report.accumulate import Histogram, quantile
from cardworld.report.credit import credit_rates, pooled_rates
from cardworld.report.measures import (
    AMOUNT_EDGES,
    CARD_COLUMNS,
    CONSUMER_COLUMNS,
    measure_dataset,
    measure_source,
)
from cardworld.report.summary import summarize

approx = pytest.approx

SW, CH, ON = Channel.SWIPE, Channel.CHIP, Channel.ONLINE
# user, card, time, amount, channel, merchant, merchant_state, mcc, errors, is_fraud
ROWS = [
    (1, 0, "2019-12-30T08:15", 10.00, SW, 100, "CA", 5411, None, False),  # a Monday
    (1, 0, "2019-12-30T09:00", -4.00, CH, 100, "CA", 5411, None, False),  # a refund
    (1, 1, "2019-12-31T23:59", 20.00, ON, 200, None, 5999, "Insufficient Balance", False),
    (1, 1, "2020-01-01T00:00", 30.00, ON, 200, None, 5999, "Bad PIN,Insufficient Balance", True),
    (2, 0, "2020-01-01T12:30", 50.00, CH, 300, "Italy", 5812, None, True),
    (2, 0, "2020-01-02T12:45", 5.50, SW, 300, "NY", 5812, "Technical Glitch", False),
]
SOURCE = {"kind": "cardworld", "path": "hand-built", "what_ifs": [], "credit": "absent"}


def _transactions(rows) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return build_table(
        "transactions",
        {
            "user_id": np.array(cols[0]),
            "card_id": np.array(cols[1]),
            "timestamp": np.array(cols[2], dtype="datetime64[s]"),
            "amount": np.array(cols[3]),
            "use_chip": np.array(cols[4], dtype=np.int8),
            "merchant_id": np.array(cols[5]),
            "merchant_city": ["X"] * len(rows),
            "merchant_state": list(cols[6]),
            "zip": [None] * len(rows),
            "mcc": np.array(cols[7]),
            "errors": list(cols[8]),
            "is_fraud": np.array(cols[9]),
            "fraudster_id": np.full(len(rows), -1),
        },
    )


def _consumers() -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array([1, 2, 3], pa.int32()),
            "gender": ["Female", "Male", "Female"],
            "birth_year": pa.array([1980, 1990, 2000], pa.int16()),
            "retirement_age": pa.array([65, 67, 66], pa.int16()),
            "state": ["CA", "NY", "CA"],
            "yearly_income": [50_000.0, 70_000.0, 30_000.0],
            "total_debt": [0.0, 1_000.0, 0.0],
            "fico_score": pa.array([700, 650, 800], pa.int16()),
        }
    ).select(list(CONSUMER_COLUMNS))


def _cards() -> pa.Table:
    """u1 card 0 was a Mastercard credit card, reissued as a Visa debit card (its latest issue)."""
    return pa.table(
        {
            "user_id": pa.array([1, 1, 1, 2], pa.int32()),
            "card_index": pa.array([0, 0, 1, 0], pa.int16()),
            "card_brand": ["Mastercard", "Visa", "Mastercard", "Amex"],
            "card_type": ["Credit", "Debit", "Credit", "Credit"],
            "has_chip": [False, True, True, False],
            "credit_limit": [9_999.0, 1_000.0, 5_000.0, 3_000.0],
            "valid_from": pa.array(
                np.array(["2015-01-01", "2018-01-01", "2016-01-01", "2017-01-01"], "datetime64[s]")
            ),
        }
    ).select(list(CARD_COLUMNS))


@pytest.fixture(scope="module")
def hand():
    tx = _transactions(ROWS)
    batches = [tx.slice(0, 3), tx.slice(3, 2), tx.slice(5, 1)]  # user 1 spans the first two
    return measure_source(batches, _consumers(), _cards(), source=SOURCE)


def test_counts_shares_and_amounts_of_hand_built_rows(hand):
    f = hand["figures"]
    assert hand["source"] == {
        **SOURCE,
        "rows": 6,
        "first": "2019-12-30",
        "last": "2020-01-02",
        "years": [2019, 2020],
    }
    assert {k: f[k] for k in ("rows", "consumers", "cards", "users_with_rows", "cash_rows", "merchants", "mccs")} == {
        "rows": 6, "consumers": 3, "cards": 3, "users_with_rows": 2, "cash_rows": 0, "merchants": 3, "mccs": 3,
    }  # fmt: skip
    assert [f[f"tx.channel_share.{c}"] for c in ("swipe", "chip", "online")] == approx([1 / 3] * 3)
    assert f["tx.chip_share_card_present"] == 0.5
    assert f["tx.online_amount_share"] == approx(50 / 115.5)
    amounts = [10, -4, 20, 30, 50, 5.5]
    assert f["tx.amount.mean"] == approx(111.5 / 6)
    assert f["tx.amount.sd"] == approx(np.std(amounts, ddof=1))
    assert (f["tx.amount.median"], f["tx.amount.min"], f["tx.amount.max"]) == (15.0, -4.0, 50.0)
    assert f["tx.amount.p95"] == approx(np.quantile(amounts, 0.95))
    assert f["tx.amount.p99"] == approx(np.quantile(amounts, 0.99))
    assert (f["tx.amount.mean.swipe"], f["tx.amount.mean.chip"], f["tx.amount.mean.online"]) == approx(
        (7.75, 23, 25)
    )
    assert f["tx.amount.sd.swipe"] == approx(np.std([10, 5.5], ddof=1))
    assert (f["tx.amount.mean.genuine"], f["tx.amount.mean.fraud"]) == approx((7.875, 40))
    assert f["tx.amount.sd.fraud"] == approx(np.std([30, 50], ddof=1))
    assert f["tx.refund_share"] == approx(1 / 6)
    assert f["tx.online_refund_share"] == 0.0
    assert f["tx.no_error_share"] == 0.5
    errors = {r: f[f"tx.error_share.{r}"] for r in DECLINE_REASON_NAMES}
    assert errors == approx({**dict.fromkeys(DECLINE_REASON_NAMES, 0.0), "Insufficient Balance": 2 / 6,
                             "Bad PIN": 1 / 6, "Technical Glitch": 1 / 6})  # fmt: skip
    assert f["tx.fraud_rate"] == approx(1 / 3)
    assert [f[f"tx.fraud_rate.{c}"] for c in ("swipe", "chip", "online")] == [0.0, 0.5, 0.5]
    assert f["tx.fraud_online_share"] == 0.5
    assert f["tx.fraud_value_share"] == approx(80 / 115.5)
    assert f["tx.fraud_cnp_value_share"] == approx(30 / 80)
    hours = {h: f[f"tx.hour_share.{h:02d}"] for h in range(24)}
    assert hours == approx({h: {0: 1, 8: 1, 9: 1, 12: 2, 23: 1}.get(h, 0) / 6 for h in range(24)})
    assert {k: v for k, v in f.items() if k.startswith("tx.mcc_share.")} == approx(
        {"tx.mcc_share.5411": 1 / 3, "tx.mcc_share.5812": 1 / 3, "tx.mcc_share.5999": 1 / 3}
    )


def test_per_user_figures_follow_users_across_batches(hand):
    f = hand["figures"]
    assert (f["tx.per_user_lifetime.mean"], f["tx.per_user_lifetime.sd"]) == approx((3, math.sqrt(2)))
    assert (f["tx.per_user_year.mean"], f["tx.per_user_year.sd"]) == approx(
        (2, 1)
    )  # (u1, 2019): 3, then 1, 2
    spend = [26.0, 30.0, 55.5]  # net of the refund
    assert (f["spend.per_user_year.mean"], f["spend.per_user_year.sd"]) == approx(
        (np.mean(spend), np.std(spend, ddof=1))
    )
    assert (f["spend.per_user_year.fraud.mean"], f["spend.per_user_year.fraud.sd"]) == approx(
        (40, math.sqrt(200))
    )


def test_partial_years_and_a_share_over_nothing(hand):
    y = hand["by_year"]
    assert y["rows"] == {"2019": 3, "2020": 3}
    assert y["days"] == {"2019": 2, "2020": 2}
    assert y["active_cards"] == {"2019": 2, "2020": 2}
    assert y["active_users"] == {"2019": 1, "2020": 2}
    assert y["tx.fraud_rate"] == approx({"2019": 0.0, "2020": 2 / 3})
    assert y["tx.fraud_cnp_value_share"] == {"2019": None, "2020": approx(30 / 80)}  # no fraud in 2019
    assert y["tx.error_share"] == approx({"2019": 1 / 3, "2020": 2 / 3})
    assert y["tx.refund_share"] == approx({"2019": 1 / 3, "2020": 0.0})
    assert y["tx.amount.mean.Debit"] == {"2019": 3.0, "2020": None}  # card 0 of user 1: its latest issue
    assert y["tx.amount.mean.Credit"] == {"2019": 20.0, "2020": 28.5}  # 30, 50 and 5.5
    assert y["tx.amount.mean.Debit (Prepaid)"] == {"2019": None, "2020": None}
    assert "credit.charge_off_rate" not in y
    assert "unemployment" not in y
    m = hand["by_month"]
    assert m == {"months": ["2019-12", "2020-01"], "rows": [3, 3], "fraud_rows": [0, 2], "fraud_cards": [0, 2],
                 "statements": None, "charge_offs": None}  # fmt: skip


def test_fraud_cards_count_each_card_once_a_month_across_batches():
    # card (1, 1): three fraud rows in March (two batches), one in April; card (1, 2) and user 2's card 1 in
    # March: March has 3 cards with fraud (5 fraud rows), April 1, May none (a genuine row only)
    rows = [
        (1, 1, "2020-03-01T10:00", 9.0, ON, 1, None, 5999, None, True),
        (1, 1, "2020-03-02T10:00", 9.0, ON, 1, None, 5999, None, True),
        (1, 2, "2020-03-03T10:00", 9.0, SW, 2, "CA", 5411, None, True),
        (1, 1, "2020-03-31T23:59", 9.0, ON, 1, None, 5999, None, True),
        (1, 1, "2020-04-01T00:00", 9.0, ON, 1, None, 5999, None, True),
        (2, 1, "2020-03-15T12:00", 9.0, CH, 3, "NY", 5812, None, True),
        (2, 1, "2020-05-15T12:00", 9.0, CH, 3, "NY", 5812, None, False),
    ]
    tx = _transactions(rows)
    m = measure_source([tx.slice(0, 3), tx.slice(3)], None, None, source=SOURCE)["by_month"]
    assert m["months"] == ["2020-03", "2020-04", "2020-05"]
    assert m["fraud_rows"] == [5, 1, 0]
    assert m["fraud_cards"] == [3, 1, 0]


def test_distributions_of_hand_built_rows(hand):
    d = hand["distributions"]
    assert d["weekday_share"] == approx([2 / 6, 1 / 6, 2 / 6, 1 / 6, 0, 0, 0])
    assert d["weekday_share_fraud"] == approx([0, 0, 1, 0, 0, 0, 0])
    assert d["hour_share_fraud"] == approx([0.5 if h in (0, 12) else 0 for h in range(24)])
    h = d["amount_hist"]
    assert h["edges"] == approx(np.logspace(-2, 5, 61).tolist())
    assert h["genuine"] == np.histogram([10, 20, 5.5], AMOUNT_EDGES)[0].tolist()
    assert h["fraud"] == np.histogram([30, 50], AMOUNT_EDGES)[0].tolist()
    assert d["person_top_hour_share"]["counts"] == [0] * 20  # nobody has 20 rows


def test_breakdowns_split_us_states_foreign_countries_and_online(hand):
    b = hand["breakdowns"]
    assert b["state"] == [
        {"state": "CA", "consumers": 2, "rows": 2, "amount": 6.0, "fraud_rows": 0},
        {"state": "NY", "consumers": 1, "rows": 1, "amount": 5.5, "fraud_rows": 0},
    ]
    assert b["country"] == [{"country": "Italy", "rows": 1, "amount": 50.0, "fraud_rows": 1}]
    assert [(m["mcc"], m["rows"], m["fraud_rows"]) for m in b["mcc"]] == [
        (5411, 2, 0),
        (5812, 2, 1),
        (5999, 2, 1),
    ]
    assert [m["amount_mean"] for m in b["mcc"]] == approx([3.0, 27.75, 25.0])
    assert b["mcc"][0]["description"] == "Groceries and supermarkets"
    assert [m["fraud_rate"] for m in b["mcc"]] == [0.0, 0.5, 0.5]


def test_consumer_and_card_figures(hand):
    f = hand["figures"]
    assert (f["consumers.age.mean"], f["consumers.age.sd"]) == approx((30, 10))  # 2020 - birth year
    assert (f["consumers.retirement_age.mean"], f["consumers.retirement_age.sd"]) == approx((66, 1))
    assert f["consumers.female_share"] == approx(2 / 3)
    assert (f["consumers.income.mean"], f["consumers.income.sd"], f["consumers.income.median"]) == approx(
        (50_000, 20_000, 50_000)
    )
    assert (f["consumers.debt.mean"], f["consumers.debt.zero_share"]) == approx((1000 / 3, 2 / 3))
    assert f["consumers.fico.mean"] == approx(2150 / 3)
    assert (f["consumers.cards.mean"], f["consumers.cards.sd"]) == approx((1, 1))  # 2, 1 and 0 cards
    assert {b: f[f"cards.brand_share.{b}"] for b in ("Visa", "Mastercard", "Amex", "Discover")} == approx(
        {"Visa": 1 / 3, "Mastercard": 1 / 3, "Amex": 1 / 3, "Discover": 0}
    )
    assert (f["cards.type_share.Credit"], f["cards.type_share.Debit (Prepaid)"]) == approx((2 / 3, 0))
    assert f["cards.chip_share"] == approx(2 / 3)
    assert (f["cards.limit.mean.Credit"], f["cards.limit.median.Credit"]) == (4000.0, 4000.0)
    assert (f["cards.limit.mean.Debit"], f["cards.limit.sd.Debit"]) == (1000.0, None)  # one card: no sd
    assert f["cards.limit.mean.Debit (Prepaid)"] is None


def test_the_measures_are_plain_json(hand):
    assert json.loads(json.dumps(hand)) == hand
    assert all(type(v) in (int, float, type(None)) for v in hand["figures"].values())


def test_the_batching_changes_nothing(hand):
    tx = _transactions(ROWS)
    one_by_one = measure_source([tx.slice(i, 1) for i in range(6)], _consumers(), _cards(), source=SOURCE)
    assert one_by_one == hand
    assert measure_source([tx], _consumers(), _cards(), source=SOURCE) == hand


def test_amounts_off_the_cent_grid_and_far_out_are_exact():
    amounts = [0.125, 60_000.0, 1.0, -20_000.0, 1.0, 250_000.0]
    rows = [
        (1, 0, f"2020-03-0{i + 1}T10:00", a, SW, 1, "CA", 5411, None, i == 1) for i, a in enumerate(amounts)
    ]
    m = measure_source([_transactions(rows)], None, None, source=SOURCE)
    f = m["figures"]
    assert (f["tx.amount.median"], f["tx.amount.min"], f["tx.amount.max"]) == (1.0, -20_000.0, 250_000.0)
    assert f["tx.amount.mean"] == approx(np.mean(amounts))
    assert f["tx.amount.p95"] == approx(np.quantile(amounts, 0.95))
    h = m["distributions"]["amount_hist"]
    assert h["fraud"] == np.histogram([60_000.0], AMOUNT_EDGES)[0].tolist()
    assert (
        h["genuine"] == np.histogram([0.125, 1.0, 1.0, 1e5], AMOUNT_EDGES)[0].tolist()
    )  # above $100k: last bin


@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_quantiles_of_a_histogram_are_numpys(n):
    rng = np.random.default_rng(n)
    rows = np.round(rng.choice([-5.0, 0.1, 0.2, 7.35, 12.5, 900.0], size=n), 2)
    h = Histogram()
    h.add(rows)
    for q in (0.0, 0.3, 0.5, 0.95, 0.99, 1.0):
        assert quantile(*h.values_counts(), q) == approx(np.quantile(rows, q), rel=1e-12, abs=1e-12)


def test_without_consumers_or_cards_those_figures_are_absent():
    m = measure_source([_transactions(ROWS)], None, None, source=SOURCE)
    f = m["figures"]
    assert not [k for k in f if k.startswith(("consumers", "cards"))]
    assert "tx.amount.mean.Debit" not in m["by_year"]
    assert m["breakdowns"]["state"][0] == {
        "state": "CA",
        "consumers": 0,
        "rows": 2,
        "amount": 6.0,
        "fraud_rows": 0,
    }


def test_progress_counts_every_row():
    done = []
    tx = _transactions(ROWS)
    measure_source([tx.slice(0, 4), tx.slice(4)], None, None, source=SOURCE, progress=done.append)
    assert done == [4, 2]


def test_no_rows_gives_none_not_errors():
    m = measure_source([_transactions(ROWS).slice(0, 0)], None, None, source=SOURCE)
    assert (m["source"]["rows"], m["source"]["years"], m["by_year"]) == (0, [], {})
    assert (m["figures"]["tx.fraud_rate"], m["figures"]["tx.amount.median"]) == (None, None)
    assert m["distributions"]["hour_share"] == [None] * 24


def test_tabformer_errors_with_a_trailing_comma_and_an_unknown_reason():
    tx = _transactions(ROWS)
    errors = pa.array(["Bad PIN,", None, "Bad PIN,Card Melted,", None, None, None])
    m = measure_source([tx.set_column(10, "errors", errors)], None, None, source=SOURCE)
    f = m["figures"]
    assert (f["tx.error_share.Bad PIN"], f["tx.error_share.Card Melted"]) == approx((2 / 6, 1 / 6))
    assert "tx.error_share." not in f
    assert f["tx.no_error_share"] == approx(4 / 6)


def test_an_amount_that_is_not_a_number_is_named():
    tx = _transactions(ROWS)
    bad = tx.set_column(3, "amount", pa.array([1.0, 2.0, float("nan"), 3.0, 4.0, 5.0]))
    with pytest.raises(InputError, match="'amount' is nan at row 2"):
        measure_source([bad], None, None, source=SOURCE)


def test_an_unknown_channel_is_named():
    tx = _transactions(ROWS)
    bad = tx.set_column(4, "use_chip", pa.array(["Tap"] * 6).dictionary_encode())
    with pytest.raises(InputError, match="'use_chip' holds 'Tap'"):
        measure_source([bad], None, None, source=SOURCE)


# ---------------------------------------------------------------------------------------------------------
# A generated world, against all its rows at once


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("measures") / "w"
    generate(load_config(consumers=15, shard_size=8, start="2018-07-01", end="2019-12-31", seed=7), out)
    return out


def _naive(d: Path) -> dict:
    """Figures from every row at once (numpy over the whole table), for comparison."""
    tx = read_dataset_transactions(d)
    n = tx.num_rows
    user, card = tx["user_id"].to_numpy().astype(np.int64), tx["card_id"].to_numpy().astype(np.int64)
    amount, fraud = tx["amount"].to_numpy(), tx["is_fraud"].to_numpy(zero_copy_only=False)
    t = tx["timestamp"].to_numpy().astype("datetime64[s]")
    year = t.astype("datetime64[Y]").astype(int) + 1970
    hour = (t - t.astype("datetime64[D]")).astype(int) // 3600
    chip = np.array(tx["use_chip"].cast(pa.string()).to_pylist())
    online = chip == "Online Transaction"
    out = {
        "rows": n,
        "users_with_rows": len(set(user.tolist())),
        "merchants": len(set(tx["merchant_id"].to_pylist())),
        "mccs": len(set(tx["mcc"].to_pylist())),
        "tx.fraud_rate": fraud.mean(),
        "tx.refund_share": (amount < 0).mean(),
        "tx.channel_share.online": online.mean(),
        "tx.chip_share_card_present": (chip == "Chip Transaction").sum() / (~online).sum(),
        "tx.no_error_share": tx["errors"].null_count / n,
        "tx.amount.mean": amount.mean(),
        "tx.amount.sd": amount.std(ddof=1),
        "tx.amount.median": np.median(amount),
        "tx.amount.p99": np.quantile(amount, 0.99),
        "tx.amount.mean.online": amount[online].mean(),
        "tx.amount.sd.fraud": amount[fraud].std(ddof=1),
        "tx.fraud_value_share": amount[fraud & (amount > 0)].sum() / amount[amount > 0].sum(),
        "tx.online_amount_share": amount[online & (amount > 0)].sum() / amount[amount > 0].sum(),
        "tx.hour_share.09": (hour == 9).mean(),
    }
    for r in DECLINE_REASON_NAMES:
        out[f"tx.error_share.{r}"] = pc.sum(pc.match_substring(tx["errors"], r).fill_null(False)).as_py() / n
    lifetime = np.bincount(user)[np.bincount(user) > 0]
    out["tx.per_user_lifetime.mean"], out["tx.per_user_lifetime.sd"] = lifetime.mean(), lifetime.std(ddof=1)
    spend, rows = defaultdict(float), Counter()
    for u, y, a in zip(user.tolist(), year.tolist(), amount.tolist(), strict=True):
        spend[u, y] += a
        rows[u, y] += 1
    out["tx.per_user_year.mean"] = np.mean(list(rows.values()))
    out["spend.per_user_year.sd"] = np.std(list(spend.values()), ddof=1)
    years = sorted(set(year.tolist()))
    by_year = {
        "rows": {str(y): int((year == y).sum()) for y in years},
        "active_cards": {str(y): len(set(zip(user[year == y], card[year == y], strict=True))) for y in years},
        "active_users": {str(y): len(set(user[year == y].tolist())) for y in years},
        "tx.fraud_rate": {str(y): fraud[year == y].mean() for y in years},
    }
    return {"figures": out, "by_year": by_year, "tx": tx}


@pytest.mark.slow
def test_a_generated_world_matches_a_computation_over_all_rows(world):
    assert len(list((world / "transactions").glob("part-*.parquet"))) == 2
    m = measure_dataset(world)
    naive = _naive(world)
    f = m["figures"]
    for k, v in naive["figures"].items():
        assert f[k] == approx(v, rel=1e-9), k
    for k, v in naive["by_year"].items():
        assert m["by_year"][k] == approx(v, rel=1e-12), k
    assert f["cash_rows"] == read_table(world, "cash").num_rows
    tx = naive["tx"]
    states = Counter(s for s in tx["merchant_state"].to_pylist() if s is not None and len(s) == 2)
    assert {s["state"]: s["rows"] for s in m["breakdowns"]["state"] if s["rows"]} == states
    mcc = sorted(Counter(tx["mcc"].to_pylist()).items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(r["mcc"], r["rows"]) for r in m["breakdowns"]["mcc"]] == mcc
    days = tx["timestamp"].to_numpy().astype("datetime64[D]")
    assert (m["source"]["first"], m["source"]["last"]) == (str(days.min()), str(days.max()))
    months = Counter(str(d)[:7] for d in days.astype("datetime64[M]"))
    assert dict(zip(m["by_month"]["months"], m["by_month"]["rows"], strict=True)) == months
    fraud = tx["is_fraud"].to_numpy(zero_copy_only=False)
    episodes = Counter(
        str(d)[:7]
        for d, _, _ in set(zip(days.astype("datetime64[M]")[fraud].tolist(), tx["user_id"].to_numpy()[fraud],
                               tx["card_id"].to_numpy()[fraud], strict=True))
    )  # fmt: skip
    got = dict(zip(m["by_month"]["months"], m["by_month"]["fraud_cards"], strict=True))
    assert {k: v for k, v in got.items() if v} == episodes


@pytest.mark.slow
def test_a_generated_world_has_its_credit_cycle_and_consumers(world):
    m = measure_dataset(world)
    assert m["source"]["credit"] == "on"
    rates = credit_rates(world)
    pooled = pooled_rates(rates, rates["year"].to_pylist())
    assert m["figures"]["credit.dpd30_rate"] == approx(pooled["dpd30_rate"] / 100)
    assert m["figures"]["credit.charge_offs"] == pooled["charge_offs"]
    q4 = {str(r["year"]): r["dpd30_q4"] for r in rates.to_pylist()}
    assert m["by_year"]["credit.dpd30_rate"] == {
        y: approx(v / 100) if v is not None else None for y, v in q4.items()
    }
    statements = read_table(world, "statements", ["statement_date"])["statement_date"].to_numpy()
    by_month = Counter(str(d)[:7] for d in statements.astype("datetime64[M]"))
    got = dict(zip(m["by_month"]["months"], m["by_month"]["statements"], strict=True))
    assert {k: v for k, v in got.items() if v} == by_month
    consumers = read_table(world, "consumers")
    assert m["figures"]["consumers"] == consumers.num_rows == 15
    income = consumers["yearly_income"].to_numpy()
    assert m["figures"]["consumers.income.median"] == approx(np.median(income))
    ages = 2019 - consumers["birth_year"].to_numpy().astype(int)
    assert m["figures"]["consumers.age.mean"] == approx(ages.mean())


@pytest.mark.slow
def test_any_batching_of_a_world_gives_the_same_measures(world):
    """Row groups (measure_dataset) or 997-row slices in which users span batches: the same measures
    (counts and cent sums exactly; sds from sums of squares to rounding)."""
    m = measure_dataset(world)
    tx = read_dataset_transactions(world)
    batches = [tx.slice(i, 997) for i in range(0, tx.num_rows, 997)]
    consumers, cards = read_table(world, "consumers"), read_table(world, "cards")
    again = measure_source(batches, consumers, cards, source=m["source"])
    assert again["distributions"] == m["distributions"]
    assert again["breakdowns"] == m["breakdowns"]
    assert again["by_month"]["rows"] == m["by_month"]["rows"]
    assert again["figures"] == approx(
        {k: v for k, v in m["figures"].items() if not k.startswith("credit.")} | {"cash_rows": 0}
    )
    for k, v in again["by_year"].items():
        assert v == approx(m["by_year"][k]), k


@pytest.mark.slow
def test_a_row_group_over_the_batch_size_is_read_in_batches(world, monkeypatch):
    m = measure_dataset(world)
    monkeypatch.setattr(measures_module, "BATCH_ROWS", 300)
    sizes = []
    again = measure_dataset(world, progress=sizes.append)
    assert max(sizes) == 300
    assert sum(sizes) == m["source"]["rows"]
    assert again["distributions"] == m["distributions"]
    assert again["figures"] == approx(m["figures"])


@pytest.mark.slow
def test_the_figures_agree_with_the_summary(world):
    f = measure_dataset(world)["figures"]
    s = summarize(world)
    assert s["transactions"] == f"{f['rows']:,}"
    assert s["fraud rate"] == f"{100 * f['tx.fraud_rate']:.3f}%"
    assert s["refunds"] == f"{100 * f['tx.refund_share']:.1f}%"
    assert s["Online Transaction"] == f"{100 * f['tx.channel_share.online']:.1f}%"
    assert s["rows with errors"] == f"{100 * (1 - f['tx.no_error_share']):.2f}%"
    assert s["amount mean / median"] == f"${f['tx.amount.mean']:.2f} / ${f['tx.amount.median']:.2f}"
