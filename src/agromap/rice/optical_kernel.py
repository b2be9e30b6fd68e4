"""The optical rice rule's per-pixel computation, compiled (numba).

:func:`optical_pixels` walks the pixels of a tile, and each pixel's series in two inner loops:
the first packs its clear dates with their flood signal (:mod:`agromap.rice.optical_kernel_steps`),
the second finds the onsets, the growth confirmation of every onset, the land-cover masks, the
green-spell limit and the undated evidence (:mod:`agromap.rice.optical_kernel_terms`)
(docs/science/rice.md#optical-flooding-rule; the rule's text is in
:mod:`agromap.rice.rules_optical`, which calls this module). :func:`optical_band_pixels` does
the same from the reflectances, computing the indices and the clear-sky tests per date. Season
slots, QA bits and the score follow in :mod:`agromap.rice.seasons_kernel` (compiled too; the
score's logistic in numpy).

Why compiled: the rule's steps are short loops over a dozen to a few dozen dates with state
carried from date to date (the last clear date, the current flooded spell, the widest gap), so
as whole-array numpy operations every step allocates and walks the tile's pixels again; the
rule cost ten times the decoding of its inputs. Per pixel, the series stays in cache.

Bits: every value is computed with the same float32 operations in the same order as the numpy
formulation it replaced (kept as the reference in ``tests/test_29_rice_optical_kernel.py``,
which asserts equal outputs); no fast-math, NaN handled as ``numpy.minimum``/``maximum``
(propagated) or ``numpy.fmax`` (ignored), exactly where the numpy code used each.

Compilation: importing this module imports numba and loads (or compiles, ~10 s) the kernel for
its two signatures (float32 indices or reflectances, bool validity), so the package imports it
only on the rule's first call (``agromap --help``, ``validate`` and ``import agromap.rice`` never
load numba). Where the machine code is cached, and the compile options, are in
:mod:`agromap.jit`.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from ..jit import array_type as _array
from ..jit import jit as _jit
from .optical_kernel_layout import F_BASE, F_SNOW, kernel_parameters
from .optical_kernel_steps import BLOCK, band_block, block_dates, clear_dates
from .optical_kernel_terms import pixel_terms
from .optical_params import OpticalRiceParams

__all__ = ["optical_pixels", "optical_band_pixels"]

_F32 = np.float32


# ---- the tile --------------------------------------------------------------------------------

# Inputs are taken read-only (dask and xarray hand over read-only views) with any strides; a
# writable array converts to them. One signature: compiled (or loaded) when this module loads.
_F4, _B1, _I8, _I4 = numba.float32, numba.boolean, numba.int64, numba.int32
_SIG = numba.void(
    *(_array(_F4, 2, "A", True) for _ in range(3)), _array(_B1, 2, "A", True),
    _array(_F4, 1, "C", True), _array(_B1, 1, "A", True), _array(_I8, 2, "C", True),
    _array(_F4, 1, "C", True), _array(_I8, 1, "C", True),
    _array(_B1, 2, "C"), _array(_F4, 2, "C"), _array(_I4, 1, "C"), _array(_I4, 1, "C"), _array(_B1, 1, "C"),
    _array(_B1, 1, "C"), _array(_F4, 1, "C"), _array(_F4, 1, "C"),
)


@_jit(_SIG)
def _pixels(ndvi: Any, evi: Any, lswi: Any, valid: Any, days: Any, in_win: Any, ends: Any, prm: Any, flags: Any,
            onset: Any, growth: Any, n_valid: Any, n_window: Any, water: Any, forest: Any, mask_margin: Any,
            undated: Any) -> None:
    n_pix, n_t = ndvi.shape
    # One packed clear series, reused by every pixel (no allocation per pixel).
    ci = np.empty(n_t, np.int64)
    cd, cn, ce, cl = np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32)
    cf = np.empty(n_t, np.bool_)
    buf = np.empty(max(n_t, 1), np.float32)
    for p in range(n_pix):
        n, nw, gap = clear_dates(ndvi, evi, lswi, valid, p, days, in_win, prm, flags, ci, cd, cn, ce, cl, cf, buf,
                                  onset, growth)
        n_valid[p], n_window[p] = n, nw
        scale_days = np.float32(10.0) + np.float32(0.5) * gap
        water[p], forest[p], mask_margin[p], undated[p] = pixel_terms(
            n, ci, cd, cn, ce, cl, cf, in_win, ends, prm, flags, scale_days, p, onset, growth)


# The reflectance path takes its bands ``(time, pixel)`` and C-ordered (as a tile's stack is stored).
_SIG_BANDS = numba.void(
    *(_array(_F4, 2, "C", True) for _ in range(6)), _array(_B1, 2, "C", True), *_SIG.args[4:],
)


@_jit(_SIG_BANDS)
def _band_pixels(nir: Any, red: Any, blue: Any, swir16: Any, lswi_nir: Any, green: Any, base: Any, days: Any,
                 in_win: Any, ends: Any, prm: Any, flags: Any, onset: Any, growth: Any, n_valid: Any, n_window: Any,
                 water: Any, forest: Any, mask_margin: Any, undated: Any) -> None:
    n_t, n_pix = nir.shape
    ci = np.empty(n_t, np.int64)
    cd, cn, ce, cl = np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32), np.empty(n_t, np.float32)
    cf = np.empty(n_t, np.bool_)
    buf = np.empty(max(n_t, 1), np.float32)
    sn, se, sl = np.empty((n_t, BLOCK), np.float32), np.empty((n_t, BLOCK), np.float32), np.empty((n_t, BLOCK), np.float32)
    sk = np.empty((n_t, BLOCK), np.bool_)
    for p0 in range(0, n_pix, BLOCK):
        nb = min(BLOCK, n_pix - p0)
        band_block(nir, red, blue, swir16, lswi_nir, green, base, p0, nb, prm, flags, sn, se, sl, sk)
        for j in range(nb):
            p = p0 + j
            n, nw, gap = block_dates(j, p, days, in_win, prm, flags, sn, se, sl, sk, ci, cd, cn, ce, cl, cf, buf,
                                        onset, growth)
            n_valid[p], n_window[p] = n, nw
            scale_days = np.float32(10.0) + np.float32(0.5) * gap
            water[p], forest[p], mask_margin[p], undated[p] = pixel_terms(
                n, ci, cd, cn, ce, cl, cf, in_win, ends, prm, flags, scale_days, p, onset, growth)


def optical_pixels(
    ndvi: npt.NDArray[np.float32], evi: npt.NDArray[np.float32], lswi: npt.NDArray[np.float32],
    valid: npt.NDArray[np.bool_], days: npt.NDArray[np.int32], in_window: npt.NDArray[np.bool_],
    ends: npt.NDArray[np.int64],
    params: OpticalRiceParams,
) -> dict[str, npt.NDArray[Any]]:
    """Run the compiled per-pixel rule on ``(pixels, time)`` arrays.

    Parameters
    ----------
    ndvi, evi, lswi : numpy.ndarray of float32, ``(pixels, time)``
        Index series, NaN where missing (any strides).
    valid : numpy.ndarray of bool, ``(pixels, time)``
        Clear observations (sensor QA, cloud and snow tests).
    days : numpy.ndarray of int32, ``(time,)``
        Day numbers, increasing.
    in_window : numpy.ndarray of bool, ``(time,)``
        Dates where an onset may be counted (inside a season window, or all).
    ends : numpy.ndarray of int64, ``(7, time)``
        Per onset date, the exclusive end index of its growth, cycle and trough windows, of
        the early-NDVI window (``early_ndvi_days``), of the young crop's second flood
        (``young_reflood_days``) and of the cycle before any gap, the last three not stretched
        over gaps; and the first index at least ``gap_canopy_seen_days`` after the onset.
    params : OpticalRiceParams
        The rule's thresholds.

    Returns
    -------
    dict of numpy.ndarray
        ``onset`` (bool) and ``growth`` (float32 margin in logistic units, NaN without onset), both
        ``(pixels, time)``; per pixel ``n_valid``, ``n_window`` (int32), ``water``, ``forest``
        (bool), ``mask_margin`` and ``undated`` (float32 margins in logistic units).
    """
    prm, flags = kernel_parameters(params)
    out = _outputs(*ndvi.shape)
    _pixels(ndvi, evi, lswi, valid, days.astype(_F32), in_window, ends, prm, flags, *out.values())
    return out


def optical_band_pixels(
    nir: npt.NDArray[np.float32], red: npt.NDArray[np.float32], blue: npt.NDArray[np.float32],
    swir16: npt.NDArray[np.float32], lswi_nir: npt.NDArray[np.float32], green: npt.NDArray[np.float32] | None,
    base: npt.NDArray[np.bool_] | None, days: npt.NDArray[np.int32], in_window: npt.NDArray[np.bool_],
    ends: npt.NDArray[np.int64], params: OpticalRiceParams,
) -> dict[str, npt.NDArray[Any]]:
    """:func:`optical_pixels` from the reflectances: indices and clear-sky tests inside the kernel.

    The rule's NDVI, EVI and LSWI (``lswi_nir`` and ``swir16``) and its clear-observation tests
    (``cloud_blue``, ``haze_hot``, and ``snow_ndsi`` when ``green`` is given) are computed per
    date as :mod:`agromap.indices` and ``rules_optical.clear_observations`` compute them on whole
    arrays, bit for bit, without the four ``(time, y, x)`` arrays in between.

    Parameters
    ----------
    nir, red, blue, swir16, lswi_nir : numpy.ndarray of float32, ``(pixels, time)``
        Reflectance, NaN where missing (any strides; ``lswi_nir`` may be ``nir`` itself).
    green : numpy.ndarray of float32 or None
        For the snow test; ``None`` skips it.
    base : numpy.ndarray of bool or None
        Usable observations from the sensor's QA or the caller (``None``: all).
    days, in_window, ends, params
        As :func:`optical_pixels`.

    Returns
    -------
    dict of numpy.ndarray
        As :func:`optical_pixels`.
    """
    prm, flags = kernel_parameters(params)
    flags[F_SNOW] = flags[F_SNOW] and green is not None
    flags[F_BASE] = base is not None
    none = np.empty((0, 0), bool)
    out = _outputs(*nir.shape)
    # (time, pixel) C-ordered: the transposed view of a tile's date-major stack, copied otherwise.
    bands = [np.ascontiguousarray(b.T) for b in (nir, red, blue, swir16, lswi_nir, nir if green is None else green)]
    _band_pixels(*bands, none if base is None else np.ascontiguousarray(base.T), days.astype(_F32), in_window, ends,
                 prm, flags, *out.values())
    return out


def _outputs(n_pix: int, n_t: int) -> dict[str, npt.NDArray[Any]]:
    """The kernels' output arrays, in their argument order."""
    return {
        "onset": np.empty((n_pix, n_t), bool), "growth": np.empty((n_pix, n_t), _F32),
        "n_valid": np.empty(n_pix, np.int32), "n_window": np.empty(n_pix, np.int32),
        "water": np.empty(n_pix, bool), "forest": np.empty(n_pix, bool),
        "mask_margin": np.empty(n_pix, _F32), "undated": np.empty(n_pix, _F32),
    }
