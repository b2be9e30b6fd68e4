"""The direct tile graph: one task per output tile, for an area of per-pixel layers read from files.

The general graph of an area is built from the science's lazy steps (read each band's chunk of
each date, scale and mask it, stack the dates, compute the indices, run the rule, encode each
layer): several tasks per input chunk, which dask builds, optimises and materialises before the
first pixel is read, and which :mod:`agromap.pipeline.fusion` then regroups per output tile.
When every layer of an area is a per-pixel chain (its product declares ``per_pixel`` and
``pixels``, :class:`~agromap.pipeline.products.base.Product`) and every band of every date is a
file on the run grid read as it is (no reprojection, no mosaic of several scenes), that
regrouping is known before any graph exists: one task per tile reads the tile's window of every
file once, holds it as the stack's window in memory, and runs the product's own builder on it
(the same lazy code, which computes at once on arrays in memory). Its layers and its usable-pixel
mask replace the lazy ones in the run: stores, encoding, district tables and accuracy reductions
take them as they took the general graph's. The functions applied, their inputs and the chunking
are those of the general graph, so every byte is the same; the builder stays the one reference
implementation, and anything else (SAR speckle filters, area-wide thresholds, warped or
mosaicked inputs) keeps the general graph, chosen here with the reason logged and reported.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from dask._task_spec import Task

__all__ = ["TileGraph", "VALID", "plan_tile_graph", "run_tile"]

VALID = "\0valid"
"""Key of a tile's usable-pixel mask among its results (not a layer stem)."""


@dataclass(frozen=True)
class _Recipe:
    """What every tile task of an area needs, carried inside each task rather than as a graph key.

    As a key of its own every tile task would depend on it, and a distributed scheduler places a
    task with a dependency on the worker that holds it: with few tiles per worker (up to two per
    thread, where dask does not treat them as root tasks to spread) all of them queued on the one
    worker that held the recipe while the others idled. Without a dependency the tiles are spread
    by load. A recipe pickles to a few tens of kB, once per graph on submission (pickle keeps one
    copy of an object referenced by every task) and once per task sent to a worker.
    """

    readers: tuple[tuple[str, tuple[Any, ...]], ...]
    """Per stack variable (in the stack's order), its :class:`~agromap.io.read.BandReader` per date."""
    attrs: tuple[dict[str, Any], ...]
    """Each variable's attributes in the stack."""
    frame: xr.Dataset
    """The stack without its variables: coordinates and attributes."""
    area: Any
    """The area's configuration."""
    entries: tuple[tuple[Callable[..., Mapping[str, xr.DataArray]], Any], ...]
    """``(pixels, layer entry)`` of each layer entry to compute."""
    resolve: Callable[[str], Any]
    stems: frozenset[str]
    """The layers to return (stale ones)."""
    valid: bool
    """Return the tile's usable-pixel mask too."""


def run_tile(recipe: _Recipe, ys: slice, xs: slice) -> dict[str, np.ndarray]:
    """Compute one tile: its window of every file, then the area's QA mask and builders on it in memory.

    Each variable's dates are read straight into one ``(time, y, x)`` array, with one GDAL call for
    all of them where the files allow (:func:`~agromap.io.read.read_stack`), the QA band first so
    that the optical bands are scaled, set NaN at nodata and masked in one pass over the stack:
    the values :func:`~agromap.pipeline.products.base.masked_optical` gives the general graph
    (NaN where a date's QA says unusable), without the unmasked copy and the stacking copy.

    Returns
    -------
    dict
        Each wanted layer's ``(y, x)`` pixels by stem, and under :data:`VALID` the ``(time, y, x)``
        usable-pixel mask when the recipe asks for it.
    """
    from ..io import scratch
    from ..io.open_files import gdal_settings
    from .products import OPTICAL, AreaContext
    from .products.base import valid_mask

    frame = recipe.frame.isel(y=ys, x=xs)
    shape = (frame.sizes["y"], frame.sizes["x"])
    dims = ("time", "y", "x")
    # One GDAL environment for the tile's reads (every file is read once per tile) instead of one per read.
    with gdal_settings(recipe.readers[0][1][0].gdal_env):
        data = {name: xr.Variable(dims, _read_dates(readers, ys, xs, shape), attrs)
                for (name, readers), attrs in zip(recipe.readers, recipe.attrs, strict=True) if readers[0].raw}
        # The mask reads the QA band only (products.mask_dataset masks the area's stack the same way).
        valid = valid_mask(xr.Dataset(data, coords=frame.coords), recipe.area) if data else None
        valid_px = None if valid is None else _pixels_of(valid, dims)
        unusable = None if valid_px is None else ~valid_px
        for (name, readers), attrs in zip(recipe.readers, recipe.attrs, strict=True):
            if name not in data:
                data[name] = xr.Variable(dims, _read_dates(readers, ys, xs, shape,
                                                           unusable if name in OPTICAL else None), attrs)
    ds = xr.Dataset({name: data[name] for name, _ in recipe.readers}, coords=frame.coords, attrs=frame.attrs)
    ctx = AreaContext(recipe.area, ds, recipe.resolve)
    out: dict[str, np.ndarray] = {}
    for pixels, entry in recipe.entries:
        for stem, arr in pixels(ctx, entry).items():
            if stem in recipe.stems:
                out[stem] = _pixels_of(arr, ("y", "x"))
    if recipe.valid:
        assert valid_px is not None  # the recipe asks for it only when the stack has a QA band
        out[VALID] = valid_px
    # The stacks are kept for this thread's next tile, unless a result is a view of one (a layer
    # that is a band as read).
    for var in data.values():
        stack = var.data
        if not any(np.shares_memory(stack, res) for res in out.values()):
            scratch.give_back("stack", stack)
    return out


