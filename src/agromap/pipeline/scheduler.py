"""Where the one compute runs: an embedded local cluster, threads, or an existing cluster."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..io.gdal_env import GDAL_PRESET

__all__ = ["Execution", "open_execution"]

log = logging.getLogger(__name__)


@dataclass
class Execution:
    """The scheduler a run uses, and what the manifest says about it."""

    kind: str
    client: Any = None
    shape: dict[str, Any] = field(default_factory=dict)

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        import dask

        if self.client is not None:
            return tuple(self.client.compute(list(collections), sync=True))
        scheduler = "sync" if self.kind == "synchronous" else "threads"
        return tuple(dask.compute(*collections, scheduler=scheduler))


def _gdal_environ() -> dict[str, str]:
    return {k: v for k, v in GDAL_PRESET}


@contextlib.contextmanager
def open_execution(scheduler: str, *, n_workers: int | None = None) -> Iterator[Execution]:
    """Start (or connect to) the scheduler named in the configuration and close it afterwards.

    ``local`` starts a ``dask.distributed.LocalCluster`` of worker processes sized to the
    machine, with the GDAL preset in every worker's environment before it starts; an
    address connects to an existing scheduler and leaves it running.
    """
    if scheduler in ("threads", "synchronous"):
        yield Execution(scheduler, None, {"scheduler": scheduler, "threads": os.cpu_count() or 1})
        return
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cores = os.cpu_count() or 1
        workers = n_workers or max(1, min(cores, 8))
        with LocalCluster(
            n_workers=workers,
            threads_per_worker=max(1, cores // workers),
            processes=True,
            dashboard_address=None,
            env=_gdal_environ(),
            silence_logs=logging.ERROR,
        ) as cluster, Client(cluster) as client:
            yield Execution("local", client, _shape(client))
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
        yield Execution("distributed", client, _shape(client))
    finally:
        client.close()


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
