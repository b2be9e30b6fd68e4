"""Optical rice rule: the evergreen-shrub span, the hidden-crop (cloud gap) evidence, the sparse-series field
evidence and the other terms, on small series (and the thinned floodplain scene)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from agromap.rice.baselines import optical_baseline
from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from agromap.rice.seasons import QA_FOREST_BUILT, QA_WATER
from agromap.scenes import make_scene
from agromap.scenes.evaluate import drop_s2_days


def _points(days: list[int], ndvi: list[list[float]], lswi: list[list[float]]) -> xr.Dataset:
    """A (time, point) table of indices; EVI = 0.75 NDVI (a plain canopy or soil)."""
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]")
    nd = np.asarray(ndvi, np.float32).T
    ls = np.asarray(lswi, np.float32).T
    return xr.Dataset({"ndvi": (("time", "point"), nd), "evi": (("time", "point"), nd * np.float32(0.75)),
                       "lswi": (("time", "point"), ls)}, coords={"time": time})


def test_shrub_mask_needs_moist_dates_spanning_months():
    days = [100, 110, 130, 150, 170, 190, 200, 215, 240, 270, 285, 300, 320, 340]
    # point 0: two confirmed paddy cycles, then the next season's flood at the end of the series
    # (outside every confirmed cycle, moist, 40 days); point 1: moist evergreen vegetation all year.
    paddy_nd = [.15, .2, .5, .8, .8, .6, .2, .4, .8, .75, .5, .05, .3, .35]
    paddy_ls = [.3, .3, .3, .35, .35, .2, .3, .3, .35, .3, .2, .3, .3, .32]
    shrub_nd = [.62] * len(days)
    shrub_ls = [.2] * len(days)
    ds = _points(days, [paddy_nd, shrub_nd], [paddy_ls, shrub_ls])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0]
    assert out.n_seasons.values[0] == 2 and out.transplant_doy.values[:2, 0].tolist() == [101, 201]
    assert out.qa_flags.values[1] & QA_FOREST_BUILT and not out.qa_flags.values[0] & QA_FOREST_BUILT
    # without the span condition the paddy's end-of-series flood reads as an evergreen shrub
    # (nor, then, the harvest and re-puddling between its cycles, shrub_repuddle_drop, which exempts it too)
    old = optical_rice_rule(ds, OpticalRiceParams(shrub_min_span_days=0.0, shrub_repuddle_drop=None))
    assert old.rice_class.values.tolist() == [0, 0] and old.qa_flags.values[0] & QA_FOREST_BUILT


def test_hidden_crop_needs_a_sustained_flood_on_bare_ground_a_long_gap_and_a_drained_field():
    days = [0, 20, 40, 60, 70, 180, 200, 220]
    bare, dry = [.25, .27, .25], [-.05, -.06, -.04]
    after_nd, after_ls = [.3, .25, .27], [-.05, -.06, -.05]
    series = {
        # paddy: bare dry soil, flooded twice, a 110-day cloud gap, stubble after it -> rice (undated)
        "paddy": (bare + [.1, .15] + after_nd, dry + [.25, .2] + after_ls),
        # wetland: green, moist sedge right before the flood -> not rice
        "wetland": ([.25, .27, .65, .1, .15] + after_nd, [-.05, -.06, .15, .25, .2] + after_ls),
        # a rain puddle: one flooded date before the gap -> not rice
        "puddle": (bare + [.28, .15] + after_nd, dry + [-.05, .2] + after_ls),
        # still flooded after the gap (a pond or a wetland in its flood season) -> not rice
        "pond": (bare + [.1, .15, .05, .25, .27], dry + [.25, .2, .3, -.06, -.05]),
    }
    ds = _points(days, [v[0] for v in series.values()], [v[1] for v in series.values()])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    assert out.n_seasons.values[0] == 1 and out.transplant_doy.values[:, 0].tolist() == [0, 0, 0]
    # partial evidence: the smallest margin is the gap excess (110 - 90 days over 10 d + half the
    # median gap of 20 d: 1.0); the second flooded date's wet margin (LSWI 0.2 / 2) gives 2.0 and
    # the bare ground's LSWI (-0.04, 0.14 below hidden_bare_lswi_max 0.10) 2.8
    assert abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-1.0))) < 1e-4
    # moist bare soil of the monsoon (LSWI 0.06 before the flood) is still bare ground; green,
    # moist vegetation is not, and neither is moist soil above the LSWI bound
    moist = optical_rice_rule(_points(days, [series["paddy"][0]] * 2,
                                      [dry[:2] + [.06] + series["paddy"][1][3:], dry[:2] + [.12] + series["paddy"][1][3:]]))
    assert moist.rice_class.values.tolist() == [1, 0]
    # a shorter gap (60 days: the canopy would have been seen) is no evidence
    short = optical_rice_rule(_points([0, 20, 40, 60, 70, 130, 150, 170], [series["paddy"][0]], [series["paddy"][1]]))
    assert short.rice_class.values[0] == 0
    # the term can be turned off
    off = optical_rice_rule(ds, OpticalRiceParams(hidden_crop_days=None))
    assert off.rice_class.values.tolist() == [0, 0, 0, 0]


def test_hidden_crop_from_one_flooded_date_needs_open_water_across_the_field():
    days = [0, 20, 40, 60, 180, 200, 220]
    bare, dry = [.25, .27, .25], [-.05, -.06, -.04]
    after_nd, after_ls = [.3, .25, .27], [-.05, -.06, -.05]
    series = {
        # bare dry soil, then the whole field under water on the last date before a 120-day gap,
        # stubble after it: a bunded paddy flooded for puddling -> rice (undated)
        "paddy": (bare + [-.1] + after_nd, dry + [.25] + after_ls),
        # one flooded date on which soil still shows through (NDVI 0.15): a rain puddle -> not rice
        "puddle": (bare + [.15] + after_nd, dry + [.2] + after_ls),
        # open water over green, moist vegetation: a wetland's flood -> not rice
        "wetland": ([.25, .27, .65, -.1] + after_nd, [-.05, -.06, .15, .25] + after_ls),
        # still under water after the gap: a pond -> not rice
        "pond": (bare + [-.1, .05, .25, .27], dry + [.25, .3, -.06, -.05]),
    }
    ds = _points(days, [v[0] for v in series.values()], [v[1] for v in series.values()])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    assert out.n_seasons.values[0] == 1 and out.transplant_doy.values[:, 0].tolist() == [0, 0, 0]
    # the smallest margin is the gap excess: (120 - 90) days over 10 d + half the median gap of
    # 20 d = 1.5; the open water's NDVI (-0.1, 0.1 below hidden_open_water_ndvi 0) gives 2.0
    assert abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-1.5))) < 1e-4
    # switched off, one flooded date is no evidence (the two-date form needs a second one)
    off = optical_rice_rule(ds, OpticalRiceParams(hidden_open_water_ndvi=None))
    assert off.rice_class.values.tolist() == [0, 0, 0, 0]
    # a looser bound lets the puddle's partly covered field through
    loose = optical_rice_rule(ds, OpticalRiceParams(hidden_open_water_ndvi=0.2))
    assert loose.rice_class.values.tolist() == [1, 1, 0, 0]


def test_a_dated_cycle_needs_a_canopy_standing_in_water():
    days = list(range(0, 210, 10))
    ndvi = [.2, .2, .2, .1, .1, .35, .55, .75, .8, .8, .7, .4, .25, .2, .2, .2, .2, .2, .2, .2, .2]
    dry = [-.05] * 3
    after = [-.03] * 10
    series = {
        # flooded on bare soil, then a canopy whose LSWI stays at the flood's level: a paddy
        "paddy": dry + [.25, .25, .3, .32, .34, .35, .35, .33] + after,
        # the same greening after a rain puddle, over drying soil: the canopy is dry
        "upland": dry + [.25, .25, .05, .1, .14, .16, .16, .15] + after,
    }
    ds = _points(days, [ndvi, ndvi], list(series.values()))
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0]
    assert out.transplant_doy.values[0, 0] == 31 and out.n_seasons.values.tolist() == [1, 0]
    assert float(out.rice_score.values[1]) < 0.5 < float(out.rice_score.values[0])
    # the upland's wettest canopy date has LSWI 0.16: a threshold below it lets the cycle pass
    assert optical_rice_rule(ds, OpticalRiceParams(wet_canopy_lswi=0.15)).rice_class.values.tolist() == [1, 1]
    # without the term the upland cycle passes like a paddy (the rule's old known confusion)
    off = optical_rice_rule(ds, OpticalRiceParams(wet_canopy_lswi=None))
    assert off.rice_class.values.tolist() == [1, 1]
    # a cycle that shows no canopy date at all is not refuted by the term (no vote); the series ends in that
    # young crop rising out of its flood, which the flood cut by the series' end reads: kept out of both runs
    sparse = optical_rice_rule(_points([0, 10, 20, 30, 40, 50], [[.2, .2, .2, .1, .1, .45]],
                                       [[-.05, -.05, -.05, .25, .25, .3]]), OpticalRiceParams(end_flood_days=None))
    ref = optical_rice_rule(_points([0, 10, 20, 30, 40, 50], [[.2, .2, .2, .1, .1, .45]],
                                    [[-.05, -.05, -.05, .25, .25, .3]]),
                            OpticalRiceParams(wet_canopy_lswi=None, end_flood_days=None))
    np.testing.assert_array_equal(sparse.rice_score.values, ref.rice_score.values)


def test_a_wet_canopy_after_a_cloud_gap_is_undated_evidence():
    gap_days = [0, 10, 20, 30, 40, 50, 150, 160, 200, 210]
    bare, dry = [.2] * 6, [-.05] * 6
    series = {
        # bare until the monsoon gap, then a canopy standing in water, then stubble: a paddy whose
        # flooding fell in the gap -> rice, one undated season
        "paddy": (bare + [.8, .75, .25, .25], dry + [.35, .33, -.03, -.04]),
        # the same greening over dry soil: an upland crop -> not rice
        "upland": (bare + [.8, .75, .25, .25], dry + [.24, .22, -.03, -.04]),
        # floating leaves that never leave the water (lowest NDVI 0.5): no bare field -> not rice
        "floating": ([.5] * 6 + [.8, .75, .6, .55], [.3] * 6 + [.38, .37, .35, .33]),
    }
    ds = _points(gap_days, [v[0] for v in series.values()], [v[1] for v in series.values()])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0]
    assert out.n_seasons.values[0] == 1 and out.transplant_doy.values[:, 0].tolist() == [0, 0, 0]
    # margin: the canopy's LSWI 0.03 above 0.32 (0.6 units of 0.05); the gap (100 days, 55 beyond
    # 45, in units of 10 d + half the median 10-day interval) and the bare date (2 units) are wider.
    # (The season hidden in a gap votes here too, with the canopy's LSWI 0.05 above its 0.30: 1.0.)
    alone = optical_rice_rule(ds, OpticalRiceParams(gap_season_lswi=None))
    assert abs(float(alone.rice_score.values[0]) - 1 / (1 + np.exp(-0.6))) < 1e-3
    assert abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-1.0))) < 1e-3
    # the same canopy on a dense series, seen right after bare dry dates: the flood would have
    # been seen, so it is no evidence
    dense = list(range(0, 210, 10))
    nd = [.2] * 13 + [.8, .75] + [.25] * 6
    ls = [-.05] * 13 + [.35, .33] + [-.03] * 6
    assert optical_rice_rule(_points(dense, [nd], [ls])).rice_class.values.tolist() == [0]
    # a young crop standing in water between the gap and the canopy (LSWI >= 0.20) is what a
    # paddy shows: the flood is still unseen; the same date on dry soil (an upland seedling, LSWI 0.0,
    # below the 0.05 of a drained paddy's saturated soil: gap_season_young_soil_lswi) ends the gap
    young = [0, 10, 20, 30, 40, 50, 130, 150, 160, 200]
    nd2 = [bare + [.45, .8, .75, .25]] * 2
    ls2 = [dry + [.25, .35, .33, -.03], dry + [.0, .35, .33, -.03]]
    assert optical_rice_rule(_points(young, nd2, ls2)).rice_class.values.tolist() == [1, 0]
    # the undated part alone can be turned off
    off = optical_rice_rule(ds, OpticalRiceParams(undated_wet_canopy_lswi=None, gap_season_lswi=None))
    assert off.rice_class.values.tolist() == [0, 0, 0]


def test_self_training_leaves_out_the_canopy_only_evidence_unless_asked():
    from agromap.rice.self_train_rule import run_rule
    from agromap.rice.self_trained import SelfTrainParams

    days = [0, 10, 20, 30, 40, 50, 150, 160, 200, 210]
    ds = _points(days, [[.2] * 6 + [.8, .75, .25, .25]], [[-.05] * 6 + [.35, .33, -.03, -.04]])
    assert not SelfTrainParams().optical_canopy_labels
    # the self-trained map's pseudo-labels: the rule without its undated wet canopy ...
    assert float(run_rule(ds, None, "optical", None, None, None, False).rice_score.values[0]) < 0.5
    # ... unless asked; the rule itself keeps it (a user's own parameters are kept otherwise)
    assert float(run_rule(ds, None, "optical", None, None, None, True).rice_score.values[0]) > 0.5
    assert optical_rice_rule(ds).rice_class.values.tolist() == [1]
    kept = run_rule(ds, None, "optical", OpticalRiceParams(ndvi_low=0.1), None, None, False)
    assert '"ndvi_low": 0.1' in kept.attrs["parameters"] and '"undated_wet_canopy_lswi": null' in kept.attrs["parameters"]


def test_a_flood_under_standing_vegetation_is_not_an_onset():
    days = list(range(0, 105, 5))
    flood_ls = .3  # LSWI of the flooded date (NDVI 0.2): the flood signal
    series = {
        # puddled on bare soil, water and seedlings for weeks, then a canopy over water: a paddy
        "paddy": ([.25, .25, .25, .1, .15, .2, .25, .3, .4, .5, .6, .7, .75, .75, .7, .6, .5, .4, .3, .3, .3],
                  [-.05, -.05, -.05, flood_ls, .3, .3, .3, .3, .3, .3, .32, .33, .34, .33, .3, .25, .2, .1, 0, 0, 0]),
        # basin irrigation between orchard rows: flooded for a few days, green again at the next date
        "orchard": ([.45, .5, .45, .2, .45, .5, .55, .6, .62, .6, .55, .5, .45, .45, .45, .45, .45, .45, .45, .45, .45],
                    [.15, .15, .15, flood_ls, .18, .2, .22, .24, .25, .24, .2, .18, .15, .15, .15, .15, .15, .15, .15,
                     .15, .15]),
    }
    ds = _points(days, [v[0] for v in series.values()], [v[1] for v in series.values()])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0]
    assert out.transplant_doy.values[0, 0] == 16
    # the orchard's onset fails by the highest NDVI of the 10 days after it (0.5 five and ten days
    # later), 0.1 above ndvi_trough_max: -2 units of 0.05 (read without the undated evidence's standing-flood
    # test, which the same drained, green dates refute: the score falls below it)
    plain = optical_rice_rule(ds, OpticalRiceParams(undated_flood_stands=False))
    assert abs(float(plain.rice_score.values[1]) - 1 / (1 + np.exp(2.0))) < 1e-4
    assert out.rice_score.values[1] < plain.rice_score.values[1]
    assert out.rice_score.values[0] == plain.rice_score.values[0]
    # without the term the irrigation flood passes as a paddy's
    off = optical_rice_rule(ds, OpticalRiceParams(early_ndvi_days=None))
    assert off.rice_class.values.tolist() == [1, 1]
    # a series that starts inside a season (flooded under a young canopy on its first date) keeps it
    start = optical_rice_rule(_points(days[3:], [series["orchard"][0][3:]], [series["orchard"][1][3:]]))
    assert start.rice_class.values.tolist() == [1]


def test_hazy_dates_are_not_clear():
    from agromap.rice.rules_optical import clear_observations

    # blue, red: clear soil, water, a canopy; then haze over soil (blue - 0.5 red = 0.085 > 0.08)
    blue = np.array([[.10, .07, .03, .16]], np.float32)
    red = np.array([[.18, .08, .035, .15]], np.float32)
    ds = xr.Dataset({"blue": (("time", "point"), blue), "red": (("time", "point"), red)})
    like = ds["blue"]
    assert clear_observations(ds, like, OpticalRiceParams(), None).values.tolist() == [[True, True, True, False]]
    assert clear_observations(ds, like, OpticalRiceParams(haze_hot=None), None).values.all()


def test_a_harvest_seen_marks_a_field_under_a_river_flood():
    # A Mekong floodplain paddy seen as on a cloudy year: the winter-spring canopy standing in
    # water at the start (its flood came before the series), drained and harvested (bare, dry
    # soil), puddled at day 125, its summer-autumn canopy inside a 115-day cloud gap, then under
    # the river's flood for three months; no flood-growth cycle is ever seen whole.
    days = [10, 20, 30, 45, 60, 75, 90, 100, 125, 135, 250, 260, 270, 285, 300, 315, 330, 345, 355]
    flood_nd, flood_ls = [-.1, -.12, -.08, -.1, -.15, -.1, -.12, -.08], [.2, .2, .22, .18, .2, .2, .25, .25]
    series = {
        "paddy": ([.75, .8, .82, .78, .5, .27, .25, .26, -.1, .3] + flood_nd + [.15],
                  [.35, .35, .35, .33, .1, -.05, -.06, -.04, .3, .35] + flood_ls + [.25]),
        # lotus: open water, mud, leaves rising from the water to a canopy in water, senescence,
        # open water again: dry bare soil only before its canopy, never after it
        "lotus": ([-.1, -.1, -.12, -.1, .25, .26, .3, .45, .75, .8, .3] + flood_nd,
                  [.2, .2, .2, .2, -.03, -.04, .25, .3, .35, .35, .25] + flood_ls),
        # a fish pond drained once: dry bare mud, never a canopy
        "pond": ([-.1, -.12, -.1, -.1, .2, .25, .27, -.1, -.12, -.1, -.1] + flood_nd,
                 [.2, .2, .2, .2, -.02, -.05, -.05, .2, .22, .2, .2] + flood_ls),
        # the paddy's dates, but after the canopy the dark senescent stems of a lotus pond over its
        # mud (NDVI 0.08-0.12, below harvest_ndvi_min 0.15) instead of stubble
        "senescent": ([.75, .8, .82, .78, .5, .1, .08, .12, -.1, .3] + flood_nd + [.15],
                      [.35, .35, .35, .33, .1, -.02, -.03, -.01, .3, .35] + flood_ls + [.25]),
    }
    ds = _points(days, [v[0] for v in series.values()], [v[1] for v in series.values()])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    # an undated season; the best evidence is the canopy standing in water when the series starts (a
    # season hidden in a gap whose bare date the series' start hides: its smallest margin is LSWI 0.35
    # against gap_season_lswi 0.30, (0.35 - 0.30) / 0.05 = 1.0; without it the wet canopy seen with no
    # flood before it, (0.35 - 0.32) / 0.05 = 0.6), since the water mask leaves more room: open water on
    # 9 of 19 clear dates against the 0.75 of a pixel with a cycle, (0.75 - 9/19) / 0.05 = 5.5
    assert out.n_seasons.values.tolist() == [1, 0, 0, 0] and out.transplant_doy.values[:, 0].tolist() == [0, 0, 0]
    assert abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-(0.35 - 0.30) / 0.05))) < 1e-3
    closed = optical_rice_rule(ds, OpticalRiceParams(gap_season_open_start=False))
    assert abs(float(closed.rice_score.values[0]) - 1 / (1 + np.exp(-(0.35 - 0.32) / 0.05))) < 1e-3
    # with the former water limit of half the dates the water mask's margin was the smallest
    half = optical_rice_rule(ds, OpticalRiceParams(cycle_water_fraction=0.5))
    assert abs(float(half.rice_score.values[0]) - 1 / (1 + np.exp(-(0.5 - 9 / 19) / 0.05))) < 1e-3
    assert [int(q) & QA_WATER for q in out.qa_flags.values] == [0, QA_WATER, QA_WATER, QA_WATER]
    # without the term the paddy is a water body (9 of 19 dates >= 0.22) and its 95-day flooded
    # spell exceeds max_flood_days; the others are unchanged
    off = optical_rice_rule(ds, OpticalRiceParams(harvest_lswi_max=None))
    assert off.rice_class.values.tolist() == [0, 0, 0, 0] and int(off.qa_flags.values[0]) & QA_WATER
    assert off.rice_score.values[1:].tolist() == out.rice_score.values[1:].tolist()
    # a moist bare date (LSWI 0.02 above the bound) is no harvest
    moist = optical_rice_rule(ds, OpticalRiceParams(harvest_lswi_max=-0.08))
    assert moist.rice_class.values.tolist() == [0, 0, 0, 0]
    # without the NDVI floor the senescent stems pass as stubble
    dark = optical_rice_rule(ds, OpticalRiceParams(harvest_ndvi_min=0.0))
    assert dark.rice_class.values.tolist() == [1, 0, 0, 1]
    # a floor at or above ndvi_low leaves no harvest date
    high = optical_rice_rule(ds, OpticalRiceParams(harvest_ndvi_min=0.3))
    assert high.rice_class.values.tolist() == [0, 0, 0, 0]


def test_a_harvest_inside_a_confirmed_cycle_is_no_evergreen_shrub():
    # Two confirmed paddy cycles (onsets at days 0 and 200). The first is drained and harvested
    # at day 85, inside its own cycle's dates; the dates outside both cycles (95, 320, 350) are
    # moist (LSWI >= 0.10) and span 255 days, which alone reads as an evergreen shrub.
    days = [0, 10, 20, 30, 45, 60, 75, 85, 95, 200, 215, 230, 260, 290, 320, 350]
    nd = [.1, .15, .3, .55, .8, .8, .55, .25, .3, .35, .6, .75, .7, .4, .45, .6]
    harvested = [.3, .3, .3, .3, .35, .33, .1, -.05, .15, .3, .35, .35, .3, .2, .2, .3]
    moist = harvested[:7] + [.12] + harvested[8:]  # the bare date on moist soil: no harvest seen
    ds = _points(days, [nd, nd], [harvested, moist])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0]
    assert out.transplant_doy.values[:2, 0].tolist() == [1, 201]
    assert int(out.qa_flags.values[1]) & QA_FOREST_BUILT and not int(out.qa_flags.values[0]) & QA_FOREST_BUILT
    off = optical_rice_rule(ds, OpticalRiceParams(harvest_lswi_max=None))
    assert off.rice_class.values.tolist() == [0, 0] and int(off.qa_flags.values[0]) & QA_FOREST_BUILT


def test_floodplain_paddy_with_its_flood_on_most_clear_dates_is_not_a_water_body():
    # A sparse floodplain series: one season seen (flooded young crop, then its canopy standing in
    # water) and then only the river's flood on the clear dates of the dry season's start.
    days = [5, 15, 35, 60, 150, 300, 310, 320, 330, 340, 350, 360]
    flood_nd, flood_ls = [-.05] * 8, [.2] * 8
    paddy_nd, paddy_ls = [.25, .35, .7, .82] + flood_nd, [.3, .32, .35, .33] + flood_ls
    # a lake: open water on every clear date
    out = optical_rice_rule(_points(days, [paddy_nd, [-.1] * 12], [paddy_ls, [.2] * 12]))
    # water on 7 of the 12 clear dates outside the confirmed cycle (58 %; the cycle's window takes
    # the first date after the gap, day 150): cropland
    assert out.rice_class.values.tolist() == [1, 0]
    assert out.n_seasons.values[0] == 1 and out.transplant_doy.values[0, 0] == 6
    assert not out.qa_flags.values[0] & QA_WATER and out.qa_flags.values[1] & QA_WATER
    # with water on more of the dates (17 of 22, 77 %) the same pixel is masked as water
    more = list(range(370, 470, 10))
    wet = optical_rice_rule(_points(days + more, [paddy_nd + [-.05] * 10], [paddy_ls + [.2] * 10]))
    assert wet.rice_class.values[0] == 0 and wet.qa_flags.values[0] & QA_WATER
    # with the former limit (half the dates) the paddy of 58 % was masked as water
    half = optical_rice_rule(_points(days, [paddy_nd], [paddy_ls]), OpticalRiceParams(cycle_water_fraction=0.5))
    assert half.rice_class.values[0] == 0 and half.qa_flags.values[0] & QA_WATER



def test_a_flooded_field_on_a_sparse_series_is_rice_and_ponds_wetlands_and_dense_series_keep_their_verdict():
    # Ten clear dates of a cloudy delta year (a 265-day gap), as on the Mekong scene thinned to a
    # dozen dates: January, then the river's flood season.
    days = [13, 18, 38, 303, 308, 318, 333, 338, 343, 353]
    flood_nd, flood_ls = [-.04, -.01, -.04, -.05, -.06, -.29, -.12], [.14, .18, .19, .2, .17, .42, .35]
    series = {
        # a floodplain paddy: its winter-spring canopy standing in water, then open water on the
        # other seven dates (the river's flood, then the next season's puddling in December)
        "paddy": ([.71, .65, .77] + flood_nd, [.3, .29, .3] + flood_ls),
        # a lotus pond: open water on nine dates, its leaves a canopy standing in water on one
        "lotus": ([-.18, -.2, -.22, .66] + flood_nd[1:], [.29, .3, .23, .35] + flood_ls[1:]),
        # seasonal wetland: its grass green over moist ground (LSWI 0.19-0.21), flooded in autumn
        "wetland": ([.58, .64, .63, .08, .06, .05, .07, .09, .04, .06], [.2, .19, .21] + flood_ls),
        # water hyacinth on a canal: green and moist on every date, never open water
        "hyacinth": ([.36, .34, .45, .68, .58, .31, .45, .29, .3, .35], [.34, .32, .34, .4, .34, .36, .32, .3, .33, .35]),
    }
    ds = _points(days, [v[0] for v in series.values()], [v[1] for v in series.values()])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    # one undated season (the canopy 25 days after the flooded date of day 353, one year on); its
    # smallest margin is the water mask's: open water on 7 of 10 clear dates against the limit of
    # a field, cycle_water_fraction 0.75: (0.75 - 0.7) / 0.05 = 1.0
    assert out.n_seasons.values.tolist() == [1, 0, 0, 0] and out.transplant_doy.values[0, 0] == 0
    assert abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-1.0))) < 1e-3
    # the pond is water on 9 of 10 dates; the wetland, no field (its canopy is not wet enough), on
    # 7 of 10 against the 0.22 of a pixel without a cycle; the hyacinth an evergreen shrub (it
    # never shows open water, so it is no field)
    assert [int(q) & (QA_WATER | QA_FOREST_BUILT) for q in out.qa_flags.values] == [0, QA_WATER, QA_WATER,
                                                                                    QA_FOREST_BUILT]
    # without the term the paddy is a water body (7 of 10 dates >= 0.22) and no canopy follows a
    # flooded date in the series; the wetland and the hyacinth are unchanged
    off = optical_rice_rule(ds, OpticalRiceParams(sparse_max_dates=None))
    assert off.rice_class.values.tolist() == [0, 0, 0, 0] and int(off.qa_flags.values[0]) & QA_WATER
    assert off.rice_score.values[2:].tolist() == out.rice_score.values[2:].tolist()
    # the wetland's grass passes as a canopy in water with the bar of a confirmed cycle (0.20)
    assert optical_rice_rule(ds, OpticalRiceParams(sparse_canopy_lswi=0.2)).rice_class.values.tolist() == [1, 0, 1, 0]
    # the canopy counts only within the cycle span after the last flood (here 25-50 days); measured
    # without the canopy standing when the series starts, which reaches its bar (0.30) exactly here
    assert optical_rice_rule(ds, OpticalRiceParams(peak_window_days=20.0,
                                                   gap_season_open_start=False)).rice_class.values[0] == 0
    # a dense series keeps the rule's verdict bit for bit: the paddy's flood season seen on 16
    # clear dates is beyond sparse_max_dates (15), so nothing of the term applies
    dense = _points(days + [305, 313, 323, 328, 348, 358], [series["paddy"][0] + [-.05] * 6],
                    [series["paddy"][1] + [.2] * 6])
    on, no = optical_rice_rule(dense), optical_rice_rule(dense, OpticalRiceParams(sparse_max_dates=None))
    assert on.rice_class.values.tolist() == no.rice_class.values.tolist() == [0]
    assert on.rice_score.values.tolist() == no.rice_score.values.tolist()
    # ... as does a sparse series without a gap that can hide a crop (its dates within 90 days)
    short = _points([d - 250 if d > 290 else d for d in days], [series["paddy"][0]], [series["paddy"][1]])
    assert optical_rice_rule(short).rice_score.values.tolist() == optical_rice_rule(
        short, OpticalRiceParams(sparse_max_dates=None)).rice_score.values.tolist()


@pytest.mark.parametrize("drop", [[(41, 139), (171, 299)], [(21, 119), (151, 279)]])
def test_on_the_thinned_floodplain_scene_the_rule_beats_the_one_line_baseline(drop):
    # The Mekong scene thinned to a cloudy delta's dozen clear dates a year (gaps of 100-130 days
    # and more): without the sparse-series field evidence the rule lost to "min NDVI <= 0.3 and
    # max NDVI >= 0.6" (64 px, seed 0: 0.844 and 0.733 against 0.893 and 0.766; with it 0.936 and 0.871).
    sc = make_scene("mekong_triple_sar", size=64, seed=0)
    s2, rice = drop_s2_days(sc.s2.compute(), drop), sc.truth.rice.values

    def oa(rice_class: np.ndarray) -> float:
        return float(((rice_class == 1) == (rice == 1)).mean())

    base = oa(optical_baseline(s2).values)
    rule = oa(optical_rice_rule(s2).rice_class.values)
    # (without the harvest and re-puddling's shrub exemption, which takes some of the same paddies, nor the rise
    # before a canopy after the gap, which refuses ponds the rule maps either way)
    old = oa(optical_rice_rule(s2, OpticalRiceParams(sparse_max_dates=None, shrub_repuddle_drop=None,
                                                     gap_canopy_rise=None)).rice_class.values)
    assert old < base < rule
    # and the full series keeps its verdict bit for bit
    full = sc.s2.compute()
    np.testing.assert_array_equal(optical_rice_rule(full).rice_score.values,
                                  optical_rice_rule(full, OpticalRiceParams(sparse_max_dates=None)).rice_score.values)


def test_a_field_flooded_from_bund_to_bund_then_stubble_is_rice():
    # A wet-season paddy on a series whose clouds hide its canopy: dry-season fallow, open water at
    # puddling (day 138), a young crop in water whose NDVI is too high for the flood signal (163),
    # a 110-day gap, then the ripening crop and its stubble on dry soil (283, 293). No flood-growth
    # cycle, no canopy >= 0.6 and no flooded date just before the gap: no other term sees it.
    days = [23, 28, 43, 58, 68, 78, 88, 98, 108, 118, 138, 143, 163, 273, 283, 293]
    dry_nd = [.27, .26, .28, .29, .27, .26, .2, .3, .26, .24]
    dry_ls = [-.06, -.09, -.08, -.11, -.04, -.06, -.02, -.07, -.05, -.01]
    paddy_nd, paddy_ls = dry_nd + [-.05, .05, .38, .45, .27, .25], dry_ls + [.25, .2, .15, .02, -.06, -.05]
    # The same fallow under rain: puddles in the hollows let soil show (NDVI 0.06 > 0), no open water.
    puddle_nd = dry_nd + [.06, .12, .38, .45, .27, .25]
    # A fish pond drained for its harvest (dry bottom, NDVI 0.22-0.25) and refilled at the series' end.
    pond_nd, pond_ls = dry_nd + [-.05, -.06, -.04, .22, .25, -.05], dry_ls + [.25, .26, .25, -.04, -.05, .25]
    ds = _points(days, [paddy_nd, puddle_nd, pond_nd], [paddy_ls, paddy_ls, pond_ls])
    out = optical_rice_rule(ds, OpticalRiceParams(seedbed_ndvi_max=None))
    assert out.rice_class.values.tolist() == [1, 0, 0]
    # The flooded seedbed (next test) takes point 1's water, still there five days on (LSWI 0.20), then
    # greening and a gap, for seedlings standing in water.
    assert optical_rice_rule(ds).rice_class.values.tolist() == [1, 1, 0]
    # undated; the best stubble date is day 293: min(NDVI 0.25 - 0.15, 0.3 - 0.25, 0 - LSWI -0.05) / 0.05
    # = 1.0, the open water at day 138 min(0 - -0.05, 0.25 - -0.05) / 0.05 = 1.0, the interval
    # 155 - 90 days far above its scale: the score is logistic(1.0)
    assert out.n_seasons.values.tolist() == [1, 0, 0] and not out.transplant_doy.values.any()
    assert abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-1.0))) < 1e-3
    off = optical_rice_rule(ds, OpticalRiceParams(flood_stubble_days=None))
    assert off.rice_class.values.tolist() == [0, 0, 0]
    # stubble 145 and 155 days after the open water: too soon for a (hypothetical) 160-day bar
    assert optical_rice_rule(ds, OpticalRiceParams(flood_stubble_days=160.0)).rice_class.values.tolist() == [0, 0, 0]
    # the stubble is needed: a moist bare field after the gap (LSWI 0.02) is no harvest
    moist = optical_rice_rule(ds, OpticalRiceParams(harvest_lswi_max=-0.1)).rice_class.values.tolist()
    assert moist == [0, 0, 0]
    # the pond's dry bottom would count without its refill: cut the series before it
    cut = optical_rice_rule(ds.isel(time=slice(0, -1), point=[2])).rice_class.values.tolist()
    assert cut == [1]
    with pytest.raises(Exception, match="flood_stubble_days"):
        OpticalRiceParams(flood_stubble_days=0.0)


def test_a_flooded_seedbed_then_stubble_is_rice():
    # The hand-made table's clear dates (gaps of 115 and 130 days). A single-season paddy transplanted
    # near day 25: bare tilled soil, seedlings in water (NDVI 0.10-0.12, LSWI 0.28-0.30), the young crop
    # (NDVI 0.30, 0.45: no canopy >= 0.5), its canopy and harvest inside the gap, stubble after it.
    days = [6, 21, 36, 51, 66, 181, 196, 211, 226, 356, 365]
    after_nd, after_ls = [.25, .27, .26, .27, .25, .26], [-.05, -.08, -.07, -.06, -.05, -.07]
    paddy_nd, paddy_ls = [.25, .12, .10, .30, .45] + after_nd, [-.05, .28, .30, .12, .18] + after_ls
    # Fallow after rain: a puddle on day 21 (NDVI 0.10, LSWI 0.25), dry soil again at the next date.
    puddle_nd, puddle_ls = [.25, .10, .24, .26, .25] + after_nd, [-.05, .25, -.06, -.05, -.04] + after_ls
    # A fish pond under water for months (NDVI 0.05, LSWI 0.30) and drained at the series' end.
    pond_nd = [.25, .05, .05, .05, .05, .05, .05, .05, .05, .22, .24]
    pond_ls = [-.05, .3, .3, .3, .3, .3, .3, .3, .3, -.04, -.05]
    # A village after rain: dark and moist, LSWI only 0.02 above NDVI (no standing water).
    built_nd, built_ls = [.25, .14, .15, .28, .3] + after_nd, [-.05, .16, .15, -.02, -.03] + after_ls
    ds = _points(days, [paddy_nd, puddle_nd, pond_nd, built_nd],
                 [paddy_ls, puddle_ls, pond_ls, built_ls])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    assert out.n_seasons.values.tolist() == [1, 0, 0, 0] and not out.transplant_doy.values.any()
    # Margins (scale: 10 + half the median clear interval, 15 d = 17.5 d): the seedbed on day 21 min((0.2 -
    # 0.12, 0.28 - 0.12 - 0.05) / 0.05, bare soil on day 6 3.0, (40 - 15) / 17.5) = 1.43; the stubble on
    # day 196 min(0.27 - 0.15, 0.35 - 0.27, 0 + 0.08) / 0.05 = 1.6 (seedbed_stubble_ndvi_max 0.35; the gap and
    # the episode are gates), so the seedbed's margin decides. With the stubble bar at 0.30 day 181's 1.0 did.
    assert abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-1.0 / 0.7))) < 1e-3
    old = optical_rice_rule(ds, OpticalRiceParams(seedbed_stubble_ndvi_max=0.30))
    assert abs(float(old.rice_score.values[0]) - 1 / (1 + np.exp(-1.0))) < 1e-3
    # (the young crop before the gap, which this paddy also shows, switched off too)
    off = optical_rice_rule(ds, OpticalRiceParams(seedbed_ndvi_max=None, hidden_young_rise=None))
    assert off.rice_class.values.tolist() == [0, 0, 0, 0]
    # each condition is needed: the 115-day gap (could it hide a canopy?), the episode's length (21 to
    # 36: 15 days), the bare soil 15 days before the flood, the LSWI margin (0.11 on day 21)
    for kw in ({"hidden_crop_days": 120.0}, {"seedbed_max_days": 10.0}, {"hidden_flood_link_days": 10.0},
               {"seedbed_lswi_margin": 0.25}, {"seedbed_ndvi_max": 0.09}, {"hidden_crop_days": None}):
        assert optical_rice_rule(ds, OpticalRiceParams(hidden_young_rise=None, **kw)).rice_class.values[0] == 0, kw
    # the puddle counts once it stays wet until the gap (it is then a seedbed)
    wet = optical_rice_rule(_points(days, [puddle_nd], [puddle_ls[:2] + [.25, .2, .2] + after_ls]))
    assert wet.rice_class.values.tolist() == [1]
    with pytest.raises(Exception, match="seedbed_max_days"):
        OpticalRiceParams(seedbed_max_days=0.0)


def test_a_flooded_seedbed_after_the_previous_crop_then_stubble_is_rice():
    # A double-cropped paddy whose calendar puts both floods in the cloud gaps: the first crop's canopy
    # standing in water (NDVI 0.7, LSWI 0.28), harvested and puddled again within two weeks (seedlings
    # in water on day 226), the second crop in the 130-day gap, its stubble on dry soil after it.
    days = [6, 21, 36, 51, 66, 181, 196, 211, 226, 356, 365]
    dry_nd, dry_ls = [.25, .27, .26, .24, .26], [-.08, -.1, -.07, -.1, -.09]
    paddy_nd, paddy_ls = dry_nd + [.71, .68, .73, .15, .27, .26], dry_ls + [.28, .25, .28, .32, -.15, -.1]
    # Seasonal wetland: its grass over moist ground (LSWI 0.15), flooded, dry grass after the gap.
    wet_nd, wet_ls = dry_nd + [.65, .66, .64, .04, .25, .26], dry_ls + [.15, .14, .16, .3, -.05, -.06]
    # Upland crop over drying soil (LSWI 0.1 under the canopy), rain on its stubble, bare soil after.
    upland_nd, upland_ls = dry_nd + [.71, .75, .7, .15, .22, .2], dry_ls + [.1, .08, .1, .22, -.12, -.1]
    ds = _points(days, [paddy_nd, wet_nd, upland_nd], [paddy_ls, wet_ls, upland_ls])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0]
    # Bare ground only (the seedbed as it was): the paddy is missed.
    off = optical_rice_rule(ds, OpticalRiceParams(seedbed_after_canopy=False))
    assert off.rice_class.values.tolist() == [0, 0, 0]
    # The canopy must stand in water, and the seedbed follow it within hidden_flood_link_days.
    for kw in ({"wet_canopy_lswi": 0.3}, {"hidden_flood_link_days": 10.0}):
        assert optical_rice_rule(ds, OpticalRiceParams(hidden_young_rise=None, **kw)).rice_class.values[0] == 0, kw


def test_the_flooded_seedbed_finds_wet_season_paddies_hidden_by_the_monsoon_gap():
    # wetland_confusion seed 8: a 130-day gap holds the transplanting and canopy of the wet-season
    # crop; the flooded seedbed adds only pixels (never removes one), nearly all of them paddies.
    sc = make_scene("wetland_confusion", size=96, seed=8)
    s2, rice = sc.s2.compute(), sc.truth.rice.values == 1
    before = optical_rice_rule(s2, OpticalRiceParams(seedbed_ndvi_max=None)).rice_class.values == 1
    after = optical_rice_rule(s2).rice_class.values == 1
    added = after & ~before
    assert not (before & ~after).any()
    assert (added & rice).sum() >= 20 and (added & ~rice).sum() * 5 <= (added & rice).sum()  # 31 and 2
    assert (after == rice).mean() > (before == rice).mean() + 0.002  # 0.9323 -> 0.9354


def test_a_season_hidden_in_a_gap():
    # Bare dry ground until day 50, a clear interval of 90 days (the flood and the young crop unseen),
    # a canopy spell over water (LSWI 0.31: below the undated wet canopy's 0.32), stubble on day 200.
    days = [0, 10, 20, 30, 40, 50, 140, 150, 160, 200, 210]
    nd = [.2] * 6 + [.8, .8, .75, .25, .25]
    paddy = [-.05] * 6 + [.31, .31, .30, -.03, -.04]
    upland = [-.05] * 6 + [.20, .22, .20, -.03, -.04]  # the same calendar, the canopy over dry soil
    # a crop still green on the date before the interval (NDVI 0.45): no bare field before the season
    green = [.2] * 5 + [.45] + nd[6:]
    ds = _points(days, [nd, nd, green], [paddy, upland, paddy])
    on = optical_rice_rule(ds)
    assert on.rice_class.values.tolist() == [1, 0, 0]
    # margin: the canopy's (0.31 - 0.30) / 0.05 = 0.2 is the smallest (interval (90 - 65) / 15 = 1.67,
    # season (170 - 150) / 15 = 1.33, bare date 3), so the score is logistic(0.2)
    assert float(on.rice_score.values[0]) == pytest.approx(1 / (1 + np.exp(-0.2)), abs=1e-3)
    assert optical_rice_rule(ds, OpticalRiceParams(gap_season_lswi=None)).rice_class.values.tolist() == [0, 0, 0]
    # a spell that is still green 170 days after the bare date is no rice season (lotus, a perennial crop)
    long_nd = [.2] * 6 + [.8, .8, .75, .8, .25]
    long = _points([0, 10, 20, 30, 40, 50, 140, 150, 160, 200, 230], [long_nd], [paddy])
    assert optical_rice_rule(long).rice_class.values.tolist() == [0]
    # an interval too short for the flood and the young crop to hide in
    short = _points([0, 10, 20, 30, 40, 100, 110, 120, 130, 170, 180], [nd], [paddy])
    assert optical_rice_rule(short).rice_class.values.tolist() == [0]
    # an interval longer than the season cannot hold one
    from agromap.errors import ConfigError

    with pytest.raises(ConfigError, match="gap_season_min_gap"):
        OpticalRiceParams(gap_season_max_gap=200.0)
    # and like the undated wet canopy it gives self-training no pseudo-labels unless asked
    from agromap.rice.self_train_rule import run_rule

    assert float(run_rule(ds, None, "optical", None, None, None, False).rice_score.values[0]) < 0.5
    assert float(run_rule(ds, None, "optical", None, None, None, True).rice_score.values[0]) > 0.5


def test_a_hazy_date_inside_the_canopy_does_not_end_a_season_hidden_in_a_gap():
    # Bare dry ground until day 50, a 90-day clear interval, the canopy on days 140 and 160 with a date of
    # missed haze between them (NDVI halved, LSWI lowered), stubble on day 200. The canopy date before the
    # haze is not yet the wettest (LSWI 0.27 < 0.30), the one after it is (0.31).
    days = [0, 10, 20, 30, 40, 50, 140, 150, 160, 200, 210]
    nd = [.2] * 6 + [.8, .4, .8, .25, .25]
    paddy = [-.05] * 6 + [.27, .17, .31, -.03, -.04]
    upland = [-.05] * 6 + [.20, .10, .22, -.03, -.04]  # the same calendar, the canopy over dry soil
    # a canopy that falls and comes back 45 days later: two crops, not one with a dip
    late = [0, 10, 20, 30, 40, 50, 140, 150, 185, 200, 210]
    ds = _points(days, [nd, nd], [paddy, upland])
    assert optical_rice_rule(ds).rice_class.values.tolist() == [1, 0]
    # before, the hazy date split the spell: neither half had the bare date, the interval and the wet canopy
    assert optical_rice_rule(ds, OpticalRiceParams(gap_season_dip_days=None)).rice_class.values.tolist() == [0, 0]
    assert optical_rice_rule(_points(late, [nd], [paddy])).rice_class.values.tolist() == [0]


def test_a_young_crop_seen_on_two_dates_after_the_gap_opens_the_season():
    # Bare dry ground until day 50, a 100-day interval, the young crop on wetted soil on days 150 and 165
    # (NDVI 0.25 and 0.42, LSWI 0.13 and 0.18), the canopy from day 180 (LSWI up to 0.33), stubble on day 210.
    days = [0, 10, 20, 30, 40, 50, 150, 165, 180, 195, 210]
    nd = [.25] * 6 + [.25, .42, .65, .78, .28]
    paddy = [-.05] * 6 + [.13, .18, .22, .33, -.05]
    upland = [-.05] * 6 + [-.10, 0.0, .22, .33, -.05]  # a young stand on dry soil
    ds = _points(days, [nd, nd], [paddy, upland])
    assert optical_rice_rule(ds).rice_class.values.tolist() == [1, 0]
    # with the young crop on one date only, the first young date stood for the bare date and refuted the season
    assert optical_rice_rule(ds, OpticalRiceParams(gap_season_young_run=False)).rice_class.values.tolist() == [0, 0]


def test_a_flood_after_the_gap_is_the_next_season_when_a_young_crop_rises_from_it():
    # Bare dry ground, flooded on days 40 and 55, a 100-day cloud gap, flooded again on day 155 (the next
    # season's puddling: the first crop's canopy and harvest fell in the gap), then a young crop on wet soil.
    days = [0, 20, 40, 55, 155, 170, 185, 200]
    before_nd, before_ls = [.25, .27, .10, .12], [-.05, -.06, .28, .30]
    series = {
        "paddy": ([.10, .22, .38, .30], [.30, .20, .14, .05]),  # young crop 30 days after the flood, LSWI 0.14
        "pond": ([.05, .08, .06, .30], [.30, .32, .30, .05]),  # still water after the gap
        "puddle": ([.10, .25, .38, .30], [.30, -.05, .14, .05]),  # dried out before the crop
    }
    ds = _points(days, [before_nd + v[0] for v in series.values()], [before_ls + v[1] for v in series.values()])
    assert optical_rice_rule(ds).rice_class.values.tolist() == [1, 0, 0]
    # before, the flooded date after the gap refuted the hidden crop
    assert optical_rice_rule(ds, OpticalRiceParams(hidden_reflood_days=None)).rice_class.values.tolist() == [0, 0, 0]


def test_a_young_crop_greening_out_of_its_flood_before_a_gap_is_a_hidden_crop():
    # Bare dry ground, flooded on days 40 and 55, a young crop on days 70 and 85, then a 130-day cloud gap
    # that hides the canopy (Xiao's growth test sees none), then a drained field after it (tilled for the
    # next crop, not stubble on dry soil, which the flood-then-stubble evidence would take).
    days = [0, 20, 40, 55, 70, 85, 215, 230]
    series = {
        # the young crop 0.38 above the flood and 0.23 above the bare date, on soil not dry
        "paddy": ([.25, .27, .10, .12, .30, .50, .30, .32], [-.05, -.06, .28, .30, .08, .15, .02, .03]),
        # a flood-irrigated orchard: the same canopy before and after the water
        "orchard": ([.45, .46, .12, .25, .45, .50, .46, .45], [-.02, .00, .28, .30, .06, .08, .02, .00]),
        # a pond: water, then algae, and still wet after the gap
        "pond": ([.25, .27, .10, .12, .30, .45, .30, .28], [-.05, -.06, .30, .32, .30, .34, .32, .30]),
        # an upland crop after a rain puddle that dried out: the young stand on dry soil
        "upland": ([.25, .27, .10, .12, .30, .50, .28, .26], [-.05, -.06, .28, .30, -.05, -.02, -.05, -.06]),
    }
    ds = _points(days, [v[0] for v in series.values()], [v[1] for v in series.values()])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    assert out.transplant_doy.values[:, 0].tolist() == [0, 0, 0]  # undated
    # margin: the smallest is the young crop's rise over the bare date (0.23 - 0.15, 1.6 units of 0.05); its
    # LSWI over 0.05, its climb over the flood (0.38 - 0.30), the gap (130 - 90 days in units of 10 + half the
    # median 15-day interval), the bare date and the drained date after the gap are wider
    m = min((.15 - .05) / .05, (.50 - .10 - .30) / .05, (.50 - .27 - .15) / .05, (130 - 90) / 17.5,
            min(.50 - .27, .10 + .06) / .05, (.30 - .02 - .05) / .05)
    assert abs(m - 1.6) < 1e-6 and abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-m))) < 2e-3
    # without the term no clear date shows the canopy, and the paddy is missed
    assert optical_rice_rule(ds, OpticalRiceParams(hidden_young_rise=None)).rice_class.values.tolist() == [0, 0, 0, 0]


def test_an_onset_without_standing_water_needs_a_canopy_in_water_when_asked():
    days = list(range(0, 210, 10))
    # bare dry soil, the onset date, a young crop, a canopy, the harvest
    ndvi = [.2, .2, .2, .32, .35, .45, .6, .75, .8, .8, .7, .4, .25, .2, .2, .2, .2, .2, .2, .2, .2]
    dry, after = [-.05] * 3, [-.03] * 10
    # A young crop darkened by a cloud shadow the mask missed: EVI falls to a third while NDVI hardly
    # moves and LSWI rises, so LSWI + T >= EVI reads a flood, but LSWI stays far below NDVI.
    shadow = dry + [.12, .12, .16, .22, .25, .27, .27, .24] + after
    # A paddy flooded on bare soil (LSWI above NDVI), then the same canopy.
    flooded = dry + [.40, .40, .25, .22, .25, .27, .27, .24] + after
    # The shadowed onset again, with a canopy standing in water.
    wet_canopy = dry + [.12, .12, .30, .32, .34, .35, .35, .30] + after
    nd = np.asarray([ndvi, [.2, .2, .2, .05, .1] + ndvi[5:], ndvi], np.float32)
    ev = nd * np.float32(0.75)
    ev[[0, 2], 3] = np.float32(0.11)
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]")
    ds = xr.Dataset({"ndvi": (("time", "point"), nd.T), "evi": (("time", "point"), ev.T),
                     "lswi": (("time", "point"), np.asarray([shadow, flooded, wet_canopy], np.float32).T)},
                    coords={"time": time})
    # By default the young crop ten days after the shadowed onset (LSWI 0.12-0.16 under EVI 0.26) does not read the
    # flood again (``young_flood_t``); the term read here is asked for without it.
    assert optical_rice_rule(ds).rice_class.values.tolist() == [0, 1, 0]
    # So is the flood read under the missed shadow (``flood_shadow_ndvi``, EVI 0.11 below 0.4 x NDVI 0.32): in its
    # NDVI form the shadowed date is no flood, and neither young crop has an onset.
    assert optical_rice_rule(ds, OpticalRiceParams(young_flood_t=None)).rice_class.values.tolist() == [0, 1, 0]
    plain = OpticalRiceParams(young_flood_t=None, flood_shadow_ndvi=False)
    # Off by default: the shadowed onset and its canopy over moist soil (LSWI 0.27) pass as a paddy.
    assert optical_rice_rule(ds, plain).rice_class.values.tolist() == [1, 1, 1]
    out = optical_rice_rule(ds, dataclasses.replace(plain, weak_flood_canopy_lswi=0.30))
    assert out.rice_class.values.tolist() == [0, 1, 1]
    assert out.transplant_doy.values[0, 1:].tolist() == [31, 31]
    # the canopy's wettest date decides: a bar below 0.27 keeps the shadowed cycle
    low_bar = dataclasses.replace(plain, weak_flood_canopy_lswi=0.25)
    assert optical_rice_rule(ds, low_bar).rice_class.values.tolist() == [1, 1, 1]


def test_a_shadowed_canopy_date_does_not_show_the_water_under_a_dated_cycles_canopy():
    """A cloud shadow the mask missed reads a canopy a few hundredths wetter (LSWI 0.27 over moist soil at 0.18)
    while its EVI falls to a third of NDVI: it does not confirm the canopy in water (``wet_canopy_evi_ratio``)."""
    days = list(range(0, 210, 10))
    # bare dry soil, a flood on bare soil (LSWI above NDVI), a young crop, a canopy, the harvest
    ndvi = [.2, .2, .2, .05, .1, .3, .55, .7, .75, .75, .7, .4, .25, .2, .2, .2, .2, .2, .2, .2, .2]
    dry, flood, after = [-.05] * 3, [.40, .40], [-.03] * 10
    moist = dry + flood + [.10, .15, .17, .18, .18, .17] + after  # regrown grass or an upland crop
    wet = dry + flood + [.10, .24, .30, .34, .33, .30] + after  # a paddy's canopy in water
    nd = np.asarray([ndvi] * 3, np.float32)
    ev = nd * np.float32(0.75)
    ls = np.asarray([moist, wet, moist], np.float32)
    # the shadowed canopy date on day 80 (points 0 and 1): EVI 0.3 x NDVI, LSWI 0.27
    ev[:2, 8] = np.float32(0.3) * nd[:2, 8]
    ls[:2, 8] = np.float32(0.27)
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]")
    ds = xr.Dataset({"ndvi": (("time", "point"), nd.T), "evi": (("time", "point"), ev.T),
                     "lswi": (("time", "point"), ls.T)}, coords={"time": time})
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [0, 1, 0]
    assert out.transplant_doy.values[0].tolist() == [0, 31, 0]
    # without the share of wet canopy dates, the shadowed date is still not read ...
    assert optical_rice_rule(ds, OpticalRiceParams(cycle_wet_share=None)).rice_class.values.tolist() == [0, 1, 0]
    # ... and read on every canopy date (the former rule), it alone confirms the moist canopy's cycle
    every = optical_rice_rule(ds, OpticalRiceParams(wet_canopy_evi_ratio=None, cycle_wet_share=None))
    assert every.rice_class.values.tolist() == [1, 1, 0]


def test_a_dated_cycle_needs_most_of_its_canopy_dates_in_water():
    """A paddy's canopy stands in water on every date from transplanting to heading; a wetland's grass regrown
    after the flood (or an upland crop over moist soil) is wet on one canopy date of five (``cycle_wet_share``)."""
    days = list(range(0, 210, 10))
    # bare dry soil, a flood on bare soil (LSWI above NDVI), a young crop, five canopy dates, the end
    ndvi = [.2, .2, .2, .05, .1, .3, .55, .7, .75, .75, .7, .4, .25, .2, .2, .2, .2, .2, .2, .2, .2]
    dry, flood, after = [-.05] * 3, [.40, .40], [-.03] * 10
    grass = dry + flood + [.10, .22, .17, .16, .18, .17] + after  # one wet canopy date of five
    two = dry + flood + [.10, .22, .17, .21, .18, .24] + after  # three of five
    paddy = dry + flood + [.10, .30, .33, .34, .33, .30] + after
    nd = np.asarray([ndvi] * 3, np.float32)
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]")
    ds = xr.Dataset({"ndvi": (("time", "point"), nd.T), "evi": (("time", "point"), (nd * np.float32(0.75)).T),
                     "lswi": (("time", "point"), np.asarray([grass, two, paddy], np.float32).T)},
                    coords={"time": time})
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [0, 1, 1]
    assert out.transplant_doy.values[0].tolist() == [0, 31, 31]
    # the former rule: one wet canopy date confirms the cycle
    assert optical_rice_rule(ds, OpticalRiceParams(cycle_wet_share=None)).rice_class.values.tolist() == [1, 1, 1]


def test_a_season_hidden_by_a_late_calendar_seen_by_its_flood_and_what_follows():
    """A crop calendar that puts a season's canopy inside the long cloud gap (the point tables shifted 90-210
    days): its flooded seedbed before the gap and the regrown stubble after it, or the previous crop's canopy
    in water right before its flood (double cropping), are the season's evidence."""
    days = [6, 21, 36, 51, 66, 81, 181, 196, 211, 226, 365]
    bare_nd, bare_ls = [.31, .30, .25, .29, .28, .24], [-.06, -.07, -.06, -.04, -.06, -.07]
    series = {
        # bare, dry; seedlings in water on the last date before the gap; regrown stubble (NDVI 0.33) on dry soil
        "seedbed, regrown stubble": (bare_nd + [.29, .27, .32, .05, .33], bare_ls + [.04, -.13, -.05, .34, -.03]),
        # the same field still wet after the gap: no stubble, no verdict
        "seedbed, wet after": (bare_nd + [.29, .27, .32, .05, .33], bare_ls + [.04, -.13, -.05, .34, .05]),
        # a canopy standing in water, the field flooded again two weeks later, drained after the gap
        "canopy, reflooded": (bare_nd + [.72, .75, .16, .13, .27], bare_ls + [.29, .28, .22, .21, .02]),
        # a wetland's grass (LSWI 0.18) flooded for months: no crop's canopy before the water
        "grass, flooded": (bare_nd + [.68, .70, .12, .10, .27], bare_ls + [.17, .18, .25, .28, .02]),
    }
    ds = _points(days, [v[0] for v in series.values()], [v[1] for v in series.values()])
    assert optical_rice_rule(ds).rice_class.values.tolist() == [1, 0, 1, 0]
    # before: the seedbed's stubble ended at ndvi_low (0.30) and the hidden crop needed bare ground before the flood
    old = OpticalRiceParams(seedbed_stubble_ndvi_max=0.30, hidden_canopy_lswi=None)
    assert optical_rice_rule(ds, old).rice_class.values.tolist() == [0, 0, 0, 0]


