"""Reading TabFormer CSVs back: exact values of hand-written rows (IBM's quirks included), errors that name
the file, row and column, and a generated world's export read back equal to the dataset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from cardworld.config import load_config
from cardworld.engine.run import generate
from cardworld.errors import InputError
from cardworld.io.cards import latest_card_issues
from cardworld.io.dataset import read_dataset_transactions, read_table
from cardworld.io.schema import CONSUMERS_SCHEMA, TRANSACTIONS_SCHEMA
from cardworld.io.tabformer import TABFORMER_HEADER as EXPORT_HEADER
from cardworld.io.tabformer import export_tabformer
from cardworld.io.tabformer_read import (
    SD254_CARDS_SCHEMA,
    TABFORMER_HEADER,
    read_sd254_cards,
    read_sd254_users,
    read_tabformer_transactions,
)

HEADER = (
    "User,Card,Year,Month,Day,Time,Amount,Use Chip,Merchant Name,Merchant City,Merchant State,Zip,MCC,"
    "Errors?,Is Fraud?"
)
ROWS = [
    "0,0,2002,9,1,06:21,$134.09,Swipe Transaction,3527213246127876953,La Verne,CA,91750.0,5300,,No",
    "0,0,2002,9,3,06:22,$-500.00,Online Transaction,-8194607650924472520,ONLINE,,,4829,,No",
    '1,2,2020,2,29,23:59,$0.50,Chip Transaction,7,Boston,MA,2134.0,5411,"Bad PIN,Insufficient Balance",Yes',
    "1,2,1969,12,31,00:00,$12.00,Chip Transaction,8,Rome,Italy,,5812,,No",
]
USERS_HEADER = (
    "Person,Current Age,Retirement Age,Birth Year,Birth Month,Gender,Address,Apartment,City,State,Zipcode,"
    "Latitude,Longitude,Per Capita Income - Zipcode,Yearly Income - Person,Total Debt,FICO Score,"
    "Num Credit Cards"
)
USERS = [
    "Hazel Robinson,53,66,1966,11,Female,462 Rose Lane,,La Verne,CA,91750,34.15,-117.76,$29278,$59696,$127613,787,5",
    'Sasha Sadr,53,68,1966,12,Female,"3606 Federal Boulevard, Unit 2",7,Little Neck,NY,2134,40.76,-73.74,$37891,$77254,$0,701,1',
]
CARDS_HEADER = (
    "User,CARD INDEX,Card Brand,Card Type,Card Number,Expires,CVV,Has Chip,Cards Issued,Credit Limit,"
    "Acct Open Date,Year PIN last Changed,Card on Dark Web"
)
CARDS = [
    "0,0,Visa,Debit,4344676511950444,12/2022,623,YES,2,$24295,09/2002,2008,No",
    "0,1,Amex,Credit,379966718029513,02/2024,0421,NO,1,$9100,04/2014,2014,No",
    "1,0,Mastercard,Debit (Prepaid),5722874738736011,7/2020,62,yes,1,$55,07/2017,2017,No",
]


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # wall-clock times are stored as if UTC


def secs(*args: int) -> int:
    return int((dt.datetime(*args, tzinfo=dt.UTC) - EPOCH).total_seconds())


def write(
    tmp_path: Path, lines: list[str], name: str = "card_transaction.v1.csv", *, eol: str = "\n"
) -> Path:
    p = tmp_path / name
    p.write_bytes(eol.join(lines).encode() + eol.encode())
    return p


def read_all(path: Path, **kw) -> pa.Table:
    tables = list(read_tabformer_transactions(path, **kw))
    return pa.concat_tables(tables) if tables else TRANSACTIONS_SCHEMA.empty_table()


def test_the_header_is_the_exporters():
    assert TABFORMER_HEADER == EXPORT_HEADER == HEADER


def test_rows_read_into_the_transactions_contract(tmp_path):
    t = read_all(write(tmp_path, [HEADER, *ROWS]))
    assert t.schema.equals(TRANSACTIONS_SCHEMA)
    assert t["user_id"].to_pylist() == [0, 0, 1, 1]
    assert t["card_id"].to_pylist() == [0, 0, 2, 2]
    stamps = t["timestamp"].cast(pa.int64()).to_pylist()
    assert stamps == [secs(2002, 9, 1, 6, 21), secs(2002, 9, 3, 6, 22), secs(2020, 2, 29, 23, 59), -86_400]
    assert t["amount"].to_pylist() == [134.09, -500.0, 0.5, 12.0]
    assert t["use_chip"].cast(pa.string()).to_pylist() == [
        "Swipe Transaction", "Online Transaction", "Chip Transaction", "Chip Transaction",
    ]  # fmt: skip
    assert t["merchant_id"].to_pylist() == [3527213246127876953, -8194607650924472520, 7, 8]
    assert t["merchant_city"].to_pylist() == ["La Verne", "ONLINE", "Boston", "Rome"]
    assert t["merchant_state"].to_pylist() == ["CA", None, "MA", "Italy"]
    assert t["zip"].to_pylist() == ["91750", None, "02134", None]
    assert t["mcc"].to_pylist() == [5300, 4829, 5411, 5812]
    assert t["errors"].to_pylist() == [None, None, "Bad PIN,Insufficient Balance", None]
    assert t["is_fraud"].to_pylist() == [False, False, True, False]
    assert t["fraudster_id"].null_count == 4


def test_quirks_of_other_writers_are_accepted(tmp_path):
    """IBM's file ends Errors? with a comma; case, seconds, CRLF, column order and extra columns vary."""
    lines = [
        "Is Fraud?,Extra," + HEADER.replace(",Is Fraud?", ""),
        'yes,x,0,0,2002,9,1,06:21:30,$1.00,chip transaction,1,NA,NULL,,5411,"Insufficient Balance,"',
        "NO,y,0,0,2002,9,1,06:22,$2.00,Swipe Transaction,1,NA,CA,1.0,5411,Bad PIN",
    ]
    t = read_all(write(tmp_path, lines, eol="\r\n"))
    assert t["is_fraud"].to_pylist() == [True, False]
    assert t["use_chip"].cast(pa.string()).to_pylist() == ["Chip Transaction", "Swipe Transaction"]
    assert t["timestamp"].cast(pa.int64()).to_pylist() == [
        secs(2002, 9, 1, 6, 21, 30),
        secs(2002, 9, 1, 6, 22),
    ]
    assert t["merchant_city"].to_pylist() == ["NA", "NA"]  # a city, not a missing value
    assert t["merchant_state"].to_pylist() == ["NULL", "CA"]
    assert t["zip"].to_pylist() == [None, "00001"]
    assert t["errors"].to_pylist() == ["Insufficient Balance", "Bad PIN"]


