"""The SAR rule's bare soil at the series' start (``SarRiceParams.vv_cut_soil_db``).

A series that starts on an upland field's bare soil reads in VH as a flood cut by the start (no
land before it for ``fallow``, no start for ``duration``) followed by a canopy and its harvest.
In VV the soil is bright, a paddy's flood dark (docs/rice_rules.md, "SAR: bare soil at the
series' start, read in VV").
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule

DAYS = np.arange(0, 300, 6)  # two 12-day tracks, every pass kept


def _ramp(day: np.ndarray, a: float, b: float) -> np.ndarray:
    return np.clip((day - a) / (b - a), 0.0, 1.0)


def _field(low_vh: float, low_vv: float, low_end: float, canopy_at: float, harvest: float,
           fallow_vv: float = -10.0) -> tuple[np.ndarray, np.ndarray]:
    """VH and VV (dB): a dark level from the series' start to ``low_end``, a canopy (VH -14 dB,
    VV -8 dB) reached at ``canopy_at``, harvested at ``harvest`` to a fallow (VH -18.5 dB)."""
    d = DAYS.astype(float)
    g = _ramp(d, low_end, canopy_at) * (1.0 - _ramp(d, harvest, harvest + 6))
    after = d >= harvest
    vh = np.where(after, -18.5, low_vh + (-14.0 - low_vh) * g)
    vv = np.where(after, fallow_vv, low_vv + (-8.0 - low_vv) * g)
    return vh, vv


def _points(*fields: tuple[np.ndarray, np.ndarray]) -> xr.Dataset:
    time = np.datetime64("2023-01-01") + DAYS.astype("timedelta64[D]")
    # A fixed +-0.6 dB zigzag stands for speckle, so that the minimum is one date.
    wiggle = 0.6 * np.where(np.arange(DAYS.size) % 3 == 0, -1.0, 1.0)
    data = {k: np.stack([10 ** ((f[i] + wiggle) / 10) for f in fields], axis=-1).astype(np.float32)
            for i, k in enumerate(("vh", "vv"))}
    return xr.Dataset({k: (("time", "point"), v) for k, v in data.items()}, coords={"time": time})


# An upland crop: tilled soil at -19 dB VH and -11.5 dB VV for the first 40 days (Veloso et al.
# 2017; Inoue et al. 2014), its canopy 50 days later, harvested 100 days after emergence. Its soil
# lies 3.5 dB below its canopy in VV, so the dip below the VV level (`vv_dip_db`) passes.
UPLAND = _field(-19.0, -11.5, 40.0, 90.0, 140.0, fallow_vv=-11.5)
# A transplanted paddy whose flood (-23 dB VH, -20 dB VV: open water, Nguyen et al. 2016) began
# before the series: 15 days of water, its canopy 55 days later, harvested on day 110.
PADDY = _field(-23.0, -20.0, 15.0, 70.0, 110.0)
# A direct-seeded paddy's thin flood and wet seedbed: -19.5 dB VH, -15.5 dB VV (Bouvet & Le Toan 2011).
DIRECT = _field(-19.5, -15.5, 10.0, 70.0, 110.0)


def test_bare_soil_at_the_start_is_refuted_in_vv_and_floods_are_kept():
    ds = _points(UPLAND, PADDY, DIRECT)
    off = sar_rice_rule(ds)
    on = sar_rice_rule(ds, SarRiceParams(vv_cut_soil_db=-12.0))
    # VH reads all three as a flood cut by the start, a canopy and a harvest.
    assert off.rice_class.values.tolist() == [1, 1, 1]
    assert on.rice_class.values.tolist() == [0, 1, 1]
    # Only the refused season moves: the paddies keep their scores and dates.
    np.testing.assert_array_equal(on.rice_score.values[1:], off.rice_score.values[1:])
    np.testing.assert_array_equal(on.transplant_doy.values[:, 1:], off.transplant_doy.values[:, 1:])


def test_vh_only_input_never_reads_the_term():
    ds = _points(UPLAND, PADDY)
    a, b = sar_rice_rule(ds["vh"]), sar_rice_rule(ds["vh"], SarRiceParams(vv_cut_soil_db=-12.0))
    for name in ("rice_class", "rice_score", "transplant_doy", "qa_flags"):
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_a_spell_with_land_before_it_is_left_to_the_other_terms():
    # The same soil, its first 30 days fallow above it: the spell no longer reaches the first date.
    vh, vv = _field(-19.0, -10.0, 70.0, 120.0, 170.0)
    vh = np.where(DAYS < 30, -15.5, vh)
    ds = _points((vh, vv))
    a, b = sar_rice_rule(ds), sar_rice_rule(ds, SarRiceParams(vv_cut_soil_db=-12.0))
    np.testing.assert_array_equal(a.rice_score.values, b.rice_score.values)


@pytest.mark.parametrize("bad", [5.0, -40.0, float("nan")])
def test_the_level_is_checked(bad):
    with pytest.raises(ConfigError):
        SarRiceParams(vv_cut_soil_db=bad)
