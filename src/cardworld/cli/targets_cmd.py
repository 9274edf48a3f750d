"""`cardworld targets` and `cardworld demo`: synthetic targets from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cardworld.cli.app import app, console, err_console, progress_bar

TARGETS_HELP = (
    "Compute synthetic targets for every transaction of INPUT and write them to OUT.\n\n"
    "Row i of OUT is row i of INPUT (files in name order, rows in file order), so OUT lines up with INPUT "
    "row by row, even where a user has several rows at the same time. Each user's rows are put in time "
    "order to compute (a stable sort: equal times keep their INPUT order) and the targets are written "
    "back in INPUT's order. Input already sorted by user and time, like a cardworld dataset, is processed "
    "in batches of users; unsorted input holds all targets in memory until they are written."
)


@app.command(help=TARGETS_HELP)
def targets(
    input: Annotated[
        Path,
        typer.Argument(
            help="Parquet file, directory of Parquet files, or cardworld dataset directory (its transactions)."
        ),
    ],
    spec: Annotated[Path, typer.Option("--spec", help="YAML file of target specs.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Parquet file to write: user_id, timestamp, one column per output, in INPUT's row order.",
        ),
    ],
    user_col: Annotated[str, typer.Option(help="INPUT's column of integer user ids.")] = "user_id",
    time_col: Annotated[
        str, typer.Option(help="INPUT's column of timestamps (or integer seconds).")
    ] = "timestamp",
    amount_col: Annotated[str, typer.Option(help="INPUT's column of amounts.")] = "amount",
    mcc_col: Annotated[
        str,
        typer.Option(help="INPUT's column of merchant category codes (read only if a spec filters on MCC)."),
    ] = "mcc",
    batch_users: Annotated[int, typer.Option(min=1, help="Users per kernel call (bounds memory).")] = 256,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    allow_empty: Annotated[
        bool, typer.Option(help="Write an empty OUT when INPUT has no rows, instead of failing.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """`cardworld targets`: see TARGETS_HELP (typer keeps a docstring's line breaks)."""
    from cardworld.targets import load_target_specs, output_names
    from cardworld.targets.files import write_targets_parquet

    specs = load_target_specs(spec)
    with progress_bar(quiet) as progress:
        task = progress.add_task("targets", total=None, start=False, visible=False)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, visible=True)

        rows = write_targets_parquet(
            input,
            specs,
            out,
            user_col=user_col,
            time_col=time_col,
            amount_col=amount_col,
            mcc_col=mcc_col,
            batch_users=batch_users,
            overwrite=overwrite,
            allow_empty=allow_empty,
            progress=report,
        )
    if not quiet:
        err_console.print(f"wrote {rows:,} rows x {len(output_names(specs))} targets to {out}")


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

    from cardworld.data import data_path
    from cardworld.sample import make_sample_data
    from cardworld.targets import compute_targets_batch, load_target_specs, output_names

    spec_path = spec or Path(data_path("targets_example.yaml"))
    specs = load_target_specs(spec_path)
    data = make_sample_data(users, txns, seed=0)
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
