"""The pre-training experiment's results: the run records as JSON, Markdown tables for the README, and one plot.

    paths = write_results("out/experiment", records, {"preset": "small", "seeds": 5})
    paths["json"], paths["markdown"], paths["plot"]    # results.json, results.md, auc_vs_fraction.png
    print(markdown(records, meta))                     # the same tables, as text

The tables show mean ± sd over seeds per task × label fraction × method, the best mean of each row in bold,
then each method minus "from scratch" paired by seed (stats.paired): mean ± sd of the differences, the
seeds won and the exact sign-flip p (which cannot go below 0.0625 with 5 seeds). A row whose labelled
subsets hold fewer than FEW_POSITIVES positive units on average is marked † (its AUCs are noisy).
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from cardworld.errors import InputError
from cardworld.experiment.stats import (
    METHODS,
    METRICS,
    TASKS,
    checked,
    method_order,
    paired,
    summary,
    unit_positives,
)
from cardworld.io.atomic import atomic_output
from cardworld.report import plot_style as st

#: The method every other one is compared with, seed by seed.
BASELINE = "from scratch"
FILES = {"json": "results.json", "markdown": "results.md", "plot": "auc_vs_fraction.png"}
METRIC_LABELS = {"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC"}
TASK_TITLES = {"fraud": "Fraud (per transaction)", "default": "Default (PD per account)"}
#: The positive units of each task: singular, plural.
UNITS = {"fraud": ("fraud card", "fraud cards"), "default": ("defaulting account", "defaulting accounts")}
#: Below this many positive units per labelled subset (on average) a row is marked noisy.
FEW_POSITIVES = 20
PRETRAINING = "pretraining"  # the meta key of the pre-trainings' reports (a table of its own)
NOISY = "†"
NOISY_NOTE = f"{NOISY} fewer than {FEW_POSITIVES} positive units: noisy."

#: Okabe-Ito colours (colour-blind safe); the shuffled-targets control is dashed beside its real-targets twin.
COLOURS = {
    "pretrained: targets": "#D55E00",
    "pretrained: targets (short horizons)": "#CC79A7",
    "pretrained: targets (long horizons)": "#56B4E9",
    "pretrained: shuffled targets": "#E69F00",
    "CoLES": "#009E73",
    "from scratch": st.NEUTRAL,
    "LightGBM": "#0072B2",
}
EXTRA_COLOURS = ("#F0E442", "#000000")  # methods not in METHODS, in turn
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "h")
DASHED = frozenset({"pretrained: shuffled targets"})
PLOT_SIZE = (7.5, 5.6)  # inches: two rows of the report's panels
OFFSET_DECADES = 0.035  # x shift between methods on the log axis, so error bars don't overlap


def write_results(
    out_dir: str | os.PathLike, records: Iterable[Mapping[str, Any]], meta: Mapping[str, Any], *,
    overwrite: bool = True,
) -> dict[str, Path]:  # fmt: skip
    """Write results.json, results.md and auc_vs_fraction.png into `out_dir` (created if missing) and
    return their paths under "json", "markdown" and "plot".

    Everything is computed first, then the three files replace any old ones together (each written to a
    temporary name and renamed only when all three are written), so a crash leaves the old files or
    none, never half a file. They are derived from `records` alone, hence `overwrite` defaults to True.
    """
    runs = checked(records)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"output directory {str(out)!r} is a file; give a directory")
    out.mkdir(parents=True, exist_ok=True)
    contents: dict[str, str | bytes] = {
        "json": json.dumps(_for_json(results_doc(runs, meta)), indent=1, allow_nan=False) + "\n",
        "markdown": markdown(runs, meta),
        "plot": plot_png(runs),
    }
    paths = {kind: out / name for kind, name in FILES.items()}
    with ExitStack() as stack:  # every file renamed only when all are written
        for kind, path in paths.items():
            tmp = stack.enter_context(atomic_output(path, overwrite=overwrite))
            content = contents[kind]
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                tmp.write_text(content, encoding="utf-8")
    return paths


def results_doc(records: Iterable[Mapping[str, Any]], meta: Mapping[str, Any]) -> dict[str, Any]:
    """What results.json holds: meta, the records, the summary and every method vs BASELINE for each metric
    (stats.paired rows: metric by metric, methods in display order)."""
    runs = checked(records)
    others = [m for m in method_order(runs) if m != BASELINE]
    has_baseline = any(r["method"] == BASELINE for r in runs)
    comparisons = [
        row for metric in METRICS for m in others if has_baseline for row in paired(runs, m, BASELINE, metric)
    ]
    return {
        "meta": dict(meta),
        "records": [dict(r) for r in runs],
        "summary": summary(runs),
        "paired": comparisons,
    }


# --- Markdown ---


def markdown(records: Iterable[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    """The results as Markdown: a settings line from `meta`, one table per metric (mean ± sd over seeds,
    best mean of each row in bold), then each method minus BASELINE paired by seed, per metric."""
    runs = checked(records)
    lines = ["### Pre-training experiment", ""]
    pretraining = meta.get(PRETRAINING) if meta else None
    rest = {k: v for k, v in (meta or {}).items() if k != PRETRAINING}
    if rest:
        lines += [settings(rest), ""]
    if isinstance(pretraining, Mapping) and pretraining:
        lines += _pretraining_table(pretraining)
    if not runs:
        return "\n".join([*lines, "No runs recorded yet.", ""])
    for metric in METRICS:
        lines += [f"**{METRIC_LABELS[metric]}**, mean ± sd over seeds (best in bold):", ""]
        lines += _metric_table(runs, metric)
    notes = []
    if any(_row_label(runs, *cell)[1] for cell in _cells(runs)):
        notes.append(NOISY_NOTE)
    seeds = _row_seeds(runs)
    if any(row[f"{m}_n"] < seeds[(row["task"], row["fraction"])] for row in summary(runs) for m in METRICS):
        notes.append("(n=k): only k of the row's seeds could be evaluated.")
    if any(r["method"] == BASELINE for r in runs) and len(method_order(runs)) > 1:
        for metric in METRICS:
            lines += [
                f"**{METRIC_LABELS[metric]} vs {BASELINE}**, per-seed difference: mean ± sd "
                "(seeds won / paired seeds, exact sign-flip p):",
                "",
            ]
            lines += _paired_table(runs, metric)
        notes.append(
            "p: the exact two-sided sign-flip test over the paired seeds; with 5 seeds it cannot go below "
            "2/32 = 0.0625, so read it with the wins and the size of the difference."
        )
    return "\n".join([*lines, *(line for note in notes for line in (note, ""))])


def _pretraining_table(reports: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One row per pre-trained method: its steps, loss over its first and last tenth, and time."""
    lines = ["| pre-training | steps | loss, first tenth → last tenth | time |", "|---|---:|---:|---:|"]
    for name, r in reports.items():
        loss = f"{r.get('loss_first', float('nan')):.3f} → {r.get('loss_last', float('nan')):.3f}"
        steps = "" if r.get("steps") is None else f"{int(r['steps']):,}"
        time = duration(float(r.get("seconds", 0.0)))
        lines.append(_table_row([_escape(str(name)), steps, loss, time]))
    return [*lines, ""]


