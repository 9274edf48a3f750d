"""The synthetic targets the encoder is pre-trained on, and how they are scaled for one multi-task loss.

Mostly leading and next-period windows: the future a model has to anticipate from the past (spend, counts,
categories, cash, online bursts, large purchases, refunds), with two "so far" windows for context. The
engine computes them on the fly in the DataLoader (TransactionDataset with sparse random positions).
Values go through a signed log1p, then are standardised per target with a mean and sd measured on the
first batches, so every target weighs about the same in the loss.
"""

from __future__ import annotations

import numpy as np

from cardworld.errors import InputError
from cardworld.experiment.inputs import ONLINE
from cardworld.targets import TargetSpec

GROCERY = [5411, 5499]
DINING = [5812, 5813, 5814]
FUEL = [5541, 5542]
TRAVEL = [3000, 3001, 3005, 3006, 3007, 3008, 3009, 4111, 4112, 4131, 4411, 4511, 4722, 7011, 7512]
CASH = [4829, 6010, 6011, 6051]


#: Sub-suites for the follow-up ablations (presets.Preset.suite): the short horizons (a day or a week, what
#: a fraud burst changes) and the long ones (30 days and more, what distress changes).
SHORT = ("n_next_24h", "spend_next_7d", "online_next_24h", "online_last_7d")
SUITES = ("all", "short", "long")


def target_suite(which: str = "all") -> list[TargetSpec]:
    """The pre-training targets: all of them, or the short or long horizons only."""
    if which not in SUITES:
        raise InputError(f"unknown target suite {which!r}; pass one of {', '.join(SUITES)}")
    specs = _all()
    if which == "short":
        return [s for s in specs if s.name in SHORT]
    if which == "long":
        return [s for s in specs if s.name not in SHORT]
    return specs


def _all() -> list[TargetSpec]:
    def spec(name: str, agg: str, window: str, mode: str, **kw) -> TargetSpec:
        return TargetSpec(name=name, agg=agg, window=window, mode=mode, **kw)

    return [
        spec("n_next_24h", "count", "24h", "leading"),
        spec("spend_next_7d", "sum", "7d", "leading"),
        spec("spend_next_30d", "sum", "30d", "leading"),
        spec("n_next_30d", "count", "30d", "leading"),
        spec("max_next_30d", "max", "30d", "leading"),
        spec("spend_next_quarter", "sum", "quarter", "next"),
        spec("grocery_next_month", "sum", "month", "next", mcc=GROCERY),
        spec("dining_next_30d", "sum", "30d", "leading", mcc=DINING),
        spec("fuel_next_30d", "sum", "30d", "leading", mcc=FUEL),
        spec("travel_max_next_90d", "max", "90d", "leading", mcc=TRAVEL),
        spec("cash_next_90d", "sum", "90d", "leading", mcc=CASH),
        spec("online_next_24h", "sum", "24h", "leading", value=ONLINE),
        spec("n_large_next_30d", "count", "30d", "leading", amount_min=500.0),
        spec("n_refunds_next_30d", "count", "30d", "leading", amount_max=-0.01),
        spec("spend_this_month", "sum", "month", "expanding"),
        spec("online_last_7d", "sum", "7d", "trailing", value=ONLINE),
    ]


class Scaler:
    """signed log1p, then (x - mean) / sd per target; fitted once on sample values (masked entries left out)."""

    def __init__(self, values: np.ndarray) -> None:
        v = self.squash(np.asarray(values, dtype=np.float64))
        self.mean = v.mean(axis=0)
        # a floor: a target constant in the fitting batches (a rare category) must not blow up later
        self.sd = np.maximum(v.std(axis=0), 0.1)

    @staticmethod
    def squash(x: np.ndarray) -> np.ndarray:
        return np.sign(x) * np.log1p(np.abs(x))

    def __call__(self, x):  # numpy or torch, (..., T)
        import torch

        if isinstance(x, torch.Tensor):
            mean = torch.as_tensor(self.mean, dtype=x.dtype, device=x.device)
            sd = torch.as_tensor(self.sd, dtype=x.dtype, device=x.device)
            return (torch.sign(x) * torch.log1p(torch.abs(x)) - mean) / sd
        return (self.squash(x) - self.mean) / self.sd
