"""Dates and mosaics: adjacent tiles of one pass, several sensors of one day, geographic grids."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import yaml
from odc.geo.geobox import GeoBox

from agromap.io.loaders import load_files, load_sentinel2_l2a, load_stac_item
from agromap.io.scene import group_scenes, run_geobox, stack_scenes
from agromap.pipeline.config import load_config
from agromap.pipeline.runner import plan_area, run
from agromap.testing import raise_if_dask_computes
from conftest import write_tif
from s2tiles import SAMPLE, grid_bounds, make_tiles

BANDS = ("red", "nir", "scl")


def _halves(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = arr.shape[-1] // 2
    return arr[..., :w], arr[..., w:]


@pytest.mark.parametrize("west_crs", [None, "EPSG:32628"], ids=["same-zone", "two-utm-zones"])
def test_adjacent_tiles_of_one_pass_are_mosaicked(tmp_path, west_crs):
    tiles = make_tiles(tmp_path, west_crs=west_crs)
    scenes = [load_sentinel2_l2a(tiles[s], bands=BANDS, chunk=256) for s in ("west", "east")]
    assert scenes[0].datetime == scenes[1].datetime  # the datatake's time, as in real SAFE products
    # The sample's own pixel grid (its origin is not a multiple of 100 m).
    gbox = GeoBox.from_bbox(grid_bounds(), "EPSG:32629", resolution=100.0, anchor="floating")
    with raise_if_dask_computes():
        ds = stack_scenes(scenes, gbox, chunk=256)
    assert ds.sizes == {"time": 1, "y": 64, "x": 128}
    assert ds.attrs["scene_ids"] == [f"{scenes[0].id}+{scenes[1].id}"]
    red = ds["red"].values[0]
    west, east = _halves(red)
    # The sample has no nodata in this cut: both halves must be complete (east was 0 % before).
    assert np.isfinite(east).mean() == 1.0
    assert np.isfinite(west).mean() > (0.97 if west_crs else 0.999)  # a warped tile loses an edge row
    with rasterio.open(SAMPLE / "B04.tif") as src:
        truth = src.read(1, window=((300, 364), (200, 328))).astype(np.float32) * np.float32(1e-4)
    np.testing.assert_array_equal(east, _halves(truth)[1])
    if west_crs is None:
        np.testing.assert_array_equal(west, _halves(truth)[0])
    scl = ds["scl"].values[0]
    assert scl.dtype == np.uint8 and (scl[:, 64:] > 0).all()


def test_default_grid_covers_every_tile_of_the_first_date(tmp_path):
    tiles = make_tiles(tmp_path)
    scenes = [load_sentinel2_l2a(tiles[s], bands=BANDS, chunk=256) for s in ("west", "east")]
    gbox = run_geobox(scenes, None)
    assert gbox.shape == (64, 128)
    assert tuple(gbox.boundingbox) == pytest.approx(grid_bounds())
    ds = stack_scenes(scenes, gbox, chunk=256)
    assert np.isfinite(ds["red"].values).mean() == 1.0


def test_runner_mosaics_tiles_listed_as_two_inputs(tmp_path):
    tiles = make_tiles(tmp_path / "data")
    cfg = {"version": 1, "name": "tiles", "scheduler": "synchronous", "chunk": 256, "areas": [{
        "name": "district", "grid": {"crs": "EPSG:32629", "resolution": 100, "bounds": list(grid_bounds())},
        "inputs": [{"kind": "sentinel2_l2a", "path": f"data/{tiles[s].name}", "bands": list(BANDS)}
                   for s in ("west", "east")],
        "layers": [{"product": "ndvi", "time": "each"}]}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    conf = load_config(tmp_path / "run.yaml")
    plan = plan_area(conf, conf.areas[0])
    assert plan.dataset.sizes["time"] == 1
    red = plan.dataset["red"].values[0]
    scl = plan.dataset["scl"].values[0]
    valid_scl = ~np.isin(scl, (0, 1, 3, 8, 9, 10, 11))
    # Masked by SCL only: every clear pixel of both halves keeps its value.
    for half_red, half_ok in zip(_halves(red), _halves(valid_scl)):
        assert half_ok.mean() > 0.9
        assert np.isfinite(half_red[half_ok]).all()


def test_stac_items_of_adjacent_tiles_are_mosaicked(tmp_path):
    tiles = make_tiles(tmp_path)
    scenes = [load_stac_item(next(tiles[s].glob("*.json")), bands=("red",), chunk=256) for s in ("west", "east")]
    ds = stack_scenes(scenes, run_geobox(scenes, None), chunk=256)
    assert ds.sizes["time"] == 1 and np.isfinite(ds["red"].values).all()


def _scene(tmp_path, name, values, when, scl=None, lon_origin=(500_000.0, 2_000_000.0)):
    bands = {"red": write_tif(tmp_path / f"{name}_red.tif", values, origin=lon_origin, nodata=0)}
    raw = ()
    if scl is not None:
        bands["scl"] = write_tif(tmp_path / f"{name}_scl.tif", scl, origin=lon_origin, nodata=0)
        raw = ("scl",)
    return load_files(bands, datetime=when, scene_id=name, scale=1e-4, nodata=0, raw=raw)


def test_mosaic_first_valid_or_best_scl(tmp_path):
    cloudy = np.full((8, 8), 9, np.uint8)
    cloudy[:, 4:] = 4
    a = _scene(tmp_path, "a", np.full((8, 8), 1000, np.uint16), "2021-03-01T05:30", scl=cloudy)
    b = _scene(tmp_path, "b", np.full((8, 8), 2000, np.uint16), "2021-03-01T05:31", scl=np.full((8, 8), 4, np.uint8))
    gbox = run_geobox([a, b], None)
    first = stack_scenes([a, b], gbox)
    assert first.sizes["time"] == 1
    np.testing.assert_allclose(first["red"].values[0], 0.1)  # a is valid everywhere: a wins
    best = stack_scenes([a, b], gbox, mosaic="best_quality")
    red, scl = best["red"].values[0], best["scl"].values[0]
    np.testing.assert_allclose(red[:, :4], 0.2)  # a is cloud (SCL 9) there: b's clear pixel wins
    np.testing.assert_allclose(red[:, 4:], 0.1)  # equal quality: the declared order decides
    assert (scl == 4).all()
    # Nodata in the first scene is filled from the next one in both modes.
    holes = np.full((8, 8), 1000, np.uint16)
    holes[:2] = 0
    c = _scene(tmp_path, "c", holes, "2021-03-01T05:30")
    filled = stack_scenes([c, b], gbox)["red"].values[0]
    np.testing.assert_allclose(filled[:2], 0.2)
    np.testing.assert_allclose(filled[2:], 0.1)


def test_grouping_by_solar_day_time_or_tolerance(tmp_path):
    # 77.6 E (India): UTC 20:00 on the 1st is 01:10 local solar time on the 2nd.
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32643", always_xy=True).transform(77.6, 13.0)
    s1 = _scene(tmp_path, "s1", np.full((4, 4), 5, np.uint16), "2021-03-01T20:00", lon_origin=(x, y))
    s2 = _scene(tmp_path, "s2", np.full((4, 4), 6, np.uint16), "2021-03-02T05:30", lon_origin=(x, y))
    s3 = _scene(tmp_path, "s3", np.full((4, 4), 7, np.uint16), "2021-03-03T05:30", lon_origin=(x, y))
    by_day = group_scenes([s1, s2, s3], "solar_day")
    assert by_day[id(s1)] == by_day[id(s2)] != by_day[id(s3)]
    assert by_day[id(s2)].isoformat() == "2021-03-01T20:00:00+00:00"  # labelled by its earliest scene
    assert len(set(group_scenes([s1, s2, s3], "time").values())) == 3
    assert len(set(group_scenes([s1, s2, s3], "12h").values())) == 2
    assert len(set(group_scenes([s1, s2, s3], "1D").values())) == 1


def test_sar_and_optical_of_one_day_share_a_slice(tmp_path):
    opt = _scene(tmp_path, "opt", np.full((4, 4), 3000, np.uint16), "2021-07-10T05:30")
    sar = load_files({"vh": write_tif(tmp_path / "vh.tif", np.full((4, 4), 0.02, np.float32))},
                     datetime="2021-07-10T00:45", scene_id="sar")
    ds = stack_scenes([opt, sar], run_geobox([opt, sar], None))
    assert ds.sizes["time"] == 1
    assert np.isfinite(ds["red"].values).all() and np.isfinite(ds["vh"].values).all()


def test_geographic_grid_through_the_runner(tmp_path):
    tiles = make_tiles(tmp_path / "data")
    with rasterio.open(tiles["west"] / "B04.tif") as src:
        lon0, lat0, _, _ = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    with rasterio.open(tiles["east"] / "B04.tif") as src:
        _, _, lon1, lat1 = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    res = 0.001
    bounds = [round(lon0 + 0.01, 3), round(lat0 + 0.01, 3), round(lon1 - 0.01, 3), round(lat1 - 0.01, 3)]
    cfg = {"version": 1, "name": "geo", "scheduler": "synchronous", "chunk": 256, "areas": [{
        "name": "geo", "grid": {"crs": "EPSG:4326", "resolution": res, "bounds": bounds},
        "inputs": [{"kind": "sentinel2_l2a", "path": f"data/{tiles[s].name}", "bands": list(BANDS)}
                   for s in ("west", "east")],
        "layers": [{"product": "ndvi", "time": "median"}]}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    result = run(load_config(tmp_path / "run.yaml"), tmp_path / "out")
    [out] = [o for o in result.outputs if o["path"].endswith(".tif")]
    with rasterio.open(tmp_path / "out" / out["path"]) as src:
        assert src.crs.to_epsg() == 4326
        assert src.res == pytest.approx((res, res))
        ndvi = src.read(1, masked=True)
    assert ndvi.shape == (round((bounds[3] - bounds[1]) / res), round((bounds[2] - bounds[0]) / res))
    west, east = _halves(ndvi)
    assert (~west.mask).mean() > 0.8 and (~east.mask).mean() > 0.8  # both tiles, SCL clouds aside
    assert float(ndvi.min()) > -0.5 and float(ndvi.max()) < 0.5  # bare desert soil
