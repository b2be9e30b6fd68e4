"""STAC 1.1 items for published COG layers (docs/architecture.md#stac-items).

Everything in an item is read back from the written file (grid, checksum, statistics), never
from what the pipeline meant to write, so the item describes the file that exists. Items carry
projection v2, raster v1.1, classification v2 (class layers), file v2.1 and processing fields.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from odc.geo.geobox import GeoBox
from pystac.extensions.classification import Classification, ClassificationExtension
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension, Sampling, Statistics

from .._version import __version__
from ..errors import ExportError
from .cog_check import band_statistics, statistics_level
from .layers import LayerSpec
from .write import CogInfo, atomic_write_text, sha256_file

__all__ = ["COG_MEDIA_TYPE", "PROCESSING_EXTENSION", "item_for_layer", "write_item"]

COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
#: pystac 1.15 has no class for the processing extension, so its schema is declared by hand.
PROCESSING_EXTENSION = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
_SLUG = re.compile(r"[^0-9A-Za-z_-]+")

Datetime = dt.datetime | tuple[dt.datetime, dt.datetime]


def item_for_layer(
    cog_path: str | os.PathLike[str],
    spec: LayerSpec,
    *,
    item_id: str,
    datetime: Datetime,
    properties: Mapping[str, Any] | None = None,
    href: str | None = None,
    info: CogInfo | None = None,
    asset_key: str | None = None,
) -> pystac.Item:
    """Build the STAC item describing one published COG.

    Parameters
    ----------
    cog_path : path
        The published COG (read for grid, statistics and, without ``info``, checksum).
    spec : LayerSpec
        Layer description: nodata, dtype, unit, scale/offset, classes.
    item_id : str
        Item id, by convention ``agromap-<layer>-<YYYYMMDD>-<tile>``.
    datetime : datetime or (datetime, datetime)
        Acquisition time, or ``(start, end)`` of a composite period. Naive values are taken as UTC.
    properties : mapping, optional
        Extra item properties (``processing:level``, ``AQI_STANDARD``, ``flood_detected``...).
    href : str, optional
        Asset href, relative to where the item JSON will be written; default the file name,
        for an item written next to its COG.
    info : CogInfo, optional
        What :func:`~agromap.io.write.publish_cog` returned; saves re-hashing the file.
    asset_key : str, optional
        Asset key; default ``spec.name``.

    Returns
    -------
    pystac.Item
        With ``proj:code``/``proj:shape``/``proj:transform``, ``raster:bands`` (nodata, data_type,
        spatial_resolution, unit, scale, offset, statistics in stored units), ``classification:classes``
        for class layers, ``file:size``/``file:checksum`` (sha2-256 multihash) and
        ``processing:software``. Geometry and bbox are in EPSG:4326.
    """
    path = Path(cog_path)
    if not path.is_file():
        raise ExportError(f"{spec.name}: no COG at {path}; publish it with publish_cog() first.")
    with rasterio.open(path) as src:
        crs, transform, shape = src.crs, src.transform, (src.height, src.width)
        if src.dtypes[0] != spec.dtype:
            raise ExportError(f"{path} is {src.dtypes[0]}, but layer {spec.name!r} is stored as {spec.dtype}.")
    footprint = _footprint(GeoBox(shape, transform, crs.to_wkt()))
    start, end, when = _times(datetime)
    item = pystac.Item(
        id=item_id,
        geometry=_rounded(footprint.json),
        bbox=[round(float(v), 7) for v in footprint.boundingbox],
        datetime=when,
        start_datetime=start,
        end_datetime=end,
        properties={},
    )
    epsg = crs.to_epsg()
    ProjectionExtension.ext(item, add_if_missing=True).apply(
        code=f"EPSG:{epsg}" if epsg else None,
        wkt2=None if epsg else crs.to_wkt(version="WKT2_2019"),
        shape=list(shape),
        transform=[float(v) for v in list(transform)[:6]],
    )
    size = info.size if info else path.stat().st_size
    digest = info.sha256 if info else sha256_file(path)
    # The publish step decoded the file once for its checks and kept the statistics of that read.
    stats = Statistics.create(**info.statistics) if info and info.statistics is not None else _statistics(path, spec)
    valid_fraction = info.valid_fraction if info else stats.valid_percent / 100.0  # type: ignore[operator]
    item.properties.update({"valid_fraction": round(valid_fraction, 6), "processing:software": {"agromap": __version__}})
    item.properties.update(_json_safe(dict(properties or {})))
    item.stac_extensions.append(PROCESSING_EXTENSION)

    asset = pystac.Asset(href=href or path.name, media_type=COG_MEDIA_TYPE, roles=["data"],
                         title=spec.name, description=spec.description)
    item.add_asset(asset_key or spec.name, asset)
    RasterExtension.ext(asset, add_if_missing=True).bands = [
        RasterBand.create(
            # JSON has no NaN: raster v1.1 spells it "nan"; integer nodata stays an integer (pystac hints float).
            nodata="nan" if spec.is_float else spec.nodata,  # type: ignore[arg-type]
            data_type=DataType(spec.dtype),
            spatial_resolution=float(abs(transform.a)),
            sampling=Sampling.AREA,
            unit=spec.units,
            scale=spec.scale,
            offset=spec.offset,
            statistics=stats,
        )
    ]
    if spec.kind == "class":
        ClassificationExtension.ext(asset, add_if_missing=True).classes = _classes(spec)
    FileExtension.ext(asset, add_if_missing=True).apply(size=size, checksum="1220" + digest)
    return item


def write_item(item: pystac.Item, path: str | os.PathLike[str]) -> None:
    """Write ``item`` as JSON to ``path`` atomically; hrefs are kept exactly as given (relative)."""
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _json_safe(obj: Any) -> Any:
    """Non-finite floats become ``None`` (JSON null): JSON has no NaN or infinity."""
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Mapping):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _footprint(gbox: GeoBox) -> Any:
    """Outline in EPSG:4326, 8 extra points per side: enough for UTM curvature, far fewer than
    odc-geo's per-pixel ``geographic_extent``.
    """
    if gbox.crs is not None and gbox.crs.geographic:
        return gbox.extent
    left, bottom, right, top = gbox.extent.boundingbox
    return gbox.extent.to_crs("EPSG:4326", resolution=max(right - left, top - bottom) / 8)


def _rounded(obj: Any) -> Any:
    # 1e-7 degrees is about 1 cm: plenty for a footprint, and it keeps the JSON short.
    if isinstance(obj, float):
        return round(obj, 7)
    if isinstance(obj, (list, tuple)):
        return [_rounded(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    return obj


def _times(value: Datetime) -> tuple[dt.datetime | None, dt.datetime | None, dt.datetime | None]:
    if isinstance(value, tuple):
        start, end = (_utc(v) for v in value)
        if end < start:
            raise ExportError(f"item period ends ({end.isoformat()}) before it starts ({start.isoformat()}).")
        return start, end, None
    return None, None, _utc(value)


def _utc(value: dt.datetime | dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):  # a plain date means its midnight, UTC
        value = dt.datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _classes(spec: LayerSpec) -> list[Classification]:
    # Classification v2 `name` is machine-readable ([0-9A-Za-z-_]); the human name goes in `title`.
    classes = [
        Classification.create(
            value=v, name=_SLUG.sub("_", n).strip("_"), title=n, description=n, color_hint=c.upper()
        )
        for v, n, c in spec.classes
    ]
    classes.append(Classification.create(value=int(spec.nodata), name="nodata", title="no data", nodata=True))
    return classes


def _statistics(path: Path, spec: LayerSpec) -> Statistics:
    """Statistics of stored values from the finest level with at most 2048² pixels (read here)."""
    with rasterio.open(path) as src:
        level = statistics_level(src.width, src.height, src.overviews(1))
    with rasterio.open(path, **({} if level is None else {"overview_level": level})) as src:
        data = src.read(1)
    return Statistics.create(**band_statistics(data, spec))
