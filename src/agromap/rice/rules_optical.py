"""Optical flooding/transplanting rice rule (Xiao et al.; docs/science/rice.md#optical-flooding-rule).

The rule, per pixel, over the valid observations of one series (one agricultural year):

1. **Valid observation**: NDVI, EVI, LSWI finite, ``|EVI| <= max_abs_evi`` = 1 (docs/science/indices_and_masks.md),
   not cloud (``blue >= cloud_blue`` = 0.2 when ``blue`` is given; sensor QA through ``valid=``
   or an ``scl`` variable), not haze (``blue - 0.5 red > haze_hot`` = 0.08, Fmask's HOT test),
   not snow (NDSI > 0.40 and NIR > 0.11 when ``green`` is given).
2. **Flood signal**: ``LSWI + T >= EVI`` or ``LSWI + T >= NDVI`` (T = ``flood_t`` = 0.05).
3. **Flood onset**: flooded at t and not flooded at the previous *valid* observation (clouds do not
   reset the state). With ``onset_at_series_start`` (default) a flooded first valid observation
   is an onset too: a series that starts inside the flooding period would otherwise lose it.
4. **Growth confirmation** of an onset at day d0 (``growth_rule="either"`` by default):

   - *Xiao* (Xiao et al. 2005, 2006): some valid EVI in (d0, d0 + 40 d] reaches ``0.5 x`` the cycle's
     maximum EVI, the cycle being [d0, d0 + ``peak_window_days`` = 90 d]; and that maximum is at
     least ``min_peak_evi`` = 0.5 (PhenoRice's "EVI max >= 0.5", Boschetti et al. 2017), without which
     any flat, low series (seasonal water, bare soil) would pass the relative test.
   - *NDVI climb* (monsoon rule, docs/science/rice.md#optical-flooding-rule): the NDVI trough over [d0, d0 + 30 d]
     is <= 0.40, and the NDVI maximum over (d0, d0 + 90 d] is >= 0.50 and >= trough + 0.30.
     With a 10-16 day revisit the 40-day Xiao window holds only two or three dates, and a cloud
     or an onset seen early in the puddling period leaves none in the canopy phase; the climb
     test sees the same growth over the cycle.

   Whichever test is used, a canopy standing in water confirms it (``wet_canopy_lswi`` = 0.20):
   some date of the cycle with NDVI >= 0.50 has LSWI >= 0.20 (no vote when the cycle shows no
   such date). A paddy is flooded under its canopy until shortly before harvest; a rain puddle
   followed by an upland crop, or a cloud shadow that faked the flood signal, is followed by a
   canopy over soil.

   Whichever test is used, the flood must not stand under vegetation (``early_ndvi_days`` = 10):
   no clear date within 10 days after the onset has NDVI > 0.40, unless the onset is the
   pixel's first clear date. A paddy is water and seedlings for weeks after puddling; basin
   irrigation under orchard trees or rain on a growing crop is gone at the next date.

   ``"xiao"`` or ``"ndvi"`` use one test only, ``"both"`` requires both. Every window that ends
   inside a gap of the date axis longer than 30 d (cloud season, lost dates; up to 140 d) also
   takes the first date after the gap: a fixed window on a sparse series sees no canopy.
5. **Masks** (counts as fractions of all valid observations; docs/science/rice.md#optical-flooding-rule):
   permanent water when ``NDVI < 0.10 and NDVI < LSWI`` in >= 22 % (10 of 46 composites);
   evergreen forest when ``NDVI >= 0.70`` in >= 43 % (20 of 46); evergreen shrub when
   ``LSWI >= 0.10`` in every valid observation. By default (``mask_outside_cycles``) only dates
   *outside* confirmed flood-growth cycles [onset, onset + 90 d] are counted as water/forest/shrub
   dates. Xiao's fractions were set on annual 8-day MODIS composites of 1-2 crops; a paddy's own
   flooded dates exceed 22 % of a 3-crop year (synthetic: 29 % of triple-crop paddies lost) or of a
   short monsoon series with clouds, and its green dates approach 43 %. Permanent water and forest
   have no confirmed cycle, so for them nothing changes. ``mask_outside_cycles=False`` is the
   literal rule. A pixel with a confirmed cycle is masked as water only when water covers
   ``cycle_water_fraction`` (50 %) of its other dates (floodplain paddies under the river's flood
   between seasons).
6. **Seasons**: confirmed onsets are accepted in time order when at least ``min_season_days``
   (80 d) after the previous accepted one; each accepted onset is a season, and its date (the
   onset observation's calendar day of year) is ``transplant_doy``: the start of flooding, which
   precedes transplanting by the puddling period (about 1-2 weeks). With season windows (a crop
   calendar), onsets outside every window are ignored and season *k* is the first confirmed
   onset inside window *k*.

7. **Undated evidence** (``undated_seasons``; without calendar windows): across a cloud gap the
   flood and the canopy of one season can lie further apart than any window. A pixel is then rice
   when its lowest clear NDVI is <= ``ndvi_low`` (0.3), a clear date with NDVI <= 0.4 shows the
   flood signal with LSWI > 0, a canopy NDVI >= ``ndvi_high`` (0.6) follows it within
   ``max_cycle_days`` (180 d) across a gap longer than ``gap_days`` (45 d) or with fewer than two
   clear dates in between, and no flooded dark spell lasts more than ``max_flood_days`` (75 d).
   It counts one season without a date. The baseline "min NDVI <= 0.3 and max NDVI >= 0.6" is
   thus contained, with the flood, its order and its duration added (see docs/rice_rules.md).
   A canopy standing in water (NDVI >= 0.6, LSWI >= ``undated_wet_canopy_lswi`` = 0.32) seen
   more than ``gap_days`` after the last clear date that was neither water nor a young crop in
   water (NDVI < 0.5 with LSWI >= ``wet_canopy_lswi``), or with no such date before it, on a pixel
   with a bare date (NDVI <= 0.3), is undated evidence too: its flooding fell in a cloud gap.

``rice_score`` is ``logistic(m)`` of the best onset's margin ``m``: the smallest of the growth
margin (index units / 0.05) and the mask margins (fraction / 0.05), so ``rice_score > 0.5`` when
the rule says rice and ``< 0.5`` otherwise (0 without any flood onset or canopy date; NaN without
valid data).

Known confusion: a short flood over a young *dryland* crop (flood water, then the crop's canopy)
passes the rule like a paddy; the disaster module's flood dates separate the two.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from .. import indices
from ..errors import ConfigError, MissingBandError
from .optical_kernel import canopy_after_gap, date_major, flood_onsets, undated_canopy
from .optical_kernel import clear_gap as _clear_gap
from .optical_kernel import water_spell_days as _water_spell_days
from .optical_params import OpticalRiceParams
from .seasons import (
    LAYER_SPECS,
    QA_FOREST_BUILT,
    QA_OBSERVED,
    QA_OPTICAL,
    QA_WATER,
    SeasonSlots,
    SeasonWindow,
    apply_rule,
    finish_outputs,
    flatten_time,
    fraction,
    logistic,
    masked_max,
    masked_min,
    prepare_series,
    resolve_windows,
    time_axis,
    window_index,
)

__all__ = ["OpticalRiceParams", "optical_rice_rule", "clear_observations", "LAYER_SPECS"]

_F32 = np.float32
#: Margin units per logistic unit in ``rice_score``: 0.05 of an index, or 5 % of observations.
_SCORE_SCALE = 0.05



def _stretched_end(days: npt.NDArray[np.int32], end: float, min_gap: float = 30.0, max_gap: float = 140.0) -> int:
    """End index (exclusive) of a window ending at day ``end``, stretched over an observation gap.

    When ``end`` falls inside a gap of the date axis longer than ``min_gap`` days (a cloud
    season, lost dates), the window takes the first date after the gap too, for gaps up to
    ``max_gap``: a fixed day window on a sparse series otherwise holds no observation of the
    canopy. Dense series (gaps of a revisit or two) are unchanged.
    """
    i = int(np.searchsorted(days, end, side="right"))
    if 0 < i < days.size and min_gap < days[i] - days[i - 1] <= max_gap:
        return i + 1
    return i


def _growth_margin(
    nd: npt.NDArray[np.float32], ev: npt.NDArray[np.float32], t: int, days: npt.NDArray[np.int32],
    p: OpticalRiceParams, ls: npt.NDArray[np.float32] | None = None, fl: npt.NDArray[np.bool_] | None = None,
) -> tuple[npt.NDArray[np.float32], int]:
    """Growth-confirmation margin (>= 0 passes) of onsets at index ``t``, and the cycle's end index."""
    d0 = float(days[t])
    i_grow = _stretched_end(days, d0 + p.growth_days)
    i_cyc = _stretched_end(days, d0 + p.peak_window_days)
    i_tr = _stretched_end(days, d0 + p.trough_days)
    evi_max = masked_max(ev[:, t:i_cyc])  # includes the onset, so finite
    xiao = np.minimum(masked_max(ev[:, t + 1:i_grow]) - _F32(p.growth_ratio) * evi_max,
                      evi_max - _F32(p.min_peak_evi))
    trough = masked_min(nd[:, t:i_tr])
    canopy = masked_max(nd[:, t + 1:i_cyc])
    climb = np.minimum(np.minimum(_F32(p.ndvi_trough_max) - trough, canopy - trough - _F32(p.ndvi_climb_min)),
                       canopy - _F32(p.ndvi_canopy_min))
    rules = {"xiao": xiao, "ndvi": climb, "either": np.maximum(xiao, climb), "both": np.minimum(xiao, climb)}
    margin = rules[p.growth_rule]
    if p.dry_lswi_max is not None and ls is not None and fl is not None:
        margin = np.minimum(margin, _dry_margin(nd, ls, fl, t, i_cyc, p))
    if p.wet_canopy_lswi is not None and ls is not None:
        margin = np.minimum(margin, _wet_canopy_cycle_margin(nd, ls, t, i_cyc, p))
    if p.early_ndvi_days is not None:
        margin = np.minimum(margin, _early_ndvi_margin(nd, t, days, p))
    return margin.astype(_F32), i_cyc


