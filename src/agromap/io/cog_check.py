"""Checks of a converted COG before it is published, and the statistics its STAC item carries.

Two kinds of check (docs/architecture.md#cog-publishing):

- :func:`check_layout`: the file's structure, from its header and IFDs only (rio-cogeo strict:
  tiling, overview order, IFD and tile offsets; no ``.aux.xml`` sidecar). No pixel is decoded.
- :func:`scan_cog`: the pixel content, each level read at most once: the full resolution's valid
  fraction, no overview empty while the full resolution has data (corteva/rioxarray#410), no class
  overview holding a value the full resolution lacks, and the band statistics of the STAC item,
  taken from the same read (:data:`STATS_MAX_PIXELS`) rather than from a second one. The full
  resolution can be read from the uncompressed file the COG was converted from (the same pixels:
  DEFLATE is lossless), so only the overviews, which the conversion computed, are decoded; an
  overview of a continuous layer that gives no statistics is only checked for not being empty,
  so its read stops at its first valid (and non-zero) block.

Integer layers of at most 16 bits are counted as a histogram (one count per stored value), from
which the counts, the class values present and the statistics follow exactly and block by block.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from ..errors import ExportError
from .layers import LayerSpec

__all__ = ["STATS_MAX_PIXELS", "CogScan", "check_layout", "scan_cog", "statistics_level", "band_statistics",
           "histogram_statistics"]

STATS_MAX_PIXELS = 2048 * 2048
"""Statistics come from the finest level with at most this many pixels (the full resolution up to 2048²)."""


@dataclass(frozen=True)
class CogScan:
    """What reading a COG's levels once tells: ``valid_fraction`` of the full resolution (0-1), the
    number of internal overviews, and the keyword arguments of ``pystac``'s ``Statistics.create``
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
    if _histogram_offset(data.dtype) is not None:
        return histogram_statistics(_histogram(data), data.dtype, spec)
    ok = _valid(data, spec)
    valid_percent = round(100.0 * int(ok.sum()) / data.size, 4) if data.size else 0.0
    vals = data[ok].astype(np.float64)
    if data.dtype.kind == "f":  # integers are always finite: no second copy
        vals = vals[np.isfinite(vals)]
    if not vals.size:
        return {"valid_percent": valid_percent}
    return {"minimum": float(vals.min()), "maximum": float(vals.max()), "mean": float(vals.mean()),
            "stddev": float(vals.std()), "valid_percent": valid_percent}


def histogram_statistics(hist: np.ndarray, dtype: Any, spec: LayerSpec) -> dict[str, float]:
    """:func:`band_statistics` of a level from its histogram (see :func:`scan_cog`), exactly.

    The sums are Python integers, so the mean is the one numpy gives (an exact sum divided once)
    and the population standard deviation comes from exact sums, rounded only at the division and
    the square root (numpy's, summed in floating point, can differ from it in the last digit).
    """
    offset = _histogram_offset(np.dtype(dtype))
    assert offset is not None  # only integer dtypes of at most 16 bits have a histogram
    total = int(hist.sum())
    counts = hist.copy()
    counts[int(spec.nodata) + offset] = 0
    present = np.flatnonzero(counts)
    c = counts[present].tolist()
    v = (present - offset).tolist()
    n = sum(c)
    valid_percent = round(100.0 * n / total, 4) if total else 0.0
    if not n:
        return {"valid_percent": valid_percent}
    s1 = sum(ci * vi for ci, vi in zip(c, v))
    s2 = sum(ci * vi * vi for ci, vi in zip(c, v))
    return {"minimum": float(v[0]), "maximum": float(v[-1]), "mean": s1 / n,
            "stddev": math.sqrt((n * s2 - s1 * s1) / (n * n)), "valid_percent": valid_percent}


def _histogram_offset(dtype: np.dtype[Any]) -> int | None:
    """What is added to a stored value to give its histogram bin (``None``: no histogram)."""
    if dtype.kind not in "ui" or dtype.itemsize > 2:
        return None
    return -int(np.iinfo(dtype).min)


def _histogram(block: np.ndarray) -> np.ndarray:
    """Count of every possible stored value of a block of at most 16 bits (bin = value + offset)."""
    flat = block.ravel()
    offset = _histogram_offset(block.dtype)
    if offset:  # signed: shifted to bins 0..2**bits - 1 in the same order
        flat = flat.astype(np.int32) + offset
    return np.bincount(flat, minlength=1 << (8 * block.dtype.itemsize))


def _valid(block: np.ndarray, spec: LayerSpec) -> np.ndarray:
    return ~np.isnan(block) if spec.is_float else block != spec.nodata


