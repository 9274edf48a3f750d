"""pretrain_coles: CoLES through ptls learns embeddings that tell users apart (two halves of one user's history
end closer than halves of different users), runs reproducibly, writes only under its workdir, and rejects
unusable input clearly."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from cardworld.errors import InputError
from cardworld.experiment.coles import ColesSeqEncoder, pretrain_coles
from cardworld.experiment.inputs import INPUTS
from cardworld.experiment.model import Encoder

N_USERS = 12
CODES = np.arange(5000, 5000 + N_USERS, dtype=np.int64)
DAY = 86400


def _user(rng: np.random.Generator, u: int, n: int) -> dict[str, np.ndarray]:
    """A user with its own habits: mostly MCC CODES[u], amounts around e^(1 + u/2) dollars, hours near 2u."""
    t = np.sort(rng.integers(0, 90 * DAY, n)).astype(np.int64)
    return {
        "amount": np.exp(rng.normal(1.0 + 0.5 * u, 0.3, n)).astype(np.float32),
        "mcc": np.where(rng.random(n) < 0.7, CODES[u], rng.choice(CODES, n)),
        "hour": (2 * u + rng.integers(-1, 2, n)) % 24,
        "weekday": rng.integers(0, 7, n),
        "log_gap": np.log1p(np.diff(t, prepend=t[0])).astype(np.float32),
        "channel": rng.integers(0, 3, n).astype(np.float32),
        "foreign": np.zeros(n, np.float32),
        "has_errors": (rng.random(n) < 0.05).astype(np.float32),
        "card": rng.integers(0, 2, n).astype(np.float32),
        "event_time": t,
    }


def _sequences(seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [_user(rng, u, int(rng.integers(60, 120))) for u in range(N_USERS)]


def _encoder(seed: int = 0) -> Encoder:
    torch.manual_seed(seed)
    return Encoder(CODES, hidden=16, embed=8)


def _last_states(encoder: Encoder, parts: list[dict[str, np.ndarray]]) -> torch.Tensor:
    """encoder.last states of `parts`, padded by hand (independent of ptls's collate)."""
    lengths = torch.tensor([p["mcc"].size for p in parts])
    width = int(lengths.max())
    payload = {}
    for k in INPUTS:
        padded = np.zeros((len(parts), width), dtype=parts[0][k].dtype)
        for i, p in enumerate(parts):
            padded[i, : p[k].size] = p[k]
        payload[k] = torch.from_numpy(padded)
    with torch.no_grad():
        return encoder.last(encoder(payload, lengths), lengths)


def _embed(encoder: Encoder, parts: list[dict[str, np.ndarray]]) -> torch.Tensor:
    return torch.nn.functional.normalize(_last_states(encoder, parts), dim=-1)


def _similarities(encoder: Encoder, sequences: list[dict[str, np.ndarray]]) -> torch.Tensor:
    """(users, users) cosine similarities of each user's first half (rows) to each user's second half."""
    halves = [{k: v[: v.size // 2] for k, v in s.items()} for s in sequences]
    halves += [{k: v[v.size // 2 :] for k, v in s.items()} for s in sequences]
    emb = _embed(encoder, halves)
    return emb[:N_USERS] @ emb[N_USERS:].T


def _gap_and_hits(cos: torch.Tensor) -> tuple[float, int]:
    """Mean same-user minus mean different-user similarity, and how many first halves have their own second
    half as nearest."""
    other = cos[~torch.eye(N_USERS, dtype=torch.bool)].mean()
    hits = (cos.argmax(dim=1) == torch.arange(N_USERS)).sum()
    return (cos.diagonal().mean() - other).item(), int(hits)


def _train(encoder: Encoder, sequences, workdir, steps: int, seed: int = 0) -> dict[str, float]:
    return pretrain_coles(
        encoder,
        sequences,
        steps=steps,
        batch_size=6,
        cnt_min=8,
        cnt_max=32,
        lr=3e-3,
        seed=seed,
        workdir=workdir,
    )


def test_coles_brings_halves_of_one_user_together(tmp_path):
    sequences, encoder = _sequences(), _encoder()
    gap_before, hits_before = _gap_and_hits(_similarities(encoder, sequences))
    stats = _train(encoder, sequences, tmp_path / "work", steps=60)
    gap_after, hits_after = _gap_and_hits(_similarities(encoder, sequences))
    # Untrained: gap ~0.10, 3 of 12 users find their own other half. Trained (seeds 0-2): gap 0.22-0.27, 12.
    assert stats["steps"] == 60
    assert stats["loss_last"] < 0.5 * stats["loss_first"]
    assert gap_after > 0.18
    assert gap_after > gap_before + 0.08
    assert hits_after >= 11 > hits_before + 4
    assert encoder.training  # back in the mode it started in


def test_same_seed_same_weights_and_nothing_written_outside_workdir(tmp_path, monkeypatch):
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    sequences = _sequences()
    initial = _encoder().state_dict()
    trained = []
    for run, seed in enumerate((0, 0, 1)):
        encoder = _encoder()
        _train(encoder, sequences, tmp_path / f"work{run}", steps=8, seed=seed)
        trained.append(encoder.state_dict())
    assert list((tmp_path / "cwd").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "work0", "work1", "work2"]
    for key in initial:
        torch.testing.assert_close(trained[0][key], trained[1][key], rtol=0, atol=0)
    assert not torch.equal(trained[0]["gru.weight_hh_l0"], initial["gru.weight_hh_l0"])  # it did train
    assert not torch.equal(trained[0]["gru.weight_hh_l0"], trained[2]["gru.weight_hh_l0"])  # the seed matters


def test_sequences_shorter_than_cnt_min_train_whole(tmp_path):
    short = [{k: v[:n] for k, v in s.items()} for s, n in zip(_sequences()[:3], (1, 4, 9), strict=True)]
    encoder = _encoder()
    before = encoder.state_dict()["gru.weight_hh_l0"].clone()
    stats = pretrain_coles(encoder, short, steps=3, batch_size=3, cnt_min=16, cnt_max=32, workdir=tmp_path)
    assert stats["steps"] == 3
    assert np.isfinite(stats["loss_first"])
    assert np.isfinite(stats["loss_last"])
    assert not torch.equal(encoder.state_dict()["gru.weight_hh_l0"], before)


def test_seq_encoder_wrapper_gives_last_state_or_all_states():
    from ptls.data_load.padded_batch import PaddedBatch

    sequences, encoder = _sequences()[:3], _encoder()
    parts = [{k: v[:n] for k, v in s.items()} for s, n in zip(sequences, (5, 9, 7), strict=True)]
    batch = PaddedBatch(
        {
            k: torch.nn.utils.rnn.pad_sequence([torch.from_numpy(p[k]) for p in parts], batch_first=True)
            for k in (*INPUTS, "event_time")
        },
        torch.tensor([5, 9, 7]),
    )
    wrapper = ColesSeqEncoder(encoder)
    assert wrapper.embedding_size == 16
    with torch.no_grad():
        torch.testing.assert_close(wrapper(batch), _last_states(encoder, parts))
        wrapper.is_reduce_sequence = False  # what ptls's ABSModule may set
        states = wrapper(batch)
        assert isinstance(states, PaddedBatch)
        assert states.payload.shape == (3, 9, 16)
        torch.testing.assert_close(states.seq_lens, torch.tensor([5, 9, 7]))


def _bad(case: str) -> list[dict[str, np.ndarray]]:
    seqs = _sequences()[:3]
    if case == "empty":
        return []
    if case == "one user":
        return seqs[:1]
    if case == "no event_time":
        del seqs[1]["event_time"]
    elif case == "unsorted":
        seqs[2]["event_time"] = seqs[2]["event_time"][::-1].copy()
    elif case == "ragged":
        seqs[0]["amount"] = seqs[0]["amount"][:-1]
    elif case == "no rows":
        seqs[1] = {k: v[:0] for k, v in seqs[1].items()}
    return seqs


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty", r"sequences has 0 user\(s\); CoLES needs at least 2"),
        ("one user", r"sequences has 1 user\(s\)"),
        ("no event_time", r"sequences\[1\] lacks event_time"),
        ("unsorted", r"sequences\[2\]: 'event_time' is not sorted"),
        ("ragged", r"sequences\[0\]: amount must be 1-D"),
        ("no rows", r"sequences\[1\]: event_time must be .* not empty"),
    ],
)
def test_unusable_sequences_raise_input_error(tmp_path, case, message):
    with pytest.raises(InputError, match=message):
        pretrain_coles(_encoder(), _bad(case), steps=1, batch_size=2, workdir=tmp_path)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"steps": 0}, r"steps is 0"),
        ({"batch_size": 1}, r"batch_size is 1"),
        ({"split_count": 1}, r"split_count is 1"),
        ({"cnt_min": 40, "cnt_max": 20}, r"cnt_min=40, cnt_max=20"),
        ({"batch_size": 2, "split_count": 2}, r"gives each slice 2 negatives; the loss mines 5"),
        ({"device": "tpu"}, r"device is 'tpu'"),
    ],
)
def test_unusable_settings_raise_input_error(tmp_path, settings, message):
    kwargs = {"steps": 1, "batch_size": 3, **settings}
    with pytest.raises(InputError, match=message):
        pretrain_coles(_encoder(), _sequences()[:3], workdir=tmp_path, **kwargs)


def test_missing_ptls_says_how_to_install(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "ptls" or m.startswith("ptls.")] or ["ptls"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules makes `import` fail
    with pytest.raises(ImportError, match=r"pip install 'cardworld\[experiment\]'"):
        pretrain_coles(_encoder(), _sequences()[:3], steps=1, batch_size=3, workdir=tmp_path)
