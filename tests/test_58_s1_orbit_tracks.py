"""Sentinel-1 orbit tracks through the loaders and the runner: every date names its track, and the
SAR rice rule removes each track's incidence offset in pipeline runs as it does in memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from agromap.errors import ConfigError
from agromap.io import loaders
from agromap.io.scene import run_geobox, stack_scenes
from agromap.pipeline.config import load_config, parse_config
from agromap.pipeline.runner import run
from agromap.rice.rules_sar import sar_rice_rule
from agromap.rice.speckle import homogeneous_speckle_filter
from agromap.scenes import make_scene
from agromap.sensors.s1_orbit import relative_orbit, track_from_name, track_from_stac, track_from_tags, track_of
from conftest import write_tif

SIZE = 48
CRS, ORIGIN = "EPSG:32648", (580_000.0, 1_120_000.0)


# ---- where a track comes from --------------------------------------------------------------

def test_relative_orbit_of_published_products():
    # The products named with the published formula (S1A: -73, S1B: -27, modulo 175, plus 1).
    assert relative_orbit(18302, "S1A") == 30
    assert relative_orbit(7231, "S1B") == 30
    assert relative_orbit(29739, "sentinel-1a") == relative_orbit(33764, "Sentinel-1A") == 92
    assert relative_orbit(1234, "S1C") is None  # no published phasing here: no guess
    assert track_from_name("/x/S1A_IW_GRDH_1SDV_20170909T175748_20170909T175813_018302_01EC88_98A1.SAFE/"
                           "measurement/s1a-iw-grd-vh-20170909t175748-20170909t175813-018302-01ec88-002.tiff"
                           ).relative_orbit == 30
    assert track_from_name("S1B_IW_GRDH_1SDV_20170903T175659_20170903T175724_007231_00CBEF_874B_VH.tif"
                           ).relative_orbit == 30
    assert track_from_name("s1a-iw-grd-vh-20191103t003105-20191103t003130-029739-03639c-002.tiff").relative_orbit == 92
    assert track_from_name("OPERA_L2_RTC-S1_T034-071092-IW3_20230611T002900Z_20230928T203216Z_S1A_30_v1.0_VH.tif"
                           ).relative_orbit == 34
    assert track_from_name("2023-06-11_vh.tif") is None


def test_track_from_stac_and_tags():
    t = track_from_stac({"sat:relative_orbit": 18, "sat:orbit_state": "descending", "platform": "sentinel-1a"})
    assert (t.label, t.orbit_state, t.source) == ("18", "descending", "stac")
    assert track_from_stac({"sat:absolute_orbit": 18302, "platform": "sentinel-1a"}).label == "30"
    assert track_from_stac({"sat:orbit_state": "ascending"}).label == "ascending"
    assert track_from_stac({"platform": "sentinel-1a"}) is None
    assert track_from_tags({"TRACK_NUMBER": "34", "ORBIT_PASS_DIRECTION": "ASCENDING"}).label == "34"
    assert track_from_tags({"orbitProperties_pass": "DESCENDING"}).label == "descending"
    assert track_from_tags({"ABSOLUTE_ORBIT_NUMBER": "7231", "PLATFORM": "Sentinel-1B"}).label == "30"
    assert track_from_tags({"AREA_OR_POINT": "Area"}) is None


def _vh_file(path: Path, tags: dict[str, str] | None = None) -> Path:
    write_tif(path, np.full((8, 8), 0.02, np.float32), crs=CRS, origin=ORIGIN)
    if tags:
        with rasterio.open(path, "r+") as dst:
            dst.update_tags(**tags)
    return path


def test_loaders_attach_the_track_of_each_date(tmp_path):
    named = _vh_file(tmp_path / "S1A_IW_GRDH_1SDV_20230103T224515_20230103T224540_046584_0595A4_1234_VH.tif")
    tagged = _vh_file(tmp_path / "b_vh.tif", {"TRACK_NUMBER": "18", "ORBIT_PASS_DIRECTION": "DESCENDING"})
    plain = _vh_file(tmp_path / "c_vh.tif")
    s_name = loaders.load_sentinel1({"vh": named}, datetime="2023-01-03", units="linear")
    s_tags = loaders.load_sentinel1({"vh": tagged}, datetime="2023-01-09", units="linear")
    s_decl = loaders.load_sentinel1({"vh": tagged}, datetime="2023-01-15", units="linear", orbit="ascending")
    s_none = loaders.load_sentinel1({"vh": plain}, datetime="2023-01-21", units="linear")
    assert (s_name.metadata["orbit"], s_name.metadata["orbit_source"]) == (str((46584 - 73) % 175 + 1), "name")
    assert (s_tags.metadata["orbit"], s_tags.metadata["orbit_state"], s_tags.metadata["orbit_source"]) == (
        "18", "descending", "tags")
    assert (s_decl.metadata["orbit"], s_decl.metadata["orbit_source"]) == ("ascending", "config")  # declared wins
    assert "orbit" not in s_none.metadata
    scenes = [s_name, s_tags, s_decl, s_none]
    ds = stack_scenes(scenes, run_geobox(scenes, None), chunk=4)
    # In memory (numpy), so the rule reads it without a compute; "" where a date has no track.
    assert isinstance(ds["orbit"].variable._data, np.ndarray) and ds["orbit"].dims == ("time",)
    assert ds["orbit"].values.tolist() == ["137", "18", "ascending", ""]
    assert ds["vh"].chunks is not None
    with pytest.raises(ConfigError, match="relative orbit"):
        loaders.load_sentinel1({"vh": plain}, datetime="2023-01-21", units="linear", orbit="200")


def test_track_from_product_metadata(tmp_path):
    # The real productInfo.json of an S1A product (AWS sentinel-s1-l1c layout): absolute orbit 22812.
    info = Path(__file__).parents[1] / "sample_data" / "sentinel1_grd_kerala_productinfo" / "productInfo.json"
    product = tmp_path / "GRD" / "2018" / "7" / "16"
    (product / "measurement").mkdir(parents=True)
    (product / "productInfo.json").write_text(info.read_text())
    vh = _vh_file(product / "measurement" / "iw-vh.tiff")
    scene = loaders.load_sentinel1({"vh": vh}, datetime="2018-07-16", units="linear")
    assert (scene.metadata["orbit"], scene.metadata["orbit_source"]) == (str((22812 - 73) % 175 + 1), "product")
    # A SAFE folder's manifest names the relative orbit and the pass.
    safe = tmp_path / "x.SAFE"
    (safe / "measurement").mkdir(parents=True)
    (safe / "manifest.safe").write_text(
        '<xfdu><safe:orbitReference><safe:relativeOrbitNumber type="start">63</safe:relativeOrbitNumber>'
        '<safe:extension><s1:orbitProperties><s1:pass>ASCENDING</s1:pass></s1:orbitProperties>'
        '</safe:extension></safe:orbitReference></xfdu>')
    t = track_of(names=[_vh_file(safe / "measurement" / "vh.tiff")])
    assert (t.label, t.orbit_state, t.source) == ("63", "ascending", "product")


def test_stac_item_names_its_track(tmp_path):
    _vh_file(tmp_path / "vh.tif")

    def item(name: str, props: dict) -> Path:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({
            "type": "Feature", "stac_version": "1.0.0", "id": name, "bbox": [0, 0, 1, 1], "links": [],
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
            "properties": {"datetime": "2023-01-03T22:45:15Z", **props},
            "assets": {"vh": {"href": "vh.tif", "type": "image/tiff; application=geotiff"}}}))
        return path

    s1 = loaders.load_stac_item(item("s1", {"platform": "sentinel-1a", "sar:polarizations": ["VV", "VH"],
                                            "sat:relative_orbit": 18, "sat:orbit_state": "descending"}),
                                bands=("vh",))
    assert (s1.metadata["orbit"], s1.metadata["orbit_state"], s1.metadata["orbit_source"]) == (
        "18", "descending", "stac")
    # An optical item's relative orbit is no SAR track.
    s2 = loaders.load_stac_item(item("s2", {"platform": "sentinel-2a", "sat:relative_orbit": 18}), bands=("vh",))
    assert "orbit" not in s2.metadata


def test_stac_items_read_by_odc_stac_carry_their_tracks(tmp_path):
    """Sentinel-1 RTC items as a STAC API returns them: sat properties -> the stack's orbit labels."""
    import pystac
    from affine import Affine
    from odc.geo.geobox import GeoBox

    from agromap.io.stac_read import items_to_scenes

    gbox = GeoBox((8, 8), Affine(10.0, 0.0, ORIGIN[0], 0.0, -10.0, ORIGIN[1]), CRS)
    foot = gbox.extent.to_crs("EPSG:4326")
    items = []
    for day, rel, state in (("2023-01-03", 18, "descending"), ("2023-01-06", 128, "ascending"),
                            ("2023-01-15", 18, "descending")):
        _vh_file(tmp_path / f"{day}_vh.tif")
        item = pystac.Item(f"S1A_{day}", foot.json, list(foot.boundingbox), pd_timestamp(day), {
            "platform": "sentinel-1a", "sar:polarizations": ["VV", "VH"], "sat:relative_orbit": rel,
            "sat:orbit_state": state})
        item.add_asset("vh", pystac.Asset(str(tmp_path / f"{day}_vh.tif"), media_type=pystac.MediaType.GEOTIFF))
        items.append(item)
    scenes = items_to_scenes(items, ["vh"], geobox=gbox, chunk=8)
    assert [s.metadata["orbit"] for s in scenes] == ["18", "128", "18"]
    ds = stack_scenes(scenes, run_geobox(scenes, None), chunk=8)
    assert ds["orbit"].values.tolist() == ["18", "128", "18"]
    assert isinstance(ds["orbit"].variable._data, np.ndarray)


