"""Work of the run's own process done while the compute runs, on background threads.

During the compute the run's own thread mostly waits for the scheduler (entirely so on a
distributed cluster, whose workers compute in other processes). Two pieces of work that the
steps after the compute need, and that do not depend on its results, are done meanwhile:

- :func:`imported_meanwhile`: the publish and report steps' libraries (the COG validator,
  Pillow, matplotlib: 0.3-0.4 CPU-s), otherwise imported after the compute, on the critical path.
  The compute never imports them, so the threads never wait on each other's module locks for them.
  When the compute runs in this process, the rule kernels it will call are loaded first
  (:func:`~agromap.pipeline.scheduler.rule_kernels`: numba and the optical rule's machine code,
  about 0.3 CPU-s), after numba and the readers' compiled pass. Loaded inside the first tile task instead,
  they held that thread for the whole load while every other thread, reaching the rule, waited on
  the kernel module's import lock: a core idle for most of the load at the start of each compute.
  Loaded here, from before the first task, the tiles' reads (GDAL decoding, which releases the
  GIL) run meanwhile and a tile waits only for what is left of the load. A failed import is
  dropped: the step that needs the module imports it again and fails there, with the same error
  as without this module.
- :func:`hashed_meanwhile`: the SHA-256 of every input file (the layers' recipes and the
  manifest need them only at publication) when no layer's staleness depends on them: a first run
  into an empty folder or a forced one. hashlib and file reads release the GIL. A failure is raised
  when the compute has finished, as the same exception.

Both threads are joined when the ``with`` block ends, whichever way: an interrupted run stops
hashing at the next file and waits for an import under way (well under a second); neither writes
a file.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["AFTER_COMPUTE", "imported_meanwhile", "hashed_meanwhile"]

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


def _import_all(names: Iterable[str], kernels: Iterable[str] = ()) -> None:
    kernels = tuple(kernels)
    if kernels:
        _load_reader_pass()
    for name in (*kernels, *names):
        try:
            importlib.import_module(name)
        except Exception as exc:  # the step that needs it imports it again, and fails there
            log.debug("background import of %s failed (%s: %s)", name, type(exc).__name__, exc)


def _load_reader_pass() -> None:
    """Load numba with the readers' compiled conversion (:mod:`agromap.io.dn_kernel`), before the kernels.

    First because the tiles use it first: once numba is being imported (by whichever thread), a
    tile's QA lookup and conversions take the compiled pass and wait for it to load.
    """
    from ..io import dn_kernel

    try:
        dn_kernel.load()
    except Exception as exc:  # the first read loads it again, and fails there
        log.debug("background load of the readers' compiled pass failed (%s: %s)", type(exc).__name__, exc)


@contextlib.contextmanager
def imported_meanwhile(names: Iterable[str] = AFTER_COMPUTE, *, kernels: Iterable[str] = ()) -> Iterator[None]:
    """Import ``names`` on a background thread while the ``with`` body runs; joined at its end.

    ``kernels`` (modules of compiled kernels the compute in this process will call) are imported
    first, after numba and the readers' compiled pass.
    """
    thread = threading.Thread(target=_import_all, args=(tuple(names), tuple(kernels)), name="agromap-imports",
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def _hash_all(files: list[str], sha256: Callable[[str], Any], stop: threading.Event,
              failed: list[BaseException]) -> None:
    for path in files:
        if stop.is_set():
            return
        try:
            sha256(path)
        except BaseException as exc:  # handed to the main thread, raised there
            failed.append(exc)
            return


@contextlib.contextmanager
def hashed_meanwhile(files: Iterable[str], sha256: Callable[[str], Any]) -> Iterator[None]:
    """Call ``sha256(file)`` for each of ``files`` on a background thread while the body runs.

    ``sha256`` is :meth:`agromap.pipeline.recipes.FileHashes.sha256`, whose cache the main thread
    reads only after the block. When the body succeeds, the block ends once every file is hashed
    and re-raises the first hashing failure; when it fails, hashing stops at the next file and
    the body's exception propagates alone.
    """
    stop = threading.Event()
    failed: list[BaseException] = []
    thread = threading.Thread(target=_hash_all, args=(list(files), sha256, stop, failed), name="agromap-hashes",
                              daemon=True)
    thread.start()
    try:
        yield
    except BaseException:
        stop.set()
        thread.join()
        raise
    thread.join()
    if failed:
        raise failed[0]
