"""The typer app and what every command shares: consoles and the progress bar."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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


def progress_bar(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,  # the bar goes away when done, so an error stays the only line on stderr
    )
