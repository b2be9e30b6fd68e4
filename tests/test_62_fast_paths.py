"""The compute and publish fast paths give the bytes of the plain ones: the graph fused into one
task per output tile, and layers published on several threads at once."""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import threading
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
import yaml

from agromap.io import write
from agromap.pipeline import compute_layers, fusion, publish_layers, runner
from agromap.pipeline.config import load_config
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs
from tile_recipes import BANDS, rice_ndvi_tile_graph


def _digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*"))
            if p.suffix in (".tif", ".png")}


def test_fused_parallel_run_is_the_plain_serial_one(tmp_path, monkeypatch):
    """The rice rule from uint16 files on a 2 x 2 tile grid: plain graph and serial publication,
    then one task per tile and parallel publication; every COG and quicklook byte is the same."""
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9, 10) for d in (1, 16))
    spec = SceneSpec(shape=(300, 300), dates=dates, chunk=256, seed=5)
    write_stack_geotiffs(make_s2_stack(spec)[BANDS], tmp_path / "tifs")
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump({"name": "pub", "scheduler": "threads", "chunk": 256, "areas": [{
        "name": "a",
        "inputs": [{"kind": "folder", "path": "tifs", "bands": BANDS, "scale": 1e-4, "nodata": 0, "raw": ["scl"]}],
        "layers": [{"product": "rice", "method": "optical"}, {"product": "ndvi", "time": "median"}]}]}))
    cfg = load_config(cfg_path)
    monkeypatch.setattr(compute_layers, "TILE_GRAPH", False)  # the general graph, fused (the tile graph: below)
    monkeypatch.setattr(publish_layers, "PUBLISH_THREADS", 1)
    monkeypatch.setattr(compute_layers, "FUSE_TILES", False)
    plain = runner.run(cfg, tmp_path / "plain")

    seen: set[str] = set()
    frozen: list[int] = []
    stats: list[dict[str, int]] = []
    real_prepare, real_fuse = write.prepare_cog, fusion.fuse_tiles

    def prepare(*args, **kwargs):  # which threads prepared the layers
        seen.add(threading.current_thread().name)
        frozen.append(gc.get_freeze_count())
        return real_prepare(*args, **kwargs)

    def fuse(collections, grids=None):
        todo, st = real_fuse(collections, grids)
        stats.append(st)
        return todo, st

    monkeypatch.setattr(publish_layers, "prepare_cog", prepare)
    monkeypatch.setattr(compute_layers, "fuse_tiles", fuse)
    monkeypatch.setattr(publish_layers, "PUBLISH_THREADS", 4)
    monkeypatch.setattr(compute_layers, "FUSE_TILES", True)
    fast = runner.run(cfg, tmp_path / "fast")

    assert len(plain.outputs) == len(fast.outputs) == 8
    # Objects older than the run sat out its garbage collections (pipeline.heap), and only during it.
    assert min(frozen) > 10_000 and gc.get_freeze_count() == 0
    assert len(seen) > 1 and all(name.startswith("agromap-publish") for name in seen)
    assert stats[0]["tiles"] == 4 and stats[0]["tasks_after"] < stats[0]["tasks_before"] / 4
    a, b = _digests(tmp_path / "plain"), _digests(tmp_path / "fast")
    assert len(a) == 16 and a == b
    assert plain.manifest["valid_fraction_by_date"] == fast.manifest["valid_fraction_by_date"]


DELTA = Path(__file__).resolve().parents[1] / "sample_data" / "synthetic_rice_delta"


@pytest.fixture(scope="module")
def cloudy_tifs(tmp_path_factory):
    """300 x 560 px (edge tiles of 44 and 48 px at 256 px chunks), clouds, and a date delivered as nodata."""
    folder = tmp_path_factory.mktemp("tile-graph") / "tifs"
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9, 10) for d in (1, 16))
    spec = SceneSpec(shape=(300, 560), dates=dates, seed=5, missing_dates=("2023-07-16",))
    write_stack_geotiffs(make_s2_stack(spec)[BANDS], folder, blocksize=256)
    return folder


