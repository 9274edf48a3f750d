"""One consumer's page (the source paper's Figures 1-3): their bio, their cards, their transactions.

    page = consumer_page(world, 42)     # {"user_id", "title", "bio", "cards", "summary", "figures"}
    uid = example_consumer(world)       # a deterministic, interesting default

Reads the consumer's rows only (CardworldDataset.user reads the row groups holding them). Card numbers
are masked but for their last four digits, and CVVs are never shown.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cardworld.errors import InputError
from cardworld.io.dataset import table_path
from cardworld.io.reader import CardworldDataset, UserRecord
from cardworld.io.reader import open as open_dataset
from cardworld.report.plot_consumer import DELINQUENT_DAYS, monthly_plot, timeline_plot

CARD_COLUMNS = [
    "card",
    "brand",
    "type",
    "number",
    "expires",
    "chip",
    "credit limit",
    "account opened",
    "issue",
    "valid from",
    "valid to",
]


def consumer_page(dataset: CardworldDataset | str | os.PathLike, user_id: int) -> dict[str, Any]:
    """The page of one consumer: bio ([label, value] pairs), cards (one row per issue), a summary of their
    transactions, trips and statements, and their figures (a timeline; monthly spending). An unknown user
    id is the InputError CardworldDataset.user raises."""
    ds = _dataset(dataset)
    user = ds.user(user_id)
    defaults = _user_defaults(ds, user.user_id)
    bio = user.bio
    figures = [f for f in (timeline_plot(user, defaults), monthly_plot(user)) if f is not None]
    return {
        "user_id": user.user_id,
        "title": f"Consumer {user.user_id}: {bio['name']}, {bio['city']}, {bio['state']}",
        "bio": bio_rows(bio, _last_year(ds, user)),
        "cards": cards_table(user.cards),
        "summary": summary_rows(user, defaults),
        "figures": figures,
    }


def bio_rows(bio: dict[str, Any], last_year: int) -> list[list[Any]]:
    """The consumers row as [label, display value] pairs (TabFormer's sd254_users columns)."""
    address = bio["address"] + (f", {bio['apartment']}" if bio.get("apartment") else "")
    return [
        ["name", bio["name"]],
        ["gender", bio["gender"]],
        ["birth year", str(bio["birth_year"])],
        ["birth month", calendar.month_name[int(bio["birth_month"])]],
        ["age", f"{last_year - int(bio['birth_year'])} (in {last_year}, the world's last year)"],
        ["retirement age", str(bio["retirement_age"])],
        ["home address", address],
        ["city", bio["city"]],
        ["state", bio["state"]],
        ["ZIP", bio["zipcode"]],
        ["home coordinates", f"{bio['latitude']:.4f}, {bio['longitude']:.4f}"],
        ["per-capita income of the ZIP", _money(bio["per_capita_income_zip"])],
        ["yearly income", _money(bio["yearly_income"])],
        ["total debt", _money(bio["total_debt"])],
        ["FICO score (at the world's start)", str(bio["fico_score"])],
        ["cards", str(bio["num_credit_cards"])],
    ]


def cards_table(cards: pa.Table) -> dict[str, Any]:
    """One row per issue of each card (reissues and replacements after fraud), by card then date."""
    order = cards.sort_by([("card_index", "ascending"), ("valid_from", "ascending")]).to_pylist()
    rows = [
        [
            c["card_index"],
            c["card_brand"],
            c["card_type"],
            mask_number(c["card_number"]),
            c["expires"].strftime("%Y-%m"),
            "yes" if c["has_chip"] else "no",
            _money(c["credit_limit"]),
            c["acct_open_date"].isoformat(),
            c["cards_issued"],
            _when(c["valid_from"]),
            _when(c["valid_to"]),
        ]
        for c in order
    ]
    return {"columns": list(CARD_COLUMNS), "rows": rows}


def mask_number(number: str) -> str:
    """A card number with every digit but the last four hidden: "**** 7056"."""
    return f"**** {number[-4:]}"


def summary_rows(user: UserRecord, defaults: pa.Table) -> list[list[Any]]:
    """Counts and dates of the consumer's transactions, trips, statements and charge-offs."""
    tx = user.transactions
    amount = tx["amount"].to_numpy()
    fraud = tx["is_fraud"].to_numpy(zero_copy_only=False)
    rows: list[list[Any]] = [["transactions", tx.num_rows]]
    if tx.num_rows:
        ts = tx["timestamp"]
        rows += [
            ["first transaction", _when(pc.min(ts).as_py())],
            ["last transaction", _when(pc.max(ts).as_py())],
            ["card spending (purchases)", _money(float(amount[amount > 0].sum()))],
            ["declined rows (with errors)", tx.num_rows - tx["errors"].null_count],
        ]
    rows += [
        ["fraud rows", int(fraud.sum())],
        ["fraud spending", _money(float(amount[fraud & (amount > 0)].sum()))],
        ["trips", user.trips.num_rows],
    ]
    if user.trips.num_rows:
        kinds = Counter(user.trips["kind"].to_pylist())
        rows.append(["trips by kind", ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))])
    rows.append(["statements", user.statements.num_rows])
    if user.statements.num_rows:
        dpd = user.statements["days_past_due"].to_numpy()
        rows.append(["worst days past due", int(dpd.max())])
        rows.append([f"statements {DELINQUENT_DAYS}+ days past due", int((dpd >= DELINQUENT_DAYS).sum())])
    rows.append(["charged off", _charge_offs(defaults)])
    return rows


