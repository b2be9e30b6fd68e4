"""Optical rice rule: the evergreen-shrub span and the hidden-crop (cloud gap) evidence, on small series."""

from __future__ import annotations

import numpy as np
import xarray as xr

from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from agromap.rice.seasons import QA_FOREST_BUILT


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
    old = optical_rice_rule(ds, OpticalRiceParams(shrub_min_span_days=0.0))
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
    # partial evidence: the smallest margin is the bare ground's LSWI (-0.04 below 0: 0.8 units of
    # 0.05); the gap excess (110 - 90 days over 10 d + half the median gap of 20 d) gives 1.0 and
    # the second flooded date's wet margin (LSWI 0.2 / 2) 2.0
    assert abs(float(out.rice_score.values[0]) - 1 / (1 + np.exp(-0.8))) < 1e-4
    # a shorter gap (60 days: the canopy would have been seen) is no evidence
    short = optical_rice_rule(_points([0, 20, 40, 60, 70, 130, 150, 170], [series["paddy"][0]], [series["paddy"][1]]))
    assert short.rice_class.values[0] == 0
    # the term can be turned off
    off = optical_rice_rule(ds, OpticalRiceParams(hidden_crop_days=None))
    assert off.rice_class.values.tolist() == [0, 0, 0, 0]
