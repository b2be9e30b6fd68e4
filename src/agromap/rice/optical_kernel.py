"""The optical rice rule's per-pixel computation, compiled (numba).

:func:`optical_pixels` walks the pixels of a tile, and each pixel's series in two inner loops
(see "per-pixel pieces" below): validity, flood signal and onsets, the growth confirmation of
every onset, the land-cover masks, the green-spell limit and the undated evidence
(docs/science/rice.md#optical-flooding-rule; the rule's text is in
:mod:`agromap.rice.rules_optical`, which calls this module). :func:`optical_band_pixels` does
the same from the reflectances, computing the indices and the clear-sky tests per date. Season
slots and the score stay in numpy (:class:`agromap.rice.seasons.SeasonSlots`, shared with the
SAR rule).

Why compiled: the rule's steps are short loops over a dozen to a few dozen dates with state
carried from date to date (the last clear date, the current flooded spell, the widest gap), so
as whole-array numpy operations every step allocates and walks the tile's pixels again; the
rule cost ten times the decoding of its inputs. Per pixel, the series stays in cache.

Bits: every value is computed with the same float32 operations in the same order as the numpy
formulation it replaced (kept as the reference in ``tests/test_29_rice_optical_kernel.py``,
which asserts equal outputs); no fast-math, NaN handled as ``numpy.minimum``/``maximum``
(propagated) or ``numpy.fmax`` (ignored), exactly where the numpy code used each.

Compilation: importing this module imports numba and loads (or compiles, ~10 s) the kernel for
its two signatures (float32 indices or reflectances, bool validity), so the package imports it
only on the rule's first call (``agromap --help``, ``validate`` and ``import agromap.rice`` never
load numba). Where the machine code is cached, and the compile options, are in
:mod:`agromap.jit`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt

from ..jit import fmax as _fmax
from ..jit import jit as _jit
from ..jit import maximum as _max
from ..jit import minimum as _min
from .optical_params import OpticalRiceParams

__all__ = ["optical_pixels", "optical_band_pixels"]

# Float32 thresholds of :class:`~agromap.rice.optical_params.OpticalRiceParams` in the
#: kernel's parameter vector, in this order (``None`` parameters are switched off by a flag).
PARAM_NAMES = (
    "max_abs_evi", "flood_t", "flood_ndvi_max", "growth_ratio", "min_peak_evi", "ndvi_trough_max",
    "ndvi_climb_min", "ndvi_canopy_min", "dry_lswi_max", "wet_canopy_lswi", "water_ndvi_max",
    "forest_ndvi_min", "water_fraction", "water_limit_cycle", "forest_fraction", "shrub_lswi_min",
    "shrub_min_span_days", "max_green_days", "green_link_days", "ndvi_low", "ndvi_high", "gap_days",
    "max_cycle_days", "max_flood_days", "hidden_crop_days", "hidden_flood_link_days",
    "undated_wet_canopy_lswi", "hidden_bare_lswi_max", "cloud_blue", "haze_hot", "snow_ndsi", "snow_nir",
    "hidden_open_water_ndvi", "harvest_lswi_max", "harvest_ndvi_min", "sparse_max_dates", "sparse_gap_days",
    "sparse_canopy_lswi", "peak_window_days", "flood_stubble_days", "seedbed_ndvi_max", "seedbed_lswi_margin",
    "seedbed_max_days",
)
(_MAX_ABS_EVI, _FLOOD_T, _FLOOD_NDVI_MAX, _GROWTH_RATIO, _MIN_PEAK_EVI, _TROUGH_MAX, _CLIMB_MIN, _CANOPY_MIN,
 _DRY_LSWI_MAX, _WET_CANOPY_LSWI, _WATER_NDVI_MAX, _FOREST_NDVI_MIN, _WATER_FRACTION, _WATER_LIMIT_CYCLE,
 _FOREST_FRACTION, _SHRUB_LSWI_MIN, _SHRUB_SPAN, _MAX_GREEN_DAYS, _GREEN_LINK, _NDVI_LOW, _NDVI_HIGH, _GAP_DAYS,
 _MAX_CYCLE_DAYS, _MAX_FLOOD_DAYS, _HIDDEN_CROP_DAYS, _HIDDEN_LINK, _UNDATED_WET_LSWI,
 _HIDDEN_BARE_LSWI, _CLOUD_BLUE, _HAZE_HOT, _SNOW_NDSI, _SNOW_NIR, _HIDDEN_OPEN_NDVI, _HARVEST_LSWI,
 _HARVEST_NDVI, _SPARSE_DATES, _SPARSE_GAP, _SPARSE_LSWI, _PEAK_WINDOW, _FLOOD_STUBBLE,
 _SEEDBED_NDVI, _SEEDBED_MARGIN, _SEEDBED_DAYS) = range(len(PARAM_NAMES))

# Switches in the kernel's flag vector: a None-able parameter set, or a boolean option.
(F_FLOOD_NDVI_MAX, F_DRY, F_WET_CANOPY, F_SHRUB, F_GREEN, F_HIDDEN, F_UNDATED_WET, F_AT_START, F_OUTSIDE_CYCLES,
 F_RULE, F_EARLY, F_HIDDEN_BARE, F_CLOUD, F_HAZE, F_SNOW, F_BASE, F_HIDDEN_OPEN, F_HARVEST, F_SPARSE,
 F_FLOOD_STUBBLE, F_SEEDBED) = range(21)
N_FLAGS = 21
# ``flags[F_RULE]``: the growth rule's code.
GROWTH_RULES = {"xiao": 0, "ndvi": 1, "either": 2, "both": 3}

_F32 = np.float32
_NINF = np.float32(-np.inf)
_PINF = np.float32(np.inf)
_NAN = np.float32(np.nan)
_SCALE = np.float32(0.05)  # margin units per logistic unit (rules_optical's score scale)


# ---- per-pixel pieces ------------------------------------------------------------------------
#
# A pixel's series is walked twice. The first walk (:func:`_clear_dates`) keeps its clear dates,
# packed: a cloudy date changes no term of the rule (its indices are NaN, which every
# comparison rejects, and no state carries over it), so every later step looks at clear dates
# only, without a branch per date on the cloud test. It also collects the intervals between
# clear dates, whose median scales the day margins. The second walk (:func:`_pixel_terms`) goes
# once through the clear dates in time order and advances every term at each date: the flood
# state and the onsets (each onset's growth windows read ahead in the packed series), the
# land-cover masks, the green spell and the undated evidence. A term only ever sees its own
# dates in time order, so each is computed with the same float32 operations in the same order
# as when it had a walk of its own.

@_jit(nrt=False)
def _growth_margin(  # noqa: C901 (one walk per onset; a helper call per onset costs 5 % of the kernel)
    k: int, n: int, ci: Any, cn: Any, ce: Any, cl: Any, cf: Any, i_grow: int, i_cyc: int, i_tr: int, i_early: int,
    prm: Any, flags: Any,
) -> Any:
    """Growth-confirmation margin (>= 0 passes) of an onset at packed clear date ``k``.

    Windows are date indices (exclusive ends) on the full date axis; ``ci`` maps packed clear
    dates to it. One walk from the onset to the last window's end gathers every window's
    extremes and the dry-down and wet-canopy terms.
    """
    evi_max = _NINF  # over the cycle [t, i_cyc): includes the onset, so finite
    grow = _NINF  # EVI max over (t, i_grow)
    trough = _PINF  # NDVI min over [t, i_tr)
    canopy = _NINF  # NDVI max over (t, i_cyc)
    dry = _PINF  # dry-down margin: bare dry dates before the first canopy date of (t, i_cyc)
    wettest = _NINF  # LSWI of the wettest canopy date of (t, i_cyc)
    before_canopy = True
    end = max(i_cyc, i_grow, i_tr)
    for j in range(k, n):
        i = ci[j]
        if i >= end:
            break
        x, y = ce[j], cn[j]
        if i < i_cyc and x > evi_max:
            evi_max = x
        if i < i_tr and y < trough:
            trough = y
        if j == k:
            continue
        if i < i_grow and x > grow:
            grow = x
        if i < i_cyc:
            if y > canopy:
                canopy = y
            is_canopy = y >= prm[_CANOPY_MIN]
            before_canopy = before_canopy and not is_canopy
            if before_canopy and not cf[j] and y <= prm[_TROUGH_MAX]:
                m = (cl[j] - prm[_DRY_LSWI_MAX]) / _SCALE
                if m < dry:
                    dry = m
            if is_canopy:
                wettest = _max(wettest, cl[j])
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
        # "No vegetation in the first days after the onset": ``ndvi_trough_max`` minus the
        # highest NDVI of the clear dates in (onset, ``i_early``). A paddy is water and seedlings
        # for weeks after puddling, while a flood under standing vegetation (basin irrigation
        # between orchard rows, rain on a growing crop) is gone at the next date. +inf (no vote)
        # without such a date, or when the onset is the pixel's first clear date (the series
        # may start inside a season).
        early = _PINF
        if k > 0:
            peak = _NINF
            for j in range(k + 1, n):
                if ci[j] >= i_early:
                    break
                if cn[j] > peak:
                    peak = cn[j]
            if peak != _NINF:
                early = prm[_TROUGH_MAX] - peak
        margin = _min(margin, early)
    return margin


@_jit()
def _spell_step(start: Any, prev: Any, best: Any, w: bool, d: Any, link: Any) -> tuple[Any, Any, Any]:
    """One clear date of the longest-spell walk: spell start, last ``w`` date and longest span so far.

    A clear date that is not ``w`` ends the spell (cloudy dates are not walked: they do not);
    two ``w`` dates more than ``link`` days apart do not make one spell.
    """
    linked = w and start >= 0 and d - prev <= link
    if not w:
        start = np.float32(-1.0)
    elif not linked:
        start = d
    if w:
        prev = d
        best = _max(best, d - start)
    else:
        best = _max(best, np.float32(0.0))
    return start, prev, best


@_jit(nrt=False)
def _clear_dates(ndvi: Any, evi: Any, lswi: Any, valid: Any, p: int, days: Any, in_win: Any, prm: Any, flags: Any,
                 ci: Any, cd: Any, cn: Any, ce: Any, cl: Any, cf: Any, buf: Any,
                 onset: Any, growth: Any) -> tuple[int, int, Any]:
    """First walk: pixel ``p``'s clear dates packed into ``ci`` .. ``cf``, and the median clear gap.

    A clear date has a valid observation with finite indices and ``|EVI| <= max_abs_evi``; ``ci``
    holds its date index, ``cd`` its day, ``cn``/``ce``/``cl`` its NDVI/EVI/LSWI and ``cf`` its
    flood signal. Clears the pixel's onset row. Returns the number of clear dates, of those
    inside the season windows, and the median interval (days) between successive clear dates
    (365 with fewer than two; of an even count, the mean of the two middle ones, as
    ``numpy.nanmedian``).
    """
    t_allow = prm[_FLOOD_T]
    n = 0
    nw = 0
    for t in range(days.size):
        onset[p, t] = False
        growth[p, t] = _NAN
        if valid[p, t] and _keep(n, t, days[t], ndvi[p, t], evi[p, t], lswi[p, t], t_allow, flags, prm,
                                 ci, cd, cn, ce, cl, cf, buf):
            nw += in_win[t]
            n += 1
    return n, nw, _median_gap(n, buf)


@_jit(nrt=False, inline=True)
def _keep(n: int, t: int, d: Any, a: Any, b: Any, c: Any, t_allow: Any, flags: Any, prm: Any, ci: Any, cd: Any,
          cn: Any, ce: Any, cl: Any, cf: Any, buf: Any) -> bool:
    """Pack clear date ``t`` (NDVI ``a``, EVI ``b``, LSWI ``c``) as the ``n``-th with its flood signal, and its
    interval from the previous one into ``buf`` (sorted); False, nothing packed, when an index is not usable.
    """
    if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(c) and abs(b) <= prm[_MAX_ABS_EVI]):
        return False
    f = c + t_allow >= b or c + t_allow >= a
    if flags[F_FLOOD_NDVI_MAX]:
        f = f and a <= prm[_FLOOD_NDVI_MAX]
    if n > 0:
        g = d - cd[n - 1]
        j = n - 1  # insertion sort: a dozen values, nearly sorted on a regular revisit
        while j > 0 and buf[j - 1] > g:
            buf[j] = buf[j - 1]
            j -= 1
        buf[j] = g
    ci[n], cd[n], cn[n], ce[n], cl[n], cf[n] = t, d, a, b, c, f
    return True


@_jit(nrt=False, inline=True)
def _median_gap(n: int, buf: Any) -> Any:
    """Median of the ``n - 1`` sorted intervals in ``buf`` (365 with none; of an even count the
    mean of the two middle ones, as ``numpy.nanmedian``).
    """
    if n < 2:
        return np.float32(365.0)
    return (buf[(n - 2) // 2] + buf[(n - 1) // 2]) / np.float32(2.0)


@_jit(inline=True)
def _nd(a: Any, b: Any) -> Any:
    """(a - b) / (a + b), NaN where the sum is 0 or the quotient infinite: ``indices.ndvi`` et al."""
    q = (a - b) / (a + b)
    return _NAN if a + b == 0 or np.isinf(q) else q


@_jit(inline=True)
def _evi(n: Any, r: Any, b: Any) -> Any:
    """2.5 (n - r) / (n + 6 r - 7.5 b + 1) in that order, NaN as :func:`_nd`: ``indices.evi``."""
    den = n + r * np.float32(6.0) - b * np.float32(7.5) + np.float32(1.0)
    q = (n - r) * np.float32(2.5) / den
    return _NAN if den == 0 or np.isinf(q) else q


@_jit(nrt=False)
def _clear_band_dates(nir: Any, red: Any, blue: Any, swir16: Any, lswi_nir: Any, green: Any, base: Any, p: int,
                      days: Any, in_win: Any, prm: Any, flags: Any, ci: Any, cd: Any, cn: Any, ce: Any, cl: Any,
                      cf: Any, buf: Any, onset: Any, growth: Any) -> tuple[int, int, Any]:
    """:func:`_clear_dates` from the reflectances: the indices and the cloud, haze and snow tests per date.

    The same float32 operations as :mod:`agromap.indices` and ``rules_optical.clear_observations``
    on whole arrays; the indices are computed only for dates that pass the tests. ``base``
    (``flags[F_BASE]``) is the caller's mask or the QA band's.
    """
    t_allow = prm[_FLOOD_T]
    n = 0
    nw = 0
    for t in range(days.size):
        onset[p, t] = False
        growth[p, t] = _NAN
        if flags[F_BASE] and not base[p, t]:
            continue
        n_, r_, b_ = nir[p, t], red[p, t], blue[p, t]
        if flags[F_CLOUD] and not b_ < prm[_CLOUD_BLUE]:
            continue
        if flags[F_HAZE] and b_ - np.float32(0.5) * r_ > prm[_HAZE_HOT]:
            continue
        if flags[F_SNOW] and _nd(green[p, t], swir16[p, t]) > prm[_SNOW_NDSI] and n_ > prm[_SNOW_NIR]:
            continue
        if _keep(n, t, days[t], _nd(n_, r_), _evi(n_, r_, b_), _nd(lswi_nir[p, t], swir16[p, t]), t_allow, flags,
                 prm, ci, cd, cn, ce, cl, cf, buf):
            nw += in_win[t]
            n += 1
    return n, nw, _median_gap(n, buf)


@_jit()
def _masks(n: int, n_water: int, n_forest: int, shrub_any: bool, shrub_all: bool, shrub_span: Any, has_cycle: bool,
           prm: Any, flags: Any) -> tuple[bool, bool, Any]:
    """Water and forest (evergreen forest or shrub) masks and the mask margin, before the green spell.

    Counts are of clear dates outside confirmed cycles, as fractions of all ``n`` clear dates.
    """
    water_frac = np.float32(n_water) / np.float32(n) if n > 0 else _NAN
    forest_frac = np.float32(n_forest) / np.float32(n) if n > 0 else _NAN
    water_limit = prm[_WATER_LIMIT_CYCLE] if has_cycle else prm[_WATER_FRACTION]
    is_water = water_frac >= water_limit
    is_forest = forest_frac >= prm[_FOREST_FRACTION]
    if flags[F_SHRUB]:
        span = shrub_span if shrub_any else np.float32(0.0)
        is_forest = is_forest or (shrub_any and shrub_all and span >= prm[_SHRUB_SPAN])
    mm = _min(water_limit - water_frac, prm[_FOREST_FRACTION] - forest_frac)
    mm = _NINF if (mm != mm or is_forest) else mm / _SCALE
    return is_water, is_forest, mm


@_jit(nrt=False)
def _pixel_terms(  # noqa: C901 (one walk for all terms; a helper per term is a call per date, +30 % time)
    n: int, ci: Any, cd: Any, cn: Any, ce: Any, cl: Any, cf: Any, in_win: Any, ends: Any, prm: Any, flags: Any,
    scale_days: Any, p: int, onset: Any, growth: Any,
) -> tuple[bool, bool, Any, Any]:
    """Second walk, over the packed clear dates: onsets, masks, green spell and undated evidence.

    Writes pixel ``p``'s onsets and growth margins (logistic units); returns the water and forest
    masks, the mask margin and the undated margin (logistic units, NaN as -inf). A confirmed
    cycle covers the dates [onset, cycle end) of the full axis, so a date is inside one when it
    comes before the furthest cycle end of the onsets up to it.
    """
    t_allow, gap_days, max_cycle, trough_max = prm[_FLOOD_T], prm[_GAP_DAYS], prm[_MAX_CYCLE_DAYS], prm[_TROUGH_MAX]
    canopy_min = prm[_CANOPY_MIN]
    hidden, wet_canopy = flags[F_HIDDEN], flags[F_WET_CANOPY] and flags[F_UNDATED_WET]
    # onsets: a cloudy date never changes the flood state
    state = 0 if flags[F_AT_START] else -1
    has_cycle = False
    cycle_end = 0
    # masks: counts of clear dates outside confirmed cycles
    n_water = 0
    n_forest = 0
    shrub_any = False
    shrub_all = True
    first = _PINF
    last = _NINF
    # harvest: a canopy standing in water (``wet_canopy_lswi``, when set) seen, then stubble on dry soil
    wet_crop = False
    harvest = False
    crop_lswi = prm[_WET_CANOPY_LSWI] if flags[F_WET_CANOPY] else _NINF
    # sparse series: a canopy standing in water and open water seen, and the longest clear interval
    sparse_canopy = False
    sparse_open = False
    longest = np.float32(0.0)
    # flooded field, then stubble: day of the first open-water date, deepest open water so far, best margin
    stubble_on = flags[F_FLOOD_STUBBLE] and flags[F_HIDDEN_OPEN] and flags[F_HARVEST]
    s_first = _PINF
    s_open = _NINF
    s_best = _NINF
    s_bare = _NINF  # bare-ground margin of the last clear date without the flood signal
    s_bare_d = np.float32(-1e9)  # ... and its day
    # ... or a flooded seedbed on bare ground: the flood episode (the spell of seedbed dates of the
    # latest one that qualified) starts on day b_start with margin b_open, its last seedbed date is
    # b_last, b_wide is the widest clear interval since it started, b_dry whether it dried out before such
    # an interval; b_spell starts the current spell
    seedbed = stubble_on and flags[F_SEEDBED] and hidden
    b_start, b_open, b_last, b_wide, b_spell, b_prev = _PINF, _NINF, _NINF, np.float32(0.0), _PINF, False
    b_dry = False
    # green spell: green for longer than a rice crop can be (perennial or long-season vegetation)
    g_start, g_prev, g_spell = np.float32(-1.0), np.float32(-1e9), np.float32(0.0)
    # undated evidence (rules_optical's step 7): lowest clear NDVI, best flood signal on a dark
    # date, longest flooded dark spell, and the highest clear NDVI seen after a flooded date
    # (``wet >= 0``), at most ``max_cycle_days`` later, when since that date the widest interval
    # between clear dates exceeds ``gap_days`` or fewer than two clear dates were seen (the
    # dated rule cannot follow the cycle there).
    lowest = _PINF
    fl_best = _NINF
    f_start, f_prev, f_spell = np.float32(-1.0), np.float32(-1e9), np.float32(0.0)
    last_wet, last_ok, between, widest, canopy = _NINF, _NINF, 0, np.float32(0.0), _NINF
    # hidden crop (see the walk below)
    h_last_d = np.float32(-1e9)
    h_prev_d = np.float32(-2e9)
    h_last_w = _NINF
    h_prev_w = _NINF
    dry_nd = _PINF
    dry_ls = _PINF
    h_last_nd = _PINF  # NDVI of the last clear date
    onset_bare = _NINF
    h_best = _NINF
    bare_lswi = prm[_HIDDEN_BARE_LSWI] if flags[F_HIDDEN_BARE] else _PINF
    zero_scale = scale_days == 0
    # canopy in water after a gap
    c_last = _NINF
    c_seen = _NINF
    for k in range(n):
        t, d, y, x, ls, fl = ci[k], cd[k], cn[k], ce[k], cl[k], cf[k]
        open_water = y < prm[_WATER_NDVI_MAX] and y < ls  # the water test of the mask and the terms below

        # -- flood onset and its growth confirmation
        is_onset = fl and state == 0 and in_win[t]
        state = 1 if fl else 0
        if is_onset:
            onset[p, t] = True
            g = _growth_margin(k, n, ci, cn, ce, cl, cf, ends[0, t], ends[1, t], ends[2, t], ends[3, t], prm, flags)
            growth[p, t] = g / _SCALE
            if flags[F_OUTSIDE_CYCLES] and g >= 0:
                cycle_end = max(cycle_end, ends[1, t])
                has_cycle = True

        # -- water, forest and shrub dates (outside confirmed cycles: onsets up to t are known)
        if t >= cycle_end:
            n_water += open_water
            n_forest += y >= prm[_FOREST_NDVI_MIN]
            if not open_water:
                shrub_any = True
                first = min(first, d)
                last = max(last, d)
                shrub_all = shrub_all and ls >= prm[_SHRUB_LSWI_MIN]

        # -- harvest: stubble on dry soil after a canopy in water (on any date, in a cycle or not)
        if flags[F_HARVEST]:
            harvest = harvest or (wet_crop and y >= prm[_HARVEST_NDVI] and y <= prm[_NDVI_LOW] and ls < prm[_HARVEST_LSWI])
            wet_crop = wet_crop or (y >= prm[_NDVI_HIGH] and ls >= crop_lswi)

        # -- sparse series: a canopy standing in water, open water (on any date), the widest interval
        if flags[F_SPARSE]:
            sparse_canopy = sparse_canopy or (y >= prm[_NDVI_HIGH] and ls >= prm[_SPARSE_LSWI])
            sparse_open = sparse_open or open_water
            if k > 0:
                longest = _max(longest, d - cd[k - 1])

        # -- green spell
        g_start, g_prev, g_spell = _spell_step(g_start, g_prev, g_spell, y >= canopy_min, d, prm[_GREEN_LINK])

        # -- undated evidence
        lowest = min(lowest, y)
        w = _min(ls + t_allow - _min(x, y), ls / np.float32(2.0)) if y <= trough_max else _NINF
        fl_best = _max(fl_best, w)
        f_start, f_prev, f_spell = _spell_step(f_start, f_prev, f_spell, fl and y <= prm[_NDVI_LOW], d,
                                               np.float32(45.0))
        widest = _max(widest, d - last_ok)
        if d - last_wet <= max_cycle and (widest > gap_days or between < 2):
            canopy = _max(canopy, y)
        if w >= 0:
            between, widest, last_wet = 0, np.float32(0.0), d
        else:
            between += 1
        last_ok = d

        # -- a flooded field, then its stubble on dry soil (the crop between hidden by clouds): the
        #    best min(margin of the deepest open water before, stubble margin, (days since the first
        #    open-water date - flood_stubble_days) / scale_days). Only stubble dates vote; open
        #    water on a later date cancels the votes so far (a drained pond refilled). The open
        #    water counts when the last clear date without the flood signal before it was bare
        #    (a paddy is puddled on tilled soil; a wetland floods over its green, moist grass).
        if stubble_on:
            if seedbed and k > 0 and cd[k - 1] >= b_start:
                b_wide = _max(b_wide, d - cd[k - 1])
            if y >= prm[_HARVEST_NDVI] and y <= prm[_NDVI_LOW] and ls < prm[_HARVEST_LSWI]:
                st = _min(_min(y - prm[_HARVEST_NDVI], prm[_NDVI_LOW] - y), prm[_HARVEST_LSWI] - ls) / _SCALE
                s_best = _fmax(s_best, _min(_min(s_open, st), (d - s_first - prm[_FLOOD_STUBBLE]) / scale_days))
                # The seedbed's stubble also needs the flood episode short (seedbed_max_days), a clear
                # interval since it began long enough to hide the canopy (hidden_crop_days), and no dry
                # soil before that interval; gates, not margins: a pixel that fails one keeps its score.
                if seedbed and not b_dry and b_last - b_start <= prm[_SEEDBED_DAYS] and b_wide >= prm[_HIDDEN_CROP_DAYS]:
                    s_best = _fmax(s_best, _min(_min(b_open, st), (d - b_start - prm[_FLOOD_STUBBLE]) / scale_days))
            if open_water:
                s_best = _NINF
            if y <= prm[_HIDDEN_OPEN_NDVI] and y < ls:
                s_open = _max(s_open, _min(_min(prm[_HIDDEN_OPEN_NDVI] - y, ls - y) / _SCALE, s_bare))
                s_first = min(s_first, d)
            if seedbed:
                # Bare dry soil after the flood began and before the gap: the flood dried out (a rain puddle).
                if d > b_start and b_wide < prm[_HIDDEN_CROP_DAYS] and y <= prm[_NDVI_LOW] and ls < prm[_HARVEST_LSWI]:
                    b_dry = True
                is_bed = y <= prm[_SEEDBED_NDVI] and ls - y >= prm[_SEEDBED_MARGIN]
                if is_bed:
                    if not b_prev:
                        b_spell = d
                    # on bare ground seen at most hidden_flood_link_days before
                    q = _min(_min(_min(prm[_SEEDBED_NDVI] - y, ls - y - prm[_SEEDBED_MARGIN]) / _SCALE, s_bare),
                             (prm[_HIDDEN_LINK] - (d - s_bare_d)) / scale_days)
                    if q >= 0:
                        if b_start != b_spell:
                            b_start, b_open, b_wide, b_dry = b_spell, q, np.float32(0.0), False
                        else:
                            b_open = _max(b_open, q)
                    b_last = d
                b_prev = is_bed
            if not w >= 0:
                s_bare = _min(canopy_min - y, bare_lswi - ls) / _SCALE
                s_bare_d = d

        # -- a paddy season hidden in a cloud gap: for the gap before this date, all of
        #    - the two clear dates before the gap both show the paddy flood signal (``w >= 0``:
        #      LSWI + T >= min(EVI, NDVI), LSWI > 0, NDVI <= 0.4), at most
        #      ``hidden_flood_link_days`` apart: a paddy stays flooded for weeks from puddling
        #      on, a rain puddle dries within days; or (with ``hidden_open_water_ndvi``) the one
        #      clear date before the gap shows the flood signal with NDVI at most that: the whole
        #      field under open water, as a bunded paddy is;
        #    - the flooded spell began on bare, dry ground: the last clear date without the flood
        #      signal before it has NDVI < ``ndvi_canopy_min`` and LSWI < ``hidden_bare_lswi_max``
        #      (a paddy is puddled on tilled soil; a seasonal wetland floods over its sedge and
        #      grass, still green and moist);
        #    - the gap is at least ``hidden_crop_days`` long, so the crop's canopy could fall in it;
        #    - this date is not flooded: paddies are drained for the harvest, while ponds, water
        #      bodies and wetlands in their flood season are still under water.
        #    The margin is the smallest of the wet margins and the bare-ground margin (index units
        #    / 0.05) and the gap excess in units of ``scale_days``; the best gap counts (-inf:
        #    none). Weak evidence on its own (no canopy was seen), hence undated and never used
        #    with calendar windows.
        if hidden:
            # A flooded date after the gap has no vote; nor has any date before a flooded spell
            # began on bare ground (``onset_bare`` -inf): its vote would be -inf, which changes
            # nothing, or NaN only for a 0/0 gap (a median clear gap of 0 days), which is kept.
            if not fl and (onset_bare != _NINF or zero_scale):
                linked = h_last_d - h_prev_d <= prm[_HIDDEN_LINK]
                wet_before = _min(h_last_w, h_prev_w if linked else _NINF) / _SCALE
                if flags[F_HIDDEN_OPEN]:
                    # One flooded date suffices when the field is open water from bund to bund.
                    wet_before = _max(wet_before, _min(h_last_w, prm[_HIDDEN_OPEN_NDVI] - h_last_nd) / _SCALE)
                gap = (d - h_last_d - prm[_HIDDEN_CROP_DAYS]) / scale_days
                h_best = _max(h_best, _min(_min(wet_before, gap), onset_bare))
            is_wet = w >= 0
            if is_wet and not h_last_w >= 0:
                onset_bare = _min(canopy_min - dry_nd, bare_lswi - dry_ls) / _SCALE
            if not is_wet:
                dry_nd = y
                dry_ls = ls
            h_prev_w, h_prev_d = h_last_w, h_last_d
            h_last_w, h_last_d, h_last_nd = w, d, y

        # -- a canopy standing in water seen after a gap: the best min(canopy margin, (gap
        # before the date - gap_days) / scale_days). Only canopy dates vote; a young crop in
        # water (below canopy greenness, LSWI >= wet_canopy_lswi) does not end the gap.
        if wet_canopy:
            # Only canopy dates vote: another date's vote is -inf or NaN (min with -inf), which
            # ``fmax`` with a ``c_seen`` that is never NaN leaves as it is.
            if y >= canopy_min:
                c = _min((y - prm[_NDVI_HIGH]) / _SCALE, (ls - prm[_UNDATED_WET_LSWI]) / _SCALE)
                c_seen = _fmax(c_seen, _min(c, (d - c_last - gap_days) / scale_days))
            if not (ls >= prm[_WET_CANOPY_LSWI] and y < canopy_min):
                c_last = d

    # On a sparse series (few clear dates, a gap that can hide a whole crop) a canopy standing in
    # water and open water on another date mark a flooded field: its one visible canopy and months
    # of river flood are all the series shows of it (see ``sparse_max_dates``).
    sparse = (flags[F_SPARSE] and n <= prm[_SPARSE_DATES] and longest >= prm[_SPARSE_GAP] and sparse_canopy
              and sparse_open)
    if sparse:
        # An evergreen forest is never open water: its green dates are the field's canopy.
        n_forest = 0
        # The canopy round the year: the highest NDVI of the dates that, one year on, lie within the
        # cycle span after the series' last flooded date (the flood at the end of the series
        # puddles the season whose canopy its first months showed). Only dates that fall after the
        # series' end one year on: a date the series saw is not taken twice.
        for j in range(n):
            on = cd[j] + np.float32(365.0)
            if on > cd[n - 1] and on - last_wet <= prm[_PEAK_WINDOW]:
                canopy = _max(canopy, cn[j])
    harvest = harvest or sparse
    # A harvested field is cropland whatever clouds hid of its cycles: the water limit of a pixel
    # with a cycle applies, and it is no evergreen shrub (it was dry and bare on one date; a flooded
    # field on a sparse series was open water on one).
    is_water, is_forest, mm = _masks(n, n_water, n_forest, shrub_any, shrub_all and not harvest, last - first,
                                     has_cycle or harvest, prm, flags)
    if flags[F_GREEN]:
        green_margin = (prm[_MAX_GREEN_DAYS] - g_spell) / scale_days
        is_forest = is_forest or green_margin < 0
        mm = _min(mm, green_margin)

    # Undated evidence.
    lo = (prm[_NDVI_LOW] - lowest) / _SCALE
    hi = (canopy - prm[_NDVI_HIGH]) / _SCALE
    # A harvested field's long flooded spell is its fallow under the river flood or rain, not a wetland's.
    dur = _PINF if harvest else (prm[_MAX_FLOOD_DAYS] - f_spell) / np.float32(10.0)
    und = _min(_min(_min(_min(lo, hi), fl_best / _SCALE), dur), mm)
    if hidden:
        und = _max(und, _min(h_best, mm))
    if wet_canopy:
        und = _max(und, _min(_min(_min(c_seen, lo), dur), mm))
    if stubble_on:
        und = _max(und, _min(s_best, mm))
    return is_water, is_forest, mm, _NINF if und != und else und


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


@_jit(_SIG)
def _pixels(ndvi: Any, evi: Any, lswi: Any, valid: Any, days: Any, in_win: Any, ends: Any, prm: Any, flags: Any,
            onset: Any, growth: Any, n_valid: Any, n_window: Any, water: Any, forest: Any, mask_margin: Any,
            undated: Any) -> None:
    n_pix, n_t = ndvi.shape
    # One packed clear series, reused by every pixel (no allocation per pixel).
    ci = np.empty(n_t, np.int64)
    cd, cn, ce, cl = np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32)
    cf = np.empty(n_t, np.bool_)
    buf = np.empty(max(n_t, 1), np.float32)
    for p in range(n_pix):
        n, nw, gap = _clear_dates(ndvi, evi, lswi, valid, p, days, in_win, prm, flags, ci, cd, cn, ce, cl, cf, buf,
                                  onset, growth)
        n_valid[p], n_window[p] = n, nw
        scale_days = np.float32(10.0) + np.float32(0.5) * gap
        water[p], forest[p], mask_margin[p], undated[p] = _pixel_terms(
            n, ci, cd, cn, ce, cl, cf, in_win, ends, prm, flags, scale_days, p, onset, growth)


_SIG_BANDS = numba.void(
    *(_array(_F4, 2, "A", True) for _ in range(6)), _array(_B1, 2, "A", True), *_SIG.args[4:],
)


@_jit(_SIG_BANDS)
def _band_pixels(nir: Any, red: Any, blue: Any, swir16: Any, lswi_nir: Any, green: Any, base: Any, days: Any,
                 in_win: Any, ends: Any, prm: Any, flags: Any, onset: Any, growth: Any, n_valid: Any, n_window: Any,
                 water: Any, forest: Any, mask_margin: Any, undated: Any) -> None:
    n_pix, n_t = nir.shape
    ci = np.empty(n_t, np.int64)
    cd, cn, ce, cl = np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32)
    cf = np.empty(n_t, np.bool_)
    buf = np.empty(max(n_t, 1), np.float32)
    for p in range(n_pix):
        n, nw, gap = _clear_band_dates(nir, red, blue, swir16, lswi_nir, green, base, p, days, in_win, prm, flags,
                                       ci, cd, cn, ce, cl, cf, buf, onset, growth)
        n_valid[p], n_window[p] = n, nw
        scale_days = np.float32(10.0) + np.float32(0.5) * gap
        water[p], forest[p], mask_margin[p], undated[p] = _pixel_terms(
            n, ci, cd, cn, ce, cl, cf, in_win, ends, prm, flags, scale_days, p, onset, growth)


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
                     (F_HIDDEN_BARE, p.hidden_bare_lswi_max is not None), (F_CLOUD, p.cloud_blue is not None),
                     (F_HAZE, p.haze_hot is not None), (F_SNOW, p.snow_ndsi is not None),
                     (F_HIDDEN_OPEN, p.hidden_open_water_ndvi is not None),
                     (F_HARVEST, p.harvest_lswi_max is not None), (F_SPARSE, p.sparse_max_dates is not None),
                     (F_FLOOD_STUBBLE, p.flood_stubble_days is not None),
                     (F_SEEDBED, p.seedbed_ndvi_max is not None)):
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
    out = _outputs(*ndvi.shape)
    _pixels(ndvi, evi, lswi, valid, days.astype(_F32), in_window, ends, prm, flags, *out.values())
    return out


def optical_band_pixels(
    nir: npt.NDArray[np.float32], red: npt.NDArray[np.float32], blue: npt.NDArray[np.float32],
    swir16: npt.NDArray[np.float32], lswi_nir: npt.NDArray[np.float32], green: npt.NDArray[np.float32] | None,
    base: npt.NDArray[np.bool_] | None, days: npt.NDArray[np.int32], in_window: npt.NDArray[np.bool_],
    ends: npt.NDArray[np.int64], params: OpticalRiceParams,
) -> dict[str, npt.NDArray[Any]]:
    """:func:`optical_pixels` from the reflectances: indices and clear-sky tests inside the kernel.

    The rule's NDVI, EVI and LSWI (``lswi_nir`` and ``swir16``) and its clear-observation tests
    (``cloud_blue``, ``haze_hot``, and ``snow_ndsi`` when ``green`` is given) are computed per
    date as :mod:`agromap.indices` and ``rules_optical.clear_observations`` compute them on whole
    arrays, bit for bit, without the four ``(time, y, x)`` arrays in between.

    Parameters
    ----------
    nir, red, blue, swir16, lswi_nir : numpy.ndarray of float32, ``(pixels, time)``
        Reflectance, NaN where missing (any strides; ``lswi_nir`` may be ``nir`` itself).
    green : numpy.ndarray of float32 or None
        For the snow test; ``None`` skips it.
    base : numpy.ndarray of bool or None
        Usable observations from the sensor's QA or the caller (``None``: all).
    days, in_window, ends, params
        As :func:`optical_pixels`.

    Returns
    -------
    dict of numpy.ndarray
        As :func:`optical_pixels`.
    """
    prm, flags = _parameters(params)
    flags[F_SNOW] = flags[F_SNOW] and green is not None
    flags[F_BASE] = base is not None
    none = np.empty((0, 0), bool)
    out = _outputs(*nir.shape)
    _band_pixels(nir, red, blue, swir16, lswi_nir, nir if green is None else green, none if base is None else base,
                 days.astype(_F32), in_window, ends, prm, flags, *out.values())
    return out


def _outputs(n_pix: int, n_t: int) -> dict[str, npt.NDArray[Any]]:
    """The kernels' output arrays, in their argument order."""
    return {
        "onset": np.empty((n_pix, n_t), bool), "growth": np.empty((n_pix, n_t), _F32),
        "n_valid": np.empty(n_pix, np.int32), "n_window": np.empty(n_pix, np.int32),
        "water": np.empty(n_pix, bool), "forest": np.empty(n_pix, bool),
        "mask_margin": np.empty(n_pix, _F32), "undated": np.empty(n_pix, _F32),
    }
