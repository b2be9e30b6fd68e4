"""Fast per-pixel time loops of the optical rice rule (numpy, ``(pixels, time)`` arrays).

The rule's kernel (:mod:`agromap.rice.rules_optical`) holds one series per row, so a date is a
column: a step of a loop over dates that reads ``x[:, t]`` touches one cache line per pixel for
4 bytes of it, about ten times the memory traffic of a contiguous row. The loops below first
turn their inputs date-major (one contiguous row per date, one pass) and then run the same
float32 arithmetic in the same order, so their results are bit for bit those of the plain
column loops they replace (checked in the tests against the plain versions on cloudy series).
The median of the clear-date gaps is taken from one sort instead of a masked-array median,
which costs several times the rest of the kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["date_major", "flood_onsets", "water_spell_days", "clear_gap", "undated_canopy", "canopy_after_gap"]

_F32 = np.float32
FloatArr = npt.NDArray[np.float32]
BoolArr = npt.NDArray[np.bool_]


def date_major(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``(pixels, time)`` -> a C-contiguous ``(time, pixels)`` copy (a view when already so)."""
    return np.ascontiguousarray(x.T)


def flood_onsets(flood: BoolArr, ok: BoolArr, in_window: BoolArr, at_series_start: bool) -> BoolArr:
    """Flood onsets: flooded at ``t`` and not flooded at the previous valid observation.

    Parameters
    ----------
    flood, ok : numpy.ndarray of bool, ``(pixels, time)``
        Flood signal and valid (clear) observation; an invalid date never changes the state.
    in_window : numpy.ndarray of bool, ``(time,)``
        Dates where an onset may be counted.
    at_series_start : bool
        A flooded first valid observation is an onset too.

    Returns
    -------
    numpy.ndarray of bool, ``(pixels, time)``
        A transposed view of a date-major array: ``onset[:, t]`` is contiguous.
    """
    fl, o = date_major(flood), date_major(ok)
    n_t, n_pix = fl.shape
    state = np.full(n_pix, 0 if at_series_start else -1, dtype=np.int8)
    onset = np.zeros((n_t, n_pix), dtype=bool)
    for t in range(n_t):
        np.logical_and(fl[t], state == 0, out=onset[t])
        np.copyto(state, fl[t].astype(np.int8), where=o[t])
    onset &= np.asarray(in_window, dtype=bool)[:, None]
    return onset.T


def water_spell_days(wet: BoolArr, ok: BoolArr, days: npt.NDArray[np.int32], max_link: float = 45.0) -> FloatArr:
    """Longest span, in days, of successive clear dates that are all ``wet`` (flooded and dark, or green).

    Two wet dates further apart than ``max_link`` days do not make one spell (a cloud gap hides
    whatever happened in between), so the span is a lower bound of the longest spell. A clear
    date that is not wet ends the spell; a cloudy date does not.
    """
    w_all, o_all = date_major(wet), date_major(ok)
    n_t, n_pix = w_all.shape
    start = np.full(n_pix, -1.0, dtype=_F32)
    prev = np.full(n_pix, -1e9, dtype=_F32)
    best = np.zeros(n_pix, dtype=_F32)
    link = _F32(max_link)
    for t in range(n_t):
        d = _F32(days[t])
        w, o = w_all[t], o_all[t]
        linked = w & (start >= 0) & (d - prev <= link)
        start = np.where(o & ~w, _F32(-1.0), np.where(w & ~linked, d, start))
        np.copyto(prev, d, where=w)
        np.maximum(best, np.where(w, d - start, _F32(0.0)), out=best)
    return best