def _early_ndvi_margin(nd: npt.NDArray[np.float32], t: int, days: npt.NDArray[np.int32],
                       p: OpticalRiceParams) -> npt.NDArray[np.float32]:
    """Margin (index units) of "no vegetation in the first days after the flood onset at ``t``".

    ``ndvi_trough_max`` minus the highest NDVI of the clear dates within ``early_ndvi_days``
    after the onset. A paddy is water and seedlings for weeks after puddling; a flood under
    standing vegetation (basin irrigation between orchard rows, rain on a growing crop) is gone
    at the next date and the green is back. +inf (no vote) without such a date, or when the
    onset is the pixel's first clear date: the series may start inside a season, the flood
    signal then coming from the water under a growing canopy.
    """
    assert p.early_ndvi_days is not None
    i_e = int(np.searchsorted(days, float(days[t]) + p.early_ndvi_days, side="right"))
    seg = nd[:, t + 1:i_e]
    if seg.shape[1] == 0:
        return np.full(nd.shape[0], np.inf, dtype=_F32)
    peak = masked_max(seg)
    first = np.isnan(nd[:, :t]).all(axis=1)
    return np.where(np.isfinite(peak) & ~first, _F32(p.ndvi_trough_max) - peak, _F32(np.inf)).astype(_F32)


