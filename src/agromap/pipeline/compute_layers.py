"""The run's compute: every stale layer's staging GTiff, in one graph or in spatial blocks.

The runner (:mod:`agromap.pipeline.runner`) plans and publishes; this module stores the stale
layers of all areas. Areas within the graph limit are computed together in one graph, so no
source chunk is read twice; an area of per-pixel layers over plain file reads gets one task per
output tile (:mod:`agromap.pipeline.tile_graph`); a larger area is computed one graph per spatial
block (:mod:`agromap.pipeline.blocks`), with the same bytes.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.layers import encode
from ..io.write import create_staging, lock_for_scheduler, staging_path_for, store_window
from . import blocks
from .after_compute import derived_from_file as _derived_from_file
from .after_compute import on_run_grid as _on_run_grid
from .fusion import fuse_tiles
from .heap import release_free_heap
from .scheduler import Opening

if TYPE_CHECKING:
    from .runner import AreaPlan, Job

__all__ = ["compute_layers", "FUSE_TILES", "TILE_GRAPH"]

log = logging.getLogger(__name__)


def compute_layers(begun: Opening, stale: list[Job], plans: list[AreaPlan], run_id: str,
             limit: int = blocks.AUTO_MAX_GRAPH_CHUNKS, resolve: Any = None
             ) -> tuple[dict[str, Any], dict[str, list[float]], float]:
    """Every stale layer's staging GTiff and the per-date valid fractions, computed on the
    execution ``begun`` opens (connecting to a cluster meanwhile: :func:`~.scheduler.opening`).

    Areas within ``limit`` input chunks are computed together in one graph, so no source chunk is
    read twice. A larger area is computed in spatial blocks (:mod:`agromap.pipeline.blocks`), one
    graph per block, except its layers that depend on a statistic of the whole area, which join
    the first graph. An area whose layers are all per-pixel chains over plain file reads is
    computed by one task per output tile (:mod:`agromap.pipeline.tile_graph`), in the same bytes.
    """
    graph_kind = _use_tile_graphs(stale, plans, resolve)
    stale_areas = {j.plan.config.name for j in stale}
    wide = _area_wide(stale)
    # Blocks only for areas with stale layers that can be split (no area-wide statistic).
    local_areas = {j.plan.config.name for j in stale if id(j) not in wide}
    windows = {p.config.name: w for p in plans if p.config.name in local_areas
               and (w := blocks.block_windows(p.dataset, limit)) is not None}
    elapsed = 0.0
    for job in stale:
        job.final.parent.mkdir(parents=True, exist_ok=True)
        job.staging = staging_path_for(job.final, run_id)
        create_staging(_on_run_grid(job.layer.data, job.plan.geobox), job.staging, job.layer.spec)
    execu = begun.ready()  # a cluster's locks need its client
    locks = {id(job): lock_for_scheduler(f"agromap-write-{job.staging.name}")  # one per file: in parallel
             for job in stale if job.staging is not None}
    whole = [j for j in stale if j.plan.config.name not in windows or id(j) in wide]
    frac_plans = [p for p in plans if p.valid_fraction is not None and p.config.name in stale_areas
                  and p.config.name not in windows]
    for plan in plans:
        if plan.config.name in windows:
            names = [j.layer.stem for j in whole if j.plan is plan]
            log.info("area %s: %d input chunks, computed in %d spatial blocks%s", plan.config.name,
                     blocks.input_chunks(plan.dataset), len(windows[plan.config.name]),
                     f"; {', '.join(names)} depend(s) on area-wide statistics: one graph" if names else "")
    fractions: dict[str, list[float]] = {}
    if whole or frac_plans:
        fractions, seconds = _compute_whole(execu, whole, frac_plans, locks)
        elapsed += seconds
    for plan in plans:
        if plan.config.name not in windows:
            continue
        local = [j for j in stale if j.plan is plan and id(j) not in wide]
        counts, seconds = _compute_blocks(execu, plan, local, windows[plan.config.name], locks)
        elapsed += seconds
        if counts is not None:
            n = int(plan.geobox.shape[0]) * int(plan.geobox.shape[1])
            # As masks.valid_fraction divides: integer count, float32 once.
            fractions[plan.config.name] = [float(v) for v in counts.astype(np.float32) / np.float32(n)]
        derived = [j for j in local if j.layer.derived]
        if derived:
            t1 = time.perf_counter()
            for job in derived:
                assert job.staging is not None
                job.derived = _derived_from_file(job, job.staging)
            elapsed += time.perf_counter() - t1
    shape = {**execu.shape, "graph": graph_kind}
    # The tiles' arrays are freed, but their pages stay with the threads' allocator arenas; handed
    # back, they no longer add to the publication's own peak (docs/architecture.md#memory).
    release_free_heap()
    return shape, fractions, elapsed


def _use_tile_graphs(stale: list[Job], plans: list[AreaPlan], resolve: Any) -> str:
    """Give each area that allows it the direct tile graph; returns how each area is computed.

    The stale layers' data and the area's usable-pixel mask are replaced by their tile-graph
    versions (the same values, from one task per output tile); other areas keep the general graph.
    """
    import dataclasses

    from .. import masks
    from .tile_graph import plan_tile_graph

    kinds = []
    for plan in plans:
        jobs = [j for j in stale if j.plan is plan]
        if not jobs:
            continue
        graph = plan_tile_graph(plan, jobs, resolve) if TILE_GRAPH else "the direct tile graph is switched off"
        name = plan.config.name
        if isinstance(graph, str):
            log.info("area %s: general task graph (%s)", name, graph)
            kinds.append(f"{name}: general graph ({graph})")
            continue
        for job in jobs:
            job.layer = dataclasses.replace(job.layer, data=graph.layers[job.layer.stem])
        if graph.valid is not None:
            plan.valid, plan.valid_fraction = graph.valid, masks.valid_fraction(graph.valid)
        log.info("area %s: one task per output tile (%d tiles): every layer is a per-pixel chain over files "
                 "read as they are", name, graph.tiles)
        kinds.append(f"{name}: one task per output tile ({graph.tiles})")
    return "; ".join(kinds)


def _area_wide(jobs: list[Job]) -> set[int]:
    """The jobs (by ``id``) whose pixels depend on a statistic of the whole area: layers with 0-d
    ``side`` values (thresholds, training counts), and every other layer of the same layer entry,
    which is built from the same result (a flood's likelihood shares its class map's thresholds).
    """
    def entry(job: Job) -> tuple[str, str]:
        return job.plan.config.name, json.dumps(job.layer.layer_config, sort_keys=True, default=str)

    with_side = {entry(j) for j in jobs if j.layer.side}
    return {id(j) for j in jobs if entry(j) in with_side}


def _compute_whole(execu: Any, jobs: list[Job], frac_plans: list[AreaPlan],
                   locks: dict[int, Any]) -> tuple[dict[str, list[float]], float]:
    """One graph: the jobs' stores, side values and derived reductions, and the valid fractions."""
    stores = []
    derived: list[tuple[Job, str, Any]] = []
    for job in jobs:
        assert job.staging is not None
        data = _on_run_grid(job.layer.data, job.plan.geobox)
        stores.append(store_window(data, job.staging, job.layer.spec, lock=locks[id(job)]))
        # store_window encodes as encode() does here, with the same keys: dask computes each
        # encoded chunk once for the store and the reductions.
        encoded = encode(data, job.layer.spec)
        derived.extend((job, key, fn(encoded)) for key, fn in job.layer.derived.items())
    sides = [(job, key, arr) for job in jobs for key, arr in job.layer.side.items()]
    todo = [*stores, *[p.valid_fraction for p in frac_plans], *[a for _, _, a in sides], *[a for _, _, a in derived]]
    t1 = time.perf_counter()
    results = _run_graph(execu, todo, [j.plan.config.name for j in jobs])
    elapsed = time.perf_counter() - t1
    n, m = len(stores), len(frac_plans)
    fractions = {p.config.name: [float(v) for v in np.atleast_1d(r)] for p, r in zip(frac_plans, results[n:n + m])}
    for (job, key, _), value in zip(sides, results[n + m:n + m + len(sides)]):
        job.side[key] = np.asarray(value).item()
    for (job, key, _), value in zip(derived, results[n + m + len(sides):]):
        job.derived = {**(job.derived or {}), key: value}
    return fractions, elapsed


