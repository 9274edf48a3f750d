"""The figures of one consumer's page: a timeline of their transactions, and their monthly spending.

    timeline_plot(world.user(5), defaults)   # amounts over time by channel, fraud, trips, delinquency
    monthly_plot(world.user(5))              # spending per month, with the statement balance when credit

Both draw every row of the consumer (a consumer has at most some tens of thousands).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from cardworld.codes import USE_CHIP, Channel
from cardworld.io.reader import UserRecord
from cardworld.report import plot_style as st

#: Statements this many days past due or more are marked as delinquent (the published 30+ DPD).
DELINQUENT_DAYS = 30
TRIP_SHADES: dict[str, str] = {"getaway": "#F0E442", "vacation": "#FFAABB", "business": "#BBBBBB"}
_CHANNEL_OF = {name: ch.name.lower() for ch, name in zip(Channel, USE_CHIP, strict=True)}
_SYMLOG_TICKS = [-1e4, -1e3, -1e2, -10, 0, 10, 1e2, 1e3, 1e4, 1e5]


def timeline_plot(user: UserRecord, defaults: pa.Table) -> dict[str, str] | None:
    """Each transaction's amount over time (symlog), coloured by channel, fraud marked, trips shaded by
    kind, statements 30+ days past due marked, charge-offs as vertical lines."""
    tx = user.transactions
    if tx.num_rows == 0:
        return None
    t = _dates(tx["timestamp"])
    amount = tx["amount"].to_numpy()
    channel = np.array([_CHANNEL_OF.get(c, "swipe") for c in tx["use_chip"].to_pylist()])
    fraud = tx["is_fraud"].to_numpy(zero_copy_only=False)
    trips = [(k, _date(s), _date(e)) for k, s, e in _rows(user.trips, "kind", "start", "end")]
    late = _dates(_late_statements(user.statements))
    charge_offs = [_date(d) for (d,) in _rows(defaults, "charge_off_date")]

    def draw(fig: Any) -> None:
        ax, track = fig.subplots(2, 1, sharex=True, height_ratios=[6, 1])
        x0, x1 = t.min() - np.timedelta64(7, "D"), t.max() + np.timedelta64(7, "D")
        least = (x1 - x0) / 600  # about one pixel: a weekend away stays visible on a 30-year axis
        for kind, start, end in trips:
            shade = TRIP_SHADES.get(kind, "#dddddd")
            ax.axvspan(start, max(end, start + least), color=shade, alpha=0.45, linewidth=0, zorder=0)
            track.axvspan(start, max(end, start + least), ymin=0.55, ymax=0.95, color=shade, linewidth=0)
        for ch, colour in st.CHANNELS.items():
            on = (channel == ch) & ~fraud
            ax.scatter(t[on], amount[on], s=3, color=colour, alpha=0.6, linewidths=0, rasterized=True,
                       label=st.CHANNEL_LABELS[ch])  # fmt: skip
        if fraud.any():
            ax.scatter(t[fraud], amount[fraud], s=22, marker="X", color=st.FRAUD, edgecolors="black",
                       linewidths=0.4, zorder=4, label=f"fraud ({int(fraud.sum())})")  # fmt: skip
        if late.size:
            track.plot(late, np.full(late.size, 0.25), linestyle="none", marker="^", markersize=5,
                       color=st.DPD30, label=f"statement {DELINQUENT_DAYS}+ days past due")  # fmt: skip
        for k, day in enumerate(charge_offs):
            for a in (ax, track):
                a.axvline(day, color="black", linestyle="--", linewidth=1.2,
                          label="charged off" if k == 0 and a is ax else None)  # fmt: skip
        _trip_legend(ax, {k for k, _, _ in trips})
        _symlog_money(ax, amount)
        ax.set_xlim(x0, x1)
        ax.set_ylabel("amount (USD, symlog)")
        ax.set_title(f"Transactions of consumer {user.user_id} over time")
        track.set_ylim(0, 1)
        track.set_yticks([0.25, 0.75], [f"{DELINQUENT_DAYS}+ DPD", "trips"])
        track.tick_params(axis="y", length=0)
        track.grid(False)
        handles, labels = ax.get_legend_handles_labels()
        extra = track.get_legend_handles_labels()
        fig.legend(
            handles + extra[0], labels + extra[1], loc="outside lower center", ncols=5, markerscale=1.5
        )

    caption = (
        f"Every one of the consumer's {tx.num_rows:,} card transactions (refunds below zero; symmetric log "
        f"scale, linear within ±$10), coloured by channel; fraud rows as crosses; trips shaded by kind "
        f"({len(trips)} trips)"
    )
    if user.statements.num_rows:
        caption += f"; triangles: statements {DELINQUENT_DAYS}+ days past due ({late.size})"
    if charge_offs:
        caption += "; dashed lines: accounts charged off"
    return st.plot("consumer_timeline", "Transactions over time", st.render(draw, (7.5, 3.9)), caption + ".")


def monthly_plot(user: UserRecord) -> dict[str, str] | None:
    """Spending per calendar month (positive amounts, fraud stacked on genuine), with the total statement
    balance of the consumer's credit accounts as a line when they have statements."""
    tx = user.transactions
    if tx.num_rows == 0:
        return None
    month = _dates(tx["timestamp"]).astype("datetime64[M]")
    amount = tx["amount"].to_numpy()
    fraud = tx["is_fraud"].to_numpy(zero_copy_only=False)
    months = np.arange(month.min(), month.max() + 1)
    pos = np.searchsorted(months, month)
    spend = amount > 0
    genuine = np.bincount(pos[spend & ~fraud], amount[spend & ~fraud], months.size)
    stolen = np.bincount(pos[spend & fraud], amount[spend & fraud], months.size)
    balance = _balances(user.statements)

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        x = months.astype("datetime64[D]") + np.timedelta64(14, "D")
        width = 25 if months.size <= 60 else 28
        ax.bar(x, genuine, width=width, color=st.GENUINE, label="genuine spending")
        if stolen.any():
            ax.bar(x, stolen, bottom=genuine, width=width, color=st.FRAUD, label="fraud spending")
        if balance is not None:
            ax.plot(balance[0], balance[1], color="black", linewidth=1.3, label="statement balance (credit)")
        st.money_axis(ax.yaxis)
        ax.set_ylabel("USD per month")
        ax.set_title(f"Monthly card spending of consumer {user.user_id}")
        ax.legend(loc="upper left")

    caption = (
        "Exact: the sum of each calendar month's purchases (positive amounts; refunds left out), fraud "
        "stacked on top"
    )
    if balance is not None:
        caption += "; the line is the total balance of the consumer's credit accounts on each statement date"
    return st.plot("consumer_monthly", "Monthly spending", st.render(draw), caption + ".")


