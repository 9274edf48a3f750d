"""TabFormer export: exact CSV text, row grouping, round trip through a dataset directory, sd254 files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cardworld.codes import DECLINE_REASON_NAMES as ERROR_REASONS
from cardworld.codes import USE_CHIP
from cardworld.errors import InputError
from cardworld.io import row_groups
from cardworld.io.dataset import (
    add_shard,
    add_table,
    check_output_dir,
    new_manifest,
    shard_path,
    write_manifest,
    write_shard,
    write_table,
)
from cardworld.io.schema import build_table, error_mask, transactions_table
from cardworld.io.tabformer import (
    SD254_CARDS_HEADER,
    SD254_USERS_HEADER,
    TABFORMER_HEADER,
    export_tabformer,
    latest_card_issues,
    tabformer_bytes,
    user_group_tables,
    write_sd254_cards,
    write_sd254_users,
)

HEADER = (
    "User,Card,Year,Month,Day,Time,Amount,Use Chip,Merchant Name,Merchant City,Merchant State,Zip,MCC,"
    "Errors?,Is Fraud?"
)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # wall-clock times are stored as if UTC


def secs(*args: int) -> int:
    return int((dt.datetime(*args, tzinfo=dt.UTC) - EPOCH).total_seconds())


def rows_table(rows: list[tuple], vocab: dict | None = None) -> pa.Table:
    """rows: (user, card, when, amount, chip, merchant, city, state, zip, mcc, errors, fraud) in Python values."""
    cols = list(zip(*rows, strict=True))
    return transactions_table(
        {
            "user_id": np.array(cols[0], np.int32),
            "card_id": np.array(cols[1], np.int16),
            "timestamp": np.array([secs(*w) for w in cols[2]], np.int64),
            "amount": np.array(cols[3], np.float64),
            "use_chip": np.array([USE_CHIP.index(c) for c in cols[4]], np.int8),
            "merchant_id": np.array(cols[5], np.int64),
            "merchant_city": np.array(cols[6], dtype=object),
            "merchant_state": np.array(cols[7], dtype=object),
            "zip": np.array(cols[8], dtype=object),
            "mcc": np.array(cols[9], np.int16),
            "errors": np.array([error_mask(e) for e in cols[10]], np.int8),
            "is_fraud": np.array(cols[11], bool),
            "fraudster_id": np.full(len(rows), -1, np.int32),
        },
        vocab or {},
    )


SWIPE, CHIP, ONLINE = USE_CHIP
SAMPLE_ROWS = [
    (0, 0, (2002, 9, 1, 6, 21), 134.09, SWIPE, 3527213246127876953, "La Verne", "CA", "91750", 5300, None, 0),
    (0, 0, (2002, 9, 1, 6, 42), 38.48, SWIPE, -727612092139916043, "Monterey Park", "CA", "91754", 5411, None, 0),
    (0, 0, (2002, 9, 3, 6, 22), -500.0, ONLINE, -8194607650924472520, "ONLINE", None, None, 4829, None, 0),
    (
        0, 0, (2002, 9, 8, 9, 17), 22.46, CHIP, 6051395022895754231, "La Verne", "CA", "91750", 5812,
        "Insufficient Balance,Technical Glitch", 0,
    ),
]  # fmt: skip
SAMPLE_TEXT = """\
0,0,2002,9,1,06:21,$134.09,Swipe Transaction,3527213246127876953,La Verne,CA,91750.0,5300,,No
0,0,2002,9,1,06:42,$38.48,Swipe Transaction,-727612092139916043,Monterey Park,CA,91754.0,5411,,No
0,0,2002,9,3,06:22,$-500.00,Online Transaction,-8194607650924472520,ONLINE,,,4829,,No
0,0,2002,9,8,09:17,$22.46,Chip Transaction,6051395022895754231,La Verne,CA,91750.0,5812,"Insufficient Balance,Technical Glitch",No
"""


def test_header_constants():
    assert TABFORMER_HEADER == HEADER
    assert SD254_USERS_HEADER.split(",")[:3] == ["Person", "Current Age", "Retirement Age"]
    assert SD254_CARDS_HEADER.endswith("Year PIN last Changed,Card on Dark Web")


def test_tabformer_sample_lines_exactly():
    assert tabformer_bytes(rows_table(SAMPLE_ROWS)).decode() == HEADER + "\n" + SAMPLE_TEXT


def test_tabformer_edge_cases_exactly():
    rows = [
        # leading-zero ZIP -> float of the int; fraud; single error; zero and sub-dollar amounts
        (1, 0, (2019, 12, 31, 23, 59), 0.0, CHIP, -(2**63), "Boston", "MA", "02134", 5411, "Bad PIN", 1),
        (1, 0, (2020, 1, 1, 0, 0), -0.5, SWIPE, 2**63 - 1, "Rome", "Italy", None, 5812, None, 1),
        # a city that needs quoting, every reason at once, large amount
        (1, 0, (2020, 2, 29, 12, 5), 123456.78, SWIPE, 0, 'Quote "City", X', "TX", "00501", 7011,
         ",".join(ERROR_REASONS), 0),
        (1, 0, (2020, 3, 1, 1, 1), -0.01, ONLINE, 5, "ONLINE", None, None, 4829, "Bad CVV,Bad Zipcode", 0),
    ]  # fmt: skip
    expected = (
        HEADER + "\n"
        "1,0,2019,12,31,23:59,$0.00,Chip Transaction,-9223372036854775808,Boston,MA,2134.0,5411,Bad PIN,Yes\n"
        "1,0,2020,1,1,00:00,$-0.50,Swipe Transaction,9223372036854775807,Rome,Italy,,5812,,Yes\n"
        '1,0,2020,2,29,12:05,$123456.78,Swipe Transaction,0,"Quote ""City"", X",TX,501.0,7011,'
        '"Bad PIN,Insufficient Balance,Technical Glitch,Bad Card Number,Bad CVV,Bad Expiration,Bad Zipcode",No\n'
        '1,0,2020,3,1,01:01,$-0.01,Online Transaction,5,ONLINE,,,4829,"Bad CVV,Bad Zipcode",No\n'
    )
    assert tabformer_bytes(rows_table(rows)).decode() == expected


def test_rows_grouped_by_user_then_card_then_time():
    base = SAMPLE_ROWS[0]
    rows = []
    for user, card, minute, mid in [
        (3, 1, 1, 10), (3, 0, 2, 11), (3, 1, 3, 12), (3, 0, 3, 13), (3, 0, 3, 14), (5, 2, 0, 15), (5, 0, 9, 16),
    ]:  # fmt: skip
        rows.append((user, card, (2002, 9, 1, 6, minute), *base[3:5], mid, *base[6:]))
    lines = tabformer_bytes(rows_table(rows), header=False).decode().splitlines()
    got = [(int(x.split(",")[0]), int(x.split(",")[1]), int(x.split(",")[8])) for x in lines]
    assert got == [(3, 0, 11), (3, 0, 13), (3, 0, 14), (3, 1, 10), (3, 1, 12), (5, 0, 16), (5, 2, 15)]


# ---------------------------------------------------------------------------------------------------------
# Round trip through a dataset directory

CITIES = ["La Verne", "Monterey Park", "ONLINE", "Paris", "Saint-Denis, Réunion"]
STATES = ["CA", "NY", "France"]
ZIPS = ["91750", "02134", "00501", "99950"]


def random_shard(users: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_per = rng.integers(1, 30, users.size)
    user = np.repeat(users, n_per).astype(np.int32)
    n = user.size
    return {
        "user_id": user,
        "card_id": rng.integers(0, 4, n).astype(np.int16),
        "timestamp": 60 * rng.integers(secs(1991, 1, 1) // 60, secs(2020, 2, 28) // 60, n),
        "amount": np.round(rng.normal(30, 200, n), 2),
        "use_chip": rng.integers(0, 3, n).astype(np.int8),
        "merchant_id": rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64),
        "merchant_city": rng.integers(0, len(CITIES), n).astype(np.int32),
        "merchant_state": rng.integers(-1, len(STATES), n).astype(np.int16),
        "zip": rng.integers(-1, len(ZIPS), n).astype(np.int32),
        "mcc": rng.integers(1000, 9999, n).astype(np.int16),
        "errors": np.where(rng.random(n) < 0.3, rng.integers(1, 128, n), 0).astype(np.int8),
        "is_fraud": rng.random(n) < 0.1,
        "fraudster_id": np.full(n, -1, np.int32),
    }


VOCAB = {"merchant_city": CITIES, "merchant_state": STATES, "zip": ZIPS}


def consumers_table(n: int) -> pa.Table:
    """Consumer i: born 1950 + i, Female when i is even, apartment str(i) when even; rows in reverse id order."""
    t = build_table(
        "consumers",
        {
            "user_id": np.arange(n),
            "name": [f"Person {i}" for i in range(n)],
            "gender": ["Male" if i % 2 else "Female" for i in range(n)],
            "birth_year": 1950 + np.arange(n),
            "birth_month": 1 + np.arange(n) % 12,
            "retirement_age": np.full(n, 67),
            "address": [f"{i} Main Street" for i in range(n)],
            "apartment": np.array([None if i % 2 else str(i) for i in range(n)], dtype=object),
            "city": ["La Verne"] * n,
            "state": ["CA"] * n,
            "zipcode": ["02134"] * n,
            "latitude": np.full(n, 34.15),
            "longitude": np.full(n, -117.76),
            "per_capita_income_zip": np.full(n, 29278.4),
            "yearly_income": np.full(n, 59696.5),
            "total_debt": np.zeros(n),
            "fico_score": np.full(n, 787),
            "num_credit_cards": np.full(n, 2),
        },
    )
    return t.take(pa.array(np.arange(n)[::-1]))  # any order: the writer sorts by user_id


def cards_table() -> pa.Table:
    d = lambda s: np.datetime64(s, "D")  # noqa: E731
    s = lambda v: np.datetime64(v, "s")  # noqa: E731
    return build_table(
        "cards",
        {
            "user_id": np.array([1, 0, 0, 0]),
            "card_index": np.array([0, 0, 1, 0]),
            "card_brand": ["Amex", "Visa", "Mastercard", "Visa"],
            "card_type": ["Credit", "Debit", "Debit (Prepaid)", "Debit"],
            "card_number": ["372843950112233", "4344676511950444", "5000000000000001", "4344676511950445"],
            "expires": np.array([d("2021-01-31"), d("2022-12-01"), d("2020-03-15"), d("2026-12-01")]),
            "cvv": ["1234", "623", "053", "624"],
            "has_chip": np.array([False, True, True, True]),
            "cards_issued": np.array([1, 1, 1, 2]),
            "credit_limit": np.array([9100.4, 24295.0, 0.0, 24295.0]),
            "acct_open_date": np.array([d("1999-01-20"), d("2002-09-01"), d("2010-11-30"), d("2002-09-01")]),
            "year_pin_last_changed": np.array([2010, 2008, 2012, 2015]),
            "card_on_dark_web": np.array([True, False, False, False]),
            "account_id": np.array([3, 1, 2, 1]),
            # user 0 card 0 was reissued in 2016: the second row for it is the latest issue
            "valid_from": np.array([s("1999-01-20"), s("2002-09-01"), s("2010-11-30"), s("2016-05-01")]),
            "valid_to": np.array([s("2021-01-31"), s("2016-05-01"), s("2020-03-15"), s("2026-12-01")]),
        },
    )


def make_dataset(root: Path, shards: list[pa.Table], status: str = "complete", n_users: int = 3) -> Path:
    out = check_output_dir(root)
    m = new_manifest(config={}, seed=1, shard_plan={"n_shards": len(shards)})
    for k, t in enumerate(shards):
        add_shard(m, write_shard(out, k, t))
    add_table(m, "consumers", write_table(out, "consumers", consumers_table(n_users)))
    add_table(m, "cards", write_table(out, "cards", cards_table()))
    m["status"] = status
    write_manifest(out, m)
    return out


def expected_fields(a: dict[str, np.ndarray]) -> list[list[str]]:
    """TabFormer fields computed with Python's datetime and str formatting, in (user, card, time) order."""
    order = sorted(
        range(a["user_id"].size), key=lambda i: (a["user_id"][i], a["card_id"][i], a["timestamp"][i])
    )
    out = []
    for i in order:
        when = EPOCH + dt.timedelta(seconds=int(a["timestamp"][i]))
        state = a["merchant_state"][i]
        z = a["zip"][i]
        e = int(a["errors"][i])
        out.append(
            [
                str(a["user_id"][i]),
                str(a["card_id"][i]),
                str(when.year),
                str(when.month),
                str(when.day),
                when.strftime("%H:%M"),
                "$" + f"{a['amount'][i]:.2f}",
                USE_CHIP[a["use_chip"][i]],
                str(a["merchant_id"][i]),
                CITIES[a["merchant_city"][i]],
                "" if state < 0 else STATES[state],
                "" if z < 0 else f"{float(int(ZIPS[z]))}",
                str(a["mcc"][i]),
                ",".join(r for b, r in enumerate(ERROR_REASONS) if e >> b & 1),
                "Yes" if a["is_fraud"][i] else "No",
            ]
        )
    return out


