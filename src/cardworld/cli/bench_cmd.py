"""`cardworld bench world|targets|report`: the project's benchmarks."""

from __future__ import annotations

import json
from enum import IntEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cardworld.cli.app import bench_app, console, err_console


class Suite(IntEnum):
    one = 1
    twenty = 20


def _paragraphs(text: str) -> str:
    """A help text written in short source lines, each paragraph joined into one (the terminal wraps it)."""
    return "\n\n".join(" ".join(p.split()) for p in text.strip().split("\n\n"))


WORLD_HELP = _paragraphs("""
Generate worlds end to end to Parquet: with neither --consumers nor --years, the bar table.

The bar table: 500 consumers x 20 years and TabFormer's scale (2,000 x 29.16 years), ending
2020-02-28, on 2 workers, pool start-up included. The whole table is measured --runs times; each run's
figure is the best of --repeats worlds; it prints txn/s min and median over runs and met when the
MEDIAN reaches the bar. There is no naive world generator, so the baseline beside each row is a
machine-speed probe timed just before it in the same run: the naive targets reference on the 1-target
suite, 10 users x 4,096 transactions, users/s.

With --consumers or --years: one configured world, its txn/s, peak RSS (this process's peak plus
every worker process's peak) and bytes per row.
""")

TARGETS_HELP = _paragraphs("""
Users per second of the targets engine: without --suite, the bar table.

The bar table: numba on the 1-target and the 20-target suite (1 process), the 20-target suite at
--positions random rows per user, and a DataLoader epoch (20 targets, 2 workers, batch 64). The whole
table is measured --runs times; each run's figure is the best of --repeats calls. Beside each row: the
naive reference on --baseline-users users of the same suite, timed in the same run (median over runs),
and the speed-up over it (median of each run's ratio). met: the MEDIAN over runs reaches the bar; rows
measured at other sizes than the bars' (2,000+ users x 4,096 transactions, 64 positions) say n/a.

With --suite: one table of every implementation (baseline, numba, numba-mp, polars, dataloader, and
numba-sparse with --positions), each row the best of --repeats calls.
""")


@bench_app.command("world", help=WORLD_HELP)
def bench_world_cmd(
    consumers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Consumers of one configured world (default 2000 with --years; neither: the bar table).",
        ),
    ] = None,
    years: Annotated[
        float | None,
        typer.Option(
            min=0.1, help="Years of one configured world, ending 2020-02-28 (default 29.16 with --consumers)."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local worker processes (default 2; not with --dask).")
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="One world on a Dask cluster: tcp://HOST:PORT of a running scheduler, or local[:N] for a "
            "LocalCluster of N worker processes (its start is not timed).",
        ),
    ] = None,
    shard_size: Annotated[
        int | None, typer.Option(min=1, help="Consumers per shard of one world (default: the config's).")
    ] = None,
    base_dir: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Write the world in a temporary folder here (default: the system's temporary directory; "
            "on a multi-node cluster, a path every worker sees).",
        ),
    ] = None,
    fraud: Annotated[
        bool | None,
        typer.Option("--fraud/--no-fraud", help="One world with fraud (--no-fraud: what it costs)."),
    ] = None,
    credit: Annotated[
        bool | None,
        typer.Option(
            "--credit/--no-credit", help="One world with the credit cycle (--no-credit: what it costs)."
        ),
    ] = None,
    runs: Annotated[
        int | None, typer.Option(min=1, help="Bar table: times the whole table is measured (default 2).")
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Bar table: worlds per row and run, the best kept (default 3; a TabFormer-scale world "
            "takes ~30-45 s).",
        ),
    ] = None,
    scale: Annotated[
        float | None,
        typer.Option(
            min=0.0001,
            help="Bar table: multiply its consumers by this for a quick check (default 1; other scales "
            "and worker counts are not judged against the bars).",
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the result as JSON here (date, machine, runs, rows)."),
    ] = None,
) -> None:
    """Worlds per second end to end (help: WORLD_HELP)."""
    one_world = consumers is not None or years is not None
    if one_world:
        _refuse_with(
            "apply to the bar table (no --consumers/--years)", runs=runs, repeats=repeats, scale=scale
        )
        _bench_one_world(consumers or 2000, years or 29.16, workers, dask, shard_size, base_dir,
                         fraud is not False, credit is not False, json_path)  # fmt: skip
        return
    _refuse_with(
        "configure one world: give --consumers or --years with them (the bar table runs local workers "
        "on the default world)",
        dask=dask, shard_size=shard_size, fraud=fraud, credit=credit,
    )  # fmt: skip
    _bench_world_bars(runs or 2, repeats or 3, scale or 1.0, workers, base_dir, json_path)


