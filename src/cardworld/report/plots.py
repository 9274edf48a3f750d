"""The report's plots, drawn from the measures dict (report.measures) and the dataset's small tables.

    plots = report_plots(measures, cardworld.open("out/world"))   # [{"id", "title", "png", "caption"}, ...]

Every plot but the two scatters of consumers draws exact figures that the measures already hold (whole
histograms and shares over every row), so nothing here reads transactions. The scatters (homes, income vs
credit limit) draw every consumer up to plot_style.MAX_POINTS and an evenly spaced sample above it, and say
which in their captions. Shares and rates are fractions in the measures and percents on the axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cardworld.report import plot_style as st
from cardworld.report.plot_population import population_plots

_WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_TOP_MCCS = 15


def report_plots(measures: Mapping[str, Any], dataset: Any = None) -> list[dict[str, str]]:
    """Every plot of the report, in reading order: {"id", "title", "png" (base64 PNG), "caption"}.

    `dataset` (a CardworldDataset, or anything with consumers() and cards()) adds the plots of consumers'
    homes and of income vs credit limit; None leaves them out. A plot whose figures the measures lack
    (no fraud rows, no credit cycle, a single class) is left out or drawn without the missing part.
    """
    st.matplotlib_module()  # fail first, with the install hint, if matplotlib is missing
    makers: list[Callable[[Mapping[str, Any]], dict[str, str] | None]] = [
        amount_plot,
        hour_weekday_plot,
        person_hour_plot,
        volume_plot,
        channel_plot,
        fraud_rate_plot,
        credit_plot,
        mcc_plot,
    ]
    plots = [p for make in makers if (p := make(measures)) is not None]
    if dataset is not None:
        plots.extend(population_plots(dataset))
    return plots


# --- distributions ---


def amount_plot(measures: Mapping[str, Any]) -> dict[str, str] | None:
    """Amount distribution, genuine vs fraud, each class's share of its rows per log-spaced bin."""
    hist = measures["distributions"]["amount_hist"]
    edges = np.asarray(hist["edges"], float)
    classes = _classes(np.asarray(hist["genuine"], float), np.asarray(hist["fraud"], float))
    if not classes:
        return None

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        for label, counts, colour in classes:
            share = counts / counts.sum()
            fill = label.startswith("genuine")
            ax.stairs(share, edges, fill=fill, alpha=0.35 if fill else 1.0, color=colour, label=label)
            if fill:
                ax.stairs(share, edges, color=colour, linewidth=1.0)
        ax.set_xscale("log")
        st.money_axis(ax.xaxis, log=True)
        st.percent_axis(ax.yaxis)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_xlabel("amount (USD, log scale)")
        ax.set_ylabel("share of the class's rows per bin")
        ax.set_title("Transaction amounts, genuine vs fraud")
        ax.legend(loc="upper right")

    n_bins = edges.size - 1
    caption = (
        f"Exact: every purchase with a positive amount ({_counts_text(classes)}), in {n_bins} log-spaced "
        f"bins from {st.short_money(edges[0])} to {st.short_money(edges[-1])}; each class sums to 100%. "
        "Refunds (negative amounts) are counted in the tables, not here."
    )
    return st.plot("amount_distribution", "Amount distribution", st.render(draw), caption)


def hour_weekday_plot(measures: Mapping[str, Any]) -> dict[str, str] | None:
    """Share of rows by hour of day and by day of week, genuine vs fraud."""
    d = measures["distributions"]
    series = [("all rows", d["hour_share"], d["weekday_share"], st.GENUINE)]
    if _has_share(d.get("hour_share_fraud")):
        series.append(("fraud rows", d["hour_share_fraud"], d["weekday_share_fraud"], st.FRAUD))
    if not _has_share(d.get("hour_share")):
        return None

    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2, width_ratios=[2.6, 1])
        width = 0.8 / len(series)
        for k, (label, hours, weekdays, colour) in enumerate(series):
            left.plot(range(24), _floats(hours), marker="o", markersize=3, color=colour, label=label)
            x = np.arange(7) + (k - (len(series) - 1) / 2) * width
            right.bar(x, _floats(weekdays), width=width, color=colour, label=label)
        left.set_xticks(range(0, 24, 3))
        left.set_xlim(-0.5, 23.5)
        left.set_xlabel("hour of day (local time)")
        left.set_ylabel("share of the class's rows")
        left.set_title("By hour of day")
        left.legend(loc="upper left")
        right.set_xticks(range(7), _WEEKDAYS)
        right.set_title("By day of week")
        right.grid(axis="x", visible=False)
        for ax in (left, right):
            st.percent_axis(ax.yaxis)
            ax.set_ylim(bottom=0)

    caption = (
        "Exact: every row's local wall-clock hour and weekday, as shares of all rows (blue) and of fraud "
        "rows (orange); each series sums to 100%."
    )
    if len(series) == 1:
        caption += " The world has no fraud rows."
    return st.plot("hour_weekday", "Hour of day and day of week", st.render(draw), caption)


