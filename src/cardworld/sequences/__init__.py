"""User sequences with synthetic targets and labels for PyTorch: a map-style dataset and a padded-batch
collate.

    from cardworld.sequences import TransactionDataset
    ds = TransactionDataset("out/world", specs, max_len=512, labels=["is_fraud"])  # a dataset directory
    loader = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=2, collate_fn=ds.collate_fn)

torch is imported lazily: importing this package does not import it.
"""

from cardworld.sequences.batch import PaddedBatch, collate_padded
from cardworld.sequences.dataset import FEATURES, TransactionDataset

__all__ = ["FEATURES", "PaddedBatch", "TransactionDataset", "collate_padded"]
