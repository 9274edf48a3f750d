"""`cardworld bench report DIR`: how long each step of the realism report takes on a dataset, and its peak RSS.

The report is built exactly as `cardworld report` builds it (report.build.build_report), into a temporary
folder unless an output is given; each step's wall seconds come from the steps it announces, rows per
second from the rows that step streamed. Peak RSS is this process's (the report runs in one process; pyarrow
reads with its own threads, LightGBM trains on one).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cardworld.engine.cluster import peak_rss_bytes


@dataclass
class StepRow:
    step: str
    seconds: float
    rows: int  # rows the step streamed (0 where it reads no transactions row by row)


@dataclass
class ReportBench:
    dataset: str
    rows: int
    users: int
    seconds: float
    peak_rss_mb: float
    steps: list[StepRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Timer:
    """report.build.Steps that records each step's wall time and streamed rows."""

    def __init__(self) -> None:
        self.rows: list[StepRow] = []
        self._t = time.perf_counter()

    def start(self, name: str, total: int | None = None) -> None:
        self._close()
        self.rows.append(StepRow(name, 0.0, 0))

    def advance(self, n: int = 1) -> None:
        if self.rows:
            self.rows[-1].rows += n

    def _close(self) -> None:
        now = time.perf_counter()
        if self.rows:
            self.rows[-1].seconds = round(now - self._t, 3)
        self._t = now

    def finish(self) -> list[StepRow]:
        self._close()
        return self.rows


def bench_report(
    dataset: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    compare: str | os.PathLike | None = None,
    baselines: bool = True,
    baseline_users: int = 2000,
) -> ReportBench:
    """Build the report of `dataset` (into `out`, a .html path, or a temporary folder) and time its steps."""
    from cardworld.io.reader import open as open_dataset
    from cardworld.report.build import build_report

    ds = open_dataset(dataset)
    timer = _Timer()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cardworld-bench-report-") as tmp:
        target = Path(out) if out is not None else Path(tmp) / "report.html"
        timer.start("opening the dataset")
        build_report(ds.path, target, compare=compare, baselines=baselines, baseline_users=baseline_users,
                     overwrite=True, steps=timer)  # fmt: skip
    seconds = time.perf_counter() - t0
    return ReportBench(
        dataset=str(ds.path),
        rows=ds.n_rows,
        users=ds.n_users,
        seconds=round(seconds, 2),
        peak_rss_mb=round(peak_rss_bytes() / 2**20, 1),
        steps=timer.finish(),
    )


__all__ = ["ReportBench", "StepRow", "bench_report"]
