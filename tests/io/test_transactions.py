"""read_transactions and TransactionArrays: Parquet round trips, sorting, timestamp units, error paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cardworld.errors import InputError
from cardworld.io import TransactionArrays, read_transactions

T0 = 1_700_000_000  # 2023-11-14, seconds


def _table(user, time, amount, mcc=None, time_type=None, **extra) -> pa.Table:
    cols = {
        "user_id": pa.array(user, pa.int64()),
        "timestamp": pa.array(time, time_type or pa.timestamp("s")),
        "amount": pa.array(amount, pa.float64()),
    }
    if mcc is not None:
        cols["mcc"] = pa.array(mcc, pa.int16())
    cols.update(extra)
    return pa.table(cols)


def _write(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def _naive_group(user, time, *cols):
    """Stable sort by (user, time) with Python's sorted: rows as tuples."""
    order = sorted(range(len(user)), key=lambda i: (user[i], time[i]))
    return [[c[i] for i in order] for c in (user, time, *cols)]


def test_sorted_file_round_trip(tmp_path):
    user, time = [3, 3, 7, 7, 7, 9], [T0, T0 + 5, T0 - 100, T0, T0, T0 + 1]
    amount, mcc = [1.5, -2.0, 3.25, 4.0, 5.0, 6.0], [5411, 5812, 5411, 4829, 5411, 7011]
    path = _write(_table(user, time, amount, mcc), tmp_path / "t.parquet")
    arr = read_transactions(path)
    np.testing.assert_array_equal(arr.user_ids, [3, 7, 9])
    np.testing.assert_array_equal(arr.offsets, [0, 2, 5, 6])
    np.testing.assert_array_equal(arr.time, time)
    np.testing.assert_array_equal(arr.amount, amount)
    np.testing.assert_array_equal(arr.mcc, mcc)
    assert arr.user_ids.dtype == np.int64
    assert arr.time.dtype == np.int64
    assert arr.offsets.dtype == np.int64
    assert arr.amount.dtype == np.float64
    assert arr.mcc.dtype == np.int16  # kept as stored
    assert (arr.n_users, arr.n_rows) == (3, 6)
    t, a, m = arr.user(1)
    np.testing.assert_array_equal(t, time[2:5])
    np.testing.assert_array_equal(a, amount[2:5])
    np.testing.assert_array_equal(m, mcc[2:5])


def test_unsorted_file_is_sorted_stably_and_keeps_every_row(tmp_path):
    rng = np.random.default_rng(1)
    n = 300
    user = rng.integers(0, 20, n).tolist()
    time = (T0 + rng.integers(0, 50, n)).tolist()  # many ties: equal times keep file order
    amount = np.round(rng.normal(50, 20, n), 2).tolist()
    row = list(range(n))
    table = _table(user, time, amount, row_no=pa.array(row, pa.int32()))
    arr = read_transactions(_write(table, tmp_path / "t.parquet"), mcc_col=None, extra_columns=["row_no"])
    u_exp, t_exp, a_exp, r_exp = _naive_group(user, time, amount, row)
    assert arr.mcc is None
    np.testing.assert_array_equal(np.repeat(arr.user_ids, np.diff(arr.offsets)), u_exp)
    np.testing.assert_array_equal(arr.time, t_exp)
    np.testing.assert_array_equal(arr.amount, a_exp)
    np.testing.assert_array_equal(arr.extra["row_no"], r_exp)
    np.testing.assert_array_equal(arr.user_ids, sorted(set(user)))


def test_directory_of_part_files(tmp_path):
    d = tmp_path / "transactions"
    d.mkdir()
    # User 5 spans both parts, and part 1 holds an earlier user: the result is still grouped and sorted.
    _write(_table([1, 1, 5], [T0, T0 + 9, T0 + 3], [1.0, 2.0, 3.0], [1, 2, 3]), d / "part-00000.parquet")
    _write(_table([5, 0], [T0 + 1, T0 + 7], [4.0, 5.0], [4, 5]), d / "part-00001.parquet")
    (d / "_SUCCESS").write_text("")  # not Parquet: ignored
    (d / "notes.txt").write_text("ignored")
    arr = read_transactions(d)
    np.testing.assert_array_equal(arr.user_ids, [0, 1, 5])
    np.testing.assert_array_equal(arr.offsets, [0, 1, 3, 5])
    np.testing.assert_array_equal(arr.time, [T0 + 7, T0, T0 + 9, T0 + 1, T0 + 3])
    np.testing.assert_array_equal(arr.amount, [5.0, 1.0, 2.0, 4.0, 3.0])
    np.testing.assert_array_equal(arr.mcc, [5, 1, 2, 4, 3])


