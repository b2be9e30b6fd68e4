"""Mixed pixels at field edges for the Sentinel-1 rice rule: a paddy's share of a pixel from its neighbours.

A 10 m pixel on a field border sees both fields, and in linear power the brighter one dominates:
a paddy pixel whose footprint takes 30 % of a village (-8 dB) or of an orchard (-12 dB) floods to
only -13 to -17 dB, so its own series fails the rule's depth and rise however well it is
filtered. Its series is still, date by date, a *mixture* of its neighbours' series (the linear
mixture model of sub-pixel cover, here over dates instead of bands, with the endmembers taken
from the neighbours: Settle & Campbell 1998; Settle 2006):
``x_p(t) ~ a x_q(t) + (1 - a) x_o(t)`` with ``q`` a neighbour on one side and ``o`` the
neighbour on the opposite side. When ``q`` is a paddy the rule is confident of, ``a`` is the
paddy's share of the pixel; the map's truth is the field under the pixel centre, which holds
more than half of it, so ``a >= min_fraction`` (0.5) makes the pixel rice.

Per pixel and for each of the four axes through it (row, column, both diagonals, each read both
ways) the least-squares ``a`` is ``<x_p - x_o, x_q - x_o> / |x_q - x_o|^2`` over the dates all
three observe. The mixture must reproduce the pixel's series in dB to within ``max_rms_db``
(a dryland crop between a paddy and a village lies between their levels too, but its season
does not follow the paddy's flood). The pixel takes the seasons (count and transplanting days) of
the paddy that explains it best, a score ``min(q's score, logistic(margin))`` and the SAR QA bit.

The other way (``other_score``): a pixel the rule maps rice whose series is a paddy neighbour's for
less than ``min_fraction``, the rest an open-water neighbour's (a pond, a water body), is that
neighbour's: in linear power the paddy's canopy dominates such a pixel, and it passes the rule.
It leaves the map with no seasons and a score ``min(its score, logistic(-margin))``.

Lazy: one halo of one pixel around each block (:func:`dask.array.overlap.overlap`), so the result
does not depend on the chunking.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import numpy.typing as npt
import xarray as xr

from .seasons import QA_SAR, logistic

__all__ = ["unmix_edges", "mixed_share"]

_F32 = np.float32
#: The four axes through a pixel, each read both ways: (dy, dx) of the paddy neighbour q; o is opposite.
_DIRS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1))
_MIN_DATES = 10  # dates all three pixels must observe for a share to mean anything
_SHARE_SCALE = 0.1  # share per logistic unit of the mixed-pixel score
_RMS_SCALE = 0.25  # dB of misfit per logistic unit


def mixed_share(lin: npt.NDArray[Any], score: npt.NDArray[Any], *, source_score: float, max_rms_db: float,
                todo: npt.NDArray[np.bool_] | None = None, other_score: float | None = None,
                water_db: float = -20.0, water_share: float = 0.5,
                ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.intp]]:
    """Best paddy share of each pixel from its neighbours, on a block with a halo of one pixel.

    Parameters
    ----------
    lin : numpy.ndarray
        ``(time, y + 2, x + 2)`` linear power, NaN = no data (outside the image too).
    score : numpy.ndarray
        ``(y + 2, x + 2)`` the rule's score of each pixel (NaN = none).
    source_score : float
        A neighbour serves as the paddy ``q`` when its score is at least this.
    max_rms_db : float
        The mixture must match the pixel's series to this RMS, dB.
    todo : numpy.ndarray of bool, optional
        ``(y, x)``: the pixels to unmix (default: all); the others get no share. Only pixels with
        a confident neighbour are ever computed.
    other_score : float, optional
        When given, the opposite neighbour ``o`` must score at most this (a confident non-rice
        field) and read below ``water_db`` on at least ``water_share`` of the common dates (a
        pond or a water body): the share then says how much of a pixel the rule maps rice is
        its paddy neighbour's, against open water.

    Returns
    -------
    share, rms, direction : numpy.ndarray
        ``(y, x)``: the share ``a`` of the best-fitting (lowest-RMS) admissible paddy neighbour
        (NaN when none: no confident neighbour, too few common dates, or a misfit above
        ``max_rms_db``), its misfit in dB, and the index of its direction in ``_DIRS``
        (-1 when none).
    """
    lin = np.asarray(lin, dtype=_F32)
    sc = np.nan_to_num(np.asarray(score, dtype=_F32), nan=0.0)
    _, h2, w2 = lin.shape
    h, w = h2 - 2, w2 - 2
    source = sc >= _F32(source_score)
    near = np.zeros((h, w), dtype=bool)
    for dy, dx in _DIRS:
        near |= source[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
    if todo is not None:
        near &= todo
    # Only the pixels beside a confident paddy: a gather keeps the cost off the rest of the block.
    ys, xs = np.nonzero(near)
    best_share = np.full((h, w), np.nan, dtype=_F32)
    best_rms_out = np.full((h, w), np.nan, dtype=_F32)
    best_dir = np.full((h, w), -1, dtype=np.intp)
    if ys.size == 0:
        return best_share, best_rms_out, best_dir
    x = lin[:, ys + 1, xs + 1]
    share = np.full(ys.size, np.nan, dtype=_F32)
    best_rms = np.full(ys.size, np.inf, dtype=_F32)
    direction = np.full(ys.size, -1, dtype=np.intp)
    with np.errstate(invalid="ignore", divide="ignore"):
        db_x = _F32(10.0) * np.log10(x)
        for k, (dy, dx) in enumerate(_DIRS):
            q = lin[:, ys + 1 + dy, xs + 1 + dx]
            o = lin[:, ys + 1 - dy, xs + 1 - dx]
            ok = np.isfinite(q) & np.isfinite(o) & np.isfinite(x) & (q > 0) & (o > 0) & (x > 0)
            n = ok.sum(axis=0)
            d = np.where(ok, q - o, _F32(0.0))
            e = np.where(ok, x - o, _F32(0.0))
            a = (d * e).sum(axis=0) / np.maximum((d * d).sum(axis=0), _F32(1e-30))
            ac = np.clip(a, _F32(0.0), _F32(1.0))
            mix = np.where(ok, ac[None] * q + (_F32(1.0) - ac[None]) * o, _F32(1.0))
            miss = np.where(ok, _F32(10.0) * np.log10(np.maximum(mix, _F32(1e-12))) - db_x, _F32(0.0))
            rms = np.sqrt((miss * miss).sum(axis=0) / np.maximum(n, 1).astype(_F32))
            good = source[ys + 1 + dy, xs + 1 + dx] & (n >= _MIN_DATES) & (rms <= _F32(max_rms_db)) \
                & (rms < best_rms)
            if other_score is not None:
                # Open water hides under a paddy's canopy in linear power; beside a brighter field
                # (trees, a village, fallow soil) a pixel that passes the rule is mostly paddy, and
                # the share read against soil that matches the paddy for months is biased low.
                wet = (np.where(ok, o, _F32(np.inf)) < _F32(10.0 ** (water_db / 10.0))).sum(axis=0)
                good &= (sc[ys + 1 - dy, xs + 1 - dx] <= _F32(other_score)) & (wet >= _F32(water_share) * n)
            share = np.where(good, a, share).astype(_F32)
            best_rms = np.where(good, rms, best_rms).astype(_F32)
            direction = np.where(good, k, direction)
    best_share[ys, xs] = share
    best_rms_out[ys, xs] = np.where(np.isfinite(best_rms), best_rms, _F32(np.nan))
    best_dir[ys, xs] = direction
    return best_share, best_rms_out, best_dir


def _unmix_block(lin: npt.NDArray[Any], packed: npt.NDArray[Any], *, n_slots: int, min_fraction: float,
                 source_score: float, max_rms_db: float, other_score: float | None = None,
                 other_source: float = 0.7, other_rms_db: float = 2.0, water_db: float = -20.0,
                 water_share: float = 0.5) -> npt.NDArray[np.float32]:
    """Packed outputs ``(class, n_seasons, slots..., score, qa)`` of a block's interior, edges taken in
    (and, with ``other_score``, given out).
    """
    cls, nse, slots, score = packed[0], packed[1], packed[2:2 + n_slots], packed[2 + n_slots]
    inner = (slice(1, -1), slice(1, -1))
    share, rms, direction = mixed_share(lin, score, source_score=source_score, max_rms_db=max_rms_db,
                                        todo=cls[inner] == 0)
    with np.errstate(invalid="ignore"):
        margin = np.minimum((share - _F32(min_fraction)) / _F32(_SHARE_SCALE),
                            (_F32(max_rms_db) - rms) / _F32(_RMS_SCALE))
        take = (cls[inner] == 0) & (direction >= 0) & (margin >= 0)
    out = packed[:, 1:-1, 1:-1].copy()
    if other_score is not None:
        # The same reading the other way: a pixel the rule maps rice whose series is a paddy
        # neighbour's for less than min_fraction, the rest a confident non-rice neighbour's (a pond
        # or a wetland whose edge pixel inherits the paddy's canopy), is the other field's.
        share_o, rms_o, dir_o = mixed_share(lin, score, source_score=other_source, max_rms_db=other_rms_db,
                                            todo=cls[inner] == 1, other_score=other_score,
                                            water_db=water_db, water_share=water_share)
        with np.errstate(invalid="ignore"):
            margin_o = np.minimum((_F32(min_fraction) - share_o) / _F32(_SHARE_SCALE),
                                  (_F32(other_rms_db) - rms_o) / _F32(_RMS_SCALE))
            give = (cls[inner] == 1) & (dir_o >= 0) & (margin_o > 0)
        out[0] = np.where(give, _F32(0.0), out[0])
        out[1] = np.where(give, _F32(0.0), out[1])
        out[2:2 + n_slots] = np.where(give[None], _F32(0.0), out[2:2 + n_slots])
        out[2 + n_slots] = np.where(give, np.minimum(out[2 + n_slots], logistic(-margin_o)), out[2 + n_slots])
        # the QA bit says the SAR rule mapped the pixel rice, which it no longer does
        out[3 + n_slots] = np.where(give, np.bitwise_and(np.nan_to_num(out[3 + n_slots]).astype(np.uint8),
                                                         np.uint8(~QA_SAR & 0xFF)), out[3 + n_slots])
    for k, (dy, dx) in enumerate(_DIRS):
        sel = take & (direction == k)
        if not sel.any():
            continue
        src = (slice(1 + dy, 1 + dy + sel.shape[0]), slice(1 + dx, 1 + dx + sel.shape[1]))
        out[1][sel] = nse[src][sel]
        for s in range(n_slots):
            out[2 + s][sel] = slots[s][src][sel]
        out[2 + n_slots][sel] = np.minimum(score[src][sel], logistic(margin[sel]))
    out[0] = np.where(take, _F32(1.0), out[0])
    out[3 + n_slots] = np.where(take, np.bitwise_or(np.nan_to_num(out[3 + n_slots]).astype(np.uint8), QA_SAR),
                                out[3 + n_slots])
    return out.astype(_F32)


def unmix_edges(ds: xr.Dataset, lin: xr.DataArray, *, min_fraction: float, source_score: float,
                max_rms_db: float, other_score: float | None = None, other_source: float = 0.7,
                other_rms_db: float = 2.0, water_db: float = -20.0, water_share: float = 0.5) -> xr.Dataset:
    """The rule's output with the mixed paddy pixels at field edges taken in (lazy for dask input).

    Parameters
    ----------
    ds : xarray.Dataset
        The SAR rule's output on ``(y, x)`` (``rice_class``, ``n_seasons``, ``transplant_doy``
        ``(season, y, x)``, ``rice_score``, ``qa_flags`` and the counts, unchanged).
    lin : xarray.DataArray
        The ``(time, y, x)`` linear power the rule read (time sorted, in one chunk).
    min_fraction, source_score, max_rms_db : float
        See :class:`agromap.rice.rules_sar.SarRiceParams` (``mixed_min_fraction``,
        ``mixed_source_score``, ``mixed_max_rms_db``).
    other_score, other_source, other_rms_db, water_db, water_share : float
        The reading the other way, a pond's edge under a paddy's canopy (``None``: off); see
        ``SarRiceParams`` (``mixed_other_score``, ``mixed_other_source_score``,
        ``mixed_other_rms_db``, ``water_db``, ``max_water_share``).

    Returns
    -------
    xarray.Dataset
        ``ds`` with ``rice_class``, ``n_seasons``, ``transplant_doy``, ``rice_score`` and
        ``qa_flags`` changed where a non-rice pixel's series is a paddy neighbour's for at
        least ``min_fraction`` of it, and (with ``other_score``) where a rice pixel is a pond's
        edge (class 0, no seasons, the SAR bit cleared); dtypes, dims, chunks and attributes kept.
    """
    n_slots = int(ds.sizes["season"])
    parts = [ds["rice_class"], ds["n_seasons"], *[ds["transplant_doy"].isel(season=s) for s in range(n_slots)],
             ds["rice_score"], ds["qa_flags"]]
    stack = xr.concat([p.transpose("y", "x").astype(_F32) for p in parts], dim="_out", coords="minimal",
                      compat="override", join="override")
    series = lin.transpose("time", "y", "x").astype(_F32)
    lazy = isinstance(stack.data, da.Array) or isinstance(series.data, da.Array)
    kw: dict[str, Any] = {"n_slots": n_slots, "min_fraction": min_fraction, "source_score": source_score,
                          "max_rms_db": max_rms_db, "other_score": other_score, "other_source": other_source,
                          "other_rms_db": other_rms_db, "water_db": water_db, "water_share": water_share}
    if lazy:
        packed = stack.data if isinstance(stack.data, da.Array) else da.from_array(stack.data, chunks=(-1, -1, -1))
        packed = packed.rechunk({0: -1})
        s = series.data if isinstance(series.data, da.Array) else da.from_array(series.data)
        s = s.rechunk({0: -1, 1: packed.chunks[1], 2: packed.chunks[2]})
        halo_s = da.overlap.overlap(s, depth={0: 0, 1: 1, 2: 1}, boundary={0: "none", 1: np.nan, 2: np.nan})
        halo_p = da.overlap.overlap(packed, depth={0: 0, 1: 1, 2: 1}, boundary={0: "none", 1: np.nan, 2: np.nan})
        res: Any = da.map_blocks(_unmix_block, halo_s, halo_p, chunks=packed.chunks, dtype=_F32,
                                 meta=np.empty((0, 0, 0), dtype=_F32), **kw)
    else:
        pad = ((0, 0), (1, 1), (1, 1))
        res = _unmix_block(np.pad(np.asarray(series.data), pad, constant_values=np.nan),
                           np.pad(np.asarray(stack.data), pad, constant_values=np.nan), **kw)
    out = ds.copy()
    for name, first, count in (("rice_class", 0, 0), ("n_seasons", 1, 0), ("transplant_doy", 2, n_slots),
                               ("rice_score", 2 + n_slots, 0), ("qa_flags", 3 + n_slots, 0)):
        var = ds[name]
        if count:  # the season axis
            new = xr.DataArray(res[first:first + count], dims=("season", "y", "x"))
        else:
            new = xr.DataArray(res[first], dims=("y", "x"))
        out[name] = var.copy(data=new.astype(var.dtype).transpose(*var.dims).data)
    return out
