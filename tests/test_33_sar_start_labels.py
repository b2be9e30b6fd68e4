"""The SAR rule's reading of a crop harvested in a 10-month series' first weeks, on by default: a
single-season paddy against upland crops harvested in the same weeks, and the self-trained labels,
which read the rule without it."""

from __future__ import annotations

import numpy as np
import xarray as xr

from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from agromap.rice.self_train_params import SelfTrainParams
from agromap.rice.self_train_rule import LABEL_FREE_SAR, run_rule, sar_label_params
from pixel_stacks import vh_points

N = 50  # 50 dates 6 days apart (days 0-294): a 10-month desk series
DAY = np.arange(N) * 6.0


def _covers() -> np.ndarray:
    """VH (dB) of three fields, one column each.

    Paddy: its single crop was transplanted before the series; at heading on the first dates (-14 dB,
    Nguyen et al. 2016), it ripens and is harvested by day 48, then stubble and dry soil (-17.5 dB) to
    the series' end, before its next flood. Upland crop sown again: maize (-13 dB) harvested by day 36,
    bare tilled soil (-18.5 dB), sown again on day 210 from dry soil, its canopy back at -13 dB by day
    282 (no flood before it). Upland crop once a year: the same maize, its next sowing after the series.
    """
    paddy = np.where(DAY <= 24, -14.0, -17.5)
    paddy[(DAY > 24) & (DAY <= 48)] = [-14.6, -15.4, -16.2, -17.0]
    upland = np.where(DAY <= 18, -13.0, -18.5)
    upland[(DAY > 18) & (DAY <= 36)] = [-14.5, -16.0, -17.5]
    once = upland.copy()
    regrow = DAY >= 210
    upland[regrow] = np.minimum(-18.5 + (DAY[regrow] - 210.0) * 5.5 / 72.0, -13.0)
    return np.stack([paddy, upland, once], axis=1)


def test_a_paddy_harvested_in_the_first_weeks_is_mapped_and_an_upland_crop_sown_again_is_not():
    vh = vh_points(_covers())
    on = sar_rice_rule(vh)  # the default reads the harvest at the series' start
    off = sar_rice_rule(vh, SarRiceParams(start_harvest_db=None))
    assert off.rice_class.values.tolist() == [0, 0, 0]  # no flood in the series: no season
    # The upland crop's canopy comes back from dry soil before the series' end (`fallow`); the one
    # sown once a year after the series shows what the paddy shows, a known limit of the reading.
    assert on.rice_class.values.tolist() == [1, 0, 1]
    assert int(on.n_seasons.values[0]) == 1 and int(on.transplant_doy.values[0, 0]) == 0


def test_the_self_trained_labels_read_the_sar_rule_without_the_start_harvest():
    spec = SelfTrainParams()
    assert LABEL_FREE_SAR == ("start_harvest_db", "start_harvest_noise", "start_fallow_days", "start_rise_days",
                              "start_regrow_days", "start_water_db")
    assert sar_label_params(None, spec) == SarRiceParams(start_harvest_db=None)
    assert sar_label_params(None, None) is None  # the rule's own map
    assert sar_label_params(None, SelfTrainParams(sar_start_labels=True)) is None
    off = SarRiceParams(start_harvest_db=None)
    assert sar_label_params(off, spec) is off
    sar = xr.Dataset({"vh": vh_points(_covers())})
    labels = run_rule(None, sar, "sar", None, None, spec=spec)
    assert float(labels.rice_score.values[0]) < 0.5  # the paddy is no rice label
    asked = run_rule(None, sar, "sar", None, None, spec=SelfTrainParams(sar_start_labels=True))
    assert float(asked.rice_score.values[0]) > 0.5
