"""Run one measurement in a fresh Python process and get its JSON result back.

Every timed or memory-measured piece runs in its own subprocess (``python -m bench.child``), so
one measurement never inherits another's caches, threads, clusters or peak memory. The child
times only the work itself (imports and data preparation excluded) and reports its own peak
resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``) on the last line of stdout.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["run_child", "ChildFailed", "emit", "peak_rss_bytes", "load_average"]

_TAG = "BENCH_RESULT "
ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(RuntimeError):
    """A measurement subprocess exited non-zero or printed no result."""


def run_child(task: str, args: dict[str, Any], *, timeout: float = 3600) -> dict[str, Any]:
    """Run ``bench.child <task>`` with ``args`` and return the dict it emitted (plus ``process_s``)."""
    cmd = [sys.executable, "-m", "bench.child", task, json.dumps(args, default=str)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_TAG)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise ChildFailed(f"bench.child {task} exited {proc.returncode}:\n{tail}")
    out = json.loads(lines[-1][len(_TAG):])
    out["process_s"] = round(time.perf_counter() - t0, 2)
    return out


def emit(result: dict[str, Any]) -> None:
    """Child side: print the result line the parent looks for (with this process's peak RSS)."""
    result.setdefault("peak_rss_bytes", peak_rss_bytes())
    print(_TAG + json.dumps(result, default=str), flush=True)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def load_average() -> float:
    """1-minute load average: other work on the machine makes timings unreliable."""
    return round(os.getloadavg()[0], 2)
