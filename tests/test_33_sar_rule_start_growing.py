"""The SAR rule on a 10-month series that starts while a paddy's crop is still growing from a flood
the series did not see, and whose fallow shows a pass or two as bright as a dim canopy."""

from __future__ import annotations

import numpy as np
import pytest

from agromap.errors import ConfigError
from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from pixel_stacks import vh_points

N = 50  # dates 6 days apart, days 0-294: a 10-month desk series


def _paddy() -> np.ndarray:
    # Transplanted about three weeks before the first pass: the young crop climbs from -16.8 dB to
    # a dim canopy (-14.2 dB) by day 42, is harvested by day 72, and the field lies fallow
    # (-17 dB) to the end; two neighbouring passes of the fallow read -15.0 dB (rain on the
    # stubble, or one track's brighter look).
    vh = np.full(N, -17.0)
    vh[:13] = [-16.8, -16.3, -15.8, -15.2, -14.8, -14.5, -14.3, -14.2, -14.3, -14.8, -15.6, -16.4, -17.0]
    vh[30:32] = -15.0
    return vh


def _covers() -> np.ndarray:
    paddy = _paddy()
    # An upland field sown after the series' start: five weeks of level bare soil, then its crop
    # climbs to -13 dB by day 66 and is harvested by day 108.
    upland = np.full(N, -17.0)
    upland[:6] = -16.5
    upland[6:19] = [-16.0, -15.3, -14.5, -13.8, -13.3, -13.0, -13.0, -13.0, -13.2, -14.0, -15.0, -16.2, -17.0]
    # The paddy's field re-sown with an upland crop that stands six weeks at -14 dB.
    resown = paddy.copy()
    resown[30:37] = -14.0
    # A seasonal wetland whose grass rises at the start, then lies under shallow water (-19.5 dB:
    # emergent grass over water) for 114 days.
    wetland = paddy.copy()
    wetland[25:44] = -19.5
    return np.stack([paddy, upland, resown, wetland], axis=1)


def test_a_crop_still_growing_on_the_first_date_and_harvested_is_an_undated_season():
    vh = vh_points(_covers())
    out = sar_rice_rule(vh)
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    assert int(out.n_seasons.values[0]) == 1 and (out.transplant_doy.values[:, 0] == 0).all()
    # The canopy's run starts at day 18, not on the first date: without the growing reading the
    # paddy is refused, as is any season when the start-harvest reading is off.
    no_rise = sar_rice_rule(vh, SarRiceParams(start_rise_days=None))
    assert no_rise.rice_class.values.tolist() == [0, 0, 0, 0]
    assert sar_rice_rule(vh, SarRiceParams(start_harvest_db=None)).rice_class.values.tolist() == [0, 0, 0, 0]


def test_the_fallow_is_read_on_its_brightest_weeks_not_its_brightest_pass():
    vh = vh_points(_covers()[:, :3])
    # Two bright passes of the fallow reach the dim canopy's band: read on the brightest date alone
    # they are a crop coming back; read on the brightest 20 days they are not. A crop re-sown for
    # six weeks is one either way.
    assert sar_rice_rule(vh, SarRiceParams(start_regrow_days=None)).rice_class.values.tolist() == [0, 0, 0]
    assert sar_rice_rule(vh).rice_class.values.tolist() == [1, 0, 0]


def test_months_of_shallow_water_after_the_harvest_are_a_wetland_not_a_fallow():
    wetland = vh_points(_covers()[:, 3:])
    assert sar_rice_rule(wetland).rice_class.values.tolist() == [0]
    # Counted only below the open-water level (-20 dB), the wetland's -19.5 dB water is land.
    assert sar_rice_rule(wetland, SarRiceParams(start_water_db=-20.0)).rice_class.values.tolist() == [1]


@pytest.mark.parametrize("name", ["start_rise_days", "start_regrow_days"])
def test_the_growing_and_regrowth_spans_must_be_positive(name):
    with pytest.raises(ConfigError, match=name):
        SarRiceParams(**{name: 0.0})
    SarRiceParams(**{name: None})


