"""The `cardworld` command line. Errors print one line on stderr and exit with code 2; Ctrl-C exits 130.

One module per group of commands (`targets_cmd`, `generate_cmd`, `world_cmd`, `bench_cmd`) registers on the app in `app`.
"""

from __future__ import annotations

import sys

from cardworld.cli import bench_cmd, generate_cmd, targets_cmd, world_cmd  # noqa: F401  (register the commands)
from cardworld.cli.app import app, err_console
from cardworld.errors import CardworldError


def main() -> None:
    """Entry point: CardworldError becomes one line on stderr and exit code 2, Ctrl-C exit code 130.

    Inside a command typer turns Ctrl-C into exit 130 silently; a command that has something to say
    about it (generate: what is kept) prints that line itself.
    """
    try:
        app()  # usage errors (bad options or values) print usage and exit 2 here
    except CardworldError as err:
        err_console.print(f"error: {err.for_cli()}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt as err:  # outside a command (typer handles it within one)
        err_console.print(str(err) or "interrupted", markup=False, highlight=False, soft_wrap=True)
        sys.exit(130)


__all__ = ["app", "main"]
