"""Optical rice rule: the flood at the series' end and the water mask, its turbid first days, a second crop's flood
after a cloud gap and after the first crop's canopy (``end_flood_not_water``, ``end_flood_turbid_water``,
``end_flood_turbid_link``, ``end_reflood``, ``end_flood_after_canopy``).

The series are the clear dates of single pixels of ``wetland_confusion`` (10-month series, calendar 120 days later;
seed 2) and ``mekong_triple_sar`` (seed 1), as ``day:NDVI/LSWI/EVI``.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule

PIXELS = {
    # a paddy ponded and puddled at the end (days 282-307), a first flood on days 142-147: 5 of 22 dates open water
    "ponded_paddy": "17:0.51/0.06/0.36 27:0.33/-0.09/0.22 32:0.32/-0.04/0.22 37:0.31/-0.07/0.20 42:0.28/-0.06/0.19 "
                    "47:0.23/-0.09/0.15 57:0.32/-0.05/0.23 82:0.28/-0.09/0.18 92:0.19/-0.04/0.17 97:0.25/-0.11/0.16 "
                    "107:0.20/0.02/0.19 112:0.18/-0.00/0.05 117:0.29/-0.08/0.18 122:0.31/-0.06/0.20 "
                    "142:-0.24/0.27/-0.08 147:-0.06/0.28/-0.02 242:0.40/0.08/0.34 277:0.13/-0.04/0.06 "
                    "282:-0.20/0.27/-0.07 287:-0.15/0.34/-0.05 302:-0.06/0.30/-0.03 307:0.13/0.34/0.05",
    # the flood's open water on its turbid first dates (302-307), seedlings in water on the last (NDVI 0.04)
    "turbid_paddy": "17:0.63/0.18/0.47 22:0.45/0.06/0.35 27:0.28/0.02/0.09 32:0.26/-0.09/0.17 37:0.27/-0.08/0.17 "
                    "42:0.29/-0.07/0.19 47:0.29/-0.08/0.19 57:0.30/-0.05/0.20 67:0.26/-0.07/0.17 77:0.20/-0.02/0.17 "
                    "82:0.28/-0.09/0.17 92:0.28/-0.08/0.19 97:0.28/-0.09/0.18 102:0.19/0.00/0.06 117:0.22/-0.01/0.19 "
                    "122:0.24/-0.09/0.14 142:0.31/-0.01/0.18 147:0.30/-0.03/0.17 242:0.15/0.06/0.14 "
                    "277:0.03/0.06/0.01 282:0.06/0.08/0.02 302:-0.04/0.28/-0.02 307:-0.11/0.17/-0.04 "
                    "312:0.04/0.33/0.02",
    # the fallow last seen on day 182, a shallow first flood on day 277 (LSWI 0.11), the run from day 287: 105 days
    "late_link_paddy": "17:0.70/0.22/0.51 27:0.41/-0.04/0.27 32:0.43/-0.02/0.28 37:0.24/-0.09/0.15 "
                       "42:0.27/-0.10/0.17 47:0.29/-0.07/0.19 52:0.24/-0.08/0.15 57:0.30/-0.08/0.19 "
                       "62:0.29/-0.05/0.19 67:0.26/-0.06/0.17 82:0.16/-0.02/0.15 97:0.30/-0.07/0.19 "
                       "117:0.20/0.02/0.06 122:0.27/-0.05/0.17 127:0.19/-0.02/0.14 142:0.33/-0.01/0.17 "
                       "147:0.27/-0.07/0.15 167:0.30/-0.04/0.18 182:0.30/-0.06/0.18 277:0.06/0.11/0.02 "
                       "287:-0.20/0.34/-0.07 302:-0.05/0.32/-0.03 307:-0.10/0.27/-0.03 312:-0.04/0.27/-0.02",
    # two crops: the first flood (142-182), its canopy hidden in a 95-day gap, the second flood and its young crop
    "second_crop": "17:0.47/0.04/0.31 22:0.35/-0.03/0.28 27:0.30/-0.08/0.20 32:0.28/-0.07/0.18 37:0.27/-0.08/0.17 "
                   "42:0.24/-0.11/0.14 47:0.24/-0.10/0.15 57:0.28/-0.07/0.17 67:0.28/-0.03/0.19 82:0.28/-0.10/0.18 "
                   "92:0.30/-0.05/0.20 97:0.19/-0.00/0.17 122:0.30/-0.08/0.19 142:-0.04/0.03/-0.01 "
                   "147:0.03/0.07/0.01 182:-0.05/0.36/-0.02 277:-0.12/0.37/-0.04 282:-0.13/0.29/-0.04 "
                   "287:-0.04/0.22/-0.02 302:0.22/0.31/0.14 307:0.36/0.28/0.18 312:0.42/0.33/0.32",
    # two crops, the first one's canopy seen in water on day 242 (LSWI 0.30), then the second one's puddling
    "after_canopy": "17:0.30/-0.08/0.19 22:0.10/0.03/0.04 27:0.30/-0.06/0.20 32:0.29/-0.07/0.19 "
                    "37:0.26/-0.09/0.17 47:0.27/-0.06/0.17 52:0.28/-0.07/0.17 57:0.30/-0.07/0.19 72:0.13/0.01/0.14 "
                    "82:0.26/-0.07/0.15 102:0.28/-0.10/0.17 112:0.24/-0.10/0.14 117:0.28/-0.05/0.16 "
                    "122:0.15/0.02/0.16 147:0.02/0.11/0.01 182:0.43/0.35/0.20 242:0.73/0.30/0.52 "
                    "277:-0.16/0.33/-0.05 282:-0.07/0.34/-0.02 287:-0.03/0.20/-0.02 292:-0.03/0.35/-0.01 "
                    "307:0.44/0.33/0.22",
    # an aquaculture pond with algae (NDVI 0.1-0.2) under water, drained on days 102-122: no crop greens in it
    "algae_pond": "17:0.14/0.33/0.05 27:0.17/0.25/0.07 32:0.17/0.29/0.07 37:0.14/0.23/0.06 42:0.12/0.30/0.05 "
                  "47:0.17/0.25/0.07 57:0.14/0.25/0.06 62:0.14/0.25/0.08 77:0.14/0.34/0.06 82:0.14/0.23/0.06 "
                  "97:0.14/0.23/0.06 102:0.13/0.09/0.12 112:0.29/0.05/0.15 117:0.24/-0.08/0.16 "
                  "122:0.26/-0.08/0.17 127:0.06/0.22/0.03 142:0.10/0.20/0.04 147:0.09/0.24/0.03 "
                  "167:0.18/0.31/0.07 277:0.15/0.31/0.06 287:0.17/0.26/0.07 302:-0.07/0.28/-0.01 "
                  "307:0.12/0.20/0.05 312:0.10/0.31/0.05",
    # a pond drained until day 62 and under water from day 92 to the end: a flood of 215 days
    "refilled_pond": "17:0.23/0.01/0.12 27:0.27/0.02/0.14 32:0.22/-0.01/0.10 37:0.18/-0.04/0.08 42:0.21/-0.10/0.15 "
                     "47:0.23/-0.08/0.15 57:0.22/-0.10/0.16 62:0.17/-0.11/0.12 92:0.04/0.31/0.01 "
                     "97:0.06/0.30/0.02 102:0.06/0.30/0.02 112:0.02/0.30/0.01 117:0.05/0.20/0.04 "
                     "122:0.07/0.35/0.03 127:-0.01/0.26/-0.01 142:0.00/0.29/0.00 147:0.01/0.24/0.01 "
                     "242:-0.08/0.23/-0.03 277:-0.03/0.19/-0.01 282:0.04/0.23/0.01 287:0.01/0.27/0.01 "
                     "292:-0.00/0.22/-0.00 307:0.01/0.26/0.00",
    # a pond drained once (day 250) and refilled 30 days before the end; open water on 4 of its 18 dates before
    "drained_pond": "20:0.16/0.27/0.06 30:0.11/0.22/0.04 35:0.12/0.22/0.05 40:0.09/0.26/0.05 50:0.23/0.01/0.12 "
                    "55:0.26/0.06/0.13 60:0.17/0.07/0.11 85:0.09/0.22/0.03 90:0.12/0.20/0.05 115:0.12/0.22/0.05 "
                    "140:0.12/0.20/0.06 175:0.11/0.23/0.04 180:0.12/0.24/0.06 190:0.13/0.23/0.05 "
                    "205:0.02/0.30/0.00 215:0.12/0.24/0.06 220:0.05/0.21/0.03 250:0.23/-0.08/0.16 "
                    "280:-0.04/0.34/-0.01 285:0.13/0.28/0.05 295:0.12/0.22/0.05 300:0.12/0.22/0.05",
}


# the wetland scene's acquisition days (seed 2): the cloudy ones are NaN in every series read there
_AXIS = [17, 22, 27, 32, 37, 42, 47, 52, 57, 62, 67, 72, 77, 82, 92, 97, 102, 107, 112, 117, 122, 127, 142, 147, 157, 162,
         167, 182, 217, 222, 232, 242, 277, 282, 287, 292, 297, 302, 307, 312]


def _points(names: list[str]) -> xr.Dataset:
    """One point per series, on the union of their dates and the wetland scene's (NaN: no clear date)."""
    reads = {n: {int(r.split(":")[0]): [float(v) for v in r.split(":")[1].split("/")] for r in PIXELS[n].split()}
             for n in names}
    days = sorted({d for r in reads.values() for d in r} | set(_AXIS))
    arr = np.full((3, len(days), len(names)), np.nan, np.float32)
    for p, n in enumerate(names):
        for t, d in enumerate(days):
            if d in reads[n]:
                arr[:, t, p] = reads[n][d]
    time = np.datetime64("2019-01-01") + np.asarray(days).astype("timedelta64[D]")
    return xr.Dataset({v: (("time", "point"), arr[i]) for i, v in enumerate(("ndvi", "lswi", "evi"))},
                      coords={"time": time})


