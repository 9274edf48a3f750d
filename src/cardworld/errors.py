"""One exception family. Messages say what was wrong, where (field, file, row), and how to fix it.

A fix that depends on the interface (a keyword argument in Python, an option on the command line) is
written once as a `Fix` and put in the message as ``{fix}``: ``str(err)`` reads as Python advice
("pass overwrite=True"), ``err.for_cli()`` as CLI advice ("pass --overwrite"). So a Python caller is never
told about flags and a CLI user never about keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

FIX = "{fix}"  # the placeholder a message carries for its interface-specific fix


@dataclass(frozen=True)
class Fix:
    """The same remedy spelled for each interface."""

    python: str
    cli: str


def option_fix(keyword: str, option: str, value: str | None = None) -> Fix:
    """`pass overwrite=True` / `pass --overwrite`; with a value, `pass time_col='ts'` / `pass --time-col ts`."""
    if value is None:
        return Fix(f"pass {keyword}=True", f"pass {option}")
    return Fix(f"pass {keyword}={value!r}", f"pass {option} {value}")


OVERWRITE = option_fix("overwrite", "--overwrite")


class CardworldError(Exception):
    """Base of every error cardworld raises on purpose. The CLI prints it as one line and exits 2."""

    def __init__(self, message: str, *, fix: Fix | None = None) -> None:
        self.template, self.fix = message, fix
        super().__init__(message.replace(FIX, fix.python) if fix is not None else message)

    def __reduce__(self):  # keep the fix when an error crosses a process boundary
        return _rebuild, (type(self), self.template, self.fix)

    def for_cli(self) -> str:
        """The message with its fix spelled for the command line."""
        return self.template.replace(FIX, self.fix.cli) if self.fix is not None else str(self)


def _rebuild(cls: type[CardworldError], template: str, fix: Fix | None) -> CardworldError:
    return cls(template, fix=fix)


class SpecError(CardworldError, ValueError):
    """A target spec (or a set of them) is invalid: names the spec and field."""


class InputError(CardworldError, ValueError):
    """Input data is unusable: names the array, file, row or index, and says how to fix it."""


class ConfigError(CardworldError, ValueError):
    """A configuration value is invalid: names the field path."""
