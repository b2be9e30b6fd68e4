"""Delivery of a run to people: map sheets, the report's maps and tables, the web map.

A small run folder is built from real COGs, STAC items, a district table and a manifest, the
way ``agromap run`` writes them; map sheets are rendered, the web map is served on 127.0.0.1
and read over HTTP (tiles, pixel queries, tables).
"""

from __future__ import annotations

import io
import json
import logging
import threading
import urllib.request
from pathlib import Path

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image
from shapely.geometry import box

from agromap.io.grid import attach_geobox
from agromap.io.stac import item_for_layer, write_item
from agromap.io.write import publish_cog, staging_path_for, store_gtiff
from agromap.layer_registry import LAYERS
from agromap.mapsheet import key_figures, load_view, write_mapsheets
from agromap.pipeline.manifest import write_catalog
from agromap.quicklook import display_style, write_quicklook
from agromap.report import write_report
from agromap.report_format import column_label, fmt_number
from agromap.testing import make_geobox
from agromap.zonal import class_area_by_polygon, round_table, write_table

X0, Y0, RES = 500_000.0, 2_000_000.0, 10.0
SHAPE = (96, 128)


def _publish(out: Path, area: str, stem: str, spec, values: np.ndarray, date: str) -> dict:
    arr = attach_geobox(xr.DataArray(values.astype(np.float32), dims=("y", "x"), name=spec.name),
                        make_geobox(values.shape, origin=(X0, Y0), res=RES))
    final = out / area / f"{stem}.tif"
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path_for(final, "run-67")
    dask.compute(store_gtiff(arr, staging, spec))
    info = publish_cog(staging, final, spec, tags={"PRODUCT": spec.name, "DATETIME": date,
                                                   "DESCRIPTION": spec.description})
    item = item_for_layer(final, spec, item_id=f"agromap-{area}-{stem}", datetime=pd.Timestamp(date).to_pydatetime(),
                          info=info)
    write_item(item, final.with_suffix(".json"))
    write_quicklook(final, final.with_suffix(".png"))
    return {"area": area, "layer": spec.name, "path": f"{area}/{stem}.tif", "stac_item": f"{area}/{stem}.json",
            "quicklook": f"{area}/{stem}.png", "valid_fraction": info.valid_fraction, "size": info.size,
            "sha256": info.sha256, "dtype": info.dtype}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run67")
    i, j = np.meshgrid(np.arange(SHAPE[0]), np.arange(SHAPE[1]), indexing="ij")
    flood = np.zeros(SHAPE, np.float32)
    flood[:, 64:] = 2           # east half: observed flood water
    flood[40:60, 10:40] = 4     # a block of flooded rice in the west
    flood[:8] = np.nan          # no observation along the top
    ndvi = (0.1 + 0.6 * j / SHAPE[1]).astype(np.float32)
    doy = np.full(SHAPE, np.nan, np.float32)
    outputs = [
        _publish(out, "delta", "flood_class_20230830", LAYERS["flood_class"], flood, "2023-08-30"),
        _publish(out, "delta", "ndvi_20230830", LAYERS["ndvi"], ndvi, "2023-08-30"),
        _publish(out, "delta", "ndvi_20230915", LAYERS["ndvi"], ndvi - 0.2, "2023-09-15"),
        _publish(out, "aaa_blank", "ndvi_20230830", LAYERS["ndvi"], doy, "2023-08-30"),
    ]
    # Districts: West and East halves of the grid, in the map's UTM zone.
    xm, yb = X0 + 64 * RES, Y0 - SHAPE[0] * RES
    districts = gpd.GeoDataFrame({"code": ["W", "E"], "district": ["West", "East"]},
                                 geometry=[box(X0, yb, xm, Y0), box(xm, yb, X0 + SHAPE[1] * RES, Y0)],
                                 crs="EPSG:32643")
    cog = out / outputs[0]["path"]
    table = None
    for value, slug in ((2, "observed_flood_water"), (4, "flooded_rice")):
        df = class_area_by_polygon(cog, districts, value, "code", name_field="district", outside="keep")
        wide = df[["id", "name", "polygon_area_ha", "covered_fraction"]] if table is None else df[["id"]]
        wide = wide.assign(**{f"{slug}_ha": df["area_ha"]})
        table = wide if table is None else table.merge(wide, on="id")
    tdir = out / "delta" / "tables"
    files = write_table(table, tdir / "flood_class_20230830_by_district.csv",
                        tdir / "flood_class_20230830_by_district.geojson", polygons=districts, id_field="code")
    write_catalog(out, "r67", outputs)
    manifest = {"run_id": "run-67", "status": "success", "agromap_version": "0.0-test", "config": {"name": "r67"},
                "started": "2026-01-01T00:00:00", "finished": "2026-01-01T00:01:00",
                "inputs": [{"area": "delta", "scene_id": "S1A_IW_20230830", "datetime": "2023-08-30T00:00:00",
                            "files": []}],
                "outputs": outputs,
                "tables": [{"layer": outputs[0]["path"], "files": [str(f.relative_to(out)) for f in files]}]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    write_report(out, manifest, quicklooks={o["path"]: o["quicklook"] for o in outputs})
    return out


# ---- numbers, colours, styles ------------------------------------------------------------------
def test_numbers_and_headers_are_for_people():
    assert fmt_number(10350.0, "flooded_rice_ha") == "10,350"
    assert fmt_number(12.345, "rice_ha") == "12.3"
    assert fmt_number(1.000000000012733, "covered_fraction") == "100.0"
    assert fmt_number(10350.0, "mean") == "10,350" and "e+" not in fmt_number(1.035e4, "max")
    assert fmt_number(4.5e-5, "mean") == "0.000045"
    assert fmt_number(8363.499999959, "count") == "8,363"
    assert column_label("flooded_rice_ha") == "flooded rice (ha)"
    assert column_label("covered_fraction") == "covered (%)"
    assert column_label("rice_adjusted_ci95_ha") == "rice ± 95 % CI (ha)"


def test_csv_tables_are_rounded_to_meaningful_precision():
    df = pd.DataFrame({"id": ["a"], "covered_fraction": [1.000000000012733], "rice_ha": [40.361692197993975],
                       "count": [8363.499999959487], "mean": [4.567891234e-5]})
    r = round_table(df)
    assert r["covered_fraction"][0] == 1.0 and r["rice_ha"][0] == 40.3617 and r["count"][0] == 8363.5
    assert r["mean"][0] == pytest.approx(4.56789e-5, rel=0, abs=1e-11)
    assert "0000000" not in r.to_csv(index=False)


def test_one_colour_keeps_one_meaning_across_products():
    """Orange is flooded rice only; a colour never names two unrelated classes."""
    from agromap.disaster.burn import BURNED_PADDY_CLASSES
    from agromap.disaster.flood import FLOOD_CLASSES

    seen: dict[str, set[str]] = {}
    for classes in (FLOOD_CLASSES, BURNED_PADDY_CLASSES, LAYERS["water_mask"].classes):
        for _v, name, colour in classes:
            seen.setdefault(colour.upper(), set()).add(name)
    assert seen["FF7F00"] == {"flooded rice"}
    same = {"C8C8C8": "background", "0000FF": "water"}  # 'not X' is grey, permanent water is water everywhere
    assert not [c for c, names in seen.items() if len(names) > 1 and c not in same], seen


def test_display_styles_fit_the_values():
    v = np.arange(4, 13, dtype=float)
    s, source = display_style("n_valid_obs_optical", "1", {}, v)
    assert source == "data" and s.vmin >= 0 and s.vmax <= 14 and s.vmax - s.vmin <= 12
    s, _ = display_style("transplant_doy_1", "day of year", {}, np.linspace(152, 257, 50))
    assert 140 <= s.vmin <= 152 and 257 <= s.vmax <= 270
    s, _ = display_style("no2_trop_column", "mol m-2", {})
    assert (s.vmin, s.vmax) == (0.0, 150.0)  # µmol m-2, where city columns of 20-150 spread over the ramp


# ---- map sheets ----------------------------------------------------------------------------------
def test_mapsheets_png_and_pdf_per_decision_layer(run_folder: Path, tmp_path: Path):
    files = write_mapsheets(run_folder, out_dir=tmp_path)
    names = sorted(f.name for f in files)
    assert names == ["delta_flood_class_20230830.pdf", "delta_flood_class_20230830.png"]  # decision layers only
    assert (tmp_path / names[0]).read_bytes().startswith(b"%PDF")
    with Image.open(tmp_path / names[1]) as im:
        assert (im.width, im.height) == (1753, 1240)  # A4 landscape (297 x 210 mm) at 150 dpi
        rgb = np.asarray(im.convert("RGB"))
    assert tuple(rgb[20, 20]) == (0x1F, 0x3B, 0x5A)  # the title band
    # flood colours of the classes present appear on the sheet; absent classes' colours do not
    colours = {tuple(c) for c in rgb.reshape(-1, 3)[::7]}
    assert (0x00, 0xB4, 0xFF) in colours and (0xFF, 0x7F, 0x00) in colours
    assert (0xFF, 0x00, 0x00) not in colours  # flooded cropland: not in this map
    assert not list(tmp_path.glob("*.partial"))


def test_mapsheet_cli(run_folder: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from agromap.pipeline.cli import app

    res = CliRunner().invoke(app, ["mapsheet", str(run_folder), "--out", str(tmp_path), "--layer", "ndvi_20230915"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["delta_ndvi_20230915.pdf", "delta_ndvi_20230915.png"]
    res = CliRunner().invoke(app, ["mapsheet", str(tmp_path / "nothing")])
    assert res.exit_code == 3 and "agromap: error:" in res.output and "manifest.json" in res.output


def test_key_figures_name_hectares_and_districts(run_folder: Path):
    manifest = json.loads((run_folder / "manifest.json").read_text())
    lines = key_figures(run_folder, manifest)
    assert len(lines) == 1 and lines[0].startswith("delta flood_class_20230830: flooded ")
    view = load_view(run_folder / "delta/flood_class_20230830.tif")
    areas = {n: ha for _v, n, _c, ha in view.classes}
    # 10 m pixels: 0.01 ha each; rows 8-95 of the east half are flood water, the block is flooded rice
    assert areas["observed flood water"] == pytest.approx(88 * 64 * 0.01, rel=1e-3)
    assert areas["flooded rice"] == pytest.approx(20 * 30 * 0.01, rel=1e-3)
    assert "in 2 of 2 districts" in lines[0] and f"{88 * 64 * 0.01 + 6:,.0f} ha" in lines[0]


def test_gdal_warnings_print_once_per_run():
    from agromap.pipeline.cli import _OncePerRun

    f = _OncePerRun()
    rec = lambda msg: logging.LogRecord("rasterio._env", logging.WARNING, "", 0, msg, None, None)  # noqa: E731
    kept = [f.filter(rec("CPLE_AppDefined in a.tif: TIFFReadDirectory")) for _ in range(28)]
    assert kept.count(True) == 1
    assert f.filter(rec("CPLE_AppDefined in b.tif: TIFFReadDirectory"))  # another file: its own line
    other = logging.LogRecord("agromap", logging.WARNING, "", 0, "x", None, None)
    assert f.filter(other) and f.filter(other)  # agromap's own messages are never dropped


# ---- the web map ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(run_folder: Path):
    from agromap.serve.app import make_server

    srv = make_server(run_folder, host="127.0.0.1", port=0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def lonlat(col: float, row: float) -> tuple[float, float]:
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:32643", "EPSG:4326", always_xy=True)
    return t.transform(X0 + col * RES, Y0 - row * RES)


def test_web_map_layers_tiles_and_pixel_queries(server: str):
    status, ctype, body = get(server + "/api/layers")
    layers = json.loads(body)
    assert status == 200 and ctype == "application/json"
    delta = [lyr for lyr in layers if lyr["area"] == "delta"]
    assert delta[0]["product"] == "flood_class" and delta[0]["decision"]  # per area, decision layers first
    flood = delta[0]
    assert [e["name"] for e in flood["legend"]] == ["not flooded", "observed flood water", "flooded rice"]
    ndvi = [lyr for lyr in layers if lyr["area"] == "delta" and lyr["product"] == "ndvi"]
    assert sorted(lyr["datetime"] for lyr in ndvi) == ["2023-08-30", "2023-09-15"]  # a time series
    # pixel query: value and class name at known pixels, decoded value of a continuous layer
    lon, lat = lonlat(25.5, 50.5)
    p = json.loads(get(f"{server}/api/point/{flood['id']}?lon={lon}&lat={lat}")[2])
    assert (p["value"], p["class"]) == (4, "flooded rice")
    lon, lat = lonlat(100.5, 50.5)
    assert json.loads(get(f"{server}/api/point/{flood['id']}?lon={lon}&lat={lat}")[2])["class"] == \
        "observed flood water"
    lon, lat = lonlat(100.5, 2.5)
    assert json.loads(get(f"{server}/api/point/{flood['id']}?lon={lon}&lat={lat}")[2])["value"] is None  # nodata
    n_id = next(lyr["id"] for lyr in ndvi if lyr["datetime"] == "2023-08-30")
    lon, lat = lonlat(64.5, 50.5)
    v = json.loads(get(f"{server}/api/point/{n_id}?lon={lon}&lat={lat}")[2])["value"]
    assert v == pytest.approx(0.1 + 0.6 * 64 / 128, abs=1e-4)
    # a tile over the flooded-rice block is painted in the class colour
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    lon, lat = lonlat(25.5, 50.5)
    t = tms.tile(lon, lat, 16)
    status, ctype, png = get(f"{server}/tiles/{flood['id']}/{t.z}/{t.x}/{t.y}.png")
    assert status == 200 and ctype == "image/png"
    with Image.open(io.BytesIO(png)) as im:
        rgba = np.asarray(im.convert("RGBA"))
    b = tms.xy_bounds(t)
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
    px, py = int((x - b.left) / (b.right - b.left) * 256), int((b.top - y) / (b.top - b.bottom) * 256)
    assert tuple(rgba[py, px]) == (0xFF, 0x7F, 0x00, 255)
    status, _c, png = get(f"{server}/tiles/{flood['id']}/5/0/0.png")  # far away: transparent
    with Image.open(io.BytesIO(png)) as im:
        assert status == 200 and np.asarray(im.convert("RGBA"))[..., 3].max() == 0
    # district table and outlines; unknown layers and paths are refused
    table = json.loads(get(f"{server}/api/table/{flood['id']}")[2])
    assert table["columns"][:2] == ["id", "name"] and [r[1] for r in table["rows"]] == ["West", "East"]
    assert len(json.loads(get(f"{server}/api/districts/delta")[2])["features"]) == 2
    assert get(f"{server}/tiles/nope/1/0/0.png")[0] == 404
    assert get(f"{server}/static/../manifest.json")[0] == 404
    status, ctype, js = get(server + "/static/vendor/leaflet/leaflet.js")
    assert status == 200 and b"Leaflet" in js[:300]


def _eval(browser, session: str, expr: str):
    return browser.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                        session=session)["result"].get("value")


def _wait(browser, session: str, expr: str, timeout: float = 30.0):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = _eval(browser, session, expr)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {expr}")


@pytest.mark.integration
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_web_map_in_headless_chromium(server: str, tmp_path: Path):
    """The page loads offline, tiles draw, a click shows the pixel's class, layers and dates switch."""
    from test_66_report_browser import Browser, open_page, screenshot

    browser = Browser(tmp_path / "profile", allow_local=True)
    try:
        session, page = open_page(browser, server + "/", width=1200, height=800)
        assert _wait(browser, session, "document.body.getAttribute('data-layers')") == "4"
        _wait(browser, session, "document.body.getAttribute('data-tiles-loaded')")
        assert _eval(browser, session, "agromap.current.product") == "flood_class"
        n_tiles = _eval(browser, session, "document.querySelectorAll('img.leaflet-tile-loaded').length")
        assert n_tiles >= 1
        legend = _eval(browser, session, "Array.from(document.querySelectorAll('#legend div')).map(d => d.textContent)")
        assert [t.split(" ")[0] for t in legend] == ["not", "observed", "flooded"]  # classes present only
        # a real mouse click on the flooded-rice block
        lon, lat = lonlat(25.5, 50.5)
        pt = _eval(browser, session, f"(function(){{var p = agromap.map.latLngToContainerPoint([{lat}, {lon}]);"
                                     "var r = document.getElementById('map').getBoundingClientRect();"
                                     "return [p.x + r.left, p.y + r.top];})()")
        for kind in ("mousePressed", "mouseReleased"):
            browser.send("Input.dispatchMouseEvent", {"type": kind, "x": pt[0], "y": pt[1], "button": "left",
                                                      "clickCount": 1}, session=session)
        assert _wait(browser, session, "document.getElementById('pixel').getAttribute('data-value')") == "4"
        assert "flooded rice" in _eval(browser, session, "document.getElementById('pixel').textContent")
        shot = screenshot(browser, session, tmp_path / "webmap.png")
        with Image.open(shot) as im:
            rgb = np.asarray(im.convert("RGB"))
        # the map canvas shows the flood colours, drawn from the tiles (orange flooded rice, cyan flood water)
        colours = {tuple(c) for c in rgb[:, 360:].reshape(-1, 3)[::3]}
        near = lambda c: any(sum(abs(int(a) - b) for a, b in zip(x, c)) < 40 for x in colours)  # noqa: E731
        assert near((0xFF, 0x7F, 0x00)) and near((0x00, 0xB4, 0xFF))
        # district table beside the map names the districts
        assert "West" in _eval(browser, session, "document.getElementById('table').textContent")
        # switch to the NDVI layer: two dates, the slider appears and moves between them
        _eval(browser, session, "(function(){var i = document.querySelector(\"#layers input[value='delta/ndvi']\");"
                                "i.checked = true; i.dispatchEvent(new Event('change', {bubbles: true}));})()")
        assert _wait(browser, session, "agromap.current.product === 'ndvi' && agromap.current.datetime") == "2023-09-15"
        assert _eval(browser, session, "document.getElementById('time').hidden") is False
        _eval(browser, session, "(function(){var s = document.getElementById('slider'); s.value = '0';"
                                "s.dispatchEvent(new Event('input'));})()")
        assert _eval(browser, session, "agromap.current.datetime") == "2023-08-30"
        assert page["errors"] == []
    finally:
        browser.close()


def test_annotated_quicklook_has_title_legend_and_readable_size(run_folder: Path, tmp_path: Path):
    info = write_quicklook(run_folder / "delta/flood_class_20230830.tif", tmp_path / "q.png", annotate=True)
    with Image.open(tmp_path / "q.png") as im:
        rgba = np.asarray(im.convert("RGBA"))
    assert (info["width"], info["height"]) == (320, 26 + 96 * 2 + 8 + 18 * 3)  # 2x enlarged, title, 3 classes
    assert tuple(rgba[5, 300]) == (255, 255, 255, 255)  # title bar
    # legend swatches of the three classes present, in order, under the map
    y0 = 26 + 192 + 4
    swatches = [tuple(rgba[y0 + 18 * k + 6, 12][:3]) for k in range(3)]
    assert swatches == [(0xC8, 0xC8, 0xC8), (0x00, 0xB4, 0xFF), (0xFF, 0x7F, 0x00)]
    # a small raster is enlarged by whole-pixel repetition, never smoothed: pure class colours only
    body = rgba[26 + 20:26 + 192, 32:288].reshape(-1, 4)
    assert {tuple(c[:3]) for c in body if c[3] == 255} <= {(0xC8, 0xC8, 0xC8), (0x00, 0xB4, 0xFF), (0xFF, 0x7F, 0x00)}
