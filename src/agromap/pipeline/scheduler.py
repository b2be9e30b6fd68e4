"""Where the one compute runs: an embedded local cluster, threads, or an existing cluster."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import AgromapError, ComputeLostError, ConfigError, DeadlineError, output_error
from ..io.gdal_env import GDAL_PRESET, PROCESS_WIDE, process_settings

__all__ = ["Execution", "open_execution", "Opening", "opening", "local_get", "check_scheduler", "probe_scheduler", "CONNECT_DEADLINE_S",
           "WORKER_IMPORTS", "RULE_KERNELS", "rule_kernels", "worker_imports", "warm_workers", "cool_workers", "execution_kind"]

#: Seconds a scheduler address has to answer (connect and handshake) before the run gives up.
CONNECT_DEADLINE_S = 10.0
_NAMED = ("local", "threads", "synchronous")
_SCHEMES = ("tcp", "tls", "ws", "wss")
_ADDRESS = re.compile(r"^(?P<scheme>[a-z]+)://(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})/?$")


def check_scheduler(scheduler: str) -> str:
    """Refuse a scheduler string that is neither a known name nor ``scheme://host:port``.

    Raises
    ------
    ConfigError
        With the accepted forms; checked before anything is opened or computed.
    """
    if scheduler in _NAMED:
        return scheduler
    m = _ADDRESS.match(str(scheduler))
    if m is None or m.group("scheme") not in _SCHEMES or not 0 < int(m.group("port")) < 65536:
        raise ConfigError(
            f"scheduler {scheduler!r} is not 'local', 'threads', 'synchronous' or an address like "
            f"tcp://host:8786 (schemes: {', '.join(_SCHEMES)})."
        )
    return scheduler


def probe_scheduler(address: str, deadline: float = CONNECT_DEADLINE_S) -> None:
    """Connect to a dask scheduler and wait for its answer, at most ``deadline`` seconds in all.

    ``distributed.Client(timeout=...)`` bounds the TCP connect but not the handshake, so a
    server that accepts and never answers would hang a run forever; this probe is cancelled at
    the deadline instead.

    Raises
    ------
    DeadlineError
        Nothing answered in time (exit code 8).
    """
    import asyncio
    import socket
    from urllib.parse import urlsplit

    from distributed.comm import connect

    parts = urlsplit(address)
    try:  # a refused connection is known at once; distributed would retry it until the deadline
        socket.create_connection((parts.hostname, parts.port), timeout=deadline).close()
    except OSError as exc:
        raise DeadlineError(f"cannot reach the dask scheduler at {address} ({_first_line(exc)}); check that a "
                            "dask scheduler runs there, or use scheduler: local.") from None

    async def _ask() -> Any:
        comm = await connect(address, timeout=deadline)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def _bounded() -> Any:
        return await asyncio.wait_for(_ask(), deadline)

    try:
        answer = asyncio.run(_bounded())
    except (asyncio.TimeoutError, TimeoutError, OSError) as exc:
        raise DeadlineError(
            f"the dask scheduler at {address} did not answer within {deadline:g} s ({_first_line(exc)}); "
            "check that a dask scheduler runs there, or use scheduler: local."
        ) from None
    except Exception as exc:  # a server speaking another protocol
        raise DeadlineError(f"{address} did not answer like a dask scheduler ({_first_line(exc)}); check the "
                            "address, or use scheduler: local.") from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise ConfigError(f"{address} answered, but not as a dask scheduler ({str(answer)[:80]}); check the address.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

log = logging.getLogger(__name__)

WORKER_IMPORTS: tuple[str, ...] = (
    "rasterio", "agromap.io.read",
    "agromap.pipeline.publish_layers", "rio_cogeo.cogeo", "PIL.PngImagePlugin", "PIL.ImageDraw", "PIL.ImageFont",
    "agromap.report", "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.patches",
    "matplotlib.patheffects",
)
"""Modules every worker imports for the run's tasks: GDAL bindings and the window reader, then what
publishing a layer there imports (the COG layout check, the quicklook's PNG encoder and fonts, the
report map's drawing; about 0.45 CPU-s, otherwise paid inside a worker's first publishing task)."""

RULE_KERNELS: dict[str, tuple[str, ...]] = {
    "agromap.rice.rules_optical": ("agromap.rice.optical_kernel", "agromap.rice.seasons_kernel"),
    "agromap.rice.rules_sar": ("agromap.rice.sar_series_kernel", "agromap.rice.seasons_kernel")}
"""Compiled kernels a rule module loads in a process on its first call, keyed by the rule module.

