"""The SAR rule on a single-season paddy flooded in a 10-month series' last weeks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from pixel_stacks import vh_points


def _series(db_cols: np.ndarray, step: int = 6, start: str = "2023-01-03") -> xr.DataArray:
    return vh_points(db_cols, step, start)


def test_the_previous_crop_seen_after_its_heading_closes_the_year_of_a_fresh_flood():
    # 50 dates, 6 days apart (days 0-294). The paddy's previous crop, flooded a year before this
    # flood's first dark date (day 264), headed before the series starts: its canopy stands on the
    # first weeks only, then falls to the fallow; the new flood fills the last six passes. Read up
    # to heading alone (max_rise_days after day 264 - 365), the previous crop lies before the
    # first date. A dryland field with the same crop and no flood, a seasonal wetland whose grass
    # stands from the start for months, and a pond drained for a few weeks after open water on the
    # first dates (its bright spell starts inside the series: no crop standing at its start), then
    # the same flood, stay non-rice.
    fallow = np.full(50, -17.5)
    paddy = fallow.copy()
    paddy[0:6] = [-14.0, -14.0, -14.5, -15.0, -16.0, -17.0]
    paddy[44:50] = [-23.0, -23.5, -23.5, -23.0, -23.5, -23.0]
    dryland = paddy.copy()
    dryland[44:50] = -17.5
    wetland = np.full(50, -15.0)
    wetland[44:50] = paddy[44:50]
    pond = fallow.copy()
    pond[0:3] = -23.0
    pond[3:7] = [-15.0, -14.0, -14.0, -14.5]
    pond[44:50] = paddy[44:50]
    vh = _series(np.stack([paddy, dryland, wetland, pond], axis=1))
    # On by default the start-harvest reading (`start_harvest_db`) also takes the dryland field (a
    # canopy harvested at the start, fallow to the end, no flood read): this reading is tested without it.
    out = sar_rice_rule(vh, SarRiceParams(start_harvest_db=None))
    assert out.rice_class.values.tolist() == [1, 0, 0, 0]
    assert out.rice_score.values[0] > 0.6 and out.rice_score.values[3] < 0.4
    assert sar_rice_rule(vh).rice_class.values.tolist() == [1, 1, 0, 0]
    assert sar_rice_rule(vh, SarRiceParams(cycle_canopy_days=None, start_harvest_db=None)
                         ).rice_class.values.tolist() == [0, 0, 0, 0]
    with pytest.raises(ConfigError, match="cycle_canopy_days"):
        SarRiceParams(cycle_canopy_days=50.0)


def test_a_young_crop_after_rain_ponded_for_weeks_is_rice():
    # 50 dates, 6 days apart (days 0-294). A rainfed paddy holds the first rain for a month (open
    # water, -21 dB, days 228-258), is puddled (-23 dB) and transplanted; its young crop rises on
    # the last three passes. Its dark spell, about 60 days so far, is longer than a transplanting
    # flood's (young_flood_days, 45) but holds open water.
    paddy = np.full(50, -17.0)
    paddy[38:47] = [-21.0] * 6 + [-23.0] * 3
    paddy[47:50] = [-21.0, -18.5, -17.0]
    vh = _series(paddy[:, None])
    assert sar_rice_rule(vh).rice_class.values.tolist() == [1]
    # Without the ponded reading the spell is too long for a young crop's flood, as before; the
    # limit is a parameter (60 days are too long for 50).
    assert sar_rice_rule(vh, SarRiceParams(ponded_end_days=None)).rice_class.values.tolist() == [0]
    assert sar_rice_rule(vh, SarRiceParams(ponded_end_days=50.0)).rice_class.values.tolist() == [0]
