"""Benchmark sizes and switches, read from ``BENCH_*`` environment variables (or ``make`` variables).

``make bench BENCH_SIZE=4096`` and ``BENCH_SIZE=4096 .venv/bin/python -m bench`` are the same: GNU
make exports variables given on its command line to the recipe's environment. The defaults finish
in well under 15 minutes on a 2-core machine once the synthetic stacks are cached (the first run
also generates them, about 1 s per date and megapixel per core).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BenchSettings", "SECTIONS", "BANDS", "REFLECTANCE_BANDS"]

#: The measurements, in the order they run; ``BENCH_ONLY=pipeline,soak`` selects some of them.
SECTIONS = ("pipeline", "inference", "memory", "scaleout", "graph", "soak")
#: Six bands per date, as an L2A product folder would give them to the optical rice rule.
BANDS = ("blue", "green", "red", "nir", "swir16", "scl")
REFLECTANCE_BANDS = BANDS[:-1]

HERE = Path(__file__).resolve().parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"bench: {name}={raw!r} is not an integer.") from None
    if value < 1:
        raise SystemExit(f"bench: {name} must be >= 1, got {value}.")
    return value


def _ints(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return tuple(int(v) for v in raw.replace(",", " ").split())
    except ValueError:
        raise SystemExit(f"bench: {name}={raw!r} must be integers separated by commas.") from None


def _words(name: str, default: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    words = tuple(w for w in raw.replace(",", " ").split())
    unknown = sorted(set(words) - set(allowed))
    if unknown:
        raise SystemExit(f"bench: {name} has unknown value(s) {unknown}; choose from {', '.join(allowed)}.")
    return words


@dataclass(frozen=True)
class BenchSettings:
    """Every knob of one benchmark run (recorded in the JSON result)."""

    size: int = 2048
    """``BENCH_SIZE``: edge in pixels of the rice-map stack (target size: 4096)."""
    dates: int = 12
    """``BENCH_DATES``: dates in the stack (taken from the synthetic generator's default season)."""
    chunk: int = 512
    """``BENCH_CHUNK``: the pipeline's chunk edge (= the 512 px file tiles)."""
    mem_sizes: tuple[int, int] = (2048, 4096)
    """``BENCH_MEM_SIZES``: two stack edges for the memory test (default: size and 2 x size, i.e.
    about 1 GiB and 4 GiB of decoded input; the target sizes are 4 and 16 GiB: 4096,8192)."""
    scale_size: int = 2048
    """``BENCH_SCALE_SIZE``: stack edge for the one- vs two-worker comparison (default: size)."""
    graph_size: int = 8192
    """``BENCH_GRAPH_SIZE``: edge of the never-computed stack whose graph is timed."""
    max_graph_chunks: int | None = None
    """``BENCH_MAX_GRAPH_CHUNKS``: the runs' ``max_graph_chunks`` (input chunks per graph; larger
    areas run as successive spatial blocks); unset: agromap's default."""
    rf_size: int = 2048
    """``BENCH_RF_SIZE``: edge of the feature raster the RandomForest predicts over."""
    rf_trees: int = 200
    """``BENCH_RF_TREES``: trees of the forest (agromap's TrainParams default)."""
    soak_runs: int = 30
    """``BENCH_SOAK_RUNS``: consecutive runs of the soak."""
    soak_every: int = 5
    """``BENCH_SOAK_EVERY``: one input file changes before every n-th run."""
    soak_size: int = 512
    """``BENCH_SOAK_SIZE``: stack edge of the soak."""
    soak_schedulers: tuple[str, ...] = ("local", "threads")
    """``BENCH_SOAK_SCHEDULERS``: one soak per scheduler (default: agromap's default, the embedded
    cluster, and the plain threaded scheduler, which tells a leak of the cluster from one of agromap)."""
    repeat: int = 2
    """``BENCH_REPEAT``: timed repetitions of each speed measurement; the fastest is kept (the
    machine may be shared: the best of two is less sensitive to someone else's burst)."""
    seed: int = 0
    """``BENCH_SEED``: seed of the synthetic scenes (part of the cache key)."""
    only: tuple[str, ...] = SECTIONS
    """``BENCH_ONLY``: which sections to run (default: all)."""
    cache: Path = field(default=HERE / "cache")
    """``BENCH_CACHE``: where the generated stacks are kept between runs."""
    results: Path = field(default=HERE / "results")
    """``BENCH_RESULTS``: where the JSON results go."""

    @classmethod
    def from_env(cls) -> BenchSettings:
        """Settings from ``BENCH_*`` variables; ``BENCH_QUICK=1`` starts from :data:`QUICK` instead."""
        base = QUICK if os.environ.get("BENCH_QUICK", "").strip() not in ("", "0") else cls()
        size = _int("BENCH_SIZE", base.size)
        default_mem = base.mem_sizes if "BENCH_SIZE" not in os.environ else (size, 2 * size)
        mem = _ints("BENCH_MEM_SIZES", default_mem)
        if len(mem) != 2:
            raise SystemExit(f"bench: BENCH_MEM_SIZES needs two sizes, got {mem}.")
        chunk = _int("BENCH_CHUNK", base.chunk)
        if chunk % 256:
            raise SystemExit(f"bench: BENCH_CHUNK must be a multiple of 256 (agromap's rule), got {chunk}.")
        return cls(
            size=size, dates=_int("BENCH_DATES", base.dates), chunk=chunk, mem_sizes=(mem[0], mem[1]),
            scale_size=_int("BENCH_SCALE_SIZE", size if "BENCH_SIZE" in os.environ else base.scale_size),
            graph_size=_int("BENCH_GRAPH_SIZE", base.graph_size), rf_size=_int("BENCH_RF_SIZE", base.rf_size),
            rf_trees=_int("BENCH_RF_TREES", base.rf_trees), soak_runs=_int("BENCH_SOAK_RUNS", base.soak_runs),
            soak_every=_int("BENCH_SOAK_EVERY", base.soak_every), soak_size=_int("BENCH_SOAK_SIZE", base.soak_size),
            soak_schedulers=_words("BENCH_SOAK_SCHEDULERS", base.soak_schedulers, ("local", "threads", "synchronous")),
            repeat=_int("BENCH_REPEAT", base.repeat),
            max_graph_chunks=_int("BENCH_MAX_GRAPH_CHUNKS", 0) or None,
            seed=int(os.environ.get("BENCH_SEED", "0") or 0),
            only=_words("BENCH_ONLY", SECTIONS, SECTIONS),
            cache=Path(os.environ.get("BENCH_CACHE") or HERE / "cache"),
            results=Path(os.environ.get("BENCH_RESULTS") or HERE / "results"),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


#: ``BENCH_QUICK=1``: every section at toy sizes (about a minute), to check that the suite runs.
#: The ratios are not meaningful at these sizes: fixed costs dominate.
QUICK = BenchSettings(size=512, mem_sizes=(512, 1024), scale_size=512, graph_size=2048, rf_size=512, rf_trees=20,
                      soak_runs=8, soak_every=2, repeat=1)
