"""Per-pixel series helpers of the Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar`).

All functions take ``(pixels, time)`` float32 arrays (linear power or dB, NaN = no valid date)
and the shared day numbers of the dates; none computes anything lazily or globally, so the rule
stays chunk-independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["to_db", "date_windows", "smooth_linear", "looks_per_date", "shape_series", "percentile_db", "flood_run_bounds", "flood_run_start", "bright_run_bounds",
           "spell_min", "bright_run_days", "date_noise_db", "pixel_noise_db", "window_mean_db",
           "local_gap", "track_index", "track_offsets_db", "darkest_of_dates"]

_F32 = np.float32


def to_db(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``10 log10(x)`` as float32; NaN where ``x <= 0`` or NaN."""
    out = np.full(x.shape, np.nan, dtype=_F32)
    np.log10(x, out=out, where=x > 0)
    return (out * _F32(10.0)).astype(_F32)


def date_windows(days: npt.NDArray[np.int32], half: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each date ``t``, the dates within +-``half`` days of it: indices ``lo[t]`` to ``hi[t]``
    (excluded) of the sorted day numbers ``days``.
    """
    lo = np.searchsorted(days, days - half, side="left").astype(np.int64)
    hi = np.searchsorted(days, days + half, side="right").astype(np.int64)
    return lo, hi


def smooth_linear(vh: npt.NDArray[np.float32], days: npt.NDArray[np.int32], half: float) -> npt.NDArray[np.float32]:
    """Mean of the valid dates within +-half days of each valid date, in linear power."""
    from .sar_series_kernel import PAIRWISE_MAX, window_means

    valid = ~np.isnan(vh)
    filled = np.where(valid, vh, _F32(0.0))
    out = np.full(vh.shape, np.nan, dtype=_F32)
    lo, hi = date_windows(days, half)
    if vh.dtype == _F32 and vh.ndim == 2 and (hi - lo).max(initial=0) <= PAIRWISE_MAX:
        # Compiled, each pixel's windows in turn; the same sums, in numpy's order.
        window_means(filled, valid, lo, hi, out)
        return out
    for t in range(vh.shape[-1]):
        a, b = int(lo[t]), int(hi[t])
        n = valid[:, a:b].sum(axis=-1)
        s = filled[:, a:b].sum(axis=-1, dtype=_F32)
        out[:, t] = np.where(valid[:, t], s / np.maximum(n, 1).astype(_F32), _F32(np.nan))
    return out


def looks_per_date(vh: npt.NDArray[np.float32], days: npt.NDArray[np.int32], half: float) -> npt.NDArray[np.float32]:
    """Mean, over each pixel's valid dates, of the number of valid dates within +-half days of
    them: how many dates :func:`smooth_linear` averages (NaN without a valid date).
    """
    valid = ~np.isnan(vh)
    total = np.zeros(vh.shape[0], dtype=_F32)
    lo, hi = date_windows(days, half)
    for t in range(vh.shape[-1]):
        a, b = int(lo[t]), int(hi[t])
        total += np.where(valid[:, t], valid[:, a:b].sum(axis=-1), 0).astype(_F32)
    n = valid.sum(axis=-1)
    return np.where(n > 0, total / np.maximum(n, 1).astype(_F32), _F32(np.nan)).astype(_F32)


def shape_series(lin: npt.NDArray[np.float32], days: npt.NDArray[np.int32], gap: float,
                 noise: npt.NDArray[np.float32], cycle_days: float, max_noise_db: float,
                 looks: npt.NDArray[np.float32] | None = None,
                 ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The series the rule's shape terms read, in dB, where it spans the repeat cycle, and where
    the three-date mean is noisy.

    Each valid date of ``lin`` (linear power) becomes the mean of the valid dates within
    +- ``gap`` (the median revisit gap, about three dates) or, for a pixel whose three-date mean
    keeps more than ``max_noise_db`` of noise (its date-to-date ``noise`` over the square root of
    :func:`looks_per_date`: ``noisy``) when the cycle is longer, within +- ``cycle_days / 2``.
    Returns ``(series, on_cycle, noisy)``; a series of two dates or fewer is returned as it is
    (never noisy). ``looks``: :func:`looks_per_date` of ``lin`` within +- ``gap * 1.01``, when the
    caller has it already.
    """
    n_pix, n_t = lin.shape
    on_cycle = np.zeros(n_pix, dtype=bool)
    if n_t <= 2:
        return to_db(lin), on_cycle, on_cycle.copy()
    half = gap * 1.01
    sm = to_db(smooth_linear(lin, days, half))
    with np.errstate(invalid="ignore"):
        noisy = noise / np.sqrt(looks_per_date(lin, days, half) if looks is None else looks) > _F32(max_noise_db)
    if cycle_days / 2.0 > half:
        on_cycle = noisy.copy()
        if on_cycle.any():
            sm[on_cycle] = to_db(smooth_linear(lin[on_cycle], days, cycle_days / 2.0))
    return sm, on_cycle, noisy


def percentile_db(sorted_lin: npt.NDArray[np.float32], n: npt.NDArray[Any], q: float) -> npt.NDArray[np.float32]:
    """q-th quantile (0-1) of the first ``n`` sorted values of each row, interpolated in linear, in dB."""
    pos = np.maximum(n - 1, 0).astype(_F32) * _F32(q)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0)).astype(np.intp)
    a = np.take_along_axis(sorted_lin, lo[:, None], axis=-1)[:, 0]
    b = np.take_along_axis(sorted_lin, hi[:, None], axis=-1)[:, 0]
    val = a + (b - a) * (pos - lo.astype(_F32))
    return np.where(n > 0, to_db(np.where(n > 0, val, _F32(1.0))), _F32(np.nan)).astype(_F32)