def _wet_canopy_cycle_margin(nd: npt.NDArray[np.float32], ls: npt.NDArray[np.float32], t: int, i_cyc: int,
                             p: OpticalRiceParams) -> npt.NDArray[np.float32]:
    """Margin (index units) of "some canopy date of the cycle after the onset at ``t`` is wet".

    The wettest canopy date (NDVI >= ``ndvi_canopy_min``) in (onset, cycle end) minus
    ``wet_canopy_lswi``. A paddy holds water under its canopy until two or three weeks before
    harvest, so at least one canopy date of its cycle shows it; a rain puddle followed by an
    upland crop, or a missed cloud shadow that faked the flood, is followed by a dry canopy.
    +inf (no vote) where the cycle shows no canopy date.
    """
    seg_nd, seg_ls = nd[:, t + 1:i_cyc], ls[:, t + 1:i_cyc]
    assert p.wet_canopy_lswi is not None
    if seg_nd.shape[1] == 0:
        return np.full(nd.shape[0], np.inf, dtype=_F32)
    wet = np.where(np.nan_to_num(seg_nd, nan=-1.0) >= _F32(p.ndvi_canopy_min), seg_ls, _F32(-np.inf))
    wettest = wet.max(axis=1)
    return np.where(np.isneginf(wettest), _F32(np.inf), wettest - _F32(p.wet_canopy_lswi)).astype(_F32)