def test_a_harvest_and_the_next_puddling_within_weeks_is_no_evergreen_shrub():
    # A triple-cropped paddy (the point table shifted by 240 days): a canopy in water on the first date, seedlings
    # in water two weeks later (the confirmed cycle), and canopy or water on every other date: moist throughout.
    days = [6, 21, 36, 51, 66, 81, 181, 196, 211, 226, 365]
    paddy_nd = [.80, .19, .20, .55, .82, .83, .52, .69, .78, .85, .79]
    paddy_ls = [.30, .35, .34, .17, .31, .32, .21, .25, .33, .35, .29]
    # The same dates with a cover that falls only from 0.62 (floating mats thinning): no harvest.
    mats_nd = [.62] + paddy_nd[1:]
    ds = _points(days, [paddy_nd, mats_nd], [paddy_ls, paddy_ls])
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0]
    assert out.qa_flags.values[1] & QA_FOREST_BUILT and not out.qa_flags.values[0] & QA_FOREST_BUILT
    old = optical_rice_rule(ds, OpticalRiceParams(shrub_repuddle_drop=None))
    assert old.rice_class.values.tolist() == [0, 0] and old.qa_flags.values[0] & QA_FOREST_BUILT


def test_the_undated_evidence_needs_most_canopy_dates_in_water():
    # wetland_confusion, whole year shifted 180 days: flooded grass dips under its flood to the flood signal
    # and greens back over moist soil (canopy LSWI 0.17 at the median), which the oldest undated evidence took
    # for a paddy on its one wettest canopy date; a paddy's canopy stands in water on most of its dates.
    sc = make_scene("wetland_confusion", size=64, seed=2, calendar_shift=180)
    s2, truth = sc.s2.compute(), sc.truth.compute()
    cover, rice = truth.cover.values, truth.rice.values == 1
    grass = np.isin(cover, [c for c, n in sc.cover_names.items() if n in ("flooded_grassland", "seasonal_wetland")])
    on = optical_rice_rule(s2).rice_class.values == 1
    off = optical_rice_rule(s2, OpticalRiceParams(undated_wet_share=None)).rice_class.values == 1
    assert on[grass].mean() < 0.5 * off[grass].mean()
    assert on[rice].mean() >= off[rice].mean() - 0.002

