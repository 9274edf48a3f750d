"""The experiment end to end: pre-train, fine-tune every method on every task, label fraction and seed,
score on the fixed test rows, write the results.

    records = run_experiment("out/pretrain_world", "out/pretrain_results", preset="small", device="cpu")

Pre-training runs once per pre-trained method (seed 0) on every user's rows before the test; a seed then
draws the labelled users (nested across fractions) and the initialisation of the fine-tuned model (the
head, and the whole encoder for "from scratch"), the same subset for every method.
"""

from __future__ import annotations

import copy
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cardworld.errors import InputError
from cardworld.experiment import gbm
from cardworld.experiment.data import World, load_world
from cardworld.experiment.finetune import TaskData, finetune_fraud, finetune_pd
from cardworld.experiment.inputs import row_columns
from cardworld.experiment.presets import PRESETS, Preset
from cardworld.experiment.splits import (
    FRAUD_USERS,
    INIT,
    PD_EVAL,
    PD_USERS,
    fraud_eval_windows,
    fraud_train_windows,
    labelled,
    seeded,
)  # fmt: skip

METHOD_NAMES = {
    "targets": "pretrained: targets",
    "shuffled": "pretrained: shuffled targets",
    "coles": "CoLES",
    "scratch": "from scratch",
    "lightgbm": "LightGBM",
}
PRETRAINED = ("targets", "shuffled", "coles")


def method_name(method: str, suite: str = "all") -> str:
    """The display name; pre-training on part of the target suite says which part."""
    name = METHOD_NAMES[method]
    return f"{name} ({suite} horizons)" if suite != "all" and method in ("targets", "shuffled") else name


PARTIAL = ".partial"  # the work directory inside OUT while the experiment runs
Progress = Callable[[str], None]


def check_out(out: str | os.PathLike, overwrite: bool) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {os.fspath(out)!r} is a file; pass a directory for the results")
    if out.exists() and any(p.name != PARTIAL for p in out.iterdir()) and not overwrite:
        raise InputError(
            f"--out {os.fspath(out)!r} is not empty; pass a new directory, or --overwrite to replace its results"
        )
    return out


def resolve_preset(preset: str | Preset) -> Preset:
    if isinstance(preset, Preset):
        return preset
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; pass one of {', '.join(PRESETS)}")
    return PRESETS[preset]


def pd_split(world: World, preset: Preset) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """(train samples, scored test samples, their weights): every positive, a fixed number of negatives."""
    from cardworld.labels.pd_samples import pd_samples

    s = pd_samples(world.path, horizon_months=preset.horizon_months, split="time", test_from=preset.test_from)
    s = s.filter(pc.is_in(s["user_id"], pa.array(world.users.astype(np.int32))))  # users with transactions
    is_test = pc.equal(s["split"], "test")
    train, test = s.filter(pc.invert(is_test)), s.filter(is_test)
    y = test["label"].to_numpy().astype(bool)
    neg = np.flatnonzero(~y)
    k = min(neg.size, preset.eval_pd_negatives)
    take = np.sort(np.concatenate([np.flatnonzero(y), seeded(0, PD_EVAL).choice(neg, size=k, replace=False)]))
    weight = np.where(y[take], 1.0, neg.size / max(k, 1))
    return train, test.take(pa.array(take)), weight


def _encoder(world: World, preset: Preset, seed: int, device: str):
    import torch

    from cardworld.experiment.model import Encoder

    torch.manual_seed(int(seeded(seed, INIT).integers(2**31)))
    return Encoder(np.unique(world.mcc), hidden=preset.hidden, embed=preset.embed).to(device)


def pretrain_all(world: World, columns: dict, preset: Preset, device: str, work: Path, say: Progress) -> dict:
    """State dicts of the pre-trained encoders (module doc) and what each pre-training reported."""
    from cardworld.experiment.pretrain import pretrain_targets, pretraining_dataset

    states, reports = {}, {}
    wanted = [m for m in PRETRAINED if m in preset.methods]
    ds = (
        pretraining_dataset(world, columns, preset, seed=0) if {"targets", "shuffled"} & set(wanted) else None
    )
    for m in wanted:
        say(f"pre-training: {method_name(m, preset.suite)}")
        enc = _encoder(world, preset, 0, device)
        if m == "coles":
            reports[m] = _pretrain_coles(enc, world, columns, preset, device, work)
        else:
            reports[m] = pretrain_targets(
                enc, ds, preset, device=device, seed=0, shuffle=m == "shuffled", say=say
            )
        states[m] = copy.deepcopy(enc.state_dict())
        say(f"pre-training: {method_name(m, preset.suite)} done in {reports[m]['seconds']:.0f} s")
    return {"states": states, "reports": reports}


