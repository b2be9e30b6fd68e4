"""The run's memory housekeeping: the cyclic garbage collector off the objects that outlive a
run, and the C allocator's free memory handed back after the compute.

By the time a run starts, the interpreter holds a million or so long-lived objects (numpy, pandas,
xarray, dask, rasterio and their modules). A run allocates enough (lazy graphs, then matplotlib for
the report) to trigger a few full collections, and each full collection walks every one of those
objects again: about 0.25 CPU-s per run at 1024² px, a fifth of the report and a sixth of the plan.
:func:`frozen_heap` moves what exists before the run to the collector's permanent generation
(:func:`gc.freeze`, Python >= 3.7) and puts it back afterwards (:func:`gc.unfreeze`). Objects the
run creates are collected as usual; what was frozen is only skipped, never leaked: garbage among it
is collected at the first full collection after the run. :func:`release_free_heap` returns the
memory the compute's threads freed to the operating system before the publication allocates its own.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator
from typing import Any

__all__ = ["frozen_heap", "release_free_heap"]


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Within the block, full garbage collections skip every object that existed when it began."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def release_free_heap() -> bool:
    """Give the C allocator's free memory back to the operating system; ``True`` if it could.

    glibc keeps memory freed by a thread in that thread's arena for later allocations, and returns
    to the system only what lies at the top of a heap. After a compute, the tiles' freed arrays
    leave some hundreds of MiB resident in the workers' arenas that the publication (GDAL,
    rio-cogeo, matplotlib) allocates beside rather than in. ``malloc_trim(0)`` releases the free
    pages of every arena (``madvise``), so the publication's peak does not stack on them. A no-op
    (``False``) where the C library is not glibc.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim() -> Any:
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return None
