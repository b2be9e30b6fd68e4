"""Sentinel-1 VH rice rule: a flood, then a canopy, with evidence that degrades gracefully.

Per pixel, in **linear power** (dB or undeclared input is converted or refused once, by
:func:`agromap.sensors.s1.as_linear_power`), compared in dB:

1. Values <= 0 or NaN are invalid. When the dates name their orbit track (a ``time``
   coordinate of :data:`TRACK_COORDS`), each pixel's per-track incidence offset is removed
   (:func:`agromap.rice.sar_series.track_offsets_db`). With ``smooth_days > 0`` each valid date
   is then replaced by the mean, in linear power, of the valid dates within ``+-smooth_days / 2``.
   The *shape* terms below read a second series smoothed over about three dates (+- the median revisit gap),
   so that a single speckled or off-track date decides nothing; on a revisit denser than the
   12-day repeat cycle a pixel whose three-date mean stays noisy (an unfiltered point) reads it
   smoothed over the cycle instead (``shape_days``, ``shape_noise_db``); such a pixel's share of
   open-water dates in the pond term is read on that smoothed series too (``water_share_mean``).
2. **Candidate minima** ``t_min``: without windows, every valid date that is the minimum of VH
   within ``+-trough_halfwidth_days`` (30 d); with season windows, the argmin inside each window.
3. **Evidence of a season** at ``t_min``, each a margin in units of its own uncertainty
   (``db_scale`` dB; days scaled by the local observation gaps), see :func:`_season_evidence`:

   - ``depth``: ``VH_min_db <= vh_min_db`` (-18 dB) and ``rise``: the highest later value at
     least ``rise_db`` (5 dB) above it -- the one-line baseline's evidence, kept;
   - ``persistence``: the darker neighbouring pass (within 12 d) is below -16.5 dB too (a
     paddy stays flooded over passes; an irrigation pulse or speckle does not); refuted only
     with a pass within 12 d on both sides (lost passes after the minimum leave it unobserved);
     or (``seedbed_persistence``) the seedbed reading of ``timing`` holds: a direct-seeded
     field's one-pass levelling flood, then weeks of wet seedbed and a canopy rising from it;
   - ``canopy``: the mean of the two highest later dates reaches ``vh_max_db`` (-16.5 dB);
   - ``timing``: VH reaches 70 % of the way to the canopy (confirmed by the next pass) at least
     ``min_rise_days`` (20 d) after the start of the flood's dark spell and at most
     ``max_rise_days`` (100 d) after the minimum, the crossing being an interval bounded by the
     observations around it, so a gap widens the tolerance instead of failing the test;
   - ``growth``: from a quarter of the rise to that crossing takes at least ``min_growth_days``
     (10 d): a canopy grows, a drained pond's mud steps up within one pass (on a dense revisit the
     quarter level allows for the darkest speckled date in those days, ``growth_noise``);
   - ``duration``: the dark spell around the minimum (on a noisy series, before the minimum, also
     the dates within ``spell_noise`` units of the pixel's date-to-date noise of it; on a noisy
     series only bright dates spanning a repeat cycle, ``spell_break_days``, end it) lasts less
     than ``max_flood_days`` (seasonal wetland and ponds stay dark for months), or less than ``max_ponded_days`` (95 d) when it holds
     open water and a full rice canopy follows (rain ponded on a bunded field before puddling),
     or less than ``river_flood_days`` (170 d) when it is open water throughout and the crop after
     it builds a rice canopy harvested within the series (a river's flood;
     :mod:`agromap.rice.rules_sar_river`);
   - ``harvest``: the canopy (within ``canopy_drop_db`` of its smoothed peak) lasts less than
     ``max_canopy_days`` (110 d): rice is harvested; lotus, hyacinth, sugarcane and wetland grass
     keep their cover for months (after a flood cut by the series' start, read on the series
     averaged over ``cut_canopy_days``: there it is the only term that can refute a wetland);
   - ``regrowth``: the smoothed canopy stands at least ``max(regrowth_db, regrowth_noise x`` the
     pixel's date-to-date noise``)`` above the level 7-28 days after the minimum *or* above the
     level 7-28 days before the flood: an irrigation pulse under a standing tree canopy
     (flood-irrigated orchards) returns within a pass or two to the level it had before;
   - ``fallow``: the smoothed minimum lies at least ``min(fallow_dip_db, fallow_noise x`` the
     pixel's noise``)`` (2 dB, 1.25 units) below the level of the ``fallow_days`` (60) before it or
     before the dark spell, whichever is brighter: a flood is a dip below the land before it, bare
     upland soil's darkest date is not (votes only to refute).

   A young crop rising to the series' last dates stands in for an unseen canopy (``young_rise_db``,
   ``young_flood_days``, or ``ponded_end_days`` after rain ponded for weeks;
   :mod:`agromap.rice.rules_sar_ends`). A fresh flood in the last weeks stands
   in for all that follows it when it closes the year of a harvested crop at the series' start
   (``cycle_year_days``; :mod:`agromap.rice.rules_sar_cycle`). Optionally (``young_season``, off by
   default) a passing young crop stands for the season on the terms that read the flood and the
   rise alone (:mod:`agromap.rice.rules_sar_young_season`). On a series shorter than a year a crop
   standing on the first date (or still growing there, ``start_rise_days``), harvested within the
   series and followed by fallow to its end stands for an undated season (``start_harvest_db``, on
   by default; the self-trained labels read the rule without it; :mod:`agromap.rice.rules_sar_start`).

   With VV in the input, :mod:`agromap.rice.rules_sar_vv` adds ``vv_dip`` (the flood dark in VV
   too), reads ``duration`` on VV where VV shows a clear flood and lifts ``regrowth`` where VV
   stays dark weeks after the flood (``vv_young_db``); the water masks below leave out the
   dates VV shows to be wet soil (``vv_water_db``). Optionally (``vv_cut_soil_db``, off by
   default) a dark spell cut by the series' start whose darkest VV is bright is bare soil
   (``cut_soil``).

   The season's margin is the smallest term (a soft AND; unobservable terms do not vote).
4. **Masks** (hard, as published, with a soft margin capping the score): permanent water
   (``VH_p90_db < -20`` or water on >= 80 % of dates), built-up/forest (``VH_p10_db > -15``
   and an inter-decile range below 3 dB); soft: open water on under ``max_water_share`` of the
   dates (ponds).
5. **Seasons**: passing minima are accepted in time order at least ``min_season_days`` (80 d)
   apart (with windows: one per window); ``transplant_doy`` is the day of year of ``t_min``.
6. **Mixed pixels at field edges** (rasters only, ``mixed_min_fraction``): a pixel left non-rice
   whose series is, date by date, a mixture of a confident paddy neighbour's and the opposite
   neighbour's with at least half of it paddy takes that paddy's seasons
   (:mod:`agromap.rice.sar_mixed`); a pixel mapped rice whose series is less than half a paddy
   neighbour's, the rest an open-water neighbour's (a pond's edge), is the pond's
   (``mixed_other_score``).

``rice_score`` is ``logistic(m)`` of the best season's margin ``m``: above 0.5 means rice. The
reasons for each term, with references, are in ``docs/rice_rules.md``.

Speckle: a single-look pixel has several dB of speckle; average fields or filter rasters before
the rule, preferably with :func:`homogeneous_speckle_filter` (it averages only the neighbours
whose series match, so a paddy's flood survives next to a bright orchard); a spatial boxcar
(:func:`boxcar_speckle_filter`) blurs field borders.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr

from ..sensors.s1 import as_linear_power
from .rules_sar_cycle import CYCLE_FLOOD_TERMS, end_cycle_margin
from .rules_sar_ends import young_crop_margin
from .rules_sar_levels import fallow_dip_margin, regrowth_margin
from .rules_sar_masks import sar_masks
from .rules_sar_river import river_crop_margin
from .rules_sar_seedbed import after_flood, seedbed_timing
from .rules_sar_start import start_harvest_margin
from .rules_sar_vv import vv_band, vv_cut_soil_margin, vv_near_dates, vv_season_terms, vv_series
from .rules_sar_young_season import young_season_margin
from .sar_inputs import track_names, vh_variable
from .sar_mixed import unmix_edges
from .sar_params import SarRiceParams
from .sar_series import (
    bright_run_days,
    darkest_of_dates,
    date_windows,
    flood_run_bounds,
    flood_run_start,
    local_gap,
    looks_per_date,
    pixel_noise_db,
    shape_series,
    smooth_linear,
    spell_min,
    to_db,
    track_index,
    track_offsets_db,
    window_mean_db,
)
from .seasons import (
    LAYER_SPECS,
    QA_SAR,
    QA_SEEDBED_ONLY,
    SeasonWindow,
    apply_rule,
    flatten_time,
    masked_max,
    prepare_series,
    resolve_windows,
    time_axis,
    window_index,
)
from .speckle import boxcar_speckle_filter, homogeneous_speckle_filter

__all__ = ["SarRiceParams", "sar_rice_rule", "boxcar_speckle_filter", "homogeneous_speckle_filter", "LAYER_SPECS"]

_F32 = np.float32
_DAY_SCALE = 5.0   # days per logistic unit in rice_score


def _candidates(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], window: npt.NDArray[np.int8],
                n_windows: int, p: SarRiceParams) -> npt.NDArray[np.bool_]:
    """Candidate flood minima: local minima (no windows) or the argmin inside each window."""
    n_pix, n_t = db.shape
    cand = np.zeros((n_pix, n_t), dtype=bool)
    if n_windows:
        valid = ~np.isnan(db)
        for w in range(n_windows):
            cols = np.flatnonzero(window == w)
            if cols.size == 0:
                continue
            seg = np.where(valid[:, cols], db[:, cols], _F32(np.inf))
            j = seg.argmin(axis=-1)  # first minimum
            has = np.isfinite(seg.min(axis=-1))
            cand[np.flatnonzero(has), cols[j[has]]] = True
        return cand
    from .sar_series_kernel import trough_minima

    lo, hi = date_windows(days, p.trough_halfwidth_days)
    trough_minima(db, lo, hi, cand)
    return cand


def _season_evidence(
    db: npt.NDArray[np.float32], sm: npt.NDArray[np.float32], last_valid: npt.NDArray[np.intp],
    next_valid: npt.NDArray[np.intp], db_next: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int,
    gap: npt.NDArray[np.float32], p: SarRiceParams, noise: npt.NDArray[np.float32],
    break_days: npt.NDArray[np.float32], sm_long: npt.NDArray[np.float32] | None = None,
) -> dict[str, npt.NDArray[np.float32]]:
    """Margins, in units of their uncertainty, of a flood minimum at date ``t`` (rows of ``db``).

    ``db`` is the series in dB, ``sm`` the same smoothed over about three dates (in linear power).
    The baseline's evidence comes from ``db``: ``depth`` (the minimum below ``vh_min_db``) and
    ``rise`` (the largest later value at least ``rise_db`` above it). The shape comes from ``sm``,
    so one speckled date decides nothing: ``persistence`` (the darker neighbouring date within
    ``persistence_days`` below ``vh_min_db + persistence_offset_db`` too: a flood seen on more than one pass; refuted only with a pass on both sides), ``canopy`` (the highest later level above
    ``vh_max_db``), ``timing`` (the date the level crosses 70 % of the way from the minimum to
    the canopy: an interval bounded by the valid dates on either side, against [``min_rise_days``,
    ``max_rise_days``], in units of ``timing_scale_days`` plus half that interval; the lower
    limit counts from the first date of the dark spell that ends at the minimum), ``growth``
    (from the last date at a quarter of the rise to the crossing, at least ``min_growth_days``;
    only a refutation votes), ``duration`` (the dark spell around the minimum: after it below
    the midpoint between the minimum and the canopy, before it below a quarter of the way,
    against ``max_flood_days``, in units of ``duration_scale_days`` plus half the local revisit
    gap; or, for a rain-ponded paddy, against ``max_ponded_days`` when the smoothed spell reaches
    ``water_db`` and the canopy ``ponded_canopy_db``) and ``harvest`` (the smoothed canopy
    within ``canopy_drop_db`` of its peak lasts less than ``max_canopy_days``; a canopy running
    into the series end votes only when already too long).
    """
    n_pix, n_t = db.shape
    d0 = float(days[t])
    vmin = db[:, t]
    smin = sm[:, t]
    # The search end is stretched by the revisit gap there: a missing pass near the end of the
    # window must not hide the canopy.
    b0 = int(np.searchsorted(days, d0 + p.rise_window_end_days, side="right"))
    b = int(np.searchsorted(days, d0 + p.rise_window_end_days + float(gap[min(b0, n_t - 1)]), side="right"))
    depth = (_F32(p.vh_min_db) - vmin) / _F32(p.db_scale)
    # A paddy stays flooded over more than one pass; one dark date (an irrigation pulse, speckle)
    # is not a flood: the darker of the neighbouring valid dates must be dark too. Only passes
    # within persistence_days can be expected to see the same flood; with a sparser revisit the
    # term is unobservable and does not vote.
    rows = np.arange(n_pix)
    prev_i = last_valid[:, max(t - 1, 0)] if t > 0 else np.full(n_pix, t, dtype=np.intp)
    next_i = next_valid[:, min(t + 1, n_t - 1)] if t + 1 < n_t else np.full(n_pix, t, dtype=np.intp)
    near, side_seen, edge = [], [], np.zeros(n_pix, dtype=bool)
    for k in (prev_i, next_i):
        v = db[rows, k]
        edge |= (k == t) | np.isnan(v)  # the series ends here: the flood may go on unseen
        close = (k != t) & (np.abs(days[k].astype(np.int64) - int(d0)) <= p.persistence_days) & ~np.isnan(v)
        near.append(np.where(close, v, _F32(np.inf)))
        side_seen.append(close)
    second = np.minimum(near[0], near[1])
    with np.errstate(invalid="ignore"):
        margin = (_F32(p.vh_min_db + p.persistence_offset_db) - second) / _F32(p.db_scale)
    # One dark neighbour confirms the flood; refuting it takes a bright pass on *both* sides: with
    # one side unobserved (a lost pass, a revisit gap) the flood may have lasted there unseen, as
    # the pass before a flood's first day is naturally dry.
    persist = np.where(np.isfinite(second) & ~edge & ((margin >= 0) | (side_seen[0] & side_seen[1])), margin, _F32(np.nan))
    if b <= t + 1:  # the series ends at the minimum: no growth seen, no season
        nan, fail = np.full(n_pix, np.nan, dtype=_F32), np.full(n_pix, -np.inf, dtype=_F32)
        return {"depth": depth, "persistence": persist, "rise": fail, "canopy": fail, "timing": nan, "duration": nan,
                "harvest": nan, "growth": nan, "regrowth": nan, "fallow": nan, "timing_standard": nan, "growth_standard": nan,
                "persistence_standard": persist, "river_duration": nan,
                "young_season": np.full(n_pix, -np.inf, dtype=_F32), "spell_first": nan, "spell_last": nan}
    vmax = masked_max(db[:, t + 1:b])
    # Canopy: the mean, in linear power, of the two highest later dates (one speckle spike alone
    # is not a canopy; one short peak between a flood and a harvest still is).
    top = np.sort(np.where(np.isnan(db[:, t + 1:b]), _F32(-np.inf), db[:, t + 1:b]), axis=-1)[:, -2:]
    top = np.where(np.isfinite(top), top, top[:, -1:])
    canopy = to_db(np.mean(_F32(10.0) ** (top / _F32(10.0)), axis=-1).astype(_F32))
    seen = np.isfinite(vmax) & np.isfinite(canopy)
    span = np.where(seen, canopy - smin, _F32(0.0))
    # The crossing is read on the unsmoothed dates (smoothing would delay it by a pass), and
    # holds only when the next valid date stays within db_scale of the level (no speckle spike).
    level = vmin + _F32(p.rise_fraction) * np.where(seen, canopy - vmin, _F32(0.0))
    raw = db[:, t + 1:b]
    follow = db_next[:, t + 1:b]
    reach = (raw >= level[:, None]) & ~(follow < (level - _F32(p.db_scale))[:, None])
    reach[:, -1] |= ~reach.any(axis=-1) & seen  # never held: the last date in the window bounds it
    j = reach.argmax(axis=-1) + t + 1
    upper = days[j].astype(_F32) - _F32(d0)
    lower = days[last_valid[np.arange(n_pix), j - 1]].astype(_F32) - _F32(d0)
    spread = _F32(p.timing_scale_days) + _F32(0.5) * (upper - lower)
    # The canopy needs weeks from the start of the flood, which is the first date of the dark
    # spell: the lowest pass may come late in the flood when passes around it were lost.
    half_way = (vmin + _F32(0.5) * np.where(seen, canopy - vmin, _F32(0.0))).astype(_F32)
    onset = flood_run_start(db, days, t, half_way) - _F32(d0)
    timing = np.minimum((upper - onset - _F32(p.min_rise_days)) / spread, (_F32(p.max_rise_days) - lower) / spread)
    # Growth is gradual: from a quarter of the rise to the crossing takes a canopy weeks, while
    # a drained pond's mud or a flood receding from a standing crop steps up within one pass.
    # Only a refutation is observable (the last dark date and the crossing bound the rise).
    low = vmin + _F32(0.25) * np.where(seen, canopy - vmin, _F32(0.0))
    cols = np.arange(t, b)[None, :]
    # On a dense revisit several speckled dates of the rise fall within min_growth_days of the
    # crossing, and the darkest of them dips below the quarter level by chance (`growth_noise`).
    near = (days[cols] >= days[j][:, None] - p.min_growth_days) & (cols < j[:, None]) & ~np.isnan(db[:, t:b])
    low = low - _F32(p.growth_noise) * np.nan_to_num(noise) * darkest_of_dates(near.sum(axis=-1))
    dark_before = (db[:, t:b] <= low[:, None]) & (cols < j[:, None])
    last_low = np.where(dark_before, cols, t).max(axis=-1)
    steep = (upper - (days[last_low].astype(_F32) - _F32(d0)) - _F32(p.min_growth_days)) / _F32(p.timing_scale_days)
    growth = np.where(steep < 0, steep, _F32(np.nan))
    # Direct-seeded rice: a levelling flood of a pass or two, then moist seedbed soil, then a slow
    # rise. Read from the minimum, the crossing falls at the first pass after the dip (the soil's
    # return), as an orchard's after an irrigation pulse. Read from the seedbed plateau, it falls
    # weeks later; that reading holds when the smoothed canopy rises well above the plateau (an
    # orchard returns to its canopy, which stays level). A soft OR with the reading above.
    a1, plateau, peak = after_flood(db, sm, days, t, b, p)
    seedbed = seedbed_timing(db, sm, db_next, last_valid, days, t, b, canopy, onset, seen, p, a1, plateau, peak, noise)
    # An irrigation pulse under a tree canopy: back at the canopy within a pass or two, and the
    # same canopy stood there before the flood. Only the dates that speckle cannot fake count.
    regrowth = regrowth_margin(db, days, t, plateau, peak, onset, noise, p)
    # A flood lies well below the land before it; bare soil's darkest date does not.
    fallow = fallow_dip_margin(db, days, t, smin, onset, noise, p)
    timing_standard, growth_standard = timing, growth
    timing = np.maximum(timing, seedbed)
    # A one-pass levelling flood has no dark neighbour; the wet seedbed weeks after it and the
    # canopy rising from them confirm it instead (`seedbed_persistence`). Unobservable stays so.
    persist_standard = persist
    if p.seedbed_persistence:
        persist = np.where(np.isnan(persist), persist, np.maximum(persist, seedbed)).astype(_F32)
    growth = np.where(np.isnan(growth), growth, np.maximum(growth, seedbed))
    # After the minimum a paddy stays dark through early tillering (to the midpoint level); before
    # it, fallow soil is often nearly as dark, so only the flood itself counts (a quarter of the way).
    # On a noisy series a level spell (a wetland's water, bare soil) scatters by about one noise
    # unit around its mean, so before the minimum the spell also takes the dates within
    # `spell_noise` units of it; on a filtered series the quarter of the way decides as before.
    # A young crop cut by the series' end is read against the canopy it is to reach, not its young
    # level (only seasons failing `canopy` change: `young_rise_db`).
    span = np.where(seen, np.maximum(canopy, _F32(p.vh_max_db)) - smin, _F32(0.0)).astype(_F32)
    before = np.maximum(smin + _F32(0.25) * span, smin + _F32(p.spell_noise) * np.nan_to_num(noise)).astype(_F32)
    first, last = flood_run_bounds(sm, days, t, before, (smin + _F32(0.5) * span).astype(_F32), break_days)
    run = (last - first).astype(_F32)
    scale = _F32(p.duration_scale_days) + _F32(0.5) * gap[t]
    duration = (_F32(p.max_flood_days) - run) / scale
    # Rain ponded on a bunded field before puddling makes a paddy's spell longer: it may last up
    # to max_ponded_days when it holds open water (not moist bare soil) and a rice canopy follows
    # (not wetland regrowth). Either way of passing will do (a soft OR).
    spell_low = spell_min(sm, days, first, last)
    ponded = np.minimum.reduce([(_F32(p.max_ponded_days) - run) / scale,
                                (_F32(p.water_db) - spell_low) / _F32(p.db_scale),
                                (canopy - _F32(p.ponded_canopy_db)) / _F32(p.db_scale)])
    duration = np.maximum(duration, ponded)
    # Harvest: the canopy around the season's (smoothed) peak must end within a crop's life.
    # Where the dark spell reaches the pixel's first valid date, `duration` and the levels before
    # the flood are unobserved and `harvest` alone can refute a wetland's flood: its canopy is read
    # over a longer span, so that its peak is the canopy's level, not a speckle extreme
    # (`cut_canopy_days`).
    hs = sm
    if sm_long is not None:
        cut = first <= days[next_valid[:, 0]]
        hs = np.where(cut[:, None], sm_long, sm).astype(_F32)
    seg = np.where(np.isnan(hs[:, t + 1:b]), _F32(-np.inf), hs[:, t + 1:b])
    peak = seg.argmax(axis=-1) + t + 1
    top_sm = seg.max(axis=-1)
    lasting, open_end = bright_run_days(hs, days, peak, top_sm - _F32(p.canopy_drop_db), break_days)
    harvest = (_F32(p.max_canopy_days) - lasting) / (_F32(p.duration_scale_days) + _F32(0.5) * gap[peak])
    # A canopy that runs into the end of the series has an unknown length: only a failure is known.
    harvest = np.where(np.isfinite(top_sm) & ~(open_end & (harvest > 0)), harvest, _F32(np.nan))
    # A river's flood of months, then a crop harvested within the series (`river_flood_days`):
    # a soft OR with `duration`, applied after the VV reading may have replaced it.
    spell_mean = window_mean_db(db, days, first.astype(_F32), last.astype(_F32))
    river = river_crop_margin(run, scale, spell_mean, sm if sm_long is None else sm_long, days, t, b, gap, break_days, p)
    # A flood in the series' last weeks: a young crop stands in for a canopy not yet reached.
    canopy_m = np.where(seen, (canopy - _F32(p.vh_max_db)) / _F32(p.db_scale), _F32(-np.inf))
    young = np.where(canopy_m < 0, young_crop_margin(sm, days, t, smin, before, (smin + _F32(0.5) * span).astype(_F32),
                                                     break_days, last_valid, next_valid, scale, p, db=db),
                     _F32(-np.inf))
    with np.errstate(invalid="ignore"):
        return {
            "depth": depth,
            "persistence": persist,
            "rise": np.maximum(np.where(seen, (vmax - vmin - _F32(p.rise_db)) / _F32(p.db_scale), _F32(-np.inf)), young),
            "canopy": np.maximum(canopy_m, young),
            "timing": np.where(seen, timing, _F32(np.nan)).astype(_F32),
            "duration": np.where(seen, duration, _F32(np.nan)).astype(_F32),
            "harvest": np.where(seen, harvest, _F32(np.nan)).astype(_F32),
            "growth": np.where(seen, growth, _F32(np.nan)).astype(_F32),
            "regrowth": np.where(seen, regrowth, _F32(np.nan)).astype(_F32),
            "fallow": np.where(seen, fallow, _F32(np.nan)).astype(_F32),
            # The reading from the minimum alone, for QA_SEEDBED_ONLY (popped before the soft AND).
            "timing_standard": np.where(seen, timing_standard, _F32(np.nan)).astype(_F32),
            "growth_standard": np.where(seen, growth_standard, _F32(np.nan)).astype(_F32),
            "persistence_standard": persist_standard,
            "river_duration": np.where(seen, river, _F32(np.nan)).astype(_F32),
            # The young crop alone, for `young_season` (popped before the soft AND).
            "young_season": young,
            # The dark spell's first and last dates (day numbers), for `vv_cut_soil_db` (popped).
            "spell_first": first.astype(_F32),
            "spell_last": last.astype(_F32),
        }


def _weakest(ev: dict[str, npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    """The soft AND of a season's margins: the weakest observable term (NaN terms do not vote)."""
    return np.stack([np.where(np.isnan(v), _F32(np.inf), v) for v in ev.values()], axis=-1).min(axis=-1).astype(_F32)


