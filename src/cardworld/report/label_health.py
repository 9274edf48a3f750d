"""Label health: months with activity but no label, tested against the world's own label rate.

    health = label_health(measures)      # measures from report.measures (its "by_month" part)

Fraud labels are counted as episodes where the measures have them (by_month fraud_cards: the cards with a
fraud row in the month), since a compromised card makes a burst of fraud rows: the rate r is then episodes
per row. Default labels are charge-offs per statement.

Why: real labelled datasets have long label-free stretches. TabFormer has 51 months with normal volume and
no fraud label at all, which breaks time-based train/test splits (a test month without a positive has no
recall to measure) and hints at a labelling gap rather than a quiet month. Here each month's exposure
(rows for fraud, credit statements for default) and labels (fraud rows, charge-offs) are compared with the
dataset's own overall rate r = labels / exposure: a month with exposure n and no label has Poisson
probability p = exp(-r n / d) of being empty by chance, and months with p < alpha are flagged. Runs of
consecutive active months without a label (a month without activity ends a run) are tested the same way,
on their summed exposure: a run of quiet months can be unlikely even where each month alone is not, which
is what breaks a time split. The longest run is reported too.

d is the labels' dispersion. Fraud rows come in episodes (a compromised card makes several fraud rows, a
campaign many), so the independent events are fewer than the rows: with d = 1 (pure Poisson on rows) a
100-consumer world with fraud campaigns has most of its empty months "flagged" although nothing is missing.
d is estimated as the quasi-Poisson dispersion, robustly: the median over active months of the squared
Pearson residual (k - r n)^2 / (r n), over its median under a Poisson law (0.455, chi-square with one
degree of freedom), at least 1. The median is unmoved by up to half the months being a labelling gap, so
a gap does not hide itself by inflating d. Pass dispersion=1.0 for the plain Poisson test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from cardworld.errors import InputError

#: Flag an empty month when chance alone would leave it empty less often than this.
ALPHA = 0.001
#: Median of the chi-square distribution with one degree of freedom: a Poisson count's squared Pearson
#: residual has this median, so median / this estimates the dispersion.
_CHI2_1_MEDIAN = 0.454936


def label_health(
    measures: Mapping[str, Any], alpha: float = ALPHA, dispersion: float | None = None
) -> dict[str, Any]:
    """{"fraud": {...}, "default": {...} or None, "alpha"}: per label, the world's rate, the dispersion
    used (estimated unless `dispersion` is given; 1.0 is the plain Poisson test), the months with activity
    and without a label, the flagged months ({"month", "exposure", "expected" labels, "p"}), the longest
    label-free run ({"from", "to", "months"}, None without one) and the totals. Default health needs the
    credit cycle's statements and charge-offs per month (None without them)."""
    by_month = measures.get("by_month") or {}
    months = list(by_month.get("months") or [])
    episodes = by_month.get("fraud_cards")  # cards with fraud that month; older measures: fraud rows
    fraud_labels = episodes if episodes is not None else by_month.get("fraud_rows")
    fraud = _health(months, by_month.get("rows"), fraud_labels, alpha, dispersion)
    if fraud is not None:
        fraud["labels_are"] = "cards with fraud in the month" if episodes is not None else "fraud rows"
    default = _health(months, by_month.get("statements"), by_month.get("charge_offs"), alpha, dispersion)
    return {"fraud": fraud, "default": default, "alpha": alpha}


def estimate_dispersion(exposure: Sequence[int], labels: Sequence[int]) -> float:
    """How clustered the labels are, 1.0 for independent ones: the median squared Pearson residual of the
    active months over its Poisson median, at least 1 (1.0 without labels or with under 3 active months)."""
    total_n, total_k = sum(exposure), sum(labels)
    if total_k == 0:
        return 1.0
    rate = total_k / total_n
    residuals = sorted(
        (k - rate * n) ** 2 / (rate * n) for n, k in zip(exposure, labels, strict=True) if n > 0
    )
    if len(residuals) < 3:
        return 1.0
    mid = len(residuals) // 2
    median = residuals[mid] if len(residuals) % 2 else (residuals[mid - 1] + residuals[mid]) / 2
    return max(1.0, median / _CHI2_1_MEDIAN)


def _health(
    months: Sequence[str],
    exposure: Sequence[int] | None,
    labels: Sequence[int] | None,
    alpha: float,
    dispersion: float | None,
) -> dict[str, Any] | None:
    if exposure is None or labels is None:
        return None
    if not len(months) == len(exposure) == len(labels):
        raise InputError(
            f"measures by_month: {len(months)} months but {len(exposure)} exposure and {len(labels)} label "
            "counts; give one count per month"
        )
    total_n, total_k = int(sum(exposure)), int(sum(labels))
    rate = total_k / total_n if total_n > 0 else 0.0
    d = estimate_dispersion(exposure, labels) if dispersion is None else float(dispersion)
    flagged, empty = [], 0
    for month, n, k in zip(months, exposure, labels, strict=True):
        if n > 0 and k == 0:
            empty += 1
            p = math.exp(-rate * n / d)
            if p < alpha:
                flagged.append({"month": month, "exposure": int(n), "expected": rate * n, "p": p})
    return {
        "rate": rate,
        "dispersion": d,
        "exposure": total_n,
        "labels": total_k,
        "months_active": sum(1 for n in exposure if n > 0),
        "months_without_label": empty,
        "flagged": flagged,
        "flagged_runs": _flagged_runs(months, exposure, labels, rate, d, alpha),
        "longest_run": _longest_run(months, exposure, labels),
    }


def _flagged_runs(
    months: Sequence[str], exposure: Sequence[int], labels: Sequence[int], rate: float, d: float, alpha: float
) -> list[dict[str, Any]]:
    """Runs of two or more consecutive active, label-free months whose summed exposure makes them unlikely:
    p = exp(-rate * exposure of the run / d) < alpha."""
    runs, start = [], None
    for i, (n, k) in enumerate([*zip(exposure, labels, strict=True), (0, 0)]):  # a sentinel ends the last run
        if n > 0 and k == 0:
            start = i if start is None else start
            continue
        if start is not None and i - start >= 2:
            n_run = int(sum(exposure[start:i]))
            p = math.exp(-rate * n_run / d)
            if p < alpha:
                runs.append({"from": months[start], "to": months[i - 1], "months": i - start,
                             "exposure": n_run, "expected": rate * n_run, "p": p})  # fmt: skip
        start = None
    return runs


def _longest_run(
    months: Sequence[str], exposure: Sequence[int], labels: Sequence[int]
) -> dict[str, Any] | None:
    """The longest stretch of consecutive months with activity and no label (the first if tied)."""
    best: tuple[int, int] | None = None
    start = None
    for i, (n, k) in enumerate(zip(exposure, labels, strict=True)):
        if n > 0 and k == 0:
            start = i if start is None else start
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
        else:
            start = None
    if best is None:
        return None
    return {"from": months[best[0]], "to": months[best[1]], "months": best[1] - best[0] + 1}


__all__ = ["ALPHA", "estimate_dispersion", "label_health"]
