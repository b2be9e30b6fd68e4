"""Rice-shrimp rotation fields on a real scene: the SAR rule's pond share lets their one crop through."""

from __future__ import annotations

import numpy as np
import pytest

from agromap.errors import ConfigError
from agromap.rice.rules_sar import homogeneous_speckle_filter, sar_rice_rule
from agromap.rice.rules_sar_pond import old_pond_crop_days
from agromap.rice.sar_params import SarRiceParams
from agromap.scenes import landscape as L
from agromap.scenes import make_scene


@pytest.fixture(scope="module")
def triple():
    sc = make_scene("mekong_triple_sar", size=64, seed=1)
    s1 = sc.s1.assign(vh=homogeneous_speckle_filter(sc.s1.vh, 7), vv=homogeneous_speckle_filter(sc.s1.vv, 7))
    return s1[["vh", "vv"]].compute(), sc.truth.compute()


@pytest.fixture(scope="module")
def triple_optical():
    """Scene seed 2's optical series, its truth and the optical rule's map (two tests read the same map)."""
    from agromap.rice.rules_optical import optical_rice_rule

    sc = make_scene("mekong_triple_sar", size=64, seed=2)
    s2, truth = sc.s2.compute(), sc.truth.compute()
    return s2, truth, optical_rice_rule(s2)


def _interior_shrimp_and_ponds(truth):
    """The truth's cover, and its interior rice-shrimp and pond / water pixels (enough of each)."""
    cover, inner = truth.cover.values, ~truth.edge.values
    shrimp = (cover == L.RICE_SHRIMP) & inner
    ponds = np.isin(cover, (L.AQUACULTURE, L.WATER)) & inner
    assert shrimp.sum() >= 100 and ponds.sum() >= 100
    return cover, shrimp, ponds


def test_a_pond_then_one_closed_rice_canopy_is_not_a_pond(triple):
    """Interior rice-shrimp pixels (a brackish pond from February to July: open water on more than
    half of the dates) are mapped rice by their wet-season canopy; the shrimp ponds and permanent
    water of the same scene stay out. Without the one-crop reading the pond share refuses them."""
    s1, truth = triple
    cover, shrimp, ponds = _interior_shrimp_and_ponds(truth)
    rice = sar_rice_rule(s1).rice_class.values == 1
    without = sar_rice_rule(s1, SarRiceParams(pond_canopy_days=None)).rice_class.values == 1
    assert rice[shrimp].mean() >= 0.7 and without[shrimp].mean() <= 0.3
    assert not rice[ponds].any() and not without[ponds].any()
    # No paddy of the scene is lost by it (a few edge pixels beside a rice-shrimp field gain).
    paddy = np.isin(cover, (L.RICE, L.RICE_DSR))
    assert not (without & ~rice)[paddy].any()


def test_pond_canopy_days_must_be_positive():
    with pytest.raises(ConfigError, match="pond_canopy_days"):
        SarRiceParams(pond_canopy_days=0)


def test_optical_rule_maps_a_pond_then_one_rice_crop(triple_optical):
    """Optical rule on a real scene: interior rice-shrimp pixels (a pond for half the year, whose flood runs
    into the rice crop's puddling so that no dated onset is seen) are rice by their one short canopy after the
    pond; without ``pond_crop_green_days`` the water mask and the flooded-spell limit refuse about half of them.
    Ponds, lotus, hyacinth, open water and the paddies keep their class."""
    from agromap.rice.optical_params import OpticalRiceParams
    from agromap.rice.rules_optical import optical_rice_rule

    s2, truth, out = triple_optical
    cover, inner = truth.cover.values, ~truth.edge.values
    shrimp = (cover == L.RICE_SHRIMP) & inner
    assert shrimp.sum() >= 100
    rice = out.rice_class.values == 1
    without = optical_rice_rule(s2, OpticalRiceParams(pond_crop_green_days=None)).rice_class.values == 1
    assert rice[shrimp].mean() >= 0.9 and without[shrimp].mean() <= 0.6
    others = np.isin(cover, (L.AQUACULTURE, L.LOTUS, L.HYACINTH, L.WATER, L.RICE, L.RICE_DSR)) & inner
    assert (rice == without)[others].all()


def test_pond_crop_green_days_must_be_positive():
    from agromap.rice.optical_params import OpticalRiceParams

    with pytest.raises(ConfigError, match="pond_crop_green_days"):
        OpticalRiceParams(pond_crop_green_days=0.0)


