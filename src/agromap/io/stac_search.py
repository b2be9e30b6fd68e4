"""STAC API search (pystac-client) and the one-call loader :func:`load_stac`.

A search names a catalogue (``url``), its collections, an area (a bbox in degrees or a
polygon), a date range and property filters (``{"eo:cloud_cover": {"lt": 60}}``); pystac-client
pages through the results. :func:`load_stac` returns the lazy, mosaicked ``(time, y, x)`` stack.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import xarray as xr

from ..errors import ConfigError, InputError
from .stac_read import load_items_dataset, read_items

__all__ = ["search_items", "load_stac", "area_geometry"]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def search_items(
    url: str,
    *,
    collections: Sequence[str] | None = None,
    bbox: Sequence[float] | None = None,
    intersects: Mapping[str, Any] | None = None,
    datetime: str | None = None,
    query: Mapping[str, Any] | None = None,
    filter: Mapping[str, Any] | None = None,  # noqa: A002 - the STAC API parameter's name
    max_items: int | None = 500,
    limit: int = 100,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> list[Any]:
    """Items matching a STAC API item search, every page followed (up to ``max_items``).

    Parameters
    ----------
    url : str
        The API's landing page, e.g. ``https://earth-search.aws.element84.com/v1``.
    collections : sequence of str
    bbox : (west, south, east, north), optional
        In degrees (EPSG:4326).
    intersects : GeoJSON geometry, optional
        A polygon (e.g. a district) instead of a bbox.
    datetime : str, optional
        ``"2023-06-01/2023-11-30"`` (RFC 3339 interval) or one date.
    query : mapping, optional
        Query-extension filters, ``{"eo:cloud_cover": {"lt": 60}}``.
    filter : mapping, optional
        A CQL2-JSON filter (filter extension), for APIs that support it.
    max_items : int, optional
        Stop after this many items (a guard against an unbounded search).
    limit : int
        Page size asked of the server.

    Returns
    -------
    list of pystac.Item
        Sorted by datetime, then id (the order ``mosaic="first"`` follows).
    """
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO

    from .trust import check_remote

    check_remote(url, "STAC API")
    try:
        from urllib3 import Retry

        io = StacApiIO(headers=dict(headers or {}), timeout=timeout,
                       max_retries=Retry(total=3, backoff_factor=0.5, status_forcelist=[429, 502, 503, 504],
                                         allowed_methods=None))
        client = Client.open(url, stac_io=io)
    except (APIError, OSError, ValueError) as exc:
        raise InputError(f"{url}: cannot open the STAC API ({_one_line(exc)}); check the URL and the connection.") from None
    kw: dict[str, Any] = {"collections": list(collections) if collections else None, "bbox": bbox,
                          "intersects": intersects, "datetime": datetime, "query": dict(query) if query else None,
                          "max_items": max_items, "limit": limit}
    if filter:
        kw.update(filter=dict(filter), filter_lang="cql2-json")
    try:
        search = client.search(**{k: v for k, v in kw.items() if v is not None})
        items = list(search.items())
    except (APIError, OSError, ValueError) as exc:
        raise InputError(f"{url}: the STAC search failed ({_one_line(exc)}); check collections, dates and filters.") from None
    # One order whatever the server's: time, then id. It is the order of mosaic="first".
    return sorted(items, key=lambda it: (str(it.properties.get("datetime") or ""), it.id))


def area_geometry(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The union of the polygons in a vector file, as a GeoJSON geometry in EPSG:4326."""
    import geopandas as gpd
    from shapely.geometry import mapping

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own types
        raise InputError(f"{path}: cannot read the area polygons ({_one_line(exc)}).") from None
    if gdf.empty:
        raise InputError(f"{path}: holds no polygon to search with.")
    if gdf.crs is not None:
        gdf = gdf.to_crs("EPSG:4326")
    return dict(mapping(gdf.geometry.union_all()))


def load_stac(
    url: str | None = None,
    *,
    items: Any = None,
    bands: Sequence[str],
    collections: Sequence[str] | None = None,
    bbox: Sequence[float] | None = None,
    intersects: Mapping[str, Any] | None = None,
    datetime: str | None = None,
    query: Mapping[str, Any] | None = None,
    filter: Mapping[str, Any] | None = None,  # noqa: A002
    max_items: int | None = 500,
    crs: str | None = None,
    resolution: float | None = None,
    geobox: Any = None,
    group_by: str = "solar_day",
    mosaic: str = "first",
    chunk: int = 1024,
    sign: str | Callable[..., Any] | None = None,
) -> xr.Dataset:
    """Search a STAC API (or take ``items``) and return the lazy, mosaicked stack, in one call.

    Examples
    --------
    >>> ds = load_stac("https://earth-search.aws.element84.com/v1",        # doctest: +SKIP
    ...                collections=["sentinel-2-l2a"], bbox=(88.0, 22.0, 88.3, 22.3),
    ...                datetime="2023-06-01/2023-11-30", query={"eo:cloud_cover": {"lt": 60}},
    ...                bands=["red", "nir", "scl"], crs="EPSG:32645", resolution=10)

    Returns
    -------
    xarray.Dataset
        ``(time, y, x)``: float32 physical values with NaN nodata (class bands such as ``scl``
        in their stored dtype), one time step per solar day, tiles mosaicked; nothing read yet.
    """
    if (url is None) == (items is None):
        raise ConfigError("give either a STAC API url (with search parameters) or items, not both.")
    if items is None:
        found = search_items(url, collections=collections, bbox=bbox, intersects=intersects,  # type: ignore[arg-type]
                             datetime=datetime, query=query, filter=filter, max_items=max_items)
    else:
        found = read_items(items)
    if not found:
        raise InputError(f"{url}: the search matched no item; widen the dates, the area or the filters.")
    return load_items_dataset(found, bands, group_by=group_by, mosaic=mosaic, geobox=geobox, crs=crs,
                              resolution=resolution, bbox=tuple(bbox) if bbox and geobox is None else None,
                              chunk=chunk, sign=sign)