def _sar_kernel(
    vh: npt.NDArray[Any], *vv: npt.NDArray[Any], days: npt.NDArray[np.int32], doy: npt.NDArray[np.uint16],
    window: npt.NDArray[np.int8], n_windows: int, p: SarRiceParams, track: npt.NDArray[np.int8] | None = None,
) -> tuple[npt.NDArray[Any], ...]:
    """The VH rule on ``(..., time)`` linear power (with VV evidence when ``vv`` is given);
    returns the arrays of ``seasons.OUTPUT_DTYPES``.
    """
    # Imported here, not with the module: planning a run imports the rule module, and the
    # compiled walk loads on the workers' background thread (``scheduler.RULE_KERNELS``).
    from .seasons_kernel import rule_outputs, season_pixels

    lead, (lin, *vv_lin) = flatten_time(vh, *vv)
    vvs = vv_series(vv_lin[0].astype(_F32, copy=False), days, track, p) if vv_lin else None
    lin = lin.astype(_F32, copy=False)
    lin = np.where(np.isfinite(lin) & (lin > 0), lin, _F32(np.nan))
    observed = lin  # offsets in: the noise of a speckled pixel is read on it (`offset_noise_db`)
    if p.align_tracks and track is not None:
        # One surface, two incidence angles: a mixed-track series zigzags by 1-2 dB, which
        # deepens the minimum and inflates the rise of every pixel. Remove it per pixel.
        off = track_offsets_db(to_db(lin), days, track, p.track_pair_days)
        lin = (lin * _F32(10.0) ** (-off / _F32(10.0))).astype(_F32)
    if p.smooth_days > 0:
        aligned = lin is not observed
        lin = smooth_linear(lin, days, p.smooth_days / 2.0)
        observed = smooth_linear(observed, days, p.smooth_days / 2.0) if aligned else lin
    ok = ~np.isnan(lin)
    n_pix, n_t = lin.shape
    n_valid = ok.sum(axis=-1)
    in_win = window >= 0 if n_windows else np.ones(n_t, dtype=bool)
    n_window = (ok & in_win).sum(axis=-1)
    db = to_db(lin)
    gap = local_gap(ok, days)
    median_gap = float(np.median(gap))
    looks = looks_per_date(lin, days, median_gap * 1.01)  # dates a three-date mean averages
    # A speckled pixel with named tracks keeps the noise of its series as observed (`offset_noise_db`).
    # On one track a crop's rise moves every step; second differences leave it out
    # (`curvature_noise_gap_days`).
    one_track = p.curvature_noise_gap_days is not None and median_gap >= p.curvature_noise_gap_days
    noise = pixel_noise_db(db, None if observed is lin else observed, looks, p.offset_noise_db,
                           days if one_track else None)
    # The shape terms read a series smoothed over about three dates, or over the repeat cycle
    # where that leaves a noisy point noisy (see `shape_days`).
    sm, cycle, noisy = shape_series(lin, days, median_gap, noise, p.shape_days, p.shape_noise_db, looks=looks)
    # On a noisy series one pass lifts two or three smoothed dates in a row: only bright dates
    # spanning a repeat cycle end a dark spell there (see `spell_break_days`).
    # The canopy after a flood cut by the series' start, read over `cut_canopy_days`.
    sm_long = None if p.cut_canopy_days is None else to_db(smooth_linear(lin, days, p.cut_canopy_days))
    break_days = np.where(noisy, _F32(p.spell_break_days), _F32(0.0)).astype(_F32)

    water, built, mask_z = sar_masks(lin, db, sm, days, n_valid, noisy, cycle, median_gap, vvs, p)

    # The last valid date at or before each date (0 before the first), and the next at or after it
    # (the last date after the last valid one); accumulated in place, each one array.
    last_valid = np.where(ok, np.arange(n_t, dtype=np.intp)[None, :], np.intp(-1))
    np.maximum.accumulate(last_valid, axis=-1, out=last_valid)
    np.maximum(last_valid, 0, out=last_valid)
    ahead = np.where(ok[:, ::-1], np.arange(n_t - 1, -1, -1, dtype=np.intp)[None, :], np.intp(n_t))
    np.minimum.accumulate(ahead, axis=-1, out=ahead)
    next_valid = np.ascontiguousarray(ahead[:, ::-1])
    np.minimum(next_valid, n_t - 1, out=next_valid)
    # db_next[:, k]: the value of the next valid date after k (NaN at the end of the series).
    after = np.concatenate([next_valid[:, 1:], np.full((n_pix, 1), n_t - 1, np.intp)], axis=-1)
    db_next = np.take_along_axis(db, after, axis=-1)
    db_next[:, -1] = np.nan
    db_next = np.where(after > np.arange(n_t)[None, :], db_next, _F32(np.nan)).astype(_F32)

    # VV over a pass or two, for bare soil at the series' start (`vv_cut_soil_db`).
    vv_near = None if vvs is None or p.vv_cut_soil_db is None else vv_near_dates(vvs, days, p)
    cand = _candidates(db, days, window, n_windows, p) & in_win[None, :]
    # Each candidate's margin, read by the season walk only where `cand` holds.
    margin = np.zeros((n_pix, n_t), dtype=_F32)
    best_standard = np.full(n_pix, -np.inf, dtype=_F32)
    for t in range(n_t):
        idx = np.flatnonzero(cand[:, t])
        if idx.size == 0:
            continue
        # The candidates' rows, gathered once for both readings (neither writes to them).
        db_i, sm_i, next_i, noise_i, break_i = db[idx], sm[idx], next_valid[idx], noise[idx], break_days[idx]
        ev = _season_evidence(db_i, sm_i, last_valid[idx], next_i, db_next[idx], days, t, gap, p,
                              noise_i, break_i, None if sm_long is None else sm_long[idx])
        spell_first, spell_last = ev.pop("spell_first"), ev.pop("spell_last")
        vv_rows = None if vvs is None else vvs.rows(idx)
        if vv_rows is not None:
            ev = vv_season_terms(ev, vv_rows, days, t, gap, p)
            if p.vv_cut_soil_db is not None:
                # Bare soil at the series' start, dark in VH, bright in VV (`vv_cut_soil_db`).
                assert vv_near is not None
                ev["cut_soil"] = vv_cut_soil_margin(vv_near[idx], days, spell_first, spell_last,
                                                    days[next_i[:, 0]].astype(_F32), p)
        river = ev.pop("river_duration")
        young = ev.pop("young_season")
        ev["duration"] = np.where(np.isnan(ev["duration"]), ev["duration"], np.fmax(ev["duration"], river))
        standard = {**ev, "timing": ev.pop("timing_standard"), "growth": ev.pop("growth_standard"),
                    "persistence": ev.pop("persistence_standard")}
        # A soft AND: the season's margin is its weakest term's (unobservable terms do not vote).
        # A flood in the series' last weeks may close the cycle of the crop at its start instead
        # (`cycle_year_days`): then only the terms that read the flood itself vote with it.
        cyc = end_cycle_margin(db_i, sm_i, days, t, next_i, break_i, noise_i,
                               _F32(p.duration_scale_days) + _F32(0.5) * gap[t], p, vv_rows)
        cyc = np.minimum(cyc, _weakest({k: ev[k] for k in CYCLE_FLOOD_TERMS if k in ev}))
        if p.young_season:
            # A young crop at the series' end: the terms reading the canopy it has yet to
            # build do not vote (`young_season`).
            cyc = np.maximum(cyc, young_season_margin(ev, young))
        margin[idx, t] = np.minimum(np.maximum(_weakest(ev), cyc), mask_z[idx])
        best_standard[idx] = np.maximum(best_standard[idx], np.minimum(np.maximum(_weakest(standard), cyc), mask_z[idx]))
    # A crop harvested in the series' first weeks whose flood came before the series
    # (`start_harvest_db`): a season without a transplanting date in the series, counted only
    # where no dated season passes.
    start_m = np.full(n_pix, -np.inf, dtype=_F32)
    if p.start_harvest_db is not None and not n_windows:
        mean_noise = (noise / np.sqrt(looks)).astype(_F32)  # the noise of a three-date mean
        start_m = np.minimum(start_harvest_margin(sm, db, days, break_days, gap, p, mean_noise), mask_z).astype(_F32)
        best_standard = np.maximum(best_standard, start_m)
    # The masks are already in every margin (-inf on water or built-up): the walk's mask margin
    # caps nothing, and its masked pixels have no passing margin to refuse.
    k = {"onset": cand, "growth": margin, "n_valid": n_valid.astype(np.int32), "n_window": n_window.astype(np.int32),
         "water": water, "forest": built, "mask_margin": np.full(n_pix, np.inf, dtype=_F32),
         "undated": start_m}
    o = season_pixels(k, n_slots=n_windows or p.max_seasons, window=window, doy=doy, days=days, n_windows=n_windows,
                      min_season_days=p.min_season_days, undated=p.start_harvest_db is not None, found_bit=QA_SAR)
    best = o["best"]
    o["qa_flags"] |= np.where((best > best_standard) & (best_standard < 0), QA_SEEDBED_ONLY, 0).astype(np.uint8)
    return rule_outputs(o, lead)


