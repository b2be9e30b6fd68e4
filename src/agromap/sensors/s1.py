"""Sentinel-1 (and other SAR) backscatter: kept in linear power inside agromap.

Averaging, filtering and resampling happen in linear power; dB is computed only at the
end or where a threshold is defined in dB (a mean of dB values is biased low,
Open-EO/openeo-processes#210). Linear zeros are border fill, not data: they become NaN
before any logarithm, so -inf never propagates (docs/science/indices_and_masks.md#sentinel-1-backscatter).
"""

from __future__ import annotations

import types
from typing import Any, Literal

import numpy as np
import xarray as xr

from .s1_bands import INCIDENCE_BAND, POLARISATIONS

__all__ = ["POLARISATIONS", "INCIDENCE_BAND", "INCIDENCE_RANGE_DEG", "Units", "to_db", "to_linear", "check_units",
           "check_incidence", "declared_units", "sar_census", "judge_units", "as_linear_power"]

#: Plausible incidence angles, deg: IW spans about 29-46 and EW 19-47 (ESA Sentinel-1 User Guide);
#: values outside are radians, a local (terrain) angle or another quantity.
INCIDENCE_RANGE_DEG = (15.0, 50.0)
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


def _incidence_kernel(x: np.ndarray, source: str) -> np.ndarray:
    lo, hi = INCIDENCE_RANGE_DEG
    finite = x[np.isfinite(x)]
    bad = finite[(finite < lo) | (finite > hi)]
    if bad.size:
        from ..errors import InputError

        raise InputError(
            f"{source}: incidence angle band holds {float(finite.min()):.4g}..{float(finite.max()):.4g}, outside "
            f"the {lo:g}-{hi:g} deg of Sentinel-1 IW/EW; give the ellipsoid incidence angle in degrees "
            "(not radians, not a local or projected angle) or drop the angle band."
        )
    return x


def check_incidence(arr: xr.DataArray) -> xr.DataArray:
    """Pass an incidence-angle array (deg) through unchanged; :class:`InputError` at compute when a
    finite value lies outside :data:`INCIDENCE_RANGE_DEG`. Lazy.
    """
    return xr.apply_ufunc(
        _incidence_kernel, arr, kwargs={"source": str(arr.attrs.get("source", arr.name))},
        dask="parallelized", output_dtypes=[arr.dtype], keep_attrs=True,
    )


# ---- units of a backscatter array: one judgement for every SAR consumer ---------------------
# The flood map and the rice rules both take linear power. A dB array read as linear power is
# mostly negative, so every value is "invalid" and the product silently turns to nodata; a
# linear array read as dB gives values near 1 (0 dB) everywhere. The census below (counts, lazy)
# is computed once over the whole array and fed into every block, so the judgement is global and
# surfaces as SarUnitsError at compute, never as a map of nodata.


def declared_units(arr: xr.DataArray) -> Literal["db", "linear", "auto"]:
    """Units declared by an array's metadata: ``db`` (``units`` attr "dB" or a name ending in
    ``_db``), ``linear`` (``units`` "1", "linear", "linear power"), else ``auto`` (decide from
    the values).
    """
    u = str(arr.attrs.get("units", "")).strip().lower()
    if u in ("db", "decibel", "decibels") or str(arr.name or "").lower().endswith("_db"):
        return "db"
    if u in ("1", "linear", "linear power", "power"):
        return "linear"
    return "auto"


def sar_census(data: Any) -> Any:
    """int64 counts ``[finite, < 0, in (0, 1], in (-40, 5)]`` of an array (lazy for dask input)."""
    from dask.base import is_dask_collection

    lazy = is_dask_collection(data)
    xp: types.ModuleType = np
    if lazy:
        import dask.array as xp
    f = xp.isfinite(data)
    out = xp.stack([f.sum(), (f & (data < 0)).sum(), (f & (data > 0) & (data <= 1)).sum(),
                    (f & (data > -40) & (data < 5)).sum()]).astype(np.int64)
    return out.rechunk(-1) if lazy else out


