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
    "undated_wet_canopy_lswi", "hidden_bare_lswi_max", "hidden_open_water_ndvi",
)
(_MAX_ABS_EVI, _FLOOD_T, _FLOOD_NDVI_MAX, _GROWTH_RATIO, _MIN_PEAK_EVI, _TROUGH_MAX, _CLIMB_MIN, _CANOPY_MIN,
 _DRY_LSWI_MAX, _WET_CANOPY_LSWI, _WATER_NDVI_MAX, _FOREST_NDVI_MIN, _WATER_FRACTION, _WATER_LIMIT_CYCLE,
 _FOREST_FRACTION, _SHRUB_LSWI_MIN, _SHRUB_SPAN, _MAX_GREEN_DAYS, _GREEN_LINK, _NDVI_LOW, _NDVI_HIGH, _GAP_DAYS,
 _MAX_CYCLE_DAYS, _MAX_FLOOD_DAYS, _HIDDEN_CROP_DAYS, _HIDDEN_LINK, _UNDATED_WET_LSWI,
 _HIDDEN_BARE_LSWI, _HIDDEN_OPEN_NDVI) = range(len(PARAM_NAMES))

# Switches in the kernel's flag vector: a None-able parameter set, or a boolean option.
(F_FLOOD_NDVI_MAX, F_DRY, F_WET_CANOPY, F_SHRUB, F_GREEN, F_HIDDEN, F_UNDATED_WET, F_AT_START, F_OUTSIDE_CYCLES,
 F_RULE, F_EARLY, F_HIDDEN_BARE, F_HIDDEN_OPEN) = range(13)
N_FLAGS = 13
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
            peak = _NINF
            for j in range(t + 1, i_early):
                if nd[j] > peak:  # NaN compares False
                    peak = nd[j]
            return _PINF if peak == _NINF else prm[_TROUGH_MAX] - peak
    return _PINF


@_jit()
def _growth_margin(nd: Any, ev: Any, ls: Any, fl: Any, t: int, i_grow: int, i_cyc: int, i_tr: int, i_early: int,
                   prm: Any, flags: Any) -> Any:
    """Growth-confirmation margin (>= 0 passes) of an onset at ``t`` (windows as date indices).

    One walk over the dates from the onset to the last window's end gathers every window's
    extremes (NaN never counts: it compares False) and the dry-down and wet-canopy terms.
    """
    evi_max = _NINF  # over the cycle [t, i_cyc): includes the onset, so finite
    grow = _NINF  # EVI max over (t, i_grow)
    trough = _PINF  # NDVI min over [t, i_tr)
    canopy = _NINF  # NDVI max over (t, i_cyc)
    dry = _PINF  # dry-down margin: bare dry dates before the first canopy date of (t, i_cyc)
    wettest = _NINF  # LSWI of the wettest canopy date of (t, i_cyc)
    before_canopy = True
    for i in range(t, max(i_cyc, i_grow, i_tr)):
        x, y = ev[i], nd[i]
        if i < i_cyc and x > evi_max:
            evi_max = x
        if i < i_tr and y < trough:
            trough = y
        if i == t:
            continue
        if i < i_grow and x > grow:
            grow = x
        if i < i_cyc:
            if y > canopy:
                canopy = y
            is_canopy = y >= prm[_CANOPY_MIN]
            before_canopy = before_canopy and not is_canopy
            if before_canopy and not fl[i] and y <= prm[_TROUGH_MAX] and np.isfinite(ls[i]):
                m = (ls[i] - prm[_DRY_LSWI_MAX]) / _SCALE
                if m < dry:
                    dry = m
            if is_canopy:
                wettest = _max(wettest, ls[i])
    xiao = _min(grow - prm[_GROWTH_RATIO] * evi_max, evi_max - prm[_MIN_PEAK_EVI])
    climb = _min(_min(prm[_TROUGH_MAX] - trough, canopy - trough - prm[_CLIMB_MIN]), canopy - prm[_CANOPY_MIN])
    rule = flags[F_RULE]
    margin = xiao if rule == 0 else climb if rule == 1 else _max(xiao, climb) if rule == 2 else _min(xiao, climb)
    if flags[F_DRY]:
        # A paddy stays flooded from puddling until its canopy closes; a rain puddle on a dryland
        # field dries out (LSWI < 0 over bare soil) before the crop grows. +inf: no bare date.
        margin = _min(margin, dry)
    if flags[F_WET_CANOPY]:
        # A paddy holds water under its canopy until two or three weeks before harvest, so one
        # canopy date of its cycle shows it; an upland crop's canopy stands over drying soil.
        # +inf (no vote) where the cycle shows no canopy date.
        margin = _min(margin, _PINF if wettest == _NINF else wettest - prm[_WET_CANOPY_LSWI])
    if flags[F_EARLY]:
        margin = _min(margin, _early_ndvi_margin(nd, t, i_early, prm))
    return margin


