"""The exactextract side of the zonal statistics: raster windows as sources, true pixel area as weights.

exactextract reads every raster through a source that hands out windows: a ``(y, x)`` DataArray
(numpy or dask) or a GeoTIFF is read window by window by :class:`RasterWindows`, float64 with NaN
as nodata, and the last window is kept so that the sources derived from one raster (class
indicator, validity) read it once. A dask-backed raster is read in full-width strips aligned to
its chunk rows, so each chunk is computed once. The true pixel area (ha, from
:func:`agromap.area.row_area_m2`) is a source computed from the grid alone, passed to
exactextract as the *weights*. :mod:`agromap.zonal` builds its tables from these.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dask
import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray
from odc.geo.geobox import GeoBox

from .area import row_area_m2
from .errors import InputError, UnknownCRSError, ZonalError
from .io.grid import crs_of, geobox_of
from .zonal_lazy import FEATURE_ID_COLUMN as _FID

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["RasterWindows", "open_raster", "raster_source", "area_source", "extract", "result_column"]



@dataclass
class RasterWindows:
    """A north-up raster read window by window; float64 windows with NaN as nodata.

    Keeps the last window, so several exactextract sources derived from the same raster (class
    indicator, validity) read each window from the file or the dask graph once.
    """

    gbox: GeoBox
    read: Callable[[int, int, int, int], NDArray[np.float64]]
    dask_rows: int | None = None
    _last: tuple[tuple[int, int, int, int], NDArray[np.float64]] | None = None

    def window(self, x0: int, y0: int, nx: int, ny: int) -> NDArray[np.float64]:
        """The ``ny`` x ``nx`` window at column ``x0``, row ``y0`` (float64, NaN = nodata)."""
        if nx <= 0 or ny <= 0:  # exactextract asks for empty windows between strips
            return np.zeros((max(ny, 0), max(nx, 0)), dtype=np.float64)
        key = (x0, y0, nx, ny)
        if self._last is None or self._last[0] != key:
            self._last = (key, self.read(x0, y0, nx, ny))
        return self._last[1]


def _as_float(block: NDArray[Any], nodata: float | None) -> NDArray[np.float64]:
    out = np.asarray(block, dtype=np.float64)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        out = np.where(block == nodata, np.nan, out)
    return out


def open_raster(raster: xr.DataArray | str | os.PathLike[str], nodata: float | None) -> RasterWindows:
    """A ``(y, x)`` DataArray (numpy or dask) or a GeoTIFF path as windows; checks it is north-up and has a CRS."""
    if isinstance(raster, xr.DataArray):
        arr = raster.squeeze(drop=True) if raster.ndim > 2 else raster
        if arr.ndim != 2 or set(arr.dims) != {"y", "x"}:
            raise ZonalError(f"the raster must be (y, x), got dims {raster.dims}; select one band/date first.")
        arr = arr.transpose("y", "x")
        gbox = geobox_of(arr)
        nd = nodata if nodata is not None else arr.attrs.get("nodata", arr.attrs.get("_FillValue"))
        rows = max(arr.chunks[0]) if arr.chunks is not None else None

        def read_da(x0: int, y0: int, nx: int, ny: int) -> NDArray[np.float64]:
            win = arr.isel(y=slice(y0, y0 + ny), x=slice(x0, x0 + nx)).data
            block = dask.compute(win)[0] if dask.is_dask_collection(win) else win
            return _as_float(np.asarray(block), nd)

        src = RasterWindows(gbox, read_da, rows)
    else:
        import rasterio
        from rasterio.windows import Window

        path = str(raster)
        try:
            with rasterio.open(path) as ds:
                crs, transform, shape, file_nd = ds.crs, ds.transform, (ds.height, ds.width), ds.nodata
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"cannot open raster {path!r}: {exc}") from exc
        if crs is None:
            raise UnknownCRSError(f"raster {path!r} has no CRS; zonal areas need a georeferenced raster.")
        gbox = GeoBox(shape, transform, crs.to_wkt())
        nd = nodata if nodata is not None else file_nd

        def read_file(x0: int, y0: int, nx: int, ny: int) -> NDArray[np.float64]:
            with rasterio.open(path) as ds:
                return _as_float(ds.read(1, window=Window(x0, y0, nx, ny)), nd)

        src = RasterWindows(gbox, read_file)
    aff = src.gbox.affine
    if aff.b != 0 or aff.d != 0 or aff.e >= 0 or aff.a <= 0:
        raise ZonalError("zonal statistics need a north-up raster (no rotation, rows top to bottom); "
                         "warp it with agromap.io.grid.to_grid first.")
    if src.gbox.crs is None:
        raise UnknownCRSError("the raster has no CRS; attach one with agromap.io.grid.attach_geobox.")
    return src


def raster_source(raster: RasterWindows, fn: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None, name: str) -> Any:
    """An exactextract RasterSource over ``raster`` transformed by ``fn`` (identity if None)."""
    from exactextract.raster import RasterSource

    g = raster.gbox
    aff = g.affine
    ny, nx = g.shape
    extent = (aff.c, aff.f + aff.e * ny, aff.c + aff.a * nx, aff.f)
    wkt = crs_of(g).to_wkt()

    class _Src(RasterSource):
        def __init__(self) -> None:
            super().__init__()
            self.set_name(name)

        def res(self) -> tuple[float, float]:
            return (aff.a, -aff.e)

        def extent(self) -> tuple[float, float, float, float]:
            return extent

        def srs_wkt(self) -> str:
            return wkt

        def nodata_value(self) -> None:
            return None  # NaN is nodata in every window we hand out

        def read_window(self, x0: int, y0: int, nxw: int, nyw: int) -> NDArray[np.float64]:
            win = raster.window(x0, y0, nxw, nyw)
            return np.ascontiguousarray(win if fn is None else fn(win))

    return _Src()


def area_source(gbox: GeoBox) -> Any:
    """exactextract weights: true pixel area in ha, from the grid alone (no data read)."""
    rows = row_area_m2(gbox) / 10_000.0
    return raster_source(RasterWindows(gbox, lambda x0, y0, nx, ny: np.repeat(rows[y0:y0 + ny, None], nx, axis=1)),
                   None, "area")


def extract(gdf: gpd.GeoDataFrame, rast: list[Any], ops: list[str], weights: Any,
            raster: RasterWindows) -> pd.DataFrame:
    """exactextract's ``ops`` of the ``rast`` sources over the polygons, one row per polygon in their order."""
    import exactextract
    from exactextract import exact_extract

    major_minor = tuple(int(p) for p in exactextract.__version__.split(".")[:2])
    if major_minor < (0, 3):  # raster-sequential returned nulls before 0.3 (isciences/exactextract#178)
        raise ZonalError(f"exactextract >= 0.3 is required, found {exactextract.__version__}.")
    import geopandas as gpd

    vec = gpd.GeoDataFrame({_FID: np.arange(len(gdf))}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    kw: dict[str, Any] = {}
    if raster.dask_rows is not None:
        # Dask-backed: read full-width strips aligned to the chunk rows, so each chunk is computed once.
        kw = {"strategy": "raster-sequential", "max_cells_in_memory": raster.dask_rows * raster.gbox.shape[1]}
    out = exact_extract(rast, vec, ops, weights=weights, include_cols=[_FID], output="pandas", **kw)
    return out.sort_values(_FID).reset_index(drop=True)


def result_column(res: pd.DataFrame, name: str, op: str) -> NDArray[np.float64]:
    """An exactextract result column: it is named ``op``, ``<raster>_op`` or ``<raster>_<weights>_op``."""
    for c in (f"{name}_area_{op}", f"{name}_{op}", op):
        if c in res.columns:
            return pd.to_numeric(res[c], errors="coerce").to_numpy(dtype=np.float64)
    raise KeyError(f"exactextract returned no column for {op!r} ({list(res.columns)})")
