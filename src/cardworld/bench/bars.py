"""The issue's speed bars and how a row is judged against one.

A row is measured in `runs` runs; each run's figure is the best of `repeats` timed calls, and in the same
run an in-run baseline is timed, so a slow moment of the shared machine shows in both. The row reports the
min and median of its run figures, the baseline's median, the speed-up (the median of each run's
figure / baseline, a ratio within one run) and met: the MEDIAN over runs reaches the bar. A row measured
at other sizes than the bar's (fewer transactions per user, a scaled world) is not judged (met is None).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    key: str  # the row's name in JSON and --skip
    unit: str  # "users/s" or "txn/s"
    bar: float


TARGET_BARS = {
    "numba-1": Bar("numba-1", "users/s", 50_000),
    "numba-20": Bar("numba-20", "users/s", 3_000),
    "sparse-20": Bar("sparse-20", "users/s", 10_000),
    "dataloader-20": Bar("dataloader-20", "users/s", 2_500),
}
WORLD_BARS = {
    "world-500": Bar("world-500", "txn/s", 1_000_000),
    "world-tabformer": Bar("world-tabformer", "txn/s", 1_500_000),
}


def bar_row(
    bar: Bar,
    work: str,
    figures: list[float],
    baselines: list[float | None] | None = None,
    *,
    judged: bool = True,
) -> dict:
    """The printed row of one bar from its per-run figures and, run by run, the baseline timed in that
    run (None where it was skipped)."""
    if not figures:
        raise ValueError(f"{bar.key}: no runs to summarise")
    baselines = baselines if baselines is not None else [None] * len(figures)
    if len(baselines) != len(figures):
        raise ValueError(f"{bar.key}: {len(figures)} runs but {len(baselines)} baselines")
    base = [b for b in baselines if b is not None]
    ratios = [f / b for f, b in zip(figures, baselines, strict=True) if b is not None and b > 0]
    median = statistics.median(figures)
    return {
        "key": bar.key,
        "work": work,
        "unit": bar.unit,
        "runs": len(figures),
        "min": min(figures),
        "median": median,
        "baseline_median": statistics.median(base) if base else None,
        "speedup": statistics.median(ratios) if ratios else None,
        "bar": bar.bar,
        "met": (median >= bar.bar) if judged else None,
    }