def example_consumer(dataset: CardworldDataset | str | os.PathLike) -> int:
    """A deterministic, interesting consumer to show (see pick_example): fraud, a trip and, when the world
    has credit statements, a statement 30+ days past due.

    Reads the trips and statements tables (two columns) and the transactions' is_fraud column row group
    by row group, stopping at the first consumer that has all three."""
    ds = _dataset(dataset)
    trips = set(ds.trips(["user_id"])["user_id"].to_pylist())
    uid = pick_example(_fraud_users(ds), trips, _delinquent_users(ds), ds.user_ids.tolist())
    if uid is not None:
        return uid
    ids = ds.consumers(["user_id"])["user_id"]
    if len(ids) == 0:
        raise InputError(f"the dataset {str(ds.path)!r} has no consumers; generate it with at least one")
    return int(pc.min(ids).as_py())


def pick_example(
    fraud_users: Iterable[int], trips: set[int], late: set[int], users: Iterable[int]
) -> int | None:
    """The lowest user id with the most of: fraud (first), a trip (second), a late statement (third).

    `fraud_users` (ascending) is consumed only until a user with all that the world has turns up;
    without fraud, `users` (those with transactions, ascending) are ranked by trips and late statements.
    None when there is no user."""
    best_possible = 4 + 2 * bool(trips) + bool(late)
    best: tuple[int, int] | None = None  # (score, user id)
    for uid in fraud_users:
        score = 4 + 2 * (uid in trips) + (uid in late)
        if best is None or score > best[0]:
            best = (score, uid)
        if score == best_possible:
            return uid
    if best is not None:
        return best[1]
    for uid in users:
        score = 2 * (uid in trips) + (uid in late)
        if best is None or score > best[0]:
            best = (score, uid)
    return None if best is None else best[1]


# --- helpers ---


def _dataset(dataset: CardworldDataset | str | os.PathLike) -> CardworldDataset:
    return dataset if isinstance(dataset, CardworldDataset) else open_dataset(dataset)


def _user_defaults(ds: CardworldDataset, uid: int) -> pa.Table:
    if not table_path(ds.path, "defaults").is_file():  # a dataset made before the credit cycle
        return pa.table({"charge_off_date": pa.array([], pa.date32())})
    table = ds.defaults()
    return table.filter(pc.equal(table["user_id"], uid)).sort_by("charge_off_date")


def _delinquent_users(ds: CardworldDataset) -> set[int]:
    if not table_path(ds.path, "statements").is_file():
        return set()
    s = ds.statements(["user_id", "days_past_due"])
    late = s.filter(pc.greater_equal(s["days_past_due"], DELINQUENT_DAYS))
    return set(late["user_id"].to_pylist())


def _fraud_users(ds: CardworldDataset) -> Iterator[int]:
    """The ids of the users with a fraud row, ascending, reading only is_fraud, one row group at a time
    (the index maps row positions to users)."""
    idx = ds.index
    for f, path in enumerate(ds.files):
        users = np.flatnonzero(idx.user_file == f)
        starts = idx.user_start[users]
        with pq.ParquetFile(path) as handle:
            for g in np.flatnonzero(idx.group_file == f).tolist():
                column = handle.read_row_group(int(idx.group_number[g]), columns=["is_fraud"])["is_fraud"]
                rows = np.flatnonzero(column.to_numpy(zero_copy_only=False)) + idx.group_start[g]
                if rows.size:
                    owners = users[np.searchsorted(starts, rows, side="right") - 1]
                    yield from (int(u) for u in idx.user_ids[np.unique(owners)])


def _last_year(ds: CardworldDataset, user: UserRecord) -> int:
    """The world's last calendar year: its config's end, else the consumer's last transaction."""
    end = (ds.manifest.get("config") or {}).get("end")
    if end:
        return dt.date.fromisoformat(str(end)[:10]).year
    if user.transactions.num_rows:
        return pc.max(user.transactions["timestamp"]).as_py().year
    return int(user.bio["birth_year"]) + int(user.bio.get("age") or 0)


def _money(value: float | None) -> str:
    if value is None:
        return "–"
    return f"${value:,.2f}" if abs(value) < 1000 else f"${value:,.0f}"


def _when(value: dt.datetime | dt.date | None) -> str:
    """A date, with the time of day when it has one (reissues start a second after a revoking purchase)."""
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _charge_offs(defaults: pa.Table) -> str:
    if defaults.num_rows == 0:
        return "no"
    parts = [
        f"account {d['account_id']} on {d['charge_off_date'].isoformat()} ({_money(d['balance_charged_off'])})"
        for d in defaults.to_pylist()
    ]
    return "yes: " + "; ".join(parts)


__all__ = [
    "CARD_COLUMNS",
    "bio_rows",
    "cards_table",
    "consumer_page",
    "example_consumer",
    "mask_number",
    "pick_example",
    "summary_rows",
]