Loading the optical kernel from numba's cache costs about 0.7 CPU-s per process; on a worker it
would otherwise be paid inside its first task, while the run waits for the compute. The run's own
process imports a rule module while planning a layer that calls it (never the kernel), so the rule
modules it holds after planning name the kernels its workers will need."""


def worker_imports(loaded: Iterable[str] | None = None) -> tuple[str, ...]:
    """The modules to import on the workers before a compute planned in this process.

    Parameters
    ----------
    loaded
        Names of the modules imported in the planning process (default: ``sys.modules``); a
        kernel of :data:`RULE_KERNELS` is listed only when its rule module is among them, so a
        run without a rice rule never loads numba on its workers.
    """
    return WORKER_IMPORTS + rule_kernels(loaded)


def rule_kernels(loaded: Iterable[str] | None = None) -> tuple[str, ...]:
    """The compiled kernels (:data:`RULE_KERNELS`) of the rule modules among ``loaded`` (default:
    ``sys.modules``): those a compute planned in this process will call.
    """
    names = set(sys.modules if loaded is None else loaded)
    return tuple(k for rule, kernels in RULE_KERNELS.items() if rule in names for k in kernels)


def warm_workers(client: Any, modules: Iterable[str]) -> str:
    """Import ``modules`` on every worker of ``client``'s cluster before any task is sent, and on
    every worker that joins later, until :func:`cool_workers` (:class:`~agromap.pipeline.warm_up.WarmUp`).

    Waits for the imports on the workers present. Nothing can fail the run: a module that cannot
    be imported is left for the task that needs it, which then fails with its own error. Returns
    the plugin's name on the cluster.
    """
    from .warm_up import WarmUp

    plugin = WarmUp(modules)
    client.register_plugin(plugin, name=plugin.name)
    return plugin.name


def cool_workers(client: Any, name: str) -> None:
    """Remove the warm-up plugin ``name`` of :func:`warm_workers` from the cluster (workers joining
    from now on import nothing for this run); a cluster that lost it already is left as it is, and
    a client that lost its scheduler does not try to reach it again.
    """
    if not _reachable(client):
        return
    with contextlib.suppress(Exception):
        client.unregister_worker_plugin(name)


def _reachable(client: Any) -> bool:
    """False while ``client`` has lost its scheduler and is reconnecting: a call then waits out the
    whole connect deadline (10 s) before the run can report the lost cluster (exit 6).
    """
    return getattr(client, "status", "running") == "running"


@dataclass
class Execution:
    """The scheduler a run uses, and what the manifest says about it."""

    kind: str
    client: Any = None
    shape: dict[str, Any] = field(default_factory=dict)

    progress: bool = False
    warm_up: str | None = None
    """The run's warm-up plugin on the cluster (:func:`warm_workers`), if any: after each compute its
    workers let go of the inputs and tile arrays they kept for it (:func:`~.warm_up.release_kept`)."""

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        """Compute every collection in one graph execution; a lost worker becomes exit code 6.

        Local input files stay open per thread during the compute, all closed when it ends
        (:func:`agromap.io.open_files.kept_open`).
        """
        from ..io.open_files import kept_open

        with kept_open():
            return self._compute(collections)

    def map(self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], *, keys: Sequence[str],
            done: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``fn(*call)`` for every call as a task on the cluster's workers; the results in order.

        Every task runs to its end, whatever the others do: a task cancelled on its worker would
        go on writing there, unseen by this process. ``done(k, result)`` is called here as each
        call succeeds (in the order they end); then the first failure in call order (of a task, or
        of ``done``) is raised, translated as :meth:`compute` translates a compute's errors.

        Parameters
        ----------
        fn : callable
            A module-level function of plain, picklable arguments.
        calls : sequence of tuple
            The arguments of each call.
        keys : sequence of str
            One unique task key per call (named in the cluster's dashboard and task stream).
        done : callable, optional
            Called in this process with the call's index and result.
        """
        from distributed import as_completed

        assert self.client is not None  # a cluster's execution
        errors: dict[int, BaseException] = {}
        results: list[Any] = [None] * len(calls)
        try:
            futures = [self.client.submit(fn, *call, key=key, pure=False) for call, key in zip(calls, keys, strict=True)]
            index = {f.key: k for k, f in enumerate(futures)}
            for future in as_completed(futures):
                k = index[future.key]
                if future.status != "finished":
                    errors[k] = future.exception() or RuntimeError(f"task {future.key} ended as {future.status}")
                    continue
                results[k] = future.result()
                if done is not None:
                    try:
                        done(k, results[k])
                    except BaseException as exc:  # the other calls' results still reach ``done``
                        errors[k] = exc
        except Exception as exc:
            raise _translated(exc, self.client) from None
        if errors:
            first = errors[min(errors)]
            translated = _translated(first, self.client) if isinstance(first, Exception) else first
            if translated is first:
                raise first
            raise translated from None
        return results

    def _release_workers(self) -> None:
        """Have the workers close the inputs and free the tile arrays kept for the compute just
        ended, as the run's own process does when its compute ends, so that the publication's
        peak does not stack on them; not waited for (the next task keeps them again).
        """
        if self.client is None or self.warm_up is None:
            return
        if not _reachable(self.client):
            return
        from .warm_up import release_kept

        with contextlib.suppress(Exception):  # a cluster going away is the next step's error
            self.client.run(release_kept, self.warm_up, wait=False)

    def _compute(self, collections: tuple[Any, ...]) -> tuple[Any, ...]:
        import dask

        try:
            if self.client is not None:
                futures = self.client.compute(list(collections))
                if self.progress:
                    from distributed import progress

                    progress(futures)
                try:
                    return tuple(self.client.gather(futures))
                finally:
                    self._release_workers()
            # The scheduler's function, not its name: given a name, dask imports dask.distributed
            # (~0.1 CPU-s, more under load) to look for a client first; there is none here.
            scheduler = local_get(self.kind)
            if self.progress:
                from dask.diagnostics import ProgressBar

                with ProgressBar():
                    return tuple(dask.compute(*collections, scheduler=scheduler))
            return tuple(dask.compute(*collections, scheduler=scheduler))
        except Exception as exc:
            translated = _translated(exc, self.client)
            if translated is exc:
                raise
            raise translated from None


