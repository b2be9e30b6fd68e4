"""The optical rice rule's per-pixel computation, compiled (numba).

:func:`optical_pixels` walks the pixels of a tile, and each pixel's series in an inner loop:
validity, flood signal and onsets, the growth confirmation of every onset, the land-cover masks,
the green-spell limit and the undated evidence (docs/science/rice.md#optical-flooding-rule;
the rule's text is in :mod:`agromap.rice.rules_optical`, which calls this module). Season
slots and the score stay in numpy (:class:`agromap.rice.seasons.SeasonSlots`, shared with the
SAR rule).

Why compiled: the rule's steps are short loops over a dozen to a few dozen dates with state
carried from date to date (the last clear date, the current flooded spell, the widest gap), so
as whole-array numpy operations every step allocates and walks the tile's pixels again; the
rule cost ten times the decoding of its inputs. One pass per pixel keeps the series in cache.

Bits: every value is computed with the same float32 operations in the same order as the numpy
formulation it replaced (kept as the reference in ``tests/test_29_rice_optical_kernel.py``,
which asserts equal outputs); no fast-math, NaN handled as ``numpy.minimum``/``maximum``
(propagated) or ``numpy.fmax`` (ignored), exactly where the numpy code used each.

Compilation: importing this module imports numba and loads (or compiles, ~10 s) the kernel for
its one signature (float32 series, bool validity), so the package imports it only on the rule's
first call (``agromap --help``, ``validate`` and ``import agromap.rice`` never load numba). The
machine code is cached on disk (``cache=True``): next to this file when the package folder is
writable (``make venv`` compiles it there once), else in numba's user-wide cache
(``NUMBA_CACHE_DIR`` or ``~/.cache/numba``), else in a private folder under the temporary
directory; when no folder can be written the kernel is compiled in memory for the process.
``nogil=True`` lets dask's threads run tiles side by side.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt

from .optical_params import OpticalRiceParams

__all__ = ["optical_pixels"]

# Float32 thresholds of :class:`~agromap.rice.optical_params.OpticalRiceParams` in the
#: kernel's parameter vector, in this order (``None`` parameters are switched off by a flag).
PARAM_NAMES = (
    "max_abs_evi", "flood_t", "flood_ndvi_max", "growth_ratio", "min_peak_evi", "ndvi_trough_max",
    "ndvi_climb_min", "ndvi_canopy_min", "dry_lswi_max", "wet_canopy_lswi", "water_ndvi_max",
    "forest_ndvi_min", "water_fraction", "water_limit_cycle", "forest_fraction", "shrub_lswi_min",
    "shrub_min_span_days", "max_green_days", "green_link_days", "ndvi_low", "ndvi_high", "gap_days",
    "max_cycle_days", "max_flood_days", "hidden_crop_days", "hidden_flood_link_days",
    "undated_wet_canopy_lswi", "hidden_bare_lswi_max",
)
(_MAX_ABS_EVI, _FLOOD_T, _FLOOD_NDVI_MAX, _GROWTH_RATIO, _MIN_PEAK_EVI, _TROUGH_MAX, _CLIMB_MIN, _CANOPY_MIN,
 _DRY_LSWI_MAX, _WET_CANOPY_LSWI, _WATER_NDVI_MAX, _FOREST_NDVI_MIN, _WATER_FRACTION, _WATER_LIMIT_CYCLE,
 _FOREST_FRACTION, _SHRUB_LSWI_MIN, _SHRUB_SPAN, _MAX_GREEN_DAYS, _GREEN_LINK, _NDVI_LOW, _NDVI_HIGH, _GAP_DAYS,
 _MAX_CYCLE_DAYS, _MAX_FLOOD_DAYS, _HIDDEN_CROP_DAYS, _HIDDEN_LINK, _UNDATED_WET_LSWI,
 _HIDDEN_BARE_LSWI) = range(len(PARAM_NAMES))

# Switches in the kernel's flag vector: a None-able parameter set, or a boolean option.
(F_FLOOD_NDVI_MAX, F_DRY, F_WET_CANOPY, F_SHRUB, F_GREEN, F_HIDDEN, F_UNDATED_WET, F_AT_START, F_OUTSIDE_CYCLES,
 F_RULE, F_EARLY, F_HIDDEN_BARE) = range(12)
N_FLAGS = 12
# ``flags[F_RULE]``: the growth rule's code.
GROWTH_RULES = {"xiao": 0, "ndvi": 1, "either": 2, "both": 3}

_F32 = np.float32
_NINF = np.float32(-np.inf)
_PINF = np.float32(np.inf)
_NAN = np.float32(np.nan)
_SCALE = np.float32(0.05)  # margin units per logistic unit (rules_optical's score scale)


def _cache_ready() -> bool:
    """Point numba's cache at a writable folder when neither the package nor the user cache is one."""
    from numba.core import config

    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if getattr(config, "CACHE_DIR", "") or _writable(here):
        return True
    user = os.path.join(os.path.expanduser("~"), ".cache", "numba")
    if _writable(user):
        return True
    private = os.path.join(tempfile.gettempdir(), f"agromap-numba-{os.getuid() if hasattr(os, 'getuid') else 0}")
    if _writable(private):
        setattr(config, "CACHE_DIR", private)  # read when a cached function is decorated
        return True
    return False