def _rice(names: list[str], **kw: object) -> dict[str, int]:
    out = optical_rice_rule(_points(names), OpticalRiceParams(**kw))  # type: ignore[arg-type]
    return dict(zip(names, out.rice_class.values.tolist(), strict=True))


@pytest.mark.parametrize(("name", "switch"), [
    ("ponded_paddy", "end_flood_not_water"),
    ("turbid_paddy", "end_flood_turbid_water"),
    ("late_link_paddy", "end_flood_turbid_link"),
    ("second_crop", "end_reflood"),
    ("after_canopy", "end_flood_after_canopy"),
])
def test_a_paddy_flooded_at_the_series_end_is_rice_by_its_term_and_missed_without_it(name: str, switch: str) -> None:
    assert _rice([name]) == {name: 1}
    # the turbid paddy's last date (NDVI 0.04, LSWI 0.33, the run's one date) also reads as the puddled field under
    # water (end_flood_deep_lswi): without both readings it is missed
    off = {"end_flood_deep_lswi": None} if name == "turbid_paddy" else {}
    assert _rice([name], **{switch: False, **off}) == {name: 0}
    if off:
        assert _rice([name], **{switch: False}) == {name: 1}


def test_ponds_stay_non_rice_whatever_the_flood_at_the_series_end():
    ponds = ["algae_pond", "refilled_pond", "drained_pond"]
    assert _rice(ponds) == dict.fromkeys(ponds, 0)


