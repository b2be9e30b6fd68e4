"""A run's memory is bounded by the tiles in flight, whatever the area.

Arrays caught in a reference cycle outlive their tile until a full garbage collection, which
comes after an unpredictable number of tiles: the peak then grows with the area. Memory the
compute freed must also go back to the system before the publication allocates its own.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import weakref
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from agromap import indices, masks
from agromap.io.grid import attach_geobox, geobox_of, grid_or_none, north_up_geobox, require_same_grid
from agromap.pipeline import heap
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs
from tile_recipes import BANDS, rice_ndvi_tile_graph


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


def test_attached_grids_share_no_pandas_index(no_collector):
    """Each attach builds its own indexes from the per-grid cache: a pandas index kept across runs
    would gather a dead weak reference for every view taken of it (pandas prunes them at 500)."""
    gbox = north_up_geobox((8, 12), "EPSG:32644", 10.0, (500_000.0, 2_900_000.0))
    a, _ = _band(gbox, 0.3)
    b, _ = _band(gbox, 0.1)
    ia, ib = a.indexes["x"], b.indexes["x"]
    assert ia is not ib and ia._references is not ib._references
    np.testing.assert_array_equal(a.x.values, 500_005.0 + 10.0 * np.arange(12))
    assert a.y.values[0] == 2_899_995.0 and a.x.attrs["resolution"] == 10.0
    assert a.spatial_ref.attrs["crs_wkt"].startswith("PROJCRS") and int(a.spatial_ref) == 32644
    dead_before = sum(r() is None for r in ia._references.referenced_blocks)
    for _ in range(50):
        a.isel(x=slice(0, 6))  # a run's tile slices: views of the index, gone with the run
    del a, b, ia, ib
    c, _ = _band(gbox, 0.2)
    assert sum(r() is None for r in c.indexes["x"]._references.referenced_blocks) <= dead_before
    assert c.indexes["x"].equals(pd.Index(500_005.0 + 10.0 * np.arange(12)))


def test_grid_or_none_without_a_grid():
    assert grid_or_none(xr.DataArray(np.zeros(3), dims=("time",))) is None


def test_tile_task_leaves_nothing_to_the_cyclic_collector(tmp_path, no_collector):
    """A tile's bands, indices and the rule's arrays are freed when its task returns."""
    from agromap.pipeline.tile_graph import run_tile

    folder = tmp_path / "tifs"
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9) for d in (1, 16))
    write_stack_geotiffs(make_s2_stack(SceneSpec(shape=(64, 96), dates=dates, seed=3))[BANDS], folder, blocksize=256)
    _, jobs, recipe = rice_ndvi_tile_graph(tmp_path, folder)
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


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux") or heap._malloc_trim() is None, reason="glibc only")
def test_release_free_heap_returns_freed_memory_to_the_system():
    """200 MiB freed below a live block stay resident until released (glibc trims only a heap's top)."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
    size = 64 * 1024  # below glibc's mmap threshold: from the heap, like a tile's small arrays
    blocks = [libc.malloc(size) for _ in range(3200)]
    try:
        for b in blocks:
            ctypes.memset(b, 1, size)
        for b in blocks[:-1]:
            libc.free(b)
        held = _rss_mib()
        assert heap.release_free_heap() is True
        assert held - _rss_mib() > 150
    finally:
        libc.free(blocks[-1])


def test_release_free_heap_without_glibc(monkeypatch):
    monkeypatch.setattr(heap, "_malloc_trim", lambda: None)
    assert heap.release_free_heap() is False
