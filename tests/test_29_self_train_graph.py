"""The self-trained map's graph: the neighbour NDVI comparisons and the training selection stay a few
layers, whatever the window and the number of blocks, and give the per-pixel values of a plain reference."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from agromap.rice.self_train_labels import clear_indices
from agromap.rice.self_train_neighbours import ndvi_close_neighbours, ndvi_rms_to
from agromap.rice.self_trained import self_trained_rice_map
from agromap.scenes import make_scene
from agromap.testing import raise_if_dask_computes
from pixel_stacks import random_optical


def _random_stack(ny: int, nx: int, seed: int = 0) -> tuple[xr.Dataset, xr.DataArray]:
    """An optical stack of 30 dates with a fifth of the values missing, and a random source mask."""
    rng = np.random.default_rng(seed)
    ds = random_optical(rng, (30, ny, nx), {"blue": (0.01, 0.12), "green": (0.02, 0.1), "red": (0.02, 0.2),
                                            "nir": (0.1, 0.5), "swir16": (0.05, 0.4)}, 8)
    return ds, xr.DataArray(rng.random((ny, nx)) < 0.6, dims=("y", "x"))


def _reference(ds: xr.Dataset, source: xr.DataArray, radius: int, min_common: int) -> np.ndarray:
    """Per pixel and neighbour offset, the RMS NDVI difference over the dates clear in both (NaN
    where the neighbour is outside the raster, not in ``source`` or shares too few dates): one
    pixel pair at a time."""
    ok, ndvi, _ = clear_indices(ds)
    v = np.where(ok.values, ndvi.values, np.nan).astype(np.float64)
    src = source.values
    _, ny, nx = v.shape
    w = 2 * radius + 1
    out = np.full((ny, nx, w * w), np.nan)
    for y in range(ny):
        for x in range(nx):
            for k, (dy, dx) in enumerate((a, b) for a in range(-radius, radius + 1) for b in range(-radius, radius + 1)):
                yy, xx = y - dy, x - dx
                if (dy, dx) == (0, 0) or not (0 <= yy < ny and 0 <= xx < nx) or not src[yy, xx]:
                    continue
                both = np.isfinite(v[:, y, x]) & np.isfinite(v[:, yy, xx])
                if both.sum() >= min_common:
                    out[y, x, k] = np.sqrt(np.mean((v[both, y, x] - v[both, yy, xx]) ** 2))
    return out


@pytest.mark.parametrize("chunk", [None, 3, 4])
@pytest.mark.parametrize("radius", [1, 2])
def test_the_neighbour_kernel_is_the_per_pixel_reference_across_blocks_and_edges(chunk, radius):
    ds, source = _random_stack(9, 7)
    ref = _reference(ds, source, radius, 4)
    if chunk is not None:  # blocks smaller than the window's reach: halos from two blocks away
        ds, source = ds.chunk({"time": -1, "y": chunk, "x": chunk}), source.chunk({"y": chunk, "x": chunk})
    with raise_if_dask_computes():
        best = ndvi_rms_to(ds, source, radius, 4)
        close = ndvi_close_neighbours(ds, source, radius, 4, 0.25)
    assert best.dtype == np.float32 and close.dtype == np.int16 and best.dims == close.dims == ("y", "x")
    with np.errstate(all="ignore"):
        want_best = np.fmin.reduce(ref, axis=-1)
    np.testing.assert_allclose(best.values, want_best, rtol=1e-6, equal_nan=True)
    # the thresholds compared on values well away from the bar: no rounding decides them
    assert not np.any(np.abs(ref[np.isfinite(ref)] - 0.25) < 1e-6)
    np.testing.assert_array_equal(close.values, (ref <= 0.25).sum(axis=-1))
    assert np.isfinite(want_best).sum() > 20 and 0 < int(close.values.sum()) < close.size * 2


def test_the_neighbour_comparison_is_a_few_layers_whatever_the_window():
    ds, source = _random_stack(12, 12, seed=1)
    ds, source = ds.chunk({"time": -1, "y": 4, "x": 4}), source.chunk({"y": 4, "x": 4})
    ok, ndvi, _ = clear_indices(ds)
    inputs = set(ok.data.__dask_graph__().layers) | set(ndvi.data.__dask_graph__().layers) \
        | set(source.data.__dask_graph__().layers)
    own = [set(ndvi_close_neighbours(ds, source, r, 4, 0.25).data.__dask_graph__().layers) - inputs for r in (1, 3)]
    # the masked NDVI, the halos (with the raster's edges) and the kernel, whatever the window; an
    # xarray expression per offset made six layers each (48 for radius 1, 288 for radius 3)
    assert len(own[0]) == len(own[1]) <= 16, sorted(own[1])
    # a one-row raster: no neighbour above or below, the window reaches past the raster
    row, src = _random_stack(1, 5, seed=2)
    got = ndvi_rms_to(row.chunk({"y": 1, "x": 2}), src.chunk({"y": 1, "x": 2}), 3, 4).values
    np.testing.assert_allclose(got, np.fmin.reduce(_reference(row, src, 3, 4), axis=-1), rtol=1e-6)


def test_the_training_selection_is_one_task_per_block_and_no_copy_of_the_graph():
    sc = make_scene("wetland_confusion", size=32, seed=0, chunk=16)
    with raise_if_dask_computes():
        out = self_trained_rice_map(sc.s2, sar=sc.s1[["vv", "vh"]], rule="both")
    graph = out.__dask_graph__()
    layers = graph.layers
    # each layer holds its own step's tasks only: a delayed call per block used to carry a copy of
    # the whole graph upstream of it, once per block (the build grew as the blocks squared)
    assert sum(len(layer) for layer in layers.values()) == len(dict(graph))
    blocks = [k for k in layers if k.startswith("_select_located")]
    fits = [k for k in layers if k.startswith("fit_located")]
    assert len(blocks) == 1 and len(fits) == 1
    assert len(layers[blocks[0]]) == 4 and len(layers[fits[0]]) == 1  # 2 x 2 blocks, one fit


def test_the_label_steps_keep_the_blocks_of_the_rule():
    from agromap.rice.self_train_params import SelfTrainParams
    from agromap.rice.self_train_rule import run_rule, split_stacks

    sc = make_scene("wetland_confusion", size=32, seed=0, chunk=16)
    optical, sar = split_stacks(sc.s2, sc.s1[["vv", "vh"]])
    spec = SelfTrainParams()
    # the square windows (upland crops' radar flood, field-edge rescue, the fused canopy's field
    # share) moved the block edges by a pixel and every later step took the union of both
    for rule in ("optical", "both"):
        out = run_rule(optical, sar, rule, None, None, spec.blind_gap_days, True, spec=spec)
        assert out["rice_score"].chunks == out["qa_flags"].chunks == ((16, 16), (16, 16)), rule
