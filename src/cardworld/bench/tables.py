"""Benchmark documents (bench.results) as tables: the same cells for the terminal and for the README.

    markdown_table(json.loads(Path("benchmarks/targets.json").read_text()))

gives the Markdown the README pastes (`cardworld bench table FILE...` prints it); tests/bench/
test_readme_tables.py checks README.md holds exactly that for every benchmarks/*.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cardworld.bench.machine import machine_line

LEFT, RIGHT = "left", "right"


@dataclass(frozen=True)
class Part:
    """One table: a bold title, the sentence after it, (column, alignment) pairs and rows of cells."""

    title: str
    note: str
    columns: list[tuple[str, str]]
    cells: list[list[str]]


def fmt_rate(x: float | None) -> str:
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def fmt_speedup(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×"


def fmt_met(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "not met")


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _when(doc: dict) -> str:
    return f"{doc['date'][:10]}; {machine_line(doc['machine'])}"


def _not_judged(rows: list[dict], sizes: str) -> str:
    return f" n/a: not measured at the bar's sizes ({sizes})." if any(r["met"] is None for r in rows) else ""


def _targets_bars(doc: dict) -> list[Part]:
    a, rows = doc["arguments"], doc["rows"]
    base = (
        " Baseline: the naive reference (`cardworld.targets.reference`, which computes every row) on "
        f"{a['baseline_users']} users of the same suite, timed in each run (median over runs); speed-up: "
        "the median of each run's figure over that run's baseline."
        if any(r["baseline_median"] is not None for r in rows)
        else ""
    )
    note = (
        f"({_when(doc)}): {a['users']:,} users × {a['txns']:,} transactions, {_n(a['runs'], 'run')}, "
        f"each run's figure the best of {_n(a['repeats'], 'call')}.{base} met: the median over runs "
        "reaches the bar." + _not_judged(rows, "2,000 or more users × 4,096 transactions, 64 positions")
    )
    cols = [("work", LEFT), ("users/s min", RIGHT), ("users/s median", RIGHT),
            ("naive baseline users/s", RIGHT), ("speed-up", RIGHT), ("bar", RIGHT),
            ("met", LEFT)]  # fmt: skip
    cells = [
        [
            r["work"],
            fmt_rate(r["min"]),
            fmt_rate(r["median"]),
            fmt_rate(r["baseline_median"]),
            fmt_speedup(r["speedup"]),
            f"{r['bar']:,.0f}",
            fmt_met(r["met"]),
        ]
        for r in rows
    ]
    return [Part("Targets against the bars", note, cols, cells)]


def _world_bars(doc: dict) -> list[Part]:
    from cardworld.bench.world_bars import PROBE

    a, rows = doc["arguments"], doc["rows"]
    note = (
        f"({_when(doc)}): {_n(a['runs'], 'run')}, each run's figure the best of "
        f"{_n(a['repeats'], 'world')} generated end to end to Parquet, ending 2020-02-28. Probe users/s: "
        f"{PROBE}, timed just before each row in each run (median over runs); it shows how fast the "
        "machine was (there is no naive world generator). met: the median over runs reaches the bar."
        + _not_judged(rows, "scale 1, 2 workers")
    )
    cols = [("work", LEFT), ("rows", RIGHT), ("seconds min", RIGHT), ("txn/s min", RIGHT),
            ("txn/s median", RIGHT), ("probe users/s", RIGHT), ("bar", RIGHT), ("met", LEFT)]  # fmt: skip
    cells = [
        [
            r["work"],
            f"{r['rows']:,}",
            f"{r['seconds_min']:.2f}",
            fmt_rate(r["min"]),
            fmt_rate(r["median"]),
            fmt_rate(r["baseline_median"]),
            f"{r['bar']:,.0f}",
            fmt_met(r["met"]),
        ]
        for r in rows
    ]
    return [Part("World against the bars", note, cols, cells)]


def _targets_suite(doc: dict) -> list[Part]:
    a = doc["arguments"]
    note = (
        f"({doc['outputs']} outputs; {_when(doc)}): {a['users']:,} users × {a['txns']:,} transactions, "
        f"each row the best of {_n(a['repeats'], 'call')}:"
    )
    cols = [("impl", LEFT), ("processes", RIGHT), ("users", RIGHT), ("txns/user", RIGHT),
            ("targets", RIGHT), ("seconds", RIGHT), ("users/s", RIGHT), ("note", LEFT)]  # fmt: skip
    cells = [
        [
            r["impl"],
            str(r["processes"]),
            str(r["users"]),
            str(r["txns_per_user"]),
            str(r["targets"]),
            f"{r['seconds']:.4f}",
            f"{r['users_per_s']:,.0f}",
            r["note"],
        ]
        for r in doc["rows"]
    ]
    parts = [Part(f"Targets, {a['suite']}-target suite", note, cols, cells)]
    if doc.get("per_target"):
        cols2 = [("target", LEFT), ("numba s", RIGHT), ("polars s", RIGHT), ("numba speed-up", RIGHT)]
        cells2 = [
            [r["target"], f"{r['numba_s']:.4f}", f"{r['polars_s']:.4f}", f"{r['speedup']:.1f}×"]
            for r in doc["per_target"]
        ]
        parts.append(Part("Each target alone", "numba against Polars (1 thread):", cols2, cells2))
    return parts


def _world(doc: dict) -> list[Part]:
    cols = [(c, RIGHT) for c in ("consumers", "years", "backend", "workers", "shards", "fraud", "credit",
                                 "rows", "seconds", "txn/s", "peak RSS MB", "bytes/row")]  # fmt: skip
    cells = [
        [
            str(r["consumers"]),
            f"{r['years']:g}",
            r["backend"],
            str(r["workers"]),
            str(r["shards"]),
            "on" if r["fraud"] else "off",
            "on" if r["credit"] else "off",
            f"{r['rows']:,}",
            f"{r['seconds']:.2f}",
            f"{r['txn_per_s']:,.0f}",
            f"{r['peak_rss_mb']:,.0f}",
            f"{r['bytes_per_row']:.1f}",
        ]
        for r in doc["rows"]
    ]
    return [Part("World", f"({_when(doc)}), ending 2020-02-28:", cols, cells)]


RENDERERS = {
    "targets-bars": _targets_bars,
    "world-bars": _world_bars,
    "targets-suite": _targets_suite,
    "world": _world,
}


def parts(doc: dict[str, Any]) -> list[Part]:
    kind = doc.get("kind") if isinstance(doc, dict) else None  # the old bench-results/ files are lists
    if kind not in RENDERERS:
        raise ValueError(f"not a benchmark document: kind {kind!r}, expected one of {', '.join(RENDERERS)}")
    return RENDERERS[kind](doc)


def _markdown(part: Part) -> str:
    head = "| " + " | ".join(c for c, _ in part.columns) + " |"
    rule = "|" + "|".join("---:" if a == RIGHT else "---" for _, a in part.columns) + "|"
    body = ["| " + " | ".join(row) + " |" for row in part.cells]
    return "\n".join([f"**{part.title}** {part.note}", "", head, rule, *body])


def markdown_table(doc: dict[str, Any]) -> str:
    """The Markdown of a benchmark document (bench.results): each table with its title and note."""
    return "\n\n".join(_markdown(p) for p in parts(doc))
