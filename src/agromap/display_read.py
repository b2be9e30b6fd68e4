"""One band of a published raster read for display: from an overview, at most a given size.

:func:`read_display` serves the quicklooks (:mod:`agromap.quicklook`), the report's and map
sheets' maps (:mod:`agromap.mapview`), plots and the web map. A run reads each new layer twice for
display: its quicklook at publication and its report map at the end. Both usually want the same
overview at the same size (at most 600 and 900 px: the 512 px overview of a 1024 to 4096 px
layer), so the decoded pixels of the last few reads are kept, keyed by the file's identity (device,
inode, size, modification time) and the read (band, level, shape, resampling): the report's map is
drawn from the pixels the quicklook was drawn from, decoded once. A replaced or rewritten file is a
new key; callers get their own copy of the pixels.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import InputError

__all__ = ["Kind", "read_display"]

Kind = Literal["class", "continuous"]

_READS: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
_READS_LOCK = threading.Lock()  # layers are published on several threads at once
_MAX_READS = 16
"""Reads kept (a run's layers: about 1 MB each at 512 px)."""
_MAX_BYTES = 64 << 20
"""Bytes kept in all; a read larger than this is not kept."""


def _read_key(path: str, band: int, level: int | None, shape: tuple[int, int], resampling: str) -> tuple[Any, ...] | None:
    try:
        st = os.stat(path)
    except OSError:  # not a local file (a URL): not kept
        return None
    return (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, band, level, shape, resampling)


def _recall(key: tuple[Any, ...] | None) -> np.ndarray | None:
    if key is None:
        return None
    with _READS_LOCK:
        values = _READS.get(key)
        if values is None:
            return None
        _READS.move_to_end(key)
    return values.copy()


def _remember(key: tuple[Any, ...] | None, values: np.ndarray) -> None:
    if key is None or values.nbytes > _MAX_BYTES:
        return
    kept = values.copy()
    with _READS_LOCK:
        _READS[key] = kept
        _READS.move_to_end(key)
        while len(_READS) > _MAX_READS or sum(v.nbytes for v in _READS.values()) > _MAX_BYTES:
            _READS.popitem(last=False)


def _choose_level(path: str, max_size: int, band: int) -> int | None:
    """Finest overview whose larger edge fits ``max_size``; the coarsest if none fits; None = full."""
    import rasterio

    with rasterio.open(path) as src:
        if max(src.height, src.width) <= max_size:
            return None
        n = len(src.overviews(band))
    for level in range(n):
        with rasterio.open(path, overview_level=level) as ovr:
            if max(ovr.height, ovr.width) <= max_size:
                return level
    return n - 1 if n else None


def read_display(path: str | os.PathLike[str], *, max_size: int = 600, band: int = 1,
                 kind: Kind | None = None) -> dict[str, Any]:
    """Read one band of a (COG) raster for display, from an overview, at most ``max_size`` px.

    Returns
    -------
    dict
        ``values`` (stored dtype, 2-D), ``invalid`` (bool: nodata/NaN), ``kind``, ``product``,
        ``units``, ``scale``, ``offset``, ``tags`` (dataset + band tags), ``classes``
        (``[(value, name, "RRGGBB")]`` from the colormap and ``CLASS_<n>`` tags), ``bounds``
        (left, bottom, right, top), ``crs`` (WKT or None), ``overview_level`` (None = full
        resolution), ``source_shape`` and ``read_shape``.
    """
    import rasterio
    from rasterio.enums import Resampling

    p = str(path)
    try:
        # Band metadata (tags, units, description, colormap) lives on the full-resolution band only.
        with rasterio.open(p) as src:
            tags = {**src.tags(), **src.tags(band)}
            try:
                cmap = src.colormap(band)
            except ValueError:  # no colour table
                cmap = None
            nodata = src.nodatavals[band - 1]
            info: dict[str, Any] = {
                "product": tags.get("PRODUCT") or src.descriptions[band - 1] or Path(p).stem,
                "units": tags.get("units") or src.units[band - 1] or None,
                "scale": float(src.scales[band - 1]), "offset": float(src.offsets[band - 1]),
                "bounds": tuple(src.bounds), "crs": src.crs.to_wkt() if src.crs else None,
                "dtype": src.dtypes[band - 1], "nodata": nodata, "source_shape": (src.height, src.width),
            }
        names = {int(k[6:]): v for k, v in tags.items() if k.startswith("CLASS_") and k[6:].lstrip("-").isdigit()}
        is_class = kind == "class" or (kind is None and bool(names or cmap))
        level = _choose_level(p, max_size, band)
        with rasterio.open(p, **({} if level is None else {"overview_level": level})) as src:
            h, w = src.height, src.width
            f = min(1.0, max_size / max(h, w))
            shape = (max(1, round(h * f)), max(1, round(w * f)))
            resampling = Resampling.nearest if is_class else Resampling.average
            key = _read_key(p, band, level, shape, resampling.name)
            values = _recall(key)
            if values is None:
                values = src.read(band, out_shape=shape, resampling=resampling)
                _remember(key, values)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read {p} for a quicklook: {exc}; check the path and that it is a GeoTIFF.") from exc
    invalid = np.zeros(values.shape, bool)
    if values.dtype.kind == "f":
        invalid |= np.isnan(values)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        invalid |= values == nodata
    classes: list[tuple[int, str, str]] = []
    if is_class:
        # Named classes from the tags; a colormap without tags: the values present, named by value.
        keys = sorted(names) or sorted(int(v) for v in np.unique(values[~invalid]))
        for v in keys:
            rgb = cmap.get(v, (128, 128, 128, 255))[:3] if cmap else (128, 128, 128)
            classes.append((v, names.get(v, str(v)), "%02X%02X%02X" % tuple(rgb)))
    return {**info, "values": values, "invalid": invalid, "kind": "class" if is_class else "continuous",
            "tags": tags, "classes": classes, "colormap": cmap, "overview_level": level,
            "read_shape": values.shape}


