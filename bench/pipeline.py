"""Measurement 1: the rice map end to end, against the decode limit and the naive approach.

Three ways to turn the same files into a rice map, each run in its own process on the same cores:

- :func:`agromap_run`: ``agromap.pipeline.runner.run`` (read -> SCL mask -> indices -> optical
  rule -> staging GTiff -> validated COG + STAC + manifest), with a given scheduler.
- :func:`decode`: the physical limit: every file decoded tile by tile with rasterio, one file per
  task on a ``ThreadPoolExecutor`` of as many threads as dask uses, ``GDAL_NUM_THREADS=1``.
  Nothing is converted, computed or written.
- :func:`naive`: what a user without dask writes: read every file whole into numpy, scale and mask
  with numpy, call agromap's optical rule on the in-memory arrays (the same kernel), and write each
  output with rasterio. Its rice map must equal the pipeline's (checked, reported as agreement).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from . import steps as step_clocks
from .data import stack_arrays, stack_config
from .settings import BANDS, REFLECTANCE_BANDS

__all__ = ["agromap_run", "decode", "naive", "process_cpu_s", "PHASES"]

#: SCL classes agromap masks by default (no data, saturated, shadow, cloud, cirrus, snow).
_SCL_INVALID = (0, 1, 3, 8, 9, 10, 11)


#: Steps of ``agromap.pipeline.runner.run`` whose CPU time is reported (names in the runner's namespace;
#: a name the runner no longer has stops the measurement rather than moving its time into "other").
#: ``publish`` covers the COG conversion with overviews, validation, STAC items, quicklooks and the
#: report's maps (drawn on a thread while the layers are encoded); ``render_report`` the HTML report
#: (written with the catalog and manifest, whose writes count as "other").
PHASES = {"plan": "plan_run", "compute": "compute_layers", "publish": "publish", "report": "render_report"}


def process_cpu_s() -> float:
    """User + system CPU seconds of this process, all threads (GDAL's and dask's included)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


#: Phases whose inner steps are timed too (:mod:`bench.steps`), and the table of those steps.
_PHASE_STEPS = {"compute": "COMPUTE_STEPS", "publish": "PUBLISH_STEPS"}


def _timed_phases(module: Any, cpu: dict[str, float], steps: dict[str, float] | None = None) -> None:
    """Wrap the runner's steps so each adds its process CPU seconds to ``cpu`` (phases do not nest).

    With ``steps``, the compute's and the publish's own steps are timed into it as well
    (:mod:`bench.steps`, installed when the phase begins).

    The work the runner does on background threads during the compute (:mod:`agromap.pipeline.meanwhile`:
    imports, input hashes) is counted by those threads as ``meanwhile``; :func:`_exclusive` takes it
    out of ``compute``, whose process CPU seconds include it.
    """
    import agromap.pipeline.meanwhile as meanwhile

    for name in ("_import_all", "_hash_all"):
        func = getattr(meanwhile, name)

        def on_thread(*a: Any, _f: Any = func, **k: Any) -> Any:
            c0 = time.thread_time()
            try:
                return _f(*a, **k)
            finally:
                cpu["meanwhile"] = cpu.get("meanwhile", 0.0) + time.thread_time() - c0

        setattr(meanwhile, name, on_thread)
    for phase, name in PHASES.items():
        func = getattr(module, name, None)
        if func is None:
            raise AttributeError(f"bench: the runner has no step {name!r} any more; update bench.pipeline.PHASES")

        def timed(*a: Any, _f: Any = func, _p: str = phase, **k: Any) -> Any:
            if steps is not None and _p in _PHASE_STEPS:
                step_clocks.install(getattr(step_clocks, _PHASE_STEPS[_p]), steps)
            c0 = process_cpu_s()
            try:
                return _f(*a, **k)
            finally:
                cpu[_p] = cpu.get(_p, 0.0) + process_cpu_s() - c0

        setattr(module, name, timed)


def agromap_run(folder: str, out: str, scheduler: str, chunk: int, max_graph_chunks: int | None = None
                ) -> dict[str, Any]:
    """Time one forced run of the rice pipeline into ``out``; returns wall time and its breakdown.

    ``baseline_rss_bytes`` is this process's resident memory just before the run (interpreter and
    imports), to tell the run's own memory from the fixed cost of the libraries. ``cpu_s`` is
    the CPU time of the whole run and ``cpu_phases_s`` that of its steps (:data:`PHASES`): on a
    shared machine CPU seconds stay meaningful when wall times are inflated by other jobs.
    """
    import logging

    import psutil

    import agromap.pipeline.runner as runner

    logging.getLogger("agromap").setLevel(logging.ERROR)  # "nodata everywhere" for an unused 3rd season
    cfg = stack_config(Path(folder), chunk=chunk, scheduler=scheduler, max_graph_chunks=max_graph_chunks)
    phases: dict[str, float] = {}
    step_cpu: dict[str, float] = {}
    # Steps are timed only where the tasks run in this process (a cluster pickles the tasks' functions).
    in_process = scheduler in ("threads", "synchronous")
    _timed_phases(runner, phases, step_cpu if in_process else None)
    baseline = psutil.Process().memory_info().rss
    c0, t0 = process_cpu_s(), time.perf_counter()
    result = runner.run(cfg, out, scheduler=scheduler, force=True)
    wall, cpu = time.perf_counter() - t0, process_cpu_s() - c0  # this process's threads (children: none)
    _exclusive(phases)
    timings = dict(result.manifest.get("timings_s") or result.manifest.get("timings") or {})
    rice = next(o["path"] for o in result.outputs if Path(o["path"]).name.startswith("rice_class_"))
    from agromap.pipeline import blocks

    windows = blocks.block_windows(runner_plan_dataset(cfg), blocks.max_graph_chunks(max_graph_chunks))
    return {"wall_s": round(wall, 3), "timings_s": timings, "outputs": len(result.outputs),
            "cpu_s": round(cpu, 3), "cpu_phases_s": {k: round(v, 3) for k, v in phases.items()},
            "cpu_steps_s": step_clocks.exclusive(step_cpu, phases) if in_process else {},
            "graphs": len(windows) if windows else 1,
            "cluster": result.manifest.get("cluster"), "rice_class": str(Path(out) / rice),
            "baseline_rss_bytes": baseline}