def _bench_world_bars(
    runs: int, repeats: int, scale: float, workers: int | None, base_dir, json_path
) -> None:
    from cardworld.bench.results import envelope
    from cardworld.bench.world_bars import BAR_WORKERS, run_bars

    workers = workers or BAR_WORKERS
    with err_console.status("world bar table") as status:
        res = run_bars(repeats=repeats, runs=runs, scale=scale, workers=workers, base_dir=base_dir,
                       step=status.update)  # fmt: skip
    args = {"runs": runs, "repeats": repeats, "scale": scale, "workers": workers,
            "at_bar_sizes": all(r["met"] is not None for r in res["rows"])}  # fmt: skip
    _finish(envelope("world-bars", args, **res), json_path)


def _refuse_with(why: str, **given) -> None:
    """One error line naming the options given that do not apply here."""
    names = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
    if names:
        raise typer.BadParameter(f"{', '.join(names)} {why}", param_hint=names[0])


def _bench_one_world(consumers, years, workers, dask, shard_size, base_dir, fraud, credit, json_path) -> None:
    from cardworld.bench.results import envelope
    from cardworld.bench.world import bench_world, rows_dicts

    if dask is not None and workers is not None:
        raise typer.BadParameter(
            "--workers sizes the local pool; with --dask the cluster's workers run the shards "
            "(local:N for N of them): drop one of the two",
            param_hint="--workers",
        )
    where = f"on Dask {dask}" if dask is not None else f"{workers or 2} workers"
    with err_console.status(f"generating {consumers} consumers x {years} years, {where}"):
        row = bench_world(
            consumers, years, workers or 2, fraud=fraud, credit=credit, dask=dask, shard_size=shard_size,
            base_dir=base_dir,
        )  # fmt: skip
    args = {"consumers": consumers, "years": years, "workers": workers or 2, "dask": dask,
            "shard_size": shard_size, "fraud": fraud, "credit": credit}  # fmt: skip
    _finish(envelope("world", args, rows=rows_dicts([row])), json_path)


def _finish(doc: dict, json_path: Path | None) -> None:
    """Print a benchmark document's tables; write it as JSON when asked."""
    from cardworld.bench.results import write_json

    _print_parts(doc)
    if json_path is not None:
        write_json(json_path, doc)


def _print_parts(doc: dict) -> None:
    from cardworld.bench.tables import RIGHT, parts

    out = _wide()
    for part in parts(doc):
        table = Table(title=part.title)
        for col, align in part.columns:
            table.add_column(col, justify="right" if align == RIGHT else "left")
        for row in part.cells:
            table.add_row(*row)
        out.print(table)
        out.print(part.note, markup=False, highlight=False, soft_wrap=True)  # one line: grep-able


def _wide() -> Console:
    """The console, or off a terminal (a log file, a pipe) one wide enough that no cell is cut short."""
    return console if console.is_terminal else Console(width=200)


@bench_app.command("report")
def bench_report_cmd(
    dataset: Annotated[Path, typer.Argument(help="Dataset directory written by `cardworld generate`.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Keep the report here (.html); default: a temporary folder.")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="Also time the side-by-side step against this CSV or dataset.")
    ] = None,
    baselines: Annotated[bool, typer.Option(help="Time the LightGBM baselines too.")] = True,
    baseline_users: Annotated[int, typer.Option(min=1, help="Users the baselines sample.")] = 2000,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the result as JSON here.")
    ] = None,
) -> None:
    """Build the realism report of a dataset and report each step's seconds and rows/s, and peak RSS."""
    from cardworld.bench.report import bench_report

    res = bench_report(dataset, out=out, compare=compare, baselines=baselines, baseline_users=baseline_users)
    table = Table(
        title=f"report benchmark: {res.rows:,} rows, {res.users:,} users, peak RSS {res.peak_rss_mb:,.0f} MB"
    )
    for col in ("step", "seconds", "rows", "rows/s"):
        table.add_column(col, justify="right" if col != "step" else "left")
    for step in res.steps:
        rate = f"{step.rows / step.seconds:,.0f}" if step.rows and step.seconds else ""
        table.add_row(step.step, f"{step.seconds:.2f}", f"{step.rows:,}" if step.rows else "", rate)
    table.add_row("total", f"{res.seconds:.2f}", "", "")
    _wide().print(table)
    if json_path is not None:
        json_path.write_text(json.dumps(res.as_dict(), indent=2) + "\n")


TARGET_SKIPS = ("baseline", "sparse", "dataloader", "numba-mp", "polars")


