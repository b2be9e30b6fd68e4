"""The run grid: one GeoBox (CRS, resolution, bounds) every product is put on.

Reprojection is lazy (odc-geo) and always given explicit output chunks, so a small input
chunk never explodes into thousands of output chunks (opendatacube/odc-geo#220).
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import xarray as xr
from odc.geo.gcp import GCPGeoBox
from odc.geo.geobox import GeoBox
from odc.geo.xr import ODCExtensionDa, ODCExtensionDs, xr_coords, xr_reproject

from ..errors import GridMismatchError, NoOverlapError, UnknownCRSError
from .gridspec import GridSpec, crs_name, crs_of, geobox_from_spec, overlaps

__all__ = [
    "overlaps",
    "GridSpec",
    "north_up_geobox",
    "Resampling",
    "geobox_from_spec",
    "geobox_of",
    "grid_or_none",
    "to_grid",
    "require_same_grid",
    "attach_geobox",
    "crs_of",
    "crs_name",
]

Resampling = Literal["nearest", "bilinear", "average", "mode", "cubic", "min", "max"]


def north_up_geobox(shape: tuple[int, int], crs: str, res: float, origin: tuple[float, float]) -> GeoBox:
    """A north-up GeoBox of ``shape`` (rows, cols), square pixels of ``res``, top-left corner ``origin`` (x, y)."""
    from affine import Affine

    x0, y0 = origin
    return GeoBox(shape, Affine(res, 0.0, x0, 0.0, -res, y0), crs)


def grid_or_none(arr: xr.DataArray | xr.Dataset) -> GeoBox | GCPGeoBox | None:
    """The GeoBox carried in ``arr``'s coordinates, or ``None`` when it carries none.

    Read through odc-geo's extension built for this call, not through the ``arr.odc`` accessor:
    xarray keeps an accessor in the array's cache and the accessor refers back to the array, a
    reference cycle that only Python's cyclic collector frees. A tile's bands read for a grid
    check would then stay in memory, 60 MiB per 512 px tile of 12 dates, until the next full
    collection, however many tiles later that comes.
    """
    ext = ODCExtensionDs(arr) if isinstance(arr, xr.Dataset) else ODCExtensionDa(arr)
    return ext.geobox


def geobox_of(arr: xr.DataArray | xr.Dataset) -> GeoBox:
    """The GeoBox carried in ``arr``'s coordinates; an error that says how to attach one."""
    return _geobox_or_error(grid_or_none(arr))


def _geobox_or_error(gbox: GeoBox | GCPGeoBox | None) -> GeoBox:
    if not isinstance(gbox, GeoBox):
        raise UnknownCRSError(
            "array has no CRS/transform in its coordinates; load it with agromap.io readers or "
            "attach one with agromap.io.grid.attach_geobox(arr, geobox)."
        )
    return gbox


def attach_geobox(arr: xr.DataArray, gbox: GeoBox) -> xr.DataArray:
    """Assign ``y``/``x`` pixel-centre coordinates and the ``spatial_ref`` CRS coordinate."""
    # Keyed by the CRS text too: grids with equal but differently spelled CRSs are equal GeoBoxes,
    # and the coordinates' attributes repeat the spelling.
    try:
        parts = _grid_coord_parts(gbox, str(gbox.crs))
    except TypeError:  # a grid that cannot be hashed (not one agromap makes): built here
        return arr.assign_coords(xr.Coordinates(xr_coords(gbox, crs_coord_name="spatial_ref", dims=("y", "x"))))
    # Fresh pandas indexes on every call, from the cached arrays: every view or slice of a pandas
    # index records a weak reference in the index's shared reference list, which pandas prunes only
    # once it passes 500 entries, so an index kept across runs gains dead entries with every run.
    coords = xr.Coordinates({name: xr.Variable(dims, values, dict(attrs)) for name, dims, values, attrs in parts})
    return arr.assign_coords(coords)


@functools.lru_cache(maxsize=64)
def _grid_coord_parts(gbox: GeoBox, crs_text: str) -> tuple[tuple[str, tuple[str, ...], np.ndarray, dict], ...]:
    """The coordinates of ``gbox`` as (name, dims, read-only values, attributes), built once per
    grid: a run attaches the same grid to every band of every date, and building them (CRS to CF
    attributes, pixel-centre values) is two thirds of the cost. Plain arrays, not xarray objects,
    so that no pandas index outlives the run that made it.
    """
    parts = []
    for name, da in xr_coords(gbox, crs_coord_name="spatial_ref", dims=("y", "x")).items():
        values = np.array(da.values)
        values.flags.writeable = False
        parts.append((str(name), tuple(str(d) for d in da.dims), values, dict(da.attrs)))
    return tuple(parts)


