"""Loaders: files, product folders and STAC items -> :class:`~agromap.io.scene.Scene`.

Each loader knows where a product keeps its bands and asks :mod:`agromap.sensors` how to
turn DN into physical values; reads are lazy (:func:`agromap.io.read.open_band`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError, MetadataError, MissingBandError
from ..sensors import landsat_c2, s2_l2a
from ..sensors.s1 import INCIDENCE_BAND, POLARISATIONS, Units
from .discover import BandSource, folder_scenes, split_source
from .read import DEFAULT_MAX_PIXELS, open_band, read_header
from .scene import Scene

__all__ = [
    "BandSource",
    "load_files",
    "load_sentinel2_l2a",
    "load_landsat_c2",
    "load_sentinel1",
    "load_stac_item",
    "load_folder",
]

def _timestamp(value: Any, where: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise MetadataError(f"{where}: datetime {value!r} is not an ISO date/time.") from exc
    return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")


def load_files(
    bands: Mapping[str, BandSource],
    *,
    datetime: Any,
    scene_id: str | None = None,
    scale: float | Mapping[str, float] = 1.0,
    offset: float | Mapping[str, float] = 0.0,
    nodata: float | None | str = "auto",
    raw: tuple[str, ...] = (),
    chunk: int = 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Scene:
    """A scene from a band map over single- or multi-band GeoTIFF/COG files.

    Parameters
    ----------
    bands : mapping
        common name -> ``path`` or ``(path, band_index)``, e.g. ``{"red": ("x.tif", 3)}``.
    datetime : str or timestamp
        Acquisition time (files rarely carry it).
    scale, offset : float or mapping
        ``value = DN * scale + offset``, globally or per band.
    nodata : float, None or "auto"
        DN meaning nodata; ``"auto"`` uses each file's tag.
    raw : tuple of str
        Bands kept in their stored dtype (class or QA layers).
    """
    arrays = {}
    headers: dict[str, Any] = {}
    for name, src in bands.items():
        path, index = split_source(src)
        hdr = headers.get(path) or read_header(path, max_pixels=max_pixels)
        headers[path] = hdr
        sc = scale.get(name, 1.0) if isinstance(scale, Mapping) else scale
        of = offset.get(name, 0.0) if isinstance(offset, Mapping) else offset
        arrays[name] = open_band(
            path, index, name=name, scale=sc, offset=of, nodata=nodata, raw=name in raw, chunk=chunk, header=hdr
        )
    first = next(iter(headers), "files")
    ts = _timestamp(datetime, first)
    sid = scene_id or f"{Path(first).stem}-{ts:%Y%m%d}"
    meta = {"loader": "files", "files": sorted(headers), "scale": scale, "offset": offset}
    return Scene(sid, ts, arrays, meta)


def _find_band_file(folder: Path, band_id: str) -> Path | None:
    for pattern in (f"{band_id}.tif", f"{band_id}.TIF", f"*_{band_id}.tif", f"*_{band_id}.TIF",
                    f"*_{band_id}_*m.jp2", f"*_{band_id}.jp2"):
        hits = sorted(folder.rglob(pattern))
        if hits:
            return hits[0]
    return None


def load_sentinel2_l2a(
    folder: str | os.PathLike[str],
    *,
    bands: tuple[str, ...] = ("blue", "green", "red", "nir", "nir08", "swir16", "swir22", "scl"),
    processing_baseline: str | None = None,
    chunk: int = 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Scene:
    """A Sentinel-2 L2A product folder (COG layout ``B02.tif`` or SAFE ``*_B02_10m.jp2``).

    The BOA offset comes from ``MTD_MSIL2A.xml``, a STAC item JSON in the folder, the product
    name, or ``processing_baseline`` given here, in that order (never from the date).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory; a Sentinel-2 L2A input is a product folder.")
    item_props: dict[str, Any] = {}
    item_json = sorted(p for p in root.glob("*.json") if _is_stac_item(p))
    if item_json:
        item_props = json.loads(item_json[0].read_text())["properties"]
    mtd = next(iter(sorted(root.rglob("MTD_MSIL2A.xml"))), None)
    if processing_baseline:
        item_props = {**item_props, "s2:processing_baseline": processing_baseline}
    rad = s2_l2a.radiometry_from_metadata(stac_properties=item_props, product_name=root.name, mtd_path=mtd)
    arrays = {}
    for name in bands:
        band_id = s2_l2a.BANDS.get(name) or s2_l2a.AUX_BANDS.get(name, (None,))[0]
        if band_id is None:
            raise MissingBandError(f"{name!r} is not a Sentinel-2 L2A band; choose from "
                                   f"{sorted(s2_l2a.BANDS) + sorted(s2_l2a.AUX_BANDS)}.")
        path = _find_band_file(root, band_id)
        if path is None:
            raise MissingBandError(f"{root}: no file for band {name!r} ({band_id}); the product is incomplete.")
        scale, offset, raw = s2_l2a.band_scale_offset(name, rad)
        # DN 0 is nodata in L2A under both conventions.
        arrays[name] = open_band(path, 1, name=name, scale=scale, offset=offset, nodata=0, raw=raw,
                                 chunk=chunk, max_pixels=max_pixels)
    dt = item_props.get("datetime") or _s2_datetime_from_name(root.name)
    ts = _timestamp(dt, str(root))
    meta = {"loader": "sentinel2_l2a", "product": root.name, "boa_offset": rad.boa_offset,
            "processing_baseline": rad.processing_baseline, "offset_decided_by": rad.decided_by}
    return Scene(root.name, ts, arrays, meta)