def settings(meta: Mapping[str, Any]) -> str:
    """`meta` as one compact line: "Settings: preset: small · seeds: 5 · fractions: 1%, 10%, 100% · …"."""
    items = [f"{key.replace('_', ' ')}: {_setting(key, v)}" for key, v in meta.items() if v is not None]
    return "Settings: " + " · ".join(_escape(item) for item in items)


def _setting(key: str, value: Any) -> str:
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        value = value.tolist()
    if key in ("fraction", "fractions") and isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(percent(float(f)) for f in value)
    if key == "seconds" and isinstance(value, int | float) and not isinstance(value, bool):
        return duration(float(value))
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_setting(str(k), v)}" for k, v in value.items())
    if isinstance(value, set | frozenset):
        value = sorted(value, key=str)  # a set's order changes from run to run
    if isinstance(value, list | tuple):
        return ", ".join(_setting(key, v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def _metric_table(runs: list[Mapping[str, Any]], metric: str) -> list[str]:
    methods = method_order(runs)
    rows = {(r["task"], r["fraction"], r["method"]): r for r in summary(runs)}
    seeds = _row_seeds(runs)
    lines = _table_head(methods)
    for task, fraction in _cells(runs):
        label, _ = _row_label(runs, task, fraction)
        means = {
            m: rows[(task, fraction, m)][f"{metric}_mean"] for m in methods if (task, fraction, m) in rows
        }
        shown = [round(v, 3) for v in means.values() if v is not None]
        best = max(shown, default=None)
        cells = []
        for m in methods:
            row = rows.get((task, fraction, m))
            text = _metric_cell(row, metric, seeds[(task, fraction)])
            bold = row is not None and means.get(m) is not None and round(means[m], 3) == best
            cells.append(f"**{text}**" if bold else text)
        lines.append(_table_row([label, *cells]))
    return [*lines, ""]


def _metric_cell(row: Mapping[str, Any] | None, metric: str, row_seeds: int) -> str:
    """ "0.912 ± 0.010"; "0.912" with one value; "(n=3)" added when fewer seeds than the row's have it."""
    if row is None or row[f"{metric}_mean"] is None:
        return "n/a"
    text = f"{row[f'{metric}_mean']:.3f}"
    if row[f"{metric}_sd"] is not None:
        text += f" ± {row[f'{metric}_sd']:.3f}"
    if row[f"{metric}_n"] < row_seeds:
        text += f" (n={row[f'{metric}_n']})"
    return text


def _paired_table(runs: list[Mapping[str, Any]], metric: str) -> list[str]:
    others = [m for m in method_order(runs) if m != BASELINE]
    diffs = {(d["task"], d["fraction"], m): d for m in others for d in paired(runs, m, BASELINE, metric)}
    lines = _table_head(others)
    for task, fraction in _cells(runs):
        label, _ = _row_label(runs, task, fraction)
        lines.append(_table_row([label, *(_paired_cell(diffs.get((task, fraction, m))) for m in others)]))
    return [*lines, ""]


def _paired_cell(d: Mapping[str, Any] | None) -> str:
    """ "+0.012 ± 0.008 (4/5, p=0.19)"; "n/a" without paired seeds."""
    if d is None or not d["n"]:
        return "n/a"
    text = _signed(d["mean_diff"])
    if d["sd_diff"] is not None:
        text += f" ± {d['sd_diff']:.3f}"
    return f"{text} ({d['wins']}/{d['n']}, p={d['p']:.3g})"


def _row_label(runs: list[Mapping[str, Any]], task: str, fraction: float) -> tuple[str, bool]:
    """ "fraud, 1% (23 fraud cards)", with NOISY when the subsets average under FEW_POSITIVES positives."""
    positives = unit_positives(r for r in runs if r["task"] == task and r["fraction"] == fraction)
    mean = positives[(task, fraction)]
    unit = UNITS[task][0] if mean == 1 else UNITS[task][1]
    count = f"{mean:,.0f}" if mean >= 100 else f"{mean:.1f}".rstrip("0").rstrip(".")
    few = mean < FEW_POSITIVES
    return f"{task}, {percent(fraction)} ({count} {unit}){NOISY if few else ''}", few


def _cells(runs: list[Mapping[str, Any]]) -> list[tuple[str, float]]:
    """The (task, fraction) rows of the tables, in display order."""
    keys = {(r["task"], float(r["fraction"])) for r in runs}
    return sorted(keys, key=lambda k: (TASKS.index(k[0]), k[1]))


def _row_seeds(runs: list[Mapping[str, Any]]) -> dict[tuple[str, float], int]:
    """How many distinct seeds each (task, fraction) row has, over every method."""
    seeds: dict[tuple[str, float], set[int]] = {}
    for r in runs:
        seeds.setdefault((r["task"], float(r["fraction"])), set()).add(int(r["seed"]))
    return {key: len(s) for key, s in seeds.items()}


def _table_head(methods: Sequence[str]) -> list[str]:
    return [_table_row(["labelled users", *methods]), "|" + "---|" + "---:|" * len(methods)]


def _table_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _escape(text: str) -> str:
    """Markdown's emphasis and code marks taken literally (a world path with underscores stays as typed)."""
    for mark in ("\\", "*", "_", "`"):
        text = text.replace(mark, "\\" + mark)
    return text


def _signed(value: float) -> str:
    return f"{round(value, 3) + 0.0:+.3f}"  # + 0.0: a difference that rounds to -0.000 reads +0.000


def percent(fraction: float) -> str:
    """0.01 -> "1%", 0.005 -> "0.5%", 1.0 -> "100%"."""
    return f"{round(100 * fraction, 6):g}%"


def duration(seconds: float) -> str:
    """45 -> "45 s", 750 -> "12.5 min", 5400 -> "1.5 h"."""
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


# --- the plot ---


def plot(records: Iterable[Mapping[str, Any]], path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Draw the AUCs against the label fraction (plot_png) and write the PNG to `path` atomically."""
    png = plot_png(records)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(png)
    return Path(path)


def plot_png(records: Iterable[Mapping[str, Any]]) -> bytes:
    """The PNG bytes of a 2×2 figure: rows fraud, default; columns ROC-AUC, PR-AUC; x the label fraction
    (log axis), y mean ± sd over seeds per method. The same records give the same bytes."""
    runs = checked(records)
    rows = summary(runs)
    methods = method_order(runs)
    fractions = sorted({float(r["fraction"]) for r in runs})

    def draw(fig: Any) -> None:
        axes = fig.subplots(len(TASKS), len(METRICS), squeeze=False)
        handles: dict[str, Any] = {}
        for i, task in enumerate(TASKS):
            for j, metric in enumerate(METRICS):
                ax = axes[i][j]
                task_rows = [r for r in rows if r["task"] == task]
                handles.update(_panel(ax, task_rows, metric, methods, fractions))
                ax.set_title(f"{TASK_TITLES[task]}: {METRIC_LABELS[metric]}")
                ax.set_ylabel(METRIC_LABELS[metric])
                if i == len(TASKS) - 1:
                    ax.set_xlabel("labelled users (share)")
        if handles:
            fig.legend(
                list(handles.values()), list(handles), loc="outside lower center", ncols=min(5, len(handles))
            )

    return base64.b64decode(st.render(draw, size=PLOT_SIZE))


def _panel(
    ax: Any, rows: list[Mapping[str, Any]], metric: str, methods: Sequence[str], fractions: Sequence[float]
) -> dict[str, Any]:
    """One task × metric panel; returns the legend handle of each method drawn."""
    from matplotlib.ticker import NullLocator

    handles = {}
    for k, method in enumerate(methods):
        points = [r for r in rows if r["method"] == method and r[f"{metric}_mean"] is not None]
        if not points:
            continue
        shift = 10 ** (OFFSET_DECADES * (k - (len(methods) - 1) / 2))
        handles[method] = ax.errorbar(
            [r["fraction"] * shift for r in points],
            [r[f"{metric}_mean"] for r in points],
            yerr=[r[f"{metric}_sd"] or 0.0 for r in points],
            color=_colour(method, methods),
            marker=MARKERS[k % len(MARKERS)],
            linestyle="--" if method in DASHED else "-",
            markersize=4,
            linewidth=1.1,
            capsize=2.5,
        )
    if not handles:
        ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", va="center", color=st.NEUTRAL)
    if fractions:
        ax.set_xscale("log")
        ax.set_xticks(fractions, labels=[percent(f) for f in fractions])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(min(fractions) / 10**0.3, max(fractions) * 10**0.3)
    return handles


def _colour(method: str, methods: Sequence[str]) -> str:
    if method in COLOURS:
        return COLOURS[method]
    unknown = [m for m in methods if m not in COLOURS]
    return EXTRA_COLOURS[unknown.index(method) % len(EXTRA_COLOURS)]


def _for_json(value: Any) -> Any:
    """`value` as plain JSON: paths as text, tuples and sets as lists, numpy scalars unwrapped, NaN/inf null."""
    if isinstance(value, Mapping):
        return {str(k): _for_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_for_json(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_for_json(v) for v in value), key=str)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return _for_json(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = [
    "BASELINE",
    "FEW_POSITIVES",
    "FILES",
    "METHODS",
    "duration",
    "markdown",
    "percent",
    "plot",
    "plot_png",
    "results_doc",
    "settings",
    "write_results",
]
