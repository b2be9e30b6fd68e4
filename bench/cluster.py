"""Measurement 4: scale-out over ``dask.distributed`` worker processes, and graph construction cost.

- :func:`scaleout`: a ``LocalCluster`` of ``workers`` processes with one thread each on
  127.0.0.1 (the scheduler in this process, like ``dask scheduler`` + ``dask worker``), warmed up
  (agromap, rasterio and GDAL imported in every worker), then the rice pipeline is run against its
  address exactly as ``agromap run --scheduler tcp://...`` would. One and two workers are compared.
- :func:`graph_construction`: the pipeline's graph for a large stack of sparse files (headers only:
  nothing can be computed, nothing is), built the way the runner builds it: ``plan_run`` (open every
  header, stack, mask, indices, rule, layers) then one ``store_gtiff`` per layer; then materialised
  and optimised as ``dask.compute`` would before scheduling. Reported per 10 000 input chunks (one
  chunk = one 512 px tile of one band of one date) and per 10 000 graph tasks.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from .data import stack_config

__all__ = ["scaleout", "graph_construction"]


def _warm() -> str:
    """Runs on every worker before timing: pay the imports once, outside the measurement."""
    import rasterio

    import agromap.io.read  # noqa: F401
    import agromap.rice.rules_optical  # noqa: F401

    return str(rasterio.__gdal_version__)


def scaleout(folder: str, out: str, chunk: int, workers: int) -> dict[str, Any]:
    """Time the pipeline on a fresh local cluster of ``workers`` single-threaded worker processes."""
    from distributed import Client, LocalCluster

    from agromap.pipeline.runner import run

    logging.getLogger("agromap").setLevel(logging.ERROR)
    cfg = stack_config(Path(folder), chunk=chunk)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:  # fmt: skip
        with Client(cluster) as client:
            client.wait_for_workers(workers)
            client.run(_warm)
        t0 = time.perf_counter()
        result = run(cfg, out, scheduler=cluster.scheduler_address, force=True)
        wall = time.perf_counter() - t0
    timings = dict(result.manifest.get("timings_s") or result.manifest.get("timings") or {})
    return {"wall_s": round(wall, 3), "workers": workers, "timings_s": timings,
            "cluster": result.manifest.get("cluster")}


def graph_construction(folder: str, out: str, chunk: int) -> dict[str, Any]:
    """Build (never compute) the whole run's graph for the stack in ``folder``; time each stage."""
    import psutil
    from dask._expr import FinalizeCompute
    from dask.base import collections_to_expr

    from agromap.io.layers import encode
    from agromap.io.write import store_gtiff
    from agromap.pipeline.runner import plan_run

    cfg = stack_config(Path(folder), chunk=chunk)
    out_dir = Path(out)
    rss0 = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    plans = plan_run(cfg)
    t1 = time.perf_counter()
    collections: list[Any] = []
    lock = threading.Lock()
    for plan in plans:
        for layer in plan.layers:
            staging = out_dir / f"{layer.stem}.staging.tif"
            collections.append(store_gtiff(encode(layer.data, layer.spec), staging, layer.spec, lock=lock))
        if plan.valid_fraction is not None:
            collections.append(plan.valid_fraction.data)
        collections.extend(a.data for layer in plan.layers for a in layer.side.values())
    t2 = time.perf_counter()
    # What dask.compute does on the client before handing the graph to a scheduler.
    expr = FinalizeCompute(collections_to_expr(collections, True)).optimize()
    graph = expr.__dask_graph__()
    n_tasks = len(graph)
    t3 = time.perf_counter()
    graph_bytes = psutil.Process().memory_info().rss - rss0  # plans, collections and the materialised graph
    from agromap.pipeline.fusion import fuse_tiles

    _, fused = fuse_tiles(collections)  # what the runner schedules: one task per output tile
    t4 = time.perf_counter()
    ds = plans[0].dataset
    n_chunks = sum(_n_blocks(ds[v].data) for v in ds.data_vars)
    return {
        "shape": list(plans[0].geobox.shape), "dates": int(ds.sizes["time"]), "bands": len(ds.data_vars),
        "input_chunks": n_chunks, "tasks": n_tasks, "layers": sum(len(p.layers) for p in plans),
        "plan_s": round(t1 - t0, 3), "stores_s": round(t2 - t1, 3), "materialize_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 3), "graph_rss_bytes": graph_bytes, "baseline_rss_bytes": rss0,
        "fused_tasks": fused["tasks_after"], "fused_tiles": fused["tiles"], "fuse_s": round(t4 - t3, 3),
    }  # fmt: skip


def _n_blocks(arr: Any) -> int:
    n = 1
    for c in arr.chunks:
        n *= len(c)
    return n
