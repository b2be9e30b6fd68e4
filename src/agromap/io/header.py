"""Raster headers: one open of a file, no pixel, no array stack.

What :func:`agromap.io.read.open_band` needs to plan reads (shape, dtype, tiling,
georeferencing) and what ``agromap validate`` checks, from one open of the file: non-rasters,
decompression bombs, tiles that decode too large and truncated TIFFs are refused here, before
anything is planned. Only rasterio and numpy are imported, so a check of a configuration's inputs
does not pay for xarray and dask.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError

from ..errors import CorruptInputError, RasterTooLargeError
from . import header_cache
from .gdal_env import gdal_env_dict, gdal_preset
from .remote import gdal_path, is_remote
from .trust import check_local_input

__all__ = ["DEFAULT_MAX_PIXELS", "MAX_TILE_BYTES", "RasterHeader", "read_header"]

#: Default decompression-bomb guard: 40 000 x 40 000 px per band (a full S2 tile is 10 980²).
DEFAULT_MAX_PIXELS = 1_600_000_000
#: Decode-cost guard: bytes one compressed internal tile or strip may decode to. Every chunk
#: that touches a tile decodes all of it, so a few-KB file holding one 16384² DEFLATE tile would
#: otherwise decode 256 MiB again for each of its 1024 chunks.
MAX_TILE_BYTES = 64 << 20


@dataclass(frozen=True)
class RasterHeader:
    """What the client learns from one open of a file: enough to plan every read."""

    path: str
    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    crs_wkt: str | None
    transform: tuple[float, float, float, float, float, float]
    block_shape: tuple[int, int]
    descriptions: tuple[str | None, ...]
    has_gcps: bool
    tags: tuple[tuple[str, str], ...] = ()


def _fail_open(path: str, exc: Exception) -> CorruptInputError:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if is_remote(path):
        return CorruptInputError(
            f"{path}: remote input cannot be read over the network ({msg}); check the URL, the connection and any "
            "credentials, or download the product and set asset_root to its folder."
        )
    if not os.path.exists(path):
        return CorruptInputError(f"{path}: file not found; check the path in the run configuration.")
    if os.path.getsize(path) == 0:
        return CorruptInputError(f"{path}: file is empty (0 bytes); re-download or re-export it.")
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return CorruptInputError(
        f"{path}: not a readable raster ({msg}); expected a GeoTIFF/COG or another GDAL raster."
    )


def read_header(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> RasterHeader:
    """Open ``path`` once and describe it; refuse non-rasters, bombs and truncated TIFFs.

    A local file whose description is kept from an earlier read (:mod:`agromap.io.header_cache`:
    same name, size, times, inode and side-car) is not opened again; its pixel budget is still checked.

    Raises
    ------
    CorruptInputError
        Missing, empty, non-raster or truncated file.
    RasterTooLargeError
        More than ``max_pixels`` pixels per band.
    """
    # Remote inputs only when the run allows them (agromap.io.trust); local ones must be regular files.
    path = check_local_input(gdal_path(os.fspath(path)), "raster")
    ident = header_cache.identity(path)
    if ident is not None:
        kept = _kept_header(path, ident)
        if kept is not None:
            _check_pixels(path, kept.width, kept.height, max_pixels)
            return kept
    hdr = _open_header(path, max_pixels)
    if ident is not None:
        header_cache.remember(path, ident, dataclasses.asdict(hdr))
    return hdr


def _kept_header(path: str, ident: list[Any]) -> RasterHeader | None:
    """The header :mod:`~agromap.io.header_cache` kept for this very file; ``None`` to open it."""
    f = header_cache.lookup(path, ident)
    if f is None:
        return None
    try:
        return RasterHeader(
            path=str(f["path"]), width=int(f["width"]), height=int(f["height"]), count=int(f["count"]),
            dtype=str(f["dtype"]), nodata=None if f["nodata"] is None else float(f["nodata"]),
            crs_wkt=f["crs_wkt"], transform=tuple(float(v) for v in f["transform"]),  # type: ignore[arg-type]
            block_shape=tuple(int(v) for v in f["block_shape"]),  # type: ignore[arg-type]
            descriptions=tuple(f["descriptions"]), has_gcps=bool(f["has_gcps"]),
            tags=tuple((str(k), str(v)) for k, v in f["tags"]),
        )
    except (KeyError, TypeError, ValueError):  # a damaged entry: the file is opened again
        return None


def _check_pixels(path: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise RasterTooLargeError(
            f"{path}: declares {width} x {height} = {width * height:,} px per band, above the "
            f"budget of {max_pixels:,} px; raise ingest.max_pixels only if the file is trusted."
        )


def _open_header(path: str, max_pixels: int) -> RasterHeader:
    try:
        with rasterio.Env(**gdal_env_dict(gdal_preset())), rasterio.open(path) as src:
            width, height = src.width, src.height
            _check_pixels(path, width, height, max_pixels)
            _check_decode_cost(src, path)
            gcps, _ = src.gcps
            hdr = RasterHeader(
                path=path,
                width=width,
                height=height,
                count=src.count,
                dtype=src.dtypes[0],
                nodata=None if src.nodata is None else float(src.nodata),
                crs_wkt=src.crs.to_wkt() if src.crs else None,
                transform=tuple(src.transform)[:6],
                block_shape=tuple(src.block_shapes[0]),
                descriptions=tuple(src.descriptions),
                has_gcps=bool(gcps),
                tags=tuple(sorted((str(k), str(v)) for k, v in src.tags().items())),
            )
            if src.driver == "GTiff" and not is_remote(path):
                _check_tiff_complete(src, path)
            return hdr
    except (RasterTooLargeError, CorruptInputError):
        raise
    except (RasterioIOError, OSError, ValueError) as exc:
        raise _fail_open(path, exc) from exc


def _check_decode_cost(src: Any, path: str) -> None:
    """Refuse a compressed GeoTIFF whose internal tiles or strips decode to more than MAX_TILE_BYTES.

    Uncompressed tiles are read window by window; a compressed one is decoded whole by every
    read that touches it, so its decoded size bounds the cost of each chunk.
    """
    if src.driver != "GTiff" or src.compression is None:
        return
    bh, bw = src.block_shapes[0]
    per_pixel = np.dtype(src.dtypes[0]).itemsize * (src.count if src.interleaving and
                                                     src.interleaving.name == "PIXEL" else 1)
    decoded = bh * bw * per_pixel
    if decoded > MAX_TILE_BYTES:
        raise RasterTooLargeError(
            f"{path}: one internal {bw} x {bh} px {src.compression.name} tile decodes to {decoded / 2**20:,.0f} MiB "
            f"(limit {MAX_TILE_BYTES >> 20} MiB), and every chunk would decode it again; re-tile the file, e.g. "
            "gdal_translate -co TILED=YES -co COMPRESS=DEFLATE in.tif out.tif."
        )


def _check_tiff_complete(src: Any, path: str) -> None:
    """Refuse a TIFF whose last strip/tile lies past the end of the file.

    A truncated TIFF opens fine and only fails when its missing blocks are read
    (rasterio/rasterio#1334); checking the block offsets catches it before any compute.
    """
    size = os.path.getsize(path)
    bh, bw = src.block_shapes[0]
    nby, nbx = math.ceil(src.height / bh), math.ceil(src.width / bw)
    last_end = 0
    for band in range(1, src.count + 1):
        for by, bx in ((nby - 1, nbx - 1), (0, 0), (nby - 1, 0), (0, nbx - 1)):
            off = src.get_tag_item(f"BLOCK_OFFSET_{bx}_{by}", "TIFF", bidx=band)
            cnt = src.get_tag_item(f"BLOCK_SIZE_{bx}_{by}", "TIFF", bidx=band)
            if off and cnt:
                last_end = max(last_end, int(off) + int(cnt))
    if last_end > size:
        raise CorruptInputError(
            f"{path}: truncated TIFF ({size:,} bytes on disk, its blocks need {last_end:,}); "
            "re-download or re-export the file."
        )
