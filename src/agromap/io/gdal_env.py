"""The one GDAL configuration every read task applies (and the manifest records).

GDAL settings reach only the process that sets them (docs/architecture.md), so readers carry the
preset as plain data and open ``rasterio.Env`` inside each task. The HTTP settings matter for
remote COGs (``/vsicurl/``, ``/vsis3/``): without them a transient error reads as "not a
supported format" and every open lists the remote folder.
"""

from __future__ import annotations

import os

__all__ = ["GDAL_PRESET", "gdal_env_dict", "gdal_preset"]

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
    """The preset as keyword arguments for ``rasterio.Env`` (numbers as int, as rasterio wants)."""
    return {k: int(v) if v.isdigit() else v for k, v in preset}
