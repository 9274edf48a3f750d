"""pydantic errors as cardworld messages: the field path, then what is wrong, without pydantic's noise.

pydantic writes "Value error, ..." in front of a validator's own message, has no path for a model-level
check (the empty location, shown elsewhere as "(top level)"), appends documentation links, and says
"Input should be a valid date or datetime, ..." without the expected format. `describe_errors` gives one
"path: problem" part per error (just "problem" for a model-level one); the caller joins and prefixes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ValidationError

DATE_FORMAT = "YYYY-MM-DD"
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TYPES = ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact")


def describe_errors(
    err: ValidationError,
    *,
    unknown_key: str = "unknown key; remove it or fix its spelling",
    skip: Collection[str] = (),
    hints: Mapping[str, str] | None = None,
) -> list[str]:
    """One "field.path: problem" part per error; `skip` drops location parts (e.g. union tags); `hints`
    adds how to fix a type error of a field, keyed by the field's name (e.g. {"mcc": "write [5411]"})."""
    parts = []
    for loc, problem in error_parts(err, unknown_key, skip):
        field = next((x for x in reversed(loc.split(".")) if not x.isdigit()), "")
        if hints and field in hints and problem != unknown_key:
            problem = f"{problem}; {hints[field]}"
        parts.append(f"{loc}: {problem}" if loc else problem)
    return parts


def error_parts(
    err: ValidationError,
    unknown_key: str = "unknown key; remove it or fix its spelling",
    skip: Collection[str] = (),
) -> list[tuple[str, str]]:
    """(field path, problem) per error; the path is "" for a model-level check."""
    parts = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(x) for x in e["loc"] if x not in skip)
        parts.append((loc, unknown_key if e["type"] == "extra_forbidden" else _problem(e)))
    return parts


def _problem(e: Any) -> str:
    if e["type"] in _DATE_TYPES:
        return f"expected a date as {DATE_FORMAT}, got {e['input']!r}"
    error = e.get("ctx", {}).get("error")
    if e["type"] in ("value_error", "assertion_error") and error is not None:
        return str(error)  # the validator's own words, without "Value error, "
    return str(e["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")


def parse_date(value: Any) -> Any:
    """A date given as a date or as text YYYY-MM-DD (a pydantic before-validator).

    Refuses what pydantic would otherwise take for a date: a date and time, numbers (read as Unix
    seconds), and other ISO spellings like 20200105, so every interface accepts the same thing.
    """
    if isinstance(value, dt.datetime):
        raise ValueError(f"expected a date as {DATE_FORMAT}, got the date and time {value.isoformat()!r}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as e:
            raise ValueError(f"expected a date as {DATE_FORMAT}, got {value!r} ({e})") from None
    raise ValueError(f"expected a date as {DATE_FORMAT}, got {value!r}")


__all__ = ["DATE_FORMAT", "describe_errors", "error_parts", "parse_date"]
