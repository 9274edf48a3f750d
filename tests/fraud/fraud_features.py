"""Features and rules for the fraud learnability test, shared with the report (cardworld.report.fraud_features)."""

from __future__ import annotations

from cardworld.report.fraud_features import FPR, best_category_rule, card_features, recall_at_fpr

__all__ = ["FPR", "best_category_rule", "card_features", "recall_at_fpr"]
