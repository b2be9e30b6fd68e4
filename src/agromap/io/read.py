"""Lazy, picklable raster reads: one band of one file as a dask-backed DataArray.

The only place agromap opens input rasters. The client opens a file once to read its
header (shape, dtype, tiling, georeferencing); pixels are read at compute time by tasks
that open the path, read one window and close it again, so no handle ever crosses a
process boundary (docs/architecture.md#readers-and-writers-hold-paths). Scale, offset and nodata are applied inside the
same task, producing float32 physical values with NaN as nodata.
"""

from __future__ import annotations

import math
import os
import weakref
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import rasterio
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..errors import (
    CorruptInputError,
    MissingBandError,
    RasterTooLargeError,
    UnknownCRSError,
)
from .gdal_env import GDAL_PRESET, gdal_env_dict, gdal_preset
from .grid import attach_geobox, chunk_edge
from .remote import gdal_path, is_remote
from .trust import check_local_input

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "RasterHeader",
    "BandReader",
    "read_header",
    "open_band",
    "band_reader",
]

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

    Raises
    ------
    CorruptInputError
        Missing, empty, non-raster or truncated file.
    RasterTooLargeError
        More than ``max_pixels`` pixels per band.
    """
    # Remote inputs only when the run allows them (agromap.io.trust); local ones must be regular files.
    path = check_local_input(gdal_path(os.fspath(path)), "raster")
    try:
        with rasterio.Env(**gdal_env_dict(gdal_preset())), rasterio.open(path) as src:
            width, height = src.width, src.height
            if width * height > max_pixels:
                raise RasterTooLargeError(
                    f"{path}: declares {width} x {height} = {width * height:,} px per band, above the "
                    f"budget of {max_pixels:,} px; raise ingest.max_pixels only if the file is trusted."
                )
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


@dataclass(frozen=True)
class BandReader:
    """Reads windows of one band as float32 physical values; holds a path, never a handle.

    ``value = DN * scale + offset``; ``DN == nodata`` (and any DN outside ``valid_range``)
    becomes NaN. With ``raw=True`` the stored dtype is kept (for class and QA bands) and
    nothing is scaled.
    """

    path: str
    band: int
    height: int
    width: int
    src_dtype: str
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None
    valid_range: tuple[float, float] | None = None
    raw: bool = False
    gdal_env: tuple[tuple[str, str], ...] = field(default=GDAL_PRESET)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the band, as dask asks of an array-like."""
        return (self.height, self.width)

    @property
    def ndim(self) -> int:
        """Always 2: one band at a time."""
        return 2

    @property
    def dtype(self) -> np.dtype[Any]:
        """The stored dtype for raw bands, float32 for physical values."""
        return np.dtype(self.src_dtype) if self.raw else np.dtype(np.float32)

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        ys, xs = key
        y0, y1, _ = ys.indices(self.height)
        x0, x1, _ = xs.indices(self.width)
        window = Window(x0, y0, x1 - x0, y1 - y0)
        try:
            with rasterio.Env(**gdal_env_dict(self.gdal_env)), rasterio.open(self.path) as src:
                dn = src.read(self.band, window=window)
        except (RasterioIOError, OSError) as exc:
            if is_remote(self.path):
                raise CorruptInputError(
                    f"{self.path}: band {self.band} could not be read over the network at rows {y0}:{y1}, "
                    f"cols {x0}:{x1} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                    "the connection dropped or the server failed; re-run when it is reachable."
                ) from exc
            raise CorruptInputError(
                f"{self.path}: band {self.band} failed to decode at rows {y0}:{y1}, cols {x0}:{x1} "
                f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                "the file is corrupt or truncated."
            ) from exc
        return self.convert(dn)

    def convert(self, dn: np.ndarray) -> np.ndarray:
        """DN -> float32 physical values (NaN nodata), or the raw block when ``raw``."""
        if self.raw:
            return dn
        invalid = np.zeros(dn.shape, dtype=bool)
        if self.nodata is not None:
            invalid |= np.isnan(dn) if np.isnan(self.nodata) else dn == self.nodata
        if self.valid_range is not None:
            lo, hi = self.valid_range
            invalid |= (dn < lo) | (dn > hi)
        # float32 arithmetic throughout: a Python-float scale would promote to float64.
        out = dn.astype(np.float32)
        if self.scale != 1.0:
            out *= np.float32(self.scale)
        if self.offset != 0.0:
            out += np.float32(self.offset)
        out[invalid] = np.nan
        return out