def _writable(folder: str) -> bool:
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


_CACHE = _cache_ready()


def _jit(sig: Any = None) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit`` with the disk cache when one can be written (never an error at decoration)."""

    def wrap(fn: Callable[..., Any]) -> Any:
        for cache in (True, False) if _CACHE else (False,):
            try:
                if sig is None:
                    return numba.njit(cache=cache, nogil=True, error_model="numpy")(fn)
                return numba.njit(sig, cache=cache, nogil=True, error_model="numpy")(fn)
            except RuntimeError:  # "cannot cache function ...: no locator available"
                if not cache:
                    raise
        raise AssertionError("unreachable")

    return wrap


# ---- NaN semantics of the numpy ufuncs the rule was written with ------------------------------

@_jit()
def _min(a: Any, b: Any) -> Any:  # numpy.minimum: NaN wins
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


@_jit()
def _max(a: Any, b: Any) -> Any:  # numpy.maximum: NaN wins
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


@_jit()
def _fmax(a: Any, b: Any) -> Any:  # numpy.fmax: NaN ignored
    if b != b:
        return a
    if a != a:
        return b
    return a if a >= b else b


# ---- per-pixel pieces (one series each) ----------------------------------------------------

@_jit()
def _nan_max(x: Any, i0: int, i1: int) -> Any:
    """Max of ``x[i0:i1]`` ignoring NaN; -inf when nothing is left (seasons.masked_max)."""
    out = _NINF
    for i in range(i0, i1):
        if x[i] == x[i] and x[i] > out:
            out = x[i]
    return out


@_jit()
def _nan_min(x: Any, i0: int, i1: int) -> Any:
    """Min of ``x[i0:i1]`` ignoring NaN; +inf when nothing is left (seasons.masked_min)."""
    out = _PINF
    for i in range(i0, i1):
        if x[i] == x[i] and x[i] < out:
            out = x[i]
    return out


@_jit()
def _dry_margin(nd: Any, ls: Any, fl: Any, t: int, i_cyc: int, prm: Any) -> Any:
    """Margin (index units / 0.05) of "no dry bare date between the flood onset at ``t`` and the canopy".

    A paddy stays flooded from puddling until its canopy closes; a rain puddle on a dryland field
    dries out (LSWI < 0 over bare soil) before the crop grows. Dates from the first canopy date
    (NDVI >= ``ndvi_canopy_min``; NaN is none) on are not looked at; +inf where no bare date is seen.
    """
    dry = _PINF
    for i in range(t + 1, i_cyc):
        if nd[i] >= prm[_CANOPY_MIN]:
            break
        if not fl[i] and nd[i] <= prm[_TROUGH_MAX] and np.isfinite(ls[i]):
            m = (ls[i] - prm[_DRY_LSWI_MAX]) / _SCALE
            if m < dry:
                dry = m
    return dry


@_jit()
def _wet_canopy_margin(nd: Any, ls: Any, t: int, i_cyc: int, prm: Any) -> Any:
    """Margin (index units) of "some canopy date of the cycle after the onset at ``t`` is wet".

    The wettest canopy date (NDVI >= ``ndvi_canopy_min``) in (onset, cycle end) minus
    ``wet_canopy_lswi``. A paddy holds water under its canopy until two or three weeks before
    harvest, so at least one canopy date of its cycle shows it; a rain puddle followed by an
    upland crop, or a missed cloud shadow that faked the flood, is followed by a dry canopy.
    +inf (no vote) where the cycle shows no canopy date.
    """
    wettest = _NINF
    for i in range(t + 1, i_cyc):
        if nd[i] >= prm[_CANOPY_MIN]:
            wettest = _max(wettest, ls[i])
    return _PINF if wettest == _NINF else wettest - prm[_WET_CANOPY_LSWI]


@_jit()
def _early_ndvi_margin(nd: Any, t: int, i_early: int, prm: Any) -> Any:
    """Margin (index units) of "no vegetation in the first days after the flood onset at ``t``".

    ``ndvi_trough_max`` minus the highest NDVI of the clear dates in (onset, ``i_early``): a
    paddy is water and seedlings for weeks after puddling, while a flood under standing
    vegetation (basin irrigation between orchard rows, rain on a growing crop) is gone at the
    next date. +inf (no vote) without such a date, or when the onset is the pixel's first clear
    date (the series may start inside a season).
    """
    for i in range(t):
        if nd[i] == nd[i]:
            peak = _nan_max(nd, t + 1, i_early)
            return _PINF if peak == _NINF else prm[_TROUGH_MAX] - peak
    return _PINF


@_jit()
def _growth_margin(nd: Any, ev: Any, ls: Any, fl: Any, t: int, i_grow: int, i_cyc: int, i_tr: int, i_early: int,
                   prm: Any, flags: Any) -> Any:
    """Growth-confirmation margin (>= 0 passes) of an onset at ``t`` (windows as date indices)."""
    evi_max = _nan_max(ev, t, i_cyc)  # includes the onset, so finite
    xiao = _min(_nan_max(ev, t + 1, i_grow) - prm[_GROWTH_RATIO] * evi_max, evi_max - prm[_MIN_PEAK_EVI])
    trough = _nan_min(nd, t, i_tr)
    canopy = _nan_max(nd, t + 1, i_cyc)
    climb = _min(_min(prm[_TROUGH_MAX] - trough, canopy - trough - prm[_CLIMB_MIN]), canopy - prm[_CANOPY_MIN])
    rule = flags[F_RULE]
    margin = xiao if rule == 0 else climb if rule == 1 else _max(xiao, climb) if rule == 2 else _min(xiao, climb)
    if flags[F_DRY]:
        margin = _min(margin, _dry_margin(nd, ls, fl, t, i_cyc, prm))
    if flags[F_WET_CANOPY]:
        margin = _min(margin, _wet_canopy_margin(nd, ls, t, i_cyc, prm))
    if flags[F_EARLY]:
        margin = _min(margin, _early_ndvi_margin(nd, t, i_early, prm))
    return margin


@_jit()
def _spell_days(sel: Any, ok: Any, days: Any, link: Any) -> Any:
    """Longest span (days) of successive clear ``sel`` dates, links at most ``link`` days apart."""
    start = np.float32(-1.0)
    prev = np.float32(-1e9)
    best = np.float32(0.0)
    for t in range(days.size):
        d = days[t]
        w = sel[t]
        linked = w and start >= 0 and d - prev <= link
        if ok[t] and not w:
            start = np.float32(-1.0)
        elif w and not linked:
            start = d
        if w:
            prev = d
            best = _max(best, d - start)
        else:
            best = _max(best, np.float32(0.0))
    return best


@_jit()
def _clear_gap(ok: Any, days: Any, buf: Any) -> Any:
    """Median interval (days) between successive clear dates (365 with fewer than two).

    The median of an even count is the mean of the two middle gaps, as numpy.nanmedian.
    """
    n = 0
    last = _NINF
    for t in range(days.size):
        if ok[t]:
            if last > _NINF:
                g = days[t] - last
                j = n  # insertion sort: a dozen values
                while j > 0 and buf[j - 1] > g:
                    buf[j] = buf[j - 1]
                    j -= 1
                buf[j] = g
                n += 1
            last = days[t]
    if n == 0:
        return np.float32(365.0)
    return (buf[(n - 1) // 2] + buf[n // 2]) / np.float32(2.0)


@_jit()
def _hidden_crop(wet: Any, ok: Any, fl: Any, nd: Any, ls: Any, days: Any, prm: Any, bare_lswi: Any,
                 scale_days: Any) -> Any:
    """Margin of a paddy season hidden in a cloud gap (rules_optical's hidden-crop evidence)."""
    last_d = np.float32(-1e9)  # day of the last clear date ...
    prev_d = np.float32(-2e9)  # ... and of the clear date before it
    last_w = _NINF  # their wet margins
    prev_w = _NINF
    dry_nd = _PINF  # NDVI and LSWI of the last clear date without flood
    dry_ls = _PINF
    onset_bare = _NINF  # bare-ground margin of the current flooded spell
    best = _NINF
    for t in range(days.size):
        d, o, w = days[t], ok[t], wet[t]
        linked = last_d - prev_d <= prm[_HIDDEN_LINK]
        wet_before = _min(last_w, prev_w if linked else _NINF) / _SCALE
        gap = (d - last_d - prm[_HIDDEN_CROP_DAYS]) / scale_days
        m = _NINF if fl[t] else _min(_min(wet_before, gap), onset_bare)
        if o:
            best = _max(best, m)
        is_wet = w >= 0
        bare = _min(prm[_CANOPY_MIN] - dry_nd, bare_lswi - dry_ls) / _SCALE
        if o and is_wet and not last_w >= 0:
            onset_bare = bare
        if o and not is_wet:
            dry_nd = nd[t]
            dry_ls = ls[t]
        if o:
            prev_w, prev_d = last_w, last_d
            last_w, last_d = w, d
    return best


@_jit()
def _undated_canopy(ok: Any, nd: Any, wet: Any, days: Any, gap: Any, cycle: Any) -> Any:
    """Highest clear NDVI after a flooded date across a gap (see rules_optical's undated evidence)."""
    last_wet = _NINF
    last_ok = _NINF
    between = 0
    widest = np.float32(0.0)
    canopy = _NINF
    for t in range(days.size):
        d = days[t]
        o = ok[t]
        if o:
            widest = _max(widest, d - last_ok)
        hidden = widest > gap or between < 2
        if o and d - last_wet <= cycle and hidden:
            canopy = _max(canopy, nd[t])
        if wet[t] >= 0:
            between = 0
            widest = np.float32(0.0)
            last_wet = d
        elif o:
            between += 1
        if o:
            last_ok = d
    return canopy


@_jit()
def _canopy_after_gap(ok: Any, canopy: Any, young_wet: Any, days: Any, gap: Any, scale_days: Any) -> Any:
    """Best ``min(canopy[t], (gap before t - gap_days) / scale_days)`` over clear dates.

    A young crop in water (``young_wet``) does not end the gap.
    """
    last = _NINF
    best = _NINF
    for t in range(days.size):
        d = days[t]
        if ok[t]:
            best = _fmax(best, _min(canopy[t], (d - last - gap) / scale_days))
            if not young_wet[t]:
                last = d
    return best


# ---- the tile --------------------------------------------------------------------------------

def _array(dtype: Any, ndim: int, layout: Literal["C", "A"], readonly: bool = False) -> Any:
    return numba.types.Array(dtype, ndim, layout, readonly=readonly)


# Inputs are taken read-only (dask and xarray hand over read-only views) with any strides; a
# writable array converts to them. One signature: compiled (or loaded) when this module loads.
_F4, _B1, _I8, _I4 = numba.float32, numba.boolean, numba.int64, numba.int32
_SIG = numba.void(
    *(_array(_F4, 2, "A", True) for _ in range(3)), _array(_B1, 2, "A", True),
    _array(_F4, 1, "C", True), _array(_B1, 1, "A", True), _array(_I8, 2, "C", True),
    _array(_F4, 1, "C", True), _array(_I8, 1, "C", True),
    _array(_B1, 2, "C"), _array(_F4, 2, "C"), _array(_I4, 1, "C"), _array(_I4, 1, "C"), _array(_B1, 1, "C"),
    _array(_B1, 1, "C"), _array(_F4, 1, "C"), _array(_F4, 1, "C"),
)


@_jit()
def _series(ndvi: Any, evi: Any, lswi: Any, valid: Any, p: int, prm: Any, flags: Any, nd: Any, ev: Any, ls: Any,
            ok: Any, fl: Any) -> None:
    """Pixel ``p``'s valid observations (finite indices, bounded EVI; others NaN) and flood signal."""
    t_allow = prm[_FLOOD_T]
    for t in range(nd.size):
        a, b, c = ndvi[p, t], evi[p, t], lswi[p, t]
        o = valid[p, t] and np.isfinite(a) and np.isfinite(b) and np.isfinite(c) and abs(b) <= prm[_MAX_ABS_EVI]
        ok[t] = o
        nd[t] = a if o else _NAN
        ev[t] = b if o else _NAN
        ls[t] = c if o else _NAN
        f = o and (ls[t] + t_allow >= ev[t] or ls[t] + t_allow >= nd[t])
        if flags[F_FLOOD_NDVI_MAX]:
            f = f and nd[t] <= prm[_FLOOD_NDVI_MAX]
        fl[t] = f


@_jit()
def _onsets(nd: Any, ev: Any, ls: Any, ok: Any, fl: Any, in_win: Any, ends: Any, prm: Any, flags: Any, p: int,
            onset: Any, growth: Any, in_cycle: Any) -> bool:
    """Flood onsets of pixel ``p`` and their growth margins (logistic units), dates of confirmed cycles.

    A cloudy date never changes the flood state. Returns True when some cycle is confirmed.
    """
    state = 0 if flags[F_AT_START] else -1
    has_cycle = False
    in_cycle[:] = False
    for t in range(nd.size):
        is_onset = fl[t] and state == 0 and in_win[t]
        if ok[t]:
            state = 1 if fl[t] else 0
        onset[t, p] = is_onset
        growth[t, p] = _NAN
        if is_onset:
            g = _growth_margin(nd, ev, ls, fl, t, ends[0, t], ends[1, t], ends[2, t], ends[3, t], prm, flags)
            growth[t, p] = g / _SCALE
            if flags[F_OUTSIDE_CYCLES] and g >= 0:
                in_cycle[t:ends[1, t]] = True
                has_cycle = True
    return has_cycle


@_jit()
def _masks(nd: Any, ls: Any, ok: Any, in_cycle: Any, has_cycle: bool, days: Any, prm: Any,
           flags: Any) -> tuple[Any, Any, Any]:
    """Water and forest (evergreen forest or shrub) masks and the mask margin, before the green spell.

    Counts are fractions of the valid dates; only dates outside confirmed cycles count.
    """
    nv = 0
    n_water = 0
    n_forest = 0
    shrub_any = False
    shrub_all = True
    first = _PINF
    last = _NINF
    for t in range(nd.size):
        nv += ok[t]
        out_ok = ok[t] and not in_cycle[t]
        open_water = nd[t] < prm[_WATER_NDVI_MAX] and nd[t] < ls[t]
        n_water += out_ok and open_water
        n_forest += out_ok and nd[t] >= prm[_FOREST_NDVI_MIN]
        if out_ok and not open_water:
            shrub_any = True
            first = min(first, days[t])
            last = max(last, days[t])
            shrub_all = shrub_all and ls[t] >= prm[_SHRUB_LSWI_MIN]
    water_frac = np.float32(n_water) / np.float32(nv) if nv > 0 else _NAN
    forest_frac = np.float32(n_forest) / np.float32(nv) if nv > 0 else _NAN
    water_limit = prm[_WATER_LIMIT_CYCLE] if has_cycle else prm[_WATER_FRACTION]
    is_water = water_frac >= water_limit
    is_forest = forest_frac >= prm[_FOREST_FRACTION]
    if flags[F_SHRUB]:
        span = last - first if shrub_any else np.float32(0.0)
        is_forest = is_forest or (shrub_any and shrub_all and span >= prm[_SHRUB_SPAN])
    mm = _min(water_limit - water_frac, prm[_FOREST_FRACTION] - forest_frac)
    mm = _NINF if (mm != mm or is_forest) else mm / _SCALE
    return is_water, is_forest, mm


@_jit()
def _undated(nd: Any, ev: Any, ls: Any, ok: Any, fl: Any, days: Any, prm: Any, flags: Any, mm: Any, scale_days: Any,
             wet: Any, sel: Any, wet_canopy: Any) -> Any:
    """Margin of the undated evidence (rules_optical's step 7), NaN as -inf."""
    t_allow = prm[_FLOOD_T]
    lowest = _nan_min(nd, 0, nd.size)
    fl_best = _NINF
    for t in range(nd.size):
        if ok[t] and nd[t] <= prm[_TROUGH_MAX]:
            w = _min(ls[t] + t_allow - _min(ev[t], nd[t]), ls[t] / np.float32(2.0))
        else:
            w = _NINF
        wet[t] = w
        fl_best = _max(fl_best, w)
        sel[t] = fl[t] and nd[t] <= prm[_NDVI_LOW]
    lo = (prm[_NDVI_LOW] - lowest) / _SCALE
    canopy = _undated_canopy(ok, nd, wet, days, prm[_GAP_DAYS], prm[_MAX_CYCLE_DAYS])
    hi = (canopy - prm[_NDVI_HIGH]) / _SCALE
    dur = (prm[_MAX_FLOOD_DAYS] - _spell_days(sel, ok, days, np.float32(45.0))) / np.float32(10.0)
    und = _min(_min(_min(_min(lo, hi), fl_best / _SCALE), dur), mm)
    if flags[F_HIDDEN]:
        bare_lswi = prm[_HIDDEN_BARE_LSWI] if flags[F_HIDDEN_BARE] else _PINF
        und = _max(und, _min(_hidden_crop(wet, ok, fl, nd, ls, days, prm, bare_lswi, scale_days), mm))
    if flags[F_WET_CANOPY] and flags[F_UNDATED_WET]:
        for t in range(nd.size):
            wet_canopy[t] = _NINF
            if nd[t] >= prm[_CANOPY_MIN]:
                wet_canopy[t] = _min((nd[t] - prm[_NDVI_HIGH]) / _SCALE, (ls[t] - prm[_UNDATED_WET_LSWI]) / _SCALE)
            sel[t] = ok[t] and ls[t] >= prm[_WET_CANOPY_LSWI] and nd[t] < prm[_CANOPY_MIN]
        seen = _canopy_after_gap(ok, wet_canopy, sel, days, prm[_GAP_DAYS], scale_days)
        und = _max(und, _min(_min(_min(seen, lo), dur), mm))
    return _NINF if und != und else und


@_jit(_SIG)
def _pixels(ndvi: Any, evi: Any, lswi: Any, valid: Any, days: Any, in_win: Any, ends: Any, prm: Any, flags: Any,
            onset: Any, growth: Any, n_valid: Any, n_window: Any, water: Any, forest: Any, mask_margin: Any,
            undated: Any) -> None:
    n_pix, n_t = ndvi.shape
    nd, ev, ls = np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32)
    ok, fl, in_cycle, sel = (np.empty(n_t, np.bool_), np.empty(n_t, np.bool_), np.empty(n_t, np.bool_),
                             np.empty(n_t, np.bool_))
    wet, wet_canopy, buf = np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(max(n_t, 1), np.float32)
    for p in range(n_pix):
        _series(ndvi, evi, lswi, valid, p, prm, flags, nd, ev, ls, ok, fl)
        nv = 0
        nw = 0
        for t in range(n_t):
            nv += ok[t]
            nw += ok[t] and in_win[t]
        n_valid[p] = nv
        n_window[p] = nw
        has_cycle = _onsets(nd, ev, ls, ok, fl, in_win, ends, prm, flags, p, onset, growth, in_cycle)
        is_water, is_forest, mm = _masks(nd, ls, ok, in_cycle, has_cycle, days, prm, flags)
        scale_days = np.float32(10.0) + np.float32(0.5) * _clear_gap(ok, days, buf)
        if flags[F_GREEN]:
            # Green for longer than a rice crop can be: perennial or long-season vegetation.
            for t in range(n_t):
                sel[t] = ok[t] and nd[t] >= prm[_CANOPY_MIN]
            green_margin = (prm[_MAX_GREEN_DAYS] - _spell_days(sel, ok, days, prm[_GREEN_LINK])) / scale_days
            is_forest = is_forest or green_margin < 0
            mm = _min(mm, green_margin)
        water[p] = is_water
        forest[p] = is_forest
        mask_margin[p] = mm
        undated[p] = _undated(nd, ev, ls, ok, fl, days, prm, flags, mm, scale_days, wet, sel, wet_canopy)


