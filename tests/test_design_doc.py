"""docs/design.md names real code: every `path.py` it cites exists and every dotted `module.name` imports.

The design document is where a newcomer learns where to change what; a renamed module or function must
not leave it pointing at nothing.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "design.md"
_CODE = re.compile(r"`([^`\n]+)`")
_PATH = re.compile(r"^[\w./-]+\.(?:py|yaml|toml)$")
_DOTTED = re.compile(r"^[a-z_]+(?:\.[A-Za-z_]\w*)+$")
_PACKAGES = {p.name for p in (ROOT / "src" / "cardworld").iterdir() if p.is_dir() or p.suffix == ".py"}


def _cited() -> tuple[set[str], set[str]]:
    paths, dotted = set(), set()
    for token in _CODE.findall(DOC.read_text()):
        token = token.strip().removesuffix("()")
        if _PATH.match(token):
            paths.add(token)
        elif _DOTTED.match(token) and token.split(".")[0] in {p.removesuffix(".py") for p in _PACKAGES}:
            dotted.add(token)
    return paths, dotted


def _exists(path: str) -> bool:
    return any((base / path).exists() for base in (ROOT, ROOT / "src" / "cardworld", ROOT / "src"))


def test_cited_files_exist():
    paths, _ = _cited()
    assert len(paths) > 10  # the document does cite code
    missing = sorted(p for p in paths if not _exists(p))
    assert not missing, f"docs/design.md cites files that do not exist: {missing}"


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable module prefix, then attributes
        try:
            obj = importlib.import_module("cardworld." + ".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_cited_names_import():
    _, dotted = _cited()
    assert len(dotted) > 10
    missing = sorted(d for d in dotted if not _resolves(d))
    assert not missing, f"docs/design.md cites names that do not exist: {missing}"


@pytest.mark.parametrize("token", ["world.consumers.nothing_here", "no_such_module.x"])
def test_a_wrong_name_is_caught(token):
    assert not _resolves(token)
