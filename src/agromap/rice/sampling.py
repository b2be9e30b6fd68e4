"""Stratified random reference samples from a class map: the points to visit or to interpret.

The map classes are the strata (Olofsson et al. 2014): within each class, ``n`` pixels are drawn
by simple random sampling without replacement, and the pixel centres are returned as points.

How it draws, in one pass. Every pixel gets a pseudo-random 64-bit key that depends only on the
seed and its global position (the splitmix64 mixer of ``row * width + col``, a bijection, so keys
never tie). Each block keeps, per class, its ``n`` smallest keys and counts its pixels per class;
the ``n`` smallest keys of a class over the whole map are then a simple random sample of that
class. The draw is therefore deterministic for a seed and independent of the chunking, and it
reads every block exactly once. This is an export-edge function: it **computes** the class map
(one ``dask.compute`` over all blocks), like writing a file does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask
import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import SamplingError
from ..io.grid import crs_name, crs_of, geobox_of
from ..io.write import atomic_write_text

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [ "REFERENCE_COLUMN", "stratified_sample", "write_geojson"]

#: The reference-class column of a sample: written empty by :func:`stratified_sample` (and
#: ``agromap rice-sample``), filled by the interpreters, read by the pipeline's accuracy step
#: (``reference_field`` of a rice layer defaults to it).
REFERENCE_COLUMN = "reference"

_U64 = np.uint64


def _splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The splitmix64 finaliser, a bijection on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def _seed_mask(seed: int) -> np.uint64:
    return _splitmix64(np.array([seed % 2**64], dtype=np.uint64))[0]


def _sample_block(
    block: NDArray[Any],
    row0: int,
    col0: int,
    width: int,
    classes: NDArray[np.int64],
    n_wanted: NDArray[np.int64],
    mask: np.uint64,
) -> tuple[NDArray[np.int64], NDArray[np.uint64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Per class, the ``n`` smallest-key pixels of one block, plus the block's class counts.

    Returns ``(class_index, key, row, col, counts)`` with global rows/cols; ``counts[i]`` is the
    number of pixels of ``classes[i]`` in the block.
    """
    flat = np.asarray(block).reshape(-1)
    h, w = block.shape
    counts = np.zeros(classes.size, dtype=np.int64)
    out_c, out_k, out_i = [], [], []
    for ci, (value, n) in enumerate(zip(classes, n_wanted)):
        idx = np.flatnonzero(flat == value)
        counts[ci] = idx.size
        if idx.size == 0 or n == 0:
            continue
        r = row0 + idx // w
        c = col0 + idx % w
        keys = _splitmix64((r * width + c).astype(np.uint64) ^ mask)
        if idx.size > n:
            keep = np.argpartition(keys, n - 1)[:n]
            idx, keys = idx[keep], keys[keep]
        out_c.append(np.full(idx.size, ci, dtype=np.int64))
        out_k.append(keys)
        out_i.append(idx)
    if not out_c:
        e = np.zeros(0, dtype=np.int64)
        return e, np.zeros(0, dtype=np.uint64), e, e, counts
    idx = np.concatenate(out_i)
    return (np.concatenate(out_c), np.concatenate(out_k), row0 + idx // w, col0 + idx % w, counts)


def _blocks(arr: xr.DataArray, args: tuple[Any, ...]) -> list[Any]:
    """Run :func:`_sample_block` on every block: eagerly for numpy, one compute for dask.

    Design note: the per-block output is a variable-length record set, not an array, so
    ``map_blocks``/``apply_ufunc`` do not fit; ``to_delayed`` keeps one task per source block.
    """
    data = arr.data
    width = arr.sizes["x"]
    if not dask.is_dask_collection(data):
        return [_sample_block(np.asarray(data), 0, 0, width, *args)]
    ychunks, xchunks = data.chunks
    rows0 = np.concatenate([[0], np.cumsum(ychunks)[:-1]])
    cols0 = np.concatenate([[0], np.cumsum(xchunks)[:-1]])
    delayed = data.to_delayed()
    tasks = [
        dask.delayed(_sample_block, pure=True)(delayed[i, j], int(rows0[i]), int(cols0[j]), width, *args)
        for i in range(len(ychunks))
        for j in range(len(xchunks))
    ]
    return list(dask.compute(*tasks))


def stratified_sample(
    class_map: xr.DataArray,
    n_per_class: Mapping[int, int],
    *,
    seed: int,
    nodata: int | None = 255,
    class_names: Mapping[int, str] | None = None,
    allow_fewer: bool = False,
) -> gpd.GeoDataFrame:
    """Draw a stratified random sample of pixel centres, the map classes being the strata.

    Parameters
    ----------
    class_map : xarray.DataArray
        ``(y, x)`` integer class map (uint8, nodata 255) with a GeoBox; numpy or dask.
        **Computed** once here (export edge), one task per block.
    n_per_class : mapping of int to int
        Sample size per class value, e.g. from :func:`agromap.rice.sample_design.allocate_samples`.
    seed : int
        Non-negative seed; the same seed, map and sizes give the same points for any chunking.
    nodata : int, optional
        Value never sampled (it cannot be requested).
    class_names : mapping of int to str, optional
        Adds a ``map_class_name`` column.
    allow_fewer : bool
        When a class has fewer pixels than requested, take them all instead of raising.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per point in random order, EPSG:4326 point geometry at the pixel centre, columns
        ``sample_id`` (1..n), ``map_class`` (int), [``map_class_name``], ``row``, ``col`` (pixel
        indices), ``x``, ``y`` (map CRS), ``map_crs``, ``lon``, ``lat``, and an empty
        :data:`REFERENCE_COLUMN` (``reference``) to fill in (1 rice, 0 other), the column the
        accuracy step of the pipeline reads. ``attrs["stratum_pixels"]`` holds the pixel count of each
        requested class, ``attrs["seed"]`` the seed.

    Raises
    ------
    SamplingError
        For the nodata value or a negative size in ``n_per_class``, a negative seed, or a class
        with fewer pixels than requested (unless ``allow_fewer``).
    """
    import geopandas as gpd
    from pyproj import Transformer

    if class_map.ndim != 2 or set(class_map.dims) != {"y", "x"}:
        raise SamplingError(f"class_map must be (y, x), got dims {class_map.dims}; select one layer/time first.")
    class_map = class_map.transpose("y", "x")
    if not np.issubdtype(class_map.dtype, np.integer):
        raise SamplingError(f"class_map must hold integer classes (uint8), got {class_map.dtype}.")
    if seed < 0:
        raise SamplingError(f"seed must be >= 0, got {seed}.")
    gbox = geobox_of(class_map)
    classes = np.array(sorted(int(c) for c in n_per_class), dtype=np.int64)
    wanted = np.array([int(n_per_class[c]) for c in classes], dtype=np.int64)
    if nodata is not None and nodata in classes:
        raise SamplingError(f"class {nodata} is the nodata value and cannot be sampled; drop it from n_per_class.")
    if classes.size == 0 or np.any(wanted < 0):
        raise SamplingError(f"n_per_class must map class values to sizes >= 0, got {dict(n_per_class)}.")

    parts = _blocks(class_map, (classes, wanted, _seed_mask(seed)))
    counts = np.sum([p[4] for p in parts], axis=0)
    short = {int(c): (int(n), int(h)) for c, n, h in zip(classes, wanted, counts) if h < n}
    if short and not allow_fewer:
        detail = ", ".join(f"class {c}: {n} requested, {h} pixels" for c, (n, h) in short.items())
        raise SamplingError(f"not enough pixels to sample ({detail}); lower n_per_class or pass allow_fewer=True.")

    ci = np.concatenate([p[0] for p in parts])
    keys = np.concatenate([p[1] for p in parts])
    rows = np.concatenate([p[2] for p in parts])
    cols = np.concatenate([p[3] for p in parts])
    order = np.argsort(keys, kind="stable")  # keys are unique: a random, chunk-independent order
    ci, keys, rows, cols = ci[order], keys[order], rows[order], cols[order]
    # Within each class keep the n smallest keys; rank of each point inside its class:
    rank = np.zeros(ci.size, dtype=np.int64)
    for i in range(classes.size):
        sel = np.flatnonzero(ci == i)
        rank[sel] = np.arange(sel.size)
    keep = rank < wanted[ci]
    ci, rows, cols = ci[keep], rows[keep], cols[keep]

    aff = gbox.affine  # pixel centres, written out to avoid affine's deprecated `*` on arrays
    xs = aff.c + aff.a * (cols + 0.5) + aff.b * (rows + 0.5)
    ys = aff.f + aff.d * (cols + 0.5) + aff.e * (rows + 0.5)
    to_ll = Transformer.from_crs(crs_of(gbox).to_wkt(), "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(xs, ys)
    values = classes[ci]
    table: dict[str, Any] = {"sample_id": np.arange(1, values.size + 1, dtype=np.int64), "map_class": values}
    if class_names is not None:
        table["map_class_name"] = [class_names.get(int(v), str(int(v))) for v in values]
    table.update(
        row=rows, col=cols, x=xs, y=ys, map_crs=crs_name(gbox.crs), lon=np.asarray(lon), lat=np.asarray(lat),
        **{REFERENCE_COLUMN: np.full(values.size, None, dtype=object)},
    )
    out = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    out.attrs["stratum_pixels"] = {int(c): int(h) for c, h in zip(classes, counts)}
    out.attrs["seed"] = int(seed)
    return out


def write_geojson(points: gpd.GeoDataFrame, path: str | os.PathLike[str], *, blind: bool = False) -> Path:
    """Write sample points as an RFC 7946 GeoJSON FeatureCollection, atomically.

    The file is written to a ``.partial`` file in the same directory, fsynced and moved into place
    with ``os.replace`` (:func:`agromap.io.write.atomic_write_text`), so readers never see a
    partial file.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        From :func:`stratified_sample` (any CRS; written as EPSG:4326 lon/lat).
    path : path-like
        Destination ``.geojson``.
    blind : bool
        Drop ``map_class``/``map_class_name`` so interpreters label the points without seeing the
        map (recommended for the response design); keep the full file to join the labels back on
        ``sample_id``.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    dest = Path(path)
    gdf = points.to_crs("EPSG:4326") if points.crs is not None else points
    if blind:
        gdf = gdf.drop(columns=[c for c in ("map_class", "map_class_name") if c in gdf.columns])
    doc = json.loads(gdf.to_json(na="null", show_bbox=False, drop_id=True))
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, json.dumps(doc, ensure_ascii=False))
    return dest
