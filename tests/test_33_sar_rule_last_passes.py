"""The SAR rule on a series that ends a pass or two after a single-season paddy's flood."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from pixel_stacks import vh_points

NO_START = SarRiceParams(start_harvest_db=None)  # the start-harvest reading off


def _series(cols: list[list[float]], step: int = 12, start: str = "2023-01-04") -> xr.DataArray:
    return vh_points(np.stack([np.asarray(c, np.float32) for c in cols], axis=1), step, start)


def test_a_young_crop_two_passes_after_the_flood_is_read_on_the_last_date():
    # 25 dates, 12 days apart (days 0-288), after a paddy of clean_delta on the 10-month series
    # with the calendar 60 days later (seed 1, filtered VH rounded to 0.5 dB): fallow and an
    # upland crop, the puddling flood on days 252-264, the young crop on the last two passes
    # (-18, -15.5 dB). The three-date mean of day 276 still holds the flood's last pass, so the
    # lower of the last two smoothed dates rises less than young_rise_db above the water. The same
    # flood with no rise, and a wetland whose months of water end in the last weeks, stay non-rice.
    paddy = [-17.0, -17.0, -16.5, -17.0, -17.0, -17.0, -17.0, -17.5, -18.5, -18.5, -17.0, -15.5, -15.0, -15.5,
             -15.0, -15.5, -16.5, -16.5, -17.0, -16.0, -17.5, -24.5, -22.5, -18.0, -15.5]
    flat = paddy[:23] + [-21.5, -21.0]
    wetland = [-16.0] * 12 + [-22.0] * 11 + [-18.5, -16.5]
    vh = _series([paddy, flat, wetland])
    out = sar_rice_rule(vh)
    assert out.rice_class.values.tolist() == [1, 0, 0]
    assert out.rice_score.values[0] > 0.55
    assert out.transplant_doy.values[0, 0] == 256  # the flood's darkest pass (4 January + 252 d)
    old = sar_rice_rule(vh, SarRiceParams(young_end_days=None))
    assert old.rice_class.values.tolist() == [0, 0, 0]


def test_a_flood_on_the_last_pass_alone_closes_the_year_of_the_crop_at_the_start():
    # 25 dates, 12 days apart (days 0-288), after a paddy of clean_delta on the 10-month series
    # with the calendar 120 days later (seed 0): last year's canopy on the first dates, harvested
    # to fallow by day 36, and the puddling flood on the last pass only (-22 dB). A last pass at
    # -19 dB is no open water; the same flood without a harvested canopy at the start, and the
    # canopy with no flood, stay non-rice.
    paddy = [-14.0, -14.5, -16.0] + [-16.5, -17.0] * 10 + [-16.5, -22.0]
    damp = paddy[:-1] + [-19.0]
    fallow = [-16.5] * 24 + [-22.0]
    dry = paddy[:-1] + [-16.5]
    vh = _series([paddy, damp, fallow, dry])
    # On by default the start-harvest reading (`start_harvest_db`) also takes a canopy harvested at
    # the start and fallow to the end with no flood read: these readings are tested without it.
    out = sar_rice_rule(vh, NO_START)
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    assert out.rice_score.values[0] > 0.7
    assert out.transplant_doy.values[0, 0] == 292  # the last pass (4 January + 288 d)
    assert sar_rice_rule(vh).rice_class.values.tolist() == [1, 1, 0, 1]
    # Two passes of water, as without this reading: the paddy is missed.
    assert sar_rice_rule(vh, SarRiceParams(cycle_last_pass_dip_db=None, start_harvest_db=None)
                         ).rice_class.values.tolist() == [0, 0, 0, 0]
    # On a speckled series the single pass must lie further below its land than speckle takes it.
    assert sar_rice_rule(vh, SarRiceParams(cycle_last_pass_noise=20.0, start_harvest_db=None)
                         ).rice_class.values.tolist() == [0, 0, 0, 0]
    with pytest.raises(ConfigError, match="cycle_last_pass_dip_db"):
        SarRiceParams(cycle_last_pass_dip_db=-1.0)


def test_one_bright_last_pass_of_a_dense_revisit_is_no_young_crop():
    # 100 dates, 3 days apart (days 0-297), as on four tracks: a field flooded on days 258-273
    # (-22 dB) and still wet (-20.5 dB) to the last pass, which alone reads 5.5 dB brighter
    # (speckle, a brighter track). The mean of the last repeat cycle's passes rises less than
    # young_rise_db above the water, so the score is that of the smoothed reading alone; the last
    # two passes alone would rise 5 dB and score higher.
    field = [-16.5] * 86 + [-22.0] * 6 + [-20.5] * 7 + [-15.0]
    vh = _series([field], step=3)
    score = sar_rice_rule(vh).rice_score.values[0]
    assert score == pytest.approx(sar_rice_rule(vh, SarRiceParams(young_end_days=None)).rice_score.values[0], abs=1e-6)
    assert sar_rice_rule(vh, SarRiceParams(young_end_days=0.0)).rice_score.values[0] > score + 0.03
    with pytest.raises(ConfigError, match="young_end_days"):
        SarRiceParams(young_end_days=-1.0)


def _pair(vh_cols: list[list[float]], vv_cols: list[list[float]], step: int = 12,
          start: str = "2023-01-04") -> xr.Dataset:
    vh, vv = (_series(c, step, start) for c in (vh_cols, vv_cols))
    return xr.Dataset({"vh": vh, "vv": vv.rename("vv")})


def test_a_last_pass_short_of_open_water_counts_where_vv_steps_down_too():
    # 25 dates, 12 days apart (days 0-288), after the paddies of clean_delta that the SAR baseline
    # alone found on the 10-month series with the calendar 120 days later (seed 0, filtered VH and
    # VV, medians): last year's canopy on the first dates, stubble, and the puddling pass last,
    # -19.5 dB in VH (a filtered pass mixes the field with neighbours puddled days apart) and
    # 2.5 dB below its land in VV. The same VH pass with VV flat is moist soil, not water.
    paddy = [-14.0, -14.5, -16.0] + [-16.5, -17.0] * 10 + [-16.5, -19.5]
    vv = [-8.5, -8.8, -9.5] + [-9.8, -10.2] * 10 + [-9.8, -12.5]
    ds = _pair([paddy, paddy], [vv, vv[:-1] + [-10.2]])
    # On by default the start-harvest reading (`start_harvest_db`) also takes a canopy harvested at
    # the start and fallow to the end with no flood read: these readings are tested without it.
    out = sar_rice_rule(ds, NO_START)
    assert out.rice_class.values.tolist() == [1, 0]
    assert out.transplant_doy.values[0, 0] == 292  # the last pass (4 January + 288 d)
    assert sar_rice_rule(ds).rice_class.values.tolist() == [1, 1]
    # VH alone, or with the reading off: two passes of open water or one at -20 dB are asked for.
    assert sar_rice_rule(ds["vh"], NO_START).rice_class.values.tolist() == [0, 0]
    assert sar_rice_rule(ds, SarRiceParams(cycle_last_pass_vv_db=None, start_harvest_db=None)
                         ).rice_class.values.tolist() == [0, 0]
    # A speckled point's one pass steps as far under an orchard's irrigation pulse: quiet series only.
    assert sar_rice_rule(ds, SarRiceParams(cycle_last_pass_vv_noise_db=0.1, start_harvest_db=None)
                         ).rice_class.values.tolist() == [0, 0]
    with pytest.raises(ConfigError, match="cycle_last_pass_vv_db"):
        SarRiceParams(cycle_last_pass_vv_db=-1.0)


def test_a_deep_last_pass_flood_after_the_canopy_tail_stands_for_the_harvest_reading():
    # After the paddies of clean_delta that the SAR baseline alone found on the 10-month series
    # shifted 120 days (seed 2): the series starts at the tail of last year's canopy (-15.8 dB,
    # barely above the stubble, in one band with it), and the puddling flood on the last pass is
    # deep in both channels (-24 dB VH, 7 dB below its land in VV). The canopy's harvest and
    # clearing cannot be read; the flood stands for them. With VV only 1.2 dB below its land the
    # pass is not that flood.
    tail = [-15.8, -16.0, -16.3] + [-16.5, -17.0] * 10 + [-16.5, -24.0]
    vv = [-9.3, -9.5, -9.7] + [-9.8, -10.2] * 10 + [-9.8, -17.0]
    ds = _pair([tail, tail], [vv, vv[:-1] + [-11.0]])
    assert sar_rice_rule(ds).rice_class.values.tolist() == [1, 0]
    assert sar_rice_rule(ds, SarRiceParams(cycle_last_pass_deep_db=None)).rice_class.values.tolist() == [0, 0]
    # On a speckled point such a pulse is as deep: a quiet series only.
    quiet = SarRiceParams(cycle_last_pass_deep_noise_db=0.1)
    assert sar_rice_rule(ds, quiet).rice_class.values.tolist() == [0, 0]
    with pytest.raises(ConfigError, match="cycle_last_pass_deep_db"):
        SarRiceParams(cycle_last_pass_deep_db=-1.0)


def test_an_orchard_pulse_on_the_last_pass_shows_no_canopy_tail_at_the_start():
    # After the orchard point of the sparse VH + VV stress table (ENL 30, seed 2) that the deep
    # reading mapped rice without the tail test: its canopy stands at one level all year (-15.4 dB
    # VH, -8.3 dB VV) and its irrigation pulse on the last pass is as deep as a puddling flood
    # (-21.6 dB VH, -14.2 dB VV). The paddy's first pass stands 0.95 dB above the land before its
    # flood (the previous canopy's tail); the orchard's stands at it (0.1 dB), as does a paddy
    # whose first pass is already stubble.
    orchard = [-15.4, -15.6, -15.2, -15.5] * 6 + [-21.6]
    orchard_vv = [-8.0, -8.5, -8.2, -8.4] * 6 + [-14.2]
    tail = [-15.8, -16.0, -16.3] + [-16.5, -17.0] * 10 + [-16.5, -24.0]
    stubble = [-16.7] + tail[1:]
    vv = [-9.3, -9.5, -9.7] + [-9.8, -10.2] * 10 + [-9.8, -17.0]
    ds = _pair([orchard, tail, stubble], [orchard_vv, vv, vv])
    assert sar_rice_rule(ds).rice_class.values.tolist() == [0, 1, 0]
    # Without the tail test the deep pulse lifts the orchard's harvest and clearing too.
    no_tail = SarRiceParams(cycle_last_pass_deep_tail_db=None)
    assert sar_rice_rule(ds, no_tail).rice_class.values.tolist() == [1, 1, 1]
    with pytest.raises(ConfigError, match="cycle_last_pass_deep_tail_db"):
        SarRiceParams(cycle_last_pass_deep_tail_db=-1.0)
