"""Shared by the experiment's tests: one fine-tune record, as run.py writes them."""

from __future__ import annotations


def record(method="from scratch", seed=0, roc=0.8, pr=0.2, task="fraud", fraction=0.1, positives=30, **extra):
    return {
        "task": task,
        "method": method,
        "fraction": fraction,
        "seed": seed,
        "roc_auc": roc,
        "pr_auc": pr,
        "positives": positives,
        "labelled": 100,
        "seconds": 2.0,
        **extra,
    }
