"""Optical rule: a direct-seeded field sown in the series' last weeks (``end_sown_rise``)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule

# a dry fallow seen every 10 days to day 230, then the last weeks' clear dates, five to eight days apart
_FALLOW_DAYS = list(range(0, 231, 10))
_END_DAYS = [237, 243, 250, 256, 263, 268, 275, 281]
_DRY = [(.24, -.04), (.22, -.05), (.26, -.04)]  # the fallow's last dates


def _points(tails: dict[str, list[tuple[float, float]]]) -> xr.Dataset:
    """(time, point) indices: the fallow (NDVI 0.22-0.26, LSWI -0.04/-0.05), then each tail's (NDVI, LSWI) on the
    last dates; EVI = 0.75 NDVI."""
    nd = [[.22 + .02 * (i % 3) for i in range(len(_FALLOW_DAYS))] + [t[0] for t in tail] for tail in tails.values()]
    ls = [[-.04 - .01 * (i % 2) for i in range(len(_FALLOW_DAYS))] + [t[1] for t in tail] for tail in tails.values()]
    time = np.datetime64("2023-01-01") + np.asarray(_FALLOW_DAYS + _END_DAYS).astype("timedelta64[D]")
    n, ls_ = np.asarray(nd, np.float32).T, np.asarray(ls, np.float32).T
    return xr.Dataset({"ndvi": (("time", "point"), n), "evi": (("time", "point"), n * np.float32(0.75)),
                       "lswi": (("time", "point"), ls_)}, coords={"time": time})


# The scenes' missed direct-seeded fields (docs/rice_rules.md, "A direct-seeded field sown in the series' last
# weeks"): the levelling flood's open water (NDVI below 0, below LSWI), the seed sown on saturated soil (NDVI
# 0.12-0.30, LSWI 0.0-0.1), the second flood under the first leaves (NDVI 0.2-0.3, LSWI 0.20-0.26), greening
_TAILS = {
    "direct_seeded": _DRY + [(-.06, .21), (.16, .06), (.19, .08), (.24, .22), (.28, .25)],
    # a pond's edge refilled after its drained bottom: water, mud, water and bund, no seedlings greening
    "pond_edge": _DRY + [(-.06, .21), (.18, .06), (.20, .08), (.21, .22), (.19, .25)],
    # no open water before the soil: a rain shower wetting a fallow or a tilled upland field
    "rain_on_fallow": _DRY + [(.20, .05), (.16, .06), (.19, .08), (.24, .22), (.28, .25)],
    # the water 38 days before the wet run: longer than a levelling, sowing and second flood take
    "old_water": [(.24, -.04), (-.06, .21), (.16, .06), (.19, .08), (.18, .06), (.20, .07), (.19, .08), (.28, .25)],
}


def test_a_direct_seeded_field_sown_in_the_last_weeks_is_rice_where_a_pond_edge_and_a_wet_fallow_are_not():
    ds = _points(_TAILS)
    # without the reading the second flood holds no open water and rises by less than end_flood_rise (0.10)
    assert optical_rice_rule(ds, OpticalRiceParams(end_sown_rise=None)).rice_class.values.tolist() == [0, 0, 0, 0]
    out = optical_rice_rule(ds)
    assert dict(zip(_TAILS, out.rice_class.values.tolist(), strict=True)) == {
        "direct_seeded": 1, "pond_edge": 0, "rain_on_fallow": 0, "old_water": 0}
    # undated: one season without a date
    assert out.n_seasons.values[0] == 1 and out.transplant_doy.values[0, 0] == 0
    # the run's rise over the sown soil (0.28 against 0.19) decides: at 0.10 the field is missed
    assert optical_rice_rule(ds, OpticalRiceParams(end_sown_rise=0.10)).rice_class.values.tolist()[0] == 0
    # the levelling flood 19 days before the run: inside 8-30 days, outside 8-15
    assert optical_rice_rule(ds, OpticalRiceParams(end_sown_max_days=15.0)
                             ).rice_class.values.tolist()[0] == 0
    # and the old water enters when the span allows its 38 days
    assert optical_rice_rule(ds, OpticalRiceParams(end_sown_max_days=40.0)
                             ).rice_class.values.tolist() == [1, 0, 0, 1]


def test_the_sown_reading_is_checked():
    with pytest.raises(ConfigError, match=r"end_sown_rise=-0.05: must be >= 0"):
        OpticalRiceParams(end_sown_rise=-0.05)
    with pytest.raises(ConfigError, match="end_sown_min_days <= end_sown_max_days"):
        OpticalRiceParams(end_sown_min_days=40.0)