@bench_app.command("targets", help=TARGETS_HELP)
def bench_targets(
    users: Annotated[int, typer.Option(min=1, help="Users.")] = 2000,
    txns: Annotated[int, typer.Option(min=1, help="Transactions per user.")] = 4096,
    suite: Annotated[
        Suite | None,
        typer.Option(
            help="Per-implementation table of one suite (1: the seed's example; 20: the 20-target suite, "
            "with each target alone against Polars). Default: the bar table."
        ),
    ] = None,
    positions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Random positions per user of the sparse row (compute_targets_batch(at=)), drawn from a "
            "fixed seed outside the timing; more than --txns means all rows (clamped to --txns). Bar "
            "table: default 64; with --suite: adds the row.",
        ),
    ] = None,
    processes: Annotated[int, typer.Option(min=1, help="Processes for --suite's numba-mp row.")] = 2,
    baseline_users: Annotated[int, typer.Option(min=1, help="Users the slow reference is timed on.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Timed calls per row, the best kept.")] = 3,
    runs: Annotated[
        int | None,
        typer.Option(min=1, help="Bar table: times the whole table is measured (default 2)."),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option(help="Rows to skip: baseline, sparse, dataloader; with --suite also numba-mp, polars."),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the result as JSON here (date, machine, runs, rows)."),
    ] = None,
) -> None:
    """Users per second of the targets engine (help: TARGETS_HELP)."""
    from cardworld.bench import targets as B
    from cardworld.bench.results import envelope

    B.pin_threads()  # before numba, polars or torch start thread pools
    skip_set = set(skip or [])
    unknown = skip_set - set(TARGET_SKIPS)
    if unknown:
        raise typer.BadParameter(
            f"unknown row {sorted(unknown)[0]!r}; one of {', '.join(TARGET_SKIPS)}", param_hint="--skip"
        )
    if suite is None:
        _bench_target_bars(users, txns, positions, repeats, runs or 2, baseline_users, skip_set, json_path)
        return
    _refuse_with("applies to the bar table (no --suite); --suite measures each row once", runs=runs)
    specs = B.SUITES[int(suite)]
    data = B.make_sample_data(users, txns)
    rows: list[B.BenchRow] = []
    per_target: list[dict] = []
    reasons: dict[str, str] = {}
    with err_console.status("benchmarking") as status:
        if "baseline" not in skip_set:
            status.update("baseline (naive reference)")
            rows.append(B.bench_baseline(specs, data, baseline_users))
        status.update("numba, 1 process")
        rows.append(B.bench_numba(specs, data, repeats))
        if positions is not None and "sparse" not in skip_set:
            status.update(f"numba, {positions} positions per user")
            rows.append(B.bench_sparse(specs, data, positions, repeats))
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
    args = {"users": users, "txns": txns, "suite": int(suite), "positions": positions,
            "processes": processes, "baseline_users": baseline_users, "repeats": repeats,
            "skip": sorted(skip_set)}  # fmt: skip
    doc = envelope("targets-suite", args, outputs=B.n_outputs(specs), rows=B.result_dict(rows),
                   per_target=per_target, not_in_polars=reasons)  # fmt: skip
    _finish(doc, json_path)
    for name, why in reasons.items():
        _wide().print(f"not in Polars: {name}: {why}", markup=False, highlight=False)


def _bench_target_bars(users, txns, positions, repeats, runs, baseline_users, skip_set, json_path) -> None:
    from cardworld.bench.results import envelope
    from cardworld.bench.targets_bars import BAR_POSITIONS, run_bars

    with err_console.status("targets bar table") as status:
        res = run_bars(
            users=users, txns=txns, positions=positions or BAR_POSITIONS, repeats=repeats, runs=runs,
            baseline_users=baseline_users, skip=skip_set, step=status.update,
        )  # fmt: skip
    args = {"users": users, "txns": txns, "positions": res.pop("positions"), "repeats": repeats,
            "runs": runs, "baseline_users": baseline_users, "skip": sorted(skip_set),
            "at_bar_sizes": all(r["met"] is not None for r in res["rows"])}  # fmt: skip
    _finish(envelope("targets-bars", args, **res), json_path)


@bench_app.command("table")
def bench_table_cmd(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JSON written by `cardworld bench targets|world --json` (e.g. benchmarks/*.json).",
            exists=True,
            dir_okay=False,
        ),
    ],
) -> None:
    """Print the Markdown table(s) of benchmark JSON files, as the README pastes them."""
    from cardworld.bench.tables import markdown_table

    out = []
    for path in files:
        try:
            out.append(markdown_table(json.loads(path.read_text())))
        except (ValueError, KeyError, TypeError) as err:
            why = f"missing field {err}" if isinstance(err, KeyError) else str(err)
            raise typer.BadParameter(
                f"{path}: not a benchmark document ({why})", param_hint="FILES"
            ) from None
    typer.echo("\n\n".join(out))
