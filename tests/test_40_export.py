"""Export edge: layer encoding, lazy GTiff stores, atomic COG publish, STAC items (docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pystac
import pytest
import rasterio
from dask.delayed import Delayed
from rio_cogeo.cogeo import cog_validate

from agromap import __version__
from agromap.errors import ConfigError, ExportError
from agromap.io.grid import attach_geobox
from agromap.io.layers import LayerSpec, encode
from agromap.io.stac import COG_MEDIA_TYPE, PROCESSING_EXTENSION, item_for_layer, write_item
from agromap.io.write import (
    CogInfo,
    GTiffWindowWriter,
    atomic_write_text,
    clean_stale_partials,
    discard_staging,
    lock_for_scheduler,
    publish_cog,
    sha256_file,
    staging_path_for,
    store_gtiff,
)
from agromap.layer_registry import LAYERS, get_layer
from agromap.testing import make_geobox, make_raster, raise_if_dask_computes

SHAPE = (1300, 1100)
TAGS = {"ALGORITHM": "test-pattern", "ALGORITHM_VERSION": "1.2.3", "RUN_ID": "run-42", "SOURCE_PRODUCTS": "S2A_X"}


# --- synthetic science outputs ---------------------------------------------------------------
# Block functions are module level so they pickle to distributed workers; each block is computed
# from its global pixel indices, so numpy and dask (any chunking) give identical arrays.


def _pattern(kind: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    i, j = np.meshgrid(rows, cols, indexing="ij")
    if kind == "class":  # stripes of classes 0-6, as float32 science output
        vals = ((i // 37 + j // 53) % 7).astype(np.float32)
    else:  # a smooth NDVI-like field
        vals = (np.sin(i / 50.0) * np.cos(j / 70.0)).astype(np.float32)
    # nodata rectangles on even, overview-aligned edges, so valid fractions survive decimation
    vals[(i < 100) | ((i >= 600) & (i < 700) & (j >= 200) & (j < 500))] = np.nan
    return vals


def _block(kind: str, block_info: dict | None = None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    return _pattern(kind, np.arange(r0, r1), np.arange(c0, c1))


def science(kind: str, shape: tuple[int, int] = SHAPE, chunks: tuple[int, int] | None = None):
    """A georeferenced (y, x) float32 array; numpy-backed when ``chunks`` is None."""
    if chunks is None:
        data = _pattern(kind, np.arange(shape[0]), np.arange(shape[1]))
    else:
        data = da.map_blocks(_block, kind, chunks=da.core.normalize_chunks(chunks, shape), dtype=np.float32,
                             meta=np.empty((0, 0), np.float32))
    import xarray as xr

    return attach_geobox(xr.DataArray(data, dims=("y", "x"), name=kind), make_geobox(shape))


def export(arr, spec: LayerSpec, out: Path, name: str = "layer.tif", **kwargs) -> CogInfo:
    staging = staging_path_for(out / name, "run-42")
    dask.compute(store_gtiff(arr, staging, spec))
    return publish_cog(staging, out / name, spec, tags=TAGS, **kwargs)


def _read(path: Path, level: int | None = None) -> np.ndarray:
    with rasterio.open(path, **({} if level is None else {"overview_level": level})) as src:
        return src.read(1)


def _valid(a: np.ndarray, spec: LayerSpec) -> np.ndarray:
    return ~np.isnan(a) if spec.is_float else a != spec.nodata


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.name.endswith((".partial", ".aux.xml")))


# --- layers ----------------------------------------------------------------------------------


def test_registry_has_documented_layers():
    for name in ("ndvi", "evi", "lswi", "ndwi", "mndwi", "nbr", "bais2", "savi", "ndbi"):
        s = LAYERS[name]
        assert (s.dtype, s.units, s.overview_resampling, s.kind) == ("float32", "1", "average", "continuous")
        assert np.isnan(s.nodata)
    wm = LAYERS["water_mask"]
    assert (wm.dtype, wm.nodata, wm.overview_resampling) == ("uint8", 255, "mode")
    assert wm.classes == ((0, "not water", "C8C8C8"), (1, "water", "0000FF"))
    fc = LAYERS["flood_class"]
    assert [c[0] for c in fc.classes] == list(range(9)) and fc.nodata == 255
    assert fc.colormap()[4] == (255, 127, 0, 255) and fc.class_tags()["CLASS_2"] == "observed flood water"
    assert "valid_fraction" in LAYERS
    with pytest.raises(ConfigError, match="registered layers"):
        get_layer("nope")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kind="class", dtype="uint8", nodata=255, classes=()), "class table"),
        (dict(kind="continuous", dtype="float32", nodata=0), "NaN"),
        (dict(kind="continuous", dtype="uint8", nodata=300), "does not fit"),
        (dict(kind="class", dtype="uint8", nodata=255, classes=((0, "a", "#00000"),)), "RRGGBB"),
        (dict(kind="class", dtype="uint8", nodata=255, classes=((0, "a", "000000"),),
              overview_resampling="average"), "mode"),
        (dict(kind="continuous", dtype="float32", nodata=np.nan, overview_resampling="max"), "resampling"),
        (dict(kind="continuous", dtype="float64", nodata=np.nan), "dtype"),
    ],
)
def test_layerspec_rejects_bad_definitions(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        LayerSpec("x", units="1", description="x", **kwargs)


@pytest.mark.parametrize("chunks", [None, {"y": 1, "x": 2}], ids=["numpy", "dask"])
def test_encode_is_lazy_and_exact(chunks):
    vals = [[0.5, np.nan, 1.0], [0.0, 0.004, 7.0]]
    arr = make_raster(vals, chunks=chunks)
    with raise_if_dask_computes():
        f = encode(arr, LAYERS["ndvi"])
        vf = encode(arr, LAYERS["valid_fraction"])  # uint8 percent, scale 0.01
        fc = encode(arr, LAYERS["flood_class"])
        dn = encode(arr, LAYERS["dnbr"])  # int16, scale 0.001, nodata -32768
        assert (f.dtype, vf.dtype, fc.dtype, dn.dtype) == (np.float32, np.uint8, np.uint8, np.int16)
        assert vf.chunks == arr.chunks and vf.attrs["nodata"] == 255 and vf.attrs["scale_factor"] == 0.01
    np.testing.assert_array_equal(f.values, np.asarray(vals, np.float32))
    np.testing.assert_array_equal(vf.values, [[50, 255, 100], [0, 0, 255]])  # 7.0 -> 700 % does not fit
    np.testing.assert_array_equal(fc.values, [[0, 255, 1], [0, 0, 7]])  # rounds half to even
    np.testing.assert_array_equal(dn.values, [[500, -32768, 1000], [0, 4, 7000]])
    mask = encode(make_raster(np.array([[True, False]]), chunks=chunks), LAYERS["water_mask"])
    np.testing.assert_array_equal(mask.values, [[1, 0]])
    already = make_raster(np.array([[3, 255]], np.uint8), chunks=chunks)
    assert encode(already, LAYERS["flood_class"]).data is already.data  # taken as encoded


# --- lazy store, locks ------------------------------------------------------------------------

_CALLS: list[int] = []
_CALLS_LOCK = threading.Lock()


def _counting(block: np.ndarray) -> np.ndarray:
    with _CALLS_LOCK:
        _CALLS.append(block.size)
    return block


def test_store_gtiff_is_lazy(tmp_path):
    _CALLS.clear()
    src = science("continuous", chunks=(650, 550))
    counted = src.copy(data=src.data.map_blocks(_counting, dtype=np.float32, meta=np.empty((0, 0), np.float32)))
    staging = tmp_path / "s.tif"
    with raise_if_dask_computes():
        stored = store_gtiff(counted, staging, LAYERS["ndvi"])
    assert isinstance(stored, Delayed) and stored is not None
    assert _CALLS == []
    assert staging.stat().st_size < 20_000  # header only: no pixel data written yet
    assert np.isnan(_read(staging)).all()
    dask.compute(stored)
    assert len(_CALLS) == 4
    np.testing.assert_array_equal(_read(staging), science("continuous").values)


def test_writer_pickles_without_handle(tmp_path):
    import pickle

    w = GTiffWindowWriter(str(tmp_path / "x.tif"))
    assert pickle.loads(pickle.dumps(w)) == w
    assert all(isinstance(v, (str, int, tuple)) for v in vars(w).values())


def test_store_gtiff_rejects_bad_input(tmp_path):
    with pytest.raises(ExportError, match=r"\(y, x\)"):
        store_gtiff(make_raster(np.zeros((2, 3, 3)), times=["2024-01-01", "2024-01-02"]), tmp_path / "a.tif",
                    LAYERS["ndvi"])
    with pytest.raises(ExportError, match="real lock"):
        store_gtiff(make_raster([[1.0]]), tmp_path / "a.tif", LAYERS["ndvi"], lock=False)


def test_lock_for_scheduler():
    assert isinstance(lock_for_scheduler(), type(threading.Lock()))
    with dask.config.set(scheduler="processes"), pytest.raises(ExportError, match="process pool"):
        lock_for_scheduler()


# --- COG publish, overviews, tiles ----------------------------------------------------------------------


@pytest.mark.parametrize("layer, kind", [("flood_class", "class"), ("ndvi", "continuous")])
def test_cog_overviews_match_data(tmp_path, caplog, layer, kind):
    spec = LAYERS[layer]
    with caplog.at_level(logging.WARNING, logger="rasterio"):
        info = export(science(kind, chunks=(650, 550)), spec, tmp_path)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("rasterio")] == []
    path = Path(info.path)
    assert cog_validate(path, strict=True) == (True, [], [])
    full = _read(path)
    full_frac = _valid(full, spec).mean()
    assert info.valid_fraction == pytest.approx(full_frac) and 0.8 < full_frac < 0.95
    with rasterio.open(path) as src:
        assert src.block_shapes == [(512, 512)]
        assert src.overviews(1) == [2, 4] and info.overview_count == 2
    class_values = {v for v, _n, _c in spec.classes}
    for level in range(info.overview_count):
        ov = _read(path, level)
        ok = _valid(ov, spec)
        assert ok.any() and np.count_nonzero(ov[ok]) > 0, f"overview {level} empty (rioxarray#410)"
        assert abs(ok.mean() - full_frac) <= 0.01
        if spec.kind == "class":
            assert set(np.unique(ov[ok]).tolist()) <= class_values
            assert len(set(np.unique(ov[ok]).tolist())) == 7  # mode keeps every class
        else:
            assert np.nanmin(ov) >= -1.0 and np.nanmax(ov) <= 1.0
    assert _leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["layer.tif"]


def _storage_forms() -> list[str]:
    """One registered layer per way of storing one (kind, dtype, nodata, scale, offset, overviews)."""
    forms: dict[tuple, str] = {}
    for name in sorted(LAYERS):
        s = LAYERS[name]
        key = (s.kind, s.dtype, str(s.nodata), s.scale, s.offset, s.overview_resampling)
        forms.setdefault(key, name)
    usual = {"ndvi", "water_mask", "valid_fraction", "flood_class", "flood_duration_days", "burn_severity", "dnbr", "vci"}
    return sorted(set(forms.values()) | usual)


@pytest.mark.parametrize("layer", _storage_forms())
def test_every_product_tagged(tmp_path, layer):
    """dtype, nodata, CRS, transform, block shape, metadata and pixels match the registry, for
    every way a registered layer is stored."""
    spec = LAYERS[layer]
    arr = science("class" if spec.kind == "class" else "continuous", shape=(700, 600), chunks=(512, 512))
    if layer in ("valid_fraction", "vci", "flood_duration_days"):
        arr = np.abs(arr) * {"valid_fraction": 1.0, "vci": 100.0, "flood_duration_days": 30.0}[layer]
    info = export(arr, spec, tmp_path, band_description=f"{layer}_band")
    expected = encode(arr, spec).values
    with rasterio.open(info.path) as src:
        assert src.dtypes == (spec.dtype,) and src.count == 1
        assert (np.isnan(src.nodata) if spec.is_float else src.nodata == spec.nodata)
        assert src.crs.to_epsg() == 32643
        assert src.transform == make_geobox((700, 600)).transform
        assert src.block_shapes == [(512, 512)] and src.overviews(1) == [2]
        assert src.descriptions == (f"{layer}_band",) and src.units == (spec.units,)
        assert src.scales == (spec.scale,) and src.offsets == (spec.offset,)
        assert src.tags().items() >= {"PRODUCT": layer, **TAGS}.items()
        assert src.tags(1).items() >= {"units": spec.units, **spec.class_tags()}.items()
        assert src.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == str(spec.predictor)
        if spec.kind == "class":
            cmap = src.colormap(1)
            assert all(cmap[v] == rgba for v, rgba in spec.colormap().items())
        else:
            with pytest.raises(ValueError):
                src.colormap(1)
        assert src.read(1).tobytes() == expected.tobytes()
    assert info.dtype == spec.dtype and info.size == os.path.getsize(info.path)
    assert info.sha256 == sha256_file(info.path)


def test_float_nan_round_trip(tmp_path):
    arr = science("continuous", shape=(300, 200))
    info = export(arr, LAYERS["ndvi"], tmp_path)
    back = _read(Path(info.path))
    assert back.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(back), np.isnan(arr.values))
    np.testing.assert_array_equal(back, arr.values)


@pytest.mark.parametrize("shape", [(1, 1), (37, 100), (512, 512), (513, 200)])
def test_small_image_is_valid_cog(tmp_path, shape):
    """GDAL pads a < 512 px image into one 512 x 512 tile and adds no overview; strict validation passes."""
    info = export(science("class", shape=shape), LAYERS["flood_class"], tmp_path)
    assert cog_validate(info.path, strict=True)[0]
    with rasterio.open(info.path) as src:
        assert src.block_shapes == [(512, 512)] and src.shape == shape
        assert len(src.overviews(1)) == info.overview_count == (1 if max(shape) > 512 else 0)


def test_numpy_path_equals_dask_path(tmp_path):
    (tmp_path / "np").mkdir(), (tmp_path / "dk").mkdir()
    a = export(science("class"), LAYERS["flood_class"], tmp_path / "np")
    b = export(science("class", chunks=(650, 550)), LAYERS["flood_class"], tmp_path / "dk")
    assert _read(Path(a.path)).tobytes() == _read(Path(b.path)).tobytes()
    for level in range(a.overview_count):
        assert _read(Path(a.path), level).tobytes() == _read(Path(b.path), level).tobytes()
    assert a.sha256 == b.sha256  # same pixels, metadata and options: the same file


def test_empty_overviews_are_detected(tmp_path):
    """The rioxarray#410 trap: overviews built before the data was written read back as zeros."""
    from rasterio.enums import Resampling

    from agromap.io.cog_check import scan_cog

    spec, vals = LAYERS["burn_severity"], np.full((1024, 1024), 3, np.uint8)  # no class 0 in burn_severity
    path = tmp_path / "trap.tif"
    with rasterio.open(path, "w", driver="GTiff", height=1024, width=1024, count=1, dtype="uint8", nodata=255,
                       tiled=True, blockxsize=512, blockysize=512) as dst:
        dst.write(np.zeros_like(vals), 1)
        dst.build_overviews([2], Resampling.nearest)
        dst.write(vals, 1)  # full resolution only, as chunk-by-chunk COG writes do
    assert (_read(path, 0) == 0).all() and (_read(path) == 3).all()
    with pytest.raises(ExportError, match="rioxarray#410"):
        scan_cog(path, spec)


