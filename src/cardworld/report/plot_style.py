"""The report's look, shared by every plot: colours, fonts, figure size, small PNGs, deterministic samples.

    png = render(lambda fig: fig.subplots().plot([1, 2]), size=(7.5, 3.2))   # base64 PNG text
    idx, note = sample_rows(2_000_000, "consumers")   # every k-th row, and "a sample of 20,000 of ..."

Figures are `matplotlib.figure.Figure` objects drawn on an Agg canvas, never pyplot's: nothing joins
pyplot's figure registry (nothing to close, nothing leaks into a notebook) and the caller's backend and
rcParams are left as they were (the style applies inside `rc_context` only). matplotlib is imported when a
plot is drawn; without it the error says which extra to install.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import numpy as np

from cardworld.errors import InputError

#: Okabe-Ito colours (safe for the common colour-vision deficiencies); genuine vs fraud the same everywhere.
GENUINE = "#0072B2"
FRAUD = "#D55E00"
CHANNELS: dict[str, str] = {"swipe": "#56B4E9", "chip": "#009E73", "online": "#CC79A7"}
CHANNEL_LABELS: dict[str, str] = {"swipe": "Swipe", "chip": "Chip", "online": "Online"}
TRIPS: dict[str, str] = {"getaway": "#F0E442", "vacation": "#E69F00", "business": "#999999"}
NEUTRAL = "#56646F"  # counts that are neither class (rows, cards, consumers)
CHARGE_OFF = "#332288"
DPD30 = "#E69F00"
UNEMPLOYMENT = "#888888"

SIZE = (7.5, 3.2)  # inches
DPI = 110
#: Above this many points a scatter plots an evenly spaced sample (and its caption says so).
MAX_POINTS = 20_000

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.edgecolor": "#8a939c",
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}

INSTALL_REPORT = 'pip install "cardworld[report]"'


def matplotlib_module() -> Any:
    """matplotlib, imported on first use; missing, an InputError naming the extra to install."""
    try:
        import matplotlib
        import matplotlib.figure
        import matplotlib.ticker
        from matplotlib.backends import backend_agg  # noqa: F401
    except ImportError:
        raise InputError(
            f"the report's plots need matplotlib, which is not installed: {INSTALL_REPORT}"
        ) from None
    return matplotlib


def render(draw: Callable[[Any], None], size: tuple[float, float] = SIZE) -> str:
    """Draw on a new figure (constrained layout, the report style) and return it as base64 PNG text."""
    mpl = matplotlib_module()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with mpl.rc_context(STYLE):
        fig = Figure(figsize=size, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        return encode_png(fig)


def encode_png(fig: Any) -> str:
    """The figure (on an Agg canvas) as a palette PNG (256 colours: a third of the RGBA size, same look),
    base64 text. The bytes depend only on the drawing (no timestamp or software metadata)."""
    from PIL import Image  # matplotlib depends on Pillow

    fig.canvas.draw()  # Pillow encodes the pixels: faster than savefig's own PNG writer
    width, height = fig.canvas.get_width_height()
    pixels = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    small = pixels.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def plot(plot_id: str, title: str, png: str, caption: str) -> dict[str, str]:
    """The plot dict the report embeds."""
    return {"id": plot_id, "title": title, "png": png, "caption": caption}


def sample_rows(n: int, what: str, limit: int | None = None) -> tuple[np.ndarray, str]:
    """Which of n rows to draw: all of them up to `limit` (default MAX_POINTS), else `limit` evenly spaced
    ones (deterministic, no random draw). The note says what was drawn, for the caption."""
    limit = MAX_POINTS if limit is None else limit
    if n <= limit:
        return np.arange(n), f"all {n:,} {what}"
    idx = np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))
    return idx, f"a sample of {idx.size:,} of {n:,} {what} (evenly spaced in user id order)"


# --- axis helpers ---


def percent_axis(axis: Any) -> None:
    """Fractions shown as percents on this axis (ax.yaxis / ax.xaxis): ticks at 1-2-5 steps, as few
    decimals as each needs (5%, 0.25%)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{round(100 * v, 6):g}%"))


def count_axis(axis: Any) -> None:
    """Counts as 950 / 12k / 3.1M, at whole numbers."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: short_count(v)))


def money_axis(axis: Any, log: bool = False, subs: tuple[float, ...] = (1.0,)) -> None:
    """Dollars as $0.01 / $5 / $100 / $10k / $1M; on a log axis, ticks at subs × powers of ten and no
    minor labels (matplotlib would write 2×10^4 there)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if log:
        axis.set_major_locator(LogLocator(base=10, subs=subs))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: short_money(v)))


def short_count(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    return f"{v:,.0f}" if a >= 1 or v == 0 else f"{v:.2g}"


def short_money(v: float) -> str:
    sign, a = ("-" if v < 0 else ""), abs(v)
    if a >= 1e6:
        return f"{sign}${a / 1e6:.3g}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.3g}k"
    if a >= 1 or a == 0:
        return f"{sign}${a:,.0f}"
    return f"{sign}${a:.2f}"


def year_axis(ax: Any, years: list[int], nbins: int = 10) -> None:
    """Integer year ticks (at most about nbins of them) over the years plotted."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=nbins, integer=True, steps=[1, 2, 5, 10]))
    if years:
        ax.set_xlim(min(years) - 0.7, max(years) + 0.7)
    ax.grid(axis="x", visible=False)


__all__ = [
    "CHANNELS",
    "CHANNEL_LABELS",
    "DPI",
    "FRAUD",
    "GENUINE",
    "INSTALL_REPORT",
    "MAX_POINTS",
    "NEUTRAL",
    "SIZE",
    "TRIPS",
    "count_axis",
    "encode_png",
    "matplotlib_module",
    "money_axis",
    "percent_axis",
    "plot",
    "render",
    "sample_rows",
    "short_count",
    "short_money",
    "year_axis",
]
