"""The optical rice kernel's steps that follow one crop out of its flood, compiled (numba).

Two terms of the second walk per pixel (:func:`agromap.rice.optical_kernel_terms.pixel_terms`)
follow a single crop from its water to its green: a young crop greening out of its flood on
the last clear date before a cloud gap (``hidden_young_rise``), and a pond, then one short rice
canopy (``pond_crop_green_days``). Each is one step per clear date that takes the term's state
and returns it; the walk inlines them, so their float32 operations are those they had inside
it (docs/science/rice.md#optical-flooding-rule). A third reads, after the walk, a flood that the
series' end cuts before its crop's canopy closes (``end_flood_days``), or a field flooded again after
a gap that hid a crop and still flooded on the last clear date (``end_reflood``), and the water share
of the clear dates before that flood, which the water mask reads (``end_flood_not_water``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..jit import fmax as _fmax
from ..jit import jit as _jit
from ..jit import maximum as _max
from ..jit import minimum as _min
from .optical_kernel_layout import (
    F_END_CANOPY_GAP,
    F_END_FLOOD_AFTER_CANOPY,
    F_END_FLOOD_CANOPY,
    F_END_FLOOD_DEEP,
    F_END_FLOOD_NOT_WATER,
    F_END_FLOOD_RISE,
    F_END_FLOOD_RISE_LINK,
    F_END_FLOOD_SHALLOW,
    F_END_FLOOD_TURBID,
    F_END_FLOOD_TURBID_LINK,
    F_END_FLOOD_TURBID_WATER,
    F_END_REFLOOD,
    F_END_SOWN,
    F_HIDDEN_OPEN,
    F_OUTSIDE_CYCLES,
    P_CLIMB_MIN,
    P_EARLY_DAYS,
    P_END_CANOPY_GAP,
    P_END_FLOOD,
    P_END_FLOOD_CANOPY,
    P_END_FLOOD_DEEP,
    P_END_FLOOD_DEEP_FALLOW,
    P_END_FLOOD_LINK,
    P_END_FLOOD_RISE,
    P_END_FLOOD_SHALLOW,
    P_END_SOWN_MAX,
    P_END_SOWN_MIN,
    P_END_SOWN_RISE,
    P_FLOOD_T,
    P_GAP_SEASON_LOW_LSWI,
    P_GAP_SEASON_LOW_NDVI,
    P_GAP_SEASON_MAX_GAP,
    P_GAP_SEASON_YOUNG_SOIL,
    P_HIDDEN_CANOPY_LSWI,
    P_HIDDEN_CROP_DAYS,
    P_HIDDEN_LINK,
    P_HIDDEN_OPEN_NDVI,
    P_HIDDEN_YOUNG_DAYS,
    P_HIDDEN_YOUNG_RISE,
    P_MAX_FLOOD_DAYS,
    P_NDVI_HIGH,
    P_NDVI_LOW,
    P_POND_CROP_GREEN,
    P_WATER_NDVI_MAX,
    P_WET_CANOPY_LSWI,
)
from .optical_kernel_layout import MARGIN_SCALE as _SCALE
from .optical_kernel_layout import NEG_INF as _NINF
from .optical_kernel_layout import POS_INF as _PINF

__all__ = ["before_end_flood", "end_flood", "end_reflood", "pond_crop_step", "series_end", "wet_before_gap",
           "young_gap_step"]


@_jit(nrt=False, inline=True)
def wet_before_gap(h_last_d: Any, h_prev_d: Any, h_last_w: Any, h_prev_w: Any, h_last_nd: Any, prm: Any,
                   flags: Any) -> Any:
    """The wet margin of the field before a cloud gap (a crop hidden in it, or a flood after it): the
    last two clear dates' wet margins when they are linked (``hidden_flood_link_days``), else none (-inf);
    with ``hidden_open_water_ndvi``, the last date alone when it is open water from bund to bund.
    """
    linked = h_last_d - h_prev_d <= prm[P_HIDDEN_LINK]
    wet = _min(h_last_w, h_prev_w if linked else _NINF) / _SCALE
    if flags[F_HIDDEN_OPEN]:
        wet = _max(wet, _min(h_last_w, prm[P_HIDDEN_OPEN_NDVI] - h_last_nd) / _SCALE)
    return wet


@_jit(nrt=False, inline=True)
def young_gap_step(k: int, d: Any, y: Any, ls: Any, cd: Any, cn: Any, cl: Any, t_allow: Any, canopy_min: Any,
                   prm: Any, scale_days: Any, yg_spell: Any, yg_min: Any, yg_pre: Any, yg_last: Any, yg_prev_fl: bool,
                   yg_pend: Any, yg_best: Any) -> tuple[Any, Any, Any, Any, bool, Any, Any]:
    """A young crop greening out of its flood, the last clear date before a gap that hides its canopy
    (``hidden_young_rise``): the previous date's vote counts when this date ends a long enough interval
    and is not wet.

    State: the current flooded spell's bare margin (-inf: none), its lowest NDVI, the bare date's NDVI,
    the spell's last day, whether the previous date was flooded, its pending vote and the best vote.
    """
    nf = ls + t_allow >= y and ls > 0 and y <= prm[P_NDVI_LOW]
    if yg_pend != _NINF:
        drained = _max(y - ls - t_allow, -ls) / _SCALE
        yg_best = _fmax(yg_best, _min(_min(yg_pend, (d - cd[k - 1] - prm[P_HIDDEN_CROP_DAYS]) / scale_days),
                                      drained))
    yg_pend = _NINF
    if nf:
        if not yg_prev_fl:
            yg_spell = (_min(canopy_min - cn[k - 1], prm[P_GAP_SEASON_LOW_LSWI] - cl[k - 1]) / _SCALE
                        if k > 0 else _NINF)
            yg_min, yg_pre = y, (cn[k - 1] if k > 0 else _PINF)
        else:
            yg_min = min(yg_min, y)
        yg_last = d
    elif yg_spell != _NINF and d - yg_last <= prm[P_HIDDEN_YOUNG_DAYS]:
        yg_pend = _min(_min(yg_spell, (y - yg_min - prm[P_CLIMB_MIN]) / _SCALE),
                       _min(y - yg_pre - prm[P_HIDDEN_YOUNG_RISE], ls - prm[P_GAP_SEASON_YOUNG_SOIL]) / _SCALE)
    return yg_spell, yg_min, yg_pre, yg_last, nf, yg_pend, yg_best


@_jit(nrt=False, inline=True)
def pond_crop_step(d: Any, y: Any, ls: Any, fl: bool, f_start: Any, trough_max: Any, canopy_min: Any, max_cycle: Any,
                   crop_lswi: Any, prm: Any, pc_end: Any, pc_on: bool, pc_first: Any, pc_last: Any, pc_wet: bool,
                   pc_ok: bool) -> tuple[Any, bool, Any, Any, bool, bool]:
    """A pond, then one rice crop (``pond_crop_green_days``): one clear date.

    State: the last day of a flooded dark spell longer than ``max_flood_days`` (-inf: none pending),
    the canopy phase after it (running, first and last canopy day, a canopy in water seen) and whether
    a short one was seen. ``f_start`` is the start of the flooded dark spell this date belongs to.
    """
    # The canopy phase ends on a bare or flooded date (NDVI <= ``ndvi_trough_max``: harvest, or water).
    if pc_on and y <= trough_max:
        pc_ok = pc_ok or (pc_wet and pc_last - pc_first <= prm[P_POND_CROP_GREEN])
        pc_on = False
    if pc_on:
        if y >= canopy_min:
            pc_last = d
        pc_wet = pc_wet or (y >= prm[P_NDVI_HIGH] and ls >= crop_lswi)
    elif fl and y <= prm[P_NDVI_LOW]:
        if d - f_start > prm[P_MAX_FLOOD_DAYS]:
            pc_end = d
    elif pc_end != _NINF and y >= canopy_min:
        # the first canopy after the pond: the crop, when it rises within a cycle's span of the water
        if d - pc_end <= max_cycle:
            pc_on, pc_first, pc_last = True, d, d
            pc_wet = y >= prm[P_NDVI_HIGH] and ls >= crop_lswi
        pc_end = _NINF
    return pc_end, pc_on, pc_first, pc_last, pc_wet, pc_ok


@_jit(nrt=False, inline=True)
def pond_crop_short(k: int, n: int, cd: Any, cn: Any, trough_max: Any, canopy_min: Any, max_cycle: Any,
                    prm: Any) -> bool:
    """After a pond's last flooded date, packed clear date ``k`` (``pond_end_onset``): the first canopy date
    (NDVI >= ``ndvi_canopy_min``) within ``max_cycle_days`` opens a canopy phase (until a date with NDVI <=
    ``ndvi_trough_max``, or the series' end) whose canopy dates span at most ``pond_crop_green_days``, as
    :func:`pond_crop_step` reads it: a rice crop's canopy, not a lotus pond's leaves, which stay green for
    four months or more. False without such a canopy date.
    """
    first = _NINF
    last = _NINF
    for j in range(k + 1, n):
        d, y = cd[j], cn[j]
        if first == _NINF:
            if d - cd[k] > max_cycle:
                return False
            if y >= canopy_min:
                first, last = d, d
        elif y <= trough_max:
            break
        elif y >= canopy_min:
            last = d
    return first != _NINF and last - first <= prm[P_POND_CROP_GREEN]


@_jit(nrt=False, inline=True)
def _flooded_bare(nd: Any, ls: Any, prm: Any) -> bool:
    """A date of open water (NDVI <= ``hidden_open_water_ndvi``, below LSWI) or of shallow water over mud
    (NDVI <= ``end_flood_shallow_ndvi`` with the flood signal ``LSWI + flood_t >= NDVI``).
    """
    return (nd <= prm[P_HIDDEN_OPEN_NDVI] and nd < ls) or (nd <= prm[P_END_FLOOD_SHALLOW] and ls + prm[P_FLOOD_T] >= nd)


@_jit(nrt=False, inline=True)
def _before_flood(k: int, first: int, n: int, cd: Any, cn: Any, cl: Any, canopy_min: Any, bare_lswi: Any, grown: Any,
                  prm: Any, flags: Any, scale_days: Any) -> Any:
    """:func:`end_flood`'s margin of clear date ``k``, the one before the flood (whose run starts at ``first``): bare,
    dry ground linked to the flood, or the previous crop's canopy standing in water (logistic units). ``grown``: the
    young crop's rise in the run (index units, -inf: none).
    """
    bare = _min(canopy_min - cn[k], bare_lswi - cl[k])
    link = (prm[P_END_FLOOD_LINK] - (cd[first] - cd[k])) / scale_days
    if flags[F_END_FLOOD_TURBID_LINK] and k + 1 < first:
        # or from the flood's first date, turbid or shallow, when the whole flood is as young as the run must be
        link = _max(link, _min(prm[P_END_FLOOD_LINK] - (cd[k + 1] - cd[k]), prm[P_END_FLOOD] - (cd[n - 1] - cd[k + 1]))
                    / scale_days)
    if flags[F_END_FLOOD_RISE_LINK] and grown >= 0:
        # (end_flood_rise_link) a young crop greening in the flood: the fallow may be seen before a season's cloud gap
        link = _max(link, _min(grown / _SCALE, (prm[P_GAP_SEASON_MAX_GAP] - (cd[first] - cd[k])) / scale_days))
    before = _min(bare / _SCALE, link)
    if flags[F_END_FLOOD_AFTER_CANOPY]:
        # (end_flood_after_canopy) or the previous crop's canopy standing in water, the flood its next puddling
        crop = _min(cn[k] - prm[P_NDVI_HIGH], cl[k] - prm[P_HIDDEN_CANOPY_LSWI]) / _SCALE
        before = _max(before, _min(crop, (prm[P_HIDDEN_LINK] - (cd[k + 1] - cd[k])) / scale_days))
    return before


@_jit(nrt=False, inline=True)
def _deep_water(water: Any, last_in_run: bool, n: int, cd: Any, cn: Any, cl: Any, first: int, k: int, cf: Any,
                prm: Any, flags: Any) -> Any:
    """:func:`end_flood`'s water margin with the last clear date, when the run holds it from at most ``early_ndvi_days``
    before (``first``: the run's first date), read as shallow water over mud as wet as standing water
    (``end_flood_deep_lswi``, index units) where less than ``end_flood_deep_fallow`` of the clear dates up to ``k``,
    the bare one, show the flood signal: a paddy stays flooded from puddling until its canopy closes and its
    seedlings show within days, and its fallow before shows the signal on few dates, a pond's or a water body's
    edge on most.
    """
    if not (flags[F_END_FLOOD_DEEP] and last_in_run and cd[n - 1] - cd[first] <= prm[P_EARLY_DAYS]):
        return water
    deep = _min(prm[P_END_FLOOD_SHALLOW] - cn[n - 1], cl[n - 1] - prm[P_END_FLOOD_DEEP])
    n_fl = 0
    for j in range(k + 1):
        n_fl += cf[j]
    return _max(water, _min(deep, prm[P_END_FLOOD_DEEP_FALLOW] - np.float32(n_fl) / np.float32(k + 1)))


@_jit(nrt=False, inline=True)
def _sown_run(k: int, k_top: int, cd: Any, cn: Any, cl: Any, canopy_min: Any, bare_lswi: Any, prm: Any,
              scale_days: Any) -> tuple[Any, int]:
    """:func:`end_flood`'s reading of a direct-seeded field sown in the series' last weeks (``end_sown_rise``): the
    run of wet dates ``k + 1`` to ``k_top`` after sown soil (clear dates from ``k`` back), after the levelling flood's
    open water. The margin (logistic units, -inf: none) is the smallest of the soil's (above open water, below
    canopy greenness, drier than ``bare_lswi``), the open water's, the run's rise above the soil (its highest NDVI
    ``end_sown_rise`` above the soil's highest, index units / 0.05) and the days by which the water lies within
    ``end_sown_min_days`` to ``end_sown_max_days`` before the run (in units of ``scale_days``); and the index of the
    levelling flood's date, the flood's first, from which its dates run to the end.
    """
    open_ndvi = prm[P_HIDDEN_OPEN_NDVI]
    soil, soil_hi = _PINF, _NINF
    j = k
    while j >= 0 and cn[j] > open_ndvi and cn[j] < canopy_min and cl[j] < bare_lswi:
        soil = _min(soil, _min(_min(cn[j] - open_ndvi, canopy_min - cn[j]), bare_lswi - cl[j]))
        soil_hi = _max(soil_hi, cn[j])
        j -= 1
    # a clear date before the levelling flood: the fallow whose water share the mask reads
    if j == k or j < 1:
        return _NINF, k_top + 1
    water = _min(open_ndvi - cn[j], cl[j] - cn[j])
    run_hi = _NINF
    for i in range(k + 1, k_top + 1):
        run_hi = _max(run_hi, cn[i])
    span = cd[k + 1] - cd[j]
    days = _min(span - prm[P_END_SOWN_MIN], prm[P_END_SOWN_MAX] - span) / scale_days
    return _min(_min(_min(soil, water), run_hi - soil_hi - prm[P_END_SOWN_RISE]) / _SCALE, days), j


@_jit(nrt=False, inline=True)
def end_flood(n: int, cd: Any, cn: Any, cl: Any, cf: Any, canopy_min: Any, bare_lswi: Any, prm: Any, flags: Any,
              scale_days: Any) -> tuple[Any, int]:
    """A flood the series' end cuts before its crop's canopy closes (``end_flood_days``): the vote (logistic
    units, -inf: none) of the run of wet dates below canopy greenness that ends the series, and the index of
    the first clear date after the bare, dry date (``n``: none), from which the flood's dates run to the end.

    The vote is the smallest of the run's wet margin (its least wet, greenest date), its best open water
    (NDVI below ``hidden_open_water_ndvi`` and below LSWI) or young crop rising out of it (a date's NDVI
    ``end_flood_rise`` below a later one's), the bare, dry ground before it (index units / 0.05), the days by
    which the run's start lies within ``end_flood_days`` of the last clear date and the bare date within
    ``end_flood_link_days`` of the run's start (in units of ``scale_days``). With ``end_flood_canopy_lswi``
    the run may be followed by canopy dates standing in water up to the last one, and with
    ``end_canopy_min_gap`` those may follow the bare date directly across a long enough clear interval. A
    series that is wet from its first clear date has no bare date: no vote. With ``end_flood_deep_lswi``, a run
    date of shallow water over mud as wet as standing water reads stands for the open water where most clear dates
    up to the bare one (``cf``: their flood signal) show no flood (``end_flood_deep_fallow``).
    """
    wet_lswi = prm[P_WET_CANOPY_LSWI]
    wet, water, later, grown = _PINF, _NINF, _NINF, _NINF
    k = n - 1
    if flags[F_END_FLOOD_CANOPY]:
        # The young crop's canopy, still standing in water, on the last clear dates.
        while k >= 0 and cn[k] >= canopy_min and cl[k] >= prm[P_END_FLOOD_CANOPY]:
            wet = _min(wet, cl[k] - prm[P_END_FLOOD_CANOPY])
            later = _max(later, cn[k])
            k -= 1
        if flags[F_END_CANOPY_GAP] and 0 <= k < n - 1 and cn[k] < canopy_min and not cl[k] >= wet_lswi:
            # Bare ground right before that canopy: the flood and the seedlings fell in the clear interval.
            gap = cd[k + 1] - cd[k]
            bare = _min(prm[P_GAP_SEASON_LOW_NDVI] - cn[k], prm[P_GAP_SEASON_LOW_LSWI] - cl[k])
            age = (prm[P_END_FLOOD] - (cd[n - 1] - cd[k + 1])) / scale_days
            span = _min(gap - prm[P_END_CANOPY_GAP], prm[P_GAP_SEASON_MAX_GAP] - gap) / scale_days
            return _min(_min(_min(wet, bare) / _SCALE, age), span), k + 1
        if k < n - 1 and not (k >= 0 and cl[k] >= wet_lswi and cn[k] < canopy_min):
            return _NINF, n
    # (end_flood_deep_lswi, read below) the run holds the last clear date
    last_in_run = k == n - 1 and k >= 0 and cl[k] >= wet_lswi and cn[k] < canopy_min
    k_top = k
    while k >= 0 and cl[k] >= wet_lswi and cn[k] < canopy_min:
        wet = _min(wet, _min(cl[k] - wet_lswi, canopy_min - cn[k]))
        water = _max(water, _min(prm[P_HIDDEN_OPEN_NDVI] - cn[k], cl[k] - cn[k]))
        if flags[F_END_FLOOD_RISE]:
            # seedlings that cover the water grow greener while it stays
            water = _max(water, later - cn[k] - prm[P_END_FLOOD_RISE])
            # the young crop risen above bare soil (``end_flood_rise_link``)
            grown = _max(grown, _min(later - cn[k] - prm[P_END_FLOOD_RISE], later - prm[P_NDVI_LOW]))
            later = _max(later, cn[k])
        k -= 1
    # (end_sown_rise) a direct-seeded field: the run is its second flood, after the sown soil and the levelling flood
    sown, sown_first = _NINF, n
    if flags[F_END_SOWN] and 0 <= k < k_top:
        sown, sown_first = _sown_run(k, k_top, cd, cn, cl, canopy_min, bare_lswi, prm, scale_days)
        sown = _min(sown, _min(wet / _SCALE, (prm[P_END_FLOOD] - (cd[n - 1] - cd[k + 1])) / scale_days))
    shallow_on = flags[F_END_FLOOD_SHALLOW]
    if shallow_on and k == n - 1:
        # No wet date ends the series: the puddling flood's first days may (open water or shallow water over
        # mud, drier than the run's bar), the series cut before the seedlings stand in it. Open water votes
        # on one date, a shallow flood on two (a rain puddle on a fallow dries within days).
        shallow, n_run = _PINF, 0
        while k >= 0 and _flooded_bare(cn[k], cl[k], prm):
            water = _max(water, _min(prm[P_HIDDEN_OPEN_NDVI] - cn[k], cl[k] - cn[k]))
            shallow = _min(shallow, _min(prm[P_END_FLOOD_SHALLOW] - cn[k], cl[k] + prm[P_FLOOD_T] - cn[k]))
            n_run += 1
            k -= 1
        if n_run >= 2:
            water = _max(water, shallow)
    first = k + 1
    # turbid first days of the flood (open water drier than the run's bar) lie between the run and the fallow
    while flags[F_END_FLOOD_TURBID] and first < n and k >= 0 and (
            cn[k] <= prm[P_HIDDEN_OPEN_NDVI] and cn[k] < cl[k] or shallow_on and _flooded_bare(cn[k], cl[k], prm)
            and not cl[k] < bare_lswi):
        if flags[F_END_FLOOD_TURBID_WATER]:
            # the flood's open water on its first days counts as the run's (the run itself may be seedlings in water)
            water = _max(water, _min(prm[P_HIDDEN_OPEN_NDVI] - cn[k], cl[k] - cn[k]))
        k -= 1
    vote, start = _NINF, n
    if k >= 0 and first < n:
        water = _deep_water(water, last_in_run, n, cd, cn, cl, first, k, cf, prm, flags)
        age = (prm[P_END_FLOOD] - (cd[n - 1] - cd[first])) / scale_days
        before = _before_flood(k, first, n, cd, cn, cl, canopy_min, bare_lswi, grown, prm, flags, scale_days)
        vote, start = _min(_min(_min(wet, water) / _SCALE, age), before), k + 1
    if sown > vote:
        return sown, sown_first
    return vote, start


@_jit(nrt=False, inline=True)
def end_reflood(n: int, r_k: int, r_day: Any, r_pend: Any, cd: Any, cn: Any, prm: Any, scale_days: Any) -> Any:
    """A field flooded again after a gap that hid a crop (``hidden_reflood_days``'s pending vote ``r_pend``, from
    clear date ``r_k`` on day ``r_day``) and flooded on every clear date from then to the last: the series ends
    before the young crop's field is drained (``end_reflood``). The vote (logistic units) is the smallest of the
    pending one, the days by which that flood lies within ``end_flood_days`` of the last clear date and the young
    crop's rise in the water: a date's NDVI ``end_flood_rise`` above the lowest before it, and above bare soil
    (``ndvi_low``); a pond or a marsh in its flood does not green while the water stays.
    """
    lo_nd, rise = _PINF, _NINF
    for j in range(r_k, n):
        lo_nd = _min(lo_nd, cn[j])
        rise = _max(rise, _min(cn[j] - lo_nd - prm[P_END_FLOOD_RISE], cn[j] - prm[P_NDVI_LOW]))
    return _min(_min(r_pend, (prm[P_END_FLOOD] - (cd[n - 1] - r_day)) / scale_days), rise / _SCALE)


@_jit(nrt=False, inline=True)
def before_end_flood(first: int, n: int, ci: Any, cn: Any, cl: Any, onset: Any, growth: Any, ends: Any, p: int,
                     n_water: int, canopy_min: Any, prm: Any, flags: Any) -> Any:
    """The water share of the ``first`` clear dates before the flood the series' end cuts (``end_flood_not_water``):
    the larger of their open-water share (the water count outside confirmed cycles, ``n_water``, less that flood's
    dates it counted) and their share of flooded dates (LSWI >= ``wet_canopy_lswi`` below canopy greenness): a
    paddy's fallow before its puddling is dry, a pond's edge or a marsh is wet on most dates.

    A flood date was counted when it lay outside every confirmed cycle up to it (pixel ``p``'s onsets and growth
    margins, ``ends[1]`` their cycle ends), as the walk counted it: a cycle confirmed inside the flood leaves its
    earlier dates counted, so they are taken off too, not left among the dates before.
    """
    cycle_end = 0
    for j in range(n):
        t = ci[j]
        if flags[F_OUTSIDE_CYCLES] and onset[p, t] and growth[p, t] >= 0:
            cycle_end = max(cycle_end, ends[1, t])
        if j >= first and t >= cycle_end and cn[j] < prm[P_WATER_NDVI_MAX] and cn[j] < cl[j]:
            n_water -= 1
    n_wet = 0
    for j in range(first):
        n_wet += cl[j] >= prm[P_WET_CANOPY_LSWI] and cn[j] < canopy_min
    return np.float32(max(n_water, n_wet)) / np.float32(first)


@_jit(nrt=False, inline=True)
def series_end(n: int, ci: Any, cd: Any, cn: Any, cl: Any, cf: Any, canopy_min: Any, bare_lswi: Any, prm: Any, flags: Any,
               scale_days: Any, r_pend: Any, r_k: int, r_day: Any, onset: Any, growth: Any, ends: Any, p: int,
               n_water: int) -> tuple[Any, Any]:
    """The vote of the flood the series' end cuts (:func:`end_flood`, or :func:`end_reflood` for a field flooded
    again after a gap, ``r_pend`` its pending vote: -inf none) and the water share of the clear dates before it
    (:func:`before_end_flood`; +inf: not read). That share is read where the flood votes rice on two clear dates
    or more: a pond refilled on the last one reads as a paddy's next puddling.
    """
    ef, first = end_flood(n, cd, cn, cl, cf, canopy_min, bare_lswi, prm, flags, scale_days)
    if flags[F_END_REFLOOD] and r_pend != _NINF:
        rv = end_reflood(n, r_k, r_day, r_pend, cd, cn, prm, scale_days)
        if rv > ef:
            ef, first = rv, r_k
    water_before = _PINF
    if flags[F_END_FLOOD_NOT_WATER] and ef >= 0 and n - first >= 2:
        water_before = before_end_flood(first, n, ci, cn, cl, onset, growth, ends, p, n_water, canopy_min, prm, flags)
    return ef, water_before
