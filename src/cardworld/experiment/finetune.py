"""Fine-tuning an encoder (pre-trained or fresh) on fraud per transaction or on default per account, and
scoring it on the fixed test rows (splits.py).

    scores = finetune_fraud(encoder, data, train_windows, preset, device=..., seed=...)
    scores = finetune_pd(encoder, data, train_samples, preset, device=..., seed=...)

Fraud: items are windows of a user's rows (TransactionDataset over them, is_fraud as the per-row label);
the encoder's state at a row gives that row's logit, and the loss (binary cross-entropy) reads the
window's scored rows. PD: items are a user's rows before the observation date (TransactionDataset over
the samples table); the state after the last row gives the sample's logit. Budgets are in steps
(presets.py); batches are shuffled from the seed's stream, PD batches resampled to a fixed positive share.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch.nn import functional as F

from cardworld.experiment.data import World
from cardworld.experiment.inputs import EXTRA, arrays
from cardworld.experiment.model import Encoder, Head, payload_to
from cardworld.experiment.presets import Preset
from cardworld.experiment.splits import Windows
from cardworld.report.metrics import average_precision, roc_auc
from cardworld.sequences import TransactionDataset

EVAL_BATCH = 256


@dataclass(frozen=True)
class TaskData:
    """A world's rows and the extra columns the encoder reads."""

    world: World
    columns: dict[str, np.ndarray]
    # the test set's dataset, built once for all the runs that score it: (what it was built from, dataset)
    _scored: dict[str, tuple[Any, TransactionDataset]] = field(default_factory=dict, repr=False)

    def scored_dataset(self, what: str, source: Any, build) -> TransactionDataset:
        hit = self._scored.get(what)
        if hit is None or hit[0] is not source:
            self._scored[what] = hit = (source, build())
        return hit[1]


def steps_for(n_items: int, preset: Preset) -> int:
    return int(
        np.clip(round(preset.epochs * n_items / preset.finetune_batch), preset.min_steps, preset.max_steps)
    )


def window_dataset(data: TaskData, w: Windows) -> TransactionDataset:
    src = arrays(data.world, data.columns, w.rows, w.bounds, fraud_label=True)
    return TransactionDataset(src, None, max_len=None, extra_features=EXTRA, labels=["is_fraud"])


def _score_start(w: Windows) -> np.ndarray:
    """Per window, the position of its first scored row (scored rows are a suffix)."""
    first = np.minimum.reduceat(np.where(w.scored, np.arange(w.rows.size), w.rows.size), w.bounds[:-1])
    return (np.minimum(first, w.bounds[1:]) - w.bounds[:-1]).astype(np.int64)


