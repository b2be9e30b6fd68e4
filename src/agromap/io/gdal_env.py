"""The one GDAL configuration every read task applies (and the manifest records).

GDAL settings reach only the process that sets them (docs/architecture.md), so readers carry the
preset as plain data and open ``rasterio.Env`` inside each task. The block cache size is the
exception: GDAL keeps one cache per process, so :func:`process_settings` applies it once for a run
and restores it afterwards; a task's ``rasterio.Env`` cannot scope it (two tasks overlapping on
two threads would each restore what the other set, and the caller's process keeps the last). The HTTP settings matter for
remote COGs (``/vsicurl/``, ``/vsis3/``): without them a transient error reads as "not a
supported format" and every open lists the remote folder.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

__all__ = ["GDAL_PRESET", "PROCESS_WIDE", "gdal_env_dict", "gdal_preset", "process_settings"]

#: (key, value) pairs, hashable so they can live in frozen dataclasses and dask tokens.
GDAL_PRESET: tuple[tuple[str, str], ...] = (
    # Opening one file must not list its directory (rasterio/rasterio#987); remotely that
    # listing is one extra request per file, or thousands for a bucket prefix.
    ("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR"),
    # dask already parallelises; GDAL threads inside tasks oversubscribe (OSGeo/gdal#8729).
    ("GDAL_NUM_THREADS", "1"),
    # Per-process block cache, in MB; the default (5 % of RAM per process) multiplies per worker.
    ("GDAL_CACHEMAX", "256"),
    # Transient HTTP errors must not surface as "not a supported format" (rasterio#2119).
    ("GDAL_HTTP_MAX_RETRY", "5"),
    ("GDAL_HTTP_RETRY_DELAY", "2"),
    # A stalled server must fail the read (exit 3), not hang the run.
    ("GDAL_HTTP_CONNECTTIMEOUT", "15"),
    ("GDAL_HTTP_TIMEOUT", "60"),
    # Adjacent COG tiles in one range request; several requests over one HTTP/2 connection.
    ("GDAL_HTTP_MERGE_CONSECUTIVE_RANGES", "YES"),
    ("GDAL_HTTP_MULTIPLEX", "YES"),
    # COG headers fit in the first 32 kB; the default 16 kB costs a second request.
    ("GDAL_INGESTED_BYTES_AT_OPEN", "32768"),
    ("VSI_CACHE", "TRUE"),
)

#: Keys GDAL holds once per process rather than per thread; never set inside a task's ``rasterio.Env``.
PROCESS_WIDE: frozenset[str] = frozenset({"GDAL_CACHEMAX"})


def gdal_preset() -> tuple[tuple[str, str], ...]:
    """The preset, with any key also set in this process's environment taken from there.

    A deployment tunes GDAL the usual way (``GDAL_HTTP_MAX_RETRY=10``...); the merged values
    travel with each read task, so workers in other processes apply the same settings. S3
    reads go unsigned when no credentials are configured (public buckets).
    """
    from .remote import s3_unsigned

    merged = dict(GDAL_PRESET)
    for key in merged:
        if key in os.environ:
            merged[key] = os.environ[key]
    merged["AWS_NO_SIGN_REQUEST"] = "YES" if s3_unsigned() else "NO"
    return tuple(merged.items())


def gdal_env_dict(preset: tuple[tuple[str, str], ...] = GDAL_PRESET) -> dict[str, int | str]:
    """The preset's per-thread settings as keyword arguments for ``rasterio.Env`` (numbers as int).

    The :data:`PROCESS_WIDE` keys are left out: :func:`process_settings` applies them.
    """
    return {k: int(v) if v.isdigit() else v for k, v in preset if k not in PROCESS_WIDE}


_LOCK = threading.Lock()
_DEPTH = 0
"""Blocks of :func:`process_settings` running in this process (nested or concurrent runs)."""
_SAVED: dict[str, object] = {}


@contextlib.contextmanager
def process_settings(preset: tuple[tuple[str, str], ...] | None = None) -> Iterator[None]:
    """Apply the preset's process-wide settings (the block cache size) for the block, then restore them.

    ``preset`` defaults to :func:`gdal_preset` (the deployment's environment taken into account).

    Nestable and safe with concurrent runs in one process: the first block to start applies
    them, the last to end restores the values it found, so the caller's process is left as it
    was (a notebook's later reads run with its own settings).
    """
    from rasterio.env import get_gdal_config, set_gdal_config

    global _DEPTH
    with _LOCK:
        if _DEPTH == 0:
            for key, value in preset or gdal_preset():
                if key in PROCESS_WIDE:
                    _SAVED[key] = get_gdal_config(key, normalize=False)
                    set_gdal_config(key, int(value) if value.isdigit() else value, normalize=False)
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                while _SAVED:
                    key, old = _SAVED.popitem()
                    if old is not None:  # (the cache size always reads as a number)
                        set_gdal_config(key, old, normalize=False)
