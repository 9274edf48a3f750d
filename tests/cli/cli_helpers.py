"""Shared helpers for the CLI tests: run the command as a user does, and check one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SPEC = """targets:
  - {name: grocery_today, agg: sum, mcc: [5411], window: day}
  - {name: top, agg: top_k, k: 2, window: 7d, mode: trailing}
"""


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cardworld.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def assert_one_line_error(r: subprocess.CompletedProcess, fragment: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr  # exactly one line: no blank line from a progress bar either
    assert lines[0].startswith("error: "), r.stderr
    assert fragment in lines[0]


def foreground_signals() -> None:
    """In a child before exec: Ctrl-C as a shell gives a foreground job (default action, not blocked), whatever
    signal state the test process has picked up from the tests before (Popen's preexec_fn)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
