"""SarRiceParams is one class assembled from per-concern parts: its fields, their order and its checks."""

from __future__ import annotations

import dataclasses

import pytest

from agromap.errors import ConfigError
from agromap.rice import rules_sar
from agromap.rice.sar_canopy_params import SarCanopyParams
from agromap.rice.sar_growth_params import SarFloodGrowthParams
from agromap.rice.sar_last_pass_params import SarLastPassParams
from agromap.rice.sar_params import SarRiceParams
from agromap.rice.sar_reading_params import SarReadingParams
from agromap.rice.sar_seedbed_params import SarSeedbedParams
from agromap.rice.sar_spell_params import SarSpellParams
from agromap.rice.sar_vv_params import SarVvParams
from agromap.rice.sar_water_params import SarWaterParams

PARTS = (SarFloodGrowthParams, SarSeedbedParams, SarSpellParams, SarVvParams, SarCanopyParams, SarWaterParams,
         SarReadingParams, SarLastPassParams)


def test_sar_rice_params_takes_its_parts_fields_part_by_part():
    # the parts' fields in the parts' order: the constructor's, repr's and asdict's order
    names = [f.name for part in PARTS for f in dataclasses.fields(part)]
    assert [f.name for f in dataclasses.fields(SarRiceParams)] == names
    assert len(names) == len(set(names)) == 99
    # each part starts where the one before it ends
    firsts = [dataclasses.fields(part)[0].name for part in PARTS]
    assert firsts == ["vh_min_db", "seedbed_start_days", "regrowth_db", "vv_dip_db", "ponded_canopy_db",
                      "water_p90_db", "shape_days", "young_end_days"]
    assert names.index("rise_fraction") + 1 == names.index("seedbed_start_days")
    assert names.index("max_seasons") + 1 == names.index("young_end_days") and names[-1] == "ponded_end_days"
    # the defaults are the parts' defaults, and repr and asdict read the fields in that order
    p = SarRiceParams()
    assert dataclasses.asdict(p) == {k: v for part in PARTS for k, v in dataclasses.asdict(part()).items()}
    assert list(dataclasses.asdict(p)) == names
    assert repr(p).startswith("SarRiceParams(vh_min_db=-18.0, vh_max_db=-16.5, rise_db=5.0, ")
    assert repr(p).endswith(", river_water_db=-20.5, ponded_end_days=75.0)")
    assert SarRiceParams(*dataclasses.astuple(p)) == p
    assert rules_sar.SarRiceParams is SarRiceParams


@pytest.mark.parametrize("bad, match", [({"min_rise_days": 120.0}, "min_rise_days"),
                                        ({"seedbed_start_days": -1.0}, "seedbed_start_days"),
                                        ({"spell_noise": -1.0}, "spell_noise"),
                                        ({"vv_level_quantile": 2.0}, "vv_level_quantile"),
                                        ({"cycle_canopy_days": 50.0}, "cycle_canopy_days"),
                                        ({"pond_crop_runs": 0}, "pond_crop_runs"),
                                        ({"max_seasons": 0}, "max_seasons"),
                                        ({"cycle_last_pass_deep_vv_db": -1.0}, "cycle_last_pass_deep_vv_db"),
                                        ({"ponded_end_days": 30.0}, "ponded_end_days")])
def test_every_parts_fields_are_checked_from_the_whole(bad, match):
    with pytest.raises(ConfigError, match=match):
        SarRiceParams(**bad)


def test_with_several_bad_fields_the_checks_speak_in_their_own_order():
    # the checks run from the whole, in sar_params_checks' order, not the parts'
    with pytest.raises(ConfigError, match="max_seasons"):
        SarRiceParams(seedbed_start_days=-1.0, max_seasons=0)
    with pytest.raises(ConfigError, match="seedbed_start_days"):
        SarRiceParams(seedbed_start_days=-1.0, ponded_end_days=30.0)
    # a check across parts (the canopy part's against the flood and growth part's)
    with pytest.raises(ConfigError, match=r"cycle_canopy_days must be at least max_rise_days \(80.0\)"):
        SarRiceParams(max_rise_days=80.0, cycle_canopy_days=70.0)
    assert SarRiceParams(max_rise_days=80.0, cycle_canopy_days=80.0).cycle_canopy_days == 80.0