def test_pond_crop_labels_keep_the_rice_verdict_of_a_pond_then_one_crop(triple_optical):
    """Self-training's pond test takes the optical rule's rice verdict away from most rice-shrimp fields
    (open water on half their clear dates, dry only after the harvest); ``pond_crop_labels`` keeps it there
    and nowhere else on the scene's ponds, lotus and hyacinth."""
    from agromap.rice.self_train_labels import drop_pond_rice
    from agromap.rice.self_train_params import SelfTrainParams

    s2, truth, out = triple_optical
    cover, inner = truth.cover.values, ~truth.edge.values
    rule = out.rice_score.values > 0.5
    shrimp = (cover == L.RICE_SHRIMP) & inner & rule
    assert shrimp.sum() >= 100
    dropped = drop_pond_rice(out, s2, SelfTrainParams(pond_crop_labels=False)).rice_score.values
    kept = drop_pond_rice(out, s2, SelfTrainParams()).rice_score.values
    assert (dropped[shrimp] > 0.5).mean() <= 0.5 and (kept[shrimp] > 0.5).mean() >= 0.9
    others = np.isin(cover, (L.AQUACULTURE, L.LOTUS, L.HYACINTH, L.WATER))
    assert np.array_equal(dropped[others], kept[others], equal_nan=True)


@pytest.fixture(scope="module")
def ten_months():
    sc = make_scene("mekong_triple_sar", size=64, seed=0, series_days=300)
    s1 = sc.s1.assign(vh=homogeneous_speckle_filter(sc.s1.vh, 7), vv=homogeneous_speckle_filter(sc.s1.vv, 7))
    return s1[["vh", "vv"]].compute(), sc.truth.compute()


def test_a_rice_shrimp_crop_standing_at_the_series_end_is_not_a_pond(ten_months):
    """A 10-month series that ends in the wet season: the rice-shrimp fields are open water on most
    dates and their crop still stands on the last ones (no closed canopy run yet). The young crop's
    canopy reaching the last date lifts the pond share; shrimp ponds, permanent water and paddies
    keep their labels."""
    s1, truth = ten_months
    cover, shrimp, ponds = _interior_shrimp_and_ponds(truth)
    rice = sar_rice_rule(s1).rice_class.values == 1
    without = sar_rice_rule(s1, SarRiceParams(pond_young_days=None)).rice_class.values == 1
    assert rice[shrimp].mean() >= 0.3 and without[shrimp].mean() <= 0.1
    assert not rice[ponds].any()
    paddy = np.isin(cover, (L.RICE, L.RICE_DSR))
    assert not (without & ~rice)[paddy].any()


def test_a_rice_shrimp_crop_standing_at_the_series_start_is_not_a_pond():
    """A 10-month series whose crop calendar runs 60 days later: the rice-shrimp fields show their
    last crop's canopy on the first dates, its harvest, then the shrimp pond on most dates (the next
    crop is transplanted after the series ends). The opening run, followed by open water, lifts the
    pond share; nothing but the rice-shrimp fields changes."""
    sc = make_scene("mekong_triple_sar", size=64, seed=1, series_days=300, calendar_shift=60)
    s1 = sc.s1.assign(vh=homogeneous_speckle_filter(sc.s1.vh, 7), vv=homogeneous_speckle_filter(sc.s1.vv, 7))
    s1, truth = s1[["vh", "vv"]].compute(), sc.truth.compute()
    cover, shrimp, ponds = _interior_shrimp_and_ponds(truth)
    rice = sar_rice_rule(s1).rice_class.values == 1
    without = sar_rice_rule(s1, SarRiceParams(pond_old_days=None)).rice_class.values == 1
    assert rice[shrimp].mean() >= 0.4 and without[shrimp].mean() <= 0.05
    assert not rice[ponds].any()
    # Per pixel: the mixed-edge reading passes a rice-shrimp field's paddy share on to its neighbours.
    alone = sar_rice_rule(s1, SarRiceParams(mixed_min_fraction=None)).rice_class.values == 1
    alone_without = sar_rice_rule(s1, SarRiceParams(pond_old_days=None, mixed_min_fraction=None)).rice_class.values == 1
    assert np.array_equal(alone[cover != L.RICE_SHRIMP], alone_without[cover != L.RICE_SHRIMP])


def test_the_opening_run_counts_only_when_harvested_into_open_water():
    """The run from the first date spans its bright dates; a cover still standing at the last date,
    a run that does not open the series or one not followed by open water counts 0 days."""
    days = np.arange(0, 120, 6, dtype=np.int32)
    crop = np.full(days.size, -23.0, dtype=np.float32)
    crop[:5] = -14.5  # days 0-24 under a canopy, then the pond
    crop[3] = np.nan  # a lost pass neither ends nor extends the run
    late = np.roll(np.where(np.isnan(crop), -14.5, crop), 1)  # the canopy starts on the second date
    dry = np.where(crop < -16, np.float32(-18.0), crop)  # harvested to a dry field, no water
    standing = np.full(days.size, -14.5, dtype=np.float32)
    got = old_pond_crop_days(np.stack([crop, late, dry, standing]), days, SarRiceParams())
    assert got.tolist() == [24.0, 0.0, 0.0, 0.0]


def test_pond_old_days_must_be_positive():
    with pytest.raises(ConfigError, match="pond_old_days"):
        SarRiceParams(pond_old_days=0)


def test_pond_young_days_must_be_positive():
    with pytest.raises(ConfigError, match="pond_young_days"):
        SarRiceParams(pond_young_days=0)