def _s2_datetime_from_name(name: str) -> str | None:
    for part in name.split("_"):
        if len(part) == 15 and part[8] == "T" and part[:8].isdigit():
            return part
        if len(part) == 8 and part.isdigit():
            return part
    return None


def _is_stac_item(path: Path) -> bool:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("type") == "Feature" and "assets" in data


def load_landsat_c2(
    folder: str | os.PathLike[str],
    *,
    bands: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16", "swir22"),
    chunk: int = 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Scene:
    """A Landsat Collection 2 Level-2 product folder, scaled from its MTL (txt, json or xml).

    Files without georeferencing (cropped samples written by other tools) get the grid
    rebuilt from the MTL corners.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory; a Landsat C2 input is a product folder.")
    mtl = landsat_c2.read_mtl(landsat_c2.find_mtl(root))
    if mtl.processing_level and not mtl.processing_level.startswith("L2"):
        raise MetadataError(
            f"{root}: processing level {mtl.processing_level}; surface reflectance needs a Level-2 (L2SP/L2SR) product."
        )
    band_map = mtl.band_map()
    arrays = {}
    for name in bands:
        suffix = band_map.get(name)
        if suffix is None:
            raise MissingBandError(f"{name!r} is not a {mtl.spacecraft or 'Landsat'} C2 band; choose from {sorted(band_map)}.")
        path = _find_band_file(root, suffix)
        if path is None:
            raise MissingBandError(f"{root}: no *_{suffix}.TIF for band {name!r}; the product is incomplete.")
        scale, offset, raw = mtl.scale_offset(suffix)
        hdr = read_header(str(path), max_pixels=max_pixels)
        gbox = mtl.geobox((hdr.height, hdr.width)) if hdr.crs_wkt is None else None
        # C2 fill is DN 0 for SR/ST; QA_PIXEL marks fill in bit 0 instead.
        arrays[name] = open_band(path, 1, name=name, scale=scale, offset=offset, nodata=None if raw else 0,
                                 raw=raw, chunk=chunk, geobox=gbox, header=hdr)
    meta = {"loader": "landsat_c2", "product": mtl.product_id, "mtl": mtl.path,
            "scale_offset": {b: mtl.scale_offset(band_map[b]) for b in bands}}
    return Scene(mtl.product_id, _timestamp(mtl.datetime, mtl.path), arrays, meta)


def load_sentinel1(
    bands: Mapping[str, BandSource],
    *,
    datetime: Any,
    units: Units,
    scene_id: str | None = None,
    orbit: int | str | None = None,
    chunk: int = 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Scene:
    """Sentinel-1 backscatter GeoTIFFs (σ⁰ or γ⁰) in dB or linear power -> linear power.

    The conversion from dB happens inside the read task; linear zeros (border fill) become NaN.
    An ``angle`` entry is the incidence angle in degrees (e.g. the GEE/ASF angle band): it is
    kept in degrees, its zeros are fill, and a value outside 15-50 deg fails at compute.

    The orbit track (``metadata["orbit"]``, see :mod:`agromap.sensors.s1_orbit`) is ``orbit``
    when given (a relative orbit 1-175, ``ascending``/``descending`` or a name), else read from
    the first file's GeoTIFF tags, else from a Sentinel-1 product, SAFE or OPERA name in the
    file paths; unknown otherwise.
    """
    for name in bands:
        if name not in POLARISATIONS and name != INCIDENCE_BAND:
            raise MissingBandError(f"{name!r} is not a SAR polarisation; use {list(POLARISATIONS)} "
                                   f"(or {INCIDENCE_BAND!r} for the incidence angle in degrees).")
    if units not in ("db", "linear"):
        raise MetadataError(f"units must be 'db' or 'linear', got {units!r}.")
    scene = load_files(bands, datetime=datetime, scene_id=scene_id, nodata="auto", chunk=chunk, max_pixels=max_pixels)
    from ..sensors.s1 import check_incidence, check_units, to_linear

    converted = {}
    for name, arr in scene.bands.items():
        if name == INCIDENCE_BAND:  # degrees, not backscatter: no dB conversion
            deg = check_incidence(arr.where(arr != 0)).astype("float32")
            converted[name] = deg.rename(name).assign_attrs(units="deg", long_name="incidence angle")
            continue
        arr = check_units(arr, units)  # a dB/linear mix-up fails at compute with its own message
        lin = to_linear(arr) if units == "db" else arr.where(arr > 0)
        converted[name] = lin.astype("float32").rename(name).assign_attrs(units="1", long_name=f"{name.upper()} backscatter, linear power")
    scene.bands = converted
    scene.metadata.update(loader="sentinel1", input_units=units)
    scene.metadata.update(_s1_track(bands, orbit, max_pixels))
    return scene


def _s1_track(bands: Mapping[str, BandSource], orbit: int | str | None, max_pixels: int) -> dict[str, Any]:
    """Track metadata of a Sentinel-1 band map: declared, else the first file's tags, else the file names."""
    from ..sensors.s1_orbit import track_metadata, track_of

    paths = [split_source(src)[0] for name, src in bands.items() if name != INCIDENCE_BAND]
    tags = read_header(paths[0], max_pixels=max_pixels).tags if paths and orbit is None else None
    return track_metadata(track_of(declared=orbit, tags=tags, names=paths))


def load_stac_item(
    item: Any,
    *,
    bands: tuple[str, ...] | None = None,
    asset_root: str | os.PathLike[str] | None = None,
    sign: Any = None,
    chunk: int = 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Scene:
    """One STAC item: a JSON path or URL, a ``pystac.Item`` or its dict; assets by eo common name.

    Relative hrefs resolve against the item file; remote hrefs (``https://``, ``s3://``) are
    read through GDAL (:mod:`agromap.io.remote`), or from ``asset_root`` by file name when a
    downloaded copy is given. ``raster:bands`` scale/offset win; a Sentinel-2 item without them
    follows its ``s2:processing_baseline``. Chunks are the files' own tiles. ``sign`` (a
    callable or a dotted name such as ``"planetary_computer.sign"``) is applied to the item first.
    """
    from .remote import load_signer
    from .stac_items import band_asset, item_provenance, read_items

    where = os.fspath(item) if isinstance(item, (str, os.PathLike)) else getattr(item, "id", "STAC item")
    try:
        [it] = read_items(item)
    except ValueError:
        raise MetadataError(f"{where}: holds several items; use kind stac_items for an ItemCollection.") from None
    signer = load_signer(sign)
    if signer is not None:
        it = signer(it)
    props = it.properties
    wanted = bands or tuple(n for n in (*s2_l2a.BANDS, "scl") if _has_band(it, n))
    arrays = {}
    assets = {}
    for name in wanted:
        ba = band_asset(it, name, asset_root=asset_root)
        assets[name] = ba
        arrays[name] = open_band(ba.href, 1, name=name, scale=ba.scale, offset=ba.offset,
                                 nodata="auto" if ba.nodata is None else ba.nodata, raw=ba.raw,
                                 chunk=chunk, max_pixels=max_pixels)
    if it.datetime is None:
        raise MetadataError(f"{where}: item has no datetime; composites need start/end handling.")
    meta: dict[str, Any] = {"loader": "stac_item", "stac_id": it.id, "item": str(where),
                            "provenance": item_provenance(it),
                            "hrefs": {n: a.href for n, a in assets.items()}}
    from ..sensors.s1_orbit import stac_track_metadata

    meta.update(stac_track_metadata(props))  # a SAR date's orbit track
    is_s2 = "s2:processing_baseline" in props or str(props.get("constellation", "")).lower() == "sentinel-2"
    if is_s2:
        rad = s2_l2a.radiometry_from_metadata(stac_properties=props, product_name=it.id)
        meta.update(boa_offset=rad.boa_offset, processing_baseline=rad.processing_baseline,
                    offset_decided_by=rad.decided_by)
    return Scene(it.id, pd.Timestamp(it.datetime).tz_convert("UTC"), arrays, meta)


def _has_band(item: Any, name: str) -> bool:
    from .stac_items import asset_index

    return name in asset_index(item)


def load_folder(
    folder: str | os.PathLike[str],
    *,
    pattern: str = "{date}_{band}.tif",
    bands: tuple[str, ...],
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None | str = "auto",
    raw: tuple[str, ...] = (),
    sar_units: Units | None = None,
    orbit: int | str | None = None,
    chunk: int = 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[Scene]:
    """A folder of single-band files named by date and band, e.g. ``2023-06-01_red.tif``.

    One scene per date; every date must have every requested band. With ``sar_units`` the
    bands are backscatter and become linear power as in :func:`load_sentinel1`; their orbit
    track is an ``{orbit}`` field of the pattern (``{date}_{orbit}_{band}.tif``, one scene per
    date and track), else ``orbit`` for every file, else each date's tags or file names.
    """
    root = Path(folder)
    scenes = []
    for (date, track), files in folder_scenes(root, pattern, bands):
        band_map: dict[str, BandSource] = dict(files)
        if sar_units is not None:
            scenes.append(load_sentinel1(band_map, datetime=date, units=sar_units,
                                         scene_id=f"{root.name}-{date}" + (f"-{track}" if track else ""),
                                         orbit=track or orbit, chunk=chunk, max_pixels=max_pixels))
        else:
            scenes.append(load_files(band_map, datetime=date, scene_id=f"{root.name}-{date}", scale=scale,
                                     offset=offset, nodata=nodata, raw=raw, chunk=chunk, max_pixels=max_pixels))
    return scenes
