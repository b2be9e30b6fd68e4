"""Supervised rice classification: features, labels, blocked CV, skops persistence, dask prediction.

One synthetic 128x128 scene (12 dates, clouds, a flood event) with known paddies; labels are
sampled from its truth, written to GeoJSON and CSV and read back through agromap.rice.labels.
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
import zipfile

import cloudpickle
import dask
import geopandas as gpd
import joblib
import numpy as np
import pandas as pd
import pytest
import shapely
import skops.io as sio
import xarray as xr

from agromap.errors import (
    AgromapError,
    ConfigError,
    FeatureMismatchError,
    FoldError,
    InputError,
    LabelCRSError,
    LabelOverlapError,
    LazySamplesError,
    MissingBandError,
    ModelChecksumError,
    ModelVersionError,
    NoOverlapError,
    SingleClassError,
    UnknownModelFileError,
    UntrustedModelError,
)
from agromap.rice import model as M
from agromap.rice import model_predict, model_train
from agromap.rice.features import (
    FeatureSpec,
    feature_names,
    index_features,
    optical_features,
    sar_features,
    temporal_features,
)
from agromap.rice.labels import extract_samples, read_labels, samples_from_points
from agromap.testing import SceneSpec, make_s1_stack, make_s2_stack, make_truth, raise_if_dask_computes

SPEC = SceneSpec(shape=(128, 128), chunk=64, seed=3)
N_POINTS = 800
BLOCK_M = 320.0  # 32 px blocks: the 1.28 km scene touches 25 of them
TRAIN = M.TrainParams(n_estimators=60, n_splits=5)


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scene() -> dict:
    s2, s1 = make_s2_stack(SPEC), make_s1_stack(SPEC)
    with raise_if_dask_computes():
        lazy = temporal_features(s2, s1)
    truth = (make_truth(SPEC).landcover.values == 1).astype(np.int64)
    return {"lazy": lazy, "features": lazy.compute(), "truth": truth}


@pytest.fixture(scope="module")
def label_files(scene, tmp_path_factory) -> dict:
    rng = np.random.default_rng(7)
    rows, cols = rng.integers(0, 128, N_POINTS), rng.integers(0, 128, N_POINTS)
    gbox = scene["features"].odc.geobox
    xs, ys = gbox.transform * (cols + 0.5, rows + 0.5)
    df = pd.DataFrame({"id": [f"p{i}" for i in range(N_POINTS)], "x": xs, "y": ys,
                       "class": scene["truth"][rows, cols]})  # fmt: skip
    d = tmp_path_factory.mktemp("labels")
    df.to_csv(d / "labels.csv", index=False)
    gdf = gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(xs, ys), crs=SPEC.crs)
    gdf.to_file(d / "labels.geojson", driver="GeoJSON")
    gdf.to_crs("EPSG:4326").to_file(d / "labels_wgs84.geojson", driver="GeoJSON")
    return {"dir": d, "csv": d / "labels.csv", "geojson": d / "labels.geojson",
            "wgs84": d / "labels_wgs84.geojson", "df": df, "rows": rows, "cols": cols}  # fmt: skip


@pytest.fixture(scope="module")
def samples(scene, label_files) -> xr.Dataset:
    labels = read_labels(label_files["geojson"])
    return extract_samples(labels, scene["lazy"], block_size_m=BLOCK_M).compute()


@pytest.fixture(scope="module")
def trained(samples) -> M.RiceModel:
    return M.train(samples, TRAIN)


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory) -> tuple:
    path = tmp_path_factory.mktemp("model") / "rice.skops"
    return path, M.save_model(trained, path)


# ---- features ----------------------------------------------------------------------------------


def test_features_are_lazy_float32_with_one_feature_chunk(scene):
    lazy = scene["lazy"]
    assert lazy.dtype == np.float32
    assert lazy.dims == ("feature", "y", "x")
    assert lazy.chunks[0] == (len(feature_names()),)
    assert tuple(lazy["feature"].values) == feature_names()
    tokens = {t for n in feature_names() for t in n.split("_")}
    assert not tokens & {"lat", "lon", "latitude", "longitude", "x", "y", "row", "col", "site", "id"}
    assert lazy.odc.geobox == make_s2_stack(SPEC).nir.odc.geobox
    # Every pixel of this scene has clear optical and SAR dates: no nodata feature.
    assert np.isfinite(scene["features"].values).all()


def test_features_numpy_equals_dask():
    spec = SceneSpec(shape=(24, 24), chunk=8, seed=5, n_seasons=2)
    s2, s1 = make_s2_stack(spec), make_s1_stack(spec)
    lazy = temporal_features(s2, s1)
    eager = temporal_features(s2.compute(), s1.compute())
    assert eager.chunks is None
    xr.testing.assert_identical(lazy.compute(), eager)


def test_extra_features_are_appended_in_order(scene):
    s2, s1 = make_s2_stack(SPEC), make_s1_stack(SPEC)
    flag = scene["features"].sel(feature="vh_min_db", drop=True) < -20  # e.g. a rule flag, bool (y, x)
    with raise_if_dask_computes():
        f = temporal_features(s2, s1, extra={"sar_rule": flag})
    assert f.dtype == np.float32 and f.chunks[0] == (len(feature_names()) + 1,)
    assert tuple(f["feature"].values) == (*feature_names(), "sar_rule")
    np.testing.assert_array_equal(f.sel(feature="sar_rule").values, flag.values.astype(np.float32))
    with pytest.raises(InputError, match="one value per pixel"):
        temporal_features(s2, extra={"bad": s2.nir})


def test_feature_kernels_match_numpy_reductions():
    """Hand-built (time, point) series with NaN gaps against numpy's nan-reductions."""
    times = pd.to_datetime(["2023-06-01", "2023-06-16", "2023-07-01", "2023-07-16", "2023-08-15", "2023-10-14"])
    doy = np.array([152, 167, 182, 197, 227, 287], dtype=float)
    vh_db = np.array([[-16, -23, -21, -15, -13, -17],                    # rice-like: minimum, rise, drop
                      [-15, np.nan, -24, -22, np.nan, -12.5],            # gaps
                      [np.nan] * 6], dtype=float)  # fmt: skip
    vv_db = vh_db + 6.0
    sar = xr.Dataset({"vh": (("point", "time"), 10 ** (vh_db / 10)), "vv": (("point", "time"), 10 ** (vv_db / 10))},
                     coords={"time": times}).astype(np.float32)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "All-NaN slice" warning for the empty point
        f = sar_features(sar, FeatureSpec(rise_window_days=110)).compute()
    get = {str(n): f.sel(feature=n).values for n in f["feature"].values}
    db = 10 * np.log10(10 ** (vh_db[:2] / 10).astype(np.float32).astype(float))
    np.testing.assert_allclose(get["vh_min_db"][:2], np.nanmin(db, axis=1), atol=1e-4)
    np.testing.assert_array_equal(get["vh_tmin"][:2], [167, 182])
    for q in (10, 50, 90):
        np.testing.assert_allclose(get[f"vh_p{q}_db"][:2], np.nanpercentile(db, q, axis=1), atol=1e-4)
    np.testing.assert_allclose(get["vh_var_db"][:2], np.nanvar(db, axis=1), atol=1e-3)
    # Point 0: max within 110 d after 167 (<= 277) is -13 on day 227; then the drop to -17.
    np.testing.assert_allclose([get["vh_max_after_db"][0], get["vh_rise_days"][0], get["vh_harvest_drop_db"][0]],
                               [-13, 60, 4], atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(get["vh_vv_peak_db"][:2], [-6, -6], atol=1e-4)
    lin_mean = np.nanmean(10 ** (db / 10), axis=1)
    np.testing.assert_allclose(get["vh_mean_db"][:2], 10 * np.log10(lin_mean), atol=1e-4)
    np.testing.assert_array_equal(get["n_valid_sar"], [6, 4, 0])
    assert np.isnan(f.values[:-1, 2]).all()  # the empty point: every statistic NaN, count 0
    assert doy.size == 6


def test_vh_canopy_days_is_how_long_the_canopy_stands():
    """A paddy's canopy is cut by its harvest; a lotus pond's leaves stand for months; a hole in
    the series longer than ``canopy_link_days`` does not join two spells."""
    days = np.arange(0, 360, 6)
    times = pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D")
    # Rice: flood (-24 dB) on days 0-29, canopy (-14 dB) on 30-89, stubble (-17) after.
    rice = np.where(days < 30, -24.0, np.where(days < 90, -14.0, -17.0))
    # Lotus: pond (-24) until day 59, leaves (-16) on 60-209, pond again after.
    lotus = np.where((days >= 60) & (days < 210), -16.0, -24.0)
    # The same lotus with the passes of days 102-149 lost: two spells, neither longer than 60 days.
    holed = np.where((days > 100) & (days < 150), np.nan, lotus)
    vh_db = np.stack([rice, lotus, holed])
    sar = xr.Dataset({"vh": (("point", "time"), 10 ** (vh_db / 10))}, coords={"time": times})
    f = sar_features(sar, FeatureSpec(canopy_smooth_days=0.0)).sel(feature="vh_canopy_days").values
    # Rice: days 30-84 (the stubble lies 3 dB below the canopy); lotus 60-204; holed: 60-96 and 150-204.
    np.testing.assert_allclose(f, [54, 144, 54])
    # A 1 dB wobble of the leaves stays in the spell; a 3 dB harvest ends the paddy's.
    wobble = lotus + np.where((days >= 60) & (days < 210), np.tile([0.0, -1.0], days.size // 2), 0.0)
    sar2 = xr.Dataset({"vh": (("point", "time"), 10 ** (wobble[None] / 10))}, coords={"time": times})
    g = sar_features(sar2, FeatureSpec(canopy_smooth_days=0.0)).sel(feature="vh_canopy_days").values
    np.testing.assert_allclose(g, [144])
    with pytest.raises(ConfigError, match="canopy_band_db"):
        FeatureSpec(canopy_band_db=0.0)
    # Computed in batches of pixels (bounded memory): the same numbers whatever the batch.
    from agromap.rice.features import _canopy_days

    rng = np.random.default_rng(0)
    lin = 10 ** (rng.uniform(-25, -12, size=(5, 7, days.size)) / 10)
    lin[0, 0, 3:9] = np.nan
    ok = np.isfinite(lin)
    one = _canopy_days(lin, ok, ok.sum(-1), days.astype(float), 1.5, 6.0, 40.0)
    np.testing.assert_array_equal(one, _canopy_days(lin, ok, ok.sum(-1), days.astype(float), 1.5, 6.0, 40.0, batch=4))
    assert one.shape == (5, 7)


def test_sar_extremes_read_the_smoothed_series_and_vv_adds_its_statistics():
    """One speckle dip on a 6-day axis: the raw minimum is that date, the smoothed one its 5-date mean."""
    times = pd.date_range("2023-06-01", periods=9, freq="6D")
    vh_db = np.array([[-15.0, -15, -15, -15, -24, -15, -15, -15, -15]])
    vh = 10 ** (vh_db / 10)
    vv = vh * 10 ** 0.6  # VV 6 dB above VH on every date
    sar = xr.Dataset({"vh": (("point", "time"), vh), "vv": (("point", "time"), vv)}, coords={"time": times})
    raw = sar_features(sar).compute()  # the default reads single dates
    smooth = sar_features(sar, FeatureSpec(sar_smooth_days=12)).compute()  # +-12 days: the dip and four neighbours, mean in linear power
    assert float(raw.sel(feature="vh_min_db")[0]) == pytest.approx(-24, abs=1e-4)
    expected = 10 * np.log10((4 * 10 ** -1.5 + 10 ** -2.4) / 5)
    assert float(smooth.sel(feature="vh_min_db")[0]) == pytest.approx(expected, abs=1e-4)
    # Every date within 12 days of the dip reads the same 5-date mean: the first of them is the minimum.
    assert float(raw.sel(feature="vh_tmin")[0]) - float(smooth.sel(feature="vh_tmin")[0]) == 12
    assert float(smooth.sel(feature="vh_delta_db")[0]) == pytest.approx(-15 - expected, abs=1e-4)
    # The level statistics read the single dates with or without smoothing.
    np.testing.assert_allclose(smooth.sel(feature="vh_p10_db"), raw.sel(feature="vh_p10_db"))
    get = {str(n): float(smooth.sel(feature=n)[0]) for n in smooth["feature"].values}
    assert get["vh_vv_peak_db"] == pytest.approx(-6, abs=1e-4)
    assert get["vh_vv_p50_db"] == pytest.approx(-6, abs=1e-4)
    assert get["vv_p50_db"] == pytest.approx(-9, abs=1e-4)
    assert get["vv_p10_db"] == pytest.approx(np.percentile(vh_db[0] + 6, 10), abs=1e-4)
    assert get["vv_at_min_db"] == pytest.approx(expected + 6, abs=1e-4)
    assert "vv_p10_db" not in sar_features(sar[["vh"]]).feature.values
    with pytest.raises(ConfigError):
        FeatureSpec(sar_smooth_days=-1)


def test_optical_features_on_points_match_numpy():
    times = pd.to_datetime(["2023-06-01", "2023-07-01", "2023-08-01", "2023-09-01"])
    rng = np.random.default_rng(1)
    bands = {b: rng.uniform(0.02, 0.18, (3, 4)) for b in ("blue", "green", "red", "swir16")}
    bands["nir"] = rng.uniform(0.1, 0.5, (3, 4))
    bands["red"][1, 2] = np.nan
    ds = xr.Dataset({b: (("point", "time"), v.astype(np.float32)) for b, v in bands.items()}, coords={"time": times})
    f = temporal_features(ds)
    n, r = bands["nir"].astype(np.float32).astype(float), bands["red"].astype(np.float32).astype(float)
    nd = (n - r) / (n + r)
    got = f.sel(feature=["ndvi_min", "ndvi_max", "ndvi_mean", "ndvi_std", "ndvi_tmax", "n_valid_opt"]).values
    np.testing.assert_allclose(got[:4], [np.nanmin(nd, 1), np.nanmax(nd, 1), np.nanmean(nd, 1), np.nanstd(nd, 1)],
                               atol=1e-5)  # fmt: skip
    np.testing.assert_array_equal(got[4], np.array([152, 182, 213, 244])[np.nanargmax(nd, 1)])
    np.testing.assert_array_equal(got[5], [4, 3, 4])


def test_index_features_equal_the_reflectance_features_on_the_same_indices():
    from agromap.indices import evi, lswi, mndwi, ndvi

    times = pd.to_datetime(["2023-05-01", "2023-06-10", "2023-08-01", "2023-09-15", "2023-11-01"])
    rng = np.random.default_rng(3)
    bands = {b: rng.uniform(0.02, 0.15, (6, 5)) for b in ("blue", "green", "red", "swir16")}
    bands["nir"] = rng.uniform(0.1, 0.5, (6, 5))
    bands["nir"][2, 1] = np.nan  # a cloudy date is NaN in every index
    ds = xr.Dataset({b: (("point", "time"), v) for b, v in bands.items()}, coords={"time": times})
    spec = FeatureSpec(blue_cloud=None)
    idx = xr.Dataset({"ndvi": ndvi(ds["nir"], ds["red"]), "evi": evi(ds["nir"], ds["red"], ds["blue"]),
                      "lswi": lswi(ds["nir"], ds["swir16"]), "mndwi": mndwi(ds["green"], ds["swir16"])})  # fmt: skip
    want = optical_features(ds, spec)
    got = index_features(idx, spec)
    assert got.dims == want.dims and list(got["feature"].values) == list(want["feature"].values)
    np.testing.assert_array_equal(got.values, want.values)
    assert got.sel(feature="n_valid_opt").values[2] == 4
    no_green = index_features(idx.drop_vars("mndwi")).sel(feature=["mndwi_min", "mndwi_max"]).values
    np.testing.assert_array_equal(no_green, 0.0)
    with pytest.raises(MissingBandError, match="lswi"):
        index_features(idx.drop_vars("lswi"))


# ---- labels ------------------------------------------------------------------------------------


def test_labels_round_trip_geojson_and_csv(scene, label_files, samples):
    from_json = read_labels(label_files["geojson"])
    from_csv = read_labels(label_files["csv"], crs=SPEC.crs)
    assert list(from_json["label_id"]) == list(from_csv["label_id"]) == list(label_files["df"]["id"])
    np.testing.assert_array_equal(from_json["label_class"], label_files["df"]["class"])
    np.testing.assert_array_equal(from_json.geometry.x, from_csv.geometry.x)
    s_csv = extract_samples(from_csv, scene["features"], block_size_m=BLOCK_M)
    xr.testing.assert_identical(s_csv, samples)
    np.testing.assert_array_equal(samples["row"], label_files["rows"])
    np.testing.assert_array_equal(samples["col"], label_files["cols"])
    expected = scene["features"].values[:, label_files["rows"], label_files["cols"]].T
    np.testing.assert_array_equal(samples["features"].values, expected)
    # Blocks are anchored at the CRS origin (stable across rasters): 5 x 5 partial blocks here.
    bx = np.floor(label_files["df"]["x"] / BLOCK_M).astype(int)
    by = np.floor(label_files["df"]["y"] / BLOCK_M).astype(int)
    np.testing.assert_array_equal(samples["block_id"].values, [f"{a}_{b}" for a, b in zip(bx, by)])
    assert samples["block_id"].to_series().nunique() == 25


def test_wrong_crs_is_an_error_unless_reprojection_is_requested(scene, label_files, samples):
    wgs = read_labels(label_files["wgs84"])
    with pytest.raises(LabelCRSError, match=r"EPSG:4326.*EPSG:32644.*reproject"):
        extract_samples(wgs, scene["features"], block_size_m=BLOCK_M)
    again = extract_samples(wgs, scene["features"], block_size_m=BLOCK_M, reproject=True)
    np.testing.assert_array_equal(again["row"], samples["row"])
    np.testing.assert_array_equal(again["col"], samples["col"])
    # The CSV read with the wrong UTM zone: refused, never silently reprojected.
    wrong = read_labels(label_files["csv"], crs="EPSG:32643")
    with pytest.raises(LabelCRSError, match="EPSG:32643"):
        extract_samples(wrong, scene["features"])
    with pytest.raises(LabelCRSError, match="crs="):
        read_labels(label_files["csv"])  # x/y columns without a CRS
    with pytest.raises(LabelCRSError, match="declares EPSG:32644"):
        read_labels(label_files["geojson"], crs="EPSG:32643")


def test_labels_outside_the_raster(scene, label_files):
    labels = read_labels(label_files["geojson"])
    far = labels.set_geometry(labels.translate(xoff=100_000))
    with pytest.raises(LabelOverlapError, match=f"none of the {N_POINTS} labels") as err:
        extract_samples(far, scene["features"])
    assert isinstance(err.value, NoOverlapError) and err.value.exit_code == 3
    some = labels.copy()
    some.loc[[3, 10], "geometry"] = some.loc[[3, 10]].translate(yoff=5_000)
    with pytest.raises(LabelOverlapError, match=r"2 of 800 labels .*ids p3, p10"):
        extract_samples(some, scene["features"])
    kept = extract_samples(some, scene["features"], on_outside="drop")
    assert kept.sizes["sample"] == N_POINTS - 2 and kept.attrs["n_labels_outside"] == 2


def test_one_class_only_is_an_error(scene, label_files):
    labels = read_labels(label_files["geojson"])
    with pytest.raises(SingleClassError, match=r"only class \[1\]"):
        extract_samples(labels[labels["label_class"] == 1], scene["features"])
    with pytest.raises(SingleClassError):
        samples_from_points(scene["features"].isel(y=0).rename(x="point"), np.zeros(128, int), np.zeros(128, int))


def test_polygons_give_their_pixels_and_their_id_as_group(scene, tmp_path):
    gbox = scene["features"].odc.geobox
    x0, y0 = gbox.transform * (0, 0)
    polys = gpd.GeoDataFrame(
        {"id": ["fieldA", "fieldB", "tiny"], "class": [1, 0, 0]},
        geometry=[shapely.box(x0 + 20, y0 - 60, x0 + 60, y0 - 20),     # 4 x 4 px
                  shapely.box(x0 + 300, y0 - 330, x0 + 350, y0 - 300),  # 5 x 3 px
                  shapely.box(x0 + 502, y0 - 508, x0 + 506, y0 - 504)],  # inside one pixel
        crs=SPEC.crs,
    )  # fmt: skip
    polys.to_file(tmp_path / "fields.gpkg", driver="GPKG")
    s = extract_samples(read_labels(tmp_path / "fields.gpkg"), scene["features"], block_size_m=BLOCK_M)
    counts = s["label_id"].to_series().value_counts().to_dict()
    assert counts == {"fieldA": 16, "fieldB": 15, "tiny": 1}
    a = s.where(s["label_id"] == "fieldA", drop=True)
    assert set(a["row"].values.tolist()) == set(a["col"].values.tolist()) == {2, 3, 4, 5}
    assert s["block_id"].where(s["label_id"] == "fieldB", drop=True).to_series().nunique() == 1


# ---- training and blocked cross-validation -----------------------------------------------------


def test_blocked_cv_report(trained, samples):
    cv = trained.cv
    assert cv["group_by"] == "block" and cv["n_groups"] == 25 and cv["n_splits"] >= 2
    print("\nspatially blocked CV (32 px = 320 m blocks), RF 60 trees:")
    for f in cv["folds"]:
        assert f["n_train"] + f["n_test"] == samples.sizes["sample"]
        assert all(v > 0 for v in f["test_counts"].values()) and all(v > 0 for v in f["train_counts"].values())
        print(f"  fold {f['fold']}: train {f['n_train']} test {f['n_test']} ({f['groups_test']} blocks) "
              f"test classes {f['test_counts']} OA {f['oa']:.3f} kappa {f['kappa']:.3f} "
              f"F1 {{0: {f['f1']['0']:.3f}, 1: {f['f1']['1']:.3f}}}")  # fmt: skip
    m = cv["mean"]
    print(f"  mean OA {m['oa']:.3f} ± {m['oa_std']:.3f}, kappa {m['kappa']:.3f}, F1 rice {m['f1']['1']:.3f}")
    assert m["oa"] > 0.9 and m["kappa"] > 0.8 and m["f1"]["1"] > 0.9
    meta = trained.metadata
    assert meta["n_samples"] == N_POINTS and meta["crs"] == SPEC.crs and meta["classes"] == [0, 1]
    assert meta["band_scaling"]["sar"].startswith("linear power")
    assert trained.estimator.get_params()["class_weight"] == "balanced"


def test_folds_keep_whole_blocks_and_every_class(samples):
    X, y, groups, _ = model_train._training_table(samples, TRAIN)
    folds = model_train._blocked_folds(y, groups, TRAIN)
    seen = np.zeros(y.size, int)
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])  # never a random pixel split
        assert set(y[te]) == set(y[tr]) == {0, 1}
        seen[te] += 1
    assert (seen == 1).all()


def test_fold_error_when_a_class_lives_in_one_block(samples):
    rice_block = samples["block_id"].values[samples["label_class"].values == 1][0]
    keep = (samples["label_class"].values == 0) | (samples["block_id"].values == rice_block)
    with pytest.raises(FoldError, match=r"groups per class \{0: \d+, 1: 1\}"):
        M.cross_validate(samples.isel(sample=keep), TRAIN)


def test_training_refuses_lazy_samples_and_drops_nodata_rows(scene, label_files, samples):
    lazy = extract_samples(read_labels(label_files["csv"], crs=SPEC.crs), scene["lazy"], block_size_m=BLOCK_M)
    with pytest.raises(LazySamplesError, match=r"\.compute\(\)"):
        M.cross_validate(lazy)
    holey = samples.copy(deep=True)
    holey["features"][:3, 5] = np.nan
    _, y, _, dropped = model_train._training_table(holey, TRAIN)
    assert dropped == 3 and y.size == N_POINTS - 3


# ---- persistence -------------------------------------------------------------------------------


def test_save_reload_predicts_identically(trained, saved, scene):
    path, sha = saved
    side = json.loads(M.sidecar_path(path).read_text())
    assert side["sha256"] == sha and side["feature_names"] == list(feature_names())
    assert side["metadata"]["cv"]["mean"]["oa"] == trained.cv["mean"]["oa"]
    assert {"scikit-learn", "numpy", "skops"} <= set(side["metadata"]["versions"])
    loaded = M.load_model(path, sha256=sha)
    assert loaded.feature_names == trained.feature_names and loaded.sha256 == sha
    assert loaded.estimator.n_jobs == 1
    a, b = M.predict(trained, scene["features"]), M.predict(loaded, scene["features"])
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    acc = float((a.rice_class.values == scene["truth"]).mean())
    print(f"\nwall-to-wall map OA against the synthetic truth: {acc:.4f}")
    assert acc > 0.95


def test_loaded_model_is_single_threaded(samples, tmp_path):
    model = M.train(samples, M.TrainParams(n_estimators=5, n_splits=2))
    model.estimator.set_params(n_jobs=2)
    M.save_model(model, tmp_path / "m.skops")
    assert M.load_model(tmp_path / "m.skops").estimator.n_jobs == 1


def test_allow_list_is_what_agromap_estimators_need(samples, tmp_path):
    needed = set()
    for kind in ("random_forest", "hist_gradient_boosting"):
        model = M.train(samples, M.TrainParams(estimator=kind, n_estimators=8, n_splits=2))
        path = tmp_path / f"{kind}.skops"
        M.save_model(model, path)
        needed |= set(sio.get_untrusted_types(file=path))
        loaded = M.load_model(path)
        a, b = M.predict(model, samples["features"].T), M.predict(loaded, samples["features"].T)
        np.testing.assert_array_equal(a.rice_prob.values, b.rice_prob.values)
    assert needed == M.ALLOWED_TYPES


_SIDE_EFFECTS: list[str] = []


class Custom:
    """A type outside the allow-list whose loading would have a side effect."""

    def __setstate__(self, state):
        _SIDE_EFFECTS.append("custom type instantiated")
        self.__dict__.update(state)


def _agromap_like(tmp_path, name, estimator, **extra):
    payload = {"format": M.FORMAT, "format_version": M.FORMAT_VERSION, "estimator": estimator,
               "feature_names": ["a"], "positive_class": 1, "metadata_json": "{}", **extra}  # fmt: skip
    path = tmp_path / name
    sio.dump(payload, path)
    return path


def test_model_load_is_guarded(trained, saved, tmp_path):
    path, sha = saved
    refusals = {
        "pickle.pkl": (pickle.dumps(trained.estimator), "pickle file"),
        "empty.skops": (b"", "empty file"),
        "notes.skops": (b"feature_names: ndvi\n", "text file"),
    }
    for name, (content, what) in refusals.items():
        (tmp_path / name).write_bytes(content)
    joblib.dump(trained.estimator, tmp_path / "plain.joblib")
    joblib.dump(trained.estimator, tmp_path / "zlib.joblib", compress=3)
    refusals |= {"plain.joblib": (None, "pickle file"), "zlib.joblib": (None, "zlib-compressed joblib")}
    for name, (_content, what) in refusals.items():
        with pytest.raises(UnknownModelFileError, match=f"{what}.*skops.*convert") as err:
            M.load_model(tmp_path / name)
        assert err.value.exit_code == 3
    # skops files with a custom class or a function: refused before anything is instantiated.
    for name, extra in (("custom.skops", {"x": Custom()}), ("func.skops", {"x": eval})):
        p = _agromap_like(tmp_path, name, trained.estimator, **extra)
        with pytest.raises(UntrustedModelError, match=r"Custom|builtins\.eval"):
            M.load_model(p)
    assert _SIDE_EFFECTS == []
    # A skops file, but not an agromap model.
    sio.dump(trained.estimator, tmp_path / "bare.skops")
    with pytest.raises(UnknownModelFileError, match="not an agromap rice model"):
        M.load_model(tmp_path / "bare.skops")
    # Checksums: a pinned value that differs, and a file changed after saving (sidecar).
    with pytest.raises(ModelChecksumError, match="expected 0{64}"):
        M.load_model(path, sha256="0" * 64)
    other = tmp_path / "other.skops"
    M.save_model(trained, other)
    other.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ModelChecksumError, match="sidecar"):
        M.load_model(other)


