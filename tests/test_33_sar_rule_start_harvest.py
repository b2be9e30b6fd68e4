"""The SAR rule on a 10-month series that holds only the harvest of a paddy's previous crop."""

from __future__ import annotations

import numpy as np
import pytest

from agromap.errors import ConfigError
from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from pixel_stacks import vh_points

ON = SarRiceParams(start_harvest_db=2.0)
OFF = SarRiceParams(start_harvest_db=None)


def _covers() -> np.ndarray:
    # 50 dates, 6 days apart (days 0-294), as a 10-month desk series. The paddy's previous crop was
    # flooded before the series: its canopy (-14 dB, rice near heading) stands on the first seven
    # passes, senesces and is harvested by day 66, then the field lies fallow (-17 dB, stubble and
    # dry soil) to the series' end, before its next flood. Sugarcane is harvested in the same weeks
    # but its ratoon stands again by day 160; an upland field harvested as early is sown again at
    # day 120; a seasonal wetland's grass (-16 dB) goes under water for months; a fallow field
    # with rain puddles and a flood-irrigated orchard never carry a harvested canopy.
    n = 50
    paddy = np.full(n, -17.0)
    paddy[:12] = [-14.2, -14.0, -13.8, -13.8, -14.0, -14.0, -14.2, -14.8, -15.5, -16.2, -16.8, -17.0]
    cane = paddy.copy()
    cane[:12] = -12.5
    cane[12:15] = [-14.5, -16.5, -17.0]
    cane[22:] = np.minimum(-17.0 + 0.25 * np.arange(n - 22), -12.8)
    upland = paddy.copy()
    upland[20:] = np.minimum(-17.0 + 0.6 * np.arange(n - 20), -13.0)
    upland[36:] = [-13.0, -13.5, -14.5, -15.5, -16.5] + [-17.0] * (n - 41)
    wetland = np.full(n, -16.0)
    wetland[10:40] = -19.5
    puddles = np.full(n, -16.5)
    puddles[[14, 27, 41]] = -19.0
    orchard = np.full(n, -15.5)
    orchard[[9, 30]] = -18.5
    return np.stack([paddy, cane, upland, wetland, puddles, orchard], axis=1)


def test_a_canopy_harvested_in_the_first_weeks_then_months_of_fallow_is_an_undated_season():
    vh = vh_points(_covers())
    on = sar_rice_rule(vh, ON)
    assert on.rice_class.values.tolist() == [1, 0, 0, 0, 0, 0]
    assert on.rice_score.values[0] > 0.6 and (on.rice_score.values[1:] < 0.4).all()
    # One season, whose transplanting came before the series: no date.
    assert int(on.n_seasons.values[0]) == 1 and (on.transplant_doy.values[:, 0] == 0).all()
    # The reading is on by default; off, no flood in the series is no season.
    assert sar_rice_rule(vh).rice_class.values.tolist() == [1, 0, 0, 0, 0, 0]
    assert sar_rice_rule(vh, OFF).rice_class.values.tolist() == [0, 0, 0, 0, 0, 0]


def test_the_start_harvest_reading_asks_for_the_drop_the_fallow_span_and_a_known_harvest():
    covers = _covers()
    paddy = covers[:, :1]
    # A drop of 3 dB from canopy to fallow is too small for 3.5 dB asked.
    assert sar_rice_rule(vh_points(paddy), SarRiceParams(start_harvest_db=3.5)).rice_class.values.tolist() == [0]
    # Cut at day 174, the fallow after the day-66 harvest is seen for less than start_fallow_days.
    assert sar_rice_rule(vh_points(paddy[:30]), ON).rice_class.values.tolist() == [0]
    assert sar_rice_rule(vh_points(paddy[:30]), SarRiceParams(start_harvest_db=2.0, start_fallow_days=90.0)
                         ).rice_class.values.tolist() == [1]
    # A canopy standing for 130 days from the first date is no rice crop's tail.
    late = np.full((50, 1), -17.0)
    late[:22, 0] = -14.0
    assert sar_rice_rule(vh_points(late), ON).rice_class.values.tolist() == [0]
    # A whole year (61 dates, days 0-360) would show a paddy's yearly flood: a canopy harvested at
    # its start and a fallow to its end is an upland field (year), and without a year's cycle the
    # reading is off.
    year = np.full((61, 1), -17.0)
    year[:12, 0] = paddy[:12, 0]
    assert sar_rice_rule(vh_points(year), ON).rice_class.values.tolist() == [0]
    no_cycle = SarRiceParams(start_harvest_db=2.0, cycle_year_days=None)
    assert sar_rice_rule(vh_points(paddy), no_cycle).rice_class.values.tolist() == [0]
    with pytest.raises(ConfigError, match="start_harvest_db"):
        SarRiceParams(start_harvest_db=0.0)
    with pytest.raises(ConfigError, match="start_fallow_days"):
        SarRiceParams(start_fallow_days=-1.0)
