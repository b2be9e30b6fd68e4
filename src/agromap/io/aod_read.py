"""Aerosol optical depth rasters at the edge: MAIAC DN and QA bands per orbit, Sentinel-2 L2A AOT.

docs/science/air_quality.md#aerosol-optical-depth. Readers here open files and return lazy arrays;
the MAIAC QA filter, the DN decoding and the mean over orbits are science
(:mod:`agromap.airquality.aod`).

- **MAIAC** ``Optical_Depth_055`` (int16 DN) and ``AOD_QA`` (uint16) are read raw, one band per
  orbit (as MCD19A2 stores a day). GeoTIFF (e.g. GEE exports) and NetCDF (through GDAL:
  ``NETCDF:"file.nc":Optical_Depth_055``, see :func:`maiac_netcdf_paths`) take the same path. The
  original MCD19A2 granules are HDF4-EOS, which the GDAL of the rasterio wheels cannot read (no
  HDF4 driver): convert them first (``gdal_translate HDF4_EOS:EOS_GRID:"f.hdf":grid1km:Optical_Depth_055
  aod.tif`` on a full GDAL) or use GeoTIFF exports.
- **Sentinel-2 L2A AOT** (Sen2Cor, 550 nm): DN x 0.001, DN 0 = nodata; the scale comes from
  :data:`agromap.sensors.s2_l2a.AUX_BANDS`, the one place sensor constants live.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from ..errors import MissingBandError
from ..sensors.s2_l2a import AUX_BANDS
from .read import RasterHeader, open_band, read_header

__all__ = ["MaiacOrbits", "read_maiac_orbits", "maiac_netcdf_paths", "open_s2_aot"]


@dataclass(frozen=True)
class MaiacOrbits:
    """The raw bands of one MAIAC file pair, lazily: one ``(dn, qa)`` pair per orbit."""

    path: str
    """The ``Optical_Depth_055`` file (or GDAL name) as read."""
    dn: tuple[xr.DataArray, ...]
    """Raw int16 ``Optical_Depth_055`` DN per orbit, not scaled, no nodata applied."""
    qa: tuple[xr.DataArray, ...] | None
    """Raw uint16 ``AOD_QA`` per orbit on the same grid, or ``None`` without a QA file."""


def read_maiac_orbits(aod_path: str | os.PathLike[str], qa_path: str | os.PathLike[str] | None = None, *,
                      crs: str | None = None, chunk: int = 1024) -> MaiacOrbits:
    """The raw DN and ``AOD_QA`` bands of a MAIAC raster, one per orbit, lazily (headers only read).

    Parameters
    ----------
    aod_path : path or GDAL name
        ``Optical_Depth_055`` raw int16 DN; one band per orbit.
    qa_path : path or GDAL name, optional
        ``AOD_QA`` raw uint16 with the same bands and grid.
    crs : str, optional
        CRS to assume when the file declares none but GDAL finds a geotransform (a NetCDF with plain
        ``lat``/``lon`` coordinate variables: ``"EPSG:4326"``). Ignored when the file has a CRS.
    chunk : int
        Dask chunk edge in pixels.

    Raises
    ------
    MissingBandError
        The QA file has another number of bands than the AOD file.
    """
    hdr = read_header(os.fspath(aod_path))
    qhdr = read_header(os.fspath(qa_path)) if qa_path is not None else None
    if qhdr is not None and qhdr.count != hdr.count:
        raise MissingBandError(f"{qa_path}: has {qhdr.count} band(s) but {aod_path} has {hdr.count}; AOD and "
                               "AOD_QA must hold the same orbits.")
    gbox = _assumed_geobox(hdr, crs)
    bands = range(1, hdr.count + 1)
    dn = tuple(open_band(hdr.path, b, raw=True, nodata=None, chunk=chunk, header=hdr, geobox=gbox) for b in bands)
    qa = None
    if qhdr is not None:
        qbox = _assumed_geobox(qhdr, crs)
        qa = tuple(open_band(qhdr.path, b, raw=True, nodata=None, chunk=chunk, header=qhdr, geobox=qbox)
                   for b in bands)
    return MaiacOrbits(hdr.path, dn, qa)


def _assumed_geobox(hdr: RasterHeader, crs: str | None) -> GeoBox | None:
    if hdr.crs_wkt is not None or crs is None:
        return None  # the file's own georeferencing (or open_band's error saying it has none)
    return GeoBox((hdr.height, hdr.width), Affine(*hdr.transform), crs)


def maiac_netcdf_paths(path: str | os.PathLike[str], aod_var: str = "Optical_Depth_055",
                       qa_var: str = "AOD_QA") -> tuple[str, str]:
    """GDAL subdataset names ``NETCDF:"path":var`` of one NetCDF file, for :func:`~agromap.airquality.aod.open_maiac`."""
    p = os.fspath(path)
    return f'NETCDF:"{p}":{aod_var}', f'NETCDF:"{p}":{qa_var}'


def open_s2_aot(path: str | os.PathLike[str], *, time: Any = None, chunk: int = 1024) -> xr.DataArray:
    """Sentinel-2 L2A ``AOT`` band (Sen2Cor, 550 nm) as float32 ``aod``: DN x 0.001, DN 0 -> NaN, lazily.

    Returns
    -------
    xarray.DataArray
        float32 ``(y, x)`` or ``(time, y, x)``, units "1", on the file's own grid (60 m in L2A).
    """
    _, scale, _ = AUX_BANDS["aot"]
    out = open_band(os.fspath(path), 1, name="aod", scale=scale, nodata=0, chunk=chunk)
    out = out.assign_attrs(units="1", long_name="aerosol optical thickness at 550 nm (Sen2Cor AOT)",
                           scale_applied=scale)
    if time is not None:
        out = out.expand_dims(time=[np.datetime64(pd.Timestamp(time), "ns")])
    return out