def test_the_fallow_is_read_after_the_canopy_s_last_day_where_the_crop_grew_from_the_first_date():
    # A crop still growing on the first date (-17.8 dB, half its rise by day 12) whose canopy
    # (-13 dB) stands from about day 30 to day 96: the fallow starts after it. Read from the first
    # date plus the run's 66 days, it would start a month early and take the canopy's last passes
    # for a crop sown again.
    vh = np.full(N, -17.0)
    vh[:6] = [-17.8, -16.5, -15.4, -15.0, -14.8, -14.8]
    vh[6:16] = -13.0
    vh[16:19] = [-15.0, -16.0, -16.8]
    out = sar_rice_rule(vh_points(vh[:, None]))
    assert out.rice_class.values.tolist() == [1]
    assert int(out.n_seasons.values[0]) == 1


def _transplanted_before_the_first_pass() -> np.ndarray:
    # Puddled and transplanted a few weeks before the first pass: the first two passes still see
    # the water between the seedlings (-21.0, -18.4 dB), the crop climbs to a dim canopy (-14.3 dB)
    # by day 42, is harvested by day 84 and the field lies fallow (-17 dB) to the end.
    vh = np.full(N, -17.0)
    vh[:16] = [-21.0, -18.4, -16.6, -15.6, -15.0, -14.6, -14.4, -14.3, -14.3, -14.3, -14.4, -14.6, -15.2,
               -16.0, -16.6, -17.0]
    return vh


def test_a_flood_cut_by_the_series_start_before_the_crop_s_rise_is_its_own():
    # The dated reading cannot time this season: its flood began before the series, so the canopy
    # comes less than `min_rise_days` after the first dark date. The dark dates before the crop's
    # half rise are the flood it grew from, not another season's.
    vh = vh_points(_transplanted_before_the_first_pass()[:, None])
    assert sar_rice_rule(vh, SarRiceParams(start_harvest_db=None)).rice_class.values.tolist() == [0]
    out = sar_rice_rule(vh)
    assert out.rice_class.values.tolist() == [1]
    assert int(out.n_seasons.values[0]) == 1 and (out.transplant_doy.values[:, 0] == 0).all()
    assert sar_rice_rule(vh, SarRiceParams(start_rise_days=None)).rice_class.values.tolist() == [0]



def test_a_dim_canopy_over_wet_stubble_drops_less_than_two_decibels_and_is_harvested():
    # A dim canopy (-14.5 dB) on the first dates, harvested by day 60, then wet-season stubble and
    # moist soil at -16.3 dB: the fallow lies 1.8 dB below the canopy, deeper than its band
    # (`canopy_drop_db`, 1.5 dB) but not 2 dB.
    vh = np.full(N, -16.3)
    vh[:11] = [-14.6, -14.5, -14.5, -14.5, -14.5, -14.5, -14.6, -14.8, -15.3, -15.8, -16.1]
    vh = vh_points(vh[:, None])
    assert sar_rice_rule(vh).rice_class.values.tolist() == [1]
    assert sar_rice_rule(vh, SarRiceParams(start_harvest_db=2.0)).rice_class.values.tolist() == [0]


def test_a_speckled_point_s_brightest_weeks_are_no_canopy_harvested():
    # An unfiltered point without a crop (an orchard, a forest) at -15.5 dB, its dates 1 dB above
    # and below that level by turns (date-to-date noise about 2.1 dB, 1.2 dB for a three-date
    # mean), and three passes 2 dB brighter on days 12-24: its brightest smoothed date stands
    # about 2 dB above the months after it, deeper than `start_harvest_db` but short of two noise
    # units of a three-date mean (`start_harvest_noise`). A paddy under the same speckle, its
    # canopy 3 dB above its fallow, passes either way.
    zigzag = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)
    point = np.full(N, -15.5) + zigzag
    point[2:5] += 2.0
    paddy = np.full(N, -17.5)
    paddy[:11] = [-14.6, -14.5, -14.5, -14.5, -14.5, -14.5, -14.6, -14.8, -15.3, -15.8, -16.1]
    vh = vh_points(np.stack([point, paddy + zigzag], axis=1))
    assert sar_rice_rule(vh).rice_class.values.tolist() == [0, 1]
    assert sar_rice_rule(vh, SarRiceParams(start_harvest_noise=0.0)).rice_class.values.tolist() == [1, 1]
    with pytest.raises(ConfigError, match="start_harvest_noise"):
        SarRiceParams(start_harvest_noise=-1.0)
