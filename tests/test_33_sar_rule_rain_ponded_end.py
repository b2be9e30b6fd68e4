"""The SAR rule on a single-season paddy that holds rain for weeks before its puddling flood in a
10-month series' last weeks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from pixel_stacks import vh_points


def _series(db_cols: np.ndarray, step: int = 6, start: str = "2023-01-03") -> xr.DataArray:
    return vh_points(db_cols, step, start)


def test_rain_ponded_before_puddling_at_the_series_end_closes_the_year_of_the_previous_crop():
    # 50 dates, 6 days apart (days 0-294). The previous crop stands on the first weeks, then the
    # field lies fallow; rain fills it from day 234 (11 passes, a 60-day spell to the series' end,
    # longer than young_flood_days), the puddling flood and the transplanting in its last weeks.
    # Its previous crop's puddling came as many days after that year's rain: read from the
    # spell's first date alone, one year before lies before the series.
    fallow = np.full(50, -17.5)
    paddy = fallow.copy()
    paddy[0:6] = [-14.0, -14.0, -14.5, -15.0, -16.0, -17.0]
    paddy[39:50] = [-21.0, -22.0, -22.5, -22.0, -22.5, -22.0, -23.5, -24.0, -24.5, -24.0, -23.0]
    # A seasonal wetland: grass standing from the start for months, then the same water.
    wetland = np.full(50, -15.0)
    wetland[39:50] = paddy[39:50]
    # Water for 120 days, longer than any pond before puddling: a floodplain's, not a paddy's.
    long_flood = paddy.copy()
    long_flood[29:39] = -22.0
    vh = _series(np.stack([paddy, wetland, long_flood], axis=1))
    out = sar_rice_rule(vh)
    assert out.rice_class.values.tolist() == [1, 0, 0]
    assert out.rice_score.values[0] > 0.6
    # The ponded rain's spell length takes the paddy in; without it the spell is too long for a
    # transplanting flood and the paddy is lost (without the start-harvest reading, which takes its
    # previous crop's harvest and the fallow after it, the rain's 60 days short of a wetland's water).
    off = sar_rice_rule(vh, SarRiceParams(ponded_end_days=None, start_harvest_db=None))
    assert off.rice_class.values.tolist() == [0, 0, 0]
    with pytest.raises(ConfigError, match="ponded_end_days"):
        SarRiceParams(ponded_end_days=30.0)


def test_the_previous_crop_is_read_as_many_days_later_as_the_whole_ponded_spell_allows():
    # 50 dates, 6 days apart (days 0-294). Rain fills the field from day 216 (a 72-day spell to the
    # series' end, within ponded_end_days): its puddling came about 27 days after the spell's first
    # date, and so did the previous crop's, whose canopy (smoothed) rises above vh_max_db only on
    # day 12, after a standing but lower start. Read one cycle before a day 27 days after the
    # spell's first date, it is seen; read from 20 days after (the longest lead of a 65-day spell),
    # it is not.
    paddy = np.full(50, -17.5)
    paddy[0:7] = [-17.2, -17.2, -16.0, -15.0, -15.0, -16.0, -17.0]
    paddy[36:50] = [-21.5, -21.0, -21.5, -21.0, -22.0, -22.5, -22.0, -22.5, -22.0, -23.5, -24.0, -24.5, -24.0, -23.0]
    vh = _series(paddy[:, None])
    assert sar_rice_rule(vh).rice_class.values.tolist() == [1]
    assert sar_rice_rule(vh, SarRiceParams(ponded_end_days=None)).rice_class.values.tolist() == [0]


def test_a_lotus_ponds_weeks_of_mud_are_no_previous_crop_of_a_long_flood_at_the_end():
    # 62 dates, 6 days apart (days 0-366). A lotus pond: water on the first weeks, a few weeks of
    # mud (a bright spell that starts inside the series), water again, leaves standing for five
    # months, then open water for the last 60 days. Read from the puddling's likely date after such
    # a spell, one year before reaches the mud; it stands on no first date, so it is no crop.
    lotus = np.full(62, -15.5)
    lotus[0:8] = -24.0
    lotus[8:11] = [-15.0, -14.5, -15.0]
    lotus[11:16] = [-25.0, -23.0, -22.0, -20.0, -18.0]
    lotus[50:52] = [-18.0, -20.0]
    lotus[52:62] = -23.0
    out = sar_rice_rule(_series(lotus[:, None]))
    assert out.rice_class.values.tolist() == [0]
    assert out.rice_score.values[0] < 0.4
