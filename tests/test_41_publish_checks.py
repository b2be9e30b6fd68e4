"""The publish step's cheaper checks and encoding give the files and statistics of the thorough ones.

- The COG driver's overview scratch file left uncompressed changes the cost only, never the COG.
- Statistics and counts taken from a histogram equal numpy's on the stored values.
- The full resolution read from the uncompressed staging file gives the same scan as decoding the
  COG, and the overview checks still fail where they must.
"""

from __future__ import annotations

import math
from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
import rasterio.shutil
import xarray as xr

from agromap.errors import ExportError
from agromap.io.cog_check import band_statistics, histogram_statistics, scan_cog
from agromap.io.grid import attach_geobox
from agromap.io.layers import LayerSpec
from agromap.io.write import DEFLATE_LEVEL, publish_cog, staging_path_for, store_gtiff
from agromap.layer_registry import LAYERS
from agromap.testing import make_geobox

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")  # plain pixel files


def _numpy_statistics(data: np.ndarray, nodata: float) -> dict[str, float]:
    """The statistics as numpy gives them on the valid values (the definition being matched)."""
    ok = ~np.isnan(data) if data.dtype.kind == "f" else data != nodata
    vals = data[ok].astype(np.float64)
    out = {"valid_percent": round(100.0 * int(ok.sum()) / data.size, 4)}
    if vals.size:
        out.update(minimum=float(vals.min()), maximum=float(vals.max()), mean=float(vals.mean()),
                   stddev=float(vals.std()))
    return out


def _spec(dtype: str, nodata: int, kind: str = "continuous") -> LayerSpec:
    classes = ((0, "a", "000000"), (2, "b", "FFFFFF")) if kind == "class" else ()
    return LayerSpec(f"t_{dtype}", kind, dtype, nodata, "class" if kind == "class" else "1", "test layer",
                     classes=classes)


@pytest.mark.parametrize("dtype, nodata, low, high", [
    ("uint8", 255, 0, 255), ("uint8", 0, 0, 101), ("uint16", 0, 0, 65536), ("uint16", 65535, 60000, 65536),
    ("int16", -9999, -32768, 32768),
])
def test_histogram_statistics_equal_numpy(dtype, nodata, low, high):
    rng = np.random.default_rng(7)
    data = rng.integers(low, high, (700, 900)).astype(dtype)
    data[:50] = nodata
    spec = _spec(dtype, nodata)
    got, want = band_statistics(data, spec), _numpy_statistics(data, nodata)
    assert set(got) == set(want)
    for key in ("valid_percent", "minimum", "maximum", "mean"):
        assert got[key] == want[key], key  # exact: an exact integer sum divided once, as numpy does
    # numpy sums squared deviations in floating point; the histogram's comes from exact integer sums
    assert got["stddev"] == pytest.approx(want["stddev"], rel=1e-13)
    hist = np.bincount((data.astype(np.int64) - np.iinfo(dtype).min).ravel(), minlength=1 << (8 * data.itemsize))
    assert histogram_statistics(hist, data.dtype, spec) == got


def test_histogram_statistics_of_nothing_valid_and_of_one_value():
    spec = _spec("uint8", 255)
    assert band_statistics(np.full((4, 4), 255, np.uint8), spec) == {"valid_percent": 0.0}
    one = band_statistics(np.array([[7, 255], [7, 7]], np.uint8), spec)
    assert one == {"minimum": 7.0, "maximum": 7.0, "mean": 7.0, "stddev": 0.0, "valid_percent": 75.0}
    # large values, small spread: the exact variance 2/9 rounded once, the mean an exact sum divided once
    big = np.array([65534, 65534, 65533, 0], np.uint16)[None, :]
    s = band_statistics(big, _spec("uint16", 0))
    assert s["stddev"] == math.sqrt(2 / 9) and s["mean"] == 196601 / 3


