"""Sentinel-1 (and other SAR) backscatter: kept in linear power inside agromap.

Averaging, filtering and resampling happen in linear power; dB is computed only at the
end or where a threshold is defined in dB (a mean of dB values is biased low,
Open-EO/openeo-processes#210). Linear zeros are border fill, not data: they become NaN
before any logarithm, so -inf never propagates (docs/science/indices_and_masks.md#sentinel-1-backscatter).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

__all__ = ["POLARISATIONS", "Units", "to_db", "to_linear", "check_units"]

POLARISATIONS = ("vv", "vh", "hh", "hv")
Units = Literal["db", "linear"]


def to_db(linear: xr.DataArray) -> xr.DataArray:
    """10·log10(linear) in float32; values <= 0 and NaN give NaN (never -inf). Lazy."""
    def _kernel(x: np.ndarray) -> np.ndarray:
        x32 = x.astype(np.float32, copy=False)
        out = np.full(x32.shape, np.nan, dtype=np.float32)
        np.log10(x32, out=out, where=x32 > 0)
        out[x32 > 0] *= np.float32(10.0)
        return out

    out = xr.apply_ufunc(_kernel, linear, dask="parallelized", output_dtypes=[np.float32])
    return out.rename(f"{linear.name}_db" if linear.name else None).assign_attrs(units="dB")


def to_linear(db: xr.DataArray) -> xr.DataArray:
    """10**(dB/10) in float32; NaN stays NaN. Lazy."""
    def _kernel(x: np.ndarray) -> np.ndarray:
        return np.power(np.float32(10.0), x.astype(np.float32, copy=False) / np.float32(10.0)).astype(np.float32)

    out = xr.apply_ufunc(_kernel, db, dask="parallelized", output_dtypes=[np.float32])
    return out.assign_attrs(units="1")


def _units_kernel(x: np.ndarray, units: str, name: str, source: str) -> np.ndarray:
    finite = x[np.isfinite(x)]
    # Judge only blocks with enough data; border fill and tiny edge blocks say nothing.
    if finite.size >= 64:
        if units == "linear" and np.mean(finite <= 0) > 0.5:
            from ..errors import SarUnitsError

            raise SarUnitsError(
                f"{source}: {name} is declared linear power but {np.mean(finite <= 0):.0%} of its values are <= 0, "
                "as dB values are; set units: db for this input."
            )
        if units == "db" and np.mean(finite > 0) > 0.9:
            from ..errors import SarUnitsError

            raise SarUnitsError(
                f"{source}: {name} is declared dB but {np.mean(finite > 0):.0%} of its values are > 0 dB, as linear "
                "power or amplitude values are; set units: linear (power) or convert amplitude to power first."
            )
    return x


def check_units(arr: xr.DataArray, units: Units) -> xr.DataArray:
    """Pass ``arr`` through unchanged, raising :class:`SarUnitsError` at compute on a dB/linear mix-up."""
    return xr.apply_ufunc(
        _units_kernel, arr, kwargs={"units": units, "name": str(arr.name), "source": str(arr.attrs.get("source"))},
        dask="parallelized", output_dtypes=[arr.dtype], keep_attrs=True,
    )
