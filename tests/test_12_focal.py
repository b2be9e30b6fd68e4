"""Focal (moving-window) operations: same results as before they were shared, exact over any chunking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr
from dask.base import is_dask_collection
from scipy import ndimage

from agromap import focal
from agromap.disaster import sar_water
from agromap.disaster.flood import minimum_mapping_unit, speckle_filter
from agromap.errors import ConfigError
from agromap.rice.rules_sar import boxcar_speckle_filter
from agromap.testing import make_raster, raise_if_dask_computes

CHUNKINGS = [{"y": 7, "x": 11}, {"y": 40, "x": 5}, {"y": 13, "x": 37}]


# ---- the code as it stood in agromap.disaster.sar_prep / sar_water before the move (reference) ----


def _old_overlap(kernel: Any, arr: xr.DataArray, depth: int, dtype: Any, **kwargs: Any) -> xr.DataArray:
    data = arr.data
    if is_dask_collection(data) and depth > 0:
        d = {arr.ndim - 2: depth, arr.ndim - 1: depth} | {i: 0 for i in range(arr.ndim - 2)}
        data = data.map_overlap(kernel, depth=d, boundary="none", dtype=dtype,
                                meta=np.empty((0,) * arr.ndim, dtype=dtype), **kwargs)
    elif is_dask_collection(data):
        data = data.map_blocks(kernel, dtype=dtype, meta=np.empty((0,) * arr.ndim, dtype=dtype), **kwargs)
    else:
        data = kernel(np.asarray(data), **kwargs)
    return arr.copy(data=data)


def _old_disk(radius: int, ndim: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disk = (yy * yy + xx * xx <= radius * radius).astype(np.float64)
    return disk.reshape((1,) * (ndim - 2) + disk.shape)


def _old_focal_mean_kernel(x: np.ndarray, radius: int) -> np.ndarray:
    x64 = x.astype(np.float64)
    valid = np.isfinite(x64)
    w = _old_disk(radius, x.ndim)
    num = ndimage.correlate(np.where(valid, x64, 0.0), w, mode="constant", cval=0.0)
    den = ndimage.correlate(valid.astype(np.float64), w, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid & (den > 0), num / den, np.nan).astype(np.float32)


def _old_mmu_kernel(cand: np.ndarray, min_pixels: int, eight: bool) -> np.ndarray:
    structure = np.ones((3, 3)) if eight else None
    lab, n = ndimage.label(cand, structure=structure)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[lab]


# ---- inputs --------------------------------------------------------------------------------------


def _raster(values: np.ndarray) -> xr.DataArray:
    times = ["2024-07-01", "2024-07-13"][: values.shape[0]] if values.ndim == 3 else None
    return make_raster(values, res=10.0, name="vh", times=times, dtype=values.dtype)


@pytest.fixture(scope="module")
def power() -> xr.DataArray:
    rng = np.random.default_rng(7)
    lin = rng.gamma(4.0, 0.05 / 4.0, size=(2, 40, 37)).astype(np.float32)
    lin[:, 5:9, 20:26] = np.nan
    lin[1, rng.random((40, 37)) < 0.1] = np.nan
    lin[0, :, 0] = np.nan  # a NaN edge column: truncated windows at the border
    return _raster(lin)


@pytest.fixture(scope="module")
def mask() -> xr.DataArray:
    rng = np.random.default_rng(3)
    return _raster(rng.random((40, 37)) < 0.4)


def _brute_mean(x: np.ndarray, w: np.ndarray, fill: bool) -> np.ndarray:
    """Window by window, in float64: an independent reference."""
    r = w.shape[0] // 2
    out = np.full(x.shape, np.nan)
    for idx in np.ndindex(*x.shape[:-2]):
        a = x[idx]
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                if not (fill or np.isfinite(a[i, j])):
                    continue
                vals = [a[i + di, j + dj] for di in range(-r, r + 1) for dj in range(-r, r + 1)
                        if w[di + r, dj + r] and 0 <= i + di < a.shape[0] and 0 <= j + dj < a.shape[1]]
                vals = [v for v in vals if np.isfinite(v)]
                if vals:
                    out[idx + (i, j)] = np.mean(np.asarray(vals, np.float64))
    return out


# ---- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("radius", [1, 2, 3])
def test_flood_speckle_filter_is_bit_for_bit_the_old_focal_mean(power, radius):
    old = _old_overlap(_old_focal_mean_kernel, power, radius, np.float32, radius=radius).values
    new = speckle_filter(power, radius * 10.0)  # 10 m pixels
    np.testing.assert_array_equal(new.values, old)
    assert new.dtype == np.float32 and new.dims == power.dims and new.attrs == power.attrs
    for ch in CHUNKINGS:
        with raise_if_dask_computes():
            lazy = speckle_filter(power.chunk(ch), radius * 10.0)
        np.testing.assert_array_equal(lazy.values, old)
        np.testing.assert_array_equal(
            _old_overlap(_old_focal_mean_kernel, power.chunk(ch), radius, np.float32, radius=radius).values, old)


@pytest.mark.parametrize("min_pixels,eight", [(2, True), (5, True), (9, False)])
def test_minimum_mapping_unit_is_bit_for_bit_the_old_one(mask, min_pixels, eight):
    old = _old_mmu_kernel(mask.values, min_pixels, eight)
    assert 0 < old.sum() < mask.values.sum()  # the case removes some groups and keeps others
    np.testing.assert_array_equal(minimum_mapping_unit(mask, min_pixels, eight_connected=eight).values, old)
    for ch in CHUNKINGS:
        with raise_if_dask_computes():
            lazy = focal.sieve(mask.chunk(ch), min_pixels, eight_connected=eight)
        np.testing.assert_array_equal(lazy.values, old)


def test_region_growing_through_the_shared_halo_is_the_old_result(power):
    lik = (1.0 - power.isel(time=0) / 0.1).clip(0, 1).astype(np.float32)
    kw: dict[str, Any] = {"seed": 0.7, "grow": 0.4, "steps": 3}
    old = _old_overlap(sar_water._grow_kernel, lik, 3, np.bool_, **kw).values
    assert 0 < old.sum() < np.isfinite(lik.values).sum()
    np.testing.assert_array_equal(sar_water.grow_water(lik, **kw).values, old)
    for ch in CHUNKINGS:
        np.testing.assert_array_equal(sar_water.grow_water(lik.chunk(ch), **kw).values, old)


@pytest.mark.parametrize("shape", ["disk", "square"])
@pytest.mark.parametrize("fill", [False, True])
def test_focal_mean_matches_a_window_by_window_mean(power, shape, fill):
    w = focal.footprint(2, shape)
    ref = _brute_mean(power.values, w, fill)
    got = focal.focal_mean(power.chunk({"y": 9, "x": 10}), 2, shape=shape, fill_nodata=fill).values
    np.testing.assert_allclose(got, ref, rtol=2e-7, atol=0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    if not fill:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(power.values))
    else:  # NaN pixels next to valid ones are filled
        assert np.isnan(got).sum() < np.isnan(power.values).sum()


def test_the_square_window_is_the_rice_boxcar(power):
    """The rice boxcar (xarray rolling, float32 sums) and the shared square window agree to float32 precision."""
    box = boxcar_speckle_filter(power, 5).values
    got = focal.focal_mean(power, 2, shape="square", fill_nodata=True).values
    np.testing.assert_array_equal(np.isnan(got), np.isnan(box))
    np.testing.assert_allclose(got, box, rtol=1e-5)


def test_footprints_and_bad_windows():
    assert focal.footprint(1, "disk").sum() == 5 and focal.footprint(2, "disk").sum() == 13
    assert focal.footprint(2, "square").shape == (5, 5) and focal.footprint(2, "square").all()
    with pytest.raises(ConfigError, match="radius >= 0"):
        focal.footprint(-1)
    with pytest.raises(ConfigError, match="'disk' or 'square'"):
        focal.footprint(1, "hexagon")  # type: ignore[arg-type]


def test_zero_reach_passes_through(power, mask):
    np.testing.assert_array_equal(focal.focal_mean(power, 0).values, power.values)
    np.testing.assert_array_equal(focal.sieve(mask, 1).values, mask.values)