def _science(shape: tuple[int, int], kind: str) -> xr.DataArray:
    i, j = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    if kind == "class":
        vals = ((i // 37 + j // 53) % 7).astype(np.float32)
    else:
        vals = (np.sin(i / 50.0) * np.cos(j / 70.0)).astype(np.float32)
    vals[(i < 90) | ((i % 300 < 40) & (j % 250 < 60))] = np.nan
    return attach_geobox(xr.DataArray(vals, dims=("y", "x")), make_geobox(shape))


def _publish(arr: xr.DataArray, spec: LayerSpec, out: Path, name: str = "layer.tif", **kwargs):
    staging = staging_path_for(out / name, "run-41")
    dask.compute(store_gtiff(arr, staging, spec))
    return publish_cog(staging, out / name, spec, tags={"RUN_ID": "run-41"}, **kwargs)


# Odd sizes: the COG driver halves them with its own rounding; the fact relied on must hold there too.
@pytest.mark.parametrize("shape", [(1037, 1300), (300, 2049)])
@pytest.mark.parametrize("resampling", ["NEAREST", "MODE", "AVERAGE"])
def test_uncompressed_overview_scratch_file_gives_the_same_cog(tmp_path, shape, resampling):
    data = np.nan_to_num(_science(shape, "class").values, nan=255).astype(np.uint8)
    src = tmp_path / "src.tif"
    with rasterio.open(src, "w", driver="GTiff", height=shape[0], width=shape[1], count=1, dtype="uint8",
                       nodata=255, tiled=True, blockxsize=512, blockysize=512) as dst:
        dst.write(data, 1)
    files = {}
    for scratch in ("NONE", None):  # None: GDAL's own choice (ZSTD)
        files[scratch] = tmp_path / f"{scratch}.tif"
        with rasterio.Env(**({"COG_TMP_COMPRESSION": scratch} if scratch else {})):
            rasterio.shutil.copy(src, files[scratch], driver="COG", BLOCKSIZE="512", COMPRESS="DEFLATE",
                                 PREDICTOR="2", LEVEL=str(DEFLATE_LEVEL), OVERVIEW_RESAMPLING=resampling)
    assert files["NONE"].read_bytes() == files[None].read_bytes()


def _levels_against_the_cog_drivers_own(tmp_path: Path, layer: str, kind: str, shape: tuple[int, int]):
    """Pairs of (published, COG driver with its defaults) arrays, full resolution then each overview."""
    spec = LAYERS[layer]
    info = _publish(_science(shape, kind), spec, tmp_path)
    ref_src, ref = tmp_path / "ref_src.tif", tmp_path / "ref.tif"
    dask.compute(store_gtiff(_science(shape, kind), ref_src, spec))
    rasterio.shutil.copy(ref_src, ref, driver="COG", BLOCKSIZE="512", OVERVIEW_RESAMPLING=spec.overview_resampling)
    with rasterio.open(info.path) as a, rasterio.open(ref) as b:
        assert a.overviews(1) == b.overviews(1) and info.overview_count == len(a.overviews(1)) == 2
    pairs = []
    for level in (None, 0, 1):
        kw = {} if level is None else {"overview_level": level}
        with rasterio.open(info.path, **kw) as a, rasterio.open(ref, **kw) as b:
            pairs.append((a.read(1), b.read(1)))
    return pairs


@pytest.mark.parametrize("layer, kind", [("flood_class", "class"), ("ndvi", "continuous"),
                                         ("flood_duration_days", "continuous")])
@pytest.mark.parametrize("shape", [(1100, 1300), (1037, 1301)])
def test_published_levels_equal_the_cog_drivers_own(tmp_path, layer, kind, shape):
    """Every level of a published COG holds the pixels the COG driver gives from the same staging,
    except, for averaged float layers on a side of odd length, the first overview's row at its
    512 px tile border (and the row of the next overview made from it), which GDAL averages over a
    slightly shifted window depending on how it buffers its scratch file (docs/architecture.md#cog-publishing).
    """
    odd_average = LAYERS[layer].is_float and LAYERS[layer].overview_resampling == "average" and shape[0] % 2
    for level, (a, b) in enumerate(_levels_against_the_cog_drivers_own(tmp_path, layer, kind, shape)):
        same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a == b
        if not odd_average or level == 0:
            assert same.all(), level
            continue
        rows = set(np.nonzero(~same)[0].tolist())
        # a row at the first overview's tile border, and the row of the next overview drawn from it
        assert rows and rows <= {511, 255}, (level, rows)
        assert float(np.max(np.abs(a[~same] - b[~same]))) < 1e-3


@pytest.mark.parametrize("layer, kind", [("flood_class", "class"), ("ndvi", "continuous"), ("vci", "continuous")])
def test_scan_from_staging_equals_scan_of_the_cog(tmp_path, layer, kind):
    """The item statistics and counts from the staging file equal those from decoding the COG."""
    spec, shape = LAYERS[layer], (1037, 1300)
    staging = tmp_path / "staging.tif"
    dask.compute(store_gtiff(_science(shape, kind), staging, spec))
    cog = tmp_path / "cog.tif"
    rasterio.shutil.copy(staging, cog, driver="COG", BLOCKSIZE="512", OVERVIEW_RESAMPLING=spec.overview_resampling)
    with_source, decoded = scan_cog(cog, spec, source=staging), scan_cog(cog, spec)
    assert with_source == decoded
    with rasterio.open(cog) as src:
        full = src.read(1)
    nodata = float("nan") if spec.is_float else spec.nodata
    want = _numpy_statistics(full, nodata)
    assert decoded.statistics.keys() == want.keys()
    for key, value in want.items():
        assert decoded.statistics[key] == pytest.approx(value, rel=1e-12), key
    assert decoded.valid_fraction == pytest.approx(want["valid_percent"] / 100, abs=1e-6)


def test_class_overview_inventing_values_is_refused(tmp_path):
    """Classes 0 and 2 in a checkerboard, overviews averaged without a colormap: class 1 is invented.

    (GDAL itself keeps averaged overviews of a band with a colormap within its colours, so a
    published class layer cannot get there; the check guards files from elsewhere and future GDAL.)
    """
    from rasterio.enums import Resampling

    spec = _spec("uint8", 255, kind="class")
    i, j = np.meshgrid(np.arange(1100), np.arange(1100), indexing="ij")
    vals = (2 * ((i + j) % 2)).astype(np.uint8)
    profile = dict(driver="GTiff", height=1100, width=1100, count=1, dtype="uint8", nodata=255, tiled=True,
                   blockxsize=512, blockysize=512)
    staging, path = tmp_path / "staging.tif", tmp_path / "averaged.tif"
    with rasterio.open(staging, "w", **profile) as dst:
        dst.write(vals, 1)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(vals, 1)
        dst.build_overviews([2, 4], Resampling.average)
    for source in (None, staging):
        with pytest.raises(ExportError, match=r"overview 0 holds values \[1\].*mode or nearest"):
            scan_cog(path, spec, source=source)
    with rasterio.open(path, "r+") as dst:
        dst.build_overviews([2, 4], Resampling.mode)
    assert scan_cog(path, spec, source=staging).statistics["valid_percent"] == 100.0


def test_empty_overview_is_found_when_the_full_resolution_comes_from_the_staging(tmp_path):
    """The rioxarray#410 trap with the full resolution read from the uncompressed staging file."""
    from rasterio.enums import Resampling

    spec, vals = LAYERS["burn_severity"], np.full((1024, 1024), 3, np.uint8)
    path = tmp_path / "trap.tif"
    with rasterio.open(path, "w", driver="GTiff", height=1024, width=1024, count=1, dtype="uint8", nodata=255,
                       tiled=True, blockxsize=512, blockysize=512) as dst:
        dst.write(np.zeros_like(vals), 1)
        dst.build_overviews([2], Resampling.nearest)
        dst.write(vals, 1)
    staging = tmp_path / "staging.tif"
    with rasterio.open(staging, "w", driver="GTiff", height=1024, width=1024, count=1, dtype="uint8", nodata=255,
                       tiled=True, blockxsize=512, blockysize=512) as dst:
        dst.write(vals, 1)
    with pytest.raises(ExportError, match="rioxarray#410"):
        scan_cog(path, spec, source=staging)



@pytest.mark.parametrize("last_block", [0, 3, None])
def test_continuous_overview_check_reads_until_data_or_refuses(tmp_path, last_block):
    """A continuous layer's overviews are only checked for holding data: a level whose only valid
    non-zero pixels are in its last block passes, as does one where they come first; a level left
    all zero under data (the rioxarray#410 trap) is refused, with the full resolution read from
    the staging file or decoded."""
    from rasterio.enums import Resampling

    spec = LAYERS["n_valid_obs"]  # continuous uint8, nodata 255
    assert spec.kind == "continuous" and spec.dtype == "uint8"
    vals = np.full((2048, 2048), 7, np.uint8)
    over = np.zeros((1024, 1024), np.uint8)  # level 0: 2 x 2 blocks of 512
    if last_block is not None:
        r, c = divmod(last_block, 2)
        over[r * 512 + 100, c * 512 + 200] = 7
    profile = dict(driver="GTiff", height=2048, width=2048, count=1, dtype="uint8", nodata=255, tiled=True,
                   blockxsize=512, blockysize=512)
    staging, path = tmp_path / "staging.tif", tmp_path / "cog.tif"
    with rasterio.open(staging, "w", **profile) as dst:
        dst.write(vals, 1)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.zeros_like(vals), 1)
        dst.build_overviews([2, 4], Resampling.nearest)
        dst.write(vals, 1)
    with rasterio.open(path, "r+", overview_level=0) as dst:
        dst.write(over, 1)
    with rasterio.open(path, "r+", overview_level=1) as dst:
        dst.write(np.full((512, 512), 7, np.uint8), 1)
    with rasterio.open(path, overview_level=0) as src:
        assert np.array_equal(src.read(1), over)
    for source in (staging, None):
        if last_block is None:
            with pytest.raises(ExportError, match=r"overview 0 is empty.*rioxarray#410"):
                scan_cog(path, spec, source=source)
        else:
            scan = scan_cog(path, spec, source=source)
            assert scan.valid_fraction == 1.0 and scan.overview_count == 2
            assert scan.statistics == {"minimum": 7.0, "maximum": 7.0, "mean": 7.0, "stddev": 0.0,
                                       "valid_percent": 100.0}


# --- report maps drawn while the layers are published ---------------------------------------------------

_BANDS = ["blue", "green", "red", "nir", "swir16", "scl"]
_DELTA = Path(__file__).resolve().parents[1] / "sample_data" / "synthetic_rice_delta"


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory):
    from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs

    folder = tmp_path_factory.mktemp("maps-ahead") / "tifs"
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9, 10) for d in (1, 16))
    write_stack_geotiffs(make_s2_stack(SceneSpec(shape=(300, 300), dates=dates, chunk=256, seed=5))[_BANDS], folder)
    return folder


