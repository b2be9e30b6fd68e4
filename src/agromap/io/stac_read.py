"""STAC items to lazy scenes and stacks: which asset is which band, in which units.

Items come from local JSON (:func:`read_items`) or a STAC API search
(:mod:`agromap.io.stac_search`). Pixels are read by odc-stac (odc-stac, Open Data Cube,
2021-), which turns item metadata (projection extension, ``raster:bands``) into lazy, chunked
reads reprojected onto one grid. agromap adds the project's contract on top: bands named by
their common name, float32 physical values (``DN * scale + offset`` from ``raster:bands``, or
from the Sentinel-2 processing baseline when absent) with NaN as nodata, class/QA bands in
their stored dtype, and one rule for dates and mosaics shared with every other loader
(:func:`agromap.io.scene.stack_scenes`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from ..errors import InputError, MetadataError, MissingBandError
from ..sensors import s2_l2a
from ..sensors.s1_orbit import stac_track_metadata
from .gdal_env import gdal_env_dict, gdal_preset
from .remote import gdal_path, is_remote, is_url, load_signer, resolve_href
from .scene import Scene
from .trust import check_local_input, check_regular_file, check_remote, confine

__all__ = ["BandAsset", "read_items", "band_asset", "item_provenance", "items_to_scenes", "RAW_BANDS", "asset_index"]

#: Class and bit-field bands: kept in their stored dtype, never scaled or interpolated.
RAW_BANDS = frozenset({"scl", "qa_pixel", "qa", "fmask", "cloud_mask", "mask"})


@dataclass(frozen=True)
class BandAsset:
    """Where one band of one item lives and how its DN become physical values."""

    band: str
    key: str
    href: str
    scale: float
    offset: float
    nodata: float | None
    raw: bool


#: Seconds a server may stay silent while sending an item or ItemCollection (per read, not in total).
ITEM_TIMEOUT = 30.0
#: An ItemCollection of a season is a few MB; anything this large is not one (and must not fill memory).
MAX_ITEM_BYTES = 256 << 20


def _read_item_bytes(href: str) -> bytes:
    """The bytes of a local or http(s) STAC JSON: bounded in size, and in time for a silent server."""
    if not is_url(href):
        with open(check_regular_file(href, "STAC item"), "rb") as fh:
            data = fh.read(MAX_ITEM_BYTES + 1)
    else:
        import urllib.error
        import urllib.request

        if not href.lower().startswith(("http://", "https://")):
            raise InputError(f"{href}: STAC JSON is read over http(s) only; download it and give the local path.")
        request = urllib.request.Request(href, headers={"Accept": "application/geo+json, application/json"})
        try:
            with urllib.request.urlopen(request, timeout=ITEM_TIMEOUT) as response:  # noqa: S310 - http(s) only
                data = response.read(MAX_ITEM_BYTES + 1)
        except (TimeoutError, urllib.error.URLError) as exc:
            if not isinstance(exc, TimeoutError) and not isinstance(getattr(exc, "reason", None), TimeoutError):
                raise
            raise InputError(f"{href}: the server did not answer within {ITEM_TIMEOUT:g} s; check the URL and the "
                             "connection, or download the item and give its local path.") from None
    if len(data) > MAX_ITEM_BYTES:
        raise InputError(f"{href}: larger than {MAX_ITEM_BYTES >> 20} MiB, too large for a STAC item or "
                         "ItemCollection; split it or check the path.")
    return data


def _load_item_file(path: str, base: str | os.PathLike[str]) -> list[Any]:
    import pystac

    href = check_remote(resolve_href(path, base), "STAC item")
    try:
        data = json.loads(_read_item_bytes(href))
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"{href}: cannot read the STAC JSON ({str(exc).splitlines()[0]}).") from None
    try:
        if isinstance(data, dict) and data.get("type") == "FeatureCollection":
            items = list(pystac.ItemCollection.from_dict(data, preserve_dict=False))
        else:
            items = [pystac.Item.from_dict(data, preserve_dict=False)]
    except Exception as exc:  # pystac raises several types for malformed JSON
        raise MetadataError(f"{href}: not a STAC item or ItemCollection ({str(exc).splitlines()[0]}).") from None
    for item in items:
        # Relative asset hrefs resolve against the file they were written in.
        item.set_self_href(href if is_url(href) else str(Path(href).resolve()))
    return items


def read_items(source: Any, *, base: str | os.PathLike[str] = ".") -> list[Any]:
    """STAC items from a path/URL (item or ItemCollection JSON), a list of them, or pystac objects.

    Parameters
    ----------
    source : str, path, dict, pystac.Item, pystac.ItemCollection or a sequence of these
    base : path or URL
        Folder relative paths resolve against (the configuration file's folder).

    Returns
    -------
    list of pystac.Item
        Asset hrefs made absolute (against each item's own location).
    """
    import pystac

    if isinstance(source, (str, os.PathLike)):
        parts: Iterable[Any] = [source]
    elif isinstance(source, (pystac.Item, dict)):
        parts = [source]
    else:
        parts = source
    items: list[Any] = []
    for part in parts:
        if isinstance(part, pystac.Item):
            items.append(part)
        elif isinstance(part, pystac.ItemCollection):
            items.extend(part)
        elif isinstance(part, dict):
            items.append(pystac.Item.from_dict(part))
        elif isinstance(part, (str, os.PathLike)):
            items.extend(_load_item_file(os.fspath(part), base))
        else:
            raise InputError(
                f"cannot read STAC items from a {type(part).__name__}; give a path or URL to an item or "
                "ItemCollection JSON, a pystac.Item or a pystac.ItemCollection."
            )
    if not items:
        raise InputError("no STAC items to load; check the search or the ItemCollection.")
    return items


def asset_index(item: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each band name a STAC item offers -> (asset key, asset dict): by asset key, then by eo common name."""
    by_name: dict[str, tuple[str, dict[str, Any]]] = {}
    assets = {k: a.to_dict() for k, a in item.assets.items()}
    for key, d in assets.items():
        by_name.setdefault(key.lower(), (key, d))
    for key, d in assets.items():
        eo = d.get("eo:bands") or d.get("bands") or []
        if len(eo) == 1:
            common = eo[0].get("common_name") or eo[0].get("eo:common_name")
            if common:
                by_name.setdefault(common.lower(), (key, d))
    return by_name


def _is_s2(item: Any) -> bool:
    props = item.properties
    return ("s2:processing_baseline" in props or str(props.get("constellation", "")).lower() == "sentinel-2"
            or str(props.get("platform", "")).lower().startswith("sentinel-2"))


def band_asset(item: Any, band: str, *, asset_root: str | os.PathLike[str] | None = None) -> BandAsset:
    """The asset holding ``band`` (asset key or eo common name) and its radiometry.

    ``raster:bands`` scale/offset/nodata win; a Sentinel-2 item without them gets the BOA
    offset of its processing baseline (-0.1 from baseline 04.00); class/QA bands are raw.
    """
    index = asset_index(item)
    if band not in index:
        raise MissingBandError(f"STAC item {item.id}: no asset for band {band!r}; assets are {sorted(item.assets)}.")
    key, asset = index[band]
    href = asset["href"]
    self_href = item.get_self_href()
    if not is_remote(href) and not os.path.isabs(href) and self_href:
        href = resolve_href(href, os.path.dirname(self_href) if not is_url(self_href) else self_href.rsplit("/", 1)[0])
    if not is_remote(href) and self_href and not is_url(self_href):
        # An item written by someone else must not make agromap read files elsewhere on the machine:
        # its local assets (relative or absolute) stay inside the item's folder or its asset_root,
        # unless the run allows outside paths.
        roots = [os.path.dirname(self_href), *([asset_root] if asset_root is not None else [])]
        href = str(confine(href, roots, "asset href"))
    if asset_root is not None and is_remote(href):
        # A downloaded copy of a remote product: the same file names in a local folder.
        href = str(confine(Path(asset_root) / Path(href.split("?")[0]).name, asset_root, "asset href"))
    raw = band in RAW_BANDS
    scale, offset, nodata = 1.0, 0.0, None
    if _is_s2(item) and (band in s2_l2a.BANDS or band in s2_l2a.AUX_BANDS):
        rad = s2_l2a.radiometry_from_metadata(stac_properties=item.properties, product_name=item.id)
        scale, offset, raw = s2_l2a.band_scale_offset(band, rad)
        nodata = 0.0
    rb = (asset.get("raster:bands") or [{}])[0]
    bands11 = (asset.get("bands") or [{}])[0]
    if "scale" in rb or "offset" in rb:
        scale, offset = float(rb.get("scale", 1.0)), float(rb.get("offset", 0.0))
    elif "raster:scale" in bands11 or "raster:offset" in bands11:
        scale, offset = float(bands11.get("raster:scale", 1.0)), float(bands11.get("raster:offset", 0.0))
    nd = rb.get("nodata", bands11.get("nodata", asset.get("nodata")))
    if nd is not None:
        nodata = float(nd)
    if raw:
        scale, offset = 1.0, 0.0
    return BandAsset(band, key, href, scale, offset, nodata, raw)


def item_provenance(item: Any) -> dict[str, Any]:
    """What identifies an item's content without reading it: id, collection, times, hrefs.

    The recipe of an incremental run uses this for remote items instead of hashing bytes.
    """
    props = item.properties
    return {"id": item.id, "collection": item.collection_id, "datetime": props.get("datetime"),
            "updated": props.get("updated"), "created": props.get("created"),
            "etag": {k: a.extra_fields.get("file:checksum") or a.extra_fields.get("etag")
                     for k, a in item.assets.items() if a.extra_fields.get("file:checksum") or a.extra_fields.get("etag")}}


def _item_time(item: Any) -> pd.Timestamp:
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        raise MetadataError(f"STAC item {item.id}: has no datetime; give items with a datetime.")
    ts = pd.Timestamp(when)
    return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")


def _convert(dn: xr.DataArray, ba: BandAsset) -> xr.DataArray:
    if ba.raw:
        out = dn
        if ba.nodata is not None:
            out = out.assign_attrs(nodata=ba.nodata)
        return out
    nodata, scale, offset = ba.nodata, np.float32(ba.scale), np.float32(ba.offset)

    def physical(block: np.ndarray) -> np.ndarray:
        out = block.astype(np.float32)
        invalid = np.isnan(out) if nodata is None or np.isnan(nodata) else block == nodata
        if scale != 1:
            out *= scale
        if offset != 0:
            out += offset
        out[invalid] = np.nan
        return out

    return xr.apply_ufunc(physical, dn, dask="parallelized", output_dtypes=[np.float32], keep_attrs=True)


def _to_yx(ds: xr.Dataset) -> xr.Dataset:
    rename = {d: n for d, n in (("latitude", "y"), ("longitude", "x")) if d in ds.dims}
    return ds.rename(rename) if rename else ds


def items_to_scenes(
    items: Sequence[Any],
    bands: Sequence[str],
    *,
    geobox: GeoBox | None = None,
    crs: str | None = None,
    resolution: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    resampling: str = "nearest",
    chunk: int = 1024,
    sign: str | Callable[..., Any] | None = None,
    asset_root: str | os.PathLike[str] | None = None,
    loader: str = "stac",
) -> list[Scene]:
    """One lazy :class:`Scene` per item, read by odc-stac onto one grid.

    Parameters
    ----------
    items : sequence of pystac.Item
    bands : sequence of str
        Common names (or asset keys), e.g. ``("red", "nir", "scl")``.
    geobox : GeoBox, optional
        The grid to read onto; else ``crs``/``resolution``/``bbox`` (EPSG:4326 bounds), else
        what odc-stac derives from the items (their most common CRS, finest resolution).
    sign : str or callable, optional
        Applied to each item before reading (``"planetary_computer.sign"``).

    Returns
    -------
    list of Scene
        Bands already on one grid; dates and mosaics are decided by
        :func:`agromap.io.scene.stack_scenes`, as for every other input.
    """
    import odc.stac
    import rasterio

    signer = load_signer(sign)
    items = [it.clone() for it in items]  # hrefs are resolved below; the caller's items stay as given
    items = [signer(it) for it in items] if signer else items
    if not items:
        raise InputError("no STAC items to load; widen the search (dates, area, cloud filter).")
    assets = [{b: band_asset(it, b, asset_root=asset_root) for b in bands} for it in items]
    for per_band in assets:  # odc-stac opens these itself: check them as every other reader does
        for a in per_band.values():
            check_local_input(gdal_path(a.href), f"STAC asset {a.key!r}")
    # Items whose assets share keys and radiometry load together; a change of processing
    # baseline (a new BOA offset) inside a season splits the load instead of mixing units.
    groups: dict[Any, list[int]] = {}
    for i, per_band in enumerate(assets):
        sig = tuple((b, a.key, a.scale, a.offset, a.nodata, a.raw) for b, a in per_band.items())
        groups.setdefault(sig, []).append(i)
    scenes: dict[int, Scene] = {}
    gbox = geobox
    for sig, idx in groups.items():
        sub = [items[i] for i in idx]
        for i in idx:
            # odc-stac opens the resolved href (relative and asset_root hrefs made absolute).
            for a in assets[i].values():
                items[i].assets[a.key].href = a.href
        keys = [a.key for a in assets[idx[0]].values()]
        kw: dict[str, Any] = {}
        if gbox is not None:
            kw["geobox"] = gbox
        else:
            if crs is not None:
                kw["crs"] = crs
            if resolution is not None:
                kw["resolution"] = resolution
            if bbox is not None:
                kw["bbox"] = bbox
        resampling_of = {a.key: ("nearest" if a.raw else resampling) for a in assets[idx[0]].values()}
        with rasterio.Env(**gdal_env_dict(gdal_preset())):  # captured by odc-stac into every read task
            try:
                ds = odc.stac.load(sub, bands=keys, groupby="id", chunks={"x": chunk, "y": chunk},
                                   resampling=resampling_of, fail_on_error=True, preserve_original_order=True,
                                   **kw)
            except (ValueError, KeyError) as exc:
                raise MetadataError(
                    f"STAC items {[it.id for it in sub][:3]}...: odc-stac cannot plan the read "
                    f"({str(exc).splitlines()[0]}); items need the projection extension or a declared grid."
                ) from None
        ds = _to_yx(ds)
        gbox = gbox or ds.odc.geobox
        for j, i in enumerate(idx):
            item = items[i]
            arrays = {}
            for b, a in assets[i].items():
                arr = _convert(ds[a.key].isel(time=j, drop=True), a).rename(b)
                arr.attrs["source"] = ";".join(sorted({gdal_path(x.href) for x in assets[i].values()}))
                arrays[b] = arr
            meta = {"loader": loader, "stac_id": item.id, "collection": item.collection_id,
                    "provenance": item_provenance(item),
                    "hrefs": {a.band: a.href for a in assets[i].values()},
                    "scale_offset": {a.band: (a.scale, a.offset) for a in assets[i].values()},
                    **stac_track_metadata(item.properties)}  # a SAR date's orbit track
            scenes[i] = Scene(item.id, _item_time(item), arrays, meta)
    return [scenes[i] for i in range(len(items))]


def load_items_dataset(
    items: Sequence[Any],
    bands: Sequence[str],
    *,
    group_by: str = "solar_day",
    mosaic: str = "first",
    **kwargs: Any,
) -> xr.Dataset:
    """Items to a lazy ``(time, y, x)`` stack grouped into dates and mosaicked (see :func:`items_to_scenes`)."""
    from .scene import run_geobox, stack_scenes

    scenes = items_to_scenes(items, bands, **kwargs)
    gbox = run_geobox(scenes, None, group_by=group_by)
    return stack_scenes(scenes, gbox, chunk=kwargs.get("chunk", 1024), group_by=group_by,
                        mosaic=mosaic)  # type: ignore[arg-type]


def describe_items(items: Sequence[Any]) -> Mapping[str, Any]:
    """A short summary for logs and errors: count, dates and collections."""
    times = sorted(_item_time(it) for it in items)
    return {"count": len(items), "first": times[0].isoformat() if times else None,
            "last": times[-1].isoformat() if times else None,
            "collections": sorted({str(it.collection_id) for it in items})}