def judge_units(census: np.ndarray, units: str, name: str) -> Literal["db", "linear"]:
    """The units of a backscatter array from its :func:`sar_census`, or :class:`SarUnitsError`.

    ``units`` is the declaration: ``linear`` or ``db`` are checked against the values, ``auto``
    is decided from them (more than half of the values negative: dB; at least half in (0, 1]
    with at most 5 % negative: linear power; anything else is refused).

    Raises
    ------
    NoValidDataError
        No finite value at all.
    SarUnitsError
        The values contradict the declaration, or (``auto``) look like neither unit.
    """
    from ..errors import NoValidDataError, SarUnitsError

    n, neg, unit, dbr = (int(v) for v in np.asarray(census).reshape(-1, 4)[0])
    if n == 0:
        raise NoValidDataError(f"SAR band {name!r} has no valid pixel (all NaN/fill); check that the scene "
                               "covers the area of interest and that nodata was read as NaN.")
    pct = {"neg": 100 * neg / n, "unit": 100 * unit / n, "db": 100 * dbr / n}
    looks_db = pct["neg"] > 50 and pct["db"] >= 50
    looks_linear = pct["unit"] >= 50 and pct["neg"] <= 5
    problem = None
    if units == "linear" and pct["neg"] > 5:
        problem = (f"declared linear power but {pct['neg']:.0f} % of its values are negative, as in dB; convert "
                   "with agromap.sensors.s1.to_linear(arr) or pass units='db'")
    elif units == "linear" and pct["unit"] < 50:
        problem = f"declared linear power but only {pct['unit']:.0f} % of its values lie in (0, 1]; amplitude or DN?"
    elif units == "db" and looks_linear:
        problem = (f"declared dB but {pct['unit']:.0f} % of its values lie in (0, 1] and almost none are negative, "
                   "as in linear power; pass units='linear'")
    elif units == "db" and pct["db"] < 50:
        problem = f"declared dB but only {pct['db']:.0f} % of its values lie in (-40, 5) dB; check the scaling"
    elif units == "auto" and not (looks_db or looks_linear):
        problem = (f"of unknown units: {pct['neg']:.0f} % negative, {pct['unit']:.0f} % in (0, 1], "
                   f"{pct['db']:.0f} % in (-40, 5); neither dB nor linear power (amplitude or DN?): convert to "
                   "linear power, or declare units='db'/'linear'")
    if problem:
        raise SarUnitsError(f"SAR band {name!r} was {problem}.")
    if units in ("db", "linear"):
        return units  # type: ignore[return-value]
    return "db" if looks_db else "linear"


def _linear_kernel(x: np.ndarray, census: np.ndarray, *, units: str, name: str) -> np.ndarray:
    unit = judge_units(census, units, name)
    x32 = x.astype(np.float32, copy=False)
    if unit == "db":
        x32 = np.power(np.float32(10.0), x32 / np.float32(10.0)).astype(np.float32)
    return np.where(x32 > 0, x32, np.float32(np.nan)).astype(np.float32)  # zeros and negatives are fill


def as_linear_power(arr: xr.DataArray, units: Literal["linear", "db", "auto"] = "auto") -> xr.DataArray:
    """Backscatter as float32 linear power, with a unit check (or detection) that raises at compute.

    Parameters
    ----------
    arr : xarray.DataArray
        Backscatter of one polarisation, any dims, numpy or dask; NaN = nodata.
    units : {"auto", "linear", "db"}
        Declared units; ``auto`` takes the declaration of :func:`declared_units` and, when the
        metadata say nothing, decides from the values (see :func:`judge_units`).

    Returns
    -------
    xarray.DataArray
        float32 linear power (values <= 0 become NaN), ``units="1"``. Lazy when ``arr`` is: one
        global census of the values is fed into every block, so :class:`SarUnitsError` or
        :class:`NoValidDataError` surface at compute (immediately for numpy input).
    """
    from ..errors import ConfigError

    if units not in ("linear", "db", "auto"):
        raise ConfigError(f"units must be 'linear', 'db' or 'auto', got {units!r}.")
    if units == "auto":
        units = declared_units(arr)
    census = xr.DataArray(sar_census(arr.data), dims=["census"])
    out: xr.DataArray = xr.apply_ufunc(_linear_kernel, arr, census, input_core_dims=[[], ["census"]],
                                       kwargs={"units": units, "name": str(arr.name)},
                                       dask="parallelized", output_dtypes=[np.float32])
    name = arr.name[:-3] if isinstance(arr.name, str) and arr.name.lower().endswith("_db") else arr.name
    return out.rename(name).assign_attrs(arr.attrs).assign_attrs(units="1")