def _compute_blocks(execu: Any, plan: AreaPlan, jobs: list[Job], windows: list[tuple[slice, slice]],
                    locks: dict[int, Any]) -> tuple[np.ndarray | None, float]:
    """The jobs of one area, one graph per block; returns the per-date count of usable pixels."""
    count = None
    elapsed = 0.0
    for ys, xs in windows:
        stores = []
        for job in jobs:
            assert job.staging is not None
            part = _on_run_grid(job.layer.data, job.plan.geobox).isel(y=ys, x=xs)
            stores.append(store_window(part, job.staging, job.layer.spec, lock=locks[id(job)], window=(ys, xs)))
        extra = [] if plan.valid is None else [plan.valid.isel(y=ys, x=xs).sum(("y", "x"))]
        t1 = time.perf_counter()
        results = _run_graph(execu, [*stores, *extra], [plan.config.name] * len(stores))
        elapsed += time.perf_counter() - t1
        if extra:
            block = np.atleast_1d(np.asarray(results[-1], dtype=np.int64))
            count = block if count is None else count + block
    return count, elapsed


def _run_graph(execu: Any, todo: list[Any], grids: list[str]) -> Any:
    """Compute ``todo`` (the stores first, on the areas ``grids``) as one graph, fused per output tile."""
    if FUSE_TILES:
        todo, fused = fuse_tiles(todo, grids + [None] * (len(todo) - len(grids)))
        log.debug("graph fused per output tile: %(tasks_before)d -> %(tasks_after)d tasks", fused)
    return execu.compute(*todo)


FUSE_TILES = True
"""Run each output tile's exclusive part of the graph as one task (:mod:`agromap.pipeline.fusion`)."""

TILE_GRAPH = True
"""Build the graph of an area of per-pixel layers as one task per tile directly
(:mod:`agromap.pipeline.tile_graph`); ``False`` always builds the general graph."""
