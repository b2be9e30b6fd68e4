"""The self-trained map's label steps read the clear sky as its optical rule does: with the rule's own
cloud and haze settings, not the defaults.

Hand-made series with a date every 10 days over a year; the dates of days 140-270 are seen through haze
(blue 0.18 over stubble, red 0.18: ``blue - 0.5 red`` = 0.09, above the default ``haze_hot`` of 0.08).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from agromap.rice.optical_params import OpticalRiceParams
from agromap.rice.self_train_labels import blind_optical_rule, clear_indices, longest_clear_gap
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
