"""STAC items read by odc-stac: local ItemCollections, pystac objects, hrefs and signing."""

from __future__ import annotations

import json

import numpy as np
import pystac
import pytest
import rasterio
import yaml

from agromap.errors import ConfigError, InputError
from agromap.io.loaders import load_stac_item
from agromap.io.remote import gdal_path, load_signer, resolve_href
from agromap.io.stac_read import band_asset, read_items
from agromap.io.stac_search import load_stac
from agromap.io.trust import allow_inputs
from agromap.pipeline.config import load_config, parse_config
from agromap.pipeline.runner import plan_area, run
from s2tiles import SAMPLE, grid_bounds, make_tiles

SIGNED: list[str] = []


def tag_signer(item: pystac.Item) -> pystac.Item:
    """A stand-in for planetary_computer.sign: records the call and returns the item."""
    SIGNED.append(item.id)
    return item


def _collection(tmp_path, **kw):
    tiles = make_tiles(tmp_path / "tiles", **kw)
    items = [pystac.Item.from_file(str(next(tiles[s].glob("*.json")))) for s in ("west", "east")]
    for it, side in zip(items, ("west", "east")):
        for a in it.assets.values():  # absolute hrefs, as an ItemCollection written elsewhere has
            a.href = str(tiles[side] / a.href.lstrip("./"))
    path = tmp_path / "items.json"
    path.write_text(json.dumps(pystac.ItemCollection(items).to_dict()))
    return path, tiles


def test_hrefs_become_gdal_paths_and_urls_are_never_joined_to_a_folder(tmp_path):
    assert gdal_path("https://h.example/a/B04.tif") == "/vsicurl/https://h.example/a/B04.tif"
    assert gdal_path("s3://bucket/k/B04.tif") == "/vsis3/bucket/k/B04.tif"
    assert gdal_path("/vsicurl/https://h/x.tif") == "/vsicurl/https://h/x.tif"
    assert gdal_path("file:///data/x.tif") == "/data/x.tif"
    assert resolve_href("https://h.example/B04.tif", tmp_path) == "https://h.example/B04.tif"
    assert resolve_href("s3://b/B04.tif", tmp_path) == "s3://b/B04.tif"
    assert resolve_href("x/B04.tif", tmp_path) == str(tmp_path / "x" / "B04.tif")
    assert resolve_href("B04.tif", "https://h.example/items/") == "https://h.example/items/B04.tif"
    cfg = parse_config({"areas": [{"name": "a", "inputs": [{"kind": "files", "datetime": "2020-01-01",
                                                            "bands": {"red": "https://h.example/B04.tif"}}],
                                   "layers": [{"product": "ndvi"}]}]}, base_dir=tmp_path)
    assert cfg.href(cfg.areas[0].inputs[0].bands["red"].path) == "https://h.example/B04.tif"


def test_pystac_item_from_python_and_signing_hook(tmp_path):
    item = pystac.Item.from_file(str(SAMPLE / "S2A_29RKH_20200219_0_L2A.json"))
    SIGNED.clear()
    scene = load_stac_item(item, bands=("red", "scl"), sign=f"{__name__}.tag_signer")
    assert SIGNED == [item.id]
    with rasterio.open(SAMPLE / "B04.tif") as src:
        dn = src.read(1)
    np.testing.assert_array_equal(scene.bands["red"].values, np.where(dn == 0, np.nan, dn * np.float32(1e-4)))
    assert scene.metadata["provenance"]["id"] == item.id
    with pytest.raises(ConfigError, match="cannot import 'no_such_module.sign'"):
        load_signer("no_such_module.sign")


def test_unreachable_remote_href_is_one_clear_input_error(tmp_path):
    item = json.loads((SAMPLE / "S2A_29RKH_20200219_0_L2A.json").read_text())
    item["assets"]["red"]["href"] = "http://127.0.0.1:9/B04.tif"  # discard port: nothing listens
    with pytest.raises(InputError, match=r"remote inputs are not enabled; set allow_remote: true"):
        load_stac_item(item, bands=("red",))  # refused before any connection: remote reads are opt-in
    with allow_inputs(remote=True), pytest.raises(InputError, match=r"cannot be read over the network .*asset_root"):
        load_stac_item(item, bands=("red",))


def test_raster_bands_scale_offset_and_processing_baseline(tmp_path):
    item = pystac.Item.from_file(str(SAMPLE / "S2A_29RKH_20200219_0_L2A.json"))
    assert band_asset(item, "red").scale == pytest.approx(1e-4) and band_asset(item, "red").offset == 0
    assert band_asset(item, "scl").raw
    d = item.to_dict()
    d["properties"]["s2:processing_baseline"] = "05.09"
    for a in d["assets"].values():
        a.pop("raster:bands", None)
    newer = pystac.Item.from_dict(d)
    ba = band_asset(newer, "red")
    assert (ba.scale, ba.offset, ba.nodata) == pytest.approx((1e-4, -0.1, 0.0))