def test_a_small_block_size_streams_several_tables_with_the_same_rows(tmp_path):
    rows = [f"{u},0,2019,1,{d},12:{m:02d},${u}.{m:02d},Swipe Transaction,{u * 100 + d},X,CA,91750.0,5411,,No"
            for u in range(40) for d in range(1, 29) for m in (0, 30)]  # fmt: skip
    path = write(tmp_path, [HEADER, *rows])
    tables = list(read_tabformer_transactions(path, block_size=4096))
    assert len(tables) > 5
    whole = pa.concat_tables(tables)
    assert whole.num_rows == len(rows)
    assert whole.equals(read_all(path))
    assert whole["merchant_id"].to_pylist() == [
        u * 100 + d for u in range(40) for d in range(1, 29) for _ in (0, 1)
    ]


def test_a_header_only_file_has_no_rows(tmp_path):
    assert read_all(write(tmp_path, [HEADER])).num_rows == 0


BAD_VALUES = [  # (column index, bad text, what the message says)
    (6, "12.3", "'12.3' is not an amount"),
    (6, "$1x", "'$1x' is not an amount"),
    (0, "u1", "'u1' is not a whole number"),
    (1, "99999", "'99999' is not a whole number"),
    (3, "13", "'13' is not a month"),
    (4, "30", "'30' is not a day of that month"),  # 2020-02-30
    (5, "6:21", "'6:21' is not a time of day"),
    (7, "Tap Transaction", "'Tap Transaction' is not one of"),
    (11, "9175a", "'9175a' is not a number"),
    (11, "91750.5", "'91750.5' is not a ZIP code"),
    (12, "", "an empty value where a whole number"),
    (14, "Maybe", "'Maybe' is not one of 'No', 'Yes'"),
    (2, "", "an empty value"),
]


