"""The sparse-series stress case of the accuracy benchmark: Sentinel-2 dates dropped by day of the year."""

from __future__ import annotations

import argparse

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from agromap.scenes.evaluate import _ranges_arg, drop_s2_days


def _stack() -> xr.Dataset:
    times = pd.date_range("2019-01-05", "2019-12-31", freq="10D")
    data = da.from_array(np.arange(times.size * 4, dtype=np.float32).reshape(times.size, 2, 2), chunks=(5, 2, 2))
    return xr.Dataset({"red": (("time", "y", "x"), data)}, coords={"time": times})


def test_drop_s2_days_removes_the_ranges_and_stays_lazy() -> None:
    s2 = _stack()
    out = drop_s2_days(s2, [(41, 139), (171, 299)])
    doy = out["time"].dt.dayofyear.values
    assert isinstance(out["red"].data, da.Array)
    assert not ((doy >= 41) & (doy <= 139)).any() and not ((doy >= 171) & (doy <= 299)).any()
    kept = s2["time"].dt.dayofyear.values
    kept = kept[~(((kept >= 41) & (kept <= 139)) | ((kept >= 171) & (kept <= 299)))]
    np.testing.assert_array_equal(doy, kept)
    assert doy.size == 4 + 3 + 7  # days 5-35, 145-165, 305-365 every 10 days
    np.testing.assert_array_equal(out["red"].values, s2["red"].sel(time=out["time"]).values)
    assert drop_s2_days(s2, []).sizes["time"] == s2.sizes["time"]


def test_day_ranges_parse_and_refuse() -> None:
    assert _ranges_arg("41-139, 171-299") == [(41, 139), (171, 299)]
    assert _ranges_arg("") == []
    for bad in ("41", "139-41", "a-b"):
        with pytest.raises(argparse.ArgumentTypeError, match="FIRST-LAST"):
            _ranges_arg(bad)
