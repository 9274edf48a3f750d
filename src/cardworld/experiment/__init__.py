"""Does pre-training on synthetic targets help? `cardworld experiment pretrain` (run.run_experiment).

    data.py      a world's transactions in memory (sorted by user and time), the labels
    inputs.py    what the encoder reads of a row, for TransactionDataset and CoLES alike
    model.py     the encoder (embeddings + causal GRU) and heads
    suite.py     the synthetic targets of pre-training, and their scaling
    splits.py    the time split, the labelled users per seed, fraud windows, the scored test rows
    pretrain.py  pre-training on the targets (and on shuffled targets, the ablation)
    coles.py     CoLES pre-training of the same encoder, through pytorch-lifestream 0.6.0
    finetune.py  fine-tuning on fraud and on default, and scoring
    gbm.py       LightGBM on hand-made aggregates, the same splits
    stats.py     mean +- sd per cell, paired comparisons (exact sign-flip test)
    results.py   results.md, results.json and the plot
    presets.py   small (2-core CPU), full (one GPU), tiny (tests)
    run.py       the whole grid

torch, lightgbm and pytorch-lifestream come with the `experiment` extra.
"""


def __getattr__(name: str):
    """`cardworld.experiment.run_experiment`, imported on use (it needs torch)."""
    if name == "run_experiment":
        from cardworld.experiment.run import run_experiment

        return run_experiment
    raise AttributeError(f"module 'cardworld.experiment' has no attribute {name!r}")


__all__ = ["run_experiment"]
