"""Optical rule: under a cloud shadow the scene classification missed, the flood signal holds only in its NDVI form
(``flood_shadow_ndvi``, on by default).

The series are the clear dates of two interior pixels of ``monsoon_sparse_optical`` (whole year, seed 0), as
``day:NDVI/LSWI/EVI`` (days from 1 January). The dryland crop is bare and dry until its sowing; on day 170 a shadow
darkens its sown soil (NDVI 0.09, EVI 0.02, LSWI -0.01: EVI below 0.4 x NDVI), which passes Xiao's flood signal in
its EVI form only; the crop then grows over drained soil (day 190: NDVI 0.30, LSWI 0.07) to a canopy of 0.64-0.74
(LSWI 0.23-0.25), and no clear date in the ten days after the "flood" can refute it. The paddy's flood stands on
day 190 (NDVI -0.08, LSWI 0.28) and is seen again on day 205 under a shadow (NDVI 0.13, EVI 0.05): its LSWI 0.35
is above its NDVI, the water read whatever the light.
"""

from __future__ import annotations

import xarray as xr

from agromap.rice.optical_kernel_layout import F_FLOOD_SHADOW, kernel_parameters
from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from pixel_stacks import optical_points

PIXELS = {
    "dryland_crop": (
        "5:0.21/-0.08/0.13 10:0.19/-0.07/0.12 15:0.17/-0.05/0.12 20:0.21/-0.09/0.13 30:0.13/-0.08/0.10 "
        "35:0.22/-0.09/0.14 40:0.08/-0.03/0.03 45:0.09/-0.02/0.03 50:0.20/-0.09/0.13 85:0.21/-0.08/0.13 "
        "95:0.18/-0.10/0.11 105:0.21/-0.03/0.12 115:0.20/-0.06/0.12 130:0.19/-0.07/0.11 150:0.17/-0.03/0.08 "
        "170:0.09/-0.01/0.02 190:0.30/0.07/0.21 205:0.64/0.23/0.44 235:0.74/0.25/0.55 275:0.26/-0.05/0.17 "
        "285:0.21/-0.05/0.12 295:0.09/0.03/0.05 310:0.19/-0.08/0.12 335:0.18/-0.09/0.12 345:0.21/-0.07/0.14 "
        "350:0.19/-0.10/0.11 360:0.22/-0.11/0.14"),
    "paddy": (
        "5:0.30/-0.06/0.21 10:0.26/-0.06/0.16 15:0.23/-0.02/0.18 20:0.25/-0.05/0.16 30:0.21/-0.07/0.16 "
        "35:0.30/-0.08/0.19 45:0.16/0.01/0.16 50:0.29/-0.04/0.19 70:0.28/-0.08/0.18 80:0.20/-0.02/0.15 "
        "85:0.26/-0.09/0.17 115:0.15/0.02/0.15 130:0.25/-0.08/0.15 150:0.29/-0.03/0.15 190:-0.08/0.28/-0.04 "
        "205:0.13/0.35/0.05 235:0.79/0.35/0.60 275:0.73/0.30/0.58 285:0.40/0.15/0.40 295:0.33/-0.06/0.23 "
        "310:0.27/-0.05/0.16 320:0.29/-0.08/0.19 335:0.19/-0.02/0.06 345:0.26/-0.07/0.19 350:0.18/-0.02/0.15 "
        "360:0.28/-0.06/0.18"),
}


def _run(**kw: object) -> xr.Dataset:
    return optical_rice_rule(optical_points(PIXELS, "2022-01-01"), OpticalRiceParams(**kw))  # type: ignore[arg-type]


def test_a_shadowed_sown_soil_is_no_flood_and_a_shadowed_paddy_still_is() -> None:
    off = _run(flood_shadow_ndvi=False)
    assert off.rice_class.values.tolist() == [1, 1]  # both forms on every date: the dryland crop is rice
    on = _run()  # on by default
    assert on.rice_class.values.tolist() == [0, 1]
    assert on.n_seasons.values.tolist() == [0, 1]
    # the paddy's season and date do not move
    assert on.transplant_doy.values[:, 1].tolist() == off.transplant_doy.values[:, 1].tolist()
    assert on.transplant_doy.values[0, 1] > 0


def test_the_reading_needs_the_shadow_test() -> None:
    # without wet_canopy_evi_ratio no date reads as shadowed: the switch is off in the kernel, and no error
    assert kernel_parameters(OpticalRiceParams())[1][F_FLOOD_SHADOW] == 1
    assert kernel_parameters(OpticalRiceParams(wet_canopy_evi_ratio=None))[1][F_FLOOD_SHADOW] == 0