def _pixels_of(arr: xr.DataArray, dims: tuple[str, ...]) -> np.ndarray:
    """``arr``'s numpy pixels in ``dims`` order (transposed only when its dims are in another order)."""
    return np.asarray(arr.data if arr.dims == dims else arr.transpose(*dims).data)


def _read_dates(readers: Sequence[Any], ys: slice, xs: slice, shape: tuple[int, int],
                unusable: np.ndarray | None = None) -> np.ndarray:
    """One variable's window on every date as a ``(time, y, x)`` array, each date read in place.

    ``unusable`` (``(time, y, x)`` bool) sets more pixels NaN, in the same pass as nodata.
    """
    from ..io import scratch
    from ..io.read import read_stack

    # Every date with one GDAL call where the files allow it: the thread takes the GIL back once.
    return read_stack(readers, ys, xs, scratch.take("stack", (len(readers), *shape), readers[0].dtype), unusable)


class _TileTask(Task):
    """A tile's task, never merged into the task that uses it.

    dask optimises arrays and delayed objects apart, and fuses a task with its only user: in a
    graph where one collection takes a single result of the tile (the usable-pixel mask for the
    valid fractions, a layer for its district table) the tile would be copied into that task and
    computed a second time for the stores.
    """

    __slots__ = ()

    @property
    def block_fusion(self) -> bool:
        """Always: see the class."""
        return True


def _built_pixels(build: Callable[..., Any], ctx: Any, entry: Any) -> dict[str, xr.DataArray]:
    """The data of a builder's layers by stem (for a product without its own ``pixels``)."""
    return {layer.stem: layer.data for layer in build(ctx, entry)}


@dataclass
class TileGraph:
    """An area's layers (and usable-pixel mask) as dask arrays over one task per tile."""

    layers: dict[str, xr.DataArray]
    """By stem: the lazy layer with its data replaced by picks from the tile tasks."""
    valid: xr.DataArray | None
    """The ``(time, y, x)`` usable-pixel mask from the tile tasks (``None`` without a QA band)."""
    tiles: int


def plan_tile_graph(plan: Any, jobs: Sequence[Any], resolve: Callable[[str], Any]) -> TileGraph | str:
    """The area's direct tile graph, or why the general graph is used (a sentence).

    Parameters
    ----------
    plan : AreaPlan
        The area, with its unmasked stack (``plan.stack``) and scenes.
    jobs : sequence of runner jobs
        The area's layers to compute (``job.layer``).
    resolve : callable
        The configuration's path resolver, handed to the builders.
    """
    from .products.registry import get_product

    stack = plan.stack
    if stack is None or not jobs:
        return "no stack to read"
    entries: dict[int, tuple[Any, Any]] = {}
    for job in jobs:
        layer = job.layer
        product = get_product(str(layer.layer_config.get("product")))
        entry = next((e for e in plan.config.layers if e.model_dump(mode="json") == layer.layer_config), None)
        if product.per_pixel is None or entry is None or not product.per_pixel(entry):
            return f"layer {layer.stem} is not declared a per-pixel chain"
        if layer.side:
            return f"layer {layer.stem} depends on a statistic of the whole area"
        entries[id(entry)] = (product.pixels or functools.partial(_built_pixels, product.build), entry)
    readers = _direct_readers(plan)
    if isinstance(readers, str):
        return readers
    ychunks, xchunks = stack.chunks["y"], stack.chunks["x"]
    for job in jobs:
        data = job.layer.data
        if data.dims != ("y", "x") or data.chunks != (ychunks, xchunks):
            return f"layer {job.layer.stem} is not chunked like the stack"
    frame = stack.drop_vars(list(stack.data_vars))
    recipe = _Recipe(tuple(readers.items()), tuple(dict(stack[v].attrs) for v in readers), frame, plan.config,
                     tuple(entries.values()), resolve, frozenset(j.layer.stem for j in jobs), plan.valid is not None)
    return _graph(recipe, jobs, plan.valid, ychunks, xchunks)