@_jit()
def _spell_step(start: Any, prev: Any, best: Any, w: bool, o: bool, d: Any, link: Any) -> tuple[Any, Any, Any]:
    """One date of the longest-spell walk: spell start, last ``w`` date and longest span so far.

    A clear date that is not ``w`` ends the spell, a cloudy one does not; two ``w`` dates more
    than ``link`` days apart do not make one spell.
    """
    linked = w and start >= 0 and d - prev <= link
    if o and not w:
        start = np.float32(-1.0)
    elif w and not linked:
        start = d
    if w:
        prev = d
        best = _max(best, d - start)
    else:
        best = _max(best, np.float32(0.0))
    return start, prev, best


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
def _hidden_crop(wet: Any, ok: Any, fl: Any, nd: Any, ls: Any, days: Any, prm: Any, flags: Any, bare_lswi: Any,
                 scale_days: Any) -> Any:
    """Margin of "a paddy season hidden in a cloud gap": flooded on bare ground before it, drained after.

    For every gap between two successive clear dates, all of:

    - the two clear dates before the gap both show the paddy flood signal (``wet`` >= 0: LSWI + T
      >= min(EVI, NDVI), LSWI > 0, NDVI <= 0.4), at most ``hidden_flood_link_days`` apart: a paddy
      stays flooded for weeks from puddling on, a rain puddle dries within days; or (with
      ``hidden_open_water_ndvi``) the one clear date before the gap shows the flood signal with
      NDVI at most that: the whole field under open water, as a bunded paddy is;
    - the flooded spell began on bare, dry ground: the last clear date without the flood signal
      before it has NDVI < ``ndvi_canopy_min`` and LSWI < ``hidden_bare_lswi_max``. A paddy is puddled on
      tilled soil; a seasonal wetland floods over its sedge and grass, still green and moist;
    - the gap is at least ``hidden_crop_days`` long, so the crop's canopy could fall inside it;
    - the first clear date after the gap is not flooded: paddies are drained for the harvest,
      while ponds, water bodies and wetlands in their flood season are still under water.

    The margin is the smallest of the wet margins and the bare-ground margin (index units /
    0.05) and the gap excess in units of ``scale_days``; the best gap counts (-inf: none). It is
    weak evidence on its own (no canopy was seen), hence undated and never used with calendar
    windows. Cloudy dates change nothing, so they are skipped.
    """
    last_d = np.float32(-1e9)  # day of the last clear date ...
    prev_d = np.float32(-2e9)  # ... and of the clear date before it
    last_w = _NINF  # their wet margins
    prev_w = _NINF
    dry_nd = _PINF  # NDVI and LSWI of the last clear date without flood
    dry_ls = _PINF
    last_nd = _PINF  # NDVI of the last clear date
    onset_bare = _NINF  # bare-ground margin of the current flooded spell
    best = _NINF
    for t in range(days.size):
        if not ok[t]:
            continue
        d, w = days[t], wet[t]
        if not fl[t]:  # a flooded date after the gap: no vote
            linked = last_d - prev_d <= prm[_HIDDEN_LINK]
            wet_before = _min(last_w, prev_w if linked else _NINF) / _SCALE
            if flags[F_HIDDEN_OPEN]:
                # One flooded date suffices when the field is open water from bund to bund.
                wet_before = _max(wet_before, _min(last_w, prm[_HIDDEN_OPEN_NDVI] - last_nd) / _SCALE)
            gap = (d - last_d - prm[_HIDDEN_CROP_DAYS]) / scale_days
            best = _max(best, _min(_min(wet_before, gap), onset_bare))
        is_wet = w >= 0
        if is_wet and not last_w >= 0:
            onset_bare = _min(prm[_CANOPY_MIN] - dry_nd, bare_lswi - dry_ls) / _SCALE
        if not is_wet:
            dry_nd = nd[t]
            dry_ls = ls[t]
        prev_w, prev_d = last_w, last_d
        last_w, last_d, last_nd = w, d, nd[t]
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
def _series(ndvi: Any, evi: Any, lswi: Any, valid: Any, p: int, prm: Any, flags: Any, in_win: Any, nd: Any, ev: Any,
            ls: Any, ok: Any, fl: Any) -> tuple[int, int]:
    """Pixel ``p``'s valid observations (finite indices, bounded EVI; others NaN) and flood signal.

    Returns the counts of valid observations, in all and inside the season windows.
    """
    t_allow = prm[_FLOOD_T]
    nv = 0
    nw = 0
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
        nv += o
        nw += o and in_win[t]
    return nv, nw