def _run(tmp_path: Path, folder: Path, name: str, districts: bool):
    import yaml

    from agromap.pipeline import runner
    from agromap.pipeline.config import load_config

    area = {"name": "a", "inputs": [{"kind": "folder", "path": str(folder), "bands": _BANDS, "scale": 1e-4,
                                     "nodata": 0, "raw": ["scl"]}],
            "layers": [{"product": "rice", "method": "optical"}, {"product": "ndvi", "time": "median"}]}
    if districts:
        area["districts"] = {"path": str(_DELTA / "districts.geojson"), "id_field": "district_id",
                             "name_field": "name"}
    cfg_path = tmp_path / f"{name}.yaml"
    cfg_path.write_text(yaml.safe_dump({"name": "maps", "scheduler": "threads", "chunk": 256, "areas": [area]}))
    return runner.run(load_config(cfg_path), tmp_path / name)


def _images(report: Path) -> list[str]:
    import re

    return re.findall(r'<img src="(data:image/png;base64,[^"]+)"', report.read_text())


def _threads_calling(monkeypatch, module, name: str) -> list[str]:
    """The names of the threads that call ``module.name`` from now on, in call order."""
    import threading

    threads: list[str] = []
    real = getattr(module, name)

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded)
    return threads


@pytest.mark.parametrize("districts", [False, True])
def test_maps_drawn_ahead_are_the_reports_own(tmp_path, monkeypatch, small_stack, districts):
    """The report of a run whose maps were drawn during publication holds the same images as when
    the report draws them all itself; an area with districts leaves its maps to the report."""
    from agromap import report_maps
    from agromap.pipeline import publish_layers

    drawn = _threads_calling(monkeypatch, report_maps, "_render_map")
    written = _threads_calling(monkeypatch, report_maps, "_write_figure_cache")
    monkeypatch.setattr(publish_layers, "MAPS_AHEAD", False)
    itself = _run(tmp_path, small_stack, "itself", districts)
    assert drawn and not any(n.startswith("agromap-report-maps") for n in drawn)
    drawn.clear()
    written.clear()
    monkeypatch.setattr(publish_layers, "MAPS_AHEAD", True)
    ahead = _run(tmp_path, small_stack, "ahead", districts)
    n = len([o for o in ahead.outputs if not o["reused"]])
    if districts:
        assert drawn and not any(name.startswith("agromap-report-maps") for name in drawn)
    else:  # every layer drawn once, on the drawing thread, and encoded on the next; the report found them all drawn
        assert drawn == ["agromap-report-maps_0"] * n
        assert written == ["agromap-report-png_0"] * n
    images = _images(tmp_path / "ahead" / "report.html")
    assert images and images == _images(tmp_path / "itself" / "report.html")
    assert not list((tmp_path / "ahead" / "a").glob(".*partial*"))
    assert itself.manifest["outputs"][0]["sha256"] == ahead.manifest["outputs"][0]["sha256"]


