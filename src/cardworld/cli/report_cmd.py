"""`cardworld report`: the realism report of a dataset directory, one self-contained HTML file and its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cardworld.cli.app import app, err_console, progress_bar

REPORT_HELP = (
    "Write the realism report of a dataset directory: one self-contained HTML file (plots embedded, no "
    "network needed) and, beside it, the same name with .json holding every figure.\n\n"
    "The report has the source paper's summary tables (consumers, cards, transactions), breakdowns per "
    "year, US state, foreign country and MCC, plots, a calibration check against a reference profile "
    "(the public figures the world is calibrated to, or your YAML), label health, an example consumer's "
    "page, and LightGBM baselines for fraud and default. --compare adds the same tables for a "
    "TabFormer-format CSV or another cardworld dataset, with an SDMetrics fidelity score. --consumer ID "
    "writes only that consumer's page."
)


class _RichSteps:
    """report.build.Steps on a rich progress bar: one task per step, a row count where the step has one."""

    def __init__(self, bar) -> None:
        self.bar, self.task, self.total = bar, None, 1

    def start(self, name: str, total: int | None = None) -> None:
        if self.task is not None:  # the step before is done
            self.bar.update(self.task, total=self.total, completed=self.total)
        self.total = total or 1
        self.task = self.bar.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, n)


@app.command("report", help=REPORT_HELP)
def report_cmd(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory written by `cardworld generate`.")],
    out: Annotated[
        Path, typer.Option("--out", help="The HTML file to write (FILE.json is written beside it).")
    ],
    reference: Annotated[
        str, typer.Option(help="Reference profile: default (public US figures) or a profile YAML file.")
    ] = "default",
    compare: Annotated[
        Path | None,
        typer.Option(
            help="Also tabulate a TabFormer-format CSV (or a folder with one) or a cardworld dataset."
        ),
    ] = None,
    consumer: Annotated[
        int | None, typer.Option(min=0, help="Write only the page of this consumer (user_id).")
    ] = None,
    baseline_users: Annotated[
        int, typer.Option(min=1, help="Users the baselines sample on big worlds (all when fewer).")
    ] = 2000,
    baselines: Annotated[bool, typer.Option(help="Train the LightGBM baselines (fraud, default).")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT (and its .json) if they exist.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary line.")
    ] = False,
) -> None:
    from cardworld.report.build import build_report

    with progress_bar(quiet) as bar:
        result = build_report(
            dataset,
            out,
            reference=reference,
            compare=compare,
            consumer=consumer,
            baseline_users=baseline_users,
            baselines=baselines,
            overwrite=overwrite,
            steps=_RichSteps(bar),
        )
    if quiet:
        return
    counts = result.calibration
    judged = (
        f" (calibration: {counts['pass']} pass, {counts['fail']} fail, {counts['n/a']} n/a)" if counts else ""
    )
    err_console.print(
        f"wrote {result.html} and {result.json}{judged}", markup=False, highlight=False, soft_wrap=True
    )
