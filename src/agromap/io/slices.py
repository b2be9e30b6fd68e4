"""Time slices of a stack: which scenes share a date, without the array stack.

Shared by the stack (:func:`agromap.io.scene.group_scenes`) and by ``agromap validate``'s
header-only check, which must group scenes exactly as the stack does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from odc.geo.geobox import GeoBox

__all__ = ["solar_offset_hours", "slice_labels"]


def solar_offset_hours(geobox: GeoBox) -> float:
    """Longitude of the grid's centre / 15: local solar time minus UTC, in hours."""
    centre = geobox.extent.centroid.to_crs("EPSG:4326")
    lon = float(centre.coords[0][0])
    return ((lon + 180.0) % 360.0 - 180.0) / 15.0


def slice_labels(scenes: Sequence[Any], keys: Mapping[int, Any]) -> dict[int, Any]:
    """Each scene's slice (``keys[id(scene)]``) labelled by the slice's earliest ``scene.datetime``."""
    first: dict[Any, Any] = {}
    for s in scenes:
        k = keys[id(s)]
        first[k] = min(first.get(k, s.datetime), s.datetime)
    return {id(s): first[keys[id(s)]] for s in scenes}
