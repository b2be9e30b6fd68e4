"""Importing the libraries of the steps after the compute while the compute runs.

Publishing and the report import their libraries when they start: matplotlib alone costs
0.3-0.4 CPU-s, paid after the compute, on the run's critical path. During the compute the
run's own thread mostly waits (entirely so on a distributed cluster, whose workers compute in
other processes), so :func:`imported_meanwhile` imports them on a background thread meanwhile.

Only third-party libraries are listed: the compute itself never imports them, so the two threads
never wait on each other's module locks (agromap's own modules cost ~0.02 s and are left to the
steps that use them). A failed import in the background is dropped: the step that needs the
library imports it again and fails there, with the same error as without this module.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
from collections.abc import Iterable, Iterator

__all__ = ["AFTER_COMPUTE", "imported_meanwhile"]

log = logging.getLogger(__name__)

AFTER_COMPUTE: tuple[str, ...] = (
    "rio_cogeo.cogeo",  # the COG layout check
    "PIL.PngImagePlugin",  # quicklooks
    "PIL.ImageDraw",
    "PIL.ImageFont",
    "matplotlib.figure",  # the report's maps (agromap.mapdraw)
    "matplotlib.backends.backend_agg",
    "matplotlib.patches",
    "matplotlib.patheffects",
)
"""Modules the publish and report steps import, in the order they are imported in the background."""


def _import_all(names: Iterable[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the step that needs it imports it again, and fails there
            log.debug("background import of %s failed (%s: %s)", name, type(exc).__name__, exc)


@contextlib.contextmanager
def imported_meanwhile(names: Iterable[str] = AFTER_COMPUTE) -> Iterator[None]:
    """Import ``names`` on a background thread while the ``with`` body runs.

    The thread is joined when the body ends, whichever way (an interrupted run waits for the
    import under way, well under a second), so no thread outlives the block; it writes no file.
    """
    thread = threading.Thread(target=_import_all, args=(tuple(names),), name="agromap-imports", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
