"""A season the series end cuts: its paddy is no non-rice pseudo-label (self_train_ends)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.self_train_ends import (
    QA_SERIES_CUT,
    SERIES_START_CUT,
    abstain_at_series_ends,
    abstain_at_series_start,
    cut_no_vote,
    dry_share,
    keep_start_canopy_rice,
    series_end_flood,
    series_end_flood_held,
    series_start_canopy,
)
from agromap.rice.self_train_rule import run_rule
from agromap.rice.self_trained import SelfTrainParams, _select_block
from agromap.testing import raise_if_dask_computes
from pixel_stacks import DAYS, DRY, WATER, row_stacks

LATE = DAYS >= DAYS[-3]  # the last three dates
WET = (0.30, 0.30)  # (NDVI, LSWI) of a clear date



def _pixels(chunked: bool = False) -> tuple[xr.Dataset, xr.Dataset]:
    """A paddy fallow on dry soil all year, puddled in the series' last weeks; an upland field with a
    canopy mid-year; permanent water; a pond whose radar darkens at the end too but that is wet on
    every clear date; a fallow field flooded for a month that ended six weeks before the last date;
    sugarcane harvested in the last weeks (its tall canopy drops to bare soil, not to water)."""
    land = np.full(DAYS.size, -17.0)
    cut = np.where(LATE, -24.0, land)
    upland = np.where((DAYS > 150) & (DAYS < 240), -13.0, land)
    water = np.full(DAYS.size, -25.0)
    earlier = np.where((DAYS >= 216) & (DAYS <= 252), -24.0, land)
    cane = np.where(LATE, -17.5, -12.5)
    fallow_then_flood = [WATER if late else DRY for late in LATE]
    return row_stacks([cut, upland, water, cut, earlier, cane],
                  [fallow_then_flood, [DRY] * DAYS.size, [WATER] * DAYS.size, [WET] * DAYS.size,
                   [DRY] * DAYS.size, [DRY] * DAYS.size], chunked)  # fmt: skip


def test_a_paddy_puddled_in_the_last_weeks_is_no_confident_non_rice_label():
    spec = SelfTrainParams()
    sar, opt = _pixels()
    old = run_rule(opt, sar, "sar", None, None, spec=replace(spec, end_flood_days=None))["rice_score"].values[0]
    assert old[0] <= spec.other_max_score  # the rule saw the flood but no canopy: sure non-rice
    sar, opt = _pixels(chunked=True)
    with raise_if_dask_computes():
        lazy = run_rule(opt, sar, "sar", None, None, spec=spec)
    new = lazy["rice_score"].values[0]
    assert new[0] == pytest.approx(0.5)  # no opinion: neither a rice nor a non-rice label
    np.testing.assert_array_equal(new[1:], old[1:])  # the others keep their verdict, the wet pond too
    # without optical dates to tell a fallow field from a pond the verdict stands
    np.testing.assert_array_equal(run_rule(None, _pixels()[0], "sar", None, None, spec=spec)["rice_score"].values[0],
                                  old)


def test_a_cut_paddys_flat_fallow_is_no_long_canopy_label():
    # The cut paddy is marked for training (and only it: the pond is wet, the others never flood at
    # the end); the optical rule hesitates on it, and its VH, flat over the months of fallow, would
    # read as a canopy standing far longer than any rice crop: a non-rice label before, none now.
    spec = SelfTrainParams()
    sar, opt = _pixels()
    for rule in ("sar", "optical"):
        qa = run_rule(opt, sar, rule, None, None, spec=spec)["qa_flags"].values[0]
        assert ((qa & QA_SERIES_CUT) > 0).tolist() == [True, False, False, False, False, False], rule
    score = np.full((1, 8), 0.5, np.float32)  # the lattice: even columns
    feats = np.stack([np.linspace(0, 1, 8, dtype=np.float32)[None, :], np.full((1, 8), 200.0, np.float32)])
    qa = np.repeat(np.array([[QA_SERIES_CUT, 0, QA_SERIES_CUT | 2, 2]], np.uint8), 2, axis=1)
    t = _select_block(score, qa, np.ones((1, 8), np.uint8), feats, 0, 0, spec=replace(spec, spacing_px=2), cap=100,
                      canopy_col=1)
    order = np.argsort(t["col"])
    assert t["y"][order].tolist() == [-1, 0, -1, 0]
    # the mark makes no stratum of its own: the strata stay those of the rule's own bits
    assert t["stratum"][order].tolist() == [1, 1, 2 * 256 + 1, 2 * 256 + 1]


def test_the_dark_spell_must_lie_in_the_last_weeks_and_below_the_pixels_own_median():
    spec = SelfTrainParams()
    sar, opt = _pixels()
    np.testing.assert_array_equal(series_end_flood(sar, spec).values[0], [True, False, False, True, False, False])
    # a window reaching back to the earlier flood takes it in
    np.testing.assert_array_equal(series_end_flood(sar, replace(spec, end_flood_days=60.0)).values[0],
                                  [True, False, False, True, True, False])
    assert not series_end_flood(sar, replace(spec, end_flood_drop_db=8.0)).values[0].any()
    # the cane's harvest is a drop of 5 dB, but to bare soil: with a soil-level bar it would count
    assert series_end_flood(sar, replace(spec, end_flood_max_db=-17.0)).values[0][5]
    np.testing.assert_allclose(dry_share(opt, spec).values[0], [1 - LATE.mean(), 1, 0, 0, 1, 1])


def test_end_flood_settings_are_checked():
    for bad in ({"end_flood_days": 0.0}, {"end_flood_drop_db": -1.0}, {"end_flood_dry_fraction": 1.5},
                {"end_flood_max_db": 3.0}):
        with pytest.raises(ConfigError):
            SelfTrainParams(**bad)


def _start_pixels(chunked: bool = False) -> tuple[xr.Dataset, xr.Dataset]:
    """A paddy whose series opens in its ripening canopy (wet soil under it, VH -15 dB), harvested
    and fallow on dry soil after day 60; an upland crop with the same course but a drier canopy; an
    upland crop as wet but with an upland canopy's brighter VH (-12.5 dB); an evergreen canopy,
    never dry (at a paddy canopy's VH); a fallow field all year."""
    early = DAYS <= 60
    canopy_then = [np.where(early, -15.0, -17.0), np.where(early, -15.0, -17.0), np.where(early, -12.5, -17.0),
                   np.full(DAYS.size, -15.0), np.full(DAYS.size, -17.0)]
    wet_canopy, dry_canopy, evergreen = (0.75, 0.35), (0.75, 0.25), (0.80, 0.35)
    return row_stacks(canopy_then,
                  [[wet_canopy if e else DRY for e in early], [dry_canopy if e else DRY for e in early],
                   [wet_canopy if e else DRY for e in early], [evergreen] * DAYS.size, [DRY] * DAYS.size],
                  chunked)  # fmt: skip


@pytest.mark.parametrize("rule", ["sar", "both"])
def test_a_paddy_the_series_opens_in_is_no_confident_non_rice_label(rule):
    # each pixel of the row is a field of its own here: no cut field's edge (tested below)
    spec = SelfTrainParams(cut_edge_ndvi_rms=None)
    sar, opt = _start_pixels()
    old = run_rule(opt, sar, rule, None, None, spec=replace(spec, start_canopy_days=None),
                    canopy_labels=True)["rice_score"].values[0]
    # a canopy's tail, a harvest and a fallow: non-rice (sure non-rice to the radar)
    assert old[0] <= (spec.other_max_score if rule == "sar" else 0.4)
    sar, opt = _start_pixels(chunked=True)
    with raise_if_dask_computes():
        lazy = run_rule(opt, sar, rule, None, None, spec=spec, canopy_labels=True)
    new = lazy["rice_score"].values[0]
    # no opinion, neither a rice nor a non-rice label; with both rules the radar's abstention is no
    # vote and the optical rule's rice on the wet canopy decides alone (fuse_cut_sar_no_vote)
    assert new[0] == pytest.approx(0.5) if rule == "sar" else new[0] >= spec.rice_min_score
    np.testing.assert_array_equal(new[1:], old[1:])  # drier or brighter canopies, evergreen, fallow
    np.testing.assert_array_equal(series_start_canopy(sar, opt, spec).values[0], [True, False, False, True, False])
    # no canopy reaches a wetter LSWI bar; a brighter VH bar takes in the upland canopy
    assert not series_start_canopy(sar, opt, replace(spec, start_canopy_lswi=0.4)).values[0].any()
    assert series_start_canopy(sar, opt, replace(spec, start_canopy_max_db=-12.0)).values[0][2]
    # without a radar to tell a paddy's canopy from an upland one the verdicts stand
    np.testing.assert_array_equal(abstain_at_series_start(lazy.assign(rice_score=lazy["rice_score"] * 0), None, opt,
                                                          spec)["rice_score"].values[0], 0)


def test_a_cut_paddys_edge_pixel_is_no_confident_non_rice_label():
    spec = SelfTrainParams()
    early = DAYS <= 60
    paddy, edge, wetland = (0.75, 0.35), (0.72, 0.25), (0.55, 0.20)
    opening = np.where(early, -15.0, -17.0)
    # a paddy's edge pixel (its canopy mixed with the bund: LSWI 0.25, under the wet-canopy bar)
    # between two pixels of the paddy the series opens in; the same series beside one such pixel
    # only (an upland crop's edge across the boundary); a seasonal wetland; a fallow field
    sar, opt = row_stacks([opening, opening, opening, opening, np.full(DAYS.size, -18.0), np.full(DAYS.size, -17.0)],
                          [[paddy if e else DRY for e in early], [edge if e else DRY for e in early],
                           [paddy if e else DRY for e in early], [edge if e else DRY for e in early],
                           [wetland] * DAYS.size, [DRY] * DAYS.size], chunked=True)  # fmt: skip
    out = xr.Dataset({"rice_score": (("y", "x"), np.full((1, 6), 0.1, np.float32)),
                      "qa_flags": (("y", "x"), np.ones((1, 6), np.uint8)),
                      "n_seasons": (("y", "x"), np.zeros((1, 6), np.uint8))},
                     coords={"y": sar.y, "x": sar.x}).chunk({"x": 2})  # fmt: skip
    assert series_start_canopy(sar, opt, spec).values[0].tolist() == [True, False, True, False, False, False]
    with raise_if_dask_computes():
        lazy = abstain_at_series_ends(out, sar, opt, spec)
    # the edge follows the paddy's NDVI on both sides: no opinion, marked cut (no long-canopy label)
    np.testing.assert_allclose(lazy["rice_score"].values[0], [0.5, 0.5, 0.5, 0.1, 0.1, 0.1])
    assert ((lazy["qa_flags"].values[0] & QA_SERIES_CUT) > 0).tolist() == [True, True, True, False, False, False]
    # one close cut neighbour is enough with cut_edge_neighbours=1; the wetland never follows the paddy
    one = abstain_at_series_ends(out, sar, opt, replace(spec, cut_edge_neighbours=1))
    np.testing.assert_allclose(one["rice_score"].values[0], [0.5, 0.5, 0.5, 0.5, 0.1, 0.1])
    # off, or with a tighter NDVI bar than the edge's course allows, the verdict stands
    for off in (None, 0.01):
        kept = abstain_at_series_ends(out, sar, opt, replace(spec, cut_edge_ndvi_rms=off))
        np.testing.assert_allclose(kept["rice_score"].values[0], [0.5, 0.1, 0.5, 0.1, 0.1, 0.1])
    for bad in ({"cut_edge_ndvi_rms": 0.0}, {"cut_edge_neighbours": 0}, {"cut_edge_neighbours": 9}):
        with pytest.raises(ConfigError):
            SelfTrainParams(**bad)


def test_the_full_optical_rules_rice_stands_where_the_series_opens_in_a_paddys_canopy():
    spec = SelfTrainParams()
    sar, opt = _start_pixels(chunked=True)
    strict = xr.Dataset({"rice_score": (("y", "x"), np.array([[0.2, 0.2, 0.5, 0.2, 0.2]], np.float32))},
                        coords={"y": [0.0], "x": np.arange(5.0)}).chunk({"x": 2})
    full = strict.assign(rice_score=strict["rice_score"] * 0 + np.float32(0.9))
    with raise_if_dask_computes():
        kept = keep_start_canopy_rice(strict, full, sar, opt, spec)
    # only the paddy the series opens in takes the canopy's rice verdict; the drier or brighter
    # canopies, the evergreen one and the fallow field keep the strict rule's verdict
    np.testing.assert_allclose(kept["rice_score"].values[0], [0.9, 0.2, 0.5, 0.2, 0.2])
    # a hesitation of the full rule is no rice label there either; without a radar nothing changes
    weak = keep_start_canopy_rice(strict, full.assign(rice_score=full["rice_score"] * 0 + np.float32(0.6)), sar, opt,
                                  spec)
    np.testing.assert_allclose(weak["rice_score"].values[0], strict["rice_score"].values[0])
    np.testing.assert_allclose(keep_start_canopy_rice(strict, full, None, opt, spec)["rice_score"].values[0],
                               strict["rice_score"].values[0])
    # where the strict rule hesitates it saw a season of its own: the classifier decides there
    torn = strict.assign(rice_score=strict["rice_score"] + np.float32(0.3))
    np.testing.assert_allclose(keep_start_canopy_rice(torn, full, sar, opt, spec)["rice_score"].values[0],
                               torn["rice_score"].values[0])


def test_a_cut_season_s_no_opinion_is_no_vote_in_the_fusion():
    from agromap.rice.self_train_labels import fuse_scores

    coords = {"y": [0.0], "x": np.arange(4.0)}
    cut, none = np.uint8(QA_SERIES_CUT), np.uint8(0)
    sar = xr.Dataset({"rice_score": (("y", "x"), np.array([[0.5, 0.5, 0.9, 0.5]], np.float32)),
                      "qa_flags": (("y", "x"), np.array([[cut, cut, cut, none]], np.uint8)),
                      "n_seasons": (("y", "x"), np.zeros((1, 4), np.uint8))}, coords=coords).chunk({"x": 2})
    opt = sar.assign(rice_score=sar["rice_score"] * 0 + np.array([[0.8, 0.2, 0.8, 0.8]], np.float32),
                     qa_flags=sar["qa_flags"] * 0)
    with raise_if_dask_computes():
        voted = cut_no_vote(sar)
    # the series-end or series-start step's 0.5 is no vote; the SAR rule's own verdicts and an
    # uncut hesitation stay votes
    np.testing.assert_array_equal(np.isnan(voted["rice_score"].values[0]), [True, True, False, False])
    spec = SelfTrainParams()
    fused = fuse_scores(voted, opt, None, replace(spec, edge_rescue_px=None))["rice_score"].values[0]
    # the optical rule's rice on the cut paddy becomes a label (its mean with 0.5 was a hesitation)
    assert fused[0] == pytest.approx(0.8) and fused[0] >= spec.rice_min_score
    old = fuse_scores(sar, opt, None, replace(spec, edge_rescue_px=None))["rice_score"].values[0]
    assert old[0] < spec.rice_min_score
    np.testing.assert_allclose(fused[2:], old[2:])


def test_start_canopy_settings_are_checked():
    for bad in ({"start_canopy_days": -1.0}, {"start_canopy_lswi": 2.0}, {"start_dry_fraction": -0.1},
                {"start_canopy_max_db": 1.0}, {"start_canopy_ndvi": 1.5}):
        with pytest.raises(ConfigError):
            SelfTrainParams(**bad)


def _shrimp_pixels() -> tuple[xr.Dataset, xr.Dataset]:
    """A rice-shrimp field whose series opens in its crop (wet canopy, VH -15 dB), drained for three
    dates after the harvest, then a pond; a lotus pond that opens in its leaves and is never drained;
    a shrimp pond all year."""
    early, drained = DAYS <= 60, (DAYS > 60) & (DAYS <= 96)
    wet_canopy = (0.75, 0.35)
    return row_stacks([np.where(early, -15.0, np.where(drained, -17.0, -21.0)), np.where(early, -15.0, -21.0),
                   np.full(DAYS.size, -22.0)],
                  [[wet_canopy if e else DRY if d else WATER for e, d in zip(early, drained)],
                   [wet_canopy if e else WATER for e in early], [WATER] * DAYS.size], False)  # fmt: skip


def test_a_rice_shrimp_field_the_series_opens_in_is_no_non_rice_label_of_the_optical_rule():
    # Seldom dry (3 of 26 clear dates), the field fails the fallow test; its pond after the drained
    # harvest stands for the fallow, for the optical rule's labels only. The lotus pond is never
    # drained and the shrimp pond never opens in a canopy.
    spec = SelfTrainParams()
    sar, opt = _shrimp_pixels()
    out = xr.Dataset({"rice_score": (("y", "x"), np.full((1, 3), 0.1, np.float32)),
                      "qa_flags": (("y", "x"), np.zeros((1, 3), np.uint8))}, coords={"y": sar.y, "x": sar.x})
    np.testing.assert_allclose(abstain_at_series_ends(out, sar, opt, spec, pond=True)["rice_score"].values[0],
                               [0.5, 0.1, 0.1])
    np.testing.assert_allclose(abstain_at_series_ends(out, sar, opt, spec)["rice_score"].values[0], 0.1)
    off = replace(spec, start_pond_water_fraction=None)
    np.testing.assert_allclose(abstain_at_series_ends(out, sar, opt, off, pond=True)["rice_score"].values[0], 0.1)
    few = replace(spec, start_pond_dry_dates=4)
    np.testing.assert_allclose(abstain_at_series_ends(out, sar, opt, few, pond=True)["rice_score"].values[0], 0.1)
    marked = {rule: (run_rule(opt, sar, rule, None, None, spec=spec)["qa_flags"].values[0] & QA_SERIES_CUT) > 0
              for rule in ("optical", "sar")}
    assert marked["optical"].tolist() == [True, False, False] and not marked["sar"].any()
    # the SAR rule's labels mark the field too when asked (start_pond_sar_labels)
    sar_too = replace(spec, start_pond_sar_labels=True)
    marked_sar = (run_rule(opt, sar, "sar", None, None, spec=sar_too)["qa_flags"].values[0] & QA_SERIES_CUT) > 0
    assert marked_sar.tolist() == [True, False, False]
    for bad in ({"start_pond_water_fraction": 1.5}, {"start_pond_dry_dates": -1}):
        with pytest.raises(ConfigError):
            SelfTrainParams(**bad)


def test_the_rule_output_keeps_the_start_cut_apart_from_the_end_flood():
    # the fallow field's rain puddle (end flood, one dark pass) is cut but not vouched for; the paddy
    # the series opens in is
    spec = SelfTrainParams(cut_edge_ndvi_rms=None)
    sar, opt = _end_flood_pixels()
    out = run_rule(opt, sar, "sar", None, None, spec=spec)
    assert (int(out["qa_flags"].values[0][1]) & QA_SERIES_CUT) and not out[SERIES_START_CUT].values[0][1]
    sar, opt = _start_pixels()
    out = run_rule(opt, sar, "sar", None, None, spec=spec)
    np.testing.assert_array_equal(out[SERIES_START_CUT].values[0], [True, False, False, False, False])


def _end_flood_pixels(chunked: bool = False) -> tuple[xr.Dataset, xr.Dataset]:
    """Four fields fallow on dry soil, all flooded in the series' last weeks: a paddy puddled three
    passes before the end; a heavy rain's puddles on a single pass; two rains three passes apart,
    a lighter pass between them; a paddy puddled on the last pass only."""
    land = np.full(DAYS.size, -17.0)
    puddled = np.where(LATE, -24.0, land)
    rain = land.copy()
    rain[-2] = -24.0
    two_rains = land.copy()
    two_rains[[-3, -1]] = -24.0
    last = land.copy()
    last[-1] = -24.0
    return row_stacks([puddled, rain, two_rains, last], [[DRY] * DAYS.size] * 4, chunked)


def test_a_flood_held_over_passes_vouches_for_a_paddy_a_rain_puddle_does_not():
    # every one is cut by the series-end flood; only the flood held over consecutive passes (24 days
    # here) counts like the series start's cut for the cut paddies' rice labels (self_train_cutlike)
    spec = SelfTrainParams(cut_edge_ndvi_rms=None)
    sar, opt = _end_flood_pixels(chunked=True)
    with raise_if_dask_computes():
        lazy = run_rule(opt, sar, "sar", None, None, spec=spec)
    out = lazy.compute()
    assert (((out["qa_flags"].values[0] & QA_SERIES_CUT) > 0)).all()
    np.testing.assert_array_equal(out[SERIES_START_CUT].values[0], [True, False, False, False])
    np.testing.assert_array_equal(series_end_flood_held(sar, spec).values[0], [True, False, False, False])
    # the puddled paddy's flood spans 24 days (three passes); a bar of 0 days takes a single dark pass
    np.testing.assert_array_equal(series_end_flood_held(sar, replace(spec, end_flood_held_days=30.0)).values[0],
                                  [False, False, False, False])
    np.testing.assert_array_equal(series_end_flood_held(sar, replace(spec, end_flood_held_days=0.0)).values[0],
                                  [True, True, True, True])
    off = run_rule(opt, sar, "sar", None, None, spec=replace(spec, end_flood_held_days=None))
    assert not off[SERIES_START_CUT].values[0].any()
    with pytest.raises(ConfigError):
        SelfTrainParams(end_flood_held_days=-1.0)


def test_a_pixel_without_any_radar_value_is_no_series_end_flood_and_warns_of_nothing():
    # a pixel outside the radar's swath (every VH date NaN) beside a paddy puddled in the last
    # weeks: no flood at the series end, held or not; its median over no value is NaN without the
    # "All-NaN slice" warning numpy gives for each such pixel
    spec = SelfTrainParams()
    sar, _ = row_stacks([np.where(LATE, -24.0, -17.0), np.full(DAYS.size, np.nan)], [[DRY] * DAYS.size] * 2, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(series_end_flood(sar, spec).values[0], [True, False])
        np.testing.assert_array_equal(series_end_flood_held(sar, spec).values[0], [True, False])
