"""The optical rice kernel's second walk per pixel, compiled (numba): onsets, masks and undated evidence.

:func:`pixel_terms` walks a pixel's packed clear dates (packed by the first walk,
:mod:`agromap.rice.optical_kernel_steps`) once, carrying every term's state from date to date:
the flood onsets and each one's growth confirmation, the water, forest and shrub dates outside
confirmed cycles, harvest, the sparse-series, green-spell and undated evidence (a flooded field
then its stubble, a seedbed, a crop hidden in a cloud gap, a canopy in water after a gap, a
season hidden in a gap; the steps that follow one crop out of its flood are in
:mod:`agromap.rice.optical_kernel_crops`), and folds them into the pixel's masks and margins
(docs/science/rice.md#optical-flooding-rule). Both tile loops of
:mod:`agromap.rice.optical_kernel` inline it; how its float32 arithmetic keeps the numpy
reference's bits is told there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..jit import fmax as _fmax
from ..jit import jit as _jit
from ..jit import maximum as _max
from ..jit import minimum as _min
from .optical_kernel_crops import pond_crop_short, pond_crop_step, series_end, wet_before_gap, young_gap_step
from .optical_kernel_green_spell import green_date
from .optical_kernel_layout import (
    F_AT_START,
    F_DRY_NOT_EVERGREEN,
    F_EARLY,
    F_END_FLOOD,
    F_FLOOD_NOT_EVERGREEN,
    F_FLOOD_SHADOW,
    F_FLOOD_STUBBLE,
    F_GAP_SEASON,
    F_GAP_SEASON_CUT_END,
    F_GAP_SEASON_DIP,
    F_GAP_SEASON_NOT_FOREST,
    F_GAP_SEASON_OPEN_END,
    F_GAP_SEASON_OPEN_START,
    F_GAP_SEASON_OPEN_YOUNG,
    F_GAP_SEASON_YOUNG,
    F_GAP_SEASON_YOUNG_RUN,
    F_GREEN,
    F_HARVEST,
    F_HIDDEN,
    F_HIDDEN_BARE,
    F_HIDDEN_CANOPY,
    F_HIDDEN_OPEN,
    F_HIDDEN_REFLOOD,
    F_HIDDEN_YOUNG,
    F_ONSET_GAP,
    F_OUTSIDE_CYCLES,
    F_POND_CROP,
    F_POND_END_ONSET,
    F_POND_RIPE,
    F_SEEDBED,
    F_SEEDBED_CANOPY,
    F_SHRUB_FLOOD,
    F_SHRUB_REPUDDLE,
    F_SPARSE,
    F_UNDATED_EARLY,
    F_UNDATED_WET,
    F_UNDATED_WET_SHARE,
    F_WET_CANOPY,
    P_CANOPY_MIN,
    P_DRY_NOT_EVERGREEN,
    P_EARLY_DAYS,
    P_FLOOD_NOT_EVERGREEN,
    P_FLOOD_STUBBLE,
    P_FLOOD_T,
    P_FOREST_NDVI_MIN,
    P_GAP_DAYS,
    P_GAP_SEASON_DAYS,
    P_GAP_SEASON_DIP,
    P_GAP_SEASON_LOW_LSWI,
    P_GAP_SEASON_LSWI,
    P_GAP_SEASON_MIN_GAP,
    P_GAP_SEASON_OPEN_END,
    P_GREEN_LINK,
    P_HARVEST_LSWI,
    P_HARVEST_NDVI,
    P_HIDDEN_BARE_LSWI,
    P_HIDDEN_CANOPY_LSWI,
    P_HIDDEN_CROP_DAYS,
    P_HIDDEN_LINK,
    P_HIDDEN_OPEN_NDVI,
    P_HIDDEN_REFLOOD,
    P_MAX_CYCLE_DAYS,
    P_MAX_FLOOD_DAYS,
    P_MAX_GREEN_DAYS,
    P_NDVI_HIGH,
    P_NDVI_LOW,
    P_ONSET_GAP,
    P_PEAK_WINDOW,
    P_POND_CROP_GREEN,
    P_POND_RIPE,
    P_SEEDBED_DAYS,
    P_SEEDBED_MARGIN,
    P_SEEDBED_NDVI,
    P_SEEDBED_STUBBLE_NDVI,
    P_SHRUB_FLOOD_EVI,
    P_SHRUB_FLOOD_SHARE,
    P_SHRUB_LSWI_MIN,
    P_SHRUB_REPUDDLE_DROP,
    P_SPARSE_DATES,
    P_SPARSE_GAP,
    P_SPARSE_LSWI,
    P_TROUGH_MAX,
    P_UNDATED_WET_LSWI,
    P_UNDATED_WET_SHARE,
    P_WATER_NDVI_MAX,
    P_WET_CANOPY_EVI_RATIO,
    P_WET_CANOPY_LSWI,
)
from .optical_kernel_layout import MARGIN_SCALE as _SCALE
from .optical_kernel_layout import NEG_INF as _NINF
from .optical_kernel_layout import POS_INF as _PINF
from .optical_kernel_steps import (
    cover_masks,
    early_dry_peak,
    gap_season_start,
    growth_margin,
    spell_step,
)

__all__ = ["pixel_terms"]


# Inlined in the pixel loops: a call passes each array as seven values, and per pixel that cost 8 % of the kernel.
@_jit(nrt=False, inline=True)
def pixel_terms(  # noqa: C901 (one walk for all terms; a helper per term is a call per date, +30 % time)
    n: int, ci: Any, cd: Any, cn: Any, ce: Any, cl: Any, cf: Any, in_win: Any, ends: Any, prm: Any, flags: Any,
    scale_days: Any, p: int, onset: Any, growth: Any,
) -> tuple[bool, bool, Any, Any]:
    """Second walk, over the packed clear dates: onsets, masks, green spell and undated evidence.

    Writes pixel ``p``'s onsets and growth margins (logistic units); returns the water and forest
    masks, the mask margin and the undated margin (logistic units, NaN as -inf). A confirmed
    cycle covers the dates [onset, cycle end) of the full axis, so a date is inside one when it
    comes before the furthest cycle end of the onsets up to it.
    """
    t_allow, gap_days, max_cycle, trough_max = prm[P_FLOOD_T], prm[P_GAP_DAYS], prm[P_MAX_CYCLE_DAYS], prm[P_TROUGH_MAX]
    canopy_min = prm[P_CANOPY_MIN]
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
    crop_lswi = prm[P_WET_CANOPY_LSWI] if flags[F_WET_CANOPY] else _NINF
    # sparse series: a canopy standing in water and open water seen, and the longest clear interval
    sparse_canopy = False
    sparse_open = False
    longest = np.float32(0.0)
    # flooded field, then stubble: day of the first open-water date, deepest open water so far, best margin
    stubble_on = flags[F_FLOOD_STUBBLE] and flags[F_HIDDEN_OPEN] and flags[F_HARVEST]
    s_first = _PINF
    s_open = _NINF
    s_best = _NINF
    # The last clear date without the flood signal: its NDVI and LSWI (whose bare-ground margin, or its
    # margin as a canopy standing in water, the previous crop harvested, are taken only on the few
    # dates that read them: two divisions on most dates otherwise) and its day; none seen yet
    s_bare_seen, s_bare_y, s_bare_l, s_bare_d = False, np.float32(0.0), np.float32(0.0), np.float32(-1e9)
    # ... or a flooded seedbed on bare ground: the flood episode (the spell of seedbed dates of the
    # latest one that qualified) starts on day b_start with margin b_open, its last seedbed date is
    # b_last, b_wide is the widest clear interval since it started, b_dry whether it dried out before such
    # an interval; b_spell starts the current spell
    seedbed = stubble_on and flags[F_SEEDBED] and hidden
    after_crop = seedbed and flags[F_SEEDBED_CANOPY]
    # the highest stubble NDVI any vote takes: the seedbed's bar may lie above the open water's (``ndvi_low``)
    stubble_hi = _max(prm[P_NDVI_LOW], prm[P_SEEDBED_STUBBLE_NDVI]) if seedbed else prm[P_NDVI_LOW]
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
    n_can_all = 0  # clear canopy dates (NDVI >= ndvi_canopy_min), and those standing in water
    n_can_wet = 0
    fl_best = _NINF
    f_start, f_prev, f_spell = np.float32(-1.0), np.float32(-1e9), np.float32(0.0)
    last_wet, last_ok, between, widest, canopy = _NINF, _NINF, 0, np.float32(0.0), _NINF
    # the flooded date that opens the canopy's window: one drained within days (``undated_flood_stands``) closes it
    undated_early = flags[F_UNDATED_EARLY]
    early_bar = prm[P_WET_CANOPY_LSWI] if flags[F_WET_CANOPY] else _PINF
    win_wet = _NINF
    # hidden crop (see the walk below)
    h_last_d = np.float32(-1e9)
    h_prev_d = np.float32(-2e9)
    h_last_w = _NINF
    h_prev_w = _NINF
    dry_nd = _PINF
    dry_ls = _PINF
    dry_d = np.float32(0.0)
    after_canopy = hidden and flags[F_HIDDEN_CANOPY]  # or on the previous crop's canopy in water
    h_last_nd = _PINF  # NDVI of the last clear date
    onset_bare = _NINF
    h_best = _NINF
    # a flood after the gap (hidden_reflood_days): its pending vote, day and NDVI
    reflood = hidden and flags[F_HIDDEN_REFLOOD]
    r_pend, r_day, r_nd, r_k = _NINF, np.float32(0.0), np.float32(0.0), n
    bare_lswi = prm[P_HIDDEN_BARE_LSWI] if flags[F_HIDDEN_BARE] else _PINF
    zero_scale = scale_days == 0
    # canopy in water after a gap
    c_last = _NINF
    c_seen = _NINF
    # a season hidden in a gap: a canopy spell is running (since a gap after the bare date on day
    # gs_low), with the bare date's and the gap's margin gs_start and its wettest canopy margin gs_can
    gap_season = flags[F_GAP_SEASON]
    open_end = gap_season and flags[F_GAP_SEASON_OPEN_END]
    young = gap_season and flags[F_GAP_SEASON_YOUNG]
    young_run = young and flags[F_GAP_SEASON_YOUNG_RUN]
    dip_on = gap_season and flags[F_GAP_SEASON_DIP]
    gs_on, gs_low, gs_start, gs_can, gs_best = False, np.float32(0.0), _NINF, _NINF, _NINF
    # a spell on the pixel's first clear date (``gap_season_open_start``) and its best vote: no bare date seen
    gs_open, gs_open_best = False, _NINF
    open_start = gap_season and flags[F_GAP_SEASON_OPEN_START]
    # ... or a first spell soon after the series' start, after young-crop dates on soil that is not dry
    open_young = gap_season and flags[F_GAP_SEASON_OPEN_YOUNG]
    gs_green_seen, gs_dry_seen = False, False
    gs_bar = prm[P_GAP_SEASON_LSWI]  # the spell's canopy bar (lower after a young crop on wetted soil)
    # a flooded bare field seen (``flood_not_evergreen``): no evergreen forest
    flooded_field = False
    # ... or bare, dry ground seen (``dry_not_evergreen``): neither green nor moist, which no evergreen canopy is
    dry_field = False
    # a pond, then a ripening crop and its stubble (``pond_ripe_ndvi``): the first and last open-water days, a ripening
    # crop seen after the last one, and the whole sequence seen
    pond_ripe_on = flags[F_POND_RIPE]
    pw_first, pw_last, pw_ripe, pond_ripe = _PINF, _NINF, False, False
    # (shrub_repuddle) the last day of a canopy in water, and whether seedlings in water followed one within weeks
    repuddle_on = flags[F_SHRUB_REPUDDLE]
    rp_canopy, rp_nd, repuddled = np.float32(-1e9), np.float32(0.0), False
    # (shrub_flood_evi) a flooded field's trough seen, and the count of canopy dates
    shrub_flood = flags[F_SHRUB_FLOOD]
    sf_trough, sf_canopy = False, 0
    # a young crop before a gap (``hidden_young_rise``): the current flooded spell's bare margin (-inf: none),
    # its lowest NDVI, the bare date's NDVI and the spell's last day; the previous date's pending vote
    young_gap = flags[F_HIDDEN_YOUNG]
    yg_spell, yg_min, yg_pre, yg_last = _NINF, _PINF, _PINF, np.float32(-1e9)
    yg_prev_fl, yg_pend, yg_best = False, _NINF, _NINF
    # a pond, then one rice crop (``pond_crop_green_days``): the last day of a flooded dark spell longer than
    # ``max_flood_days`` (-inf: none pending), the canopy phase after it (running, first and last canopy day,
    # a canopy in water seen) and whether a short one was seen
    pond_crop = flags[F_POND_CROP]
    pc_end, pc_on, pc_first, pc_last, pc_wet, pc_ok = _NINF, False, np.float32(0.0), np.float32(0.0), False, False
    for k in range(n):
        t, d, y, x, ls, fl = ci[k], cd[k], cn[k], ce[k], cl[k], cf[k]
        open_water = y < prm[P_WATER_NDVI_MAX] and y < ls  # the water test of the mask and the terms below

        # -- flood onset and its growth confirmation
        # (a flood on a bare field after a clear interval longer than ``onset_gap_days`` is an onset: the state
        # over the interval is unseen)
        regap = flags[F_ONSET_GAP] and k > 0 and d - cd[k - 1] > prm[P_ONSET_GAP] and y <= trough_max
        is_onset = fl and (state == 0 or regap) and in_win[t]
        # (a pond's last flooded date before a crop rises is an onset too: a rice-shrimp field's puddling flood
        # follows its pond without the flood signal clearing; its standing water by NDVI rules out a drained
        # field's moist soil, the rise seen within ``gap_days`` a wetland's grass regrown in a cloud gap, the short
        # canopy a lotus pond, and the spell, which a paddy's own flood never lasts, stands for its first days)
        pond_end = (flags[F_POND_END_ONSET] and not is_onset and fl and state == 1 and in_win[t]
                    and y <= prm[P_NDVI_LOW] and ls + t_allow >= y and f_start >= 0 and d - f_prev <= 45.0
                    and d - f_start > prm[P_MAX_FLOOD_DAYS] and k + 1 < n and cn[k + 1] > prm[P_NDVI_LOW]
                    and cd[k + 1] - d <= gap_days
                    and pond_crop_short(k, n, cd, cn, trough_max, canopy_min, max_cycle, prm))
        is_onset = is_onset or pond_end
        # (a date whose flood a missed shadow's EVI alone read, ``flood_shadow_ndvi``, tells neither flood nor dry
        # ground, as a cloudy date: it leaves the state, so that the next flooded date opens no season of its own)
        if not (flags[F_FLOOD_SHADOW] and not fl and x < prm[P_WET_CANOPY_EVI_RATIO] * y and ls + t_allow >= x):
            state = 1 if fl else 0
        if is_onset:
            onset[p, t] = True
            g = growth_margin(k, n, ci, cn, ce, cl, cf, ends[0, t], ends[1, t], ends[2, t], ends[3, t], ends[4, t],
                              prm, flags, pond_end, ends[5, t], ends[6, t])
            growth[p, t] = g / _SCALE
            if flags[F_OUTSIDE_CYCLES] and g >= 0:
                cycle_end = max(cycle_end, ends[1, t])
                has_cycle = True

        # -- water, forest and shrub dates (outside confirmed cycles: onsets up to t are known)
        if t >= cycle_end:
            n_water += open_water
            n_forest += y >= prm[P_FOREST_NDVI_MIN]
            if not open_water:
                shrub_any = True
                first = min(first, d)
                last = max(last, d)
                shrub_all = shrub_all and ls >= prm[P_SHRUB_LSWI_MIN]
        if shrub_flood:
            # (the trough stands for weeks, as a flood and its seedlings do: the clear date before or after is
            # low too; a floating mat opens to water for a date between two green ones)
            sf_trough = sf_trough or (fl and y <= prm[P_NDVI_LOW] and x <= prm[P_SHRUB_FLOOD_EVI] and (
                (k > 0 and cn[k - 1] <= prm[P_NDVI_LOW]) or (k + 1 < n and cn[k + 1] <= prm[P_NDVI_LOW])))
            sf_canopy += y >= prm[P_NDVI_HIGH]

        # -- harvest: stubble on dry soil after a canopy in water (on any date, in a cycle or not)
        if flags[F_HARVEST]:
            harvest = harvest or (wet_crop and y >= prm[P_HARVEST_NDVI] and y <= prm[P_NDVI_LOW] and ls < prm[P_HARVEST_LSWI])
            wet_crop = wet_crop or (y >= prm[P_NDVI_HIGH] and ls >= crop_lswi)

        # -- sparse series: a canopy standing in water, open water (on any date), the widest interval
        if flags[F_SPARSE]:
            sparse_canopy = sparse_canopy or (y >= prm[P_NDVI_HIGH] and ls >= prm[P_SPARSE_LSWI])
            sparse_open = sparse_open or open_water
            if k > 0:
                longest = _max(longest, d - cd[k - 1])

        # -- a flooded bare field: standing water with soil or seedlings, which no evergreen canopy shows
        if flags[F_FLOOD_NOT_EVERGREEN]:
            flooded_field = flooded_field or (y <= prm[P_NDVI_LOW] and ls - y >= prm[P_FLOOD_NOT_EVERGREEN])
        # -- bare, dry ground: soil or stubble, never an evergreen canopy (a direct-seeded paddy's harvest or sowing)
        if flags[F_DRY_NOT_EVERGREEN]:
            dry_field = dry_field or (y <= prm[P_NDVI_LOW] and ls < prm[P_DRY_NOT_EVERGREEN])
        # -- a pond for months, then a ripening crop and its stubble (the rice crop of a rice-shrimp rotation)
        if pond_ripe_on:
            if open_water:
                pw_first, pw_last, pw_ripe = min(pw_first, d), d, False
            elif pw_ripe and y >= prm[P_HARVEST_NDVI] and y <= prm[P_NDVI_LOW] and ls < prm[P_HARVEST_LSWI]:
                pond_ripe = True
            elif (pw_last - pw_first >= prm[P_MAX_FLOOD_DAYS] and y >= prm[P_POND_RIPE] and y < prm[P_NDVI_HIGH]
                  and ls >= prm[P_HARVEST_LSWI]):
                pw_ripe = True
        # -- a canopy in water giving way to seedlings in water within weeks: a harvest and the next puddling
        if repuddle_on:
            if (y <= prm[P_SEEDBED_NDVI] and ls - y >= prm[P_SEEDBED_MARGIN] and d - rp_canopy <= prm[P_HIDDEN_LINK]
                    and rp_nd - y >= prm[P_SHRUB_REPUDDLE_DROP]):
                repuddled = True
            if y >= prm[P_NDVI_HIGH] and ls >= crop_lswi:
                rp_canopy, rp_nd = d, y

        # -- a young crop greening out of its flood, the last clear date before a gap that hides its canopy
        if young_gap:
            yg_spell, yg_min, yg_pre, yg_last, yg_prev_fl, yg_pend, yg_best = young_gap_step(
                k, d, y, ls, cd, cn, cl, t_allow, canopy_min, prm, scale_days, yg_spell, yg_min, yg_pre, yg_last,
                yg_prev_fl, yg_pend, yg_best)

        # -- green spell
        g_start, g_prev, g_spell = spell_step(g_start, g_prev, g_spell, green_date(k, n, cd, cn, cl, prm, flags), d,
                                              prm[P_GREEN_LINK])

        # -- undated evidence
        lowest = min(lowest, y)
        if y >= canopy_min:
            n_can_all += 1
            if ls >= prm[P_WET_CANOPY_LSWI]:
                n_can_wet += 1
        w = _min(ls + t_allow - _min(x, y), ls / np.float32(2.0)) if y <= trough_max else _NINF
        fl_best = _max(fl_best, w)
        f_start, f_prev, f_spell = spell_step(f_start, f_prev, f_spell, fl and y <= prm[P_NDVI_LOW], d,
                                               np.float32(45.0))
        if pond_crop:
            pc_end, pc_on, pc_first, pc_last, pc_wet, pc_ok = pond_crop_step(
                d, y, ls, fl, f_start, trough_max, canopy_min, max_cycle, crop_lswi, prm, pc_end, pc_on, pc_first,
                pc_last, pc_wet, pc_ok)
        widest = _max(widest, d - last_ok)
        if d - win_wet <= max_cycle and (widest > gap_days or between < 2):
            canopy = _max(canopy, y)
        if w >= 0:
            last_wet = d
            # A paddy stands in water with its seedlings for one or two weeks after puddling and transplanting, so a
            # clear date on drained soil (no flood signal, LSWI below ``wet_canopy_lswi``) within ``early_ndvi_days``
            # of the flood says the water did not stand (rain on a field sown or already growing): the date closes
            # the canopy's window (of an earlier flood too) instead of opening one. Not when the date continues the
            # flood that opened the window (the flood's previous clear date, or within ``early_ndvi_days`` of it): that
            # flood stood its first days, and these are its last, drained as a paddy is weeks after transplanting.
            # Nor when the date reads open water (``hidden_open_water_ndvi``): the whole field under water, which
            # rain on an upland field does not make (a direct-seeded paddy is drained days after it for sowing).
            if (undated_early and k > 0 and d - win_wet > prm[P_EARLY_DAYS] and win_wet != last_ok
                    and not (flags[F_HIDDEN_OPEN] and y <= prm[P_HIDDEN_OPEN_NDVI] and y < ls)
                    and early_dry_peak(k, n, ci, cn, cl, cf, ends[3, t], early_bar) != _NINF):
                win_wet = _NINF
            else:
                between, widest, win_wet = 0, np.float32(0.0), d
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
            # Until an open-water date (or a seedbed) has a margin, a stubble date's votes are
            # min(-inf, ...) and cannot change s_best (never NaN): most pixels skip the test.
            if ((s_open != _NINF or b_open != _NINF) and y >= prm[P_HARVEST_NDVI] and y <= stubble_hi
                    and ls < prm[P_HARVEST_LSWI]):
                if y <= prm[P_NDVI_LOW]:
                    st = _min(_min(y - prm[P_HARVEST_NDVI], prm[P_NDVI_LOW] - y), prm[P_HARVEST_LSWI] - ls) / _SCALE
                    s_best = _fmax(s_best, _min(_min(s_open, st), (d - s_first - prm[P_FLOOD_STUBBLE]) / scale_days))
                # The seedbed's stubble (to seedbed_stubble_ndvi_max) also needs the flood episode short (seedbed_max_days),
                # a clear interval since it began long enough to hide the canopy (hidden_crop_days), and no dry soil
                # before that interval; gates, not margins: a pixel that fails one keeps its score.
                if (seedbed and not b_dry and b_last - b_start <= prm[P_SEEDBED_DAYS] and b_wide >= prm[P_HIDDEN_CROP_DAYS]
                        and y <= prm[P_SEEDBED_STUBBLE_NDVI]):
                    sb = _min(_min(y - prm[P_HARVEST_NDVI], prm[P_SEEDBED_STUBBLE_NDVI] - y), prm[P_HARVEST_LSWI] - ls) / _SCALE
                    s_best = _fmax(s_best, _min(_min(b_open, sb), (d - b_start - prm[P_FLOOD_STUBBLE]) / scale_days))
            if open_water:
                s_best = _NINF
            if y <= prm[P_HIDDEN_OPEN_NDVI] and y < ls:
                s_bare = _min(canopy_min - s_bare_y, bare_lswi - s_bare_l) / _SCALE if s_bare_seen else _NINF
                s_open = _max(s_open, _min(_min(prm[P_HIDDEN_OPEN_NDVI] - y, ls - y) / _SCALE, s_bare))
                s_first = min(s_first, d)
            if seedbed:
                # Bare dry soil after the flood began and before the gap: the flood dried out (a rain puddle).
                if d > b_start and b_wide < prm[P_HIDDEN_CROP_DAYS] and y <= prm[P_NDVI_LOW] and ls < prm[P_HARVEST_LSWI]:
                    b_dry = True
                is_bed = y <= prm[P_SEEDBED_NDVI] and ls - y >= prm[P_SEEDBED_MARGIN]
                if is_bed:
                    if not b_prev:
                        b_spell = d
                    # on bare ground (or, with seedbed_after_canopy, the previous crop's canopy in
                    # water) seen at most hidden_flood_link_days before
                    s_bare = _min(canopy_min - s_bare_y, bare_lswi - s_bare_l) / _SCALE if s_bare_seen else _NINF
                    s_crop = (_min(s_bare_y - prm[P_NDVI_HIGH], s_bare_l - crop_lswi) / _SCALE
                              if after_crop and s_bare_seen else _NINF)
                    before = _max(s_bare, s_crop)
                    q = _min(_min(_min(prm[P_SEEDBED_NDVI] - y, ls - y - prm[P_SEEDBED_MARGIN]) / _SCALE, before),
                             (prm[P_HIDDEN_LINK] - (d - s_bare_d)) / scale_days)
                    if q >= 0:
                        if b_start != b_spell:
                            b_start, b_open, b_wide, b_dry = b_spell, q, np.float32(0.0), False
                        else:
                            b_open = _max(b_open, q)
                    b_last = d
                b_prev = is_bed
            if not w >= 0:
                s_bare_seen, s_bare_y, s_bare_l, s_bare_d = True, y, ls, d

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
        #      grass, still green and moist), or (``hidden_canopy_lswi``) is the previous crop's
        #      canopy standing in water, at most ``hidden_flood_link_days`` before it;
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
                wet_before = wet_before_gap(h_last_d, h_prev_d, h_last_w, h_prev_w, h_last_nd, prm, flags)
                gap = (d - h_last_d - prm[P_HIDDEN_CROP_DAYS]) / scale_days
                h_best = _max(h_best, _min(_min(wet_before, gap), onset_bare))
                # (hidden_reflood_days) a young crop on wetted soil, the first date after a flood that followed the gap
                # (not within early_ndvi_days of the flood: vegetation that green stood there before the water)
                if (reflood and r_pend != _NINF and d - r_day <= prm[P_HIDDEN_REFLOOD] and y > r_nd
                        and not (flags[F_EARLY] and d - r_day <= prm[P_EARLY_DAYS])):
                    h_best = _max(h_best, _min(r_pend, (ls - prm[P_GAP_SEASON_LOW_LSWI]) / _SCALE))
            if reflood:
                if not fl:
                    r_pend = _NINF  # only the first date after the flood without the flood signal votes
                elif w >= 0 and onset_bare != _NINF and d - h_last_d >= prm[P_HIDDEN_CROP_DAYS]:
                    # flooded again after the gap: the next season's puddling, or a pond or wetland still
                    # under water; the vote waits for a young crop
                    wb = wet_before_gap(h_last_d, h_prev_d, h_last_w, h_prev_w, h_last_nd, prm, flags)
                    r_pend = _min(_min(wb, (d - h_last_d - prm[P_HIDDEN_CROP_DAYS]) / scale_days), onset_bare)
                    r_day, r_nd, r_k = d, y, k
            is_wet = w >= 0
            if is_wet and not h_last_w >= 0:
                onset_bare = _min(canopy_min - dry_nd, bare_lswi - dry_ls) / _SCALE
                if after_canopy and dry_nd != _PINF:
                    crop = _min(dry_nd - prm[P_NDVI_HIGH], dry_ls - prm[P_HIDDEN_CANOPY_LSWI]) / _SCALE
                    onset_bare = _max(onset_bare, _min(crop, (prm[P_HIDDEN_LINK] - (d - dry_d)) / scale_days))
            if not is_wet:
                dry_nd = y
                dry_ls = ls
                dry_d = d
            h_prev_w, h_prev_d = h_last_w, h_last_d
            h_last_w, h_last_d, h_last_nd = w, d, y

        # -- a canopy standing in water seen after a gap: the best min(canopy margin, (gap
        # before the date - gap_days) / scale_days). Only canopy dates vote; a young crop in
        # water (below canopy greenness, LSWI >= wet_canopy_lswi) does not end the gap.
        if wet_canopy:
            # Only canopy dates vote: another date's vote is -inf or NaN (min with -inf), which
            # ``fmax`` with a ``c_seen`` that is never NaN leaves as it is.
            if y >= canopy_min:
                c = _min((y - prm[P_NDVI_HIGH]) / _SCALE, (ls - prm[P_UNDATED_WET_LSWI]) / _SCALE)
                c_seen = _fmax(c_seen, _min(c, (d - c_last - gap_days) / scale_days))
            if not (ls >= prm[P_WET_CANOPY_LSWI] and y < canopy_min):
                c_last = d

        # -- a season hidden in a gap: bare dry ground, a clear interval of 65-150 days, then a canopy
        #    spell that ends within a season's length of the bare date. The spell votes when it ends:
        #    min(bare date's margin, interval's, wettest canopy's, season length's). With
        #    ``gap_season_open_end`` a clear interval longer than that after a canopy date hides the
        #    end: the season is measured to its last canopy date seen (the end is unseen, not late).
        if gap_season:
            if gs_on:
                unseen = open_end and d - cd[k - 1] > prm[P_GAP_SEASON_OPEN_END]
                # One clear date below canopy greenness between canopy dates at most gap_season_dip_days
                # apart is haze or shadow the mask missed, not the season's end: it is passed over (in a
                # spell after a bare date only: an orchard's irrigation dips under a canopy seen from the start).
                dip = (dip_on and not gs_open and not unseen and y < canopy_min and k + 1 < n and cn[k + 1] >= canopy_min
                       and cd[k + 1] - cd[k - 1] <= prm[P_GAP_SEASON_DIP])
                if dip:
                    pass
                elif y >= canopy_min and not unseen:
                    if y >= prm[P_NDVI_HIGH]:
                        gs_can = _max(gs_can, _min(y - prm[P_NDVI_HIGH], ls - gs_bar) / _SCALE)
                else:
                    end = (prm[P_GAP_SEASON_DAYS] - ((cd[k - 1] if unseen else d) - gs_low)) / scale_days
                    if gs_open:
                        gs_open_best = _fmax(gs_open_best, _min(gs_can, end))
                    else:
                        gs_best = _fmax(gs_best, _min(_min(gs_start, gs_can), end))
                    gs_on = False
            elif k > 0 and y >= canopy_min:
                gs_start, gs_low, gs_bar = gap_season_start(k, young, young_run, cd, cn, cl, prm, scale_days)
                gs_open = False
                if open_young and not gs_green_seen and not gs_dry_seen and d - cd[0] < prm[P_GAP_SEASON_MIN_GAP]:
                    # The series starts after the flood: the dates before the spell are the young crop, and
                    # no interval of gap_season_min_gap fits before it (the start's margin would be < 0).
                    gs_low, gs_bar, gs_open = d - prm[P_GAP_SEASON_MIN_GAP], prm[P_GAP_SEASON_LSWI], True
                gs_can = _min(y - prm[P_NDVI_HIGH], ls - gs_bar) / _SCALE if y >= prm[P_NDVI_HIGH] else _NINF
                gs_on = True
            elif k == 0 and y >= canopy_min and open_start:
                # The series starts inside a canopy spell: its flood fell before the first clear date,
                # at least the shortest interval before it (the bare date and the interval unseen).
                gs_low, gs_bar = d - prm[P_GAP_SEASON_MIN_GAP], prm[P_GAP_SEASON_LSWI]
                gs_can = _min(y - prm[P_NDVI_HIGH], ls - gs_bar) / _SCALE if y >= prm[P_NDVI_HIGH] else _NINF
                gs_on, gs_open = True, True
            gs_green_seen = gs_green_seen or y >= canopy_min
            gs_dry_seen = gs_dry_seen or ls < prm[P_HARVEST_LSWI]

    # A sparse series: few clear dates and a gap that can hide a whole crop (``sparse_max_dates``,
    # ``sparse_gap_days``), where Xiao's date fractions sample the year too unevenly.
    few_dates = n <= prm[P_SPARSE_DATES] and longest >= prm[P_SPARSE_GAP]
    # On it a canopy standing in water and open water on another date mark a flooded field: its one
    # visible canopy and months of river flood are all the series shows of it.
    sparse = flags[F_SPARSE] and few_dates and sparse_canopy and sparse_open
    if sparse:
        # An evergreen forest is never open water: its green dates are the field's canopy.
        n_forest = 0
        # The canopy round the year: the highest NDVI of the dates that, one year on, lie within the
        # cycle span after the series' last flooded date (the flood at the end of the series
        # puddles the season whose canopy its first months showed). Only dates that fall after the
        # series' end one year on: a date the series saw is not taken twice.
        for j in range(n):
            on = cd[j] + np.float32(365.0)
            if on > cd[n - 1] and on - last_wet <= prm[P_PEAK_WINDOW]:
                canopy = _max(canopy, cn[j])
    harvest = harvest or sparse or (pond_ripe and few_dates)
    # A pond, then one rice crop whose canopy stood no longer than a rice crop's (the series' end may cut it):
    # the long flooded spell was the pond phase of a rotation, not a water body or a wetland (the water
    # limit and the flooded spell's limit are a harvested field's; the shrub test stays: water hyacinth
    # over a pond is moist on every date).
    if pond_crop and pc_on:
        pc_ok = pc_ok or (pc_wet and pc_last - pc_first <= prm[P_POND_CROP_GREEN])
    # A spell still running on the last clear date (``gap_season_cut_end``): the series' end hides the
    # harvest, so the season is measured to that date, as after a long cloud interval.
    if gap_season and gs_on and flags[F_GAP_SEASON_CUT_END]:
        end = (prm[P_GAP_SEASON_DAYS] - (cd[n - 1] - gs_low)) / scale_days
        if gs_open:
            gs_open_best = _fmax(gs_open_best, _min(gs_can, end))
        else:
            gs_best = _fmax(gs_best, _min(_min(gs_start, gs_can), end))
    # A season hidden in a gap began on bare, dry ground, which an evergreen canopy never shows.
    if flags[F_GAP_SEASON_NOT_FOREST] and gs_best >= 0:
        n_forest = 0
    # A flooded bare field is no evergreen canopy, nor is bare, dry ground where the series samples the year too
    # unevenly for Xiao's fraction (the shrub test stays: water hyacinth is moist on every date).
    if flooded_field or (dry_field and few_dates):
        n_forest = 0
    # A harvested field is cropland whatever clouds hid of its cycles: the water limit of a pixel
    # with a cycle applies, and it is no evergreen shrub (it was dry and bare on one date; a flooded
    # field on a sparse series was open water on one).
    shrub_all = shrub_all and not harvest and not (repuddled and has_cycle)
    # Nor is a paddy at a field's edge, its flood seen through a small green fraction beside a canopy that stood
    # for months (``shrub_flood_evi``), where the series samples the year too unevenly to show its bare dates.
    if shrub_flood and few_dates and sf_trough and np.float32(sf_canopy) >= prm[P_SHRUB_FLOOD_SHARE] * np.float32(n):
        shrub_all = False
    ef, water_before = series_end(n, ci, cd, cn, cl, cf, canopy_min, bare_lswi, prm, flags, scale_days, r_pend, r_k, r_day,
                                  onset, growth, ends, p, n_water) if flags[F_END_FLOOD] and n > 1 else (_NINF, _PINF)
    is_water, is_forest, mm = cover_masks(n, water_before, n_water, n_forest, shrub_any, shrub_all, last - first,
                                     has_cycle or harvest or pc_ok, prm, flags)
    if flags[F_GREEN]:
        green_margin = (prm[P_MAX_GREEN_DAYS] - g_spell) / scale_days
        is_forest = is_forest or green_margin < 0
        mm = _min(mm, green_margin)

    # Undated evidence.
    lo = (prm[P_NDVI_LOW] - lowest) / _SCALE
    hi = (canopy - prm[P_NDVI_HIGH]) / _SCALE
    # A harvested field's long flooded spell is its fallow under the river flood or rain, not a wetland's.
    dur = _PINF if harvest or pc_ok else (prm[P_MAX_FLOOD_DAYS] - f_spell) / np.float32(10.0)
    und = _min(_min(_min(_min(lo, hi), fl_best / _SCALE), dur), mm)
    if flags[F_UNDATED_WET_SHARE] and n_can_all > 0:
        # A paddy's canopy stands in water until two or three weeks before harvest, so most of its canopy
        # dates are wet; a flooded meadow's or marsh's grass greens over drained, moist soil.
        und = _min(und, (np.float32(n_can_wet) / np.float32(n_can_all) - prm[P_UNDATED_WET_SHARE]) / _SCALE)
    if hidden:
        und = _max(und, _min(h_best, mm))
    if wet_canopy:
        und = _max(und, _min(_min(_min(c_seen, lo), dur), mm))
    if stubble_on:
        und = _max(und, _min(s_best, mm))
    if gap_season:
        und = _max(und, _min(_max(gs_best, gs_open_best), mm))
    if young_gap:
        und = _max(und, _min(_min(yg_best, dur), mm))
    if flags[F_END_FLOOD] and n > 1:
        und = _max(und, _min(ef, mm))
    return is_water, is_forest, mm, _NINF if und != und else und
