"""The edge-preserving (homogeneous-neighbour) speckle filter for Sentinel-1 time series."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.special import polygamma

from agromap.errors import ConfigError, InputError
from agromap.rice.rules_sar import boxcar_speckle_filter, homogeneous_speckle_filter
from agromap.rice.speckle import speckle_log_variance

ENL = 4.4


def _two_fields(n_t: int = 30, size: int = 24, seed: int = 0) -> tuple[xr.DataArray, np.ndarray]:
    """Left half a paddy (flooded -24 dB on 5 dates, else -14 dB), right half an orchard at -11 dB;
    gamma speckle of 4.4 looks."""
    rng = np.random.default_rng(seed)
    mean_db = np.full((n_t, size, size), -11.0)
    paddy = np.full(n_t, -14.0)
    paddy[8:13] = -24.0
    mean_db[:, :, : size // 2] = paddy[:, None, None]
    speckle = rng.gamma(ENL, 1.0 / ENL, size=mean_db.shape)
    t = np.datetime64("2023-01-01") + np.arange(n_t) * np.timedelta64(12, "D")
    arr = xr.DataArray((10 ** (mean_db / 10) * speckle).astype(np.float32), dims=("time", "y", "x"),
                       coords={"time": t}, name="vh", attrs={"units": "linear"})
    return arr, mean_db


def test_scale_is_read_from_the_image():
    """The median adjacent-pair statistic estimates 2 * trigamma(L), the speckle of L looks."""
    arr, _ = _two_fields(n_t=40, size=40)
    got = float(speckle_log_variance(arr).compute())
    assert got == pytest.approx(2 * float(polygamma(1, ENL)), rel=0.08)


def test_border_pixel_keeps_its_flood_where_a_boxcar_loses_it():
    arr, truth = _two_fields()
    hom = homogeneous_speckle_filter(arr, 7).compute()
    box = boxcar_speckle_filter(arr, 7).compute()
    col = arr.sizes["x"] // 2 - 1  # the paddy's column next to the orchard
    flood = slice(8, 13)
    hom_db = 10 * np.log10(hom.values[flood, 3:-3, col].mean())
    box_db = 10 * np.log10(box.values[flood, 3:-3, col].mean())
    assert hom_db < -22.0  # the flood stays a flood
    assert box_db > -18.0  # the orchard's power fills the boxcar's flood
    # Inside a field the filter multilooks: the per-date spread in dB shrinks several-fold.
    raw_sd = np.std(10 * np.log10(arr.values[:, 6:-6, 2:8]) - truth[:, 6:-6, 2:8])
    hom_sd = np.std(10 * np.log10(hom.values[:, 6:-6, 2:8]) - truth[:, 6:-6, 2:8])
    assert hom_sd < raw_sd / 3


def test_lazy_chunk_independent_and_nan_aware():
    arr, _ = _two_fields(size=20)
    arr = arr.copy()
    arr.values[3, 5, 5] = np.nan
    arr.values[:, 0, 0] = np.nan  # a pixel without data
    one = homogeneous_speckle_filter(arr, 5).compute()
    lazy = homogeneous_speckle_filter(arr.chunk({"y": 7, "x": 6}), 5)
    assert lazy.chunks is not None and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy.compute().values, one.values)
    assert np.isnan(one.values[:, 0, 0]).all()
    assert np.isfinite(one.values[3, 5, 5])  # filled by its look-alike neighbours
    assert one.dims == arr.dims and one.name == "vh" and one.attrs["units"] == "linear"


@pytest.mark.parametrize("kwargs", [{"size": 4}, {"size": 0}, {"quantile": 1.0}, {"quantile": 0.3}])
def test_bad_parameters_raise_config_error(kwargs):
    arr, _ = _two_fields(size=8)
    with pytest.raises(ConfigError):
        homogeneous_speckle_filter(arr, **kwargs)


def test_needs_time_y_x():
    with pytest.raises(InputError):
        homogeneous_speckle_filter(xr.DataArray(np.ones((3, 4), np.float32), dims=("time", "point")))


def test_filter_and_rule_build_without_computing():
    """Science code stays lazy: the filter, the scale and the rule with orbit tracks only build a graph."""
    from agromap.rice.rules_sar import sar_rice_rule
    from agromap.testing import raise_if_dask_computes

    arr, _ = _two_fields(size=16)
    orbit = ["ascending" if k % 2 == 0 else "descending" for k in range(arr.sizes["time"])]
    lazy = arr.chunk({"y": 8, "x": 8}).assign_coords(orbit=("time", orbit))
    with raise_if_dask_computes():
        filt = homogeneous_speckle_filter(lazy, 5)
        scale = speckle_log_variance(lazy)
        out = sar_rice_rule(filt)
    assert out.rice_class.chunks is not None and scale.chunks is not None
    done = out.compute()
    eager = sar_rice_rule(homogeneous_speckle_filter(arr.assign_coords(orbit=("time", orbit)), 5)).compute()
    for v in ("rice_class", "rice_score", "transplant_doy"):
        np.testing.assert_array_equal(done[v].values, eager[v].values)
    assert done.rice_score.values[:, -6:].max() < 0.5  # the orchard half is never rice


def _paddy_beside_fallow(seed: int = 0, n_t: int = 30, size: int = 24) -> xr.DataArray:
    """Left half a paddy, right half fallow at -17 dB all year. The paddy is the fallow's twin but
    for 3 flooded dates (-23 dB) and 6 of canopy (-14 dB), so the two differ on 9 of 30 dates."""
    rng = np.random.default_rng(seed)
    fallow = np.full(n_t, -17.0)
    paddy = fallow.copy()
    paddy[8:11] = -23.0
    paddy[13:19] = -14.0
    mean_db = np.empty((n_t, size, size))
    mean_db[:, :, : size // 2] = paddy[:, None, None]
    mean_db[:, :, size // 2:] = fallow[:, None, None]
    speckle = rng.gamma(ENL, 1.0 / ENL, size=mean_db.shape)
    t = np.datetime64("2023-01-01") + np.arange(n_t) * np.timedelta64(12, "D")
    return xr.DataArray((10 ** (mean_db / 10) * speckle).astype(np.float32), dims=("time", "y", "x"),
                        coords={"time": t}, name="vh", attrs={"units": "linear"})


def test_a_neighbour_that_differs_on_a_few_dates_stays_out():
    """A paddy's border column keeps its flood beside a field that matches it on most dates.

    At the 0.99 quantile many fallow pixels pass the test against the paddy's border column (they
    differ on 9 of 30 dates) and lift its 3-date flood from -23 dB to about -20 dB; the default
    0.9 keeps more of them out. The fallow's own border column inherits less of the flood too.
    """
    arr = _paddy_beside_fallow()
    col = arr.sizes["x"] // 2 - 1
    flood = slice(8, 11)

    def flood_db(out: xr.DataArray, c: int) -> float:
        return float(10 * np.log10(out.values[flood, 3:-3, c].mean()))

    default = homogeneous_speckle_filter(arr, 7).compute()
    loose = homogeneous_speckle_filter(arr, 7, quantile=0.99).compute()
    assert flood_db(default, col) < -21.0 < -20.5 < flood_db(loose, col)
    assert flood_db(default, col + 1) > flood_db(loose, col + 1) + 0.4  # the fallow's border: less false flood


def test_default_still_multilooks_inside_a_field():
    """Inside one uniform field the default still multilooks (the spread in dB is a fifth of the
    raw one), at a bounded cost against the 0.99 quantile: the neighbours left out are those
    whose speckle differs most from the pixel's, so its own speckle weighs a little more."""
    arr, truth = _two_fields(n_t=30, size=30)
    inner = (slice(None), slice(6, -6), slice(3, 10))

    def spread(a: np.ndarray) -> float:
        return float(np.std(10 * np.log10(a[inner]) - truth[inner]))

    raw = spread(arr.values)
    default = spread(homogeneous_speckle_filter(arr, 7).compute().values)
    loose = spread(homogeneous_speckle_filter(arr, 7, quantile=0.99).compute().values)
    assert default < raw / 5
    assert loose < default < 1.5 * loose


