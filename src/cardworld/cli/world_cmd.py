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
    dataset: Annotated[
        Path | None,
        typer.Argument(help="Dataset directory: print the config its manifest records.", show_default=False),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="World config YAML: print it resolved (defaults filled in)."),
    ] = None,
    defaults: Annotated[bool, typer.Option("--defaults", help="Print the full default config.")] = False,
) -> None:
    """Print a world config as YAML, every field documented; pass it back with `generate --config`."""
    from cardworld.config import config_yaml, load_config
    from cardworld.engine.run import dataset_config
    from cardworld.errors import InputError

    given = [
        what
        for what, v in (("a dataset directory", dataset), ("--config", config), ("--defaults", defaults))
        if v
    ]
    if len(given) != 1:
        got = "nothing" if not given else " and ".join(given)
        raise InputError(
            f"config: give exactly one of a dataset directory, --config FILE or --defaults (got {got})"
        )
    if defaults:
        cfg = None
    elif config is not None:
        cfg = load_config(config)
    else:
        cfg = dataset_config(dataset)
    typer.echo(config_yaml(cfg), nl=False)


class ExportFormat(StrEnum):
    tabformer = "tabformer"


@app.command()
def export(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory written by `cardworld generate`.")],
    out: Annotated[
        Path, typer.Option("--out", help="CSV file to write (a FIFO or /dev/stdout is written directly).")
    ],
    format: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = ExportFormat.tabformer,
    users_csv: Annotated[Path | None, typer.Option(help="Also write sd254-style users CSV here.")] = None,
    cards_csv: Annotated[Path | None, typer.Option(help="Also write sd254-style cards CSV here.")] = None,
    end_year: Annotated[
        int | None,
        typer.Option(
            help="Year the users CSV's Current Age is relative to (default: the last transaction's)."
        ),
    ] = None,
    allow_partial: Annotated[
        bool, typer.Option(help="Export a partial dataset (a run that did not finish): the shards written.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> None:
    """Export a dataset, e.g. as TabFormer's exact card_transaction.v1.csv."""
    from cardworld.io.tabformer import export_tabformer

    res = export_tabformer(
        dataset,
        out,
        users_csv=users_csv,
        cards_csv=cards_csv,
        end_year=end_year,
        overwrite=overwrite,
        allow_partial=allow_partial,
    )
    err_console.print(
        f"wrote {res.transactions:,} rows to {out}", markup=False, highlight=False, soft_wrap=True
    )


@app.command()
def summary(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory written by `cardworld generate`.")],
) -> None:
    """Print a short summary of a dataset: rows, consumers, cards, channel shares, top MCCs, errors, and
    its credit cycle (charge-off and 30+ DPD rates, overall and by year) when it has credit statements.

    A what-if world (over-sampled fraud, twins, a fraud-free window, a population segment, ...) is flagged
    in the first line.
    """
    from cardworld.report.summary import CREDIT_COLUMNS, NOT_REPRESENTATIVE, dataset_summary

    s = dataset_summary(dataset)
    warning = s.figures.pop(NOT_REPRESENTATIVE, None)
    if warning is not None:
        _line(f"warning: not a representative world: {warning}")
    table = Table(title=f"world summary: {dataset}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in s.figures.items():
        table.add_row(key, value)
    console.print(table)
    if s.credit_by_year:
        by_year = Table(title="credit cycle by year")
        for name in CREDIT_COLUMNS:
            by_year.add_column(name, justify="right")
        for row in s.credit_by_year:
            by_year.add_row(*(row[name] for name in CREDIT_COLUMNS))
        console.print(by_year)
    for note in s.notes:
        _line(note)


def _line(text: str) -> None:
    """One plain line on stdout (no markup, highlighting or wrapping)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)
