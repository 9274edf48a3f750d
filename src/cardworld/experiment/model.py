"""The sequence encoder every neural method shares, and its heads.

    enc = Encoder(mcc_codes, hidden=64)           # embeddings + a causal GRU
    h = enc(payload, lengths)                     # (B, L, H): row i's state after reading rows 0..i
    enc.last(h, lengths)                          # (B, H): the state after the last real row

Inputs (inputs.INPUTS): MCC, channel, hour, weekday and card number are embedded; amount enters as a signed log1p,
the time gap as log1p seconds (both scaled to about unit size), foreign and has_errors as 0/1. The GRU is
causal, so row i's state has seen rows up to i only: a fraud score for a row uses the past and the row
itself (what an authorisation sees), a PD score the history before the observation date.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from cardworld.codes import USE_CHIP

AMOUNT_SCALE = 5.0  # signed log1p of dollars: |amounts| of $1-$10k map to about 0.1-1.8
CARDS = 8  # card numbers with their own embedding (a user's 8th card and later share the last)
GAP_SCALE = 10.0  # log1p seconds: a minute to a month map to about 0.4-1.5


def signed_log1p(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(torch.abs(x))


class Encoder(nn.Module):
    """Row embeddings, then a GRU; `mcc_codes` (sorted) are the MCCs with their own embedding (others share
    one)."""

    def __init__(self, mcc_codes: np.ndarray, hidden: int = 64, embed: int = 16, layers: int = 1) -> None:
        super().__init__()
        codes = np.unique(np.asarray(mcc_codes, dtype=np.int64))
        self.register_buffer("mcc_codes", torch.from_numpy(codes), persistent=True)
        self.mcc = nn.Embedding(codes.size + 1, embed)  # index 0: an MCC not in the vocabulary
        self.channel = nn.Embedding(len(USE_CHIP), 4)
        self.hour = nn.Embedding(24, 4)
        self.weekday = nn.Embedding(7, 3)
        self.card = nn.Embedding(CARDS, 4)
        width = embed + 4 + 4 + 3 + 4 + 4  # + amount, gap, foreign, has_errors
        self.project = nn.Linear(width, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True)
        self.hidden = hidden

    def mcc_index(self, mcc: torch.Tensor) -> torch.Tensor:
        i = torch.searchsorted(self.mcc_codes, mcc).clamp(max=self.mcc_codes.numel() - 1)
        return torch.where(self.mcc_codes[i] == mcc, i + 1, torch.zeros_like(i))

    def rows(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """(B, L, hidden) row embeddings."""
        num = torch.stack(
            [
                signed_log1p(x["amount"].float()) / AMOUNT_SCALE,
                x["log_gap"].float() / GAP_SCALE,
                x["foreign"].float(),
                x["has_errors"].float(),
            ],
            dim=-1,
        )
        parts = [
            self.mcc(self.mcc_index(x["mcc"].long())),
            self.channel(x["channel"].long().clamp(0, len(USE_CHIP) - 1)),
            self.hour(x["hour"].long().clamp(0, 23)),
            self.weekday(x["weekday"].long().clamp(0, 6)),
            self.card(x["card"].long().clamp(0, CARDS - 1)),
            num,
        ]
        return torch.relu(self.project(torch.cat(parts, dim=-1)))

    def forward(self, x: Mapping[str, torch.Tensor], lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, hidden): the state after each row (right padding never reaches a real row)."""
        h, _ = self.gru(self.rows(x))
        return h

    @staticmethod
    def last(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, hidden): the state after each sequence's last real row; zeros for an empty sequence."""
        lengths = lengths.to(h.device).long()
        i = (lengths - 1).clamp(min=0)
        out = h[torch.arange(h.shape[0], device=h.device), i]
        return out * (lengths > 0).unsqueeze(-1).to(h.dtype)


class Head(nn.Module):
    """A small MLP from encoder states to `n` outputs."""

    def __init__(self, hidden: int, n: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


def payload_to(payload: Mapping[str, torch.Tensor], device: torch.device | str) -> dict[str, torch.Tensor]:
    """The encoder's inputs of a batch payload, on `device`."""
    from cardworld.experiment.inputs import INPUTS

    return {k: payload[k].to(device, non_blocking=True) for k in INPUTS}
