"""A rice-shrimp field whose crop the series opens in: its rice verdict is no pond's (self_train_ends)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.self_train_ends import (
    abstain_at_series_ends,
    series_start_canopy,
    start_pond_field,
    start_pond_no_vote,
)
from agromap.rice.self_train_labels import drop_pond_rice, fuse_scores
from agromap.rice.self_trained import SelfTrainParams
from agromap.testing import raise_if_dask_computes
from pixel_stacks import DAYS, DRY, WATER, row_stacks


def _pixels() -> tuple[xr.Dataset, xr.Dataset]:
    """A rice-shrimp field whose series opens in the last weeks of its crop, drained for the harvest
    (canopy over drying soil, LSWI 0.13), dry for three dates, then a pond; the same field opening in
    a wet canopy; a lotus pond opening in its leaves, never drained; a shrimp pond all year."""
    early, drained = DAYS <= 60, (DAYS > 60) & (DAYS <= 96)
    ripe, wet = (0.70, 0.13), (0.75, 0.35)
    field = np.where(early, -15.0, np.where(drained, -17.0, -21.0))
    return row_stacks([field, field, np.where(early, -15.0, -21.0), np.full(DAYS.size, -22.0)],
                      [[ripe if e else DRY if d else WATER for e, d in zip(early, drained)],
                       [wet if e else DRY if d else WATER for e, d in zip(early, drained)],
                       [wet if e else WATER for e in early], [WATER] * DAYS.size], chunked=True)  # fmt: skip


def _scores(values: list[float], like: xr.Dataset) -> xr.Dataset:
    return xr.Dataset({"rice_score": (("y", "x"), np.array([values], np.float32)),
                       "qa_flags": (("y", "x"), np.zeros((1, len(values)), np.uint8)),
                       "n_seasons": (("y", "x"), np.zeros((1, len(values)), np.uint8))},
                      coords={"y": like.y, "x": like.x}).chunk({"x": 2})  # fmt: skip


def test_a_rice_shrimp_field_the_series_opens_in_is_told_from_ponds():
    spec = SelfTrainParams()
    sar, opt = _pixels()
    with raise_if_dask_computes():
        field = start_pond_field(sar, opt, spec)
    np.testing.assert_array_equal(field.values[0], [True, True, False, False])
    # the series-start test's wet-canopy bar misses the field drained for its harvest
    assert series_start_canopy(sar, opt, spec).values[0].tolist() == [False, True, True, False]
    assert not start_pond_field(sar, opt, replace(spec, start_pond_canopy_lswi=0.3)).values[0][0]
    for off in ({"start_pond_rice": False}, {"start_canopy_days": None}, {"start_pond_water_fraction": None}):
        assert start_pond_field(sar, opt, replace(spec, **off)) is None  # type: ignore[arg-type]
    assert start_pond_field(None, opt, spec) is None


def test_the_optical_rules_rice_on_a_rice_shrimp_field_stands_and_the_radar_casts_no_vote():
    spec = SelfTrainParams()
    sar, opt = _pixels()
    rice = _scores([0.9, 0.9, 0.9, 0.9], sar)
    with raise_if_dask_computes():
        kept = drop_pond_rice(rice, opt, spec, keep=start_pond_field(sar, opt, spec))
    # every pixel is a pond (open water on most clear dates, seldom dry); the rice-shrimp fields
    # keep the rice verdict, the lotus and the shrimp pond lose it
    np.testing.assert_allclose(kept["rice_score"].values[0], [0.9, 0.9, 0.5, 0.5])
    np.testing.assert_allclose(drop_pond_rice(rice, opt, spec)["rice_score"].values[0], 0.5)
    # with both rules the radar's sure non-rice on that field is no vote: the optical rice decides
    radar = _scores([0.1, 0.1, 0.1, 0.1], sar)
    opt_out = _scores([0.9, 0.2, 0.9, 0.9], sar)
    np.testing.assert_array_equal(
        start_pond_no_vote(radar, opt_out, sar, opt, replace(spec, start_pond_fused=False))["rice_score"].values,
        radar["rice_score"].values)
    voted = start_pond_no_vote(radar, opt_out, sar, opt, spec)
    np.testing.assert_array_equal(np.isnan(voted["rice_score"].values[0]), [True, False, False, False])
    fused = fuse_scores(voted, opt_out, None, replace(spec, edge_rescue_px=None))["rice_score"].values[0]
    assert fused[0] >= spec.rice_min_score
    old = fuse_scores(radar, opt_out, None, replace(spec, edge_rescue_px=None))["rice_score"].values[0]
    assert old[0] == pytest.approx(0.5)
    np.testing.assert_allclose(fused[1:], old[1:])
    np.testing.assert_array_equal(start_pond_no_vote(radar, opt_out, sar, None, spec)["rice_score"].values,
                                  radar["rice_score"].values)


def test_a_rice_shrimp_fields_non_rice_verdict_is_no_opinion_for_the_optical_and_fused_labels():
    spec = SelfTrainParams()
    sar, opt = _pixels()
    out = _scores([0.1, 0.1, 0.1, 0.1], sar)
    np.testing.assert_allclose(abstain_at_series_ends(out, sar, opt, spec, shrimp=True)["rice_score"].values[0],
                               [0.5, 0.5, 0.1, 0.1])
    # the fallow-or-pond test of the optical rule's labels takes only the field opening in a wet canopy
    # (the two fields side by side are separate cases here, not one field and its edge)
    alone = replace(spec, cut_edge_ndvi_rms=None)
    np.testing.assert_allclose(abstain_at_series_ends(out, sar, opt, alone, pond=True)["rice_score"].values[0],
                               [0.1, 0.5, 0.1, 0.1])
    off = replace(spec, start_pond_rice=False)
    np.testing.assert_allclose(abstain_at_series_ends(out, sar, opt, off, shrimp=True)["rice_score"].values[0],
                               [0.1, 0.1, 0.1, 0.1])
    with pytest.raises(ConfigError):
        SelfTrainParams(start_pond_canopy_lswi=1.5)


def test_the_sar_rules_non_rice_on_a_rice_shrimp_field_is_no_opinion_when_asked():
    from agromap.rice.self_train_ends import QA_SERIES_CUT
    from agromap.rice.self_train_rule import run_rule

    spec = SelfTrainParams(start_pond_sar_labels=True)
    sar, opt = _pixels()
    old = run_rule(opt, sar, "sar", None, None, spec=replace(spec, start_pond_sar_labels=False))
    assert (old["rice_score"].values[0] <= spec.other_max_score).all()  # a pond to the radar, and ponds
    with raise_if_dask_computes():
        new = run_rule(opt, sar, "sar", None, None, spec=spec)
    # the fields are no label (co-training's optical view decides there); the ponds keep theirs
    np.testing.assert_allclose(new["rice_score"].values[0][:2], 0.5)
    np.testing.assert_array_equal(new["rice_score"].values[0][2:], old["rice_score"].values[0][2:])
    assert ((new["qa_flags"].values[0] & QA_SERIES_CUT) > 0).tolist() == [True, True, False, False]


def test_a_lotus_pond_opening_in_leaf_is_no_rice_shrimp_field():
    """A lotus pond whose leaves stand for the series' first 100 days, then die back onto mud (two dry
    dates, NDVI 0.10) and the pond; a rice-shrimp field harvested on the 48th day, stubble on drained
    soil (NDVI 0.30) and then the pond; the lotus course with its dry mud dates only after the pond."""
    leaves, wet = DAYS <= 96, (0.75, 0.35)
    mud, stubble = (DAYS > 96) & (DAYS <= 120), (DAYS > 48) & (DAYS <= 84)
    late_mud = DAYS >= 288
    db = np.where(DAYS <= 60, -15.0, -21.0)
    sar, opt = row_stacks([db, db, db],
                          [[wet if c else (0.10, -0.05) if m else WATER for c, m in zip(leaves, mud)],
                           [wet if c else (0.30, -0.05) if s else WATER for c, s in zip(DAYS <= 48, stubble)],
                           [wet if c else (0.10, -0.05) if m else WATER for c, m in zip(leaves, late_mud)]],
                          chunked=True)  # fmt: skip
    spec = SelfTrainParams()
    old = replace(spec, start_pond_stubble_ndvi=None)
    # without the harvest's stubble each passes the opening-canopy and pond-after-harvest tests
    assert start_pond_field(sar, opt, old).values[0].tolist() == [True, True, True]
    with raise_if_dask_computes():
        field = start_pond_field(sar, opt, spec)
    assert field.values[0].tolist() == [False, True, False]
    assert start_pond_field(sar, opt, replace(spec, start_pond_stubble_ndvi=0.05)).values[0].tolist() == [True, True,
                                                                                                           False]
    with pytest.raises(ConfigError):
        SelfTrainParams(start_pond_stubble_ndvi=1.5)