def test_a_dated_cycle_needs_its_young_crop_in_water():
    """Between the flood and the canopy a paddy's young crop stands in water, so a date there still reads Xiao's
    flood signal; an upland crop sown into soil a rain wetted grows over soil that has drained (``young_flood_t``,
    0.05 by default)."""
    days = list(range(0, 210, 10))
    # bare dry soil, the onset (day 30), two young-crop dates, five canopy dates, the harvest, dry soil
    ndvi = [.2, .2, .2, .2, .3, .42, .6, .72, .78, .78, .7, .4, .25, .2, .2, .2, .2, .2, .2, .2, .2]
    dry, after = [-.05] * 3, [-.03] * 10
    canopy = [.24, .25, .26, .26, .24]  # a canopy over moist soil: wet enough for `wet_canopy_lswi`
    upland = dry + [.10, .05, .12] + canopy + after  # rain-wetted soil (EVI form only), then drained soil
    paddy = dry + [.40, .30, .28] + canopy + after  # the flood, then the young crop standing in it
    young = dry + [.10, .28, .12] + canopy + after  # the flood seen through the young crop on day 40
    nd = np.asarray([ndvi] * 3, np.float32)
    ev = nd * np.float32(0.7)
    ev[:, 3] = np.float32(0.12)  # wet soil after rain: low EVI, LSWI + 0.05 >= EVI
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]")
    ds = xr.Dataset({"ndvi": (("time", "point"), nd.T), "evi": (("time", "point"), ev.T),
                     "lswi": (("time", "point"), np.asarray([upland, paddy, young], np.float32).T)},
                    coords={"time": time})
    asked = OpticalRiceParams(young_flood_t=0.05)
    out = optical_rice_rule(ds, asked)
    assert out.rice_class.values.tolist() == [0, 1, 1]
    assert out.transplant_doy.values[0].tolist() == [0, 31, 31]
    assert optical_rice_rule(ds).rice_class.values.tolist() == [0, 1, 1]  # the default
    # without the term the upland crop's cycle is confirmed
    assert optical_rice_rule(ds, OpticalRiceParams(young_flood_t=None)).rice_class.values.tolist() == [1, 1, 1]
    # the onset on the series' first clear date (a series that starts inside a season) is not asked
    late = optical_rice_rule(ds.isel(time=slice(3, None)), asked)
    assert late.rice_class.values.tolist() == [1, 1, 1]


