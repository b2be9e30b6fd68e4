"""The inputs of the SAR rice rule: its VH band and the orbit track of each date."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..errors import MissingBandError

__all__ = ["TRACK_COORDS", "track_names", "vh_variable"]

# Coordinates on ``time`` that name each date's orbit track, in order of preference.
TRACK_COORDS = ("sat:relative_orbit", "relative_orbit", "sat:orbit_state", "orbit_state", "orbit")


def track_names(src: xr.DataArray) -> list[Any] | None:
    """The orbit track of each date, in time order, from a ``time`` coordinate of :data:`TRACK_COORDS`.

    The labels must be in memory: ``DataArray.chunk`` turns such a coordinate into a dask array
    too, and reading it would be a compute inside science code. Then the offsets are not removed
    and a warning says how to keep them (the map would otherwise silently differ from the in-memory one).
    """
    name = next((c for c in TRACK_COORDS if c in src.coords and src[c].dims == ("time",)), None)
    if name is None or "time" not in src.coords:
        return None
    if src[name].chunks is not None:
        warnings.warn(f"the SAR rice rule ignores the orbit-track coordinate {name!r} because it is a dask array "
                      f"(.chunk() chunks coordinates too), so per-track backscatter offsets are not removed; "
                      f"load it first: vh = vh.assign_coords({name}=vh[{name!r}].load())", UserWarning, stacklevel=3)
        return None
    order = np.argsort(src["time"].values, kind="stable")
    return np.asarray(src[name].values)[order].tolist()


def vh_variable(obj: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """The VH band of a SAR Dataset (``vh`` or ``vh_db``); a DataArray is taken as VH itself."""
    if not isinstance(obj, xr.Dataset):
        return obj
    name = "vh" if "vh" in obj else ("vh_db" if "vh_db" in obj else None)
    if name is None:
        raise MissingBandError(
            f"the SAR rice rule needs a 'vh' variable (linear power or dB); got {sorted(map(str, obj.data_vars))}."
        )
    return obj[name]
