"""generate on a Dask cluster: the same bytes as a local run, a worker killed mid-shard, faults as errors.

A real LocalCluster (2 worker processes, 1 thread each) shared by the module; the detectors live at
module level, since Dask workers import this module to unpickle them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from engine_helpers import closed_port

from cardworld.config import load_config
from cardworld.engine.cluster import open_client
from cardworld.engine.run import generate
from cardworld.errors import CardworldError
from cardworld.io.dataset import BUILD_DIR, MANIFEST
from cardworld.sim.detectors import AmountRule

pytest.importorskip("distributed")

CFG = {"consumers": 8, "shard_size": 2, "start": "2018-01-01", "end": "2019-06-30", "seed": 5}  # 4 shards


@pytest.fixture(scope="module")
def client():
    with open_client("local:2") as c:
        yield c


def files_of(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@dataclass(frozen=True)
class KillOnce:
    """AmountRule that SIGKILLs the process it runs in on its very first call anywhere (the marker file
    says a call happened), as an out-of-memory kill would, mid-shard."""

    marker: str
    limit: float = 300.0

    def __call__(self, card):
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return card.amount > self.limit
        os.kill(os.getpid(), signal.SIGKILL)
        return None  # never reached


@dataclass(frozen=True)
class KillAlways:
    """Kills every process that runs a shard of it: a shard that kills each worker that tries it."""

    def __call__(self, card):
        os.kill(os.getpid(), signal.SIGKILL)


CASES = {
    "fraud": ({}, None),
    "detector": ({}, AmountRule(300)),
    "no-fraud": ({"fraud": {"enabled": False}}, None),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_dask_output_is_byte_identical_to_local(client, tmp_path, case):
    extra, detector = CASES[case]
    cfg = load_config(**CFG, **extra)
    local = generate(cfg, tmp_path / "local", workers=1, detector=detector)
    on_dask = generate(cfg, tmp_path / "dask", client=client, detector=detector)
    assert len(on_dask["shards"]) == 4
    a, b = files_of(tmp_path / "local"), files_of(tmp_path / "dask")
    assert MANIFEST in b
    assert sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []  # every file, manifest.json included
    assert local == on_dask
    assert sum(s["rows"] for s in on_dask["shards"]) > 500


@pytest.mark.slow
def test_a_worker_killed_mid_shard_is_retried_to_the_same_bytes(client, tmp_path):
    marker = tmp_path / "killed"
    detector = KillOnce(str(marker))
    workers_before = set(client.scheduler_info()["workers"])
    cfg = load_config(**CFG)
    generate(cfg, tmp_path / "dask", client=client, detector=detector)
    assert marker.exists()  # a worker was killed during a shard...
    assert set(client.scheduler_info()["workers"]) != workers_before  # ...and the nanny replaced it
    generate(cfg, tmp_path / "local", workers=1, detector=detector)  # the marker exists: no kill here
    a, b = files_of(tmp_path / "local"), files_of(tmp_path / "dask")
    assert sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []


@pytest.mark.slow
def test_a_shard_that_kills_every_worker_is_an_error_naming_it(client, tmp_path):
    old = client.run_on_scheduler(_set_allowed_failures, 0)  # the first death fails the shard
    try:
        cfg = load_config(**{**CFG, "consumers": 2})  # one shard: shard 0
        with pytest.raises(CardworldError) as e:
            generate(cfg, tmp_path / "w", client=client, detector=KillAlways())
    finally:
        client.run_on_scheduler(_set_allowed_failures, old)
    msg = str(e.value)
    assert "shard 0 killed its Dask worker once (out of memory?)" in msg, msg
    assert not (tmp_path / "w" / MANIFEST).exists()  # no dataset appeared
    assert not list((tmp_path / "w").glob("*.parquet"))
    _wait_for_workers(client, 2)


def _set_allowed_failures(n: int, dask_scheduler=None) -> int:
    old, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, n
    return old


def _wait_for_workers(client, n: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while len(client.scheduler_info()["workers"]) < n and time.monotonic() < end:
        time.sleep(0.1)


def test_detector_that_cannot_be_pickled_is_refused_before_running(client, tmp_path):
    with pytest.raises(CardworldError, match="cannot be sent to worker processes"):
        generate(load_config(**CFG), tmp_path / "w", client=client, detector=lambda card: None)
    assert not (tmp_path / "w" / BUILD_DIR).exists()


@pytest.mark.slow  # two interpreter starts' worth of imports (distributed is heavy)
def test_cli_unreachable_scheduler_is_one_line_naming_the_address(tmp_path):
    url = f"tcp://127.0.0.1:{closed_port()}"
    out = tmp_path / "w"
    t0 = time.monotonic()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cardworld.cli",
            "generate",
            "--consumers",
            "4",
            "--out",
            str(out),
            "--dask",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - t0 < 30  # imports included; the connection itself is refused at once
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: cannot reach the Dask scheduler at {url}: "), lines[0]
    assert "--dask" in lines[0]
    assert not out.exists()


def test_cli_junk_address_is_one_line(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "cardworld.cli", "generate", "--consumers", "4", "--out", str(tmp_path / "w"),
         "--dask", "local:zero"],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("error: --dask 'local:zero' is not a Dask address"), r.stderr
    assert not (tmp_path / "w").exists()
