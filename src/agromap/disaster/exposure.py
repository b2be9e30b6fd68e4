"""Exposure layers: flooded rice and flooded cropland per pixel, in hectares, ready for zonal sums.

docs/science/disaster.md#exposure: flooded rice is class 4 of ``flood_class``, flooded cropland other than rice
class 3. Each output pixel holds its area in ha when it is in the class, 0 when it is not,
and NaN where ``flood_class`` is nodata (255) or excluded (6), so a zonal *sum* gives the exposed
hectares and a zonal *count of non-NaN* the observed area. The per-district table is built by the
zonal stage (exactextract coverage fraction x these values), not here.

Pixel area: projected grids use the affine determinant (the CRS's own metres: UTM distorts areas
by at most about 0.1 % within a zone); geographic grids use the exact area of each cell on a
sphere of the WGS 84 authalic radius, row by row.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ..io.grid import crs_of, geobox_of

__all__ = ["EXPOSURE_CLASSES", "pixel_area_ha", "flood_exposure"]

#: Output variable -> flood classes it counts (codes: docs/science/disaster.md#flood-classes).
EXPOSURE_CLASSES: dict[str, tuple[int, ...]] = {
    "flooded_rice_ha": (4,),
    "flooded_other_cropland_ha": (3,),
    "flooded_cropland_ha": (3, 4),
    "flood_ha": (2, 3, 4, 8),
    "flooded_vegetation_ha": (8,),
    "water_flood_status_unknown_ha": (7,),
    "managed_paddy_water_ha": (5,),
    "reference_water_ha": (1,),
}

_AUTHALIC_RADIUS_M = 6_371_007.2


def pixel_area_ha(like: xr.DataArray) -> xr.DataArray:
    """Area of every pixel of ``like``'s grid in hectares.

    Parameters
    ----------
    like : xarray.DataArray
        ``(..., y, x)`` with a GeoBox in its coordinates; only its grid and chunks are used.

    Returns
    -------
    xarray.DataArray
        ``pixel_area_ha``, float32 ``(y, x)``, chunks of ``like`` (lazy for dask; nothing is read).

    Examples
    --------
    >>> from agromap.testing import make_raster
    >>> round(float(pixel_area_ha(make_raster([[1.0]], res=10.0))[0, 0]), 6)
    0.01
    """
    g = geobox_of(like)
    if crs_of(g).geographic:
        rx = math.radians(abs(g.resolution.x))
        half = abs(g.resolution.y) / 2
        lat = np.radians(np.clip(np.stack([like.y.values - half, like.y.values + half]), -90, 90))
        rows = _AUTHALIC_RADIUS_M**2 * rx * np.abs(np.sin(lat[1]) - np.sin(lat[0])) / 1e4
    else:
        a = g.affine
        rows = np.full(like.sizes["y"], abs(a.a * a.e - a.b * a.d) / 1e4)
    row = xr.DataArray(rows.astype(np.float32), dims=["y"], coords={"y": like.y})
    plane = like.isel({d: 0 for d in like.dims if d not in ("y", "x")}, drop=True)
    ones = xr.ones_like(plane, dtype=np.float32)
    return (ones * row).transpose("y", "x").rename("pixel_area_ha").assign_attrs(units="ha")


def _exposure_kernel(cls: np.ndarray, area: np.ndarray, classes: tuple[int, ...]) -> np.ndarray:
    hit = np.isin(cls, classes)
    out = np.where(hit, area, np.float32(0.0)).astype(np.float32)
    return np.where((cls == 255) | (cls == 6), np.float32(np.nan), out).astype(np.float32)


def flood_exposure(flood_class: xr.DataArray) -> xr.Dataset:
    """Per-pixel exposed area (ha) for each entry of :data:`EXPOSURE_CLASSES`, plus bool masks.

    Parameters
    ----------
    flood_class : xarray.DataArray
        uint8 ``(y, x)`` flood classes (:func:`~agromap.disaster.flood.flood_map`), numpy or dask.

    Returns
    -------
    xarray.Dataset
        float32 ``<name>_ha`` (ha in class, 0 otherwise, NaN where class 255 or 6) for every key of
        :data:`EXPOSURE_CLASSES`, and bool ``flooded_rice`` / ``flooded_cropland`` masks. Lazy.
    """
    area = pixel_area_ha(flood_class)
    out = xr.Dataset()
    for name, classes in EXPOSURE_CLASSES.items():
        arr: xr.DataArray = xr.apply_ufunc(_exposure_kernel, flood_class, area, kwargs={"classes": classes},
                                           dask="parallelized", output_dtypes=[np.float32])
        out[name] = arr.assign_attrs(units="ha", flood_classes=list(classes))
    out["flooded_rice"] = flood_class == 4
    out["flooded_cropland"] = (flood_class == 3) | (flood_class == 4)
    return out
