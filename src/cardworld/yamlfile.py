"""Reading YAML files (config files, target specs and the shipped tables): one way to load them, and one
error format naming file, entry and field. On the ground floor, so every layer reads YAML the same way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cardworld.errors import CardworldError, ConfigError
from cardworld.validation import error_parts


def fail(path: Path, where: str, msg: str) -> ConfigError:
    """The error for entry `where` of a shipped table: file name, entry, what is wrong, full path."""
    return ConfigError(f"{path.name}: {where}: {msg} (file {path})")


def describe(err: ValidationError, whole: str = "(entry)") -> str:
    """A pydantic error as "field 'x': what is wrong" parts; `whole` names an error of the whole entry."""
    return "; ".join(f"field '{loc or whole}': {problem}" for loc, problem in error_parts(err))


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text, so a pydantic model parses them with one message for every
    interface (PyYAML would raise a bare ValueError on 2020-13-45 and take 2020-1-5 for a date)."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# the C loader (libyaml) when present: ~10x faster on the long shipped tables
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(
    path: str | os.PathLike,
    what: str,
    *,
    dates_as_text: bool = False,
    error: type[CardworldError] = ConfigError,
) -> Any:
    """The parsed content of a YAML file (config files, specs and the shipped tables alike). `what` names the
    file's role in the message of the `error` raised when it cannot be read or parsed; with `dates_as_text`,
    dates stay strings for the caller's model to parse."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        return yaml.load(text, Loader=_TextDatesLoader if dates_as_text else _FAST_LOADER)
    except OSError as exc:
        raise error(f"{what}: cannot read {path}: {exc.strerror}; check the path") from None
    except UnicodeDecodeError as exc:
        raise error(
            f"{path.name}: not valid YAML: byte {exc.start} is not UTF-8 (file {path}); save it as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        raise error(
            f"{path.name}: not valid YAML{_yaml_problem(exc)} (file {path}); fix the syntax"
        ) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """ " at line L, column C: what the parser expected", on one line (PyYAML's own text spans lines)."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}: {' '.join(str(problem).split())}"


__all__ = ["describe", "fail", "read_yaml"]