def test_inconsistent_sklearn_version_is_an_error(saved, tmp_path):
    path, _ = saved
    src = zipfile.ZipFile(path)
    schema = src.read("schema.json").decode()
    import sklearn

    assert f'\\"{sklearn.__version__}\\"' in schema
    tampered = tmp_path / "old.skops"  # no sidecar: only the version check can catch it
    with zipfile.ZipFile(tampered, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "schema.json":
                data = schema.replace(f'\\"{sklearn.__version__}\\"', '\\"0.24.2\\"').encode()
            out.writestr(name, data)
    with pytest.raises(ModelVersionError, match=r"scikit-learn 0\.24\.2.*Retrain"):
        M.load_model(tampered)


def test_feature_mismatch_is_refused(trained, scene):
    f = scene["features"]
    swapped = f.isel(feature=[1, 0, *range(2, f.sizes["feature"])])
    with pytest.raises(FeatureMismatchError, match=r"another order.*'ndvi_max' vs 'ndvi_min'"):
        M.predict(trained, swapped)
    with pytest.raises(FeatureMismatchError, match=r"missing \['n_valid_sar'\]"):
        M.predict(trained, f.isel(feature=slice(0, -1)))
    with pytest.raises(FeatureMismatchError, match="'feature' dimension"):
        M.predict(trained, f.isel(feature=0))


def test_a_model_reads_its_own_features_with_its_own_settings(samples, scene):
    # a model trained before vh_canopy_days existed, and with another flood threshold
    older = M.train(samples.drop_sel(feature="vh_canopy_days"), TRAIN)
    meta = dict(older.metadata, feature_spec=dict(older.metadata["feature_spec"], flood_threshold=0.1))
    older = M.RiceModel(older.estimator, older.feature_names, older.positive_class, meta)
    s2, s1 = make_s2_stack(SPEC), make_s1_stack(SPEC)
    with raise_if_dask_computes():
        got = model_predict.model_features(older, s2, s1)
    want = temporal_features(s2, s1, spec=FeatureSpec(flood_threshold=0.1)).sel(feature=list(older.feature_names))
    assert tuple(got["feature"].values) == older.feature_names
    np.testing.assert_array_equal(got.values, want.values)
    assert not np.array_equal(got.values, scene["features"].sel(feature=list(older.feature_names)).values, equal_nan=True)
    with pytest.raises(FeatureMismatchError, match=r"missing \['vh_min_db"):
        M.predict(older, model_predict.model_features(older, s2, None))


# ---- prediction over dask ----------------------------------------------------------------------


def test_numpy_and_dask_predictions_identical(trained, scene):
    eager = M.predict(trained, scene["features"])
    with raise_if_dask_computes():
        lazy = M.predict(trained, scene["features"].chunk(y=48, x=40))
        assert lazy.rice_class.dtype == np.uint8 and lazy.rice_prob.dtype == np.float32
        assert lazy.rice_class.chunks == ((48, 48, 32), (40, 40, 40, 8))
    xr.testing.assert_identical(eager, lazy.compute())
    assert eager.rice_class.odc.geobox == scene["features"].odc.geobox
    # The same code classifies a table of points.
    pts = M.predict(trained, scene["features"].stack(point=("y", "x")).reset_index("point").chunk(point=5000))
    np.testing.assert_array_equal(pts.rice_class.values, eager.rice_class.values.ravel())


def test_nodata_stays_nodata_exactly(trained, scene):
    f = scene["features"].copy(deep=True)
    f[:, :32, :32] = np.nan              # block (0, 0): 100 % nodata
    f[:, :32, 32:64] = np.nan            # block (0, 1): one valid pixel
    f[:, 5, 40] = scene["features"][:, 5, 40]
    f[3, 70, 70] = np.nan                # NaN in one feature only
    f[-1, 100, 100] = np.nan
    lazy = M.predict(trained, f.chunk(y=32, x=32))
    out = lazy.compute()
    bad = np.isnan(f.values).any(axis=0)
    cls, prob = out.rice_class.values, out.rice_prob.values
    np.testing.assert_array_equal(cls == 255, bad)
    np.testing.assert_array_equal(np.isnan(prob), bad)
    assert set(np.unique(cls[~bad])) <= {0, 1} and ((prob[~bad] >= 0) & (prob[~bad] <= 1)).all()
    clean = M.predict(trained, scene["features"])
    np.testing.assert_array_equal(cls[~bad], clean.rice_class.values[~bad])
    assert cls[5, 40] == clean.rice_class.values[5, 40] != 255
    # The class is the argmax of the same probabilities (binary: rice iff P(rice) > 0.5 here).
    assert ((prob[~bad] > 0.5) == (cls[~bad] == 1)).all()


def _valid_rows(features: xr.DataArray) -> np.ndarray:
    rows = features.values.reshape(features.shape[0], -1).T
    return np.ascontiguousarray(rows[np.isfinite(rows).all(axis=1)], dtype=np.float32)


@pytest.mark.parametrize("cache_rows", [model_predict.CACHE_ROWS, 1000, 1])
def test_forest_probabilities_are_sklearns_bit_for_bit(trained, samples, scene, monkeypatch, cache_rows):
    from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier

    rows = _valid_rows(scene["features"])
    rows = rows[: 2 if cache_rows == 1 else 10_000]  # 10 000: a full slice of 8192 and a short one
    x, y = np.asarray(samples["features"].values, dtype=np.float32), np.asarray(samples["label_class"].values)
    x, y = x[np.isfinite(x).all(axis=1)], y[np.isfinite(x).all(axis=1)]
    extra = ExtraTreesClassifier(n_estimators=7, random_state=0, n_jobs=1).fit(x, y)
    boost = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, y)
    monkeypatch.setattr(model_predict, "CACHE_ROWS", cache_rows)
    for est in (trained.estimator, extra, boost):
        want = est.predict_proba(rows)
        for order in (rows, np.asfortranarray(rows)):  # predict_block passes feature-major views
            got = model_predict.forest_proba(est, order)
            assert got.dtype == np.float64 and got.shape == (rows.shape[0], 2)
            np.testing.assert_array_equal(got, want)


