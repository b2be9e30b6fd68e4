"""The fusion's per-pixel arithmetic (:func:`~agromap.rice.self_train_labels.fuse_scores`) as numpy
kernels, one graph layer each.

Written as xarray ``where`` / ``fillna`` / arithmetic chains these were about twenty graph layers, each
one task per block; the kernels apply the same operations, in the same order and the same dtypes, to
the blocks, so that their values are the same to the last bit.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import is_dask_collection

__all__ = ["fused_seasons", "fused_score", "optical_vote", "per_pixel"]


def per_pixel(kernel: Any, *arrays: xr.DataArray, dtype: Any, along_time: bool = False) -> xr.DataArray:
    """``kernel`` on the numpy blocks of ``arrays`` (with ``along_time``, their dates on the last axis,
    reduced by ``kernel``): one ``map_blocks`` layer where the arrays share their dims and blocks (and
    their dates are one block, first), else :func:`xarray.apply_ufunc` (which adds the dims' moves
    and an output layer; the values are the same).
    """
    first = arrays[0]
    dims = first.dims
    same = all(a.dims == dims and is_dask_collection(a.data) and a.chunks == first.chunks for a in arrays)
    # the layer named for the step that made it (the name's hash covers the kernel's constants)
    token = getattr(kernel, "__qualname__", "kernel").split(".")[0]
    if same and (not along_time or (dims[0] == "time" and len(first.chunks[0]) == 1)):  # type: ignore[index]
        template = first.isel(time=0, drop=True) if along_time else first
        meta = np.empty((0,) * template.ndim, dtype=dtype)
        if along_time:
            data = da.map_blocks(lambda *b: kernel(*(np.moveaxis(x, 0, -1) for x in b)), *(a.data for a in arrays),
                                 drop_axis=0, dtype=dtype, token=token, meta=meta)
        else:
            data = da.map_blocks(kernel, *(a.data for a in arrays), dtype=dtype, token=token, meta=meta)
        return xr.DataArray(data, dims=template.dims, coords=template.coords)
    core = [["time"]] * len(arrays) if along_time else None
    return xr.apply_ufunc(kernel, *arrays, input_core_dims=core, dask="parallelized", output_dtypes=[dtype])


def optical_vote(b: xr.DataArray, qa: xr.DataArray | None, drained: xr.DataArray | None,
                 persistent_score: float | None, persistent_bit: int) -> xr.DataArray:  # fmt: skip
    """The optical score ``b`` as the fusion reads it: at most ``persistent_score`` where ``qa`` has
    ``persistent_bit`` (``qa`` given), no opinion (0.5) for a rice verdict where ``drained`` is 0
    (``drained`` given). ``b`` itself when neither applies.
    """
    use_qa = persistent_score is not None and qa is not None
    if not use_qa and drained is None:
        return b
    cap, bit = np.float32(persistent_score if persistent_score is not None else 0), np.uint8(persistent_bit)

    def kernel(b: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        it = iter(rest)
        if use_qa:  # a sure vote: the radar's hesitation must not undo it
            b = np.where((next(it) & bit) > 0, np.minimum(b, cap), b).astype(np.float32)
        if drained is not None:  # never drained: a floating mat's flood and canopy, the radar decides
            with np.errstate(invalid="ignore"):
                b = np.where((b > 0.5) & (next(it) == 0), np.float32(0.5), b).astype(np.float32)
        return b

    args = [a for a, on in ((qa, use_qa), (drained, drained is not None)) if on and a is not None]
    return per_pixel(kernel, b, *args, dtype=np.float32)


def fused_score(a: xr.DataArray, b: xr.DataArray, rescued: xr.DataArray | None, wettest: xr.DataArray | None, *,
                dry_lswi: float | None, other_max: float, rice_min: float) -> xr.DataArray:  # fmt: skip
    """The mean of the SAR score ``a`` and the optical one ``b``, each standing alone where the other
    is NaN; ``b`` where ``rescued``; ``a`` where ``a <= other_max``, ``b >= rice_min``, the wettest
    clear LSWI ``wettest`` is below ``dry_lswi`` (both given) and the pixel is not ``rescued``.
    """
    use_rescue, use_dry = rescued is not None, wettest is not None and dry_lswi is not None
    bar = np.float32(dry_lswi if dry_lswi is not None else 0)

    def kernel(a: np.ndarray, b: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        it = iter(rest)
        score = ((np.where(np.isnan(a), b, a) + np.where(np.isnan(b), a, b)) / 2).astype(np.float32)
        resc = next(it) if use_rescue else np.zeros(score.shape, dtype=bool)
        if use_rescue:
            score = np.where(resc, b, score).astype(np.float32)
        if use_dry:  # SAR non-rice against optical rice where no clear date was wet: the radar decides
            with np.errstate(invalid="ignore"):
                sar_wins = (a <= other_max) & (b >= rice_min) & (next(it) < bar) & ~resc
            score = np.where(sar_wins, a, score).astype(np.float32)
        return score

    args = [x for x, on in ((rescued, use_rescue), (wettest, use_dry)) if on and x is not None]
    return per_pixel(kernel, a, b, *args, dtype=np.float32)


def fused_seasons(na: xr.DataArray, nb: xr.DataArray) -> xr.DataArray:
    """The larger of two season counts, each standing alone where the other is 255 (none)."""

    def kernel(na: np.ndarray, nb: np.ndarray) -> np.ndarray:
        return np.where(na == 255, nb, np.where(nb == 255, na, np.maximum(na, nb))).astype(np.uint8)

    return per_pixel(kernel, na, nb, dtype=np.uint8)