@_jit()
def _onsets(nd: Any, ev: Any, ls: Any, ok: Any, fl: Any, in_win: Any, ends: Any, prm: Any, flags: Any, p: int,
            onset: Any, growth: Any, in_cycle: Any) -> bool:
    """Flood onsets of pixel ``p`` and their growth margins (logistic units), dates of confirmed cycles.

    A cloudy date never changes the flood state. Returns True when some cycle is confirmed.
    """
    state = 0 if flags[F_AT_START] else -1
    has_cycle = False
    for t in range(nd.size):
        in_cycle[t] = False
    for t in range(nd.size):
        is_onset = fl[t] and state == 0 and in_win[t]
        if ok[t]:
            state = 1 if fl[t] else 0
        onset[p, t] = is_onset
        growth[p, t] = _NAN
        if is_onset:
            g = _growth_margin(nd, ev, ls, fl, t, ends[0, t], ends[1, t], ends[2, t], ends[3, t], prm, flags)
            growth[p, t] = g / _SCALE
            if flags[F_OUTSIDE_CYCLES] and g >= 0:
                for i in range(t, ends[1, t]):
                    in_cycle[i] = True
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
             wet: Any) -> Any:
    """Margin of the undated evidence (rules_optical's step 7), NaN as -inf."""
    t_allow, gap, cycle = prm[_FLOOD_T], prm[_GAP_DAYS], prm[_MAX_CYCLE_DAYS]
    lowest = _PINF  # lowest clear NDVI
    fl_best = _NINF  # best flood signal on a dark date
    start, prev, spell = np.float32(-1.0), np.float32(-1e9), np.float32(0.0)  # longest flooded dark spell
    # Highest clear NDVI seen after a flooded date (``wet >= 0``), at most ``max_cycle_days`` later, when
    # since that date the widest interval between clear dates exceeds ``gap_days`` or fewer than two
    # clear dates were seen (the dated rule cannot follow the cycle there).
    last_wet, last_ok, between, widest, canopy = _NINF, _NINF, 0, np.float32(0.0), _NINF
    for t in range(nd.size):
        wet[t] = _NINF
        if not ok[t]:  # a cloudy date changes none of these
            continue
        d, y = days[t], nd[t]
        lowest = min(lowest, y)
        w = _min(ls[t] + t_allow - _min(ev[t], y), ls[t] / np.float32(2.0)) if y <= prm[_TROUGH_MAX] else _NINF
        wet[t] = w
        fl_best = _max(fl_best, w)
        start, prev, spell = _spell_step(start, prev, spell, fl[t] and y <= prm[_NDVI_LOW], True, d, np.float32(45.0))
        widest = _max(widest, d - last_ok)
        if d - last_wet <= cycle and (widest > gap or between < 2):
            canopy = _max(canopy, y)
        if w >= 0:
            between, widest, last_wet = 0, np.float32(0.0), d
        else:
            between += 1
        last_ok = d
    lo = (prm[_NDVI_LOW] - lowest) / _SCALE
    hi = (canopy - prm[_NDVI_HIGH]) / _SCALE
    dur = (prm[_MAX_FLOOD_DAYS] - spell) / np.float32(10.0)
    und = _min(_min(_min(_min(lo, hi), fl_best / _SCALE), dur), mm)
    if flags[F_HIDDEN]:
        bare_lswi = prm[_HIDDEN_BARE_LSWI] if flags[F_HIDDEN_BARE] else _PINF
        und = _max(und, _min(_hidden_crop(wet, ok, fl, nd, ls, days, prm, flags, bare_lswi, scale_days), mm))
    if flags[F_WET_CANOPY] and flags[F_UNDATED_WET]:
        # A canopy standing in water seen after a gap: the best min(canopy margin, (gap before the
        # date - gap_days) / scale_days) over clear dates. Only canopy dates vote; a young crop in
        # water (below canopy greenness, LSWI >= wet_canopy_lswi) does not end the gap.
        last = _NINF
        seen = _NINF
        for t in range(nd.size):
            if not ok[t]:
                continue
            y = nd[t]
            c = _NINF
            if y >= prm[_CANOPY_MIN]:
                c = _min((y - prm[_NDVI_HIGH]) / _SCALE, (ls[t] - prm[_UNDATED_WET_LSWI]) / _SCALE)
            seen = _fmax(seen, _min(c, (days[t] - last - prm[_GAP_DAYS]) / scale_days))
            if not (ls[t] >= prm[_WET_CANOPY_LSWI] and y < prm[_CANOPY_MIN]):
                last = days[t]
        und = _max(und, _min(_min(_min(seen, lo), dur), mm))
    return _NINF if und != und else und


