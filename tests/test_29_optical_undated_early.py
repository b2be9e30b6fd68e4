"""Optical rule: the undated evidence's flood must stand in the field for days, not drain under a crop
(``undated_flood_stands``).

The series are the clear dates of two interior pixels of ``wetland_confusion`` (10-month series, calendar 120 days
later, seed 0), as ``day:NDVI/LSWI/EVI`` (days from the series' first date). The dryland crop is bare and dry
for eight months, wet once on day 180 (a rain puddle: NDVI 0.14, LSWI 0.09), then its soil reads the flood signal
on day 255 (NDVI 0.34, LSWI 0.13, EVI 0.17) under a crop already emerging: ten days later NDVI 0.51 over
drained soil (LSWI 0.13, EVI 0.33: no flood signal), 0.63 on day 270. No dated onset is confirmed (vegetation within
``early_ndvi_days`` of the flood), but the undated evidence took the canopy within two clear dates of that flood.
The paddy is flooded from day 250 to 275 (NDVI -0.19 to 0.25, LSWI 0.25-0.32: every date in the flood's first ten
days still in water) and its canopy stands in water on
day 290; NDVI 0.53 follows its last flooded date within ten days too, but that young crop still stands in water
(LSWI 0.36, the flood signal).
"""

from __future__ import annotations

import xarray as xr

from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from pixel_stacks import optical_points

PIXELS = {
    "dryland_crop": (
        "0:0.25/-0.05/0.17 5:0.31/-0.09/0.20 10:0.20/-0.08/0.12 25:0.18/-0.08/0.11 40:0.15/-0.01/0.14 "
        "45:0.20/-0.10/0.13 55:0.21/-0.11/0.13 60:0.19/-0.09/0.12 65:0.18/-0.09/0.12 75:0.22/-0.06/0.14 "
        "80:0.19/-0.08/0.12 95:0.13/-0.03/0.11 100:0.20/-0.07/0.13 105:0.23/-0.06/0.14 110:0.15/-0.03/0.11 "
        "125:0.10/0.02/0.02 150:0.23/-0.04/0.13 155:0.22/-0.04/0.13 160:0.21/-0.04/0.12 180:0.14/0.09/0.07 "
        "210:0.19/-0.06/0.11 250:0.24/0.01/0.14 255:0.34/0.13/0.17 265:0.51/0.13/0.33 270:0.63/0.25/0.37 "
        "275:0.61/0.19/0.42 290:0.76/0.22/0.56"),
    "paddy": (
        "0:0.24/-0.08/0.15 10:0.27/-0.04/0.17 15:0.27/-0.11/0.17 25:0.25/-0.05/0.16 40:0.25/-0.08/0.17 "
        "55:0.29/-0.10/0.20 70:0.25/-0.09/0.15 75:0.26/-0.08/0.17 80:0.28/-0.08/0.18 95:0.31/-0.05/0.19 "
        "100:0.26/-0.06/0.16 110:0.22/-0.04/0.16 125:0.24/-0.03/0.12 130:0.20/-0.04/0.11 135:0.23/0.00/0.12 "
        "155:0.31/0.01/0.18 160:0.33/0.06/0.20 180:0.38/0.19/0.25 205:0.44/0.26/0.24 210:0.43/0.24/0.23 "
        "250:-0.19/0.26/-0.06 255:-0.06/0.30/-0.02 265:-0.08/0.25/-0.03 270:0.09/0.28/0.03 275:0.25/0.32/0.11 "
        "285:0.53/0.36/0.29 290:0.66/0.34/0.42"),
}


def _run(**kw: object) -> xr.Dataset:
    kw = {"undated_flood_stands": True, **kw}
    return optical_rice_rule(optical_points(PIXELS, "2019-01-18"), OpticalRiceParams(**kw))  # type: ignore[arg-type]


def test_a_flood_under_an_emerging_dryland_crop_is_no_undated_paddy_flood() -> None:
    out = _run()
    assert out.rice_class.values.tolist() == [0, 1]
    assert out.n_seasons.values.tolist() == [0, 1]
    # without the term the dryland crop is rice by the undated evidence alone (no dated season)
    off = _run(undated_flood_stands=False)
    assert off.rice_class.values.tolist() == [1, 1]
    assert off.n_seasons.values.tolist() == [1, 1]
    assert (off.transplant_doy.values == 0).all()
    # the paddy's score does not move: its young crop stands in water
    assert out.rice_score.values[1] == off.rice_score.values[1]
    # on by default
    default = optical_rice_rule(optical_points(PIXELS, "2019-01-18"))
    assert default.rice_class.values.tolist() == [0, 1]


def test_the_term_needs_the_early_window() -> None:
    # without early_ndvi_days there is no window to read the vegetation in: the dryland crop is rice again
    assert _run(early_ndvi_days=None).rice_class.values.tolist() == [1, 1]


