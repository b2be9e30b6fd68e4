"""The series'-ends steps' per-pixel counts over the clear optical dates
(:mod:`~agromap.rice.self_train_ends`) as numpy kernels along time, one graph layer each.

Written as xarray ``&`` / ``notnull`` / ``sum`` chains they were 10-20 graph layers each (a
reduction alone is two), one task per block and layer; the kernels apply the same operations in the
same dtypes (counts in int64, the shares in float64 then float32) and give the same values to the last bit.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from .self_train_fuse_kernel import per_pixel

__all__ = ["dry_share_of", "early_canopy", "low_median_db", "pond_and_drained"]


def _along_time(kernel: Any, *arrays: xr.DataArray, dtype: Any) -> xr.DataArray:
    return per_pixel(kernel, *arrays, dtype=dtype, along_time=True)


def dry_share_of(ok: xr.DataArray, lswi: xr.DataArray, min_dates: int) -> xr.DataArray:
    """The share of the clear dates (``ok`` with a valid LSWI) with LSWI below 0; NaN with fewer than
    ``min_dates`` of them (float32).
    """

    def kernel(ok: np.ndarray, lw: np.ndarray) -> np.ndarray:
        clear = ok & ~np.isnan(lw)
        n = clear.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dry = (clear & (lw < 0)).sum(axis=-1)
            return np.where(n >= min_dates, dry / n, np.nan).astype(np.float32)

    return _along_time(kernel, ok, lswi, dtype=np.float32)


def pond_and_drained(ok: xr.DataArray, ndvi: xr.DataArray, lswi: xr.DataArray, *, min_dates: int,
                     water_fraction: float, dry_dates: int, water_ndvi_max: float) -> xr.DataArray:  # fmt: skip
    """At least ``min_dates`` clear dates (``ok`` with both indices valid), at least ``water_fraction``
    of them open water (NDVI below ``water_ndvi_max`` and below LSWI) and at least ``dry_dates`` of
    them dry (LSWI < 0) (boolean).
    """
    frac = np.float32(water_fraction)

    def kernel(ok: np.ndarray, nd: np.ndarray, lw: np.ndarray) -> np.ndarray:
        clear = ok & ~np.isnan(nd) & ~np.isnan(lw)
        n = clear.sum(axis=-1)
        with np.errstate(invalid="ignore"):
            water = (clear & ((nd < water_ndvi_max) & (nd < lw))).sum(axis=-1)
            dry = (clear & (lw < 0)).sum(axis=-1)
        return (n >= min_dates) & (water >= frac * n) & (dry >= dry_dates)

    return _along_time(kernel, ok, ndvi, lswi, dtype=bool)


def early_canopy(ok: xr.DataArray, ndvi: xr.DataArray, lswi: xr.DataArray, early: np.ndarray, *,
                 ndvi_min: float, lswi_min: float) -> xr.DataArray:  # fmt: skip
    """Some clear date among those ``early`` (a boolean per date) with NDVI >= ``ndvi_min`` and LSWI
    >= ``lswi_min`` (boolean).
    """
    nd_bar, lw_bar = np.float32(ndvi_min), np.float32(lswi_min)

    def kernel(ok: np.ndarray, nd: np.ndarray, lw: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (ok & early & (nd >= nd_bar) & (lw >= lw_bar)).any(axis=-1)

    return _along_time(kernel, ok, ndvi, lswi, dtype=bool)


def low_median_db(power: xr.DataArray, max_db: float) -> xr.DataArray:
    """The median over time of ``power`` in dB (its positive values) at most ``max_db`` (boolean;
    False where no value is positive).
    """
    bar = np.float32(max_db)

    def kernel(p: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN pixel: its median is NaN
            db = 10.0 * np.log10(np.where(p > 0, p, np.nan))
            return np.nanmedian(db, axis=-1) <= bar

    return _along_time(kernel, power, dtype=bool)
