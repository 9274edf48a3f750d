"""Run the fixed shard plan on a Dask distributed cluster: addresses, clients, tasks, worker peak memory.

A shard is a pure function of (config, seed, shard id) that writes its own files, so Dask may run it on
any worker, retry it, or run it again after a worker died: the output is the same bytes. The client only
collects each task's small result (what the manifest records) through `run_on_dask`'s `done` callback.

`distributed` is imported inside the functions, so cardworld works without the ``dask`` extra until a
cluster is asked for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import resource
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from cardworld.errors import FIX, CardworldError, Fix, InputError

THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SCHEMES = ("tcp", "tls", "ws", "wss")
_FORMS = (
    "local (one worker process per CPU), local:N (N >= 1 worker processes), or a scheduler address "
    "tcp://HOST:PORT (also tls://, ws://, wss://; a bare HOST:PORT means tcp://)"
)
# Dask defaults that slow a shard down, measured on a 150-consumer shard: the workers' statistical
# profiler (a stack sample every 10 ms) costs ~15% CPU, and the nanny's MALLOC_TRIM_THRESHOLD_ fixes
# glibc's mmap threshold, so every array over 128 KiB is mapped afresh (2.5x the page faults).
LOCAL_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,  # None: not set
}
_ADDRESS = Fix(python="address", cli="--dask")  # what names the value in a message
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class DaskAddress:
    """Where to run: `local` workers on this machine (a LocalCluster), or a scheduler `url`."""

    local: int | None = None  # worker processes of a LocalCluster
    url: str | None = None  # scheme://HOST:PORT of a running scheduler

    def __str__(self) -> str:
        return self.url if self.url is not None else f"local:{self.local}"


def parse_address(text: str) -> DaskAddress:
    """`local`, `local:N`, `tcp://HOST:PORT` (tls, ws, wss too) or a bare `HOST:PORT` (tcp)."""
    value = text.strip()
    if value == "local":
        return DaskAddress(local=max(1, os.cpu_count() or 1))
    if value.startswith("local:"):
        n = value.removeprefix("local:")
        if n.isdigit() and int(n) >= 1:
            return DaskAddress(local=int(n))
        raise _bad_address(text, f"local:N needs a whole number of worker processes N >= 1, not {n!r}")
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "tcp", value
    if scheme not in SCHEMES:
        raise _bad_address(text, f"unknown scheme {scheme + '://'!r}")
    m = _HOST_PORT.match(rest)
    if m is None or not 1 <= int(m["port"]) <= 65535:
        raise _bad_address(text, "expected HOST:PORT with a port from 1 to 65535")
    return DaskAddress(url=f"{scheme}://{rest}")


def _bad_address(text: str, why: str) -> InputError:
    return InputError(f"{FIX} {text!r} is not a Dask address ({why}); use {_FORMS}", fix=_ADDRESS)


@contextmanager
def open_client(address: str | DaskAddress, *, timeout_s: float = 10) -> Iterator[Any]:
    """A `distributed.Client` on `address` (see `parse_address`), closed when the block ends.

    ``local[:N]`` starts a LocalCluster of N worker processes with one thread each (numba, OpenMP and
    BLAS pinned to one thread too) and closes it (client, then cluster) on exit. A scheduler URL is
    connected to within `timeout_s`: an unreachable one is an InputError naming the address. Workers of
    a remote cluster should be started with NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
    MKL_NUM_THREADS=1 in their environment and ``--nthreads 1``; the client also sets those variables on
    each worker as it joins (a worker plugin), which is too late for a library the worker imported
    already.
    """
    addr = parse_address(address) if isinstance(address, str) else address
    distributed = _distributed()
    with _quiet_logs():
        if addr.local is not None:
            with _local_client(distributed, addr.local) as client:
                yield client
            return
        client = _connect(distributed, addr.url, timeout_s)
        try:
            with suppress(Exception):  # best effort: pinning threads is a speed matter, never fatal
                client.register_plugin(_worker_plugin(distributed, local=False))
            yield client
        finally:
            client.close()


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(
            'running on a Dask cluster needs the optional dependency dask[distributed]: pip install "cardworld[dask]"'
        ) from None
    return distributed


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Dask's own log lines off stderr while the client is open: what goes wrong reaches the caller
    as one error (a CLI error is one line); a remote cluster's workers keep their logs."""
    handlers = [h for h in logging.getLogger("distributed").handlers if isinstance(h, logging.StreamHandler)]
    levels = [h.level for h in handlers]
    for h in handlers:
        h.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for h, level in zip(handlers, levels, strict=True):
            h.setLevel(level)


@contextmanager
def _local_client(distributed, n: int) -> Iterator[Any]:
    import dask

    # Held while the cluster lives: a nanny restarting its worker reads the config again (its copy
    # shares the nested dicts that leaving a dask.config.set block would restore).
    with dask.config.set(LOCAL_WORKER_CONFIG):
        cluster = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port (None still binds 8787, and warns when it is taken)
            silence_logs=logging.CRITICAL + 1,  # the workers' logs too (they write to our stderr)
            env=dict.fromkeys(THREAD_VARS, "1"),  # set before each worker process starts (and on restart)
        )
        try:
            client = distributed.Client(cluster, set_as_default=False)
            try:
                client.register_plugin(_worker_plugin(distributed, local=True))
                yield client
            except BaseException:
                _kill_workers(client)  # an error or Ctrl-C: closing would wait ~4 s for running tasks
                raise
            finally:
                client.close()
        finally:
            cluster.close()


