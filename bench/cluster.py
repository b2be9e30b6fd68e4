"""Measurement 4: scale-out over ``dask.distributed`` worker processes, and graph construction cost.

- :func:`scaleout`: a ``LocalCluster`` of ``workers`` processes with one thread each on
  127.0.0.1 (the scheduler in this process, like ``dask scheduler`` + ``dask worker``), warmed up
  (rasterio, GDAL, agromap's reader, the optical rule's compiled kernel and the publication's
  libraries imported in every worker, as a long-lived cluster is after its first run), then the rice pipeline is run against its
  address exactly as ``agromap run --scheduler tcp://...`` would. One and two workers are compared.
- :func:`graph_construction`: the pipeline's graph for a large stack of sparse files (headers only:
  nothing can be computed, nothing is), built the way the runner builds it: ``plan_run`` (open every
  header, stack, mask, indices, rule, layers), then for each spatial block of the area the stores
  of every layer, optimised, materialised and fused per output tile as the runner hands them to the
  scheduler. Reported per 10 000 input chunks (one chunk = one 512 px tile of one band of one
  date), in wall and CPU seconds, with the graph's memory (tracemalloc).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .data import stack_config

__all__ = ["scaleout", "graph_construction"]


def _warm(modules: list[str]) -> str:
    """Runs on every worker before timing: pay the imports once, outside the measurement."""
    import importlib

    for name in modules:
        importlib.import_module(name)
    import rasterio

    return str(rasterio.__gdal_version__)


def scaleout(folder: str, out: str, chunk: int, workers: int) -> dict[str, Any]:
    """Time the pipeline on a fresh local cluster of ``workers`` single-threaded worker processes."""
    from distributed import Client, LocalCluster

    from agromap.pipeline.runner import run
    from agromap.pipeline.scheduler import worker_imports

    logging.getLogger("agromap").setLevel(logging.ERROR)
    cfg = stack_config(Path(folder), chunk=chunk)
    checksums = _prime_checksums(Path(folder), Path(out))
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:  # fmt: skip
        with Client(cluster) as client:
            client.wait_for_workers(workers)
            # What a run planning the optical rule has its workers import (the kernel's load from
            # numba's cache is about 0.7 CPU-s per process).
            client.run(_warm, list(worker_imports(["agromap.rice.rules_optical"])))
            before = client.run(_cpu_s)
            phases: dict[str, list[float]] = {}
            with _phase_clocks(phases):
                t0, c0 = time.perf_counter(), time.process_time()
                result = run(cfg, out, scheduler=cluster.scheduler_address, force=True)
                wall, here = time.perf_counter() - t0, time.process_time() - c0
            after = client.run(_cpu_s)
    for inside in ("connect", "compute"):  # both happen within compute_layers
        if "graph" in phases and inside in phases:
            phases["graph"] = [g - c for g, c in zip(phases["graph"], phases[inside])]
    phases["other"] = [wall - sum(v[0] for v in phases.values()), here - sum(v[1] for v in phases.values())]
    phases = {k: phases[k] for k in [*SCALEOUT_PHASES, "other"] if k in phases}  # in the run's order
    timings = dict(result.manifest.get("timings_s") or result.manifest.get("timings") or {})
    return {"wall_s": round(wall, 3), "workers": workers, "timings_s": timings,
            "cluster": result.manifest.get("cluster"),
            # Per-worker CPU during the run, and the run's own process (client and, here, the scheduler).
            "worker_cpu_s": sorted(round(after[w] - before[w], 3) for w in after), "client_cpu_s": round(here, 3),
            # Wall time of the run outside its compute step (plan, staging files, publication, report).
            "outside_compute_s": round(float(timings.get("total", wall)) - float(timings.get("compute", 0.0)), 3),
            # Wall and CPU seconds (this process: the run, and here the scheduler) of the run's steps.
            "phases_s": {k: round(v[0], 3) for k, v in phases.items()},
            "phases_cpu_s": {k: round(v[1], 3) for k, v in phases.items()},
            "checksums": checksums, "load_1min": round(os.getloadavg()[0], 2)}


def _prime_checksums(folder: Path, out: Path) -> str:
    """The stack's input checksums in the machine's cache before the timed run, as a machine that
    has run over this archive before holds them (:mod:`agromap.pipeline.checksums`): the runs
    compare the workers, not a first run's hashing of the files. The cache is the bench's own
    (``<cache>/checksums``) unless ``AGROMAP_CACHE_DIR`` is set; set empty, the run hashes its
    inputs during the compute, as a first run on the machine does. Returns which of the two.
    """
    from agromap.pipeline.checksums import CACHE_DIR_ENV, FileHashes

    os.environ.setdefault(CACHE_DIR_ENV, str(folder.parent / "checksums"))
    hashes = FileHashes(out.with_name(out.name + ".checksums"))
    if hashes.machine_path is None:
        return "hashed during the compute (no machine cache)"
    for path in sorted(folder.glob("*.tif")):
        hashes.sha256(path)
    hashes.save()
    return f"cached ({hashes.hashed} of {len(list(folder.glob('*.tif')))} files hashed before the run)"


#: Steps of the run timed by :func:`_phase_clocks`, as named in ``agromap.pipeline``: planning; the
#: run's wait for its connection to the cluster and the workers' warm-up (begun on a thread once
#: planning is over: :func:`agromap.pipeline.scheduler.opening`); the staging files and the graph;
#: the compute (from submission to the last result); the layers prepared on the workers and renamed
#: into place; the report's rendering. What the run does between them (lock, recipes, tables,
#: catalog, the writes of catalog, manifest and report) is "other".
SCALEOUT_PHASES = {"plan": ("runner", "plan_run"), "connect": ("scheduler", "Opening.ready"),
                   "graph": ("runner", "compute_layers"), "compute": ("scheduler", "Execution.compute"),
                   "publish": ("runner", "publish"), "report": ("runner", "render_report")}


@contextlib.contextmanager
def _phase_clocks(phases: dict[str, list[float]]) -> Iterator[None]:
    """Within the block, wrap the run's steps (:data:`SCALEOUT_PHASES`) so each adds its wall and
    process CPU seconds to ``phases[name]``; the steps are restored when the block ends. ``graph``
    times all of ``compute_layers``: :func:`scaleout` takes the connection wait and the compute inside
    it out afterwards.
    """
    import agromap.pipeline.runner as runner
    import agromap.pipeline.scheduler as scheduler

    def clock(name: str) -> Any:
        @contextlib.contextmanager
        def timing() -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                yield
            finally:
                got = phases.setdefault(name, [0.0, 0.0])
                got[0] += time.perf_counter() - t
                got[1] += time.process_time() - c
        return timing

    steps: list[tuple[str, Any, str, Any]] = []  # every step looked up before any is wrapped
    for name, (module_name, attr) in SCALEOUT_PHASES.items():
        module = runner if module_name == "runner" else scheduler
        owner, _, func_name = attr.rpartition(".")
        target = getattr(module, owner) if owner else module
        func = getattr(target, func_name, None)
        if func is None:
            raise AttributeError(f"bench: the run has no step {attr!r} any more; update bench.cluster.SCALEOUT_PHASES")
        steps.append((name, target, func_name, func))

    for name, target, func_name, func in steps:
        def timed(*a: Any, _f: Any = func, _t: Any = clock(name), **k: Any) -> Any:
            with _t():
                return _f(*a, **k)

        setattr(target, func_name, timed)
    try:
        yield
    finally:
        for _name, target, func_name, func in steps:
            setattr(target, func_name, func)


def _cpu_s() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def graph_construction(folder: str, out: str, chunk: int, max_graph_chunks: int | None = None) -> dict[str, Any]:
    """Build (never compute) the run's graphs for the stack in ``folder`` the way the runner does.

    ``plan_run`` once, then for every spatial block (:mod:`agromap.pipeline.blocks`, one block
    when the area is within ``max_graph_chunks``) the stores of every layer on the block's window
    and the fused graph the scheduler receives (optimised, materialised, one task per output
    tile). Timed in wall and CPU seconds; then built a second time under ``tracemalloc`` for the
    graph's memory (the largest block's graph, and the peak of the whole build).
    """
    import tracemalloc

    from agromap.pipeline import blocks

    limit = blocks.max_graph_chunks(max_graph_chunks)
    timed = _build_graphs(folder, out, chunk, limit)
    tracemalloc.start()
    traced = _build_graphs(folder, out, chunk, limit, traced=True)
    tracemalloc.stop()
    return {**timed, "graph_peak_bytes": traced["peak_bytes"], "block_graph_bytes": traced["block_bytes"],
            "max_graph_chunks": limit}


def _build_graphs(folder: str, out: str, chunk: int, limit: int, traced: bool = False) -> dict[str, Any]:
    import tracemalloc

    from agromap.io.write import create_staging, store_window
    from agromap.pipeline import blocks
    from agromap.pipeline.after_compute import on_run_grid as _on_run_grid
    from agromap.pipeline.compute_layers import _use_tile_graphs
    from agromap.pipeline.fusion import fuse_tiles
    from agromap.pipeline.runner import Job, plan_run

    cfg = stack_config(Path(folder), chunk=chunk)
    out_dir = Path(out)
    lock = threading.Lock()
    base = tracemalloc.get_traced_memory()[0] if traced else 0
    t0, c0 = time.perf_counter(), time.process_time()
    plans = plan_run(cfg)
    t1, c1 = time.perf_counter(), time.process_time()
    plan = plans[0]
    # As the runner does: the direct tile graph when the area allows it (its layers' data replaced).
    jobs = [Job(plan, layer, out_dir / f"{layer.stem}.tif", "", True) for layer in plan.layers]
    graph_kind = _use_tile_graphs(jobs, plans, cfg.resolve)
    windows = blocks.block_windows(plan.dataset, limit) or [(slice(None), slice(None))]
    for layer in (job.layer for job in jobs):
        create_staging(_on_run_grid(layer.data, plan.geobox), out_dir / f"{layer.stem}.staging.tif", layer.spec)
    tasks = fused_tasks = tiles = 0
    block_bytes = peak = 0
    h, w = plan.geobox.shape
    n_chunks = blocks.input_chunks(plan.dataset)
    largest = max(((ys.stop or h) - (ys.start or 0)) * ((xs.stop or w) - (xs.start or 0)) for ys, xs in windows)
    for ys, xs in windows:
        if traced:
            peak = max(peak, tracemalloc.get_traced_memory()[1])
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
        stores = [store_window(_on_run_grid(job.layer.data, plan.geobox).isel(y=ys, x=xs),
                               out_dir / f"{job.layer.stem}.staging.tif", job.layer.spec, lock=lock, window=(ys, xs))
                  for job in jobs]
        extra = [] if plan.valid is None else [plan.valid.isel(y=ys, x=xs).sum(("y", "x"))]
        todo, stats = fuse_tiles([*stores, *extra], ["bench"] * len(stores) + [None] * len(extra))
        tasks += stats["tasks_before"]
        fused_tasks += stats["tasks_after"]
        tiles += stats["tiles"]
        if traced:
            block_bytes = max(block_bytes, tracemalloc.get_traced_memory()[1] - before)
        del todo, stores, extra
    t2, c2 = time.perf_counter(), time.process_time()
    ds = plan.dataset
    return {
        "shape": list(plan.geobox.shape), "dates": int(ds.sizes["time"]), "bands": len(ds.data_vars),
        "input_chunks": n_chunks, "blocks": len(windows), "graph": graph_kind,
        "largest_block_chunks": round(n_chunks * largest / (int(h) * int(w))), "layers": len(plan.layers),
        "tasks": tasks, "fused_tasks": fused_tasks, "fused_tiles": tiles,
        "plan_s": round(t1 - t0, 3), "blocks_s": round(t2 - t1, 3), "total_s": round(t2 - t0, 3),
        "plan_cpu_s": round(c1 - c0, 3), "blocks_cpu_s": round(c2 - c1, 3), "total_cpu_s": round(c2 - c0, 3),
        "peak_bytes": max(peak, tracemalloc.get_traced_memory()[1]) - base if traced else None,
        "block_bytes": block_bytes,
    }  # fmt: skip
