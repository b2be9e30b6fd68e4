"""Warming a cluster's workers for a run: the modules its tasks need, imported before any task.

A worker that imports the optical rule's compiled kernel inside its first tile task pays about
0.7 CPU-s there, while the run waits for the compute; once that kernel has loaded numba, the
readers convert windows with their compiled pass too (:func:`agromap.io.dn_kernel.active`), whose
loading (about 13 ms) the warm-up also takes out of the first tile. :class:`WarmUp` is a dask worker plugin:
registered when a run connects, it imports the modules on every worker of the cluster and, until
the run removes it, on every worker that joins while the run computes or publishes.
"""

from __future__ import annotations

import importlib
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["PLUGIN_PREFIX", "WarmUp", "import_modules", "load_reader_kernel"]

log = logging.getLogger(__name__)

PLUGIN_PREFIX = "agromap-warm-up-"
"""Start of the plugin's name on the cluster's scheduler; each run adds its own token, so two runs
sharing a cluster neither replace nor remove each other's plugin."""


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
    """Imports ``modules`` on a worker when the plugin is added to it (or the worker joins).

    The imports run before the worker takes a task from this run: on the workers present when the
    plugin is registered, registration waits for them (a warm-up beside the first tasks was seen
    to hang with a task importing the same kernel); a worker joining later runs its plugins while
    it registers with the scheduler.
    """

    def __init__(self, modules: Iterable[str]) -> None:
        self.modules = list(modules)
        self.name = f"{PLUGIN_PREFIX}{secrets.token_hex(6)}"
        """The plugin's name on the cluster (registered and removed under it)."""

    def setup(self, worker: Any) -> None:
        """Import the modules in the worker's process, then the readers' compiled pass if it will be used."""
        import_modules(self.modules)
        load_reader_kernel()
