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
* ``use_chip``: int8 ``cardworld.codes.Channel`` codes into ``codes.USE_CHIP`` (a dictionary<int8, string>).
* ``errors``: an integer bitmask, bit i = ``codes.DECLINE_REASON_NAMES[i]`` (``DeclineReason``); 0 is null,
  otherwise the reasons joined by commas in that order (a 128-entry lookup, no per-row Python).
* timestamp[s]: int64 seconds since 1970 (naive local wall-clock) or numpy datetime64.
* date32: int days since 1970 or numpy datetime64 (NaT is null where the column is nullable).
* nullable integers (``fraudster_id``): negative values are null.
* any pyarrow array: cast to the contract type.

Columns not in the contract are appended after the contract columns, in the order given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from cardworld.errors import InputError
from cardworld.io.columns import column, error_mask, error_strings, extra_column, table_length

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
#: Credit accounts' monthly statements (sim.credit_cycle): one row per account and statement date.
STATEMENTS_SCHEMA = pa.schema(
    [
        _f("user_id", pa.int32()),
        _f("account_id", pa.int64()),
        _f("statement_date", pa.date32()),
        _f("balance", pa.float64()),
        _f("minimum_due", pa.float64()),
        _f("payment", pa.float64()),
        _f("payment_date", pa.date32(), True),
        _f("days_past_due", pa.int16()),
        _f("apr", pa.float64()),
        _f("fees", pa.float64()),
        _f("credit_limit", pa.float64()),
        _f("fico_score", pa.int16()),
    ]
)
#: Charged-off credit accounts: one row each. `cause` is for debugging models, never a feature.
DEFAULTS_SCHEMA = pa.schema(
    [
        _f("user_id", pa.int32()),
        _f("account_id", pa.int64()),
        _f("first_delinquent_date", pa.date32()),
        _f("charge_off_date", pa.date32()),
        _f("balance_charged_off", pa.float64()),
        _f("cause", pa.string()),
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
    "statements": STATEMENTS_SCHEMA,
    "defaults": DEFAULTS_SCHEMA,
}
#: The tables stored as one NAME.parquet file each (transactions are sharded).
TABLE_NAMES: tuple[str, ...] = (
    "consumers", "cards", "accounts", "trips", "cash", "merchants", "fraudsters", "statements", "defaults",
)  # fmt: skip


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
    n = table_length(arrays[schema.names[0]])
    fields, columns = [], []
    for f in schema:
        columns.append(column(name, f, arrays[f.name], vocab.get(f.name), n))
        fields.append(f)
    for key, value in arrays.items():
        if key in schema.names:
            continue
        arr = extra_column(name, key, value, vocab.get(key), n)
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


def _schema(name: str) -> pa.Schema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise InputError(f"unknown table {name!r}; the dataset tables are {', '.join(SCHEMAS)}") from None


__all__ = [
    "ACCOUNTS_SCHEMA",
    "CARDS_SCHEMA",
    "CASH_SCHEMA",
    "CONSUMERS_SCHEMA",
    "DEFAULTS_SCHEMA",
    "FRAUDSTERS_SCHEMA",
    "MERCHANTS_SCHEMA",
    "SCHEMAS",
    "STATEMENTS_SCHEMA",
    "TABLE_NAMES",
    "TRANSACTIONS_SCHEMA",
    "TRIPS_SCHEMA",
    "build_table",
    "cash_table",
    "conform",
    "empty_table",
    "error_mask",
    "error_strings",
    "transactions_table",
]
