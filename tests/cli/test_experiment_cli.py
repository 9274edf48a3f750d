"""`cardworld experiment`: its mistakes exit 2 with one line and leave OUT untouched; the tiny preset runs
from the command line, world and all."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error, run_cli


def test_a_missing_world_is_one_error_and_writes_nothing(tmp_path):
    r = run_cli("experiment", "pretrain", "--world", str(tmp_path / "nope"), "--out", str(tmp_path / "res"),
                "--preset", "tiny")  # fmt: skip
    assert_one_line_error(r, "nope")
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--preset", "huge"], "unknown preset 'huge'; pass one of small, full, tiny"),
        (["--device", "tpu"], "--device 'tpu' is not a device"),
        (["--suite", "medium"], "--suite 'medium' is not a target suite; pass one of all, short, long"),
        (["--methods", "targets,bert"], "'bert' is not a method; pass a comma-separated subset of targets"),
        (["--fractions", "0.1,2"], "--fractions '0.1,2' is not a list of label fractions"),
        (["--fractions", "ten"], "--fractions 'ten' is not a list of label fractions"),
    ],
)
def test_bad_options_are_one_error(tmp_path, args, fragment):
    r = run_cli("experiment", "pretrain", "--world", str(tmp_path), "--out", str(tmp_path / "res"), *args)
    assert_one_line_error(r, fragment)
    assert not (tmp_path / "res").exists()


def test_cuda_without_a_gpu_says_so(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    r = run_cli("experiment", "pretrain", "--world", str(tmp_path), "--out", str(tmp_path / "res"),
                "--device", "cuda")  # fmt: skip
    assert_one_line_error(r, "no CUDA GPU is visible")


def test_a_full_results_dir_is_refused_and_kept(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    (res / "results.md").write_text("earlier results")
    r = run_cli("experiment", "pretrain", "--world", str(tmp_path), "--out", str(res), "--preset", "tiny")
    assert_one_line_error(r, "is not empty; pass a new directory, or --overwrite")
    assert (res / "results.md").read_text() == "earlier results"


@pytest.mark.slow
def test_the_tiny_preset_runs_from_the_command_line(tmp_path):
    world, res = tmp_path / "world", tmp_path / "res"
    r = run_cli("experiment", "world", "--preset", "tiny", "--out", str(world), "--workers", "1")
    assert r.returncode == 0, r.stderr
    r = run_cli("experiment", "pretrain", "--world", str(world), "--out", str(res), "--preset", "tiny", "-q")
    assert r.returncode == 0, r.stderr
    assert "results.md" in r.stdout
    assert r.stderr == ""
    assert "| fraud" in (res / "results.md").read_text() or "fraud" in (res / "results.md").read_text()
    assert not (res / ".partial").exists()