def test_a_direct_seeded_paddys_second_flood_confirms_its_cycle():
    """A direct-seeded paddy is sown on saturated soil after its levelling flood (day 30) and flooded again once
    its seedlings stand (day 45): its first ten days fail the flood seen again, and the young leaves standing in
    water again within ``young_reflood_days`` (30) confirm its dated cycle. An upland crop's young canopy on
    drained soil, and water let back onto the cover that was there before (NDVI not risen), stay refused."""
    from pixel_stacks import optical_points

    dry = " ".join(f"{d}:0.22/-0.05/0.15" for d in range(0, 30, 5))
    sown = "30:-0.05/0.28/-0.02 35:0.15/0.02/0.08 40:0.20/0.01/0.10"
    canopy = " ".join(f"{d}:{n}/0.29/{round(0.65 * n, 3)}" for d, n in zip(range(50, 95, 5),
                                                                              (.55, .65, .72, .78, .8, .8, .8, .78, .75)))
    after = "95:0.70/0.10/0.45 100:0.55/0.0/0.35 105:0.40/-0.02/0.25 " + " ".join(
        f"{d}:0.22/-0.05/0.15" for d in range(110, 205, 5))
    series = {"direct_seeded": f"{dry} {sown} 45:0.42/0.30/0.25 {canopy} {after}",
              "upland": f"{dry} {sown} 45:0.42/0.15/0.25 {canopy} {after}",
              "same_cover": f"{dry} {sown} 45:0.26/0.30/0.16 {canopy} {after}"}
    ds = optical_points(series, "2023-01-01")
    # The dated cycle (its transplanting date); the three also carry the undated evidence (a wet canopy after
    # a flooded bare date), which maps them whatever the dated reading says.
    def dated(p: OpticalRiceParams) -> list[int]:
        return optical_rice_rule(ds, p).transplant_doy.values[0].tolist()

    assert dated(OpticalRiceParams()) == [31, 0, 0]  # the default: young_reflood_days 30
    # without it the term reads the onset's first ten days only, where the sown soil fails the flood signal
    assert dated(OpticalRiceParams(young_reflood_days=None)) == [0, 0, 0]
    # without the flood seen again every cycle is confirmed: the reading only gives the term's vote back
    assert dated(OpticalRiceParams(young_flood_t=None)) == [31, 31, 31]
    # a window that ends before the second flood reads nothing more; a rise asked above the young leaves' neither
    assert dated(OpticalRiceParams(young_reflood_days=14.0)) == [0, 0, 0]
    assert dated(OpticalRiceParams(young_reflood_rise=0.25)) == [0, 0, 0]


