"""The dataset commands: `config`, `export`, `summary` (`generate` is in generate_cmd)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cardworld.cli.app import app, console, err_console


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
