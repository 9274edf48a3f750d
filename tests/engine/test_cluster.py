"""engine.cluster: Dask addresses, connecting (and failing fast), running tasks, worker peak memory.

The task functions live at module level: Dask workers import this module to unpickle them.
"""

from __future__ import annotations

import contextlib
import operator
import os
import signal
import socket
import sys
import time

import pytest
from engine_helpers import closed_port

from cardworld.engine.cluster import DaskAddress, open_client, parse_address, run_on_dask, worker_peaks
from cardworld.errors import CardworldError, Fix, InputError

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


# -- addresses ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local:1", DaskAddress(local=1)),
        ("local:12", DaskAddress(local=12)),
        ("tcp://10.0.0.5:8786", DaskAddress(url="tcp://10.0.0.5:8786")),
        ("tls://sched.example.org:8786", DaskAddress(url="tls://sched.example.org:8786")),
        ("ws://head-node:8786", DaskAddress(url="ws://head-node:8786")),
        ("sched-1.cluster:8786", DaskAddress(url="tcp://sched-1.cluster:8786")),
        ("[::1]:8786", DaskAddress(url="tcp://[::1]:8786")),
        (" tcp://h:1 ", DaskAddress(url="tcp://h:1")),
    ],
)
def test_parse_address_accepts(text, expected):
    assert parse_address(text) == expected


def test_local_means_one_worker_per_cpu():
    assert parse_address("local") == DaskAddress(local=os.cpu_count() or 1)
    assert str(parse_address("local:3")) == "local:3"
    assert str(parse_address("h:8786")) == "tcp://h:8786"


@pytest.mark.parametrize(
    "text",
    ["", "local:0", "local:-1", "local:x", "local:", "http://h:8786", "tcp://h", "tcp://h:0",
     "tcp://h:70000", "sched", "a b:8786", "tcp://:8786", "local2"],
)  # fmt: skip
def test_parse_address_refuses_junk(text):
    with pytest.raises(InputError) as e:
        parse_address(text)
    msg = str(e.value)
    assert msg.startswith(f"address {text!r} is not a Dask address")
    assert "local:N" in msg
    assert "tcp://HOST:PORT" in msg
    assert e.value.for_cli().startswith(f"--dask {text!r} ")
    assert "--dask" not in msg  # a Python caller is not told about flags


def test_unreachable_scheduler_fails_fast_with_the_address():
    url = f"tcp://127.0.0.1:{closed_port()}"
    t0 = time.monotonic()
    with pytest.raises(InputError) as e, open_client(url, timeout_s=10):
        pass
    assert time.monotonic() - t0 < 3  # refused at once, not after the 10 s timeout
    assert f"cannot reach the Dask scheduler at {url}: " in str(e.value)
    assert "dask scheduler" in str(e.value)
    assert "--dask" not in str(e.value)
    assert "--dask" in e.value.for_cli()


