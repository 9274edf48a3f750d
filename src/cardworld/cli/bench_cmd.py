"""`cardworld bench world|targets|report`: the project's benchmarks."""

from __future__ import annotations

import json
from enum import IntEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cardworld.cli.app import bench_app, console, err_console


class Suite(IntEnum):
    one = 1
    twenty = 20


@bench_app.command("world")
def bench_world_cmd(
    consumers: Annotated[int, typer.Option(min=1, help="Consumers.")] = 2000,
    years: Annotated[float, typer.Option(min=0.1, help="Years of history, ending 2020-02-28.")] = 29.16,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default 2; not with --dask).")
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Run on a Dask cluster: tcp://HOST:PORT of a running scheduler, or local[:N] for a "
            "LocalCluster of N worker processes (its start is not timed).",
        ),
    ] = None,
    shard_size: Annotated[
        int | None, typer.Option(min=1, help="Consumers per shard (default: the config's).")
    ] = None,
    base_dir: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Write the world in a temporary folder here (default: the system's temporary directory; "
            "on a multi-node cluster, a path every worker sees).",
        ),
    ] = None,
    fraud: Annotated[bool, typer.Option(help="Simulate fraud (--no-fraud: what fraud costs).")] = True,
    credit: Annotated[
        bool, typer.Option(help="Simulate the credit cycle (--no-credit: what it costs).")
    ] = True,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the rows as JSON here.")
    ] = None,
) -> None:
    """Generate a world end to end to Parquet and report transactions/s, peak RSS and bytes per row.

    Peak RSS is this process's peak plus every worker process's peak (each process at its own peak).
    """
    from cardworld.bench.world import bench_world, rows_dicts

    if dask is not None and workers is not None:
        raise typer.BadParameter(
            "--workers sizes the local pool; with --dask the cluster's workers run the shards "
            "(local:N for N of them): drop one of the two",
            param_hint="--workers",
        )
    where = f"on Dask {dask}" if dask is not None else f"{workers or 2} workers"
    with err_console.status(f"generating {consumers} consumers x {years} years, {where}"):
        row = bench_world(
            consumers, years, workers or 2, fraud=fraud, credit=credit, dask=dask, shard_size=shard_size,
            base_dir=base_dir,
        )  # fmt: skip
    _print_world(row)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(rows_dicts([row]), indent=2) + "\n")


def _print_world(row) -> None:
    table = Table(title="world benchmark")
    for col in ("consumers", "years", "backend", "workers", "shards", "fraud", "credit", "rows", "seconds",
                "txn/s", "peak RSS MB", "bytes/row"):  # fmt: skip
        table.add_column(col, justify="right")
    table.add_row(
        str(row.consumers), f"{row.years:g}", row.backend, str(row.workers), str(row.shards),
        "on" if row.fraud else "off", "on" if row.credit else "off", f"{row.rows:,}", f"{row.seconds:.2f}",
        f"{row.txn_per_s:,.0f}", f"{row.peak_rss_mb:,.0f}", f"{row.bytes_per_row:.1f}",
    )  # fmt: skip
    _wide().print(table)


def _wide() -> Console:
    """The console, or off a terminal (a log file, a pipe) one wide enough that no cell is cut short."""
    return console if console.is_terminal else Console(width=200)


@bench_app.command("report")
def bench_report_cmd(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory written by `cardworld generate`.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Keep the report here (.html); default: a temporary folder.")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="Also time the side-by-side step against this CSV or dataset.")
    ] = None,
    baselines: Annotated[bool, typer.Option(help="Time the LightGBM baselines too.")] = True,
    baseline_users: Annotated[int, typer.Option(min=1, help="Users the baselines sample.")] = 2000,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the result as JSON here.")
    ] = None,
) -> None:
    """Build the realism report of a dataset and report each step's seconds and rows/s, and peak RSS."""
    from cardworld.bench.report import bench_report

    res = bench_report(dataset, out=out, compare=compare, baselines=baselines, baseline_users=baseline_users)
    table = Table(
        title=f"report benchmark: {res.rows:,} rows, {res.users:,} users, peak RSS {res.peak_rss_mb:,.0f} MB"
    )
    for col in ("step", "seconds", "rows", "rows/s"):
        table.add_column(col, justify="right" if col != "step" else "left")
    for step in res.steps:
        rate = f"{step.rows / step.seconds:,.0f}" if step.rows and step.seconds else ""
        table.add_row(step.step, f"{step.seconds:.2f}", f"{step.rows:,}" if step.rows else "", rate)
    table.add_row("total", f"{res.seconds:.2f}", "", "")
    _wide().print(table)
    if json_path is not None:
        json_path.write_text(json.dumps(res.as_dict(), indent=2) + "\n")


