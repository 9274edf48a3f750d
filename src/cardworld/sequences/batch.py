"""A typed padded batch of user sequences, and the collate function that builds it.

torch is imported inside functions only, so `import cardworld.sequences` works without torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cardworld.errors import InputError

if TYPE_CHECKING:
    import torch

# Item keys that are not padded sequence features.
LENGTH, USER_ID, TARGETS, TARGET_NAMES = "length", "user_id", "targets", "target_names"
LABELS, LABEL_NAMES = "labels", "label_names"
SAMPLE_INDEX, OBS_DATE = "sample_index", "obs_date"  # items of a dataset over samples (one per sample row)
TARGET_POSITIONS = "target_positions"  # items of a dataset with sparse targets: the rows that have them
# Item keys that are not payload features (the dataset's items carry them beside the features).
ITEM_KEYS = (
    LENGTH,
    USER_ID,
    TARGETS,
    TARGET_NAMES,
    LABELS,
    LABEL_NAMES,
    SAMPLE_INDEX,
    OBS_DATE,
    TARGET_POSITIONS,
)
_NOT_FEATURES = ITEM_KEYS
_PADDED = "_cardworld_padded"  # attribute marking a buffer written in padded layout


@dataclass
class PaddedBatch:
    """B user sequences right-padded with zeros to the batch's longest one (L).

    payload: feature name -> (B, L) tensor (model inputs only: targets and labels are kept apart so a
    model that embeds every payload feature cannot see them). targets: float32 (B, L, n_outputs) and
    labels: float32 (B, L, n_labels), per-row, in target_names / label_names order, 0 where padded (use
    seq_len_mask to leave padding out of a loss).

    A dataset over samples (TransactionDataset(samples=...), e.g. PD samples) has one label per sequence
    instead: labels is float32 (B, n_labels) (label_names ["label"]), and sample_indices (the samples
    table's row) and obs_dates (days since 1970-01-01: the history is cut at that date's 00:00) say which
    sample each sequence is.

    Sparse targets (TransactionDataset(target_positions=...)): targets only at some rows of each sequence.
    target_positions int64 (B, P) holds them (rows of the sequence, ascending; P = the batch's most, padded
    with 0), target_mask bool (B, P) is True on real ones, and targets is float32 (B, P, n_outputs), 0
    where masked: targets[i, j] belongs to row target_positions[i, j] (e.g. gather a model's (B, L, H)
    output with target_positions, and weight the loss by target_mask). Dense targets leave both None.
    """

    payload: dict[str, torch.Tensor]
    seq_lens: torch.Tensor  # int64 (B,)
    seq_len_mask: torch.Tensor  # bool (B, L): True on real rows
    targets: torch.Tensor | None = None  # float32 (B, L, len(target_names)), or (B, P, ...) when sparse
    target_names: list[str] = field(default_factory=list)
    user_ids: torch.Tensor | None = None  # int64 (B,)
    labels: torch.Tensor | None = (
        None  # float32 (B, L, len(label_names)), or (B, len(label_names)) per sample
    )
    label_names: list[str] = field(default_factory=list)
    sample_indices: torch.Tensor | None = None  # int64 (B,): row of the samples table
    obs_dates: torch.Tensor | None = None  # int64 (B,): observation date, days since 1970-01-01
    target_positions: torch.Tensor | None = None  # int64 (B, P): the rows that have targets (sparse)
    target_mask: torch.Tensor | None = None  # bool (B, P): True on real positions (sparse)

    def __len__(self) -> int:
        return int(self.seq_lens.shape[0])

    @property
    def max_len(self) -> int:
        return int(self.seq_len_mask.shape[1])

    def _map(self, fn) -> PaddedBatch:
        return replace(
            self,
            payload={k: fn(v) for k, v in self.payload.items()},
            seq_lens=fn(self.seq_lens),
            seq_len_mask=fn(self.seq_len_mask),
            targets=None if self.targets is None else fn(self.targets),
            user_ids=None if self.user_ids is None else fn(self.user_ids),
            labels=None if self.labels is None else fn(self.labels),
            sample_indices=None if self.sample_indices is None else fn(self.sample_indices),
            obs_dates=None if self.obs_dates is None else fn(self.obs_dates),
            target_positions=None if self.target_positions is None else fn(self.target_positions),
            target_mask=None if self.target_mask is None else fn(self.target_mask),
        )

    def to(self, device: Any, non_blocking: bool = False) -> PaddedBatch:
        """A copy with every tensor on `device`."""
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> PaddedBatch:
        """Called by DataLoader(pin_memory=True)."""
        return self._map(lambda t: t.pin_memory())


def _empty(shape: tuple[int, ...], dtype: torch.dtype, shared: bool) -> torch.Tensor:
    import torch

    if shared:
        # In a DataLoader worker, write straight into shared memory (as torch's default_collate does):
        # otherwise sending the batch to the main process copies every tensor once more.
        proto = torch.empty(0, dtype=dtype)
        storage = proto._typed_storage()._new_shared(math.prod(shape), device="cpu")
        return proto.new(storage).resize_(shape)
    return torch.empty(shape, dtype=dtype)


def padded_buffer(shape: tuple[int, ...], dtype: torch.dtype, shared: bool) -> torch.Tensor:
    """An uninitialised (B, L, ...) buffer that its writer promises to fill and zero-pad (see _prepadded)."""
    return mark_padded(_empty(shape, dtype, shared))


def mark_padded(t: torch.Tensor) -> torch.Tensor:
    """Mark a (B, L, ...) tensor whose row i holds item i followed by zeros."""
    setattr(t, _PADDED, True)
    return t


def _prepadded(tensors: Sequence[torch.Tensor], lengths: list[int], length: int) -> torch.Tensor | None:
    """The marked buffer whose rows 0..B-1 start with exactly these tensors, in order; else None."""
    base = tensors[0]._base
    if base is None or not getattr(base, _PADDED, False) or tuple(base.shape[:2]) != (len(tensors), length):
        return None
    step, p0 = base.stride(0) * base.element_size(), base.data_ptr()
    for i, (t, n) in enumerate(zip(tensors, lengths, strict=True)):
        if t._base is not base or t.data_ptr() != p0 + i * step or t.shape[0] != n:
            return None
    return base


def _pad(tensors: Sequence[torch.Tensor], lengths: list[int], length: int, shared: bool) -> torch.Tensor:
    """(B, length, ...) tensor: item i in row i, zeros after its lengths[i] rows."""
    ready = _prepadded(tensors, lengths, length)
    if ready is not None:  # items of one TransactionDataset.__getitems__ call: already padded, no copy
        return ready
    rest = tuple(tensors[0].shape[1:])
    out = _empty((len(tensors), length, *rest), tensors[0].dtype, shared)
    # One copy per item: measured faster than torch.cat + boolean-mask assignment (index_put is slow).
    for i, (t, n) in enumerate(zip(tensors, lengths, strict=True)):
        out[i, :n].copy_(t)
        if n < length:
            out[i, n:].zero_()
    return out


def collate_padded(items: Sequence[Mapping[str, Any]]) -> PaddedBatch:
    """Pad items of TransactionDataset (dicts of per-row tensors) into one PaddedBatch.

    Each item has (L_i,) or (L_i, ...) feature tensors, an int64 scalar `length`, and optionally
    `targets` (L_i, n_outputs), `labels` (L_i, n_labels) per row or (n_labels,) per sequence (stacked to
    (B, n_labels)), `user_id`, `sample_index`, `obs_date`, `target_names` and `label_names`. Items with
    `target_positions` (p_i,) have sparse `targets` (p_i, n_outputs): both are padded to the batch's most
    positions P, with target_mask saying which are real.
    """
    import torch
    from torch.utils.data import get_worker_info

    if len(items) == 0:
        raise InputError("collate_padded got an empty list of items; use a batch size of at least 1")
    first = items[0]
    if LENGTH not in first:
        raise InputError(
            f"collate_padded items need a 'length' entry (int64 scalar tensor); got keys {sorted(first)}"
        )
    seq_lens = torch.stack([torch.as_tensor(it[LENGTH], dtype=torch.int64) for it in items])
    lengths = seq_lens.tolist()
    length = max(lengths)
    mask = torch.arange(length).unsqueeze(0) < seq_lens.unsqueeze(1)
    shared = get_worker_info() is not None
    payload = {
        k: _pad([it[k] for it in items], lengths, length, shared) for k in first if k not in _NOT_FEATURES
    }
    targets = positions = target_mask = None
    if TARGET_POSITIONS in first:  # sparse targets: padded by the number of positions, not of rows
        counts = torch.tensor([int(it[TARGET_POSITIONS].shape[0]) for it in items], dtype=torch.int64)
        n_pos, most = counts.tolist(), int(counts.max())
        positions = _pad([it[TARGET_POSITIONS] for it in items], n_pos, most, shared)
        if TARGETS in first:
            targets = _pad([it[TARGETS] for it in items], n_pos, most, shared)
        target_mask = torch.arange(most).unsqueeze(0) < counts.unsqueeze(1)
    elif TARGETS in first:
        targets = _pad([it[TARGETS] for it in items], lengths, length, shared)
    labels = None
    if LABELS in first:
        per_row = first[LABELS].dim() == 2
        labels = (
            _pad([it[LABELS] for it in items], lengths, length, shared) if per_row else _stack(items, LABELS)
        )
    user_ids = _stack(items, USER_ID) if USER_ID in first else None
    return PaddedBatch(
        payload=payload,
        seq_lens=seq_lens,
        seq_len_mask=mask,
        targets=targets,
        target_names=list(first.get(TARGET_NAMES, ())),
        user_ids=user_ids,
        labels=labels,
        label_names=list(first.get(LABEL_NAMES, ())),
        sample_indices=_stack(items, SAMPLE_INDEX) if SAMPLE_INDEX in first else None,
        obs_dates=_stack(items, OBS_DATE) if OBS_DATE in first else None,
        target_positions=positions,
        target_mask=target_mask,
    )


def _stack(items: Sequence[Mapping[str, Any]], key: str) -> torch.Tensor:
    import torch

    return torch.stack([torch.as_tensor(it[key]) for it in items])


__all__ = ["PaddedBatch", "collate_padded"]
