"""The optical rice kernel's per-pixel pieces, compiled (numba): the clear-date walk and its steps.

Called by the tile loops of :mod:`agromap.rice.optical_kernel` (see there for why the rule is
compiled and how its bits are kept) and by the second walk per pixel
(:mod:`agromap.rice.optical_kernel_terms`): the first walk over a pixel's dates that packs its
clear dates (from the indices or from the reflectances), each onset's growth confirmation, the
green-spell step and the land-cover masks. Thresholds are read from the parameter vector at the
positions of :mod:`agromap.rice.optical_kernel_layout`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..jit import jit as _jit
from ..jit import maximum as _max
from ..jit import minimum as _min
from .optical_kernel_layout import (
    F_BASE,
    F_CLOUD,
    F_CYCLE_WET_SHARE,
    F_DRY,
    F_EARLY,
    F_FLOOD_NDVI_MAX,
    F_FLOOD_SHADOW,
    F_GAP_CANOPY_RISE,
    F_HAZE,
    F_RULE,
    F_SHRUB,
    F_SNOW,
    F_WEAK_FLOOD_CANOPY,
    F_WET_CANOPY,
    F_WET_CANOPY_EVI_RATIO,
    F_YOUNG_FLOOD,
    F_YOUNG_REFLOOD,
    P_CANOPY_MIN,
    P_CLIMB_MIN,
    P_CLOUD_BLUE,
    P_CYCLE_WET_SHARE,
    P_DRY_LSWI_MAX,
    P_FLOOD_NDVI_MAX,
    P_FLOOD_T,
    P_FOREST_FRACTION,
    P_GAP_CANOPY_RISE,
    P_GAP_SEASON_LOW_LSWI,
    P_GAP_SEASON_LOW_NDVI,
    P_GAP_SEASON_LSWI,
    P_GAP_SEASON_MAX_GAP,
    P_GAP_SEASON_MIN_GAP,
    P_GAP_SEASON_YOUNG_DAYS,
    P_GAP_SEASON_YOUNG_LSWI,
    P_GAP_SEASON_YOUNG_SOIL,
    P_GROWTH_RATIO,
    P_HAZE_HOT,
    P_MAX_ABS_EVI,
    P_MIN_PEAK_EVI,
    P_NDVI_HIGH,
    P_SHRUB_SPAN,
    P_SNOW_NDSI,
    P_SNOW_NIR,
    P_TROUGH_MAX,
    P_WATER_FRACTION,
    P_WATER_LIMIT_CYCLE,
    P_WATER_NDVI_MAX,
    P_WEAK_FLOOD_CANOPY,
    P_WET_CANOPY_EVI_RATIO,
    P_WET_CANOPY_LSWI,
    P_YOUNG_FLOOD_T,
    P_YOUNG_REFLOOD_RISE,
)
from .optical_kernel_layout import MARGIN_SCALE as _SCALE
from .optical_kernel_layout import NAN32 as _NAN
from .optical_kernel_layout import NEG_INF as _NINF
from .optical_kernel_layout import POS_INF as _PINF

__all__ = ["BLOCK", "band_block", "block_dates", "clear_dates", "cover_masks", "early_dry_peak", "early_peak", "evi_of",
           "growth_margin", "keep_date", "median_gap",
           "norm_diff", "spell_step", "young_flood_margin"]

_F32 = np.float32


# ---- per-pixel pieces ------------------------------------------------------------------------
#
# A pixel's series is walked twice. The first walk (:func:`clear_dates`) keeps its clear dates,
# packed: a cloudy date changes no term of the rule (its indices are NaN, which every
# comparison rejects, and no state carries over it), so every later step looks at clear dates
# only, without a branch per date on the cloud test. It also collects the intervals between
# clear dates, whose median scales the day margins. The second walk (in :mod:`agromap.rice.optical_kernel`) goes
# once through the clear dates in time order and advances every term at each date: the flood
# state and the onsets (each onset's growth windows read ahead in the packed series), the
# land-cover masks, the green spell and the undated evidence. A term only ever sees its own
# dates in time order, so each is computed with the same float32 operations in the same order
# as when it had a walk of its own.

# Inlined in the walk (3-4 % of the kernel on a bench tile: the call's array arguments).
@_jit(nrt=False, inline=True)
def growth_margin(  # noqa: C901 (one walk per onset; a helper call per onset costs 5 % of the kernel)
    k: int, n: int, ci: Any, cn: Any, ce: Any, cl: Any, cf: Any, i_grow: int, i_cyc: int, i_tr: int, i_early: int,
    i_reflood: int, prm: Any, flags: Any, pond_end: bool = False, i_pre: int = 0, i_seen: int = 0,
) -> Any:
    """Growth-confirmation margin (>= 0 passes) of an onset at packed clear date ``k``.

    Windows are date indices (exclusive ends) on the full date axis; ``ci`` maps packed clear
    dates to it. One walk from the onset to the last window's end gathers every window's
    extremes and the dry-down and wet-canopy terms. ``pond_end``: the onset is the last date of a long
    flooded spell (``pond_end_onset``), whose water stood for months: the young crop's votes, which read
    the days after a flood's first date, do not apply. ``i_pre``: the cycle's end before any gap its window is
    stretched over; ``i_seen``: the first index ``gap_canopy_seen_days`` after the onset (``gap_canopy_rise``).
    """
    evi_max = _NINF  # over the cycle [t, i_cyc): includes the onset, so finite
    grow = _NINF  # EVI max over (t, i_grow)
    trough = _PINF  # NDVI min over [t, i_tr)
    canopy = _NINF  # NDVI max over (t, i_cyc)
    dry = _PINF  # dry-down margin: bare dry dates before the first canopy date of (t, i_cyc)
    wettest = _NINF  # LSWI of the wettest canopy date of (t, i_cyc)
    before_canopy = True
    # A canopy date under a cloud shadow the mask missed reads LSWI a few hundredths higher (SWIR darkens more
    # than NIR) while its EVI falls to a third of NDVI: it tells nothing of the water under the canopy.
    shaded_ok = not flags[F_WET_CANOPY_EVI_RATIO]
    n_read = 0  # canopy dates of (t, i_cyc) read for water, and those standing in it (``cycle_wet_share``)
    n_wet = 0
    # the cycle's highest NDVI before the gap its window is stretched over, and the last such date's index
    canopy_pre = _NINF
    last_i = -1
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
        if i < i_pre:
            canopy_pre = _max(canopy_pre, y)
            last_i = i
        if i < i_cyc:
            if y > canopy:
                canopy = y
            is_canopy = y >= prm[P_CANOPY_MIN]
            before_canopy = before_canopy and not is_canopy
            if before_canopy and not cf[j] and y <= prm[P_TROUGH_MAX]:
                m = (cl[j] - prm[P_DRY_LSWI_MAX]) / _SCALE
                if m < dry:
                    dry = m
            if is_canopy and (shaded_ok or x >= prm[P_WET_CANOPY_EVI_RATIO] * y):
                wettest = _max(wettest, cl[j])
                n_read += 1
                n_wet += cl[j] >= prm[P_WET_CANOPY_LSWI]
    xiao = _min(grow - prm[P_GROWTH_RATIO] * evi_max, evi_max - prm[P_MIN_PEAK_EVI])
    climb = _min(_min(prm[P_TROUGH_MAX] - trough, canopy - trough - prm[P_CLIMB_MIN]), canopy - prm[P_CANOPY_MIN])
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
        margin = _min(margin, _PINF if wettest == _NINF else wettest - prm[P_WET_CANOPY_LSWI])
    if flags[F_CYCLE_WET_SHARE] and n_read > 0:
        # From transplanting to heading (the cycle's span) a paddy's canopy stands in water on every date, not on
        # one date of several: a wetland's regrown grass or an upland crop over moist soil is wet on a few.
        margin = _min(margin, np.float32(n_wet) / np.float32(n_read) - prm[P_CYCLE_WET_SHARE])
    if flags[F_WEAK_FLOOD_CANOPY] and cl[k] + prm[P_FLOOD_T] < cn[k]:
        # No standing water by NDVI on the onset date: EVI alone read the flood, as it does under a
        # missed cloud shadow or haze and on moist soil after rain, so the canopy must show the water.
        margin = _min(margin, _PINF if wettest == _NINF else wettest - prm[P_WEAK_FLOOD_CANOPY])
    if (flags[F_GAP_CANOPY_RISE] and i_cyc > i_pre and canopy > canopy_pre and last_i >= i_seen
            and (cn[k] < prm[P_WATER_NDVI_MAX] or cl[k] + prm[P_FLOOD_T] < cn[k])):
        # The canopy lies after the gap, the onset was open water or a flood seen through a green cover, and the month
        # of clear dates before the gap shows no crop establishing: a floating mat or a lotus pond, whose green phase
        # in the gap the flood did not start. A flood with soil or seedlings showing is a puddled field: not read.
        margin = _min(margin, canopy_pre - cn[k] - prm[P_GAP_CANOPY_RISE])
    if flags[F_YOUNG_FLOOD] and not pond_end:
        margin = _min(margin, young_flood_margin(k, n, ci, cn, ce, cl, i_early, i_reflood, prm, flags))
    if flags[F_EARLY] and not pond_end:
        # "No vegetation in the first days after the onset": ``ndvi_trough_max`` minus the
        # highest NDVI of the clear dates in (onset, ``i_early``). A paddy is water and seedlings
        # for weeks after puddling, while a flood under standing vegetation (basin irrigation
        # between orchard rows, rain on a growing crop) is gone at the next date. +inf (no vote)
        # without such a date, or when the onset is the pixel's first clear date (the series
        # may start inside a season).
        early = _PINF
        if k > 0:
            peak = early_peak(k, n, ci, cn, i_early)
            if peak != _NINF:
                early = prm[P_TROUGH_MAX] - peak
        margin = _min(margin, early)
    return margin


@_jit(nrt=False, inline=True)
def early_peak(k: int, n: int, ci: Any, cn: Any, i_early: int) -> Any:
    """The highest NDVI of the clear dates after packed clear date ``k`` and before full-axis index ``i_early``
    (the flood's first ``early_ndvi_days``); -inf without such a date.
    """
    peak = _NINF
    for j in range(k + 1, n):
        if ci[j] >= i_early:
            break
        if cn[j] > peak:
            peak = cn[j]
    return peak


@_jit(nrt=False, inline=True)
def early_dry_peak(k: int, n: int, ci: Any, cn: Any, cl: Any, cf: Any, i_early: int, bar: Any) -> Any:
    """:func:`early_peak` of the dates on drained soil: without the flood signal and with LSWI below ``bar``
    (``wet_canopy_lswi``); -inf when every such date still stands in water (or there is none).
    """
    peak = _NINF
    for j in range(k + 1, n):
        if ci[j] >= i_early:
            break
        if not cf[j] and cl[j] < bar and cn[j] > peak:
            peak = cn[j]
    return peak


@_jit(nrt=False, inline=True)
def young_flood_margin(k: int, n: int, ci: Any, cn: Any, ce: Any, cl: Any, i_early: int, i_reflood: int, prm: Any,
                       flags: Any) -> Any:
    """Margin of "the paddy of the onset at packed clear date ``k`` still stands in water" (``young_flood_t``).

    The clear dates after the onset within its first days (full-axis index below ``i_early``, the window of
    ``early_ndvi_days``) and before its first canopy date (NDVI >= ``ndvi_canopy_min``): the best of
    ``LSWI + young_flood_t - min(EVI, NDVI)`` (Xiao's flood signal, either form), of ``LSWI + young_flood_t -
    NDVI`` on a date under a missed cloud shadow (EVI below ``wet_canopy_evi_ratio`` x NDVI: EVI collapses
    there, NDVI hardly moves). +inf (no vote) without such a date, or when the onset is the pixel's first
    clear date (the series may start inside a season, its flood before the first date). When those dates all
    fail, the young crop's second flood (``young_reflood_days``): a clear date from ``i_early`` to before full-axis
    index ``i_reflood`` and before the first date with NDVI >= ``ndvi_high``, up to the first that passes: the lower
    of the same flood signal's margin and of ``LSWI - wet_canopy_lswi``, on a date whose NDVI is at least
    ``young_reflood_rise`` above the highest since the onset, may lift the margin (only a pass matters there).
    """
    if k == 0:
        return _PINF
    shade = flags[F_WET_CANOPY_EVI_RATIO]
    best = _NINF
    for j in range(k + 1, n):
        if ci[j] >= i_early:
            break
        x, y = ce[j], cn[j]
        if y >= prm[P_CANOPY_MIN]:
            break
        low = y if shade and x < prm[P_WET_CANOPY_EVI_RATIO] * y else _min(x, y)
        best = _max(best, cl[j] + prm[P_YOUNG_FLOOD_T] - low)
    if best == _NINF:
        return _PINF
    if flags[F_YOUNG_REFLOOD] and best < 0:
        # A wet-seeded paddy is sown on saturated soil and flooded again once its seedlings stand (one to three
        # weeks after sowing): the first date in water again (the flood signal, LSWI >= ``wet_canopy_lswi``) shows
        # the young leaves risen above every date since the onset. A flood let into an orchard's rows or over a
        # wetland's grass finds the same cover as before it; a pond fills before its lotus leaves emerge.
        peak = cn[k]
        for j in range(k + 1, n):
            i = ci[j]
            if i >= i_reflood:
                break
            x, y = ce[j], cn[j]
            if i >= i_early:
                if y >= prm[P_NDVI_HIGH]:
                    break
                low = y if shade and x < prm[P_WET_CANOPY_EVI_RATIO] * y else _min(x, y)
                m = _min(cl[j] + prm[P_YOUNG_FLOOD_T] - low, cl[j] - prm[P_WET_CANOPY_LSWI])
                if y >= peak + prm[P_YOUNG_REFLOOD_RISE]:
                    best = _max(best, m)
                if m >= 0:
                    break
            peak = _max(peak, y)
    return best


@_jit(nrt=False, inline=True)
def spell_step(start: Any, prev: Any, best: Any, w: bool, d: Any, link: Any) -> tuple[Any, Any, Any]:
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
def clear_dates(ndvi: Any, evi: Any, lswi: Any, valid: Any, p: int, days: Any, in_win: Any, prm: Any, flags: Any,
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
    t_allow = prm[P_FLOOD_T]
    n = 0
    nw = 0
    for t in range(days.size):
        onset[p, t] = False
        growth[p, t] = _NAN
        if valid[p, t] and keep_date(n, t, days[t], ndvi[p, t], evi[p, t], lswi[p, t], t_allow, flags, prm,
                                 ci, cd, cn, ce, cl, cf, buf):
            nw += in_win[t]
            n += 1
    return n, nw, median_gap(n, buf)


@_jit(nrt=False, inline=True)
def keep_date(n: int, t: int, d: Any, a: Any, b: Any, c: Any, t_allow: Any, flags: Any, prm: Any, ci: Any, cd: Any,
          cn: Any, ce: Any, cl: Any, cf: Any, buf: Any) -> bool:
    """Pack clear date ``t`` (NDVI ``a``, EVI ``b``, LSWI ``c``) as the ``n``-th with its flood signal, and its
    interval from the previous one into ``buf`` (sorted); False, nothing packed, when an index is not usable.
    """
    if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(c) and abs(b) <= prm[P_MAX_ABS_EVI]):
        return False
    if flags[F_FLOOD_SHADOW] and b < prm[P_WET_CANOPY_EVI_RATIO] * a:  # a missed shadow: NDVI form only
        f = c + t_allow >= a
    else:
        f = c + t_allow >= b or c + t_allow >= a
    if flags[F_FLOOD_NDVI_MAX]:
        f = f and a <= prm[P_FLOOD_NDVI_MAX]
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
def median_gap(n: int, buf: Any) -> Any:
    """Median of the ``n - 1`` sorted intervals in ``buf`` (365 with none; of an even count the
    mean of the two middle ones, as ``numpy.nanmedian``).
    """
    if n < 2:
        return np.float32(365.0)
    return (buf[(n - 2) // 2] + buf[(n - 1) // 2]) / np.float32(2.0)


@_jit(inline=True)
def norm_diff(a: Any, b: Any) -> Any:
    """(a - b) / (a + b), NaN where the sum is 0 or the quotient infinite: ``indices.ndvi`` et al."""
    q = (a - b) / (a + b)
    return _NAN if a + b == 0 or np.isinf(q) else q


@_jit(inline=True)
def evi_of(n: Any, r: Any, b: Any) -> Any:
    """2.5 (n - r) / (n + 6 r - 7.5 b + 1) in that order, NaN as :func:`norm_diff`: ``indices.evi``."""
    den = n + r * np.float32(6.0) - b * np.float32(7.5) + np.float32(1.0)
    q = (n - r) * np.float32(2.5) / den
    return _NAN if den == 0 or np.isinf(q) else q


BLOCK = 256
"""Pixels whose indices and clear-sky tests :func:`band_block` computes together, date by date (a
``(time, block)`` float32 scratch of 12 KiB per index at twelve dates, in the processor's cache)."""


@_jit(nrt=False)
def band_block(nir: Any, red: Any, blue: Any, swir16: Any, lswi_nir: Any, green: Any, base: Any, p0: int, nb: int,
               prm: Any, flags: Any, sn: Any, se: Any, sl: Any, sk: Any) -> None:
    """The indices and the clear-sky tests of pixels ``p0`` .. ``p0 + nb - 1`` at every date, into ``(time, block)``
    scratch: NDVI ``sn``, EVI ``se``, LSWI ``sl``, ``sk`` True where the sensor's mask and the cloud, haze and
    snow tests pass (as ``rules_optical.clear_observations``; the finiteness and EVI tests follow in
    :func:`keep_date`). The bands are ``(time, pixel)``, C-ordered.

    Why a block: the tile's bands are stored date-major, so a pixel's series is a dozen values a
    tile's plane apart in each band, and walking pixel by pixel reads six bands' twelve planes at
    once; date by date over a block of neighbouring pixels reads each plane in order, and the
    compiler can compute several pixels per instruction (the tests are written without branches;
    each lane's division and comparison are the scalar ones, so the bits do not change).
    """
    use_base, cloud, haze, snow = flags[F_BASE] != 0, flags[F_CLOUD] != 0, flags[F_HAZE] != 0, flags[F_SNOW] != 0
    cloud_blue, haze_hot, snow_ndsi, snow_nir = prm[P_CLOUD_BLUE], prm[P_HAZE_HOT], prm[P_SNOW_NDSI], prm[P_SNOW_NIR]
    # Unsigned indices: a signed one is wrapped (negative from the end) per access, which keeps
    # the compiler from reading neighbouring pixels as one vector.
    u0 = np.uint64(p0)
    for t in range(nir.shape[0]):
        for j in range(nb):
            p = u0 + np.uint64(j)
            n_, r_, b_, s_ = nir[t, p], red[t, p], blue[t, p], swir16[t, p]
            sn[t, j] = norm_diff(n_, r_)
            se[t, j] = evi_of(n_, r_, b_)
            sl[t, j] = norm_diff(lswi_nir[t, p], s_)
            cloudy = cloud & (not b_ < cloud_blue)
            hazy = haze & (b_ - np.float32(0.5) * r_ > haze_hot)
            snowy = snow & (norm_diff(green[t, p], s_) > snow_ndsi) & (n_ > snow_nir)
            sk[t, j] = not (cloudy | hazy | snowy)
        if use_base:
            for j in range(nb):
                sk[t, j] = sk[t, j] & base[t, u0 + np.uint64(j)]


@_jit(nrt=False, inline=True)
def block_dates(j: int, p: int, days: Any, in_win: Any, prm: Any, flags: Any, sn: Any, se: Any, sl: Any, sk: Any,
                ci: Any, cd: Any, cn: Any, ce: Any, cl: Any, cf: Any, buf: Any, onset: Any, growth: Any
                ) -> tuple[int, int, Any]:
    """:func:`clear_dates` from the reflectances: pixel ``p``'s clear dates, from column ``j`` of the scratch
    :func:`band_block` filled (the same float32 operations as :mod:`agromap.indices` and
    ``rules_optical.clear_observations`` on whole arrays).
    """
    t_allow = prm[P_FLOOD_T]
    n = 0
    nw = 0
    for t in range(days.size):
        onset[p, t] = False
        growth[p, t] = _NAN
        if sk[t, j] and keep_date(n, t, days[t], sn[t, j], se[t, j], sl[t, j], t_allow, flags, prm,
                                  ci, cd, cn, ce, cl, cf, buf):
            nw += in_win[t]
            n += 1
    return n, nw, median_gap(n, buf)


@_jit(nrt=False, inline=True)
def cover_masks(n: int, water_alt: Any, n_water: int, n_forest: int, shrub_any: bool, shrub_all: bool, shrub_span: Any,
                has_cycle: bool, prm: Any, flags: Any) -> tuple[bool, bool, Any]:
    """Water and forest (evergreen forest or shrub) masks and the mask margin, before the green spell.

    Counts are of clear dates outside confirmed cycles, as fractions of all ``n`` clear dates; the water share is
    ``water_alt`` where that is lower (the share before a flood the series' end cuts; +inf: none).
    """
    water_frac = _min(np.float32(n_water) / np.float32(n), water_alt) if n > 0 else _NAN
    forest_frac = np.float32(n_forest) / np.float32(n) if n > 0 else _NAN
    water_limit = prm[P_WATER_LIMIT_CYCLE] if has_cycle else prm[P_WATER_FRACTION]
    is_water = water_frac >= water_limit
    is_forest = forest_frac >= prm[P_FOREST_FRACTION]
    if flags[F_SHRUB]:
        span = shrub_span if shrub_any else np.float32(0.0)
        is_forest = is_forest or (shrub_any and shrub_all and span >= prm[P_SHRUB_SPAN])
    mm = _min(water_limit - water_frac, prm[P_FOREST_FRACTION] - forest_frac)
    mm = _NINF if (mm != mm or is_forest) else mm / _SCALE
    return is_water, is_forest, mm


@_jit(nrt=False, inline=True)
def gap_season_start(k: int, young: bool, young_run: bool, cd: Any, cn: Any, cl: Any, prm: Any,
                     scale_days: Any) -> tuple[Any, Any, Any]:
    """Start of a season hidden in a gap whose canopy spell begins on clear date ``k``: its margin (the
    bare date's and the interval's), the bare date's day and the LSWI bar of the spell's canopy.

    The bare date is the clear date before ``k``, or (with ``young``, ``gap_season_young_days``) the one
    before that when the first clear date after the interval shows the young crop on soil wetted since
    the bare date (its flood fell in the interval) and the canopy follows within that many days; the
    canopy's bar is then ``gap_season_young_lswi``.
    """
    gap = cd[k] - cd[k - 1]
    low = _min(prm[P_GAP_SEASON_LOW_NDVI] - cn[k - 1], prm[P_GAP_SEASON_LOW_LSWI] - cl[k - 1]) / _SCALE
    start = _min(low, _min(gap - prm[P_GAP_SEASON_MIN_GAP], prm[P_GAP_SEASON_MAX_GAP] - gap) / scale_days)
    low_d = cd[k - 1]
    bar = prm[P_GAP_SEASON_LSWI]
    # The young crop may span several clear dates (``young_run``): each date back from the spell that
    # still lies within ``gap_season_young_days`` of its first canopy date may be the first after the
    # interval, its wet margin the lowest of the run's young dates.
    wet = _PINF
    j = k - 1
    while young and j > 0 and cd[k] - cd[j] <= prm[P_GAP_SEASON_YOUNG_DAYS] and (j == k - 1 or young_run):
        gap = cd[j] - cd[j - 1]
        low = _min(prm[P_GAP_SEASON_LOW_NDVI] - cn[j - 1], prm[P_GAP_SEASON_LOW_LSWI] - cl[j - 1]) / _SCALE
        wet = _min(wet, _min(cl[j] - prm[P_GAP_SEASON_YOUNG_SOIL], prm[P_CANOPY_MIN] - cn[j]) / _SCALE)
        via = _min(_min(low, wet), _min(gap - prm[P_GAP_SEASON_MIN_GAP], prm[P_GAP_SEASON_MAX_GAP] - gap) / scale_days)
        if via > start:
            start, low_d, bar = via, cd[j - 1], prm[P_GAP_SEASON_YOUNG_LSWI]
        j -= 1
    return start, low_d, bar
