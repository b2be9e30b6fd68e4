"""The notebook entry point: inputs in one call to a lazy Dataset on one grid.

:func:`load` finds the right reader for each input (the same readers as the ``inputs:`` of a run
configuration), puts every band of every scene on one grid, groups the scenes into dates and
returns an :class:`xarray.Dataset` whose grid both ``.odc`` (odc-geo) and ``.rio`` (rioxarray)
understand, with the CF ``grid_mapping`` attribute on every variable. Nothing is read until you
compute or plot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import xarray as xr

from .errors import ConfigError, InputError
from .io.grid import GridSpec, Resampling
from .io.scene import GroupBy, Mosaic, Scene

__all__ = ["load", "with_grid_mapping", "InputKind", "INPUT_KINDS"]

#: What :func:`load` can read; the names of the run configuration's input ``kind``.
InputKind = Literal["sentinel2_l2a", "landsat_c2", "stac_item", "folder", "files", "sentinel1"]
INPUT_KINDS: tuple[str, ...] = ("sentinel2_l2a", "landsat_c2", "stac_item", "folder", "files", "sentinel1")

#: The coordinate holding the CRS (odc-geo and rioxarray both use this name).
GRID_MAPPING = "spatial_ref"


def _detect_kind(path: Path) -> str:
    """The input kind of a path, from what the folder or file holds."""
    name = path.name.lower()
    if name.endswith(".json"):
        return "stac_item"
    if not path.is_dir():
        if path.exists():
            raise InputError(f"{path}: a single raster file needs its band name; pass "
                             f"{{'red': '{path}'}} (a band map) with datetime=..., or a product folder.")
        raise InputError(f"{path}: no such file or folder.")
    if any(path.glob("*_MTL.txt")) or any(path.glob("*_MTL.json")) or any(path.glob("*_MTL.xml")):
        return "landsat_c2"
    if (any(path.rglob("MTD_MSIL2A.xml")) or any(path.glob("B02.tif")) or any(path.rglob("*_B02_10m.jp2"))
            or path.name.upper().startswith(("S2A_", "S2B_", "S2C_"))):
        return "sentinel2_l2a"
    return "folder"


def _scenes(source: Any, kind: str | None, bands: Sequence[str] | None, chunk: int,
            options: Mapping[str, Any]) -> list[Scene]:
    from .io import loaders

    if isinstance(source, Scene):
        return [source]
    if isinstance(source, Mapping):
        band_map = dict(source)
        if (kind or "files") == "sentinel1":
            return [loaders.load_sentinel1(band_map, chunk=chunk, **options)]
        if kind not in (None, "files"):
            raise ConfigError(f"a band map is read as kind 'files' or 'sentinel1', not {kind!r}.")
        return [loaders.load_files(band_map, chunk=chunk, **options)]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        remote = isinstance(source, str) and "://" in source
        which = kind or ("stac_item" if remote else _detect_kind(path))
        wanted: dict[str, Any] = {} if bands is None else {"bands": tuple(bands)}
        if which == "sentinel2_l2a":
            return [loaders.load_sentinel2_l2a(path, chunk=chunk, **wanted, **options)]
        if which == "landsat_c2":
            return [loaders.load_landsat_c2(path, chunk=chunk, **wanted, **options)]
        if which == "stac_item":
            return [loaders.load_stac_item(os.fspath(source), chunk=chunk, **wanted, **options)]
        if which == "folder":
            if bands is None:
                raise ConfigError(f"{path}: a folder of band files needs bands=[...] (the names in its file names).")
            return loaders.load_folder(path, chunk=chunk, **wanted, **options)
        raise ConfigError(f"kind {which!r} does not read a path; use one of {', '.join(INPUT_KINDS)}.")
    if isinstance(source, Sequence):
        return [scene for item in source for scene in _scenes(item, kind, bands, chunk, options)]
    raise ConfigError(f"cannot load a {type(source).__name__}; pass a path, a band map, a Scene or a list of them.")


def with_grid_mapping(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with the CF ``grid_mapping`` attribute on every variable that lies on the grid.

    The grid itself (``spatial_ref`` coordinate with its CF attributes, ``y``/``x`` pixel
    centres) is what :func:`agromap.io.grid.attach_geobox` writes; this only names it from each
    variable, as CF readers (netCDF, rioxarray, GDAL) expect.
    """
    if GRID_MAPPING not in ds.coords:
        return ds
    out = ds.copy()
    for name, var in out.data_vars.items():
        if {"y", "x"} <= set(var.dims):
            out[name] = var.assign_attrs(grid_mapping=GRID_MAPPING)
    return out