def test_round_trip_dataset_to_csv(tmp_path):
    parts = [
        random_shard(np.array([0, 1, 2]), 1),
        random_shard(np.array([3, 7]), 2),
        random_shard(np.array([9]), 3),
    ]
    for p in parts:  # equal times within a user: order must stay stable, and the expectation sorts by time
        p["timestamp"] = np.where(np.arange(p["timestamp"].size) % 7 == 0, p["timestamp"][0], p["timestamp"])
    shards = [transactions_table(p, VOCAB) for p in parts]
    out = make_dataset(tmp_path / "ds", shards, n_users=10)
    csv_path = tmp_path / "card_transaction.v1.csv"
    result = export_tabformer(out, csv_path)
    n = sum(t.num_rows for t in shards)
    assert result.transactions == n
    text = csv_path.read_text()
    lines = text.splitlines()
    assert lines[0] == HEADER
    got = list(csv.reader(io.StringIO(text)))[1:]
    want = []
    for p in parts:
        want += expected_fields(p)
    assert got == want  # stable sorts on both sides: tied rows keep their input order
    # pyarrow reads it back too: numbers parse, Zip as float, empty strings as nulls
    t = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    assert t.num_rows == n
    assert t.schema.field("Zip").type == pa.float64()
    assert t.column("User").to_pylist() == [int(r[0]) for r in want]


