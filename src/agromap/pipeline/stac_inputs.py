"""``kind: stac_items`` and ``kind: stac_search`` inputs: items found, then read by odc-stac.

The read grid is the area's: a declared grid with bounds is used as it is; a declared CRS and
resolution without bounds cover the search area; otherwise odc-stac derives the grid from the
items (their most common CRS, finest resolution) over the search area.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..io.grid import geobox_from_spec
from ..io.scene import Scene
from ..io.stac_read import items_to_scenes, read_items
from ..io.stac_search import area_geometry, search_items
from .config import AreaConfig, RunConfig
from .input_registry import InputLoader

__all__ = ["search_area", "LOADERS"]


def search_area(cfg: RunConfig, inp: Any, area: AreaConfig) -> tuple[tuple[float, float, float, float] | None,
                                                                       dict[str, Any] | None]:
    """(bbox, intersects) of a search: declared, the polygon file's union, or the grid's bounds."""
    if getattr(inp, "bbox", None) is not None:
        left, bottom, right, top = inp.bbox
        return (left, bottom, right, top), None
    if getattr(inp, "intersects", None):
        polygon = area_geometry(cfg.resolve(inp.intersects))
        from shapely.geometry import shape

        return tuple(shape(polygon).bounds), polygon
    if area.grid.bounds is not None and area.grid.crs is not None:
        from odc.geo import CRS, geom

        box = geom.BoundingBox(*area.grid.bounds, crs=CRS(area.grid.crs)).polygon.to_crs("EPSG:4326")
        left, bottom, right, top = box.boundingbox
        return (left, bottom, right, top), None
    return None, None


def _search(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    """``kind: stac_search``: the items a STAC API returns for the area and dates, read by odc-stac."""
    bbox, intersects = search_area(cfg, inp, area)
    if bbox is None:
        raise ConfigError(f"area {area.name}: a stac_search needs an area: give bbox or intersects, or grid bounds.")
    items = search_items(inp.url, collections=inp.collections, bbox=None if intersects else bbox,
                         intersects=intersects, datetime=inp.datetime, query=inp.query or None,
                         filter=inp.filter, max_items=inp.max_items, limit=inp.limit)
    if not items:
        from ..errors import NoValidDataError

        raise NoValidDataError(
            f"area {area.name}: the STAC search of {inp.url} ({', '.join(inp.collections)}, {inp.datetime}) "
            "matched no item; widen the dates, the area or the filters."
        )
    return _scenes(cfg, inp, area, items, bbox)


def _listed(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    """``kind: stac_items``: the items of ItemCollection or item files, read by odc-stac."""
    bbox, _ = search_area(cfg, inp, area)
    return _scenes(cfg, inp, area, read_items(inp.items, base=cfg.base_dir), bbox)


def _scenes(cfg: RunConfig, inp: Any, area: AreaConfig, items: Any,
            bbox: tuple[float, float, float, float] | None) -> list[Scene]:
    """The scenes of ``items``, on the area's grid when it declares one with bounds."""
    spec = area.grid.spec(cfg.chunk)
    geobox = geobox_from_spec(spec) if spec is not None and spec.bounds is not None else None
    asset_root = cfg.resolve(inp.asset_root) if getattr(inp, "asset_root", None) else None
    return items_to_scenes(items, inp.bands, geobox=geobox, crs=None if geobox else area.grid.crs,
                           resolution=None if geobox else area.grid.resolution,
                           bbox=None if geobox else bbox, resampling=area.grid.resampling, chunk=cfg.chunk,
                           sign=inp.sign, asset_root=asset_root, loader=inp.kind)


LOADERS = (
    InputLoader("stac_items", _listed),
    InputLoader("stac_search", _search),
)