def person_hour_plot(measures: Mapping[str, Any]) -> dict[str, str] | None:
    """Per person: the share of their rows in their single busiest hour (how routine they are)."""
    h = measures["distributions"]["person_top_hour_share"]
    counts, edges = np.asarray(h["counts"], float), np.asarray(h["edges"], float)
    if counts.sum() == 0:
        return None
    centres = (edges[:-1] + edges[1:]) / 2
    median = centres[np.searchsorted(np.cumsum(counts), counts.sum() / 2)]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        ax.stairs(counts, edges, fill=True, color=st.NEUTRAL, alpha=0.8)
        ax.axvline(median, color="black", linestyle="--", linewidth=1, label=f"median bin ≈ {median:.0%}")
        st.percent_axis(ax.xaxis)
        st.count_axis(ax.yaxis)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of a person's rows in their busiest hour of day")
        ax.set_ylabel("persons")
        ax.set_title("How concentrated each person's purchase hours are")
        ax.legend(loc="upper right")

    caption = (
        f"Exact: all {int(counts.sum()):,} persons with at least 20 rows, in {counts.size} bins. "
        "A uniform spread over 24 hours would put about 4% of rows in the busiest hour; "
        "TabFormer's single-user file has about half."
    )
    return st.plot("person_top_hour", "Per-person hour concentration", st.render(draw), caption)


# --- by year ---


def volume_plot(measures: Mapping[str, Any]) -> dict[str, str] | None:
    """Transactions and active cards per calendar year (partial years hatched)."""
    years, rows = _by_year(measures, "rows")
    _, cards = _by_year(measures, "active_cards")
    if not years:
        return None
    _, days = _by_year(measures, "days")
    partial = [not math.isnan(d) and d < (366 if _leap(y) else 365) for y, d in zip(years, days, strict=True)]

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, 2)
        for ax, values, what in ((axes[0], rows, "transactions"), (axes[1], cards, "active cards")):
            bars = ax.bar(years, values, color=st.NEUTRAL, width=0.8)
            for bar, p in zip(bars, partial, strict=True):
                if p:
                    bar.set(alpha=0.45, hatch="///", edgecolor="white")
            st.year_axis(ax, years, nbins=6)
            st.count_axis(ax.yaxis)
            ax.set_xlabel("year")
            ax.set_ylabel(f"{what} per year")
            ax.set_title(what.capitalize() + " per year")

    caption = (
        "Exact: rows dated in each calendar year, and cards (user, card index) with at least one row in it."
    )
    if any(partial):
        caption += " Hatched bars are years the world covers only in part."
    return st.plot("volume_by_year", "Transactions and active cards per year", st.render(draw), caption)


def channel_plot(measures: Mapping[str, Any]) -> dict[str, str] | None:
    """Swipe / chip / online shares of rows per year, stacked."""
    years, _ = _by_year(measures, "rows")
    if not years:
        return None
    shares = {ch: _by_year(measures, f"tx.channel_share.{ch}")[1] for ch in st.CHANNELS}

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        bottom = np.zeros(len(years))
        for ch, colour in st.CHANNELS.items():
            values = np.nan_to_num(shares[ch])
            ax.bar(years, values, bottom=bottom, color=colour, width=0.85, label=st.CHANNEL_LABELS[ch])
            bottom += values
        st.year_axis(ax, years)
        st.percent_axis(ax.yaxis)
        ax.set_ylim(0, 1)
        ax.set_xlabel("year")
        ax.set_ylabel("share of the year's rows")
        ax.set_title("Channel shares by year")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))

    caption = "Exact: each year's rows by channel (use_chip); each bar sums to 100%."
    return st.plot("channel_by_year", "Channel shares by year", st.render(draw), caption)


