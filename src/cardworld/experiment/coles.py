"""CoLES pre-training of the experiment encoder, run through pytorch-lifestream (ptls) 0.6.0.

CoLES (Babaev et al. 2022, "CoLES: Contrastive Learning for Event Sequences with Self-Supervision",
SIGMOD) learns sequence embeddings without labels. Each user's history is cut into several random
contiguous sub-slices (ptls SampleSlices); slices of the same user are positive pairs, slices of the other
users in the batch are negatives. A contrastive loss on the L2-normalised embeddings pulls positives
together and pushes every slice's hardest negatives (HardNegativePairSelector, 5 per slice) at least a
margin apart: the paper's contrastive loss with hard negative mining, at CoLESModule's default settings.

The training is ptls's own documented path (ColesDataset, CoLESModule, a Lightning Trainer), but on the
same `Encoder` the other pre-training methods use, so a fine-tuning comparison differs only in the
pre-training objective: a small wrapper gives ptls `Encoder.last` of the encoder's states as the slice
embedding. ptls is pinned to 0.6.0 by the `experiment` extra (0.7.0 as published is broken).

    stats = pretrain_coles(encoder, sequences, steps=2000, batch_size=64, workdir=run_dir / "coles")
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cardworld.errors import InputError
from cardworld.experiment.inputs import INPUTS
from cardworld.experiment.model import Encoder, payload_to

TIME_COL = "event_time"  # ptls's default time column; SampleSlices only reads its length
MARGIN = 0.5  # CoLESModule's default loss: ContrastiveLoss(0.5, HardNegativePairSelector(neg_count=5))
NEG_COUNT = 5
INSTALL_HINT = "pip install 'cardworld[experiment]'"

# Lightning warnings that are harmless here: one loader process is on purpose (it keeps runs reproducible),
# so is a CPU run on a machine with a GPU, and CoLES pre-training has no validation loop. The LeafSpec one is
# Lightning 2.6's use of a torch pytree API that torch 2.13 deprecates (a FutureWarning, behaviour unchanged).
_LIGHTNING_WARNINGS = (
    r".*does not have many workers",
    r".*GPU available but not used",
    r".*Skipping val loop",
    r".*isinstance\(treespec, LeafSpec\)` is deprecated",
)
# Lightning's info banners ("GPU available: ...", "`Trainer.fit` stopped: ...") go through these loggers.
_LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric")


class ColesSeqEncoder(nn.Module):
    """ptls's seq_encoder interface over `Encoder`: a ptls PaddedBatch in, one (B, H) embedding per sequence
    out (the state after its last real row). With `is_reduce_sequence` False (CoLESModule sets True), the
    per-row states come back as a PaddedBatch, as ptls's own encoders do."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.is_reduce_sequence = True  # set by ptls's ABSModule

    @property
    def embedding_size(self) -> int:
        return self.encoder.hidden

    def forward(self, batch):
        lengths = batch.seq_lens
        h = self.encoder(payload_to(batch.payload, lengths.device), lengths)
        if self.is_reduce_sequence:
            return Encoder.last(h, lengths)
        return type(batch)(h, lengths)


