"""CPU seconds of the rice run's steps inside the compute and the publish, for the pipeline section.

The run's phases (plan, compute, publish) are timed with the process's CPU clock
(:func:`bench.pipeline.process_cpu_s`); inside them the tile tasks run on dask's threads and the
layers are published on a thread pool, so a step is timed with the CPU clock of the thread that
runs it (:func:`time.thread_time`) and summed over every call on every thread.

Compute (one tile task reads its window of every file, masks, runs the rule, encodes and writes
each layer's staging window):

- ``decode``: GDAL decoding the stored integers of each window (``agromap.io.read.read_bands``, all
  dates of a band in one call, and ``read_window``, one file's window); the same work as the
  bench's bare decode.
- ``convert``: stored integers to float32 reflectance, NaN at nodata and where the QA band says
  unusable (``agromap.io.dn_kernel.convert_window``).
- ``qa_mask``: the usable-pixel mask from the QA band (``products.base.valid_mask``).
- ``rule_kernel``: the optical rule's compiled per-pixel kernel and the reshaping around it
  (``rules_optical._optical_band_kernel`` without its seasons and score). The run loads numba and
  the kernel's machine code on its background import thread (counted in ``meanwhile``); a first
  call that still imports the kernel itself gives that load apart, as ``kernel_load``.
- ``seasons_score``: season slots, QA flags and output conventions (a compiled walk that releases the
  GIL, ``agromap.rice.seasons_kernel``) and the score's logistic in numpy (``rules_optical._seasons_and_score``).
- ``encode``: each layer's values to its stored type (``agromap.io.layers._encode_block``).
- ``staging_write``: each layer's window written into its staging GTiff.
- ``tile_other``: the rest of the tile tasks (xarray wrapping, the tile's share of the valid counts).

Publish: ``cog_convert`` (the calling thread's part of the COG conversion with its overviews;
GDAL encodes on threads of its own, counted in ``publish_other``), ``cog_check`` (layout check and
the full-resolution read-back for the statistics), ``quicklook`` and ``report_maps``.

A name that no longer exists stops the measurement rather than moving its time elsewhere.

Where the kernel gives each thread's scheduling counters (Linux, ``/proc/thread-self/schedstat``),
the tile tasks' wall time is split too: ``tile_wall`` (summed over the threads), of which
``tile_runq`` waiting in the run queue (runnable while the core runs another thread or process)
and ``tile_asleep`` the rest beyond their CPU: sleeping on the GIL, a lock or an import under way
on another thread. ``tile_asleep`` is the time the run's own threads hold each other up. Each
compute step's calls are split the same way (``asleep_<step>``), with their number
(``calls_<step>``) and the times their thread blocked in them (``waits_<step>``: the thread's
voluntary context switches, ``/proc/thread-self/status``; a thread back from GDAL or a compiled
kernel that finds the GIL held blocks once to take it).

Each tile task's span on its thread is kept too, to tell where the tile threads have no task:
``tile_lead`` (seconds from the compute's start to the first tile task), ``tile_idle`` (thread-seconds
between the first tile's start and the last tile's end that a tile thread spent outside a tile task:
waiting for dask between tasks, or done while another thread ran the last tile) and ``tile_tail`` (the
last thread's end after the first thread to finish its last tile), and each thread's first tile apart
(``tile_first``, CPU seconds summed over the threads; it opens the inputs and faults the thread's arrays
in) with the tile tasks' system CPU (``tile_sys``, ``tile_first_sys``; Linux).
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from typing import Any

__all__ = ["COMPUTE_STEPS", "PUBLISH_STEPS", "install", "exclusive"]

#: step -> (module, attribute[, class]) of the function whose calls are timed, per phase.
COMPUTE_STEPS: dict[str, tuple[str, ...]] = {
    "decode": ("agromap.io.read", "read_window"),
    "decode_stack": ("agromap.io.read", "read_bands"),
    "convert": ("agromap.io.dn_kernel", "convert_window"),
    "qa_mask": ("agromap.pipeline.products.base", "valid_mask"),
    "rule": ("agromap.rice.rules_optical", "_optical_band_kernel"),
    "seasons_score": ("agromap.rice.rules_optical", "_seasons_and_score"),
    "encode": ("agromap.io.layers", "_encode_block"),
    "staging_write": ("agromap.io.write", "__setitem__", "GTiffWindowWriter"),
    "tile_task": ("agromap.pipeline.fusion", "_run_tile"),
}
PUBLISH_STEPS: dict[str, tuple[str, ...]] = {
    "cog_convert": ("agromap.io.write", "_convert"),
    "cog_layout": ("agromap.io.write", "check_layout"),
    "cog_scan": ("agromap.io.write", "scan_cog"),
    "quicklook": ("agromap.pipeline.publish_layers", "write_quicklook"),
    "report_maps": ("agromap.pipeline.publish_layers", "_draw_map_ahead"),
}
_KERNEL_MODULE = "agromap.rice.optical_kernel"
_SCHEDSTAT = "/proc/thread-self/schedstat"


_STATUS = "/proc/thread-self/status"
#: Per tile task: (thread id, start, end, thread CPU s, system CPU s), in the order they end.
_TILES: list[tuple[int, float, float, float, float]] = []
#: Steps counted together: their calls are the same work by another route.
_SAME_STEP = {"decode_stack": "decode"}


def _run_queue_s() -> float | None:
    """Seconds this thread has waited in the run queue so far, or ``None`` where the kernel does not say."""
    try:
        with open(_SCHEDSTAT) as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _blocked() -> int:
    """Times this thread has blocked so far (voluntary context switches), 0 where the kernel does not say."""
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _system_s() -> float:
    """System CPU seconds of this thread so far (0 where the platform does not say)."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_THREAD).ru_stime
    except (ImportError, AttributeError, OSError):
        return 0.0


