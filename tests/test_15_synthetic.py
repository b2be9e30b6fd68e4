"""The synthetic scene generator: deterministic, lazy, chunk-independent and physically plausible."""

from __future__ import annotations

import json

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr

from agromap.errors import ConfigError
from agromap.synthetic import (
    S2_BANDS,
    SceneSpec,
    make_s1_stack,
    make_s2_stack,
    make_truth,
    write_stack_geotiffs,
)
from agromap.synthetic_truth import FOREST, OTHER, PADDY, WATER
from agromap.testing import raise_if_dask_computes


def _nd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a - b) / (a + b)


def _db(x: np.ndarray) -> np.ndarray:
    return 10 * np.log10(x)


@pytest.fixture(scope="module")
def clear_scene():
    """A cloud-free 128x128 scene, computed once: (spec, truth, s2, s1)."""
    spec = SceneSpec(shape=(128, 128), chunk=64, cloud_fraction=0.0, seed=3)
    return spec, make_truth(spec).compute(), make_s2_stack(spec).compute(), make_s1_stack(spec).compute()


def _days(spec: SceneSpec, dates) -> np.ndarray:
    return np.array([spec.day_number(str(d)[:10]) for d in np.datetime_as_string(dates, unit="D")])


# ---- determinism and laziness --------------------------------------------------------------


def test_same_seed_identical_different_seed_differs():
    spec = SceneSpec(shape=(40, 56), chunk=32, dates=SceneSpec().dates[:3])
    a, b = make_s2_stack(spec).compute(), make_s2_stack(spec).compute()
    xr.testing.assert_identical(a, b)
    c = make_s2_stack(SceneSpec(shape=(40, 56), chunk=32, dates=SceneSpec().dates[:3], seed=1)).compute()
    assert not np.array_equal(a.nir.values, c.nir.values)


def test_chunking_does_not_change_values():
    base = dict(shape=(80, 96), dates=SceneSpec().dates[:5], cloud_fraction=0.3, field_size=8, cloud_scale=16)
    fine = SceneSpec(**base, chunk=32, time_chunk=1)
    coarse = SceneSpec(**base, chunk=50, time_chunk=5)
    assert make_s2_stack(fine).nir.data.chunksize == (1, 32, 32)
    for make in (make_truth, make_s2_stack, make_s1_stack):
        xr.testing.assert_identical(make(fine).compute(), make(coarse).compute())


def test_large_stack_is_lazy_and_advertises_float32():
    spec = SceneSpec(shape=(4096, 4096))
    with raise_if_dask_computes():
        s2, s1, truth = make_s2_stack(spec), make_s1_stack(spec), make_truth(spec)
        for name in S2_BANDS:
            assert isinstance(s2[name].data, da.Array)
            assert s2[name].dtype == np.float32
            assert s2[name].data._meta.dtype == np.float32
        assert s2.scl.dtype == np.uint8
        assert s1.vv.dtype == np.float32 and s1.vh.dtype == np.float32
        assert s2.nir.shape == (12, 4096, 4096) and s2.nir.data.chunksize == (1, 256, 256)
        assert truth.landcover.dtype == np.uint8 and truth.transplant_doy_1.dtype == np.uint16
        assert truth.flood.dtype == bool
        assert s2.odc.geobox == spec.geobox and truth.odc.geobox == spec.geobox
        assert s1.odc.geobox.crs == "EPSG:32644"


def test_spec_validation():
    with pytest.raises(ConfigError, match="fractions"):
        SceneSpec(paddy_fraction=0.9, forest_fraction=0.2)
    with pytest.raises(ConfigError, match="ascending"):
        SceneSpec(dates=("2023-07-01", "2023-06-01"))
    with pytest.raises(ConfigError, match="missing_dates"):
        SceneSpec(missing_dates=("2020-01-01",))
    with pytest.raises(ConfigError, match="n_seasons"):
        SceneSpec(n_seasons=4)


# ---- truth ------------------------------------------------------------------------------------


