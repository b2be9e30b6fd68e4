"""Both rules' season slots, QA flags and output conventions per pixel, compiled (numba).

:func:`season_pixels` takes a rule's per-pixel results (the onsets and margins of every date,
the masks and counts: :mod:`agromap.rice.optical_kernel`'s, or the SAR rule's flood minima and
their evidence) and fills each pixel's seasons in time order, its best margin for the score, its
undated season, its QA bits and the nodata conventions, in one walk over the pixels. The tests
hold the numpy formulation (slots filled date by date) and check this walk against it bit for bit.

Why compiled: in numpy the slots are filled one date at a time over the pixels with an onset
that date (fancy indexing, a dozen small arrays per date), then every output is a pass of its
own over the tile, each holding the interpreter's lock. Here the walk releases the lock
(``nogil``), so the other tile thread runs meanwhile. The score's logistic stays in numpy
(:func:`agromap.rice.seasons.logistic`), on the best margins this kernel returns: numpy's float32
``exp`` is vectorised and not guaranteed to give the bits of the compiled one.

Bits: every value follows the numpy formulation's operations (``numpy.minimum``/``maximum``
with NaN propagated, the int64 day difference against the float minimum gap, a window index of
-1 taken as Python indexing takes it); ``tests/test_29_rice_optical_kernel.py`` compares both.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from ..jit import array_type as _array
from ..jit import jit as _jit
from ..jit import maximum as _max
from ..jit import minimum as _min
from .seasons import QA_FOREST_BUILT, QA_OBSERVED, QA_OPTICAL, QA_WATER, logistic

__all__ = ["season_pixels", "rule_outputs"]

_NO_LAST = np.iinfo(np.int32).min // 2
"""A pixel's last season day before its first season (the numpy reference starts from the same value)."""


# One signature, compiled (or loaded from the cache) when this module loads: the run loads it on
# its background import thread with the rule's kernel (``scheduler.RULE_KERNELS``), not in a tile.
_U1, _U2, _I4, _F4, _B1 = numba.uint8, numba.uint16, numba.int32, numba.float32, numba.boolean
_SIG = numba.void(
    _array(_B1, 2, "C", True), _array(_F4, 2, "C", True), _array(_I4, 1, "C", True), _array(_I4, 1, "C", True),
    _array(_B1, 1, "C", True), _array(_B1, 1, "C", True), _array(_F4, 1, "C", True), _array(_F4, 1, "C", True),
    _array(numba.int8, 1, "A", True), _array(_U2, 1, "A", True), _array(_I4, 1, "A", True),
    numba.int64, numba.float64, numba.boolean, _U1,
    _array(_U1, 1), _array(_U1, 1), _array(_U2, 2), _array(_F4, 1), _array(_U1, 1), _array(_U1, 1), _array(_U1, 1),
)
"""Inputs read-only (a writable array converts to them), the small per-date arrays with any strides."""


@_jit(_SIG, nrt=False)
def _walk(  # noqa: C901 (one walk per pixel for every output; helpers would be a call per pixel)
        onset: Any, growth: Any, n_valid: Any, n_window: Any, water: Any, forest: Any, mask_margin: Any,
        undated: Any, window: Any, doy: Any, days: Any, n_windows: int, min_season_days: float,
        use_undated: bool, found_bit: int, rice_class: Any, n_seasons: Any, slots: Any, best: Any, n_valid_u8: Any,
        n_window_u8: Any, qa: Any) -> None:
    n_pix, n_t = onset.shape
    n_slots = slots.shape[1]
    for p in range(n_pix):
        for s in range(n_slots):
            slots[p, s] = 0
        masked = water[p] or forest[p]
        cap = mask_margin[p]
        top = np.float32(-np.inf)
        count = 0
        last = np.int64(_NO_LAST)
        for t in range(n_t):
            if not onset[p, t]:
                continue
            margin = growth[p, t]
            top = _max(top, _min(margin, cap))
            acc = margin >= 0 and not masked
            if n_windows:
                w = np.int64(window[t])
                if w < 0:  # as numpy's slots[idx, -1]
                    w += n_slots
                if acc and slots[p, w] == 0:
                    slots[p, w] = doy[t]
                    count += 1
            elif acc and (np.int64(days[t]) - last) >= min_season_days:
                if count < n_slots:
                    slots[p, count] = doy[t]
                last = np.int64(days[t])
                count += 1
        if use_undated:
            u = undated[p]
            if u >= 0 and count == 0 and not masked:
                count = 1
            top = _max(top, u)
        best[p] = top
        flags = 0
        if n_window[p] > 0:
            flags |= QA_OBSERVED
        if count > 0:
            flags |= found_bit
        if water[p]:
            flags |= QA_WATER
        if forest[p]:
            flags |= QA_FOREST_BUILT
        qa[p] = flags
        if n_valid[p] == 0:
            rice_class[p] = 255
            n_seasons[p] = 255
        else:
            rice_class[p] = 1 if count > 0 else 0
            n_seasons[p] = min(count, 254)
        n_valid_u8[p] = min(n_valid[p], 254)
        n_window_u8[p] = min(n_window[p], 254)