def flood_run_bounds(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int,
                     level_before: npt.NDArray[np.float32], level_after: npt.NDArray[np.float32],
                     break_days: float | npt.NDArray[np.float32] = 0.0,
                     ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Day numbers of the first and the last date of the run of valid dates at or below a level
    around date ``t``.

    The level is ``level_before`` on the dates before ``t`` and ``level_after`` after it.
    Invalid dates neither extend nor break a run (a missing pass says nothing), and one bright
    date inside a run does not end it (speckle, or the other track's incidence offset): two or
    more in a row do once they span at least ``break_days`` days (per row or one for all; 0: any
    two in a row). The span between the two is a lower bound of the spell's duration.
    """
    from .sar_series_kernel import flood_bounds

    n_pix = db.shape[0]
    first = np.full(n_pix, days[t], dtype=np.int64)
    last = first.copy()
    flood_bounds(db, days, t, _per_row(level_before, n_pix, db), _per_row(level_after, n_pix, db),
                 _per_row(break_days, n_pix), first, last)
    return first, last


def _per_row(x: float | npt.NDArray[np.floating], n_pix: int, like: npt.NDArray[Any] | None = None,
             ) -> npt.NDArray[np.float64]:
    """A level or a span per row as the compiled walks read it: float64, which holds a float32
    exactly, so each comparison is numpy's (a float32 date against a float32 or float64 level,
    an int64 day span against a float span). A Python float compared with the series ``like``
    is first cast to its type, as numpy casts it.
    """
    if like is not None and isinstance(x, (int, float)):
        x = like.dtype.type(x)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (n_pix,)))


def spell_min(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], first: npt.NDArray[np.int64],
              last: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Lowest valid value between day ``first`` and day ``last`` of each row (both included);
    NaN for a row without a valid date there.
    """
    inside = (days[None, :] >= first[:, None]) & (days[None, :] <= last[:, None]) & ~np.isnan(db)
    low = np.where(inside, db, _F32(np.inf)).min(axis=-1)
    return np.where(inside.any(axis=-1), low, _F32(np.nan)).astype(_F32)


def flood_run_start(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int,
                    level_before: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Day number of the first date of the dark run that ends at date ``t`` (same rules as
    :func:`flood_run_bounds`, looking back only).
    """
    from .sar_series_kernel import flood_start

    first = np.full(db.shape[0], days[t], dtype=np.int64)
    flood_start(db, days, t, _per_row(level_before, db.shape[0], db), first)
    return first.astype(_F32)


def date_noise_db(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32] | None = None) -> npt.NDArray[np.float32]:
    """Each pixel's date-to-date noise, dB: the robust standard deviation of one date.

    ``1.4826 x median |x_k+1 - x_k| / sqrt(2)`` over consecutive valid dates (the median absolute
    difference ignores the few steps of a flood or a harvest; a difference of two dates has twice
    one date's variance). Speckle, residual track offsets and wind on water all count. NaN with
    fewer than two valid dates. With ``days``, the second differences instead: each valid date
    against the line between its valid neighbours, ``x_k - (w x_k-1 + (1 - w) x_k+1)`` over
    ``sqrt(1 + w^2 + (1 - w)^2)`` (its variance in units of one date's), so a linear rise or fall
    over three dates adds nothing; NaN with fewer than three valid dates.
    """
    valid = ~np.isnan(db)
    # Valid dates first, in time order (a stable sort of the invalid flags): consecutive valid
    # dates become neighbours however many invalid dates lie between them.
    order = np.argsort(~valid, axis=-1, kind="stable")
    packed = np.take_along_axis(db, order, axis=-1)
    if days is not None:
        d = np.where(np.take_along_axis(valid, order, axis=-1), days[order].astype(_F32), _F32(np.nan))
        with np.errstate(invalid="ignore", divide="ignore"):
            w = (d[:, 2:] - d[:, 1:-1]) / (d[:, 2:] - d[:, :-2])
            steps = np.abs(packed[:, 1:-1] - (w * packed[:, :-2] + (1 - w) * packed[:, 2:])) / np.sqrt(
                1 + w * w + (1 - w) * (1 - w))
        scale = 1.4826
    else:
        steps = np.abs(np.diff(packed, axis=-1))
        scale = 1.4826 / np.sqrt(2.0)
    med = nanmedian_rows(steps) if steps.shape[-1] else np.full(db.shape[0], np.nan)  # too few valid dates: NaN
    return (med * scale).astype(_F32)


# The expected largest of m independent standard normal draws, m = 0..8 (order statistics of the
# normal distribution); past 8 the table's last value stands.
_NORMAL_MAX = np.array([0.0, 0.0, 0.5642, 0.8463, 1.0294, 1.1630, 1.2672, 1.3522, 1.4236], dtype=_F32)


def darkest_of_dates(n: npt.NDArray[np.integer]) -> npt.NDArray[np.float32]:
    """How far, in units of one date's noise, the darkest of ``n`` speckled dates of a level lies
    below it on average: 0 for one date, 0.56 for two, 0.85 for three, 1.03 for four.
    """
    return _NORMAL_MAX[np.clip(n, 0, _NORMAL_MAX.size - 1)]


def pixel_noise_db(db: npt.NDArray[np.float32], observed: npt.NDArray[np.float32] | None,
                   looks: npt.NDArray[np.float32], max_noise_db: float,
                   days: npt.NDArray[np.int32] | None = None) -> npt.NDArray[np.float32]:
    """The pixel's date-to-date noise, dB, that the rule's bars in noise units read.

    :func:`date_noise_db` of the series ``db`` (dB, tracks aligned); where ``observed`` (the same
    series in linear power before the tracks' offsets were removed; ``None``: not aligned) is given
    and the three-date mean of ``db`` (its noise over the square root of ``looks``, the series'
    :func:`looks_per_date`) keeps more than ``max_noise_db``, the noise of ``observed`` instead, as
    when the tracks are not named: the offsets removed from a speckled series are estimates, and
    the bars allow for the speckle extremes that remain. A filtered series keeps the aligned noise.
    """
    noise = date_noise_db(db)
    if observed is None:
        return noise
    with np.errstate(invalid="ignore"):
        rough = noise / np.sqrt(looks) > _F32(max_noise_db)
    if rough.any():
        noise[rough] = date_noise_db(to_db(observed[rough]), days)
    return noise


def window_mean_db(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], lo: npt.NDArray[np.float32],
                   hi: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Mean, in linear power, of each pixel's valid dates with ``lo <= day <= hi`` (per-pixel
    bounds, day numbers of ``days``), in dB; NaN where no valid date falls inside.
    """
    # Only the columns some row's window can reach are read; the sum still runs over the whole
    # row (zeros elsewhere), in the same order, so the bits do not depend on the columns read.
    d = days.astype(_F32)
    power = np.zeros(db.shape, dtype=_F32)
    n = np.zeros(db.shape[0], dtype=np.int64)
    # Rows with NaN bounds take no date (fmin/fmax pass them over).
    cols = np.flatnonzero((d >= np.fmin.reduce(lo, initial=np.inf)) & (d <= np.fmax.reduce(hi, initial=-np.inf)))
    if cols.size:
        a, b = int(cols[0]), int(cols[-1]) + 1
        inside = (d[None, a:b] >= lo[:, None]) & (d[None, a:b] <= hi[:, None]) & ~np.isnan(db[:, a:b])
        n = inside.sum(axis=-1)
        power[:, a:b] = np.where(inside, _F32(10.0) ** (db[:, a:b] / _F32(10.0)), _F32(0.0))
    total = power.sum(axis=-1, dtype=_F32)
    mean = np.where(n > 0, total / np.maximum(n, 1).astype(_F32), _F32(np.nan)).astype(_F32)
    return to_db(mean)


def nanmedian_rows(a: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """``np.nanmedian`` over the last axis, NaN for rows without a value, and no warning.

    Rows without a value are left out rather than their warning filtered: a warnings filter is
    process-wide, so one set here would race with the other threads of a compute. One plain sort
    per call (NaN sort last) instead of ``np.nanmedian``'s masked sort, which cost several times
    as much; the bits are ``np.nanmedian``'s: the middle value, or the two middle values' sum
    halved in the array's own float type (a zero median, whose sign the order of equal signed
    zeros decides, is numpy's own).
    """
    out = np.full(a.shape[:-1], np.nan, dtype=a.dtype)
    if a.shape[-1] == 0:
        return out
    ordered = np.sort(a, axis=-1)
    n = (~np.isnan(a)).sum(axis=-1)
    seen = n > 0
    hi = (n // 2)[..., None]
    lo = np.where(n % 2 == 1, n // 2, n // 2 - 1)[..., None]
    mid = (np.take_along_axis(ordered, np.maximum(lo, 0), axis=-1)[..., 0]
           + np.take_along_axis(ordered, np.minimum(hi, a.shape[-1] - 1), axis=-1)[..., 0])
    half = (mid / a.dtype.type(2.0)).astype(a.dtype)
    out[seen] = half[seen]
    # A zero's sign depends on which of equal -0 and +0 each sort put first: numpy's own there.
    zero = seen & (half == 0)
    if zero.any():
        out[zero] = np.nanmedian(a[zero], axis=-1)
    return out


def local_gap(ok: npt.NDArray[np.bool_], days: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
    """Median, over pixels, of the gap between valid observations around each date (days)."""
    n_t = days.size
    if n_t < 2:
        return np.zeros(n_t, dtype=_F32)
    # The date axis is shared; per-pixel invalid dates are rare in SAR, so one revisit profile
    # per block (the median over pixels of the gap to the next valid date) is the density.
    nxt = np.full(ok.shape, np.nan, dtype=_F32)
    following = np.full(ok.shape[0], np.nan, dtype=_F32)
    for k in range(n_t - 1, -1, -1):
        nxt[:, k] = following - _F32(days[k])
        following = np.where(ok[:, k], _F32(days[k]), following)
    back = np.concatenate([[np.nan], np.diff(days).astype(_F32)])
    fwd = nanmedian_rows(np.where(ok, nxt, np.nan).T)
    gap = np.where(np.isnan(fwd), back, fwd)
    gap = np.where(np.isnan(gap), np.nanmedian(np.diff(days)), gap)
    return gap.astype(_F32)




def bright_run_days(sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], start: npt.NDArray[np.intp],
                    level: npt.NDArray[np.float32], break_days: float | npt.NDArray[np.float32] = 0.0,
                    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Days spanned by the run of valid dates at or above ``level`` around each row's ``start``.

    The per-row twin of :func:`flood_run_bounds` for a bright spell (a canopy): invalid dates
    neither extend nor break the run, one dark date inside it does not end it, two or more in a
    row do once they span at least ``break_days`` days (per row or one for all; 0: any two).
    Returns the span and whether the run reaches either end of the series (then the span is
    only a lower bound: the canopy may go on unseen).
    """
    first, last, open_end = bright_run_bounds(sm, days, start, level, break_days)
    return (last - first).astype(_F32), open_end


def bright_run_bounds(sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], start: npt.NDArray[np.intp],
                      level: npt.NDArray[np.float32], break_days: float | npt.NDArray[np.float32] = 0.0,
                      ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The first and last day of the run of :func:`bright_run_days`, and whether it reaches either
    end of the series.
    """
    from .sar_series_kernel import bright_runs

    n_pix = sm.shape[0]
    first = days[start].astype(np.int64)
    last = first.copy()
    open_end = np.zeros(n_pix, dtype=bool)
    bright_runs(sm, days, np.ascontiguousarray(start, dtype=np.int64), _per_row(level, n_pix, sm),
                _per_row(np.asarray(break_days, dtype=_F32), n_pix), first, last, open_end)
    return first, last, open_end


def track_index(tracks: Sequence[Any] | None, n_t: int) -> npt.NDArray[np.int8]:
    """Integer id (0, 1, ...) of the orbit track of each date; -1 where unknown (None, NaN or ``""``,
    e.g. an optical date of a mixed stack), everywhere when no date names one.
    """
    if tracks is None or len(tracks) != n_t:
        return np.full(n_t, -1, dtype=np.int8)
    names = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t).strip() for t in tracks]
    uniq = sorted(set(names) - {""})
    if len(uniq) > 100:
        return np.full(n_t, -1, dtype=np.int8)
    return np.array([uniq.index(t) if t else -1 for t in names], dtype=np.int8)


def track_offsets_db(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], track: npt.NDArray[np.int8],
                     max_days: float, min_pairs: int = 5) -> npt.NDArray[np.float32]:
    """Per pixel and date, the dB offset of the date's orbit track from the others (to subtract);
    ``db`` float32.

    Two tracks see a field at different incidence angles, 1-2 dB apart over flat land, and a
    mixed series zigzags by that much. For each date the reference is the mean of the nearest
    earlier and later valid dates of *other* tracks within ``max_days`` (a linear trend between
    them cancels); a track's offset is the median of its dates' differences from their reference
    (robust to floods and harvests), shrunk by ``(K - 1) / K`` so the K tracks' offsets average
    to about zero and the series keeps its level. A track with fewer than ``min_pairs`` such
    differences is not corrected. Zeros when the tracks are unknown or there is only one.
    """
    n_pix, n_t = db.shape
    out = np.zeros((n_pix, n_t), dtype=_F32)
    ids = [int(k) for k in np.unique(track) if k >= 0]
    if len(ids) < 2 or n_t < 3:
        return out
    diff = np.full((n_pix, n_t), np.nan, dtype=_F32)
    from .sar_series_kernel import track_differences

    # Compiled, each pixel's dates in turn (the dates' references, then their differences).
    track_differences(db, days, track.astype(np.int8, copy=False), float(max_days), diff)
    k_tracks = len(ids)
    for k in ids:
        cols = np.flatnonzero(track == k)
        d = diff[:, cols]
        n = (~np.isnan(d)).sum(axis=-1)
        med = nanmedian_rows(d)
        off = np.where(n >= min_pairs, med * _F32((k_tracks - 1) / k_tracks), _F32(0.0)).astype(_F32)
        out[:, cols] = off[:, None]
    return out


def longest_bright_days(sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], level: float,
                        rank: int = 1, closed: bool = False) -> npt.NDArray[np.float32]:
    """Days spanned by each row's ``rank``-th longest run of valid dates above ``level`` (0 without one).

    Invalid dates neither extend nor break a run; a valid date at or below ``level`` ends it. With
    ``closed``, a run reaching the first or last valid date does not count: it may go on unseen.
    """
    n_pix, n_t = sm.shape
    start = np.full(n_pix, -1, dtype=np.int64)    # day of the current run's first date, -1: none
    cur = np.zeros(n_pix, dtype=np.int64)
    seen_dark = np.zeros(n_pix, dtype=bool)
    open_start = np.zeros(n_pix, dtype=bool)
    top = np.zeros((rank, n_pix), dtype=np.int64)  # the longest ended runs, longest first
    for k in range(n_t + 1):
        if k < n_t:
            v = sm[:, k]
            ok = ~np.isnan(v)
            bright = ok & (v > _F32(level))
            ends = ok & ~bright & (start >= 0)
            counted = ends & ~(closed & open_start)
        else:
            bright = np.zeros(n_pix, dtype=bool)
            ends = start >= 0
            counted = ends & (not closed)
        # Insert the run just ended into the ranked list (a sort per date cost ~1 CPU-s per 512^2 tile).
        c = np.where(counted, cur, 0)
        for j in range(rank):
            c, top[j] = np.minimum(top[j], c), np.maximum(top[j], c)
        if k == n_t:
            break
        begins = bright & (start < 0)
        open_start = np.where(begins, ~seen_dark, open_start)
        seen_dark |= ok & ~bright
        start = np.where(begins, int(days[k]), np.where(ends, -1, start))
        cur = np.where(bright, int(days[k]) - start, np.where(ends, 0, cur))
    return top[rank - 1].astype(_F32)