def _rice_run(tmp_path: Path, folder: Path, name: str, chunk: int, tile_graph: bool, monkeypatch,
              scheduler: str = "threads", **extra) -> runner.RunResult:
    cfg_path = tmp_path / f"{name}.yaml"
    cfg_path.write_text(yaml.safe_dump({"name": "tiles", "scheduler": scheduler, "chunk": chunk, **extra, "areas": [{
        "name": "a",
        "inputs": [{"kind": "folder", "path": str(folder), "bands": BANDS, "scale": 1e-4, "nodata": 0,
                    "raw": ["scl"]}],
        "layers": [{"product": "rice", "method": "optical", "calendar": None, "params": {"flood_t": 0.08},
                    "reference_sample": str(DELTA / "reference_sample.geojson")},
                   {"product": "ndvi", "time": "median"}, {"product": "evi", "time": "mean"},
                   {"product": "lswi", "time": "max"}, {"product": "ndwi"}],
        "districts": {"path": str(DELTA / "districts.geojson"), "id_field": "district_id", "name_field": "name"}}]}))
    monkeypatch.setattr(compute_layers, "TILE_GRAPH", tile_graph)
    return runner.run(load_config(cfg_path), tmp_path / name)


def _everything(out: Path, result: runner.RunResult) -> dict[str, object]:
    files = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*"))
             if p.suffix in (".tif", ".png", ".csv") or p.name.startswith("accuracy")}
    return {"files": files, "valid": result.manifest["valid_fraction_by_date"],
            "accuracy": result.manifest["accuracy"], "tables": result.manifest["tables"],
            "values": [(o["layer"], o.get("values"), o["valid_fraction"]) for o in result.outputs]}


@pytest.fixture(scope="module")
def general_run(tmp_path_factory, cloudy_tifs) -> dict[str, object]:
    """Every output of the general graph's run at 256 px chunks: what each tile-graph run must give."""
    out = tmp_path_factory.mktemp("general")
    with pytest.MonkeyPatch.context() as mp:
        general = _rice_run(out, cloudy_tifs, "general", 256, False, mp)
    assert "general graph" in general.manifest["cluster"]["graph"]
    expect = _everything(out / "general", general)
    files = expect["files"]
    assert sum(k.endswith(".tif") for k in files) == 7 + 3 + 10 and any(k.endswith(".csv") for k in files)  # type: ignore[union-attr]
    fractions = expect["valid"]["a"]  # type: ignore[index]
    assert any("accuracy" in k for k in files) and min(fractions) == 0.0 and 0.5 < max(fractions) < 1  # clouds, a lost date
    return expect


def test_tile_graph_run_is_the_general_one(tmp_path, monkeypatch, cloudy_tifs, general_run):
    """The optical rice map over files on their own grid, with an accuracy report and district
    tables, built as one task per output tile (edge tiles of 44 and 48 px): every COG, quicklook,
    table, accuracy report, valid fraction and side value is the general graph's."""
    from agromap.io import read

    reads: list[tuple[object, ...]] = []
    calls: list[int] = []
    real_read, real_bands = read.BandReader.read, read.read_bands

    def counted(self, ys, xs, *args, **kwargs):
        reads.append((self.path, ys.start, ys.stop, xs.start, xs.stop))
        return real_read(self, ys, xs, *args, **kwargs)

    def counted_bands(sources, shape, window, *args, **kwargs):
        calls.append(len(sources))
        reads.extend((path, window.row_off, window.row_off + window.height, window.col_off,
                      window.col_off + window.width) for path, _ in sources)
        return real_bands(sources, shape, window, *args, **kwargs)

    monkeypatch.setattr(read.BandReader, "read", counted)
    monkeypatch.setattr(read, "read_bands", counted_bands)
    tiled = _rice_run(tmp_path, cloudy_tifs, "tiled", 256, True, monkeypatch)
    monkeypatch.setattr(read.BandReader, "read", real_read)
    monkeypatch.setattr(read, "read_bands", real_bands)
    assert tiled.manifest["cluster"]["graph"] == "a: one task per output tile (6)"
    # Every window of every file read once, though the valid fractions, tables and stores all use it,
    # and each band's ten dates with one read call per tile.
    assert len(reads) == len(set(reads)) == 10 * len(BANDS) * 6
    assert calls == [10] * len(BANDS) * 6
    assert _everything(tmp_path / "tiled", tiled) == general_run


def test_tile_graph_in_spatial_blocks_is_the_general_one(tmp_path, monkeypatch, cloudy_tifs, general_run):
    """The same area run as one tile graph per block (max_graph_chunks=1) gives the same outputs."""
    blocked = _rice_run(tmp_path, cloudy_tifs, "blocked", 256, True, monkeypatch, max_graph_chunks=1)
    assert _everything(tmp_path / "blocked", blocked) == general_run


def test_tile_graph_on_the_embedded_cluster_is_the_general_one(tmp_path, monkeypatch, cloudy_tifs, general_run):
    """Tile tasks on the embedded dask.distributed cluster (pickled to its workers) give the same outputs."""
    local = _rice_run(tmp_path, cloudy_tifs, "local", 256, True, monkeypatch, scheduler="local")
    assert local.manifest["cluster"]["graph"] == "a: one task per output tile (6)"
    assert _everything(tmp_path / "local", local) == general_run


