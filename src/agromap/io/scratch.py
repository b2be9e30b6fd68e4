"""Large temporary arrays reused by a thread from one tile to the next while a run computes.

A tile task allocates the same arrays for every tile: the window of each stored band as decoded,
each band's ``(time, y, x)`` float32 stack (12 MiB for twelve dates of 512 x 512). numpy asks the
kernel for huge pages for arrays of 4 MiB and more (``madvise``), and a fresh huge page is zeroed
and, on a host that defragments memory for them on demand, found by compacting memory first: on
the rice bench a quarter of a tile task's CPU was spent in the kernel faulting in fresh arrays
(docs/performance.md#page-faults). Taken from here, a thread's arrays are faulted in once per
compute and reused for every later tile; the values are written afresh each time, so nothing read
depends on reuse.

The large ones are anonymous mappings of ordinary pages, not numpy's huge pages: on the bench's
virtual machine the first touch of fresh huge pages in a process cost about five times the kernel
time of the same memory in ordinary pages (72 MiB: 0.13 against 0.03 CPU-s; apparently the host
backs the guest's free huge-page blocks only when they are first written).
The first tile of each thread, which faults its stacks in, spent 0.33-0.47 CPU-s in the kernel on
the rice bench with huge pages and 0.07-0.15 without (docs/performance.md#page-faults); later tiles
reuse the same pages either way.

Outside :func:`reused` (entered by :func:`agromap.io.open_files.kept_open`, which the runner wraps
around each compute) :func:`take` is ``numpy.empty`` and :func:`give_back` does nothing. When the
last such block ends every kept array is released, so nothing outlives the compute. An array is
handed to one caller at a time (:func:`take` removes it from the pool until :func:`give_back`);
a caller gives back only an array that nothing it returns refers to.
"""

from __future__ import annotations

import contextlib
import mmap
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["give_back", "reused", "take", "MAPPED_BYTES"]

MAPPED_BYTES = 4 << 20
"""Arrays of this size and more are mapped apart: numpy's own threshold for asking huge pages."""

_LOCK = threading.Lock()
_DEPTH = 0
"""Blocks of :func:`reused` running in this process (nested or concurrent runs)."""
_POOLS: dict[int, dict[tuple[str, tuple[int, ...], str], list[np.ndarray]]] = {}
"""Per thread: free arrays by (role, shape, dtype)."""
_MAPPED: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()
"""The mapped arrays :func:`take` made, by ``id`` (they do not own their memory: the mapping does)."""


@contextlib.contextmanager
def reused() -> Iterator[None]:
    """Keep arrays given back for reuse until the block ends (nestable; released by the last one)."""
    global _DEPTH
    with _LOCK:
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                _POOLS.clear()


def _key(role: str, shape: tuple[int, ...], dtype: Any) -> tuple[str, tuple[int, ...], str]:
    return role, tuple(int(n) for n in shape), np.dtype(dtype).str


def take(role: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-ordered array: one this thread gave back for ``role``, else a new one."""
    key = _key(role, shape, dtype)
    with _LOCK:
        free = _POOLS.get(threading.get_ident(), {}).get(key) if _DEPTH else None
        if free:
            return free.pop()
        if not _DEPTH:
            return np.empty(key[1], dtype=dtype)
    return _mapped(key[1], np.dtype(dtype))


def _mapped(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """A new array, in an anonymous private mapping of ordinary pages when it is large (see the module)."""
    size = int(np.prod(shape)) * dtype.itemsize
    if size < MAPPED_BYTES or not hasattr(mmap, "MAP_PRIVATE"):
        return np.empty(shape, dtype=dtype)
    arr = np.frombuffer(mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE), dtype=dtype).reshape(shape)
    with _LOCK:
        _MAPPED[id(arr)] = arr
    return arr


def give_back(role: str, arr: np.ndarray) -> None:
    """Offer ``arr`` (from :func:`take`, no longer used) to this thread's next :func:`take` of ``role``."""
    with _LOCK:
        if not (arr.flags.c_contiguous and (arr.flags.owndata or _MAPPED.get(id(arr)) is arr)):
            return
        if _DEPTH:
            pool = _POOLS.setdefault(threading.get_ident(), {})
            pool.setdefault(_key(role, arr.shape, arr.dtype), []).append(arr)
