"""Every command that fails prints exactly one line on stderr (a pipe here, not a terminal) and exits 2.

Progress bars stay on (no -q) where a command has one, since off a terminal they used to add a blank line.
"""

from __future__ import annotations

import subprocess
from importlib.metadata import version

import pytest
from cli_helpers import assert_one_line_error, run_cli

NOISE = ("Value error,", "(top level)", "errors.pydantic.dev", "Traceback")


def assert_exactly_one_line(r: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2 and stderr exactly one line "error: ..." (blank lines count), holding every fragment."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, repr(r.stderr)
    assert r.stderr.endswith("\n")
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, line
    for noise in NOISE:
        assert noise not in line, line
    return line


@pytest.fixture
def busy_dir(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    return out


def test_generate_into_a_non_empty_dir_names_the_flag(busy_dir):
    r = run_cli(
        "generate", "--consumers", "2", "--start", "2019-01-01", "--end", "2019-01-31", "--out", str(busy_dir)
    )
    line = assert_exactly_one_line(r, "is not empty", "--overwrite")
    assert "overwrite=True" not in line
    assert sorted(p.name for p in busy_dir.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--start", "2020-13-45"), ("start: expected a date as YYYY-MM-DD, got '2020-13-45'",)),
        (("--end", "31/12/2019"), ("end: expected a date as YYYY-MM-DD",)),
        (
            ("--start", "2020-01-02", "--end", "2020-01-01"),
            ("end (2020-01-01) is before start (2020-01-02)",),
        ),
    ],
)
def test_generate_bad_dates(tmp_path, args, fragments):
    out = tmp_path / "w"
    r = run_cli("generate", "--consumers", "2", "--out", str(out), *args)
    assert_exactly_one_line(r, *fragments)
    assert not out.exists()


def test_generate_unknown_key_in_the_config_file_points_to_the_cli(tmp_path):
    cfg = tmp_path / "w.yaml"
    cfg.write_text("consumers: 2\ncolour: red\nfraud: {off_from: 2019-1-1, off_to: 2019-02-01}\n")
    r = run_cli("generate", "--out", str(tmp_path / "w"), "--config", str(cfg))
    line = assert_exactly_one_line(
        r, "colour: unknown key", "cardworld config --defaults", "fraud.off_from", "YYYY-MM-DD"
    )
    assert "default_yaml" not in line


def test_targets_onto_an_existing_file(tmp_path, tx_file, spec_file):
    out = tmp_path / "y.parquet"
    out.write_bytes(b"keep")
    r = run_cli("targets", str(tx_file), "--spec", str(spec_file), "--out", str(out))
    line = assert_exactly_one_line(r, "already exists", "--overwrite")
    assert "overwrite=True" not in line
    assert out.read_bytes() == b"keep"


def test_export_failures(tmp_path):
    r = run_cli("export", str(tmp_path / "nope"), "--out", str(tmp_path / "t.csv"))
    assert_exactly_one_line(r, "nope")
    r = run_cli("export", str(tmp_path), "--out", str(tmp_path / "t.csv"))
    assert_exactly_one_line(r, "manifest.json")
    assert not (tmp_path / "t.csv").exists()


def test_summary_failure(tmp_path):
    assert_exactly_one_line(run_cli("summary", str(tmp_path / "nope")), "nope", "does not exist")


def test_config_failures(tmp_path):
    assert_exactly_one_line(run_cli("config"), "a dataset directory, --config FILE or --defaults")
    assert_exactly_one_line(run_cli("config", "--defaults", "--config", "x.yaml"), "exactly one of")
    assert_exactly_one_line(run_cli("config", str(tmp_path / "nope")), "does not exist")
    bad = tmp_path / "bad.yaml"
    bad.write_text("start: 2020-13-45\n")
    assert_exactly_one_line(run_cli("config", "--config", str(bad)), "start: expected a date as YYYY-MM-DD")


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"cardworld {version('cardworld')}\n"
    assert r.stderr == ""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("generate", "--workers", "0", "--out", "x"), "--workers"),
        (("bogus",), "No such command 'bogus'"),
        (("targets",), "Missing argument"),
        (("bench", "targets", "--suite", "7"), "--suite"),
    ],
)
def test_usage_errors_are_one_line_too(tmp_path, args, fragment):
    """Typer's own usage errors (bad option values, unknown commands) follow the one-line rule."""
    r = run_cli(*args, cwd=tmp_path)
    assert_one_line_error(r, fragment)
    assert "--help" in r.stderr  # and say where to look


def test_bad_choice_has_no_pydantic_prefix(tmp_path):
    r = run_cli("export", str(tmp_path), "--format", "csv", "--out", str(tmp_path / "t.csv"), cwd=tmp_path)
    assert_one_line_error(r, "'csv' is not one of 'tabformer'")
    assert "Value error" not in r.stderr