def test_the_water_mask_reads_the_dates_before_the_flood_at_the_series_end():
    # The drained pond: open water on 5 of its 22 clear dates (0.227); before its last flood on 4 of 18 (0.222),
    # flooded (LSWI >= 0.20 below canopy greenness) on 14 of 18 (0.78). The mask reads the larger share before the
    # flood where that is the lower: a paddy's fallow before its puddling is dry, a pond is wet on most dates. With
    # the open water alone the pond would pass a limit of 0.225.
    assert _rice(["drained_pond"], water_fraction=0.225) == {"drained_pond": 0}
    assert _rice(["drained_pond"], water_fraction=0.23) == {"drained_pond": 1}
    # the ponded paddy: open water on 5 of its 22 dates, 2 of the 17 before its last flood, flooded on 2 of 17
    assert _rice(["ponded_paddy"], water_fraction=0.15) == {"ponded_paddy": 1}
    assert _rice(["ponded_paddy"], water_fraction=0.11) == {"ponded_paddy": 0}


def test_the_water_share_before_the_flood_leaves_out_its_dates_before_a_cycle_confirmed_inside_it():
    # Six clear dates, the flood from the fourth (index 3): open water on dates 1, 3 and 4. A cycle confirmed from
    # the onset on date 4 to the series' end leaves dates 0-3 outside every cycle, so the walk counted the open water
    # of dates 1 and 3 (n_water 2). Date 3 is the flood's: before it, open water on 1 of 3 dates (and flooded on 1).
    from agromap.rice.optical_kernel_crops import before_end_flood
    from agromap.rice.optical_kernel_layout import kernel_parameters

    prm, flags = kernel_parameters(OpticalRiceParams())
    ci = np.arange(6, dtype=np.int64)
    cn = np.array([0.3, -0.1, 0.3, -0.1, -0.1, 0.3], np.float32)
    cl = np.array([-0.05, 0.3, -0.05, 0.3, 0.3, 0.35], np.float32)
    onset = np.zeros((1, 6), bool)
    growth = np.full((1, 6), np.nan, np.float32)
    onset[0, 4], growth[0, 4] = True, 1.0
    ends = np.zeros((4, 6), np.int64)
    ends[1, 4] = 6
    share = before_end_flood(3, 6, ci, cn, cl, onset, growth, ends, 0, 2, np.float32(0.5), prm, flags)
    assert share == np.float32(1.0) / np.float32(3.0)
    # the cycle not confirmed (growth margin < 0): dates 3-4 were counted (n_water 3) and both are taken off
    growth[0, 4] = -1.0
    assert before_end_flood(3, 6, ci, cn, cl, onset, growth, ends, 0, 3, np.float32(0.5), prm, flags) == (
        np.float32(1.0) / np.float32(3.0))
