"""STAC items read without the array stack: the JSON, and which asset holds which band in which units.

:func:`read_items` reads item and ItemCollection JSON (bounded in size and, over http(s), in
time); :func:`band_asset` finds a band's asset (by key or eo common name) and its radiometry.
:mod:`agromap.io.stac_read` builds lazy scenes from them, and ``agromap validate`` opens the
assets' headers only (:mod:`agromap.pipeline.light_plan`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, MetadataError, MissingBandError
from ..sensors import s2_l2a
from .remote import is_remote, is_url, resolve_href
from .trust import check_regular_file, check_remote, confine

__all__ = ["BandAsset", "RAW_BANDS", "ITEM_TIMEOUT", "MAX_ITEM_BYTES", "read_items", "asset_index", "band_asset",
           "item_provenance", "is_s2_item"]

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


def is_s2_item(item: Any) -> bool:
    """Whether a STAC item is a Sentinel-2 product (its processing baseline, constellation or platform says so)."""
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
    if is_s2_item(item) and (band in s2_l2a.BANDS or band in s2_l2a.AUX_BANDS):
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
