"""One task per output tile: the run's graph fused along the tiles it writes.

The science is written as many small lazy steps (read a band's tile, scale it, mask it, stack the
dates, compute three indices, run the rule, encode each layer), which is how it stays readable
and testable. Scheduled as they are, they cost several tasks per input chunk; on a dask
scheduler every task has a fixed cost, and the intermediate arrays of a tile pass through the
scheduler's memory between tasks.

:func:`fuse_tiles` rewrites the finished graph so that everything needed by the writes of one
output tile, and by nothing else, runs as one task: the same functions on the same inputs, in
one thread, the intermediates freed as soon as they are used. The results are therefore those of
the unfused graph, bit for bit. Steps shared between tiles (a focal filter's halo, an area-wide
threshold) stay tasks of their own, and their results are handed to the tile tasks that need
them; what other results need from a tile (its share of a per-date valid fraction, of a check on
the inputs) is computed in the tile's task too and comes out of it, rather than as tasks of
their own per tile. Each output of a tile task stays a small task that picks it from the tile's
results: consumers reading the tile task's results directly would save those tasks too, but on
two single-thread workers the scheduler then spread 16 tiles 9 and 7 instead of 8 and 8 (the
small tasks after each tile hold back the next one from the worker that just finished).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import partial
from typing import Any

__all__ = ["fuse_tiles", "STORE_PREFIX"]

STORE_PREFIX = "store-map-"
"""Name prefix of the tasks of :func:`dask.array.store` that write one block each; the rest of
the key is the block's index, which names the output tile."""


def _run_tile(graph: dict[Any, Any], outputs: tuple[Any, ...], external: tuple[Any, ...],
              *values: Any) -> dict[Any, Any]:
    """Run a tile's subgraph in this thread; ``values`` are the results of the ``external`` keys."""
    from dask._task_spec import execute_graph

    cache: dict[Any, Any] = dict(zip(external, values))
    done = execute_graph(graph, cache=cache, keys=set(outputs))
    return {k: done[k] for k in outputs}


def _pick(key: Hashable, results: dict[Hashable, Any]) -> Any:
    return results[key]


def _tile_of(key: Hashable) -> tuple[Any, ...] | None:
    if isinstance(key, tuple) and key and isinstance(key[0], str) and key[0].startswith(STORE_PREFIX):
        return tuple(key[1:])
    return None


