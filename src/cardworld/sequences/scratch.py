"""A reusable float32 buffer for compute_targets_batch(out=): written memory is already touched (no page
faults on fresh pages every batch). One per process, and per thread, since a buffer is only safe while one
caller at a time uses it.

Only intermediates may live here: whatever a batch hands out must be copied out of it (the next batch
overwrites it).
"""

from __future__ import annotations

import threading

import numpy as np

GROWTH = 1.5  # grow geometrically so slowly rising batch sizes do not reallocate every time


class Scratch:
    """scratch.get(rows, cols): a C-contiguous float32 (rows, cols) view of this thread's buffer, grown
    when too small. Pickles (and deep-copies) as an empty one: a worker makes its own."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, rows: int, cols: int) -> np.ndarray:
        need = rows * cols
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.size < need:
            size = need if buf is None else max(need, int(buf.size * GROWTH))
            buf = self._local.buf = np.empty(size, dtype=np.float32)
        return buf[:need].reshape(rows, cols)

    @property
    def capacity(self) -> int:
        """Elements in this thread's buffer (0 before the first get)."""
        buf = getattr(self._local, "buf", None)
        return 0 if buf is None else int(buf.size)

    def __reduce__(self):
        return (Scratch, ())


__all__ = ["Scratch"]