def _parameters(p: OpticalRiceParams) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """The kernel's threshold vector (float32, :data:`PARAM_NAMES` order) and switches."""
    values = dataclasses.asdict(p)
    values["water_limit_cycle"] = max(p.cycle_water_fraction, p.water_fraction)
    prm = np.array([_F32(0.0 if values[n] is None else values[n]) for n in PARAM_NAMES], dtype=_F32)
    flags = np.zeros(N_FLAGS, dtype=np.int64)
    for flag, on in ((F_FLOOD_NDVI_MAX, p.flood_ndvi_max is not None), (F_DRY, p.dry_lswi_max is not None),
                     (F_WET_CANOPY, p.wet_canopy_lswi is not None), (F_SHRUB, p.shrub_lswi_min is not None),
                     (F_GREEN, p.max_green_days is not None), (F_HIDDEN, p.hidden_crop_days is not None),
                     (F_UNDATED_WET, p.undated_wet_canopy_lswi is not None), (F_AT_START, p.onset_at_series_start),
                     (F_OUTSIDE_CYCLES, p.mask_outside_cycles), (F_EARLY, p.early_ndvi_days is not None),
                     (F_HIDDEN_BARE, p.hidden_bare_lswi_max is not None)):
        flags[flag] = on
    flags[F_RULE] = GROWTH_RULES[p.growth_rule]
    return prm, flags


