"""Sentinel-1 preparation for flood mapping, lazily: unit checks, speckle filter, slope, minimum mapping unit.

Exactness over dask: the focal mean and slope use ``map_overlap`` with the kernel radius, and the
minimum mapping unit uses ``map_overlap`` with a margin of ``mmu_pixels - 1``: a component smaller
than N pixels spans fewer than N pixels in any direction, so it lies inside the margin, and a
larger one has N connected pixels within that distance. Value checks (dB/linear confusion,
all-NaN) run inside the graph and raise at compute.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr
from scipy import ndimage

from ..errors import ConfigError
from ..area import pixel_size_m as area_pixel_size_m
from ..io.grid import geobox_of
from ..sensors.s1 import as_linear_power
from .sar_water import _overlap

__all__ = ["pixel_size_m", "prepare_sar", "speckle_filter", "minimum_mapping_unit", "slope_degrees"]


# ---- small helpers ----------------------------------------------------------------------------


def pixel_size_m(arr: xr.DataArray | xr.Dataset) -> tuple[float, float]:
    """(dy, dx) pixel size in metres (:func:`agromap.area.pixel_size_m`); geographic grids use the
    scene-centre latitude (approximate)."""
    g = geobox_of(arr)
    if not g.crs.geographic and "metre" not in str(g.crs.units[0]):
        raise ConfigError(f"grid units are {g.crs.units}, not metres; reproject to a metric CRS (e.g. UTM).")
    return area_pixel_size_m(g)


# ---- input checks that run inside the graph --------------------------------------------------


def prepare_sar(arr: xr.DataArray, units: Literal["linear", "db"] = "linear") -> xr.DataArray:
    """Backscatter as float32 linear power, with value checks that raise at compute.

    Parameters
    ----------
    arr : xarray.DataArray
        Sigma0 of one polarisation, any dims, numpy or dask; NaN = nodata.
    units : {"linear", "db"}
        Declared units. Linear power must be mostly in (0, 1] with < 5 % negative values; dB mostly
        in (-40, 5) and not linear-looking (the shared judgement of
        :func:`agromap.sensors.s1.judge_units`).

    Returns
    -------
    xarray.DataArray
        float32 linear power; values <= 0 become NaN. Lazy if ``arr`` is: the checks are a global
        census fed into every block, so :class:`SarUnitsError` or :class:`NoValidDataError` surface
        at compute (immediately for numpy input).
    """
    if units not in ("linear", "db"):
        raise ConfigError(f"units must be 'linear' or 'db', got {units!r}.")
    return as_linear_power(arr, units)


# ---- spatial kernels ----------------------------------------------------------------------------


def _disk(radius: int, ndim: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disk = (yy * yy + xx * xx <= radius * radius).astype(np.float64)
    return disk.reshape((1,) * (ndim - 2) + disk.shape)


def _focal_mean_kernel(x: np.ndarray, radius: int) -> np.ndarray:
    x64 = x.astype(np.float64)
    valid = np.isfinite(x64)
    w = _disk(radius, x.ndim)
    num = ndimage.correlate(np.where(valid, x64, 0.0), w, mode="constant", cval=0.0)
    den = ndimage.correlate(valid.astype(np.float64), w, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid & (den > 0), num / den, np.nan).astype(np.float32)


def speckle_filter(linear: xr.DataArray, radius_m: float) -> xr.DataArray:
    """Focal mean over a circle of ``radius_m`` in linear power (NaN-aware), on the last two axes.

    Returns float32, NaN where the input is NaN; lazy; identical for numpy and any chunking.
    """
    dy, dx = pixel_size_m(linear)
    r = int(round(radius_m / min(dy, dx)))
    if r < 1:
        return linear.astype(np.float32)
    return _overlap(_focal_mean_kernel, linear, r, np.float32, radius=r)


def _db(x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape, np.nan, dtype=np.float32)
    np.log10(x, out=out, where=x > 0)
    return (out * np.float32(10.0)).astype(np.float32)


def _mmu_kernel(cand: np.ndarray, min_pixels: int, eight: bool) -> np.ndarray:
    structure = np.ones((3, 3)) if eight else None
    lab, n = ndimage.label(cand, structure=structure)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[lab]


def minimum_mapping_unit(mask: xr.DataArray, min_pixels: int, *, eight_connected: bool = True) -> xr.DataArray:
    """Drop connected groups of True smaller than ``min_pixels`` (``scipy.ndimage.label``).

    Exact over dask: ``map_overlap`` with a margin of ``min_pixels - 1`` (see the module docstring).
    Returns bool, lazy, same chunks.
    """
    if min_pixels <= 1:
        return mask.astype(bool)
    return _overlap(_mmu_kernel, mask.astype(bool), min_pixels - 1, np.bool_,
                    min_pixels=min_pixels, eight=eight_connected)


def _slope_kernel(z: np.ndarray, dy: float, dx: float) -> np.ndarray:
    z64 = z.astype(np.float64)
    if min(z64.shape) < 2:
        return np.zeros(z64.shape, dtype=np.float32)
    gy, gx = np.gradient(z64, dy, dx)
    return np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32)


def slope_degrees(dem: xr.DataArray) -> xr.DataArray:
    """Terrain slope in **degrees** from elevation in metres (``numpy.gradient``); float32, lazy."""
    dy, dx = pixel_size_m(dem)
    return _overlap(_slope_kernel, dem, 1, np.float32, dy=dy, dx=dx).rename("slope")
