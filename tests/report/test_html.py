"""report.html: number formats by hand, escaping, and a page that is well formed and self-contained."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from cardworld.report.html import fmt, page, render_report, table_html

# A 1x1 PNG (what a plot dict carries, base64).
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f0"
        "1f0005000201a5f5b4d40000000049454e44ae426082"
    )
).decode()
VOID = {"meta", "img", "br", "hr", "link", "input"}


class _Checker(HTMLParser):
    """Every element closed in order; collects the URLs that tags point to."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.urls: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if "id" in a:
            self.ids.append(a["id"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack[-1:] == [tag], f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def check_page(text: str) -> _Checker:
    """Asserts a page is well formed and needs no network; returns what the parser saw."""
    assert text.startswith("<!DOCTYPE html>")
    parser = _Checker()
    parser.feed(text)
    parser.close()
    assert parser.stack == [], f"unclosed elements {parser.stack}"
    external = [u for u in parser.urls if not (u.startswith("#") or u.startswith("data:image/png;base64,"))]
    assert external == []
    assert not re.search(r"(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), "a URL in the page"
    assert "<script" not in text.lower()
    return parser


@pytest.mark.parametrize(
    ("value", "hint", "text"),
    [
        (0.00122, "pct", "0.122%"),
        (0.111, "pct", "11.10%"),
        (0.0, "pct", "0.00%"),
        (0.00004, "pct", "0.0040%"),
        (43.625, "money", "$43.62"),  # exactly half a cent: Python rounds half to even
        (10100.0, "money", "$10,100"),
        (1234567, "int", "1,234,567"),
        (3.07, "num", "3.07"),
        (0.0427, "num", "0.0427"),
        (None, "pct", "–"),
        (float("nan"), "num", "–"),
        ("Visa", "text", "Visa"),
        (True, "num", "yes"),
    ],
)
def test_fmt_by_hand(value, hint, text):
    assert fmt(value, hint) == text


def test_table_escapes_and_formats():
    t = {"id": "t", "title": "a <b> & c", "columns": ["what", "share"], "formats": ["text", "pct"],
         "rows": [["<script>x</script>", 0.5]], "note": "n & m"}  # fmt: skip
    out = table_html(t)
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "a &lt;b&gt; &amp; c" in out
    assert "<td>50.00%</td>" in out
    assert "n &amp; m" in out


def test_page_drops_empty_sections_and_links_the_rest():
    text = page("T", ["sub"], [("a", "A", "<p>x</p>"), ("b", "B", ""), ("c", "C", "<p>y</p>")])
    parser = check_page(text)
    assert parser.ids == ["a", "c"]
    assert "href='#a'" in text
    assert "href='#c'" in text
    assert "href='#b'" not in text


def _doc(**extra):
    figures = {"rows": 1000, "consumers": 10, "cards": 30, "tx.fraud_rate": 0.002,
               "tx.channel_share.online": 0.12, "tx.amount.mean": 41.5}  # fmt: skip
    measures = {"source": {"path": "w", "rows": 1000, "first": "2010-01-01", "last": "2011-12-31",
                           "what_ifs": extra.pop("what_ifs", [])}, "figures": figures}  # fmt: skip
    tables = [{"id": "table2", "title": "Table 2", "columns": ["attribute", "mean"], "formats": ["text", "num"],
               "rows": [["age", 45.2]]}]  # fmt: skip
    calibration = [
        {"metric": "tx.fraud_rate", "scope": "any period", "reference": 0.00122, "measured": 0.002,
         "tolerance": 0.0003, "status": "fail", "why": "", "source": "S", "unit": "pct"},
        {"metric": "tx.channel_share.online", "scope": "1991-2020", "reference": 0.111, "measured": None,
         "tolerance": 0.03, "status": "n/a", "why": "world spans 2010-2011", "source": "S", "unit": "pct"},
    ]  # fmt: skip
    return {"version": "0", "measures": measures, "tables": tables, "table_ids_main": ["table2"],
            "calibration": calibration, "profile_name": "P",
            "plots": [{"id": "p1", "title": "Amounts", "png": PNG, "caption": "exact"}], **extra}  # fmt: skip


def test_render_report_is_self_contained_and_holds_every_part():
    text = render_report(_doc())
    parser = check_page(text)
    assert {"glance", "calibration", "tables", "plots", "p1", "table2"} <= set(parser.ids)
    assert text.count("data:image/png;base64,") == 1
    assert "1 pass" not in text
    assert "0 pass, 1 fail, 1 not applicable" in text
    assert "world spans 2010-2011" in text
    assert "0.200%" in text  # the measured fraud rate as a percent


def test_what_if_world_is_flagged_first():
    text = render_report(_doc(what_ifs=["fraud x10"]))
    assert text.index("Not a representative world") < text.index("transactions</span>")