def open_band(
    path: str | os.PathLike[str],
    band: int = 1,
    *,
    name: str | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None | str = "auto",
    valid_range: tuple[float, float] | None = None,
    raw: bool = False,
    chunk: int = 1024,
    geobox: GeoBox | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    header: RasterHeader | None = None,
    attrs: dict[str, Any] | None = None,
) -> xr.DataArray:
    """One band of one raster file as a lazy ``(y, x)`` DataArray on the file's own grid.

    Parameters
    ----------
    path : path-like
        Any GDAL raster; GeoTIFF/COG in practice.
    band : int
        1-based band index.
    name : str, optional
        Variable name (a common band name such as ``"nir"``).
    scale, offset : float
        ``value = DN * scale + offset``, applied in float32.
    nodata : float, None or "auto"
        DN that means nodata; ``"auto"`` takes the file's nodata tag.
    valid_range : (float, float), optional
        DN outside this closed range become NaN.
    raw : bool
        Keep the stored integer dtype (class and QA bands such as SCL or QA_PIXEL).
    chunk : int
        Target chunk edge; rounded down to a multiple of the file's internal tile.
    geobox : GeoBox, optional
        Georeferencing to use when the file carries none (e.g. rebuilt from a Landsat MTL).
    max_pixels : int
        Decompression-bomb guard.

    Returns
    -------
    xarray.DataArray
        float32 (NaN nodata) or, with ``raw``, the stored dtype; dask-backed, nothing read yet.
    """
    hdr = header or read_header(os.fspath(path), max_pixels=max_pixels)
    if not 1 <= band <= hdr.count:
        raise MissingBandError(
            f"{hdr.path}: band {band} requested but the file has {hdr.count} band(s); fix the band map."
        )
    gbox = geobox or _header_geobox(hdr)
    if gbox.shape != (hdr.height, hdr.width):
        raise CorruptInputError(
            f"{hdr.path}: is {hdr.height}x{hdr.width} px but its georeference describes "
            f"{gbox.shape.y}x{gbox.shape.x} px; check the metadata it was built from."
        )
    nd = hdr.nodata if nodata == "auto" else nodata
    reader = BandReader(
        path=hdr.path,
        band=band,
        height=hdr.height,
        width=hdr.width,
        src_dtype=hdr.dtype,
        scale=scale,
        offset=offset,
        nodata=None if nd is None else float(nd),
        valid_range=valid_range,
        raw=raw,
        gdal_env=gdal_preset(),
    )
    bh, bw = hdr.block_shape
    # Chunks are whole internal tiles so one task decodes each tile once; strips use the target.
    cy = chunk_edge(bh, chunk) if bh < hdr.height else min(chunk, hdr.height)
    cx = chunk_edge(bw, chunk) if bw < hdr.width else min(chunk, hdr.width)
    data = da.from_array(
        reader,
        chunks=(cy, cx),
        asarray=False,
        lock=False,
        name=f"read-{name or 'band'}-{da.core.tokenize(reader)}",
        meta=np.empty((0, 0), dtype=reader.dtype),
    )
    _READERS[data.name] = reader
    out = xr.DataArray(data, dims=("y", "x"), name=name, attrs=dict(attrs or {}))
    out.attrs.setdefault("source", hdr.path)
    if raw and nd is not None:
        out.attrs["nodata"] = nd
    return attach_geobox(out, gbox)


#: The reader behind each array :func:`open_band` made, by the dask array's name (a name holds its
#: reader's token, so any operation on the array gives a name that is not here). Weak: an entry
#: lives as long as some graph holds its reader.
_READERS: weakref.WeakValueDictionary[str, BandReader] = weakref.WeakValueDictionary()


def band_reader(arr: xr.DataArray) -> BandReader | None:
    """The :class:`BandReader` whose windows are exactly ``arr``'s pixels, or ``None``.

    Only an array as :func:`open_band` returned it (attributes and coordinates aside) has one: any
    computation on it (a reprojection, a unit conversion, a mosaic) makes a new dask array. Lets a
    caller read a window of the band in one call instead of building a graph over its chunks.
    """
    name = getattr(arr.data, "name", None)
    return _READERS.get(name) if isinstance(name, str) else None


def _header_geobox(hdr: RasterHeader) -> GeoBox:
    if hdr.crs_wkt is None:
        hint = (
            " It carries GCPs only (radar geometry): warp it to a map grid first, e.g. "
            "gdalwarp -t_srs EPSG:4326, or use agromap's Sentinel-1 GCP reader."
            if hdr.has_gcps
            else " Give the CRS and transform in the run configuration (or, for Landsat, the MTL file)."
        )
        raise UnknownCRSError(f"{hdr.path}: has no coordinate reference system.{hint}")
    return GeoBox((hdr.height, hdr.width), Affine(*hdr.transform), hdr.crs_wkt)