@pytest.mark.parametrize(("extra", "reason"), [
    ({"layers": [{"product": "rice", "method": "optical"}, {"product": "water_mask", "method": "mndwi"}]},
     "layer water_mask_mndwi_20230601 is not declared a per-pixel chain"),
    ({"grid": {"crs": "EPSG:32644", "resolution": 40.0}}, "band blue is reprojected or resampled to the run grid"),
])
def test_tile_graph_falls_back_and_says_why(tmp_path, cloudy_tifs, extra, reason):
    """An area the tile graph cannot compute keeps the general graph, and the manifest says why."""
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump({"name": "mixed", "scheduler": "threads", "chunk": 256, "areas": [{
        "name": "a",
        "inputs": [{"kind": "folder", "path": str(cloudy_tifs), "bands": BANDS, "scale": 1e-4, "nodata": 0,
                    "raw": ["scl"]}],
        "layers": [{"product": "rice", "method": "optical"}], **extra}]}))
    result = runner.run(load_config(cfg_path), tmp_path / "out")
    assert result.manifest["cluster"]["graph"] == f"a: general graph ({reason})"


def test_tile_task_pickles(tmp_path, cloudy_tifs):
    """What a tile task holds survives pickling (a worker process receives it) and computes the same."""
    import pickle

    from agromap.pipeline.tile_graph import run_tile

    graph, jobs, recipe = rice_ndvi_tile_graph(tmp_path, cloudy_tifs)
    (task,) = [t for k, t in dict(graph.layers[jobs[0].layer.stem].data.dask).items()
               if isinstance(k, tuple) and k[0].startswith("agromap-tiles-") and k[1:] == (1, 2)]
    # The recipe travels inside every tile task: no task depends on another, so a distributed
    # scheduler spreads the tiles over its workers by load.
    assert type(task.args[0]).__name__ == "DataNode" and not task.dependencies
    assert task.args[0].value is recipe
    here = run_tile(recipe, *task.args[1:])
    there = pickle.loads(pickle.dumps(task)).func(pickle.loads(pickle.dumps(recipe)), *task.args[1:])
    assert set(here) == set(there) == {job.layer.stem for job in jobs} | {"\0valid"}
    for key, value in here.items():
        assert value.shape[-2:] == (300 - 256, 560 - 512)  # the corner tile: both edges odd-sized
        np.testing.assert_array_equal(value, there[key])


def test_band_reader_only_for_untouched_reads(cloudy_tifs):
    """A band as read has its file reader; any computation on it has none."""
    from agromap.io.read import band_reader, open_band

    band = open_band(cloudy_tifs / "2023-06-01_red.tif", name="red", scale=1e-4, chunk=256)
    reader = band_reader(band)
    assert reader is not None and reader.path.endswith("2023-06-01_red.tif")
    np.testing.assert_array_equal(reader[10:20, 30:50], band.isel(y=slice(10, 20), x=slice(30, 50)).values)
    assert band_reader(band.rename("x").assign_attrs(a=1)) is reader
    assert band_reader(band * 2) is None and band_reader(band.chunk(128)) is None


def test_fusion_keeps_shared_steps_and_values():
    """Per-tile work becomes one task per tile; a step every tile needs (the mean) stays shared."""
    x = da.from_array(np.arange(64 * 64, dtype="f8").reshape(64, 64), chunks=16)
    y = ((x + 1) * 2 - x.mean()) ** 2
    z = np.sqrt(y) + 1
    targets = [np.zeros((64, 64)), np.zeros((64, 64))]
    stores = [da.store(a, t, lock=False, compute=False) for a, t in zip((y, z), targets)]
    total = y.sum()
    todo, stats = fusion.fuse_tiles([*stores, total, np.float32(3.5)])  # an in-memory value passes through
    assert stats["tiles"] == 16
    (_, _, fused_total, value) = dask.compute(*todo, scheduler="threads")
    assert value == np.float32(3.5)
    expect_y = ((np.arange(64 * 64).reshape(64, 64) + 1) * 2 - np.arange(64 * 64).mean()) ** 2
    np.testing.assert_array_equal(targets[0], expect_y)
    np.testing.assert_array_equal(targets[1], np.sqrt(expect_y) + 1)
    assert fused_total == pytest.approx(float(expect_y.sum()))
    graph = dict(todo[0].dask)  # type: ignore[union-attr]
    assert sum(1 for k in graph if isinstance(k, tuple) and str(k[0]).startswith("agromap-tile-")) == 16
    assert any("mean" in str(k) for k in graph)  # shared, not copied into every tile
    # A tile's share of the sum runs inside its task: what it sums (y) is no longer handed out of
    # the tile task to a task per tile, only the tile's partial sum is.
    names = [str(k[0]) for k in graph if isinstance(k, tuple) and len(k) == 3]
    assert not [n for n in names if n.startswith("pow-")]
    assert len([n for n in names if re.fullmatch(r"sum-[0-9a-f]+", n)]) == 16


