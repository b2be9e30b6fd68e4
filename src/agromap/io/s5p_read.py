"""Sentinel-5P TROPOMI files: Level-2 swaths (NetCDF4) and gridded Level-3 rasters, read at the edge.

docs/science/air_quality.md#sentinel-5p-tropomi. A Level-2 file is a swath (``scanline x ground_pixel``);
it enters the data contract here. :func:`read_s5p_header` checks the layout and reads only scanline
times (what the client needs to plan one task per day); :func:`read_s5p_l2` reads the ``PRODUCT``
group (and the pixel corners in ``SUPPORT_DATA/GEOLOCATIONS`` when present) into a numpy-backed
swath that :func:`agromap.airquality.s5p.qa_filter` and the binning take from there.
:func:`open_l3_raster` reads an already gridded column raster in a declared unit, lazily.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import CorruptInputError, MetadataError, S5PLayoutError, WrongUnitsError
from ..sensors.s5p import S5P_PRODUCTS, S5PProduct, get_s5p_product, l3_unit_factor, product_attrs
from ..units import normalise_unit
from .read import open_band

__all__ = ["S5PHeader", "read_s5p_header", "read_s5p_l2", "open_l3_raster"]


@dataclass(frozen=True)
class S5PHeader:
    """What the client learns from a cheap look at one L2 file (no pixel arrays beyond scanline times)."""

    path: str
    product: S5PProduct
    date: str
    """UTC date ``YYYY-MM-DD`` of the median scanline time (or the coverage midpoint)."""
    has_bounds: bool
    """Whether pixel corners exist in ``PRODUCT/SUPPORT_DATA/GEOLOCATIONS``."""
    shape: tuple[int, int]
    """(scanline, ground_pixel)."""


# libhdf5 (under netCDF4) is not thread-safe: concurrent opens from dask threads segfault. One lock per
# process serialises agromap's NetCDF reads (a swath read takes milliseconds; binning runs outside it).
_NC_LOCK = threading.Lock()


@contextlib.contextmanager
def _open_nc(path: str) -> Iterator[Any]:
    import netCDF4

    with _NC_LOCK:
        try:
            nc = netCDF4.Dataset(path)
        except (OSError, RuntimeError) as exc:
            if not os.path.exists(path):
                raise CorruptInputError(f"{path}: file not found; check the S5P input paths.") from exc
            raise CorruptInputError(f"{path}: not a readable NetCDF4 file ({exc}); expected a TROPOMI L2 "
                                    "product.") from exc
        try:
            yield nc
        finally:
            nc.close()


def _product_group(nc: Any, path: str) -> Any:
    if "PRODUCT" not in nc.groups:
        raise S5PLayoutError(f"{path}: no 'PRODUCT' group (groups: {sorted(nc.groups)}); expected a TROPOMI "
                             "L2 NetCDF as distributed by ESA (not a GEE/L3 export: use open_l3_raster).")
    return nc.groups["PRODUCT"]


def _resolve_product(grp: Any, path: str, product: str | S5PProduct | None) -> S5PProduct:
    if isinstance(product, S5PProduct):
        prod = product
    elif product is not None:
        prod = get_s5p_product(product)
    else:
        found = [p for p in S5P_PRODUCTS.values() if p.variable in grp.variables]
        if len(found) != 1:
            raise S5PLayoutError(f"{path}: cannot tell the product: PRODUCT holds {sorted(grp.variables)}; "
                                 f"pass product= one of {', '.join(S5P_PRODUCTS)}.")
        prod = found[0]
    missing = [v for v in (prod.variable, "qa_value", "latitude", "longitude") if v not in grp.variables]
    if missing:
        raise S5PLayoutError(f"{path}: PRODUCT group lacks {missing} (has {sorted(grp.variables)}); "
                             f"a {prod.product_type} L2 file needs them. Without qa_value the pixels "
                             "cannot be QA-filtered, so the file is refused rather than used unfiltered.")
    units = getattr(grp.variables[prod.variable], "units", None)
    if units is not None and normalise_unit(units) != normalise_unit(prod.units):
        raise WrongUnitsError(f"{path}: {prod.variable} is in {units!r}, expected {prod.units!r}; "
                              "convert it or pass the matching S5PProduct(units=...).")
    return prod


def _bounds_group(grp: Any) -> Any | None:
    geo = grp.groups.get("SUPPORT_DATA", None)
    geo = geo.groups.get("GEOLOCATIONS", None) if geo is not None else None
    if geo is not None and {"latitude_bounds", "longitude_bounds"} <= set(geo.variables):
        return geo
    return None


def _scanline_date(nc: Any, grp: Any, path: str) -> str:
    dt = grp.variables.get("delta_time")
    units = getattr(dt, "units", "") if dt is not None else ""
    m = re.match(r"milliseconds since (.+)$", units)
    if dt is not None and m:
        ms = np.ma.filled(np.ma.masked_invalid(np.asarray(dt[:], dtype=np.float64)), np.nan)
        if np.isfinite(ms).any():
            t = pd.Timestamp(m.group(1).replace("Z", "")) + pd.to_timedelta(float(np.nanmedian(ms)), unit="ms")
            return str(t.date())
    start, end = (getattr(nc, a, None) for a in ("time_coverage_start", "time_coverage_end"))
    if start and end:
        t0, t1 = pd.Timestamp(start.replace("Z", "")), pd.Timestamp(end.replace("Z", ""))
        return str((t0 + (t1 - t0) / 2).date())
    raise MetadataError(f"{path}: no delta_time with 'milliseconds since' units and no time_coverage_start/end; "
                        "pass dates= to grid_s5p.")


def read_s5p_header(path: str | os.PathLike[str], product: str | S5PProduct | None = None) -> S5PHeader:
    """Check the L2 layout of ``path`` and describe it, reading only scanline times.

    Raises
    ------
    CorruptInputError
        Not a NetCDF4 file.
    S5PLayoutError
        No ``PRODUCT`` group, or no product variable, ``qa_value``, ``latitude`` or ``longitude``.
    WrongUnitsError
        The product variable's ``units`` differ from the product table.
    """
    path = os.fspath(path)
    with _open_nc(path) as nc:
        grp = _product_group(nc, path)
        prod = _resolve_product(grp, path, product)
        ns, ng = grp.variables[prod.variable].shape[-2:]
        return S5PHeader(path, prod, _scanline_date(nc, grp, path), _bounds_group(grp) is not None, (ns, ng))


def _read_var(var: Any) -> np.ndarray:
    var.set_auto_maskandscale(True)
    arr = np.ma.filled(np.ma.asarray(var[:]).astype(np.float32), np.nan)
    arr[np.abs(arr) > 1e30] = np.nan  # netCDF default fill when _FillValue is absent
    return arr[0] if var.ndim in (3, 4) and var.dimensions[0] == "time" else arr


def read_s5p_l2(path: str | os.PathLike[str], product: str | S5PProduct | None = None) -> xr.Dataset:
    """Read one TROPOMI L2 swath (numpy-backed; a swath is small and not a raster).

    Returns
    -------
    xarray.Dataset
        Dims ``(scanline, ground_pixel[, corner])``: ``value`` float32 in the product unit (NaN fill),
        ``qa_percent`` uint8 (``qa_value`` x 100 as stored), ``latitude``/``longitude`` float32 degrees,
        and ``latitude_bounds``/``longitude_bounds`` when the file has corners. ``attrs``: ``product``,
        ``variable``, ``units``, ``date``, ``source``.
    """
    hdr = read_s5p_header(path, product)
    prod = hdr.product
    with _open_nc(hdr.path) as nc:
        grp = nc.groups["PRODUCT"]
        qa = grp.variables["qa_value"]
        qa.set_auto_maskandscale(False)
        raw = np.asarray(qa[:]).reshape(hdr.shape)
        scale = float(getattr(qa, "scale_factor", 1.0))
        # Whole percent, the stored precision: 75 * 0.01f is 0.7499999, which would fail "> 0.75" by rounding.
        pct = np.rint(raw.astype(np.float64) * scale * 100.0)
        fill = getattr(qa, "_FillValue", None)
        if fill is not None:
            pct[raw == fill] = 0
        dims2 = ("scanline", "ground_pixel")
        data: dict[str, Any] = {
            "value": (dims2, _read_var(grp.variables[prod.variable])),
            "qa_percent": (dims2, np.clip(pct, 0, 100).astype(np.uint8)),
            "latitude": (dims2, _read_var(grp.variables["latitude"])),
            "longitude": (dims2, _read_var(grp.variables["longitude"])),
        }
        geo = _bounds_group(grp)
        if geo is not None:
            for name in ("latitude_bounds", "longitude_bounds"):
                data[name] = ((*dims2, "corner"), _read_var(geo.variables[name]))
    return xr.Dataset(data, attrs={**product_attrs(prod), "date": hdr.date, "source": hdr.path})


def open_l3_raster(path: str | os.PathLike[str], *, units: str, product: str = "NO2", band: int = 1,
                   time: str | np.datetime64 | None = None, nodata: float | None | str = "auto",
                   chunk: int = 1024) -> xr.DataArray:
    """A gridded Level-3 S5P raster (GeoTIFF, or ``GPKG:file.gpkg:table``) in mol m-2, lazily.

    Level-3 exports rarely state their unit (the Bengaluru sample does not), so ``units`` is
    required: one of :data:`agromap.sensors.s5p.L3_UNITS` for columns (``"umol m-2"`` for the
    Bengaluru sample, whose values 28-99 are µmol m-2), or ``"1"`` for the aerosol index.

    Returns
    -------
    xarray.DataArray
        float32 in the product unit (mol m-2 for columns), NaN nodata, ``(y, x)`` or ``(time, y, x)``
        when ``time`` is given; dask-backed, nothing read yet.

    Raises
    ------
    WrongUnitsError
        ``units`` is unknown or not a column unit for a column product.
    """
    prod = get_s5p_product(product)
    factor = l3_unit_factor(prod, units, str(path))
    arr = open_band(os.fspath(path), band, name=prod.band, scale=factor, nodata=nodata, chunk=chunk)
    arr = arr.assign_attrs(units=prod.units, product=prod.product_type, layer=prod.layer, source_units=units,
                           note=prod.note)
    if time is not None:
        arr = arr.expand_dims(time=[np.datetime64(pd.Timestamp(time), "ns")])
    return arr
