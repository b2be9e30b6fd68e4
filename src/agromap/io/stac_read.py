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

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from ..errors import InputError, MetadataError
from ..sensors.s1_orbit import stac_track_metadata
from .gdal_env import gdal_env_dict, gdal_preset
from .remote import gdal_path, load_signer
from .scene import Scene
from .stac_items import (
    RAW_BANDS,
    BandAsset,
    asset_index,
    band_asset,
    item_provenance,
    read_items,
)
from .trust import check_local_input

__all__ = ["BandAsset", "read_items", "band_asset", "item_provenance", "items_to_scenes", "RAW_BANDS", "asset_index"]


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
