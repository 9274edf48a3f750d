"""What a benchmark ran on and when: stored beside its figures (the shared VM varies, so a figure means
little without its machine, date and thread pinning)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from pathlib import Path

THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
POLARS_THREADS = "POLARS_MAX_THREADS"
PACKAGES = ("numpy", "numba", "pyarrow", "torch", "polars")


def now_iso() -> str:
    """The current time, ISO 8601 with its UTC offset, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Processor", "cpu model"):  # x86, arm, mips spellings
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)  # the file counts kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """CPU model, cores, memory, OS, Python and package versions, and the thread pinning in effect."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "threads": {v: os.environ.get(v) for v in (*THREAD_VARS, POLARS_THREADS)},
    }


def machine_line(machine: dict) -> str:
    """One line for a table's caption: 'Intel Xeon, 2 cores, 24 GiB, 1 thread per process'."""
    threads = machine.get("threads", {})
    pinned = all(threads.get(v) == "1" for v in THREAD_VARS)
    parts = [machine.get("cpu") or "unknown CPU", f"{machine.get('usable_cores') or '?'} cores"]
    if machine.get("memory_gib"):
        parts.append(f"{machine['memory_gib']:.0f} GiB")
    parts.append("1 thread per process" if pinned else "threads not pinned")
    return ", ".join(parts)