def _dry_margin(nd: npt.NDArray[np.float32], ls: npt.NDArray[np.float32], fl: npt.NDArray[np.bool_], t: int,
                i_cyc: int, p: OpticalRiceParams) -> npt.NDArray[np.float32]:
    """Margin (index units / 0.05) of "no dry bare date between the flood onset at ``t`` and the canopy".

    A paddy stays flooded from puddling until its canopy closes; a rain puddle on a dryland field
    dries out (LSWI < 0 over bare soil) before the crop grows. Dates from the first canopy date
    (NDVI >= ``ndvi_canopy_min``) on are not looked at; +inf where no bare date is seen.
    """
    seg_nd, seg_ls, seg_fl = nd[:, t + 1:i_cyc], ls[:, t + 1:i_cyc], fl[:, t + 1:i_cyc]
    if seg_nd.shape[1] == 0:
        return np.full(nd.shape[0], np.inf, dtype=_F32)
    before_canopy = np.cumsum(np.nan_to_num(seg_nd, nan=-1.0) >= _F32(p.ndvi_canopy_min), axis=1) == 0
    bare = before_canopy & ~seg_fl & (seg_nd <= _F32(p.ndvi_trough_max)) & np.isfinite(seg_ls)
    m = np.where(bare, (seg_ls - _F32(p.dry_lswi_max)) / _F32(_SCORE_SCALE), _F32(np.inf))
    return m.min(axis=1)


