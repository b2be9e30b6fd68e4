"""Flood extent: robust thresholds, change detection, classes, MMU, exposure, bad inputs, Sen1Floods11.

Measured figures are printed (run with ``-s`` to see them) and asserted a little below what was
measured, so a regression fails while run-to-run noise (none: everything is seeded) cannot.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox
from pyproj import Geod
from scipy import ndimage
from shapely.geometry import Polygon
from skimage.filters import threshold_otsu

from agromap.disaster import exposure, flood, threshold
from agromap.disaster.flood import FloodParams, SarUnitsError, flood_map
from agromap.disaster.threshold import SAR_VH, ThresholdParams, robust_threshold
from agromap.errors import GridMismatchError, MissingBandError, NoValidDataError, OrbitMismatchError
from agromap.io.grid import attach_geobox
from agromap.layer_registry import LAYERS
from agromap.sensors.s1 import to_db
from agromap.synthetic_truth import OTHER, PADDY, WATER
from agromap.testing import SceneSpec, make_raster, make_s1_stack, make_truth, raise_if_dask_computes

RNG_LOOKS = 5
#: Every class that is water of some kind (reference, flood, managed, unknown status, flooded vegetation).
WATER_CLASSES = (1, 2, 3, 4, 5, 7, 8)


def _iou(pred: np.ndarray, truth: np.ndarray) -> float:
    return float((pred & truth).sum() / (pred | truth).sum())


def _speckle(db: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (10 ** (db / 10) * rng.gamma(RNG_LOOKS, 1 / RNG_LOOKS, db.shape)).astype(np.float32)


def _lake_scene(water_fraction: float, n: int = 256, seed: int = 0) -> tuple[xr.Dataset, np.ndarray]:
    """Fields of -17..-11 dB VH, one round lake (or one round island) of the given water share;
    water patches of -27..-20 dB VH (calm and rough water), VV 5-7 dB above; 5-look speckle."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n]
    field = (yy // 16) * 100 + xx // 24
    land = rng.uniform(-17, -11, field.max() + 1)[field]
    wet = rng.uniform(-27, -20, field.max() + 1)[field]
    small = min(water_fraction, 1 - water_fraction)
    disc = (yy - 90) ** 2 + (xx - 150) ** 2 < small * n * n / np.pi
    water = disc if water_fraction < 0.5 else ~disc
    vh = np.where(water, wet, land)
    vv = vh + np.where(water, 5.0, 7.0)
    ds = xr.Dataset({"vv": make_raster(_speckle(vv, rng)), "vh": make_raster(_speckle(vh, rng))})
    return ds, water


# ---- robust threshold --------------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [None, {"y": 32, "x": 32}, {"y": 50, "x": 37}], ids=["numpy", "aligned", "ragged"])
def test_threshold_between_modes_lazy_and_chunk_independent(chunks):
    rng = np.random.default_rng(1)
    img = np.where(np.arange(96)[None, :] < 40, -20.0, -10.0) + rng.normal(0, 1, (96, 96))
    img[5, 5] = np.nan
    x = make_raster(img, chunks=chunks)
    with raise_if_dask_computes():
        res = robust_threshold(x, ThresholdParams(fallback=-15.0, tile_px=32))
        assert res.threshold.dtype == np.float32 and res.method.dtype == np.uint8
        assert res.threshold.ndim == 0
    ref = robust_threshold(make_raster(img), ThresholdParams(fallback=-15.0, tile_px=32))
    xr.testing.assert_identical(res.compute(), ref)
    assert -18 < float(ref.threshold) < -12
    assert int(ref.method) == 1 and int(ref.n_tiles) > 0 and float(ref.ashman_d) > 2


def test_threshold_histogram_is_the_dask_histogram():
    rng = np.random.default_rng(2)
    img = rng.normal(-15, 6, (64, 80))
    img[::7, ::5] = np.nan
    img[0, :3] = [-80.0, 30.0, np.inf]
    p = ThresholdParams(fallback=-15.0, tile_px=16)
    x = da.from_array(img, chunks=(16, 32))
    mine = threshold._histograms(x, p)[0]
    finite = img[np.isfinite(img)]
    want, _ = da.histogram(da.from_array(np.clip(finite, *p.value_range)), bins=p.bins, range=p.value_range)
    np.testing.assert_array_equal(mine.compute(), want.compute())


def test_threshold_fallbacks_all_nan_and_unimodal():
    p = ThresholdParams(fallback=-17.5)
    nan = robust_threshold(make_raster(np.full((40, 40), np.nan), chunks={"y": 20, "x": 20}), p).compute()
    assert int(nan.method) == 0 and float(nan.threshold) == -17.5 and int(nan.n_valid) == 0
    uni = robust_threshold(make_raster(np.random.default_rng(3).normal(-15, 1, (64, 64))), p)
    assert int(uni.method) == 3 and float(uni.threshold) == -17.5
    assert float(uni.bimodality) < 0.75  # a normal mode split at its middle gives 2/pi = 0.64


@pytest.mark.parametrize(("fraction", "floor"), [(0.01, 0.85), (0.98, 0.97)])
def test_single_scene_1_and_98_percent_water(fraction, floor):
    ds, water = _lake_scene(fraction)
    with raise_if_dask_computes():
        out = flood_map(ds.chunk(64))
    out = out.compute()
    ours = _iou(np.isin(out.flood_class.values, WATER_CLASSES), water)
    filtered = to_db(flood.speckle_filter(ds.vh, FloodParams().single_scene_radius_m)).values
    plain = _iou(filtered < threshold_otsu(filtered), water)
    methods = (int(out.threshold_method_vv), int(out.threshold_method_vh))
    print(f"\n{fraction:.0%} water: IoU {ours:.3f} (plain Otsu on VH {plain:.3f}), methods vv/vh {methods}, "
          f"thresholds {float(out.threshold_vv):.2f}/{float(out.threshold_vh):.2f} dB")
    assert plain < 0.6, "the scene must defeat a plain global Otsu"
    assert ours >= floor
    assert 1 in methods


# ---- synthetic scene: change detection, classes ------------------------------------------------


@pytest.fixture(scope="module")
def scene():
    spec = SceneSpec(shape=(128, 128), chunk=64, cloud_fraction=0.0, seed=3)
    truth = make_truth(spec).compute()
    s1 = make_s1_stack(spec).compute()
    i = list(spec.dates).index(truth.attrs["flood_dates"][0])
    return spec, truth, s1.isel(time=i), s1.isel(time=slice(0, i))


def _expected(truth: xr.Dataset) -> np.ndarray:
    lc, f = truth.landcover.values, truth.flood.values
    exp = np.zeros(lc.shape, np.uint8)
    exp[f & (lc == OTHER)] = 3
    exp[f & (lc == PADDY)] = 4
    exp[lc == WATER] = 1
    return exp


def _interior(mask: np.ndarray, margin: int = 3) -> np.ndarray:
    return ndimage.binary_erosion(mask, iterations=margin) if mask.any() else mask


@pytest.mark.parametrize("mode", ["change", "single"])
def test_synthetic_flood_classes(scene, mode):
    _, truth, post, pre = scene
    lc = truth.landcover
    kw = dict(reference=lc == WATER, rice=lc == PADDY, cropland=lc == OTHER, transplant_doy=truth.transplant_doy_1,
              params=FloodParams(speckle_radius_m=20.0))
    chunked = dict(post=post.chunk(48), pre=pre.chunk({"y": 48, "x": 48}) if mode == "change" else None)
    with raise_if_dask_computes():
        lazy = flood_map(**chunked, **{k: (v.chunk(48) if isinstance(v, xr.DataArray) else v) for k, v in kw.items()})
        assert lazy.flood_class.dtype == np.uint8 and lazy.flood_likelihood.dtype == np.float32
        assert lazy.flood_class.chunks is not None
    eager = flood_map(post, pre if mode == "change" else None, **kw)
    xr.testing.assert_identical(lazy.compute(), eager)  # numpy == dask, exactly
    got, exp = eager.flood_class.values, _expected(truth)
    assert (got[lc.values == WATER] == 1).all()
    acc = float((got == exp).mean())
    recall = {c: float((got[_interior(exp == c)] == c).mean()) for c in (3, 4)}
    dry = _interior((exp == 0) & ~truth.flood.values)
    false_alarm = float((got[dry] != 0).mean())
    print(f"\nsynthetic {mode}: overall {acc:.3f}, interior recall cropland {recall[3]:.3f} rice {recall[4]:.3f}, "
          f"false alarms on dry land {false_alarm:.4f}")
    assert acc >= 0.95 and min(recall.values()) >= 0.97 and false_alarm <= 0.01
    assert bool(eager.flood_detected) and float(eager.valid_fraction) == 1.0
    lik = eager.flood_likelihood.values
    assert np.nanmin(lik) >= 0 and np.nanmax(lik) <= 1


def test_un_spider_baseline_and_derived_reference_water(scene):
    _, truth, post, pre = scene
    lc = truth.landcover.values
    out = flood_map(post, pre, params=FloodParams(require_dark_post=False))  # the RP exactly (50 m, ratio 1.25)
    got = out.flood_class.values
    ponds = _interior(lc == WATER, 4)
    flooded = _interior(truth.flood.values, 3)
    dry = _interior(np.isin(lc, (OTHER, PADDY)) & ~truth.flood.values, 3)
    hit, false_alarm = np.mean(got[flooded] == 2), np.mean(got[dry] == 2)
    print(f"\nUN-SPIDER RP (50 m, ratio > 1.25): reference water on pond interiors {np.mean(got[ponds] == 1):.3f}, "
          f"flood interiors {hit:.3f}, dry crop/paddy interiors flagged {false_alarm:.4f}")
    assert (got[ponds] == 1).mean() >= 0.95  # derived from the pre-event dates
    assert hit >= 0.9 and false_alarm <= 0.01  # no crop/rice masks: every flood pixel is class 2
    assert set(np.unique(got)) <= {0, 1, 2}


def test_managed_paddy_water_is_not_flood():
    spec = SceneSpec(shape=(96, 96), chunk=48, cloud_fraction=0.0, seed=5, transplant_window=(238, 250))
    truth = make_truth(spec).compute()
    s1 = make_s1_stack(spec).compute()
    i = list(spec.dates).index(truth.attrs["flood_dates"][0])  # 2023-08-30, DOY 242: puddling/transplanting
    lc = truth.landcover
    out = flood_map(s1.isel(time=i), s1.isel(time=slice(0, i)), rice=lc == PADDY, cropland=lc == OTHER,
                    transplant_doy=truth.transplant_doy_1, reference=lc == WATER,
                    params=FloodParams(speckle_radius_m=20.0))
    got = out.flood_class.values[lc.values == PADDY]
    share5 = float((got == 5).mean())
    print(f"\npaddies at transplanting: {share5:.3f} class 5, none flood ({np.isin(got, (2, 3, 4)).sum()} px)")
    assert not np.isin(got, (2, 3, 4)).any()
    assert share5 >= 0.6


def test_mmu_removes_specks_and_is_exact_over_chunks():
    rng = np.random.default_rng(4)
    mask = rng.random((60, 70)) < 0.3
    ref = flood.minimum_mapping_unit(make_raster(mask), 8).values
    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    sizes = np.bincount(lab.ravel())
    np.testing.assert_array_equal(ref, mask & (sizes[lab] >= 8) & (lab > 0))
    for cy, cx in ((7, 9), (13, 5), (60, 70)):
        lazy = flood.minimum_mapping_unit(make_raster(mask, chunks={"y": cy, "x": cx}), 8)
        np.testing.assert_array_equal(lazy.values, ref)
    # specks of 7 px vanish from the classes; an 8-px group stays
    vh = np.full((40, 40), -15.0)
    vh[5:6, 5:12] = -25.0  # 7 px
    vh[20:22, 20:24] = -25.0  # 8 px
    rng2 = np.random.default_rng(5)
    ds = xr.Dataset({"vh": make_raster((10 ** (vh / 10) * rng2.uniform(0.98, 1.02, vh.shape)).astype(np.float32))})
    # Two delta peaks put the split at the dark peak's bin: no confident seeds, so no region growing here.
    out = flood_map(ds, params=FloodParams(single_scene_radius_m=0.0, region_growing=False))
    got = out.flood_class.values
    assert (got[5, 5:12] == 0).all() and (got[20:22, 20:24] == 7).all()  # no reference: status unknown


def test_speckle_filter_chunk_exact_and_mean_in_linear():
    rng = np.random.default_rng(6)
    lin = rng.gamma(5, 0.02, (50, 45)).astype(np.float32)
    lin[10, 10] = np.nan
    eager = flood.speckle_filter(make_raster(lin), 50.0)
    lazy = flood.speckle_filter(make_raster(lin, chunks={"y": 8, "x": 11}), 50.0)
    np.testing.assert_array_equal(lazy.values, eager.values)
    assert np.isnan(eager.values[10, 10]) and eager.dtype == np.float32
    disk = (np.mgrid[-5:6, -5:6] ** 2).sum(0) <= 25
    window = lin[20 - 5:20 + 6, 20 - 5:20 + 6][disk]
    np.testing.assert_allclose(eager.values[20, 20], np.nanmean(window), rtol=1e-6)


def test_slope_hand_and_exclusion_give_class_6():
    vh = np.full((30, 30), 10 ** -2.5, np.float32)
    vh[:, :15] = 10 ** -1.4
    dem = np.zeros((30, 30))
    dem[:, 20:] = np.arange(10)[None, :] * 10.0  # 10 m rise per 10 m pixel = 45 deg
    hand = np.zeros((30, 30))
    hand[:5] = 30.0
    ex = np.zeros((30, 30), bool)
    ex[-3:] = True
    out = flood_map(xr.Dataset({"vh": make_raster(vh)}), dem=make_raster(dem), hand=make_raster(hand),
                    exclude=make_raster(ex), reference=make_raster(np.zeros((30, 30), bool)),
                    params=FloodParams(single_scene_radius_m=0.0, region_growing=False))
    got = out.flood_class.values
    assert (got[:5] == 6).all() and (got[-3:] == 6).all() and (got[10:20, 21:] == 6).all()
    assert (got[10:20, 15:19] == 2).all() and (got[10:20, :14] == 0).all()
    np.testing.assert_allclose(flood.slope_degrees(make_raster(dem)).values[10, 25], 45.0, atol=1e-4)


def test_optical_scl_masking_and_fusion():
    green = np.full((20, 20), 0.08, np.float32)
    swir = np.full((20, 20), 0.02, np.float32)  # MNDWI 0.6: water everywhere
    swir[:, 10:] = 0.25  # MNDWI < 0: land on the right
    scl = np.full((20, 20), 6, np.uint8)
    scl[:5] = 3  # cloud shadow: masked
    opt = xr.Dataset({"green": make_raster(green), "swir16": make_raster(swir), "scl": make_raster(scl)})
    out = flood_map(None, optical=opt)
    got, lik = out.flood_class.values, out.flood_likelihood.values
    assert (got[:5] == 255).all() and np.isnan(lik[:5]).all()
    assert (got[5:, :10] == 7).all() and (got[5:, 10:] == 0).all()  # water; no reference: status unknown
    assert not bool(out.flood_detected)
    # fusion: radar says land everywhere; optical decides where it is confident, radar fills the shadow
    vh = make_raster(np.full((20, 20), 10 ** -1.2, np.float32))
    fused = flood_map(xr.Dataset({"vh": vh}), optical=opt, params=FloodParams(single_scene_radius_m=0.0))
    assert (fused.flood_class.values[:5] == 0).all()  # radar only
    np.testing.assert_allclose(fused.flood_likelihood.values[:5], 0.0, atol=1e-3)
    assert (fused.flood_likelihood.values[5:, :10] > 0.49).all()  # mean of ~1 (optical) and ~0 (radar)


# ---- bad inputs: clear errors -------------------------------------------------------------------


def _pair(units: str = "linear", **attrs: str) -> tuple[xr.Dataset, xr.Dataset]:
    rng = np.random.default_rng(7)
    a = _speckle(np.full((32, 32), -15.0), rng)
    if units == "db":
        a = 10 * np.log10(a)
    post = xr.Dataset({"vh": make_raster(a, chunks={"y": 16, "x": 16})}, attrs=attrs)
    pre = xr.Dataset({"vh": make_raster(a.copy(), chunks={"y": 16, "x": 16})})
    return post, pre


def test_pre_post_on_different_grids():
    post, pre = _pair()
    shifted = xr.Dataset({"vh": make_raster(pre.vh.values, origin=(500_010.0, 2_000_000.0))})
    with pytest.raises(GridMismatchError, match="to_grid"):
        flood_map(post, shifted)
    with pytest.raises(GridMismatchError):
        flood_map(post, rice=make_raster(np.ones((16, 16), bool)))


def test_pre_post_on_different_orbits():
    post, pre = _pair(relative_orbit="77", orbit_state="descending")
    with pytest.raises(OrbitMismatchError, match="relative orbit '150'"):
        flood_map(post, pre.assign_attrs(relative_orbit="150", orbit_state="descending"))
    with pytest.raises(OrbitMismatchError, match="pass direction"):
        flood_map(post, pre.assign_attrs(orbit_state="ascending"))
    flood_map(post, pre.assign_attrs(relative_orbit=77))  # same track: fine (compared as text)


def test_all_nan_scene_raises_at_compute():
    post = xr.Dataset({"vh": make_raster(np.full((32, 32), np.nan), chunks={"y": 16, "x": 16})})
    with raise_if_dask_computes():
        out = flood_map(post)  # building the graph is fine
    with pytest.raises(NoValidDataError, match="no valid pixel"):
        out.flood_class.compute()


@pytest.mark.parametrize(("data_units", "declared", "match"), [
    ("db", "linear", "negative, as in dB"),
    ("linear", "db", "as in linear power"),
])
def test_db_linear_confusion_raises_at_compute(data_units, declared, match):
    post, pre = _pair(data_units)
    with raise_if_dask_computes():
        single = flood_map(post, units=declared)
        change = flood_map(post, pre, units=declared)
    for out in (single, change):
        with pytest.raises(SarUnitsError, match=match):
            out.compute()
    flood_map(post, pre, units=data_units).compute()  # the right declaration passes


def test_other_input_errors():
    post, pre = _pair()
    with pytest.raises(MissingBandError, match="vh"):
        flood_map(xr.Dataset({"hh": post.vh}))
    with pytest.raises(ValueError, match="needs a post-event"):
        flood_map(None)
    stack = xr.concat([post.vh, post.vh], "time").assign_coords(time=np.array(["2023-01-01", "2023-01-13"],
                                                                             "datetime64[ns]"))
    with pytest.raises(ValueError, match="select the event date"):
        flood_map(xr.Dataset({"vh": stack}))


# ---- exposure and layer specs ---------------------------------------------------------------------


def test_exposure_areas():
    cls = np.array([[0, 1, 2, 3], [4, 5, 6, 255]], np.uint8)
    arr = make_raster(cls, res=20.0, chunks={"y": 1, "x": 2})
    with raise_if_dask_computes():
        ex = exposure.flood_exposure(arr)
    ex = ex.compute()
    np.testing.assert_allclose(ex.flooded_rice_ha.values, [[0, 0, 0, 0], [0.04, 0, np.nan, np.nan]], rtol=1e-6)
    np.testing.assert_allclose(np.nansum(ex.flooded_cropland_ha.values), 0.08, rtol=1e-6)
    np.testing.assert_allclose(np.nansum(ex.flood_ha.values), 0.12, rtol=1e-6)
    assert ex.flooded_rice.values.sum() == 1 and ex.flooded_cropland.values.sum() == 2
    # geographic grid: the WGS 84 ellipsoidal area of a 1 deg x 1 deg cell centred on the equator
    # (12,309 km2; the authalic sphere would give 12,364 km2), by the one pixel-area function
    geo = make_raster(np.full((1, 1), 4, np.uint8), crs="EPSG:4326", res=1.0, origin=(90.0, 0.5))
    edge = np.linspace(90.0, 91.0, 1001)  # dense edges follow the parallels, not geodesics
    ring = [*zip(edge, np.full_like(edge, -0.5)), *zip(edge[::-1], np.full_like(edge, 0.5))]
    ref = abs(Geod(ellps="WGS84").geometry_area_perimeter(Polygon(ring))[0]) / 1e4
    np.testing.assert_allclose(float(exposure.flood_exposure(geo).flooded_rice_ha[0, 0]), ref, rtol=1e-6)
    assert ref == pytest.approx(1.2309e6, rel=1e-4)


def test_layer_specs_match_science_and_registry():
    spec = flood.LAYER_SPECS["flood_class"]
    assert (spec.dtype, spec.nodata, spec.overview_resampling) == ("uint8", 255, "mode")
    assert [c[2] for c in spec.classes] == ["C8C8C8", "0000FF", "00B4FF", "FF0000", "FF7F00", "7FC97F", "969696",
                                            "8C6BB1", "1B9E77"]
    assert dict((c[0], c[1]) for c in spec.classes)[7] == "water, flood status unknown"
    assert spec.classes == LAYERS["flood_class"].classes
    lik = flood.LAYER_SPECS["flood_likelihood"]
    assert lik.dtype == "float32" and np.isnan(lik.nodata) and lik.overview_resampling == "average"
    assert SAR_VH.fallback == -20.0


# ---- the real Sen1Floods11 India chip -----------------------------------------------------------


def _read(path) -> list[xr.DataArray]:
    with rasterio.open(path) as src:
        data, gbox = src.read(), GeoBox((src.height, src.width), src.transform, src.crs)
    return [attach_geobox(xr.DataArray(b, dims=("y", "x")), gbox) for b in data]


@pytest.mark.integration
def test_sen1floods11_india_single_scene_iou(samples):
    d = samples / "sen1floods11_india"
    vv, vh = _read(d / "India_900498_S1Hand.tif")
    (label,) = _read(d / "India_900498_LabelHand.tif")
    s2 = dict(zip([f"B{i}" for i in (1, 2, 3, 4, 5, 6, 7, 8, "8A", 9, 10, 11, 12)],
                  _read(d / "India_900498_S2Hand.tif"), strict=True))
    post = xr.Dataset({"vv": vv, "vh": vh}).chunk(128)
    lab = label.values
    keep, water = lab >= 0, lab == 1

    def iou(out: xr.Dataset) -> float:
        c = out.flood_class.values
        return _iou(np.isin(c, WATER_CLASSES)[keep], water[keep])

    with raise_if_dask_computes():
        lazy = flood_map(post, units="db")  # dB inputs, checked at compute
    out = lazy.compute()
    sar = iou(out)
    plain = _iou((vh.values < -20)[keep], water[keep])
    optical = xr.Dataset({"green": (s2["B3"] / 1e4).astype(np.float32), "swir16": (s2["B11"] / 1e4).astype(np.float32)})
    opt = iou(flood_map(None, optical=optical))
    fused = iou(flood_map(post, optical=optical, units="db").compute())
    print(f"\nSen1Floods11 India_900498: single-scene VV+VH IoU {sar:.4f} (VH < -20 dB: {plain:.4f}); "
          f"thresholds VV {float(out.threshold_vv):.2f} dB (method {int(out.threshold_method_vv)}), "
          f"VH {float(out.threshold_vh):.2f} dB (method {int(out.threshold_method_vh)}); "
          f"optical MNDWI > 0 (L1C TOA) {opt:.4f}; fused {fused:.4f}")
    assert sar >= 0.76 > plain
    assert int(out.threshold_method_vv) == 1 and int(out.threshold_method_vh) == 1
    assert opt >= 0.92 and fused >= 0.89


# ---- thresholds, evidence weights, region growing, reference water, flooded vegetation ------------


def test_kittler_illingworth_on_unequal_gaussians():
    """A wide dark mode (water, sd 3 dB) and a narrow bright one (land, sd 1 dB): the minimum-error
    split lies where the two weighted densities cross, nearer the narrow mode than Otsu's."""
    from scipy.stats import norm

    p = ThresholdParams(fallback=-15.0, tile_px=0, split="ki")
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.normal(-22, 3, 40_000), rng.normal(-12, 1, 60_000)])
    counts = threshold._histograms(x.reshape(200, 500), p)[0]
    ki, otsu = threshold.ki_from_histogram(counts, p), threshold.otsu_from_histogram(counts, p)
    grid = np.linspace(-20, -12, 8001)
    cross = grid[np.argmin(np.abs(0.4 * norm.pdf(grid, -22, 3) - 0.6 * norm.pdf(grid, -12, 1)))]
    print(f"\nKI {ki:.2f} dB, Otsu {otsu:.2f} dB, Bayes crossing {cross:.2f} dB")
    assert abs(ki - cross) < 0.4 and otsu < ki - 1.0
    res = robust_threshold(make_raster(x.reshape(200, 500)), p)
    assert int(res.method) == 2 and abs(float(res.threshold) - ki) < 1e-5 and float(res.reliability) >= 0.5


