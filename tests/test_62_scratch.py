"""A thread's large temporary arrays are reused from one tile to the next during a compute, and a
result never shares memory with an array that is reused."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from agromap.io import scratch
from agromap.io.open_files import kept_open
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs
from tile_recipes import BANDS, rice_ndvi_tile_graph


@pytest.fixture(scope="module")
def tifs(tmp_path_factory):
    """300 x 560 px at 256 px chunks: six tiles, two of them full 256 x 256."""
    folder = tmp_path_factory.mktemp("scratch") / "tifs"
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9) for d in (1, 16))
    write_stack_geotiffs(make_s2_stack(SceneSpec(shape=(300, 560), dates=dates, seed=3))[BANDS], folder,
                         blocksize=256)
    return folder


def test_arrays_are_reused_by_their_thread_within_a_compute_only():
    outside = scratch.take("t", (4, 4), np.float32)
    scratch.give_back("t", outside)
    assert scratch.take("t", (4, 4), np.float32) is not outside  # no compute: numpy.empty, nothing kept
    with kept_open():
        a = scratch.take("t", (4, 4), np.float32)
        assert scratch.take("t", (4, 4), np.float32) is not a  # handed to one caller at a time
        scratch.give_back("t", a)
        others: list[np.ndarray] = []
        worker = threading.Thread(target=lambda: others.append(scratch.take("t", (4, 4), np.float32)))
        worker.start()
        worker.join()
        assert others[0] is not a  # another thread's array
        assert scratch.take("t", (4, 4), np.float64) is not a  # another type
        assert scratch.take("u", (4, 4), np.float32) is not a  # another role
        assert scratch.take("t", (4, 4), np.float32) is a
        scratch.give_back("t", a)
        scratch.give_back("t", a[1:])  # a view is never kept
        assert scratch.take("t", (3, 4), np.float32).base is None
    with kept_open():
        assert scratch.take("t", (4, 4), np.float32) is not a  # released when the compute ended


def test_tile_stacks_are_reused_and_results_stay_intact(tmp_path, tifs, monkeypatch):
    from agromap.pipeline.tile_graph import run_tile

    _graph, _jobs, recipe = rice_ndvi_tile_graph(tmp_path, tifs)
    tiles = [(slice(0, 256), slice(0, 256)), (slice(0, 256), slice(256, 512))]
    alone = [run_tile(recipe, *t) for t in tiles]  # outside a compute: fresh arrays for every tile
    taken: list[list[int]] = [[], []]
    take = scratch.take

    def counted(role, shape, dtype):
        arr = take(role, shape, dtype)
        if role == "stack":
            taken[-1].append(id(arr))
        return arr

    monkeypatch.setattr(scratch, "take", counted)
    with kept_open():
        taken.clear()
        results = []
        for t in tiles:
            taken.append([])
            results.append(run_tile(recipe, *t))
    # The second tile read into the first tile's stacks, and neither tile's results changed.
    assert len(taken[1]) == len(BANDS) and set(taken[1]) == set(taken[0])
    for got, want in zip(results, alone, strict=True):
        assert set(got) == set(want)
        for key in want:
            assert got[key].tobytes() == want[key].tobytes(), key


def test_a_result_that_is_a_view_of_a_stack_keeps_its_stack(tmp_path, tifs):
    """A layer that is a band as read is a view of the tile's stack: the next tile must not overwrite it."""
    from agromap.pipeline.tile_graph import run_tile

    _graph, _jobs, recipe = rice_ndvi_tile_graph(tmp_path, tifs)

    def first_date_nir(ctx, entry):
        return {"nir0": ctx.ds["nir"].isel(time=0)}

    recipe = dataclasses.replace(recipe, entries=((first_date_nir, None),), stems=frozenset({"nir0"}), valid=False)
    with kept_open():
        first = run_tile(recipe, slice(0, 256), slice(0, 256))
        kept = first["nir0"].copy()
        second = run_tile(recipe, slice(0, 256), slice(256, 512))
        assert not np.array_equal(kept, second["nir0"], equal_nan=True)  # the tiles differ
        assert first["nir0"].tobytes() == kept.tobytes()


def test_large_arrays_are_mapped_apart_and_reused_like_the_others():
    """Arrays of MAPPED_BYTES and more live in a mapping of their own (no huge pages asked), reused the same way."""
    shape = (2, scratch.MAPPED_BYTES // 8)  # float32: exactly MAPPED_BYTES
    with kept_open():
        a = scratch.take("big", shape, np.float32)
        assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable
        assert not a.flags.owndata  # the mapping owns the memory
        a[...] = 7.0
        scratch.give_back("big", a[:1])  # a view is never kept
        assert scratch.take("big", shape, np.float32) is not a
        scratch.give_back("big", a)
        assert scratch.take("big", shape, np.float32) is a
        assert float(a.sum()) == 7.0 * a.size
    assert scratch.take("big", shape, np.float32).flags.owndata  # outside a compute: numpy.empty
