"""The SAR rule on a paddy whose crop grows out of months of river flood (a deep-flooded delta)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from pixel_stacks import vh_points


def _series(db_cols: np.ndarray, step: int = 6, start: str = "2023-07-04") -> xr.DataArray:
    return vh_points(db_cols, step, start)


def _flood_then(after: list[float]) -> np.ndarray:
    # 50 dates, 6 days apart: the previous crop's canopy and harvest, the river rising (days 60-66)
    # and standing on the field for about four months (to day 180), then what grows after it. The
    # water's level ripples by a dB (wind, the two tracks): its darkest passes come every six weeks.
    flood = [-22.0, -23.0, -23.5, -23.0, -22.0, -22.5, -22.0] * 3
    before = [-14.0] * 6 + [-15.0, -16.0, -16.5, -17.0, -19.0, -21.0] + flood[:19]
    return np.array(before + after + [after[-1]] * (50 - len(before) - len(after)))


def test_a_crop_after_months_of_river_flood_is_rice_but_a_regrown_wetland_is_not():
    # The paddy: transplanted as the water goes, its young crop dark for a month, a rice canopy
    # (-13.5 dB) for about seven weeks, then harvest (stubble, -16.5 dB) to the series' end: a dark
    # spell of about 130 days, well over max_flood_days and max_ponded_days.
    paddy = _flood_then([-21.0, -19.5, -18.0, -16.5, -15.0, -14.0] + [-13.5] * 8 + [-16.5])
    # A seasonal wetland after the same flood: its grass regrows as fast and stands to the end.
    wetland = _flood_then([-21.0, -19.5, -18.0, -16.5, -15.0, -14.0] + [-13.5])
    # The same, regrowing only to the sedge level of a wetland (-16 dB), then drying a little.
    sedge = _flood_then([-21.0, -19.5, -18.0, -17.0, -16.0] + [-15.8] * 8 + [-17.0])
    vh = _series(np.stack([paddy, wetland, sedge], axis=1))
    out = sar_rice_rule(vh)
    assert out.rice_class.values.tolist() == [1, 0, 0]
    assert out.rice_score.values[0] > 0.6
    # The season is dated at a darkest pass of the river's water (days 60-180), one season only.
    day = int(out.transplant_doy.values[0, 0]) - int(pd.Timestamp("2023-07-04").day_of_year)
    assert 60 <= day <= 180 and int(out.n_seasons.values[0]) == 1
    # Without the river reading the long spell refutes the paddy, as before.
    assert sar_rice_rule(vh, SarRiceParams(river_flood_days=None)).rice_class.values.tolist() == [0, 0, 0]
    # The limit is a parameter: a spell of about 130 days is too long for 110.
    assert sar_rice_rule(vh, SarRiceParams(river_flood_days=110.0)).rice_class.values.tolist() == [0, 0, 0]


def test_the_long_spell_limits_are_checked():
    for name in ("river_flood_days", "ponded_end_days"):
        with pytest.raises(ConfigError, match=name):
            SarRiceParams(**{name: 0.0})
        assert getattr(SarRiceParams(**{name: None}), name) is None
