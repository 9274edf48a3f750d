"""`cardworld experiment`: does pre-training on synthetic targets help? (cardworld.experiment)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Annotated

import typer

from cardworld.cli.app import app, err_console
from cardworld.errors import InputError

experiment_app = typer.Typer(
    help="The pre-training experiment: synthetic targets vs CoLES, from scratch and LightGBM.",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")

WORLD_HELP = (
    "Generate the world a preset's experiment runs on (its consumers, years and over-sampled defaults) "
    "into OUT."
)
PRETRAIN_HELP = (
    "Pre-train a sequence encoder on synthetic targets computed on the fly, fine-tune it on fraud (per "
    "transaction) and default (PD per account) with 1%, 10% and 100% of the labelled users, against the "
    "same encoder from scratch, pre-trained on shuffled targets, pre-trained by CoLES, and LightGBM on "
    "hand-made aggregates; 5 seeds. Writes results.md, results.json and auc_vs_fraction.png to OUT."
)
_NEEDS = ("torch", "matplotlib")  # every run; then per method
_METHOD_NEEDS = {"lightgbm": "lightgbm", "coles": "ptls"}


def _check_extra(methods) -> None:
    needs = [*_NEEDS, *(_METHOD_NEEDS[m] for m in methods if m in _METHOD_NEEDS)]
    missing = [m for m in needs if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(
            f"the experiment needs {', '.join(missing)}, not installed; install the extra: "
            "pip install 'cardworld[experiment]' (make test installs it)"
        )


def _check_device(device: str) -> str:
    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise InputError(f"--device {device!r} is not a device; pass cpu or cuda (cuda:N for the N-th GPU)")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InputError(
                f"--device {device}: no CUDA GPU is visible to torch (torch {torch.__version__}); run on a GPU "
                "machine with a CUDA build of torch, or pass --device cpu"
            )
    return device


def _preset(name: str):
    from cardworld.experiment.run import resolve_preset

    return resolve_preset(name)


def _customised(p, suite: str, methods: str | None, fractions: str | None):
    from cardworld.experiment.run import METHOD_NAMES
    from cardworld.experiment.suite import SUITES

    if suite not in SUITES:
        raise InputError(f"--suite {suite!r} is not a target suite; pass one of {', '.join(SUITES)}")
    p = p.with_(suite=suite)
    if methods is not None:
        names = tuple(m.strip() for m in methods.split(",") if m.strip())
        bad = [m for m in names if m not in METHOD_NAMES]
        if bad or not names:
            raise InputError(
                f"--methods {methods!r}: {bad[0] if bad else 'empty'!r} is not a method; pass a comma-separated "
                f"subset of {', '.join(METHOD_NAMES)}"
            )
        p = p.with_(methods=names)
    if fractions is not None:
        try:
            values = tuple(sorted({float(f) for f in fractions.split(",")}))
        except ValueError:
            values = ()
        if not values or not all(0 < f <= 1 for f in values):
            raise InputError(
                f"--fractions {fractions!r} is not a list of label fractions; pass comma-separated numbers in "
                "(0, 1], e.g. 0.01,0.1,1"
            )
        p = p.with_(fractions=values)
    return p


@experiment_app.command("world", help=WORLD_HELP)
def world_cmd(
    out: Annotated[Path, typer.Option("--out", help="Dataset directory to write (new or empty).")],
    preset: Annotated[
        str, typer.Option(help="small (2-core CPU), full (one GPU) or tiny (tests).")
    ] = "small",
    workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 2,
    overwrite: Annotated[bool, typer.Option(help="Replace the dataset in OUT.")] = False,
) -> None:
    from cardworld.config import load_config
    from cardworld.engine.run import generate

    recipe = _preset(preset).world
    generate(load_config(**recipe.overrides()), out, workers=workers, overwrite=overwrite)
    err_console.print(
        f"wrote {out}: {recipe.consumers:,} consumers, {recipe.start} to {recipe.end}, defaults "
        f"over-sampled x{recipe.default_multiplier:g}",
        highlight=False,
    )


@experiment_app.command("pretrain", help=PRETRAIN_HELP)
def pretrain_cmd(
    world: Annotated[Path, typer.Option("--world", help="Dataset directory (cardworld experiment world).")],
    out: Annotated[Path, typer.Option("--out", help="Results directory to write (new or empty).")],
    preset: Annotated[
        str, typer.Option(help="small (2-core CPU), full (one GPU) or tiny (tests).")
    ] = "small",
    device: Annotated[str, typer.Option(help="cpu or cuda (cuda:N).")] = "cpu",
    suite: Annotated[
        str, typer.Option(help="Pre-training targets: all, short (a day or a week) or long.")
    ] = "all",
    methods: Annotated[
        str | None,
        typer.Option(help="Comma-separated subset of: targets, shuffled, coles, scratch, lightgbm."),
    ] = None,
    fractions: Annotated[
        str | None, typer.Option(help="Comma-separated label fractions in (0, 1], e.g. 0.01,0.1,1.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the results in OUT.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    from cardworld.experiment.run import check_out, run_experiment

    p = _customised(_preset(preset), suite, methods, fractions)
    check_out(out, overwrite)
    _check_extra(p.methods)
    _check_device(device)

    def say(msg: str) -> None:
        if not quiet:
            err_console.print(msg, markup=False, highlight=False, soft_wrap=True)

    run_experiment(world, out, preset=p, device=device, overwrite=overwrite, progress=say)
    typer.echo(f"wrote {out / 'results.md'}, results.json and auc_vs_fraction.png")