def pretrain_coles(
    encoder: Encoder,
    sequences: Sequence[Mapping[str, np.ndarray]],
    *,
    steps: int,
    batch_size: int,
    split_count: int = 5,
    cnt_min: int = 16,
    cnt_max: int = 128,
    lr: float = 1e-3,
    device: str = "cpu",
    seed: int = 0,
    workdir: str | os.PathLike,
) -> dict[str, float]:
    """Train `encoder` in place with CoLES for `steps` optimizer steps.

    `sequences` holds one dict per user: the INPUTS arrays (as `inputs.feature_dict` builds them) and
    "event_time" (int64 seconds), all of one length, rows by time. A batch is `batch_size` users (capped at
    the number of users), each giving `split_count` slices of `cnt_min`..`cnt_max` rows (a user with at most
    `cnt_min` rows gives its whole sequence). Lightning may write only under `workdir` (created if missing).
    The encoder ends on the device and in the train/eval mode it started in.

    Returns {"seconds", "steps", "loss_first", "loss_last"}: the losses are means over the first and the last
    `max(1, min(10, steps // 5))` steps (one batch's loss is noisy; ptls sums it over the batch's pairs).
    """
    data = _feature_dicts(sequences)
    users = min(batch_size, len(data))
    _check_settings(steps, batch_size, users, split_count, cnt_min, cnt_max, lr)
    accelerator, devices = _accelerator(device)
    ptls = _import_ptls()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    # SampleSlices draws from numpy's GLOBAL RNG (ptls has no seed for it), the weights and the shuffle from
    # torch's: seed both here so the same seed and data give the same trained weights on CPU.
    np.random.seed(seed)  # noqa: NPY002 (ptls's SampleSlices reads the legacy global RNG)
    torch.manual_seed(seed)
    dataset = ptls.ColesDataset(
        data, splitter=ptls.SampleSlices(split_count=split_count, cnt_min=cnt_min, cnt_max=cnt_max)
    )
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=users,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        collate_fn=dataset.collate_fn,
        num_workers=0,
        drop_last=True,  # a short last batch could hold one user: positives only, no negatives
    )
    module = ptls.CoLESModule(
        seq_encoder=ColesSeqEncoder(encoder),
        head=ptls.Head(use_norm_encoder=True),
        loss=ptls.ContrastiveLoss(margin=MARGIN, sampling_strategy=ptls.HardNegativePairSelector(NEG_COUNT)),
        optimizer_partial=functools.partial(torch.optim.Adam, lr=lr),
        lr_scheduler_partial=functools.partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=1.0),
    )
    start_device, was_training = _device_of(encoder), encoder.training
    started = time.perf_counter()
    losses = _fit(
        ptls, module, loader, steps=steps, accelerator=accelerator, devices=devices, workdir=workdir
    )
    seconds = time.perf_counter() - started
    encoder.to(start_device)  # Lightning's teardown moves the model to the CPU
    encoder.train(was_training)
    window = max(1, min(10, len(losses) // 5))
    return {
        "seconds": seconds,
        "steps": float(len(losses)),
        "loss_first": float(np.mean(losses[:window])) if losses else float("nan"),
        "loss_last": float(np.mean(losses[-window:])) if losses else float("nan"),
    }


def _fit(ptls: _Ptls, module, loader, *, steps: int, accelerator: str, devices, workdir: Path) -> list[float]:
    """Run Lightning's fit for `steps` steps, writing only under `workdir`; the loss of every step."""
    losses: list[float] = []
    with _quiet_lightning():
        trainer = ptls.pl.Trainer(
            max_steps=steps,
            accelerator=accelerator,
            devices=devices,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=workdir,
            num_sanity_val_steps=0,
            limit_val_batches=0,
            callbacks=[_loss_recorder(ptls.pl, losses)],
        )
        trainer.fit(module, train_dataloaders=loader)
    return losses


def _feature_dicts(sequences: Sequence[Mapping[str, np.ndarray]]) -> list[dict[str, torch.Tensor]]:
    """ptls feature dicts (tensors: ptls's collate pads tensors only) of the checked `sequences`."""
    if len(sequences) < 2:
        raise InputError(
            f"sequences has {len(sequences)} user(s); CoLES needs at least 2 (other users are the negatives)"
        )
    keys = (*INPUTS, TIME_COL)
    out = []
    for i, seq in enumerate(sequences):
        missing = [k for k in keys if k not in seq]
        if missing:
            raise InputError(
                f"sequences[{i}] lacks {', '.join(missing)}; give every user the INPUTS arrays "
                f"(inputs.feature_dict) and {TIME_COL!r} (int64 seconds)"
            )
        arrays = {k: np.asarray(seq[k]) for k in keys}
        n = arrays[TIME_COL].shape
        bad = [k for k, v in arrays.items() if v.ndim != 1 or v.shape != n]
        if bad or n[0] == 0:
            raise InputError(
                f"sequences[{i}]: {', '.join(bad) or TIME_COL} must be 1-D with one value per row, as long as "
                f"{TIME_COL!r} and not empty (shape {n}); drop users without rows"
            )
        if np.any(np.diff(arrays[TIME_COL]) < 0):
            raise InputError(f"sequences[{i}]: {TIME_COL!r} is not sorted; order each user's rows by time")
        out.append({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()})
    return out


def _check_settings(
    steps: int, batch_size: int, users: int, split_count: int, cnt_min: int, cnt_max: int, lr: float
) -> None:
    if steps < 1:
        raise InputError(f"steps is {steps}; pass at least 1 optimizer step")
    if batch_size < 2:
        raise InputError(
            f"batch_size is {batch_size}; CoLES needs at least 2 users per batch (pass 2 or more)"
        )
    if split_count < 2:
        raise InputError(f"split_count is {split_count}; pass at least 2 slices per user (positive pairs)")
    if not 1 <= cnt_min <= cnt_max:
        raise InputError(f"cnt_min={cnt_min}, cnt_max={cnt_max}; pass 1 <= cnt_min <= cnt_max")
    if (users - 1) * split_count < NEG_COUNT:
        raise InputError(
            f"a batch of {users} users x split_count={split_count} slices gives each slice "
            f"{(users - 1) * split_count} negatives; the loss mines {NEG_COUNT}: use more users or slices"
        )
    if not lr > 0:
        raise InputError(f"lr is {lr}; pass a positive learning rate")


def _accelerator(device: str) -> tuple[str, int | list[int]]:
    """Lightning's (accelerator, devices) for a torch device string."""
    kind, _, index = str(device).partition(":")
    if kind == "cpu" and not index:
        return "cpu", 1
    if kind == "cuda" and (not index or index.isdigit()):
        return "gpu", [int(index)] if index else 1
    raise InputError(f"device is {device!r}; pass 'cpu', 'cuda' or 'cuda:N'")


def _device_of(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


class _Ptls:
    """The ptls (and Lightning) names pretrain_coles uses, imported on first use: ptls pulls in
    transformers, seconds of import time that callers without CoLES should not pay."""

    def __init__(self) -> None:
        import pytorch_lightning as pl
        from ptls.frames.coles import ColesDataset, CoLESModule
        from ptls.frames.coles.losses import ContrastiveLoss
        from ptls.frames.coles.sampling_strategies import HardNegativePairSelector
        from ptls.frames.coles.split_strategy import SampleSlices
        from ptls.nn.head import Head

        self.pl, self.CoLESModule, self.ColesDataset = pl, CoLESModule, ColesDataset
        self.ContrastiveLoss, self.HardNegativePairSelector = ContrastiveLoss, HardNegativePairSelector
        self.SampleSlices, self.Head = SampleSlices, Head


def _import_ptls() -> _Ptls:
    try:
        return _Ptls()
    except ImportError as err:
        raise ImportError(
            f"CoLES pre-training needs pytorch-lifestream 0.6.0 (could not import it: {err}); {INSTALL_HINT}"
        ) from err


def _loss_recorder(pl, losses: list[float]):
    """A Lightning callback appending each training step's loss to `losses`."""

    class LossRecorder(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs
            losses.append(float(loss.detach()))

    return LossRecorder()


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning without its banners and known, harmless warnings; logger levels restored afterwards."""
    loggers = [logging.getLogger(name) for name in _LIGHTNING_LOGGERS]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        for pattern in _LIGHTNING_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        try:
            for lg in loggers:
                lg.setLevel(logging.WARNING)
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)
