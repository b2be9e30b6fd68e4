"""The numpy formulations of the SAR rule's run walks and medians: the references the compiled
walks and moving means (:mod:`agromap.rice.sar_series_kernel`), the rule's candidate minima and
:func:`agromap.rice.sar_series.nanmedian_rows` are tested against, bit for bit
(``tests/test_33_sar_series_kernel.py``).

Each walks date by date over every pixel still in its run, as the rule did before the walks were
compiled.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_F32 = np.float32


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
    n_pix, n_t = db.shape
    first = np.full(n_pix, days[t], dtype=np.int64)
    last = first.copy()
    for step, stop, level in ((-1, -1, level_before), (1, n_t, level_after)):
        going = np.ones(n_pix, dtype=bool)
        bright = np.zeros(n_pix, dtype=bool)           # the last valid date was bright
        two = np.zeros(n_pix, dtype=bool)              # ... and so was the valid date before it
        since = np.zeros(n_pix, dtype=np.int64)        # day of the first bright date in a row
        for j in range(t + step, stop, step):
            v = db[:, j]
            ok = ~np.isnan(v)
            dark = ok & (v <= level)
            lit = ok & ~dark
            since = np.where(lit & ~bright, days[j], since)
            two = np.where(ok, lit & bright, two)
            bright = np.where(ok, lit, bright)
            going &= ~(two & (np.abs(days[j] - since) >= break_days))
            if step < 0:
                first = np.where(going & dark, days[j], first)
            else:
                last = np.where(going & dark, days[j], last)
            if not going.any():
                break
    return first, last


def flood_run_start(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int,
                    level_before: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Day number of the first date of the dark run that ends at date ``t`` (same rules as
    :func:`flood_run_bounds`, looking back only).
    """
    n_pix = db.shape[0]
    first = np.full(n_pix, days[t], dtype=np.int64)
    going = np.ones(n_pix, dtype=bool)
    bright = np.zeros(n_pix, dtype=np.int8)
    for j in range(t - 1, -1, -1):
        v = db[:, j]
        ok = ~np.isnan(v)
        dark = ok & (v <= level_before)
        bright = np.where(dark, 0, np.where(ok, bright + 1, bright)).astype(np.int8)
        going &= bright < 2
        first = np.where(going & dark, days[j], first)
        if not going.any():
            break
    return first.astype(_F32)


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
    n_pix, n_t = sm.shape
    first = days[start].astype(np.int64)
    last = first.copy()
    open_end = np.zeros(n_pix, dtype=bool)
    bars = np.broadcast_to(np.asarray(break_days, dtype=_F32), (n_pix,))
    for step in (-1, 1):
        # Only the rows whose run goes on are read: a wetland's canopy keeps a few rows going
        # for months after the others ended.
        act = np.arange(n_pix)
        dark = np.zeros(n_pix, dtype=np.int8)
        since = np.zeros(n_pix, dtype=np.int64)        # day of the first dark date in a row
        for k in range(1, n_t):
            j = start[act] + step * k
            inside = (j >= 0) & (j < n_t)
            open_end[act[~inside]] = True
            act, j = act[inside], j[inside]
            if act.size == 0:
                break
            v = sm[act, j]
            ok = ~np.isnan(v)
            bright = ok & (v >= level[act])
            d = dark[act]
            since[act] = np.where(ok & ~bright & (d == 0), days[j], since[act])
            d = np.where(bright, 0, np.where(ok, np.minimum(d + 1, 2), d)).astype(np.int8)
            dark[act] = d
            keep = ~((d >= 2) & (np.abs(days[j] - since[act]) >= bars[act]))
            hit = keep & bright
            if step < 0:
                first[act[hit]] = days[j[hit]]
            else:
                last[act[hit]] = days[j[hit]]
            act = act[keep]
    return (last - first).astype(_F32), open_end


def nanmedian_rows(a: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """``np.nanmedian`` over the last axis, NaN for rows without a value."""
    out = np.full(a.shape[:-1], np.nan, dtype=a.dtype)
    seen = ~np.isnan(a).all(axis=-1)
    if seen.any():
        out[seen] = np.nanmedian(a[seen], axis=-1)
    return out


def trough_minima(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], h: float) -> npt.NDArray[np.bool_]:
    """The SAR rule's candidate minima without windows: each valid date below every valid date
    within ``h`` days before it and at or below every one within ``h`` days after it."""
    n_pix, n_t = db.shape
    valid = ~np.isnan(db)
    cand = np.zeros((n_pix, n_t), dtype=bool)
    for t in range(n_t):
        a = int(np.searchsorted(days, days[t] - h, side="left"))
        b = int(np.searchsorted(days, days[t] + h, side="right"))
        before = np.where(valid[:, a:t], db[:, a:t], _F32(np.inf)).min(axis=-1, initial=_F32(np.inf))
        after = np.where(valid[:, t + 1:b], db[:, t + 1:b], _F32(np.inf)).min(axis=-1, initial=_F32(np.inf))
        cand[:, t] = valid[:, t] & (db[:, t] < before) & (db[:, t] <= after)
    return cand


def smooth_linear(vh: npt.NDArray[np.float32], days: npt.NDArray[np.int32], half: float) -> npt.NDArray[np.float32]:
    """Mean of the valid dates within +-half days of each valid date, in linear power."""
    valid = ~np.isnan(vh)
    filled = np.where(valid, vh, _F32(0.0))
    out = np.full(vh.shape, np.nan, dtype=_F32)
    for t in range(vh.shape[-1]):
        a = int(np.searchsorted(days, days[t] - half, side="left"))
        b = int(np.searchsorted(days, days[t] + half, side="right"))
        n = valid[:, a:b].sum(axis=-1)
        s = filled[:, a:b].sum(axis=-1, dtype=_F32)
        out[:, t] = np.where(valid[:, t], s / np.maximum(n, 1).astype(_F32), _F32(np.nan))
    return out


def track_offsets_db(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], track: npt.NDArray[np.int8],
                     max_days: float, min_pairs: int = 5) -> npt.NDArray[np.float32]:
    """Per pixel and date, the dB offset of the date's orbit track from the others (to subtract).

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
    for t in range(n_t):
        if track[t] < 0:
            continue
        refs = []
        for rng in (range(t - 1, -1, -1), range(t + 1, n_t)):
            val = np.full(n_pix, np.nan, dtype=_F32)
            for j in rng:
                if abs(int(days[j]) - int(days[t])) > max_days:
                    break
                if track[j] < 0 or track[j] == track[t]:
                    continue
                val = np.where(np.isnan(val), db[:, j], val)
                if not np.isnan(val).any():
                    break
            refs.append(val)
        with np.errstate(invalid="ignore"):
            ref = np.where(np.isnan(refs[0]), refs[1], np.where(np.isnan(refs[1]), refs[0], 0.5 * (refs[0] + refs[1])))
        diff[:, t] = db[:, t] - ref
    k_tracks = len(ids)
    for k in ids:
        cols = np.flatnonzero(track == k)
        d = diff[:, cols]
        n = (~np.isnan(d)).sum(axis=-1)
        med = nanmedian_rows(d)
        off = np.where(n >= min_pairs, med * _F32((k_tracks - 1) / k_tracks), _F32(0.0)).astype(_F32)
        out[:, cols] = off[:, None]
    return out