def fraud_rate_plot(measures: Mapping[str, Any]) -> dict[str, str] | None:
    """Fraud rate by year (all rows and per channel) beside the whole-period rate per channel."""
    years, overall = _by_year(measures, "tx.fraud_rate")
    if not years or not np.nansum(overall) > 0:
        return None
    figures = measures["figures"]
    per_channel = {ch: _by_year(measures, f"tx.fraud_rate.{ch}")[1] for ch in st.CHANNELS}

    def draw(fig: Any) -> None:
        left, right = fig.subplots(1, 2, width_ratios=[2.6, 1])
        for ch, colour in st.CHANNELS.items():
            left.plot(years, per_channel[ch], color=colour, marker="o", markersize=2.5, linewidth=1.2,
                      label=st.CHANNEL_LABELS[ch])  # fmt: skip
        left.plot(years, overall, color="black", linewidth=2, label="all rows")
        left.set_yscale("symlog", linthresh=1e-4, linscale=0.5)
        _symlog_percent(left)
        st.year_axis(left, years, nbins=8)
        left.set_ylabel("fraud rows / rows (symlog)")
        left.set_title("Fraud rate by year")
        fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=4)
        rates = [figures.get(f"tx.fraud_rate.{ch}") or 0.0 for ch in st.CHANNELS]
        bars = right.bar(range(3), rates, color=list(st.CHANNELS.values()))
        right.bar_label(bars, labels=[_pct_text(r) for r in rates], fontsize=7.5, padding=2)
        right.set_xticks(range(3), list(st.CHANNEL_LABELS.values()))
        st.percent_axis(right.yaxis)
        right.set_ylim(0, max(rates) * 1.25 or 1)
        right.grid(axis="x", visible=False)
        right.set_title("Whole period")

    overall_rate = figures.get("tx.fraud_rate")
    caption = (
        f"Exact: fraud rows over all rows, per calendar year and channel (left, symmetric log scale: linear "
        f"below 0.01%), and over the whole period (right); all rows {_pct_text(overall_rate)}. "
        "Gaps are years without rows of that channel."
    )
    return st.plot("fraud_rate", "Fraud rate by year and by channel", st.render(draw), caption)


def credit_plot(measures: Mapping[str, Any]) -> dict[str, str] | None:
    """Charge-off and 30+ DPD rates by year beside the unemployment rate (credit cycle on only)."""
    if measures["source"].get("credit") != "on":
        return None
    years, charge_off = _by_year(measures, "credit.charge_off_rate")
    if not years:
        return None
    dpd = _by_year(measures, "credit.dpd30_rate", years)[1]
    unemployment = _by_year(measures, "unemployment", years)[1] / 100.0  # percent in the measures

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        ax.plot(years, charge_off, color=st.CHARGE_OFF, marker="o", markersize=3, label="charge-off rate")
        ax.plot(years, dpd, color=st.DPD30, marker="s", markersize=3, label="30+ days past due (Q4)")
        ax.plot(years, unemployment, color=st.UNEMPLOYMENT, linestyle="--", label="US unemployment")
        st.year_axis(ax, years)
        st.percent_axis(ax.yaxis)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("year")
        ax.set_ylabel("rate (percent)")
        ax.set_title("Credit: charge-off and delinquency by year")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))

    caption = (
        "Exact, dollar-weighted as the Federal Reserve publishes them: balances charged off in the year over "
        "the year's average balances, and balances 30+ days past due over all balances in October-December; "
        "the unemployment rate the world ran with (BLS, annual)."
    )
    return st.plot("credit_by_year", "Charge-off and 30+ DPD by year", st.render(draw), caption)


# --- MCCs ---


