"""Reading what a run wrote, for the pipeline tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio


def first_band(path: Path) -> np.ndarray:
    """Band 1 of the raster at ``path``, as stored (nodata not masked)."""
    with rasterio.open(path) as src:
        return src.read(1)