def sar_rice_rule(
    vh: xr.Dataset | xr.DataArray,
    params: SarRiceParams | None = None,
    *,
    windows: str | Sequence[SeasonWindow] | None = None,
    units: Literal["auto", "linear", "db"] = "auto",
) -> xr.Dataset:
    """Label-free paddy rice map and transplanting dates from a Sentinel-1 VH time series.

    Parameters
    ----------
    vh : xarray.DataArray or xarray.Dataset
        VH backscatter in linear power or dB (see ``units``; NaN = nodata), dims
        ``(time, y, x)`` or ``(time, point)`` (any dims with ``time``), numpy or dask; or a
        Dataset with ``vh`` (or ``vh_db``), and optionally ``vv`` (or ``vv_db``, same dates and
        units), which adds the VV evidence of :mod:`agromap.rice.rules_sar_vv`. Preferably speckle-filtered (see
        :func:`boxcar_speckle_filter`). Irregular, unsorted or missing dates and mixed orbit
        tracks are fine; duplicated dates are an error.
    params : SarRiceParams, optional
        Thresholds (defaults: docs/science/rice.md#sentinel-1-vh-rule starting values).
    windows : str or sequence of SeasonWindow, optional
        Season windows in which to search ``t_min`` (a crop-calendar name or windows); ``None``
        takes every local VH minimum as a candidate.
    units : {"auto", "linear", "db"}
        Units of ``vh``. ``auto`` (default) reads the ``units`` attribute ("dB", "1"/"linear")
        or a ``_db`` name, and when they say nothing decides from the values (mostly negative:
        dB; mostly in (0, 1]: linear power). A declaration is checked against the values.

    Returns
    -------
    xarray.Dataset
        The variables of :mod:`agromap.rice.seasons` (``rice_class`` uint8/255, ``n_seasons``
        uint8/255, ``transplant_doy`` uint16 ``(season, ...)``/0 = day of year of the VH minimum,
        ``rice_score`` float32/NaN, ``n_valid_obs``, ``n_valid_in_flood_window``, ``qa_flags``
        uint8), on the non-time dims of the input with its coordinates. Lazy for dask input
        (time merged into one chunk); dtypes known before computing. No float64.

    Raises
    ------
    MissingBandError
        A Dataset without ``vh``.
    SarUnitsError
        At compute: the values contradict the declared units, or look like neither unit
        (amplitude, DN); never a silent map of nodata.
    InputError
        No ``time`` dimension; duplicated dates.

    References
    ----------
    S1 VH rule-based rice mapping, Cauvery Delta (PMC11894211); docs/science/rice.md#sentinel-1-vh-rule.
    """
    p = params if params is not None else SarRiceParams()
    win = resolve_windows(windows)
    src = vh_variable(vh)
    tracks = track_names(src)
    arr = prepare_series(as_linear_power(src, units), "sar_rice_rule input")
    vv_src = vv_band(vh, p)
    vv = [] if vv_src is None else [prepare_series(as_linear_power(vv_src, units), "sar_rice_rule vv")]
    days, doy = time_axis(arr["time"].values)
    track = track_index(tracks, days.size)
    kwargs = {"days": days, "doy": doy, "window": window_index(doy, win), "n_windows": len(win), "p": p,
              "track": track}
    attrs = {"algorithm": "s1-vh-min-rise-multiseason", "rice_rule": "sar", "polarisations": "VH+VV" if vv else "VH",
             "parameters": json.dumps(dataclasses.asdict(p), sort_keys=True),
             "season_windows": json.dumps([dataclasses.asdict(w) for w in win])}
    out = apply_rule(_sar_kernel, [arr, *vv], kwargs, len(win) or p.max_seasons, attrs)  # type: ignore[list-item]
    if p.mixed_min_fraction is not None and isinstance(arr, xr.DataArray) and set(arr.dims) == {"time", "y", "x"}:
        # A paddy pixel that a field border crosses: its flood is hidden by the brighter neighbour.
        out = unmix_edges(out, arr, min_fraction=p.mixed_min_fraction, source_score=p.mixed_source_score,
                          max_rms_db=p.mixed_max_rms_db, other_score=p.mixed_other_score,
                          other_source=p.mixed_other_source_score, other_rms_db=p.mixed_other_rms_db,
                          water_db=p.water_db, water_share=p.max_water_share)
    return out