# --- atomicity ---------------------------------------------------------------------------------


def _good_previous(tmp_path: Path) -> tuple[Path, str]:
    info = export(science("class", shape=(600, 600)), LAYERS["flood_class"], tmp_path)
    return Path(info.path), info.sha256


def test_corrupt_staging_publishes_nothing(tmp_path):
    final, digest = _good_previous(tmp_path)
    staging = staging_path_for(final, "run-43")
    staging.write_bytes(b"II*\x00" + os.urandom(4096))
    with pytest.raises(ExportError, match="nothing was published"):
        publish_cog(staging, final, LAYERS["flood_class"], tags=TAGS)
    assert sha256_file(final) == digest  # previous good file intact
    assert not staging.exists() and _leftovers(tmp_path) == []
    fresh = tmp_path / "fresh.tif"
    staging.write_bytes(b"not a tiff")
    with pytest.raises(ExportError):
        publish_cog(staging, fresh, LAYERS["flood_class"], tags=TAGS)
    assert not fresh.exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "options, match",
    [({"FOO": "BAR"}, "GDAL warned"), ({"OVERVIEWS": "NONE"}, "not a valid COG")],
    ids=["gdal-warning", "strict-validation"],
)
def test_failed_checks_keep_previous_file(tmp_path, options, match):
    final, digest = _good_previous(tmp_path)
    staging = staging_path_for(final, "run-44")
    dask.compute(store_gtiff(science("class", shape=(600, 600)), staging, LAYERS["flood_class"]))
    with pytest.raises(ExportError, match=match):
        publish_cog(staging, final, LAYERS["flood_class"], tags=TAGS, creation_options=options)
    assert sha256_file(final) == digest
    assert not staging.exists() and _leftovers(tmp_path) == []


