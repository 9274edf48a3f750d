"""A dataset directory's credit statements and charge-offs as flat numpy arrays, with clear errors for a
directory that is not a dataset, one made before the credit cycle, or one generated with the cycle off.

Only the columns PD samples need are read: per statement row its account, user, date (a day number) and
days past due; per charged-off account its charge-off date.

Statements grow with consumers x months (about 60M rows for 95k consumers over 35 years), so readers
take them in chunks of whole accounts (`statement_chunks`, `history_chunks`): statements.parquet has one
row group per shard, in account order, and a chunk is a run of whole row groups of about CHUNK_ROWS rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.errors import FIX, Fix, InputError
from cardworld.io.dataset import read_manifest, read_parquet, read_table, table_path
from cardworld.io.schema import conform

NO_DAY = np.iinfo(np.int64).max  # "never": the charge-off day of an account that was not charged off
#: Statement rows a chunked reader aims at per chunk (whole row groups: a row group may be larger).
CHUNK_ROWS = 1 << 20
_HISTORY_COLUMNS = ("account_id", "user_id", "statement_date", "days_past_due")


class CreditHistory(NamedTuple):
    """Statement rows sorted by (account, statement date); account a owns rows offsets[a]:offsets[a+1]."""

    account_id: np.ndarray  # int64 (n_rows,)
    user_id: np.ndarray  # int32 (n_rows,)
    day: np.ndarray  # int64 (n_rows,): statement date, days since 1970-01-01
    dpd: np.ndarray  # int16 (n_rows,): days past due at the statement date
    account: np.ndarray  # int64 (n_rows,): the account's number 0..n_accounts-1
    charge_off: np.ndarray  # int64 (n_accounts,): charge-off day, NO_DAY when never charged off

    @property
    def n_rows(self) -> int:
        return int(self.day.size)


def _regenerate_fix(directory: str) -> Fix:
    return Fix(
        "regenerate it with this cardworld version: from cardworld.engine.run import dataset_config, "
        f"generate; generate(dataset_config({directory!r}), {directory!r}, overwrite=True)",
        f"regenerate it with this cardworld version: cardworld config {directory} > world.yaml, then "
        f"cardworld generate --config world.yaml --out {directory} --overwrite",
    )


def _credit_on_fix(directory: str) -> Fix:
    return Fix(
        "regenerate it with the cycle on: load_config(..., credit={'enabled': True}), then "
        f"generate(cfg, {directory!r}, overwrite=True)",
        f"regenerate it with the cycle on: cardworld generate --out {directory} --overwrite without "
        "--no-credit (and with credit.enabled: true in the --config file, if any)",
    )


def _credit_enabled(manifest: dict[str, Any]) -> bool:
    """The manifest config's credit.enabled (a config without a credit section predates the switch: on)."""
    config = manifest.get("config")
    credit = config.get("credit") if isinstance(config, dict) else None
    return not (isinstance(credit, dict) and credit.get("enabled") is False)


def check_credit_dataset(dataset: str | os.PathLike) -> None:
    """Refuse what has no PD labels: not a dataset, one made before the credit cycle, one with the cycle off,
    or one whose defaults.parquet is missing; each error says how to regenerate it."""
    d = str(dataset)
    manifest = read_manifest(dataset)  # not a dataset directory: says so
    if not table_path(dataset, "statements").is_file():
        raise InputError(
            f"dataset {d!r} has no statements.parquet: it was made before the credit cycle (no monthly "
            f"statements, no defaults), so it has no PD labels; {FIX}",
            fix=_regenerate_fix(d),
        )
    if not _credit_enabled(manifest):
        raise InputError(
            f"dataset {d!r} was generated with the credit cycle off (credit.enabled is false in its "
            f"config), so its statements and defaults are empty; {FIX}",
            fix=_credit_on_fix(d),
        )
    if not table_path(dataset, "defaults").is_file():
        raise InputError(
            f"dataset {d!r} has statements.parquet but no defaults.parquet; the dataset is incomplete: {FIX}",
            fix=_regenerate_fix(d),
        )


def read_credit_history(dataset: str | os.PathLike) -> CreditHistory:
    """The statements and charge-off dates of dataset directory `dataset`, checked and sorted, all at once
    (history_chunks reads the same in chunks of accounts)."""
    check_credit_dataset(dataset)
    st = read_table(dataset, "statements", list(_HISTORY_COLUMNS))
    co = read_table(dataset, "defaults", ["account_id", "charge_off_date"])
    return credit_history(st, co, where=str(Path(dataset) / "statements.parquet"))


def history_chunks(
    dataset: str | os.PathLike, value_columns: Sequence[str] = ()
) -> Iterator[tuple[CreditHistory, pa.Table]]:
    """(CreditHistory, the chunk's `value_columns` in the history's row order) per chunk of whole accounts
    of a checked dataset (check_credit_dataset); account numbers count from 0 in each chunk."""
    co = read_table(dataset, "defaults", ["account_id", "charge_off_date"])
    where = str(Path(dataset) / "statements.parquet")
    columns = list(dict.fromkeys([*_HISTORY_COLUMNS, *value_columns]))
    for chunk in statement_chunks(dataset, columns):
        h, order = _history(chunk, co, where)
        yield h, chunk.select(list(value_columns)).take(order)