def season_pixels(k: dict[str, npt.NDArray[Any]], *, n_slots: int, window: npt.NDArray[np.int8],
                  doy: npt.NDArray[np.uint16], days: npt.NDArray[np.int32], n_windows: int,
                  min_season_days: float, undated: bool, found_bit: int = QA_OPTICAL) -> dict[str, npt.NDArray[Any]]:
    """Season slots, best margin, QA bits and the stored counts of every pixel.

    Parameters
    ----------
    k : dict of numpy.ndarray
        The optical kernel's results (:func:`agromap.rice.optical_kernel.optical_band_pixels`):
        ``onset`` and ``growth`` ``(pixels, time)``, ``n_valid``, ``n_window``, ``water``,
        ``forest``, ``mask_margin`` and ``undated`` per pixel.
    n_slots : int
        Season slots per pixel (the calendar's windows, else the most seasons counted).
    window, doy, days : numpy.ndarray
        Per date: its calendar window (-1 outside all), calendar day of year, day number.
    n_windows : int
        Calendar windows (0: seasons anywhere, ``min_season_days`` apart).
    min_season_days : float
        Least days between two seasons' onsets without a calendar.
    undated : bool
        Count the undated evidence as a season where no dated one was found.
    found_bit : int
        The QA bit of a pixel with a season: the rule that found it (``QA_OPTICAL`` or ``QA_SAR``).

    Returns
    -------
    dict of numpy.ndarray
        ``rice_class``, ``n_seasons``, ``n_valid_obs``, ``n_valid_in_flood_window`` and
        ``qa_flags`` (uint8, nodata conventions applied), ``transplant_doy`` (uint16,
        ``(pixels, n_slots)``) and ``best`` (float32: the margin the score is the logistic of,
        -inf without any onset or evidence).
    """
    n_pix = k["onset"].shape[0]
    u8 = np.uint8
    out: dict[str, npt.NDArray[Any]] = {"rice_class": np.empty(n_pix, u8), "n_seasons": np.empty(n_pix, u8),
           "transplant_doy": np.empty((n_pix, n_slots), np.uint16), "best": np.empty(n_pix, np.float32),
           "n_valid_obs": np.empty(n_pix, u8), "n_valid_in_flood_window": np.empty(n_pix, u8),
           "qa_flags": np.empty(n_pix, u8)}
    _walk(k["onset"], k["growth"], k["n_valid"], k["n_window"], k["water"], k["forest"], k["mask_margin"],
          k["undated"], window, doy, days, n_windows, float(min_season_days), bool(undated and not n_windows),
          np.uint8(found_bit), *out.values())
    return out


def rule_outputs(o: dict[str, npt.NDArray[Any]], lead: tuple[int, ...]) -> tuple[npt.NDArray[Any], ...]:
    """The arrays of ``seasons.OUTPUT_DTYPES`` shaped ``lead`` from :func:`season_pixels`' results.

    ``rice_score`` is the logistic of ``best`` (0 without any onset or evidence, NaN without a
    valid observation).
    """
    best = o["best"]
    score = np.where(np.isneginf(best), np.float32(0.0), logistic(best))
    score[o["rice_class"] == 255] = np.nan  # no valid observation
    n_slots = o["transplant_doy"].shape[-1]
    return (o["rice_class"].reshape(lead), o["n_seasons"].reshape(lead), o["transplant_doy"].reshape(*lead, n_slots),
            score.reshape(lead), o["n_valid_obs"].reshape(lead), o["n_valid_in_flood_window"].reshape(lead),
            o["qa_flags"].reshape(lead))