def _explode(block: np.ndarray) -> np.ndarray:
    raise RuntimeError("kernel failed")


def test_failing_compute_leaves_no_output(tmp_path):
    final, digest = _good_previous(tmp_path)
    src = science("class", shape=(600, 600), chunks=(512, 512))
    bad = src.copy(data=src.data.map_blocks(_explode, dtype=np.float32, meta=np.empty((0, 0), np.float32)))
    staging = staging_path_for(final, "run-45")
    with pytest.raises(RuntimeError, match="kernel failed"):
        dask.compute(store_gtiff(bad, staging, LAYERS["flood_class"]))
    discard_staging(staging)  # what the runner does after a failed compute
    assert sha256_file(final) == digest and not staging.exists() and _leftovers(tmp_path) == []
    with pytest.raises(ExportError, match="does not exist"):
        publish_cog(staging, tmp_path / "other.tif", LAYERS["flood_class"])
    assert not (tmp_path / "other.tif").exists()


def test_clean_stale_partials(tmp_path):
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)
    (tmp_path / "area").mkdir()
    stale = tmp_path / "area" / f".a.tif.{dead}.0badc0de.partial"
    live = tmp_path / f".b.tif.{os.getpid()}.12345678.partial"
    old_staging = staging_path_for(tmp_path / "area" / "a.tif", "run-1")
    own_staging = staging_path_for(tmp_path / "b.tif", "run-2")
    keep = tmp_path / "a.tif"
    for p in (stale, live, old_staging, own_staging, keep):
        p.write_bytes(b"x")
    removed = clean_stale_partials(tmp_path, keep_run_id="run-2")
    assert sorted(removed) == sorted([stale, old_staging])
    assert live.exists() and own_staging.exists() and keep.exists()
    assert clean_stale_partials(tmp_path, include_live=True, keep_run_id="run-2") == [live]


