"""Checks of a converted COG before it is published, and the statistics its STAC item carries.

Two kinds of check (docs/architecture.md#cog-publishing):

- :func:`check_layout`: the file's structure, from its header and IFDs only (rio-cogeo strict:
  tiling, overview order, IFD and tile offsets; no ``.aux.xml`` sidecar). No pixel is decoded.
- :func:`scan_cog`: the pixel content, each level decoded once: the full resolution's valid
  fraction, no overview empty while the full resolution has data (corteva/rioxarray#410), no class
  overview holding a value the full resolution lacks, and the band statistics of the STAC item,
  taken from the same decoded level (:data:`STATS_MAX_PIXELS`) rather than from a second read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from ..errors import ExportError
from .layers import LayerSpec

__all__ = ["STATS_MAX_PIXELS", "CogScan", "check_layout", "scan_cog", "statistics_level", "band_statistics"]

STATS_MAX_PIXELS = 2048 * 2048
"""Statistics come from the finest level with at most this many pixels (the full resolution up to 2048²)."""


@dataclass(frozen=True)
class CogScan:
    """What decoding a COG once tells: ``valid_fraction`` of the full resolution (0-1), the number
    of internal overviews, and the keyword arguments of ``pystac``'s ``Statistics.create``
    (stored values: minimum, maximum, mean, stddev, valid_percent; see :func:`band_statistics`).
    """

    valid_fraction: float
    overview_count: int
    statistics: dict[str, float] = field(default_factory=dict)


def check_layout(path: str | os.PathLike[str], spec: LayerSpec) -> None:
    """Refuse a file that is not a valid COG under rio-cogeo's strict rules, or that has a sidecar.

    rio-cogeo reads the header, IFD offsets and tile offsets only; no pixel is decoded here.
    """
    from rio_cogeo.cogeo import cog_validate

    is_valid, errors, warnings = cog_validate(str(path), strict=True, quiet=True)
    if not is_valid:
        raise ExportError(f"{spec.name}: not a valid COG (rio-cogeo strict): {'; '.join(errors + warnings)}")
    if Path(f"{path}.aux.xml").exists():  # metadata GDAL could not put in the TIFF would be lost on rename
        raise ExportError(f"{spec.name}: GDAL wrote a .aux.xml sidecar; some metadata is not in the TIFF.")


def statistics_level(width: int, height: int, factors: list[int]) -> int | None:
    """The level the statistics come from: ``None`` (full resolution) up to :data:`STATS_MAX_PIXELS`,
    else the finest overview (by its decimation ``factors``) within it, else the coarsest.
    """
    if width * height <= STATS_MAX_PIXELS:
        return None
    for i, f in enumerate(factors):
        if (width // f) * (height // f) <= STATS_MAX_PIXELS:
            return i
    return len(factors) - 1


def band_statistics(data: np.ndarray, spec: LayerSpec) -> dict[str, float]:
    """Statistics of the stored values of one whole level (finite valid values only: JSON has no
    infinity), as keyword arguments of ``pystac.extensions.raster.Statistics.create``.
    """
    ok = _valid(data, spec)
    valid_percent = round(100.0 * int(ok.sum()) / data.size, 4) if data.size else 0.0
    vals = data[ok].astype(np.float64)
    if data.dtype.kind == "f":  # integers are always finite: no second copy
        vals = vals[np.isfinite(vals)]
    if not vals.size:
        return {"valid_percent": valid_percent}
    return {"minimum": float(vals.min()), "maximum": float(vals.max()), "mean": float(vals.mean()),
            "stddev": float(vals.std()), "valid_percent": valid_percent}


def _valid(block: np.ndarray, spec: LayerSpec) -> np.ndarray:
    return ~np.isnan(block) if spec.is_float else block != spec.nodata


@dataclass
class _Counts:
    """Pixels, valid, valid non-zero and (class layers) the distinct valid values of one level."""

    total: int = 0
    valid: int = 0
    nonzero: int = 0
    values: set[int] = field(default_factory=set)

    def add(self, block: np.ndarray, spec: LayerSpec) -> None:
        ok = _valid(block, spec)
        self.total += block.size
        self.valid += int(ok.sum())
        self.nonzero += int(np.count_nonzero((block != 0) & ok))  # no copy of the valid pixels
        if spec.kind == "class":
            kept = block[ok]
            if kept.dtype.kind == "u" and kept.dtype.itemsize <= 2:  # a count per possible value, no sort
                self.values.update(np.flatnonzero(np.bincount(kept)).tolist())
            else:
                self.values.update(np.unique(kept).tolist())


def _level(src: Any, spec: LayerSpec, whole: bool) -> tuple[_Counts, np.ndarray | None]:
    """Counts of an open level, streamed block by block; ``whole``: read at once and returned too."""
    counts = _Counts()
    if whole:
        data = src.read(1)
        counts.add(data, spec)
        return counts, data
    for _, win in src.block_windows(1):
        counts.add(src.read(1, window=win), spec)
    return counts, None


def scan_cog(path: str | os.PathLike[str], spec: LayerSpec) -> CogScan:
    """Decode every level of ``path`` once: valid fraction, overview checks and item statistics.

    Raises
    ------
    ExportError
        An overview is empty (all nodata or zero) while the full resolution has data, or a class
        overview holds values the full resolution does not (class overviews need mode or nearest).
    """
    stats: dict[str, float] | None = None
    with rasterio.open(path) as src:
        factors = src.overviews(1)
        level_of_stats = statistics_level(src.width, src.height, factors)
        full, data = _level(src, spec, whole=level_of_stats is None)
    if data is not None:
        stats = band_statistics(data, spec)
    for level in range(len(factors)):
        with rasterio.open(path, overview_level=level) as ovr:
            counts, data = _level(ovr, spec, whole=level == level_of_stats)
        if data is not None:
            stats = band_statistics(data, spec)
        if (full.valid and not counts.valid) or (full.nonzero and not counts.nonzero):
            raise ExportError(f"{spec.name}: overview {level} is empty (all nodata or zero) while the full "
                              "resolution has data (corteva/rioxarray#410).")
        if spec.kind == "class" and not counts.values <= full.values:
            raise ExportError(f"{spec.name}: overview {level} holds values {sorted(counts.values - full.values)} "
                              "that the full resolution does not; class overviews need mode or nearest.")
    if stats is None:  # a large file without overviews (not one the COG driver writes)
        with rasterio.open(path) as src:
            stats = band_statistics(src.read(1), spec)
    return CogScan(full.valid / full.total if full.total else 0.0, len(factors), stats)