def test_bare_dry_ground_is_no_evergreen_forest():
    # Thinned mekong_triple_sar seed 3 (96 px, days 41-139 and 171-299 removed), pixel (26, 80): a direct-seeded
    # paddy (sown on days 130, 241 and 355) seen in its winter-spring canopy in January and its autumn canopy in
    # November, then harvested: no flooded date, a canopy (NDVI >= 0.7) on 8 of its 11 clear dates.
    days = [2, 7, 12, 22, 27, 32, 37, 312, 322, 337, 342]
    paddy = ([.41, .72, .74, .79, .81, .82, .78, .83, .71, .36, .25], [.38, .53, .55, .58, .63, .65, .63, .65, .53, .24, .16],
             [.27, .35, .35, .34, .35, .34, .34, .34, .25, -.05, -.09])
    # An evergreen forest of the same scene, pixel (68, 1) on the paddy's dates: green and moist on every one.
    forest = ([.84, .86, .83, .81, .85, .84, .85, .84, .86, .82, .81], [.57, .60, .54, .53, .57, .54, .58, .55, .59, .21, .53],
              [.38, .35, .34, .36, .37, .33, .36, .34, .39, .40, .33])
    # The forest with a dark date under a cloud shadow the mask missed (NDVI 0.28): not green, but moist (LSWI 0.15,
    # above 0.10), so the forest fraction stays.
    shadow = tuple(v[:9] + [x] + v[10:] for v, x in zip(forest, (.28, .20, .15)))
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]") - np.timedelta64(1, "D")
    ds = xr.Dataset({k: (("time", "point"), np.asarray([s[i] for s in (paddy, forest, shadow)], np.float32).T)
                     for i, k in enumerate(("ndvi", "evi", "lswi"))}, coords={"time": time})
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [1, 0, 0]
    assert not out.qa_flags.values[0] & QA_FOREST_BUILT
    assert out.qa_flags.values[1] & QA_FOREST_BUILT and out.qa_flags.values[2] & QA_FOREST_BUILT
    # without the term the paddy's canopy dates make it an evergreen forest
    off = optical_rice_rule(ds, OpticalRiceParams(dry_not_evergreen=None))
    assert off.rice_class.values.tolist() == [0, 0, 0] and off.qa_flags.values[0] & QA_FOREST_BUILT
    # the harvest read as moist soil (LSWI 0.10 and more on the last two dates) is no dry ground
    moist = ds.copy(deep=True)
    moist["lswi"][-2:, 0] = [.10, .12]
    assert optical_rice_rule(moist.isel(point=[0]), OpticalRiceParams()).qa_flags.values[0] & QA_FOREST_BUILT
    # On a series that samples the year (16 clear dates here, over sparse_max_dates) the forest fraction reads as
    # Xiao set it, for every pixel: five more canopy dates in June make the paddy a forest again.
    extra = ds.isel(time=[6] * 5).assign_coords(time=ds.time.values[6] + np.arange(140, 190, 10).astype("timedelta64[D]"))
    dense = optical_rice_rule(xr.concat([ds, extra], "time").sortby("time").isel(point=[0]))
    assert dense.rice_class.values[0] == 0 and dense.qa_flags.values[0] & QA_FOREST_BUILT


