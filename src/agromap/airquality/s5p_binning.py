"""Sentinel-5P swath-to-grid binning: the sums per cell of one in-memory swath, and their mean.

docs/science/air_quality.md#trace-gas-gridding. :func:`bin_swath` bins one QA-filtered swath onto an
EPSG:4326 GeoBox, **area-weighted** when pixel corners exist (planar polygon-cell overlap, as HARP
``bin_spatial``), else **point in cell**, and records which in ``attrs``. The building blocks
(:func:`swath_sums`, :func:`finish_sums`) are also what :func:`agromap.airquality.s5p.grid_s5p` sums
over a day's orbits inside one task. Binning is vectorised (``np.bincount``, batched polygon
clipping), never a Python loop over pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from ..errors import ConfigError, EmptySwathError, S5PLayoutError
from ..io.grid import attach_geobox, crs_of
from ..sensors.s5p import S5PProduct, product_from_attrs

__all__ = ["BinMethod", "COUNT_MAX", "TargetGrid", "target_grid", "resolve_method", "swath_sums", "finish_sums",
           "grid_dataset", "bin_swath"]

BinMethod = Literal["auto", "area", "point"]
COUNT_MAX = 65534
"""Largest stored observation count: uint16 65535 is the nodata of ``obs_count``."""
_MIN_OVERLAP = 1e-3
"""Overlaps below 0.1 % of a cell are ignored: float32 corners make slivers of ~1e-5 cell along shared edges."""


@dataclass(frozen=True)
class TargetGrid:
    """The target grid as plain numbers, for tasks: affine (a, b, c, d, e, f) and (ny, nx)."""

    affine: tuple[float, float, float, float, float, float]
    shape: tuple[int, int]


def target_grid(gbox: GeoBox) -> TargetGrid:
    """``gbox`` as a :class:`TargetGrid`, checked: geographic CRS and no rotation.

    Raises
    ------
    ConfigError
        The grid is projected or rotated.
    """
    if not crs_of(gbox).geographic:
        raise ConfigError(f"S5P swaths are binned on a geographic grid, got {gbox.crs}; build an EPSG:4326 GeoBox "
                          "(GeoBox.from_bbox(bbox, 'EPSG:4326', resolution=0.05)) and reproject the result later "
                          "with agromap.io.grid.to_grid.")
    a, b, c, d, e, f = tuple(gbox.affine)[:6]
    if b != 0 or d != 0:
        raise ConfigError("the S5P grid must be axis-aligned (no rotation); use GeoBox.from_bbox.")
    return TargetGrid((a, b, c, d, e, f), (int(gbox.shape.y), int(gbox.shape.x)))


def _to_pixel(lon: np.ndarray, lat: np.ndarray, g: TargetGrid) -> tuple[np.ndarray, np.ndarray]:
    a, _, c, _, e, f = g.affine
    return (lon.astype(np.float64) - c) / a, (lat.astype(np.float64) - f) / e


def _bin_point(col: np.ndarray, row: np.ndarray, v: np.ndarray, g: TargetGrid) -> tuple[np.ndarray, ...]:
    """Sums per cell of pixel centres: (sum of values, weight = count, count), flat float64."""
    ny, nx = g.shape
    ix, iy = np.floor(col), np.floor(row)
    ok = np.isfinite(v) & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    idx = (iy[ok] * nx + ix[ok]).astype(np.int64)
    cnt = np.bincount(idx, minlength=ny * nx).astype(np.float64)
    return np.bincount(idx, weights=v[ok].astype(np.float64), minlength=ny * nx), cnt, cnt


def _clip_halfplane(x: np.ndarray, y: np.ndarray, axis: int, bound: float, keep_ge: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Sutherland-Hodgman against one half-plane, for P polygons at once.

    Polygons are (P, M) vertex arrays padded by repeating the last vertex, so the wrap edge
    closes each polygon and duplicates add no area. Each vertex yields itself (if inside) and an
    intersection (if its edge crosses); valid slots are compacted to the front.
    """
    s = x if axis == 0 else y
    d = s - bound if keep_ge else bound - s
    inside = d >= 0
    xn, yn, dn = np.roll(x, -1, 1), np.roll(y, -1, 1), np.roll(d, -1, 1)
    cross = inside != np.roll(inside, -1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(cross, d / (d - dn), 0.0)
    xi, yi = x + t * (xn - x), y + t * (yn - y)
    if axis == 0:
        xi = np.where(cross, bound, xi)
    else:
        yi = np.where(cross, bound, yi)
    p, m = x.shape
    xs, ys = np.stack([x, xi], 2).reshape(p, 2 * m), np.stack([y, yi], 2).reshape(p, 2 * m)
    valid = np.stack([inside, cross], 2).reshape(p, 2 * m)
    order = np.argsort(~valid, axis=1, kind="stable")
    xs, ys = np.take_along_axis(xs, order, 1), np.take_along_axis(ys, order, 1)
    cnt = valid.sum(1)
    width = max(int(cnt.max()) if cnt.size else 1, 1)
    xs, ys = xs[:, :width], ys[:, :width]
    last = np.maximum(cnt - 1, 0)[:, None]
    pad = np.arange(width)[None, :] >= cnt[:, None]
    xs = np.where(pad, np.take_along_axis(xs, last, 1), xs)
    ys = np.where(pad, np.take_along_axis(ys, last, 1), ys)
    xs[cnt == 0], ys[cnt == 0] = 0.0, 0.0
    return xs, ys


def _polygon_area(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs((x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y).sum(1))


def _bin_area(colc: np.ndarray, rowc: np.ndarray, v: np.ndarray, g: TargetGrid, batch: int = 131_072
              ) -> tuple[np.ndarray, ...]:
    """Area-weighted sums per cell; weight = overlap area in cell units (a full cell = 1)."""
    ny, nx = g.shape
    n = ny * nx
    sum_v, sum_w, cnt = np.zeros(n), np.zeros(n), np.zeros(n)
    ok = np.isfinite(v) & np.isfinite(colc).all(1) & np.isfinite(rowc).all(1)
    colc, rowc, v = colc[ok], rowc[ok], v[ok].astype(np.float64)
    x0 = np.maximum(np.floor(colc.min(1)), 0).astype(np.int64)
    x1 = np.minimum(np.floor(colc.max(1)), nx - 1).astype(np.int64)
    y0 = np.maximum(np.floor(rowc.min(1)), 0).astype(np.int64)
    y1 = np.minimum(np.floor(rowc.max(1)), ny - 1).astype(np.int64)
    wx, wy = np.maximum(x1 - x0 + 1, 0), np.maximum(y1 - y0 + 1, 0)
    ncand = wx * wy
    # Batches of pixels bound the memory of the (pixel, candidate cell) pairs; no per-pixel loop.
    cs = np.cumsum(ncand)
    cuts = np.searchsorted(cs, np.arange(batch, int(cs[-1]) if cs.size else 0, batch), side="right")
    edges = np.unique(np.concatenate([[0], cuts, [len(v)]]))
    for s0, s1 in zip(edges[:-1], edges[1:], strict=True):
        k = ncand[s0:s1]
        if k.sum() == 0:
            continue
        pix = np.repeat(np.arange(s0, s1), k)
        off = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
        cx, cy = x0[pix] + off % wx[pix], y0[pix] + off // wx[pix]
        px, py = colc[pix] - cx[:, None], rowc[pix] - cy[:, None]
        for axis, bound, ge in ((0, 0.0, True), (0, 1.0, False), (1, 0.0, True), (1, 1.0, False)):
            px, py = _clip_halfplane(px, py, axis, bound, ge)
        area = _polygon_area(px, py)
        hit = area >= _MIN_OVERLAP
        idx = (cy * nx + cx)[hit]
        sum_v += np.bincount(idx, weights=area[hit] * v[pix[hit]], minlength=n)
        sum_w += np.bincount(idx, weights=area[hit], minlength=n)
        cnt += np.bincount(idx, minlength=n)
    return sum_v, sum_w, cnt


def swath_sums(swath: xr.Dataset, g: TargetGrid, method: Literal["area", "point"]) -> tuple[np.ndarray, ...]:
    """Flat float64 sums per cell of one swath: (sum of weight x value, sum of weights, pixel count).

    Sums of several swaths add up, so a day's orbits are merged by adding their sums before
    :func:`finish_sums`. ``method`` is ``"area"`` (needs ``latitude_bounds``/``longitude_bounds``)
    or ``"point"``; NaN values (rejected by QA) add nothing.
    """
    v = swath["value"].values.ravel()
    if method == "area":
        lonb = swath["longitude_bounds"].values.reshape(-1, 4).astype(np.float64)
        # Pixels across the antimeridian (corner span > 180 deg) are dropped: grids over India never touch it.
        v = np.where(np.ptp(lonb, axis=1) > 180.0, np.nan, v)
        colc, rowc = _to_pixel(lonb, swath["latitude_bounds"].values.reshape(-1, 4), g)
        return _bin_area(colc, rowc, v, g)
    col, row = _to_pixel(swath["longitude"].values.ravel(), swath["latitude"].values.ravel(), g)
    return _bin_point(col, row, v, g)


def resolve_method(method: BinMethod, has_bounds: bool) -> Literal["area", "point"]:
    """The binning actually used: ``auto`` is ``area`` when the swaths have corners, else ``point``.

    Raises
    ------
    S5PLayoutError
        ``area`` was asked for swaths without corners.
    ConfigError
        ``method`` is none of ``auto``, ``area``, ``point``.
    """
    if method == "area" and not has_bounds:
        raise S5PLayoutError("method='area' needs pixel corners (PRODUCT/SUPPORT_DATA/GEOLOCATIONS/"
                             "latitude_bounds, longitude_bounds), which this file lacks; use method='point'.")
    if method not in ("auto", "area", "point"):
        raise ConfigError(f"method {method!r} is not 'auto', 'area' or 'point'.")
    return "area" if method == "area" or (method == "auto" and has_bounds) else "point"


def finish_sums(sum_v: np.ndarray, sum_w: np.ndarray, cnt: np.ndarray, g: TargetGrid) -> np.ndarray:
    """(3, ny, nx) float32: mean (NaN without data), weight, count."""
    mean = np.full(sum_v.shape, np.nan)
    np.divide(sum_v, sum_w, out=mean, where=sum_w > 0)
    return np.stack([mean, sum_w, np.minimum(cnt, COUNT_MAX)]).reshape(3, *g.shape).astype(np.float32)


def bin_swath(swath: xr.Dataset, geobox: GeoBox, method: BinMethod = "auto") -> xr.Dataset:
    """Bin one QA-filtered swath onto ``geobox`` (eager numpy; the swath already is in memory).

    Parameters
    ----------
    swath : xarray.Dataset
        From :func:`agromap.airquality.s5p.qa_filter` (NaN ``value`` = rejected).
    geobox : GeoBox
        EPSG:4326, axis-aligned.
    method : {"auto", "area", "point"}
        ``area``: mean weighted by the planar overlap of each pixel's corner polygon with the cell;
        ``point``: mean of the pixels whose centre falls in the cell; ``auto``: area when corners exist.
        Overlaps under 0.1 % of a cell are ignored (slivers from float32 corner coordinates).

    Returns
    -------
    xarray.Dataset
        ``(y, x)`` on ``geobox``: the band (``co``, ``no2``...) float32 in the product unit, NaN where no
        pixel; ``weight`` float32 (overlap in cell units, or the pixel count for ``point``);
        ``count`` uint16 (pixels touching the cell).

    Raises
    ------
    EmptySwathError
        No pixel survives QA, or none falls on the grid.
    """
    g = target_grid(geobox)
    how = resolve_method(method, "longitude_bounds" in swath)
    n_kept = int(np.isfinite(swath["value"].values).sum())
    if n_kept == 0:
        raise EmptySwathError(f"{swath.attrs.get('source', 'swath')}: no pixel left after QA filtering "
                              f"({swath.attrs.get('QA_FILTER', 'qa filter')}, {swath['value'].size} pixels); "
                              "the scene is cloudy or the threshold too strict.")
    sum_v, sum_w, cnt = swath_sums(swath, g, how)
    out = finish_sums(sum_v, sum_w, cnt, g)
    if not (out[2] > 0).any():
        raise EmptySwathError(f"{swath.attrs.get('source', 'swath')}: {n_kept} valid pixels but none on the grid "
                              f"{tuple(round(b, 4) for b in geobox.boundingbox)}; check the grid bounds.")
    return grid_dataset(out, product_from_attrs(swath.attrs), geobox, how, swath.attrs)


def grid_dataset(stack: Any, prod: S5PProduct, gbox: GeoBox, how: str, extra: Mapping[str, Any],
                 times: Sequence[np.datetime64] | None = None) -> xr.Dataset:
    """The gridded dataset of :func:`bin_swath` and :func:`~agromap.airquality.s5p.grid_s5p`.

    Parameters
    ----------
    stack : array
        ``(3, ny, nx)`` or ``(3, time, ny, nx)`` (numpy or dask): mean, weight, count.
    prod : S5PProduct
        Names the band and gives its unit.
    gbox : GeoBox
        The grid the stack is on.
    how : str
        The binning used, recorded as ``bin_method``.
    extra : mapping
        ``QA_FILTER``, ``qa_threshold`` and ``source`` are copied into ``attrs`` when present.
    times : sequence of datetime64, optional
        One per day for a ``(time, y, x)`` result.
    """
    dims = ("y", "x") if times is None else ("time", "y", "x")
    coords = {} if times is None else {"time": np.asarray(times, dtype="datetime64[ns]")}
    attrs = {"units": prod.units, "product": prod.product_type, "variable": prod.variable, "layer": prod.layer,
             "bin_method": how, "note": prod.note}
    attrs.update({k: extra[k] for k in ("QA_FILTER", "qa_threshold", "source") if k in extra})
    ds = xr.Dataset({
        prod.band: xr.DataArray(stack[0], dims=dims, coords=coords, attrs=attrs),
        "weight": xr.DataArray(stack[1], dims=dims, coords=coords, attrs={
            "units": "1", "long_name": "sum of overlap weights (cell units)" if how == "area" else "pixel count"}),
        "count": xr.DataArray(stack[2].astype(np.uint16), dims=dims, coords=coords,
                              attrs={"units": "1", "long_name": "valid observations", "nodata": 65535}),
    }, attrs=attrs)
    return attach_geobox(ds, gbox)  # type: ignore[arg-type,return-value]