@pytest.mark.parametrize(("unit", "per"), [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)])
def test_timestamp_units_floor_to_seconds(tmp_path, unit, per):
    seconds = np.array([-86_401, -1, 0, T0, T0 + 59], dtype=np.int64)  # pre-1970 rows too
    frac = np.array([0, per - 1, per // 2, 1 % per, per - 1], dtype=np.int64) if per > 1 else np.zeros(5, int)
    raw = seconds * per + frac
    path = _write(_table([1] * 5, raw, [1.0] * 5, time_type=pa.timestamp(unit)), tmp_path / "t.parquet")
    np.testing.assert_array_equal(read_transactions(path).time, seconds)


def test_integer_seconds_and_renamed_columns(tmp_path):
    table = pa.table(
        {
            "cust": pa.array([2, 2, 1], pa.int32()),
            "ts": pa.array([T0 + 1, T0, T0], pa.int64()),
            "amt": pa.array([1, 2, 3], pa.int32()),  # integer amounts are fine
            "code": pa.array([5411, 5812, 4829], pa.int32()),
        }
    )
    arr = read_transactions(
        _write(table, tmp_path / "t.parquet"),
        user_col="cust",
        time_col="ts",
        amount_col="amt",
        mcc_col="code",
    )
    np.testing.assert_array_equal(arr.user_ids, [1, 2])
    np.testing.assert_array_equal(arr.time, [T0, T0, T0 + 1])
    np.testing.assert_array_equal(arr.amount, [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(arr.mcc, [4829, 5812, 5411])
    assert arr.mcc.dtype == np.int32


def test_timezone_aware_timestamps_become_local_wall_clock(tmp_path):
    # 2024-01-01T00:00Z is 09:00 wall-clock in Tokyo (UTC+9, no DST).
    utc = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())
    path = _write(
        _table([1], [utc], [1.0], time_type=pa.timestamp("s", tz="Asia/Tokyo")), tmp_path / "t.parquet"
    )
    assert read_transactions(path).time[0] == utc + 9 * 3600


def test_decimal_amounts_and_extra_columns(tmp_path):
    from decimal import Decimal

    table = _table(
        [1, 1],
        [T0 + 1, T0],
        [0.0, 0.0],
        balance=pa.array([Decimal("10.25"), Decimal("-3.50")], pa.decimal128(10, 2)),
        fraud=pa.array([True, False]),
    )
    table = table.set_column(2, "amount", pa.array([Decimal("1.10"), Decimal("2.20")], pa.decimal128(8, 2)))
    arr = read_transactions(_write(table, tmp_path / "t.parquet"), extra_columns=["balance", "fraud"])
    np.testing.assert_array_equal(arr.amount, [2.2, 1.1])
    np.testing.assert_array_equal(arr.extra["balance"], [-3.5, 10.25])
    np.testing.assert_array_equal(arr.extra["fraud"], [False, True])


def test_mcc_optional_unless_required(tmp_path):
    path = _write(_table([1], [T0], [1.0]), tmp_path / "t.parquet")
    assert read_transactions(path).mcc is None
    with pytest.raises(InputError, match=r"no column 'mcc'.*mcc_col"):
        read_transactions(path, require_mcc=True)
    with_mcc = _write(_table([1], [T0], [1.0], [5411]), tmp_path / "m.parquet")
    assert read_transactions(with_mcc, mcc_col=None).mcc is None


def test_empty_file_gives_no_users(tmp_path):
    path = _write(_table([], [], [], []), tmp_path / "t.parquet")
    arr = read_transactions(path)
    assert arr.n_users == 0
    assert arr.n_rows == 0
    np.testing.assert_array_equal(arr.offsets, [0])


# --- errors ---


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match=r"nope\.parquet' does not exist"):
        read_transactions(tmp_path / "nope.parquet")


def test_directory_without_parquet_files(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(InputError, match=r"has no \.parquet files$"):
        read_transactions(tmp_path)
    (tmp_path / "transactions").mkdir()
    with pytest.raises(
        InputError, match=r"no \.parquet files; a dataset directory keeps them in .*transactions"
    ):
        read_transactions(tmp_path)


def test_non_parquet_file(tmp_path):
    path = tmp_path / "part-00000.parquet"
    path.write_bytes(b"user_id,timestamp,amount\n1,2,3\n")
    with pytest.raises(InputError, match=r"part-00000\.parquet' is not a readable Parquet file"):
        read_transactions(tmp_path)


def test_truncated_parquet_file(tmp_path):
    good = _write(_table(list(range(1000)), [T0] * 1000, [1.0] * 1000), tmp_path / "good.parquet")
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 3):  # body cut, footer cut
        bad = tmp_path / "partial.parquet"
        bad.write_bytes(data[:cut])
        with pytest.raises(InputError, match=r"partial\.parquet"):
            read_transactions(bad)


def test_corrupt_column_data_names_the_file(tmp_path):
    table = _table(list(range(5000)), list(range(T0, T0 + 5000)), np.arange(5000.0).tolist())
    good = _write(table, tmp_path / "good.parquet")
    data = bytearray(good.read_bytes())
    data[100:2000] = b"\xff" * 1900  # garbage inside the column chunks, valid footer
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"corrupt\.parquet' could not be read"):
        read_transactions(bad)


def test_missing_required_column_lists_columns_and_option(tmp_path):
    table = pa.table({"user_id": [1], "ts": pa.array([T0], pa.timestamp("s")), "amount": [1.0]})
    path = _write(table, tmp_path / "t.parquet")
    with pytest.raises(
        InputError, match=r"t\.parquet' has no column 'timestamp' \(its columns: user_id, ts, amount\)"
    ):
        read_transactions(path)
    with pytest.raises(InputError, match=r"pass time_col=<name>"):
        read_transactions(path)
    assert read_transactions(path, time_col="ts").time[0] == T0
    with pytest.raises(InputError, match=r"no column 'balance'.*extra_columns"):
        read_transactions(path, time_col="ts", extra_columns=["balance"])


@pytest.mark.parametrize("column", ["user_id", "timestamp", "amount", "mcc"])
def test_null_values_name_column_and_first_row(tmp_path, column):
    cols = {"user_id": [1, 1, 1, 1], "timestamp": [T0, T0 + 1, T0 + 2, T0 + 3], "amount": [1.0] * 4}
    cols["mcc"] = [5411] * 4
    cols[column] = [v if i not in (2, 3) else None for i, v in enumerate(cols[column])]
    path = _write(
        _table(cols["user_id"], cols["timestamp"], cols["amount"], cols["mcc"]), tmp_path / "t.parquet"
    )
    with pytest.raises(InputError, match=rf"t\.parquet': column '{column}' is null at row 2; drop or fill"):
        read_transactions(path)


def test_non_finite_amount_names_row(tmp_path):
    path = _write(_table([1, 1, 1], [T0, T0, T0], [1.0, 2.0, float("nan")]), tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"column 'amount' at row 2 is nan"):
        read_transactions(path)


@pytest.mark.parametrize(
    ("column", "array", "needs"),
    [
        ("user_id", pa.array(["a", "b"]), "integer user ids"),
        ("timestamp", pa.array([1.5, 2.5]), "a timestamp or integer seconds"),
        ("timestamp", pa.array(["2024-01-01", "2024-01-02"]), "a timestamp or integer seconds"),
        ("amount", pa.array(["1.0", "2.0"]), "numeric"),
        ("mcc", pa.array([5411.0, 5812.0]), "integer merchant category codes"),
    ],
)
def test_wrong_column_types(tmp_path, column, array, needs):
    table = _table([1, 2], [T0, T0], [1.0, 2.0], [5411, 5812])
    table = table.set_column(table.schema.get_field_index(column), column, array)
    path = _write(table, tmp_path / "t.parquet")
    with pytest.raises(InputError, match=rf"column '{column}' has type \w+; it must be {needs}"):
        read_transactions(path)


def test_integer_milliseconds_are_rejected(tmp_path):
    table = _table([1], [0], [1.0]).set_column(1, "timestamp", pa.array([T0 * 1000], pa.int64()))
    with pytest.raises(InputError, match=r"row 0 is 1700000000000, not a plausible number of seconds"):
        read_transactions(_write(table, tmp_path / "t.parquet"))


def test_mcc_in_some_part_files_only(tmp_path):
    _write(_table([1], [T0], [1.0], [5411]), tmp_path / "part-0.parquet")
    _write(_table([2], [T0], [1.0]), tmp_path / "part-1.parquet")
    with pytest.raises(InputError, match=r"part-1\.parquet' has no column 'mcc' but other files do"):
        read_transactions(tmp_path)


# --- in-memory arrays ---


def test_from_arrays_sorts_and_accepts_datetime64():
    time = np.array(
        ["2024-01-02T00:00:01.900", "2024-01-01", "2024-01-01", "1969-12-31T23:59:59.5"], "M8[ms]"
    )
    arr = TransactionArrays.from_arrays(
        user_id=np.array([4, 4, 2, 4], np.int32),
        time=time,
        amount=np.array([1, 2, 3, 4]),
        mcc=np.array([10, 20, 30, 40], np.uint8),
        extra={"k": np.array([0, 1, 2, 3])},
    )
    day = 86400
    jan1 = 19723 * day  # 2024-01-01
    np.testing.assert_array_equal(arr.user_ids, [2, 4])
    np.testing.assert_array_equal(arr.offsets, [0, 1, 4])
    np.testing.assert_array_equal(arr.time, [jan1, -1, jan1, jan1 + day + 1])  # floored to seconds
    np.testing.assert_array_equal(arr.amount, [3.0, 4.0, 2.0, 1.0])
    np.testing.assert_array_equal(arr.mcc, [30, 40, 20, 10])
    assert arr.mcc.dtype == np.int32  # uint8 widened for the kernels
    np.testing.assert_array_equal(arr.extra["k"], [2, 3, 1, 0])


def test_from_arrays_errors():
    u, t, a = np.array([1, 1]), np.array([T0, T0]), np.array([1.0, 2.0])
    with pytest.raises(InputError, match=r"amount has 3 rows but user_id has 2"):
        TransactionArrays.from_arrays(u, t, np.zeros(3))
    with pytest.raises(InputError, match=r"time must be one-dimensional"):
        TransactionArrays.from_arrays(u, t.reshape(2, 1), a)
    with pytest.raises(InputError, match=r"user_id has dtype float64; map user ids to integers"):
        TransactionArrays.from_arrays(u.astype(float), t, a)
    with pytest.raises(InputError, match=r"time\[1\] is NaT"):
        TransactionArrays.from_arrays(u, np.array(["2024-01-01", "NaT"], "M8[s]"), a)
    with pytest.raises(InputError, match=r"time has dtype float64"):
        TransactionArrays.from_arrays(u, t.astype(float), a)
    with pytest.raises(InputError, match=r"amount at index 1 is inf"):
        TransactionArrays.from_arrays(u, t, np.array([1.0, np.inf]))
    with pytest.raises(InputError, match=r"mcc has dtype float64"):
        TransactionArrays.from_arrays(u, t, a, mcc=np.array([1.0, 2.0]))
    with pytest.raises(InputError, match=r"index 0 is 1700000000000, not a plausible number of seconds"):
        TransactionArrays.from_arrays(u, t * 1000, a)


# --- input order, interface-specific fixes, checks for target kernels ---


def test_input_row_maps_each_row_back_to_the_input(tmp_path):
    d = tmp_path / "parts"
    d.mkdir()
    # Users interleaved across two files, equal (user, time) pairs, times unsorted within a user.
    _write(_table([2, 1, 2, 1], [T0 + 5, T0, T0 + 5, T0 - 1], [1.0, 2.0, 3.0, 4.0]), d / "part-0.parquet")
    _write(_table([1, 2], [T0, T0 + 1], [5.0, 6.0]), d / "part-1.parquet")
    arr = read_transactions(d)
    # Input rows 0..5 (files in name order): sorted stably by (user, time) they are 3, 1, 4, 5, 0, 2.
    np.testing.assert_array_equal(arr.input_row, [3, 1, 4, 5, 0, 2])
    np.testing.assert_array_equal(arr.amount, [4.0, 2.0, 5.0, 6.0, 1.0, 3.0])
    assert arr.input_row.dtype == np.int64


def test_input_row_is_none_for_sorted_input(tmp_path):
    path = _write(_table([1, 1, 2], [T0, T0, T0 - 9], [1.0, 2.0, 3.0]), tmp_path / "t.parquet")
    assert read_transactions(path).input_row is None
    arr = TransactionArrays.from_arrays(np.array([3, 1]), np.array([T0, T0]), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(arr.input_row, [1, 0])


@pytest.mark.parametrize(
    ("missing", "keyword", "option"),
    [("user_id", "user_col", "--user-col"), ("timestamp", "time_col", "--time-col"),
     ("amount", "amount_col", "--amount-col"), ("mcc", "mcc_col", "--mcc-col")],
)  # fmt: skip
def test_missing_column_fix_is_spelled_per_interface(tmp_path, missing, keyword, option):
    table = _table([1], [T0], [1.0], [5411])
    path = _write(table.drop_columns([missing]), tmp_path / "t.parquet")
    with pytest.raises(InputError, match=rf"no column '{missing}'") as err:
        read_transactions(path, require_mcc=True)
    assert f"pass {keyword}=<name>" in str(err.value)
    assert option not in str(err.value)
    cli = err.value.for_cli()
    assert f"pass {option} <name>" in cli
    assert keyword not in cli


def test_missing_extra_column_fix_is_spelled_per_interface(tmp_path):
    path = _write(_table([1], [T0], [1.0]), tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"no column 'balance'") as err:
        read_transactions(path, extra_columns=["balance"])
    assert "extra_columns" in str(err.value)
    assert "extra_columns" not in err.value.for_cli()
    assert "value field" in err.value.for_cli()


def test_mixed_mcc_fix_is_spelled_per_interface(tmp_path):
    _write(_table([1], [T0], [1.0], [5411]), tmp_path / "part-0.parquet")
    _write(_table([2], [T0], [1.0]), tmp_path / "part-1.parquet")
    with pytest.raises(InputError, match=r"pass mcc_col=None to skip MCCs") as err:
        read_transactions(tmp_path)
    assert "mcc_col" not in err.value.for_cli()
    assert "--mcc-col" in err.value.for_cli()


def test_required_mcc_needs_a_column_name(tmp_path):
    path = _write(_table([1], [T0], [1.0], [5411]), tmp_path / "t.parquet")
    with pytest.raises(
        InputError, match=r"MCCs are required but no MCC column is named; pass mcc_col=<name>"
    ):
        read_transactions(path, mcc_col=None, require_mcc=True)


def test_required_mcc_codes_must_be_in_range(tmp_path):
    table = _table([1, 1, 1], [T0, T0 + 1, T0 + 2], [1.0] * 3).append_column(
        "mcc", pa.array([5411, 10000, -1], pa.int32())
    )
    path = _write(table, tmp_path / "t.parquet")
    np.testing.assert_array_equal(read_transactions(path).mcc, [5411, 10000, -1])  # not needed: kept
    with pytest.raises(InputError, match=r"t\.parquet': column 'mcc' is 10000 at row 1, outside 0\.\.9999"):
        read_transactions(path, require_mcc=True)


def test_finite_columns_name_the_file_row(tmp_path):
    # Unsorted: the bad value sits at file row 0, which is sorted row 2.
    table = _table([2, 1, 1], [T0, T0, T0 + 1], [1.0] * 3, balance=pa.array([np.inf, 1.0, 2.0]))
    path = _write(table, tmp_path / "t.parquet")
    assert np.isinf(read_transactions(path, extra_columns=["balance"]).extra["balance"][2])
    with pytest.raises(InputError, match=r"t\.parquet': column 'balance' at row 0 is inf"):
        read_transactions(path, extra_columns=["balance"], finite_columns=["balance"])


def test_dataset_directory_means_its_transaction_shards(tmp_path):
    world = tmp_path / "world"
    (world / "transactions").mkdir(parents=True)
    (world / "manifest.json").write_text("{}")
    pq.write_table(pa.table({"account_id": [1, 2], "kind": ["credit", "debit"]}), world / "accounts.parquet")
    _write(_table([4, 4], [T0, T0 + 1], [1.0, 2.0]), world / "transactions" / "part-00001.parquet")
    _write(_table([2], [T0], [3.0]), world / "transactions" / "part-00000.parquet")
    arr = read_transactions(world)
    np.testing.assert_array_equal(arr.user_ids, [2, 4])
    np.testing.assert_array_equal(arr.amount, [3.0, 1.0, 2.0])
    assert arr.input_row is None  # shards in name order: already sorted by user and time
    (world / "transactions" / "part-00000.parquet").unlink()
    (world / "transactions" / "part-00001.parquet").unlink()
    (world / "transactions").rmdir()
    with pytest.raises(InputError, match=r"dataset directory '.*world' has no transactions directory"):
        read_transactions(world)
