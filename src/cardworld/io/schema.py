"""The dataset contract: pyarrow schemas of every table, and fast builders from numpy arrays.

    table = transactions_table(
        {"user_id": u, "card_id": c, "timestamp": t, "amount": a, "use_chip": chip, "merchant_id": mid,
         "merchant_city": city_code, "merchant_state": state_code, "zip": zip_code, "mcc": mcc,
         "errors": error_bits, "is_fraud": fraud, "fraudster_id": fid},
        {"merchant_city": cities, "merchant_state": states, "zip": zips},
    )

Arrays in, the exact contract schema out. How each kind of column may be given:

* string columns: integer codes into ``vocab[name]`` (a small list of strings), or strings (numpy ``str``/
  ``object`` arrays, lists, pyarrow arrays). A code of -1 is null where the column is nullable.
  ``zip``/``zipcode``/``card_number``/``cvv`` may also be integers without a vocabulary: their numbers,
  zero-padded to 5 (ZIPs) or 3 (CVVs) digits; -1 is null.
* ``use_chip``: int8 codes 0/1/2 into ``USE_CHIP`` (stored as dictionary<int8, string>).
* ``errors``: an integer bitmask, bit i = ``ERROR_REASONS[i]``; 0 is null, otherwise the reasons joined by
  commas in the order of ``ERROR_REASONS`` (a 128-entry lookup, no per-row Python).
* timestamp[s]: int64 seconds since 1970 (naive local wall-clock) or numpy datetime64.
* date32: int days since 1970 or numpy datetime64.
* nullable integers (``fraudster_id``): negative values are null.
* any pyarrow array: cast to the contract type.

Columns not in the contract are appended after the contract columns, in the order given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.errors import InputError

USE_CHIP: tuple[str, ...] = ("Swipe Transaction", "Chip Transaction", "Online Transaction")
ERROR_REASONS: tuple[str, ...] = (
    "Bad PIN",
    "Insufficient Balance",
    "Technical Glitch",
    "Bad Card Number",
    "Bad CVV",
    "Bad Expiration",
    "Bad Zipcode",
)
ERROR_BITS: dict[str, int] = {reason: 1 << i for i, reason in enumerate(ERROR_REASONS)}
CARD_BRANDS: tuple[str, ...] = ("Visa", "Mastercard", "Amex", "Discover")
CARD_TYPES: tuple[str, ...] = ("Debit", "Credit", "Debit (Prepaid)")
ACCOUNT_KINDS: tuple[str, ...] = ("credit", "debit", "prepaid")
PAYMENT_HABITS: tuple[str, ...] = ("full", "minimum", "partial")
TRIP_KINDS: tuple[str, ...] = ("getaway", "vacation", "business")
ONLINE_CITY = "ONLINE"

_S = pa.timestamp("s")


def _f(name: str, type_: pa.DataType, nullable: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


TRANSACTIONS_SCHEMA = pa.schema(
    [
        _f("user_id", pa.int32()),
        _f("card_id", pa.int16()),
        _f("timestamp", _S),
        _f("amount", pa.float64()),
        _f("use_chip", pa.dictionary(pa.int8(), pa.string())),
        _f("merchant_id", pa.int64()),
        _f("merchant_city", pa.string()),
        _f("merchant_state", pa.string(), True),
        _f("zip", pa.string(), True),
        _f("mcc", pa.int16()),
        _f("errors", pa.string(), True),
        _f("is_fraud", pa.bool_()),
        _f("fraudster_id", pa.int32(), True),
    ]
)
_CASH_COLUMNS = (
    "user_id",
    "timestamp",
    "amount",
    "merchant_id",
    "merchant_city",
    "merchant_state",
    "zip",
    "mcc",
)
#: Cash purchases: the transaction columns that apply without a card, with exactly their types.
CASH_SCHEMA = pa.schema([TRANSACTIONS_SCHEMA.field(c) for c in _CASH_COLUMNS])
_CARD_ONLY = tuple(c for c in TRANSACTIONS_SCHEMA.names if c not in _CASH_COLUMNS)
CONSUMERS_SCHEMA = pa.schema(
    [
        _f("user_id", pa.int32()),
        _f("name", pa.string()),
        _f("gender", pa.string()),
        _f("birth_year", pa.int16()),
        _f("birth_month", pa.int8()),
        _f("retirement_age", pa.int16()),
        _f("address", pa.string()),
        _f("apartment", pa.string(), True),
        _f("city", pa.string()),
        _f("state", pa.string()),
        _f("zipcode", pa.string()),
        _f("latitude", pa.float64()),
        _f("longitude", pa.float64()),
        _f("per_capita_income_zip", pa.float64()),
        _f("yearly_income", pa.float64()),
        _f("total_debt", pa.float64()),
        _f("fico_score", pa.int16()),
        _f("num_credit_cards", pa.int8()),
    ]
)
CARDS_SCHEMA = pa.schema(
    [
        _f("user_id", pa.int32()),
        _f("card_index", pa.int16()),
        _f("card_brand", pa.string()),
        _f("card_type", pa.string()),
        _f("card_number", pa.string()),
        _f("expires", pa.date32()),
        _f("cvv", pa.string()),
        _f("has_chip", pa.bool_()),
        _f("cards_issued", pa.int16()),
        _f("credit_limit", pa.float64()),
        _f("acct_open_date", pa.date32()),
        _f("year_pin_last_changed", pa.int16()),
        _f("card_on_dark_web", pa.bool_()),
        _f("account_id", pa.int64()),
        _f("valid_from", _S),
        _f("valid_to", _S),
    ]
)
ACCOUNTS_SCHEMA = pa.schema(
    [
        _f("account_id", pa.int64()),
        _f("user_id", pa.int32()),
        _f("kind", pa.string()),
        _f("credit_limit", pa.float64()),
        _f("payment_habit", pa.string()),
        _f("pay_share", pa.float64()),
        _f("opened", pa.date32()),
    ]
)
TRIPS_SCHEMA = pa.schema(
    [
        _f("user_id", pa.int32()),
        _f("kind", pa.string()),
        _f("start", _S),
        _f("end", _S),
        _f("destination", pa.string()),
        _f("country", pa.string()),
        _f("foreign", pa.bool_()),
    ]
)
MERCHANTS_SCHEMA = pa.schema(
    [
        _f("merchant_id", pa.int64()),
        _f("mcc", pa.int16()),
        _f("name", pa.string()),
        _f("city", pa.string()),
        _f("state", pa.string(), True),
        _f("zip", pa.string(), True),
        _f("country", pa.string()),
        _f("chain", pa.string(), True),
        _f("online", pa.bool_()),
    ]
)
FRAUDSTERS_SCHEMA = pa.schema(
    [
        _f("fraudster_id", pa.int32()),
        _f("kind", pa.string()),
        _f("start", _S),
        _f("end", _S),
    ]
)

#: Every table of a dataset directory: "transactions" lives in shard files, the others in NAME.parquet.
SCHEMAS: dict[str, pa.Schema] = {
    "transactions": TRANSACTIONS_SCHEMA,
    "consumers": CONSUMERS_SCHEMA,
    "cards": CARDS_SCHEMA,
    "accounts": ACCOUNTS_SCHEMA,
    "trips": TRIPS_SCHEMA,
    "cash": CASH_SCHEMA,
    "merchants": MERCHANTS_SCHEMA,
    "fraudsters": FRAUDSTERS_SCHEMA,
}
#: The tables stored as one NAME.parquet file each (transactions are sharded).
TABLE_NAMES: tuple[str, ...] = ("consumers", "cards", "accounts", "trips", "cash", "merchants", "fraudsters")

# Integer columns without a vocabulary that are written as their digits, zero-padded to this width.
_NUMERIC_TEXT = {"zip": 5, "zipcode": 5, "card_number": 0, "cvv": 3}


@lru_cache(maxsize=1)
def error_strings() -> tuple[str | None, ...]:
    """The 128 errors values by bitmask: None for 0, else the reasons joined in ERROR_REASONS order."""
    out: list[str | None] = [None]
    for mask in range(1, 1 << len(ERROR_REASONS)):
        out.append(",".join(r for i, r in enumerate(ERROR_REASONS) if mask >> i & 1))
    return tuple(out)


def error_mask(reasons: str | Sequence[str] | None) -> int:
    """The bitmask of decline reasons (a comma-joined string or a sequence); 0 for none."""
    if reasons is None or reasons == "":
        return 0
    items = reasons.split(",") if isinstance(reasons, str) else list(reasons)
    mask = 0
    for r in items:
        if r not in ERROR_BITS:
            raise InputError(f"unknown decline reason {r!r}; use one of: {', '.join(ERROR_REASONS)}")
        mask |= ERROR_BITS[r]
    return mask


_DEFAULT_VOCAB: dict[str, Sequence[str | None]] = {"use_chip": USE_CHIP}


def _default_vocab(name: str) -> Sequence[str | None] | None:
    if name == "errors":
        return error_strings()
    return _DEFAULT_VOCAB.get(name)


def build_table(
    name: str,
    arrays: Mapping[str, Any],
    vocab: Mapping[str, Sequence[str]] | None = None,
) -> pa.Table:
    """Build table `name` (a key of SCHEMAS) with its exact contract schema from arrays (see module doc)."""
    schema = _schema(name)
    vocab = vocab or {}
    missing = [f.name for f in schema if f.name not in arrays]
    if missing:
        raise InputError(
            f"{name}: missing column(s) {', '.join(missing)}; pass every contract column "
            f"({', '.join(schema.names)})"
        )
    n = _length(arrays[schema.names[0]])
    fields, columns = [], []
    for f in schema:
        columns.append(_column(name, f, arrays[f.name], vocab.get(f.name), n))
        fields.append(f)
    for key, value in arrays.items():
        if key in schema.names:
            continue
        arr = _extra_column(name, key, value, vocab.get(key), n)
        columns.append(arr)
        fields.append(pa.field(key, arr.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def transactions_table(
    arrays: Mapping[str, Any],
    vocab: Mapping[str, Sequence[str]] | None = None,
    *,
    check: bool = True,
) -> pa.Table:
    """The transactions table of one shard, rows stably sorted by (user_id, timestamp).

    Amounts are rounded to cents. With `check`, timestamps must be whole minutes.
    """
    return _events_table("transactions", arrays, vocab, check)


def cash_table(
    arrays: Mapping[str, Any],
    vocab: Mapping[str, Sequence[str]] | None = None,
    *,
    check: bool = True,
) -> pa.Table:
    """The cash table (transactions columns without the card ones), rows sorted by (user_id, timestamp).

    Card columns (use_chip, card_id, errors, is_fraud, fraudster_id) are refused: a cash purchase has no
    card, and a stray one would break combining cash with transactions by column name.
    """
    card = [c for c in _CARD_ONLY if c in arrays]
    if card:
        raise InputError(
            f"cash: column(s) {', '.join(card)} describe a card payment and a cash purchase has none; "
            f"drop them (the cash columns are {', '.join(CASH_SCHEMA.names)})"
        )
    return _events_table("cash", arrays, vocab, check)


def _events_table(name: str, arrays: Mapping[str, Any], vocab, check: bool) -> pa.Table:
    arrays = dict(arrays)
    amount = arrays.get("amount")
    if isinstance(amount, np.ndarray) and amount.dtype.kind == "f":
        arrays["amount"] = np.round(amount, 2)
    table = build_table(name, arrays, vocab)
    return _sort_events(name, table, check) if table.num_rows else table


def _sort_events(name: str, table: pa.Table, check: bool) -> pa.Table:
    user = table.column("user_id").to_numpy()
    t = table.column("timestamp").cast(pa.int64()).to_numpy()
    if check and (t % 60).any():
        i = int(np.flatnonzero(t % 60)[0])
        raise InputError(
            f"{name}.timestamp at row {i} is {t[i]} s, not a whole minute; round event times to minutes"
        )
    du = np.diff(user)
    if ((du < 0) | ((du == 0) & (np.diff(t) < 0))).any():
        order = np.lexsort((t, user))  # stable: equal (user, time) rows keep their order
        table = table.take(pa.array(order))
    return table


def conform(
    name: str,
    table: pa.Table,
    *,
    where: str | None = None,
    subset: bool = False,
    keep_dictionary: bool = False,
) -> pa.Table:
    """`table` with exactly the contract types of table `name` (extra columns kept after them).

    Contract columns must be present in contract order with a type that casts; nulls in non-nullable
    columns are errors. With `subset`, the table may hold any of the contract columns in any order (a
    projection); they are cast in place. With `keep_dictionary`, string columns read as dictionaries stay
    dictionaries (a fast path for readers). `where` names the source (a file) in messages.
    """
    schema = _schema(name)
    src = where or f"table {name!r}"
    names = table.column_names
    if not subset and names[: len(schema)] != schema.names:
        missing = [c for c in schema.names if c not in names]
        if missing:
            raise InputError(
                f"{src} has no column(s) {', '.join(missing)}; the {name} contract columns are "
                f"{', '.join(schema.names)}"
            )
        raise InputError(
            f"{src} has its columns in the order {', '.join(names[: len(schema)])}, ...; "
            f"write the {name} contract columns first, in order: {', '.join(schema.names)}"
        )
    fields, columns = [], []
    for i, col in enumerate(table.columns):
        if names[i] not in schema.names:
            fields.append(table.schema.field(i))
            columns.append(col)
            continue
        f = schema.field(names[i])
        keep = (
            keep_dictionary
            and pa.types.is_string(f.type)
            and pa.types.is_dictionary(col.type)
            and pa.types.is_string(col.type.value_type)
        )
        if not keep and not col.type.equals(f.type):
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise InputError(
                    f"{src}: column {f.name!r} has type {col.type}, which does not convert to {f.type} ({e})"
                ) from e
        if not f.nullable and col.null_count:
            row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{src}: column {f.name!r} is null at row {row}; it must not have nulls")
        fields.append(pa.field(f.name, col.type, nullable=f.nullable) if keep else f)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=table.schema.metadata))


def empty_table(name: str) -> pa.Table:
    """A table with the contract schema of `name` and no rows."""
    return _schema(name).empty_table()


# ---------------------------------------------------------------------------------------------------------
# Column builders


def _schema(name: str) -> pa.Schema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise InputError(f"unknown table {name!r}; the dataset tables are {', '.join(SCHEMAS)}") from None


def _length(x: Any) -> int:
    if isinstance(x, pa.Array | pa.ChunkedArray | list | tuple):
        return len(x)
    shape = np.shape(x)
    if len(shape) != 1:
        raise InputError(f"table columns must be one-dimensional arrays, got shape {shape}")
    return int(shape[0])


def _column(table: str, f: pa.Field, x: Any, voc: Sequence[str] | None, n: int) -> pa.Array:
    where = f"{table}.{f.name}"
    if isinstance(x, pa.Array | pa.ChunkedArray):
        _check_len(where, len(x), n)
        return _cast_arrow(where, x, f.type)
    if isinstance(x, list | tuple):
        _check_len(where, len(x), n)
        if not x:
            return pa.array([], f.type)
        if all(isinstance(v, str) or v is None for v in x):
            return _cast_arrow(where, pa.array(x, pa.string()), f.type)
    x = np.asarray(x)
    if x.ndim != 1:
        raise InputError(f"{where} must be one-dimensional, got shape {x.shape}")
    _check_len(where, x.shape[0], n)
    t = f.type
    kind = x.dtype.kind
    if pa.types.is_string(t) or pa.types.is_dictionary(t):
        if kind in "iu":
            voc = voc if voc is not None else _default_vocab(f.name)
            if voc is not None:
                # errors: the bitmask 0 is null already; -1 would be the (invalid) mask 0xFF
                return _decode(where, x, voc, t, f.nullable and f.name != "errors")
            if f.name in _NUMERIC_TEXT:
                return _numeric_text(where, x, _NUMERIC_TEXT[f.name], f.nullable)
            raise InputError(
                f"{where} is given as integer codes but vocab has no {f.name!r} entry; "
                f"pass vocab[{f.name!r}] = the list of strings the codes index"
            )
        if kind in "USO":
            arr = pa.array(x, pa.string()) if kind != "O" else _object_strings(where, x)
            return _cast_arrow(where, arr, t)
        raise InputError(f"{where} has dtype {x.dtype}; pass strings or integer codes into a vocabulary")
    if pa.types.is_timestamp(t):
        return _seconds(where, x).view(t)
    if pa.types.is_date32(t):
        return _days(where, x)
    if pa.types.is_boolean(t):
        if kind == "b":
            return pa.array(x)
        if kind in "iu":
            bad = (x != 0) & (x != 1)
            if bad.any():
                _bad_row(where, x, bad, "must be 0 or 1 (or bool)")
            return pa.array(x.astype(np.bool_))
        raise InputError(f"{where} has dtype {x.dtype}; pass booleans")
    if pa.types.is_integer(t):
        return _integers(where, x, t, f.nullable)
    if pa.types.is_floating(t):
        if kind not in "fiub":
            raise InputError(f"{where} has dtype {x.dtype}; pass numbers")
        x = x.astype(np.float64, copy=False)
        bad = ~np.isfinite(x)
        if bad.any():
            _bad_row(where, x, bad, "is not finite; fill or drop missing values first")
        return pa.array(x)
    raise InputError(f"{where}: no builder for type {t}")  # pragma: no cover - every contract type is above


def _extra_column(table: str, key: str, x: Any, voc: Sequence[str] | None, n: int) -> pa.Array:
    where = f"{table}.{key}"
    if isinstance(x, pa.Array | pa.ChunkedArray):
        _check_len(where, len(x), n)
        return x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x
    x = np.asarray(x)
    _check_len(where, x.shape[0], n)
    if voc is not None and x.dtype.kind in "iu":
        return _decode(where, x, voc, pa.string(), True)
    if x.dtype.kind == "M":
        return _seconds(where, x).view(pa.timestamp("s"))
    if x.dtype.kind == "O":
        return _object_strings(where, x)
    return pa.array(x)


def _check_len(where: str, got: int, n: int) -> None:
    if got != n:
        raise InputError(f"{where} has {got} rows but the first column has {n}; pass arrays of equal length")


def _bad_row(where: str, x: np.ndarray, bad: np.ndarray, what: str) -> None:
    i = int(np.flatnonzero(bad)[0])
    value = x[i].item() if isinstance(x[i], np.generic) else x[i]
    raise InputError(f"{where} at row {i} is {value!r}: {what}")


def _cast_arrow(where: str, x: pa.Array | pa.ChunkedArray, t: pa.DataType) -> pa.Array:
    if isinstance(x, pa.ChunkedArray):
        x = x.combine_chunks()
    if x.type.equals(t):
        return x
    try:
        return x.cast(t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise InputError(f"{where} has type {x.type}, which does not convert to {t} ({e})") from e


def _object_strings(where: str, x: np.ndarray) -> pa.Array:
    try:
        return pa.array(x, pa.string(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise InputError(f"{where} holds values that are not strings ({e}); pass str or None") from e


def _decode(
    where: str, codes: np.ndarray, voc: Sequence[str | None], t: pa.DataType, nullable: bool
) -> pa.Array:
    """Codes into a vocabulary -> string (or dictionary) array; -1 is null where the column is nullable."""
    size = len(voc)
    lo = int(codes.min()) if codes.size else 0
    hi = int(codes.max()) if codes.size else 0
    low_ok = -1 if nullable else 0
    if lo < low_ok or hi >= size:
        bad = (codes < low_ok) | (codes >= size)
        hint = f"codes must be in 0..{size - 1}" + (" or -1 for null" if nullable else "")
        _bad_row(where, codes, bad, f"not a valid code into its vocabulary of {size} strings: {hint}")
    values = voc if isinstance(voc, pa.Array) else pa.array(list(voc), pa.string())
    mask = codes < 0 if lo < 0 else None
    if pa.types.is_dictionary(t):
        index_type = t.index_type.to_pandas_dtype()
        if size > np.iinfo(index_type).max + 1:
            raise InputError(f"{where}: a vocabulary of {size} strings does not fit {t.index_type} indices")
        return pa.DictionaryArray.from_arrays(
            pa.array(codes.astype(index_type, copy=False), mask=mask), values
        )
    if codes.dtype.itemsize > 4:
        codes = codes.astype(np.int32)
    return pc.take(values, pa.array(codes, mask=mask))


def _numeric_text(where: str, x: np.ndarray, width: int, nullable: bool) -> pa.Array:
    lo = int(x.min()) if x.size else 0
    if lo < (-1 if nullable else 0):
        _bad_row(
            where,
            x,
            x < (-1 if nullable else 0),
            "must be a non-negative number" + (" or -1 for null" if nullable else ""),
        )
    mask = x < 0 if lo < 0 else None
    text = pc.cast(pa.array(x.astype(np.int64, copy=False), mask=mask), pa.string())
    return pc.utf8_lpad(text, width, "0") if width else text


def _seconds(where: str, x: np.ndarray) -> pa.Array:
    if x.dtype.kind == "M":
        if np.isnat(x).any():
            _bad_row(where, x, np.isnat(x), "is NaT; every row needs a time")
        x = x.astype("datetime64[s]").view(np.int64)
    elif x.dtype.kind not in "iu":
        raise InputError(f"{where} has dtype {x.dtype}; pass int64 seconds since 1970 or numpy datetime64")
    return pa.array(np.ascontiguousarray(x, dtype=np.int64))


def _days(where: str, x: np.ndarray) -> pa.Array:
    if x.dtype.kind == "M":
        if np.isnat(x).any():
            _bad_row(where, x, np.isnat(x), "is NaT; every row needs a date")
        x = x.astype("datetime64[D]").view(np.int64)
    elif x.dtype.kind not in "iu":
        raise InputError(f"{where} has dtype {x.dtype}; pass int days since 1970 or numpy datetime64")
    return _integers(where, x, pa.int32(), False).view(pa.date32())


def _integers(where: str, x: np.ndarray, t: pa.DataType, nullable: bool) -> pa.Array:
    if x.dtype.kind not in "iub":
        raise InputError(f"{where} has dtype {x.dtype}; pass integers")
    dtype = np.dtype(t.to_pandas_dtype())
    mask = None
    if nullable and x.size and x.dtype.kind == "i" and x.min() < 0:
        mask = x < 0
    if not np.can_cast(x.dtype, dtype) and x.size:
        info = np.iinfo(dtype)
        valid = x if mask is None else x[~mask]
        if valid.size and (valid.min() < info.min or valid.max() > info.max):
            bad = (x < info.min) | (x > info.max)
            if mask is not None:
                bad &= ~mask
            _bad_row(where, x, bad, f"does not fit {t} ({info.min}..{info.max})")
    return pa.array(x.astype(dtype, copy=False), mask=mask)


__all__ = [
    "ACCOUNTS_SCHEMA",
    "ACCOUNT_KINDS",
    "CARDS_SCHEMA",
    "CARD_BRANDS",
    "CARD_TYPES",
    "CASH_SCHEMA",
    "CONSUMERS_SCHEMA",
    "ERROR_BITS",
    "ERROR_REASONS",
    "FRAUDSTERS_SCHEMA",
    "MERCHANTS_SCHEMA",
    "ONLINE_CITY",
    "PAYMENT_HABITS",
    "SCHEMAS",
    "TABLE_NAMES",
    "TRANSACTIONS_SCHEMA",
    "TRIPS_SCHEMA",
    "TRIP_KINDS",
    "USE_CHIP",
    "build_table",
    "cash_table",
    "conform",
    "empty_table",
    "error_mask",
    "error_strings",
    "transactions_table",
]
