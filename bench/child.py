"""Subprocess entry point: ``python -m bench.child TASK 'JSON-ARGS'`` runs one measurement.

The result is printed as one ``BENCH_RESULT {...}`` line (see :mod:`bench.proc`). Tasks:

========== ==========================================================================
agromap    :func:`bench.pipeline.agromap_run` (folder, out, scheduler, chunk)
decode     :func:`bench.pipeline.decode` (folder, threads)
naive      :func:`bench.pipeline.naive` (folder, out, compare_with)
inference  :func:`bench.inference.measure` (size, trees, seed, chunk, threads, repeat)
scaleout   :func:`bench.cluster.scaleout` (folder, out, chunk, workers)
graph      :func:`bench.cluster.graph_construction` (folder, out, chunk)
soak       :func:`bench.soak.soak` (folder, out, runs, every, scheduler, chunk)
========== ==========================================================================
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

from .proc import emit

#: task -> (module of this package, function); imported only when that task runs.
TASKS: dict[str, tuple[str, str]] = {
    "agromap": ("pipeline", "agromap_run"), "decode": ("pipeline", "decode"), "naive": ("pipeline", "naive"),
    "inference": ("inference", "measure"), "scaleout": ("cluster", "scaleout"),
    "graph": ("cluster", "graph_construction"), "soak": ("soak", "soak"),
}


def _task(name: str) -> Callable[..., dict[str, Any]]:
    module, func = TASKS[name]
    return getattr(importlib.import_module(f"bench.{module}"), func)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.child TASK 'JSON-ARGS'", file=sys.stderr)
        return 2
    task, args = argv[0], json.loads(argv[1])
    if task not in TASKS:
        print(f"bench.child: unknown task {task!r}; choose one of {sorted(TASKS)}", file=sys.stderr)
        return 2
    emit(_task(task)(**args))
    return 0


if __name__ == "__main__":  # the guard matters: dask's process workers re-import this module (spawn)
    raise SystemExit(main(sys.argv[1:]))