def pd_timestamp(day: str):
    """A STAC datetime (UTC) of a Sentinel-1 evening pass on ``day``."""
    import datetime as dt

    return dt.datetime.fromisoformat(day + "T22:45:00+00:00")


def test_folder_pattern_names_each_files_track(tmp_path):
    for day, track in (("2023-01-03", "A"), ("2023-01-03", "D"), ("2023-01-09", "A")):
        _vh_file(tmp_path / f"{day}_{track}_vh.tif")
    scenes = loaders.load_folder(tmp_path, pattern="{date}_{orbit}_{band}.tif", bands=("vh",), sar_units="linear")
    assert [(str(s.datetime.date()), s.metadata["orbit"]) for s in scenes] == [
        ("2023-01-03", "ascending"), ("2023-01-03", "descending"), ("2023-01-09", "ascending")]
    # Two tracks on one day (an ascending and a descending pass) mosaic into one date: its own label.
    ds = stack_scenes(scenes, run_geobox(scenes, None), chunk=8)
    assert ds["orbit"].values.tolist() == ["ascending+descending", "ascending"]


# ---- through the runner --------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_track_run(tmp_path_factory):
    """wetland_confusion (two tracks, 1.5 dB apart) as GeoTIFFs, run with and without track names."""
    tmp = tmp_path_factory.mktemp("s1_tracks")
    sc = make_scene("wetland_confusion", size=SIZE, seed=1)
    vh = sc.s1["vh"].compute()
    tracked, untracked = tmp / "tracked", tmp / "untracked"
    tracked.mkdir()
    untracked.mkdir()
    for i, (day, orbit) in enumerate(zip(vh.time.values.astype("datetime64[D]").astype(str), vh.orbit.values)):
        data = vh.values[i].astype(np.float32)
        write_tif(tracked / f"{day}_{'A' if orbit == 'ascending' else 'D'}_vh.tif", data, crs=CRS, origin=ORIGIN)
        write_tif(untracked / f"{day}_vh.tif", data, crs=CRS, origin=ORIGIN)
    layer = {"product": "rice", "method": "sar"}
    areas = [
        {"name": "tracked", "layers": [layer], "inputs": [
            {"kind": "folder", "path": str(tracked), "pattern": "{date}_{orbit}_{band}.tif", "bands": ["vh"],
             "sar_units": "linear"}]},
        {"name": "untracked", "layers": [layer], "inputs": [
            {"kind": "folder", "path": str(untracked), "bands": ["vh"], "sar_units": "linear"}]},
    ]
    cfg = tmp / "tracks.yaml"
    cfg.write_text(yaml.safe_dump({"version": 1, "name": "tracks", "scheduler": "threads", "chunk": 256,
                                   "areas": areas}))
    out = tmp / "out"
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error", UserWarning)  # no "track labels ignored" warning
        run(load_config(cfg), out, scheduler="threads")
    return out, vh


