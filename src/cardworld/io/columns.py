"""Arrow columns from numpy arrays for the contract tables: the builders behind `cardworld.io.schema`.

Each builder names the column (``table.column``) and row of a bad value in its InputError. The errors
column's encoding (bitmask <-> comma-joined reasons) lives here too, since its decoder is a column builder.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.codes import DECLINE_BITS, DECLINE_REASON_NAMES, USE_CHIP
from cardworld.errors import InputError

# Integer columns without a vocabulary that are written as their digits, zero-padded to this width.
_NUMERIC_TEXT = {"zip": 5, "zipcode": 5, "card_number": 0, "cvv": 3}


@lru_cache(maxsize=1)
def error_strings() -> tuple[str | None, ...]:
    """The 128 errors values by bitmask: None for 0, else the reasons joined in DECLINE_REASON_NAMES order."""
    out: list[str | None] = [None]
    for mask in range(1, 1 << len(DECLINE_REASON_NAMES)):
        out.append(",".join(r for i, r in enumerate(DECLINE_REASON_NAMES) if mask >> i & 1))
    return tuple(out)


def error_mask(reasons: str | Sequence[str] | None) -> int:
    """The bitmask of decline reasons (a comma-joined string or a sequence); 0 for none."""
    if reasons is None or reasons == "":
        return 0
    items = reasons.split(",") if isinstance(reasons, str) else list(reasons)
    mask = 0
    for r in items:
        if r not in DECLINE_BITS:
            raise InputError(f"unknown decline reason {r!r}; use one of: {', '.join(DECLINE_REASON_NAMES)}")
        mask |= DECLINE_BITS[r]
    return mask


_DEFAULT_VOCAB: dict[str, Sequence[str | None]] = {"use_chip": USE_CHIP}


def _default_vocab(name: str) -> Sequence[str | None] | None:
    if name == "errors":
        return error_strings()
    return _DEFAULT_VOCAB.get(name)


def table_length(x: Any) -> int:
    if isinstance(x, pa.Array | pa.ChunkedArray | list | tuple):
        return len(x)
    shape = np.shape(x)
    if len(shape) != 1:
        raise InputError(f"table columns must be one-dimensional arrays, got shape {shape}")
    return int(shape[0])


def column(table: str, f: pa.Field, x: Any, voc: Sequence[str] | None, n: int) -> pa.Array:
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
        return _days(where, x, f.nullable)
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


def extra_column(table: str, key: str, x: Any, voc: Sequence[str] | None, n: int) -> pa.Array:
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
        index_type = numpy_int(t.index_type)
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


def _days(where: str, x: np.ndarray, nullable: bool = False) -> pa.Array:
    """date32 from int days since 1970 or datetime64; NaT is null where the column is nullable."""
    mask = None
    if x.dtype.kind == "M":
        nat = np.isnat(x)
        if nat.any() and not nullable:
            _bad_row(where, x, nat, "is NaT; every row needs a date")
        mask = nat if nat.any() else None
        x = np.where(nat, np.datetime64(0, "D"), x).astype("datetime64[D]").view(np.int64)
    elif x.dtype.kind not in "iu":
        raise InputError(f"{where} has dtype {x.dtype}; pass int days since 1970 or numpy datetime64")
    days = _integers(where, x, pa.int32(), False)
    return pa.array(days.to_numpy(zero_copy_only=False), type=pa.int32(), mask=mask).view(pa.date32())


def numpy_int(t: pa.DataType) -> np.dtype:
    """The numpy dtype of an Arrow integer type (DataType.to_pandas_dtype would import pandas: ~0.25 s in
    every worker process)."""
    return np.dtype(f"{'u' if pa.types.is_unsigned_integer(t) else 'i'}{t.bit_width // 8}")


def _integers(where: str, x: np.ndarray, t: pa.DataType, nullable: bool) -> pa.Array:
    if x.dtype.kind not in "iub":
        raise InputError(f"{where} has dtype {x.dtype}; pass integers")
    dtype = numpy_int(t)
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


__all__ = ["column", "error_mask", "error_strings", "extra_column", "table_length"]
