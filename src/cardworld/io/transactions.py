"""Read card transactions from Parquet into flat, user-grouped numpy arrays (CSR layout).

    arrays = read_transactions("out/world/transactions")      # a .parquet file or a directory of them
    t, a = arrays.user(0)[:2]                                   # one user's rows, sorted by time

Rows end up sorted by (user, time); a stable sort keeps the file order of equal timestamps, and
`input_row` says where each row came from, so results can be put back in input order. Nothing is
dropped: null or non-finite values are errors that name the file, column and row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cardworld.errors import FIX, Fix, InputError

# Integer timestamps beyond this many seconds from 1970 (about year 9999) are surely not seconds.
MAX_ABS_SECONDS = 253_402_300_800
MCC_MAX = 9999  # as cardworld.targets.spec.MCC_MAX: the codes target kernels accept
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_MCC_DTYPES = (np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.int64))


@dataclass(frozen=True, eq=False)
class TransactionArrays:
    """Transactions of many users, concatenated: user u owns rows offsets[u]:offsets[u+1], sorted by time."""

    user_ids: np.ndarray  # int64 (n_users,): the id of each user, ascending
    time: np.ndarray  # int64 (n_rows,): seconds since 1970-01-01 (naive wall-clock)
    amount: np.ndarray  # float64 (n_rows,)
    mcc: np.ndarray | None  # int16/int32/int64 (n_rows,) as stored, or None when there is no mcc column
    offsets: np.ndarray  # int64 (n_users + 1,): CSR row bounds
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # other requested columns, same row order
    # int64 (n_rows,): the input row of each row (files in name order, rows in file order), or None when
    # the input already was in (user, time) order, so that row i is input row i.
    input_row: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def n_rows(self) -> int:
        return int(self.time.size)

    def user(self, u: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(time, amount, mcc) views of user number u (a position, not a user id)."""
        a, b = self.offsets[u], self.offsets[u + 1]
        return self.time[a:b], self.amount[a:b], None if self.mcc is None else self.mcc[a:b]

    @classmethod
    def from_arrays(
        cls,
        user_id: np.ndarray,
        time: np.ndarray,
        amount: np.ndarray,
        mcc: np.ndarray | None = None,
        extra: Mapping[str, np.ndarray] | None = None,
    ) -> TransactionArrays:
        """Group in-memory arrays by user (any row order): time is int seconds or numpy datetime64."""
        u = _check_array("user_id", user_id)
        n = u.shape[0]
        if not np.issubdtype(u.dtype, np.integer):
            raise InputError(f"user_id has dtype {u.dtype}; map user ids to integers first")
        t = _check_array("time", time, n)
        if np.issubdtype(t.dtype, np.datetime64):
            nat = np.isnat(t)
            if nat.any():
                raise InputError(f"time[{int(np.flatnonzero(nat)[0])}] is NaT; drop rows without a timestamp")
            t = _datetime64_seconds(t)
        elif np.issubdtype(t.dtype, np.integer):
            t = t.astype(np.int64, copy=False)
            _check_plausible_seconds(t, "time", lambda i: f"index {i}")
        else:
            raise InputError(f"time has dtype {t.dtype}; pass int64 seconds since 1970 or numpy datetime64")
        a = _check_array("amount", amount, n)
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise InputError(f"amount has dtype {a.dtype}; pass numbers")
        a = a.astype(np.float64, copy=False)
        _check_finite(a, "amount", lambda i: f"index {i}")
        m = None
        if mcc is not None:
            m = _check_array("mcc", mcc, n)
            if not np.issubdtype(m.dtype, np.integer):
                raise InputError(f"mcc has dtype {m.dtype}; pass integer merchant category codes")
            if m.dtype not in _MCC_DTYPES:
                m = m.astype(np.int32)
        ex = {k: _check_array(f"extra[{k!r}]", v, n) for k, v in (extra or {}).items()}
        return _group(u.astype(np.int64, copy=False), t, a, m, ex)


def _check_array(name: str, x: np.ndarray, n: int | None = None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {x.shape}")
    if n is not None and x.shape[0] != n:
        raise InputError(f"{name} has {x.shape[0]} rows but user_id has {n}; pass arrays of equal length")
    return x


def _datetime64_seconds(t: np.ndarray) -> np.ndarray:
    unit, count = np.datetime_data(t.dtype)
    v = t.view(np.int64)
    if unit in _PER_SECOND:
        per = _PER_SECOND[unit] // count if _PER_SECOND[unit] % count == 0 else 0
        if per >= 1:
            return v // per  # floor: times before 1970 stay in the right second
    return t.astype("datetime64[s]").view(np.int64)  # coarse units (D, m, h, 10ms...) via numpy


def _check_plausible_seconds(t: np.ndarray, name: str, where) -> None:
    bad = np.abs(t) > MAX_ABS_SECONDS
    if t.size and bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{name} at {where(i)} is {t[i]}, not a plausible number of seconds (beyond year 9999); "
            "integer times must be seconds since 1970: convert milliseconds etc., or store a timestamp type"
        )