@pytest.mark.parametrize(("index", "text", "says"), BAD_VALUES)
def test_a_malformed_value_names_the_file_row_and_column(tmp_path, index, text, says):
    fields = ROWS[2].replace('"Bad PIN,Insufficient Balance"', "Bad PIN").split(",")
    fields[index] = text
    path = write(tmp_path, [HEADER, ROWS[0], ROWS[1], ",".join(fields), ROWS[3]])
    with pytest.raises(InputError) as e:
        read_all(path)
    msg = str(e.value)
    column = HEADER.split(",")[index]
    assert str(path) in msg
    assert f"row 3 (line 4), column {column!r}" in msg
    assert says in msg


def test_the_row_number_counts_across_blocks(tmp_path):
    good = ROWS[0]
    lines = [HEADER] + [good] * 700 + [good.replace("$134.09", "134.09")] + [good] * 50
    path = write(tmp_path, lines)
    with pytest.raises(InputError, match=r"row 701 \(line 702\), column 'Amount'"):
        read_all(path, block_size=4096)
    typed = [HEADER] + [good] * 700 + [good.replace("2002,9,1", "2002,x,1")] + [good] * 50
    with pytest.raises(InputError, match=r"row 701 \(line 702\), column 'Month': 'x'"):
        read_all(write(tmp_path, typed, "typed.csv"), block_size=4096)


def test_a_row_with_missing_fields_is_named(tmp_path):
    path = write(tmp_path, [HEADER, ROWS[0], ROWS[1].rsplit(",", 2)[0]])
    with pytest.raises(InputError, match=r"row 2 \(line 3\): Expected 15 columns, got 13") as e:
        read_all(path)
    assert str(path) in str(e.value)


