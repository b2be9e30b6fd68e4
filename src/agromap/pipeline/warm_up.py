"""Warming a cluster's workers for a run: the modules its tasks need, imported before any task,
and the run's input files and tile arrays kept by each worker from one tile to the next.

A worker that imports the optical rule's compiled kernel inside its first tile task pays about
0.7 CPU-s there, while the run waits for the compute; once that kernel has loaded numba, the
readers convert windows with their compiled pass too (:func:`agromap.io.dn_kernel.active`), whose
loading (about 13 ms) the warm-up also takes out of the first tile. :class:`WarmUp` is a dask worker plugin:
registered when a run connects, it imports the modules on every worker of the cluster and, until
the run removes it, on every worker that joins while the run computes or publishes.

While it is registered, each worker also keeps the inputs its threads read open and its tile tasks'
large arrays for reuse (:func:`agromap.io.open_files.kept_open`), as the run's own process does
around a compute on threads. Without it a worker opens each of a tile's files again for every tile
(72 opens for twelve dates of six bands) and faults its arrays in afresh: on the 2048² rice bench
0.39 CPU-s per tile on a worker instead of 0.28, a third of it in the kernel zeroing pages
(docs/performance.md#workers-keep-their-inputs-open). The run has its workers release both
when each compute ends (:func:`release_kept`), before the publication; a worker that has run no
task for :data:`KEEP_IDLE_S` seconds releases them too (a run killed before removing its plugin holds nothing
for long) and takes them up again with its next task.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import secrets
import time
from collections.abc import Iterable
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["KEEP_IDLE_S", "PLUGIN_PREFIX", "WarmUp", "import_modules", "load_reader_kernel", "release_kept"]

log = logging.getLogger(__name__)

PLUGIN_PREFIX = "agromap-warm-up-"
"""Start of the plugin's name on the cluster's scheduler; each run adds its own token, so two runs
sharing a cluster neither replace nor remove each other's plugin."""

KEEP_IDLE_S = 30.0
"""Seconds without a task after which a worker closes the inputs it keeps open and frees its kept
tile arrays; the next task it runs keeps them again."""


def import_modules(names: Iterable[str]) -> list[str]:
    """Import ``names`` in this process; returns those imported. A failing import is skipped: the
    task that needs the module then fails with the real error, where it belongs.
    """
    done = []
    for name in names:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception as exc:
            log.debug("worker warm-up: import of %s failed (%s: %s)", name, type(exc).__name__, exc)
    return done


def load_reader_kernel() -> bool:
    """Load the readers' compiled DN conversion when this process will use it (numba is loaded:
    :func:`agromap.io.dn_kernel.active`); returns whether it is loaded. A process without numba
    keeps numpy's passes and loads nothing. A failure is left for the first read, as for imports.
    """
    try:
        from ..io import dn_kernel

        if dn_kernel.active():
            dn_kernel.load()
        return dn_kernel.loaded()
    except Exception as exc:
        log.debug("worker warm-up: the readers' compiled pass did not load (%s: %s)", type(exc).__name__, exc)
        return False


class WarmUp(WorkerPlugin):
    """Imports ``modules`` on a worker when the plugin is added to it (or the worker joins), and
    keeps the worker's input files open and tile arrays for reuse until it is removed.

    The imports run before the worker takes a task from this run: on the workers present when the
    plugin is registered, registration waits for them (a warm-up beside the first tasks was seen
    to hang with a task importing the same kernel); a worker joining later runs its plugins while
    it registers with the scheduler.

    Parameters
    ----------
    modules : iterable of str
        Modules to import on every worker.
    idle_s : float
        Seconds without a task after which a worker releases what it keeps (:data:`KEEP_IDLE_S`).
    """

    def __init__(self, modules: Iterable[str], idle_s: float = KEEP_IDLE_S) -> None:
        self.modules = list(modules)
        self.idle_s = float(idle_s)
        self.name = f"{PLUGIN_PREFIX}{secrets.token_hex(6)}"
        """The plugin's name on the cluster (registered and removed under it)."""
        self._kept: contextlib.ExitStack | None = None
        self._last = 0.0
        self._watch: Any = None
        self._worker: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # Sent to the workers as configured: what a worker keeps stays in that worker.
        return {"modules": self.modules, "idle_s": self.idle_s, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["modules"], state["idle_s"])  # type: ignore[misc]
        self.name = state["name"]

    def setup(self, worker: Any) -> None:
        """Import the modules in the worker's process, then the readers' compiled pass if it will be
        used; from now on keep the inputs the worker reads open (checked for idleness periodically).
        """
        import_modules(self.modules)
        load_reader_kernel()
        self._worker = worker
        self._hold()
        from tornado.ioloop import PeriodicCallback

        # Runs on the worker's event loop, as setup, teardown and transition do: no lock needed.
        self._watch = PeriodicCallback(self._release_if_idle, max(self.idle_s / 4, 0.05) * 1000)
        self._watch.start()

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        """A task starts or ends on the worker: it is busy, so what it keeps is held (again)."""
        self._hold()

    def teardown(self, worker: Any) -> None:
        """The run removed the plugin (or the worker closes): close the inputs, free the arrays."""
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        self.release()

    @property
    def keeping(self) -> bool:
        """Whether this worker keeps its inputs open for the run now."""
        return self._kept is not None

    def _hold(self) -> None:
        from ..io.open_files import kept_open

        self._last = time.monotonic()
        if self._kept is None:
            stack = contextlib.ExitStack()
            stack.enter_context(kept_open())
            self._kept = stack

    def release(self) -> None:
        """Close the inputs this worker keeps and free its kept tile arrays (its next task keeps them again)."""
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.close()

    def _release_if_idle(self) -> None:
        if self._kept is None or time.monotonic() - self._last <= self.idle_s:
            return
        state = getattr(self._worker, "state", None)
        if getattr(state, "executing_count", 0) or getattr(state, "long_running", None):
            self._last = time.monotonic()  # a task longer than idle_s is still running: busy
            return
        self.release()


async def release_kept(name: str, dask_worker: Any = None) -> bool:
    """On a worker (``Client.run``): close the inputs and free the tile arrays its warm-up plugin
    ``name`` keeps, and hand the freed memory back to the system (as the run's own process does
    when its compute ends: :func:`agromap.pipeline.heap.release_free_heap`). Returns whether the
    plugin kept anything. Its next task keeps them again.

    A coroutine, so that it runs on the worker's event loop, like the plugin's own hooks, and so
    that the run can send it without waiting for the answer.
    """
    from .heap import release_free_heap

    plugin = (getattr(dask_worker, "plugins", None) or {}).get(name)
    if not isinstance(plugin, WarmUp) or not plugin.keeping:
        return False
    plugin.release()
    release_free_heap()
    return True
