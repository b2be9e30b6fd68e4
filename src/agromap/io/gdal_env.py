"""The one GDAL configuration every read task applies (and the manifest records).

GDAL settings reach only the process that sets them (docs/architecture.md), so readers carry the
preset as plain data and open ``rasterio.Env`` inside each task.
"""

from __future__ import annotations

__all__ = ["GDAL_PRESET", "gdal_env_dict"]

#: (key, value) pairs, hashable so they can live in frozen dataclasses and dask tokens.
GDAL_PRESET: tuple[tuple[str, str], ...] = (
    # Opening one file must not list its directory (rasterio/rasterio#987).
    ("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR"),
    # dask already parallelises; GDAL threads inside tasks oversubscribe (OSGeo/gdal#8729).
    ("GDAL_NUM_THREADS", "1"),
    # Per-process block cache, in MB; the default (5 % of RAM per process) multiplies per worker.
    ("GDAL_CACHEMAX", "256"),
    # Transient HTTP errors must not surface as "not a supported format" (rasterio#2119).
    ("GDAL_HTTP_MAX_RETRY", "5"),
    ("GDAL_HTTP_RETRY_DELAY", "2"),
    ("VSI_CACHE", "TRUE"),
)


def gdal_env_dict(preset: tuple[tuple[str, str], ...] = GDAL_PRESET) -> dict[str, str]:
    """The preset as keyword arguments for ``rasterio.Env`` (numbers as int, as rasterio wants)."""
    return {k: int(v) if v.isdigit() else v for k, v in preset}
