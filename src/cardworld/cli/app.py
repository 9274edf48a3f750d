"""The typer app and what every command shares: consoles and the progress bar."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

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


def cardworld_version() -> str:
    """The installed package's version (the source tree's when it is not installed)."""
    try:
        return version("cardworld")
    except PackageNotFoundError:
        from cardworld import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cardworld {cardworld_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """cardworld: synthetic card transactions and synthetic targets at training speed."""


def progress_bar(quiet: bool) -> Progress:
    """A progress bar on stderr, shown only on a terminal and unless `quiet`.

    Off a terminal rich still writes a line when a transient bar stops, so an error would not be the only
    line on stderr: there the bar is disabled and writes nothing.
    """
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
        transient=True,  # the bar goes away when done, so an error stays the only line on stderr
    )
