"""The README's Python example runs as written and shows what it says."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_targets_example_runs():
    block = _python_blocks()[0]
    ns: dict = {}
    exec(compile(block, "README.md", "exec"), ns)
    y, names = ns["y"], ns["output_names"](ns["specs"])
    assert y.shape == (3, 8)
    shown = re.search(r"output_names\(specs\)\s+# (\[.*?\])", block, flags=re.S).group(1)
    assert names == eval(shown.replace("#", ""))
    # Hand-checked values: grocery spend today, the share of March spend at grocery stores.
    np.testing.assert_allclose(y[:, 0], [54.2, 54.2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(
        y[:, 2], 1.0
    )  # the refund cancels the restaurant meal: all March spend is grocery
