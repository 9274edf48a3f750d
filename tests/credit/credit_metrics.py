"""ROC-AUC helpers for the credit tests, shared with the report (cardworld.report.metrics): rank-based, ties
sharing their mean rank; single_column_auc places NaN at either end."""

from __future__ import annotations

from cardworld.report.metrics import category_auc, roc_auc, single_column_auc

__all__ = ["category_auc", "roc_auc", "single_column_auc"]
