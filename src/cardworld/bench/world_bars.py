"""`cardworld bench world` without --consumers/--years: the world rows of the issue's bar table.

Rows: 500 consumers over 20 years and TabFormer's scale (2,000 consumers over 29.16 years), both ending
2020-02-28 on 2 local workers, each world generated end to end (pool start-up included) as
bench.world.bench_world does. The table is measured `runs` times; each run's figure is the best of
`repeats` worlds. There is no naive world generator to set beside it, so each row's in-run baseline is a
fixed machine-speed probe timed just before it: the naive targets reference on the 1-target suite,
10 users x 4,096 transactions, users/s (best of `repeats`). It says how fast the machine was, nothing
about worlds. `scale` multiplies the consumers (a quick check); the bars are judged at scale 1 and 2
workers only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict

from cardworld.bench.bars import WORLD_BARS, bar_row
from cardworld.bench.suites import SUITE_1
from cardworld.bench.targets import bench_baseline, pin_threads
from cardworld.bench.world import bench_world
from cardworld.sample import make_sample_data

WORLDS = {"world-500": (500, 20.0), "world-tabformer": (2000, 29.16)}  # row: (consumers, years)
BAR_WORKERS = 2
PROBE_USERS, PROBE_TXNS = 10, 4096
PROBE = (
    f"the naive targets reference on the 1-target suite, {PROBE_USERS} users x {PROBE_TXNS:,} transactions"
)


def consumers_at(key: str, scale: float) -> int:
    return max(1, round(WORLDS[key][0] * scale))


def work_label(key: str, scale: float, workers: int) -> str:
    consumers, years = consumers_at(key, scale), WORLDS[key][1]
    w = f"{workers} worker{'s' if workers != 1 else ''}"
    if key == "world-500" and scale == 1:
        return f"world, 500 consumers x 20 years, {w} (start-up included)"
    if key == "world-tabformer" and scale == 1:
        return f"world, TabFormer scale (2,000 consumers, 29 years), {w}"
    return f"world, {consumers:,} consumers x {years:g} years (scaled x{scale:g}), {w} (start-up included)"


def probe(repeats: int, data=None) -> float:
    """The machine-speed probe's users/s (best of `repeats`)."""
    data = data if data is not None else make_sample_data(PROBE_USERS, PROBE_TXNS)
    return bench_baseline(SUITE_1, data, PROBE_USERS, repeats).users_per_s


def one_run(
    *,
    repeats: int,
    scale: float,
    workers: int,
    base_dir: str | os.PathLike | None,
    step: Callable[[str], None] = lambda _msg: None,
) -> dict[str, dict]:
    """Both worlds once: {row: the best world's WorldRow fields + "probe_users_per_s"}."""
    probe_data = make_sample_data(PROBE_USERS, PROBE_TXNS)
    out: dict[str, dict] = {}
    for key, (_, years) in WORLDS.items():
        step("machine-speed probe")
        speed = probe(repeats, probe_data)
        best = None
        for i in range(repeats):
            step(f"{work_label(key, scale, workers)}: world {i + 1}/{repeats}")
            row = bench_world(consumers_at(key, scale), years, workers, base_dir=base_dir)
            if best is None or row.txn_per_s > best.txn_per_s:
                best = row
        assert best is not None
        out[key] = {**asdict(best), "probe_users_per_s": speed}
    return out


def summarize(runs: list[dict[str, dict]], *, scale: float, workers: int) -> list[dict]:
    rows = []
    for key in WORLDS:
        if not runs or any(key not in r for r in runs):
            continue
        row = bar_row(
            WORLD_BARS[key],
            work_label(key, scale, workers),
            [r[key]["txn_per_s"] for r in runs],
            [r[key]["probe_users_per_s"] for r in runs],
            judged=scale == 1 and workers == BAR_WORKERS,
        )
        row["speedup"] = None  # a world's txn/s over the probe's users/s means nothing
        row["rows"] = runs[0][key]["rows"]
        row["seconds_min"] = min(r[key]["seconds"] for r in runs)
        rows.append(row)
    return rows


def run_bars(
    *,
    repeats: int,
    runs: int,
    scale: float = 1.0,
    workers: int = BAR_WORKERS,
    base_dir: str | os.PathLike | None = None,
    step: Callable[[str], None] = lambda _msg: None,
) -> dict:
    """The whole table `runs` times: {"runs": [one_run ...], "rows": summarize(...)}."""
    pin_threads()
    all_runs = []
    for i in range(runs):
        prefix = f"run {i + 1}/{runs}: "
        all_runs.append(
            one_run(
                repeats=repeats, scale=scale, workers=workers, base_dir=base_dir,
                step=lambda msg, p=prefix: step(p + msg),
            )
        )  # fmt: skip
    return {"runs": all_runs, "rows": summarize(all_runs, scale=scale, workers=workers)}
