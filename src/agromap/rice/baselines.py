"""The one-line rice baselines a user could type, as references every method must beat.

- :func:`sar_baseline`: rice where the Sentinel-1 VH minimum is ``<= -18 dB`` and the VH
  amplitude (maximum - minimum) is ``>= 5 dB``: the flooded-then-grown signature of
  transplanted paddy in its simplest form (thresholds of the order reported by Nguyen et al.
  2016 and Bouvet & Le Toan 2011 for the Mekong delta).
- :func:`optical_baseline`: rice where, on clear dates, the NDVI minimum is ``<= 0.3`` and its
  maximum ``>= 0.6``: bare or flooded ground that becomes a dense canopy.

Both are lazy, return ``uint8`` 1 = rice, 0 = not rice, 255 = no valid observation, and keep
the non-time dims and coordinates of their input. They are references, not methods: they
have no notion of seasons, water bodies or wetlands, which is why they fail on real scenes
(see ``docs/scenes.md``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from ..errors import InputError, MissingBandError

__all__ = ["sar_baseline", "optical_baseline", "NODATA"]

NODATA = 255


def _finish(rice: xr.DataArray, n_valid: xr.DataArray, name: str, rule: str) -> xr.DataArray:
    out = xr.where(n_valid > 0, rice.astype(np.uint8), np.uint8(NODATA)).astype(np.uint8)
    return out.rename(name).assign_attrs(
        long_name=f"rice (one-line baseline: {rule})", flag_values=[0, 1], flag_meanings="not_rice rice",
        nodata=NODATA,
    )


def _need_time(arr: xr.DataArray | xr.Dataset, func: str) -> None:
    if "time" not in arr.dims:
        raise InputError(f"{func} needs a time dimension, got dims {tuple(arr.dims)}.")


def sar_baseline(vh_linear: xr.DataArray | xr.Dataset, *, min_db: float = -18.0, amplitude_db: float = 5.0,
                 units: Literal["auto", "linear", "db"] = "auto") -> xr.DataArray:
    """Rice where ``min VH <= min_db`` and ``max VH - min VH >= amplitude_db`` (in dB).

    Parameters
    ----------
    vh_linear : xarray.DataArray or xarray.Dataset
        VH backscatter with a ``time`` dim (NaN or <= 0 in linear power = nodata), or a Dataset
        with ``vh``. Linear power is expected; units are handled as by the SAR rule
        (:func:`agromap.sensors.s1.as_linear_power`): declared by ``units`` or the ``units``
        attribute, or detected from the values, and refused with :class:`SarUnitsError` at
        compute when the values contradict the declaration or look like neither unit.
    min_db, amplitude_db : float
        The two thresholds.
    units : {"auto", "linear", "db"}

    Returns
    -------
    xarray.DataArray
        ``sar_baseline`` uint8 (1 rice, 0 not, 255 no valid date), lazy.

    Examples
    --------
    >>> from agromap.testing import make_raster
    >>> vh = make_raster(10 ** (np.array([[[-24.0]], [[-13.0]]]) / 10), times=["2024-06-01", "2024-08-01"])
    >>> int(sar_baseline(vh).values[0, 0])
    1
    """
    if isinstance(vh_linear, xr.Dataset):
        if "vh" not in vh_linear:
            raise MissingBandError(f"sar_baseline needs a 'vh' variable, got {sorted(map(str, vh_linear.data_vars))}.")
        vh_linear = vh_linear["vh"]
    _need_time(vh_linear, "sar_baseline")
    from ..sensors.s1 import as_linear_power

    vh = as_linear_power(vh_linear, units)  # float32, NaN where <= 0
    lo, hi = vh.min("time"), vh.max("time")
    n = vh.count("time")
    rice = (lo <= np.float32(10 ** (min_db / 10))) & (hi >= lo * np.float32(10 ** (amplitude_db / 10)))
    return _finish(rice, n, "sar_baseline", f"min VH <= {min_db} dB and VH amplitude >= {amplitude_db} dB")


def optical_baseline(ndvi_or_ds: xr.DataArray | xr.Dataset, *, valid: xr.DataArray | None = None,
                     min_ndvi: float = 0.3, max_ndvi: float = 0.6) -> xr.DataArray:
    """Rice where, on clear dates, ``min NDVI <= min_ndvi`` and ``max NDVI >= max_ndvi``.

    Parameters
    ----------
    ndvi_or_ds : xarray.DataArray or xarray.Dataset
        NDVI with a ``time`` dim (NaN = not clear), or a Dataset with ``ndvi`` or ``nir`` and
        ``red``; a Dataset's integer ``scl`` masks clouds, shadows, cirrus and nodata
        (:func:`agromap.masks.scl_valid`), as a user's one-liner would.
    valid : xarray.DataArray of bool, optional
        Clear-observation mask; replaces ``scl``.
    min_ndvi, max_ndvi : float

    Returns
    -------
    xarray.DataArray
        ``optical_baseline`` uint8 (1 rice, 0 not, 255 no clear date), lazy.
    """
    from .. import masks
    from ..indices import ndvi as _ndvi

    if isinstance(ndvi_or_ds, xr.Dataset):
        ds = ndvi_or_ds
        if "ndvi" in ds:
            v = ds["ndvi"]
        elif "nir" in ds and "red" in ds:
            v = _ndvi(ds["nir"], ds["red"])
        else:
            raise MissingBandError("optical_baseline needs 'ndvi' or 'nir' and 'red', got "
                                   f"{sorted(map(str, ds.data_vars))}.")
        if valid is None and "scl" in ds:
            valid = masks.scl_valid(ds["scl"])
    else:
        v = ndvi_or_ds
    _need_time(v, "optical_baseline")
    v = v.astype(np.float32)
    if valid is not None:
        v = v.where(valid.astype(bool))
    lo, hi = v.min("time"), v.max("time")
    rice = (lo <= np.float32(min_ndvi)) & (hi >= np.float32(max_ndvi))
    return _finish(rice, v.count("time"), "optical_baseline",
                   f"min NDVI <= {min_ndvi} and max NDVI >= {max_ndvi} on clear dates")
