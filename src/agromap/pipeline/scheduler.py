"""Where the one compute runs: an embedded local cluster, threads, or an existing cluster."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ComputeLostError, ConfigError
from ..io.gdal_env import GDAL_PRESET

__all__ = ["Execution", "open_execution"]

log = logging.getLogger(__name__)


@dataclass
class Execution:
    """The scheduler a run uses, and what the manifest says about it."""

    kind: str
    client: Any = None
    shape: dict[str, Any] = field(default_factory=dict)

    progress: bool = False

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        """Compute every collection in one graph execution; a lost worker becomes exit code 6."""
        import dask

        try:
            if self.client is not None:
                futures = self.client.compute(list(collections))
                if self.progress:
                    from distributed import progress

                    progress(futures)
                return tuple(self.client.gather(futures))
            scheduler = "sync" if self.kind == "synchronous" else "threads"
            if self.progress:
                from dask.diagnostics import ProgressBar

                with ProgressBar():
                    return tuple(dask.compute(*collections, scheduler=scheduler))
            return tuple(dask.compute(*collections, scheduler=scheduler))
        except MemoryError as exc:
            raise ComputeLostError(f"out of memory while computing ({exc}); lower 'chunk' or add memory.") from None
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":
                raise ComputeLostError(
                    f"a dask worker died repeatedly while computing ({exc}); the task may need more memory "
                    "than a worker has. Lower 'chunk', add workers' memory, or check the worker logs."
                ) from None
            if _is_read_error(exc):
                # A read that failed inside a task (odc-stac's reader raises rasterio's own errors):
                # a bad or unreachable input, exit 3, not a bug.
                from ..errors import InputError

                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise InputError(
                    f"an input could not be read while computing ({first}); check that the file or server "
                    "is reachable and the file complete, then re-run."
                ) from None
            raise


def _is_read_error(exc: BaseException) -> bool:
    from rasterio.errors import RasterioError

    return isinstance(exc, RasterioError) or type(exc).__module__.startswith("rasterio")


def _gdal_environ() -> dict[str, str]:
    return {k: v for k, v in GDAL_PRESET}


@contextlib.contextmanager
def open_execution(scheduler: str, *, n_workers: int | None = None, progress: bool = False) -> Iterator[Execution]:
    """Start (or connect to) the scheduler named in the configuration and close it afterwards.

    ``local`` starts a ``dask.distributed.LocalCluster`` of worker processes sized to the
    machine, with the GDAL preset in every worker's environment before it starts; an
    address connects to an existing scheduler and leaves it running.
    """
    if scheduler in ("threads", "synchronous"):
        yield Execution(scheduler, None, {"scheduler": scheduler, "threads": os.cpu_count() or 1}, progress)
        return
    from distributed import Client, LocalCluster

    _quiet_distributed()
    if scheduler == "local":
        # One worker process with a thread per core: GDAL decoding and numpy kernels release the
        # GIL, so threads parallelise the work without shipping chunks between processes, and the
        # run is still isolated from the caller in its own process when run from the CLI.
        cores = os.cpu_count() or 1
        os.environ.update(_gdal_environ())
        with LocalCluster(
            n_workers=1,
            threads_per_worker=cores,
            processes=False,
            dashboard_address=":0" if progress else None,  # a dashboard only for people watching
            silence_logs=logging.ERROR,
        ) as cluster, Client(cluster) as client:
            if progress:
                log.info("dask dashboard: %s", client.dashboard_link)
            yield Execution("local", client, _shape(client), progress)
        return
    if "://" not in scheduler:
        raise ConfigError(
            f"scheduler {scheduler!r} is not 'local', 'threads', 'synchronous' or an address like tcp://host:8786."
        )
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise ConfigError(f"cannot reach the dask scheduler at {scheduler} ({exc}); is it running?") from None
    try:
        # Workers started elsewhere did not get our environment; set it before any task runs.
        client.run(_apply_env, _gdal_environ())
        log.info("connected to dask scheduler %s (dashboard %s)", scheduler, client.dashboard_link)
        yield Execution("distributed", client, _shape(client), progress)
    finally:
        client.close()


def _quiet_distributed() -> None:
    """distributed configures its own INFO loggers at import; keep them to errors unless debugging."""
    if log.isEnabledFor(logging.DEBUG):
        return
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("distributed", "tornado", "bokeh")):
            logging.getLogger(name).setLevel(logging.ERROR)


def _apply_env(env: dict[str, str]) -> None:
    os.environ.update(env)


def _shape(client: Any) -> dict[str, Any]:
    info = client.scheduler_info()
    workers = info.get("workers", {})
    return {
        "scheduler": info.get("address"),
        "workers": len(workers),
        "threads": sum(w.get("nthreads", 0) for w in workers.values()),
        "memory_limit_bytes": sum(w.get("memory_limit", 0) for w in workers.values()),
    }