def test_missing_file_directory_empty_file_and_renamed_columns(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_tabformer_transactions(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a directory"):
        read_tabformer_transactions(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="is empty; a TabFormer transactions CSV starts with the header"):
        read_tabformer_transactions(empty)
    renamed = write(tmp_path, [HEADER.replace("Is Fraud?", "Is Fraud").replace("MCC", "mcc"), *ROWS])
    with pytest.raises(InputError) as e:
        read_tabformer_transactions(renamed)  # checked at the call, before any row is read
    msg = str(e.value)
    assert str(renamed) in msg
    assert "no column(s) 'MCC', 'Is Fraud?'" in msg
    assert "'Is Fraud'" in msg
    with pytest.raises(InputError, match="block_size"):
        read_tabformer_transactions(write(tmp_path, [HEADER]), block_size=10)


def test_sd254_users_read_into_the_consumers_contract(tmp_path):
    t = read_sd254_users(write(tmp_path, [USERS_HEADER, *USERS], "sd254_users.csv"))
    assert t.schema.equals(CONSUMERS_SCHEMA)
    assert t["user_id"].to_pylist() == [0, 1]
    assert t["name"].to_pylist() == ["Hazel Robinson", "Sasha Sadr"]
    assert t["address"].to_pylist() == ["462 Rose Lane", "3606 Federal Boulevard, Unit 2"]
    assert t["apartment"].to_pylist() == [None, "7"]
    assert t["zipcode"].to_pylist() == ["91750", "02134"]
    assert t["birth_year"].to_pylist() == [1966, 1966]
    assert t["birth_month"].to_pylist() == [11, 12]
    assert t["latitude"].to_pylist() == [34.15, 40.76]
    assert t["yearly_income"].to_pylist() == [59696.0, 77254.0]
    assert t["total_debt"].to_pylist() == [127613.0, 0.0]
    assert t["fico_score"].to_pylist() == [787, 701]
    assert t["num_credit_cards"].to_pylist() == [5, 1]


def test_sd254_cards_read_with_month_dates_and_a_lifetime_span(tmp_path):
    t = read_sd254_cards(write(tmp_path, [CARDS_HEADER, *CARDS], "sd254_cards.csv"))
    assert t.schema.equals(SD254_CARDS_SCHEMA)
    assert "account_id" not in t.column_names
    assert t["card_index"].to_pylist() == [0, 1, 0]
    assert t["card_type"].to_pylist() == ["Debit", "Credit", "Debit (Prepaid)"]
    assert t["expires"].to_pylist() == [dt.date(2022, 12, 31), dt.date(2024, 2, 29), dt.date(2020, 7, 31)]
    assert t["acct_open_date"].to_pylist() == [dt.date(2002, 9, 1), dt.date(2014, 4, 1), dt.date(2017, 7, 1)]
    assert t["cvv"].to_pylist() == ["623", "0421", "062"]
    assert t["has_chip"].to_pylist() == [True, False, True]
    assert t["credit_limit"].to_pylist() == [24295.0, 9100.0, 55.0]
    assert t["card_on_dark_web"].to_pylist() == [False, False, False]
    assert t["valid_from"].cast(pa.int64()).to_pylist()[0] == secs(2002, 9, 1)
    assert t["valid_to"].cast(pa.int64()).to_pylist()[0] == secs(2023, 1, 1)  # the day after expiry


@pytest.mark.parametrize(
    ("which", "old", "new", "column", "says"),
    [
        ("users", "$59696", "59696", "Yearly Income - Person", "'59696' is not an amount"),
        ("users", ",787,", ",high,", "FICO Score", "'high' is not a whole number"),
        ("cards", "12/2022", "2022-12", "Expires", "'2022-12' is not a month like"),
        ("cards", "09/2002", "13/2002", "Acct Open Date", "'13/2002' is not a month like"),
        ("cards", ",YES,", ",maybe,", "Has Chip", "'maybe' is not one of 'NO', 'YES'"),
    ],
)
def test_a_malformed_sd254_value_names_the_file_row_and_column(tmp_path, which, old, new, column, says):
    header, lines, reader = (
        (USERS_HEADER, USERS, read_sd254_users)
        if which == "users"
        else (CARDS_HEADER, CARDS, read_sd254_cards)
    )
    path = write(tmp_path, [header, lines[0].replace(old, new), *lines[1:]], f"sd254_{which}.csv")
    with pytest.raises(InputError) as e:
        reader(path)
    msg = str(e.value)
    assert str(path) in msg
    assert f"row 1 (line 2), column {column!r}" in msg
    assert says in msg


def test_sd254_files_missing_or_with_renamed_columns(tmp_path):
    with pytest.raises(InputError, match=r"sd254 users CSV .* does not exist"):
        read_sd254_users(tmp_path / "sd254_users.csv")
    path = write(tmp_path, [CARDS_HEADER.replace("CARD INDEX", "Card Index"), *CARDS], "sd254_cards.csv")
    with pytest.raises(InputError, match=r"no column\(s\) 'CARD INDEX' in its header") as e:
        read_sd254_cards(path)
    assert str(path) in str(e.value)


# ---------------------------------------------------------------------------------------------------------
# A generated world, exported and read back


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("tabformer_read")
    cfg = load_config(consumers=10, start="2018-01-01", end="2019-12-31", seed=7, fraud={"rate": 0.01})
    generate(cfg, d / "world")
    export_tabformer(d / "world", d / "tx.csv", d / "sd254_users.csv", d / "sd254_cards.csv")
    return d


def _sorted(t: pa.Table) -> pa.Table:
    order = np.lexsort(
        (t["timestamp"].cast(pa.int64()).to_numpy(), t["card_id"].to_numpy(), t["user_id"].to_numpy())
    )  # stable: equal (user, card, time) keep their order, as the export writes them
    return t.take(pa.array(order))


@pytest.mark.slow
def test_an_exported_world_reads_back_equal_on_every_tabformer_column(world):
    ours = _sorted(read_dataset_transactions(world / "world"))
    back = pa.concat_tables(read_tabformer_transactions(world / "tx.csv", block_size=1 << 16))
    assert back.num_rows == ours.num_rows > 1000
    assert back["is_fraud"].to_numpy().any()
    assert back["errors"].null_count < back.num_rows
    assert back["merchant_state"].null_count > 0  # online rows: no state, no ZIP
    for name in TRANSACTIONS_SCHEMA.names:
        if name == "fraudster_id":  # TabFormer has no column for it
            assert back[name].null_count == back.num_rows
            continue
        a, b = ours[name], back[name]
        if pa.types.is_dictionary(a.type):
            a, b = a.cast(a.type.value_type), b.cast(b.type.value_type)
        assert b.to_pylist() == a.to_pylist(), name


@pytest.mark.slow
def test_exported_sd254_files_read_back_equal_on_the_columns_they_carry(world):
    consumers = read_table(world / "world", "consumers")
    users = read_sd254_users(world / "sd254_users.csv")
    assert users.num_rows == consumers.num_rows == 10
    exact = [c for c in CONSUMERS_SCHEMA.names if c not in ("latitude", "longitude", "per_capita_income_zip",
                                                            "yearly_income", "total_debt")]  # fmt: skip
    for c in exact:
        assert users[c].to_pylist() == consumers[c].to_pylist(), c
    for c in ("latitude", "longitude"):  # written with 2 decimals
        np.testing.assert_array_equal(users[c].to_numpy(), np.round(consumers[c].to_numpy(), 2))
    for c in ("per_capita_income_zip", "yearly_income", "total_debt"):  # written as whole dollars
        np.testing.assert_array_equal(users[c].to_numpy(), np.rint(consumers[c].to_numpy()))

    latest = latest_card_issues(read_table(world / "world", "cards"))
    cards = read_sd254_cards(world / "sd254_cards.csv")
    assert cards.num_rows == latest.num_rows
    for c in ("user_id", "card_index", "card_brand", "card_type", "card_number", "expires", "cvv", "has_chip",
              "cards_issued", "year_pin_last_changed"):  # fmt: skip
        assert cards[c].to_pylist() == latest[c].to_pylist(), c
    np.testing.assert_array_equal(
        cards["credit_limit"].to_numpy(), np.rint(latest["credit_limit"].to_numpy())
    )
    opened = [d.replace(day=1) for d in latest["acct_open_date"].to_pylist()]
    assert cards["acct_open_date"].to_pylist() == opened
    assert not any(cards["card_on_dark_web"].to_pylist())  # the export writes "No" throughout


@pytest.mark.slow
def test_every_exported_transaction_falls_in_its_cards_span(world):
    cards = read_sd254_cards(world / "sd254_cards.csv")
    span = {
        (u, c): (a, b)
        for u, c, a, b in zip(*(cards[k].to_pylist() for k in ("user_id", "card_index", "valid_from", "valid_to")),
                              strict=True)
    }  # fmt: skip
    tx = pa.concat_tables(read_tabformer_transactions(world / "tx.csv"))
    for u, c, t in zip(*(tx[k].to_pylist() for k in ("user_id", "card_id", "timestamp")), strict=True):
        a, b = span[(u, c)]
        assert a <= t < b