def test_atomic_write_text_and_sha256(tmp_path):
    target = tmp_path / "m.json"
    target.write_text("old")
    atomic_write_text(target, '{"a": 1}\n')
    assert target.read_text() == '{"a": 1}\n' and _leftovers(tmp_path) == []
    assert sha256_file(target) == hashlib.sha256(b'{"a": 1}\n').hexdigest()
    with pytest.raises(OSError):
        atomic_write_text(tmp_path, "x")
    assert _leftovers(tmp_path) == []


# --- STAC ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flood_cog(tmp_path_factory) -> CogInfo:
    out = tmp_path_factory.mktemp("stac")
    return export(science("class", chunks=(650, 550)), LAYERS["flood_class"], out, name="flood.tif")


def test_stac_item_fields(flood_cog, offline_validator):
    spec = LAYERS["flood_class"]
    item = item_for_layer(flood_cog.path, spec, item_id="agromap-flood_class-20240801-t1",
                          datetime=(dt.datetime(2024, 7, 1), dt.datetime(2024, 8, 1)),
                          properties={"processing:level": "L4", "flood_detected": True})
    d = item.to_dict(include_self_link=False, transform_hrefs=False)
    assert item.validate(validator=offline_validator)
    p = d["properties"]
    assert p["datetime"] is None and p["start_datetime"] == "2024-07-01T00:00:00Z"
    assert p["proj:code"] == "EPSG:32643" and p["proj:shape"] == list(SHAPE)
    assert p["proj:transform"] == [10.0, 0.0, 500000.0, 0.0, -10.0, 2000000.0]
    assert p["processing:software"] == {"agromap": __version__}
    assert p["valid_fraction"] == pytest.approx(flood_cog.valid_fraction, abs=1e-6) and p["flood_detected"]
    lon0, lat0, lon1, lat1 = d["bbox"]
    assert 74.9 < lon0 < lon1 < 75.2 and 17.9 < lat0 < lat1 < 18.1  # UTM 43N near the central meridian
    assert d["geometry"]["type"] == "Polygon"
    for ext in ("projection/v2.0.0", "raster/v1.1.0", "classification/v2.0.0", "file/v2.1.0"):
        assert f"https://stac-extensions.github.io/{ext}/schema.json" in d["stac_extensions"]
    assert PROCESSING_EXTENSION in d["stac_extensions"]
    asset = d["assets"]["flood_class"]
    assert asset["href"] == "flood.tif" and asset["type"] == COG_MEDIA_TYPE and asset["roles"] == ["data"]
    assert asset["file:size"] == os.path.getsize(flood_cog.path)
    assert asset["file:checksum"] == "1220" + sha256_file(flood_cog.path)
    (band,) = asset["raster:bands"]
    assert band["nodata"] == 255 and band["data_type"] == "uint8" and band["spatial_resolution"] == 10.0
    assert (band["unit"], band["scale"], band["offset"]) == ("class", 1.0, 0.0)
    stats = band["statistics"]
    assert (stats["minimum"], stats["maximum"]) == (0.0, 6.0)
    assert stats["valid_percent"] == pytest.approx(100 * flood_cog.valid_fraction, abs=0.01)
    classes = asset["classification:classes"]
    assert [c["value"] for c in classes] == [*range(9), 255]
    assert classes[4] == {"value": 4, "name": "flooded_rice", "title": "flooded rice",
                          "description": "flooded rice", "color_hint": "FF7F00"}
    assert classes[-1]["nodata"] is True


