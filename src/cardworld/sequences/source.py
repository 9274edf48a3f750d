"""Which source columns a TransactionDataset reads, and loading them from a Parquet path, a dict of arrays
or a TransactionArrays; and the samples table of TransactionDataset(samples=...) (e.g. PD samples).

Errors speak TransactionDataset's language (`columns={...}`, `labels=[...]`), never the keywords of the
lower-level reader, so the columns are checked here before cardworld.io reads them.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cardworld.errors import InputError
from cardworld.io.transactions import TransactionArrays, parquet_files, read_transactions

ROLES = ("user_id", "timestamp", "amount", "mcc")

# source column -> (what needs it, how to fix its absence given a placeholder such as '<column name>')
_Needs = dict[str, tuple[str, Callable[[str], str]]]


@dataclass(frozen=True)
class SourceColumns:
    """The source column behind each role, spec value column, extra feature and label."""

    roles: dict[str, str]  # user_id, timestamp, amount, mcc -> source column
    values: dict[str, str]  # spec value columns (besides amount) -> source column
    features: dict[str, str]  # extra features -> source column
    labels: dict[str, str]  # labels -> source column
    require_mcc: bool  # the specs filter on MCC

    @property
    def extra(self) -> dict[str, str]:
        """Value columns and extra features (the names items and specs use) -> source column."""
        return {**self.values, **self.features}

    @property
    def extra_columns(self) -> list[str]:
        """Every non-role source column to read, once each."""
        return list(dict.fromkeys([*self.values.values(), *self.features.values(), *self.labels.values()]))

    def needs(self, *, roles: bool) -> _Needs:
        """Source columns to check, first need first; `roles` adds user_id, timestamp, amount (and mcc
        when the specs filter on it)."""
        needs: _Needs = {}
        if roles:
            for role in ROLES[:3] + (("mcc",) if self.require_mcc else ()):
                what = "the mcc column the target specs filter on" if role == "mcc" else f"the {role} column"
                needs.setdefault(self.roles[role], (what, _map_hint(role, "")))
        kinds = (
            (self.values, "value column {!r} of the target specs", "add it, or "),
            (self.features, "extra feature {!r}", "add it, or "),
            (self.labels, "label {!r}", "name an existing column in labels, or "),
        )
        for names, what, how in kinds:
            for name, src in names.items():
                needs.setdefault(src, (what.format(name), _map_hint(name, how)))
        return needs


def _map_hint(name: str, prefix: str) -> Callable[[str], str]:
    return lambda placeholder: f"{prefix}map it with columns={{{name!r}: {placeholder}}}"


def resolve_columns(
    columns: Mapping[str, str],
    value_columns: Sequence[str],
    extra_features: Sequence[str],
    labels: Sequence[str],
    require_mcc: bool,
) -> SourceColumns:
    """Map every name to its source column (default: the name itself); refuse labels that would be model
    inputs (an extra feature's or a role's column) and labels listed twice."""
    cols = dict(columns)
    roles = {r: cols.get(r, r) for r in ROLES}
    found = SourceColumns(
        roles=roles,
        values={c: cols.get(c, c) for c in value_columns},
        features={c: cols.get(c, c) for c in extra_features},
        labels={c: cols.get(c, c) for c in labels},
        require_mcc=require_mcc,
    )
    if len(found.labels) < len(labels):
        twice = next(x for i, x in enumerate(labels) if x in labels[:i])
        raise InputError(f"labels lists {twice!r} twice; list each label once")
    inputs = {src: f"extra feature {name!r}" for name, src in found.features.items()}
    inputs.update({src: f"the {role} column" for role, src in roles.items()})
    for name, src in found.labels.items():
        if src in inputs:
            drop = "remove it from extra_features" if src in found.features.values() else "pick another label"
            raise InputError(
                f"label {name!r} reads column {src!r}, which is also {inputs[src]}; labels never enter the "
                f"payload (model inputs): {drop}"
            )
    return found


def load_parquet(path: str, cols: SourceColumns) -> TransactionArrays:
    """Read the needed columns of a Parquet file, a directory of them, or a cardworld dataset directory."""
    names: dict[Path, list[str]] = {}
    for f in parquet_files(path):
        try:
            names[f] = pq.read_schema(f).names
        except (pa.ArrowException, OSError):
            continue  # read_transactions reports the unreadable file
    check_schemas(names, cols)
    return read_transactions(
        path,
        user_col=cols.roles["user_id"],
        time_col=cols.roles["timestamp"],
        amount_col=cols.roles["amount"],
        mcc_col=cols.roles["mcc"],
        extra_columns=cols.extra_columns,
        finite_columns=list(cols.values.values()),  # NaN in a spec's value column: named by file and row
        require_mcc=cols.require_mcc,
    )


def check_schemas(columns: Mapping[Path, Sequence[str]], cols: SourceColumns) -> bool:
    """Every file (path -> its column names) has the needed columns, in TransactionDataset's words; the
    mcc column is in every file or in none. Returns whether the files have it."""
    needs = cols.needs(roles=True)
    has_mcc: dict[Path, bool] = {}
    for f, names in columns.items():
        for src, (what, how) in needs.items():
            if src not in names:
                raise InputError(
                    f"file {str(f)!r} has no column {src!r} ({what}; its columns: {', '.join(names)}); "
                    f"{how('<column name>')}"
                )
        has_mcc[f] = cols.roles["mcc"] in names
    if any(has_mcc.values()) and not all(has_mcc.values()):
        f = next(f for f, has in has_mcc.items() if not has)
        raise InputError(
            f"file {str(f)!r} has no column {cols.roles['mcc']!r} but other files do; "
            "write the same columns in every part file"
        )
    return any(has_mcc.values())


def from_mapping(source: Mapping[str, np.ndarray], cols: SourceColumns) -> TransactionArrays:
    """Group a dict of arrays keyed by source column names."""
    for src, (what, how) in cols.needs(roles=True).items():
        if src not in source and src != cols.roles["mcc"]:  # a missing mcc is reported by the dataset
            raise InputError(
                f"the source dict has no {src!r} array ({what}; keys: {sorted(source)}); {how('<key>')}"
            )
    r = cols.roles
    return TransactionArrays.from_arrays(
        source[r["user_id"]],
        source[r["timestamp"]],
        source[r["amount"]],
        source.get(r["mcc"]),
        {src: source[src] for src in cols.extra_columns},
    )


def check_arrays(arrays: TransactionArrays, cols: SourceColumns) -> None:
    """A TransactionArrays must hold every non-role column in its extra arrays."""
    for src, (what, how) in cols.needs(roles=False).items():
        if src not in arrays.extra:
            raise InputError(
                f"column {src!r} ({what}) is not in the source's extra arrays {sorted(arrays.extra)}; "
                f"{how('<column name>')}"
            )


SAMPLE_COLUMNS = ("user_id", "obs_date", "label")  # what a samples table needs (others are kept aside)


@dataclass(frozen=True, eq=False)
class Samples:
    """One row per item: the user, the observation date (history cut at its 00:00) and the label."""

    user_id: np.ndarray  # int64 (n,)
    obs_day: np.ndarray  # int64 (n,): days since 1970-01-01
    label: np.ndarray  # float32 (n,)
    where: str  # "the samples table" or "samples file '...'", for messages

    def __len__(self) -> int:
        return int(self.user_id.size)


def load_samples(samples: Any) -> Samples:
    """A samples table (pyarrow Table, or a .parquet / .csv path) with user_id, obs_date and label."""
    if isinstance(samples, pa.Table):
        table, where = samples, "the samples table"
    elif isinstance(samples, str | os.PathLike):
        table, where = _read_samples_file(Path(samples)), f"samples file {os.fspath(samples)!r}"
    else:
        raise InputError(
            f"samples is a {type(samples).__name__}; pass a pyarrow Table or the path of a .parquet or .csv "
            "file with user_id, obs_date and label columns (e.g. cardworld.labels.pd_samples(...))"
        )
    missing = [c for c in SAMPLE_COLUMNS if c not in table.column_names]
    if missing:
        raise InputError(
            f"{where} has no column(s) {', '.join(missing)} (its columns: {', '.join(table.column_names)}); "
            "a samples table needs user_id, obs_date and label"
        )
    for c in SAMPLE_COLUMNS:
        if table.column(c).null_count:
            i = int(np.flatnonzero(table.column(c).is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{where}: column {c!r} is null at row {i}; every sample needs a {c}")
    user = table.column("user_id")
    if not pa.types.is_integer(user.type):
        raise InputError(f"{where}: column 'user_id' has type {user.type}; it must hold integer user ids")
    label = table.column("label")
    if not (
        pa.types.is_integer(label.type) or pa.types.is_floating(label.type) or pa.types.is_boolean(label.type)
    ):
        raise InputError(f"{where}: column 'label' has type {label.type}; it must be numeric or boolean")
    values = label.cast(pa.float32()).to_numpy().astype(np.float32)
    if not np.isfinite(values).all():
        i = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InputError(f"{where}: column 'label' is {values[i]} at row {i}; labels must be finite")
    days = _obs_days(table.column("obs_date"), where)
    return Samples(user.to_numpy().astype(np.int64), days, values, where)


def _read_samples_file(path: Path) -> pa.Table:
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(f"samples file {str(path)!r} is neither .parquet nor .csv; pass one of those")
    if not path.is_file():
        raise InputError(
            f"samples file {str(path)!r} does not exist; pass the file pd_samples' table was saved to"
        )
    try:
        if suffix == ".parquet":
            return pq.read_table(path)
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"samples file {str(path)!r} could not be read ({e}); write it again") from e


def _obs_days(col: pa.ChunkedArray, where: str) -> np.ndarray:
    """Days since 1970 of a date, midnight-timestamp or YYYY-MM-DD string column; errors name the row."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        try:
            col = col.cast(pa.date32())
        except pa.ArrowException:
            text = col.to_pylist()
            i = next((i for i, v in enumerate(text) if not _is_iso_date(v)), 0)
            raise InputError(
                f"{where}: obs_date at row {i} is {text[i]!r}, not a date as YYYY-MM-DD; fix or drop that row"
            ) from None
        t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            col = pc.local_timestamp(col)
        day = pc.floor_temporal(col, unit="day")
        off = pc.not_equal(day, col).to_numpy(zero_copy_only=False)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise InputError(
                f"{where}: obs_date at row {i} is {col[i].as_py()}, a time of day; the history is cut at "
                "an observation date's 00:00: pass dates"
            )
        col = day.cast(pa.date32())
        t = col.type
    if not (pa.types.is_date32(t) or pa.types.is_date64(t)):
        raise InputError(f"{where}: column 'obs_date' has type {t}; it must hold dates")
    return col.cast(pa.date32()).cast(pa.int32()).to_numpy().astype(np.int64)