def _check_finite(a: np.ndarray, name: str, where) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{name} at {where(i)} is {a[i]}; drop or fill missing values first")


def _group(
    user: np.ndarray,
    time: np.ndarray,
    amount: np.ndarray,
    mcc: np.ndarray | None,
    extra: dict[str, np.ndarray],
) -> TransactionArrays:
    """Sort rows by (user, time) if they are not already, and build the CSR offsets."""
    du = np.diff(user)
    order = None
    if ((du < 0) | ((du == 0) & (np.diff(time) < 0))).any():
        order = np.lexsort((time, user))  # stable: equal (user, time) rows keep their input order
        user, time, amount = user[order], time[order], amount[order]
        mcc = None if mcc is None else mcc[order]
        extra = {k: v[order] for k, v in extra.items()}
        du = np.diff(user)
    n = user.shape[0]
    starts = np.flatnonzero(du != 0) + 1
    offsets = np.concatenate(([0], starts, [n]) if n else ([0],)).astype(np.int64)
    return TransactionArrays(
        user_ids=np.ascontiguousarray(user[offsets[:-1]]),
        time=np.ascontiguousarray(time),
        amount=np.ascontiguousarray(amount),
        mcc=None if mcc is None else np.ascontiguousarray(mcc),
        offsets=offsets,
        extra={k: np.ascontiguousarray(v) for k, v in extra.items()},
        input_row=None if order is None else order.astype(np.int64, copy=False),
    )


def parquet_files(source: str | os.PathLike) -> list[Path]:
    """The Parquet files of a source: the file itself, a directory's *.parquet files in name order, or the
    transaction shards of a cardworld dataset directory (one with a manifest.json)."""
    path = Path(source)
    if not path.exists():
        raise InputError(
            f"transactions path {str(path)!r} does not exist; pass a .parquet file or a directory"
        )
    if path.is_file():
        return [path]
    if (path / "manifest.json").is_file():  # a cardworld dataset directory means its transactions
        if not (path / "transactions").is_dir():  # not its other tables (accounts.parquet, ...)
            raise InputError(
                f"dataset directory {str(path)!r} has no transactions directory; the run that wrote it "
                "may not have finished: generate it again"
            )
        path = path / "transactions"
    files = sorted(
        p
        for p in path.iterdir()
        if p.suffix == ".parquet" and p.is_file() and not p.name.startswith((".", "_"))
    )
    if not files:
        hint = ""
        if (path / "transactions").is_dir():
            hint = f"; a dataset directory keeps them in {str(path / 'transactions')!r}: pass that"
        raise InputError(f"directory {str(path)!r} has no .parquet files{hint}")
    return files


def read_transactions(
    source: str | os.PathLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    amount_col: str = "amount",
    mcc_col: str | None = "mcc",
    extra_columns: Sequence[str] = (),
    require_mcc: bool = False,
    finite_columns: Sequence[str] = (),
) -> TransactionArrays:
    """Read transactions from a Parquet file or a directory of Parquet files (only the needed columns).

    The time column may be timestamp[s|ms|us|ns] (timezone-aware ones become local wall-clock time) or
    integer seconds. The mcc column is optional unless `require_mcc` (then its codes must lie in 0..9999,
    as target kernels need); `mcc_col=None` skips it. `finite_columns` are extra columns that must hold
    no NaN or infinity (value columns of targets). Errors name the file, column and row of the file.
    """
    if require_mcc and mcc_col is None:
        raise InputError(f"MCCs are required but no MCC column is named; {FIX}", fix=_column_fix("mcc_col"))
    req = _Request(
        user_col, time_col, amount_col, mcc_col, tuple(extra_columns), require_mcc, frozenset(finite_columns)
    )
    files = parquet_files(source)
    parts = [_read_file(f, req) for f in files]
    has_mcc = [p[3] is not None for p in parts]
    if any(has_mcc) and not all(has_mcc):
        f = files[has_mcc.index(False)]
        raise InputError(
            f"file {str(f)!r} has no column {mcc_col!r} but other files do; "
            f"write the same columns in every part file (or {FIX})",
            fix=Fix("pass mcc_col=None to skip MCCs", "pass --mcc-col naming a column every file has"),
        )
    if len(parts) == 1:
        user, time, amount, mcc, extra = parts[0]
    else:
        user, time, amount = (np.concatenate([p[i] for p in parts]) for i in range(3))
        mcc = np.concatenate([p[3] for p in parts]) if has_mcc[0] else None
        extra = {c: np.concatenate([p[4][c] for p in parts]) for c in extra_columns}
    return _group(user, time, amount, mcc, extra)


