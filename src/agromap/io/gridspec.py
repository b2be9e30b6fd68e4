"""The declared run grid and grid geometry that needs no array: specs, footprints, CRS names.

Split from :mod:`agromap.io.grid` so that ``agromap validate`` can build and compare the run
grid (odc-geo GeoBoxes) without importing xarray and dask; :mod:`agromap.io.grid` re-exports
everything here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from affine import Affine
from odc.geo import CRS, geom
from odc.geo.geobox import GeoBox

from ..errors import ConfigError, GridMismatchError, UnknownCRSError

__all__ = ["GridSpec", "geobox_from_spec", "crs_of", "crs_name", "overlaps", "widen", "covering"]


@dataclass(frozen=True)
class GridSpec:
    """A declared target grid; what enters the graph, never a pydantic model."""

    crs: str
    """Target CRS, anything pyproj understands (``"EPSG:32643"``)."""
    resolution: float
    """Pixel edge in CRS units (metres for projected CRSs, degrees for EPSG:4326)."""
    bounds: tuple[float, float, float, float] | None = None
    """(left, bottom, right, top) in the target CRS; ``None`` = the first input's footprint."""
    chunk: int = 1024
    """Dask chunk edge in pixels."""


def geobox_from_spec(spec: GridSpec, like: GeoBox | None = None) -> GeoBox:
    """Build the run GeoBox from a spec; bounds default to ``like``'s footprint in ``spec.crs``."""
    try:
        crs = CRS(spec.crs)
    except Exception as exc:  # pyproj raises several types for a bad code
        raise ConfigError(
            f"grid.crs {spec.crs!r} is not a CRS pyproj knows; use an EPSG code such as 'EPSG:32643'."
        ) from exc
    if spec.bounds is not None:
        bbox = geom.BoundingBox(*spec.bounds, crs=crs)
    elif like is not None:
        bbox = like.extent.to_crs(crs).boundingbox
    else:
        raise GridMismatchError("grid.bounds is required when no input defines the footprint.")
    return GeoBox.from_bbox(bbox, crs=crs, resolution=spec.resolution, anchor="edge")


def crs_of(gbox: GeoBox) -> CRS:
    """The CRS of ``gbox``; :class:`UnknownCRSError` when it has none."""
    if gbox.crs is None:
        raise UnknownCRSError("the grid has no CRS; attach one with agromap.io.grid.attach_geobox(arr, geobox).")
    return gbox.crs


def overlaps(src: GeoBox, dst: GeoBox) -> bool:
    """Whether two grids' footprints intersect (False when ``src`` cannot be reprojected to ``dst``'s CRS)."""
    try:
        fp = src.extent.to_crs(crs_of(dst))
    except Exception:
        return False
    return bool(fp.intersects(dst.extent)) and fp.intersection(dst.extent).area > 0


def crs_name(crs: CRS | None) -> str:
    """``EPSG:<code>`` when the CRS has one, else its WKT (``"no CRS"`` when missing)."""
    if crs is None:
        return "no CRS"
    return f"EPSG:{crs.epsg}" if crs.epsg else crs.to_wkt()


def widen(like: GeoBox, bbox: Any) -> GeoBox:
    """``like``'s pixel grid (CRS, resolution, alignment) over ``bbox``: its own pixels stay put."""
    a = like.affine
    rx, ry = a.a, -a.e
    col0 = math.floor((bbox.left - a.c) / rx + 1e-9)
    col1 = math.ceil((bbox.right - a.c) / rx - 1e-9)
    row0 = math.floor((a.f - bbox.top) / ry + 1e-9)
    row1 = math.ceil((a.f - bbox.bottom) / ry - 1e-9)
    affine = Affine(rx, 0.0, a.c + col0 * rx, 0.0, -ry, a.f - row0 * ry)
    return GeoBox((row1 - row0, col1 - col0), affine, like.crs)


def covering(like: GeoBox, others: Iterable[GeoBox]) -> GeoBox:
    """``like``'s pixel grid widened over its own extent and every grid of ``others``.

    The other grids are reprojected to ``like``'s CRS: the run grid of a date delivered as
    adjacent tiles.
    """
    extent = like.extent
    for geobox in others:
        extent = extent.union(geobox.extent.to_crs(crs_of(like)))
    return widen(like, extent.boundingbox)