def mcc_plot(measures: Mapping[str, Any]) -> dict[str, str] | None:
    """The top MCCs by rows: their share of genuine rows and of fraud rows."""
    mccs = sorted(measures["breakdowns"]["mcc"], key=lambda r: (-r["rows"], r["mcc"]))
    if not mccs:
        return None
    top = mccs[:_TOP_MCCS]
    fraud_total = sum(r["fraud_rows"] for r in mccs)
    genuine_total = sum(r["rows"] for r in mccs) - fraud_total
    genuine = [(r["rows"] - r["fraud_rows"]) / genuine_total if genuine_total else 0.0 for r in top]
    fraud = [r["fraud_rows"] / fraud_total for r in top] if fraud_total else None
    labels = [f"{r['mcc']:04d} {_short(r.get('description') or '', 32)}" for r in top]

    def draw(fig: Any) -> None:
        ax = fig.subplots()
        y = np.arange(len(top))
        h = 0.4 if fraud else 0.7
        ax.barh(
            y - (h / 2 if fraud else 0), genuine, height=h, color=st.GENUINE, label="share of genuine rows"
        )
        if fraud:
            ax.barh(y + h / 2, fraud, height=h, color=st.FRAUD, label="share of fraud rows")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="y", visible=False)
        st.percent_axis(ax.xaxis)
        ax.set_xlabel("share of the class's rows")
        ax.set_title(f"Top {len(top)} merchant categories (MCC) by rows")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2)

    caption = (
        f"Exact: the {len(top)} MCCs with the most rows (of {len(mccs)} in the data), as shares of "
        "genuine rows and of fraud rows; descriptions from ISO 18245, shortened."
    )
    size = (st.SIZE[0], 1.0 + 0.2 * len(top))
    return st.plot("top_mccs", "Top merchant categories", st.render(draw, size), caption)


# --- helpers ---


def _by_year(
    measures: Mapping[str, Any], key: str, years: Sequence[int] | None = None
) -> tuple[list[int], np.ndarray]:
    """(years, values) of one by_year series; None as NaN. Years: given, else the series' own, ascending."""
    series = measures.get("by_year", {}).get(key) or {}
    ys = list(years) if years is not None else sorted(int(y) for y in series)
    return ys, np.array([_num(series.get(str(y))) for y in ys], dtype=float)


def _num(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _floats(values: Sequence[Any]) -> np.ndarray:
    return np.array([_num(v) for v in values], dtype=float)


def _has_share(values: Sequence[Any] | None) -> bool:
    return bool(values) and np.nansum(_floats(values)) > 0


def _classes(genuine: np.ndarray, fraud: np.ndarray) -> list[tuple[str, np.ndarray, str]]:
    out = []
    if genuine.sum() > 0:
        out.append(("genuine", genuine, st.GENUINE))
    if fraud.sum() > 0:
        out.append(("fraud", fraud, st.FRAUD))
    return out


def _counts_text(classes: list[tuple[str, np.ndarray, str]]) -> str:
    text = ", ".join(f"{int(c.sum()):,} {label}" for label, c, _ in classes)
    return text if len(classes) == 2 else text + "; no fraud rows"


def _pct_text(v: float | None) -> str:
    if v is None:
        return "–"
    pct = 100 * v
    return f"{pct:.2f}%" if pct >= 1 or pct == 0 else f"{pct:.3f}%"


def _symlog_percent(ax: Any) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter

    ticks = [0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(FixedLocator([]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: "0" if v == 0 else f"{100 * v:g}%"))
    top = max([np.nanmax(line.get_ydata(), initial=0.0) for line in ax.get_lines()] + [1e-3])
    ax.set_ylim(0, top * 1.6)


def _short(text: str, n: int) -> str:
    for cut in (";", " -", " (", ","):  # the head of the description: "Service stations (with or ..."
        text = text.split(cut)[0]
    text = text.strip()
    return text if len(text) <= n else text[: n - 1].rstrip(" ,") + "…"


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


__all__ = [
    "amount_plot",
    "channel_plot",
    "credit_plot",
    "fraud_rate_plot",
    "hour_weekday_plot",
    "mcc_plot",
    "person_hour_plot",
    "report_plots",
    "volume_plot",
]
