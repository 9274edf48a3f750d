"""IBM TabFormer's sd254_users.csv and sd254_cards.csv from a dataset's consumers and cards tables.

Small tables, so formatting is vectorised pyarrow (the transactions CSV has its own numba formatter in
``cardworld.io.tabformer``). ``sd254_cards.csv`` has one row per card (user, card index): its latest issue;
Card on Dark Web is "No" throughout, as in TabFormer's own file (whether fraud leaked a card is a
debugging truth that stays in ``cards.parquet``, not a feature).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.errors import InputError
from cardworld.io.cards import latest_card_issues

SD254_USERS_HEADER = (
    "Person,Current Age,Retirement Age,Birth Year,Birth Month,Gender,Address,Apartment,City,State,Zipcode,"
    "Latitude,Longitude,Per Capita Income - Zipcode,Yearly Income - Person,Total Debt,FICO Score,"
    "Num Credit Cards"
)
SD254_CARDS_HEADER = (
    "User,CARD INDEX,Card Brand,Card Type,Card Number,Expires,CVV,Has Chip,Cards Issued,Credit Limit,"
    "Acct Open Date,Year PIN last Changed,Card on Dark Web"
)


def write_sd254_users(consumers: pa.Table, out, *, end_year: int) -> int:
    """Write sd254_users.csv rows (one per consumer, by user_id) to a path or binary file; return rows.

    The row number is the TabFormer User, so user_id must be 0..n-1.
    """
    t = consumers.sort_by("user_id") if consumers.num_rows else consumers
    ids = t.column("user_id").to_numpy()
    if ids.size and not np.array_equal(ids, np.arange(ids.size)):
        raise InputError(
            "consumers: user_id must be exactly 0..n-1 (the row number of sd254_users.csv is the TabFormer "
            f"User), but {ids.size} consumers have ids {int(ids.min())}..{int(ids.max())} with gaps or repeats"
        )
    birth_year = t.column("birth_year").to_numpy().astype(np.int64)
    cols = [
        csv_text(t.column("name")),
        _ints(end_year - birth_year),
        _ints(t.column("retirement_age")),
        _ints(birth_year),
        _ints(t.column("birth_month")),
        csv_text(t.column("gender")),
        csv_text(t.column("address")),
        csv_text(t.column("apartment")),
        csv_text(t.column("city")),
        csv_text(t.column("state")),
        _zip_int(t.column("zipcode")),
        _decimal(t.column("latitude")),
        _decimal(t.column("longitude")),
        _dollars(t.column("per_capita_income_zip")),
        _dollars(t.column("yearly_income")),
        _dollars(t.column("total_debt")),
        _ints(t.column("fico_score")),
        _ints(t.column("num_credit_cards")),
    ]
    return _write_csv(out, SD254_USERS_HEADER, cols, t.num_rows)


def write_sd254_cards(cards: pa.Table, out) -> int:
    """Write sd254_cards.csv rows to a path or binary file: one per (user, card index), its latest issue.

    Card on Dark Web is "No" for every card, as in TabFormer's file: ``card_on_dark_web`` marks the cards
    fraud leaked, so exporting it would hand models the label."""
    t = latest_card_issues(cards)
    cols = [
        _ints(t.column("user_id")),
        _ints(t.column("card_index")),
        csv_text(t.column("card_brand")),
        csv_text(t.column("card_type")),
        csv_text(t.column("card_number")),
        _month_year(t.column("expires")),
        csv_text(t.column("cvv")),
        _yes_no(t.column("has_chip"), "YES", "NO"),
        _ints(t.column("cards_issued")),
        _dollars(t.column("credit_limit")),
        _month_year(t.column("acct_open_date")),
        _ints(t.column("year_pin_last_changed")),
        pa.array(["No"] * t.num_rows, pa.string()),
    ]
    return _write_csv(out, SD254_CARDS_HEADER, cols, t.num_rows)


def _write_csv(out, header: str, cols: list[pa.Array], n: int) -> int:
    if isinstance(out, str | os.PathLike):
        with open(out, "wb") as f:
            return _write_csv(f, header, cols, n)
    out.write((header + "\n").encode())
    step = 1 << 18
    for a in range(0, n, step):
        part = [c.slice(a, step) for c in cols]
        part[-1] = pc.binary_join_element_wise(part[-1], "\n", "")
        lines = pc.binary_join_element_wise(*part, ",")
        out.write(_string_bytes(lines))
    return n


def _string_bytes(arr: pa.Array) -> memoryview:
    """The concatenated bytes of a string array without nulls."""
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    if bufs[2] is None or not len(arr):
        return memoryview(b"")
    return memoryview(bufs[2])[int(offsets[0]) : int(offsets[-1])]


def _arr(col) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _ints(col) -> pa.Array:
    a = pa.array(col) if isinstance(col, np.ndarray) else _arr(col)
    return pc.fill_null(pc.cast(a, pa.string()), "")


def csv_text(col) -> pa.Array:
    """Strings as CSV fields: null -> empty; quoted (quotes doubled) when holding , " CR or LF."""
    a = pc.fill_null(_arr(col).cast(pa.string()), "")
    data = a.buffers()[2]
    if data is None:
        return a
    raw = np.frombuffer(data, dtype=np.uint8)
    if not ((raw == 44) | (raw == 34) | (raw == 10) | (raw == 13)).any():
        return a
    needs = pc.match_substring_regex(a, '[,"\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(a, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, a)


def _zip_int(col) -> pa.Array:
    """ZIP strings as integers (leading zeros dropped, as in sd254); null -> empty."""
    a = _arr(col)
    try:
        return pc.fill_null(pc.cast(pc.cast(a, pa.int64()), pa.string()), "")
    except pa.ArrowInvalid as e:
        raise InputError(f"zipcode holds a value that is not a number ({e}); ZIPs must be digits") from e


def _decimal(col) -> pa.Array:
    """Floats rounded to 2 decimals, shortest text, integral values with a trailing .0."""
    x = np.round(_arr(col).to_numpy(zero_copy_only=False).astype(np.float64), 2)
    s = pc.cast(pa.array(x), pa.string())
    plain = pc.invert(pc.match_substring_regex(s, "[.eEn]"))
    return pc.if_else(plain, pc.binary_join_element_wise(s, ".0", ""), s)


def _dollars(col) -> pa.Array:
    """Money as $ and whole dollars: $29278."""
    x = _arr(col).to_numpy(zero_copy_only=False).astype(np.float64)
    if not np.isfinite(x).all():
        raise InputError("a money column holds a non-finite value; amounts must be finite numbers")
    return pc.binary_join_element_wise("$", pc.cast(pa.array(np.rint(x).astype(np.int64)), pa.string()), "")


def _month_year(col) -> pa.Array:
    """Dates as MM/YYYY."""
    days = _arr(col).cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    y, m = _civil_year_month(days)
    months = pa.array([f"{k:02d}" for k in range(13)])
    return pc.binary_join_element_wise(pc.take(months, pa.array(m)), pc.cast(pa.array(y), pa.string()), "/")


def _civil_year_month(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)  # since 1970-01
    return months // 12 + 1970, months % 12 + 1


def _yes_no(col, yes: str, no: str) -> pa.Array:
    return pc.if_else(_arr(col), yes, no)


__all__ = ["SD254_CARDS_HEADER", "SD254_USERS_HEADER", "csv_text", "write_sd254_cards", "write_sd254_users"]