def _kill_workers(client) -> None:
    """End the local cluster's worker processes now, telling their nannies not to restart them."""
    with suppress(Exception):  # best effort: the cluster closes after this anyway
        for pid in client.run(_stop_restarts, nanny=True).values():
            if pid is not None:
                with suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


def _stop_restarts(dask_worker=None) -> int | None:
    """On a nanny (`dask_worker` is the Nanny): its worker's exit now ends it too; the worker's pid."""
    dask_worker.close_gracefully()
    return dask_worker.pid


def _connect(distributed, url: str, timeout_s: float):
    """Client(url), failing within about `timeout_s` with the address when no scheduler answers there."""
    host, _, port = url.partition("://")[2].rpartition(":")
    try:  # a refused connection fails here at once; Client alone would retry until its timeout
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
        with ThreadPoolExecutor(1) as ex:  # a thread of its own: the caller may be running an event loop
            ex.submit(asyncio.run, asyncio.wait_for(_hello(distributed, url), timeout_s)).result()
        return distributed.Client(url, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as e:
        reason = (
            f"no Dask scheduler answered within {timeout_s:g} s"
            if isinstance(e, TimeoutError)
            else e.strerror or str(e) or type(e).__name__
        )
        raise InputError(
            f"cannot reach the Dask scheduler at {url}: {reason}; start it with `dask scheduler` or {FIX}",
            fix=Fix(python="check the address", cli="check the address given to --dask"),
        ) from None


async def _hello(distributed, url: str) -> None:
    """Ask the scheduler who it is: Client hangs on a peer that accepts connections but never answers."""
    from distributed.core import rpc

    r = rpc(url, connection_args=distributed.Security().get_connection_args("client"))
    try:
        await r.identity()
    finally:
        await r.close_rpc()


def _worker_plugin(distributed, *, local: bool):
    """Set up each worker as it joins (restarted ones too): threads pinned; a local one also ignores
    Ctrl-C, which a terminal sends to the whole process group: this process stops the workers."""

    class CardworldWorker(distributed.WorkerPlugin):
        name = "cardworld-worker"

        def __init__(self, local: bool) -> None:
            self.local = local

        def setup(self, worker) -> None:
            pin_threads_env()
            if self.local and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return CardworldWorker(local)


def pin_threads_env() -> None:
    """One thread for numba, OpenMP and BLAS in this process, unless the environment chose already."""
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")


@dataclass(frozen=True)
class _Raised:
    """A CardworldError a task raised, returned as its value: it is deterministic, so Dask must not
    retry it (retries are for transient faults); the client raises it again."""

    error: CardworldError


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except CardworldError as e:
        return _Raised(e)


def run_on_dask(
    client,
    fn: Callable[..., Any],
    tasks: dict[int, tuple],
    done: Callable[[int, Any], None],
    *,
    retries: int = 2,
    what: str = "shard",
) -> None:
    """Run fn(*tasks[k]) for every k on the cluster, calling done(k, result) here as each one finishes.

    A task that fails is retried `retries` times (a CardworldError it raises is not: it reaches the
    caller as itself, message included). A task whose workers keep dying while running it (the
    scheduler's ``distributed.scheduler.allowed-failures``) is a CardworldError naming `what` k. On any
    error or interrupt, done() included, every task not yet finished is cancelled before re-raising.
    Each result is released on the cluster once done() has it.
    """
    distributed = _distributed()
    token = uuid.uuid4().hex[:12]  # two runs never share results, even of the same shard
    pending: dict[Any, int] = {}
    try:
        for k, args in tasks.items():
            key = f"cardworld-{what}-{k}-{token}"
            pending[client.submit(_call, fn, *args, key=key, retries=retries, pure=False)] = k
        for future in distributed.as_completed(list(pending), loop=client.loop):
            k = pending.pop(future)
            try:
                result = _result(distributed, future, what, k)
            finally:
                future.release()  # the scheduler may forget it now
            done(k, result)
    except BaseException:
        with suppress(Exception):  # a lost scheduler must not hide the error that brought us here
            client.cancel(list(pending))
        raise


def _result(distributed, future, what: str, k: int) -> Any:
    try:
        result = future.result()
    except distributed.KilledWorker as e:
        n = e.allowed_failures + 1
        raise CardworldError(
            f"{what} {k} killed its Dask worker {'once' if n == 1 else f'{n} times'} (out of memory?), last "
            f"on {e.last_worker.address}; give the workers more memory (fewer workers per machine), or see "
            "the worker logs"
        ) from None
    if isinstance(result, _Raised):
        raise result.error
    return result


def worker_peaks(client) -> dict[str, int]:
    """Peak resident memory in bytes of each worker process of the cluster, by worker address."""
    return {addr: int(peak) for addr, peak in client.run(peak_rss_bytes).items()}


def peak_rss_bytes() -> int:
    """This process's peak resident set size in bytes (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


__all__ = [
    "LOCAL_WORKER_CONFIG",
    "THREAD_VARS",
    "DaskAddress",
    "open_client",
    "parse_address",
    "peak_rss_bytes",
    "pin_threads_env",
    "run_on_dask",
    "worker_peaks",
]