def _translated(exc: Exception, client: Any) -> Exception:
    """The agromap error a failure while computing stands for, or ``exc`` itself (a bug, or already ours)."""
    if isinstance(exc, MemoryError):
        return ComputeLostError(f"out of memory while computing ({exc}); lower 'chunk' or add memory.")
    if isinstance(exc, AgromapError):
        return exc
    if type(exc).__name__ == "KilledWorker":
        return ComputeLostError(
            f"a dask worker died repeatedly while computing ({exc}); the task may need more memory "
            "than a worker has. Lower 'chunk', add workers' memory, or check the worker logs."
        )
    from ..io.write import disk_errno

    code = disk_errno(exc)
    if code is not None:
        return output_error(OSError(code, os.strerror(code)))
    if client is not None and _lost_cluster(exc, client):
        return ComputeLostError(
            f"the dask scheduler or its workers went away while computing ({type(exc).__name__}: "
            f"{_first_line(exc)}); restart the cluster and run again (finished layers are kept)."
        )
    if _is_read_error(exc):
        # A read that failed inside a task (odc-stac's reader raises rasterio's own errors):
        # a bad or unreachable input, exit 3, not a bug.
        from ..errors import InputError

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return InputError(
            f"an input could not be read while computing ({first}); check that the file or server "
            "is reachable and the file complete, then re-run."
        )
    return exc


def execution_kind(scheduler: str) -> str:
    """The :attr:`Execution.kind` :func:`open_execution` gives ``scheduler``: its name, or
    ``"distributed"`` for an address (a cluster whose tasks run in worker processes, not in this one).
    """
    return "distributed" if "://" in scheduler else scheduler


