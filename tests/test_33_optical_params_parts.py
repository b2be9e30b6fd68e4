"""OpticalRiceParams is one class assembled from per-concern parts: its fields, their order and its checks."""

from __future__ import annotations

import dataclasses

import pytest

from agromap.errors import ConfigError
from agromap.rice import optical_params, rules_optical
from agromap.rice.optical_cycle_params import GrowthRule, OpticalCycleParams
from agromap.rice.optical_end_flood_params import OpticalEndFloodParams
from agromap.rice.optical_gap_season_params import OpticalGapSeasonParams
from agromap.rice.optical_harvest_params import OpticalHarvestParams
from agromap.rice.optical_mask_params import OpticalMaskParams
from agromap.rice.optical_params import OpticalRiceParams
from agromap.rice.optical_series_ends_params import OpticalSeriesEndsParams
from agromap.rice.optical_undated_params import OpticalUndatedParams
from agromap.rice.optical_wet_canopy_params import OpticalWetCanopyParams

PARTS = (OpticalCycleParams, OpticalMaskParams, OpticalUndatedParams, OpticalWetCanopyParams, OpticalHarvestParams,
         OpticalGapSeasonParams, OpticalSeriesEndsParams, OpticalEndFloodParams)


def test_optical_rice_params_takes_its_parts_fields_part_by_part():
    # the parts' fields in the parts' order: the constructor's, repr's and asdict's order
    names = [f.name for part in PARTS for f in dataclasses.fields(part)]
    assert [f.name for f in dataclasses.fields(OpticalRiceParams)] == names
    assert len(names) == len(set(names)) == 114
    # each part starts where the one before it ends
    firsts = [dataclasses.fields(part)[0].name for part in PARTS]
    assert firsts == ["flood_t", "water_ndvi_max", "ndvi_low", "early_ndvi_days", "harvest_lswi_max",
                      "gap_season_lswi", "gap_season_not_forest", "end_flood_days"]
    assert names.index("max_seasons") + 1 == names.index("water_ndvi_max")
    assert names.index("mask_outside_cycles") + 1 == names.index("ndvi_low")
    assert names.index("hidden_young_days") + 1 == names.index("gap_season_not_forest")
    assert names.index("pond_crop_green_days") + 1 == names.index("end_flood_days") and names[-1] == "lswi_nir_band"
    # the defaults are the parts' defaults, and repr and asdict read the fields in that order
    p = OpticalRiceParams()
    assert dataclasses.asdict(p) == {k: v for part in PARTS for k, v in dataclasses.asdict(part()).items()}
    assert list(dataclasses.asdict(p)) == names
    assert repr(p).startswith("OpticalRiceParams(flood_t=0.05, flood_ndvi_max=None, growth_rule='either', ")
    assert repr(p).endswith(", undated_wet_share=0.5, lswi_nir_band='nir')")
    assert OpticalRiceParams(*dataclasses.astuple(p)) == p
    assert rules_optical.OpticalRiceParams is OpticalRiceParams
    assert optical_params.GrowthRule is GrowthRule
    # a part is no setting: only the whole runs the checks
    assert OpticalCycleParams(max_seasons=0).max_seasons == 0


@pytest.mark.parametrize("bad, match", [({"growth_rule": "evi"}, "growth_rule"),
                                        ({"max_seasons": 0}, "max_seasons"),
                                        ({"water_fraction": 0.0}, "water_fraction"),
                                        ({"flood_stubble_days": 0.0}, "flood_stubble_days"),
                                        ({"seedbed_max_days": 0.0}, "seedbed_max_days"),
                                        ({"sparse_max_dates": 1}, "sparse_max_dates"),
                                        ({"gap_season_min_gap": 160.0}, "gap_season_min_gap"),
                                        ({"pond_crop_green_days": 0.0}, "pond_crop_green_days"),
                                        ({"end_flood_link_days": -1.0}, "end_flood_link_days")])
def test_every_parts_fields_are_checked_from_the_whole(bad, match):
    with pytest.raises(ConfigError, match=match):
        OpticalRiceParams(**bad)


def test_with_several_bad_fields_the_checks_speak_in_their_own_order():
    # the checks run from the whole, in optical_params_checks' order, not the parts'
    with pytest.raises(ConfigError, match="max_seasons"):
        OpticalRiceParams(end_flood_days=0.0, max_seasons=0)
    with pytest.raises(ConfigError, match="flood_stubble_days"):
        OpticalRiceParams(water_fraction=0.0, flood_stubble_days=0.0)
    # a check across parts (the end flood's rise and canopy gap, named together)
    with pytest.raises(ConfigError, match=r"end_flood_rise=-0.1, end_canopy_min_gap=-1.0: must be >= 0"):
        OpticalRiceParams(end_flood_rise=-0.1, end_canopy_min_gap=-1.0)
    assert OpticalRiceParams(end_flood_rise=None, end_canopy_min_gap=0.0).end_canopy_min_gap == 0.0
    # the puddled field's LSWI bar is a wetness: an index value of 0 or more
    with pytest.raises(ConfigError, match=r"end_flood_deep_lswi=-0.1: must be >= 0"):
        OpticalRiceParams(end_flood_deep_lswi=-0.1)
    assert OpticalRiceParams(end_flood_deep_lswi=None).end_flood_deep_lswi is None