def test_fallback_never_outvotes_a_fitted_threshold():
    """VH has a lake, VV shows no contrast at all (falls back to -15 dB and says 'water' everywhere
    below it): with reliability weights VH decides; an unweighted mean would flood the land."""
    ds, water = _lake_scene(0.2, seed=2)
    rng = np.random.default_rng(3)
    vv_db = rng.normal(-16.0, 0.5, water.shape)  # unimodal, below the VV fallback: "water" everywhere
    ds["vv"] = ds.vh.copy(data=_speckle(vv_db, rng))
    out = flood_map(ds.chunk(64), params=FloodParams(region_growing=False)).compute()
    assert int(out.threshold_method_vv) == 3 and int(out.threshold_method_vh) == 1
    assert float(out.weight_vv) == pytest.approx(0.2) and float(out.weight_vh) >= 0.5
    got = _iou(np.isin(out.flood_class.values, WATER_CLASSES), water)
    db = {p: to_db(flood.speckle_filter(ds[p], 20.0)) for p in ("vv", "vh")}
    thr = {"vv": out.threshold_vv, "vh": out.threshold_vh}
    equal = _iou(flood.sar_water_likelihood(db, thr).values >= 0.5, water)
    vh_alone = _iou(flood.sar_water_likelihood({"vh": db["vh"]}, thr).values >= 0.5, water)
    print(f"\nVV fallback + VH fitted: weighted IoU {got:.3f}, equal weights {equal:.3f}, VH alone {vh_alone:.3f}")
    assert got >= vh_alone - 0.01 and equal < got - 0.05  # measured 0.978, 0.976; equal weights 0.900


