"""Every code block of the README runs as a user would run it, so the README cannot drift from the code.

The convention (also stated in the README's source, at the top): a fenced block may be preceded by one line

    <!-- readme-test: MODE [; "OLD" -> "NEW" ...] -->

- a ```python block runs as a script in a fresh temporary directory (exit 0) unless marked otherwise;
- a ```bash block runs only when marked `run`; otherwise it is syntax-checked with `bash -n`;
- `syntax` only compiles a block (for work too long for the suite: a cluster, a long experiment);
- `"OLD" -> "NEW"` pairs shrink a long block for the test (`"--consumers 2000" -> "--consumers 8"`); each OLD must
  occur in the block, so a shrink cannot silently stop applying.
Blocks run in README order within one temporary directory, so a later block may use what an earlier one wrote
(the world of the quickstart, for instance).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"(?:<!-- readme-test: (?P<marker>.*?) -->\n)?```(?P<lang>\w+)\n(?P<code>.*?)```", re.S)
_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*->\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    mode: str  # run | syntax | default
    code: str


def readme_blocks() -> list[Block]:
    text = README.read_text()
    out = []
    for m in _BLOCK.finditer(text):
        marker = m.group("marker") or ""
        mode, _, rest = marker.partition(";")
        mode = mode.strip() or "default"
        assert mode in ("run", "syntax", "default"), f"README line {text.count(chr(10), 0, m.start()) + 1}"
        code = m.group("code")
        for old, new in _PAIR.findall(rest):
            assert old in code, f"README shrink {old!r} no longer matches its block"
            code = code.replace(old, new)
        line = text.count("\n", 0, m.start("code")) + 1
        out.append(Block(line, m.group("lang"), mode, code))
    return out


def _env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # the project's venv: `cardworld` is on its PATH
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    env.update(NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


def _run(block: Block, cwd: Path) -> None:
    if block.lang == "python":
        script = cwd / f"readme_line_{block.line}.py"
        script.write_text(block.code)
        if block.mode == "syntax":
            compile(block.code, str(script), "exec")
            return
        cmd = [sys.executable, script.name]
    elif block.lang == "bash":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", block.code]
        if block.mode != "run":
            cmd = ["bash", "-n", "-c", block.code]
    else:
        return
    r = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (
        f"README block at line {block.line} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    )


@pytest.mark.slow
def test_every_readme_block_runs(tmp_path):
    blocks = readme_blocks()
    assert sum(b.lang == "python" for b in blocks) >= 3
    for block in blocks:
        _run(block, tmp_path)


def test_targets_example_shows_what_it_computes():
    """The targets block's values, checked by hand."""
    block = next(b for b in readme_blocks() if b.lang == "python" and "compute_targets(" in b.code)
    ns: dict = {"__name__": "readme"}
    exec(compile(block.code, "README.md", "exec"), ns)
    y, names = ns["y"], ns["output_names"](ns["specs"])
    assert y.shape == (3, 8)
    shown = re.search(r"output_names\(specs\)\s+# (\[.*?\])", block.code, flags=re.S).group(1)
    assert names == eval(shown.replace("#", ""))
    # Grocery spend today; all March spend is grocery because the refund cancels the restaurant meal.
    np.testing.assert_allclose(y[:, 0], [54.2, 54.2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(y[:, 2], 1.0)


def test_shrink_markers_must_match(tmp_path, monkeypatch):
    """A marker whose OLD text is gone from its block fails loudly instead of running the long version."""
    fake = tmp_path / "README.md"
    fake.write_text(
        '<!-- readme-test: run; "--consumers 2000" -> "--consumers 8" -->\n```bash\necho hi\n```\n'
    )
    monkeypatch.setattr(sys.modules[__name__], "README", fake)
    with pytest.raises(AssertionError, match="no longer matches"):
        readme_blocks()
