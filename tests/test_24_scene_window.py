"""A scene seen through a shorter series: only the dates inside the window, the same values and truth."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from agromap.errors import ConfigError
from agromap.scenes import make_scene, series_window
from agromap.scenes.evaluate import _series_days_arg, run_benchmark


def _days(ds, start: str) -> np.ndarray:
    return (ds.time.values.astype("datetime64[D]") - np.datetime64(start, "D")).astype(int)


@pytest.mark.parametrize("window", [300, (60, 360)])
def test_a_window_keeps_exactly_its_dates_of_both_sensors_and_the_whole_truth(window) -> None:
    name, size = "monsoon_sparse_optical", 16
    full = make_scene(name, size=size, seed=1, calendar_shift=60)
    cut = make_scene(name, size=size, seed=1, calendar_shift=60, series_days=window)
    lo, hi = (0, window) if isinstance(window, int) else window
    start = full.config.start
    for sensor in ("s1", "s2"):
        a, b = getattr(full, sensor), getattr(cut, sensor)
        d = _days(a, start)
        inside = (d >= lo) & (d < hi)
        assert 0 < inside.sum() < d.size  # this window cuts the series of both sensors
        np.testing.assert_array_equal(b.time.values, a.time.values[inside])
        assert b.attrs["series_days"] == f"{lo}-{hi}"
        # The kept dates carry the whole scene's values (same weather, same crops).
        var = "vh" if sensor == "s1" else "nir"
        np.testing.assert_array_equal(b[var].values, a[var].values[inside])
    np.testing.assert_array_equal(cut.s1.orbit.values, full.s1.orbit.values[
        (_days(full.s1, start) >= lo) & (_days(full.s1, start) < hi)])
    t_full, t_cut = full.truth.compute(), cut.truth.compute()
    for v in t_full.data_vars:  # the crops outside the window are still in the ground
        np.testing.assert_array_equal(t_cut[v].values, t_full[v].values)


def test_window_arguments_parse_and_refuse() -> None:
    assert series_window(None) is None and series_window(300) == (0, 300) and series_window((60, 360)) == (60, 360)
    assert _series_days_arg("300") == (0, 300) and _series_days_arg(" 60-360 ") == (60, 360)
    assert _series_days_arg("") is None
    for bad in ("0", "360-60", "a", "-5"):
        with pytest.raises(argparse.ArgumentTypeError, match="START-END"):
            _series_days_arg(bad)
    for bad_window in (0, (50, 50), (-1, 10)):
        with pytest.raises(ConfigError, match="series_days"):
            series_window(bad_window)
    with pytest.raises(ConfigError, match="at least one"):  # wetland_confusion's series is 305 days long
        make_scene("wetland_confusion", size=16, series_days=(320, 400))


def test_the_benchmark_records_the_window_and_scores_the_cut_series() -> None:
    res = run_benchmark(["clean_delta"], size=16, n_labels=5, n_trees=5, only=["sar_rule"], series_days=(0, 120))
    assert res["settings"]["series_days"] == [0, 120]
    assert {r["method"] for r in res["rows"]} == {"sar_rule", "optical_baseline", "sar_baseline"}
    assert all(r["n_pixels"] == 16 * 16 for r in res["rows"])
    assert run_benchmark(["clean_delta"], size=16, only=["sar_rule"])["settings"]["series_days"] is None
