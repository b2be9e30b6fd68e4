"""Visual outputs: quicklook PNGs from COG overviews, matplotlib plots, the .agromap accessor and
the self-contained HTML report (docs/architecture.md#quicklooks, docs/science/disaster.md#flood-classes)."""

from __future__ import annotations

import base64
import copy
import re
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from PIL import Image

import agromap.accessor  # noqa: F401  (registers .agromap)
from agromap import indices, masks, water
from agromap.accessor import _Base, _Bound
from agromap.errors import AccessorUnavailableError
from agromap.io.grid import attach_geobox
from agromap.io.layers import LayerSpec
from agromap.io.write import publish_cog, staging_path_for, store_gtiff
from agromap.layer_registry import LAYERS
from agromap.quicklook import PALETTES, product_style, thumbnail_asset, write_quicklook
from agromap.report import AQI_CAVEAT, render_report, write_report
from agromap.testing import SceneSpec, make_geobox, make_s2_stack, make_truth, raise_if_dask_computes


def cog(out: Path, name: str, values: np.ndarray, spec: LayerSpec, tags: dict | None = None) -> Path:
    """Publish float32 science values as a validated COG with the export edge (as test_40 does)."""
    arr = attach_geobox(xr.DataArray(values.astype(np.float32), dims=("y", "x"), name=spec.name),
                        make_geobox(values.shape))
    final = out / name
    staging = staging_path_for(final, "run-65")
    dask.compute(store_gtiff(arr, staging, spec))
    publish_cog(staging, final, spec, tags=tags)
    return final


def rgba(png: Path) -> np.ndarray:
    with Image.open(png) as im:
        return np.asarray(im.convert("RGBA"))


def hex_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


