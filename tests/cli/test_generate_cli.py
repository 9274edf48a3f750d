"""`cardworld generate` as a user runs it: Ctrl-C (to the process, or to its group as a terminal sends it)
stops the run within a second or two with one line on stderr, and the dataset already in DIR survives."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, foreground_signals, run_cli

from cardworld.config import load_config
from cardworld.engine.run import generate

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")

# 40 one-consumer shards on 2 workers: several seconds of work, a first shard after about a second.
WORLD = ["--consumers", "40", "--start", "2010-01-01", "--end", "2019-12-31", "--seed", "1", "--workers", "2"]
EXIT_WITHIN_S = 3.0


def files_of(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def old_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("old") / "world"
    generate(load_config(consumers=3, shard_size=1, start="2019-01-01", end="2019-03-31", seed=5), out)
    return out


@pytest.fixture
def occupied(old_dataset, tmp_path, warm_world_kernels) -> Path:
    """DIR holding the old dataset and a file of the user's."""
    out = tmp_path / "world"
    shutil.copytree(old_dataset, out)
    (out / "notes.txt").write_text("mine")
    return out


@pytest.fixture
def config_file(tmp_path) -> Path:
    p = tmp_path / "world.yaml"
    p.write_text("shard_size: 1\n")
    return p


def start_generate(out: Path, config: Path) -> subprocess.Popen:
    args = ["generate", *WORLD, "--config", str(config), "--out", str(out), "--overwrite"]
    return subprocess.Popen(
        [sys.executable, "-m", "cardworld.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell job has
        preexec_fn=foreground_signals,
    )


def finished_shards(build: Path) -> list[dict]:
    try:
        return json.loads((build / "manifest.json").read_text())["shards"]
    except (OSError, ValueError, KeyError):  # not there yet (or replaced while read)
        return []


def wait_until(proc: subprocess.Popen, ready, what: str, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"generate ended (rc {proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() - t0 > timeout:
            kill(proc)
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(0.02)


def interrupt(proc: subprocess.Popen, group: bool) -> tuple[str, float]:
    """Send SIGINT (to the main process or its whole group); return stderr and seconds until exit."""
    t0 = time.monotonic()
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        kill(proc)
        pytest.fail("generate did not exit within 30 s of Ctrl-C")
    return err, time.monotonic() - t0


def kill(proc: subprocess.Popen) -> None:
    """End the run and its workers, and reap it: a Popen left running fails a later test with a
    ResourceWarning, far from here."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def assert_one_interrupt_line(proc: subprocess.Popen, err: str, seconds: float) -> str:
    assert proc.returncode == 130, err
    assert seconds < EXIT_WITHIN_S, f"took {seconds:.1f} s to exit"
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("interrupted: "), err
    return lines[0]


def assert_old_dataset_intact(out: Path, old_dataset: Path) -> None:
    now = {k: v for k, v in files_of(out).items() if not k.startswith(".build/")}
    assert now == {**files_of(old_dataset), "notes.txt": b"mine"}


@pytest.mark.parametrize("group", [False, True], ids=["main-process", "process-group"])
@pytest.mark.slow
def test_ctrl_c_after_a_shard_exits_fast_keeps_the_old_dataset_and_the_finished_shards(
    occupied, old_dataset, config_file, group
):
    proc = start_generate(occupied, config_file)
    build = occupied / ".build"
    wait_until(proc, lambda: finished_shards(build), "a finished shard")
    err, seconds = interrupt(proc, group)
    line = assert_one_interrupt_line(proc, err, seconds)
    m = re.fullmatch(
        rf"interrupted: the dataset in '{re.escape(str(occupied))}' is unchanged; "
        rf"(\d+) of 40 shards had finished and are kept in '{re.escape(str(build))}'",
        line,
    )
    assert m, line
    assert_old_dataset_intact(occupied, old_dataset)
    kept = finished_shards(build)
    assert len(kept) == int(m.group(1)) >= 1
    for s in kept:  # each one whole, as the manifest in the build folder records it
        assert hashlib.sha256((build / s["file"]).read_bytes()).hexdigest() == s["sha256"]
        assert (build / "_staging" / f"cash-{s['index']:05d}.parquet").is_file()


@pytest.mark.slow
def test_ctrl_c_to_the_group_while_workers_start_prints_no_worker_traceback(
    occupied, old_dataset, config_file
):
    proc = start_generate(occupied, config_file)
    wait_until(proc, lambda: (occupied / ".build" / "manifest.json").is_file(), "a build folder")
    time.sleep(0.3)  # the workers are being spawned and are importing
    err, seconds = interrupt(proc, group=True)
    line = assert_one_interrupt_line(proc, err, seconds)
    assert line.startswith(f"interrupted: the dataset in '{occupied}' is unchanged; "), line
    assert_old_dataset_intact(occupied, old_dataset)


def test_a_directory_left_by_an_interrupted_run_is_refused_without_overwrite(tmp_path):
    (tmp_path / "w" / ".build").mkdir(parents=True)
    r = run_cli("generate", "--consumers", "2", "--out", str(tmp_path / "w"), "-q")
    assert_one_line_error(r, "the build folder of an interrupted run; pass --overwrite to start over")
    assert "overwrite=True" not in r.stderr


def test_help_lists_resume_and_dask():
    r = run_cli("generate", "--help")
    assert r.returncode == 0, r.stderr
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", r.stdout).split())  # the help box, unwrapped
    assert "--resume" in text
    assert "Continue the interrupted run in OUT/.build (same options and config)" in text
    assert (
        "--dask ADDRESS Run the shards on a Dask cluster: tcp://HOST:PORT of a running scheduler, or "
        "local[:N] for a LocalCluster of N worker processes"
    ) in text
