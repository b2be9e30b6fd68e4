"""Moving-window (focal) operations on the last two axes of a raster, lazy and exact over dask.

A focal step reads a neighbourhood, so a dask block needs a halo as wide as the step's reach.
:func:`map_with_halo` wraps :func:`dask.array.map_overlap` with ``boundary="none"``: a block at the
edge of the raster sees the same truncated window as the whole numpy array does, so every function
here gives identical results for numpy input and for any chunking. Leading axes (time, band)
get no halo and are processed independently.

- :func:`focal_mean`: NaN-aware mean over a disk (the circular window of the flood speckle
  filter) or a square (a boxcar multilook); float64 sums, float32 out.
- :func:`sieve`: drop connected groups of True smaller than a minimum mapping unit
  (``scipy.ndimage.label``); exact with a halo of ``min_pixels - 1``, because a group that small
  cannot reach further than that from any of its pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr
from dask.base import is_dask_collection
from scipy import ndimage

from .errors import ConfigError

__all__ = ["map_with_halo", "footprint", "focal_mean", "focal_mean_kernel", "sieve", "sieve_kernel"]

Shape = Literal["disk", "square"]


def map_with_halo(kernel: Callable[..., Any], arr: xr.DataArray, depth: int, dtype: Any,
                  **kwargs: Any) -> xr.DataArray:  # fmt: skip
    """Apply a numpy kernel of the last two axes, with a halo of ``depth`` pixels over dask.

    Parameters
    ----------
    kernel : callable
        ``kernel(block, **kwargs) -> block`` of the same shape, reading at most ``depth`` pixels
        away in y and x.
    arr : xarray.DataArray
        ``(..., y, x)``, numpy or dask.
    depth : int
        Halo width in pixels (0: plain ``map_blocks``).
    dtype : numpy dtype
        Output dtype.
    **kwargs
        Passed to ``kernel``.

    Returns
    -------
    xarray.DataArray
        Same dims, coordinates, attributes and chunks as ``arr``; lazy for dask input.
    """
    data = arr.data
    if is_dask_collection(data) and depth > 0:
        d = {arr.ndim - 2: depth, arr.ndim - 1: depth} | {i: 0 for i in range(arr.ndim - 2)}
        data = data.map_overlap(kernel, depth=d, boundary="none", dtype=dtype,
                                meta=np.empty((0,) * arr.ndim, dtype=dtype), **kwargs)  # fmt: skip
    elif is_dask_collection(data):
        data = data.map_blocks(kernel, dtype=dtype, meta=np.empty((0,) * arr.ndim, dtype=dtype), **kwargs)
    else:
        data = kernel(np.asarray(data), **kwargs)
    return arr.copy(data=data)


def footprint(radius: int, shape: Shape = "disk") -> npt.NDArray[np.float64]:
    """Window weights (0/1, float64) of edge ``2 * radius + 1``: a disk (``dy^2 + dx^2 <= r^2``) or a square."""
    if radius < 0 or shape not in ("disk", "square"):
        raise ConfigError(f"a focal window needs radius >= 0 and shape 'disk' or 'square', got {radius}, {shape!r}.")
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    if shape == "square":
        return np.ones(yy.shape, dtype=np.float64)
    return (yy * yy + xx * xx <= radius * radius).astype(np.float64)


def focal_mean_kernel(x: npt.NDArray[Any], radius: int, shape: Shape = "disk",
                      fill_nodata: bool = False) -> npt.NDArray[np.float32]:  # fmt: skip
    """Numpy kernel of :func:`focal_mean` (windows truncated at the array's edges)."""
    x64 = x.astype(np.float64)
    valid = np.isfinite(x64)
    w = footprint(radius, shape)
    w = w.reshape((1,) * (x.ndim - 2) + w.shape)
    num = ndimage.correlate(np.where(valid, x64, 0.0), w, mode="constant", cval=0.0)
    den = ndimage.correlate(valid.astype(np.float64), w, mode="constant", cval=0.0)
    keep = (den > 0) if fill_nodata else (valid & (den > 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(keep, num / den, np.nan).astype(np.float32)


def focal_mean(arr: xr.DataArray, radius: int, *, shape: Shape = "disk", fill_nodata: bool = False) -> xr.DataArray:
    """Mean of the valid (finite) pixels in a window around each pixel, on the last two axes.

    Parameters
    ----------
    arr : xarray.DataArray
        ``(..., y, x)`` float, NaN = nodata; numpy or dask.
    radius : int
        Window reach in pixels (a square of ``2 * radius + 1``); 0 returns ``arr`` as float32.
    shape : {"disk", "square"}
        Circular window (``dy^2 + dx^2 <= radius^2``) or the whole square (a boxcar).
    fill_nodata : bool
        ``False``: NaN stays NaN. ``True``: a NaN pixel gets the mean of its valid neighbours.

    Returns
    -------
    xarray.DataArray
        float32, NaN where the window holds no valid pixel (and, unless ``fill_nodata``, where the
        pixel itself is NaN); lazy; identical for numpy and any chunking.
    """
    if radius < 1:
        return arr.astype(np.float32)
    return map_with_halo(focal_mean_kernel, arr, radius, np.float32, radius=int(radius), shape=shape,
                         fill_nodata=bool(fill_nodata))  # fmt: skip


def sieve_kernel(mask: npt.NDArray[Any], min_pixels: int, eight: bool) -> npt.NDArray[np.bool_]:
    """Numpy kernel of :func:`sieve`."""
    structure = np.ones((3, 3)) if eight else None
    lab, n = ndimage.label(mask, structure=structure)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = sizes >= min_pixels
    keep[0] = False
    return np.asarray(keep[lab])


def sieve(mask: xr.DataArray, min_pixels: int, *, eight_connected: bool = True) -> xr.DataArray:
    """Drop connected groups of True smaller than ``min_pixels`` (a minimum mapping unit).

    Exact over dask: a halo of ``min_pixels - 1`` pixels holds every pixel of a group too small to
    keep, so each block counts such a group whole. ``mask`` is ``(y, x)``; returns bool, lazy, same
    chunks.
    """
    if min_pixels <= 1:
        return mask.astype(bool)
    return map_with_halo(sieve_kernel, mask.astype(bool), min_pixels - 1, np.bool_, min_pixels=min_pixels,
                         eight=eight_connected)  # fmt: skip
