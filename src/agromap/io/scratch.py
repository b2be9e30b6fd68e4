"""Large temporary arrays reused by a thread from one tile to the next while a run computes.

A tile task allocates the same arrays for every tile: the window of each stored band as decoded,
each band's ``(time, y, x)`` float32 stack (12 MiB for twelve dates of 512 x 512). numpy asks the
kernel for huge pages for arrays of 4 MiB and more (``madvise``), and a fresh huge page is zeroed
and, on a host that defragments memory for them on demand, found by compacting memory first: on
the rice bench a quarter of a tile task's CPU was spent in the kernel faulting in fresh arrays
(docs/performance.md#page-faults). Taken from here, a thread's arrays are faulted in once per
compute and reused for every later tile; the values are written afresh each time, so nothing read
depends on reuse.

Outside :func:`reused` (entered by :func:`agromap.io.open_files.kept_open`, which the runner wraps
around each compute) :func:`take` is ``numpy.empty`` and :func:`give_back` does nothing. When the
last such block ends every kept array is released, so nothing outlives the compute. An array is
handed to one caller at a time (:func:`take` removes it from the pool until :func:`give_back`);
a caller gives back only an array that nothing it returns refers to.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["give_back", "reused", "take"]

_LOCK = threading.Lock()
_DEPTH = 0
"""Blocks of :func:`reused` running in this process (nested or concurrent runs)."""
_POOLS: dict[int, dict[tuple[str, tuple[int, ...], str], list[np.ndarray]]] = {}
"""Per thread: free arrays by (role, shape, dtype)."""


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
    return np.empty(key[1], dtype=dtype)


def give_back(role: str, arr: np.ndarray) -> None:
    """Offer ``arr`` (from :func:`take`, no longer used) to this thread's next :func:`take` of ``role``."""
    if not (arr.flags.c_contiguous and arr.flags.owndata):
        return
    with _LOCK:
        if _DEPTH:
            pool = _POOLS.setdefault(threading.get_ident(), {})
            pool.setdefault(_key(role, arr.shape, arr.dtype), []).append(arr)
