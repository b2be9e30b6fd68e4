"""Burn severity (dNBR, USGS classes), burned paddy stubble, and VCI drought layers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pyproj import Transformer

from agromap.disaster import burn, drought
from agromap.disaster.burn import burn_severity, burned_paddy, clear_composite, dnbr, rdnbr
from agromap.disaster.drought import period_labels, vci, vci_class
from agromap.errors import ConfigError, GridMismatchError, MissingBandError
from agromap.io.layers import encode
from agromap.layer_registry import LAYERS
from agromap.synthetic_truth import PADDY
from agromap.testing import SceneSpec, make_raster, make_s2_stack, make_truth, raise_if_dask_computes

# ---- dNBR and USGS severity ---------------------------------------------------------------------

#: (dNBR, expected code) on both sides of USGS boundary (docs/science/disaster.md#burn-severity), plus outer limits.
BOUNDARIES = [
    (-0.8, 1), (-0.500, 1), (-0.251, 1), (-0.250, 2), (-0.101, 2), (-0.100, 3), (0.0, 3), (0.099, 3),
    (0.100, 4), (0.269, 4), (0.270, 5), (0.439, 5), (0.440, 6), (0.659, 6), (0.660, 7), (1.300, 7), (1.6, 7),
]


@pytest.mark.parametrize("chunks", [None, {"x": 5}], ids=["numpy", "dask"])
def test_burn_severity_every_usgs_boundary(chunks):
    values = np.array([[v for v, _ in BOUNDARIES] + [np.nan]], np.float32)
    arr = make_raster(values, chunks=None if chunks is None else {"y": 1, **chunks})
    with raise_if_dask_computes():
        cls = burn_severity(arr)
        assert cls.dtype == np.uint8
    np.testing.assert_array_equal(cls.values[0], [c for _, c in BOUNDARIES] + [255])


def test_severity_agrees_with_stored_dnbr():
    d = make_raster(np.linspace(-0.6, 1.4, 2001, dtype=np.float32).reshape(1, -1))
    stored = encode(d, burn.LAYER_SPECS["dnbr"])  # int16 x 1000
    assert stored.dtype == np.int16
    decoded = stored.astype(np.float64) * 0.001
    np.testing.assert_array_equal(burn_severity(d).values, burn_severity(decoded).values)


def test_dnbr_and_rdnbr_hand_values():
    pre = make_raster([[0.6, 0.25, 0.0, np.nan]])
    post = make_raster([[-0.2, -0.25, -0.1, 0.1]])
    np.testing.assert_allclose(dnbr(pre, post).values, [[0.8, 0.5, 0.1, np.nan]], rtol=1e-6)
    # RdNBR = dNBR / sqrt(|NBR_pre|), |NBR_pre| floored at 0.001
    np.testing.assert_allclose(rdnbr(pre, post).values,
                               [[0.8 / np.sqrt(0.6), 1.0, 0.1 / np.sqrt(0.001), np.nan]], rtol=1e-6)
    with pytest.raises(GridMismatchError):
        dnbr(pre, make_raster([[0.1, 0.2, 0.3, 0.4]], res=20.0))


# ---- burned paddy ---------------------------------------------------------------------------------


def _composites(spec: SceneSpec) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    s2 = make_s2_stack(spec)
    pre = clear_composite(s2.sel(time=slice("2023-07-31", "2023-08-15")))  # crop at peak
    post = clear_composite(s2.sel(time=slice("2023-10-14", "2023-11-13")))  # after harvest and burning
    return make_truth(spec), pre, post


@pytest.mark.parametrize(("clouds", "p_floor", "r_floor"), [(0.0, 0.99, 0.99), (0.2, 0.99, 0.75)])
def test_burned_paddy_on_synthetic_burn_scar(clouds, p_floor, r_floor):
    spec = SceneSpec(shape=(128, 128), chunk=64, cloud_fraction=clouds, seed=3)
    truth, pre, post = _composites(spec)
    with raise_if_dask_computes():
        out = burned_paddy(truth.landcover == PADDY, pre, post)
        assert out.burned_paddy.dtype == np.uint8 and out.bais2_threshold.ndim == 0
    out, truth = out.compute(), truth.compute()
    c, burned = out.burned_paddy.values, truth.burn.values
    pred = np.isin(c, (2, 3))
    precision, recall = (pred & burned).sum() / pred.sum(), (pred & burned).sum() / burned.sum()
    valid = c != 255
    recall_valid = (pred & burned & valid).sum() / (burned & valid).sum()
    print(f"\nburned_paddy, clouds {clouds:.0%}: precision {precision:.4f}, recall {recall:.4f} "
          f"(on pixels with clear composites {recall_valid:.4f}), nodata {np.mean(c == 255):.3f}, "
          f"BAIS2 threshold {float(out.bais2_threshold):.3f} (method {int(out.bais2_threshold_method)})")
    assert precision >= p_floor and recall >= r_floor
    assert (c[truth.landcover.values != PADDY] == 0).all()
    assert set(np.unique(c)) <= {0, 1, 2, 255}


def test_burned_paddy_fire_confirmation_and_rice_nodata():
    spec = SceneSpec(shape=(64, 64), chunk=32, cloud_fraction=0.0, seed=3)
    truth, pre, post = _composites(spec)
    truth = truth.compute()
    base = burned_paddy(truth.landcover == PADDY, pre, post).compute().burned_paddy.values
    ys, xs = np.nonzero(base == 2)
    gx, gy = truth.x.values, truth.y.values
    tr = Transformer.from_crs(spec.crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform([gx[xs[0]], gx[0], gx[xs[-1]]], [gy[ys[0]], gy[0], gy[ys[-1]]])
    fires = pd.DataFrame({"longitude": lon, "latitude": lat, "confidence": ["h", "l", "n"],
                          "acq_date": ["2023-10-20", "2023-10-20", "2023-12-30"]})
    rice = (truth.landcover == PADDY).astype(np.uint8)
    rice[0, :] = 255  # rice-mask nodata
    out = burned_paddy(rice.chunk(32), pre, post, fires=fires, period=("2023-09-20", "2023-10-25")).compute()
    got = out.burned_paddy.values
    # only the first detection counts: the second is low confidence, the third outside the window
    yy, xx = np.meshgrid(gy, gx, indexing="ij")
    near = np.hypot(yy - gy[ys[0]], xx - gx[xs[0]]) <= 375.0
    want = np.where((base == 2) & near, 3, base)
    want[0, :] = 255
    np.testing.assert_array_equal(got, want)
    assert (got == 3).sum() > 0 and out.attrs["n_fire_points"] == 1


def test_burned_paddy_bad_inputs():
    spec = SceneSpec(shape=(32, 32), chunk=32, cloud_fraction=0.0)
    truth, pre, post = _composites(spec)
    with pytest.raises(MissingBandError, match="rededge2"):
        burned_paddy(truth.landcover == PADDY, pre, post.drop_vars("rededge2"))
    with pytest.raises(GridMismatchError):
        burned_paddy(make_raster(np.ones((32, 32), bool)), pre, post)
    with pytest.raises(MissingBandError, match="latitude"):
        burned_paddy(truth.landcover == PADDY, pre, post, fires={"longitude": [80.0]})


def test_clear_composite_masks_scl_and_stays_lazy():
    t = np.array(["2023-01-01", "2023-01-11", "2023-01-21"], "datetime64[ns]")
    nir = make_raster(np.array([[[0.1, 0.2]], [[0.3, 0.9]], [[0.5, 0.6]]]), times=t, chunks={"time": 1})
    scl = make_raster(np.array([[[4, 4]], [[4, 9]], [[3, 4]]], np.uint8), times=t, chunks={"time": 1})
    with raise_if_dask_computes():
        comp = clear_composite(xr.Dataset({"nir": nir, "scl": scl}))
    np.testing.assert_allclose(comp.nir.values, [[0.2, 0.4]])  # median of clear: (0.1, 0.3) and (0.2, 0.6)


# ---- VCI --------------------------------------------------------------------------------------------


def _series(chunks: dict | None = None) -> xr.DataArray:
    """June and July composites of three years for four pixels."""
    t = pd.to_datetime(["2020-06-01", "2020-07-01", "2021-06-01", "2021-07-01", "2022-06-01", "2022-07-01"])
    jun = np.array([[0.2, 0.3, 0.5, 0.1], [0.6, 0.3, np.nan, 0.2], [0.4, 0.3, 0.7, 0.3]])
    jul = np.array([[0.5, 0.8, 0.1, 0.0], [0.5, 0.2, 0.2, 0.4], [0.5, 0.5, 0.3, 0.45]])
    vals = np.stack([jun[0], jul[0], jun[1], jul[1], jun[2], jul[2]])[:, None, :]
    return make_raster(vals, times=t, chunks=chunks)


@pytest.mark.parametrize("chunks", [None, {"time": 1, "x": 2}], ids=["numpy", "dask"])
def test_vci_hand_made_series(chunks):
    ndvi = _series(chunks)
    with raise_if_dask_computes():
        out = vci(ndvi, "month")
        assert out.dtype == np.uint8 and out.dims == ("time", "y", "x")
    got = out.values[:, 0, :]
    want = np.array([
        [0, 255, 0, 0],      # Jun 2020: px0 min of (0.2, 0.6, 0.4); px1 constant -> nodata
        [255, 100, 0, 0],    # Jul 2020: px0 constant 0.5 -> nodata
        [100, 255, 255, 50],  # Jun 2021: px2 NaN -> nodata; px3 (0.2-0.1)/(0.3-0.1)
        [255, 0, 50, 89],    # Jul 2021: px3 0.4/0.45 = 88.9 -> 89 (rounded)
        [50, 255, 100, 100],
        [255, 50, 100, 100],
    ], np.uint8)
    np.testing.assert_array_equal(got, want)


def test_vci_classes_and_periods():
    v = make_raster(np.array([[0, 9, 10, 19, 20, 29, 30, 39, 40, 100, 255]], np.uint8))
    np.testing.assert_array_equal(vci_class(v).values[0], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 255])
    np.testing.assert_array_equal(vci_class(v, "india2016").values[0], [1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 255])
    t = xr.DataArray(pd.to_datetime(["2021-01-10", "2021-01-11", "2021-01-31", "2021-12-25"]), dims="time")
    np.testing.assert_array_equal(period_labels(t, "dekad").values, [1, 2, 3, 36])
    np.testing.assert_array_equal(period_labels(t, "16day").values, [1, 1, 2, 23])
    with pytest.raises(ConfigError, match="uint8"):
        vci_class(make_raster([[0.5]]))
    with pytest.raises(ConfigError, match="time"):
        vci(make_raster([[0.5]]))


def test_layer_specs():
    specs = {**burn.LAYER_SPECS, **drought.LAYER_SPECS}
    assert (specs["dnbr"].dtype, specs["dnbr"].nodata, specs["dnbr"].scale) == ("int16", -32768, 0.001)
    assert (specs["vci"].dtype, specs["vci"].nodata, specs["vci"].overview_resampling) == ("uint8", 255, "average")
    for name in ("burn_severity", "burned_paddy", "vci_class"):
        assert (specs[name].kind, specs[name].dtype, specs[name].nodata) == ("class", "uint8", 255)
    assert [c[0] for c in specs["burned_paddy"].classes] == [0, 1, 2, 3]
    for name in ("burn_severity", "dnbr", "vci"):  # agree with the foundation's registry where it has them
        assert (specs[name].dtype, specs[name].nodata, specs[name].classes) == \
            (LAYERS[name].dtype, LAYERS[name].nodata, LAYERS[name].classes)
