"""What a tile task leaves behind: nothing for Python's cyclic collector to free later.

A run's memory must be bounded by the tiles in flight, whatever the area. Arrays caught in a
reference cycle outlive their tile until a full garbage collection, which comes after an
unpredictable number of tiles: the peak then grows with the area.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import numpy as np
import pytest
import xarray as xr
import yaml

from agromap import indices, masks
from agromap.io.grid import attach_geobox, geobox_of, grid_or_none, north_up_geobox, require_same_grid
from agromap.pipeline import runner
from agromap.pipeline.config import load_config
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs

BANDS = ["blue", "green", "red", "nir", "swir16", "scl"]


@pytest.fixture
def no_collector() -> Iterator[None]:
    """The cyclic collector off: only reference counting frees memory, as between two collections."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _band(gbox, value: float) -> tuple[xr.DataArray, weakref.ref[np.ndarray]]:
    data = np.full((3, *gbox.shape), value, dtype=np.float32)
    arr = attach_geobox(xr.DataArray(data, dims=("time", "y", "x"), name="b"), gbox)
    return arr, weakref.ref(data)


def test_grid_reads_leave_no_reference_cycle(no_collector):
    """Reading an array's grid (checks, masks, indices) frees its pixels with its last reference."""
    gbox = north_up_geobox((8, 12), "EPSG:32644", 10.0, (500_000.0, 2_900_000.0))
    a, a_data = _band(gbox, 0.3)
    b, b_data = _band(gbox, 0.1)
    valid = xr.ones_like(a, dtype=bool)
    assert geobox_of(a) == gbox and grid_or_none(a.to_dataset()) == gbox
    require_same_grid(a, b)
    masked = masks.apply_mask(a, valid)
    nd = indices.ndvi(a, b)
    assert float(nd[0, 0, 0]) == pytest.approx(0.5)
    del a, b, valid, masked, nd
    assert a_data() is None and b_data() is None


def test_grid_or_none_without_a_grid():
    assert grid_or_none(xr.DataArray(np.zeros(3), dims=("time",))) is None


def test_tile_task_leaves_nothing_to_the_cyclic_collector(tmp_path, no_collector):
    """A tile's bands, indices and the rule's arrays are freed when its task returns."""
    from agromap.pipeline.tile_graph import plan_tile_graph, run_tile

    folder = tmp_path / "tifs"
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9) for d in (1, 16))
    write_stack_geotiffs(make_s2_stack(SceneSpec(shape=(64, 96), dates=dates, seed=3))[BANDS], folder, blocksize=256)
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump({"name": "m", "chunk": 256, "areas": [{
        "name": "a",
        "inputs": [{"kind": "folder", "path": str(folder), "bands": BANDS, "scale": 1e-4, "nodata": 0,
                    "raw": ["scl"]}],
        "layers": [{"product": "rice", "method": "optical"}, {"product": "ndvi", "time": "median"}]}]}))
    cfg = load_config(cfg_path)
    plan = runner.plan_run(cfg)[0]
    jobs = [runner.Job(plan, layer, tmp_path / f"{layer.stem}.tif", "", True) for layer in plan.layers]
    graph = plan_tile_graph(plan, jobs, cfg.resolve)
    assert not isinstance(graph, str)
    recipe = next(v.value for v in dict(graph.layers[jobs[0].layer.stem].data.dask).values()
                  if type(v).__name__ == "DataNode")
    run_tile(recipe, slice(0, 64), slice(0, 96))  # first call: imports and compiled-kernel loading
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        out = run_tile(recipe, slice(0, 64), slice(0, 96))
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, (xr.DataArray, xr.Dataset, xr.Variable, np.ndarray))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert set(out) == {job.layer.stem for job in jobs} | {"\0valid"}
    assert left == [], f"{len(left)} xarray object(s) of the tile were freed only by the cyclic collector"
