"""A consumer's page on a tiny generated world, checked against the dataset's files read directly; and the
choice of the example consumer, on hand-made sets and against a naive scan of the world."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pyarrow.compute as pc
import pytest

import cardworld
from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io.dataset import read_dataset_transactions, read_table
from cardworld.report.consumer_page import (
    CARD_COLUMNS,
    consumer_page,
    example_consumer,
    mask_number,
    pick_example,
    summary_rows,
)

# Seed 1: fraud on users 2, 3 and 7, trips for everyone, one statement 30 days past due (user 9): the
# example is not simply the first user, nor the delinquent one.
SMALL = {"consumers": 10, "start": "2019-01-01", "end": "2019-12-31", "seed": 1}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("consumer_page") / "world"
    generate(load_config(**SMALL), path)
    return cardworld.open(path)


@pytest.fixture(scope="module")
def tx(world):
    return read_dataset_transactions(world.path, ["user_id", "timestamp", "amount", "errors", "is_fraud"])


def _rows_of(table, uid):
    return table.filter(pc.equal(table["user_id"], uid))


def _naive_example(world, tx) -> int:
    """Rank every consumer by (fraud, trip, 30+ DPD statement), lowest id on ties, from whole tables."""
    fraud = set(tx.filter(tx["is_fraud"])["user_id"].to_pylist())
    trips = set(read_table(world.path, "trips")["user_id"].to_pylist())
    s = read_table(world.path, "statements")
    late = set(s.filter(pc.greater_equal(s["days_past_due"], 30))["user_id"].to_pylist())
    users = sorted(set(tx["user_id"].to_pylist()))
    return min(users, key=lambda u: (-(4 * (u in fraud) + 2 * (u in trips) + (u in late)), u))


@pytest.fixture(scope="module")
def example(world, tx):
    uid = example_consumer(world)
    return uid, consumer_page(world, uid)


def test_the_example_consumer_is_the_best_ranked_one_and_has_fraud(world, tx, example):
    uid, _ = example
    assert uid == _naive_example(world, tx)
    assert pc.sum(_rows_of(tx, uid)["is_fraud"]).as_py() > 0
    assert uid != 0  # the world's first consumer has no fraud: a real choice was made
    assert example_consumer(world.path) == uid  # a path works as well as an opened dataset


def test_the_bio_is_the_consumers_row(world, example):
    uid, page = example
    row = _rows_of(read_table(world.path, "consumers"), uid).to_pylist()[0]
    bio = dict(page["bio"])
    assert page["user_id"] == uid
    assert page["title"] == f"Consumer {uid}: {row['name']}, {row['city']}, {row['state']}"
    assert bio["name"] == row["name"]
    assert bio["gender"] == row["gender"]
    assert bio["birth year"] == str(row["birth_year"])
    assert bio["age"].startswith(f"{2019 - row['birth_year']} ")
    assert bio["retirement age"] == str(row["retirement_age"])
    assert bio["home address"].startswith(row["address"])
    assert (bio["city"], bio["state"], bio["ZIP"]) == (row["city"], row["state"], row["zipcode"])
    for label, column in (("yearly income", "yearly_income"), ("total debt", "total_debt")):
        assert bio[label].startswith("$")
        assert float(bio[label][1:].replace(",", "")) == pytest.approx(row[column], abs=0.5)
    assert bio["FICO score (at the world's start)"] == str(row["fico_score"])
    assert bio["cards"] == str(row["num_credit_cards"])


def test_the_cards_are_the_cards_rows_with_masked_numbers(world, example):
    uid, page = example
    cards = _rows_of(read_table(world.path, "cards"), uid)
    expected = sorted(cards.to_pylist(), key=lambda c: (c["card_index"], c["valid_from"]))
    table = page["cards"]
    assert table["columns"] == CARD_COLUMNS
    assert len(table["rows"]) == len(expected) == cards.num_rows
    col = {name: i for i, name in enumerate(CARD_COLUMNS)}
    for row, card in zip(table["rows"], expected, strict=True):
        assert row[col["card"]] == card["card_index"]
        assert (row[col["brand"]], row[col["type"]]) == (card["card_brand"], card["card_type"])
        assert row[col["number"]] == "**** " + card["card_number"][-4:]
        assert row[col["expires"]] == card["expires"].strftime("%Y-%m")
        assert row[col["issue"]] == card["cards_issued"]
        assert row[col["valid from"]].startswith(card["valid_from"].strftime("%Y-%m-%d"))
        cells = " ".join(map(str, row))
        assert card["card_number"][:-4] not in cells


def test_summaries_count_what_the_files_hold(world, tx):
    trips = read_table(world.path, "trips")
    statements = read_table(world.path, "statements")
    defaults = read_table(world.path, "defaults")
    for uid in read_table(world.path, "consumers")["user_id"].to_pylist():
        mine = _rows_of(tx, uid)
        charged = _rows_of(defaults, uid)
        summary = dict(summary_rows(world.user(uid), charged))
        assert summary["transactions"] == mine.num_rows
        assert summary["fraud rows"] == pc.sum(mine["is_fraud"]).as_py()
        assert summary["declined rows (with errors)"] == mine.num_rows - mine["errors"].null_count
        assert summary["trips"] == _rows_of(trips, uid).num_rows
        mine_s = _rows_of(statements, uid)
        assert summary["statements"] == mine_s.num_rows
        if mine_s.num_rows:
            assert summary["worst days past due"] == pc.max(mine_s["days_past_due"]).as_py()
        else:
            assert "worst days past due" not in summary
        assert (summary["charged off"] == "no") == (charged.num_rows == 0)
        if mine.num_rows:
            assert summary["first transaction"].startswith(
                pc.min(mine["timestamp"]).as_py().strftime("%Y-%m-%d")
            )
            assert summary["last transaction"].startswith(
                pc.max(mine["timestamp"]).as_py().strftime("%Y-%m-%d")
            )


def test_the_page_has_a_timeline_and_monthly_spending(world, tx, example):
    uid, page = example
    assert [f["id"] for f in page["figures"]] == ["consumer_timeline", "consumer_monthly"]
    for f in page["figures"]:
        raw = base64.b64decode(f["png"], validate=True)
        assert raw[:8] == PNG_SIGNATURE
        assert len(raw) > 5_000
    timeline, monthly = page["figures"]
    assert f"{_rows_of(tx, uid).num_rows:,} card transactions" in timeline["caption"]
    trips = _rows_of(read_table(world.path, "trips"), uid).num_rows
    assert f"({trips} trips)" in timeline["caption"]
    has_statements = _rows_of(read_table(world.path, "statements"), uid).num_rows > 0
    assert ("statement date" in monthly["caption"]) == has_statements


def test_an_unknown_user_is_the_readers_error(world):
    with pytest.raises(InputError, match=r"user_id 12345 is not in the dataset"):
        consumer_page(world, 12345)


def test_a_card_number_shows_only_its_last_four_digits():
    assert mask_number("4945022565953712") == "**** 3712"
    assert mask_number("371449635398431") == "**** 8431"  # Amex: 15 digits


def _stop_after(values: list[int]) -> Iterator[int]:
    yield from values
    raise AssertionError("read past the consumer that has everything")


@pytest.mark.parametrize(
    ("fraud", "trips", "late", "users", "expected"),
    [
        ([3, 5, 8], {5, 8}, {8}, [1, 3, 5, 8], 8),  # fraud, trip and delinquency beat fraud and trip
        ([3, 5, 8], {5, 8}, set(), [1, 3, 5, 8], 5),  # no delinquency in the world: fraud and trip suffice
        ([9], {1}, {1}, [1, 9], 9),  # fraud comes first
        ([4, 6], set(), set(), [4, 6], 4),  # ties: the lowest id
        ([], {3}, {7}, [1, 3, 7], 3),  # no fraud: a trip beats a late statement
        ([], set(), set(), [2, 5], 2),
        ([], set(), set(), [], None),
    ],
)
def test_the_example_ranks_fraud_then_trips_then_delinquency(fraud, trips, late, users, expected):
    assert pick_example(iter(fraud), trips, late, users) == expected


def test_the_example_stops_reading_at_the_first_consumer_with_everything():
    assert pick_example(_stop_after([2, 4]), {4}, set(), [2, 4, 6]) == 4