@pytest.fixture(scope="module")
def big_flood(tmp_path_factory) -> Path:
    """2000 x 2000 flood_class COG: fine pattern whose mode overview differs from a strided sample."""
    out = tmp_path_factory.mktemp("big")
    i, j = np.meshgrid(np.arange(2000), np.arange(2000), indexing="ij")
    vals = np.where((i % 4 != 0) & (j % 4 != 0), 2, 1).astype(np.float32)
    vals[(i // 250 + j // 250) % 5 == 0] = 4
    vals[:200] = np.nan
    return cog(out, "flood_class.tif", vals, LAYERS["flood_class"])


# ---- quicklooks -------------------------------------------------------------------------------
def test_quicklook_reads_the_finest_overview_that_fits(big_flood: Path, tmp_path: Path):
    with rasterio.open(big_flood) as src:
        assert (src.height, src.width) == (2000, 2000)
        n = len(src.overviews(1))
        full = src.read(1)
        cmap = src.colormap(1)
    shapes = []
    for level in range(n):
        with rasterio.open(big_flood, overview_level=level) as ovr:
            shapes.append(ovr.shape)
    expected = next(k for k, s in enumerate(shapes) if max(s) <= 600)
    info = write_quicklook(big_flood, tmp_path / "q.png")
    assert info["overview_level"] == expected and expected >= 1  # level 0 (1000 px) does not fit
    img = rgba(tmp_path / "q.png")
    assert img.shape[:2] == shapes[expected] and max(img.shape[:2]) <= 600
    assert (info["width"], info["height"]) == (img.shape[1], img.shape[0])
    # The pixels are the overview's (mode-resampled) classes, not a strided sample of full resolution.
    with rasterio.open(big_flood, overview_level=expected) as ovr:
        ov = ovr.read(1)
    factor = 2000 // shapes[expected][0]
    assert not np.array_equal(ov, full[::factor, ::factor])
    for value in np.unique(ov):
        sel = ov == value
        if value == 255:
            assert (img[sel][:, 3] == 0).all()
        else:
            assert (img[sel][:, :3] == cmap[int(value)][:3]).all() and (img[sel][:, 3] == 255).all()


def test_quicklook_keeps_the_decompression_bomb_cap_and_writes_atomically(big_flood: Path, tmp_path: Path):
    cap = Image.MAX_IMAGE_PIXELS
    write_quicklook(big_flood, tmp_path / "q.png", max_size=256)
    assert Image.MAX_IMAGE_PIXELS == cap and cap is not None
    assert max(rgba(tmp_path / "q.png").shape[:2]) <= 256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.png"]  # no temporary file left behind


def test_class_colours_and_names_come_from_the_embedded_colormap(tmp_path: Path):
    i, j = np.meshgrid(np.arange(140), np.arange(140), indexing="ij")
    vals = ((i // 20) % 7).astype(np.float32)
    vals[:, :20] = np.nan
    path = cog(tmp_path, "flood.tif", vals, LAYERS["flood_class"])
    info = write_quicklook(path, tmp_path / "flood.png", legend_path=tmp_path / "legend.png")
    img = rgba(tmp_path / "flood.png")
    with rasterio.open(path) as src:
        cmap, tags, stored = src.colormap(1), src.tags(1), src.read(1)
    assert info["overview_level"] is None and img.shape[:2] == (140, 140)  # small: full resolution
    for value in range(7):
        sel = stored == value
        assert sel.any()
        assert (img[sel][:, :3] == cmap[value][:3]).all() and (img[sel][:, 3] == 255).all()
    assert (img[stored == 255][:, 3] == 0).all()  # nodata transparent
    # docs/science/disaster.md#flood-classes colours, by way of the file's own colormap and CLASS_<n> tags
    legend = {e["value"]: (e["name"], e["color"]) for e in info["legend"]["entries"]}
    assert legend == {v: (tags[f"CLASS_{v}"], "#%02X%02X%02X" % cmap[v][:3]) for v in cmap if f"CLASS_{v}" in tags}
    assert legend[4] == ("flooded rice", "#FF7F00") and legend[1][1] == "#0000FF"
    assert Image.open(tmp_path / "legend.png").size[1] > 7 * 15


def test_water_mask_quicklook(tmp_path: Path):
    vals = np.zeros((64, 64), np.float32)
    vals[:, 32:] = 1
    vals[:8] = np.nan
    path = cog(tmp_path, "water.tif", vals, LAYERS["water_mask"])
    img = rgba(Path(write_quicklook(path, tmp_path / "w.png")["path"]))
    assert tuple(img[20, 40, :3]) == (0, 0, 255) and tuple(img[20, 5, :3]) == (200, 200, 200)
    assert (img[:8, :, 3] == 0).all() and (img[8:, :, 3] == 255).all()


def test_continuous_palette_is_fixed_per_product_not_per_scene(tmp_path: Path):
    a = np.full((60, 60), 0.25, np.float32)
    b = a.copy()
    a[:30] = -0.05  # scene A spans -0.05..0.25
    b[:30] = 0.9  # scene B spans 0.25..0.9
    b[:10, :10] = 5.0  # far above the range: saturates
    b[50:, 50:] = np.nan
    pa = write_quicklook(cog(tmp_path, "a.tif", a, LAYERS["ndvi"]), tmp_path / "a.png")
    pb = write_quicklook(cog(tmp_path, "b.tif", b, LAYERS["ndvi"]), tmp_path / "b.png")
    ia, ib = rgba(tmp_path / "a.png"), rgba(tmp_path / "b.png")
    assert pa["style"] == pb["style"] == {"vmin": -0.2, "vmax": 0.9, "palette": "green"}
    assert tuple(ia[45, 5]) == tuple(ib[45, 5])  # 0.25 looks the same in both scenes
    assert tuple(ia[5, 40]) != tuple(ia[45, 5])
    assert tuple(ib[20, 20, :3]) == hex_rgb(PALETTES["green"][-1][1])  # 0.9 = the top of the fixed range
    assert tuple(ib[5, 5]) == tuple(ib[20, 20])  # above the range saturates
    assert (ib[50:, 50:, 3] == 0).all() and (ib[:50, :50, 3] == 255).all()
    # an explicit stretch changes the range, never the palette
    pc = write_quicklook(tmp_path / "b.tif", tmp_path / "c.png", stretch=(0.0, 0.25))
    assert pc["style"] == {"vmin": 0.0, "vmax": 0.25, "palette": "green"}
    assert tuple(rgba(tmp_path / "c.png")[45, 5, :3]) == hex_rgb(PALETTES["green"][-1][1])


def test_product_styles_by_name_prefix_units_and_tags():
    assert product_style("mndwi")[0].palette == "blue" and product_style("lswi")[0].vmin == -1.0
    assert product_style("transplant_doy_2") == product_style("transplant_doy")
    assert product_style("aqi_pm25_subindex_cpcb")[0].vmax == 500.0
    assert product_style("vh_db")[0] == product_style(None, "dB")[0] and product_style("vv")[0].vmax == 0.0
    assert product_style("mystery", "%")[1] == "units"
    style, source = product_style("mystery", tags={"QUICKLOOK_MIN": "-3", "QUICKLOOK_MAX": "3"})
    assert (style.vmin, style.vmax, source) == (-3.0, 3.0, "tags")
    assert product_style("mystery")[1] == "default"


def test_scaled_layer_and_stac_thumbnail(tmp_path: Path):
    vals = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    path = cog(tmp_path, "vf.tif", vals, LAYERS["valid_fraction"])  # uint8 percent, scale 0.01
    info = write_quicklook(path, tmp_path / "vf.png")
    img = rgba(tmp_path / "vf.png")
    assert tuple(img[0, 0, :3]) == hex_rgb(PALETTES["viridis"][0][1])
    assert tuple(img[-1, -1, :3]) == hex_rgb(PALETTES["viridis"][-1][1])  # decoded 1.0 = top of 0-1
    asset = thumbnail_asset(info, "./vf.png")
    assert asset["roles"] == ["thumbnail"] and asset["type"] == "image/png"


def test_missing_cog_is_an_input_error(tmp_path: Path):
    from agromap.errors import InputError

    with pytest.raises(InputError, match="quicklook"):
        write_quicklook(tmp_path / "nope.tif", tmp_path / "x.png")


def test_quicklook_and_report_map_share_one_overview_read_and_never_a_stale_one(tmp_path: Path, monkeypatch):
    """The quicklook (<= 600 px) and the report's map (<= 900 px) of a 1024 px layer both show its
    512 px overview: decoded once. A rewritten file is read again, and callers own their pixels."""
    import rasterio.io

    from agromap.display_read import read_display
    from agromap.mapview import load_view

    decodes: list[int] = []
    real_read = rasterio.io.DatasetReader.read

    def counting_read(self, *args, **kwargs):
        decodes.append(1)
        return real_read(self, *args, **kwargs)

    i, j = np.meshgrid(np.arange(1024), np.arange(1024), indexing="ij")
    path = cog(tmp_path, "ndvi.tif", (np.sin(i / 40) * np.cos(j / 70)).astype(np.float32), LAYERS["ndvi"])
    monkeypatch.setattr(rasterio.io.DatasetReader, "read", counting_read)
    info = write_quicklook(path, tmp_path / "ndvi.png")
    view = load_view(path, max_size=900)
    assert info["overview_level"] == 0 and view.values is not None and view.values.shape == (512, 512)
    assert len(decodes) == 1  # the report's map reused the quicklook's read
    first = read_display(path, max_size=900)
    first["values"][:] = 0  # a caller's own copy: changing it changes nothing for the next one
    again = read_display(path, max_size=600)
    assert len(decodes) == 1 and np.nanmax(again["values"]) > 0.5
    with rasterio.open(path, overview_level=0) as ovr:
        assert np.array_equal(again["values"], ovr.read(1), equal_nan=True)
    assert len(decodes) == 2
    cog(tmp_path, "ndvi.tif", np.full((1024, 1024), -0.25, np.float32), LAYERS["ndvi"])  # republished in place
    before = len(decodes)
    assert np.nanmax(read_display(path, max_size=600)["values"]) < 0 and len(decodes) == before + 1


# ---- plots ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scene():
    spec = SceneSpec(shape=(64, 64), chunk=32, seed=5, cloud_fraction=0.1, mask_clouds=True)
    return make_s2_stack(spec), make_truth(spec)


@pytest.fixture
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


def test_import_stays_light():
    code = "import agromap.plot, agromap.accessor, agromap.quicklook, agromap.report, sys; " \
           "print('matplotlib' in sys.modules, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_true_and_false_colour_use_a_fixed_stretch(scene, plt):
    from agromap import plot

    s2, _ = scene
    ax = plot.true_colour(s2, time=3)
    ax.figure.canvas.draw()
    img = ax.images[0].get_array()
    one = s2.isel(time=3).compute()
    r, g, b = (one[k].values for k in ("red", "green", "blue"))
    ok = np.isfinite(r) & np.isfinite(g) & np.isfinite(b)
    assert ok.any() and (~ok).any()
    np.testing.assert_allclose(img[..., 0][ok], np.clip(r[ok] / 0.3, 0, 1), atol=1e-6)
    assert (img[..., 3][~ok] == 0).all() and (img[..., 3][ok] == 1).all()
    ax2 = plot.false_colour(s2, time=3)
    ax2.figure.canvas.draw()
    nir = one["nir"].values
    np.testing.assert_allclose(ax2.images[0].get_array()[..., 0][ok], np.clip(nir[ok] / 0.5, 0, 1), atol=1e-6)


def test_index_map_and_class_maps_draw_with_layer_colours(scene, plt, tmp_path: Path):
    from agromap import plot
    from agromap.airquality.aqi import LAYER_SPECS as AQI

    s2, truth = scene
    ax = plot.index_map(s2, "ndvi", time=6)
    ax.figure.canvas.draw()
    assert ax.images and "-0.2 to 0.9" in ax.get_title()
    flood = (truth["flood"].astype(np.uint8) * 2).rename("flood_class")
    ax = plot.class_map(flood)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["0 not flooded", "2 observed flood water"]  # the classes on the map only
    img = (ax.images[0].get_array() * (255 if ax.images[0].get_array().dtype.kind == "f" else 1)).astype(int)
    fl = truth["flood"].values
    assert tuple(img[fl][0, :3]) == (0x00, 0xB4, 0xFF) and tuple(img[~fl][0, :3]) == (0xC8, 0xC8, 0xC8)
    # AQI categories in the official CPCB colours, with the estimate caveat
    cat = xr.DataArray(np.arange(1, 7, dtype=np.uint8).reshape(2, 3), dims=("y", "x"), name="aqi_category_cpcb")
    ax = plot.class_map(cat)
    colours = ["#%02X%02X%02X" % tuple(round(255 * c) for c in p.get_facecolor()[:3])
               for p in ax.get_legend().get_patches()]
    assert colours == ["#00B050", "#92D051", "#FFFF00", "#FF6500", "#FF0000", "#C00000"]
    assert colours == ["#" + c for _v, _n, c in AQI["aqi_category_cpcb"].classes]
    assert "estimates" in ax.get_title()
    # a COG path: its embedded colormap
    vals = np.tile(np.arange(7, dtype=np.float32), (7, 1))
    path = cog(tmp_path, "f.tif", vals, LAYERS["flood_class"])
    ax = plot.class_map(path)
    ax.figure.canvas.draw()
    assert len(ax.get_legend().get_texts()) == 7  # codes 0-6 are on the map, 7 and 8 are not
    with pytest.raises(Exception, match="spec="):
        plot.class_map(cat.rename("unknown_layer"))


def test_time_series_marks_detected_rice_seasons(scene, plt):
    import matplotlib.dates as mdates
    import shapely

    from agromap import plot
    from agromap.rice.rules_optical import optical_rice_rule

    s2, truth = scene
    rice = optical_rice_rule(s2)
    doy = rice["transplant_doy"].isel(season=0).values
    cand = np.argwhere((doy > 0) & (truth["landcover"].values == 1))
    iy, ix = next(p for p in cand if 2 <= p[0] < 62 and 2 <= p[1] < 62)  # 5 x 5 pixels around it exist
    x, y = float(s2.x[ix]), float(s2.y[iy])
    ax = plot.time_series(s2, (x, y), bands=("ndvi", "lswi"), seasons=rice)
    ax.figure.canvas.draw()
    data_lines = [ln for ln in ax.lines if ln.get_label() in ("ndvi", "lswi")]
    vlines = [ln for ln in ax.lines if ln.get_label() == "transplanting (rice season)" or
              (len(set(ln.get_xdata())) == 1 and ln not in data_lines)]
    expected = [int(d) for d in rice["transplant_doy"].sel(x=x, y=y).values if d > 0]
    assert len(vlines) == len(expected) >= 1
    year = int(str(s2.time.values[0])[:4])
    got = [mdates.num2date(mdates.date2num(ln.get_xdata()[0])).timetuple().tm_yday for ln in vlines]
    assert got == expected and all(str(year) in str(ln.get_xdata()[0]) for ln in vlines)
    ndvi = indices.ndvi(s2.nir, s2.red).sel(x=x, y=y).values
    ok = np.isfinite(ndvi)
    np.testing.assert_allclose(np.asarray(data_lines[0].get_ydata(), float), ndvi[ok], rtol=1e-6)
    # a polygon: the mean of the per-pixel index over the pixel centres inside
    poly = shapely.box(x - 25, y - 25, x + 25, y + 25)
    ax = plot.time_series(s2, poly, bands=("ndvi",), seasons=[int(expected[0])])
    box = indices.ndvi(s2.nir, s2.red).sel(x=slice(x - 25, x + 25), y=slice(y + 25, y - 25))
    assert box.sizes["x"] * box.sizes["y"] == 25
    mean = box.mean(("y", "x")).values
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_ydata(), float), mean[np.isfinite(mean)], rtol=1e-5)
    with pytest.raises(Exception, match="outside the data"):
        plot.time_series(s2, (0.0, 0.0))


# ---- accessor ---------------------------------------------------------------------------------
def test_accessor_binds_the_functions(scene):
    s2, _ = scene
    with raise_if_dask_computes():
        out = s2.agromap.ndvi()
        xr.testing.assert_identical(out, indices.ndvi(s2.nir, s2.red))
        xr.testing.assert_identical(s2.agromap.lswi(bands={"nir": "nir08"}), indices.lswi(s2.nir08, s2.swir16))
        xr.testing.assert_identical(s2.agromap.scl_valid(), masks.scl_valid(s2.scl))
        xr.testing.assert_identical(s2.nir.agromap.ndvi(s2.red), indices.ndvi(s2.nir, s2.red))
        mndwi = indices.mndwi(s2.green, s2.swir16)
        xr.testing.assert_identical(s2.agromap.water_mask(), water.water_mask(mndwi, "mndwi"))
        xr.testing.assert_identical(mndwi.agromap.water_mask("mndwi", 0.1), water.water_mask(mndwi, "mndwi", 0.1))
    # docstrings kept for Jupyter's `?`
    assert s2.nir.agromap.water_mask.__doc__ == water.water_mask.__doc__
    assert s2.scl.agromap.scl_valid.__doc__ == masks.scl_valid.__doc__
    assert indices.ndvi.__doc__.strip()[:40] in s2.agromap.ndvi.__doc__
    assert "compute_index" in s2.agromap.ndvi.__doc__
    assert s2.agromap.ndvi.__name__ == "ndvi"
    import inspect

    assert list(inspect.signature(s2.agromap.ndvi).parameters) == ["bands", "params"]
    assert list(inspect.signature(s2.nir.agromap.water_mask).parameters) == ["method", "threshold"]


def test_accessor_holds_no_state_and_never_mutates(scene):
    s2, _ = scene
    before = copy.deepcopy(s2)
    for acc in (s2.agromap, s2.nir.agromap):
        assert not hasattr(acc, "__dict__")
        slots = set().union(*(getattr(c, "__slots__", ()) for c in type(acc).__mro__))
        assert slots == {"_obj"}
        with pytest.raises(AttributeError):
            acc.cache = {}
    s2.agromap.ndvi()
    s2.drop_vars("scl").agromap.apply_mask(masks.scl_valid(s2.scl))
    s2.nir.agromap.to_db()
    xr.testing.assert_identical(s2, before)
    assert s2.attrs == before.attrs


def test_accessor_binds_rice_aqi_flood_when_importable(scene):
    from agromap.airquality.aqi import aqi_from_concentrations, subindex
    from agromap.rice.rules_optical import optical_rice_rule

    s2, _ = scene
    xr.testing.assert_identical(s2.agromap.rice_optical().compute(), optical_rice_rule(s2).compute())
    conc = xr.Dataset({"pm25": xr.DataArray([75.0, 25.0], dims="x", attrs={"units": "ug/m3"}),
                       "pm10": xr.DataArray([120.0, 30.0], dims="x", attrs={"units": "ug/m3"}),
                       "no2": xr.DataArray([50.0, 10.0], dims="x", attrs={"units": "ug/m3"})})
    xr.testing.assert_identical(conc.agromap.aqi(), aqi_from_concentrations(conc))
    assert int(conc.agromap.aqi()["aqi"].values[0]) == 149  # CPCB worked example
    xr.testing.assert_identical(conc.pm25.agromap.subindex("pm25"), subindex(conc.pm25, "pm25"))
    assert s2.agromap.flood.__doc__ and "Flood classes" in s2.agromap.flood.__doc__

    class Probe(_Base):
        __slots__ = ()
        missing = _Bound("agromap.no_such_module:function")

    probe = Probe(s2)
    assert not hasattr(probe, "missing")
    with pytest.raises(AccessorUnavailableError, match="no_such_module"):
        probe.missing()


# ---- report -----------------------------------------------------------------------------------
class Checker(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self.decls: list[str] = []

    def handle_decl(self, decl):
        self.decls.append(decl)

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attrs.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] in self.raw:
            self.raw[self.stack[-1]].append(data)
        else:
            self.text.append(data)


def parse(html_text: str) -> Checker:
    c = Checker()
    c.feed(html_text)
    c.close()
    assert c.errors == [] and c.stack == [] and c.decls == ["DOCTYPE html"]
    return c


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    (out / "a").mkdir()
    i, j = np.meshgrid(np.arange(90), np.arange(120), indexing="ij")
    flood = ((i // 15 + j // 20) % 7).astype(np.float32)
    flood[:10] = np.nan
    paths = {"a/flood_class.tif": (flood, LAYERS["flood_class"]),
             "a/ndvi.tif": ((np.sin(i / 9) * 0.6).astype(np.float32), LAYERS["ndvi"])}
    for rel, (vals, spec) in paths.items():
        cog(out, rel, vals, spec)
    manifest = {
        "run_id": "run-65", "status": "success", "agromap_version": "9.9", "config": {"name": "visual"},
        "config_sha256": "0123456789abcdef" * 4, "started": "s", "finished": "f",
        "timings_s": {"plan": 0.5, "total": 2.0}, "cluster": {"scheduler": "threads"},
        "warnings": ["<b>cloudy</b> & skipped"],
        "inputs": [{"area": "a", "scene_id": "S2B <x>", "datetime": "2023-07-01",
                    "files": [{"path": "https://example.com/S2B.tif", "size": 10, "sha256": "f" * 64}]}],
        "outputs": [{"area": "a", "layer": Path(p).stem, "path": p, "size": 1, "sha256": "e" * 64,
                     "dtype": "uint8", "valid_fraction": 0.75, "reused": False} for p in paths],
    }
    return out, manifest


def test_report_is_self_contained_escaped_well_formed_html(run_dir):
    out, manifest = run_dir
    qls = {"a/flood_class.tif": write_quicklook(out / "a/flood_class.tif", out / "ql/flood.png"),
           "a/ndvi.tif": str(out / "ql" / "ndvi.png")}  # a plain path: the legend is read from the COG
    write_quicklook(out / "a/ndvi.tif", out / "ql/ndvi.png")
    table = pd.DataFrame({"id": [1, 2], "name": ["<script>alert(1)</script>", "B & C"],
                          "area_ha": [1.5, 2.25], "adj_area_ci95_ha": [0.5, 0.5], "class_fraction": [0.1, 0.2]})
    (out / "t.csv").write_text("id,count,mean\n1,3,0.5\n2,4,0.7\n")
    accuracy = {"classes": ["non-rice", "rice"], "counts": [[40, 10], [5, 45]], "overall_accuracy": 0.85,
                "overall_accuracy_ci95": 0.07, "users_accuracy": [0.8, 0.9], "users_accuracy_ci95": [0.1, 0.08],
                "producers_accuracy": [0.89, 0.82], "producers_accuracy_ci95": [0.09, 0.1],
                "mapped_area_ha": [100.0, 50.0], "area_ha": [90.0, 60.0], "area_ci95_ha": [12.0, 12.0],
                "sample_metrics": {"kappa": 0.7}}
    path = write_report(out, manifest, quicklooks=qls, tables={"<i>rice</i> by district": table, "csv": "t.csv"},
                        accuracy=accuracy)
    assert path == out / "report.html" and not [p for p in out.iterdir() if p.name.endswith(".partial")]
    text = path.read_text()
    c = parse(text)
    # no fetch: no http(s) in any attribute, stylesheet or script; no external resources at all
    for tag, attrs in c.attrs:
        for name, value in attrs.items():
            assert not re.search(r"https?://", value or ""), (tag, name)
            if name in ("src", "href"):
                assert (value or "").startswith(("data:", "#")), (tag, name)
    assert c.tags["link"] == 0 and c.tags["script"] == 1 and c.tags["iframe"] == 0
    assert not any(re.search(r"https?://|url\(|@import", s) for s in c.raw["style"] + c.raw["script"])
    csp = next(a["content"] for t, a in c.attrs if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "img-src data:" in csp
    # maps drawn from the COGs at a readable size (not the quicklook thumbnails), inlined as PNG
    imgs = [a["src"] for t, a in c.attrs if t == "img"]
    assert len(imgs) == 2
    import io

    widths = []
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as im:
            widths.append(im.width)
    assert sorted(widths) == [540, 1100]  # the decision layer full width, the index half
    # the legend lists the classes present only (value 0..6 drawn, 10 rows of nodata)
    figs = {a["data-product"]: a for t, a in c.attrs if t == "figure"}
    import json as _json

    assert _json.loads(figs["flood_class"]["data-classes"]) == [n for v, n, _c in LAYERS["flood_class"].classes if v < 7]
    # every text escaped: markup from the data is text, never elements
    body = "".join(c.text)
    assert c.tags["b"] == 0 and c.tags["i"] == 0
    for s in ("<script>alert(1)</script>", "<b>cloudy</b> & skipped", "S2B <x>", "<i>rice</i> by district",
              "https://example.com/S2B.tif"):
        assert s in body
    # content: summary, legends with class names and colours, totals, accuracy, manifest
    for s in ("run-65", "0123456789abcdef…", "flooded rice", "Area: a", "75.0 %", "3.8",
              "85.0 % ± 7.0", "kappa 0.700", "90.0 % ± 8.0", "60.0 ± 12.0", "fff", "S2B.tif"):
        assert s in body, s
    total_row = re.search(r'<tr class="total">(.*?)</tr>', text).group(1)
    assert "3.8" in total_row and "0.3" not in total_row  # areas summed, fractions and CIs not
    assert "7" in re.findall(r'<tr class="total">(.*?)</tr>', text)[1]  # the CSV's count column
    assert AQI_CAVEAT not in body  # no AQI layer in this run


def test_report_labels_satellite_aqi_as_estimates(run_dir, tmp_path: Path):
    out, manifest = run_dir
    from agromap.airquality.aqi import LAYER_SPECS

    path = cog(out, "a/aqi_category_cpcb.tif", np.tile(np.arange(1, 7, dtype=np.float32), (6, 1)),
               LAYER_SPECS["aqi_category_cpcb"])
    info = write_quicklook(path, tmp_path / "aqi.png")
    html_text = render_report(manifest, quicklooks={"a/aqi_category_cpcb.tif": info}, base_dir=out)
    c = parse(html_text)
    body = "".join(c.text)
    assert AQI_CAVEAT in body and "satellite estimate" in body
    assert "Moderately polluted" in body and "background:#FFFF00" in html_text
    with pytest.raises(ValueError, match="not a PNG"):
        (tmp_path / "bad.png").write_text("not an image")
        render_report(manifest, quicklooks={"a/x.tif": str(tmp_path / "bad.png")}, base_dir=out)


def test_class_layer_without_colormap_uses_the_registered_colours(tmp_path: Path):
    from rasterio.transform import from_origin

    path = tmp_path / "rice_class.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8", nodata=255,
                       crs="EPSG:32643", transform=from_origin(0, 0, 10, 10)) as dst:
        dst.write(np.array([[0, 1], [1, 255]], np.uint8), 1)
        dst.update_tags(1, CLASS_0="non-rice", CLASS_1="rice")
        dst.set_band_description(1, "rice_class")
    info = write_quicklook(path, tmp_path / "r.png")
    from agromap.rice.seasons import LAYER_SPECS

    colours = {v: c for v, _n, c in LAYER_SPECS["rice_class"].classes}
    img = rgba(tmp_path / "r.png")
    assert tuple(img[0, 1, :3]) == hex_rgb(colours[1]) and tuple(img[0, 0, :3]) == hex_rgb(colours[0])
    assert img[1, 1, 3] == 0
    assert [e["color"] for e in info["legend"]["entries"]] == ["#" + colours[0], "#" + colours[1]]


def test_accessor_to_cog_publishes_a_valid_cog(tmp_path: Path):
    from rio_cogeo.cogeo import cog_validate

    vals = np.linspace(-1, 1, 48 * 40, dtype=np.float32).reshape(48, 40)
    arr = attach_geobox(xr.DataArray(vals, dims=("y", "x"), name="ndvi"), make_geobox(vals.shape)).chunk(16)
    info = arr.agromap.to_cog(tmp_path / "ndvi.tif", tags={"RUN_ID": "r"})
    assert cog_validate(str(tmp_path / "ndvi.tif"), strict=True)[0]
    with rasterio.open(tmp_path / "ndvi.tif") as src:
        np.testing.assert_array_equal(src.read(1), vals)
        assert src.tags()["RUN_ID"] == "r"
    assert info.valid_fraction == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ndvi.tif"]
    with pytest.raises(Exception, match="layer="):
        arr.rename("unregistered").agromap.to_cog(tmp_path / "x.tif")
