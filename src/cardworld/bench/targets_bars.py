"""`cardworld bench targets` without --suite: the target rows of the issue's bar table.

Rows: numba on the 1-target suite and on the 20-target suite (1 process, one compute_targets_batch call),
the 20-target suite at K random positions per user (compute_targets_batch(at=)), and a DataLoader epoch
(20 targets, 2 workers, batch 64). The whole table is measured `runs` times; in each run every row's
figure is the best of `repeats` calls, and the naive reference (cardworld.targets.reference, which has no
sparse mode: it computes every row) is timed on `baseline_users` users of the same suite in the same run.
Bars are judged only at their sizes: 4,096 transactions per user, at least 2,000 users, 64 positions.
"""

from __future__ import annotations

from collections.abc import Callable

from cardworld.bench import targets as T
from cardworld.bench.bars import TARGET_BARS, bar_row
from cardworld.bench.suites import SUITES

BAR_USERS, BAR_TXNS, BAR_POSITIONS = 2000, 4096, 64
ROWS = ("numba-1", "numba-20", "sparse-20", "dataloader-20")
SKIPPABLE = {"baseline": None, "sparse": "sparse-20", "dataloader": "dataloader-20"}  # --skip name: row


def work_label(key: str, positions: int) -> str:
    return {
        "numba-1": "targets, 1-target suite, numba, 1 process",
        "numba-20": "targets, 20-target suite, numba, 1 process",
        "sparse-20": f"targets, 20-target suite, {positions} positions per user",
        "dataloader-20": "DataLoader, 20-target suite, 2 workers, batch 64",
    }[key]


def judged(users: int, txns: int, positions: int, key: str) -> bool:
    """Whether a row was measured at the bar's sizes (otherwise its figure is not held against the bar)."""
    at_size = users >= BAR_USERS and txns == BAR_TXNS
    return at_size and (key != "sparse-20" or positions == BAR_POSITIONS)


def one_run(
    data: T.SampleData,
    *,
    positions: int,
    repeats: int,
    baseline_users: int,
    skip: set[str],
    step: Callable[[str], None] = lambda _msg: None,
) -> dict[str, dict]:
    """Every row of the table once: {row: {"users_per_s", "seconds", "baseline_users_per_s"}} and the
    baselines themselves under "baseline-1" / "baseline-20"."""
    out: dict[str, dict] = {}
    base: dict[int, float | None] = {1: None, 20: None}
    for suite in (1, 20):
        if "baseline" not in skip:
            step(f"naive reference, {suite}-target suite, {baseline_users} users")
            b = T.bench_baseline(SUITES[suite], data, baseline_users, repeats)
            base[suite] = b.users_per_s
            out[f"baseline-{suite}"] = {"users_per_s": b.users_per_s, "seconds": b.seconds, "users": b.users}
        step(f"numba, {suite}-target suite")
        _keep(out, f"numba-{suite}", T.bench_numba(SUITES[suite], data, repeats), base[suite])
    if "sparse-20" not in skip:
        step(f"numba, 20-target suite, {positions} positions per user")
        _keep(out, "sparse-20", T.bench_sparse(SUITES[20], data, positions, repeats), base[20])
    if "dataloader-20" not in skip:
        step("DataLoader, 20-target suite, 2 workers")
        _keep(out, "dataloader-20", T.bench_dataloader(20, data, 2, 64, repeats), base[20])
    return out


def _keep(out: dict, key: str, row: T.BenchRow, baseline: float | None) -> None:
    out[key] = {"users_per_s": row.users_per_s, "seconds": row.seconds, "baseline_users_per_s": baseline}


def summarize(runs: list[dict[str, dict]], *, users: int, txns: int, positions: int) -> list[dict]:
    """The printed rows (bars.bar_row) of the rows present in every run, in table order."""
    rows = []
    for key in ROWS:
        if not runs or any(key not in r for r in runs):
            continue
        rows.append(
            bar_row(
                TARGET_BARS[key],
                work_label(key, positions),
                [r[key]["users_per_s"] for r in runs],
                [r[key]["baseline_users_per_s"] for r in runs],
                judged=judged(users, txns, positions, key),
            )
        )
    return rows


def run_bars(
    *,
    users: int,
    txns: int,
    positions: int,
    repeats: int,
    runs: int,
    baseline_users: int,
    skip: set[str],
    step: Callable[[str], None] = lambda _msg: None,
) -> dict:
    """The whole table `runs` times: {"runs": [one_run ...], "positions": ..., "rows": summarize(...)}.
    Every sample user has `txns` rows, so `positions` beyond that is clamped to it (all rows)."""
    T.pin_threads()
    positions = min(positions, txns)
    rows_skipped = {SKIPPABLE[s] or s for s in skip if s in SKIPPABLE}
    step("sample data")
    data = T.make_sample_data(users, txns)
    all_runs = []
    for i in range(runs):
        prefix = f"run {i + 1}/{runs}: "
        all_runs.append(
            one_run(
                data, positions=positions, repeats=repeats, baseline_users=baseline_users,
                skip=rows_skipped, step=lambda msg, p=prefix: step(p + msg),
            )
        )  # fmt: skip
    rows = summarize(all_runs, users=users, txns=txns, positions=positions)
    return {"runs": all_runs, "positions": positions, "rows": rows}