def clear_gap(ok: BoolArr, days: npt.NDArray[np.int32]) -> FloatArr:
    """Median interval (days) between successive clear dates of each pixel (365 with fewer than two).

    The median of an even count is the mean of the two middle gaps, as :func:`numpy.nanmedian`.
    """
    o_all = date_major(ok)
    n_t, n_pix = o_all.shape
    if n_t == 0:
        return np.full(n_pix, 365.0, dtype=_F32)
    gaps = np.full((n_t, n_pix), np.inf, dtype=_F32)  # +inf: no gap at this date
    last = np.full(n_pix, -np.inf, dtype=_F32)
    for t in range(n_t):
        d = _F32(days[t])
        has_gap = o_all[t] & (last > -np.inf)
        np.subtract(d, last, out=gaps[t], where=has_gap)
        np.copyto(last, d, where=o_all[t])
    count = np.count_nonzero(gaps < np.inf, axis=0)
    gaps = np.sort(gaps.T, axis=1)  # the gaps first, then +inf
    rows = np.arange(gaps.shape[0])
    lo = gaps[rows, np.maximum(count - 1, 0) // 2]
    hi = gaps[rows, np.minimum(count // 2, gaps.shape[1] - 1)]
    med = (lo + hi) / _F32(2.0)
    return np.where(count > 0, med, _F32(365.0)).astype(_F32)


def undated_canopy(ok: BoolArr, ndvi: FloatArr, wet: FloatArr, days: npt.NDArray[np.int32], *, gap_days: float,
                   max_cycle_days: float) -> FloatArr:
    """Highest clear NDVI seen after a flooded date across a gap (the undated evidence's canopy).

    A clear date counts when it comes at most ``max_cycle_days`` after the last date with
    ``wet >= 0`` and, since that date, the widest interval between clear dates exceeds
    ``gap_days`` or fewer than two clear dates were seen. ``-inf`` where no date counts.
    """
    o_all, nd_all, wet_now_all = date_major(ok), date_major(ndvi), date_major(wet >= 0)
    n_t, n_pix = o_all.shape
    last_wet = np.full(n_pix, -np.inf, dtype=_F32)
    last_ok = np.full(n_pix, -np.inf, dtype=_F32)
    between = np.zeros(n_pix, dtype=np.int32)
    widest = np.zeros(n_pix, dtype=_F32)
    canopy = np.full(n_pix, -np.inf, dtype=_F32)
    gap, cycle = _F32(gap_days), _F32(max_cycle_days)
    for t in range(n_t):
        d = _F32(days[t])
        o = o_all[t]
        widest = np.where(o, np.maximum(widest, d - last_ok), widest)
        hidden = (widest > gap) | (between < 2)
        canopy = np.where(o & (d - last_wet <= cycle) & hidden, np.maximum(canopy, nd_all[t]), canopy)
        wet_now = wet_now_all[t]
        between = np.where(wet_now, 0, between + o).astype(np.int32)
        widest[wet_now] = _F32(0.0)
        np.copyto(last_wet, d, where=wet_now)
        np.copyto(last_ok, d, where=o)
    return canopy


def canopy_after_gap(ok: BoolArr, canopy: FloatArr, wet: BoolArr, days: npt.NDArray[np.int32], *, gap_days: float,
                     scale_days: FloatArr) -> FloatArr:
    """Best margin of a canopy date seen after a gap in the clear series (the wet-canopy evidence).

    Parameters
    ----------
    ok : numpy.ndarray of bool, ``(pixels, time)``
        Clear observations.
    canopy : numpy.ndarray of float32, ``(pixels, time)``
        Margin of each date as a canopy standing in water (index units / 0.05; NaN or -inf: none).
    wet : numpy.ndarray of bool, ``(pixels, time)``
        Clear dates that do not end the gap: standing water or a wet young crop is what a paddy
        shows between its flooding and its canopy, so only a dry date bounds the hidden flood.
    days : numpy.ndarray of int32, ``(time,)``
        Day numbers.
    gap_days : float
        The interval since the previous clear date that is not ``wet`` must exceed this (the
        flooding, puddling and early growth before the canopy were not seen dry); the first clear
        date follows the start of the series, an unbounded gap.
    scale_days : numpy.ndarray of float32, ``(pixels,)``
        Units of the gap excess (days).

    Returns
    -------
    numpy.ndarray of float32, ``(pixels,)``
        Per pixel, the largest ``min(canopy[t], (gap before t - gap_days) / scale_days)`` over
        clear dates; -inf where no clear date.
    """
    o_all, c_all, w_all = date_major(ok), date_major(canopy), date_major(wet)
    n_t, n_pix = o_all.shape
    last = np.full(n_pix, -np.inf, dtype=_F32)
    best = np.full(n_pix, -np.inf, dtype=_F32)
    gap = _F32(gap_days)
    for t in range(n_t):
        d = _F32(days[t])
        o = o_all[t]
        m = np.minimum(c_all[t], (d - last - gap) / scale_days)
        np.copyto(best, np.fmax(best, m), where=o)
        np.copyto(last, d, where=o & ~w_all[t])
    return best
