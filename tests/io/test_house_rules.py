"""House rules of the world/data/io/cli/bench/sequences/report/experiment layers, read from the source: sizes, one
vocabulary (cardworld.codes), one implementation of each distribution helper, imports only downward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cardworld import codes

SRC = Path(__file__).resolve().parents[2] / "src" / "cardworld"
LAYERS = ("world", "data", "io", "labels", "cli", "bench", "sequences", "report", "experiment")
TOP = ("config.py", "config_types.py", "credit_config.py", "rng.py", "sample.py")
FILES = sorted(
    [p for layer in LAYERS for p in (SRC / layer).rglob("*.py")] + [SRC / name for name in TOP],
    key=str,
)
MAX_MODULE_LINES = 550
MAX_FUNCTION_LINES = 90


def _rel(p: Path) -> str:
    return str(p.relative_to(SRC))


def _tree(p: Path) -> ast.Module:
    return ast.parse(p.read_text(encoding="utf-8"))


def _imports(p: Path) -> set[str]:
    out = set()
    for node in ast.walk(_tree(p)):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_module_and_function_sizes(path):
    assert path.read_text(encoding="utf-8").count("\n") <= MAX_MODULE_LINES
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            kernels = {ast.unparse(d).split("(")[0] for d in node.decorator_list} & {"kernel", "njit"}
            if not kernels:
                assert node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES, f"{node.name} is too long"


VOCABULARIES = {
    "ACCOUNT_KIND_NAMES": codes.ACCOUNT_KIND_NAMES,
    "CARD_TYPE_NAMES": codes.CARD_TYPE_NAMES,
    "USE_CHIP": codes.USE_CHIP,
    "TRIP_KIND_NAMES": codes.TRIP_KIND_NAMES,
    "DECLINE_REASON_NAMES": codes.DECLINE_REASON_NAMES,
    "CARD_BRANDS": codes.CARD_BRANDS,
    "PAYMENT_HABITS": codes.PAYMENT_HABITS,
    "LIFE_EVENT_NAMES": codes.LIFE_EVENT_NAMES,
}


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_no_module_redefines_a_vocabulary(path):
    """A tuple of two or more strings of a codes vocabulary, in any order, is a second copy of it (the old
    io.schema had ACCOUNT_KINDS in another order and TRIP_KINDS without "home")."""
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.Tuple | ast.List) or len(node.elts) < 2:
            continue
        if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            continue
        words = {e.value for e in node.elts}
        for name, vocab in VOCABULARIES.items():
            assert not words <= set(vocab), f"line {node.lineno} copies codes.{name}; import it instead"


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_distribution_helpers_live_in_stats(path):
    banned = {"_norm_cdf", "norm_cdf", "norm_ppf", "_lognormal", "lognormal_params", "pick", "pick_weighted"}
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef) and node.name in banned:
            pytest.fail(f"{_rel(path)} defines {node.name}; use cardworld.stats")


ABOVE_CONFIG = ("world", "sim", "engine", "targets", "sequences", "cli", "bench", "report")


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_imports_point_downward(path):
    layer = _rel(path).split("/")[0]
    above = {
        "world": ("sim", "io", "engine", "targets", "sequences", "cli", "bench", "report"),
        "data": ("world", "sim", "io", "engine", "targets", "sequences", "cli", "bench", "report"),
        "io": ("targets", "sequences", "cli", "bench", "report", "sim", "engine", "labels"),
        "labels": ("world", "sim", "engine", "targets", "sequences", "cli", "bench", "report", "config"),
        "config.py": ABOVE_CONFIG,
        "config_types.py": ("config", *ABOVE_CONFIG),  # below config.py and credit_config.py
        "credit_config.py": ("config.", *ABOVE_CONFIG),
        "rng.py": ("world", "data", "io", "sim", "engine", "targets", "sequences", "cli", "bench"),
        "sample.py": ("world", "sim", "io", "engine", "sequences", "cli", "bench", "report"),
        "report": ("experiment",),
        "sequences": ("experiment",),
        "experiment": ("cli", "bench"),  # the top: it uses the world, labels, sequences, targets, report
    }.get(layer, ())
    bad = [m for m in _imports(path) if any(m.startswith(f"cardworld.{a}") for a in above)]
    assert not bad, f"{_rel(path)} imports upward: {bad}"


def test_cli_demo_does_not_use_benchmark_code():
    assert not [m for m in _imports(SRC / "cli" / "targets_cmd.py") if m.startswith("cardworld.bench")]