def fuse_tiles(collections: Sequence[Any], grids: Sequence[Hashable] | None = None  # noqa: C901 (one pass over the graph)
               ) -> tuple[list[Any], dict[str, int]]:
    """The collections as :class:`dask.delayed.Delayed` objects over one graph fused per output tile.

    Parameters
    ----------
    collections : sequence of dask collections
        What the run computes: the ``store_gtiff`` writes of every layer, and any other lazy
        result (valid fractions, thresholds).
    grids : sequence, optional
        For each collection, the grid (area) its writes are on: blocks at the same index of two
        grids are different tiles. Without it, every write is taken to be on one grid.

    Returns
    -------
    list of Delayed
        One per collection, computing to what ``dask.compute`` returns for it.
    dict
        ``tasks_before``, ``tasks_after`` and ``tiles`` (tasks of the optimised graph before
        and after fusion, and the number of fused tile tasks).
    """
    from dask._expr import FinalizeCompute
    from dask._task_spec import Task, TaskRef, convert_legacy_graph
    from dask.base import collections_to_expr, is_dask_collection, tokenize
    from dask.delayed import Delayed

    # Values already in memory (a side result computed while planning) pass through as they are.
    lazy = [i for i, c in enumerate(collections) if is_dask_collection(c)]
    if not lazy:
        return list(collections), {"tasks_before": 0, "tasks_after": 0, "tiles": 0}
    expr = FinalizeCompute(collections_to_expr([collections[i] for i in lazy], True)).optimize()
    # One finalized key per collection (a one-item list when there are several collections).
    out_keys = [k[0] if isinstance(k, list) and len(k) == 1 else k for k in expr.__dask_keys__()]
    is_out = set(out_keys)
    dsk = _needed(convert_legacy_graph(dict(expr.__dask_graph__())), out_keys)  # some layers hold tuple tasks
    grid_of: dict[str, Hashable] = {}
    for i, c in enumerate(collections):
        if grids is not None and is_dask_collection(c):
            graph = c.__dask_graph__()
            # Layer names of a high-level graph, without listing every key of every layer.
            names = graph.layers if hasattr(graph, "layers") else {k[0] for k in graph if _tile_of(k) is not None}
            for name in names:
                if isinstance(name, str) and name.startswith(STORE_PREFIX):
                    grid_of[name] = grids[i]
    deps = {k: {d for d in node.dependencies if d in dsk} for k, node in dsk.items()}
    dependents: dict[Hashable, list[Hashable]] = {k: [] for k in dsk}
    for k, ds in deps.items():
        for d in ds:
            dependents[d].append(k)
    # Who needs each key: the output tiles whose writes depend on it, or ("result", key) for any
    # other consumer. A write belongs to its tile only; what depends on it (the final "all blocks
    # written" marker) does not count.
    label: dict[Hashable, frozenset[Any]] = {}
    order = _reverse_topological(deps, dependents)
    for k in order:
        tile = _tile_of(k)
        if tile is not None:
            label[k] = frozenset([("tile", (grid_of.get(k[0]), *tile))])  # type: ignore[index]  # a tile key is a tuple
        elif not dependents[k] or k in is_out:
            label[k] = frozenset([("result", k)])
        else:
            # Most keys have one consumer, or consumers of one tile: share the label, do not copy it.
            first, *rest = (label[d] for d in dependents[k])
            label[k] = first if all(r is first or r == first for r in rest) else first.union(*rest)
    # A key joins the task of the one tile that needs it; other results that need it too (a
    # per-date valid fraction, a 0-d check on the inputs) receive it as an output of that task.
    # A key needed by two tiles stays a task of its own. Membership by "exactly one tile" keeps
    # each group closed: whatever lies on a path between two members needs that tile and no other.
    groups: dict[Any, set[Hashable]] = {}
    group_of: dict[Hashable, Any] = {}
    tile_of_label: dict[frozenset[Any], Any] = {}  # labels are shared: decide each one once
    for k, lab in label.items():
        if lab not in tile_of_label:
            tiles = [what[1] for what in lab if what[0] == "tile"]
            tile_of_label[lab] = tiles[0] if len(tiles) == 1 else None
        if (tile := tile_of_label[lab]) is not None:
            groups.setdefault(tile, set()).add(k)
            group_of[k] = tile
    # A tile's own share of another result (its part of a per-date valid count or of a district
    # sum: a key all of whose inputs are in one tile's group) joins that group too, so that it is
    # not one more task per tile for the scheduler. Its inputs are in the group: it stays closed.
    for k in reversed(order):  # inputs first
        if k in group_of or k in is_out or not deps[k]:
            continue
        owners = {group_of.get(d) for d in deps[k]}
        if len(owners) == 1 and (tile := owners.pop()) is not None:
            groups[tile].add(k)
            group_of[k] = tile
    new = dict(dsk)
    token = tokenize(out_keys)
    for tile, members in groups.items():
        if len(members) < 2:
            continue
        outputs = tuple(k for k in members if any(d not in members for d in dependents[k]) or k in is_out)
        external = tuple(sorted({d for k in members for d in deps[k] if d not in members}, key=str))
        sub = {k: dsk[k] for k in members}
        key = (f"agromap-tile-{token}-{tokenize(tile[0])}", *tile[1:])
        new[key] = Task(key, partial(_run_tile, sub, outputs, external), *(TaskRef(e) for e in external))
        for k in members:
            del new[k]
        for o in outputs:
            new[o] = Task(o, partial(_pick, o), TaskRef(key))
    stats = {"tasks_before": len(dsk), "tasks_after": len(new),
             "tiles": sum(1 for m in groups.values() if len(m) >= 2)}
    fused = list(collections)
    for i, k in zip(lazy, out_keys, strict=True):
        fused[i] = Delayed(k, new)
    return fused, stats


def _needed(dsk: dict[Hashable, Any], outputs: Sequence[Hashable]) -> dict[Hashable, Any]:
    """The part of ``dsk`` the outputs depend on: an optimised graph can keep tasks nothing needs
    (seen after slicing a window out of blockwise layers), which would otherwise count as results.
    """
    needed: set[Hashable] = set()
    stack = [k for k in outputs if k in dsk]
    while stack:
        k = stack.pop()
        if k in needed:
            continue
        needed.add(k)
        stack.extend(d for d in dsk[k].dependencies if d in dsk and d not in needed)
    return dsk if len(needed) == len(dsk) else {k: dsk[k] for k in needed}


def _reverse_topological(deps: dict[Hashable, set[Hashable]],
                         dependents: dict[Hashable, list[Hashable]]) -> list[Hashable]:
    """Keys ordered so that every key comes after all its dependents."""
    remaining = {k: len(v) for k, v in dependents.items()}
    ready = [k for k, n in remaining.items() if n == 0]
    order: list[Hashable] = []
    while ready:
        k = ready.pop()
        order.append(k)
        for d in deps[k]:
            remaining[d] -= 1
            if remaining[d] == 0:
                ready.append(d)
    if len(order) != len(deps):  # pragma: no cover - a dask graph has no cycle
        raise RuntimeError("the task graph has a cycle")
    return order
