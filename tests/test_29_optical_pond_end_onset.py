"""Optical rule: a pond's last flooded date before a crop rises is an onset (``pond_end_onset``).

The series are the clear dates of two interior pixels, as ``day:NDVI/LSWI/EVI`` (days after the first date). The
rice-shrimp field (``mekong_triple_sar``, whole year, seed 1) is a brackish pond from day 15 to day 230 (NDVI
-0.13 to 0.12, LSWI 0.05-0.38); on days 185-215 the drained, flushed field reads NDVI 0.09-0.12 with LSWI
0.05-0.08, Xiao's flood signal in its EVI form (EVI 0.04-0.05), so the flood never clears before the paddy's
water (day 255: NDVI 0.23, LSWI 0.27, young rice in water) and its canopy (days 305-320: NDVI 0.68-0.75, LSWI
0.31-0.34). The only other onset is day 285, a missed cloud shadow on that canopy (NDVI 0.56, EVI 0.17), which
``flood_shadow_ndvi`` no longer reads as a flood. The seasonal wetland (``monsoon_sparse_optical``, whole year,
seed 1) is flooded grass from day 200 to day 290, on most dates moist rather than under water (day 290: NDVI 0.16,
LSWI 0.08, the flood signal only through EVI 0.11), then regrows to NDVI 0.67: its spell's last date shows no standing water by NDVI, no onset.
"""

from __future__ import annotations

import xarray as xr

from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from pixel_stacks import optical_points

PIXELS = {
    "rice_shrimp": (
        "0:0.24/-0.07/0.15 15:-0.07/0.30/-0.02 20:-0.09/0.25/-0.05 30:-0.11/0.19/-0.05 35:-0.08/0.32/-0.03 "
        "40:-0.10/0.25/-0.05 65:-0.07/0.23/-0.02 70:-0.10/0.38/-0.04 80:-0.09/0.29/-0.03 90:-0.06/0.29/-0.02 "
        "110:-0.13/0.22/-0.05 120:-0.06/0.17/-0.03 130:-0.07/0.26/-0.04 140:-0.10/0.25/-0.04 155:-0.13/0.13/-0.05 "
        "170:-0.05/0.30/-0.02 185:0.09/0.08/0.04 200:0.12/0.05/0.05 210:0.01/0.13/0.00 215:0.10/0.06/0.04 "
        "230:-0.02/0.21/-0.01 255:0.23/0.27/0.14 265:0.35/0.26/0.32 285:0.56/0.41/0.17 305:0.68/0.31/0.47 "
        "310:0.75/0.34/0.55 320:0.71/0.34/0.53 340:0.38/-0.00/0.25 345:0.34/-0.04/0.21"),
    "seasonal_wetland": (
        "0:0.63/0.19/0.39 10:0.65/0.16/0.40 15:0.31/0.17/0.33 20:0.55/0.17/0.39 30:0.63/0.20/0.42 35:0.67/0.19/0.45 "
        "40:0.49/0.15/0.37 55:0.64/0.15/0.39 65:0.66/0.15/0.41 70:0.35/0.17/0.39 85:0.51/0.18/0.41 90:0.68/0.21/0.43 "
        "110:0.61/0.26/0.16 120:0.61/0.18/0.41 195:0.41/0.17/0.24 200:0.29/0.17/0.13 230:0.21/0.18/0.09 "
        "255:0.03/0.29/0.01 260:0.24/0.21/0.11 265:0.22/0.18/0.10 275:0.18/0.18/0.08 280:0.24/0.10/0.11 "
        "285:0.22/0.10/0.12 290:0.16/0.08/0.11 305:0.31/0.11/0.16 315:0.37/0.13/0.19 320:0.47/0.09/0.25 "
        "340:0.67/0.21/0.43 345:0.68/0.15/0.42"),
}
START = "2019-01-20"


def _run(**kw: object) -> xr.Dataset:
    return optical_rice_rule(optical_points(PIXELS, START), OpticalRiceParams(**kw))  # type: ignore[arg-type]


def test_the_pond_end_dates_the_rice_shrimp_crop_and_no_wetland() -> None:
    on = _run()
    assert on.rice_class.values.tolist() == [1, 0]
    # dated at the paddy's water, day 255 after 20 January (day of year 275), not at the shadow on its canopy
    assert on.n_seasons.values.tolist() == [1, 0]
    assert on.transplant_doy.values[0, 0] == 275
    # without it, the field's only dated flood is the shadow: none once the shadow is read, day 285 before
    assert _run(pond_end_onset=False).rice_class.values.tolist() == [0, 0]
    both_off = _run(pond_end_onset=False, flood_shadow_ndvi=False)
    assert both_off.rice_class.values.tolist() == [1, 0] and both_off.transplant_doy.values[0, 0] == 305


def test_the_pond_end_needs_standing_water_on_its_date() -> None:
    # the paddy's date without its water (LSWI 0.27 -> 0.10): the drained field's moist soil is no onset
    wet = PIXELS["rice_shrimp"]
    dry = wet.replace("255:0.23/0.27/0.14", "255:0.23/0.10/0.14")
    out = optical_rice_rule(optical_points({"wet": wet, "dry": dry}, START), OpticalRiceParams())
    assert out.n_seasons.values.tolist() == [1, 0]
