"""Labels built from a dataset directory's tables, for supervised models on the transactions.

    from cardworld.labels import pd_features, pd_samples
    samples = pd_samples("out/world", horizon_months=12)   # one row per (credit account, observation date)
    X = pd_features("out/world", samples)                  # per-account history before each obs_date

Layer: above io (reads dataset tables through cardworld.io); imports only the ground floor and io.
"""

from cardworld.labels.pd_features import FEATURES, pd_features
from cardworld.labels.pd_samples import SAMPLES_SCHEMA, pd_samples

__all__ = ["FEATURES", "SAMPLES_SCHEMA", "pd_features", "pd_samples"]