@bench_app.command("targets")
def bench_targets(
    users: Annotated[int, typer.Option(min=1, help="Users.")] = 2000,
    txns: Annotated[int, typer.Option(min=1, help="Transactions per user.")] = 4096,
    suite: Annotated[
        Suite, typer.Option(help="1: the seed's example; 20: the 20-target suite.")
    ] = Suite.twenty,
    processes: Annotated[int, typer.Option(min=1, help="Processes for the numba-mp row.")] = 2,
    baseline_users: Annotated[int, typer.Option(min=1, help="Users the slow reference is timed on.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Timed runs per row (the best is kept).")] = 3,
    skip: Annotated[
        list[str] | None, typer.Option(help="Rows to skip: baseline, numba-mp, polars, dataloader.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the rows as JSON here.")] = None,
) -> None:
    """Users per second for each implementation; prints a table and optionally writes JSON."""
    from cardworld.bench import targets as B

    B.pin_threads()  # before numba, polars or torch start thread pools
    skip_set = set(skip or [])
    unknown = skip_set - {"baseline", "numba-mp", "polars", "dataloader"}
    if unknown:
        raise typer.BadParameter(f"unknown row {sorted(unknown)[0]!r}", param_hint="--skip")
    specs = B.SUITES[int(suite)]
    data = B.make_sample_data(users, txns)
    rows: list[B.BenchRow] = []
    per_target: list[dict] = []
    reasons: dict[str, str] = {}
    with console.status("benchmarking") as status:
        if "baseline" not in skip_set:
            status.update("baseline (naive reference)")
            rows.append(B.bench_baseline(specs, data, baseline_users))
        status.update("numba, 1 process")
        rows.append(B.bench_numba(specs, data, repeats))
        if "numba-mp" not in skip_set:
            status.update(f"numba, {processes} processes")
            rows.append(B.bench_numba_mp(int(suite), users, txns, 0, processes, repeats))
        if "polars" not in skip_set:
            status.update("polars")
            prow, _, reasons = B.bench_polars(specs, data, repeats)
            if prow is not None:
                rows.append(prow)
                per_target = B.bench_per_target(specs, data, repeats)
        if "dataloader" not in skip_set:
            status.update("dataloader")
            rows.append(B.bench_dataloader(int(suite), data))
    _print_bench(rows, per_target, reasons, B.n_outputs(specs))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(B.result_dict(rows), indent=2) + "\n")


def _print_bench(rows, per_target: list[dict], reasons: dict[str, str], outputs: int) -> None:
    table = Table(title=f"targets benchmark ({outputs} outputs)")
    for col in ("impl", "processes", "users", "txns/user", "targets", "seconds", "users/s", "note"):
        table.add_column(col, justify="left" if col in ("impl", "note") else "right")
    for r in rows:
        table.add_row(
            r.impl, str(r.processes), str(r.users), str(r.txns_per_user), str(r.targets),
            f"{r.seconds:.4f}", f"{r.users_per_s:,.0f}", r.note,
        )  # fmt: skip
    console.print(table)
    if per_target:
        t2 = Table(title="each target alone: numba vs Polars (1 thread)")
        for col in ("target", "numba s", "polars s", "numba speed-up"):
            t2.add_column(col, justify="left" if col == "target" else "right")
        for r in per_target:
            t2.add_row(r["target"], f"{r['numba_s']:.4f}", f"{r['polars_s']:.4f}", f"{r['speedup']:.1f}x")
        console.print(t2)
    for name, why in reasons.items():
        console.print(f"not in Polars: {name}: {why}")
