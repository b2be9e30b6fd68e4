"""Lazy, picklable raster reads: one band of one file as a dask-backed DataArray.

With :mod:`agromap.io.open_files`, the only place agromap opens input rasters. The client opens
a file once to read its header (shape, dtype, tiling, georeferencing); pixels are read at compute
time by tasks that hold the path, never a handle, so nothing open crosses a process boundary
(docs/architecture.md#readers-and-writers-hold-paths); while a run computes, a thread keeps a local
file open between its reads of it (:func:`agromap.io.open_files.kept_open`). Scale, offset and
nodata are applied inside the same task, producing float32 physical values with NaN as nodata
(for 8- and 16-bit integers in one compiled pass over the window, :mod:`agromap.io.dn_kernel`).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..errors import CorruptInputError, MissingBandError, UnknownCRSError
from . import dn_kernel, scratch
from .gdal_env import GDAL_PRESET, gdal_preset
from .grid import attach_geobox, chunk_edge
from .header import DEFAULT_MAX_PIXELS, MAX_TILE_BYTES, RasterHeader, read_header
from .open_files import read_bands, read_window
from .remote import is_remote

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "RasterHeader",
    "BandReader",
    "read_header",
    "open_band",
    "MAX_TILE_BYTES",
    "band_reader",
    "read_stack",
]


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
        return self.read(ys, xs)

    def read(self, ys: slice, xs: slice, out: np.ndarray | None = None,
             invalid: np.ndarray | None = None) -> np.ndarray:
        """The window ``(ys, xs)`` as :meth:`convert` gives it, written into ``out`` when given.

        Parameters
        ----------
        ys, xs : slice
            Rows and columns of the window.
        out : numpy.ndarray, optional
            C-contiguous array of the window's shape and :attr:`dtype` to fill (e.g. one date of
            a ``(time, y, x)`` stack), so a caller stacking windows makes no copy.
        invalid : numpy.ndarray of bool, optional
            More pixels to set NaN (a QA mask), in the same pass as nodata; physical values only.
        """
        y0, y1, _ = ys.indices(self.height)
        x0, x1, _ = xs.indices(self.width)
        window = Window(x0, y0, x1 - x0, y1 - y0)
        # Physical values: the stored integers are a temporary, decoded into a reused array.
        buf = None if self.raw else scratch.take("dn", (y1 - y0, x1 - x0), self.src_dtype)
        try:
            dn = read_window(self.path, self.band, window, self.gdal_env, out=out if self.raw else buf)
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
        try:
            return self.convert(dn, out=out, invalid=invalid)
        finally:
            if buf is not None:
                scratch.give_back("dn", buf)  # the values returned are a new array or ``out``

    def convert(self, dn: np.ndarray, out: np.ndarray | None = None,
                invalid: np.ndarray | None = None) -> np.ndarray:
        """DN -> float32 physical values (NaN nodata, and NaN where ``invalid``), or the raw block when ``raw``.

        Written into ``out`` when given. The float32 values are those of ``dn.astype(float32) *
        float32(scale) + float32(offset)`` (the offset added only when not 0). 8- and 16-bit
        integer windows are converted in one compiled pass (:mod:`agromap.io.dn_kernel`) in a
        process that loaded numba; otherwise, and for other dtypes, by numpy's passes without the
        intermediate copy.
        """
        if self.raw:
            if out is not None and out is not dn:
                np.copyto(out, dn)
                return out
            return dn
        if dn_kernel.handles(dn, out, invalid):  # 8- and 16-bit integers: one compiled pass
            return dn_kernel.convert_window(dn, out, self.scale, self.offset, self.nodata, self.valid_range, invalid)
        bad = None
        if self.nodata is not None:
            bad = np.isnan(dn) if np.isnan(self.nodata) else dn == self.nodata
        if self.valid_range is not None:
            lo, hi = self.valid_range
            outside = (dn < lo) | (dn > hi)
            bad = outside if bad is None else np.logical_or(bad, outside, out=bad)
        if invalid is not None:
            bad = invalid if bad is None else np.logical_or(bad, invalid, out=bad)
        # float32 arithmetic throughout: a Python-float scale would promote to float64.
        if self.scale != 1.0:
            res = np.multiply(dn, np.float32(self.scale), out=out, dtype=np.float32, casting="unsafe")
        elif out is not None:
            np.copyto(out, dn, casting="unsafe")
            res = out
        else:
            res = dn.astype(np.float32)
        if self.offset != 0.0:
            np.add(res, np.float32(self.offset), out=res)
        if bad is not None:
            np.copyto(res, np.float32(np.nan), where=bad)
        return res


def read_stack(readers: Sequence[BandReader], ys: slice, xs: slice, out: np.ndarray,
               invalid: np.ndarray | None = None) -> np.ndarray:
    """The window ``(ys, xs)`` of each reader into ``out[t]``, as :meth:`BandReader.read` gives it.

    Readers of files of one size, stored type and GDAL settings are decoded with one GDAL call
    (:func:`agromap.io.open_files.read_bands`: the thread gives up and takes back Python's GIL once
    rather than once per file), and their physical values converted in one pass over the whole
    stack when they share scale, offset, nodata and valid range. The values are those of reading
    each window alone. A file that fails is named: the stack is then read file by file, which
    raises :class:`~agromap.errors.CorruptInputError` for the damaged one.

    Parameters
    ----------
    readers : sequence of BandReader
        One per ``out[t]``, all raw or all physical values.
    ys, xs : slice
        Rows and columns of the window.
    out : numpy.ndarray
        C-ordered ``(len(readers), rows, columns)`` array of the readers' :attr:`~BandReader.dtype`.
    invalid : numpy.ndarray of bool, optional
        ``out``-shaped: more pixels to set NaN (a QA mask), in the same pass as nodata.
    """
    first = readers[0]
    same_files = all((r.height, r.width, r.src_dtype, r.raw, r.gdal_env)
                     == (first.height, first.width, first.src_dtype, first.raw, first.gdal_env) for r in readers)
    if not same_files or not out.flags.c_contiguous or (invalid is not None and not invalid.flags.c_contiguous):
        return _read_each(readers, ys, xs, out, invalid)
    y0, y1, _ = ys.indices(first.height)
    x0, x1, _ = xs.indices(first.width)
    window = Window(x0, y0, x1 - x0, y1 - y0)
    dn = out if first.raw else scratch.take("dn-stack", out.shape, first.src_dtype)
    try:
        try:
            read_bands([(r.path, r.band) for r in readers], (first.height, first.width), window, first.gdal_env, dn)
        except (RasterioIOError, OSError):
            # GDAL's message may not say which file failed: read them one by one, which names it.
            return _read_each(readers, ys, xs, out, invalid)
        if first.raw:
            return out
        if all(_conversion(r) == _conversion(first) for r in readers):
            # One pass over the stack as a (dates x rows, columns) window: the same values per pixel.
            flat = (-1, out.shape[-1])
            first.convert(dn.reshape(flat), out=out.reshape(flat),
                          invalid=None if invalid is None else invalid.reshape(flat))
        else:
            for t, reader in enumerate(readers):
                reader.convert(dn[t], out=out[t], invalid=None if invalid is None else invalid[t])
        return out
    finally:
        if dn is not out:
            scratch.give_back("dn-stack", dn)


def _conversion(reader: BandReader) -> tuple[Any, ...]:
    """What :meth:`BandReader.convert` applies (a NaN nodata compared as equal to another NaN)."""
    nodata = "nan" if reader.nodata is not None and np.isnan(reader.nodata) else reader.nodata
    return reader.scale, reader.offset, nodata, reader.valid_range


def _read_each(readers: Sequence[BandReader], ys: slice, xs: slice, out: np.ndarray,
               invalid: np.ndarray | None) -> np.ndarray:
    for t, reader in enumerate(readers):
        reader.read(ys, xs, out=out[t], invalid=None if invalid is None else invalid[t])
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