def test_truth_is_blocky_and_consistent(clear_scene):
    spec, truth, _, _ = clear_scene
    lc = truth.landcover.values
    assert set(np.unique(lc)) <= {0, 1, 2, 3, 4}
    assert {OTHER, PADDY, WATER} <= set(np.unique(lc))
    # Fields, not per-pixel noise: few class changes between horizontal neighbours.
    assert (lc[:, 1:] != lc[:, :-1]).mean() < 0.15
    assert np.unique(truth.field_id.values).size < lc.size / 30
    paddy = lc == PADDY
    assert (truth.n_seasons.values[paddy] == 1).all() and (truth.n_seasons.values[~paddy] == 0).all()
    t1 = truth.transplant_doy_1.values
    assert ((t1 >= 160) & (t1 <= 185))[paddy].all() and (t1[~paddy] == 0).all()
    flood, burn = truth.flood.values, truth.burn.values
    assert flood.any() and burn.any()
    assert not (flood & (lc == WATER)).any()
    assert np.isin(lc[flood], [OTHER, PADDY]).all()
    assert (lc[burn] == PADDY).all()
    assert truth.attrs["flood_dates"] == list(spec.event_dates)


def test_multiple_seasons_have_ordered_transplant_dates():
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in range(1, 13) for d in (5, 20))
    truth = make_truth(SceneSpec(shape=(64, 64), n_seasons=3, dates=dates)).compute()
    n = truth.n_seasons.values
    t1, t2, t3 = (truth[f"transplant_doy_{k}"].values.astype(int) for k in (1, 2, 3))
    assert set(np.unique(n[truth.landcover.values == PADDY])) == {1, 2, 3}
    assert ((t2 > 0) == (n >= 2)).all() and ((t3 > 0) == (n >= 3)).all()
    assert (t2[n >= 2] - t1[n >= 2] > 100).all()
    assert not truth.burn.values[n >= 2].any()  # stubble burning only where rice is grown once


# ---- physics ---------------------------------------------------------------------------------


def test_paddy_floods_at_transplanting_then_greens_up(clear_scene):
    spec, truth, s2, _ = clear_scene
    paddy = (truth.landcover.values == PADDY) & ~truth.flood.values
    days = _days(spec, s2.time.values)[:, None]
    t1 = truth.transplant_doy_1.values[paddy][None, :].astype(int)
    ndvi = _nd(s2.nir.values, s2.red.values)[:, paddy]
    lswi = _nd(s2.nir08.values, s2.swir16.values)[:, paddy]
    near = (days >= t1 - 10) & (days <= t1 + 15)
    assert near.any(axis=0).all()
    assert ((lswi + 0.05 >= ndvi) & near).any(axis=0).all()
    later = (days >= t1 + 40) & (days <= t1 + 90)
    assert (np.where(later, ndvi, -1).max(axis=0) > 0.6).all()


def test_water_forest_and_flood_signatures(clear_scene):
    spec, truth, s2, s1 = clear_scene
    lc = truth.landcover.values
    mndwi = _nd(s2.green.values, s2.swir16.values)
    ndvi = _nd(s2.nir.values, s2.red.values)
    assert (mndwi[:, lc == WATER] > 0).all()
    assert (ndvi[:, lc == FOREST] > 0.7).all()
    event = np.isin(np.datetime_as_string(s1.time.values, unit="D"), spec.event_dates)
    assert event.sum() == 2
    vh_flood = _db(s1.vh.values[event][:, truth.flood.values])
    assert np.median(vh_flood) < -20 and (vh_flood < -18).mean() > 0.9
    assert (mndwi[event][:, truth.flood.values] > 0).all()


def test_burn_scars_have_high_dnbr(clear_scene):
    spec, truth, s2, _ = clear_scene
    burn = truth.burn.values
    days = _days(spec, s2.time.values)
    nbr = _nd(s2.nir08.values, s2.swir22.values)[:, burn]
    bday = truth.burn_doy.values[burn].astype(int)
    pre = np.searchsorted(days, bday, side="left") - 1  # last date before the burn
    post = pre + 1
    cols = np.arange(burn.sum())
    dnbr = nbr[pre, cols] - nbr[post, cols]
    assert (dnbr > 0.27).all()