def statement_chunks(dataset: str | os.PathLike, columns: Sequence[str]) -> Iterator[pa.Table]:
    """statements.parquet in chunks of whole accounts (only `columns`, contract types): runs of whole row
    groups of about CHUNK_ROWS rows when the row groups' account_id ranges ascend (as generate writes
    them), else the whole table at once. Empty row groups are skipped; no rows, no chunk."""
    path = table_path(dataset, "statements")
    where = f"file {str(path)!r}"
    runs = _row_group_runs(path, where)
    if runs is None:
        yield read_parquet(path, "statements", columns)
        return
    pf = _parquet_file(path, where)
    missing = [c for c in columns if c not in pf.schema_arrow.names]
    if missing:
        raise InputError(
            f"{where} has no column(s) {', '.join(missing)} (its columns: {', '.join(pf.schema_arrow.names)})"
        )
    for run in runs:
        try:
            table = pf.read_row_groups(run, columns=list(columns))
        except (pa.ArrowException, OSError) as e:
            raise InputError(
                f"{where} is not a readable Parquet file ({e}); it is damaged: re-run the dataset"
            ) from e
        yield conform("statements", table, where=where, subset=True)


def _parquet_file(path: Path, where: str) -> pq.ParquetFile:
    if not path.is_file():
        raise InputError(f"{where} is missing; the dataset is incomplete: re-run it (or restore the file)")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(
            f"{where} is not a readable Parquet file ({e}); it is damaged: re-run the dataset"
        ) from e


def _row_group_runs(path: Path, where: str) -> list[list[int]] | None:
    """Row groups to read together, about CHUNK_ROWS rows a run, or None when some row group lacks
    account_id statistics or the ranges do not ascend strictly (an account might span row groups)."""
    md = _parquet_file(path, where).metadata
    names = [md.schema.column(j).name for j in range(md.num_columns)]
    if "account_id" not in names:
        return None
    j = names.index("account_id")
    runs: list[list[int]] = []
    rows, prev_max = 0, None
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        if rg.num_rows == 0:
            continue
        stats = rg.column(j).statistics
        if stats is None or not stats.has_min_max or (prev_max is not None and stats.min <= prev_max):
            return None
        prev_max = stats.max
        if not runs or rows >= CHUNK_ROWS:
            runs.append([])
            rows = 0
        runs[-1].append(i)
        rows += rg.num_rows
    return runs


def _days(col: pa.ChunkedArray) -> np.ndarray:
    return col.cast(pa.int32()).to_numpy().astype(np.int64)


def credit_history(statements: pa.Table, defaults: pa.Table, *, where: str = "statements") -> CreditHistory:
    """CreditHistory from statements (account_id, user_id, statement_date, days_past_due) and defaults
    (account_id, charge_off_date) tables; a repeated (account, statement date) is an error naming it."""
    return _history(statements, defaults, where)[0]


def _history(statements: pa.Table, defaults: pa.Table, where: str) -> tuple[CreditHistory, np.ndarray]:
    """credit_history and the statement row order it sorted to."""
    acct = statements.column("account_id").to_numpy()
    user = statements.column("user_id").to_numpy()
    day = _days(statements.column("statement_date"))
    dpd = statements.column("days_past_due").to_numpy()
    order = np.lexsort((day, acct))
    acct, user, day, dpd = acct[order], user[order], day[order], dpd[order]
    same = acct[1:] == acct[:-1]
    twice = same & (day[1:] == day[:-1])
    if twice.any():
        i = int(np.flatnonzero(twice)[0]) + 1
        raise InputError(
            f"{where}: account {int(acct[i])} has two statements dated {np.datetime64(int(day[i]), 'D')}; "
            "an account has one statement per date: regenerate the dataset"
        )
    if (same & (user[1:] != user[:-1])).any():
        i = int(np.flatnonzero(same & (user[1:] != user[:-1]))[0]) + 1
        raise InputError(
            f"{where}: account {int(acct[i])} belongs to users {int(user[i - 1])} and {int(user[i])}; "
            "account ids are unique across a dataset: regenerate the dataset"
        )
    account = np.concatenate(([0], np.cumsum(~same))).astype(np.int64) if acct.size else acct.astype(np.int64)
    accounts = acct[np.r_[True, ~same]] if acct.size else acct
    charge_off = np.full(accounts.size, NO_DAY, dtype=np.int64)
    co_acct = defaults.column("account_id").to_numpy()
    pos = np.searchsorted(accounts, co_acct)
    found = pos < accounts.size
    found[found] = accounts[pos[found]] == co_acct[found]
    # a charged-off account without statements cannot be current at any date: nothing to record
    charge_off[pos[found]] = _days(defaults.column("charge_off_date"))[found]
    history = CreditHistory(acct.astype(np.int64), user.astype(np.int32), day, dpd, account, charge_off)
    return history, order


__all__ = [
    "CHUNK_ROWS",
    "NO_DAY",
    "CreditHistory",
    "check_credit_dataset",
    "credit_history",
    "history_chunks",
    "read_credit_history",
    "statement_chunks",
]
