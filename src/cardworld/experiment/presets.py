"""The experiment's settings: a world recipe, the splits, the model and the training budget, per preset.

    small   2-core CPU, at most 20 minutes end to end (world included)
    full    one GPU (--device cuda): a 10x world, a wider and longer model, the full grid
    tiny    the test suite's (a few seconds: the pipeline runs, nothing is measured)

Fine-tuning budgets are in optimizer steps, so a fine-tune on 1% of the labels is not 100x cheaper than
one on all of them but takes `epochs` passes over its windows, between min_steps and max_steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class WorldRecipe:
    """What `cardworld experiment world` generates (defaults over-sampled so PD has positives)."""

    consumers: int
    start: str
    end: str
    default_multiplier: float = 3.0
    seed: int = 0

    def overrides(self) -> dict[str, Any]:
        return {
            "consumers": self.consumers,
            "start": self.start,
            "end": self.end,
            "seed": self.seed,
            "credit": {"default_multiplier": self.default_multiplier},
        }


@dataclass(frozen=True)
class Preset:
    name: str
    world: WorldRecipe
    test_from: str  # fraud: rows from this day on are the test; PD: observation dates from it on
    horizon_months: int  # PD label window
    fractions: tuple[float, ...] = (0.01, 0.1, 1.0)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    methods: tuple[str, ...] = ("targets", "shuffled", "coles", "scratch", "lightgbm")
    # model
    hidden: int = 64
    embed: int = 16
    # pre-training (targets and shuffled targets, and CoLES)
    pretrain_len: int = 128  # rows per pre-training item (the last before a random cut date)
    pretrain_cuts: int = 16  # cut dates per user
    pretrain_positions: int = 16  # targets at this many random rows of an item
    suite: str = "all"  # the target suite (suite.SUITES): all, or the short or long horizons only
    pretrain_steps: int = 600
    pretrain_batch: int = 64
    coles_steps: int = 250
    coles_batch: int = 32  # users per batch, each cut into coles_splits slices
    coles_splits: int = 4
    # fine-tuning
    fraud_len: int = 64  # rows per fraud window (scores are kept on its second half)
    fraud_negatives: int = 3  # genuine anchor windows per fraud anchor
    pd_len: int = 96  # rows before the observation date
    pd_positive_share: float = 0.25  # share of positives in a PD fine-tuning batch (resampled)
    finetune_batch: int = 64
    epochs: float = 3.0
    min_steps: int = 40
    max_steps: int = 120
    lr: float = 2e-3  # every neural method, pre-training and fine-tuning alike
    # evaluation (the same rows for every method and seed; weighted back to all rows)
    eval_genuine_users: float = 0.12  # share of the users without test fraud whose test rows are scored
    eval_pd_negatives: int = 4000  # negative PD test samples scored (all positives are)
    threads: int = 2
    workers: int = 1  # DataLoader worker processes of pre-training (targets are computed there)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from cardworld.errors import InputError

        def bad(field: str, rule: str) -> InputError:
            return InputError(f"preset {self.name!r}: {field} = {getattr(self, field)!r}; it must be {rule}")

        if not self.fractions or not all(0 < f <= 1 for f in self.fractions):
            raise bad("fractions", "label fractions in (0, 1]")
        if not self.seeds or not self.methods:
            raise bad("seeds" if not self.seeds else "methods", "a non-empty list")
        if self.fraud_len < 2:
            raise bad("fraud_len", ">= 2 (a window's second half is scored)")
        if not 0 < self.eval_genuine_users <= 1:
            raise bad("eval_genuine_users", "a share in (0, 1]")
        if not 0 < self.pd_positive_share < 1:
            raise bad("pd_positive_share", "a share in (0, 1)")
        for f in (
            "pd_len",
            "pretrain_len",
            "pretrain_steps",
            "coles_steps",
            "min_steps",
            "max_steps",
            "finetune_batch",
            "pretrain_batch",
        ):
            if getattr(self, f) < 1:
                raise bad(f, ">= 1")

    def with_(self, **changes: Any) -> Preset:
        return replace(self, **changes)


SMALL = Preset(
    name="small",
    world=WorldRecipe(consumers=2000, start="2015-01-01", end="2019-12-31"),
    test_from="2019-01-01",
    horizon_months=6,
)

FULL = Preset(
    name="full",
    world=WorldRecipe(consumers=20_000, start="2012-01-01", end="2019-12-31"),
    test_from="2018-07-01",
    horizon_months=12,
    hidden=128,
    embed=24,
    pretrain_len=256,
    pretrain_cuts=24,
    pretrain_positions=32,
    pretrain_steps=6000,
    pretrain_batch=256,
    coles_steps=3000,
    coles_batch=128,
    coles_splits=5,
    fraud_len=128,
    pd_len=256,
    finetune_batch=256,
    epochs=8.0,
    min_steps=100,
    max_steps=3000,
    eval_genuine_users=0.2,
    eval_pd_negatives=40_000,
    threads=8,
    workers=6,
)

TINY = Preset(
    name="tiny",
    world=WorldRecipe(consumers=30, start="2017-01-01", end="2018-12-31", default_multiplier=10.0),
    test_from="2018-07-01",
    horizon_months=3,
    fractions=(0.5, 1.0),
    seeds=(0, 1),
    hidden=8,
    embed=4,
    pretrain_len=16,
    pretrain_cuts=2,
    pretrain_positions=4,
    pretrain_steps=3,
    pretrain_batch=8,
    coles_steps=3,
    coles_batch=8,
    coles_splits=2,
    fraud_len=8,
    pd_len=16,
    finetune_batch=16,
    epochs=1.0,
    min_steps=2,
    max_steps=3,
    eval_genuine_users=0.5,
    eval_pd_negatives=200,
    threads=1,
    workers=0,
)

PRESETS = {p.name: p for p in (SMALL, FULL, TINY)}
