"""The `cardworld` command line. Errors print one line on stderr and exit with code 2; Ctrl-C exits 130.

One module per group of commands (`targets_cmd`, `generate_cmd`, `world_cmd`, `credit_cmd`, `report_cmd`, `bench_cmd`,
`experiment_cmd`) registers on the
app in `app`.
"""

from __future__ import annotations

import sys

try:  # typer >= 0.20 vendors click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer with click installed beside it
    from click.exceptions import ClickException, NoArgsIsHelpError

from cardworld.cli import (  # noqa: F401  (register the commands)
    bench_cmd,
    credit_cmd,
    experiment_cmd,
    generate_cmd,
    report_cmd,
    targets_cmd,
    world_cmd,
)
from cardworld.cli.app import app, err_console
from cardworld.errors import CardworldError


def main() -> None:
    """Entry point: CardworldError becomes one line on stderr and exit code 2, Ctrl-C exit code 130.

    Inside a command typer turns Ctrl-C into exit 130 silently; a command that has something to say
    about it (generate: what is kept) prints that line itself.
    """
    try:
        code = app(standalone_mode=False)  # usage errors come back here as exceptions
    except NoArgsIsHelpError as err:  # a bare `cardworld` or `cardworld bench`: the help, as before
        err.show()
        sys.exit(err.exit_code)
    except ClickException as err:  # a bad option or value: one line, like every other error
        where = f"; see '{err.ctx.command_path} --help'" if getattr(err, "ctx", None) else ""
        err_console.print(
            f"error: {err.format_message().replace('Value error, ', '').rstrip('.')}{where}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(err.exit_code)
    except CardworldError as err:
        err_console.print(f"error: {err.for_cli()}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt as err:  # outside a command (typer handles it within one)
        err_console.print(str(err) or "interrupted", markup=False, highlight=False, soft_wrap=True)
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)


__all__ = ["app", "main"]
