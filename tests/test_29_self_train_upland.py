"""The optical rule's rice labels on upland crops that neither sensor saw standing in water
(:mod:`agromap.rice.self_train_upland`), on point series built by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.rice.self_train_params import SelfTrainParams
from agromap.rice.self_train_upland import drop_upland_rice, radar_saw_water, wettest_bare_lswi, wettest_canopy_lswi
from agromap.testing import raise_if_dask_computes
from pixel_stacks import DAYS, DRY, WATER, row_stacks

LAND = np.full(DAYS.size, -16.0)


def _radar(dip_db: float) -> np.ndarray:
    """VH at -16 dB, a dark spell ``dip_db`` below it on days 96-120, a canopy at -12 dB on days 144-204."""
    db = LAND.copy()
    db[(DAYS >= 96) & (DAYS <= 120)] -= dip_db
    db[(DAYS >= 144) & (DAYS <= 204)] = -12.0
    return db


def _optical(canopy_lswi: float, shower: float | None = None,
             wet: tuple[float, float] = (0.15, 0.2)) -> list[tuple[float, float]]:  # fmt: skip
    """Dry bare soil, a wet bare date ``wet`` (the flood signal, or rain-soaked soil) on day 96,
    seedlings on day 108, a canopy from day 120 to 204 whose LSWI is ``canopy_lswi`` (``shower``, if
    given, on day 156 alone), stubble to day 228."""
    def date(d: int) -> tuple[float, float]:
        if d in (96, 108):
            return wet if d == 96 else (0.45, 0.2)
        if 120 <= d <= 228:
            lswi = shower if shower is not None and d == 156 else canopy_lswi
            return (0.8, lswi) if d <= 204 else (0.25, -0.05)
        return DRY

    return [date(int(d)) for d in DAYS]


def _row(chunked: bool) -> tuple[xr.Dataset, xr.Dataset]:
    # direct-seeded rice (shallow dip, canopy in water), two upland-crop pixels (no dip, canopy over
    # moist soil), a paddy's edge pixel (shallow dip: its bund in the filtered radar) and the paddy
    return row_stacks([_radar(3.0), _radar(0.0), _radar(0.0), _radar(3.0), _radar(7.0)],
                      [_optical(0.38), _optical(0.28), _optical(0.28), _optical(0.30), _optical(0.40)],
                      chunked)


def test_the_radar_saw_water_and_the_wettest_canopy_read_each_pixel():
    sar, optical = _row(False)
    np.testing.assert_array_equal(radar_saw_water(sar, 4.0, -21.0).values[0], [False, False, False, False, True])
    # a pond most of the year: its median is near its flood, its lowest date open water
    pond = row_stacks([np.full(DAYS.size, -22.0), _radar(0.0)], [_optical(0.3)] * 2, False)[0]
    np.testing.assert_array_equal(radar_saw_water(pond, 4.0, -21.0).values[0], [True, False])
    np.testing.assert_allclose(wettest_canopy_lswi(optical, 0.5).values[0], [0.38, 0.28, 0.28, 0.30, 0.40], atol=1e-4)


def test_a_pixel_without_any_radar_value_saw_no_water_and_warns_of_nothing():
    # beside the paddy, a pixel outside the radar's swath (every VH date NaN): no flood, and neither
    # its lowest date nor its median over no value gives numpy's "All-NaN slice" warning
    sar = row_stacks([_radar(7.0), np.full(DAYS.size, np.nan)], [_optical(0.4)] * 2, False)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(radar_saw_water(sar, 4.0, -21.0).values[0], [True, False])
        np.testing.assert_array_equal(radar_saw_water(sar.isel(time=slice(0, 0)), 4.0, -21.0).values[0], [False, False])


def test_an_upland_crop_never_seen_in_water_loses_its_rice_label_and_rice_keeps_its_own():
    """Only the upland crop's rice verdicts become no opinion: the direct-seeded paddy keeps its
    own (its canopy stands in water though the radar saw a shallow flood), the paddy's edge pixel
    its own (the flood beside it), and a non-rice verdict stays what it was."""
    sar, optical = _row(True)
    score = xr.DataArray(np.array([[0.9, 0.9, 0.2, 0.9, 0.9]], np.float32), dims=("y", "x")).chunk({"x": 2})
    out = xr.Dataset({"rice_score": score})
    with raise_if_dask_computes():
        lazy = drop_upland_rice(out, optical, sar, SelfTrainParams())
    np.testing.assert_allclose(lazy["rice_score"].values[0], [0.9, 0.5, 0.2, 0.9, 0.9])
    # the edge pixel's own radar saw no flood deep enough: without the window it loses its label too
    own = drop_upland_rice(out, optical, sar, SelfTrainParams(upland_dip_px=0))["rice_score"].values[0]
    np.testing.assert_allclose(own, [0.9, 0.5, 0.2, 0.5, 0.9])
    off = drop_upland_rice(out, optical, sar, SelfTrainParams(upland_dip_db=None))["rice_score"].values[0]
    np.testing.assert_allclose(off, [0.9, 0.9, 0.2, 0.9, 0.9])
    assert drop_upland_rice(out, optical, None, SelfTrainParams()) is out  # no radar: no test


def test_one_wet_canopy_date_is_no_canopy_standing_in_water():
    """An upland crop whose canopy reads a paddy's LSWI on one clear date (a shower) stays an upland
    crop: the canopy must stand in water on two clear dates (``upland_canopy_dates``), as a paddy's
    does for weeks, unless a bare clear date showed the field's flood (``upland_bare_flood_lswi``):
    then one wet canopy date is the paddy's water under its canopy. A pixel with one clear canopy
    date is judged on that date."""
    sar, optical = row_stacks([_radar(0.0), _radar(0.0), _radar(3.0), _radar(0.0)],
                              [_optical(0.28, shower=0.36), _optical(0.38), _optical(0.36),
                               _optical(0.28, shower=0.36, wet=WATER)], False)
    one = optical.isel(time=(DAYS < 120) | (DAYS == 156) | (DAYS > 204))  # one canopy date, day 156
    np.testing.assert_allclose(wettest_canopy_lswi(optical, 0.5).values[0], [0.36, 0.38, 0.36, 0.36], atol=1e-4)
    np.testing.assert_allclose(wettest_canopy_lswi(optical, 0.5, dates=2).values[0], [0.28, 0.38, 0.36, 0.28],
                               atol=1e-4)
    np.testing.assert_allclose(wettest_canopy_lswi(one, 0.5, dates=2).values[0], [0.36, 0.38, 0.36, 0.36], atol=1e-4)
    assert np.isneginf(wettest_canopy_lswi(optical.isel(time=DAYS < 120), 0.5, dates=2).values).all()
    np.testing.assert_allclose(wettest_bare_lswi(optical, 0.3).values[0], [0.2, 0.2, 0.2, 0.3], atol=1e-4)
    out = xr.Dataset({"rice_score": xr.DataArray(np.full((1, 4), 0.9, np.float32), dims=("y", "x"))})
    np.testing.assert_allclose(drop_upland_rice(out, optical, sar, SelfTrainParams())["rice_score"].values[0],
                               [0.5, 0.9, 0.9, 0.9])
    once = SelfTrainParams(upland_canopy_dates=1)  # the wettest date alone: the shower keeps the label
    np.testing.assert_allclose(drop_upland_rice(out, optical, sar, once)["rice_score"].values[0], [0.9] * 4)
    unseen = SelfTrainParams(upland_bare_flood_lswi=None)  # the bare flood does not count
    np.testing.assert_allclose(drop_upland_rice(out, optical, sar, unseen)["rice_score"].values[0],
                               [0.5, 0.9, 0.9, 0.5])
    with raise_if_dask_computes():
        lazy = drop_upland_rice(out.chunk({"x": 2}), optical.chunk({"x": 2, "time": -1}), sar.chunk({"x": 2}),
                                SelfTrainParams())
    np.testing.assert_allclose(lazy["rice_score"].values[0], [0.5, 0.9, 0.9, 0.9])


@pytest.mark.parametrize("bad", [{"upland_dip_db": 0.0}, {"upland_canopy_lswi": 1.5}, {"upland_dip_px": -1}, {"upland_water_db": 1.0},
                                 {"upland_canopy_dates": 0}, {"upland_bare_flood_lswi": 2.0}])
def test_the_upland_settings_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="upland"):
        SelfTrainParams(**bad)


def test_the_optical_rules_own_labels_drop_the_upland_crop():
    """``rule="optical"`` with a radar stack: the optical rule calls the upland crop rice (the wet
    soil of its sowing, then a canopy) and the label step takes that verdict away; with both rules
    the radar votes itself, and nothing changes."""
    from agromap.rice.self_train_rule import run_rule

    sar, optical = _row(False)
    spec, off = SelfTrainParams(), SelfTrainParams(upland_dip_db=None)
    before = run_rule(optical, sar, "optical", None, None, spec.blind_gap_days, spec=off).rice_score.values[0]
    after = run_rule(optical, sar, "optical", None, None, spec.blind_gap_days, spec=spec).rice_score.values[0]
    assert (before[[1, 2]] >= spec.rice_min_score).all()
    np.testing.assert_allclose(after[[1, 2]], 0.5)
    np.testing.assert_allclose(after[[0, 3, 4]], before[[0, 3, 4]])
    both = [run_rule(optical, sar, "both", None, None, spec.blind_gap_days, spec=s).rice_score.values for s in (off, spec)]
    np.testing.assert_allclose(both[0], both[1])


def test_one_wet_canopy_date_counts_where_the_series_opens_inside_the_canopy():
    """A paddy whose season the series start cuts shows its canopy's tail on the first dates, one of
    them wet, and its flood lies before the series: no sensor could see it, and its one wet canopy
    date keeps the label (``start_canopy_days``). The same canopy later in the series is a shower."""
    def opened(first: int) -> list[tuple[float, float]]:
        return [(0.8, 0.36) if d == first else (0.8, 0.28) if first < d <= first + 36 else DRY for d in DAYS]

    sar, optical = row_stacks([LAND, LAND], [opened(0), opened(120)], False)
    out = xr.Dataset({"rice_score": xr.DataArray(np.full((1, 2), 0.9, np.float32), dims=("y", "x"))})
    np.testing.assert_allclose(drop_upland_rice(out, optical, sar, SelfTrainParams())["rice_score"].values[0],
                               [0.9, 0.5])
    uncut = SelfTrainParams(start_canopy_days=None)
    np.testing.assert_allclose(drop_upland_rice(out, optical, sar, uncut)["rice_score"].values[0], [0.5, 0.5])
