"""The `cardworld` command line. Errors print one line on stderr and exit with code 2."""

from __future__ import annotations

import json
import sys
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cardworld.errors import CardworldError

app = typer.Typer(
    help="cardworld: synthetic card transactions and synthetic targets at training speed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks (speed is shown here, not in tests).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
console = Console()
err_console = Console(stderr=True)


class Suite(IntEnum):
    one = 1
    twenty = 20


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,  # the bar goes away when done, so an error stays the only line on stderr
    )


@app.command()
def targets(
    input: Annotated[
        Path,
        typer.Argument(help="Parquet file or directory of transactions (user_id, timestamp, amount, mcc)."),
    ],
    spec: Annotated[Path, typer.Option("--spec", help="YAML file of target specs.")],
    out: Annotated[
        Path, typer.Option("--out", help="Parquet file to write: user_id, timestamp, one column per output.")
    ],
    batch_users: Annotated[int, typer.Option(min=1, help="Users per kernel call (bounds memory).")] = 256,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Compute synthetic targets for every transaction of INPUT and write them to OUT."""
    from cardworld.targets import load_target_specs, output_names
    from cardworld.targets.files import write_targets_parquet

    specs = load_target_specs(spec)
    with _progress(quiet) as progress:
        task = progress.add_task("targets", total=None, start=False, visible=False)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, visible=True)

        rows = write_targets_parquet(
            input, specs, out, batch_users=batch_users, overwrite=overwrite, progress=report
        )
    if not quiet:
        err_console.print(f"wrote {rows:,} rows x {len(output_names(specs))} targets to {out}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Dataset directory to write (must be new or empty).")],
    consumers: Annotated[int | None, typer.Option(help="Number of consumers (default: config).")] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: config).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: config).")] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed (default: config).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="World config YAML.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 1,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing dataset in OUT.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Simulate the world and write its dataset directory (transactions, consumers, cards, ...)."""
    from cardworld.config import load_config
    from cardworld.engine.run import generate as run

    cfg = load_config(config, consumers=consumers, start=start, end=end, seed=seed)
    with _progress(quiet) as progress:
        task = progress.add_task("shards", total=cfg.n_shards())

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        manifest = run(cfg, out, workers=workers, overwrite=overwrite, on_shard=report)
    if not quiet:
        rows = sum(s["rows"] for s in manifest["shards"])
        err_console.print(f"wrote {rows:,} transactions of {cfg.consumers:,} consumers to {out}")


@app.command("config")
def config_cmd(
    defaults: Annotated[bool, typer.Option("--defaults", help="Print the full default config.")] = False,
) -> None:
    """Print the world config (YAML, every field documented)."""
    from cardworld.config import default_yaml

    if not defaults:
        raise typer.BadParameter("pass --defaults to print the default config", param_hint="--defaults")
    typer.echo(default_yaml(), nl=False)


class ExportFormat(StrEnum):
    tabformer = "tabformer"


@app.command()
def export(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory written by `cardworld generate`.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    format: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = ExportFormat.tabformer,
    users_csv: Annotated[Path | None, typer.Option(help="Also write sd254-style users CSV here.")] = None,
    cards_csv: Annotated[Path | None, typer.Option(help="Also write sd254-style cards CSV here.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> None:
    """Export a dataset, e.g. as TabFormer's exact card_transaction.v1.csv."""
    from cardworld.io.tabformer import export_tabformer

    res = export_tabformer(dataset, out, users_csv=users_csv, cards_csv=cards_csv, overwrite=overwrite)
    err_console.print(f"wrote {res.transactions:,} rows to {out}")


@app.command()
def summary(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory written by `cardworld generate`.")],
) -> None:
    """Print a short summary of a dataset: rows, consumers, cards, channel shares, top MCCs, errors."""
    from cardworld.report.summary import summarize

    s = summarize(dataset)
    table = Table(title=f"world summary: {dataset}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in s.items():
        table.add_row(key, value)
    console.print(table)


@app.command()
def demo(
    spec: Annotated[
        Path | None, typer.Option("--spec", help="YAML target specs (default: the shipped example).")
    ] = None,
    users: Annotated[int, typer.Option(min=1, help="Users in the built-in sample.")] = 3,
    txns: Annotated[int, typer.Option(min=1, help="Transactions per user.")] = 400,
    rows: Annotated[int, typer.Option(min=1, help="Transactions to print.")] = 4,
) -> None:
    """Compute a spec file's targets over a built-in sample and print a few rows."""
    import numpy as np

    from cardworld.bench.data import make_bench_data
    from cardworld.data import data_path
    from cardworld.targets import compute_targets_batch, load_target_specs, output_names

    spec_path = spec or Path(data_path("targets_example.yaml"))
    specs = load_target_specs(spec_path)
    data = make_bench_data(users, txns, seed=0)
    y = compute_targets_batch(specs, time=data.time, amount=data.amount, mcc=data.mcc, offsets=data.offsets)
    names = output_names(specs)
    console.print(
        f"[bold]{len(names)} targets[/bold] from {spec_path} over {users} users x {txns} transactions"
    )
    pick = np.linspace(0, data.time.size - 1, rows).astype(int)
    table = Table(title="a few transactions (columns) and their targets (rows)")
    table.add_column("field", no_wrap=True)
    for i in pick:
        table.add_column(f"row {i}", justify="right")
    when = [np.datetime64(int(data.time[i]), "s").astype(str).replace("T", " ")[:16] for i in pick]
    table.add_row("user", *(str(data.user_id[i]) for i in pick))
    table.add_row("time", *when)
    table.add_row("amount", *(f"{data.amount[i]:.2f}" for i in pick))
    table.add_row("mcc", *(str(data.mcc[i]) for i in pick), end_section=True)
    for j, name in enumerate(names):
        table.add_row(name, *(f"{y[i, j]:.4g}" for i in pick))
    console.print(table)


@bench_app.command("world")
def bench_world_cmd(
    consumers: Annotated[int, typer.Option(min=1, help="Consumers.")] = 2000,
    years: Annotated[float, typer.Option(min=0.1, help="Years of history, ending 2020-02-28.")] = 29.16,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    fraud: Annotated[bool, typer.Option(help="Simulate fraud (--no-fraud: what fraud costs).")] = True,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the rows as JSON here.")
    ] = None,
) -> None:
    """Generate a world end to end to Parquet and report transactions/s, peak RSS and bytes per row."""
    from cardworld.bench.world import bench_world, rows_dicts

    with err_console.status(f"generating {consumers} consumers x {years} years, {workers} workers"):
        row = bench_world(consumers, years, workers, fraud=fraud)
    table = Table(title="world benchmark")
    for col in (
        "consumers",
        "years",
        "workers",
        "fraud",
        "rows",
        "seconds",
        "txn/s",
        "peak RSS MB",
        "bytes/row",
    ):
        table.add_column(col, justify="right")
    table.add_row(
        str(row.consumers), f"{row.years:g}", str(row.workers), "on" if row.fraud else "off", f"{row.rows:,}", f"{row.seconds:.2f}",
        f"{row.txn_per_s:,.0f}", f"{row.peak_rss_mb:,.0f}", f"{row.bytes_per_row:.1f}",
    )  # fmt: skip
    console.print(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(rows_dicts([row]), indent=2) + "\n")


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
    data = B.make_bench_data(users, txns)
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


def main() -> None:
    """Entry point: CardworldError becomes one line on stderr and exit code 2."""
    try:
        app()  # usage errors (bad options or values) print usage and exit 2 here
    except CardworldError as err:
        err_console.print(f"error: {err}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
