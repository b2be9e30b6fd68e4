"""Temperature Condition Index and Vegetation Health Index (Kogan 1995; docs/science/disaster.md#vegetation-health-vhi).

``TCI = 100 (T_max - T) / (T_max - T_min)`` compares each date's surface temperature with the
per-pixel extremes over the record for the same composite period (as the VCI does for NDVI,
:func:`agromap.disaster.drought.vci`): a hot date is stress, so high temperatures give a low TCI.
``VHI = w VCI + (1 - w) TCI`` with ``w = 0.5`` (Kogan 1995). Both are stored as uint8 0-100
(rounded), 255 = nodata; VHI is nodata where either input is.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..io.layers import LayerSpec
from .drought import Period, condition_percent, period_extremes

__all__ = ["LAYER_SPECS", "tci", "vhi"]

LAYER_SPECS: dict[str, LayerSpec] = {
    "tci": LayerSpec("tci", "continuous", "uint8", 255, "%", "Temperature Condition Index (Kogan 1995)"),
    "vhi": LayerSpec("vhi", "continuous", "uint8", 255, "%",
                     "Vegetation Health Index, 0.5 VCI + 0.5 TCI (Kogan 1995)"),
}


def tci(temperature: xr.DataArray, period: Period | xr.DataArray = "month") -> xr.DataArray:
    """Temperature Condition Index of every date of a surface (or brightness) temperature series.

    Parameters
    ----------
    temperature : xarray.DataArray
        ``(time, y, x)`` temperatures in one unit (K or °C) spanning several years, numpy or dask;
        NaN = nodata (set cloudy dates to NaN first: clouds are cold and would read as no stress).
    period : {"month", "dekad", "16day", "dayofyear"} or xarray.DataArray
        How dates are grouped for the per-pixel extremes; or integer labels along ``time``.

    Returns
    -------
    xarray.DataArray
        ``tci`` uint8 0-100 (100 = the coolest of the period's record), 255 where the temperature
        is NaN or the period's max equals its min. Lazy.

    References
    ----------
    Kogan, F. N. (1995), Application of vegetation index and brightness temperature for drought
    detection. Advances in Space Research 15(11):91-100.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2020-06-01", "2021-06-01", "2022-06-01"])
    >>> tci(xr.DataArray([300.0, 310.0, 305.0], dims="time", coords={"time": t})).values
    array([100,   0,  50], dtype=uint8)
    """
    lo, hi = period_extremes(temperature, period, "tci")
    # Hot is stress: negating every value turns "coolest of the record" into the top of the range
    # (exact in floating point, so the result equals 100 (hi - t) / (hi - lo)).
    out: xr.DataArray = xr.apply_ufunc(condition_percent, -temperature, -hi, -lo, dask="parallelized",
                                       output_dtypes=[np.uint8])
    return out.transpose(*temperature.dims).rename("tci").assign_attrs(units="%", nodata=255)


def _vhi_kernel(v: np.ndarray, t: np.ndarray, weight: float) -> np.ndarray:
    ok = (v != 255) & (t != 255)
    out = np.rint(weight * v.astype(np.float64) + (1.0 - weight) * t.astype(np.float64))
    return np.where(ok, out, 255).astype(np.uint8)


def vhi(vci: xr.DataArray, tci_arr: xr.DataArray, weight: float = 0.5) -> xr.DataArray:
    """Vegetation Health Index ``weight VCI + (1 - weight) TCI`` of uint8 VCI and TCI.

    Parameters
    ----------
    vci, tci_arr : xarray.DataArray
        uint8 0-100 with 255 nodata (:func:`agromap.disaster.drought.vci`, :func:`tci`), same grid.
    weight : float
        Share of the VCI, 0-1 (Kogan 1995: 0.5).

    Returns
    -------
    xarray.DataArray
        ``vhi`` uint8 0-100 (rounded), 255 where either input is nodata. Lazy.

    Examples
    --------
    >>> vhi(xr.DataArray(np.uint8([0, 100, 40, 255])), xr.DataArray(np.uint8([100, 100, 10, 50]))).values
    array([ 50, 100,  25, 255], dtype=uint8)
    """
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"weight must be within 0-1, got {weight}.")
    if vci.dtype != np.uint8 or tci_arr.dtype != np.uint8:
        raise ConfigError(f"vhi expects uint8 VCI and TCI (0-100, 255 nodata), got {vci.dtype} and {tci_arr.dtype}.")
    out: xr.DataArray = xr.apply_ufunc(_vhi_kernel, vci, tci_arr, kwargs={"weight": float(weight)},
                                       dask="parallelized", output_dtypes=[np.uint8])
    return out.rename("vhi").assign_attrs(units="%", nodata=255, vci_weight=float(weight))
