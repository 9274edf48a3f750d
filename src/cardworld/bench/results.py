"""A benchmark's JSON document: what ran (kind, arguments), where and when (date, machine), every run's
figures (so min and median can be recomputed) and the rows as printed. benchmarks/*.json hold these;
bench.tables renders them as the README's Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cardworld.bench.machine import machine_info, now_iso

KINDS = ("targets-bars", "targets-suite", "world-bars", "world")


def envelope(kind: str, arguments: dict[str, Any], **payload: Any) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown benchmark kind {kind!r}; one of {', '.join(KINDS)}")
    return {"kind": kind, "date": now_iso(), "machine": machine_info(), "arguments": arguments, **payload}


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