@_jit(_SIG)
def _pixels(ndvi: Any, evi: Any, lswi: Any, valid: Any, days: Any, in_win: Any, ends: Any, prm: Any, flags: Any,
            onset: Any, growth: Any, n_valid: Any, n_window: Any, water: Any, forest: Any, mask_margin: Any,
            undated: Any) -> None:
    n_pix, n_t = ndvi.shape
    nd, ev, ls = np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32)
    ok, fl, in_cycle = np.empty(n_t, np.bool_), np.empty(n_t, np.bool_), np.empty(n_t, np.bool_)
    wet, buf = np.empty(n_t, np.float32), np.empty(max(n_t, 1), np.float32)
    for p in range(n_pix):
        n_valid[p], n_window[p] = _series(ndvi, evi, lswi, valid, p, prm, flags, in_win, nd, ev, ls, ok, fl)
        has_cycle = _onsets(nd, ev, ls, ok, fl, in_win, ends, prm, flags, p, onset, growth, in_cycle)
        is_water, is_forest, mm = _masks(nd, ls, ok, in_cycle, has_cycle, days, prm, flags)
        scale_days = np.float32(10.0) + np.float32(0.5) * _clear_gap(ok, days, buf)
        if flags[F_GREEN]:
            # Green for longer than a rice crop can be: perennial or long-season vegetation.
            start, prev, spell = np.float32(-1.0), np.float32(-1e9), np.float32(0.0)
            for t in range(n_t):
                start, prev, spell = _spell_step(start, prev, spell, ok[t] and nd[t] >= prm[_CANOPY_MIN], ok[t],
                                                 days[t], prm[_GREEN_LINK])
            green_margin = (prm[_MAX_GREEN_DAYS] - spell) / scale_days
            is_forest = is_forest or green_margin < 0
            mm = _min(mm, green_margin)
        water[p] = is_water
        forest[p] = is_forest
        mask_margin[p] = mm
        undated[p] = _undated(nd, ev, ls, ok, fl, days, prm, flags, mm, scale_days, wet)


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
                     (F_HIDDEN_BARE, p.hidden_bare_lswi_max is not None),
                     (F_HIDDEN_OPEN, p.hidden_open_water_ndvi is not None)):
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
        ``onset`` (bool) and ``growth`` (float32 margin in logistic units, NaN without onset), both
        ``(pixels, time)``; per pixel ``n_valid``, ``n_window`` (int32), ``water``, ``forest``
        (bool), ``mask_margin`` and ``undated`` (float32 margins in logistic units).
    """
    prm, flags = _parameters(params)
    n_pix, n_t = ndvi.shape
    out: dict[str, npt.NDArray[Any]] = {
        "onset": np.empty((n_pix, n_t), bool), "growth": np.empty((n_pix, n_t), _F32),
        "n_valid": np.empty(n_pix, np.int32), "n_window": np.empty(n_pix, np.int32),
        "water": np.empty(n_pix, bool), "forest": np.empty(n_pix, bool),
        "mask_margin": np.empty(n_pix, _F32), "undated": np.empty(n_pix, _F32),
    }
    _pixels(ndvi, evi, lswi, valid, days.astype(_F32), in_window, ends, prm, flags,
            out["onset"], out["growth"],
            out["n_valid"], out["n_window"], out["water"], out["forest"], out["mask_margin"], out["undated"])
    return out
