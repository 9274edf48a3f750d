"""The world commands as a user runs them: generate, config, export, summary."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error, run_cli

# ----------------------------------------------------------------------------------------------- world
WORLD = ("--consumers", "6", "--start", "2015-01-01", "--end", "2017-12-31", "--seed", "3", "-q")


def test_generate_export_summary(tmp_path):
    out = tmp_path / "w"
    r = run_cli("generate", *WORLD, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "manifest.json").is_file()
    csv = tmp_path / "t.csv"
    r = run_cli("export", str(out), "--format", "tabformer", "--out", str(csv))
    assert r.returncode == 0, r.stderr
    lines = csv.read_text().splitlines()
    assert lines[0] == (
        "User,Card,Year,Month,Day,Time,Amount,Use Chip,Merchant Name,Merchant City,Merchant State,Zip,MCC,"
        "Errors?,Is Fraud?"
    )
    assert len(lines) > 100
    r = run_cli("summary", str(out))
    assert r.returncode == 0, r.stderr
    assert "transactions" in r.stdout


def test_config_defaults_prints_documented_yaml():
    import yaml

    r = run_cli("config", "--defaults")
    assert r.returncode == 0, r.stderr
    assert "# number of consumers" in r.stdout
    assert yaml.safe_load(r.stdout)["consumers"] == 100


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--consumers", "0"), "consumers: Input should be greater than 0"),
        (("--start", "2020-01-01", "--end", "2019-01-01"), "must be after start"),
        (("--start", "2020-13-45"), "start"),
    ],
)
def test_generate_bad_config_writes_nothing(tmp_path, args, fragment):
    out = tmp_path / "w"
    r = run_cli("generate", "--out", str(out), "-q", *args)
    assert_one_line_error(r, fragment)
    assert not out.exists()


def test_generate_bad_config_file(tmp_path):
    cfg = tmp_path / "world.yaml"
    cfg.write_text("consumers: 5\ntrips: {foreign_vacation: 3}\nbogus: 1\n")
    out = tmp_path / "w"
    r = run_cli("generate", "--out", str(out), "--config", str(cfg), "-q")
    assert_one_line_error(r, "trips.foreign_vacation")
    assert "bogus: unknown key" in r.stderr
    assert not out.exists()


def test_generate_refuses_non_empty_dir(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    r = run_cli("generate", *WORLD, "--out", str(out))
    assert_one_line_error(r, "--overwrite")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_export_missing_dataset(tmp_path):
    r = run_cli("export", str(tmp_path / "nope"), "--out", str(tmp_path / "t.csv"))
    assert_one_line_error(r, "nope")
    assert not (tmp_path / "t.csv").exists()
