"""Labels built from a dataset directory's tables, for supervised models on the transactions.

    from cardworld.labels import pd_samples
    samples = pd_samples("out/world", horizon_months=12)   # one row per (credit account, observation date)

Layer: above io (reads dataset tables through cardworld.io); imports only the ground floor and io.
"""

from cardworld.labels.pd_samples import SAMPLES_SCHEMA, pd_samples

__all__ = ["SAMPLES_SCHEMA", "pd_samples"]