def install(steps: dict[str, tuple[str, ...]], cpu: dict[str, float]) -> None:
    """Wrap each step's function so that its calls add their thread CPU seconds to ``cpu[step]``.

    Called when a phase begins, so that the modules are those the run imported itself (nothing is
    imported ahead of the run: importing the optical kernel loads numba, part of the compute's cost).
    """
    lock = threading.Lock()
    split = steps is COMPUTE_STEPS and _run_queue_s() is not None  # the tile threads' steps: wall split too
    if steps is COMPUTE_STEPS:
        _TILES.clear()
        cpu["compute_start"] = time.perf_counter()
    for step, (module_name, name, *owner) in steps.items():
        module = importlib.import_module(module_name)
        target = getattr(module, owner[0]) if owner else module
        func = getattr(target, name, None)
        if func is None or getattr(func, "_bench_step", None) is not None:
            if func is None:
                raise AttributeError(f"bench: {module_name} has no {'.'.join((*owner, name))} any more; "
                                     "update bench.steps")
            continue

        def timed(*a: Any, _f: Any = func, _s: str = step, **k: Any) -> Any:
            load = _s == "rule" and _KERNEL_MODULE not in sys.modules
            step_kernel_load = 0.0
            w0, q0, b0 = (time.perf_counter(), _run_queue_s(), _blocked()) if split else (time.perf_counter(), None, 0)
            s0 = _system_s() if _s == "tile_task" else 0.0
            c0 = c_all = time.thread_time()
            if load:  # the first rule call imports numba and loads the kernel: a fixed cost, given apart
                importlib.import_module(_KERNEL_MODULE)
                step_kernel_load = time.thread_time() - c0
                c0 = time.thread_time()
            try:
                return _f(*a, **k)
            finally:
                spent, total = time.thread_time() - c0, time.thread_time() - c_all
                q1, b1 = (_run_queue_s(), _blocked()) if q0 is not None else (None, 0)
                with lock:
                    cpu[_s] = cpu.get(_s, 0.0) + spent
                    if q0 is not None and q1 is not None:
                        wall = time.perf_counter() - w0
                        if _s == "tile_task":
                            cpu["tile_wall"] = cpu.get("tile_wall", 0.0) + wall
                            cpu["tile_runq"] = cpu.get("tile_runq", 0.0) + q1 - q0
                        else:  # (nested steps' sleep counted in the step around them too)
                            own = _SAME_STEP.get(_s, _s)
                            cpu[f"asleep_{own}"] = cpu.get(f"asleep_{own}", 0.0) + wall - (q1 - q0) - total
                            cpu[f"calls_{own}"] = cpu.get(f"calls_{own}", 0) + 1
                            cpu[f"waits_{own}"] = cpu.get(f"waits_{own}", 0) + b1 - b0
                    if load:
                        cpu["kernel_load"] = cpu.get("kernel_load", 0.0) + step_kernel_load
                    if _s == "tile_task":
                        _TILES.append((threading.get_ident(), w0, time.perf_counter(), spent, _system_s() - s0))

        timed._bench_step = step  # type: ignore[attr-defined]
        setattr(target, name, timed)


