"""Pre-training the encoder on synthetic targets computed on the fly (and the shuffled-targets ablation).

An item is a user's last `pretrain_len` rows before a random cut date (TransactionDataset over a samples
table of cut dates), its targets computed by the engine on the user's whole training history, at
`pretrain_positions` random rows (sparse targets), in the DataLoader's workers. The encoder's state at a
row predicts that row's targets (the future after it, from its past only); the loss is the mean squared
error of the scaled targets (suite.Scaler), all targets weighted alike.

shuffle=True is the ablation: each batch's values of every target are permuted across its positions, so
the targets keep their distribution but lose their link to the sequences. If the gain of pre-training
came from learning anything at all (or from the scale of the inputs), the shuffled version would match it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from cardworld.experiment.data import World
from cardworld.experiment.inputs import EXTRA, arrays
from cardworld.experiment.model import Encoder, Head, payload_to
from cardworld.experiment.presets import Preset
from cardworld.experiment.splits import CUTS, first_test_rows, seeded
from cardworld.experiment.suite import Scaler, target_suite
from cardworld.sequences import TransactionDataset

SCALER_BATCHES = 8  # batches whose targets fit the scaler
LOG_EVERY = 100  # steps between progress lines
#: The farthest a target of the suite looks ahead: "next quarter" from a quarter's first day, 6 months.
LEAD_DAYS = 184


def training_rows(world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, bounds, user ids) of every user's rows before the test period (users with none left out)."""
    before = world.before_test
    n = first_test_rows(world) - world.offsets[:-1]  # rows before the test, per user
    has = n > 0
    rows = np.flatnonzero(before)
    return rows, np.concatenate([[0], np.cumsum(n[has])]).astype(np.int64), world.users[has]


def cut_samples(
    world: World, users: np.ndarray, bounds: np.ndarray, rows: np.ndarray, cuts: int, seed: int
) -> pa.Table:
    """`cuts` cut dates per user, uniform between the day after its first row and LEAD_DAYS before the test
    start: the targets are computed on the rows before the test only, so a leading window of a later row
    would be cut short (its sum wrongly 0), noise the model could not explain. Users whose history starts
    later get none."""
    first_day = world.time[rows[bounds[:-1]]] // 86400 + 1
    last_day = world.test_from // 86400 - LEAD_DAYS
    keep = first_day < last_day
    users, first_day = users[keep], first_day[keep]
    rng = seeded(seed, CUTS)
    span = last_day - first_day
    day = first_day[:, None] + (rng.random((users.size, cuts)) * span[:, None]).astype(np.int64)
    return pa.table(
        {
            "user_id": np.repeat(users, cuts),
            "obs_date": pa.array(day.ravel().astype(np.int32), pa.date32()),
            "label": np.zeros(users.size * cuts, dtype=np.float32),
        }
    )


def pretraining_dataset(
    world: World, columns: dict[str, np.ndarray], preset: Preset, seed: int
) -> TransactionDataset:
    rows, bounds, users = training_rows(world)
    src = arrays(world, columns, rows, bounds, ids=users)
    return TransactionDataset(
        src,
        target_suite(preset.suite),
        max_len=preset.pretrain_len,
        extra_features=EXTRA,
        samples=cut_samples(world, users, bounds, rows, preset.pretrain_cuts, seed),
        target_positions=f"random:{preset.pretrain_positions}",
        positions_seed=seed,
    )


def batches(ds: TransactionDataset, batch_size: int, workers: int, seed: int) -> Iterator[Any]:
    """Endless shuffled batches, epoch after epoch (positions re-drawn each epoch)."""
    from torch.utils.data import DataLoader

    epoch = 0
    while True:
        ds.epoch = epoch
        g = torch.Generator().manual_seed(seed * 1000 + epoch)
        loader = DataLoader(
            ds, batch_size=batch_size, shuffle=True, generator=g, num_workers=workers,
            collate_fn=ds.collate_fn, drop_last=len(ds) > batch_size,
        )  # fmt: skip
        yield from loader
        epoch += 1


def pretrain_targets(
    encoder: Encoder,
    ds: TransactionDataset,
    preset: Preset,
    *,
    device: str,
    seed: int,
    shuffle: bool,
    say: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Train `encoder` in place on the target suite (module doc); returns the loss and time."""
    torch.manual_seed(seed)
    n_targets = len(ds.target_names)
    head = Head(encoder.hidden, n_targets).to(device)
    params = [*encoder.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=preset.lr)
    stream = batches(ds, preset.pretrain_batch, preset.workers, seed)
    t0 = time.perf_counter()
    warm = [next(stream) for _ in range(SCALER_BATCHES)]
    scaler = Scaler(np.concatenate([b.targets[b.target_mask].numpy() for b in warm]))
    shuffler = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    encoder.train()
    for step in range(preset.pretrain_steps):
        b = warm[step] if step < len(warm) else next(stream)
        h = encoder(payload_to(b.payload, device))
        pos = b.target_positions.to(device)
        at = torch.gather(h, 1, pos.unsqueeze(-1).expand(-1, -1, h.shape[-1]))
        y = scaler(b.targets).to(device)
        mask = b.target_mask.to(device)
        if shuffle:
            y = _shuffled(y, mask, shuffler)
        err = (head(at) - y) ** 2
        loss = (err * mask.unsqueeze(-1)).sum() / (mask.sum() * n_targets).clamp(min=1)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        losses.append(float(loss.detach()))
        if say is not None and (step + 1) % LOG_EVERY == 0:
            say(f"  step {step + 1}/{preset.pretrain_steps}: loss {np.mean(losses[-LOG_EVERY:]):.3f}")
    k = max(1, len(losses) // 10)
    return {
        "seconds": time.perf_counter() - t0,
        "steps": float(len(losses)),
        "loss_first": float(np.mean(losses[:k])),
        "loss_last": float(np.mean(losses[-k:])),
    }


def _shuffled(y: torch.Tensor, mask: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Each target's values permuted across the batch's real positions (independently per target)."""
    out = y.clone()
    idx = mask.nonzero(as_tuple=True)
    vals = y[idx]  # (n, T)
    for j in range(vals.shape[1]):
        perm = torch.randperm(vals.shape[0], generator=g).to(y.device)
        out[idx[0], idx[1], j] = vals[perm, j]
    return out
