"""Remote inputs against real servers on 127.0.0.1: a pgstac STAC API and nginx serving COGs.

Nothing here reaches the internet. The servers (see ``stac_servers.py``) are started once for
the module; where they are not installed the tests skip saying how to install them, except in
CI (``CI=true``), where ``make test`` installs them and a skip would hide a broken setup.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from agromap.errors import InputError
from agromap.io.stac_search import load_stac, search_items
from agromap.io.trust import allow_inputs
from agromap.pipeline.config import load_config
from agromap.pipeline.runner import run
from s2tiles import SAMPLE, grid_bounds, make_tiles
from stac_servers import Nginx, PgStacApi, Unavailable

COLLECTION = "sentinel-2-l2a-cut"
#: date -> eo:cloud_cover of its two tiles; the 24th is too cloudy for the filter below.
DATES = {"2020-02-19T11:34:25Z": 4.0, "2020-02-24T11:34:25Z": 80.0, "2020-02-29T11:34:25Z": 20.0}
BBOX_DEG = (-12.0, 24.0, -11.0, 25.5)


def _skip_or_fail(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}; make test (tools/test-services.sh) must install it")
    pytest.skip(why)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    items = []
    for i, (when, cloud) in enumerate(DATES.items()):
        tiles = make_tiles(root, west_crs="EPSG:32628", datetime=when, suffix=f"_{i}",
                           cloud_cover={"west": cloud, "east": cloud})
        for folder in tiles.values():
            items.append(json.loads(next(folder.glob("*.json")).read_text()))
    # The whole sample tile too, for the dropped-connection test (its tiles lie past the header).
    (root / "sample").mkdir()
    for f in ("B04.tif", "B08.tif", "SCL.tif", "S2A_29RKH_20200219_0_L2A.json"):
        shutil.copy(SAMPLE / f, root / "sample" / f)
    try:
        nginx = Nginx(root).__enter__()
    except Unavailable as exc:
        _skip_or_fail(str(exc))
    for item in items:
        folder = item["id"]
        for a in item["assets"].values():
            a["href"] = f"{nginx.url}/{folder}/{a['href'].lstrip('./')}"
        item["collection"] = COLLECTION
        item["properties"]["updated"] = "2020-08-19T02:33:03Z"
    collection = {
        "type": "Collection", "stac_version": "1.0.0", "id": COLLECTION, "description": "Cut S2 L2A tiles",
        "license": "proprietary", "links": [],
        "extent": {"spatial": {"bbox": [list(BBOX_DEG)]},
                   "temporal": {"interval": [["2020-02-01T00:00:00Z", "2020-03-01T00:00:00Z"]]}},
    }
    try:
        api = PgStacApi(collection, items).__enter__()
    except Unavailable as exc:
        nginx.__exit__(None, None, None)
        _skip_or_fail(str(exc))
    try:
        yield {"nginx": nginx, "api": api, "root": root}
    finally:
        api.__exit__(None, None, None)
        nginx.__exit__(None, None, None)


def _tif_requests(nginx: Nginx) -> list[str]:
    return [line for line in nginx.access_log() if ".tif" in line]


def test_search_pages_and_cloud_filter(servers):
    url = servers["api"].url
    with pytest.raises(InputError, match="remote inputs are not enabled"):
        search_items(url, collections=[COLLECTION], bbox=BBOX_DEG)  # network reads are opt-in
    with allow_inputs(remote=True):
        _search_pages_and_cloud_filter(url)


def _search_pages_and_cloud_filter(url: str) -> None:
    every = search_items(url, collections=[COLLECTION], bbox=BBOX_DEG, datetime="2020-02-01/2020-02-29T23:59:59Z")
    assert len(every) == 6
    clear = search_items(url, collections=[COLLECTION], bbox=BBOX_DEG, datetime="2020-02-01/2020-02-29T23:59:59Z",
                         query={"eo:cloud_cover": {"lt": 60}}, limit=1)
    assert len(clear) == 4  # one item per page: every next link was followed
    assert {it.properties["datetime"][:10] for it in clear} == {"2020-02-19", "2020-02-29"}
    from pystac_client import Client

    pages = list(Client.open(url).search(collections=[COLLECTION], bbox=BBOX_DEG, limit=1,
                                         query={"eo:cloud_cover": {"lt": 60}}).pages())
    assert len(pages) >= 4
    capped = search_items(url, collections=[COLLECTION], bbox=BBOX_DEG, max_items=3, limit=2)
    assert len(capped) == 3
    # Far from the tiles: nothing.
    assert search_items(url, collections=[COLLECTION], bbox=(70.0, 10.0, 71.0, 11.0)) == []


def test_load_stac_reads_cogs_over_http_with_range_requests(servers):
    before = len(_tif_requests(servers["nginx"]))
    with allow_inputs(remote=True):
        ds = load_stac(servers["api"].url, collections=[COLLECTION], bbox=BBOX_DEG,
                       datetime="2020-02-19/2020-02-19T23:59:59Z", bands=["red", "scl"],
                       crs="EPSG:32629", resolution=100, chunk=256)
    assert ds.sizes["time"] == 1  # two tiles, two UTM zones, one date
    assert len(ds.attrs["scene_ids"][0].split("+")) == 2
    red = ds["red"].values[0]
    with rasterio.open(SAMPLE / "B04.tif") as src:
        truth = src.read(1, window=((300, 364), (264, 328))).astype(np.float32) * np.float32(1e-4)
    # The east tile is in the grid's own zone: its pixels arrive unchanged.
    gbox = ds.odc.geobox
    col0 = int(round((src.transform.c + 264 * 100 - gbox.affine.c) / 100))
    row0 = int(round((gbox.affine.f - (src.transform.f - 300 * 100)) / 100))
    np.testing.assert_array_equal(red[row0:row0 + 64, col0:col0 + 64], truth)
    requests = _tif_requests(servers["nginx"])[before:]
    assert requests and all('" 206 ' in r for r in requests if '"GET' in r)  # partial content: range reads


def _run_config(tmp_path: Path, api_url: str) -> Path:
    cfg = {"version": 1, "name": "remote", "scheduler": "synchronous", "chunk": 256, "allow_remote": True, "areas": [{
        "name": "district", "grid": {"crs": "EPSG:32629", "resolution": 100, "bounds": list(grid_bounds())},
        "inputs": [{"kind": "stac_search", "url": api_url, "collections": [COLLECTION],
                    "datetime": "2020-02-01/2020-02-29T23:59:59Z", "bands": ["red", "nir", "scl"],
                    "query": {"eo:cloud_cover": {"lt": 60}}, "limit": 2}],
        "layers": [{"product": "ndvi", "time": "each"}]}]}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_stac_search_run_mosaics_each_date_and_a_rerun_computes_nothing(servers, tmp_path):
    cfg = load_config(_run_config(tmp_path, servers["api"].url))
    first = run(cfg, tmp_path / "out")
    tifs = sorted(o["path"] for o in first.outputs if o["path"].endswith(".tif"))
    assert len(tifs) == 2 and "20200219" in tifs[0] and "20200229" in tifs[1]  # the cloudy 24th filtered out
    for path in tifs:
        with rasterio.open(tmp_path / "out" / path) as src:
            band = src.read(1, masked=True)
        west, east = band[:, :64], band[:, 65:]
        assert (~west.mask).mean() > 0.85 and (~east.mask).mean() > 0.85
    scenes = [e for e in first.manifest["inputs"] if e["area"] == "district"]
    assert len(scenes) == 4 and all(e["metadata"]["provenance"]["updated"] for e in scenes)
    before = len(_tif_requests(servers["nginx"]))
    again = run(cfg, tmp_path / "out")
    assert again.computed == []
    assert len(_tif_requests(servers["nginx"])) == before  # not one pixel fetched again


def test_dropped_connection_mid_read_is_exit_3_and_nothing_published(servers, tmp_path, agromap_cli):
    nginx = servers["nginx"]
    item = json.loads((servers["root"] / "sample" / "S2A_29RKH_20200219_0_L2A.json").read_text())
    for key in ("red", "nir", "scl"):
        item["assets"][key]["href"] = f"{nginx.url}/flaky/sample/{item['assets'][key]['href'].lstrip('./')}"
    item["assets"] = {k: item["assets"][k] for k in ("red", "nir", "scl")}
    (tmp_path / "item.json").write_text(json.dumps(item))
    cfg = {"version": 1, "name": "flaky", "scheduler": "synchronous", "chunk": 512, "allow_remote": True, "areas": [{
        "name": "tile", "inputs": [{"kind": "stac_items", "items": "item.json", "bands": ["red", "nir", "scl"]}],
        "layers": [{"product": "ndvi", "time": "each"}]}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "GDAL_HTTP_MAX_RETRY": "1", "GDAL_HTTP_RETRY_DELAY": "0"}
    proc = agromap_cli.run("run", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "out"), env=env)
    assert proc.returncode == 3, proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("agromap: error:")]
    assert len(lines) == 1 and "could not be read" in lines[0] and "Traceback" not in proc.stderr
    assert not list((tmp_path / "out").rglob("*.tif")) and not (tmp_path / "out" / "manifest.json").exists()
    assert any('/flaky/' in r and '" 444 ' in r for r in nginx.access_log())  # the server really cut it


def test_plain_remote_file_is_identified_by_its_etag(servers):
    from agromap.io.loaders import load_files
    from agromap.pipeline.recipes import remote_inputs

    folder = next(p for p in servers["root"].iterdir() if p.name.startswith("S2A_29RKJ"))
    with allow_inputs(remote=True):
        scene = load_files({"red": f"{servers['nginx'].url}/{folder.name}/B04.tif"}, datetime="2020-02-19",
                           scale=1e-4)
    [entry] = remote_inputs([scene])
    [href] = entry["hrefs"]
    assert href["href"].startswith("/vsicurl/http://127.0.0.1:") and href["etag"].startswith('"')
    assert int(href["content-length"]) == (folder / "B04.tif").stat().st_size