def test_a_pond_then_a_ripening_crop_and_its_stubble_is_a_harvested_field():
    # Thinned mekong_triple_sar seed 0 (96 px, days 41-139 and 171-299 removed), pixel (33, 71): a rice-shrimp field
    # (rice transplanted on day 227): dry stubble in January, the brackish pond from day 31 to 166, the monsoon's gap,
    # the crop ripening on day 321 (NDVI 0.58, LSWI 0.27), then stubble on dry soil. Open water on 4 of 12 clear
    # dates is over the water mask's 22 % of a pixel without a harvest.
    days = [6, 11, 21, 31, 36, 151, 166, 321, 336, 351, 356, 361]
    field = ([.26, .28, .28, -.05, .03, .01, -.04, .58, .25, .27, .18, .26],
             [.16, .18, .18, -.02, .01, .0, -.02, .18, .07, .16, .06, .17],
             [-.04, -.08, -.02, .25, .35, .34, .21, .27, -.01, -.05, .07, -.05])
    # The same pond drained for its harvest instead (mud and bund grass on day 321: NDVI 0.24, LSWI -0.03), and the
    # field with its pond refilled after the ripening date (open water on day 336, before the stubble).
    drained = tuple(v[:7] + [x] + v[8:] for v, x in zip(field, (.24, .12, -.03)))
    refilled = tuple(v[:8] + [x] + v[9:] for v, x in zip(field, (-.08, -.02, .30)))
    time = np.datetime64("2023-01-01") + np.asarray(days).astype("timedelta64[D]") - np.timedelta64(1, "D")
    ds = xr.Dataset({k: (("time", "point"), np.asarray([s[i] for s in (field, drained, refilled)], np.float32).T)
                     for i, k in enumerate(("ndvi", "evi", "lswi"))}, coords={"time": time})
    out = optical_rice_rule(ds)  # on by default, 0.35
    assert out.rice_class.values.tolist() == [1, 0, 0]
    assert out.qa_flags.values[1] & QA_WATER and out.qa_flags.values[2] & QA_WATER
    # without the term the pond months mask the field as water
    off = optical_rice_rule(ds, OpticalRiceParams(pond_ripe_ndvi=None))
    assert off.rice_class.values.tolist() == [0, 0, 0] and off.qa_flags.values[0] & QA_WATER
    # a ripening crop paler than the bar (NDVI 0.58 against 0.60) is no crop
    assert optical_rice_rule(ds, OpticalRiceParams(pond_ripe_ndvi=0.60)).rice_class.values.tolist() == [0, 0, 0]