def _column_fix(keyword: str) -> Fix:
    """`pass time_col=<name>` in Python, `pass --time-col <name>` on the command line."""
    return Fix(f"pass {keyword}=<name>", f"pass --{keyword.replace('_', '-')} <name>")


# Extra columns come from target specs' `value` fields (or, in Python, from extra_columns).
_EXTRA_FIX = Fix(
    "name existing columns (in extra_columns, or in a target spec's value)",
    "name an existing column in the target spec's value field",
)


@dataclass(frozen=True)
class _Request:
    """What to read from each file."""

    user_col: str
    time_col: str
    amount_col: str
    mcc_col: str | None
    extra_columns: tuple[str, ...]
    require_mcc: bool
    finite_columns: frozenset[str]


_Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, dict[str, np.ndarray]]


def _wanted_columns(where: str, present: list[str], req: _Request) -> list[str]:
    """The columns to read; an error naming the option that renames a missing one."""
    options = {req.user_col: "user_col", req.time_col: "time_col", req.amount_col: "amount_col"}
    wanted = [req.user_col, req.time_col, req.amount_col, *req.extra_columns]
    if req.mcc_col is not None and (req.require_mcc or req.mcc_col in present):
        wanted.append(req.mcc_col)
        options[req.mcc_col] = "mcc_col"
    for c in wanted:
        if c not in present:
            fix = _column_fix(options[c]) if c in options else _EXTRA_FIX
            raise InputError(
                f"{where} has no column {c!r} (its columns: {', '.join(present)}); {FIX}", fix=fix
            )
    return list(dict.fromkeys(wanted))


def _read_file(path: Path, req: _Request) -> _Part:
    where = f"file {str(path)!r}"
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{where} is not a readable Parquet file ({e}); re-write it or remove it") from e
    wanted = _wanted_columns(where, list(schema.names), req)
    try:
        table = pq.read_table(path, columns=wanted)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{where} could not be read ({e}); the file may be truncated: re-write it") from e

    def col(name: str, kinds: str, check) -> pa.ChunkedArray:
        c = table.column(name)
        if not check(c.type):
            raise InputError(f"{where}: column {name!r} has type {c.type}; it must be {kinds}")
        if c.null_count:
            i = int(np.flatnonzero(c.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(
                f"{where}: column {name!r} is null at row {i}; drop or fill missing values first"
            )
        return c

    def at_row(i: int) -> str:
        return f"row {i}"

    user = col(req.user_col, "integer user ids", pa.types.is_integer).to_numpy().astype(np.int64, copy=False)
    tcol = col(req.time_col, "a timestamp or integer seconds", _is_time)
    if pa.types.is_timestamp(tcol.type):
        if tcol.type.tz is not None:  # targets use naive wall-clock time
            tcol = pc.local_timestamp(tcol)
        time = tcol.cast(pa.int64()).to_numpy() // _PER_SECOND[tcol.type.unit]
    else:
        time = tcol.to_numpy().astype(np.int64, copy=False)
        _check_plausible_seconds(time, f"{where}: column {req.time_col!r}", at_row)
    amount = col(req.amount_col, "numeric", _is_number).cast(pa.float64()).to_numpy()
    _check_finite(amount, f"{where}: column {req.amount_col!r}", at_row)
    mcc = None
    if req.mcc_col is not None and req.mcc_col in wanted:
        mcc = col(req.mcc_col, "integer merchant category codes", pa.types.is_integer).to_numpy()
        if req.require_mcc:
            _check_mcc_range(mcc, f"{where}: column {req.mcc_col!r}")
        if mcc.dtype not in _MCC_DTYPES:
            mcc = mcc.astype(np.int32)
    extra = {}
    for c in req.extra_columns:
        arr = col(c, "numeric or boolean", lambda t: _is_number(t) or pa.types.is_boolean(t))
        if pa.types.is_decimal(arr.type):
            arr = arr.cast(pa.float64())
        extra[c] = arr.to_numpy(zero_copy_only=False)
        if c in req.finite_columns and extra[c].dtype.kind == "f":
            _check_finite(extra[c], f"{where}: column {c!r}", at_row)
    return user, np.asarray(time, dtype=np.int64), amount, mcc, extra


def _check_mcc_range(mcc: np.ndarray, name: str) -> None:
    bad = (mcc < 0) | (mcc > MCC_MAX)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{name} is {mcc[i]} at row {i}, outside 0..{MCC_MAX}; MCCs are 4-digit codes: fix or drop that row"
        )


def _is_time(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_integer(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


__all__ = ["TransactionArrays", "parquet_files", "read_transactions"]
