"""How closely a pixel's NDVI series follows its neighbours', for the self-trained map's label steps.

:func:`ndvi_rms_to` (the field-edge rescue of :func:`~agromap.rice.self_train_labels.edge_ndvi_rms`)
and :func:`ndvi_close_neighbours` (the cut field's edges of
:func:`~agromap.rice.self_train_ends.cut_field_edge`) compare each pixel with the pixels of a square
window around it over the dates clear in both. Each is one ``map_overlap`` of a numpy kernel that
walks the window's offsets inside the block and its halo: a few graph layers whatever the window,
where an xarray expression per offset (a shift, a difference, two sums, a mask) added about six
layers per offset, each as many tasks as the raster has blocks.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.array.overlap import ensure_minimum_chunksize
from dask.base import is_dask_collection

from .self_train_clear import clear_indices

__all__ = ["any_within", "in_blocks_of", "ndvi_close_neighbours", "ndvi_rms_to", "neighbour_kernel"]


def ndvi_rms_to(optical: xr.Dataset, source: xr.DataArray, radius: int, min_common: int,
                params: Any = None) -> xr.DataArray:  # fmt: skip
    """Per pixel, the root mean square NDVI difference, over the dates clear in both pixels (clear as
    the optical rule with ``params`` sees them, :func:`~agromap.rice.self_train_clear.clear_indices`),
    between the pixel and each pixel of ``source`` (boolean ``(y, x)``) within ``radius`` pixels (a
    square window, the pixel itself left out); the smallest over those neighbours (lazy, float32).
    NaN where no such neighbour shares at least ``min_common`` clear dates with it.
    """
    return _neighbours(optical, source, radius, min_common, None, params).rename("ndvi_rms")


def ndvi_close_neighbours(optical: xr.Dataset, source: xr.DataArray, radius: int, min_common: int,
                          max_rms: float, params: Any = None) -> xr.DataArray:  # fmt: skip
    """Per pixel, how many pixels of ``source`` within ``radius`` pixels lie within ``max_rms`` of its
    NDVI series (:func:`ndvi_rms_to`'s difference; lazy, int16).
    """
    return _neighbours(optical, source, radius, min_common, max_rms, params).rename("ndvi_close_neighbours")


def in_blocks_of(out: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """``out`` (a square-window result over ``like``) in the blocks of ``like`` (unchanged when not dask).

    xarray's centred ``rolling`` on dask moves the block edges by the window's half; every array
    combined with it afterwards takes the union of both sets of edges, blocks of one or two pixels
    that multiply the tasks of every later step (19 x 19 blocks for 4 x 4 on a fused run).
    """
    if like.chunks is None or out.chunks == like.chunks:
        return out
    return out.copy(data=out.data.rechunk(like.chunks))  # the data only: coordinates stay as they are


def neighbour_kernel(v: np.ndarray, source: np.ndarray, *, halo: tuple[int, int], radius: int, min_common: int,
                     max_rms: float | None) -> np.ndarray:  # fmt: skip
    """The per-pixel result of :func:`ndvi_rms_to` (``max_rms`` ``None``) or :func:`ndvi_close_neighbours`
    on one block: ``v`` the ``(time, y, x)`` NDVI with NaN on the dates not clear and ``source`` the
    ``(y, x)`` boolean, both with ``halo`` pixels (rows, columns) of the raster around the block (NaN
    and False beyond its edges); returns the block without its halo.

    The neighbour at offset ``(dy, dx)`` of pixel ``(y, x)`` is pixel ``(y - dy, x - dx)``; offsets
    beyond the halo lie outside the raster (the halo is the radius, or the raster's size less one).
    The sums run over time in date order in the inputs' float type, the root in float64, as the
    xarray expression this replaced did, so that the values are the same to the last bit.
    """
    hy, hx = halo
    ny, nx = v.shape[1] - 2 * hy, v.shape[2] - 2 * hx
    centre = v[:, hy : hy + ny, hx : hx + nx]
    best = np.full((ny, nx), np.nan)
    count = np.zeros((ny, nx), dtype=np.int16)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if (dy == 0 and dx == 0) or abs(dy) > hy or abs(dx) > hx:
                continue
            rows, cols = slice(hy - dy, hy - dy + ny), slice(hx - dx, hx - dx + nx)
            d2 = (centre - v[:, rows, cols]) ** 2
            n = np.count_nonzero(~np.isnan(d2), axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                rms = np.sqrt(np.nansum(d2, axis=0) / np.where(n > 0, n, np.nan))
            rms = np.where(source[rows, cols] & (n >= min_common), rms, np.nan)
            if max_rms is None:
                best = np.fmin(best, rms)
            else:
                with np.errstate(invalid="ignore"):
                    count += (rms <= np.float32(max_rms)).astype(np.int16)
    return best.astype(np.float32) if max_rms is None else count


def _neighbours(optical: xr.Dataset, source: xr.DataArray, radius: int, min_common: int, max_rms: float | None,
                params: Any) -> xr.DataArray:  # fmt: skip
    ok, ndvi, _ = clear_indices(optical, params)
    v = ndvi.where(ok).transpose("time", "y", "x")
    src = source.transpose("y", "x")
    halo = (min(radius, v.sizes["y"] - 1), min(radius, v.sizes["x"] - 1))
    kw: dict[str, Any] = {"halo": halo, "radius": radius, "min_common": min_common, "max_rms": max_rms}
    dtype = np.float32 if max_rms is None else np.int16
    if is_dask_collection(v.data) or is_dask_collection(src.data):
        vd = da.asarray(v.data)
        # the kernel reads whole series, and a halo no wider than the blocks it comes from
        yx = tuple(ensure_minimum_chunksize(h, c) if h else c for h, c in zip(halo, vd.chunks[1:]))
        vd = vd.rechunk((-1, *yx))
        sd = da.asarray(src.data).rechunk(yx)
        # trim=False: the kernel returns each block without its halo
        out = da.map_overlap(neighbour_kernel, vd, sd, depth=[{0: 0, 1: halo[0], 2: halo[1]}, {0: halo[0], 1: halo[1]}],
                             boundary=[np.nan, False], trim=False, drop_axis=0, chunks=yx, dtype=dtype,
                             meta=np.empty((0, 0), dtype=dtype), **kw)  # fmt: skip
    else:
        pad = ((halo[0], halo[0]), (halo[1], halo[1]))
        out = neighbour_kernel(np.pad(np.asarray(v.data), ((0, 0), *pad), constant_values=np.nan),
                               np.pad(np.asarray(src.data, dtype=bool), pad, constant_values=False), **kw)  # fmt: skip
    return xr.zeros_like(src, dtype=dtype).copy(data=out).transpose(*source.dims)


def any_within(mask: xr.DataArray, radius: int) -> xr.DataArray:
    """Per pixel, whether ``mask`` (boolean ``(y, x)``) holds anywhere within ``radius`` pixels (a square
    window, clipped at the raster's edges; lazy, in the blocks of ``mask``).

    The same as a centred ``rolling(...).max()`` with ``min_periods=1`` of the mask as 0/1 ``> 0``, in
    one ``map_overlap`` layer and its halo exchange: the rolling window on dask was about 20 layers
    (and moved the block edges, :func:`in_blocks_of`).
    """
    m = mask.transpose("y", "x")
    halo = (min(radius, m.sizes["y"] - 1), min(radius, m.sizes["x"] - 1))
    if is_dask_collection(m.data):
        md = da.asarray(m.data)
        yx = tuple(ensure_minimum_chunksize(h, c) if h else c for h, c in zip(halo, md.chunks))
        # trim=False: the kernel returns each block without its halo; False beyond the raster's edges
        out = da.map_overlap(_any_kernel, md.rechunk(yx), depth={0: halo[0], 1: halo[1]}, boundary=False,
                             trim=False, chunks=yx, dtype=bool, meta=np.empty((0, 0), dtype=bool), halo=halo)
        out = out.rechunk(md.chunks)
    else:
        out = _any_kernel(np.pad(np.asarray(m.data, dtype=bool), [(h, h) for h in halo]), halo=halo)
    return xr.zeros_like(m, dtype=bool).copy(data=out).transpose(*mask.dims)


def _any_kernel(block: np.ndarray, *, halo: tuple[int, int]) -> np.ndarray:
    hy, hx = halo
    ny, nx = block.shape[0] - 2 * hy, block.shape[1] - 2 * hx
    out = np.zeros((ny, nx), dtype=bool)
    for dy in range(-hy, hy + 1):
        for dx in range(-hx, hx + 1):
            out |= block[hy + dy : hy + dy + ny, hx + dx : hx + dx + nx]
    return out
