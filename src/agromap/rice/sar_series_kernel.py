"""The SAR rule's per-pixel walks along its series, compiled (numba).

:func:`agromap.rice.sar_series.flood_run_bounds`, :func:`~agromap.rice.sar_series.flood_run_start`
and :func:`~agromap.rice.sar_series.bright_run_days` walk each pixel's series away from a date
until its run ends; the candidate flood minima (:func:`trough_minima`) compare each date with
the dates within a half-width of it; the tracks' offsets (:func:`track_differences`) look for
the nearest date of another track on either side of each date; the moving means of
:func:`~agromap.rice.sar_series.smooth_linear` (:func:`window_means`) add each window. In numpy
they went date by date over every pixel (a dozen small arrays per date, the interpreter's lock
held throughout): the rule calls the runs for every candidate date, and on a 77-date block they
took about 40 % of its time. Here each pixel walks its own dates, stops where its run ends and
releases the lock (``nogil``).

Bits: the walks make only comparisons and integer days: a level and a break span are read as
float64, as numpy compares a float32 date with a float64 level, or an int64 day span with a
float32 span. The means add in float32 in numpy's pairwise order (:func:`pairwise_sum`) and
divide once, as numpy; the tracks' reference is numpy's float32 ``0.5 * (before + after)``. The
numpy formulations are kept in ``tests/sar_series_reference.py``;
``tests/test_33_sar_series_kernel.py`` compares both on random series with lost dates.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..jit import array_type as _array
from ..jit import jit as _jit

__all__ = ["bright_runs", "flood_bounds", "flood_start", "trough_minima", "window_means", "pairwise_sum",
           "PAIRWISE_MAX", "track_differences"]

_F4, _F8, _I4, _I8, _B1 = numba.float32, numba.float64, numba.int32, numba.int64, numba.boolean
_SERIES = _array(_F4, 2, "A", True)
_DAYS = _array(_I4, 1, "A", True)
_PER_ROW = _array(_F8, 1, "C", True)


@_jit(numba.void(_SERIES, _DAYS, _array(_I8, 1, "C", True), _PER_ROW, _PER_ROW,
                 _array(_I8, 1), _array(_I8, 1), _array(_B1, 1)), nrt=False)
def bright_runs(sm: Any, days: Any, start: Any, level: Any, bars: Any, first: Any, last: Any, open_end: Any) -> None:
    """Per row, the first and last day of the bright run around ``start`` and whether it reaches
    an end of the series (see :func:`agromap.rice.sar_series.bright_run_days`); ``first``,
    ``last`` and ``open_end`` come filled with the start's day and False.
    """
    n_pix, n_t = sm.shape
    for r in range(n_pix):
        for step in (-1, 1):
            dark = 0
            since = np.int64(0)  # day of the first dark date in a row
            for k in range(1, n_t):
                j = start[r] + step * k
                if j < 0 or j >= n_t:
                    open_end[r] = True
                    break
                v = sm[r, j]
                ok = not np.isnan(v)
                bright = ok and v >= level[r]
                if ok and not bright and dark == 0:
                    since = np.int64(days[j])
                if bright:
                    dark = 0
                elif ok:
                    dark = min(dark + 1, 2)
                if dark >= 2 and np.float64(abs(np.int64(days[j]) - since)) >= bars[r]:
                    break
                if bright:
                    if step < 0:
                        first[r] = days[j]
                    else:
                        last[r] = days[j]


@_jit(numba.void(_SERIES, _DAYS, _I8, _PER_ROW, _PER_ROW, _PER_ROW, _array(_I8, 1), _array(_I8, 1)), nrt=False)
def flood_bounds(db: Any, days: Any, t: int, level_before: Any, level_after: Any, break_days: Any,
                 first: Any, last: Any) -> None:
    """Per row, the first and last day of the dark run around date ``t`` (see
    :func:`agromap.rice.sar_series.flood_run_bounds`); ``first`` and ``last`` come filled with ``days[t]``.
    """
    n_pix, n_t = db.shape
    for r in range(n_pix):
        for step in (-1, 1):
            level = level_before[r] if step < 0 else level_after[r]
            bright = False  # the last valid date was bright
            two = False     # ... and so was the valid date before it
            since = np.int64(0)  # day of the first bright date in a row
            j = t + step
            while 0 <= j < n_t:
                v = db[r, j]
                ok = not np.isnan(v)
                dark = ok and v <= level
                if ok:
                    if not dark and not bright:
                        since = np.int64(days[j])
                    two = not dark and bright
                    bright = not dark
                # An invalid date does not change the run, but the days it adds count for the break.
                if two and np.float64(abs(np.int64(days[j]) - since)) >= break_days[r]:
                    break
                if dark:
                    if step < 0:
                        first[r] = days[j]
                    else:
                        last[r] = days[j]
                j += step


@_jit(numba.void(_SERIES, _DAYS, _I8, _PER_ROW, _array(_I8, 1)), nrt=False)
def flood_start(db: Any, days: Any, t: int, level_before: Any, first: Any) -> None:
    """Per row, the first day of the dark run that ends at date ``t`` (see
    :func:`agromap.rice.sar_series.flood_run_start`); ``first`` comes filled with ``days[t]``.
    """
    n_pix = db.shape[0]
    for r in range(n_pix):
        bright = 0
        for j in range(t - 1, -1, -1):
            v = db[r, j]
            if np.isnan(v):
                continue
            if v <= level_before[r]:
                bright = 0
                first[r] = days[j]
            else:
                bright += 1
                if bright >= 2:
                    break


@_jit(numba.void(_SERIES, _array(_I8, 1, "C", True), _array(_I8, 1, "C", True), _array(_B1, 2)), nrt=False)
def trough_minima(db: Any, lo: Any, hi: Any, cand: Any) -> None:
    """Per row, the valid dates below every valid date in ``lo[t]:t`` and at or below every one in
    ``t + 1:hi[t]`` (the first of equal minima), into ``cand`` (False elsewhere, as it comes).
    """
    n_pix, n_t = db.shape
    for r in range(n_pix):
        for t in range(n_t):
            v = db[r, t]
            if np.isnan(v):
                continue
            before = np.float32(np.inf)
            for j in range(lo[t], t):
                x = db[r, j]
                if not np.isnan(x) and x < before:
                    before = x
            if not v < before:
                continue
            after = np.float32(np.inf)
            for j in range(t + 1, hi[t]):
                x = db[r, j]
                if not np.isnan(x) and x < after:
                    after = x
            cand[r, t] = v <= after


PAIRWISE_MAX = 128
"""The longest window :func:`pairwise_sum` adds (numpy splits longer ones in two; the caller keeps
those in numpy)."""


@_jit(_F4(_SERIES, _I8, _I8, _I8))
def pairwise_sum(x: Any, r: int, a: int, b: int) -> Any:
    """``x[r, a:b].sum(dtype=float32)`` with numpy's bits, for ``b - a <= PAIRWISE_MAX``: numpy's
    pairwise summation (``pairwise_sum`` of its ``loops_utils.h``): fewer than 8 values added in
    turn to 0; more in 8 interleaved partial sums, combined as a tree, then the rest in turn.
    """
    n = b - a
    if n < 8:
        res = np.float32(0.0)
        for i in range(a, b):
            res += x[r, i]
        return res
    r0, r1, r2, r3 = x[r, a], x[r, a + 1], x[r, a + 2], x[r, a + 3]
    r4, r5, r6, r7 = x[r, a + 4], x[r, a + 5], x[r, a + 6], x[r, a + 7]
    i = 8
    while i < n - (n % 8):
        r0 += x[r, a + i]
        r1 += x[r, a + i + 1]
        r2 += x[r, a + i + 2]
        r3 += x[r, a + i + 3]
        r4 += x[r, a + i + 4]
        r5 += x[r, a + i + 5]
        r6 += x[r, a + i + 6]
        r7 += x[r, a + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += x[r, a + i]
        i += 1
    return res


@_jit(numba.void(_SERIES, _array(_B1, 2, "A", True), _array(_I8, 1, "C", True), _array(_I8, 1, "C", True),
                 _array(_F4, 2)), nrt=False)
def window_means(filled: Any, valid: Any, lo: Any, hi: Any, out: Any) -> None:
    """Per row and valid date ``t``, the mean of the valid dates in ``lo[t]:hi[t]`` (each window at
    most ``PAIRWISE_MAX`` dates) into ``out`` (left as it comes on invalid dates); ``filled`` holds
    the series with 0 on invalid dates.
    """
    n_pix, n_t = filled.shape
    for r in range(n_pix):
        for t in range(n_t):
            if not valid[r, t]:
                continue
            n = 0
            for j in range(lo[t], hi[t]):
                n += valid[r, j]
            out[r, t] = pairwise_sum(filled, r, lo[t], hi[t]) / np.float32(max(n, 1))


@_jit(numba.void(_SERIES, _DAYS, _array(numba.int8, 1, "A", True), _F8, _array(_F4, 2)), nrt=False)
def track_differences(db: Any, days: Any, track: Any, max_days: float, diff: Any) -> None:
    """Per row and date of a known track, the date's value less the mean of the nearest valid dates
    of other tracks within ``max_days`` before and after it (the one found alone when only one
    is), into ``diff`` (left as it comes where neither is found or the date's track is unknown);
    see :func:`agromap.rice.sar_series.track_offsets_db`.
    """
    n_pix, n_t = db.shape
    for r in range(n_pix):
        for t in range(n_t):
            if track[t] < 0:
                continue
            before = np.float32(np.nan)
            for j in range(t - 1, -1, -1):
                if np.float64(abs(np.int64(days[j]) - np.int64(days[t]))) > max_days:
                    break
                if track[j] >= 0 and track[j] != track[t] and not np.isnan(db[r, j]):
                    before = db[r, j]
                    break
            after = np.float32(np.nan)
            for j in range(t + 1, n_t):
                if np.float64(abs(np.int64(days[j]) - np.int64(days[t]))) > max_days:
                    break
                if track[j] >= 0 and track[j] != track[t] and not np.isnan(db[r, j]):
                    after = db[r, j]
                    break
            if np.isnan(before):
                ref = after
            elif np.isnan(after):
                ref = before
            else:
                ref = np.float32(0.5) * (before + after)
            diff[r, t] = db[r, t] - ref
