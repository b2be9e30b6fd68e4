"""The self-trained map's label steps read the clear sky as its optical rule does: with the rule's own
cloud and haze settings, not the defaults.

Hand-made series with a date every 10 days over a year; the dates of days 140-270 are seen through haze
(blue 0.18 over stubble, red 0.18: ``blue - 0.5 red`` = 0.09, above the default ``haze_hot`` of 0.08).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from agromap.rice.optical_params import OpticalRiceParams
from agromap.rice.self_train_ends import abstain_at_series_ends, dry_share, pond_after_harvest
from agromap.rice.self_train_labels import (
    blind_optical_rule,
    clear_indices,
    longest_clear_gap,
    ndvi_rms_to,
    open_water,
)
from agromap.rice.self_train_rule import run_rule
from agromap.rice.self_trained import SelfTrainParams

DAYS = np.arange(0, 365, 10)
HAZE = (DAYS > 130) & (DAYS < 280)
STUBBLE, CANOPY = (0.25, -0.05), (0.80, 0.35)


def _bands(series: list[list[tuple[float, float]]]) -> xr.Dataset:
    """Optical stack (time, y=1, x=pixel) from per-date (NDVI, LSWI); blue 0.18 on the hazy dates, else 0.04."""
    shape = (DAYS.size, 1, len(series))
    out = {b: np.full(shape, np.nan, np.float32) for b in ("blue", "green", "red", "nir", "swir16")}
    for j, pixel in enumerate(series):
        for t, (nd, ls) in enumerate(pixel):
            out["nir"][t, 0, j] = 0.30
            out["red"][t, 0, j] = 0.30 * (1 - nd) / (1 + nd)
            out["swir16"][t, 0, j] = 0.30 * (1 - ls) / (1 + ls)
            out["blue"][t, 0, j], out["green"][t, 0, j] = (0.18 if HAZE[t] else 0.04), 0.06
    time = np.datetime64("2023-01-01") + DAYS.astype("timedelta64[D]")
    return xr.Dataset({b: (("time", "y", "x"), v) for b, v in out.items()}, coords={"time": time})


def _stubble() -> xr.Dataset:
    return _bands([[STUBBLE] * DAYS.size])  # bare all year: no rice, no persistent cover


def test_the_clear_sky_of_the_label_steps_is_the_rules():
    ds, hazeless = _stubble(), OpticalRiceParams(haze_hot=None)
    # the default haze test hides the 14 hazy dates (a 150-day gap); without it every date is clear
    assert int(clear_indices(ds)[0].sum()) == DAYS.size - HAZE.sum()
    assert int(clear_indices(ds, hazeless)[0].sum()) == DAYS.size
    assert float(longest_clear_gap(ds).squeeze()) == 150.0
    assert float(longest_clear_gap(ds, hazeless).squeeze()) == 10.0
    assert float(longest_clear_gap(ds, OpticalRiceParams(haze_hot=0.10)).squeeze()) == 10.0
    # the blind rule abstains on its non-rice verdict only where its own clear sky has the gap
    out = xr.Dataset({"rice_score": (("y", "x"), np.full((1, 1), 0.1, np.float32)),
                      "qa_flags": (("y", "x"), np.zeros((1, 1), np.uint8))})  # fmt: skip
    spec = SelfTrainParams()
    assert float(blind_optical_rule(out, ds, 100.0, spec)["rice_score"].squeeze()) == 0.5
    assert float(blind_optical_rule(out, ds, 100.0, spec, hazeless)["rice_score"].squeeze()) == np.float32(0.1)


def test_an_override_of_the_haze_test_reaches_the_self_trained_labels():
    # the self-trained map's optical rule run without the haze test: its label steps see every date,
    # so its non-rice verdict on a field bare all year is a label, not no opinion
    ds, spec = _stubble(), SelfTrainParams()
    hazeless = run_rule(ds, None, "optical", OpticalRiceParams(haze_hot=None), None, 100.0, spec=spec)
    default = run_rule(ds, None, "optical", None, None, 100.0, spec=spec)
    assert float(hazeless["rice_score"].squeeze()) < 0.5
    assert float(default["rice_score"].squeeze()) == 0.5


def _radar(end_flood: bool) -> xr.Dataset:
    """VH (linear) on the optical dates, one pixel: -15 dB, the last 45 days -23 dB when ``end_flood``."""
    db = np.where(end_flood & (DAYS >= DAYS.max() - 45), -23.0, -15.0).astype(np.float32)
    vh = (10 ** (db / 10)).astype(np.float32)[:, None, None]
    time = np.datetime64("2023-01-01") + DAYS.astype("timedelta64[D]")
    return xr.Dataset({"vh": (("time", "y", "x"), vh)}, coords={"time": time})


def test_the_series_end_steps_read_the_rules_clear_sky():
    # wet canopy on every clear date, stubble on the hazy ones: dry only where the haze test is off
    ds, hazeless, spec = _bands([[STUBBLE if h else CANOPY for h in HAZE]]), OpticalRiceParams(haze_hot=None), SelfTrainParams()
    assert float(dry_share(ds, spec).squeeze()) == 0.0
    assert float(dry_share(ds, spec, hazeless).squeeze()) == np.float32(HAZE.sum() / DAYS.size)
    out = xr.Dataset({"rice_score": (("y", "x"), np.full((1, 1), 0.1, np.float32)),
                      "qa_flags": (("y", "x"), np.zeros((1, 1), np.uint8))})  # fmt: skip
    sar = _radar(True)
    # the radar's last weeks hold a flood; the pixel is a fallow-between-seasons paddy only in the clear
    # sky of the rule without a haze test, and only there its non-rice verdict becomes no opinion
    assert float(abstain_at_series_ends(out, sar, ds, spec)["rice_score"].squeeze()) == np.float32(0.1)
    assert float(abstain_at_series_ends(out, sar, ds, spec, rule_params=hazeless)["rice_score"].squeeze()) == 0.5
    # the SAR rule within both rules passes the optical rule's parameters on to that step
    ruled = [float(run_rule(ds, sar, "sar", None, None, spec=spec, optical_params=p)["rice_score"].squeeze())
             for p in (None, hazeless)]
    assert ruled[0] < 0.5 and ruled[1] == 0.5


def test_the_open_water_bar_of_the_label_steps_is_the_rules():
    wider = OpticalRiceParams(water_ndvi_max=0.15)
    assert not bool(open_water(np.float32(0.12), np.float32(0.30)))
    assert bool(open_water(np.float32(0.12), np.float32(0.30), wider))
    # murky water (NDVI 0.12) for the first 130 days, then a drained field: a pond only under the wider bar
    ds, spec = _bands([[(0.12, 0.30) if d <= 120 else STUBBLE for d in DAYS]]), SelfTrainParams()
    assert not bool(pond_after_harvest(ds, spec).squeeze())
    assert bool(pond_after_harvest(ds, spec, wider).squeeze())


def test_the_field_edge_ndvi_comparison_reads_the_rules_clear_sky():
    # two pixels alike but on the hazy dates: alike in the default clear sky, apart without the haze test
    ds = _bands([[STUBBLE] * DAYS.size, [CANOPY if h else STUBBLE for h in HAZE]])
    source = xr.DataArray(np.array([[True, False]]), dims=("y", "x"))
    near = ndvi_rms_to(ds, source, 1, 5)
    assert float(near.isel(x=1).squeeze()) < 1e-3
    assert float(ndvi_rms_to(ds, source, 1, 5, OpticalRiceParams(haze_hot=None)).isel(x=1).squeeze()) > 0.2