def test_round_trip_ties_keep_shard_order(tmp_path):
    a = random_shard(np.array([4]), 5)
    a["timestamp"][:] = secs(2005, 5, 5, 5, 5)  # every row at the same minute
    a["card_id"][:] = 0
    t = transactions_table(a, VOCAB)
    out = make_dataset(tmp_path / "ds", [t])
    export_tabformer(out, tmp_path / "x.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "x.csv").read_text())))[1:]
    assert [int(r[8]) for r in rows] == t.column("merchant_id").to_pylist()


def test_export_writes_sd254_files(tmp_path):
    t = transactions_table(random_shard(np.array([0, 1, 2]), 1), VOCAB)
    out = make_dataset(tmp_path / "ds", [t])
    r = export_tabformer(out, tmp_path / "tx.csv", tmp_path / "sd254_users.csv", tmp_path / "sd254_cards.csv")
    last_year = int(
        np.datetime64(int(t.column("timestamp").cast(pa.int64()).to_numpy().max()), "s").item().year
    )
    assert (r.users, r.cards, r.end_year) == (3, 3, last_year)
    users = (tmp_path / "sd254_users.csv").read_text().splitlines()
    assert users[0] == SD254_USERS_HEADER
    age0 = last_year - 1950
    assert (
        users[1]
        == f"Person 0,{age0},67,1950,1,Female,0 Main Street,0,La Verne,CA,2134,34.15,-117.76,$29278,$59696,$0,787,2"
    )
    assert users[2].startswith(f"Person 1,{age0 - 1},67,1951,2,Male,1 Main Street,,La Verne,")
    cards = (tmp_path / "sd254_cards.csv").read_text()
    # User 1's card is on the dark web in cards.parquet (a debugging truth): the export says No, as
    # TabFormer's own file does throughout.
    assert cards == (
        SD254_CARDS_HEADER + "\n"
        "0,0,Visa,Debit,4344676511950445,12/2026,624,YES,2,$24295,09/2002,2015,No\n"
        "0,1,Mastercard,Debit (Prepaid),5000000000000001,03/2020,053,YES,1,$0,11/2010,2012,No\n"
        "1,0,Amex,Credit,372843950112233,01/2021,1234,NO,1,$9100,01/1999,2010,No\n"
    )


def test_sd254_users_exact_text():
    c = consumers_table(2)
    f = io.BytesIO()
    assert write_sd254_users(c.slice(0, 2), f, end_year=2019) == 2
    assert f.getvalue().decode() == (
        SD254_USERS_HEADER + "\n"
        "Person 0,69,67,1950,1,Female,0 Main Street,0,La Verne,CA,2134,34.15,-117.76,$29278,$59696,$0,787,2\n"
        "Person 1,68,67,1951,2,Male,1 Main Street,,La Verne,CA,2134,34.15,-117.76,$29278,$59696,$0,787,2\n"
    )
    quoted = c.set_column(1, "name", pa.array(['Ann "Nan", Jr', "Bo"]))
    f = io.BytesIO()
    write_sd254_users(quoted, f, end_year=2019)
    assert '\n"Ann ""Nan"", Jr",68,' in f.getvalue().decode()  # user_id 1 sorts last: the reversed names
    gap = c.set_column(0, "user_id", pa.array([5, 0], pa.int32()))
    with pytest.raises(InputError, match=r"user_id must be exactly 0\.\.n-1"):
        write_sd254_users(gap, io.BytesIO(), end_year=2019)


def test_latest_card_issues():
    t = latest_card_issues(cards_table())
    assert list(zip(t.column("user_id").to_pylist(), t.column("card_index").to_pylist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (1, 0),
    ]
    assert t.column("card_number").to_pylist()[0] == "4344676511950445"


def test_write_sd254_cards_to_path(tmp_path):
    assert write_sd254_cards(cards_table(), tmp_path / "c.csv") == 3
    assert (tmp_path / "c.csv").read_text().count("\n") == 4


# ---------------------------------------------------------------------------------------------------------
# Refusals and atomicity


def test_export_refuses_partial_and_existing(tmp_path):
    t = transactions_table(random_shard(np.array([0]), 1), VOCAB)
    part = make_dataset(tmp_path / "p", [t], status="partial")
    with pytest.raises(InputError, match="is partial") as err:
        export_tabformer(part, tmp_path / "x.csv")
    assert "allow_partial=True" in str(err.value)
    assert "--allow-partial" in err.value.for_cli()
    assert export_tabformer(part, tmp_path / "x.csv", allow_partial=True).transactions == t.num_rows
    with pytest.raises(InputError, match=r"already exists; pass overwrite=True"):  # the Python spelling
        export_tabformer(part, tmp_path / "x.csv", allow_partial=True)
    export_tabformer(part, tmp_path / "x.csv", allow_partial=True, overwrite=True)
    with pytest.raises(InputError, match="must all differ"):
        export_tabformer(part, tmp_path / "y.csv", tmp_path / "y.csv", allow_partial=True)


def test_failed_export_leaves_no_files(tmp_path):
    good = transactions_table(random_shard(np.array([0, 1]), 1), VOCAB)
    bad = transactions_table(random_shard(np.array([2]), 2), {**VOCAB, "zip": ["9175O", "1", "2", "3"]})
    out = make_dataset(tmp_path / "ds", [good, bad])
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(InputError, match=r"part-00001\.parquet': zip holds '9175O'"):
        export_tabformer(out, tmp_path / "tx.csv", tmp_path / "u.csv", tmp_path / "c.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no CSV, no temporary


def test_users_spanning_shards_are_refused(tmp_path):
    a = transactions_table(random_shard(np.array([0, 1]), 1), VOCAB)
    b = transactions_table(random_shard(np.array([1, 2]), 2), VOCAB)
    out = make_dataset(tmp_path / "ds", [a, b])
    with pytest.raises(InputError, match=r"part-00001\.parquet' holds user 1, but an earlier shard"):
        export_tabformer(out, tmp_path / "tx.csv")
    assert not (tmp_path / "tx.csv").exists()


def test_missing_shard_in_export_names_the_file(tmp_path):
    a = transactions_table(random_shard(np.array([0]), 1), VOCAB)
    out = make_dataset(tmp_path / "ds", [a, a.slice(0, 0)])
    shard_path(out, 1).unlink()
    with pytest.raises(InputError, match=r"part-00001\.parquet' is missing"):
        export_tabformer(out, tmp_path / "tx.csv")


@pytest.mark.parametrize("layout", ["a row group per user", "row groups splitting users"])
def test_row_groups_are_read_a_run_of_whole_users_at_a_time(tmp_path, monkeypatch, layout):
    """The export reads a shard's row groups in runs that never split a user: one user per row group
    (io.row_groups with a 1-row limit) is one run each; row groups that split user 1 are read together.
    Either way the CSV is the one of the whole rows."""
    parts = [random_shard(np.array([0, 1, 2, 3, 4]), 11), random_shard(np.array([5, 6, 7]), 12)]
    shards = [transactions_table(p, VOCAB) for p in parts]
    if layout == "a row group per user":
        monkeypatch.setattr(row_groups, "MAX_GROUP_ROWS", 1)
    out = make_dataset(tmp_path / "ds", shards, n_users=8)
    if layout == "row groups splitting users":  # shard 0 as [0, 1 (part)] [1 (rest), 2] [3, 4]
        user = shards[0].column("user_id").to_numpy()
        cut = [0, int(np.searchsorted(user, 1)) + 1, int(np.searchsorted(user, 3)), user.size]
        assert user[cut[1] - 1] == user[cut[1]] == 1  # user 1 has rows on both sides of the first cut
        with pq.ParquetWriter(shard_path(out, 0), shards[0].schema) as w:
            for a, b in itertools.pairwise(cut):
                w.write_table(shards[0].slice(a, b - a))
        assert pq.read_metadata(shard_path(out, 0)).num_row_groups == 3
    tables = list(user_group_tables(out))
    users = [sorted(set(t.column("user_id").to_pylist())) for _, t in tables]
    if layout == "a row group per user":
        assert users == [[u] for u in range(8)]
    else:
        assert users == [[0, 1, 2], [3, 4], [5, 6, 7]]
    export_tabformer(out, tmp_path / "tx.csv")
    got = list(csv.reader(io.StringIO((tmp_path / "tx.csv").read_text())))[1:]
    assert got == expected_fields(parts[0]) + expected_fields(parts[1])
