"""The demo pipeline end to end: one compute, valid COGs, STAC items and a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
from dask.callbacks import Callback
from rio_cogeo.cogeo import cog_validate

from agromap.pipeline.config import load_config
from agromap.pipeline.runner import plan_run, run

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "pipelines" / "demo.yaml"


class _Counter(Callback):
    """Counts computes and executions of read tasks (one key per source chunk)."""

    def __init__(self) -> None:
        super().__init__()
        self.computes = 0
        self.reads: dict[object, int] = {}

    def _start(self, dsk: object) -> None:
        self.computes += 1

    def _posttask(self, key: object, result: object, dsk: object, state: object, worker_id: object) -> None:
        name = key[0] if isinstance(key, tuple) else key
        if isinstance(name, str) and name.startswith("read-"):
            self.reads[key] = self.reads.get(key, 0) + 1


@pytest.fixture(scope="module")
def threaded_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_threads")
    counter = _Counter()
    with counter:
        result = run(load_config(DEMO), out, scheduler="threads")
    return result, counter


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, agromap_cli):
    """The demo through the CLI on the embedded LocalCluster (`make demo` uses the threaded default)."""
    out = tmp_path_factory.mktemp("demo_cli")
    proc = agromap_cli.run("run", str(DEMO), "--out", str(out), "--scheduler", "local", timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_every_pipeline_yaml_validates():
    for path in sorted((ROOT / "pipelines").glob("*.yaml")):
        cfg = load_config(path)
        with dask.config.set(scheduler="sync"):
            plans = plan_run(cfg)
        assert all(p.layers for p in plans), path


def test_demo_computes_once_and_reads_each_chunk_once(threaded_run):
    result, counter = threaded_run
    assert counter.computes == 1
    assert counter.reads, "no read task was counted"
    assert set(counter.reads.values()) == {1}


def test_demo_outputs_are_valid_cogs_with_items(threaded_run, offline_validator):
    import pystac

    result, _ = threaded_run
    out = result.out_dir
    assert len(result.outputs) == 15
    for entry in result.outputs:
        path = out / entry["path"]
        assert cog_validate(str(path), strict=True) == (True, [], []), path
        with rasterio.open(path) as src:
            assert src.block_shapes == [(512, 512)] or max(src.shape) <= 512
            assert src.descriptions[0]
            assert len(src.tags()["AGROMAP_RECIPE"]) == 64 and src.tags()["ALGORITHM_VERSION"]
        item = json.loads((out / entry["stac_item"]).read_text())
        asset = next(iter(item["assets"].values()))
        assert (out / entry["stac_item"]).parent.joinpath(asset["href"]).resolve() == path.resolve()
        assert asset["file:checksum"] == "1220" + entry["sha256"]
        assert pystac.Item.from_dict(item).validate(validator=offline_validator)
    catalog = pystac.Catalog.from_file(str(out / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert len(items) == 15 and len(list(catalog.get_children())) == 3
    for collection in catalog.get_children():
        assert collection.validate(validator=offline_validator)
    for item in items:
        thumb = item.assets["thumbnail"]
        assert (Path(item.get_self_href()).parent / thumb.href).is_file()
    html = (out / "report.html").read_text()
    assert "<html" in html.lower() and "data:image/png;base64," in html


def test_manifest_records_run(threaded_run):
    result, _ = threaded_run
    m = json.loads((result.out_dir / "manifest.json").read_text())
    assert m["run_id"] == result.run_id and m["status"] == "success"
    assert len(m["config_sha256"]) == 64
    assert {"GDAL", "PROJ", "rasterio", "dask"} <= set(m["versions"])
    assert m["gdal_env"]["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    s2 = next(i for i in m["inputs"] if i["scene_id"] == "S2A_29RKH_20200219_0_L2A")
    assert s2["metadata"]["processing_baseline"] == "02.14"
    assert all(len(f["sha256"]) == 64 for i in m["inputs"] for f in i["files"])
    # SCL marks 12 % of this tile as cloud or cirrus; the manifest and the layers agree.
    frac = m["valid_fraction_by_date"]["tile_29RKH"][0]
    ndvi = next(o for o in m["outputs"] if o["path"].endswith("tile_29RKH/ndvi_20200219.tif"))
    assert 0.8 < frac < 0.95
    assert abs(ndvi["valid_fraction"] - frac) < 0.01


def test_ndvi_round_trip_equals_independent_computation(threaded_run, samples):
    """read -> index -> COG -> read back: values and georeferencing equal a plain numpy computation."""
    result, _ = threaded_run
    s2 = samples / "sen1floods11_india" / "India_900498_S2Hand.tif"
    with rasterio.open(s2) as src:
        red = src.read(4).astype(np.float32) * np.float32(1e-4)
        nir = src.read(8).astype(np.float32) * np.float32(1e-4)
        transform, crs = src.transform, src.crs
    expected = (nir - red) / (nir + red)
    with rasterio.open(result.out_dir / "assam_flood" / "ndvi_20160812.tif") as out:
        got = out.read(1)
        assert out.transform == transform and out.crs == crs and out.dtypes[0] == "float32"
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_vh_water_mask_against_hand_label(threaded_run, samples):
    """IoU of the demo's VH < -20 dB water mask against the Sen1Floods11 hand label (measured 0.738)."""
    result, _ = threaded_run
    with rasterio.open(samples / "sen1floods11_india" / "India_900498_LabelHand.tif") as lab:
        label = lab.read(1)
    with rasterio.open(result.out_dir / "assam_flood" / "water_mask_vh_20160812.tif") as w:
        water = w.read(1)
        assert w.colormap(1)[1][:3] == (0, 0, 255)
    known = label >= 0
    pred, truth = (water == 1) & known, (label == 1) & known
    iou = (pred & truth).sum() / (pred | truth).sum()
    assert 0.70 < iou < 0.78