def _fit(encoder: Encoder, head: Head, loader: Any, steps: int, lr: float, loss_of) -> dict[str, float]:
    params = [*encoder.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    encoder.train()
    head.train()
    losses = []
    it = iter(loader)
    for _ in range(steps):
        try:
            b = next(it)
        except StopIteration:
            it = iter(loader)
            b = next(it)
        loss = loss_of(b)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        losses.append(float(loss.detach()))
    return {"steps": float(steps), "loss_last": float(np.mean(losses[-max(1, steps // 10) :]))}


def finetune_fraud(
    encoder: Encoder,
    data: TaskData,
    train: Windows,
    evalw: Windows,
    preset: Preset,
    *,
    device: str,
    seed: int,
) -> dict[str, Any]:
    """Fine-tune `encoder` (in place) with a fresh head on the windows `train`; score `evalw`."""
    from torch.utils.data import DataLoader

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    head = Head(encoder.hidden, 1).to(device)
    ds = window_dataset(data, train)
    start = torch.from_numpy(_score_start(train))
    g = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        ds, batch_size=preset.finetune_batch, shuffle=True, generator=g, collate_fn=ds.collate_fn
    )

    def loss_of(b) -> torch.Tensor:
        logit = head(encoder(payload_to(b.payload, device))).squeeze(-1)
        mask = _scored_mask(b, start).to(device)
        y = b.labels[..., 0].to(device)
        return F.binary_cross_entropy_with_logits(logit[mask], y[mask])

    fit = _fit(encoder, head, loader, steps_for(train.n, preset), preset.lr, loss_of)
    score = _score_windows(encoder, head, data, evalw, device)
    y = data.world.fraud[evalw.rows[evalw.scored]]
    w = evalw.weight[evalw.scored]
    return {**fit, **metrics(score, y, w), "seconds": time.perf_counter() - t0}


def _scored_mask(b: Any, start: torch.Tensor) -> torch.Tensor:
    pos = torch.arange(b.seq_len_mask.shape[1]).unsqueeze(0)
    return b.seq_len_mask & (pos >= start[b.user_ids.long()].unsqueeze(1))


@torch.no_grad()
def _score_windows(encoder: Encoder, head: Head, data: TaskData, w: Windows, device: str) -> np.ndarray:
    """Logits of the scored rows of `w`, in row order."""
    from torch.utils.data import DataLoader

    encoder.eval()
    head.eval()
    ds = data.scored_dataset("fraud", w, lambda: window_dataset(data, w))
    start = torch.from_numpy(_score_start(w))
    out = []
    for b in DataLoader(ds, batch_size=EVAL_BATCH, shuffle=False, collate_fn=ds.collate_fn):
        logit = head(encoder(payload_to(b.payload, device))).squeeze(-1).cpu()
        out.append(logit[_scored_mask(b, start)].numpy())  # row-major: window by window, rows in order
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def sample_dataset(data: TaskData, samples: pa.Table, preset: Preset) -> TransactionDataset:
    w = data.world
    src = arrays(w, data.columns, np.arange(w.n_rows), w.offsets, ids=w.users)
    return TransactionDataset(src, None, max_len=preset.pd_len, extra_features=EXTRA, samples=samples)


def finetune_pd(
    encoder: Encoder, data: TaskData, train: pa.Table, test: pa.Table, test_weight: np.ndarray, preset: Preset,
    *, device: str, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Fine-tune `encoder` (in place) with a fresh head on the PD samples `train`; score `test`."""
    from torch.utils.data import DataLoader, WeightedRandomSampler

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    head = Head(encoder.hidden, 1).to(device)
    ds = sample_dataset(data, train, preset)
    y = train["label"].to_numpy().astype(np.float64)
    p = preset.pd_positive_share if 0 < y.sum() < y.size else float(y.mean())
    weights = np.where(y > 0, p / max(y.sum(), 1), (1 - p) / max((1 - y).sum(), 1))
    steps = steps_for(len(ds), preset)
    g = torch.Generator().manual_seed(seed)
    sampler = WeightedRandomSampler(weights.tolist(), steps * preset.finetune_batch, generator=g)
    loader = DataLoader(ds, batch_size=preset.finetune_batch, sampler=sampler, collate_fn=ds.collate_fn)

    def loss_of(b) -> torch.Tensor:
        h = encoder(payload_to(b.payload, device))
        logit = head(Encoder.last(h, b.seq_lens)).squeeze(-1)
        return F.binary_cross_entropy_with_logits(logit, b.labels[:, 0].to(device))

    fit = _fit(encoder, head, loader, steps, preset.lr, loss_of)
    test_ds = data.scored_dataset("default", test, lambda: sample_dataset(data, test, preset))
    score = _score_samples(encoder, head, test_ds, device)
    label = test["label"].to_numpy().astype(bool)
    return {**fit, **metrics(score, label, test_weight), "seconds": time.perf_counter() - t0}


@torch.no_grad()
def _score_samples(encoder: Encoder, head: Head, ds: TransactionDataset, device: str) -> np.ndarray:
    from torch.utils.data import DataLoader

    encoder.eval()
    head.eval()
    out = []
    for b in DataLoader(ds, batch_size=EVAL_BATCH, shuffle=False, collate_fn=ds.collate_fn):
        h = encoder(payload_to(b.payload, device))
        out.append(head(Encoder.last(h, b.seq_lens)).squeeze(-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def metrics(score: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> dict[str, float | None]:
    """ROC-AUC and PR-AUC (average precision), weighted; None when one class is missing."""
    y = np.asarray(y, dtype=bool)
    if not (y.any() and (~y).any()) or not np.all(np.isfinite(score)):  # one class, or a diverged model
        return {"roc_auc": None, "pr_auc": None}
    return {"roc_auc": roc_auc(score, y, w), "pr_auc": average_precision(score, y, w)}
