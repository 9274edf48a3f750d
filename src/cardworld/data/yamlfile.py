"""Reading the shipped YAML tables: one way to load them and one error format naming file, entry and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cardworld.errors import ConfigError
from cardworld.validation import error_parts


def fail(path: Path, where: str, msg: str) -> ConfigError:
    return ConfigError(f"{path.name}: {where}: {msg} (file {path})")


def describe(err: ValidationError, whole: str = "(entry)") -> str:
    """A pydantic error as "field 'x': what is wrong" parts; `whole` names an error of the whole entry."""
    return "; ".join(f"field '{loc or whole}': {problem}" for loc, problem in error_parts(err))


def read_yaml(path: Path, what: str) -> Any:
    try:
        # the C loader (libyaml) when present: ~10x faster on these long tables
        return yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror}; check the path") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc} (file {path})") from None


__all__ = ["describe", "fail", "read_yaml"]
