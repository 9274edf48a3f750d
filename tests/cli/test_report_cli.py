"""`cardworld report` as a user runs it: the report and its JSON, one consumer's page, and bad input as one
line on stderr with exit code 2 and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

from cardworld.config import load_config
from cardworld.engine.run import generate


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report_cli") / "world"
    generate(load_config(consumers=8, start="2019-01-01", end="2019-12-31", seed=2), out)
    return out


@pytest.mark.slow
def test_report_writes_the_page_and_its_json(world, tmp_path):
    out = tmp_path / "report.html"
    r = run_cli("report", str(world), "--out", str(out), "--no-baselines")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [r.stderr.strip()]  # one line: where the files are
    assert str(out) in r.stderr
    assert "calibration:" in r.stderr
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "id='calibration'" in text
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["measures"]["source"]["path"] == str(world)
    # the same again needs --overwrite, and leaves the first report as it was
    r = run_cli("report", str(world), "--out", str(out), "--no-baselines")
    assert_one_line_error(r, "--overwrite")
    assert out.read_text() == text


@pytest.mark.slow
def test_consumer_page(world, tmp_path):
    out = tmp_path / "c.html"
    r = run_cli("report", str(world), "--out", str(out), "--consumer", "3", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert json.loads(out.with_suffix(".json").read_text())["consumer"]["user_id"] == 3


def _bad_profile(tmp_path: Path) -> Path:
    p = tmp_path / "mine.yaml"
    p.write_text("name: mine\nfigures:\n  - {id: a, metric: tx.fraud_rat, value: 0.001, tolerance: 0.001}\n")
    return p


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (lambda w, t: [str(t)], "not a cardworld dataset directory"),
        (lambda w, t: [str(w), "--out", str(t / "r.pdf")], "pass --out a path ending in .html"),
        (lambda w, t: [str(w), "--reference", str(_bad_profile(t))], "figures[0].metric"),
        (lambda w, t: [str(w), "--consumer", "999999"], "user_id 999999 is not in the dataset"),
        (lambda w, t: [str(w), "--consumer", "-1"], "--consumer"),
    ],
    ids=["no-manifest", "not-html", "bad-profile", "unknown-consumer", "negative-consumer"],
)
def test_bad_input_is_one_line_and_writes_nothing(world, tmp_path, args, fragment):
    given = args(world, tmp_path)
    if "--out" not in given:
        given += ["--out", str(tmp_path / "r.html")]
    before = sorted(p.name for p in tmp_path.iterdir())
    r = run_cli("report", *given)
    assert_one_line_error(r, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