def optical_pixels(
    ndvi: npt.NDArray[np.float32], evi: npt.NDArray[np.float32], lswi: npt.NDArray[np.float32],
    valid: npt.NDArray[np.bool_], days: npt.NDArray[np.int32], in_window: npt.NDArray[np.bool_],
    ends: npt.NDArray[np.int64],
    params: OpticalRiceParams,
) -> dict[str, npt.NDArray[Any]]:
    """Run the compiled per-pixel rule on ``(pixels, time)`` arrays.

    Parameters
    ----------
    ndvi, evi, lswi : numpy.ndarray of float32, ``(pixels, time)``
        Index series, NaN where missing (any strides).
    valid : numpy.ndarray of bool, ``(pixels, time)``
        Clear observations (sensor QA, cloud and snow tests).
    days : numpy.ndarray of int32, ``(time,)``
        Day numbers, increasing.
    in_window : numpy.ndarray of bool, ``(time,)``
        Dates where an onset may be counted (inside a season window, or all).
    ends : numpy.ndarray of int64, ``(4, time)``
        Per onset date, the exclusive end index of its growth, cycle and trough windows and of
        the early-NDVI window (``early_ndvi_days``, not stretched over gaps).
    params : OpticalRiceParams
        The rule's thresholds.

    Returns
    -------
    dict of numpy.ndarray
        ``onset`` (bool) and ``growth`` (float32 margin in logistic units, NaN without onset), both date-major
        ``(time, pixels)``; per pixel ``n_valid``, ``n_window`` (int32), ``water``, ``forest``
        (bool), ``mask_margin`` and ``undated`` (float32 margins in logistic units).
    """
    prm, flags = _parameters(params)
    n_pix, n_t = ndvi.shape
    out: dict[str, npt.NDArray[Any]] = {
        "onset": np.empty((n_t, n_pix), bool), "growth": np.empty((n_t, n_pix), _F32),
        "n_valid": np.empty(n_pix, np.int32), "n_window": np.empty(n_pix, np.int32),
        "water": np.empty(n_pix, bool), "forest": np.empty(n_pix, bool),
        "mask_margin": np.empty(n_pix, _F32), "undated": np.empty(n_pix, _F32),
    }
    _pixels(ndvi, evi, lswi, valid, days.astype(_F32), in_window, ends, prm, flags,
            out["onset"], out["growth"],
            out["n_valid"], out["n_window"], out["water"], out["forest"], out["mask_margin"], out["undated"])
    return out