def _pretrain_coles(enc, world: World, columns: dict, preset: Preset, device: str, work: Path) -> dict:
    from cardworld.experiment.coles import pretrain_coles
    from cardworld.experiment.inputs import feature_dict
    from cardworld.experiment.pretrain import training_rows

    rows, bounds, _ = training_rows(world)
    seqs = []
    for k in range(bounds.size - 1):
        r = rows[bounds[k] : bounds[k + 1]]
        seqs.append({**feature_dict(world, columns, r), "event_time": world.time[r]})
    return pretrain_coles(
        enc, seqs, steps=preset.coles_steps, batch_size=preset.coles_batch, split_count=preset.coles_splits,
        cnt_min=max(4, preset.pretrain_len // 8), cnt_max=preset.pretrain_len, lr=preset.lr, device=device,
        seed=0, workdir=work / "coles",
    )  # fmt: skip


def run_experiment(
    world_dir: str | os.PathLike, out: str | os.PathLike, *, preset: str | Preset = "small", device: str = "cpu",
    overwrite: bool = False, progress: Progress | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Run the experiment on the world in `world_dir`; write results.md, results.json and the plot to `out`."""
    import torch

    say = progress or (lambda _msg: None)
    p = resolve_preset(preset)
    out = check_out(out, overwrite)
    torch.set_num_threads(p.threads)
    t0 = time.perf_counter()
    world = load_world(world_dir, p.test_from)  # a bad world fails here, before OUT is touched
    say(f"read {world.n_rows:,} transactions of {world.users.size:,} users from {os.fspath(world_dir)}")
    created = not out.exists()
    work = out / PARTIAL
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        records, reports = _run(world, p, device, work, say)
        meta = _meta(world, p, device, reports, time.perf_counter() - t0)
        from cardworld.experiment.results import write_results

        write_results(work, records, meta)
        _publish(work, out)
    finally:  # an error or Ctrl-C leaves OUT as it was (its old results, or no directory)
        shutil.rmtree(work, ignore_errors=True)
        if created and out.exists() and not any(out.iterdir()):
            out.rmdir()
    say(f"done in {meta['seconds']:.0f} s: {out / 'results.md'}")
    return records


def _run(world: World, p: Preset, device: str, work: Path, say: Progress) -> tuple[list[dict], dict]:
    """The records of every fine-tune and the pre-trainings' reports; the encoders are saved in `work`."""
    import torch

    columns = row_columns(world)
    data = TaskData(world, columns)
    pre = pretrain_all(world, columns, p, device, work, say)
    for m, state in pre["states"].items():
        torch.save(state, work / f"encoder_{m}.pt")
    records = _fraud_runs(data, p, pre["states"], device, say) + _pd_runs(data, p, pre["states"], device, say)
    return records, pre["reports"]


def _publish(work: Path, out: Path) -> None:
    """Move the finished files from the work directory into `out`, replacing old results."""
    for f in work.iterdir():
        if f.is_file():
            os.replace(f, out / f.name)


def _fine_tune_grid(p: Preset, candidates: np.ndarray, key: int):
    for fraction in p.fractions:
        for seed in p.seeds:
            yield fraction, seed, labelled(candidates, fraction, seed, key)


def _record(
    task: str, method: str, suite: str, fraction: float, seed: int, users: np.ndarray, positives: int, r: dict
) -> dict:
    return {
        "task": task, "method": method_name(method, suite), "fraction": fraction, "seed": seed,
        "roc_auc": r.get("roc_auc"), "pr_auc": r.get("pr_auc"), "positives": positives,
        "labelled": int(users.size), "seconds": round(float(r["seconds"]), 2),
    }  # fmt: skip


def _say_record(say: Progress, r: dict) -> None:
    auc = "n/a" if r["roc_auc"] is None else f"{r['roc_auc']:.3f}"
    say(
        f"{r['task']} {r['fraction']:.0%} seed {r['seed']} {r['method']}: ROC-AUC {auc} ({r['seconds']:.1f} s)"
    )


def _fraud_runs(data: TaskData, p: Preset, states: dict, device: str, say: Progress) -> list[dict]:
    world = data.world
    evalw = fraud_eval_windows(world, p.fraud_len, p.eval_genuine_users)
    candidates = np.unique(world.user[world.before_test])
    X = names = None
    if "lightgbm" in p.methods:
        say("fraud: LightGBM features")
        X, names = gbm.fraud_matrix(world)
    out = []
    for fraction, seed, users in _fine_tune_grid(p, candidates, FRAUD_USERS):
        mine = np.isin(world.user, users) & world.before_test & world.fraud
        positives = int(np.unique(world.card[mine]).size)
        train = fraud_train_windows(world, users, p.fraud_len, p.fraud_negatives, seed)
        for m in p.methods:
            if positives == 0:  # nothing to learn from: no score, rather than a ranking by chance
                r = {"roc_auc": None, "pr_auc": None, "seconds": 0.0}
            elif m == "lightgbm":
                r = gbm.lightgbm_fraud(X, names, world, users, evalw, seed=seed, threads=p.threads)
            else:
                enc = _encoder(world, p, seed, device)
                if m in states:
                    enc.load_state_dict(states[m])
                r = finetune_fraud(enc, data, train, evalw, p, device=device, seed=seed)
            out.append(_record("fraud", m, p.suite, fraction, seed, users, positives, r))
            _say_record(say, out[-1])
    return out


def _pd_runs(data: TaskData, p: Preset, states: dict, device: str, say: Progress) -> list[dict]:
    world = data.world
    train_all, test, weight = pd_split(world, p)
    y_test = test["label"].to_numpy().astype(bool)
    uid = train_all["user_id"].to_numpy()
    candidates = np.unique(uid)
    if "lightgbm" in p.methods:
        say("default: LightGBM features")
        X_all, names = gbm.pd_matrix(world, data.columns, train_all)
        X_test, _ = gbm.pd_matrix(world, data.columns, test)
    out = []
    for fraction, seed, users in _fine_tune_grid(p, candidates, PD_USERS):
        keep = np.isin(uid, users)
        train = train_all.filter(pa.array(keep))
        y = train["label"].to_numpy().astype(bool)
        positives = int(np.unique(train["account_id"].to_numpy()[y]).size)
        for m in p.methods:
            if positives == 0:
                r = {"roc_auc": None, "pr_auc": None, "seconds": 0.0}
            elif m == "lightgbm":
                r = gbm.lightgbm_pd(
                    X_all[keep], y, X_test, y_test, weight, names, seed=seed, threads=p.threads
                )
            else:
                enc = _encoder(world, p, seed, device)
                if m in states:
                    enc.load_state_dict(states[m])
                r = finetune_pd(enc, data, train, test, weight, p, device=device, seed=seed)
            out.append(_record("default", m, p.suite, fraction, seed, users, positives, r))
            _say_record(say, out[-1])
    return out


def _meta(world: World, p: Preset, device: str, reports: dict, seconds: float) -> dict[str, Any]:
    days = (np.array([world.time.min(), world.time.max()]) // 86400).astype("datetime64[D]")
    return {
        "preset": p.name, "world": world.path, "consumers": int(world.users.size), "rows": world.n_rows,
        "period": f"{days[0]} to {days[1]}", "test_from": p.test_from, "pd_horizon_months": p.horizon_months,
        "fractions": list(p.fractions), "seeds": list(p.seeds), "device": device,
        "model": f"GRU, hidden {p.hidden}, MCC embedding {p.embed}",
        "methods": [method_name(m, p.suite) for m in p.methods], "target_suite": p.suite,
        "pretraining": {method_name(m, p.suite): {k: round(v, 4) for k, v in r.items()} for m, r in reports.items()},
        "seconds": round(seconds, 1),
    }  # fmt: skip
