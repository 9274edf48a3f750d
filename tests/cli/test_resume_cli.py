"""`cardworld generate --resume` as a user runs it: after SIGKILL or a full disk the run continues from
DIR/.build and ends byte-identical to an uninterrupted run; faults and refusals are one line, exit 2."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, foreground_signals, run_cli

from cardworld.config import load_config
from cardworld.engine.run import generate

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals, process groups and mounts")

# 12 one-consumer shards on 2 workers: a few seconds, the shards finishing one by one.
WORLD = ["--consumers", "12", "--start", "2017-01-01", "--end", "2019-12-31", "--seed", "2"]


def files_of(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "world.yaml"
    p.write_text("shard_size: 1\n")
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory, config_file) -> Path:
    """The uninterrupted run of WORLD (the config the CLI loads from the same options)."""
    out = tmp_path_factory.mktemp("ref") / "world"
    generate(load_config(config_file, consumers=12, start="2017-01-01", end="2019-12-31", seed=2), out)
    return out


def generate_args(out: Path, config: Path, *extra: str) -> list[str]:
    return ["generate", *WORLD, "--config", str(config), "--out", str(out), "--workers", "2", "-q", *extra]


def recorded(out: Path) -> list[dict]:
    try:
        return json.loads((out / ".build" / "manifest.json").read_text())["shards"]
    except (OSError, ValueError, KeyError):  # not there yet (or replaced while read)
        return []


@pytest.mark.slow
def test_sigkill_then_resume_even_with_damaged_files_ends_byte_identical(tmp_path, config_file, reference):
    out = tmp_path / "w"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cardworld.cli", *generate_args(out, config_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the workers die with it
        preexec_fn=foreground_signals,
    )
    t0 = time.monotonic()
    try:
        while len(recorded(out)) < 2:
            if proc.poll() is not None:
                pytest.fail(f"generate ended (rc {proc.returncode}) before 2 shards: {proc.stderr.read()}")
            if time.monotonic() - t0 > 120:
                pytest.fail("no 2 finished shards after 120 s")
            time.sleep(0.01)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # no clean-up at all: what a crash or the OOM killer leaves
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    kept = recorded(out)
    assert 2 <= len(kept) < 12, "the run finished before it was killed"
    # Damage two kept shards the way a bad disk would: only their sha256 tells.
    shard = out / ".build" / kept[0]["file"]
    shard.write_bytes(shard.read_bytes()[:-1])
    part = out / ".build" / "_staging" / f"trips-{kept[1]['index']:05d}.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    args = generate_args(out, config_file, "--resume")
    args[args.index("--workers") + 1] = "1"  # the number of workers changes nothing (and spawns none)
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert files_of(out) == files_of(reference)  # every file, manifest.json included


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `path` (a folder under tmp_path), always unmounted; skips where mount fails."""
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_resume_completes_once_there_is_space(tmp_path, config_file, reference):
    with tmpfs(tmp_path / "small", "size=1m,mode=0755") as mnt:
        out = mnt / "w"
        r = run_cli(*generate_args(out, config_file))
        assert_one_line_error(r, "the disk is full (no space left on the device) while writing ")
        kept = recorded(out)
        assert f"; no dataset was written to '{out}'; " in r.stderr
        if kept:
            assert f"{len(kept)} of 12 shards had finished and are kept in '{out / '.build'}'" in r.stderr
            assert r.stderr.rstrip().endswith(
                "free some space, then run the same command again with --resume to continue"
            )
        assert "resume=True" not in r.stderr
        # No half-written file outside the build folder (a worker stopped mid-write may leave a temp
        # file in .build: the resume deletes it, as the comparison below shows).
        assert not [p for p in out.rglob(".*.tmp-*") if ".build" not in p.relative_to(out).parts]
        assert not (out / "manifest.json").exists()
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        args = generate_args(out, config_file, "--resume" if kept else "--overwrite")
        args[args.index("--workers") + 1] = "1"
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
        assert files_of(out) == files_of(reference)


def test_an_unwritable_output_directory_is_one_line(tmp_path):
    ro = tmp_path / "ro"
    with tmpfs(ro, "ro,size=1m") as mnt:  # read-only: refused even to root (chmod is not)
        r = run_cli("generate", "--consumers", "2", "--out", str(mnt), "-q")
        assert_one_line_error(r, f"output directory '{mnt}' is not writable; choose another directory")
        r = run_cli("generate", "--consumers", "2", "--out", str(mnt / "w"), "-q")
        assert_one_line_error(r, f"cannot create output directory '{mnt / 'w'}': '{mnt}' is not writable")


def test_resume_where_there_is_nothing_to_resume_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run_cli("generate", "--consumers", "2", "--out", str(tmp_path / "empty"), "--resume", "-q")
    assert_one_line_error(r, "which an interrupted run leaves; run without --resume")
    assert "resume=True" not in r.stderr
    bad = tmp_path / "bad" / ".build"
    bad.mkdir(parents=True)
    (bad / "manifest.json").write_text('{"format": "something else"}')
    r = run_cli("generate", "--consumers", "2", "--out", str(tmp_path / "bad"), "--resume", "-q")
    assert_one_line_error(
        r,
        "is not the manifest of a cardworld build (its format is 'something else', not 'cardworld-dataset')",
    )
    assert r.stderr.rstrip().endswith("run with --overwrite instead of --resume to start over")
    assert (bad / "manifest.json").read_text() == '{"format": "something else"}'


@pytest.mark.slow
def test_resume_with_other_options_or_of_a_complete_dataset_is_one_line(tmp_path, reference, config_file):
    done = tmp_path / "done"
    shutil.copytree(reference, done)
    r = run_cli(*generate_args(done, config_file, "--resume"))
    assert_one_line_error(r, f"nothing to resume in '{done}': the dataset there is complete")
    assert r.stderr.rstrip().endswith("run without --resume (with --overwrite to replace it)")
    # An interrupted run of the reference's options: its manifest as the build folder held it.
    out = tmp_path / "w"
    (out / ".build").mkdir(parents=True)
    partial = {**json.loads((reference / "manifest.json").read_text()), "status": "partial", "shards": []}
    (out / ".build" / "manifest.json").write_text(json.dumps(partial))
    args = generate_args(out, config_file, "--resume")
    args[args.index("--seed") + 1] = "5"
    args[args.index("--consumers") + 1] = "20"
    r = run_cli(*args)
    assert_one_line_error(r, "this run differs from the interrupted one in ")
    assert (
        "seed: 2 in the interrupted run, 5 now; config.consumers: 12 in the interrupted run, 20 now"
        in r.stderr
    )
    assert r.stderr.rstrip().endswith(
        "pass the interrupted run's options and config, or run with --overwrite instead of --resume to start over"
    )
    assert json.loads((out / ".build" / "manifest.json").read_text()) == partial  # untouched


def test_dask_and_several_local_workers_are_refused_together(tmp_path):
    r = run_cli(
        "generate", "--consumers", "2", "--out", str(tmp_path / "w"), "--dask", "local:2", "--workers", "2"
    )
    assert_one_line_error(r, "--dask runs the shards on the cluster's workers, so --workers does not apply")
    assert not (tmp_path / "w").exists()


def test_an_unreachable_dask_scheduler_fails_fast_with_its_address(tmp_path):
    pytest.importorskip("distributed")
    t0 = time.monotonic()
    r = run_cli("generate", "--consumers", "2", "--out", str(tmp_path / "w"), "--dask", "tcp://127.0.0.1:9")
    assert_one_line_error(r, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "w").exists()
