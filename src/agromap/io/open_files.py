"""Reading one window of one file, with local files kept open per thread while a run computes.

A read task opens its file, reads one window and closes it (docs/architecture.md#readers-and-writers-hold-paths).
Opening a GeoTIFF costs about 0.6 ms of CPU (header, tile index, GDAL's driver probing), about
half the time it takes to decode a 512 x 512 deflate tile, and a run reads every file once per
output tile. Inside :func:`kept_open` (the scheduler wraps each compute in it) a local file read
by a thread stays open for that thread's next window of it, so each thread opens each file once
per compute. Handles never cross threads while in use (GDAL handles are not thread-safe) and never
outlive the compute: when it ends, every idle handle is closed at once and a handle still in use
(a task of a failed compute still running) is closed by its own thread when its read returns.

A handle is keyed by thread, path, GDAL settings and the file's identity (device, inode, size,
modification time), so a file replaced while handles exist is opened afresh. Remote files are not
kept open: they have no identity to check, and a dropped connection must not poison later reads.

Each read applies its GDAL settings on its thread (``rasterio.Env``); inside :func:`gdal_settings`
(one output tile's task) the settings are applied once for all the block's local reads.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from . import scratch
from .gdal_env import gdal_env_dict
from .remote import is_remote

__all__ = ["kept_open", "read_window", "open_count", "gdal_settings"]


@dataclass
class _Handle:
    src: Any
    busy: bool = True
    """A read on it is running (only its own thread ever sets this)."""
    stale: bool = False
    """Close it when its read returns: the compute ended meanwhile, or a read on it failed."""


_LOCK = threading.Lock()
_DEPTH = 0
"""Computes running in this process (nested or concurrent runs); handles are kept while > 0."""
_HANDLES: dict[tuple[Any, ...], _Handle] = {}


def _max_open() -> int:
    # A quarter of the process's file-descriptor limit, at most 1024: writers, sockets and the
    # libraries' own files need the rest. Beyond it, reads open and close as without the cache.
    try:
        import resource
    except ImportError:  # not POSIX (Windows: the C runtime allows 512 open files by default)
        return 128
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1024 if soft == resource.RLIM_INFINITY else max(0, min(1024, soft // 4))


_MAX_OPEN = _max_open()


@contextlib.contextmanager
def kept_open() -> Iterator[None]:
    """Keep local input files open per thread until the block ends; then close every handle.

    A thread's large temporary arrays are kept for reuse over the block too (:mod:`agromap.io.scratch`).

    Nestable and safe with concurrent runs: handles are closed when the last block ends.
    """
    global _DEPTH
    with _LOCK:
        _DEPTH += 1
    try:
        with scratch.reused():  # a thread's tile arrays, too, are kept for its next tile
            yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            doomed = _release_all() if _DEPTH == 0 else []
        for handle in doomed:
            handle.src.close()


def _release_all() -> list[_Handle]:
    """Under the lock: forget every handle; return the idle ones to close, mark busy ones stale."""
    idle = [h for h in _HANDLES.values() if not h.busy]
    for h in _HANDLES.values():
        h.stale = True
    _HANDLES.clear()
    return idle


def open_count() -> int:
    """Handles currently kept open (0 outside a compute, once running reads have returned)."""
    with _LOCK:
        return len(_HANDLES)


@functools.lru_cache(maxsize=32)
def _env_options(gdal_env: tuple[tuple[str, str], ...], local: bool) -> dict[str, Any]:
    """``rasterio.Env`` keyword arguments for reads of remote or local files (callers never modify it)."""
    env = gdal_env_dict(gdal_env)
    # GDAL's VSI cache keeps the bytes read from each open file in memory (up to 25 MB a file), to
    # spare network round trips. A local file kept open for a run would keep its whole compressed
    # content (the size of the stack on disk); the operating system already caches local files,
    # and the copy costs about 0.3 ms of CPU per window read.
    return {**env, "VSI_CACHE": "FALSE"} if local else env


class _Applied(threading.local):
    settings: tuple[tuple[tuple[str, str], ...], bool] | None = None
    """The ``(gdal_env, local)`` a :func:`gdal_settings` block applies on this thread, if any."""


_APPLIED = _Applied()


@contextlib.contextmanager
def gdal_settings(gdal_env: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """Apply the GDAL settings of local reads on this thread for the block, once for all its reads.

    Each :func:`read_window` otherwise enters its own ``rasterio.Env``: about 0.15 ms of CPU per
    read (GDAL's configuration probed, set and restored), 72 times for one output tile of a
    twelve-date, six-band stack. Inside the block, a read of a local file with the same settings
    enters none; any other read (a remote file, other settings) still enters its own, nested in
    this one. rasterio sets GDAL configuration for the thread in worker threads (in the main thread,
    for the process), so threads running tiles side by side each apply their own.
    """
    wanted = (gdal_env, True)
    if _APPLIED.settings == wanted:  # nested in a block that applies them already
        yield
        return
    previous = _APPLIED.settings
    with rasterio.Env(**_env_options(gdal_env, True)):
        _APPLIED.settings = wanted
        try:
            yield
        finally:
            _APPLIED.settings = previous


def read_window(path: str, band: int, window: Window, gdal_env: tuple[tuple[str, str], ...],
                out: np.ndarray | None = None) -> np.ndarray:
    """One window of one band of ``path`` as stored (into ``out`` when given), under ``gdal_env``.

    Inside :func:`kept_open` a local file stays open for this thread's next read of it.
    Raises what rasterio raises (the caller words the error).
    """
    if is_remote(path):
        with rasterio.Env(**_env_options(gdal_env, False)), rasterio.open(path) as src:
            return src.read(band, window=window, out=out)
    env = contextlib.nullcontext() if _APPLIED.settings == (gdal_env, True) else rasterio.Env(
        **_env_options(gdal_env, True))
    try:
        # (_DEPTH read without the lock: a compute starting or ending meanwhile is handled below.)
        st = os.stat(path) if _DEPTH else None
    except OSError:  # not a plain file (a GDAL virtual path, a subdataset name): not kept open
        st = None
    if st is None:
        with env, rasterio.open(path) as src:
            return src.read(band, window=window, out=out)
    key = (threading.get_ident(), path, gdal_env, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _LOCK:
        handle = _HANDLES.get(key)
        if handle is not None:
            handle.busy = True
    with env:
        if handle is None:
            handle = _Handle(rasterio.open(path))
            with _LOCK:
                if _DEPTH and len(_HANDLES) < _MAX_OPEN:
                    _HANDLES[key] = handle
                else:
                    handle.stale = True
        try:
            return handle.src.read(band, window=window, out=out)
        except BaseException:
            handle.stale = True  # a handle that failed a read is not trusted with the next one
            raise
        finally:
            with _LOCK:  # decided under the lock: the compute's end closes idle handles itself
                handle.busy = False
                close = handle.stale
                if close and _HANDLES.get(key) is handle:
                    del _HANDLES[key]
            if close:
                handle.src.close()
