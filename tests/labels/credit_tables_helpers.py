"""Hand-built credit datasets for the PD-sample tests: statements and defaults written into a tmp dataset
directory with the contract writers, and a naive PD-sample reference (plain loops over accounts and dates)."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cardworld.io.dataset import new_manifest, write_manifest, write_table
from cardworld.io.schema import build_table

Statement = tuple[int, int, str, int]  # user_id, account_id, statement date YYYY-MM-DD, days past due
Default = tuple[int, int, str]  # user_id, account_id, charge-off date


def months(first: str, last: str) -> list[str]:
    """1sts of the months first..last ("YYYY-MM"), as YYYY-MM-DD."""
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}-01")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def account(user: int, acct: int, dpds: dict[str, int], first: str, last: str) -> list[Statement]:
    """Monthly statements first..last ("YYYY-MM"), 0 days past due except the months listed in `dpds`."""
    return [(user, acct, d, dpds.get(d[:7], 0)) for d in months(first, last)]


def write_credit_dataset(
    path: Path,
    statements: list[Statement],
    defaults: list[Default] = (),
    *,
    enabled: bool = True,
    tables: bool = True,
) -> Path:
    """A dataset directory with a manifest (config credit.enabled) and the statements/defaults tables."""
    path.mkdir(parents=True, exist_ok=True)
    if tables:
        n = len(statements)
        st = build_table(
            "statements",
            {
                "user_id": np.array([s[0] for s in statements], dtype=np.int32),
                "account_id": np.array([s[1] for s in statements], dtype=np.int64),
                "statement_date": np.array([s[2] for s in statements], dtype="datetime64[D]"),
                "balance": np.full(n, 100.0),
                "minimum_due": np.full(n, 25.0),
                "payment": np.zeros(n),
                "payment_date": pa.nulls(n, pa.date32()),
                "days_past_due": np.array([s[3] for s in statements], dtype=np.int16),
                "apr": np.full(n, 17.9),
                "fees": np.zeros(n),
                "credit_limit": np.full(n, 5000.0),
                "fico_score": np.full(n, 700, dtype=np.int16),
            },
        )
        k = len(defaults)
        de = build_table(
            "defaults",
            {
                "user_id": np.array([d[0] for d in defaults], dtype=np.int32),
                "account_id": np.array([d[1] for d in defaults], dtype=np.int64),
                "first_delinquent_date": np.array([d[2] for d in defaults], dtype="datetime64[D]"),
                "charge_off_date": np.array([d[2] for d in defaults], dtype="datetime64[D]"),
                "balance_charged_off": np.full(k, 100.0),
                "cause": ["none"] * k,
            },
        )
        write_table(path, "statements", st)
        write_table(path, "defaults", de)
    manifest = new_manifest(config={"credit": {"enabled": enabled}}, seed=0, shard_plan=[], status="complete")
    write_manifest(path, manifest)
    return path


def add_months(d: dt.date, k: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + k, 12)
    return dt.date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def naive_pd_samples(
    statements: list[Statement], defaults: list[Default], dates: list[dt.date], horizon: int
) -> list[tuple[dt.date, int, int, int]]:
    """(obs_date, user_id, account_id, label) by the definition, one account and one date at a time."""
    rows: dict[int, list[tuple[dt.date, int, int]]] = defaultdict(list)
    for user, acct, day, dpd in statements:
        rows[acct].append((dt.date.fromisoformat(day), dpd, user))
    charge_off = {a: dt.date.fromisoformat(day) for _, a, day in defaults}
    last = max(dt.date.fromisoformat(s[2]) for s in statements)
    out = []
    for acct, history in rows.items():
        history.sort()
        co = charge_off.get(acct)
        for d in dates:
            before = [r for r in history if r[0] <= d]
            if not before:
                continue
            day, dpd, user = before[-1]
            if d >= add_months(day, 1) or dpd != 0 or (co is not None and co <= d):
                continue
            end = add_months(d, horizon)
            if end > last:
                continue
            late = any(d < s <= end and p >= 90 for s, p, _ in history)
            out.append((d, user, acct, int(late or (co is not None and d < co <= end))))
    return sorted(out)


def regroup_statements(dataset: Path, *, accounts: int | None = None, rows: int | None = None) -> int:
    """Rewrite DIR/statements.parquet (sorted by account) with row groups of `accounts` whole accounts or
    of `rows` rows (accounts then span row groups); returns the number of row groups."""
    path = dataset / "statements.parquet"
    table = pq.read_table(path)
    ids = table.column("account_id").to_numpy()
    assert (np.diff(ids) >= 0).all()
    if accounts is not None:
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])[::accounts]
    else:
        starts = np.arange(0, ids.size, rows)
    bounds = [*starts.tolist(), ids.size]
    with pq.ParquetWriter(path, table.schema) as w:
        for a, b in itertools.pairwise(bounds):
            w.write_table(table.slice(a, b - a))
    assert pq.ParquetFile(path).metadata.num_row_groups == len(bounds) - 1
    return len(bounds) - 1