# --- helpers ---


def _dates(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A timestamp or date32 column as numpy datetime64 (nulls dropped)."""
    values = column.drop_null() if hasattr(column, "drop_null") else column
    if pa.types.is_date32(values.type):
        return np.asarray(values.cast(pa.int32()).to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    return np.asarray(values.to_numpy(zero_copy_only=False)).astype("datetime64[s]")


def _date(value: Any) -> np.datetime64:
    return np.datetime64(value)


def _rows(table: pa.Table, *columns: str) -> list[tuple[Any, ...]]:
    if table.num_rows == 0:
        return []
    return list(zip(*(table[c].to_pylist() for c in columns), strict=True))


def _late_statements(statements: pa.Table) -> pa.ChunkedArray:
    """The statement dates (distinct, ascending) where an account was 30+ days past due."""
    dpd = statements["days_past_due"].to_numpy()
    dates = statements["statement_date"].filter(pa.array(dpd >= DELINQUENT_DAYS))
    return pa.chunked_array([pa.array(sorted(set(dates.to_pylist())), pa.date32())])


def _balances(statements: pa.Table) -> tuple[np.ndarray, np.ndarray] | None:
    """(statement dates, total balance over the consumer's accounts) or None without statements."""
    if statements.num_rows == 0:
        return None
    days = _dates(statements["statement_date"])
    dates, pos = np.unique(days, return_inverse=True)
    return dates, np.bincount(pos, statements["balance"].to_numpy(), dates.size)


def _trip_legend(ax: Any, kinds: set[str]) -> None:
    """One legend entry per trip kind present (an empty patch of its shade)."""
    for kind in TRIP_SHADES:
        if kind in kinds:
            ax.fill_between([], [], color=TRIP_SHADES[kind], alpha=0.55, label=f"trip: {kind}")


def _symlog_money(ax: Any, amount: np.ndarray) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.set_yscale("symlog", linthresh=10, linscale=0.6)
    lo, hi = float(min(amount.min(), 0)), float(max(amount.max(), 10))
    ticks = [v for v in _SYMLOG_TICKS if lo * 1.5 - 1 <= v <= hi * 1.5]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    st.money_axis(ax.yaxis)
    ax.set_ylim(lo * 1.6 if lo < 0 else 0, hi * 1.6)


__all__ = ["DELINQUENT_DAYS", "TRIP_SHADES", "monthly_plot", "timeline_plot"]
