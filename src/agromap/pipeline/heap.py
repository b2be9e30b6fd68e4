"""Keep Python's cyclic garbage collector off the objects that outlive a run.

By the time a run starts, the interpreter holds a million or so long-lived objects (numpy, pandas,
xarray, dask, rasterio and their modules). A run allocates enough (lazy graphs, then matplotlib for
the report) to trigger a few full collections, and each full collection walks every one of those
objects again: about 0.25 CPU-s per run at 1024² px, a fifth of the report and a sixth of the plan.
:func:`frozen_heap` moves what exists before the run to the collector's permanent generation
(:func:`gc.freeze`, Python >= 3.7) and puts it back afterwards (:func:`gc.unfreeze`). Objects the
run creates are collected as usual; what was frozen is only skipped, never leaked: garbage among it
is collected at the first full collection after the run.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["frozen_heap"]


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Within the block, full garbage collections skip every object that existed when it began."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