def test_region_growing_is_exact_over_chunks_and_bounded():
    lik = np.zeros((60, 50), np.float32)
    lik[10:40, 5] = 0.99  # a seed column
    lik[10:40, 6:30] = 0.4  # ambiguous pixels to its right, 24 px wide
    lik[50:55, 40:45] = 0.4  # ambiguous, no seed: dropped
    from agromap.disaster.sar_water import grow_water

    ref = grow_water(make_raster(lik), 0.95, 0.27, 10).values
    assert ref[10:40, 5:16].all() and not ref[10:40, 16:].any()  # 10 steps from the seed, no further
    assert not ref[50:55, 40:45].any() and not ref[:10].any()
    for cy, cx in ((7, 9), (13, 5), (60, 50)):
        lazy = grow_water(make_raster(lik, chunks={"y": cy, "x": cx}), 0.95, 0.27, 10)
        np.testing.assert_array_equal(lazy.values, ref)


def test_region_growing_recovers_bright_water_edges():
    """A lake whose rim (shallow, wind) is only ~1 dB below land: growth from the dark core keeps the
    rim that a global threshold misses, without taking the isolated dark fields."""
    rng = np.random.default_rng(8)
    n = 128
    yy, xx = np.mgrid[:n, :n]
    r = np.hypot(yy - 64, xx - 64)
    vh = np.where(r < 30, -26.0, np.where(r < 36, -19.0, -15.0))
    vh[5:12, 5:12] = -19.0  # a dark field far from water
    ds = xr.Dataset({"vh": make_raster(_speckle(vh, rng))})
    water = r < 36
    grown = flood_map(ds.chunk(64)).compute()
    plain = flood_map(ds, params=FloodParams(region_growing=False))
    g = np.isin(grown.flood_class.values, WATER_CLASSES)
    p_ = np.isin(plain.flood_class.values, WATER_CLASSES)
    print(f"\nbright rim: IoU grown {_iou(g, water):.3f}, plain {_iou(p_, water):.3f}")
    assert bool(grown.region_growing) and _iou(g, water) > _iou(p_, water) + 0.05
    assert not g[5:12, 5:12].any()