def test_embedded_cluster_run_equals_threaded_run(cli_run, threaded_run):
    out, proc = cli_run
    result, _ = threaded_run
    for entry in result.outputs:
        with rasterio.open(result.out_dir / entry["path"]) as a, rasterio.open(out / entry["path"]) as b:
            np.testing.assert_array_equal(a.read(), b.read())
            pa, pb = dict(a.profile), dict(b.profile)
            np.testing.assert_equal(pa.pop("nodata"), pb.pop("nodata"))  # NaN == NaN here
            assert pa == pb
    m = json.loads((out / "manifest.json").read_text())
    assert m["cluster"]["workers"] >= 1 and m["cluster"]["scheduler"].startswith("inproc://")
    assert "15 layer(s) in" in proc.stderr and "15 computed" in proc.stderr


def test_synthetic_scene_end_to_end_recovers_truth(tmp_path):
    """Synthetic S2 stack on disk (uint16 DN, SCL) -> pipeline -> water and NDVI agree with the truth."""
    import yaml

    from agromap.testing import SceneSpec, make_s2_stack, make_truth, write_stack_geotiffs

    spec = SceneSpec(shape=(96, 96), dates=("2023-06-01", "2023-08-01", "2023-09-15"), chunk=48, seed=3,
                     cloud_fraction=0.25)
    stack = make_s2_stack(spec)
    truth = make_truth(spec).compute()
    files = write_stack_geotiffs(stack[["green", "red", "nir", "swir16", "scl"]], tmp_path / "stack")
    inputs = [{"kind": "files", "datetime": date, "bands": bands, "scale": 1e-4, "nodata": 0, "raw": ["scl"]}
              for date, bands in files.items()]
    cfg = {"name": "synthetic", "scheduler": "threads", "chunk": 256,
           "areas": [{"name": "scene", "inputs": inputs,
                      "layers": [{"product": "water_mask", "method": "mndwi"}, {"product": "ndvi", "time": "max"}]}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    result = run(load_config(tmp_path / "run.yaml"), tmp_path / "out")
    scl = stack["scl"].values
    landcover = truth["landcover"].values
    for i, date in enumerate(files):
        with rasterio.open(tmp_path / "out" / "scene" / f"water_mask_mndwi_{date.replace('-', '')}.tif") as src:
            water = src.read(1)
        cloudy = np.isin(scl[i], (3, 8, 9, 10))
        assert (water[cloudy] == 255).all(), "masked pixels must be nodata, never 'not water'"
        clear = ~cloudy
        assert (water[clear & (landcover == 2)] == 1).mean() > 0.95  # permanent water
        assert (water[clear & (landcover == 3)] == 0).mean() > 0.99  # forest
    with rasterio.open(next((tmp_path / "out" / "scene").glob("ndvi_max_*.tif"))) as src:
        ndvi_max = src.read(1)
    forest = (landcover == 3) & np.isfinite(ndvi_max)
    assert forest.any() and np.median(ndvi_max[forest]) > 0.75
    assert result.manifest["valid_fraction_by_date"]["scene"][0] < 1.0