def _date_span(sel: npt.NDArray[np.bool_], days: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
    """Days from the first to the last selected date of each pixel (0 with fewer than two)."""
    d = days[None, :].astype(_F32)
    first = np.where(sel, d, _F32(np.inf)).min(axis=-1)
    last = np.where(sel, d, _F32(-np.inf)).max(axis=-1)
    return np.where(sel.any(axis=-1), last - first, _F32(0.0)).astype(_F32)


def _hidden_crop_margin(
    wet: npt.NDArray[np.float32], ok: npt.NDArray[np.bool_], flood: npt.NDArray[np.bool_], nd: npt.NDArray[np.float32],
    ls: npt.NDArray[np.float32], days: npt.NDArray[np.int32], p: OpticalRiceParams, scale_days: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Margin of "a paddy season hidden in a cloud gap": flooded on bare ground before it, drained after.

    For every gap between two successive clear dates, all of:

    - the two clear dates before the gap both show the paddy flood signal (``wet`` >= 0: LSWI + T
      >= min(EVI, NDVI), LSWI > 0, NDVI <= 0.4), at most ``hidden_flood_link_days`` apart: a paddy
      stays flooded for weeks from puddling on, a rain puddle dries within days;
    - the flooded spell began on bare, dry ground: the last clear date without the flood signal
      before it has NDVI < ``ndvi_canopy_min`` and LSWI < ``hidden_bare_lswi_max``. A paddy is puddled on
      tilled soil; a seasonal wetland floods over its sedge and grass, still green and moist;
    - the gap is at least ``hidden_crop_days`` long, so the crop's canopy could fall inside it;
    - the first clear date after the gap is not flooded: paddies are drained for the harvest,
      while ponds, water bodies and wetlands in their flood season are still under water.

    The margin is the smallest of the wet margins and the bare-ground margin (index units /
    0.05) and the gap excess in units of ``scale_days``; -inf after a flooded date; the best
    gap of each pixel counts. It is weak evidence on its own (no canopy was seen), hence
    undated and never used with calendar windows.
    """
    n_pix, n_t = wet.shape
    ninf = _F32(-np.inf)
    last_d = np.full(n_pix, -1e9, dtype=_F32)  # day of the last clear date ...
    prev_d = np.full(n_pix, -2e9, dtype=_F32)  # ... and of the clear date before it
    last_w = np.full(n_pix, ninf, dtype=_F32)  # their wet margins
    prev_w = np.full(n_pix, ninf, dtype=_F32)
    dry_nd = np.full(n_pix, np.inf, dtype=_F32)  # NDVI and LSWI of the last clear date without flood
    dry_ls = np.full(n_pix, np.inf, dtype=_F32)
    bare_lswi = _F32(np.inf if p.hidden_bare_lswi_max is None else p.hidden_bare_lswi_max)
    onset_bare = np.full(n_pix, ninf, dtype=_F32)  # bare-ground margin of the current flooded spell
    best = np.full(n_pix, ninf, dtype=_F32)
    wet_t, ok_t, flood_t, nd_t, ls_t = (date_major(a) for a in (wet, ok, flood, nd, ls))  # one row per date
    for t in range(n_t):
        d, o, w = _F32(days[t]), ok_t[t], wet_t[t]
        linked = last_d - prev_d <= _F32(p.hidden_flood_link_days)
        wet_before = np.minimum(last_w, np.where(linked, prev_w, ninf)) / _F32(_SCORE_SCALE)
        gap = (d - last_d - _F32(p.hidden_crop_days)) / scale_days
        m = np.where(flood_t[t], ninf, np.minimum.reduce([wet_before, gap, onset_bare]))
        best = np.where(o, np.maximum(best, m), best)
        is_wet = w >= 0
        bare = np.minimum(_F32(p.ndvi_canopy_min) - dry_nd, bare_lswi - dry_ls) / _F32(_SCORE_SCALE)
        onset_bare = np.where(o & is_wet & ~(last_w >= 0), bare, onset_bare)
        dry_nd = np.where(o & ~is_wet, nd_t[t], dry_nd)
        dry_ls = np.where(o & ~is_wet, ls_t[t], dry_ls)
        prev_w, prev_d = np.where(o, last_w, prev_w), np.where(o, last_d, prev_d)
        last_w, last_d = np.where(o, w, last_w), np.where(o, d, last_d)
    return best


def _optical_kernel(
    ndvi: npt.NDArray[Any], evi: npt.NDArray[Any], lswi: npt.NDArray[Any], valid: npt.NDArray[Any], *,
    days: npt.NDArray[np.int32], doy: npt.NDArray[np.uint16], window: npt.NDArray[np.int8],
    n_windows: int, p: OpticalRiceParams,
) -> tuple[npt.NDArray[Any], ...]:
    """The rule on ``(..., time)`` arrays; returns the arrays of ``seasons.OUTPUT_DTYPES``."""
    lead, (nd, ev, ls, ok) = flatten_time(ndvi, evi, lswi, valid)
    nd, ev, ls = (a.astype(_F32, copy=False) for a in (nd, ev, ls))
    ok = ok.astype(bool) & np.isfinite(nd) & np.isfinite(ev) & np.isfinite(ls) & (np.abs(ev) <= _F32(p.max_abs_evi))
    nan = _F32(np.nan)
    nd, ev, ls = (np.where(ok, a, nan) for a in (nd, ev, ls))
    n_pix, n_t = nd.shape
    n_valid = ok.sum(axis=-1)
    in_win = window >= 0 if n_windows else np.ones(n_t, dtype=bool)
    n_window = (ok & in_win).sum(axis=-1)

    t_allow = _F32(p.flood_t)
    flood = ok & ((ls + t_allow >= ev) | (ls + t_allow >= nd))
    if p.flood_ndvi_max is not None:
        flood &= nd <= _F32(p.flood_ndvi_max)

    # Flood onsets: flooded now, not flooded at the previous valid observation (NaN never votes).
    onset = flood_onsets(flood, ok, in_win, p.onset_at_series_start)

    # Pass 1: the growth margin of every onset, and the dates of confirmed cycles [onset, +90 d].
    cands: list[tuple[int, npt.NDArray[np.intp], npt.NDArray[np.float32]]] = []
    in_cycle = np.zeros((n_pix, n_t), dtype=bool)
    for t in range(n_t):
        idx = np.flatnonzero(onset[:, t])
        if idx.size == 0:
            continue
        growth, i_cyc = _growth_margin(nd[idx], ev[idx], t, days, p, ls[idx], flood[idx])
        cands.append((t, idx, growth))
        if p.mask_outside_cycles:
            in_cycle[idx[growth >= 0], t:i_cyc] = True

    # Masks as fractions of all valid observations. With mask_outside_cycles only dates outside
    # confirmed flood-growth cycles count as water/forest/shrub, so a paddy's own flooded and green
    # dates (over 22 % / 43 % of a 3-crop year or of a short monsoon series) never mask it.
    out_ok = ok & ~in_cycle
    water_frac = fraction((out_ok & (nd < _F32(p.water_ndvi_max)) & (nd < ls)).sum(axis=-1), n_valid)
    forest_frac = fraction((out_ok & (nd >= _F32(p.forest_ndvi_min))).sum(axis=-1), n_valid)
    # A pixel with a confirmed flood-growth cycle is cropland: open water on a quarter of its
    # other dates is the flood season of a floodplain paddy (Mekong, Ganges), not a water body,
    # so it is masked only when water dominates (``cycle_water_fraction``).
    has_cycle = in_cycle.any(axis=-1)
    water_limit = np.where(has_cycle, _F32(max(p.cycle_water_fraction, p.water_fraction)), _F32(p.water_fraction))
    water = water_frac >= water_limit  # NaN (no valid obs) compares False
    forest = forest_frac >= _F32(p.forest_fraction)
    if p.shrub_lswi_min is not None:
        # Open-water dates say nothing about evergreen vegetation (the water mask weighs them),
        # and moist dates within a few months may be one unconfirmed paddy season (a flood seen
        # at the end of the series, a floodplain paddy's river flood): the evergreen shrub test
        # needs its dates to span ``shrub_min_span_days``.
        open_water = (nd < _F32(p.water_ndvi_max)) & (nd < ls)
        shrub_ok = out_ok & ~open_water
        forest |= (shrub_ok.any(axis=-1) & (~shrub_ok | (ls >= _F32(p.shrub_lswi_min))).all(axis=-1)
                   & (_date_span(shrub_ok, days) >= _F32(p.shrub_min_span_days)))
    with np.errstate(invalid="ignore"):
        mask_margin = np.minimum(water_limit - water_frac, _F32(p.forest_fraction) - forest_frac)
    mask_margin = np.where(np.isnan(mask_margin) | forest, _F32(-np.inf), mask_margin / _F32(_SCORE_SCALE))
    if p.max_green_days is not None:
        # Green for longer than a rice crop can be: perennial or long-season vegetation. Scale:
        # 10 days plus half the median gap between clear dates (the spell's uncertainty).
        green = ok & (nd >= _F32(p.ndvi_canopy_min))
        spell = _water_spell_days(green, ok, days, max_link=p.green_link_days)
        green_margin = (_F32(p.max_green_days) - spell) / (_F32(10.0) + _F32(0.5) * _clear_gap(ok, days))
        forest |= green_margin < 0
        mask_margin = np.minimum(mask_margin, green_margin)
    masked = water | forest

    # Pass 2: seasons in time order (one per window with a calendar).
    seasons = SeasonSlots(n_pix, n_windows, p.max_seasons, p.min_season_days, mask_margin, masked)
    for t, idx, growth in cands:
        seasons.offer(t, idx, growth / _F32(_SCORE_SCALE), window, doy, days)
    best, count, slots = seasons.best, seasons.count, seasons.slots

    # Undated evidence: the one-line baseline's low and high NDVI, plus a flood signal seen on
    # a dark date. On a sparse, cloudy series the flood and the canopy of one season are often
    # further apart than any day window (gaps of 100+ days), so a paddy seen flooded once and
    # green once is rice even when no dated onset can be confirmed; its season is undated.
    # The canopy must follow a flooded date (within ``max_cycle_days``, gaps included): seasonal
    # wetland greens up before its flood and stays bare after it.
    with np.errstate(invalid="ignore"):
        lo = (_F32(p.ndvi_low) - masked_min(nd)) / _F32(_SCORE_SCALE)
        # LSWI > 0 too: a cloud shadow the mask missed darkens every band, and EVI ~ LSWI ~ 0
        # passes Xiao's test by its tolerance T; standing water under a paddy has LSWI > 0.
        wet = np.where(ok & (nd <= _F32(p.ndvi_trough_max)),
                       np.minimum(ls + t_allow - np.minimum(ev, nd), ls / _F32(2.0)), _F32(-np.inf))
        fl = wet.max(axis=-1, initial=_F32(-np.inf)) / _F32(_SCORE_SCALE)
        # Only where the dated rule cannot follow the cycle: a cloud gap (no clear date for
        # more than ``gap_days``) or fewer than two clear dates between the flood and the
        # canopy. Where the dates are dense the dated rule decides (a rain puddle under a
        # young dryland crop, followed by its canopy, must not pass here).
        canopy = undated_canopy(ok, nd, wet, days, gap_days=p.gap_days, max_cycle_days=p.max_cycle_days)
        hi = (canopy - _F32(p.ndvi_high)) / _F32(_SCORE_SCALE)
    # A paddy's flood lasts weeks; seasonal wetland and ponds stay flooded for months.
    dur = (_F32(p.max_flood_days) - _water_spell_days(flood & (nd <= _F32(p.ndvi_low)), ok, days)) / _F32(10.0)
    undated = np.minimum.reduce([lo, hi, fl, dur, mask_margin]).astype(_F32)
    if p.hidden_crop_days is not None:
        # A crop hidden in a cloud gap: partial evidence, in units of gap days (see the function).
        gap_crop = _hidden_crop_margin(wet, ok, flood, nd, ls, days, p, _F32(10.0) + _F32(0.5) * _clear_gap(ok, days))
        undated = np.maximum(undated, np.minimum(gap_crop, mask_margin))
    if p.wet_canopy_lswi is not None and p.undated_wet_canopy_lswi is not None:
        # A canopy standing in water, seen after a gap that hid its flood (see the parameter).
        scale = _F32(_SCORE_SCALE)
        # Only canopy dates vote: a pixel that never shows one keeps the score 0 of "no evidence".
        wet_canopy = np.where(nd >= _F32(p.ndvi_canopy_min),
                              np.minimum((nd - _F32(p.ndvi_high)) / scale, (ls - _F32(p.undated_wet_canopy_lswi)) / scale),
                              _F32(-np.inf))
        # Dates below canopy greenness and wetter than ``wet_canopy_lswi`` (water, a young crop in
        # water) do not end the gap; a canopy date does, so a long green spell is no gap.
        young_wet = ok & (ls >= _F32(p.wet_canopy_lswi)) & (nd < _F32(p.ndvi_canopy_min))
        seen = canopy_after_gap(ok, wet_canopy, young_wet, days, gap_days=p.gap_days,
                                scale_days=_F32(10.0) + _F32(0.5) * _clear_gap(ok, days))
        undated = np.maximum(undated, np.minimum.reduce([seen, lo, dur, mask_margin]))
    undated = np.where(np.isnan(undated), _F32(-np.inf), undated)
    if p.undated_seasons and not n_windows:
        add = (undated >= 0) & (count == 0) & ~masked
        count = np.where(add, 1, count)
        best = np.maximum(best, undated)

    score = np.where(np.isneginf(best), _F32(0.0), logistic(best))
    qa = (np.where(n_window > 0, QA_OBSERVED, 0) | np.where(count > 0, QA_OPTICAL, 0)
          | np.where(water, QA_WATER, 0) | np.where(forest, QA_FOREST_BUILT, 0)).astype(np.uint8)
    return finish_outputs(lead, n_valid, count, slots, score, n_window, qa)


def _bands(ds: xr.Dataset, p: OpticalRiceParams) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """NDVI, EVI and LSWI: taken from ``ds`` when present, else computed from the bands (lazy)."""
    if all(v in ds for v in ("ndvi", "evi", "lswi")):
        return ds["ndvi"], ds["evi"], ds["lswi"]
    need = ("nir", "red", "blue", "swir16", p.lswi_nir_band)
    missing = sorted({b for b in need if b not in ds})
    if missing:
        raise MissingBandError(
            f"the optical rice rule needs bands {sorted(set(need))} (or variables ndvi, evi, lswi); "
            f"missing {missing} among {sorted(map(str, ds.data_vars))}. Rename bands to common names "
            "(agromap.sensors) or compute the indices with agromap.indices first."
        )
    return (indices.ndvi(ds["nir"], ds["red"]), indices.evi(ds["nir"], ds["red"], ds["blue"]),
            indices.lswi(ds[p.lswi_nir_band], ds["swir16"]))


def clear_observations(ds: xr.Dataset, like: xr.DataArray, p: OpticalRiceParams, valid: xr.DataArray | None
                       ) -> xr.DataArray:
    """Clear-observation mask from ``valid``/``scl``, the blue cloud test and the snow test (lazy bool).

    Parameters
    ----------
    ds : xarray.Dataset
        Reflectance stack; ``scl``, ``blue``, ``green``, ``swir16`` and ``nir`` are used when present.
    like : xarray.DataArray
        Gives the mask its shape and coordinates (e.g. the NDVI stack).
    p : OpticalRiceParams
        ``cloud_blue`` and ``snow_ndsi`` thresholds (``None`` skips that test).
    valid : xarray.DataArray or None
        A caller's own validity mask; used instead of ``scl`` when given.

    Returns
    -------
    xarray.DataArray
        bool, True where the observation is clear, lazy.
    """
    from .. import masks

    out = xr.ones_like(like, dtype=bool)
    if valid is not None:
        out = out & valid.astype(bool)
    elif "scl" in ds:
        out = out & masks.scl_valid(ds["scl"])
    if p.cloud_blue is not None and "blue" in ds:
        out = out & (ds["blue"] < np.float32(p.cloud_blue))
    if p.haze_hot is not None and "blue" in ds and "red" in ds:
        # Fmask's HOT test (Zhu & Woodcock 2012): haze is brighter in blue than in red.
        out = out & ~(ds["blue"] - np.float32(0.5) * ds["red"] > np.float32(p.haze_hot))
    if p.snow_ndsi is not None and "green" in ds and "swir16" in ds and "nir" in ds:
        ndsi = indices.ndsi(ds["green"], ds["swir16"])
        snow = (ndsi > np.float32(p.snow_ndsi)) & (ds["nir"] > np.float32(p.snow_nir))
        out = out & ~snow
    return out.rename("valid")


def optical_rice_rule(
    ds: xr.Dataset,
    params: OpticalRiceParams | None = None,
    *,
    valid: xr.DataArray | None = None,
    windows: str | Sequence[SeasonWindow] | None = None,
) -> xr.Dataset:
    """Label-free paddy rice map and transplanting dates from an optical time series.

    Parameters
    ----------
    ds : xarray.Dataset
        ``(time, y, x)`` raster or ``(time, point)`` table (any dims with ``time``), numpy or
        dask. Either reflectance bands ``nir``, ``red``, ``blue``, ``swir16`` (0-1, NaN = nodata;
        optional ``green`` for the snow test and ``scl`` for the Sentinel-2 cloud mask), or
        precomputed ``ndvi``, ``evi``, ``lswi`` (float, NaN = nodata). Dates may be irregular,
        unsorted (they are sorted) or missing; duplicates are an error.
    params : OpticalRiceParams, optional
        Thresholds (defaults: published values).
    valid : xarray.DataArray of bool, optional
        Clear-observation mask (True = usable) aligned with ``ds``; when given, ``scl`` is not used.
    windows : str or sequence of SeasonWindow, optional
        Flooding/transplanting windows (a :data:`~agromap.rice.seasons.CROP_CALENDARS` name or
        windows); ``None`` finds seasons anywhere in the series.

    Returns
    -------
    xarray.Dataset
        The variables of :mod:`agromap.rice.seasons` (``rice_class`` uint8/255, ``n_seasons``
        uint8/255, ``transplant_doy`` uint16 ``(season, ...)``/0, ``rice_score`` float32/NaN,
        ``n_valid_obs``, ``n_valid_in_flood_window``, ``qa_flags`` uint8) on the non-time dims
        of ``ds``, with its coordinates (grid included). Lazy when ``ds`` is dask-backed (time is
        merged into one chunk); dtypes are known before computing. No float64.

    Raises
    ------
    MissingBandError
        Neither the bands nor the indices are present.
    InputError
        No ``time`` dimension or coordinate, or duplicated dates.

    References
    ----------
    Xiao X. et al. 2005, RSE 95:480-492; Xiao X. et al. 2006, RSE 100:95-113; docs/science/rice.md.

    Examples
    --------
    >>> from agromap.testing import SceneSpec, make_s2_stack
    >>> out = optical_rice_rule(make_s2_stack(SceneSpec(shape=(16, 16))))
    >>> out.rice_class.dtype.name, out.transplant_doy.dims
    ('uint8', ('season', 'y', 'x'))
    """
    p = params if params is not None else OpticalRiceParams()
    if not isinstance(ds, xr.Dataset):
        raise ConfigError("optical_rice_rule takes an xarray.Dataset of bands (nir, red, blue, swir16) "
                          "or of indices (ndvi, evi, lswi).")
    win = resolve_windows(windows)
    ds = prepare_series(ds, "optical_rice_rule input")  # type: ignore[assignment]
    if valid is not None:
        valid = prepare_series(valid, "valid mask")  # type: ignore[assignment]
    ndvi, evi, lswi = _bands(ds, p)
    ok = clear_observations(ds, ndvi, p, valid)
    days, doy = time_axis(ds["time"].values)
    kwargs = {"days": days, "doy": doy, "window": window_index(doy, win), "n_windows": len(win), "p": p}
    attrs = {"algorithm": "xiao-pppm-multiseason", "rice_rule": "optical",
             "parameters": json.dumps(dataclasses.asdict(p), sort_keys=True),
             "season_windows": json.dumps([dataclasses.asdict(w) for w in win])}
    return apply_rule(_optical_kernel, [ndvi, evi, lswi, ok], kwargs, len(win) or p.max_seasons, attrs)
