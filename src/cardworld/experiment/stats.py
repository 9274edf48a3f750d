"""Statistics of the pre-training experiment's fine-tune runs: per-method means and spreads over seeds, and
paired comparisons of two methods on the seeds both have.

    rows = summary(records)        # one row per (task, fraction, method): mean ± sd of each metric
    diffs = paired(records, "pretrained: targets", "from scratch", "roc_auc")   # per (task, fraction)

A record is one fine-tune run: {"task", "method", "fraction", "seed", "roc_auc", "pr_auc", "positives",
"labelled", "seconds"}; a metric is None when the run could not be evaluated, and such a run counts for
nothing in that metric. A seed draws the labelled subset and the model init, and the same seed draws the
same subset for every method, so the difference of two methods on one seed is a paired observation: the
subset's luck (how many positives it drew, how typical they are) cancels in it.

The p-value of a paired comparison is the exact two-sided sign-flip permutation test: under "no difference"
each seed's difference is as likely to have either sign, so the observed |mean difference| is ranked among
the 2^n means of every sign pattern. It needs no normality assumption, but with n seeds it cannot go below
2 / 2^n: with 5 seeds the smallest p is 2/32 = 0.0625, so no 5-seed comparison reaches p < 0.05. Read p
with the wins (how many seeds the method won) and the size of the difference, not as a pass/fail test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from cardworld.errors import InputError

#: Tasks in display order.
TASKS = ("fraud", "default")
#: Methods in display order; names not listed here follow, in the order they first appear.
METHODS = (
    "pretrained: targets",
    "pretrained: targets (short horizons)",
    "pretrained: targets (long horizons)",
    "pretrained: shuffled targets",
    "CoLES",
    "from scratch",
    "LightGBM",
)
METRICS = ("roc_auc", "pr_auc")
FIELDS = ("task", "method", "fraction", "seed", *METRICS, "positives", "labelled", "seconds")
#: The most seeds the exact test enumerates (2^20 sign patterns, about a second).
MAX_EXACT_SEEDS = 20
_TIE = 1e-12  # floating-point slack: a sign pattern whose |mean| equals the observed one counts as extreme


def summary(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (task, fraction, method), in display order.

    Each row: task, fraction, method, runs (records), seeds (runs with at least one metric), roc_auc_n,
    roc_auc_mean, roc_auc_sd, pr_auc_n, pr_auc_mean, pr_auc_sd (sd with ddof=1, None below 2 values; mean
    None without values), positives_mean and seconds_mean (over every run of the group).
    """
    runs = checked(records)
    groups: dict[tuple[str, float, str], list[Mapping[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["task"], float(r["fraction"]), r["method"]), []).append(r)
    order = method_order(runs)
    rows = []
    for task, fraction, method in sorted(groups, key=lambda k: (TASKS.index(k[0]), k[1], order.index(k[2]))):
        group = groups[(task, fraction, method)]
        row: dict[str, Any] = {"task": task, "fraction": fraction, "method": method, "runs": len(group)}
        row["seeds"] = sum(any(r[m] is not None for m in METRICS) for r in group)
        for metric in METRICS:
            values = [float(r[metric]) for r in group if r[metric] is not None]
            row[f"{metric}_n"] = len(values)
            row[f"{metric}_mean"] = _mean(values)
            row[f"{metric}_sd"] = _sd(values)
        row["positives_mean"] = _mean([float(r["positives"]) for r in group])
        row["seconds_mean"] = _mean([float(r["seconds"]) for r in group])
        rows.append(row)
    return rows


def paired(
    records: Iterable[Mapping[str, Any]], method: str, baseline: str, metric: str
) -> list[dict[str, Any]]:
    """`method` - `baseline` per seed, per (task, fraction) where both have runs, in display order.

    Only seeds where both runs have `metric` enter. Each row: task, fraction, method, baseline, metric,
    seeds (the paired seeds, ascending), n, mean_diff, sd_diff (ddof=1; None below 2), wins (seeds with
    difference > 0) and p (exact two-sided sign-flip p-value; None without seeds). With 5 seeds p cannot
    go below 2/32 = 0.0625 (see the module docstring).
    """
    if metric not in METRICS:
        raise InputError(f"metric {metric!r} is not one of {', '.join(METRICS)}; pass one of those")
    runs = checked(records)
    by_key = {(r["task"], float(r["fraction"]), r["method"], int(r["seed"])): r for r in runs}
    cells = sorted(
        {(r["task"], float(r["fraction"])) for r in runs if r["method"] in (method, baseline)},
        key=lambda k: (TASKS.index(k[0]), k[1]),
    )
    rows = []
    for task, fraction in cells:
        ours = {s: r for (t, f, m, s), r in by_key.items() if (t, f, m) == (task, fraction, method)}
        theirs = {s: r for (t, f, m, s), r in by_key.items() if (t, f, m) == (task, fraction, baseline)}
        if not ours or not theirs:
            continue
        seeds = sorted(
            s for s in ours.keys() & theirs.keys() if None not in (ours[s][metric], theirs[s][metric])
        )
        diffs = [float(ours[s][metric]) - float(theirs[s][metric]) for s in seeds]
        rows.append(
            {
                "task": task,
                "fraction": fraction,
                "method": method,
                "baseline": baseline,
                "metric": metric,
                "seeds": seeds,
                "n": len(diffs),
                "mean_diff": _mean(diffs),
                "sd_diff": _sd(diffs),
                "wins": sum(d > 0 for d in diffs),
                "p": sign_flip_p(diffs) if diffs else None,
            }
        )
    return rows


def sign_flip_p(diffs: Sequence[float]) -> float:
    """Exact two-sided sign-flip permutation p-value of the mean of `diffs` (paired differences): the share
    of the 2^n sign patterns whose |mean| is at least the observed |mean|. Never below 2 / 2^n."""
    d = np.asarray(diffs, dtype=np.float64)
    n = d.size
    if n == 0:
        raise InputError("sign_flip_p needs at least one difference; pass the paired differences")
    if n > MAX_EXACT_SEEDS:
        raise InputError(
            f"the exact sign-flip test enumerates 2^n patterns; {n} differences is over {MAX_EXACT_SEEDS}: "
            "pass fewer seeds"
        )
    patterns = np.arange(2**n, dtype=np.int64)[:, None]
    signs = 1.0 - 2.0 * ((patterns >> np.arange(n)) & 1)  # row k: bit j of k set -> flip difference j
    means = np.abs(signs @ d) / n
    return float(np.mean(means >= abs(d.mean()) - _TIE))


def unit_positives(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, float], float]:
    """Mean positive units (fraud cards, defaulting accounts) per (task, fraction), over the distinct seeds:
    each seed's labelled subset counted once, whichever methods ran on it."""
    per_seed: dict[tuple[str, float], dict[int, int]] = {}
    for r in checked(records):
        per_seed.setdefault((r["task"], float(r["fraction"])), {})[int(r["seed"])] = int(r["positives"])
    return {key: float(np.mean(list(seeds.values()))) for key, seeds in per_seed.items()}


