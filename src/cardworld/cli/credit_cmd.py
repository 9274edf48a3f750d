"""`cardworld pd-samples`: probability-of-default samples of a dataset directory, as Parquet or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cardworld.cli.app import app, err_console
from cardworld.errors import InputError

PD_HELP = (
    "Write the probability-of-default samples of a dataset directory to OUT (.parquet or .csv).\n\n"
    "One row per credit account and observation date at which the account is current (billed in the last "
    "month, 0 days past due): user_id, account_id, obs_date, label, split. label is 1 when the account is "
    "charged off or 90+ days past due within the next --horizon-months months. Samples whose label window "
    "ends after the last statement are dropped (censored). --split time tests on dates from --test-from "
    "on and trains on samples whose window ends before it (the gap between is dropped); --split account "
    "holds out a share of the accounts."
)
_FORMATS = (".parquet", ".csv")


def _write(table, tmp: Path, suffix: str) -> None:
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, tmp)
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, tmp)


def _summary(table) -> str:
    import numpy as np

    label = table.column("label").to_numpy()
    split = np.asarray(table.column("split").to_pylist(), dtype=object)
    parts = []
    for name in ("train", "test"):
        y = label[split == name]
        rate = f"{100 * y.mean():.2f}%" if y.size else "n/a"
        parts.append(f"{name} {y.size:,} rows, {int(y.sum()):,} positive ({rate})")
    return "; ".join(parts)


@app.command("pd-samples", help=PD_HELP)
def pd_samples_cmd(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory written by `cardworld generate`.")],
    out: Annotated[Path, typer.Option("--out", help="File to write: FILE.parquet or FILE.csv.")],
    horizon_months: Annotated[
        int, typer.Option(help="Months after the observation date in which a default counts.")
    ] = 12,
    every_months: Annotated[
        int, typer.Option(help="Months between default observation dates (1sts of the month).")
    ] = 1,
    dates: Annotated[
        str | None,
        typer.Option(
            help="Observation dates instead, comma-separated YYYY-MM-DD (e.g. 2015-01-01,2016-01-01)."
        ),
    ] = None,
    split: Annotated[
        str, typer.Option(help="time (test on later dates) or account (held-out accounts).")
    ] = "time",
    test_from: Annotated[
        str | None,
        typer.Option(
            help="First test observation date, YYYY-MM-DD (default: about --test-share of the dates)."
        ),
    ] = None,
    test_share: Annotated[
        float, typer.Option(help="Share of dates (time) or accounts (account) for test.")
    ] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed of the account split's hash.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line.")] = False,
) -> None:
    """`cardworld pd-samples`: see PD_HELP."""
    from cardworld.io.atomic import atomic_output
    from cardworld.labels import pd_samples

    suffix = out.suffix.lower()
    if suffix not in _FORMATS:
        raise InputError(
            f"output {str(out)!r} has the suffix {out.suffix or '(none)'!r}; name a .parquet or a .csv file"
        )
    observed = None if dates is None else [d.strip() for d in dates.split(",")]
    with atomic_output(out, overwrite=overwrite) as tmp:  # refuses an existing OUT before any work
        table = pd_samples(
            dataset,
            dates=observed,
            every_months=every_months,
            horizon_months=horizon_months,
            split=split,
            test_from=test_from,
            test_share=test_share,
            seed=seed,
        )
        _write(table, tmp, suffix)
    if not quiet:
        err_console.print(
            f"wrote {table.num_rows:,} PD samples to {out}: {_summary(table)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