def test_a_silent_peer_times_out():
    """Something listens but never speaks the Dask protocol: Client alone would wait forever."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        t0 = time.monotonic()
        with (
            pytest.raises(InputError, match="no Dask scheduler answered within 1 s"),
            open_client(url, timeout_s=1),
        ):
            pass
        assert time.monotonic() - t0 < 5


def test_without_distributed_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(InputError, match=r'pip install "cardworld\[dask\]"'), open_client("local:1"):
        pass


# -- running tasks -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    # Two deaths of a task's workers make it KilledWorker (the default, 3, takes longer to reach).
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), open_client("local:2") as c:
        yield c


def square(k: int) -> int:
    return k * k


def _log_call(log: str) -> None:
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")


def fails(log: str, error: Exception) -> None:
    _log_call(log)
    raise error


def dies(log: str) -> None:
    _log_call(log)
    os._exit(3)


def slow(log: str, k: int) -> int:
    _log_call(log)
    time.sleep(0.4)
    return k


def _our_keys(client) -> list[str]:
    keys = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
    return [k for k in keys if k.startswith("cardworld-")]


def _wait_until(pred, timeout: float = 5) -> bool:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_results_come_per_key_and_are_released(client):
    got: dict[int, int] = {}
    run_on_dask(client, square, {k: (k,) for k in (0, 3, 5, 7, 11)}, got.__setitem__)
    assert got == {0: 0, 3: 9, 5: 25, 7: 49, 11: 121}
    assert _wait_until(lambda: not _our_keys(client)), _our_keys(client)  # nothing kept on the cluster
    run_on_dask(client, square, {}, got.__setitem__)  # nothing to run: returns at once


def test_a_cardworld_error_reaches_the_caller_as_itself_and_is_not_retried(client, tmp_path):
    log = tmp_path / "calls"
    err = InputError("shard 4: disk full in '/x'; {fix}", fix=Fix(python="free space", cli="free disk"))
    with pytest.raises(InputError) as e:
        run_on_dask(client, fails, {4: (str(log), err)}, lambda k, r: None, retries=2)
    assert str(e.value) == "shard 4: disk full in '/x'; free space"
    assert e.value.for_cli() == "shard 4: disk full in '/x'; free disk"
    assert len(log.read_text().splitlines()) == 1  # deterministic: running it again cannot help


def test_other_errors_are_retried_then_raised(client, tmp_path):
    log = tmp_path / "calls"
    with pytest.raises(ZeroDivisionError, match="flaky"):
        run_on_dask(client, fails, {0: (str(log), ZeroDivisionError("flaky"))}, lambda k, r: None, retries=2)
    assert len(log.read_text().splitlines()) == 3  # the first run and two retries


@pytest.mark.slow  # two worker restarts: about 5 s
def test_a_task_that_kills_its_workers_names_the_shard(client, tmp_path):
    log = tmp_path / "calls"
    with pytest.raises(CardworldError) as e:
        run_on_dask(client, dies, {3: (str(log),)}, lambda k, r: None, what="shard")
    msg = str(e.value)
    assert msg.startswith("shard 3 killed its Dask worker 2 times (out of memory?)"), msg
    assert "worker logs" in msg
    assert len(log.read_text().splitlines()) == 2
    assert len(set(log.read_text().split())) == 2  # two worker processes died
    assert _wait_until(lambda: len(client.scheduler_info()["workers"]) == 2, timeout=30)
    restarted = client.run(_worker_settings).values()
    assert [(v["threads"], v["numba"], v["profiler"], v["sigint_ignored"]) for v in restarted] == [
        (1, "1", False, True)
    ] * 2


def test_an_error_cancels_every_pending_task(client, tmp_path):
    """done() fails on the first result: the 19 other tasks must not go on running (they would, while the
    futures are alive, here held by the traceback)."""
    log = tmp_path / "calls"

    def done(k, result):
        raise RuntimeError(f"merge failed at {k}")

    with pytest.raises(RuntimeError, match="merge failed") as e:
        run_on_dask(client, slow, {k: (str(log), k) for k in range(20)}, done)
    time.sleep(1.5)  # time for about 7 more tasks had they not been cancelled
    assert len(log.read_text().splitlines()) <= 6
    assert _wait_until(lambda: not _our_keys(client)), _our_keys(client)
    assert e.value is not None  # the traceback, holding the futures, lived through the checks


def _worker_settings(dask_worker=None) -> dict:
    return {
        "threads": dask_worker.state.nthreads,
        "numba": os.environ.get("NUMBA_NUM_THREADS"),
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        "profiler": "profile" in dask_worker.periodic_callbacks,
        "sigint_ignored": signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
    }


def test_local_workers_are_pinned_and_unslowed(client):
    """One thread, numba/OpenMP pinned; no profiler and no fixed glibc trim threshold (engine.cluster
    LOCAL_WORKER_CONFIG says what each costs); Ctrl-C is this process's to handle."""
    expected = {"threads": 1, "numba": "1", "omp": "1", "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                "profiler": False, "sigint_ignored": True}  # fmt: skip
    settings = client.run(_worker_settings)
    assert len(settings) == 2
    assert all(v == expected for v in settings.values()), settings


def test_worker_peaks_are_each_workers_own(client):
    import psutil

    peaks = worker_peaks(client)
    assert set(peaks) == set(client.scheduler_info()["workers"])
    now = client.run(lambda: psutil.Process().memory_info().rss)
    for addr, peak in peaks.items():
        assert now[addr] <= peak < 64 * 2**30, (addr, peak, now[addr])  # a peak, in bytes, not KiB


def busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(1000))


def _fail_while_busy(started: list[float]) -> None:
    with open_client("local:1") as c:
        running = c.submit(busy, 60, pure=False)  # kept: a future let go of is forgotten
        assert _wait_until(lambda: any(c.processing().values()))
        started.append(time.monotonic())
        raise RuntimeError(f"stop {running.key}")


def test_an_error_in_the_block_ends_a_busy_local_cluster_at_once():
    """Closing waits ~4 s for a running task; on an error (or Ctrl-C) the workers are killed instead.
    Port 8787 taken (another cluster's dashboard) must not matter either: warnings are errors here."""
    import psutil

    me = psutil.Process()
    started: list[float] = []
    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # 8787 in use already is the case under test too
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        before = _workers(me)
        with pytest.raises(RuntimeError, match="stop"):
            _fail_while_busy(started)
    assert time.monotonic() - started[0] < 2
    assert _wait_until(lambda: _workers(me) <= before, timeout=2), _workers(me) - before


def _workers(me) -> set[int]:
    """Worker processes under this one (not multiprocessing's resource tracker, which stays)."""
    out = set()
    for p in me.children(recursive=True):
        with contextlib.suppress(Exception):  # it may be gone already
            if "spawn_main" in " ".join(p.cmdline()):
                out.add(p.pid)
    return out


@pytest.mark.slow  # a scheduler and a worker started as a user would: about 10 s
def test_a_running_scheduler_is_used_by_its_address(tmp_path):
    """`dask scheduler` + `dask worker` (without the thread variables): connect by URL, run tasks, the
    client's plugin pins the worker's threads, worker_peaks reports it."""
    import json
    import subprocess

    dask_cli = [sys.executable, "-c", "from dask.__main__ import main; main()"]
    sched_file = tmp_path / "scheduler.json"
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")}
    procs = [
        subprocess.Popen([*dask_cli, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file",
                          str(sched_file)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    try:
        assert _wait_until(lambda: sched_file.is_file() and sched_file.stat().st_size > 0, timeout=30)
        url = json.loads(sched_file.read_text())["address"]
        procs.append(
            subprocess.Popen([*dask_cli, "worker", url, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )  # fmt: skip
        with open_client(url) as c:
            c.wait_for_workers(1, timeout=30)
            got: dict[int, int] = {}
            # the worker cannot import this test module: stdlib functions only
            run_on_dask(c, operator.mul, {k: (k, k) for k in range(4)}, got.__setitem__)
            assert got == {0: 0, 1: 1, 2: 4, 3: 9}
            assert list(c.run(os.getenv, "NUMBA_NUM_THREADS").values()) == ["1"]
            assert list(worker_peaks(c)) == list(c.scheduler_info()["workers"])
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)
