"""A rice-shrimp field's crop cut by the series' end, for the pond term of the Sentinel-1 rice rule
(:mod:`agromap.rice.rules_sar_masks`).

A series that ends in the wet season sees a rice-shrimp field as a shrimp pond on most of its dates
and its one rice crop still standing on the last ones: the closed-canopy run that lifts the pond
share (``pond_canopy_days``) has not ended yet. Per pixel along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams

__all__ = ["young_pond_crop_days", "old_pond_crop_days"]

_F32 = np.float32


def young_pond_crop_days(sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32],
                         p: SarRiceParams) -> npt.NDArray[np.float32]:
    """Days spanned by each row's run of valid dates above ``pond_canopy_db`` that reaches the last
    valid date, when it rose out of open water; 0 otherwise.

    ``sm`` is the shape series in dB (NaN: invalid). The run must start after a valid date at or
    below that level (a run from the first date may be a cover that never left) and follow a date
    at or below ``water_db`` within ``young_flood_days`` before its first date (the crop was
    transplanted into the water). The season's own terms still read the crop's growth.
    """
    n_pix, n_t = sm.shape
    ok = ~np.isnan(sm)
    bright = ok & (sm > _F32(p.pond_canopy_db))
    dark = ok & ~bright
    cols = np.arange(n_t)[None, :]
    # The last dark date, and the first bright date after it (the run's start).
    last_dark = np.where(dark, cols, -1).max(axis=-1)
    last_ok = np.where(ok, cols, -1).max(axis=-1)
    rows = np.arange(n_pix)
    has = (last_dark >= 0) & (last_ok > last_dark) & bright[rows, np.maximum(last_ok, 0)]
    after = cols > last_dark[:, None]
    start = np.where(after & bright, cols, n_t).min(axis=-1)
    start_i = np.minimum(start, n_t - 1)
    span = (days[np.maximum(last_ok, 0)] - days[start_i]).astype(_F32)
    lookback = (days[None, :] >= (days[start_i] - _F32(p.young_flood_days))[:, None]) & (cols < start_i[:, None])
    wet = (ok & (sm <= _F32(p.water_db)) & lookback).any(axis=-1)
    keep = has & (start < n_t) & wet
    return np.where(keep, span, _F32(0.0)).astype(_F32)


def old_pond_crop_days(sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32],
                       p: SarRiceParams) -> npt.NDArray[np.float32]:
    """Days spanned by each row's run of valid dates above ``pond_canopy_db`` that opens on the first
    valid date, when it ends inside the series and open water follows it; 0 otherwise.

    ``sm`` is the shape series in dB (NaN: invalid). The mirror of :func:`young_pond_crop_days`
    for a series that starts in the wet season: the rice-shrimp field's last crop still stands on
    the first dates, then is harvested and the field is flooded for shrimp (a date at or below
    ``water_db`` after the run). The season's own terms still read the field's next flood.
    """
    n_pix, n_t = sm.shape
    ok = ~np.isnan(sm)
    bright = ok & (sm > _F32(p.pond_canopy_db))
    dark = ok & ~bright
    cols = np.arange(n_t)[None, :]
    rows = np.arange(n_pix)
    first_ok = np.where(ok, cols, n_t).min(axis=-1)
    first_dark = np.where(dark, cols, n_t).min(axis=-1)
    opens = (first_ok < n_t) & bright[rows, np.minimum(first_ok, n_t - 1)]
    # The run's last bright date, before the first dark one (invalid dates neither end nor extend it).
    last_bright = np.where(bright & (cols < first_dark[:, None]), cols, -1).max(axis=-1)
    water_after = (ok & (sm <= _F32(p.water_db)) & (cols >= first_dark[:, None])).any(axis=-1)
    keep = opens & (first_dark < n_t) & (last_bright >= 0) & water_after
    span = (days[np.maximum(last_bright, 0)] - days[np.minimum(first_ok, n_t - 1)]).astype(_F32)
    return np.where(keep, span, _F32(0.0)).astype(_F32)