def _direct_readers(plan: Any) -> dict[str, tuple[Any, ...]] | str:
    """Each stack variable's file reader per date, or why the stack is not plain file reads."""
    from ..io.grid import geobox_of
    from ..io.read import band_reader
    from ..io.scene import group_scenes

    stack = plan.stack
    slices = group_scenes(plan.scenes, plan.config.dates.group_by)
    by_time: dict[Any, list[Any]] = {}
    for scene in plan.scenes:
        by_time.setdefault(slices[id(scene)], []).append(scene)
    if any(len(group) > 1 for group in by_time.values()):
        return "a date is a mosaic of several scenes"
    times = sorted(by_time)
    wanted = [np.datetime64(t.tz_localize(None), "ns") for t in times]
    if list(stack["time"].values) != wanted:
        return "the stack's dates are not its scenes' dates"
    names = [str(v) for v in stack.data_vars]
    out: dict[str, tuple[Any, ...]] = {}
    for name in names:
        per_date = []
        for t in times:
            arr = by_time[t][0].bands.get(name)
            if arr is None:
                return f"band {name} is missing on some date"
            reader = band_reader(arr)
            if reader is None:
                return f"band {name} is not read from a file as it is (a conversion or a virtual band)"
            if geobox_of(arr) != plan.geobox:
                return f"band {name} is reprojected or resampled to the run grid"
            if stack[name].dims != ("time", "y", "x") or reader.dtype != stack[name].dtype:
                return f"band {name} changes type in the stack"
            per_date.append(reader)
        out[name] = tuple(per_date)
    return out


def _graph(recipe: _Recipe, jobs: Sequence[Any], valid: xr.DataArray | None,
           ychunks: tuple[int, ...], xchunks: tuple[int, ...]) -> TileGraph:
    import dask.array as da
    from dask._task_spec import DataNode, TaskRef
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    token = tokenize(recipe.readers, sorted(recipe.stems), recipe.frame.attrs.get("scene_ids"),
                     [tuple(job.layer.data.dims) for job in jobs], ychunks, xchunks)
    tiles_name = f"agromap-tiles-{token}"
    ybounds, xbounds = np.cumsum((0, *ychunks)), np.cumsum((0, *xchunks))
    tiles: dict[Any, Any] = {}
    for i in range(len(ychunks)):
        for j in range(len(xchunks)):
            key = (tiles_name, i, j)
            ys, xs = slice(int(ybounds[i]), int(ybounds[i + 1])), slice(int(xbounds[j]), int(xbounds[j + 1]))
            tiles[key] = _TileTask(key, run_tile, DataNode(None, recipe), ys, xs)

    def picked(what: str, name: str, dtype: np.dtype[Any], lead: tuple[tuple[int, ...], ...]) -> da.Array:
        zeros = (0,) * len(lead)
        layer: dict[Any, Any] = {(name, *zeros, i, j): Task((name, *zeros, i, j), operator.getitem, TaskRef((tiles_name, i, j)), what)
                 for i in range(len(ychunks)) for j in range(len(xchunks))}
        graph = HighLevelGraph({tiles_name: tiles, name: layer}, {tiles_name: set(), name: {tiles_name}})
        return da.Array(graph, name, (*lead, ychunks, xchunks), dtype=dtype,
                        meta=np.empty((0,) * (len(lead) + 2), dtype=dtype))

    layers = {}
    for job in jobs:
        lazy = job.layer.data
        arr = picked(job.layer.stem, f"agromap-tile-{job.layer.stem}-{token}", lazy.dtype, ())
        layers[job.layer.stem] = lazy.copy(data=arr)
    valid_out = None
    if valid is not None:
        n_t = valid.sizes["time"]
        arr = picked(VALID, f"agromap-tile-valid-{token}", valid.dtype, ((n_t,),))
        valid_out = valid.transpose("time", "y", "x").copy(data=arr)
    return TileGraph(layers, valid_out, len(ychunks) * len(xchunks))