def test_stac_float_item_and_write(tmp_path, offline_validator):
    info = export(science("continuous", shape=(300, 200)), LAYERS["ndvi"], tmp_path, name="ndvi.tif")
    item = item_for_layer(info.path, LAYERS["ndvi"], item_id="agromap-ndvi-20240115-t1",
                          datetime=dt.datetime(2024, 1, 15, 5, 30), info=info)
    assert item.validate(validator=offline_validator)
    path = tmp_path / "ndvi.json"
    write_item(item, path)
    text = path.read_text()
    assert "NaN" not in text and _leftovers(tmp_path) == []
    back = pystac.Item.from_dict(json.loads(text))
    assert back.datetime == dt.datetime(2024, 1, 15, 5, 30, tzinfo=dt.timezone.utc)
    asset = back.assets["ndvi"].to_dict()
    assert asset["href"] == "ndvi.tif"  # relative to the item, which sits next to the COG
    (band,) = asset["raster:bands"]
    assert band["nodata"] == "nan" and band["data_type"] == "float32"
    assert -1.0 <= band["statistics"]["minimum"] < band["statistics"]["maximum"] <= 1.0
    assert "classification:classes" not in asset


def test_offline_schemas_are_not_vacuous(flood_cog, offline_validator):
    """The embedded extension schemas do reject the mistakes they exist to catch."""
    item = item_for_layer(flood_cog.path, LAYERS["flood_class"], item_id="x", datetime=dt.datetime(2024, 8, 1),
                          info=flood_cog)
    good = item.to_dict(include_self_link=False, transform_hrefs=False)
    breakages = [
        lambda d: d["assets"]["flood_class"]["classification:classes"][0].update(color_hint="#C8C8C8"),
        lambda d: d["assets"]["flood_class"].update({"file:checksum": "sha256:abc"}),
        lambda d: d["properties"].update({"proj:shape": [1300]}),
        lambda d: d["assets"]["flood_class"]["raster:bands"][0].update(nodata="NaN"),
        lambda d: d["properties"].update({"processing:software": {"agromap": 1}}),
        lambda d: d["assets"]["flood_class"]["raster:bands"][0]["statistics"].update(valid_percent=120),
        lambda d: d["assets"]["flood_class"].update({"proj:code": "EPSG:32643:x"}),
    ]
    for breakage in breakages:
        bad = json.loads(json.dumps(good))
        breakage(bad)
        with pytest.raises(pystac.errors.STACValidationError, match="Validation failed"):
            pystac.validation.validate_dict(bad, validator=offline_validator)


# --- multi-process write, lock ---------------------------------------------------------------------


@pytest.mark.integration
def test_write_complete_under_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = LAYERS["ndvi"]
    shape = (2048, 2048)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster):
        lock = lock_for_scheduler("agromap-test-write")
        assert isinstance(lock, distributed.Lock)
        staging = tmp_path / ".ndvi.tif.dist.staging.tif"
        dask.compute(store_gtiff(science("continuous", shape=shape, chunks=(512, 512)), staging, spec, lock=lock))
    got = _read(staging)
    want = science("continuous", shape=shape).values
    assert got.tobytes() == want.tobytes()
    for r in range(0, shape[0], 512):
        for c in range(0, shape[1], 512):
            tile = got[r:r + 512, c:c + 512]
            ok = ~np.isnan(tile)
            assert ok.any() and np.count_nonzero(tile[ok]) > 0, f"tile at ({r}, {c}) is empty"
    info = publish_cog(staging, tmp_path / "ndvi.tif", spec, tags=TAGS)
    assert _read(Path(info.path)).tobytes() == want.tobytes()
