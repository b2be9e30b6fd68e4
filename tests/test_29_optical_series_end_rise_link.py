"""Optical rule: the flood at the series' end after the monsoon's cloud gap, its young crop greening in the water
(``end_flood_rise_link``): the dry fallow may be seen up to ``gap_season_max_gap`` days before the flood.

The paddy is the clear dates of one interior pixel of ``wetland_confusion`` (10-month series, calendar 120 days
later, seed 2), as ``day:NDVI/LSWI/EVI`` (days from the series' first date).
"""

from __future__ import annotations

import pytest
import xarray as xr

from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from pixel_stacks import optical_points

# the fallow last seen on day 130, a shallow flood on day 225, open water on days 260-275 (130 days after the
# fallow), the young crop at NDVI 0.45 in the water on the last clear date
_FALLOW = ("0:0.31/-0.04/0.21 10:0.26/-0.06/0.18 15:0.27/-0.07/0.18 20:0.29/-0.07/0.19 25:0.26/-0.09/0.16 "
           "30:0.25/-0.05/0.17 40:0.23/-0.08/0.15 65:0.27/-0.05/0.18 75:0.27/-0.07/0.19 80:0.22/-0.01/0.19 "
           "85:0.25/-0.09/0.17 95:0.28/-0.07/0.18 100:0.28/-0.07/0.18 105:0.32/-0.05/0.20 110:0.24/-0.02/0.18 "
           "125:0.29/-0.02/0.17 130:0.29/-0.04/0.18 ")
PIXELS = {
    "gap_paddy": _FALLOW + "225:0.01/0.12/0.01 260:-0.14/0.37/-0.05 265:-0.06/0.27/-0.02 270:-0.05/0.33/-0.02 "
                           "275:-0.08/0.22/-0.03 290:0.45/0.37/0.25",
    # the same fallow, a pond refilled after the gap: under water to the last date, no crop greens in it
    "gap_pond": _FALLOW + "225:0.01/0.12/0.01 260:-0.14/0.37/-0.05 265:-0.06/0.27/-0.02 270:-0.05/0.33/-0.02 "
                          "275:-0.08/0.22/-0.03 290:0.05/0.30/0.02",
    # algae greening in the pond, but not above bare soil (NDVI 0.25 < ndvi_low)
    "gap_algae": _FALLOW + "225:0.01/0.12/0.01 260:-0.14/0.37/-0.05 265:-0.06/0.27/-0.02 270:-0.05/0.33/-0.02 "
                           "275:-0.08/0.22/-0.03 290:0.25/0.30/0.12",
}


def _points(series: dict[str, str]) -> xr.Dataset:
    return optical_points(series, "2019-05-01")


def _rice(series: dict[str, str], **kw: object) -> dict[str, int]:
    out = optical_rice_rule(_points(series), OpticalRiceParams(**kw))  # type: ignore[arg-type]
    return dict(zip(series, out.rice_class.values.tolist(), strict=True))


def test_a_young_crop_in_the_flood_after_the_gap_links_the_fallow_seen_130_days_before() -> None:
    assert _rice({"gap_paddy": PIXELS["gap_paddy"]}) == {"gap_paddy": 1}
    # without the switch, the fallow lies 130 days before the run, beyond end_flood_link_days (100)
    assert _rice({"gap_paddy": PIXELS["gap_paddy"]}, end_flood_rise_link=False) == {"gap_paddy": 0}
    # nor beyond the longest gap a season hides (gap_season_max_gap)
    assert _rice({"gap_paddy": PIXELS["gap_paddy"]}, gap_season_max_gap=125.0) == {"gap_paddy": 0}


@pytest.mark.parametrize("name", ["gap_pond", "gap_algae"])
def test_a_pond_refilled_after_the_gap_stays_non_rice(name: str) -> None:
    assert _rice({name: PIXELS[name]}) == {name: 0}
