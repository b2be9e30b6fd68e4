"""Warming a cluster's workers for a run: the modules its tasks need, imported before any task.

A worker that imports the optical rule's compiled kernel inside its first tile task pays about
0.7 CPU-s there, while the run waits for the compute. :class:`WarmUp` is a dask worker plugin:
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

__all__ = ["PLUGIN_PREFIX", "WarmUp", "import_modules"]

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
        """Import the modules in the worker's process."""
        import_modules(self.modules)
