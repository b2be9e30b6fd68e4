"""Optical rule: a harvest on drained soil between two canopies standing in water ends the green spell
(``green_harvest_lswi``), so a double-cropped paddy is not masked as perennial vegetation.

The paddy is the clear dates of one interior pixel of ``wetland_confusion`` (10-month series, calendar 60 days
later, seed 1), as ``day:NDVI/LSWI/EVI`` (days from the series' first date): its first crop is puddled on day 90,
stands in water from day 130 to 170, is drained and harvested by day 185 (NDVI still 0.54, LSWI 0.08), and the
second crop's canopy stands in water from day 235 on. Canopy dates at most ``green_link_days`` apart from day 130
to 260 make one green spell of 130 days, longer than ``max_green_days`` (120), without the harvest.
"""

from __future__ import annotations

import pytest
import xarray as xr

from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from pixel_stacks import optical_points

_FIRST = ("0:0.27/-0.07/0.18 10:0.27/-0.09/0.17 15:0.26/-0.09/0.16 25:0.24/-0.08/0.14 30:0.28/-0.06/0.18 "
          "60:0.30/-0.04/0.19 65:0.24/-0.08/0.15 90:-0.21/0.29/-0.07 100:-0.10/0.31/-0.03 130:0.61/0.35/0.37 "
          "155:0.82/0.36/0.66 165:0.73/0.37/0.61 170:0.72/0.37/0.61 ")
PIXELS = {
    "double_crop": _FIRST + "185:0.54/0.08/0.38 235:0.68/0.34/0.45 245:0.81/0.35/0.60 250:0.77/0.40/0.25 "
                            "260:0.83/0.37/0.63",
    # the same first crop, the date after it moist (LSWI 0.15): a canopy that did not drain, no harvest
    "moist_canopy": _FIRST + "185:0.54/0.15/0.38 235:0.68/0.34/0.45 245:0.81/0.35/0.60 250:0.77/0.40/0.25 "
                             "260:0.83/0.37/0.63",
    # the same drained date, the canopy after it over drained soil too (LSWI 0.15-0.18): an orchard's or a
    # wetland grass's canopy that stays green, no second crop standing in water
    "dry_canopy_after": _FIRST + "185:0.54/0.08/0.38 235:0.68/0.15/0.45 245:0.81/0.16/0.60 250:0.77/0.18/0.25 "
                                 "260:0.83/0.17/0.63",
}


def _points(series: dict[str, str]) -> xr.Dataset:
    return optical_points(series, "2019-01-16")


def _run(series: dict[str, str], **kw: object) -> xr.Dataset:
    return optical_rice_rule(_points(series), OpticalRiceParams(**kw))  # type: ignore[arg-type]


def test_a_harvest_on_drained_soil_ends_the_green_spell_of_a_double_crop() -> None:
    out = _run({"double_crop": PIXELS["double_crop"]})
    assert out.rice_class.values.tolist() == [1]
    # the first crop's flood on day 90 is its dated season
    assert out.transplant_doy.values[0].tolist() == [16 + 90]
    # without the term, the canopy dates from day 130 to 260 make one 130-day spell: perennial vegetation
    assert _run({"double_crop": PIXELS["double_crop"]}, green_harvest_lswi=None).rice_class.values.tolist() == [0]


@pytest.mark.parametrize("name", ["moist_canopy", "dry_canopy_after"])
def test_a_green_date_that_is_no_harvest_between_canopies_in_water_keeps_the_spell(name: str) -> None:
    assert _run({name: PIXELS[name]}).rice_class.values.tolist() == [0]