# Paddies of the optical stress sweep's dense tables (``dates 20`` seeds 0 and 2, ``dates 30`` seed 0; days from
# the series' first date, 2023-01-06), transplanted in the first weeks and drained 20 days later, their second
# season hidden in the gap of days 75-175. No dated onset (the series starts in the flood): the undated evidence
# maps them, the flood's window reaching the canopy after the gap. The last flooded date of each flood is
# followed within ``early_ndvi_days`` by drained soil: day 14 by day 20 (NDVI 0.13, LSWI -0.01); day 20, after
# days 0 and 7, by day 27 (LSWI 0.09); day 31, the flood signal on the young crop nine days after the flood's
# date 22, by day 35 (LSWI 0.17). Each follows a flooded date that opened the window (the previous clear date,
# or within ``early_ndvi_days``): the flood stood, and its drainage is no refutation.
STANDING = {
    "two_dates_then_drained": (
        "0:0.04/0.33/0.03 14:0.08/0.36/0.06 20:0.13/-0.01/0.10 27:0.38/0.11/0.29 34:0.54/0.22/0.41 "
        "41:0.63/0.27/0.47 48:0.75/0.31/0.56 55:0.71/0.25/0.53 61:0.73/0.25/0.55 68:0.77/0.31/0.58 "
        "75:0.70/0.28/0.53 175:0.78/0.30/0.58 183:0.77/0.31/0.58 190:0.81/0.32/0.60 197:0.75/0.28/0.56 "
        "205:0.79/0.32/0.59 220:0.28/-0.11/0.21 359:0.29/-0.07/0.22"),
    "three_dates_then_drained": (
        "0:0.09/0.22/0.07 7:0.14/0.23/0.10 20:0.08/0.23/0.06 27:0.27/0.09/0.20 34:0.22/-0.02/0.17 "
        "41:0.46/0.24/0.35 48:0.60/0.18/0.45 55:0.67/0.24/0.50 61:0.79/0.25/0.59 68:0.82/0.30/0.62 "
        "75:0.78/0.30/0.58 175:0.75/0.31/0.56 183:0.70/0.31/0.53 190:0.73/0.31/0.55 197:0.75/0.31/0.56 "
        "205:0.78/0.34/0.59 220:0.28/-0.10/0.21 350:0.33/-0.08/0.25 359:0.29/-0.05/0.22"),
    "young_crop_wet_after_the_flood": (
        "0:0.12/0.30/0.09 4:0.10/0.33/0.08 9:0.05/0.29/0.04 13:0.07/0.36/0.05 18:0.12/0.33/0.09 "
        "22:0.05/0.39/0.04 26:0.11/-0.01/0.09 31:0.23/0.16/0.18 35:0.40/0.17/0.30 40:0.40/0.21/0.30 "
        "44:0.54/0.26/0.41 49:0.54/0.23/0.41 53:0.61/0.29/0.46 57:0.69/0.27/0.52 62:0.75/0.26/0.56 "
        "66:0.72/0.28/0.54 71:0.76/0.30/0.57 75:0.73/0.30/0.55 175:0.76/0.22/0.57 179:0.80/0.31/0.60 "
        "189:0.89/0.28/0.67 193:0.89/0.30/0.67 197:0.90/0.29/0.67 202:0.86/0.34/0.64 207:0.46/0.20/0.34 "
        "215:0.86/0.31/0.65 220:0.25/-0.16/0.19 350:0.26/-0.09/0.19 359:0.23/-0.16/0.17"),
}


def test_a_flood_that_stood_keeps_its_window_through_its_drained_last_date() -> None:
    ds = optical_points(STANDING, "2023-01-06")
    on = optical_rice_rule(ds, OpticalRiceParams(undated_flood_stands=True))
    off = optical_rice_rule(ds, OpticalRiceParams(undated_flood_stands=False))
    assert off.rice_class.values.tolist() == [1, 1, 1]
    assert on.rice_class.values.tolist() == [1, 1, 1]
    assert (on.rice_score.values == off.rice_score.values).all()


# A direct-seeded paddy of ``mekong_triple_sar`` (10-month series, calendar 60 days later, seed 2; days from the
# series' first date): its second season's field is open water on day 175 (NDVI -0.10, LSWI 0.16), then soil
# drained for sowing on day 185 (NDVI 0.13, LSWI -0.03), its canopy after the gap (days 220-250).
OPEN_WATER = (
    "0:0.59/0.14/0.43 10:0.27/-0.06/0.20 15:-0.08/0.15/-0.04 30:0.10/-0.00/0.06 40:0.15/0.25/0.08 "
    "45:0.20/0.18/0.13 50:0.41/0.24/0.22 55:0.51/0.26/0.31 75:0.70/0.32/0.60 85:0.76/0.33/0.60 100:0.80/0.36/0.61 "
    "115:0.55/0.07/0.38 120:0.44/0.00/0.30 125:0.36/-0.07/0.23 145:0.28/-0.04/0.17 155:0.29/-0.06/0.19 "
    "175:-0.10/0.16/-0.04 185:0.13/-0.03/0.06 220:0.68/0.35/0.54 240:0.78/0.35/0.63 250:0.76/0.29/0.59 "
    "270:0.32/-0.07/0.21 285:-0.16/0.20/-0.06 295:0.10/-0.02/0.04")


def test_open_water_over_the_whole_field_is_a_paddy_flood_even_drained_within_days() -> None:
    # NDVI at most ``hidden_open_water_ndvi`` (0) below LSWI: the field under water from bund to bund, which rain on
    # an upland field does not make; the drained soil after it refutes nothing
    ds = optical_points({"paddy": OPEN_WATER}, "2020-03-01")
    on = optical_rice_rule(ds, OpticalRiceParams(undated_flood_stands=True))
    off = optical_rice_rule(ds, OpticalRiceParams(undated_flood_stands=False))
    assert on.rice_score.values[0] == off.rice_score.values[0] > 0.8
    # with no open-water bar the drained soil refutes the flood: the pixel only hesitates
    bar_off = optical_rice_rule(ds, OpticalRiceParams(hidden_open_water_ndvi=None))
    assert bar_off.rice_score.values[0] < off.rice_score.values[0]