def test_s1_is_linear_power(clear_scene):
    _, truth, _, s1 = clear_scene
    for v in ("vv", "vh"):
        values = s1[v].values
        assert values.dtype == np.float32
        assert np.isfinite(values).all() and (values > 0).all()
    vh_water = s1.vh.values[:, truth.landcover.values == WATER]
    assert -24 < _db(np.mean(vh_water)) < -20  # a dB stack would average about -22, not 0.006


def test_paddy_vh_minimum_then_rise(clear_scene):
    _, truth, _, s1 = clear_scene
    paddy = (truth.landcover.values == PADDY) & ~truth.flood.values
    vh = _db(s1.vh.values[:, paddy].mean(axis=1))  # field-average in linear power, then dB
    assert vh.min() < -20 and vh[np.argmin(vh):].max() - vh.min() > 5


# ---- clouds and gaps ------------------------------------------------------------------------


def test_cloud_fraction_and_cloud_appearance():
    spec = SceneSpec(shape=(192, 192), chunk=96, cloud_fraction=0.3, cloud_scale=16)
    s2 = make_s2_stack(spec).compute()
    scl = s2.scl.values
    cloud = np.isin(scl, [8, 9])
    assert abs(cloud.mean() - 0.3) < 0.04
    assert (s2.blue.values[cloud] > 0.3).all()
    assert (scl == 3).any() and np.median(s2.blue.values[scl == 3]) < np.median(s2.blue.values[~cloud])
    assert np.isfinite(s2.blue.values).all()  # clouds keep their reflectance by default
    masked = make_s2_stack(SceneSpec(shape=(64, 64), cloud_fraction=0.3, mask_clouds=True)).compute()
    mcloud = np.isin(masked.scl.values, [8, 9])
    assert np.isnan(masked.nir.values[mcloud]).all() and np.isfinite(masked.nir.values[~mcloud]).all()
    clear = make_s2_stack(SceneSpec(shape=(64, 64), cloud_fraction=0.0)).scl.values
    assert not np.isin(clear, [3, 8, 9]).any()


def test_missing_dates_are_nodata_and_leave_others_untouched():
    dates = SceneSpec().dates[:4]
    full = SceneSpec(shape=(32, 48), dates=dates)
    gap = SceneSpec(shape=(32, 48), dates=dates, missing_dates=(dates[1],))
    a, b = make_s2_stack(full).compute(), make_s2_stack(gap).compute()
    assert np.isnan(b.nir.values[1]).all() and (b.scl.values[1] == 0).all()
    xr.testing.assert_identical(a.isel(time=[0, 2, 3]), b.isel(time=[0, 2, 3]))
    assert np.isnan(make_s1_stack(gap).vh.values[1]).all()


# ---- writing to disk --------------------------------------------------------------------------


def test_write_stack_geotiffs_round_trip(tmp_path):
    spec = SceneSpec(shape=(600, 600), dates=SceneSpec().dates[:2], cloud_fraction=0.3, mask_clouds=True)
    ds = make_s2_stack(spec)[["red", "nir", "scl"]]
    band_map = write_stack_geotiffs(ds, tmp_path)
    assert sorted(band_map) == list(spec.dates)
    assert json.loads((tmp_path / "stack.json").read_text())["bands"] == band_map
    values = ds.compute()
    for ti, date in enumerate(spec.dates):
        assert set(band_map[date]) == {"red", "nir", "scl"}
        for name in ("red", "nir"):
            with rasterio.open(band_map[date][name]) as src:
                assert src.profile["tiled"] and src.block_shapes == [(512, 512)]
                assert src.compression.value.lower() == "deflate"
                assert src.dtypes == ("uint16",) and src.nodata == 0
                assert src.scales == (1e-4,)
                assert src.crs == spec.geobox.crs and src.transform == spec.geobox.affine
                dn = src.read(1)
            want = values[name].values[ti]
            nan = np.isnan(want)
            assert nan.any() and (dn[nan] == 0).all() and (dn[~nan] > 0).all()
            np.testing.assert_allclose(dn[~nan] * 1e-4, want[~nan], atol=0.5e-4 + 1e-7)
        with rasterio.open(band_map[date]["scl"]) as src:
            assert src.dtypes == ("uint8",)
            np.testing.assert_array_equal(src.read(1), values.scl.values[ti])
    assert not list(tmp_path.glob("*.part"))