def _read(out: Path, area: str, name: str) -> np.ndarray:
    (tif,) = sorted((out / area).glob(f"{name}_sar_*.tif"))
    with rasterio.open(tif) as src:
        return src.read(1)


def test_pipeline_removes_track_offsets_as_the_in_memory_rule(two_track_run):
    out, vh = two_track_run
    filtered = homogeneous_speckle_filter(vh, 7).compute()
    told = sar_rice_rule(filtered)
    blind = sar_rice_rule(filtered.drop_vars("orbit"))
    score_t, score_u = _read(out, "tracked", "rice_score"), _read(out, "untracked", "rice_score")
    # The track names change the pipeline's scores (1.5 dB zigzag removed) ...
    assert np.mean(score_t != score_u) > 0.2, np.mean(score_t != score_u)
    # ... and each run equals the in-memory rule with (or without) the labels (scores stored as percent).
    for stored, ref in ((score_t, told), (score_u, blind)):
        expect = np.round(ref["rice_score"].values * 100)
        assert np.abs(stored.astype(float) - expect).max() <= 1
        np.testing.assert_array_equal(_read(out, "tracked" if ref is told else "untracked", "rice_class"),
                                      ref["rice_class"].values)
    manifest = json.loads((out / "manifest.json").read_text())
    tracks = {e["metadata"].get("orbit") for e in manifest["inputs"] if e["area"] == "tracked"}
    assert tracks == {"ascending", "descending"}


def test_orbit_key_validates():
    def inp(**kw: object) -> dict:
        return {"version": 1, "name": "x", "areas": [{"name": "a", "inputs": [
            {"kind": "sentinel1", "datetime": "2023-01-03", "units": "db", "bands": {"vh": "a.tif"}, **kw}],
            "layers": [{"product": "rice", "method": "sar"}]}]}

    assert parse_config(inp(orbit=18)).areas[0].inputs[0].orbit == 18
    assert parse_config(inp(orbit="descending")).areas[0].inputs[0].orbit == "descending"
    with pytest.raises(ConfigError):
        parse_config(inp(orbit=176))