def to_grid(
    arr: xr.DataArray,
    gbox: GeoBox,
    *,
    resampling: Resampling = "nearest",
    chunk: int = 1024,
) -> xr.DataArray:
    """Put ``arr`` on ``gbox`` lazily.

    Parameters
    ----------
    arr : xarray.DataArray
        ``(..., y, x)`` with a GeoBox in its coordinates; numpy or dask. NaN is nodata for floats.
    gbox : odc.geo.geobox.GeoBox
        The run grid.
    resampling : str
        ``nearest`` or ``mode`` for classes, ``bilinear``/``average`` for continuous values.
    chunk : int
        Output chunk edge in pixels.

    Returns
    -------
    xarray.DataArray
        Same dtype, on ``gbox``; lazy when the input is. Identity (rechunk only) when the
        input already is on ``gbox``.

    Raises
    ------
    NoOverlapError
        When ``arr``'s footprint does not intersect ``gbox``.
    """
    src = geobox_of(arr)
    if src == gbox:
        return arr
    if not overlaps(src, gbox):
        raise NoOverlapError(
            f"{arr.name or 'input'} covers {_describe(src)}, which does not overlap the run grid "
            f"{_describe(gbox)}; check the input paths or set grid.bounds to the area of interest."
        )
    nodata = np.nan if np.issubdtype(arr.dtype, np.floating) else arr.attrs.get("nodata", 0)
    out = xr_reproject(
        arr,
        gbox,
        resampling=resampling,
        dst_nodata=nodata,
        chunks=(chunk, chunk) if arr.chunks is not None else None,
    )
    # odc-geo names geographic dims latitude/longitude; every agromap array is (..., y, x),
    # whatever the CRS, so chunking, masks and writers need no per-CRS branches.
    out = out.rename({d: n for d, n in zip(out.dims[-2:], ("y", "x")) if d != n})
    out.attrs = dict(arr.attrs)
    return out.rename(arr.name)


def require_same_grid(*arrays: xr.DataArray) -> None:
    """Raise :class:`GridMismatchError` unless every array carries the same GeoBox."""
    if len(arrays) < 2:
        return
    first = arrays[0]
    want: GeoBox | None = None
    known = False
    for other in arrays[1:]:
        if _same_georeferencing(first, other):
            continue
        if not known:
            want = _grid_for_check(first)
            known = True
        got = _grid_for_check(other)
        if want is None and got is None:
            continue  # tables of points and other non-raster inputs: xarray aligns them by coordinates
        if want != got:
            raise GridMismatchError(
                f"{other.name!r} is {_describe(got)}; expected {_describe(want)} like {first.name!r}. "
                "Put both on the run grid first: agromap.io.grid.to_grid(arr, geobox)."
            )


def _grid_for_check(arr: xr.DataArray) -> GeoBox | None:
    """``arr``'s GeoBox, ``None`` without georeferencing; the error of :func:`geobox_of` for a GCP grid."""
    gbox = grid_or_none(arr)
    return None if gbox is None else _geobox_or_error(gbox)


def _same_georeferencing(a: xr.DataArray, b: xr.DataArray) -> bool:
    """True when ``a`` and ``b`` hold the very same coordinate objects, dimensions and grid-mapping
    attributes: everything a GeoBox is read from, so their GeoBoxes are equal without reading them.

    Variables of one dataset and the results of element-wise steps on them share their coordinate
    objects; reading a GeoBox parses the CRS coordinate and fits a transform to the pixel centres,
    about a millisecond per array, and the rule checks its bands' grids on every tile.
    """
    if a.dims != b.dims:
        return False
    ca, cb = a.coords.variables, b.coords.variables
    if ca.keys() != cb.keys() or any(ca[k] is not cb[k] for k in ca):
        return False
    return all(a.attrs.get(k) == b.attrs.get(k) and a.encoding.get(k) == b.encoding.get(k)
               for k in ("grid_mapping", "crs", "spatial_ref"))


def _describe(g: GeoBox | None) -> str:
    if g is None:
        return "without georeferencing"
    res = abs(g.resolution.x)
    return f"{g.shape.y}x{g.shape.x} px at {res:g} in {crs_name(g.crs)} (bounds {tuple(round(v, 6) for v in g.boundingbox)})"


def chunk_edge(block: int, target: int) -> int:
    """Largest multiple of ``block`` not above ``target`` (at least one block)."""
    return max(block, (target // block) * block) if block > 0 else target

