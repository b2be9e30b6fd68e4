"""Measurement 5: a soak of consecutive incremental runs in one process.

The same configuration is run ``runs`` times into one output folder, in one Python process, the
way a long-lived service or a notebook would call ``agromap.pipeline.runner.run``. Before every
``every``-th run one input file is swapped between two versions that differ in one pixel, so
that run recomputes every layer (a changed input); the runs in between have nothing to do and
reuse the outputs. After each run (and a ``gc.collect()``) the process's resident memory, open
file descriptors, threads and child processes are sampled.

Flatness is judged after a warm-up of ``2 * every + 1`` runs (the first full compute, the first
reuse and the first two recomputes). Two recomputes, because glibc's allocator keeps growing its
per-thread arenas through the second one: with the threaded scheduler RSS steps by ~30 and ~25 MiB
at the first two recomputing runs, then by 0-5 MiB (50-run soak: +38 MiB, then +1 to +2 per
recompute), while the Python objects stay flat; with ``MALLOC_ARENA_MAX=2`` the steps shrink to a
few MiB. A leak keeps its slope after the warm-up; a filling allocator does not. Open files, threads and child processes must not move at all
(max - min). Resident memory is sampled after ``gc.collect()`` and glibc's ``malloc_trim(0)``:
without the trim, RSS swings by 50-100 MiB between identical runs (freed heap kept or returned at
the allocator's whim) and hides a leak of a few MiB per run; with it, RSS follows live memory and
its least-squares slope per run is meaningful. The number of objects tracked by Python's garbage
collector is the sharpest test: it does not move at all from run to run unless objects leak.
"""

from __future__ import annotations

import gc
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from .data import stack_config

__all__ = ["soak", "flatness"]


def _variants(victim: Path, where: Path) -> tuple[Path, Path]:
    """Two versions of ``victim``: the original and one with its first pixel's DN changed."""
    import rasterio
    from rasterio.windows import Window

    where.mkdir(parents=True, exist_ok=True)
    a, b = where / "A.tif", where / "B.tif"
    shutil.copyfile(victim, a)
    shutil.copyfile(victim, b)
    with rasterio.open(b, "r+") as dst:
        px = dst.read(1, window=Window(0, 0, 1, 1))
        dst.write((px % 9000 + 1000).astype(px.dtype), 1, window=Window(0, 0, 1, 1))
    return a, b


def _trim_heap() -> None:
    """Give freed heap pages back to the OS (glibc), so RSS tracks live memory, not allocator slack."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc: RSS stays noisier, nothing else changes
            pass


def flatness(values: list[float], warmup: int) -> dict[str, float]:
    """Slope per run (least squares) and range of ``values`` after ``warmup`` runs."""
    v = np.asarray(values[warmup:], dtype=float)
    if v.size < 2:
        return {"slope_per_run": 0.0, "range": 0.0, "first": float(v[0]) if v.size else 0.0, "last": 0.0}
    slope = float(np.polyfit(np.arange(v.size), v, 1)[0])
    return {"slope_per_run": slope, "range": float(v.max() - v.min()), "first": float(v[0]), "last": float(v[-1])}


def soak(folder: str, out: str, runs: int, every: int, scheduler: str, chunk: int) -> dict[str, Any]:
    """Run the pipeline ``runs`` times with an input changing every ``every`` runs; sample resources."""
    import psutil

    from agromap.pipeline.runner import run

    logging.getLogger("agromap").setLevel(logging.ERROR)
    root = Path(out)
    inputs = root / "inputs"
    shutil.copytree(folder, inputs)  # the cached stack itself is never modified
    victim = sorted(inputs.glob("*_nir.tif"))[0]
    versions = _variants(victim, root / "variants")
    cfg = stack_config(inputs, chunk=chunk, scheduler=scheduler)
    proc = psutil.Process()
    samples: list[dict[str, Any]] = []
    for i in range(runs):
        changed = i > 0 and i % every == 0
        if changed:
            shutil.copyfile(versions[(i // every) % 2], victim)
        t0 = time.perf_counter()
        result = run(cfg, root / "out", scheduler=scheduler)
        wall = time.perf_counter() - t0
        gc.collect()
        _trim_heap()
        samples.append({
            "run": i, "input_changed": changed, "computed": len(result.computed), "wall_s": round(wall, 3),
            "rss_bytes": proc.memory_info().rss, "fds": proc.num_fds(), "threads": proc.num_threads(),
            "children": len(proc.children(recursive=True)), "py_objects": len(gc.get_objects()),
        })  # fmt: skip
    warm = min(2 * every + 1, max(runs - 2, 1))
    recomputed = [s["computed"] for s in samples if s["input_changed"]]
    reused = [s["computed"] for s in samples[1:] if not s["input_changed"]]
    return {
        "runs": runs, "every": every, "scheduler": scheduler, "warmup_runs": warm, "samples": samples,
        "rss": flatness([s["rss_bytes"] for s in samples], warm),
        "fds": flatness([s["fds"] for s in samples], warm),
        "threads": flatness([s["threads"] for s in samples], warm),
        "children": flatness([s["children"] for s in samples], warm),
        "py_objects": flatness([s["py_objects"] for s in samples], warm),
        "recompute_layers": sorted(set(recomputed)), "reuse_layers": sorted(set(reused)),
        "reuse_wall_s": float(np.median([s["wall_s"] for s in samples[1:] if not s["input_changed"]] or [0])),
        "recompute_wall_s": float(np.median([s["wall_s"] for s in samples if s["input_changed"]] or [0])),
    }  # fmt: skip