def test_a_failing_layer_stops_the_map_drawing_and_publishes_nothing(tmp_path, monkeypatch, small_stack):
    """A layer failing late while maps are drawn: the run fails, the drawing thread ends with it,
    and no file is published or left behind."""
    import threading

    from agromap.pipeline import publish_layers

    real = publish_layers.prepare_cog
    calls: list[int] = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ExportError("layer three failed on purpose")
        return real(*args, **kwargs)

    monkeypatch.setattr(publish_layers, "PUBLISH_THREADS", 1)
    monkeypatch.setattr(publish_layers, "prepare_cog", failing)
    with pytest.raises(ExportError, match="on purpose"):
        _run(tmp_path, small_stack, "failed", False)
    assert not any(t.name.startswith(("agromap-report-maps", "agromap-report-png")) for t in threading.enumerate())
    left = sorted(p.name for p in (tmp_path / "failed").rglob("*") if p.is_file() and ".agromap" not in p.parts)
    assert not any(name.endswith((".tif", ".partial")) for name in left), left


def test_cog_driver_scratch_files_are_cleaned_like_their_partial(tmp_path):
    """A run killed while GDAL computed overviews leaves "<partial>.ovr.tmp" (now uncompressed, a
    third of the layer): cleaned with the partial of a dead process, kept while its writer runs."""
    import os
    import subprocess
    import sys

    from agromap.io.write import clean_stale_partials

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)
    (tmp_path / "area").mkdir()
    stale = [tmp_path / "area" / f".a.tif.{dead}.0badc0de.partial{s}" for s in ("", ".ovr.tmp", ".msk.ovr.tmp")]
    live = [tmp_path / f".b.tif.{os.getpid()}.12345678.partial{s}" for s in ("", ".ovr.tmp")]
    other = tmp_path / ".notes.ovr.tmp"  # not ours: kept
    for p in (*stale, *live, other):
        p.write_bytes(b"x")
    assert sorted(clean_stale_partials(tmp_path, recursive=True)) == sorted(stale)
    assert all(p.exists() for p in (*live, other))
    assert sorted(clean_stale_partials(tmp_path, include_live=True)) == sorted(live) and other.exists()


