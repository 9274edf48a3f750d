"""`cardworld targets` and `cardworld demo`: synthetic targets from the command line."""

from __future__ import annotations

from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cardworld.cli.app import app, console, err_console, progress_bar

TARGETS_HELP = (
    "Compute synthetic targets for every transaction of INPUT and write them to OUT.\n\n"
    "OUT ending in .parquet is one file. Row i of OUT is row i of INPUT (files in name order, rows in file "
    "order), so OUT lines up with INPUT row by row, even where a user has several rows at the same time. "
    "Any other OUT is a directory with one part file per INPUT part file, under the same name, whose row i "
    "is row i of that part; --dask computes the parts on a Dask cluster.\n\n"
    "Each user's rows are put in time order to compute (a stable sort: equal times keep their INPUT order) "
    "and the targets are written back in INPUT's order. When the users ascend from part file to part file, "
    "as in a cardworld dataset, INPUT is read, computed and written one part file at a time, so memory "
    "holds one part; otherwise (one OUT file only) INPUT is read whole and all targets are held until "
    "written. Nothing is left at OUT unless all of it was written."
)
_DASK_HELP = (
    "Compute the part files on a Dask cluster: local (one worker per CPU), local:N, or a scheduler's "
    "tcp://HOST:PORT. OUT must be a directory, on a filesystem the workers share."
)


def writes_directory(out: Path) -> bool:
    """Whether --out names a directory: a path without the .parquet suffix that is not an existing file,
    FIFO or device (those are written as one file, as before)."""
    return out.is_dir() or (not out.exists() and out.suffix.lower() != ".parquet")


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
            help="FILE.parquet: one file, user_id, timestamp, one column per output, in INPUT's row order; "
            "or DIR: one such file per INPUT part file.",
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
    dask: Annotated[str | None, typer.Option("--dask", metavar="ADDRESS", help=_DASK_HELP)] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    allow_empty: Annotated[
        bool, typer.Option(help="Write an empty OUT when INPUT has no rows, instead of failing.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """`cardworld targets`: see TARGETS_HELP (typer keeps a docstring's line breaks)."""
    from cardworld.errors import InputError
    from cardworld.targets import load_target_specs, output_names

    to_dir = writes_directory(out)
    if dask is not None and not to_dir:
        raise InputError(
            f"--dask computes one part file per input part into a directory, but --out {str(out)!r} names "
            "one file; give --out a directory path (without the .parquet suffix), or leave out --dask"
        )
    specs = load_target_specs(spec)
    options = {
        "user_col": user_col,
        "time_col": time_col,
        "amount_col": amount_col,
        "mcc_col": mcc_col,
        "batch_users": batch_users,
        "overwrite": overwrite,
        "allow_empty": allow_empty,
    }
    with ExitStack() as stack:
        runner = None
        if dask is not None:  # connect first: an unreachable scheduler fails before any work
            from cardworld.engine.cluster import open_client, run_on_dask

            runner = partial(run_on_dask, stack.enter_context(open_client(dask)), what="part")
        rows = _run(input, specs, out, to_dir, runner, options, quiet)
    if not quiet:
        where = f"{out}/ ({sum(1 for _ in out.glob('*.parquet'))} part files)" if to_dir else str(out)
        err_console.print(f"wrote {rows:,} rows x {len(output_names(specs))} targets to {where}")


def _run(input: Path, specs, out: Path, to_dir: bool, runner, options: dict, quiet: bool) -> int:
    """write_targets_dir or write_targets_parquet under a progress bar (rows done of all)."""
    from cardworld.targets.files import write_targets_dir, write_targets_parquet

    with progress_bar(quiet) as progress:
        task = progress.add_task("targets", total=None, start=False, visible=False)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, visible=True)

        if to_dir:
            return write_targets_dir(input, specs, out, progress=report, runner=runner, **options)
        return write_targets_parquet(input, specs, out, progress=report, **options)


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
