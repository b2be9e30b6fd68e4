"""True pixel areas (hectares) for any grid, and mapped class areas from them.

Never count pixels of a geographic (EPSG:4326) grid as if they had one size: a 0.001° cell holds
1.23 ha at the equator and 0.62 ha at 60° N (docs/science/rice.md#mapped-area-of-a-pixel). Here:

- geographic CRSs: the exact area of each row's cell on the CRS ellipsoid, from the authalic
  (equal-area) latitude formula, so every cell of a row has the same area;
- projected CRSs: the nominal area ``|det(affine)|`` in m². For UTM this is the area *on the map*:
  the true ground area differs by the squared point scale factor k² (k = 0.9996 on the central
  meridian, about 1.0010 at the zone edge), i.e. -0.08 % to +0.2 %. That is far below the
  sampling error of any area estimate, so no correction is applied; reproject to an equal-area
  CRS first if that matters.

:func:`pixel_area_ha` returns a ``(y, x)`` float32 DataArray that costs one row of memory
(numpy broadcast view, or dask chunks built from a ``(y, 1)`` column).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import dask.array as da
import numpy as np
import pyproj
import xarray as xr
from numpy.typing import NDArray
from odc.geo.geobox import GeoBox

from .errors import UnknownCRSError
from .io.grid import attach_geobox, geobox_of
from .io.layers import LayerSpec

__all__ = ["pixel_area_ha", "row_area_m2", "pixel_area_like", "mapped_area_ha", "metres_per_degree", "pixel_size_m",
           "LAYER_SPECS"]

#: Output layer: a true-area grid, should the runner want to publish it next to a class map.
LAYER_SPECS: dict[str, LayerSpec] = {
    "pixel_area_ha": LayerSpec(
        name="pixel_area_ha",
        kind="continuous",
        dtype="float32",
        nodata=float("nan"),
        units="ha",
        description="True area of each pixel: ellipsoidal for geographic grids, nominal (map) area for projected grids",
        overview_resampling="average",
    )
}

_M2_PER_HA = 10_000.0


def _pyproj_crs(gbox: GeoBox) -> pyproj.CRS:
    if gbox.crs is None:
        raise UnknownCRSError(
            "the grid has no CRS, so pixel areas are unknown; attach one with "
            "agromap.io.grid.attach_geobox(arr, geobox)."
        )
    return pyproj.CRS.from_user_input(gbox.crs.to_wkt())


def _authalic_q(lat_rad: NDArray[np.float64], e: float) -> NDArray[np.float64]:
    """q(φ) such that the ellipsoidal zone area from the equator is (Δλ/2)·b²·q(φ) (per unit Δλ)."""
    s = np.sin(lat_rad)
    if e < 1e-12:  # sphere: b = R, q = 2 sin φ
        return 2.0 * s
    return s / (1.0 - (e * s) ** 2) + np.arctanh(e * s) / e


def row_area_m2(gbox: GeoBox) -> NDArray[np.float64]:
    """Area of one pixel in each row of ``gbox``, in m² (float64, shape ``(ny,)``).

    Geographic CRS: exact area of the ellipsoidal quadrangle between the row's edge latitudes and
    one pixel of longitude, ``A = (Δλ/2) b² [q(φ2) - q(φ1)]`` with
    ``q(φ) = sin φ / (1 - e² sin² φ) + atanh(e sin φ) / e`` (the equal-area, authalic latitude
    integral; Snyder 1987, eq. 3-12). Projected CRS: nominal ``|det(affine)|`` times the squared
    linear unit (see the module docstring for the UTM scale-factor caveat).

    Raises
    ------
    UnknownCRSError
        When the grid has no CRS, or a geographic grid is rotated (rows are then not parallels).
    """
    crs = _pyproj_crs(gbox)
    aff = gbox.affine
    ny = gbox.shape[0]
    if not crs.is_geographic:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        area = abs(aff.a * aff.e - aff.b * aff.d) * unit**2
        return np.full(ny, area, dtype=np.float64)
    if aff.b != 0 or aff.d != 0:
        raise UnknownCRSError(
            "a rotated geographic grid has no per-row pixel area; warp it to a north-up grid first "
            "(agromap.io.grid.to_grid)."
        )
    to_rad = crs.axis_info[0].unit_conversion_factor if crs.axis_info else math.pi / 180.0
    ell = crs.ellipsoid
    if ell is None:
        raise UnknownCRSError(f"{crs} has no ellipsoid; pixel areas need one.")
    a_ax = float(ell.semi_major_metre)
    b_ax = float(ell.semi_minor_metre)
    e = math.sqrt(max(1.0 - (b_ax / a_ax) ** 2, 0.0))
    edges = aff.f + aff.e * np.arange(ny + 1, dtype=np.float64)  # row edge latitudes (CRS units)
    lat = np.clip(edges * to_rad, -math.pi / 2, math.pi / 2)
    q = _authalic_q(lat, e)
    dlon = abs(aff.a) * to_rad
    return 0.5 * dlon * b_ax**2 * np.abs(np.diff(q))


#: WGS 84 semi-major axis (m) and first eccentricity squared (NIMA TR8350.2, 2000).
_WGS84_A, _WGS84_E2 = 6_378_137.0, 6.694379990141317e-3


def metres_per_degree(lat: float | NDArray[np.float64]) -> tuple[Any, Any]:
    """Length of one degree of latitude and of longitude at latitude ``lat`` (degrees), on WGS 84.

    ``M π/180`` and ``N cos φ π/180`` with the meridian and prime-vertical radii of curvature
    ``M = a(1-e²)/(1-e² sin² φ)^1.5`` and ``N = a/(1-e² sin² φ)^0.5`` (Snyder 1987, eqs. 4-18, 4-20):
    110 574 m and 111 320 m at the equator, 111 412 m and 55 800 m at 60°.
    """
    phi = np.radians(lat)
    w = 1.0 - _WGS84_E2 * np.sin(phi) ** 2
    rad = math.pi / 180.0
    return _WGS84_A * (1.0 - _WGS84_E2) / w**1.5 * rad, _WGS84_A / np.sqrt(w) * np.cos(phi) * rad


def pixel_size_m(gbox: GeoBox) -> tuple[float, float]:
    """``(dy, dx)`` pixel size in metres: the CRS's own units on projected grids, the ellipsoidal
    lengths at the grid's centre latitude on geographic grids (an approximation away from it).
    """
    crs = _pyproj_crs(gbox)
    ry, rx = abs(gbox.resolution.y), abs(gbox.resolution.x)
    if crs.is_geographic:
        m_lat, m_lon = metres_per_degree((gbox.boundingbox.bottom + gbox.boundingbox.top) / 2)
        return float(ry * m_lat), float(rx * m_lon)
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return ry * unit, rx * unit


def pixel_area_ha(
    gbox: GeoBox,
    *,
    chunks: Mapping[str, int] | tuple[int, int] | None = None,
) -> xr.DataArray:
    """True area of every pixel of ``gbox``, in hectares.

    Parameters
    ----------
    gbox : odc.geo.geobox.GeoBox
        Any north-up grid; geographic or projected CRS.
    chunks : dict or (int, int), optional
        Dask chunks ``{"y": cy, "x": cx}``; ``None`` returns a numpy-backed array.

    Returns
    -------
    xarray.DataArray
        ``pixel_area_ha``: float32 ``(y, x)`` on ``gbox`` (coordinates and ``spatial_ref``
        attached), units ``ha``, no nodata. Numpy: a read-only broadcast view of one row of values
        (copy before writing into it). Dask: lazy, built from a ``(y, 1)`` column, no compute.

    Examples
    --------
    >>> from agromap.testing import make_geobox
    >>> round(float(pixel_area_ha(make_geobox((2, 2), res=10.0))[0, 0]), 6)  # 10 m UTM pixel
    0.01
    >>> round(float(pixel_area_ha(make_geobox((1, 1), crs="EPSG:4326", res=0.001, origin=(0, 60.001)))[0, 0]), 4)
    0.6217
    """
    rows = (row_area_m2(gbox) / _M2_PER_HA).astype(np.float32)
    shape = (int(gbox.shape[0]), int(gbox.shape[1]))
    data: Any
    if chunks is None:
        data = np.broadcast_to(rows[:, None], shape)
    else:
        cy, cx = (chunks["y"], chunks["x"]) if isinstance(chunks, Mapping) else chunks
        col = da.from_array(rows[:, None], chunks=(cy, 1))
        data = da.broadcast_to(col, shape, chunks=(cy, cx))
    out = xr.DataArray(data, dims=("y", "x"), name="pixel_area_ha", attrs={
        "units": "ha",
        "long_name": "true pixel area",
        "area_method": "ellipsoidal (geographic grid)" if _pyproj_crs(gbox).is_geographic else
        "nominal map area (projected grid)",
    })
    return attach_geobox(out, gbox)


def pixel_area_like(arr: xr.DataArray) -> xr.DataArray:
    """:func:`pixel_area_ha` on ``arr``'s grid with ``arr``'s ``(y, x)`` chunks (lazy if ``arr`` is)."""
    gbox = geobox_of(arr)
    if arr.chunks is None:
        return pixel_area_ha(gbox)
    sizes = dict(zip(arr.dims, arr.chunks))
    out = pixel_area_ha(gbox, chunks={"y": sizes["y"][0], "x": sizes["x"][0]})
    out = out.chunk({"y": sizes["y"], "x": sizes["x"]})
    return out


def mapped_area_ha(
    class_map: xr.DataArray,
    classes: Sequence[int],
    *,
    nodata: int | None = 255,
) -> xr.DataArray:
    """Mapped area of each class value, in hectares, from true pixel areas (lazy).

    Parameters
    ----------
    class_map : xarray.DataArray
        ``(y, x)`` integer class map with a GeoBox, numpy or dask.
    classes : sequence of int
        Class values to measure, in output order.
    nodata : int, optional
        Value never counted (it cannot be one of ``classes``).

    Returns
    -------
    xarray.DataArray
        float64 ``(class,)`` areas in ha, a 0-d-per-class reduction: lazy when ``class_map`` is
        dask-backed (compute it with the run's outputs, e.g. as ``mapped=`` for
        :func:`agromap.rice.accuracy.olofsson`).
    """
    if nodata is not None and nodata in list(classes):
        raise ValueError(f"nodata {nodata} cannot also be a class to measure ({list(classes)}).")
    area = pixel_area_like(class_map).astype(np.float64)
    parts = [area.where(class_map == v, 0.0).sum(("y", "x")) for v in classes]
    out = xr.concat(parts, dim="class").assign_coords({"class": list(classes)})
    return out.rename("mapped_area_ha").assign_attrs(units="ha")
