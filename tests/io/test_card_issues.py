"""cardworld.io.cards: the latest issue per card, and the issue in use at each transaction (as-of join)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io.cards import card_issue_rows, join_card_issues, latest_card_issues
from cardworld.io.dataset import read_dataset_transactions, read_table, table_path
from cardworld.io.schema import build_table


def s(v: str) -> np.datetime64:
    return np.datetime64(v, "s")


def cards_table() -> pa.Table:
    """User 0 card 0: issued 2010, reissued 2014, revoked 2016-05-03 10:20 and replaced the second after;
    user 0 card 1: one issue; user 1 card 0: one issue ending 2019. Rows deliberately out of order."""
    d = lambda v: np.datetime64(v, "D")  # noqa: E731
    return build_table(
        "cards",
        {
            "user_id": np.array([0, 1, 0, 0, 0]),
            "card_index": np.array([0, 0, 1, 0, 0]),
            "card_brand": ["Visa", "Amex", "Mastercard", "Visa", "Visa"],
            "card_type": ["Debit", "Credit", "Credit", "Debit", "Debit"],
            "card_number": [
                "4000000000000002",
                "370000000000002",
                "5100000000000008",
                "4000000000000010",
                "4000000000000028",
            ],
            "expires": np.array(
                [d("2014-12-31"), d("2019-06-30"), d("2021-01-31"), d("2018-12-31"), d("2020-05-31")]
            ),
            "cvv": ["111", "2222", "333", "444", "555"],
            "has_chip": np.array([False, True, True, True, True]),
            "cards_issued": np.array([1, 1, 1, 2, 3]),
            "credit_limit": np.array([5000.0, 9000.0, 7000.0, 5000.0, 5000.0]),
            "acct_open_date": np.array([d("2010-01-15")] * 2 + [d("2016-01-31")] + [d("2010-01-15")] * 2),
            "year_pin_last_changed": np.array([2010, 2015, 2016, 2010, 2010]),
            "card_on_dark_web": np.array([False, False, False, True, False]),
            "account_id": np.array([0, 16, 1, 0, 0]),
            "valid_from": np.array(
                [s("2010-01-15"), s("2015-06-01"), s("2016-01-31"), s("2014-12-01"), s("2016-05-03T10:20:01")]
            ),
            "valid_to": np.array(
                [s("2014-12-01"), s("2019-07-01"), s("2021-02-01"), s("2016-05-03T10:20:01"), s("2018-12-01")]
            ),
        },
    )


def test_latest_card_issues_keeps_each_cards_last_issue():
    t = latest_card_issues(cards_table())
    assert list(zip(t["user_id"].to_pylist(), t["card_index"].to_pylist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (1, 0),
    ]
    assert t["card_number"].to_pylist() == ["4000000000000028", "5100000000000008", "370000000000002"]
    assert latest_card_issues(cards_table().slice(0, 0)).num_rows == 0


def test_card_issue_rows_by_hand():
    cards = cards_table()
    cases = [  # (user, card, time, expected row in cards_table())
        (0, 0, "2010-01-15T00:00:00", 0),  # the first second of an issue is in it
        (0, 0, "2014-11-30T23:59:00", 0),
        (0, 0, "2014-12-01T00:00:00", 3),  # valid_to is exclusive: the reissue takes over
        (0, 0, "2016-05-03T10:20:00", 3),  # the revoking transaction stays on the old number
        (0, 0, "2016-05-03T10:21:00", 4),  # the replacement, same card index
        (0, 0, "2018-12-01T00:00:00", -1),  # after the last issue
        (0, 0, "2009-12-31T00:00:00", -1),  # before the first
        (0, 1, "2017-03-01T12:00:00", 2),
        (1, 0, "2017-03-01T12:00:00", 1),
        (1, 1, "2017-03-01T12:00:00", -1),  # no such card
        (2, 0, "2017-03-01T12:00:00", -1),  # no such user
    ]
    user = np.array([c[0] for c in cases])
    card = np.array([c[1] for c in cases])
    when = np.array([s(c[2]) for c in cases])
    expected = [c[3] for c in cases]
    assert card_issue_rows(cards, user, card, when).tolist() == expected
    assert card_issue_rows(cards, user, card, when.astype(np.int64)).tolist() == expected  # int seconds


def test_join_card_issues_appends_the_issue_in_use():
    tx = pa.table(
        {
            "user_id": pa.array([0, 0, 1, 0], pa.int32()),
            "card_id": pa.array([0, 0, 0, 1], pa.int16()),
            "timestamp": pa.array(
                np.array([s("2016-05-03T10:20"), s("2016-05-04"), s("2017-01-01"), s("2030-01-01")]),
                pa.timestamp("ms"),
            ),  # milliseconds, as plain pyarrow reads Parquet
            "amount": pa.array([10.0, 20.0, 30.0, 40.0]),
        }
    )
    out = join_card_issues(tx, cards_table(), columns=["card_number", "cards_issued"])
    assert out.column_names == ["user_id", "card_id", "timestamp", "amount", "card_number", "cards_issued"]
    assert out["card_number"].to_pylist() == ["4000000000000010", "4000000000000028", "370000000000002", None]
    assert out["cards_issued"].to_pylist() == [2, 3, 1, None]
    full = join_card_issues(tx, cards_table())
    assert full.num_rows == tx.num_rows
    assert "valid_from" in full.column_names
    assert "card_index" not in full.column_names


def test_helpers_name_what_is_missing():
    tx = pa.table({"user_id": pa.array([0], pa.int32()), "timestamp": pa.array([s("2017-01-01")])})
    with pytest.raises(InputError, match=r"transactions: no column\(s\) \['card_id'\]"):
        join_card_issues(tx, cards_table())
    with pytest.raises(InputError, match=r"cards: no column\(s\) \['valid_to'\]"):
        card_issue_rows(cards_table().drop_columns(["valid_to"]), np.array([0]), np.array([0]), np.array([0]))
    full = tx.append_column("card_id", pa.array([0], pa.int16())).append_column("cvv", pa.array(["1"]))
    with pytest.raises(InputError, match=r"already have column\(s\) \['cvv'\]"):
        join_card_issues(full, cards_table())
    text_time = full.set_column(1, "timestamp", pa.array(["2017"]))
    with pytest.raises(InputError, match=r"transactions\.timestamp must be a timestamp"):
        join_card_issues(text_time, cards_table(), columns=["card_number"])
    with pytest.raises(InputError, match="one value per transaction"):
        card_issue_rows(cards_table(), np.array([0, 0]), np.array([0, 0]), np.array([0]))


# ---------------------------------------------------------------- on a generated world with revocations
@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cards") / "world"
    cfg = load_config(consumers=20, start="2018-01-01", end="2019-12-31", seed=2, fraud={"rate": 0.01})
    generate(cfg, out, workers=1)
    return out


def test_every_transaction_joins_exactly_one_issue(world):
    tx = read_dataset_transactions(world)
    cards = read_table(world, "cards")
    # A plain join on (user_id, card_index) repeats each row once per issue of its card.
    plain = tx.join(
        cards.select(["user_id", "card_index"]), ["user_id", "card_id"], ["user_id", "card_index"]
    )
    assert plain.num_rows > 1.5 * tx.num_rows
    # Naively: every issue row against every transaction of its card.
    user, card = tx["user_id"].to_numpy(), tx["card_id"].to_numpy()
    t = tx["timestamp"].cast(pa.int64()).to_numpy()
    vf, vt = (cards[c].cast(pa.int64()).to_numpy() for c in ("valid_from", "valid_to"))
    hits = np.zeros(tx.num_rows, dtype=np.int64)
    naive = np.full(tx.num_rows, -1)
    for r, (u, c) in enumerate(
        zip(cards["user_id"].to_pylist(), cards["card_index"].to_pylist(), strict=True)
    ):
        inside = (user == u) & (card == c) & (vf[r] <= t) & (t < vt[r])
        hits += inside
        naive[inside] = r
    assert (hits == 1).all()
    rows = card_issue_rows(cards, user, card, t)
    assert np.array_equal(rows, naive)
    joined = join_card_issues(tx, cards)
    assert joined.num_rows == tx.num_rows
    assert joined["card_number"].null_count == 0
    assert joined["card_number"].to_pylist() == cards["card_number"].take(pa.array(naive)).to_pylist()
    # The world has replacements after fraud, and rows after them join the replacement.
    replaced = np.flatnonzero(vf % 86400 != 0)
    assert replaced.size > 0
    assert np.isin(replaced, rows).any()


def test_the_polars_recipe_gives_the_same_issues(world):
    pl = pytest.importorskip("polars")
    tx = pl.read_parquet(sorted((world / "transactions").glob("*.parquet")))
    cards = pl.read_parquet(table_path(world, "cards"))
    joined = tx.sort("timestamp").join_asof(
        cards.sort("valid_from"),
        left_on="timestamp",
        right_on="valid_from",
        by_left=["user_id", "card_id"],
        by_right=["user_id", "card_index"],
    )
    assert joined.height == tx.height
    assert joined.filter(pl.col("timestamp") >= pl.col("valid_to")).height == 0  # in use at the row
    ours = join_card_issues(
        read_dataset_transactions(world), read_table(world, "cards"), columns=["card_number"]
    )
    key = ["user_id", "card_id", "timestamp", "amount"]
    theirs = pa.table(joined.select([*key, "card_number"]).to_arrow())
    left = ours.select([*key, "card_number"]).sort_by([(k, "ascending") for k in [*key, "card_number"]])
    right = theirs.sort_by([(k, "ascending") for k in [*key, "card_number"]])
    assert pc.all(pc.equal(left["card_number"], right["card_number"].cast(pa.string()))).as_py()
