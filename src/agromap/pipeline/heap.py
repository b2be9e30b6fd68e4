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
memory the compute's threads freed to the operating system before the publication allocates its own;
:func:`steady_tile_heap` keeps what one tile frees for the next tile while tiles are computed.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator
from typing import Any

__all__ = ["frozen_heap", "release_free_heap", "steady_tile_heap"]


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


#: glibc's ``mallopt`` parameters (malloc.h) and the values a tile task runs with: blocks up to
#: 32 MiB come from the heap (glibc's own ceiling for its adaptive threshold) and up to 64 MiB of
#: free memory stays at the top of a heap (twice that, as glibc's adaptive rule keeps).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
TILE_MMAP_THRESHOLD = 32 << 20
TILE_TRIM_THRESHOLD = 64 << 20


@functools.cache
def steady_tile_heap() -> bool:
    """Let the C allocator keep one tile's freed arrays for the next tile; once per process.

    A tile task allocates and frees the same large arrays every time (the stacked bands, 12.6 MiB
    each at 512 x 512 x 12 dates, and the rule's per-pixel series). glibc adapts its thresholds
    to the largest block freed so far: with none above about 13 MiB it kept returning some 90 MiB
    to the system at the end of each tile and faulted it back in during the next one (6 500 page
    faults per tile, about 5 % of its CPU time in the pipeline bench; 12 with these settings).
    Fixing the thresholds ends the cycle; the memory a tile frees is reused by the next, and
    :func:`release_free_heap` still returns it after the compute. ``True`` when applied; a no-op
    (``False``) where the C library is not glibc.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, TILE_MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TILE_TRIM_THRESHOLD))


def _malloc_trim() -> Any:
    return _libc_function("malloc_trim")


@functools.cache
def _libc_function(name: str) -> Any:
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim or mallopt
        return None