def test_the_boxcar_filter_keeps_the_blocks_and_coordinates_of_its_input():
    arr, _ = _two_fields()
    arr = arr.assign_coords(orbit=("time", np.arange(arr.sizes["time"]) % 2))
    lazy = arr.chunk({"time": -1, "y": 10, "x": 10}).assign_coords(orbit=arr["orbit"])
    out = boxcar_speckle_filter(lazy, 5)
    # the centred window moved the block edges by two pixels and split the dates; every array
    # combined with it then took the union of both edges
    assert out.chunks == lazy.chunks
    assert isinstance(out["orbit"].data, np.ndarray)  # the rule reads the orbit track in memory only
    np.testing.assert_array_equal(out.values, boxcar_speckle_filter(arr, 5).values)


def test_boxcar_is_the_rolling_mean_of_the_valid_pixels_and_keeps_the_chunks():
    """The boxcar gives xarray's centred rolling mean of the valid pixels (NaN and non-positive
    power left out, the image edge shrinking the window) bit for bit, at any chunking, and its
    lazy output keeps the input's blocks: one task per block, not dates and rows cut into pieces."""
    rng = np.random.default_rng(3)
    data = rng.gamma(4.0, 0.01, (9, 20, 22)).astype(np.float32)
    data[rng.random(data.shape) < 0.2] = np.nan
    data[0, 5, 6] = 0.0  # no power: left out like NaN
    data[:, 10:16, 10:17] = np.nan  # a hole wider than the window: NaN in its middle
    arr = xr.DataArray(data, dims=("time", "y", "x"))
    rolled = arr.where(arr > 0).rolling(y=5, x=5, center=True, min_periods=1).mean().values
    assert np.isnan(rolled[:, 13, 13]).all() and not np.isnan(rolled[:, 0, 0]).any()
    np.testing.assert_array_equal(boxcar_speckle_filter(arr, 5).values, rolled)
    for chunks in ({"y": 8, "x": 8}, {"time": 2, "y": 1, "x": 5}):  # the second: rows narrower than the halo
        lazy = boxcar_speckle_filter(arr.chunk(chunks), 5)
        np.testing.assert_array_equal(lazy.values, rolled)
        assert lazy.chunks == arr.chunk(chunks).chunks
    lazy = boxcar_speckle_filter(arr.chunk({"y": 8, "x": 8}), 5)
    assert lazy.chunks == arr.chunk({"y": 8, "x": 8}).chunks
    assert boxcar_speckle_filter(arr.transpose("y", "x", "time"), 5).dims == ("y", "x", "time")
