"""The realism report, assembled: `cardworld report DIR --out report.html`.

    result = build_report("out/world", "out/report.html")                  # + out/report.json
    build_report("out/world", "cmp.html", compare="card_transaction.v1.csv")   # side by side with TabFormer
    build_report("out/world", "c.html", consumer=42)                       # one consumer's page only

Steps, each in its own module: streaming figures (measures), display tables (tables), calibration against a
reference profile (profile, calibration) and label health, plots, an example consumer's page, baselines
(LightGBM on fraud and default), and optionally the same figures for another dataset with a fidelity score
(compare). The HTML and the JSON are written under temporary names and renamed together at the end, so an
error at any step leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cardworld.errors import FIX, Fix, InputError
from cardworld.io.atomic import atomic_output, check_output

#: Tables of the paper's kind first, then the breakdowns (report.tables ids).
MAIN_TABLES = ("table2", "table3", "table4a", "table4b", "table4c", "table4d")
BREAKDOWN_TABLES = ("by_year", "by_state", "by_country", "by_mcc")
FIDELITY_ROWS = 20_000  # rows sampled from each side for the SDMetrics quality report
_HTML_FIX = Fix(python="pass a path ending in .html", cli="pass --out a path ending in .html")


class Steps(Protocol):
    """What the report says about its progress: a step starts (with a total when it counts rows), advances."""

    def start(self, name: str, total: int | None = None) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class _Quiet:
    def start(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass(frozen=True)
class ReportResult:
    html: Path
    json: Path
    calibration: dict[str, int]  # pass / fail / n/a counts (empty for a consumer page)


def build_report(
    dataset: str | os.PathLike,
    out: str | os.PathLike,
    *,
    reference: str | os.PathLike = "default",
    compare: str | os.PathLike | None = None,
    consumer: int | None = None,
    baseline_users: int = 2000,
    baselines: bool = True,
    overwrite: bool = False,
    steps: Steps | None = None,
) -> ReportResult:
    """Write the report for `dataset` to `out` (.html) and the figures to `out` with .json; see the module doc."""
    from cardworld.io.reader import open as open_dataset

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"report output {str(out)!r} is not an .html file; {FIX}", fix=_HTML_FIX)
    for path in (out, out.with_suffix(".json")):  # an existing report or a missing folder: say so now
        check_output(path, overwrite=overwrite)
    steps = steps or _Quiet()
    ds = open_dataset(dataset)  # a missing manifest, an unfinished run: one clear error before any work
    if consumer is not None:
        doc = _consumer_doc(ds, consumer)
    else:
        doc = _report_doc(ds, reference, compare, baseline_users, baselines, steps)
    doc["json_name"] = out.with_suffix(".json").name
    steps.start("writing the report")
    return _write(doc, out, overwrite)


def _report_doc(ds, reference, compare, baseline_users: int, baselines: bool, steps: Steps) -> dict[str, Any]:
    from cardworld.cli.app import cardworld_version
    from cardworld.report.calibration import calibrate
    from cardworld.report.consumer_page import consumer_page, example_consumer
    from cardworld.report.label_health import label_health
    from cardworld.report.measures import measure_dataset
    from cardworld.report.plots import report_plots
    from cardworld.report.profile import load_profile
    from cardworld.report.tables import report_tables

    profile = load_profile(reference)  # a bad profile fails before the long steps
    other = _compare_target(compare)
    steps.start("measuring the world", ds.n_rows)
    measures = measure_dataset(ds.path, progress=steps.advance)
    doc: dict[str, Any] = {
        "version": cardworld_version(),
        "dataset": str(ds.path),
        "measures": measures,
        "tables": report_tables(measures),
        "table_ids_main": MAIN_TABLES,
        "table_ids_breakdown": BREAKDOWN_TABLES,
        "profile_name": profile.name,
        "calibration": calibrate(measures, profile),
        "label_health": label_health(measures),
    }
    steps.start("drawing the plots")
    doc["plots"] = report_plots(measures, ds)
    steps.start("an example consumer")
    doc["consumer"] = consumer_page(ds, example_consumer(ds))
    doc["consumer"]["why"] = (
        "picked as an example: the first consumer with fraud, a trip and, when the world has credit, a statement "
        "30+ days past due (any other: --consumer ID)"
    )
    if baselines:
        from cardworld.report.baselines import baselines as run_baselines

        doc["baselines"] = run_baselines(ds.path, max_users=baseline_users, progress=steps.start)
    if other is not None:
        doc["compare"] = _compare_doc(ds, measures, other, steps)
    return doc


def _compare_target(compare: str | os.PathLike | None) -> Path | None:
    if compare is None:
        return None
    path = Path(compare)
    if not path.exists():
        raise InputError(
            f"comparison target {str(path)!r} does not exist; pass a TabFormer-format CSV, a folder holding one, "
            "or a cardworld dataset directory"
        )
    return path


def _compare_doc(ds, measures: dict, other: Path, steps: Steps) -> dict[str, Any]:
    from cardworld.report.compare import RowSampler, compare_measures, fidelity, side_by_side

    steps.start(f"measuring {other}")
    sampler = RowSampler(FIDELITY_ROWS)  # the other side's fidelity sample, taken in the same pass
    theirs = compare_measures(other, progress=steps.advance, sampler=sampler)
    out: dict[str, Any] = {
        "other": str(other),
        "measures": theirs,
        "tables": side_by_side(measures, theirs, labels=("this world", _other_label(theirs))),
    }
    steps.start("fidelity score (SDMetrics)")
    try:
        out["fidelity"] = fidelity(ds.path, sampler.table(), rows=FIDELITY_ROWS)
    except InputError as err:  # the optional extra is missing: the comparison stands without the score
        out["fidelity"] = {"skipped": str(err)}
    return out


def _other_label(theirs: dict[str, Any]) -> str:
    return "TabFormer file" if theirs["source"].get("kind") == "tabformer" else "other world"


def _consumer_doc(ds, user_id: int) -> dict[str, Any]:
    from cardworld.report.consumer_page import consumer_page

    return {"dataset": str(ds.path), "consumer": consumer_page(ds, user_id), "kind": "consumer"}


def _write(doc: dict[str, Any], out: Path, overwrite: bool) -> ReportResult:
    from cardworld.report.html import render_consumer, render_report

    page = render_consumer(doc) if doc.get("kind") == "consumer" else render_report(doc)
    json_path = out.with_suffix(".json")
    payload = json.dumps(_for_json(doc), indent=1, allow_nan=False)
    with ExitStack() as stack:  # both renamed only when both are written
        tmp_json = stack.enter_context(atomic_output(json_path, overwrite=overwrite))
        tmp_html = stack.enter_context(atomic_output(out, overwrite=overwrite))
        tmp_json.write_text(payload + "\n", encoding="utf-8")
        tmp_html.write_text(page, encoding="utf-8")
    counts = {}
    if doc.get("calibration"):
        counts = {s: sum(r["status"] == s for r in doc["calibration"]) for s in ("pass", "fail", "n/a")}
    return ReportResult(out, json_path, counts)


def _for_json(value: Any) -> Any:
    """The document as JSON: plots without their PNGs (they are in the HTML), NaN/inf as null, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _for_json(v) for k, v in value.items() if k != "png"}
    if isinstance(value, list | tuple):
        return [_for_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _for_json(value.item())
    return value


__all__ = ["BREAKDOWN_TABLES", "MAIN_TABLES", "ReportResult", "Steps", "build_report"]
