"""The experiment end to end on the tiny preset: every method trains on both tasks, is scored and lands in
the table (a pipeline test: nothing here is a result). And the parts whose behaviour can be checked on
their own: pre-training lowers its loss, the ablation keeps each target's values, the LightGBM aggregates
are the sums they say."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
import torch

from cardworld.experiment.model import Encoder
from cardworld.experiment.presets import TINY
from cardworld.experiment.pretrain import _shuffled, pretrain_targets, pretraining_dataset
from cardworld.experiment.run import METHOD_NAMES, run_experiment

pytestmark = pytest.mark.slow


def test_the_tiny_experiment_runs_every_method_and_writes_the_table(tiny_world, tmp_path):
    out = tmp_path / "results"
    lines: list[str] = []
    records = run_experiment(tiny_world, out, preset="tiny", progress=lines.append)
    n = len(TINY.methods) * 2 * len(TINY.fractions) * len(TINY.seeds)
    assert len(records) == n
    assert {r["method"] for r in records} == set(METHOD_NAMES.values())
    assert {r["task"] for r in records} == {"fraud", "default"}
    fraud = [r for r in records if r["task"] == "fraud"]
    assert all(
        0.0 <= r["roc_auc"] <= 1.0 and 0.0 <= r["pr_auc"] <= 1.0 for r in fraud
    )  # the tiny world has test fraud
    encoders = ["encoder_coles.pt", "encoder_shuffled.pt", "encoder_targets.pt"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["auc_vs_fraction.png", "results.json", "results.md", *encoders]
    )
    state = torch.load(out / "encoder_targets.pt")
    Encoder(state["mcc_codes"].numpy(), hidden=TINY.hidden, embed=TINY.embed).load_state_dict(state)
    doc = json.loads((out / "results.json").read_text())
    assert len(doc["records"]) == n
    assert doc["meta"]["preset"] == "tiny"
    md = (out / "results.md").read_text()
    assert all(name in md for name in METHOD_NAMES.values())
    assert any("pre-training" in line for line in lines)


def test_results_dir_must_be_empty_or_overwritten(tiny_world, tmp_path):
    from cardworld.errors import InputError

    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        run_experiment(tiny_world, tmp_path, preset="tiny")
    assert (tmp_path / "old.txt").read_text() == "keep me"
    with pytest.raises(InputError, match="unknown preset 'huge'"):
        run_experiment(tiny_world, tmp_path / "new", preset="huge")


def test_pretraining_on_targets_lowers_the_loss(tiny_loaded):
    world, columns = tiny_loaded
    p = TINY.with_(
        pretrain_steps=200,
        pretrain_batch=16,
        hidden=16,
        pretrain_len=32,
        pretrain_positions=8,
        pretrain_cuts=8,
    )
    ds = pretraining_dataset(world, columns, p, seed=0)
    torch.manual_seed(0)
    enc = Encoder(np.unique(world.mcc), hidden=16, embed=4)
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    r = pretrain_targets(enc, ds, p, device="cpu", seed=0, shuffle=False)
    assert r["steps"] == 200
    assert r["loss_last"] < 0.8 * r["loss_first"]
    assert any(not torch.equal(before[k], v) for k, v in enc.state_dict().items())


def test_the_ablation_permutes_each_target_within_the_batch():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    out = _shuffled(y, mask, g)
    for j in range(3):
        assert sorted(out[..., j][mask].tolist()) == sorted(y[..., j][mask].tolist())  # same values
    assert not torch.equal(out[mask], y[mask])  # in another order
    assert torch.equal(out[~mask], y[~mask])  # padding untouched


def test_pd_aggregates_are_trailing_sums_before_the_observation_date(tiny_loaded):
    from cardworld.experiment.gbm import pd_matrix

    world, columns = tiny_loaded
    u = 3
    a, b = world.offsets[u], world.offsets[u + 1]
    obs_day = int(world.time[(a + b) // 2] // 86400) + 1
    samples = pa.table({"user_id": [int(world.users[u])], "obs_date": pa.array([obs_day], pa.date32())})
    X, names = pd_matrix(world, columns, samples)
    t, amt = world.time[a:b], world.amount[a:b]
    last = np.flatnonzero(t < obs_day * 86400)[-1]
    in_30 = (t > t[last] - 30 * 86400) & (t <= t[last])
    assert X[0, names.index("spend_30d")] == pytest.approx(amt[in_30].sum(), rel=1e-5)
    assert X[0, names.index("n_30d")] == in_30.sum()
    assert X[0, names.index("days_since_last")] == pytest.approx((obs_day * 86400 - t[last]) / 86400)
