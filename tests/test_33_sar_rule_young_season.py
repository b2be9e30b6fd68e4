"""The SAR rule's young crop at the series' end read as a season of its own (``young_season``)."""

from __future__ import annotations

import numpy as np

from agromap.rice.rules_sar import SarRiceParams, sar_rice_rule
from rice_series import START, sar_points

ON = SarRiceParams(young_season=True)


def test_a_young_crop_at_the_series_end_is_read_on_its_flood_and_rise_alone():
    # The two-track table (about 41 dates over days 0-294, 12-look speckle, 1-2 dB track offsets)
    # with the crop calendar 180 days later: a paddy's first crop is transplanted on days 190-280,
    # so many series end on its flood and young crop, below the canopy and often below the fallow
    # before the flood, where `regrowth`, `timing` and `harvest` read that young level as a canopy.
    table, truth = sar_points(600, "dense", seed=1, shift_days=180)
    off = sar_rice_rule(table).rice_class.values == 1
    out = sar_rice_rule(table, ON)
    on = out.rice_class.values == 1
    rice = truth.rice.values == 1
    assert not (off & ~on).any()
    new = np.flatnonzero(on & ~off)
    # Five more paddies, and none of the 330 wetland, pond, orchard, upland, water or forest points.
    assert rice[new].all() and new.size == 5
    # Each new season is dated at a flood of the truth in the series' last 70 days (day 294).
    first_doy = (START - START.astype("datetime64[Y]")).astype(int) + 1
    for i in new:
        got = int(out.transplant_doy.values[:, i].max()) - first_doy
        floods = [d - 1 for d in truth.doys.values[i] if d - 1 <= 294]
        assert got >= 225 and min(abs(got - d) for d in floods) <= 15


def test_the_young_season_needs_the_young_crop_reading():
    table, _ = sar_points(600, "dense", seed=1, shift_days=180)
    base = sar_rice_rule(table, SarRiceParams(young_rise_db=None)).rice_class.values
    both = sar_rice_rule(table, SarRiceParams(young_rise_db=None, young_season=True)).rice_class.values
    assert (base == both).all()
