"""The report's plots from a hand-made measures dict and hand-made consumers and cards tables: every plot
comes back as a real PNG, the credit plot only with credit, and the scatters say when they sample."""

from __future__ import annotations

import base64
import io
import sys

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from cardworld.errors import InputError
from cardworld.report import plot_style
from cardworld.report.plot_population import homes_plot, income_limit_plot
from cardworld.report.plots import (
    amount_plot,
    credit_plot,
    fraud_rate_plot,
    hour_weekday_plot,
    mcc_plot,
    person_hour_plot,
    report_plots,
)

YEARS = (2018, 2019, 2020)
MEASURE_PLOTS = [
    "amount_distribution",
    "hour_weekday",
    "person_top_hour",
    "volume_by_year",
    "channel_by_year",
    "fraud_rate",
    "credit_by_year",
    "top_mccs",
]
POPULATION_PLOTS = ["homes_map", "income_vs_limit"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _measures(credit: str = "on", fraud: bool = True, n_mccs: int = 20) -> dict:
    """A small measures dict in the contract's shape (report.measures), numbers made up by hand."""
    edges = np.logspace(-2, 5, 61)
    centre = np.arange(60)
    genuine = np.round(1000 * np.exp(-(((centre - 28) / 5.0) ** 2))).astype(int)
    fraud_counts = np.round(40 * np.exp(-(((centre - 34) / 6.0) ** 2))).astype(int) * fraud
    hours = np.array([1, 1, 1, 1, 1, 2, 4, 6, 8, 8, 7, 7, 8, 8, 7, 7, 7, 6, 5, 4, 3, 2, 2, 1], float)
    fraud_hours = np.roll(hours, 6) * fraud
    week = np.array([14, 14, 14, 14, 15, 16, 13], float)

    def shares(a: np.ndarray) -> list[float]:
        return (a / a.sum()).tolist() if a.sum() else [0.0] * a.size

    def by_year(*values: float | None) -> dict[str, float | None]:
        return {str(y): v for y, v in zip(YEARS, values, strict=True)}

    rate = 0.0012 if fraud else 0.0
    by = {
        "rows": by_year(5000, 6000, 1500),
        "active_cards": by_year(30, 33, 31),
        "days": by_year(365, 365, 60),
        "tx.channel_share.swipe": by_year(0.6, 0.3, 0.1),
        "tx.channel_share.chip": by_year(0.3, 0.6, 0.75),
        "tx.channel_share.online": by_year(0.1, 0.1, 0.15),
        "tx.fraud_rate": by_year(rate, rate * 1.5, rate / 2),
        "tx.fraud_rate.swipe": by_year(rate / 2, rate / 3, None),
        "tx.fraud_rate.chip": by_year(rate / 10, rate / 12, rate / 20),
        "tx.fraud_rate.online": by_year(rate * 6, rate * 7, rate * 4),
    }
    if credit == "on":
        by["credit.charge_off_rate"] = by_year(0.041, 0.036, 0.052)
        by["credit.dpd30_rate"] = by_year(0.025, 0.022, None)
        by["unemployment"] = by_year(3.9, 3.7, 8.1)
    mccs = [
        {"mcc": 5411 + k, "description": f"Category {k}; with more words", "rows": 1000 - 40 * k,
         "share": (1000 - 40 * k) / 12500, "amount_mean": 40.0, "fraud_rows": (k % 4) * fraud,
         "fraud_rate": (k % 4) * fraud / (1000 - 40 * k)}
        for k in range(n_mccs)
    ]  # fmt: skip
    figures = {"rows": 12500, "tx.fraud_rate": rate}
    figures |= {f"tx.fraud_rate.{ch}": rate * f for ch, f in (("swipe", 0.4), ("chip", 0.1), ("online", 6))}
    return {
        "source": {"kind": "cardworld", "path": "x", "rows": 12500, "first": "2018-01-01",
                   "last": "2020-02-29", "years": list(YEARS), "what_ifs": [], "credit": credit},
        "figures": figures,
        "by_year": by,
        "distributions": {
            "hour_share": shares(hours), "hour_share_fraud": shares(fraud_hours),
            "weekday_share": shares(week), "weekday_share_fraud": shares(np.roll(week, 2) * fraud),
            "amount_hist": {"edges": edges.tolist(), "genuine": genuine.tolist(), "fraud": fraud_counts.tolist()},
            "person_top_hour_share": {"edges": np.linspace(0, 1, 21).tolist(),
                                      "counts": [0, 0, 0, 1, 4, 9, 12, 8, 5, 2, 1] + [0] * 9},
        },
        "breakdowns": {"state": [], "country": [], "mcc": mccs},
    }  # fmt: skip


class _Tables:
    """What the plots read of a dataset: consumers() and cards() with column projection."""

    def __init__(self, n_consumers: int, cards_each: int = 1) -> None:
        u = np.arange(n_consumers, dtype=np.int32)
        rng = np.random.default_rng(7)  # test data only
        self._consumers = pa.table(
            {
                "user_id": u,
                "latitude": rng.uniform(26, 48, u.size),
                "longitude": rng.uniform(-123, -70, u.size),
                "yearly_income": rng.lognormal(10.8, 0.5, u.size),
            }
        )
        cu = np.repeat(u, cards_each)
        self._cards = pa.table(
            {
                "user_id": cu,
                "card_index": np.tile(np.arange(cards_each, dtype=np.int16), u.size),
                "card_type": ["Credit"] * cu.size,
                "credit_limit": rng.lognormal(9, 0.6, cu.size),
                "valid_from": pa.array(np.full(cu.size, 1_500_000_000), pa.timestamp("s")),
            }
        )

    def consumers(self, columns=None) -> pa.Table:
        return self._consumers.select(columns) if columns else self._consumers

    def cards(self, columns=None) -> pa.Table:
        return self._cards.select(columns) if columns else self._cards


def _image(png: str) -> Image.Image:
    raw = base64.b64decode(png, validate=True)
    assert raw[:8] == PNG_SIGNATURE
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image.convert("RGB")


def _assert_real_picture(png: str) -> None:
    """A PNG about 7.5 in wide at 110 dpi, with axes, text and data: many colours, none covering it all."""
    image = _image(png)
    width, height = image.size
    assert width == round(plot_style.SIZE[0] * plot_style.DPI)
    assert 250 <= height <= 600
    colours = image.getcolors(maxcolors=width * height)
    assert len(colours) > 8
    assert max(n for n, _ in colours) < 0.98 * width * height


@pytest.fixture(scope="module")
def plots() -> list[dict]:
    return report_plots(_measures(), _Tables(300, cards_each=2))


def test_every_plot_comes_back_as_a_picture_with_a_title_and_caption(plots):
    assert [p["id"] for p in plots] == MEASURE_PLOTS + POPULATION_PLOTS
    for p in plots:
        assert set(p) == {"id", "title", "png", "caption"}
        assert p["title"]
        assert p["caption"]
        _assert_real_picture(p["png"])


def test_captions_state_the_exact_figures_they_draw(plots):
    by_id = {p["id"]: p["caption"] for p in plots}
    m = _measures()
    hist = m["distributions"]["amount_hist"]
    assert f"{sum(hist['genuine']):,} genuine, {sum(hist['fraud']):,} fraud" in by_id["amount_distribution"]
    persons = sum(m["distributions"]["person_top_hour_share"]["counts"])
    assert f"all {persons:,} persons" in by_id["person_top_hour"]
    assert "the 15 MCCs with the most rows (of 20 in the data)" in by_id["top_mccs"]
    assert "Hatched bars" in by_id["volume_by_year"]  # 2020 has 60 days of 366
    for plot_id in MEASURE_PLOTS:
        assert by_id[plot_id].startswith("Exact")
    assert "all 300 consumers" in by_id["homes_map"]
    assert "all 600 credit cards" in by_id["income_vs_limit"]
    assert "sample" not in by_id["homes_map"] + by_id["income_vs_limit"]


@pytest.mark.parametrize("credit", ["off", "empty", "absent"])
def test_the_credit_plot_needs_the_credit_cycle(credit):
    assert credit_plot(_measures(credit=credit)) is None
    assert credit_plot(_measures(credit="on")) is not None


def test_a_world_without_fraud_draws_one_class_and_no_fraud_rate():
    m = _measures(fraud=False, n_mccs=8)
    assert fraud_rate_plot(m) is None
    amounts, hours, mccs = amount_plot(m), hour_weekday_plot(m), mcc_plot(m)
    assert "no fraud rows" in amounts["caption"]
    assert "no fraud rows" in hours["caption"]
    assert "the 8 MCCs with the most rows (of 8 in the data)" in mccs["caption"]
    for p in (amounts, hours, mccs):
        _assert_real_picture(p["png"])


def test_scatters_above_the_limit_draw_an_evenly_spaced_sample_and_say_so(monkeypatch):
    monkeypatch.setattr(plot_style, "MAX_POINTS", 400)  # the same path as 20,000, at a test's cost
    tables = _Tables(1_000)
    homes = homes_plot(tables.consumers())
    limits = income_limit_plot(tables.consumers(), tables.cards())
    assert "a sample of 400 of 1,000 consumers (evenly spaced in user id order)" in homes["caption"]
    assert "a sample of 400 of 1,000 credit cards" in limits["caption"]
    for p in (homes, limits):
        _assert_real_picture(p["png"])


def test_samples_are_evenly_spaced_and_deterministic():
    idx, note = plot_style.sample_rows(25_000, "consumers", limit=20_000)
    again, _ = plot_style.sample_rows(25_000, "consumers", limit=20_000)
    assert np.array_equal(idx, again)
    assert (idx.size, idx[0], idx[-1]) == (20_000, 0, 24_999)
    assert set(np.diff(idx).tolist()) <= {1, 2}
    assert note == "a sample of 20,000 of 25,000 consumers (evenly spaced in user id order)"
    everything, note = plot_style.sample_rows(500, "consumers", limit=20_000)
    assert np.array_equal(everything, np.arange(500))
    assert note == "all 500 consumers"


def test_the_same_figures_give_the_same_png_bytes(plots):
    assert amount_plot(_measures())["png"] == plots[0]["png"]


def test_plots_leave_the_callers_matplotlib_settings_alone():
    import matplotlib

    before = {k: matplotlib.rcParams[k] for k in plot_style.STYLE}
    assert person_hour_plot(_measures()) is not None
    assert {k: matplotlib.rcParams[k] for k in plot_style.STYLE} == before


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(InputError, match=r'pip install "cardworld\[report\]"'):
        report_plots(_measures())
