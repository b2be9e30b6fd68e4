"""Reading windows of input files, with local files kept open per thread while a run computes.

A read task opens its file, reads one window and closes it (docs/architecture.md#readers-and-writers-hold-paths).
Opening a GeoTIFF costs about 0.6 ms of CPU (header, tile index, GDAL's driver probing), about
half the time it takes to decode a 512 x 512 deflate tile, and a run reads every file once per
output tile. Inside :func:`kept_open` (the scheduler wraps each compute in it) a local file read
by a thread stays open for that thread's next window of it, so each thread opens each file once
per compute. Handles never cross threads while in use (GDAL handles are not thread-safe) and never
outlive the compute: when it ends, every idle handle is closed at once and a handle still in use
(a task of a failed compute still running) is closed by its own thread when its read returns.

:func:`read_bands` reads the same window of several files with one GDAL call (the files as the
bands of one virtual raster), kept open the same way: a tile task's thread takes Python's GIL back
once per band of the stack rather than once per file and date.

A handle is keyed by thread, path (or the virtual raster's files), GDAL settings and each file's
identity (device, inode, size, modification time), so a file replaced while handles exist is
opened afresh. Remote files are not
kept open: they have no identity to check, and a dropped connection must not poison later reads.

Each read applies its GDAL settings on its thread (``rasterio.Env``); inside :func:`gdal_settings`
(one output tile's task) the settings are applied once for all the block's local reads.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import rasterio
from rasterio.windows import Window

from . import scratch
from .gdal_env import gdal_env_dict
from .remote import is_remote

__all__ = ["kept_open", "read_bands", "read_window", "open_count", "gdal_settings"]


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


def _env_options(gdal_env: tuple[tuple[str, str], ...], local: bool) -> dict[str, Any]:
    """``rasterio.Env`` keyword arguments for reads of remote or local files (callers never modify it)."""
    return _options(gdal_env, local, _MAX_OPEN)


@functools.lru_cache(maxsize=32)
def _options(gdal_env: tuple[tuple[str, str], ...], local: bool, max_open: int) -> dict[str, Any]:
    env = gdal_env_dict(gdal_env)
    if not local:
        return env
    # GDAL's VSI cache keeps the bytes read from each open file in memory (up to 25 MB a file), to
    # spare network round trips. A local file kept open for a run would keep its whole compressed
    # content (the size of the stack on disk); the operating system already caches local files,
    # and the copy costs about 0.3 ms of CPU per window read. The files of the virtual stacks
    # (read_bands) are opened through GDAL's pool of datasets, kept within the same bound as the
    # handles here (GDAL allows 2 to 1000): with GDAL's default of 100, two threads reading 72
    # files each would close and reopen about 1000 files over a 2048 x 2048 run.
    return {**env, "VSI_CACHE": "FALSE", "GDAL_MAX_DATASET_POOL_SIZE": max(2, min(1000, max_open))}


class _Applied(threading.local):
    settings: tuple[tuple[tuple[str, str], ...], bool] | None = None
    """The ``(gdal_env, local)`` a :func:`gdal_settings` block applies on this thread, if any."""


_APPLIED = _Applied()


@contextlib.contextmanager
def gdal_settings(gdal_env: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """Apply the GDAL settings of local reads on this thread for the block, once for all its reads.

    Each :func:`read_window` and :func:`read_bands` otherwise enters its own ``rasterio.Env``: about
    0.15 ms of CPU per read (GDAL's configuration probed, set and restored), 6 to 72 times for one
    output tile of a twelve-date, six-band stack. Inside the block, a read of a local file with the same settings
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
    env = _local_env(gdal_env)
    # (_DEPTH read without the lock: a compute starting or ending meanwhile is handled in _read_kept.)
    ids = _identities((path,)) if _DEPTH else None
    if ids is None:
        with env, rasterio.open(path) as src:
            return src.read(band, window=window, out=out)
    key = (threading.get_ident(), path, gdal_env, *ids[0])
    return _read_kept(key, env, lambda: rasterio.open(path), lambda src: src.read(band, window=window, out=out))


def read_bands(sources: Sequence[tuple[str, int]], shape: tuple[int, int], window: Window,
               gdal_env: tuple[tuple[str, str], ...], out: np.ndarray) -> np.ndarray:
    """The window of band ``b`` of file ``p`` into ``out[i]``, for each ``(p, b)`` of ``sources``, in one GDAL call.

    A tile task reads the same window of every date of a band. Each GDAL read releases Python's
    GIL while it decodes and takes it back when it returns; while another thread runs Python (the
    other tile, the run's background imports) taking it back waits up to the interpreter's switch
    interval (5 ms), once per read: 72 times per tile of a twelve-date, six-band stack
    (docs/performance.md#threads-waiting). Here the files are the bands of one virtual raster
    (GDAL's VRT, described in memory), read with one call: the GIL is given up and taken back
    once for all of them. The bytes are those of reading each file alone: each band of the
    virtual raster is its file's band, window for window, of the same stored type, without
    resampling or nodata handling. Inside :func:`kept_open` the virtual raster stays open for
    this thread's next window of the same files (each file's identity checked, as for
    :func:`read_window`); GDAL opens its files through its pool of at most
    ``GDAL_MAX_DATASET_POOL_SIZE`` open datasets, set to this module's bound on open inputs.

    Parameters
    ----------
    sources : sequence of (str, int)
        Local paths and 1-based band indices, all ``shape`` in size.
    shape : (int, int)
        Rows and columns of every file.
    window : rasterio.windows.Window
        The window read from each.
    gdal_env : tuple of (str, str)
        GDAL settings, as for :func:`read_window`.
    out : numpy.ndarray
        ``(len(sources), window rows, window columns)`` array of the files' stored type, filled.

    Remote files, GDAL virtual paths and stored types without a GDAL name are read one by one
    (:func:`read_window`). Raises what rasterio raises, without saying which file failed: the
    caller reads the files one by one to name it.
    """
    paths = [p for p, _ in sources]
    gdal_type = _GDAL_TYPES.get(out.dtype.name)
    ids = None if gdal_type is None or len(sources) < 2 or any(map(is_remote, paths)) else _identities(paths)
    if ids is None:
        for i, (path, band) in enumerate(sources):
            read_window(path, band, window, gdal_env, out=out[i])
        return out
    xml = _virtual_stack(tuple(sources), shape, gdal_type)
    if not _DEPTH:  # outside a compute: opened for this read only, as the files would be
        with _local_env(gdal_env), rasterio.open(xml) as src:
            return src.read(window=window, out=out)
    key = (threading.get_ident(), xml, gdal_env, *ids)
    return _read_kept(key, _local_env(gdal_env), lambda: rasterio.open(xml),
                      lambda src: src.read(window=window, out=out))


#: GDAL's names of the stored types a virtual stack is declared with.
_GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
               "int32": "Int32", "float32": "Float32", "float64": "Float64"}