def _exclusive(phases: dict[str, float]) -> None:
    """``compute`` without the background work done during it (counted as ``meanwhile``)."""
    if "compute" in phases and "meanwhile" in phases:
        phases["compute"] -= phases["meanwhile"]


def runner_plan_dataset(cfg: Any) -> Any:
    """The area's stack as the runner plans it (headers only), to count its blocks."""
    from agromap.pipeline.runner import plan_area

    return plan_area(cfg, cfg.areas[0]).dataset


def decode(folder: str, threads: int) -> dict[str, Any]:
    """Decode every tile of every file once; the time a perfectly efficient reader would need."""
    import rasterio

    from agromap.io.gdal_env import gdal_env_dict

    files = sorted(Path(folder).glob("*.tif"))

    def read_file(path: Path) -> int:
        n = 0
        with rasterio.Env(**gdal_env_dict()), rasterio.open(path) as src:
            for _, window in src.block_windows(1):
                n += src.read(1, window=window).size
        return n

    c0, t0 = process_cpu_s(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        pixels = sum(pool.map(read_file, files))
    wall, cpu = time.perf_counter() - t0, process_cpu_s() - c0
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "files": len(files), "pixels": pixels,
            "threads": threads}


def _read_band(paths: list[Path], raw: bool) -> np.ndarray:
    """A user's loader: every date of a band read whole, stacked to (time, y, x)."""
    import rasterio

    layers = []
    for path in paths:
        with rasterio.open(path) as src:
            dn = src.read(1)
        if raw:
            layers.append(dn)
        else:
            refl = dn.astype(np.float32) * np.float32(1e-4)
            refl[dn == 0] = np.nan
            layers.append(refl)
    return np.stack(layers)


def naive(folder: str, out: str, compare_with: str | None = None) -> dict[str, Any]:
    """Read everything into memory, run the rule on numpy, write GeoTIFFs; optional agreement check."""
    import rasterio
    import xarray as xr

    from agromap.rice.rules_optical import optical_rice_rule

    dates, files = stack_arrays(Path(folder))
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    scl = _read_band(files["scl"], raw=True)
    invalid = np.isin(scl, _SCL_INVALID)
    bands = {}
    for band in REFLECTANCE_BANDS:
        arr = _read_band(files[band], raw=False)
        arr[invalid] = np.nan
        bands[band] = (("time", "y", "x"), arr)
    del scl, invalid
    t_read = time.perf_counter()
    times = np.array(dates, dtype="datetime64[ns]")
    result = optical_rice_rule(xr.Dataset(bands, coords={"time": times}))
    t_rule = time.perf_counter()
    with rasterio.open(files["blue"][0]) as src:
        profile = src.profile
    outputs = {"rice_class": result["rice_class"].values, "rice_score": result["rice_score"].values,
               "n_seasons": result["n_seasons"].values, "n_valid_obs": result["n_valid_obs"].values}
    for k, season in enumerate(result["transplant_doy"].values, start=1):
        outputs[f"transplant_doy_{k}"] = season
    for name, arr in outputs.items():
        nodata = np.nan if arr.dtype.kind == "f" else (0 if name.startswith("transplant") else 255)
        profile.update(dtype=arr.dtype.name, count=1, nodata=nodata, predictor=1)
        with rasterio.open(out_dir / f"{name}.tif", "w", **profile) as dst:
            dst.write(arr, 1)
    wall = time.perf_counter() - t0
    info: dict[str, Any] = {"wall_s": round(wall, 3), "outputs": len(outputs),
                            "read_s": round(t_read - t0, 3), "rule_s": round(t_rule - t_read, 3),
                            "write_s": round(t0 + wall - t_rule, 3)}
    if compare_with:
        with rasterio.open(compare_with) as src:
            ref = src.read(1)
        info["agreement"] = float((ref == outputs["rice_class"]).mean())
        info["rice_fraction"] = float((outputs["rice_class"] == 1).mean())
    return info


def naive_memory_estimate(size: int, dates: int) -> int:
    """Bytes the naive approach needs at its peak (measured 3.06 GB at 2048 px, 12 dates: 2.5x the
    float32 bands; 3x here for margin)."""
    return int(3 * dates * size * size * 4 * len(BANDS))


def available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def cpu_count() -> int:
    return os.cpu_count() or 1
