"""Vegetation Condition Index (Kogan 1995) and drought classes (docs/science/disaster.md#drought-vci).

``VCI = 100 (NDVI - NDVI_min) / (NDVI_max - NDVI_min)``, where the extremes are taken per pixel
over the whole record **for the same composite period** (the same month, dekad, 16-day period or
any label the caller supplies), so a June composite is compared with every June. ``max == min``
(a period observed once, or a constant pixel) gives nodata. Stored as uint8 0-100 (rounded),
255 = nodata, average overviews.

Classes (both unverified): Kogan — 1 extreme (< 10), 2 severe (10-20), 3 moderate (20-30),
4 mild (30-40), 5 no drought (>= 40); India's *Manual for Drought Management* (2016) —
1 poor (0-40), 2 fair (40-60), 3 good (60-100). Lower bounds are inclusive; the class is computed
on the rounded uint8 VCI, so it always agrees with the stored ``vci`` layer.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..io.layers import LayerSpec

__all__ = ["Period", "VCI_CLASSES", "LAYER_SPECS", "period_labels", "period_extremes", "condition_percent", "vci", "vci_class"]

Period = Literal["month", "dekad", "16day", "dayofyear"]

#: scheme -> (lower bounds of codes 2.., ((code, name, colour), ...)).
VCI_CLASSES: dict[str, tuple[tuple[int, ...], tuple[tuple[int, str, str], ...]]] = {
    "kogan": ((10, 20, 30, 40), (
        (1, "extreme drought", "730000"),
        (2, "severe drought", "E60000"),
        (3, "moderate drought", "FFAA00"),
        (4, "mild drought", "FCD37F"),
        (5, "no drought", "38A800"),
    )),
    "india2016": ((40, 60), (
        (1, "poor", "E60000"),
        (2, "fair", "FFFF00"),
        (3, "good", "38A800"),
    )),
}

LAYER_SPECS: dict[str, LayerSpec] = {
    "vci": LayerSpec("vci", "continuous", "uint8", 255, "%", "Vegetation Condition Index (Kogan 1995)",
                     overview_resampling="average"),
    "vci_class": LayerSpec("vci_class", "class", "uint8", 255, "class",
                           "Drought class from VCI (Kogan 1995; unverified thresholds)",
                           classes=VCI_CLASSES["kogan"][1]),
}


def period_labels(time: xr.DataArray, period: Period) -> xr.DataArray:
    """Integer label of the composite period of every date (month 1-12, dekad 1-36, 16-day 1-23, DOY)."""
    if period == "month":
        lab = time.dt.month
    elif period == "dekad":
        lab = (time.dt.month - 1) * 3 + np.minimum((time.dt.day - 1) // 10, 2) + 1
    elif period == "16day":
        lab = (time.dt.dayofyear - 1) // 16 + 1
    elif period == "dayofyear":
        lab = time.dt.dayofyear
    else:
        raise ConfigError(f"period must be one of month, dekad, 16day, dayofyear, got {period!r}.")
    return lab.rename("period")


def condition_percent(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Where ``x`` sits between its record ``lo`` and ``hi``, as uint8 0-100 (255 = NaN or no range).

    The numpy kernel of Kogan's condition indices; TCI passes negated values (cool = 100).
    """
    x64, lo64, hi64 = (a.astype(np.float64) for a in (x, lo, hi))
    rng = hi64 - lo64
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(rng > 0, 100.0 * (x64 - lo64) / rng, np.nan)
    return np.where(np.isfinite(v), np.clip(np.rint(v), 0, 100), 255).astype(np.uint8)


def vci(ndvi: xr.DataArray, period: Period | xr.DataArray = "month") -> xr.DataArray:
    """Vegetation Condition Index of every date of an NDVI series.

    Parameters
    ----------
    ndvi : xarray.DataArray
        ``(time, y, x)`` (or ``(time, ...)``) float NDVI composites spanning several years, numpy
        or dask; NaN = nodata.
    period : {"month", "dekad", "16day", "dayofyear"} or xarray.DataArray
        How dates are grouped for the per-pixel extremes; or integer labels along ``time``.

    Returns
    -------
    xarray.DataArray
        ``vci`` uint8 0-100 (rounded), 255 where NDVI is NaN or the period's max equals its min;
        same dims as ``ndvi``. Lazy (grouped min/max reductions, no compute).

    References
    ----------
    Kogan, F. N. (1995), Application of vegetation index and brightness temperature for drought
    detection. Advances in Space Research 15(11):91-100.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2020-06-01", "2021-06-01", "2022-06-01"])
    >>> vci(xr.DataArray([0.2, 0.6, 0.4], dims="time", coords={"time": t})).values
    array([  0, 100,  50], dtype=uint8)
    """
    lo, hi = period_extremes(ndvi, period, "vci")
    out: xr.DataArray = xr.apply_ufunc(condition_percent, ndvi, lo, hi, dask="parallelized", output_dtypes=[np.uint8])
    return out.transpose(*ndvi.dims).rename("vci").assign_attrs(units="%", nodata=255)


def period_extremes(arr: xr.DataArray, period: Period | xr.DataArray,
                    what: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Per pixel, the minimum and maximum over all years of each date's period, aligned on ``time``.

    The record a condition index (VCI, TCI) scales each date against; NaN never votes. Lazy.
    """
    if "time" not in arr.dims:
        raise ConfigError(f"{what} needs a time dimension, got dims {arr.dims}.")
    labels = period_labels(arr.time, period) if isinstance(period, str) else period.rename("period")
    grouped = arr.astype(np.float32).groupby(labels)
    lo = grouped.min("time", skipna=True).sel(period=labels).drop_vars("period")
    hi = grouped.max("time", skipna=True).sel(period=labels).drop_vars("period")
    return lo, hi


def _class_kernel(v: np.ndarray, bounds: tuple[int, ...]) -> np.ndarray:
    cls = (1 + np.searchsorted(np.asarray(bounds), v.astype(np.int64), side="right")).astype(np.uint8)
    return np.where(v == 255, np.uint8(255), cls).astype(np.uint8)


def vci_class(vci_arr: xr.DataArray, scheme: Literal["kogan", "india2016"] = "kogan") -> xr.DataArray:
    """Drought class of a uint8 VCI (codes in :data:`VCI_CLASSES`; 255 = nodata); lazy.

    Examples
    --------
    >>> vci_class(xr.DataArray(np.array([0, 9, 10, 39, 40, 100, 255], np.uint8))).values
    array([  1,   1,   2,   4,   5,   5, 255], dtype=uint8)
    """
    if scheme not in VCI_CLASSES:
        raise ConfigError(f"scheme must be one of {sorted(VCI_CLASSES)}, got {scheme!r}.")
    if vci_arr.dtype != np.uint8:
        raise ConfigError(f"vci_class expects the uint8 VCI from vci(), got {vci_arr.dtype}.")
    out: xr.DataArray = xr.apply_ufunc(_class_kernel, vci_arr, kwargs={"bounds": VCI_CLASSES[scheme][0]},
                                       dask="parallelized", output_dtypes=[np.uint8])
    return out.rename("vci_class").assign_attrs(units="class", nodata=255, scheme=scheme)