@dataclass
class _Counts:
    """Pixels, valid, valid non-zero and (class layers) the distinct valid values of one level;
    integer levels of at most 16 bits keep their histogram (``hist``) and take these from it.
    """

    total: int = 0
    valid: int = 0
    nonzero: int = 0
    values: set[int] = field(default_factory=set)
    hist: np.ndarray | None = None
    dtype: Any = None

    def add(self, block: np.ndarray, spec: LayerSpec) -> None:
        self.total += block.size
        self.dtype = block.dtype
        if _histogram_offset(block.dtype) is not None:
            h = _histogram(block)
            self.hist = h if self.hist is None else self.hist + h
            return
        ok = _valid(block, spec)
        self.valid += int(ok.sum())
        self.nonzero += int(np.count_nonzero((block != 0) & ok))  # no copy of the valid pixels
        if spec.kind == "class":
            self.values.update(np.unique(block[ok]).tolist())

    def finish(self, spec: LayerSpec) -> None:
        """Take the counts from the histogram, once every block was added."""
        if self.hist is None:
            return
        offset = _histogram_offset(np.dtype(self.dtype))
        assert offset is not None
        nodata, zero = int(spec.nodata) + offset, offset
        self.valid = self.total - int(self.hist[nodata])
        self.nonzero = self.valid - (int(self.hist[zero]) if zero != nodata else 0)
        if spec.kind == "class":
            present = np.flatnonzero(self.hist)
            self.values = {int(b) - offset for b in present if b != nodata}

    def statistics(self, spec: LayerSpec) -> dict[str, float] | None:
        """The level's statistics from its histogram; ``None`` without one (read the level whole)."""
        return None if self.hist is None else histogram_statistics(self.hist, self.dtype, spec)


def _holds_data(path: str | os.PathLike[str], level: int, spec: LayerSpec, nonzero: bool) -> bool:
    """Whether overview ``level`` holds a valid pixel (and, with ``nonzero``, a valid non-zero one),
    read block by block until it is found: a continuous level's check needs nothing more.
    """
    found_valid = found_nonzero = False
    with rasterio.open(path, overview_level=level) as ovr:
        for _, win in ovr.block_windows(1):
            block = ovr.read(1, window=win)
            ok = _valid(block, spec)
            found_valid = found_valid or bool(ok.any())
            found_nonzero = found_nonzero or bool(np.any((block != 0) & ok))
            if found_valid and (found_nonzero or not nonzero):
                return True
    return False


def _level(src: Any, spec: LayerSpec, whole: bool) -> tuple[_Counts, dict[str, float] | None]:
    """Counts of an open level, streamed block by block; ``whole``: its statistics too (a level
    without a histogram is then read at once).
    """
    counts = _Counts()
    if whole and _histogram_offset(np.dtype(src.dtypes[0])) is None:
        data = src.read(1)
        counts.add(data, spec)
        return counts, band_statistics(data, spec)
    for _, win in src.block_windows(1):
        counts.add(src.read(1, window=win), spec)
    counts.finish(spec)
    return counts, counts.statistics(spec) if whole else None


def scan_cog(path: str | os.PathLike[str], spec: LayerSpec, *,
             source: str | os.PathLike[str] | None = None) -> CogScan:
    """Read every level of ``path`` at most once: valid fraction, overview checks and item statistics.

    A continuous layer's overview that does not give the statistics is read only until it shows a
    valid (and, when the full resolution has one, a non-zero) pixel; a class layer's overviews are
    read whole, as every value they hold is compared with the full resolution's.

    Parameters
    ----------
    path : path
        The COG.
    spec : LayerSpec
        Stored dtype and nodata; its kind (class layers are checked for invented values).
    source : path, optional
        The uncompressed GTiff ``path`` was converted from: its full resolution is read instead of
        decoding the COG's (the same pixels), and the overviews are decoded from ``path``.

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
    with rasterio.open(source if source is not None else path) as src:
        full, stats = _level(src, spec, whole=level_of_stats is None)
    for level in range(len(factors)):
        whole = level == level_of_stats
        if not whole and spec.kind != "class":
            # Only "not empty" is checked here: the first valid (and non-zero) pixel ends the read,
            # and a full resolution without data has nothing to compare.
            if (full.valid or full.nonzero) and not _holds_data(path, level, spec, full.nonzero > 0):
                raise ExportError(f"{spec.name}: overview {level} is empty (all nodata or zero) while the full "
                                  "resolution has data (corteva/rioxarray#410).")
            continue
        with rasterio.open(path, overview_level=level) as ovr:
            counts, level_stats = _level(ovr, spec, whole=whole)
        if level_stats is not None:
            stats = level_stats
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
