"""Spatial blocks: how an area too large for one task graph is split into successive graphs.

A dask graph costs time and memory per task before the first pixel is read: building and
optimising it, and keeping it while it runs. Past some thousands of input chunks that cost
grows with the area while the pixels in flight do not. The runner therefore computes a large
area as successive graphs, one per spatial block of its grid, each writing its window of the
same staging files. A block is a rectangle of whole chunks, so every task of a block's graph is
a task the one-graph run would have run, on the same inputs: the outputs are the same bytes.
Focal steps (speckle filters, region growing, minimum mapping unit) need a halo of pixels
around a block; dask's ``map_overlap`` reads it from the neighbouring chunks, which the block's
graph then contains (a border chunk's halo is read once per block that needs it).

What does not split is a statistic of the whole area that a layer's pixels depend on (an Otsu
flood threshold, a classifier trained on the area's confident pixels): such layers declare their
0-d ``side`` values, and they and the other layers of the same layer entry are computed as one
graph over the area, before the blocks. Reductions of
finished layers (class areas per district, the map at reference points) are computed after the
blocks from the staging files.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["AUTO_MAX_GRAPH_CHUNKS", "input_chunks", "block_windows", "max_graph_chunks"]

AUTO_MAX_GRAPH_CHUNKS = 4096
"""Input chunks one graph may hold when the configuration does not say (``max_graph_chunks``).

About 12 dates x 6 bands of a 4096 px square at 512 px chunks: graphs of this size are built
in well under a second and hold a few tens of MiB, while the fixed cost of one more graph (its
optimisation, a border chunk read twice) stays small against the pixels it computes."""

_COG_TILE = 512  # staging and COG tile edge: blocks start on tile borders when they can


def max_graph_chunks(configured: int | None) -> int:
    """The limit in force: the configured one, or :data:`AUTO_MAX_GRAPH_CHUNKS`."""
    return AUTO_MAX_GRAPH_CHUNKS if configured is None else int(configured)


def input_chunks(ds: Any) -> int:
    """Chunks of every variable of the area's stack (one chunk = one tile of one band of one date)."""
    total = 0
    for name in ds.data_vars:
        chunks = ds[name].chunks
        if chunks is None:
            continue
        total += math.prod(len(c) for c in chunks)
    return total


def block_windows(ds: Any, limit: int) -> list[tuple[slice, slice]] | None:
    """The ``(rows, cols)`` windows of the area's grid to compute one after another, or ``None``.

    Parameters
    ----------
    ds : xarray.Dataset
        The area's dask-backed ``(time, y, x)`` stack.
    limit : int
        Most input chunks one graph may hold (:func:`max_graph_chunks`).

    Returns
    -------
    list of (slice, slice) or None
        ``None`` when the whole area fits in one graph. Otherwise square blocks of whole chunks,
        row by row; a block is never smaller than one chunk, and its edge is a multiple of the
        512 px COG tile whenever it spans at least one tile.
    """
    total = input_chunks(ds)
    if total <= limit or "y" not in ds.chunks or "x" not in ds.chunks:
        return None
    ys, xs = ds.chunks["y"], ds.chunks["x"]
    per_chunk = total / (len(ys) * len(xs))  # input chunks behind one spatial chunk
    edge = max(1, math.isqrt(int(limit // per_chunk)))
    step = _tile_step(ys[0])
    if edge >= step:
        edge -= edge % step
    if edge >= max(len(ys), len(xs)):
        return None
    rows, cols = _spans(ys, edge), _spans(xs, edge)
    return [(r, c) for r in rows for c in cols]


def _tile_step(chunk: int) -> int:
    """Chunks per block edge that make the edge a whole number of COG tiles (1 if none can)."""
    return math.lcm(chunk, _COG_TILE) // chunk


def _spans(chunks: tuple[int, ...], edge: int) -> list[slice]:
    bounds = [0]
    for size in chunks:
        bounds.append(bounds[-1] + size)
    return [slice(bounds[i], bounds[min(i + edge, len(chunks))]) for i in range(0, len(chunks), edge)]