def test_predicted_class_and_probability_are_the_estimators(trained, scene):
    """rice_class is the estimator's own ``predict`` and rice_prob its ``predict_proba`` (float32)."""
    f = scene["features"].copy(deep=True)
    f[:, :20, :] = np.nan
    out = M.predict(trained, f.chunk(y=64, x=128)).compute()
    rows = f.values.reshape(f.shape[0], -1).T
    ok = np.isfinite(rows).all(axis=1)
    x = np.ascontiguousarray(rows[ok])
    est, pos = trained.estimator, trained.positive_index
    np.testing.assert_array_equal(out.rice_class.values.ravel()[ok], est.predict(x))
    np.testing.assert_array_equal(out.rice_prob.values.ravel()[ok], est.predict_proba(x)[:, pos].astype(np.float32))
    assert (out.rice_class.values.ravel()[~ok] == 255).all() and np.isnan(out.rice_prob.values.ravel()[~ok]).all()


def _count_models(obj) -> int:
    found = []

    class Counter(cloudpickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, M.RiceModel):
                found.append(o)
                return "model"
            return None

    Counter(io.BytesIO()).dump(obj)
    return len(found)


def test_model_is_one_graph_key_and_the_kernel_never_runs_at_build_time(trained, scene, monkeypatch):
    calls = []
    real = model_predict.predict_block

    def spy(block, model, **kw):
        calls.append(block.shape)
        return real(block, model, **kw)

    monkeypatch.setattr(model_predict, "predict_block", spy)
    with raise_if_dask_computes():
        out = M.predict(trained, scene["features"].chunk(y=32, x=32))
    assert calls == []  # meta= and dtype=: dask never probes the kernel on the client
    graph = {**dict(out.rice_class.data.__dask_graph__()), **dict(out.rice_prob.data.__dask_graph__())}
    holders = [k for k, v in graph.items() if isinstance(getattr(v, "value", None), M.RiceModel)]
    assert len(holders) == 1
    # Serialise every task as the distributed scheduler would, counting embedded copies of the model.
    embedded = {k: _count_models(v) for k, v in graph.items()}
    assert sum(embedded.values()) == 1 and embedded[holders[0]] == 1
    cls, prob = dask.compute(out.rice_class, out.rice_prob)
    assert len(calls) == 16  # one pass per block gives both the class and the probability
    assert cls.dtype == np.uint8 and prob.dtype == np.float32


def test_error_family():
    for cls in (UnknownModelFileError, UntrustedModelError, ModelChecksumError, ModelVersionError,
                LabelCRSError, LabelOverlapError, SingleClassError):  # fmt: skip
        assert issubclass(cls, InputError) and cls.exit_code == 3
    for cls in (FeatureMismatchError, FoldError):
        assert issubclass(cls, AgromapError) and issubclass(cls, ValueError)
    assert set(M.LAYER_SPECS) == {"rice_class", "rice_prob"}
    assert M.LAYER_SPECS["rice_class"].nodata == 255 and M.LAYER_SPECS["rice_prob"].scale == 0.01
