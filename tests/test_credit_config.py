"""The config's `credit` section: bad values are ConfigErrors naming the field (in Python and as one CLI
line), its what-ifs make a world non-representative, and its APR bands by score (sim.credit)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cardworld.config import load_config
from cardworld.credit_config import Credit
from cardworld.engine.run import generate
from cardworld.errors import ConfigError
from cardworld.sim.credit import RESILIENCE_FICO, RESILIENCE_MAX, apr_for, resilience

WORLD = {"start": "2019-01-01", "end": "2019-12-31"}


@pytest.mark.parametrize(
    ("credit", "field"),
    [
        ({"apr_by_fico": {300: 25.9, 700: -1.0}}, "credit.apr_by_fico"),
        ({"apr_by_fico": {}}, "credit.apr_by_fico"),
        ({"minimum_share": 0.0}, "credit.minimum_share"),
        ({"minimum_share": 1.5}, "credit.minimum_share"),
        ({"unemployment": {2015: 9.5}}, "credit.unemployment"),  # a year outside 2019..2019
        ({"unemployment": {2019: 60.0}}, "credit.unemployment"),
        ({"unemployment": {2019: -1.0}}, "credit.unemployment"),
        ({"default_multiplier": 0.5}, "credit.default_multiplier"),
        ({"due_days": 0}, "credit.due_days"),
        ({"late_fee": -5.0}, "credit.late_fee"),
    ],
)
def test_bad_credit_values_name_the_field(credit, field):
    with pytest.raises(ConfigError) as e:
        load_config(**WORLD, credit=credit)
    assert field in str(e.value)
    assert field in e.value.for_cli()


def test_unemployment_error_says_which_years_and_the_range():
    with pytest.raises(ConfigError) as e:
        load_config(
            start="2010-01-01", end="2012-12-31", credit={"unemployment": {2009: 9.3, 2011: 9.0, 2015: 5}}
        )
    msg = str(e.value)
    assert "credit.unemployment" in msg
    assert "2009, 2015" in msg
    assert "2010..2012" in msg
    assert "2011" not in msg  # only the years outside are named


def test_bad_credit_in_a_file_names_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("credit:\n  minimum_share: 1.5\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*credit\.minimum_share"):
        load_config(p)


def test_valid_what_ifs_load():
    cfg = load_config(start="2008-01-01", end="2012-12-31", credit={"unemployment": {2009: 11.0, 2010: 12.5}})
    assert cfg.credit.unemployment == {2009: 11.0, 2010: 12.5}


@pytest.mark.parametrize(
    "credit",
    [{"enabled": False}, {"unemployment": {2019: 9.5}}, {"default_multiplier": 2.0}],
    ids=["off", "unemployment", "multiplier"],
)
def test_what_ifs_make_the_world_non_representative(credit):
    assert load_config(**WORLD).representative
    assert Credit().what_ifs() == []
    cfg = load_config(**WORLD, credit=credit)
    assert not cfg.representative
    assert len(cfg.credit.what_ifs()) == 1
    assert cfg.credit.what_ifs()[0] in cfg.what_ifs()


@pytest.mark.parametrize(
    ("credit", "representative"),
    [({}, True), ({"default_multiplier": 2.0}, False), ({"unemployment": {2019: 9.5}}, False)],
    ids=["default", "multiplier", "unemployment"],
)
def test_the_manifest_says_whether_representative(tmp_path, credit, representative):
    cfg = load_config(consumers=1, start="2019-01-01", end="2019-01-31", seed=1, credit=credit)
    generate(cfg, tmp_path / "w")
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert manifest["representative"] is representative


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cardworld.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("yaml", "field"),
    [
        ("credit:\n  minimum_share: 1.5\n", "credit.minimum_share"),
        ("credit:\n  unemployment: {2015: 9.5}\n", "credit.unemployment"),
    ],
)
def test_cli_bad_credit_config_is_one_line_and_leaves_no_output(tmp_path: Path, yaml, field):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml)
    out = tmp_path / "world"
    r = run_cli("generate", "--config", str(cfg), "--out", str(out), "--consumers", "2",
                "--start", "2019-01-01", "--end", "2019-03-31", "--quiet")  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    assert field in lines[0]
    assert "bad.yaml" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("fico", "apr"), [(450, 20.0), (600, 20.0), (699, 20.0), (700, 10.0), (850, 10.0), (780.5, 10.0)]
)
def test_apr_by_fico_bands(fico, apr):
    cfg = Credit(apr_by_fico={700: 10.0, 600: 20.0})  # any order; below the lowest band: its APR
    assert apr_for(cfg, fico) == apr


def test_resilience_rises_with_the_score_within_bounds():
    lo, hi = RESILIENCE_FICO
    assert resilience(lo - 100) == resilience(lo) == 0.0
    assert resilience(hi) == resilience(hi + 100) == pytest.approx(RESILIENCE_MAX)
    assert resilience((lo + hi) / 2) == pytest.approx(RESILIENCE_MAX / 2)
    assert RESILIENCE_MAX < 1.0  # even the best score can slip under enough distress