def test_load_stac_one_call_from_an_item_collection(tmp_path):
    path, _ = _collection(tmp_path, west_crs="EPSG:32628")
    items = read_items(path)
    assert [it.id for it in items] == ["S2A_29RKH_20200219_0_L2A", "S2A_29RKJ_20200219_0_L2A"]
    ds = load_stac(items=path, bands=["red", "nir", "scl"], crs="EPSG:32629", resolution=100, chunk=256,
                   bbox=None)
    assert ds.sizes["time"] == 1 and ds["red"].dtype == np.float32 and ds["scl"].dtype == np.uint8
    assert ds.odc.geobox.crs.epsg == 32629
    red = ds["red"].values[0]
    assert np.isfinite(red).mean() > 0.8
    assert 0.2 < float(np.nanmedian(red)) < 0.5  # desert reflectance, scaled by raster:bands


def test_stac_items_input_through_the_runner(tmp_path):
    path, _ = _collection(tmp_path)
    cfg = {"version": 1, "name": "items", "scheduler": "synchronous", "chunk": 256, "areas": [{
        "name": "district", "grid": {"crs": "EPSG:32629", "resolution": 100, "bounds": list(grid_bounds())},
        "inputs": [{"kind": "stac_items", "items": "items.json", "bands": ["red", "nir", "scl"]}],
        "layers": [{"product": "ndvi", "time": "each"}]}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    conf = load_config(tmp_path / "run.yaml")
    plan = plan_area(conf, conf.areas[0])
    assert plan.dataset.sizes == {"time": 1, "y": 65, "x": 129}
    assert plan.dataset.attrs["scene_ids"] == ["S2A_29RKH_20200219_0_L2A+S2A_29RKJ_20200219_0_L2A"]
    scl = plan.dataset["scl"].values[0]
    red = plan.dataset["red"].values[0]
    clear = ~np.isin(scl, (0, 1, 3, 8, 9, 10, 11))
    assert clear[:, :64].mean() > 0.9 and clear[:, 65:].mean() > 0.9
    assert np.isfinite(red[clear]).all()
    result = run(conf, tmp_path / "out")
    assert len(result.computed) >= 1
    again = run(conf, tmp_path / "out")
    assert again.computed == []  # local item files: unchanged checksums, nothing recomputed


def test_remote_items_are_identified_by_id_updated_and_href_never_by_bytes(tmp_path):
    from agromap.io.stac_read import items_to_scenes
    from agromap.pipeline.recipes import remote_inputs

    item = pystac.Item.from_file(str(SAMPLE / "S2A_29RKH_20200219_0_L2A.json"))
    item.assets["red"].href = "https://catalogue.example/29RKH/B04.tif"  # never opened: planning is metadata
    item.properties["updated"] = "2020-08-19T02:33:03Z"
    local = items_to_scenes([pystac.Item.from_file(str(SAMPLE / "S2A_29RKH_20200219_0_L2A.json"))], ["red"],
                            chunk=256)
    assert remote_inputs(local) == []  # local files keep their checksums
    with pytest.raises(InputError, match="remote inputs are not enabled"):
        items_to_scenes([item], ["red"], chunk=256)
    with allow_inputs(remote=True):
        first = remote_inputs(items_to_scenes([item], ["red"], chunk=256))
    assert first == [{**first[0], "id": item.id, "updated": "2020-08-19T02:33:03Z",
                      "hrefs": ["/vsicurl/https://catalogue.example/29RKH/B04.tif"]}]
    item.properties["updated"] = "2024-01-01T00:00:00Z"  # reprocessed upstream: a new recipe
    with allow_inputs(remote=True):
        assert remote_inputs(items_to_scenes([item], ["red"], chunk=256)) != first


def test_s3_unsigned_without_credentials_and_env_overrides(monkeypatch, tmp_path):
    from agromap.io.gdal_env import gdal_preset

    for key in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_NO_SIGN_REQUEST"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("GDAL_HTTP_MAX_RETRY", "9")
    preset = dict(gdal_preset())
    assert preset["AWS_NO_SIGN_REQUEST"] == "YES" and preset["GDAL_HTTP_MAX_RETRY"] == "9"
    assert preset["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert preset["GDAL_HTTP_MERGE_CONSECUTIVE_RANGES"] == "YES" and preset["GDAL_HTTP_MULTIPLEX"] == "YES"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    assert dict(gdal_preset())["AWS_NO_SIGN_REQUEST"] == "NO"  # credentials from the environment are used


def test_stac_input_config_is_validated():
    base = {"name": "a", "layers": [{"product": "ndvi"}]}
    search = {"kind": "stac_search", "url": "https://earth-search.aws.element84.com/v1",
              "collections": ["sentinel-2-l2a"], "datetime": "2023-06-01/2023-11-30", "bands": ["red"]}
    cfg = parse_config({"areas": [{**base, "inputs": [{**search, "query": {"eo:cloud_cover": {"lt": 60}}}]}]})
    assert cfg.areas[0].inputs[0].max_items == 500
    with pytest.raises(ConfigError, match="bbox must be"):
        parse_config({"areas": [{**base, "inputs": [{**search, "bbox": [10, 0, 5, 1]}]}]})
    with pytest.raises(ConfigError, match="group_by"):
        parse_config({"areas": [{**base, "inputs": [search], "dates": {"group_by": "weekly"}}]})
    with pytest.raises(ConfigError, match="url"):
        parse_config({"areas": [{**base, "inputs": [{**search, "url": "earth-search"}]}]})