def method_order(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The methods of `records` in display order: METHODS first, then unknown names as first seen."""
    seen = list(dict.fromkeys(r["method"] for r in records))
    return [m for m in METHODS if m in seen] + [m for m in seen if m not in METHODS]


def checked(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """`records` as a list, each checked: every field present, a known task, a fraction in (0, 1], metrics
    None or in [0, 1], one run per (task, method, fraction, seed), and one labelled subset per seed (the
    same positives for every method), which the pairing relies on."""
    runs = list(records)
    runs_by_key: dict[tuple[Any, ...], int] = {}
    subsets: dict[tuple[Any, ...], tuple[int, int]] = {}
    for i, r in enumerate(runs):
        _check_record(i, r)
        key = (r["task"], r["method"], float(r["fraction"]), int(r["seed"]))
        if key in runs_by_key:
            raise InputError(
                f"records {runs_by_key[key]} and {i} are both task {key[0]!r}, method {key[1]!r}, fraction "
                f"{key[2]:g}, seed {key[3]}; keep one run per method, fraction and seed"
            )
        runs_by_key[key] = i
        subset = (r["task"], float(r["fraction"]), int(r["seed"]))
        j, positives = subsets.setdefault(subset, (i, int(r["positives"])))
        if positives != int(r["positives"]):
            raise InputError(
                f"records {j} and {i} (task {subset[0]!r}, fraction {subset[1]:g}, seed {subset[2]}) have "
                f"{positives} and {r['positives']} positives; the same seed must draw the same labelled "
                "subset for every method"
            )
    return runs


def _check_record(i: int, r: Any) -> None:
    if not isinstance(r, Mapping):
        raise InputError(f"record {i} is a {type(r).__name__}, not a dict; pass one dict per fine-tune run")
    missing = [f for f in FIELDS if f not in r]
    if missing:
        raise InputError(f"record {i} lacks {', '.join(missing)}; every record needs {', '.join(FIELDS)}")
    if r["task"] not in TASKS:
        raise InputError(f"record {i}: task {r['task']!r} is not one of {', '.join(TASKS)}")
    if not isinstance(r["method"], str) or not r["method"]:
        raise InputError(f"record {i}: method {r['method']!r} is not a name; pass the method's name")
    fraction = _number(i, "fraction", r["fraction"])
    if not 0 < fraction <= 1:
        raise InputError(f"record {i}: fraction {fraction:g} is not in (0, 1]; pass the labelled share")
    for metric in METRICS:
        if r[metric] is not None and not 0 <= _number(i, metric, r[metric]) <= 1:
            raise InputError(
                f"record {i}: {metric} {r[metric]!r} is not in [0, 1]; pass None for a run that could not "
                "be evaluated"
            )
    for field in ("seed", "positives", "labelled"):
        value = _number(i, field, r[field])
        if value != int(value) or (field != "seed" and value < 0):
            least = "" if field == "seed" else " of at least 0"
            raise InputError(
                f"record {i}: {field} {r[field]!r} is not a whole number{least}; pass an integer"
            )
    _number(i, "seconds", r["seconds"])


def _number(i: int, field: str, value: Any) -> float:
    """`value` as a finite float; anything else is an error naming the record and field."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if isinstance(value, bool | str) or not math.isfinite(out):  # "0.9" would go into the JSON as text
        raise InputError(f"record {i}: {field} {value!r} is not a finite number; pass a number")
    return out


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _sd(values: Sequence[float]) -> float | None:
    return float(np.std(values, ddof=1)) if len(values) >= 2 else None


__all__ = [
    "MAX_EXACT_SEEDS",
    "METHODS",
    "METRICS",
    "TASKS",
    "checked",
    "method_order",
    "paired",
    "sign_flip_p",
    "summary",
    "unit_positives",
]
