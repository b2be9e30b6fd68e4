"""A pond, then one rice crop, read on whole arrays (numpy): the optical rule's ``pond_crop_green_days`` term.

The optical rule's kernel (:mod:`agromap.rice.optical_kernel_terms`) reads the term date by date inside its
walk; the self-trained map's label step (:func:`agromap.rice.self_train_labels.drop_pond_rice`) reads it
here, on the stack's clear dates, so that a rice-shrimp field whose pond phase makes it look like a pond
keeps its rice label (docs/rice_rules.md, "A pond, then one rice crop under the optical rule").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["pond_then_crop"]

_F32 = np.float32


def pond_then_crop(ok: npt.NDArray[np.bool_], nd: npt.NDArray[Any], ls: npt.NDArray[Any], flood: npt.NDArray[np.bool_],
                   days: npt.NDArray[Any], p: Any) -> npt.NDArray[np.bool_]:
    """Per pixel of ``(pixels, time)`` arrays: a flooded dark spell (``flood`` and NDVI <= ``p.ndvi_low``,
    dates at most 45 days apart) longer than ``p.max_flood_days``, then, within ``p.max_cycle_days`` of its
    last date, a canopy phase (from the first date with NDVI >= ``p.ndvi_canopy_min`` to the first with
    NDVI <= ``p.ndvi_trough_max``, or the series' end) with a canopy standing in water (NDVI >= ``p.ndvi_high``,
    LSWI >= ``p.wet_canopy_lswi`` when set) whose canopy dates span at most ``p.pond_crop_green_days``.
    All False when that is ``None``. ``p``: :class:`~agromap.rice.optical_params.OpticalRiceParams`.
    """
    n_pix, n_t = nd.shape
    if p.pond_crop_green_days is None:
        return np.zeros(n_pix, dtype=bool)
    crop_lswi = _F32(p.wet_canopy_lswi) if p.wet_canopy_lswi is not None else _F32(-np.inf)
    green = _F32(p.pond_crop_green_days)
    start = np.full(n_pix, -1.0, dtype=_F32)
    prev = np.full(n_pix, -1e9, dtype=_F32)
    end = np.full(n_pix, -np.inf, dtype=_F32)
    on, wet, seen = (np.zeros(n_pix, dtype=bool) for _ in range(3))
    first, last = np.zeros(n_pix, dtype=_F32), np.zeros(n_pix, dtype=_F32)
    for t in range(n_t):
        d = _F32(days[t])
        o, y = ok[:, t], nd[:, t]
        with np.errstate(invalid="ignore"):
            dark = o & flood[:, t] & (y <= _F32(p.ndvi_low))
            canopy = o & (y >= _F32(p.ndvi_canopy_min))
            wet_canopy = o & (y >= _F32(p.ndvi_high)) & (ls[:, t] >= crop_lswi)
            low = o & (y <= _F32(p.ndvi_trough_max))
        linked = dark & (start >= 0) & (d - prev <= _F32(45.0))
        start = np.where(o & ~dark, _F32(-1.0), np.where(dark & ~linked, d, start))
        prev = np.where(dark, d, prev)
        # the canopy phase ends on a bare or flooded date (harvest, or water)
        stop = on & low
        seen |= stop & wet & (last - first <= green)
        on &= ~stop
        run = on & o
        last = np.where(run & canopy, d, last)
        wet |= run & wet_canopy
        idle = o & ~on
        end = np.where(idle & dark & (d - start > _F32(p.max_flood_days)), d, end)
        # the first canopy after the pond: the crop, when it rises within a cycle's span of the water
        rise = idle & ~dark & (end != _F32(-np.inf)) & canopy
        begin = rise & (d - end <= _F32(p.max_cycle_days))
        on |= begin
        first, last = np.where(begin, d, first), np.where(begin, d, last)
        wet = np.where(begin, wet_canopy, wet)
        end = np.where(rise, _F32(-np.inf), end)
    return seen | (on & wet & (last - first <= green))
