"""The dataset contract: exact schemas, and the array-to-table builders (codes, nulls, bitmasks, sorting)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cardworld.codes import DECLINE_REASON_NAMES as ERROR_REASONS
from cardworld.codes import USE_CHIP
from cardworld.errors import InputError
from cardworld.io.schema import (
    SCHEMAS,
    TABLE_NAMES,
    build_table,
    cash_table,
    conform,
    error_mask,
    error_strings,
    transactions_table,
)

# The contract, spelled out independently of schema.py: (name, type, nullable).
EXPECTED = {
    "transactions": [
        ("user_id", "int32", False),
        ("card_id", "int16", False),
        ("timestamp", "timestamp[s]", False),
        ("amount", "double", False),
        ("use_chip", "dictionary<values=string, indices=int8, ordered=0>", False),
        ("merchant_id", "int64", False),
        ("merchant_city", "string", False),
        ("merchant_state", "string", True),
        ("zip", "string", True),
        ("mcc", "int16", False),
        ("errors", "string", True),
        ("is_fraud", "bool", False),
        ("fraudster_id", "int32", True),
    ],
    "cash": [
        ("user_id", "int32", False),
        ("timestamp", "timestamp[s]", False),
        ("amount", "double", False),
        ("merchant_id", "int64", False),
        ("merchant_city", "string", False),
        ("merchant_state", "string", True),
        ("zip", "string", True),
        ("mcc", "int16", False),
    ],
    "consumers": [
        ("user_id", "int32", False),
        ("name", "string", False),
        ("gender", "string", False),
        ("birth_year", "int16", False),
        ("birth_month", "int8", False),
        ("retirement_age", "int16", False),
        ("address", "string", False),
        ("apartment", "string", True),
        ("city", "string", False),
        ("state", "string", False),
        ("zipcode", "string", False),
        ("latitude", "double", False),
        ("longitude", "double", False),
        ("per_capita_income_zip", "double", False),
        ("yearly_income", "double", False),
        ("total_debt", "double", False),
        ("fico_score", "int16", False),
        ("num_credit_cards", "int8", False),
    ],
    "cards": [
        ("user_id", "int32", False),
        ("card_index", "int16", False),
        ("card_brand", "string", False),
        ("card_type", "string", False),
        ("card_number", "string", False),
        ("expires", "date32[day]", False),
        ("cvv", "string", False),
        ("has_chip", "bool", False),
        ("cards_issued", "int16", False),
        ("credit_limit", "double", False),
        ("acct_open_date", "date32[day]", False),
        ("year_pin_last_changed", "int16", False),
        ("card_on_dark_web", "bool", False),
        ("account_id", "int64", False),
        ("valid_from", "timestamp[s]", False),
        ("valid_to", "timestamp[s]", False),
    ],
    "accounts": [
        ("account_id", "int64", False),
        ("user_id", "int32", False),
        ("kind", "string", False),
        ("credit_limit", "double", False),
        ("payment_habit", "string", False),
        ("pay_share", "double", False),
        ("opened", "date32[day]", False),
    ],
    "trips": [
        ("user_id", "int32", False),
        ("kind", "string", False),
        ("start", "timestamp[s]", False),
        ("end", "timestamp[s]", False),
        ("destination", "string", False),
        ("country", "string", False),
        ("foreign", "bool", False),
    ],
    "merchants": [
        ("merchant_id", "int64", False),
        ("mcc", "int16", False),
        ("name", "string", False),
        ("city", "string", False),
        ("state", "string", True),
        ("zip", "string", True),
        ("country", "string", False),
        ("chain", "string", True),
        ("online", "bool", False),
    ],
    "fraudsters": [
        ("fraudster_id", "int32", False),
        ("kind", "string", False),
        ("start", "timestamp[s]", False),
        ("end", "timestamp[s]", False),
    ],
    "statements": [
        ("user_id", "int32", False),
        ("account_id", "int64", False),
        ("statement_date", "date32[day]", False),
        ("balance", "double", False),
        ("minimum_due", "double", False),
        ("payment", "double", False),
        ("payment_date", "date32[day]", True),
        ("days_past_due", "int16", False),
        ("apr", "double", False),
        ("fees", "double", False),
        ("credit_limit", "double", False),
        ("fico_score", "int16", False),
    ],
    "defaults": [
        ("user_id", "int32", False),
        ("account_id", "int64", False),
        ("first_delinquent_date", "date32[day]", False),
        ("charge_off_date", "date32[day]", False),
        ("balance_charged_off", "double", False),
        ("cause", "string", False),
    ],
}

T0 = 1_030_861_260  # 2002-09-01 06:21:00, a whole minute
CITIES = ["La Verne", "Monterey Park", "ONLINE"]
STATES = ["CA", "NY"]
ZIPS = ["91750", "02134"]


def tx_arrays(n: int = 4, **over) -> dict[str, np.ndarray]:
    base = {
        "user_id": np.zeros(n, np.int32),
        "card_id": np.zeros(n, np.int16),
        "timestamp": T0 + 60 * np.arange(n, dtype=np.int64),
        "amount": np.full(n, 12.5),
        "use_chip": np.zeros(n, np.int8),
        "merchant_id": np.arange(n, dtype=np.int64) - 2,
        "merchant_city": np.zeros(n, np.int32),
        "merchant_state": np.zeros(n, np.int16),
        "zip": np.zeros(n, np.int32),
        "mcc": np.full(n, 5411, np.int16),
        "errors": np.zeros(n, np.int8),
        "is_fraud": np.zeros(n, bool),
        "fraudster_id": np.full(n, -1, np.int32),
    }
    base.update(over)
    return base


VOCAB = {"merchant_city": CITIES, "merchant_state": STATES, "zip": ZIPS}


def _spelled(schema: pa.Schema) -> list[tuple[str, str, bool]]:
    return [(f.name, str(f.type), f.nullable) for f in schema]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_contract_schemas(name):
    assert _spelled(SCHEMAS[name]) == EXPECTED[name]


def test_table_names_cover_every_file():
    assert set(TABLE_NAMES) == set(EXPECTED) - {"transactions"}


def test_error_strings_follow_reason_order():
    strings = error_strings()
    assert len(strings) == 128
    assert strings[0] is None
    assert strings[1] == "Bad PIN"
    assert strings[0b110] == "Insufficient Balance,Technical Glitch"
    assert strings[0b1000001] == "Bad PIN,Bad Zipcode"
    assert strings[127] == (
        "Bad PIN,Insufficient Balance,Technical Glitch,Bad Card Number,Bad CVV,Bad Expiration,Bad Zipcode"
    )
    for mask in range(1, 128):
        parts = strings[mask].split(",")
        assert [ERROR_REASONS.index(p) for p in parts] == sorted(ERROR_REASONS.index(p) for p in parts)
        assert error_mask(strings[mask]) == mask
    assert error_mask(None) == error_mask("") == 0
    assert error_mask(["Bad CVV", "Bad PIN"]) == 0b10001
    with pytest.raises(InputError, match="Bad Pin"):
        error_mask("Bad Pin")


def test_transactions_table_exact_schema_and_values():
    arrays = tx_arrays(
        4,
        use_chip=np.array([0, 1, 2, 1], np.int8),
        merchant_city=np.array([0, 1, 2, 0], np.int32),
        merchant_state=np.array([0, 1, -1, 0], np.int16),
        zip=np.array([0, 1, -1, -1], np.int32),
        errors=np.array([0, 0b110, 1, 127], np.int8),
        is_fraud=np.array([False, True, False, True]),
        fraudster_id=np.array([-1, 7, -1, -1], np.int32),
        amount=np.array([134.09, -500.0, 0.1 + 0.2, 10.004]),
    )
    t = transactions_table(arrays, VOCAB)
    assert t.schema.equals(SCHEMAS["transactions"])
    assert t.schema.metadata is None
    assert t.column("use_chip").to_pylist() == [USE_CHIP[0], USE_CHIP[1], USE_CHIP[2], USE_CHIP[1]]
    assert t.column("use_chip").type == pa.dictionary(pa.int8(), pa.string())
    assert t.column("merchant_city").to_pylist() == ["La Verne", "Monterey Park", "ONLINE", "La Verne"]
    assert t.column("merchant_state").to_pylist() == ["CA", "NY", None, "CA"]
    assert t.column("zip").to_pylist() == ["91750", "02134", None, None]
    assert t.column("errors").to_pylist() == [
        None,
        "Insufficient Balance,Technical Glitch",
        "Bad PIN",
        ",".join(ERROR_REASONS),
    ]
    assert t.column("fraudster_id").to_pylist() == [None, 7, None, None]
    assert t.column("is_fraud").to_pylist() == [False, True, False, True]
    assert t.column("amount").to_pylist() == [134.09, -500.0, 0.3, 10.0]
    assert t.column("timestamp").cast(pa.int64()).to_pylist() == [T0, T0 + 60, T0 + 120, T0 + 180]
    assert t.column("merchant_id").to_pylist() == [-2, -1, 0, 1]


def test_transactions_table_sorts_by_user_then_time_stably():
    user = np.array([2, 0, 2, 0, 0], np.int32)
    ts = T0 + 60 * np.array([5, 9, 1, 3, 3])
    mid = np.arange(5, dtype=np.int64)  # tags rows
    t = transactions_table(tx_arrays(5, user_id=user, timestamp=ts, merchant_id=mid), VOCAB)
    assert t.column("user_id").to_pylist() == [0, 0, 0, 2, 2]
    assert t.column("merchant_id").to_pylist() == [3, 4, 1, 2, 0]  # rows 3 and 4 tie: input order kept


def test_transactions_table_accepts_datetime64_strings_and_extras():
    ts = np.array(["2002-09-01T06:21", "2002-09-01T06:42"], dtype="datetime64[m]")
    arrays = tx_arrays(
        2,
        timestamp=ts,
        merchant_city=np.array(["Paris", "ONLINE"], dtype=object),
        merchant_state=np.array(["France", None], dtype=object),
        zip=np.array([2134, -1]),  # numbers without a vocabulary: zero-padded ZIPs, -1 null
        channel=np.array([3, 4], np.int8),
    )
    t = transactions_table(arrays, {})
    assert t.column_names[-1] == "channel"
    assert t.schema.field("channel").type == pa.int8()
    assert t.column("timestamp").cast(pa.int64()).to_pylist() == [T0, T0 + 21 * 60]
    assert t.column("merchant_city").to_pylist() == ["Paris", "ONLINE"]
    assert t.column("merchant_state").to_pylist() == ["France", None]
    assert t.column("zip").to_pylist() == ["02134", None]
    assert conform("transactions", t).schema.equals(t.schema)


def test_cash_table_schema():
    arrays = {k: v for k, v in tx_arrays(3).items() if k in SCHEMAS["cash"].names}
    t = cash_table(arrays, VOCAB)
    assert t.schema.equals(SCHEMAS["cash"])


@pytest.mark.parametrize("column", ["use_chip", "card_id", "errors", "is_fraud", "fraudster_id"])
def test_cash_table_refuses_card_columns(column):
    """A cash purchase has no card: a stray card column (use_chip was one) is an error, not an extra."""
    arrays = {k: v for k, v in tx_arrays(3).items() if k in SCHEMAS["cash"].names}
    arrays[column] = tx_arrays(3)[column]
    with pytest.raises(InputError, match=rf"cash: column\(s\) {column} describe a card payment.*drop them"):
        cash_table(arrays, VOCAB)


@pytest.mark.parametrize(
    ("over", "vocab", "match"),
    [
        ({"merchant_city": np.array([0, 5, 0, 0])}, VOCAB, r"transactions\.merchant_city at row 1 is 5"),
        ({"merchant_city": np.array([0, -1, 0, 0])}, VOCAB, r"merchant_city at row 1 is -1.*0\.\.2"),
        ({"merchant_state": np.array([0, 0, -2, 0])}, VOCAB, r"merchant_state at row 2 .*or -1 for null"),
        ({"use_chip": np.array([0, 3, 0, 0], np.int8)}, VOCAB, r"use_chip at row 1 is 3"),
        ({"errors": np.array([0, 0, 0, -1], np.int8)}, VOCAB, r"errors at row 3 is -1.*0\.\.127"),
        ({"card_id": np.array([0, 40000, 0, 0])}, VOCAB, r"card_id at row 1 is 40000.*int16"),
        ({"amount": np.array([1.0, np.nan, 0, 0])}, VOCAB, r"amount at row 1 is nan"),
        ({"timestamp": T0 + np.array([0, 60, 90, 120])}, VOCAB, r"timestamp at row 2 .*whole minute"),
        ({"mcc": np.array([5411, 5411, 5411])}, VOCAB, r"mcc has 3 rows but the first column has 4"),
        ({"merchant_city": np.array([0, 1, 0, 0])}, {}, r"vocab\['merchant_city'\]"),
        ({"is_fraud": np.array([0, 2, 0, 0])}, VOCAB, r"is_fraud at row 1 is 2"),
        ({"amount": np.array(["a", "b", "c", "d"])}, VOCAB, r"amount has dtype <U1; pass numbers"),
    ],
)
def test_transactions_table_errors_name_column_and_row(over, vocab, match):
    with pytest.raises(InputError, match=match):
        transactions_table(tx_arrays(4, **over), vocab)


def test_missing_columns_are_listed():
    arrays = tx_arrays(2)
    del arrays["mcc"], arrays["zip"]
    with pytest.raises(InputError, match=r"missing column.*zip, mcc"):
        transactions_table(arrays, VOCAB)


def test_unknown_table():
    with pytest.raises(InputError, match="unknown table 'users'"):
        build_table("users", {})


def _cards_arrays():
    day = np.datetime64("2002-09-01", "D")
    return {
        "user_id": np.array([0, 0]),
        "card_index": np.array([0, 1]),
        "card_brand": ["Visa", "Amex"],
        "card_type": np.array([1, 0], np.int8),
        "card_number": np.array([4344676511950444, 372843950112233]),
        "expires": np.array([day + 3000, day + 4000]),
        "cvv": np.array([623, 53]),
        "has_chip": np.array([True, False]),
        "cards_issued": np.array([2, 1]),
        "credit_limit": np.array([24295.0, 0.0]),
        "acct_open_date": np.array([11931, 11932]),  # int days
        "year_pin_last_changed": np.array([2008, 2010]),
        "card_on_dark_web": np.array([False, False]),
        "account_id": np.array([10, 11]),
        "valid_from": np.array(["2002-09-01", "2003-01-01"], "datetime64[s]"),
        "valid_to": np.array(["2010-09-01", "2011-01-01"], "datetime64[s]"),
    }


def test_cards_table_types_and_conversions():
    t = build_table("cards", _cards_arrays(), {"card_type": ["Debit", "Credit", "Debit (Prepaid)"]})
    assert t.schema.equals(SCHEMAS["cards"])
    assert t.column("card_type").to_pylist() == ["Credit", "Debit"]
    assert t.column("card_number").to_pylist() == ["4344676511950444", "372843950112233"]
    assert t.column("cvv").to_pylist() == ["623", "053"]
    assert t.column("acct_open_date").cast(pa.int32()).to_pylist() == [11931, 11932]
    assert str(t.column("expires")[0]) == "2010-11-18"


@pytest.mark.parametrize("name", [n for n in EXPECTED if n not in ("transactions", "cash", "cards")])
def test_every_table_builds_from_arrays(name):
    schema = SCHEMAS[name]
    arrays = {}
    for f in schema:
        if pa.types.is_string(f.type):
            arrays[f.name] = ["x", None] if f.nullable else ["x", "y"]
        elif pa.types.is_timestamp(f.type):
            arrays[f.name] = np.array([T0, T0 + 60])
        elif pa.types.is_date32(f.type):
            arrays[f.name] = np.array([1, 2])
        elif pa.types.is_boolean(f.type):
            arrays[f.name] = np.array([True, False])
        else:
            arrays[f.name] = np.array([1, 2])
    t = build_table(name, arrays)
    assert t.schema.equals(schema)
    assert t.num_rows == 2


def test_conform_casts_and_rejects():
    plain = pa.table({k: pa.array(v) for k, v in tx_arrays(2).items() if k not in ("use_chip", "errors")})
    with pytest.raises(InputError, match=r"no column.*use_chip, .*errors"):
        conform("transactions", plain)
    built = transactions_table(tx_arrays(2), VOCAB)
    loose = pa.table(
        {
            c: built.column(c).cast(pa.int64()) if c == "card_id" else built.column(c)
            for c in built.column_names
        }
    )
    assert conform("transactions", loose).schema.equals(SCHEMAS["transactions"])
    swapped = built.select(["card_id", "user_id", *built.column_names[2:]])
    with pytest.raises(InputError, match="in order: user_id, card_id"):
        conform("transactions", swapped)
    nulls = built.set_column(0, "user_id", pa.array([1, None], pa.int32()))
    with pytest.raises(InputError, match="'user_id' is null at row 1"):
        conform("transactions", nulls, where="file 'x.parquet'")
    sub = conform(
        "transactions",
        built.select(["mcc", "user_id"]).cast(pa.schema([("mcc", pa.int64()), ("user_id", pa.int64())])),
        subset=True,
    )
    assert [str(f.type) for f in sub.schema] == ["int16", "int32"]
