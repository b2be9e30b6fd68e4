"""Readers, sensor radiometry and grids, on the real samples and on tiny files."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.warp import Resampling, reproject

from agromap.errors import (
    ConfigError,
    CorruptInputError,
    InputError,
    MetadataError,
    MissingBandError,
    NoOverlapError,
    UnknownCRSError,
)
from agromap.io.grid import GridSpec, geobox_from_spec, geobox_of, to_grid
from agromap.io.loaders import load_files, load_landsat_c2, load_sentinel1, load_sentinel2_l2a, load_stac_item
from agromap.io.read import BandReader, open_band
from agromap.io.scene import run_geobox, stack_scenes
from agromap.sensors.s1 import to_db
from agromap.testing import raise_if_dask_computes
from conftest import write_tif

S2_SAMPLE = "sentinel2_l2a_29RKH_20200219"
LANDSAT_QA = "landsat8_c2_l2sp_001062"
LANDSAT_NOGEO = "landsat8_c2_l2sp_218074_mtl_georef"


# --- generic reads -------------------------------------------------------------------------

def test_open_band_is_lazy_float32_and_tile_aligned(samples):
    with raise_if_dask_computes():
        red = open_band(samples / S2_SAMPLE / "B04.tif", name="red", scale=1e-4, nodata=0, chunk=700)
        assert red.dtype == np.float32
        # 700 rounds down to the 512-px internal tile of this 600-px COG.
        assert red.chunks == ((512, 88), (512, 88))
        assert geobox_of(red).crs.epsg == 32629
    with rasterio.open(samples / S2_SAMPLE / "B04.tif") as src:
        dn = src.read(1)
    np.testing.assert_allclose(red.values, np.where(dn == 0, np.nan, dn.astype(np.float32) * np.float32(1e-4)),
                               rtol=0, atol=0)


def test_reader_pickles_without_handle(samples):
    red = open_band(samples / S2_SAMPLE / "B04.tif", name="red")
    reader = next(v for v in red.data.dask.values() if isinstance(v, BandReader))
    clone = pickle.loads(pickle.dumps(reader))
    assert clone == reader
    for value in vars(reader).values():
        assert isinstance(value, (str, int, float, tuple, bool, type(None)))


def test_scale_in_float32_never_float64(tmp_path):
    path = write_tif(tmp_path / "x.tif", np.array([[10000, 0], [1, 65455]], dtype=np.uint16), nodata=0)
    arr = open_band(path, scale=2.75e-5, offset=-0.2)
    assert arr.dtype == np.float32 and arr.compute().dtype == np.float32
    np.testing.assert_allclose(arr.values[0, 0], 0.075, atol=1e-7)
    assert np.isnan(arr.values[0, 1])


# --- Sentinel-2 L2A ----------------------------------------------------------------------

def _s2_product(root: Path, name: str, dn: int = 2500, **meta: object) -> Path:
    folder = root / name
    folder.mkdir()
    data = np.array([[dn, 0], [dn, dn]], dtype=np.uint16)
    for band in ("B04", "B08"):
        write_tif(folder / f"{band}.tif", data, nodata=0)
    if meta:
        item = {"type": "Feature", "stac_version": "1.0.0", "id": name, "geometry": None,
                "properties": {"datetime": "2019-06-01T10:00:00Z", **meta}, "assets": {}, "links": []}
        (folder / f"{name}.json").write_text(json.dumps(item))
    return folder


@pytest.mark.parametrize(
    ("name", "meta", "expected"),
    [
        ("S2A_MSIL2A_20190601T100000_N0301_R022_T43QCU_20190601T120000", {}, 0.25),
        ("S2A_MSIL2A_20220601T100000_N0400_R022_T43QCU_20220601T120000", {}, 0.15),
        # A PB 05.xx reprocessing of a 2019 acquisition carries the offset too: the date is not the switch.
        ("S2A_MSIL2A_20190601T100000_N0500_R022_T43QCU_20230101T120000", {}, 0.15),
        ("product_without_baseline_in_name", {"s2:processing_baseline": "04.00"}, 0.15),
        ("product_without_baseline_in_name_old", {"s2:processing_baseline": "02.14"}, 0.25),
    ],
)
def test_s2_offset_by_baseline(tmp_path, name, meta, expected):
    scene = load_sentinel2_l2a(_s2_product(tmp_path, name, **meta), bands=("red", "nir"))
    red = scene.bands["red"].values
    assert red.dtype == np.float32
    np.testing.assert_allclose(red[0, 0], expected, atol=1e-6)
    assert np.isnan(red[0, 1]), "DN 0 is nodata under both conventions"


def test_s2_offset_from_mtd_wins(tmp_path):
    folder = _s2_product(tmp_path, "S2B_MSIL2A_20190601T100000_N0213_R022_T43QCU_20190601T120000")
    (folder / "MTD_MSIL2A.xml").write_text(
        "<root><BOA_ADD_OFFSET_VALUES_LIST>" + "".join(
            f'<BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in range(13)
        ) + "</BOA_ADD_OFFSET_VALUES_LIST></root>")
    scene = load_sentinel2_l2a(folder, bands=("red",))
    assert scene.metadata["offset_decided_by"].startswith("MTD")
    np.testing.assert_allclose(scene.bands["red"].values[0, 0], 0.15, atol=1e-6)


def test_s2_without_baseline_is_an_error(tmp_path):
    folder = _s2_product(tmp_path, "no_metadata_at_all")
    with pytest.raises(MetadataError, match="BOA offset"):
        load_sentinel2_l2a(folder, bands=("red",))


def test_s2_real_folder_and_stac_item_agree(samples):
    folder = load_sentinel2_l2a(samples / S2_SAMPLE, bands=("red", "swir16", "scl", "aot"))
    item = load_stac_item(samples / S2_SAMPLE / "S2A_29RKH_20200219_0_L2A.json", bands=("red", "swir16", "scl"))
    assert folder.metadata["processing_baseline"] == item.metadata["processing_baseline"] == "02.14"
    assert folder.metadata["boa_offset"] == 0.0
    assert folder.datetime == item.datetime
    np.testing.assert_array_equal(folder.bands["red"].values, item.bands["red"].values)
    assert folder.bands["scl"].dtype == np.uint8
    aot = folder.bands["aot"].values
    assert 0.18 < np.nanmin(aot) and np.nanmax(aot) < 0.2  # DN 188-198 x 0.001
    red = folder.bands["red"].values
    assert 0.05 < np.nanmedian(red) < 0.6  # desert reflectance, no 0.1 offset error


def test_stac_remote_href_needs_asset_root(tmp_path, samples):
    item = json.loads((samples / S2_SAMPLE / "S2A_29RKH_20200219_0_L2A.json").read_text())
    item["assets"]["red"]["href"] = "https://example.invalid/B04.tif"
    p = tmp_path / "item.json"
    p.write_text(json.dumps(item))
    with pytest.raises(InputError, match="asset_root"):
        load_stac_item(p, bands=("red",))
    scene = load_stac_item(p, bands=("red",), asset_root=samples / S2_SAMPLE)
    assert scene.bands["red"].shape == (600, 600)


def test_stac_raster_scale_offset_win(tmp_path, samples):
    item = json.loads((samples / S2_SAMPLE / "S2A_29RKH_20200219_0_L2A.json").read_text())
    import shutil

    # An absolute href inside the item's own folder (hrefs elsewhere on the machine are refused).
    item["assets"]["red"]["href"] = str(shutil.copy(samples / S2_SAMPLE / "B04.tif", tmp_path / "B04.tif"))
    item["assets"]["red"]["raster:bands"] = [{"scale": 0.0001, "offset": -0.1, "nodata": 0}]
    p = tmp_path / "item.json"
    p.write_text(json.dumps(item))
    with rasterio.open(samples / S2_SAMPLE / "B04.tif") as src:
        dn = src.read(1, window=((0, 1), (0, 1)))[0, 0]
    red = load_stac_item(p, bands=("red",)).bands["red"].values
    np.testing.assert_allclose(red[0, 0], np.float32(dn) * np.float32(1e-4) - np.float32(0.1), atol=1e-6)


# --- Landsat Collection 2 ------------------------------------------------------------------

@pytest.mark.parametrize("mtl_ext", ["txt", "json", "xml"])
def test_landsat_c2_scaling_from_each_mtl(tmp_path, samples, mtl_ext):
    src = samples / LANDSAT_QA
    folder = tmp_path / "LC08"
    folder.mkdir()
    for f in src.glob("*.TIF"):
        (folder / f.name).symlink_to(f)
    mtl = next(src.glob(f"*_MTL.{mtl_ext}"))
    (folder / mtl.name).symlink_to(mtl)
    scene = load_landsat_c2(folder, bands=("red", "nir", "lwir11", "qa_pixel"))
    assert scene.datetime.isoformat().startswith("2020-10-31T14:31:47")
    assert scene.bands["qa_pixel"].dtype == np.uint16
    with rasterio.open(next(src.glob("*_SR_B4.TIF"))) as r:
        dn = r.read(1)
    red = scene.bands["red"].values
    expected = np.where(dn == 0, np.nan, dn.astype(np.float32) * np.float32(2.75e-5) + np.float32(-0.2))
    np.testing.assert_allclose(red, expected, atol=1e-6)
    st = scene.bands["lwir11"].values
    assert 180 < np.nanmedian(st) < 330  # kelvin; the scene is 99.9 % cloud, so cold cloud tops


def test_landsat_golden_values(tmp_path):
    folder = tmp_path / "LC08_L2SP_001002_20200101_20200102_02_T1"
    folder.mkdir()
    write_tif(folder / f"{folder.name}_SR_B4.TIF", np.array([[10000, 0]], dtype=np.uint16), nodata=0)
    write_tif(folder / f"{folder.name}_ST_B10.TIF", np.array([[44000, 0]], dtype=np.uint16), nodata=0)
    (folder / f"{folder.name}_MTL.txt").write_text(
        "GROUP = LANDSAT_METADATA_FILE\n GROUP = PRODUCT_CONTENTS\n  PROCESSING_LEVEL = \"L2SP\"\n"
        f"  LANDSAT_PRODUCT_ID = \"{folder.name}\"\n END_GROUP = PRODUCT_CONTENTS\n"
        " GROUP = IMAGE_ATTRIBUTES\n  SPACECRAFT_ID = \"LANDSAT_8\"\n  DATE_ACQUIRED = 2020-01-01\n"
        " END_GROUP = IMAGE_ATTRIBUTES\nEND_GROUP = LANDSAT_METADATA_FILE\nEND\n")
    scene = load_landsat_c2(folder, bands=("red", "lwir11"))
    red, st = scene.bands["red"].values, scene.bands["lwir11"].values
    assert red.dtype == np.float32
    np.testing.assert_allclose(red[0, 0], 0.0750, atol=1e-6)
    np.testing.assert_allclose(st[0, 0], 299.393, atol=1e-3)
    assert np.isnan(red[0, 1]) and np.isnan(st[0, 1])


def test_landsat_georeference_rebuilt_from_mtl(samples):
    scene = load_landsat_c2(samples / LANDSAT_NOGEO, bands=("red", "nir"))
    g = geobox_of(scene.bands["red"])
    assert g.crs.epsg == 32623
    # MTL corners are pixel centres (583500, -2222700); the grid edge is half a pixel outside.
    assert tuple(g.affine)[:6] == (30.0, 0.0, 583485.0, 0.0, -30.0, -2222685.0)
    assert g.shape == (300, 400)
    assert np.nanmax(scene.bands["nir"].values) < 1.7


def test_landsat_collection1_and_level1_refused(tmp_path, samples):
    c1 = tmp_path / "LC08_L1TP_C1"
    c1.mkdir()
    (c1 / "LC08_L1TP_C1_BQA.TIF").write_bytes(b"")
    with pytest.raises(MetadataError, match="Collection 1"):
        load_landsat_c2(c1)
    l1 = tmp_path / "LC08_L1TP_227074_20190809_20200827_02_T1"
    l1.mkdir()
    (l1 / f"{l1.name}_MTL.txt").write_text(
        "GROUP = LANDSAT_METADATA_FILE\n GROUP = PRODUCT_CONTENTS\n  PROCESSING_LEVEL = \"L1TP\"\n"
        " END_GROUP = PRODUCT_CONTENTS\nEND_GROUP = LANDSAT_METADATA_FILE\n")
    with pytest.raises(MetadataError, match="Level-2"):
        load_landsat_c2(l1)


# --- Sentinel-1 ------------------------------------------------------------------------------

def test_s1_db_converted_to_linear_and_mean_in_linear(tmp_path):
    db = np.array([[[-10.0, np.nan]], [[-20.0, -20.0]]], dtype=np.float32)
    paths = [write_tif(tmp_path / f"s1_{i}.tif", db[i], nodata=float("nan")) for i in range(2)]
    scenes = [load_sentinel1({"vh": p}, datetime=f"2020-01-0{i + 1}", units="db") for i, p in enumerate(paths)]
    ds = stack_scenes(scenes, run_geobox(scenes, None))
    assert ds["vh"].dtype == np.float32
    mean_db = to_db(ds["vh"].mean("time", skipna=True)).values
    np.testing.assert_allclose(mean_db[0, 0], -12.596, atol=1e-3)  # not -15
    np.testing.assert_allclose(mean_db[0, 1], -20.0, atol=1e-4)


def test_s1_linear_zero_border_is_nan_never_minus_inf(tmp_path):
    p = write_tif(tmp_path / "lin.tif", np.array([[0.0, 0.01]], dtype=np.float32))
    vh = load_sentinel1({"vh": p}, datetime="2020-01-01", units="linear").bands["vh"]
    out = to_db(vh).values
    assert np.isnan(out[0, 0]) and not np.isinf(out).any()
    np.testing.assert_allclose(out[0, 1], -20.0, atol=1e-4)


def test_s1_real_chip(samples):
    s1 = samples / "sen1floods11_india" / "India_900498_S1Hand.tif"
    scene = load_sentinel1({"vv": (s1, 1), "vh": (s1, 2)}, datetime="2016-08-12", units="db")
    vh = scene.bands["vh"].values
    assert vh.dtype == np.float32 and np.nanmin(vh) > 0
    with rasterio.open(s1) as src:
        back = 10 * np.log10(vh)
        np.testing.assert_allclose(back, src.read(2), atol=1e-3, equal_nan=True)


def test_s1_gcp_only_file_explains(tmp_path):
    from rasterio.control import GroundControlPoint

    gcps = [GroundControlPoint(0, 0, 76.0, 10.0), GroundControlPoint(0, 10, 76.1, 10.0),
            GroundControlPoint(10, 0, 76.0, 9.9)]
    p = write_tif(tmp_path / "gcp.tif", np.ones((10, 10), np.uint16), crs=None)
    with rasterio.open(p, "r+") as dst:
        dst.gcps = (gcps, rasterio.crs.CRS.from_epsg(4326))
    with pytest.raises(UnknownCRSError, match="GCP"):
        open_band(p)


# --- grids -------------------------------------------------------------------------------------

def test_mixed_crs_onto_run_grid(tmp_path):
    from pyproj import Transformer

    ten = write_tif(tmp_path / "b10.tif", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) + 1,
                    crs="EPSG:32643", res=10, origin=(799_000, 2_000_000), nodata=0)
    # A 20 m band of the same area, delivered in the neighbouring UTM zone.
    x44, y44 = Transformer.from_crs("EPSG:32643", "EPSG:32644", always_xy=True).transform(799_000, 2_000_000)
    twenty = write_tif(tmp_path / "b20.tif", np.full((40, 40), 5000, np.uint16), crs="EPSG:32644",
                       res=20, origin=(x44 - 100, y44 + 100), nodata=0)
    a = load_files({"red": ten}, datetime="2021-01-01", scale=1e-4, chunk=256)
    b = load_files({"swir16": twenty}, datetime="2021-01-01", scale=1e-4, chunk=256)
    gbox = geobox_of(a.bands["red"])
    with raise_if_dask_computes():
        ds = stack_scenes([a, b], gbox, chunk=256)
        for name in ("red", "swir16"):
            assert geobox_of(ds[name]) == gbox
    assert gbox.affine * (0.5, 0.5) == (799_005.0, 1_999_995.0)  # pixel (0, 0) centre = anchor + res/2
    assert ds.sizes == {"time": 1, "y": 64, "x": 64}
    swir = ds["swir16"].values
    np.testing.assert_allclose(swir[np.isfinite(swir)], 0.5, atol=1e-6)
    assert np.isfinite(swir).mean() > 0.9


def test_to_grid_is_lazy_with_bounded_chunks(tmp_path):
    p = write_tif(tmp_path / "a.tif", np.ones((300, 300), np.float32), res=10, block=256)
    arr = open_band(p, chunk=256).chunk({"y": 23, "x": 23})  # tiny input chunks
    target = geobox_from_spec(GridSpec("EPSG:32643", 20.0, chunk=128), like=geobox_of(arr))
    with raise_if_dask_computes():
        out = to_grid(arr, target, chunk=128)
    ny, nx = out.data.numblocks
    assert ny * nx <= -(-target.shape.y // 128) * -(-target.shape.x // 128)


def test_blockwise_warp_matches_in_memory_warp(tmp_path):
    """Chunked (lazy) reprojection agrees with a whole-array warp (bilinear depends on block edges).

    nearest: identical to rasterio's in-memory warp except for rare pixel-centre ties at block
    edges (1 of ~3250 px with odc-geo 0.5.3); bilinear: within 2e-4 of odc-geo's in-memory path.
    """
    from odc.geo.xr import xr_reproject

    rng = np.random.default_rng(0)
    data = rng.random((120, 120), dtype=np.float32)
    p = write_tif(tmp_path / "a.tif", data, crs="EPSG:32643", res=10, origin=(500_000, 2_000_000))
    whole = open_band(p, chunk=256)
    src = whole.chunk({"y": 40, "x": 40})
    fp = geobox_of(src).extent.to_crs("EPSG:32644").boundingbox
    target = geobox_from_spec(GridSpec("EPSG:32644", 15.0, bounds=(fp.left + 200, fp.bottom + 200,
                                                                    fp.right - 200, fp.top - 200)))
    nearest = to_grid(src, target, resampling="nearest", chunk=32).values
    eager = np.full(target.shape, np.nan, np.float32)
    reproject(data, eager, src_transform=Affine(10, 0, 500_000, 0, -10, 2_000_000), src_crs="EPSG:32643",
              dst_transform=target.affine, dst_crs="EPSG:32644", resampling=Resampling.nearest,
              src_nodata=np.nan, dst_nodata=np.nan)
    finite = np.isfinite(eager) & np.isfinite(nearest)
    assert finite.mean() > 0.95
    assert (nearest[finite] != eager[finite]).mean() <= 0.001
    bilinear = to_grid(src, target, resampling="bilinear", chunk=32).values
    in_memory = xr_reproject(whole.compute(), target, resampling="bilinear", dst_nodata=np.nan).values
    finite = np.isfinite(bilinear) & np.isfinite(in_memory)
    np.testing.assert_allclose(bilinear[finite], in_memory[finite], atol=2e-4, rtol=0)


def test_non_overlapping_inputs_rejected(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.ones((8, 8), np.uint16), origin=(500_000, 2_000_000))
    b = write_tif(tmp_path / "b.tif", np.ones((8, 8), np.uint16), origin=(600_000, 2_000_000))
    sa = load_files({"red": a}, datetime="2021-01-01")
    sb = load_files({"red": b}, datetime="2021-01-02")
    with pytest.raises(NoOverlapError, match="does not overlap"):
        stack_scenes([sa, sb], run_geobox([sa, sb], None))


def test_missing_band_rejected(tmp_path, samples):
    p = write_tif(tmp_path / "two.tif", np.ones((2, 4, 4), np.uint16))
    with pytest.raises(MissingBandError, match="band 3 requested but the file has 2"):
        load_files({"red": (p, 3)}, datetime="2021-01-01")
    folder = _s2_product(tmp_path, "S2A_MSIL2A_20220601T100000_N0400_R022_T43QCU_20220601T120000")
    with pytest.raises(MissingBandError, match="no file for band 'rededge1'"):
        load_sentinel2_l2a(folder, bands=("red", "rededge1"))
    a = load_files({"red": p}, datetime="2021-01-01")
    b = load_files({"nir": p}, datetime="2021-01-02")
    with pytest.raises(MissingBandError, match="band 'nir' is missing"):
        stack_scenes([a, b], run_geobox([a], None), bands=("red", "nir"))
    # Without a band list, each date holds nodata for the other sensor's bands.
    ds = stack_scenes([a, b], run_geobox([a], None))
    assert np.isnan(ds["red"].values[1]).all() and np.isnan(ds["nir"].values[0]).all()
    assert np.isfinite(ds["red"].values[0]).all()


def test_unknown_crs_rejected(tmp_path):
    p = write_tif(tmp_path / "nocrs.tif", np.ones((4, 4), np.uint16), crs=None)
    with pytest.raises(UnknownCRSError, match="no coordinate reference system"):
        open_band(p)
    with pytest.raises(ConfigError, match="EPSG:99999"):
        geobox_from_spec(GridSpec("EPSG:99999", 10.0, bounds=(0, 0, 10, 10)))


def test_corrupt_inputs_rejected_before_compute(tmp_path, samples):
    src = (samples / S2_SAMPLE / "B04.tif").read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(src[: int(len(src) * 0.6)])
    with pytest.raises(CorruptInputError, match="truncated"):
        open_band(cut)
    text = tmp_path / "notes.tif"
    text.write_text("this is not a raster\n")
    with pytest.raises(CorruptInputError, match="not a readable raster"):
        open_band(text)
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(CorruptInputError, match="empty"):
        open_band(empty)
    with pytest.raises(CorruptInputError, match="not found"):
        open_band(tmp_path / "missing.tif")