def exclusive(cpu: dict[str, float], phases: dict[str, float]) -> dict[str, float]:
    """Each step's own CPU seconds (nested steps taken out of the step around them), rounded.

    ``rule_kernel`` is the rule without its seasons and score; ``tile_other`` the tile tasks without
    their steps; ``outside_tiles`` the compute's CPU (without the background work) outside the tile
    tasks; ``publish_other`` the publish phase's CPU outside its timed steps (GDAL's encoding threads,
    STAC items, file renames); ``tile_asleep`` the tile tasks' wall time beyond their CPU and their
    run-queue waits (thread-seconds, where the kernel gives the counters).
    """
    out = dict(cpu)
    for step, into in _SAME_STEP.items():
        if step in out:
            out[into] = out.get(into, 0.0) + out.pop(step)
    rule = out.pop("rule", 0.0)
    out["rule_kernel"] = rule - out.get("seasons_score", 0.0)
    tile = out.pop("tile_task", 0.0)
    inner = ("decode", "convert", "qa_mask", "rule_kernel", "seasons_score", "encode", "staging_write",
             "kernel_load")
    if tile:
        out["tile_other"] = tile - sum(out.get(k, 0.0) for k in inner)
    if "tile_wall" in out:
        out["tile_asleep"] = out["tile_wall"] - tile - out["tile_runq"]
    out.update(_tile_spans(out.pop("compute_start", None)))
    if "compute" in phases:
        out["outside_tiles"] = phases["compute"] - (tile or sum(out.get(k, 0.0) for k in inner))
    if "publish" in phases:
        out["publish_other"] = phases["publish"] - sum(out.get(k, 0.0) for k in PUBLISH_STEPS)
    return {k: round(v, 3) for k, v in out.items()}


def _tile_spans(start: float | None) -> dict[str, float]:
    """Where the tile threads had no tile task, and each thread's first tile (see the module)."""
    if not _TILES:
        return {}
    threads: dict[int, list[tuple[int, float, float, float, float]]] = {}
    for tile in sorted(_TILES, key=lambda t: t[1]):
        threads.setdefault(tile[0], []).append(tile)
    first, last = min(t[1] for t in _TILES), max(t[2] for t in _TILES)
    ends = sorted(tasks[-1][2] for tasks in threads.values())
    out = {"tile_idle": len(threads) * (last - first) - sum(t[2] - t[1] for t in _TILES),
           "tile_tail": ends[-1] - ends[0],
           "tile_first": sum(tasks[0][3] for tasks in threads.values()),
           "tile_first_sys": sum(tasks[0][4] for tasks in threads.values()),
           "tile_sys": sum(t[4] for t in _TILES), "tile_threads": len(threads)}
    if start is not None:
        out["tile_lead"] = first - start
    return out
