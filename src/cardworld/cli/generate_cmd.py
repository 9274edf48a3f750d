"""`cardworld generate`: simulate a world into a dataset directory."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from cardworld.cli.app import app, err_console, progress_bar


@app.command()
def generate(
    out: Annotated[
        Path,
        typer.Option("--out", help="Dataset directory to write (must be new or empty, unless --resume)."),
    ],
    consumers: Annotated[int | None, typer.Option(help="Number of consumers (default: config).")] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: config).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: config).")] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed (default: config).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="World config YAML.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 1,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace the dataset in OUT, once the new one is complete (other files stay)."),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue the interrupted run in OUT/.build (same options and config): keep its finished "
            "shards whose checksums verify, run the missing ones, then replace the dataset in OUT."
        ),
    ] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Run the shards on a Dask cluster: tcp://HOST:PORT of a running scheduler, or local[:N] "
            "for a LocalCluster of N worker processes",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    no_credit: Annotated[
        bool,
        typer.Option(
            "--no-credit",
            help="No credit cycle (config credit.enabled: false): empty statements and defaults tables.",
        ),
    ] = False,
) -> None:
    """Simulate the world and write its dataset directory (transactions, consumers, cards, ...)."""
    try:
        from cardworld.config import load_config
        from cardworld.engine.run import generate as run
        from cardworld.errors import InputError

        if dask is not None and workers > 1:
            raise InputError(
                "--dask runs the shards on the cluster's workers, so --workers does not apply; drop one of them"
            )
        # Merged into the file's credit section like the other overrides: its other fields stay.
        credit = {"enabled": False} if no_credit else None
        cfg = load_config(config, consumers=consumers, start=start, end=end, seed=seed, credit=credit)
        with _client(dask) as client, progress_bar(quiet) as progress:
            task = progress.add_task("shards", total=cfg.n_shards())

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            manifest = run(
                cfg, out, workers=workers, overwrite=overwrite, on_shard=report, resume=resume, client=client
            )
    except KeyboardInterrupt as e:  # RunInterrupted says what is kept; printed once the bar is gone
        line = str(e) or f"interrupted before the run started: {str(out)!r} is unchanged"
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    if not quiet:
        rows = sum(s["rows"] for s in manifest["shards"])
        err_console.print(f"wrote {rows:,} transactions of {cfg.consumers:,} consumers to {out}")


def _client(address: str | None):
    """A Dask client on `address` for the run (closed after it), or nothing without --dask."""
    if address is None:
        return nullcontext(None)
    from cardworld.engine.cluster import open_client  # dask is an optional extra

    return open_client(address)