def test_each_stac_item_is_written_once_in_its_catalog_form(tmp_path, monkeypatch, small_stack):
    """Publication writes each item already linked into the catalog, so the catalog rewrites none of
    them; the text is the one the catalog gives an item written without links, and a catalog
    written again over an unchanged run writes nothing."""
    import json
    from collections import Counter

    from agromap.io import files
    from agromap.pipeline import manifest, publish_layers

    written: Counter[str] = Counter()
    # The catalog writes its files beside their final names as a group, as publication writes each
    # item, renamed later.
    for module, name in ((files, "write_partial"), (publish_layers, "write_partial")):
        real = getattr(module, name)

        def counting(path, data, *args, _real=real, **kwargs):
            written[Path(path).name] += 1
            return _real(path, data, *args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    result = _run(tmp_path, small_stack, "once", False)
    out = tmp_path / "once"
    items = sorted((out / "a").glob("*.json"))
    items.remove(out / "a" / "collection.json")
    assert len(items) == len(result.outputs) > 1
    assert all(written[p.name] == 1 for p in items), written
    assert written["collection.json"] == written["catalog.json"] == 1
    published = {p: p.read_bytes() for p in items}
    assert all(json.loads(b)["links"] and json.loads(b)["collection"] == "agromap-maps-a" for b in published.values())

    written.clear()
    manifest.write_catalog(out, "maps", result.outputs)
    assert not written  # nothing changed, nothing written

    for p in items:  # items as an older run left them (no links): the catalog links them, same text
        data = json.loads(p.read_bytes())
        data["links"], _ = [], data.pop("collection")
        p.write_text(json.dumps(data))
    manifest.write_catalog(out, "maps", result.outputs)
    assert all(written[p.name] == 1 for p in items)
    assert {p: p.read_bytes() for p in items} == published


def test_a_drawn_figure_encodes_to_savefigs_bytes():
    """The maps encoded apart from their drawing are the PNG files savefig writes, byte for byte."""
    import numpy as np
    from matplotlib.figure import Figure

    from agromap.mapdraw import DrawnFigure, figure_png

    def figure():
        fig = Figure(figsize=(3, 2), dpi=80)
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
        ax.imshow(np.arange(64, dtype=float).reshape(8, 8), interpolation="nearest")
        ax.set_xticks([2, 5], ["2°E", "5°E"])
        fig.suptitle("Rice map", fontweight="bold")
        return fig

    png = DrawnFigure(figure()).png()
    assert png.startswith(b"\x89PNG") and png == figure_png(figure())


def test_a_report_map_cache_entry_left_empty_is_drawn_again(tmp_path):
    """Map cache entries are not flushed to disk: one a crash leaves empty reads as missing and is
    drawn and written again; a complete one is reused without drawing."""
    from types import SimpleNamespace

    from agromap import report_maps

    entry = {"layer": "rice_class", "sha256": "ab" * 32}
    view = SimpleNamespace(kind="class", classes=[(1, "rice", "#00aa00")], valid_fraction=0.5, empty=False)
    calls: list[int] = []

    def draw():
        calls.append(1)
        return b"\x89PNG-bytes", view

    path = report_maps._figure_cache_path(tmp_path, "a/rice_class.tif", entry, 600)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    png, got = report_maps.cached_figure(tmp_path, "a/rice_class.tif", entry, 600, draw)
    assert png == b"\x89PNG-bytes" and calls == [1] and got.classes == [(1, "rice", "#00aa00")]
    png, got = report_maps.cached_figure(tmp_path, "a/rice_class.tif", entry, 600, draw)
    assert png == b"\x89PNG-bytes" and calls == [1] and got.valid_fraction == 0.5
    assert not [p for p in path.parent.iterdir() if p != path]  # no partial name left