def test_without_reference_water_is_unknown_status_and_no_flood():
    ds, water = _lake_scene(0.2, seed=4)
    none = flood_map(ds).compute()
    assert set(np.unique(none.flood_class.values)) <= {0, 7} and (none.flood_class.values == 7).any()
    assert not bool(none.flood_detected) and none.attrs["reference_water"] == "none"
    # Half of the lake is known normal water: the other half is flood, and a flood is detected.
    ref = make_raster(water & (np.arange(256)[None, :] < 150))
    known = flood_map(ds, reference=ref).compute()
    cls = known.flood_class.values
    assert known.attrs["reference_water"] == "supplied layer" and bool(known.flood_detected)
    assert (cls[ref.values] == 1).all() and (cls == 2).sum() > 0.8 * (water & ~ref.values).sum()
    assert not (cls == 7).any()


def test_flooded_vegetation_double_bounce():
    """Pre/post pair: a crop patch where VV rises 5 dB and VH 1 dB (VV/VH + 4 dB) is flooded
    vegetation (8); a patch where both rise 5 dB (ratio unchanged: growth, moisture) is not."""
    rng = np.random.default_rng(9)
    n = 96
    vv_pre, vh_pre = np.full((n, n), -10.0), np.full((n, n), -16.0)
    vv_post, vh_post = vv_pre.copy(), vh_pre.copy()
    vv_post[10:40, 10:40] += 5.0
    vh_post[10:40, 10:40] += 1.0
    vv_post[50:80, 50:80] += 5.0
    vh_post[50:80, 50:80] += 5.0
    vv_post[60:90, 5:35], vh_post[60:90, 5:35] = -22.0, -28.0  # open flood water
    crop = np.ones((n, n), bool)
    crop[:, 90:] = False
    post = xr.Dataset({"vv": make_raster(_speckle(vv_post, rng)), "vh": make_raster(_speckle(vh_post, rng))})
    pre = xr.concat([xr.Dataset({"vv": make_raster(_speckle(vv_pre, rng)), "vh": make_raster(_speckle(vh_pre, rng))})
                     for _ in range(3)], "time").assign_coords(time=pd_dates(3))
    with raise_if_dask_computes():
        lazy = flood_map(post.chunk(48), pre.chunk({"y": 48, "x": 48}), cropland=make_raster(crop, chunks=48))
    out = lazy.compute()
    cls = out.flood_class.values
    inner = (slice(14, 36), slice(14, 36))
    print(f"\nflooded vegetation: class 8 on the double-bounce patch {(cls[inner] == 8).mean():.3f}, "
          f"on the all-rise patch {(cls[54:76, 54:76] == 8).mean():.3f}, "
          f"open water class 3 {(cls[64:86, 9:31] == 3).mean():.3f}")
    assert (cls[inner] == 8).mean() > 0.95 and (cls[54:76, 54:76] == 8).mean() < 0.01
    assert (cls[64:86, 9:31] == 3).mean() > 0.95 and bool(out.flood_detected)
    assert (cls[:, 92:] != 8).all()  # not vegetated: never flooded vegetation


def pd_dates(k: int) -> np.ndarray:
    return np.array([f"2023-07-{d:02d}" for d in range(1, 1 + 12 * k, 12)], "datetime64[ns]")
