"""The calibration check: a world's measures (report.measures) against a reference profile (report.profile).

    rows = calibrate(measures, load_profile())      # one row per figure: pass, fail or n/a, and why

A figure is judged only where the world can show it: a whole-period figure (`period`) where the world's
calendar years cover the period, a per-year figure (`year`) where that year is in the world, a timeless one
always; and only where the measures have the metric (credit figures need the credit cycle, consumer figures
a consumers table). Everything else is "n/a" with the reason, so a short demo world is not failed on
figures of another span.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from cardworld.report.profile import Figure, Profile, is_pattern_key, metric_unit

#: Why a credit figure is missing, by measures["source"]["credit"].
_CREDIT_WHY = {
    "off": "the world was generated with the credit cycle off",
    "empty": "the credit cycle is on but no account had a statement",
    "absent": "the dataset has no credit tables",
}


def calibrate(measures: Mapping[str, Any], profile: Profile) -> list[dict[str, Any]]:
    """One row per figure of `profile`, in its order: id, metric, scope ("2016", "1991-2020", "any
    period"), reference (a number, or [low, high] for a range), measured (None where not judged), tolerance
    (text: "±3 pp", "±20%", "" for a range), low and high (the accepted interval), status ("pass", "fail",
    "n/a"), why (the reason for "n/a", else ""), source and unit ("pct", "money", "num": how to show
    reference and measured)."""
    return [_row(f, measures) for f in profile.figures]


def counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many rows pass, fail and are not applicable."""
    return {s: sum(r["status"] == s for r in rows) for s in ("pass", "fail", "n/a")}


def _row(f: Figure, measures: Mapping[str, Any]) -> dict[str, Any]:
    unit = metric_unit(f.metric)
    low, high = f.bounds()
    measured, why = _measured(f, measures)
    if measured is not None and not math.isfinite(measured):
        measured, why = None, "the measure is not a finite number"
    status = "n/a" if measured is None else "pass" if low <= measured <= high else "fail"
    return {
        "id": f.id,
        "metric": f.metric,
        "scope": f.scope,
        "reference": list(f.range) if f.range is not None else f.value,
        "measured": measured,
        "tolerance": _tolerance_text(f, unit),
        "low": low,
        "high": high,
        "status": status,
        "why": why if status == "n/a" else "",
        "source": f.source,
        "unit": unit,
    }


def _measured(f: Figure, measures: Mapping[str, Any]) -> tuple[float | None, str]:
    """(the world's figure, "") or (None, why it is not judged)."""
    source = measures.get("source") or {}
    years = [int(y) for y in source.get("years") or []]
    span = f"{years[0]}-{years[-1]}" if years else "no years"
    if f.year is not None:
        series = (measures.get("by_year") or {}).get(f.metric)
        if years and f.year not in years:
            return None, f"world spans {span}, figure is for {f.year}"
        if series is None:
            return None, _missing(f.metric, source, measures)
        value = series.get(str(f.year))
        return (
            (None, f"no {f.metric} in {f.year} (nothing to measure it on)") if value is None else (value, "")
        )
    if f.period is not None:
        if not (years and years[0] <= f.period[0] and years[-1] >= f.period[1]):
            return None, f"world spans {span}, figure is for {f.scope}"
        if (years[0], years[-1]) != tuple(f.period) and not f.metric.startswith(_POPULATION):
            # the world's figure covers all its years: judging it by a figure of fewer years mixes periods
            return None, f"world spans {span}, figure is for {f.scope} only (give it per year instead)"
    figures = measures.get("figures") or {}
    if f.metric not in figures:
        rows = figures.get("rows")
        if is_pattern_key(f.metric) and isinstance(rows, int) and rows > 0:
            return 0.0, ""  # a code that never occurs (an MCC, an hour, an error reason) has share 0
        return None, _missing(f.metric, source, measures)
    value = figures[f.metric]
    return (
        (None, f"{f.metric} is undefined here (nothing to measure it on)") if value is None else (value, "")
    )


#: Figures of the population as it stands (consumers, their cards): a period says when the snapshot was
#: taken, so a world that covers it is judged whatever else it spans.
_POPULATION = ("consumers.", "cards.")


def _missing(metric: str, source: Mapping[str, Any], measures: Mapping[str, Any]) -> str:
    if metric.startswith("credit.") or metric == "unemployment":
        state = source.get("credit")
        return _CREDIT_WHY.get(state, f"the dataset has no credit figures (credit: {state})")
    if metric.startswith("consumers."):
        return "the dataset has no consumers table"
    if metric.startswith("cards."):
        return "the dataset has no cards table"
    return f"the measures have no {metric}"


def _tolerance_text(f: Figure, unit: str) -> str:
    if f.range is not None:
        return ""
    if f.rel_tolerance is not None:
        return f"±{_number(100 * f.rel_tolerance)}%"
    t = f.tolerance or 0.0
    if unit == "pct":
        return f"±{_number(100 * t)} pp"
    if unit == "money":
        return f"±${t:,.2f}" if t < 1000 else f"±${t:,.0f}"
    return f"±{_number(t)}"


def _number(x: float) -> str:
    """A margin without trailing zeros: 3, 0.3, 0.08, 12."""
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


__all__ = ["calibrate", "counts"]