def load(
    source: Any,
    *,
    bands: Sequence[str] | None = None,
    kind: InputKind | None = None,
    grid: GridSpec | Mapping[str, Any] | None = None,
    chunk: int = 1024,
    resampling: Resampling = "nearest",
    group_by: GroupBy = "solar_day",
    mosaic: Mosaic = "first",
    **options: Any,
) -> xr.Dataset:
    """Read inputs into one lazy ``(time, y, x)`` Dataset on one grid.

    Parameters
    ----------
    source : path, band map, Scene, or a list of them
        A Sentinel-2 L2A product folder, a Landsat Collection 2 Level-2 folder, a STAC item
        (``.json`` file or URL), a folder of single-band files named ``{date}_{band}.tif``, or a
        band map ``{"red": "red.tif", "nir": ("stack.tif", 4)}`` (with ``datetime=``). A list
        mixes any of them; scenes of one local solar day are mosaicked into one date.
    bands : sequence of str, optional
        Common band names to read (``"red"``, ``"nir"``, ``"scl"``...); default: each reader's
        usual set. Required for a folder of band files.
    kind : str, optional
        Force the reader instead of detecting it: ``sentinel2_l2a``, ``landsat_c2``,
        ``stac_item``, ``folder``, ``files`` or ``sentinel1`` (a band map of ``vv``/``vh`` with
        ``units="db"`` or ``"linear"``).
    grid : GridSpec or dict, optional
        Target grid (``{"crs": "EPSG:32643", "resolution": 10, "bounds": (...)}``); default: the
        finest band of the first scene, widened to cover the scenes of its date.
    chunk : int
        Dask chunk edge in pixels.
    resampling : str
        For continuous bands; class and QA bands always use nearest.
    group_by : str
        Which scenes share a date: ``"solar_day"``, ``"time"`` or a duration such as ``"2h"``.
    mosaic : {"first", "best_quality"}
        How overlapping scenes of one date combine.
    **options
        Passed to the reader: ``datetime=``, ``scale=``, ``offset=``, ``nodata=`` for band maps,
        ``units=`` for Sentinel-1, ``processing_baseline=`` for Sentinel-2, ``pattern=`` for folders.

    Returns
    -------
    xarray.Dataset
        ``(time, y, x)`` dask-backed: float32 physical values with NaN nodata, class/QA bands in
        their stored integer type; the grid in ``spatial_ref``/``y``/``x`` (``ds.odc.geobox``,
        ``ds.rio.crs``) and ``grid_mapping="spatial_ref"`` on every band.

    Raises
    ------
    InputError, MissingBandError, MetadataError, ConfigError
        A path that does not exist, a product missing a band, metadata that cannot decide the
        radiometry, or arguments that do not fit the input.

    Examples
    --------
    >>> import agromap as am
    >>> ds = am.load("sample_data/sentinel2_l2a_29RKH_20200219", bands=["red", "nir", "scl"])
    >>> ndvi = am.ndvi(am.apply_mask(ds.nir, am.scl_valid(ds.scl)), ds.red)   # lazy
    """
    import rioxarray  # noqa: F401  (registers .rio on the returned Dataset)

    from . import accessor  # noqa: F401  (registers .agromap)
    from .io.scene import run_geobox, stack_scenes

    scenes = _scenes(source, kind, bands, chunk, options)
    if not scenes:
        raise InputError("nothing to load: the list of inputs is empty.")
    spec: GridSpec | None
    if isinstance(grid, Mapping):
        try:
            spec = GridSpec(**{"chunk": chunk, **grid})
        except TypeError as exc:
            raise ConfigError(f"grid {dict(grid)} is not crs/resolution/bounds: {exc}") from exc
    else:
        spec = grid
    gbox = run_geobox(scenes, spec, group_by=group_by)
    ds = stack_scenes(scenes, gbox, bands=bands, resampling=resampling, chunk=chunk, group_by=group_by,
                      mosaic=mosaic)
    return with_grid_mapping(ds)