def _is_iso_date(v: Any) -> bool:
    try:
        dt.date.fromisoformat(v)
    except (TypeError, ValueError):
        return False
    return len(v) == 10


def check_max_len(max_len: Any) -> int | None:
    if max_len is not None and (
        isinstance(max_len, bool) or not isinstance(max_len, int | np.integer) or max_len < 1
    ):
        raise InputError(f"max_len is {max_len!r}; pass a positive number of rows, or None to keep all")
    return None if max_len is None else int(max_len)


def name_list(keyword: str, names: Any, example: str) -> list[str]:
    """A list of column names; refuses a bare string (it would be read letter by letter)."""
    if names is None:
        return []
    if isinstance(names, str | bytes) or not isinstance(names, Iterable):
        raise InputError(f"{keyword} is {names!r}; pass a list of column names, e.g. {keyword}=[{example!r}]")
    names = list(names)
    bad = [x for x in names if not isinstance(x, str)]
    if bad:
        raise InputError(f"{keyword} holds {bad[0]!r}, not a column name; pass a list of strings")
    return names


def sample_positions(user_ids: np.ndarray, samples: Samples) -> np.ndarray:
    """The user position of every sample (user_ids: the source's, ascending)."""
    pos = np.searchsorted(user_ids, samples.user_id)
    found = pos < user_ids.size
    found[found] = user_ids[pos[found]] == samples.user_id[found]
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        raise InputError(
            f"{samples.where} row {i} names user_id {int(samples.user_id[i])}, who has no transactions in "
            "the source; pass the transactions the samples were made from, or drop that row"
        )
    return pos.astype(np.int64)


__all__ = [
    "ROLES",
    "SAMPLE_COLUMNS",
    "Samples",
    "SourceColumns",
    "check_arrays",
    "check_schemas",
    "from_mapping",
    "load_parquet",
    "load_samples",
    "resolve_columns",
]
