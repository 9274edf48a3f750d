"""Numba flags in one place. Kernels are module-level functions over arrays and scalars only."""

from numba import njit as _njit

# cache=True: compiled code is reused across processes (DataLoader workers, CLI runs).
# No fastmath: results must match the reference and be reproducible; no parallel=True in written output.
JIT_OPTIONS = {"cache": True, "nogil": True, "boundscheck": False}


def kernel(fn):
    """Decorate a numba kernel with the project's standard flags."""
    return _njit(**JIT_OPTIONS)(fn)