def local_get(kind: str) -> Any:
    """dask's in-process scheduler function for ``synchronous`` or ``threads``.

    Given the function rather than its name, ``dask.compute`` does not import
    ``dask.distributed`` to look for a client (about 0.1 CPU-s per call).
    """
    if kind == "synchronous":
        from dask.local import get_sync

        return get_sync
    from dask.threaded import get

    return get


def _is_read_error(exc: BaseException) -> bool:
    from rasterio.errors import RasterioError

    return isinstance(exc, RasterioError) or type(exc).__module__.startswith("rasterio")


def _lost_cluster(exc: BaseException, client: Any) -> bool:
    """True when an error means the cluster is gone (closed comm, cancelled futures, no scheduler)."""
    names = {t.__name__ for t in type(exc).__mro__}
    if names & {"CommClosedError", "CancelledError", "FutureCancelledError", "StreamClosedError",
                "TimeoutError", "ConnectionError"}:
        return True
    return getattr(client, "status", "running") not in ("running", "connecting")


def _gdal_environ() -> dict[str, str]:
    return {k: v for k, v in GDAL_PRESET}


@contextlib.contextmanager
def open_execution(scheduler: str, *, n_workers: int | None = None, progress: bool = False) -> Iterator[Execution]:
    """Start (or connect to) the scheduler named in the configuration and close it afterwards.

    ``threads``, ``synchronous`` and ``local`` (an in-process ``dask.distributed.LocalCluster``
    with a thread per core) compute in the calling process: its process-wide GDAL settings are
    applied for the run and restored afterwards, and its environment is left alone. An address
    connects to an existing scheduler and leaves it running, after setting the preset on its workers
    and importing there what the run's tasks need (:func:`warm_workers`).
    """
    if scheduler in ("threads", "synchronous"):
        with process_settings():
            yield Execution(scheduler, None, {"scheduler": scheduler, "threads": os.cpu_count() or 1}, progress)
        return
    from distributed import Client, LocalCluster

    _quiet_distributed()
    if scheduler == "local":
        # One worker process with a thread per core: GDAL decoding and numpy kernels release the
        # GIL, so threads parallelise the work without shipping chunks between processes, and the
        # run is still isolated from the caller in its own process when run from the CLI.
        # Its workers are threads of this process: each read task applies the preset itself, and
        # the process-wide part is applied here, so the caller's os.environ is not touched.
        cores = os.cpu_count() or 1
        try:
            with process_settings(), LocalCluster(
                n_workers=1,
                threads_per_worker=cores,
                processes=False,
                dashboard_address=":0" if progress else None,  # a dashboard only for people watching
                # Without a dashboard the scheduler still serves its health routes, on port 8787
                # unless told otherwise: two runs at once (cron beside a notebook) would contend for
                # it, so the routes take any free port on the loopback interface.
                scheduler_kwargs=None if progress else {"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.CRITICAL,
            ) as cluster, Client(cluster) as client:
                if progress:
                    log.info("dask dashboard: %s", client.dashboard_link)
                yield Execution("local", client, _shape(client), progress)
        finally:
            _forget_closed_servers()
        return
    check_scheduler(scheduler)
    probe_scheduler(scheduler)
    try:
        client = Client(scheduler, timeout=f"{CONNECT_DEADLINE_S:g}s")
    except (OSError, TimeoutError) as exc:
        raise DeadlineError(f"cannot reach the dask scheduler at {scheduler} ({_first_line(exc)}); is it running?"
                            ) from None
    try:
        # Workers started elsewhere did not get our environment; set it before any task runs.
        client.run(_apply_env, _gdal_environ())
        plugin = warm_workers(client, worker_imports())
        try:
            log.info("connected to dask scheduler %s (dashboard %s)", scheduler, client.dashboard_link)
            yield Execution(execution_kind(scheduler), client, _shape(client), progress, plugin)
        finally:  # the cluster is someone else's: left as it was found
            cool_workers(client, plugin)
    finally:
        client.close()


class Opening:
    """:func:`open_execution`, begun before the run needs it: see :func:`opening`."""

    def __init__(self, scheduler: str, progress: bool) -> None:
        self._stack = contextlib.ExitStack()
        self._opened: list[Execution] = []
        self._failed: list[BaseException] = []
        self._args = (scheduler, progress)
        self._thread: threading.Thread | None = None
        if execution_kind(scheduler) != "distributed":
            self._opened.append(self._stack.enter_context(open_execution(scheduler, progress=progress)))
            return
        self._thread = threading.Thread(target=self._open, name="agromap-connect", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        scheduler, progress = self._args
        try:
            self._opened.append(self._stack.enter_context(open_execution(scheduler, progress=progress)))
        except BaseException as exc:  # raised by ready(), in the run's thread
            self._failed.append(exc)

    def ready(self) -> Execution:
        """The execution, once open; raises what opening it raised."""
        if self._thread is not None:
            self._thread.join()
        if self._failed:
            raise self._failed[0]
        return self._opened[0]

    def close(self) -> None:
        """Wait for an opening under way, then close what was opened."""
        if self._thread is not None:
            self._thread.join()
        self._stack.close()


@contextlib.contextmanager
def opening(scheduler: str, *, progress: bool = False) -> Iterator[Opening]:
    """Begin :func:`open_execution` now; :meth:`Opening.ready` returns the execution when needed.

    A cluster's address is connected to on a background thread: the connection, the GDAL settings
    and the workers' warm-up (:func:`warm_workers`: the imports a worker would otherwise pay in its
    first task, over a second on fresh workers) overlap what the run does before its first task
    (staging files, the task graph). Begin it once planning is over: the warm-up imports the rule
    kernels of the rule modules imported by planning (:func:`worker_imports`). The other schedulers
    are opened here, in the run's own thread, as before (``threads`` and ``local`` change
    process-wide GDAL settings, which the run's thread applies and restores). The execution is
    closed when the block ends, after waiting for a connection still under way.
    """
    began = Opening(scheduler, progress)
    try:
        yield began
    finally:
        began.close()


def _quiet_distributed() -> None:
    """distributed configures its own INFO loggers at import; keep them to errors unless debugging."""
    if log.isEnabledFor(logging.DEBUG):
        return
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("distributed", "tornado", "bokeh")):
            logging.getLogger(name).setLevel(logging.CRITICAL)  # errors reach the run as exceptions, one line


def _forget_closed_servers() -> None:
    """Let the closed embedded cluster's scheduler and worker be collected.

    distributed memoises, without bound, whether each comm handler takes a comm
    (``distributed.core._expects_comm``), keyed by the handlers themselves: bound methods of
    every scheduler and worker the process ever started. A notebook or service that runs the
    ``local`` scheduler again and again would keep each closed cluster alive (about 1 500 Python
    objects per run). Clearing the memo only costs the next cluster a signature check per
    handler; a cluster still running elsewhere in the process is unaffected. Each scheduler and
    worker also passes its scratch folder through ``sys.path``, which leaves an import finder per
    folder in ``sys.path_importer_cache`` after the folder is gone; those entries are dropped too
    (import rebuilds an entry on demand).
    """
    import distributed.core

    memo = getattr(distributed.core, "_expects_comm", None)
    if memo is not None and hasattr(memo, "cache_clear"):
        memo.cache_clear()
    on_path = set(sys.path)
    for folder in list(sys.path_importer_cache):
        if folder not in on_path and "dask-scratch-space" in folder and not os.path.exists(folder):
            sys.path_importer_cache.pop(folder, None)


def _apply_env(env: dict[str, str]) -> None:
    # The process-wide settings also directly: GDAL reads its cache size from the environment
    # only once, when the cache is first used, which a worker that already read may have done.
    from rasterio.env import set_gdal_config

    os.environ.update(env)
    for key in PROCESS_WIDE & env.keys():
        set_gdal_config(key, int(env[key]) if env[key].isdigit() else env[key], normalize=False)


def _shape(client: Any) -> dict[str, Any]:
    info = client.scheduler_info()
    workers = info.get("workers", {})
    return {
        "scheduler": info.get("address"),
        "workers": len(workers),
        "threads": sum(w.get("nthreads", 0) for w in workers.values()),
        "memory_limit_bytes": sum(w.get("memory_limit", 0) for w in workers.values()),
    }