@functools.lru_cache(maxsize=64)
def _virtual_stack(sources: tuple[tuple[str, int], ...], shape: tuple[int, int], gdal_type: str) -> str:
    """A VRT (XML) whose band ``i + 1`` is band ``sources[i][1]`` of file ``sources[i][0]``, pixel for pixel."""
    rows, cols = shape
    rect = f'xOff="0" yOff="0" xSize="{cols}" ySize="{rows}"'
    bands = "".join(
        f'<VRTRasterBand dataType="{gdal_type}" band="{i}"><SimpleSource>'
        f'<SourceFilename relativeToVRT="0">{xml_escape(os.path.abspath(path))}</SourceFilename>'
        f"<SourceBand>{band}</SourceBand><SrcRect {rect}/><DstRect {rect}/></SimpleSource></VRTRasterBand>"
        for i, (path, band) in enumerate(sources, start=1))
    # A north-up transform: rasterio warns about a dataset without one (the grid is the caller's).
    return (f'<VRTDataset rasterXSize="{cols}" rasterYSize="{rows}">'
            f"<GeoTransform>0, 1, 0, 0, 0, -1</GeoTransform>{bands}</VRTDataset>")


def _local_env(gdal_env: tuple[tuple[str, str], ...]) -> contextlib.AbstractContextManager[Any]:
    """The GDAL settings a local read enters: none inside a :func:`gdal_settings` block that applies them."""
    if _APPLIED.settings == (gdal_env, True):
        return contextlib.nullcontext()
    return rasterio.Env(**_env_options(gdal_env, True))


def _identities(paths: Sequence[str]) -> list[tuple[int, int, int, int]] | None:
    """Each file's (device, inode, size, modification time), or ``None`` when a path is not a plain file.

    Not a plain file: a GDAL virtual path, a subdataset name.
    """
    try:
        stats = [os.stat(p) for p in paths]
    except OSError:
        return None
    return [(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) for st in stats]


def _read_kept(key: tuple[Any, ...], env: contextlib.AbstractContextManager[Any], opener: Callable[[], Any],
               read: Callable[[Any], np.ndarray]) -> np.ndarray:
    """``read`` on this thread's kept handle for ``key``, opened (and kept, within the bound) when missing."""
    with _LOCK:
        handle = _HANDLES.get(key)
        if handle is not None:
            handle.busy = True
    with env:
        if handle is None:
            handle = _Handle(opener())
            with _LOCK:
                if _DEPTH and len(_HANDLES) < _MAX_OPEN:
                    _HANDLES[key] = handle
                else:
                    handle.stale = True
        try:
            return read(handle.src)
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
