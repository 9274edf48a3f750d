"""Read IBM TabFormer CSV files into contract tables: the transactions CSV, sd254_users.csv, sd254_cards.csv.

    for table in read_tabformer_transactions("card_transaction.v1.csv"):   # TRANSACTIONS_SCHEMA tables
        ...
    consumers = read_sd254_users("sd254_users.csv")     # CONSUMERS_SCHEMA, user_id = row order
    cards = read_sd254_cards("sd254_cards.csv")         # CARDS_SCHEMA less account_id (see below)

Reads IBM's published file and cardworld's export alike (the text format is in ``cardworld.io.tabformer``;
IBM's dataset/card.py reads its file the same way: Amount is "$" then a number, Zip a float, empty Errors?,
Merchant State and Zip are missing values, Is Fraud? is Yes/No). Leniencies for the real file: a trailing
comma in Errors? ("Insufficient Balance,") is dropped, Yes/No and the Use Chip names match in any case,
Time may carry seconds, extra columns are ignored.

The transactions CSV streams: pyarrow reads it a block at a time with explicit column types (memory holds
one block of ``block_size`` bytes and its table). A value that does not parse makes the reader scan the file
again as text, to name the row (1-based, header not counted; line = row + 1) and the column in the error.

What the sd254 files lack: ``fraudster_id`` is null throughout (TabFormer has none); sd254_cards.csv has one
row per card (its latest issue), so ``account_id`` is left out, ``acct_open_date`` is the first day of its
month (the file has MM/YYYY), ``expires`` the last day of its month (as cardworld issues expire), and the row
stands for the card's whole life: ``valid_from`` is the account opening, ``valid_to`` the day after expiry.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cardworld.codes import USE_CHIP
from cardworld.errors import InputError
from cardworld.io.schema import CARDS_SCHEMA, CONSUMERS_SCHEMA, TRANSACTIONS_SCHEMA
from cardworld.io.sd254 import SD254_CARDS_HEADER, SD254_USERS_HEADER

# The exporter's header, spelled here too (io.tabformer compiles numba kernels on import; a test pins both).
TABFORMER_HEADER = (
    "User,Card,Year,Month,Day,Time,Amount,Use Chip,Merchant Name,Merchant City,Merchant State,Zip,MCC,"
    "Errors?,Is Fraud?"
)
DEFAULT_BLOCK_SIZE = 1 << 24  # bytes per streamed block: ~150k TabFormer rows
_DICT = pa.dictionary(pa.int32(), pa.string())  # for the columns of a few values: fastest to read and map
_TX_TYPES: dict[str, pa.DataType] = {
    "User": pa.int32(),
    "Card": pa.int16(),
    "Year": pa.int16(),
    "Month": pa.int8(),
    "Day": pa.int8(),
    "Time": pa.time32("s"),
    "Amount": pa.string(),
    "Use Chip": _DICT,
    "Merchant Name": pa.int64(),
    "Merchant City": pa.string(),
    "Merchant State": pa.string(),
    "Zip": pa.float64(),
    "MCC": pa.int16(),
    "Errors?": pa.string(),
    "Is Fraud?": _DICT,
}
_USERS_USED = tuple(c for c in SD254_USERS_HEADER.split(",") if c != "Current Age")  # age: from birth year
_CARDS_USED = tuple(SD254_CARDS_HEADER.split(","))
_NO_YES = ("NO", "YES")
_TIME_RE = "^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$"
_MONTH_YEAR_RE = "^(?P<month>[0-9]{1,2})/(?P<year>[0-9]{4})$"
_ROW_RE = re.compile(r"Row #(\d+): ")


def read_tabformer_transactions(
    csv_path: str | os.PathLike, *, block_size: int = DEFAULT_BLOCK_SIZE
) -> Iterator[pa.Table]:
    """Stream a TabFormer transactions CSV as tables with the transactions contract (TRANSACTIONS_SCHEMA).

    Rows keep the file's order (a user may span tables). timestamp is Year/Month/Day/Time as naive wall
    clock, amount the number after "$", zip the 5-digit ZIP ("2134.0" -> "02134"; empty -> null),
    merchant_state and errors null when empty, fraudster_id null. The file and its header are checked now;
    a malformed value raises an InputError naming the file, row and column when its table is reached.
    """
    path = _existing(csv_path, "TabFormer transactions CSV")
    _check_header(path, TABFORMER_HEADER.split(","), "a TabFormer transactions CSV", TABFORMER_HEADER)
    if block_size < 1 << 12:
        raise InputError(f"block_size is {block_size} bytes; pass at least 4096 (the default is 16 MiB)")
    return _stream(path, block_size)


def _stream(path: Path, block_size: int) -> Iterator[pa.Table]:
    row0 = 0
    try:
        reader = _open_csv(path, _TX_TYPES, block_size)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            table = _transactions(batch, _Rows(path, row0))
            row0 += batch.num_rows
            yield table
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        _locate(path, block_size, e)


def _open_csv(path: Path, types: dict[str, pa.DataType], block_size: int, *, threads: bool = True):
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=block_size, use_threads=threads),
        convert_options=_convert_options(types),
    )


def _convert_options(types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
    # Only "" is missing: pyarrow's default list would read a city "NA" or "NULL" as missing.
    return pacsv.ConvertOptions(
        column_types=types,
        include_columns=list(types),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )


def _locate(path: Path, block_size: int, err: Exception) -> None:
    """Raise the InputError for the value pyarrow could not convert: scan the file again as text (one
    thread, so parse errors carry their row number) and check each value."""
    where = f"file {str(path)!r}"
    row0 = 0
    try:
        reader = _open_csv(path, dict.fromkeys(_TX_TYPES, pa.string()), block_size, threads=False)
        for batch in reader:
            _transactions(batch, _Rows(path, row0))
            row0 += batch.num_rows
    except pa.ArrowInvalid as e:
        raise _parse_error(where, e) from e
    raise InputError(f"{where} could not be read as a TabFormer CSV ({err}); check its rows") from err


def _parse_error(where: str, e: Exception) -> InputError:
    text = str(e).replace("CSV parse error: ", "")
    if m := _ROW_RE.search(text):
        line = int(m.group(1))
        text = f"row {line - 1} (line {line}): {text[m.end() :]}"
    return InputError(f"{where} is not a well-formed CSV: {text}; every row must have the header's columns")


def _transactions(batch: pa.RecordBatch, rows: _Rows) -> pa.Table:
    col = batch.column
    n = batch.num_rows
    seconds = _timestamps(col("Year"), col("Month"), col("Day"), col("Time"), rows)
    use_chip = pa.DictionaryArray.from_arrays(
        rows.choice(col("Use Chip"), "Use Chip", USE_CHIP).cast(pa.int8()), pa.array(USE_CHIP, pa.string())
    )
    errors = pc.utf8_rtrim(_strings(col("Errors?")), characters=", ")
    arrays = [
        rows.value(col("User"), "User", pa.int32()),
        rows.value(col("Card"), "Card", pa.int16()),
        pa.array(seconds, pa.timestamp("s")),
        rows.dollars(col("Amount"), "Amount"),
        use_chip,
        rows.value(col("Merchant Name"), "Merchant Name", pa.int64()),
        pc.fill_null(_strings(col("Merchant City")), ""),
        _strings(col("Merchant State")),
        rows.zip_code(col("Zip"), "Zip"),
        rows.value(col("MCC"), "MCC", pa.int16()),
        pc.if_else(pc.equal(errors, ""), pa.scalar(None, pa.string()), errors),
        rows.choice(col("Is Fraud?"), "Is Fraud?", ("No", "Yes")).cast(pa.bool_()),
        pa.nulls(n, pa.int32()),
    ]
    return pa.Table.from_arrays(arrays, schema=TRANSACTIONS_SCHEMA)


def _timestamps(year, month, day, time, rows: _Rows) -> np.ndarray:
    """int64 seconds since 1970 (naive wall clock) of the Year, Month, Day and Time columns."""
    y = _ints(rows.value(year, "Year", pa.int16()))
    m = _ints(rows.value(month, "Month", pa.int8()))
    d = _ints(rows.value(day, "Day", pa.int8()))
    rows.check(year, "Year", (y < 1) | (y > 9999), "is not a year (1-9999)")
    rows.check(month, "Month", (m < 1) | (m > 12), "is not a month (1-12)")
    k = y * 12 + m - 1
    first, after = _MONTH_DAYS[k], _MONTH_DAYS[k + 1]
    rows.check(day, "Day", (d < 1) | (d > after - first), "is not a day of that month")
    return (first + d - 1) * 86_400 + rows.time_of_day(time, "Time")


# Days since 1970 of the first day of month y * 12 + m - 1 for the years 0-10000: a lookup is much faster
# than numpy's calendar conversions per row.
_MONTH_DAYS = (
    (np.arange(10_001 * 12) - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
)


def _ints(a: pa.Array) -> np.ndarray:
    return a.to_numpy(zero_copy_only=False).astype(np.int64)


def _strings(a: pa.Array) -> pa.Array:
    return a.cast(pa.string())


class _Rows:
    """One batch of one file: converts its columns and names the file, row and column of a bad value."""

    def __init__(self, path: Path, row0: int) -> None:
        self.where, self.row0 = f"file {str(path)!r}", row0

    def error(self, i: int, column: str, value, expect: str) -> InputError:
        row = self.row0 + i + 1
        shown = "an empty value" if value is None else repr(str(value))
        return InputError(f"{self.where}, row {row} (line {row + 1}), column {column!r}: {shown} {expect}")

    def check(self, col: pa.Array, column: str, bad: np.ndarray, expect: str) -> None:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self.error(i, column, col[i].as_py(), expect)

    def value(self, col: pa.Array, column: str, type_: pa.DataType, *, required: bool = True) -> pa.Array:
        """`col` as `type_` (a cast from text where pyarrow read text); nulls are errors when required."""
        if not col.type.equals(type_):
            try:
                col = pc.cast(col, type_)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                i = _first_failure(col, type_)
                raise self.error(i, column, col[i].as_py(), f"is not {_describe(type_)}") from None
        if required and col.null_count:
            i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise self.error(i, column, None, f"where {_describe(type_)} is required")
        return col

    def dollars(self, col: pa.Array, column: str) -> pa.Array:
        """Money: "$-12.34" -> -12.34 (TabFormer's money: "$" then the number, no thousands separators)."""
        text = self.value(_strings(col), column, pa.string())
        dollar = pc.starts_with(text, "$").to_numpy(zero_copy_only=False)
        self.check(text, column, ~dollar, 'is not an amount like "$12.34" or "$-5.00" (no "$")')
        number = pc.utf8_slice_codeunits(text, 1)
        try:
            x = pc.cast(number, pa.float64())
        except pa.ArrowInvalid:
            i = _first_failure(number, pa.float64())
            raise self.error(i, column, text[i].as_py(), 'is not an amount like "$12.34"') from None
        self.check(text, column, ~np.isfinite(x.to_numpy(zero_copy_only=False)), "is not a finite amount")
        return x

    def zip_code(self, col: pa.Array, column: str) -> pa.Array:
        """ZIPs written as numbers ("2134.0", "91750") -> 5-digit strings; empty -> null."""
        z = self.value(col, column, pa.float64(), required=False)
        x = z.to_numpy(zero_copy_only=False)
        bad = ~np.isnan(x) & ((x != np.floor(x)) | (x < 0) | (x > 99_999))
        self.check(col, column, bad, "is not a ZIP code (a whole number 0-99999)")
        return pc.utf8_lpad(pc.cast(pc.cast(z, pa.int64()), pa.string()), 5, "0")

    def choice(self, col: pa.Array, column: str, choices: Sequence[str]) -> pa.Array:
        """int32 index of each value in `choices` (matched in any case); anything else is an error."""
        d = col if pa.types.is_dictionary(col.type) else _strings(col).dictionary_encode()
        wanted = pa.array([c.upper() for c in choices], pa.string())
        codes = pc.take(
            pc.index_in(pc.utf8_upper(d.dictionary.cast(pa.string())), value_set=wanted), d.indices
        )
        if codes.null_count:
            i = int(np.flatnonzero(codes.is_null().to_numpy(zero_copy_only=False))[0])
            raise self.error(i, column, d[i].as_py(), f"is not one of {', '.join(map(repr, choices))}")
        return codes

    def time_of_day(self, col: pa.Array, column: str) -> np.ndarray:
        """Seconds after midnight of "HH:MM" (or "HH:MM:SS")."""
        if pa.types.is_time32(col.type):
            t = self.value(col, column, col.type)
            return _ints(t.cast(pa.int32()))
        text = self.value(_strings(col), column, pa.string())
        form = pc.match_substring_regex(text, _TIME_RE).to_numpy(zero_copy_only=False)
        self.check(text, column, ~form, 'is not a time of day like "06:21"')
        padded = pc.utf8_rpad(text, 8, "0")  # "06:21" -> "06:21000": no seconds reads as :00
        h, m, s = (_ints(pc.cast(pc.utf8_slice_codeunits(padded, a, a + 2), pa.int64())) for a in (0, 3, 6))
        self.check(text, column, (h > 23) | (m > 59) | (s > 59), "is not a time of day")
        return h * 3600 + m * 60 + s

    def month_start(self, col: pa.Array, column: str, *, last_day: bool = False) -> np.ndarray:
        """Days since 1970 of "MM/YYYY": the month's first day (or its last day)."""
        text = self.value(_strings(col), column, pa.string())
        parts = pc.extract_regex(text, _MONTH_YEAR_RE)
        self.check(
            text, column, parts.is_null().to_numpy(zero_copy_only=False), 'is not a month like "08/2021"'
        )
        m, y = (_ints(pc.cast(pc.struct_field(parts, k), pa.int64())) for k in ("month", "year"))
        self.check(text, column, (m < 1) | (m > 12), 'is not a month like "08/2021"')
        months = (y - 1970) * 12 + m - 1 + int(last_day)
        days = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        return days - 1 if last_day else days


def _first_failure(col: pa.Array, type_: pa.DataType) -> int:
    """Index of the first value of `col` that does not cast to `type_` (bisection on slices)."""
    lo, hi = 0, len(col)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(col.slice(lo, mid - lo), type_)
            lo = mid
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
    return lo


def _describe(type_: pa.DataType) -> str:
    if pa.types.is_integer(type_):
        info = np.iinfo(type_.to_pandas_dtype())
        return f"a whole number ({info.min} to {info.max})"
    if pa.types.is_floating(type_):
        return "a number"
    if pa.types.is_time(type_):
        return 'a time of day like "06:21"'
    return "a value"


# ---------------------------------------------------------------------------------------------------------
# Files and headers


def _existing(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        state = "is a directory" if p.is_dir() else "does not exist"
        raise InputError(f"{what} {str(p)!r} {state}; pass the path of the CSV file")
    return p


def _check_header(path: Path, required: Sequence[str], what: str, header: str) -> None:
    """The first line must name every required column (any order, extra columns allowed)."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        first = f.readline()
    names = next(csv.reader([first]), []) if first.strip() else []
    where = f"file {str(path)!r}"
    if not names:
        raise InputError(f"{where} is empty; {what} starts with the header line {header}")
    missing = [c for c in required if c not in names]
    if missing:
        raise InputError(
            f"{where} has no column(s) {', '.join(map(repr, missing))} in its header (it has "
            f"{', '.join(map(repr, names))}); {what} has the header {header}"
        )


def _read_small(path: Path, columns: Sequence[str], what: str, header: str) -> pa.Table:
    """A whole sd254 file, every used column as text (one thread, so parse errors carry their row)."""
    _check_header(path, columns, what, header)
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            convert_options=_convert_options(dict.fromkeys(columns, pa.string())),
        )
    except pa.ArrowInvalid as e:
        raise _parse_error(f"file {str(path)!r}", e) from e


def _text(t: pa.Table, name: str, *, required: bool = True) -> pa.Array:
    a = t.column(name).combine_chunks().cast(pa.string())
    return pc.fill_null(a, "") if required else a


# ---------------------------------------------------------------------------------------------------------
# sd254 users and cards


def read_sd254_users(path: str | os.PathLike) -> pa.Table:
    """sd254_users.csv as a consumers table (CONSUMERS_SCHEMA): user_id is the row order (TabFormer's User),
    zipcode the 5-digit ZIP, money in dollars; Current Age is not read (it follows from Birth Year)."""
    p = _existing(path, "sd254 users CSV")
    t = _read_small(p, _USERS_USED, "an sd254 users CSV", SD254_USERS_HEADER)
    rows = _Rows(p, 0)

    def col(name: str) -> pa.Array:
        return t.column(name).combine_chunks()

    arrays = {
        "user_id": pa.array(np.arange(t.num_rows, dtype=np.int32)),
        "name": _text(t, "Person"),
        "gender": _text(t, "Gender"),
        "birth_year": rows.value(col("Birth Year"), "Birth Year", pa.int16()),
        "birth_month": rows.value(col("Birth Month"), "Birth Month", pa.int8()),
        "retirement_age": rows.value(col("Retirement Age"), "Retirement Age", pa.int16()),
        "address": _text(t, "Address"),
        "apartment": _text(t, "Apartment", required=False),
        "city": _text(t, "City"),
        "state": _text(t, "State"),
        "zipcode": rows.zip_code(col("Zipcode"), "Zipcode"),
        "latitude": rows.value(col("Latitude"), "Latitude", pa.float64()),
        "longitude": rows.value(col("Longitude"), "Longitude", pa.float64()),
        "per_capita_income_zip": rows.dollars(
            col("Per Capita Income - Zipcode"), "Per Capita Income - Zipcode"
        ),
        "yearly_income": rows.dollars(col("Yearly Income - Person"), "Yearly Income - Person"),
        "total_debt": rows.dollars(col("Total Debt"), "Total Debt"),
        "fico_score": rows.value(col("FICO Score"), "FICO Score", pa.int16()),
        "num_credit_cards": rows.value(col("Num Credit Cards"), "Num Credit Cards", pa.int8()),
    }
    zips = arrays["zipcode"]
    if zips.null_count:
        i = int(np.flatnonzero(zips.is_null().to_numpy(zero_copy_only=False))[0])
        raise rows.error(i, "Zipcode", None, "where a ZIP code is required")
    return pa.Table.from_arrays([arrays[f.name] for f in CONSUMERS_SCHEMA], schema=CONSUMERS_SCHEMA)


#: The cards columns read_sd254_cards returns: CARDS_SCHEMA without account_id (the file has none).
SD254_CARDS_SCHEMA = pa.schema([f for f in CARDS_SCHEMA if f.name != "account_id"])


def read_sd254_cards(path: str | os.PathLike) -> pa.Table:
    """sd254_cards.csv as a cards table (SD254_CARDS_SCHEMA: CARDS_SCHEMA less account_id), one row per
    card; dates from MM/YYYY, valid_from/valid_to spanning the card's life (see the module doc)."""
    p = _existing(path, "sd254 cards CSV")
    t = _read_small(p, _CARDS_USED, "an sd254 cards CSV", SD254_CARDS_HEADER)
    rows = _Rows(p, 0)

    def col(name: str) -> pa.Array:
        return t.column(name).combine_chunks()

    expires = rows.month_start(col("Expires"), "Expires", last_day=True)
    opened = rows.month_start(col("Acct Open Date"), "Acct Open Date")
    cvv = _text(t, "CVV")
    digits = pc.match_substring_regex(cvv, "^[0-9]{1,3}$")  # written as a number: pad to 3 digits
    arrays = {
        "user_id": rows.value(col("User"), "User", pa.int32()),
        "card_index": rows.value(col("CARD INDEX"), "CARD INDEX", pa.int16()),
        "card_brand": _text(t, "Card Brand"),
        "card_type": _text(t, "Card Type"),
        "card_number": _text(t, "Card Number"),
        "expires": pa.array(expires.astype(np.int32), pa.date32()),
        "cvv": pc.if_else(digits, pc.utf8_lpad(cvv, 3, "0"), cvv),
        "has_chip": rows.choice(col("Has Chip"), "Has Chip", _NO_YES).cast(pa.bool_()),
        "cards_issued": rows.value(col("Cards Issued"), "Cards Issued", pa.int16()),
        "credit_limit": rows.dollars(col("Credit Limit"), "Credit Limit"),
        "acct_open_date": pa.array(opened.astype(np.int32), pa.date32()),
        "year_pin_last_changed": rows.value(
            col("Year PIN last Changed"), "Year PIN last Changed", pa.int16()
        ),
        "card_on_dark_web": rows.choice(col("Card on Dark Web"), "Card on Dark Web", _NO_YES).cast(
            pa.bool_()
        ),
        "valid_from": pa.array(opened * 86_400, pa.timestamp("s")),
        "valid_to": pa.array((expires + 1) * 86_400, pa.timestamp("s")),
    }
    return pa.Table.from_arrays([arrays[f.name] for f in SD254_CARDS_SCHEMA], schema=SD254_CARDS_SCHEMA)


__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "SD254_CARDS_SCHEMA",
    "TABFORMER_HEADER",
    "read_sd254_cards",
    "read_sd254_users",
    "read_tabformer_transactions",
]