def test_a_canopy_after_the_gap_needs_the_crop_establishing_before_it():
    # Thinned mekong_triple_sar seed 0 (96 px, days 41-139 and 171-299 removed): pixel (38, 17), a pond under
    # water hyacinth, reads flooded on its first clear date through its mats (EVI 0.33 against LSWI 0.33, NDVI 0.56)
    # and a canopy (NDVI 0.75) on the first date after the 115-day gap, which the cycle's window is stretched over;
    # the month before the gap its mats drift between NDVI 0.28 and 0.60 with no rise. Pixel (10, 18), a lotus
    # pond, is open water from day 6 to 36, then its leaves on day 151. Pixel (49, 12), a paddy at a field edge,
    # greens from NDVI 0.36 to 0.74 over the same month before its canopy on day 151.
    days = [6, 11, 16, 21, 26, 31, 36, 151, 311, 336, 346, 351, 361]
    hyacinth = ([.56, .48, .44, .28, .60, .34, .53, .75, .66, .33, .44, .63, .60],
                [.33, .25, .28, .27, .34, .23, .29, .50, .41, .06, .24, .38, .34],
                [.33, .38, .35, .26, .35, .32, .36, .35, .38, .45, .38, .36, .37])
    lotus = ([-.14, -.22, -.14, -.22, -.31, -.12, -.16, .77, .19, .01, -.11, -.10, -.18],
             [-.05, -.08, -.07, -.07, -.04, -.07, -.06, .57, .09, .01, -.05, -.04, -.06],
             [.30, .32, .29, .35, .35, .24, .22, .38, .03, .10, .11, .20, .31])
    paddy = ([.36, .41, .41, .58, .62, .55, .74, .57, .24, .34, .32, .43, .53],
             [.16, .20, .23, .33, .36, .41, .52, .32, .05, .15, .17, .20, .29],
             [.30, .30, .30, .28, .29, .31, .35, .37, .30, .27, .30, .29, .32])
    time = np.datetime64("2019-01-01") + np.asarray(days).astype("timedelta64[D]") - np.timedelta64(1, "D")

    def table(*points: tuple[list[float], ...]) -> xr.Dataset:
        return xr.Dataset({k: (("time", "point"), np.asarray([s[i] for s in points], np.float32).T)
                           for i, k in enumerate(("ndvi", "evi", "lswi"))}, coords={"time": time})

    ds = table(hyacinth, lotus, paddy)
    # without the term both ponds are dated from their first clear date, as the paddy is
    off = optical_rice_rule(ds, OpticalRiceParams(gap_canopy_rise=None))
    assert off.rice_class.values.tolist() == [1, 1, 1] and off.transplant_doy.values[0].tolist() == [6, 6, 6]
    out = optical_rice_rule(ds)
    assert out.rice_class.values.tolist() == [0, 0, 1] and out.transplant_doy.values[0].tolist() == [0, 0, 6]
    # the hyacinth's greenest date before the gap (NDVI 0.60) is 0.04 above its onset's, 0.11 short of the rise; the
    # lotus pond's onset is open water (NDVI below 0.10), its highest date before the gap 0.02 above it
    assert float(out.rice_score.values[0]) < 0.5 < float(out.rice_score.values[2])
    # the paddy's canopy (NDVI 0.74 on day 36) stands before the gap: the term does not read it, whatever rise it asks
    high = optical_rice_rule(ds, OpticalRiceParams(gap_canopy_rise=0.60))
    assert high.rice_class.values.tolist() == [0, 0, 1] and high.rice_score.values[2] == out.rice_score.values[2]
    # a shorter view before the gap (the onset on day 16, its last date 20 days later) is the puddling flood: the
    # canopy after the gap confirms it as before
    assert optical_rice_rule(ds.isel(time=slice(2, None))).rice_class.values.tolist() == [1, 1, 1]
    # a paddy puddled on day 6 whose seedlings rise from NDVI 0.05 (open water) to 0.30 by day 36, its canopy in the
    # gap: the rise (0.25) passes, and the canopy after the gap dates its cycle; a rise of 0.30 asked refuses it
    young = ([.05, .08, .12, .16, .20, .25, .30, .78, .24, .34, .32, .43, .53],
             [.03, .05, .07, .10, .12, .15, .18, .55, .05, .15, .17, .20, .29],
             [.32, .30, .30, .31, .30, .31, .32, .36, .30, .27, .30, .29, .32])
    kept = optical_rice_rule(table(young))
    assert kept.rice_class.values.tolist() == [1] and kept.transplant_doy.values[0].tolist() == [6]
    assert optical_rice_rule(table(young), OpticalRiceParams(gap_canopy_rise=0.30)).transplant_doy.values[0].tolist() == [0]
    # the same field puddled with its soil showing through the water (NDVI 0.12, LSWI 0.32): a puddled field, which
    # the term does not read, whatever rise it asks
    muddy = ([.12] + young[0][1:], [.07] + young[1][1:], young[2])
    assert optical_rice_rule(table(muddy), OpticalRiceParams(gap_canopy_rise=0.60)).transplant_doy.values[0].tolist() == [6]


