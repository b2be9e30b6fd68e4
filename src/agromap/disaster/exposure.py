"""Exposure layers: flooded rice and flooded cropland per pixel, in hectares, ready for zonal sums.

docs/science/disaster.md#exposure: flooded rice is class 4 of ``flood_class``, flooded cropland other than rice
class 3. Each output pixel holds its area in ha when it is in the class, 0 when it is not,
and NaN where ``flood_class`` is nodata (255) or excluded (6), so a zonal *sum* gives the exposed
hectares and a zonal *count of non-NaN* the observed area. The per-district table is built by the
zonal stage (exactextract coverage fraction x these values), not here.

Pixel area: :func:`agromap.area.pixel_area_like`, the one pixel-area function (projected grids:
the affine determinant in the CRS's own metres; geographic grids: the exact ellipsoidal area of
each row's cells).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..area import pixel_area_like

__all__ = ["EXPOSURE_CLASSES", "flood_exposure"]

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
    area = pixel_area_like(flood_class)
    out = xr.Dataset()
    for name, classes in EXPOSURE_CLASSES.items():
        arr: xr.DataArray = xr.apply_ufunc(_exposure_kernel, flood_class, area, kwargs={"classes": classes},
                                           dask="parallelized", output_dtypes=[np.float32])
        out[name] = arr.assign_attrs(units="ha", flood_classes=list(classes))
    out["flooded_rice"] = flood_class == 4
    out["flooded_cropland"] = (flood_class == 3) | (flood_class == 4)
    return out