def test_gdal_warning_is_blamed_on_its_own_thread():
    """A warning raised while one layer converts fails that layer, not its neighbour."""
    logger = logging.getLogger("rasterio._env")
    ready, done = threading.Barrier(2), threading.Event()
    caught: dict[str, list[str]] = {}

    def layer(name: str, warn: bool) -> None:
        with write._capture_gdal_warnings() as handler:
            ready.wait()
            if warn:
                logger.warning("TIFFWriteDirectory: something odd")
                done.set()
            else:
                done.wait(5)
            caught[name] = handler.messages

    threads = [threading.Thread(target=layer, args=("a", True)), threading.Thread(target=layer, args=("b", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert caught == {"a": ["TIFFWriteDirectory: something odd"], "b": []}
    # A warning from a thread that captures nothing (GDAL's own workers) reaches every capture.
    with write._capture_gdal_warnings() as handler:
        t = threading.Thread(target=logger.warning, args=("from a GDAL worker",))
        t.start()
        t.join()
    assert handler.messages == ["from a GDAL worker"]
    assert not write._CAPTURING


@pytest.mark.parametrize("level", [logging.ERROR, logging.NOTSET])
def test_capture_restores_the_logger_level(level):
    logger = logging.getLogger("rasterio._env")
    old = logger.level
    logger.setLevel(level)
    try:
        with write._capture_gdal_warnings():
            with write._capture_gdal_warnings():
                pass
        assert logger.level == level
    finally:
        logger.setLevel(old)


@pytest.mark.parametrize("qa", ["qa_pixel", None])
def test_tile_graph_with_an_offset_and_landsat_qa_or_none_is_the_general_one(tmp_path, monkeypatch, qa):
    """Landsat-like DN (scale 2.75e-5, offset -0.2) masked by QA_PIXEL bits, or a stack without a QA
    band (nothing masked): the tile graph's in-place scaling and masking give the general graph's bytes."""
    import xarray as xr

    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9) for d in (1, 16))
    ds = make_s2_stack(SceneSpec(shape=(260, 300), dates=dates, seed=11))
    bands = ["blue", "green", "red", "nir", "swir16"]
    out = ds[bands]
    if qa:
        cloudy = ds["scl"].isin([3, 8, 9, 10])
        out = out.assign(qa_pixel=xr.where(cloudy, 21824 | 8, 21824).astype(np.uint16))
    write_stack_geotiffs(out, tmp_path / "tifs", scale=2.75e-5, offset=-0.2, blocksize=256)
    cfg_path = tmp_path / "run.yaml"
    names = bands + ([qa] if qa else [])
    cfg_path.write_text(yaml.safe_dump({"name": "ls", "scheduler": "threads", "chunk": 256, "areas": [{
        "name": "a",
        "inputs": [{"kind": "files", "datetime": d, "bands": {b: f"tifs/{d}_{b}.tif" for b in names},
                    "scale": 2.75e-5, "offset": -0.2, "nodata": 0, "raw": [qa] if qa else []} for d in dates],
        "layers": [{"product": "rice", "method": "optical", "calendar": None},
                   {"product": "ndvi", "time": "median"}, {"product": "savi", "time": "max"},
                   {"product": "mndwi"}]}]}))
    results = {}
    for tile_graph in (False, True):
        monkeypatch.setattr(compute_layers, "TILE_GRAPH", tile_graph)
        results[tile_graph] = runner.run(load_config(cfg_path), tmp_path / f"out{tile_graph}")
    assert results[True].manifest["cluster"]["graph"] == "a: one task per output tile (4)"
    assert "general graph" in results[False].manifest["cluster"]["graph"]
    general, tiled = (_everything(tmp_path / f"out{t}", results[t]) for t in (False, True))
    assert len(general["files"]) > 10 and general == tiled  # type: ignore[arg-type]
    fractions = general["valid"].get("a") if qa else None  # type: ignore[union-attr]
    assert fractions is None or min(fractions) < 1  # QA_PIXEL did mask clouds