def _points_evi(days: list[int], ndvi: list[list[float]], evi: list[list[float]], lswi: list[list[float]]) -> xr.Dataset:
    """A (time, point) table of NDVI, EVI and LSWI (``days``: day of the year)."""
    time = np.datetime64("2023-01-01") + (np.asarray(days) - 1).astype("timedelta64[D]")
    return xr.Dataset({k: (("time", "point"), np.asarray(v, np.float32).T)
                       for k, v in (("ndvi", ndvi), ("evi", evi), ("lswi", lswi))}, coords={"time": time})


def test_shrub_flood_evi_takes_a_field_edge_paddy_not_an_orchard_or_a_hyacinth_mat():
    # Thinned series of mekong_triple_sar (seed 0, 96 px): a paddy at an orchard's edge (canopy of the dry-season
    # crop in January, its flood in November-December, moist on every date beside the trees), and a flood-irrigated
    # orchard whose EVI a missed shadow darkens twice (NDVI stays a canopy's).
    days = [6, 11, 16, 21, 26, 31, 36, 151, 166, 311, 321, 346, 351, 361]
    paddy = ([.53, .62, .58, .74, .77, .64, .77, .75, .64, .17, .15, .11, .30, .29],
             [.30, .39, .44, .50, .57, .51, .59, .50, .53, .03, .03, .05, .13, .13],
             [.28, .34, .32, .30, .33, .34, .33, .30, .32, .28, .27, .29, .20, .32])
    orchard = ([.69, .69, .55, .70, .70, .60, .67, .70, .40, .66, .65, .68, .57, .65],
               [.48, .47, .39, .51, .46, .44, .46, .47, .40, .19, .19, .48, .15, .44],
               [.27, .25, .28, .29, .25, .33, .27, .26, .25, .32, .32, .27, .42, .25])
    # the paddy's trough on one date only, between two green ones: a floating mat opened to water for a day
    dip = (paddy[0][:9] + [.55, .15, .60, .55, .60], paddy[1][:9] + [.35, .03, .40, .35, .40], paddy[2])
    ds = _points_evi(days, *[[a[i] for a in (paddy, orchard, dip)] for i in range(3)])
    on = OpticalRiceParams()
    assert on.shrub_flood_evi == 0.10  # on by default
    # without the reading the shrub test refuses the paddy; 14 clear dates and a 145-day gap: a sparse series
    assert optical_rice_rule(ds, OpticalRiceParams(shrub_flood_evi=None)).rice_class.values.tolist() == [0, 0, 0]
    assert optical_rice_rule(ds, on).rice_class.values.tolist() == [1, 0, 0]
    # read on sparse series only: with the bound at 13 clear dates the 14 are a dense series
    assert optical_rice_rule(ds, dataclasses.replace(on, sparse_max_dates=13)).rice_class.values.tolist() == [0, 0, 0]
    # the flooded date's EVI (0.03) must be at most the bar
    assert optical_rice_rule(ds, dataclasses.replace(on, shrub_flood_evi=0.02)).rice_class.values.tolist()[0] == 0
    # canopy (NDVI >= 0.6) on 9 of 14 dates: a share of 0.7 would refuse it
    assert optical_rice_rule(ds, dataclasses.replace(on, shrub_flood_canopy_share=0.7)).rice_class.values[0] == 0
    # A water hyacinth mat on the whole-year series (seed 2): a low spell in the dry season with one open-water date
    # (EVI 0.05), a floating canopy of NDVI 0.6-0.73 on 8 of its 26 clear dates (0.31): below the share. Its 26
    # dates with a 90-day gap are read as a sparse series only with the bound raised to 26.
    on = dataclasses.replace(on, sparse_max_dates=26)
    days = [18, 33, 43, 48, 53, 63, 68, 73, 78, 88, 103, 118, 123, 133, 148, 178, 268, 273, 288, 298, 303, 308,
            313, 318, 338, 343]
    nd = [.34, .25, .29, .26, .27, .24, .41, .28, .31, .49, .50, .22, .68, .69, .63, .65, .69, .73, .67, .54, .63, .50,
          .58, .58, .41, .39]
    ev = [.25, .14, .16, .05, .13, .15, .09, .26, .18, .26, .27, .22, .43, .45, .39, .42, .43, .52, .43, .30, .46, .26,
          .34, .35, .22, .19]
    ls = [.34, .32, .33, .43, .35, .31, .43, .30, .34, .41, .42, .25, .38, .38, .41, .38, .40, .43, .35, .38, .35, .39,
          .40, .39, .37, .33]
    mat = _points_evi(days, [nd], [ev], [ls])
    assert optical_rice_rule(mat, on).rice_class.values.tolist() == [0]
    assert optical_rice_rule(mat, dataclasses.replace(on, shrub_flood_canopy_share=0.30)).rice_class.values.tolist() == [1]
    # with the default bound (15 clear dates) the whole-year series is dense: the shrub test applies as it was
    assert optical_rice_rule(mat, OpticalRiceParams(shrub_flood_canopy_share=0.30)).rice_class.values.tolist() == [0]
