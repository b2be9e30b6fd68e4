"""The compiled optical rule gives the numpy formulation's outputs bit for bit.

:mod:`agromap.rice.optical_kernel` (numba) is the rule's only implementation. The numpy code it
replaced is kept here as the reference: the plain column loops (one column per date,
``numpy.nanmedian`` for the median gap) and the whole-array kernel built on them. Every output
of the rule must be equal (values, NaN, dtype) on random series with every switch, on cloudy,
NaN-gap, calendar-window and triple-crop scenes, with non-default parameters, on every hard
scene, through numpy, dask and float64 inputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import xarray as xr

from agromap.rice import rules_optical
from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from agromap.rice.seasons import (
    QA_FOREST_BUILT,
    QA_OBSERVED,
    QA_OPTICAL,
    QA_SAR,
    QA_WATER,
    flatten_time,
    fraction,
    logistic,
    masked_max,
    masked_min,
    time_axis,
    window_index,
)
from agromap.scenes import SCENE_NAMES, make_scene
from agromap.testing import SceneSpec, make_s2_stack
from season_reference import SeasonSlots, finish_outputs

_F32 = np.float32
_SCORE_SCALE = 0.05


# ---- the plain loops (reference) -------------------------------------------------------------

def _plain_water_spell_days(wet, ok, days, max_link=45.0):
    n_pix, n_t = wet.shape
    start = np.full(n_pix, -1.0, dtype=_F32)
    prev = np.full(n_pix, -1e9, dtype=_F32)
    best = np.zeros(n_pix, dtype=_F32)
    for t in range(n_t):
        d = _F32(days[t])
        w, o = wet[:, t], ok[:, t]
        linked = w & (start >= 0) & (d - prev <= _F32(max_link))
        start = np.where(o & ~w, _F32(-1.0), np.where(w & ~linked, d, start))
        prev = np.where(w, d, prev)
        best = np.maximum(best, np.where(w, d - start, _F32(0.0)))
    return best


def _plain_green_harvest(ok, nd, ls, days, p):
    """Clear green dates on drained soil (LSWI < ``green_harvest_lswi``) right after a canopy standing in water
    (the previous clear date) with another one at most ``green_link_days`` later: a harvest, which ends a green
    spell. All False when the term is off."""
    out = np.zeros(nd.shape, dtype=bool)
    if p.green_harvest_lswi is None or p.wet_canopy_lswi is None:
        return out
    cmin, wl = _F32(p.ndvi_canopy_min), _F32(p.wet_canopy_lswi)
    with np.errstate(invalid="ignore"):
        wet_canopy = ok & (nd >= cmin) & (ls >= wl)
        drained = ok & (nd >= cmin) & (ls < _F32(p.green_harvest_lswi))
    d, n_t = days.astype(_F32), days.size
    # the previous clear date's wet canopy (none before the first clear date)
    last = np.maximum.accumulate(np.where(ok, np.arange(n_t), -1), axis=-1)
    prev = np.full(ok.shape, -1)
    prev[:, 1:] = last[:, :-1]
    prev_wet = np.take_along_axis(wet_canopy, np.maximum(prev, 0), axis=-1) & (prev >= 0)
    # a wet canopy on a later date at most green_link_days on: ahead[t, b] pairs date t with an earlier b
    ahead = (np.arange(n_t)[:, None] > np.arange(n_t)[None, :]) & (d[:, None] - d[None, :] <= _F32(p.green_link_days))
    later = (wet_canopy.astype(np.int32) @ ahead.astype(np.int32)) > 0
    return drained & prev_wet & later


def _plain_clear_gap(ok, days):
    d = np.where(ok, days[None, :].astype(_F32), _F32(np.nan))
    gaps = np.full(ok.shape, np.nan, dtype=_F32)
    last = np.full(ok.shape[0], np.nan, dtype=_F32)
    for t in range(ok.shape[1]):
        gaps[:, t] = d[:, t] - last
        last = np.where(ok[:, t], d[:, t], last)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(gaps, axis=1)
    return np.where(np.isnan(med), _F32(365.0), med).astype(_F32)


def _plain_flood_onsets(flood, ok, in_win, at_series_start, days, gap_days, bare, held=None):
    """Onsets; ``held`` (pixel, time): dates that leave the flood state as it was (``flood_shadow_ndvi``: the flood
    only a missed shadow's EVI read)."""
    n_pix, n_t = flood.shape
    held = np.zeros_like(ok) if held is None else held
    state = np.full(n_pix, 0 if at_series_start else -1, dtype=np.int8)
    onset = np.zeros((n_pix, n_t), dtype=bool)
    last = np.full(n_pix, np.nan, dtype=_F32)  # the previous clear date
    for t in range(n_t):
        # a flood after a clear interval longer than onset_gap_days is an onset (the state over it is unseen)
        with np.errstate(invalid="ignore"):
            regap = (_F32(days[t]) - last > _F32(gap_days)) if gap_days is not None else np.zeros(n_pix, dtype=bool)
        onset[:, t] = flood[:, t] & ((state == 0) | (regap & bare[:, t]))
        state = np.where(ok[:, t] & ~held[:, t], flood[:, t].astype(np.int8), state)
        last = np.where(ok[:, t], _F32(days[t]), last)
    onset &= in_win[None, :]
    return onset


def _plain_pond_end_onsets(flood, ok, in_win, onset, nd, ls, days, p):
    """``pond_end_onset``: a flooded dark date (the flood signal, NDVI <= ``ndvi_low``) that shows standing water
    by NDVI (``LSWI + flood_t >= NDVI``), continues a flooded dark spell (its previous clear date is one, at most
    45 days before) begun more than ``max_flood_days`` earlier, whose next clear date, at most ``gap_days`` later,
    has NDVI above ``ndvi_low`` and after which a short canopy phase follows (``pond_crop_green_days``); not already an onset."""
    n_pix, n_t = flood.shape
    out = np.zeros((n_pix, n_t), dtype=bool)
    if not p.pond_end_onset or p.max_flood_days is None or p.pond_crop_green_days is None:
        return out
    low = _F32(p.ndvi_low)

    def short_canopy(i, after):
        # the canopy phase after the pond: its first canopy date within max_cycle_days, until a date at or below
        # ndvi_trough_max; its canopy dates span at most pond_crop_green_days
        d0 = _F32(days[after[0]]) if after.size else None
        seg = after[1:]
        can = nd[i, seg] >= _F32(p.ndvi_canopy_min)
        if not can.any():
            return False
        j0 = int(np.argmax(can))
        if _F32(days[seg[j0]]) - d0 > _F32(p.max_cycle_days):
            return False
        rest = seg[j0 + 1:]
        stop = np.flatnonzero(nd[i, rest] <= _F32(p.ndvi_trough_max))
        rest = rest[:stop[0]] if stop.size else rest
        later = rest[nd[i, rest] >= _F32(p.ndvi_canopy_min)]
        last = later[-1] if later.size else seg[j0]
        return _F32(days[last]) - _F32(days[seg[j0]]) <= _F32(p.pond_crop_green_days)

    for i in range(n_pix):
        clear = np.flatnonzero(ok[i])
        start, prev = _F32(-1.0), _F32(-1e9)
        for j, t in enumerate(clear):
            d, y = _F32(days[t]), nd[i, t]
            dark = bool(flood[i, t] and y <= low)
            if (dark and in_win[t] and not onset[i, t] and ls[i, t] + _F32(p.flood_t) >= y and start >= 0
                    and d - prev <= 45 and d - start > _F32(p.max_flood_days) and j + 1 < clear.size
                    and nd[i, clear[j + 1]] > low and _F32(days[clear[j + 1]]) - d <= _F32(p.gap_days)
                    and short_canopy(i, clear[j:])):
                out[i, t] = True
            if not dark:
                start = _F32(-1.0)
            elif not (start >= 0 and d - prev <= 45):
                start = d
            if dark:
                prev = d
    return out


def _plain_canopy_after_gap(ok, canopy, wet, days, *, gap_days, scale_days):
    n_pix, n_t = ok.shape
    last = np.full(n_pix, -np.inf, dtype=_F32)
    best = np.full(n_pix, -np.inf, dtype=_F32)
    for t in range(n_t):
        d = _F32(days[t])
        m = np.minimum(canopy[:, t], (d - last - _F32(gap_days)) / scale_days)
        best = np.where(ok[:, t], np.fmax(best, m), best)
        last = np.where(ok[:, t] & ~wet[:, t], d, last)
    return best


def _plain_sparse_field(ok, nd, ls, wet, days, p):
    """Sparse-series field evidence per pixel, and the highest NDVI one year on after the last flooded date."""
    n_pix, n_t = ok.shape
    d = days.astype(_F32)
    n_valid = ok.sum(axis=-1)
    longest = np.zeros(n_pix, dtype=_F32)
    last_ok = np.full(n_pix, np.nan, dtype=_F32)
    last_wet = np.full(n_pix, -np.inf, dtype=_F32)
    for t in range(n_t):
        longest = np.where(ok[:, t] & ~np.isnan(last_ok), np.maximum(longest, d[t] - last_ok), longest)
        last_ok = np.where(ok[:, t], d[t], last_ok)
        last_wet = np.where(ok[:, t] & (wet[:, t] >= 0), d[t], last_wet)
    canopy = (ok & (nd >= _F32(p.ndvi_high)) & (ls >= _F32(p.sparse_canopy_lswi))).any(axis=-1)
    open_water = (ok & (nd < _F32(p.water_ndvi_max)) & (nd < ls)).any(axis=-1)
    sparse = ((n_valid <= p.sparse_max_dates) & (longest >= _F32(p.sparse_gap_days)) & canopy & open_water
              if p.sparse_max_dates is not None else np.zeros(n_pix, dtype=bool))
    on = d[None, :] + _F32(365.0)
    take = ok & (on > last_ok[:, None]) & (on - last_wet[:, None] <= _F32(p.peak_window_days))
    wrapped = np.where(take, nd, _F32(-np.inf)).max(axis=-1, initial=_F32(-np.inf))
    return sparse, wrapped


def _plain_flood_stubble(ok, nd, ls, wet, days, p, scale_days):
    """Best min(deepest open water on bare ground before, stubble, interval since the first open water - days),
    and of the flooded seedbed's vote (``seedbed_ndvi_max``): min(seedbed margin, stubble, interval since the
    episode began - days) where the episode is short, a long clear interval followed and no dry soil before it."""
    n_pix, n_t = ok.shape
    first = np.full(n_pix, np.inf, dtype=_F32)
    deep = np.full(n_pix, -np.inf, dtype=_F32)
    best = np.full(n_pix, -np.inf, dtype=_F32)
    bare = np.full(n_pix, -np.inf, dtype=_F32)
    bare_d = np.full(n_pix, -1e9, dtype=_F32)
    # the same date's margin as the previous crop's canopy standing in water (seedbed_after_canopy)
    crop = np.full(n_pix, -np.inf, dtype=_F32)
    prev_d = np.full(n_pix, np.nan, dtype=_F32)
    b_start, b_spell = np.full(n_pix, np.inf, dtype=_F32), np.full(n_pix, np.inf, dtype=_F32)
    b_open, b_last = np.full(n_pix, -np.inf, dtype=_F32), np.full(n_pix, -np.inf, dtype=_F32)
    b_wide = np.zeros(n_pix, dtype=_F32)
    b_prev = np.zeros(n_pix, dtype=bool)
    b_dry = np.zeros(n_pix, dtype=bool)
    seedbed = p.seedbed_ndvi_max is not None and p.hidden_crop_days is not None
    after_crop = seedbed and p.seedbed_after_canopy and p.wet_canopy_lswi is not None
    lo, hi, dry = _F32(p.harvest_ndvi_min), _F32(p.ndvi_low), _F32(p.harvest_lswi_max)
    sb_hi = _F32(p.seedbed_stubble_ndvi_max)  # the seedbed's stubble bar
    open_max = _F32(p.hidden_open_water_ndvi)
    bare_lswi = _F32(np.inf if p.hidden_bare_lswi_max is None else p.hidden_bare_lswi_max)
    for t in range(n_t):
        d, y, w, o = _F32(days[t]), nd[:, t], ls[:, t], ok[:, t]
        if seedbed:
            with np.errstate(invalid="ignore"):
                b_wide = np.where(o & (prev_d >= b_start), np.maximum(b_wide, d - prev_d), b_wide)
        st = o & (y >= lo) & (y <= hi) & (w < dry)
        with np.errstate(invalid="ignore"):
            sm = np.minimum(np.minimum(y - lo, hi - y), dry - w) / _F32(_SCORE_SCALE)
            m = np.minimum(np.minimum(deep, sm), (d - first - _F32(p.flood_stubble_days)) / scale_days)
        best = np.where(st, np.fmax(best, m), best)
        if seedbed:
            with np.errstate(invalid="ignore"):
                sm_b = np.minimum(np.minimum(y - lo, sb_hi - y), dry - w) / _F32(_SCORE_SCALE)
                v = np.minimum(np.minimum(b_open, sm_b), (d - b_start - _F32(p.flood_stubble_days)) / scale_days)
                gates = ~b_dry & (b_last - b_start <= _F32(p.seedbed_max_days)) & (b_wide >= _F32(p.hidden_crop_days))
            st_b = o & (y >= lo) & (y <= sb_hi) & (w < dry)
            best = np.where(st_b & gates, np.fmax(best, v), best)
        best = np.where(o & (y < _F32(p.water_ndvi_max)) & (y < w), _F32(-np.inf), best)
        op = o & (y <= open_max) & (y < w)
        m = np.minimum(np.minimum(open_max - y, w - y) / _F32(_SCORE_SCALE), bare)
        deep = np.where(op, np.maximum(deep, m), deep)
        first = np.where(op, np.minimum(first, d), first)
        if seedbed:
            sb_max, margin = _F32(p.seedbed_ndvi_max), _F32(p.seedbed_lswi_margin)
            b_dry = b_dry | (o & (d > b_start) & (b_wide < _F32(p.hidden_crop_days)) & (y <= hi) & (w < dry))
            with np.errstate(invalid="ignore"):
                bed = o & (y <= sb_max) & (w - y >= margin)
                q = np.minimum(np.minimum(np.minimum(sb_max - y, w - y - margin) / _F32(_SCORE_SCALE),
                                          np.maximum(bare, crop)),
                               (_F32(p.hidden_flood_link_days) - (d - bare_d)) / scale_days)
            b_spell = np.where(bed & ~b_prev, d, b_spell)
            good = bed & (q >= 0)
            new = good & (b_start != b_spell)
            b_open = np.where(new, q, np.where(good, np.maximum(b_open, q), b_open))
            b_wide = np.where(new, _F32(0.0), b_wide)
            b_dry = np.where(new, False, b_dry)
            b_start = np.where(new, b_spell, b_start)
            b_last = np.where(bed, d, b_last)
            b_prev = np.where(o, bed, b_prev)
        with np.errstate(invalid="ignore"):
            b = np.minimum(_F32(p.ndvi_canopy_min) - y, bare_lswi - w) / _F32(_SCORE_SCALE)
        bare = np.where(o & ~(wet[:, t] >= 0), b, bare)
        if after_crop:
            with np.errstate(invalid="ignore"):
                c = np.minimum(y - _F32(p.ndvi_high), w - _F32(p.wet_canopy_lswi)) / _F32(_SCORE_SCALE)
            crop = np.where(o & ~(wet[:, t] >= 0), c, crop)
        bare_d = np.where(o & ~(wet[:, t] >= 0), d, bare_d)
        prev_d = np.where(o, d, prev_d)
    return best


def _plain_gap_season(ok, nd, ls, days, p, scale_days):
    """Best vote of a season hidden in a gap (``gap_season_lswi``): at the end of each canopy spell that
    began right after a clear interval, min(bare date's margin, interval's, wettest canopy's, season length's)
    (to the last canopy date seen when a clear interval longer than ``gap_season_open_end`` hides the end)."""
    n_pix, n_t = ok.shape
    scale = _F32(_SCORE_SCALE)
    canopy_min, high, bar = _F32(p.ndvi_canopy_min), _F32(p.ndvi_high), _F32(p.gap_season_lswi)
    on = np.zeros(n_pix, dtype=bool)
    low_d = np.zeros(n_pix, dtype=_F32)
    start = np.full(n_pix, -np.inf, dtype=_F32)
    can = np.full(n_pix, -np.inf, dtype=_F32)
    best = np.full(n_pix, -np.inf, dtype=_F32)
    best_open = np.full(n_pix, -np.inf, dtype=_F32)  # votes of spells on the first clear date
    is_open = np.zeros(n_pix, dtype=bool)
    spell_bar = np.full(n_pix, bar, dtype=_F32)  # the spell's canopy bar
    prev_d = np.full(n_pix, np.nan, dtype=_F32)
    prev_y = np.full(n_pix, np.nan, dtype=_F32)
    prev_w = np.full(n_pix, np.nan, dtype=_F32)
    # the next clear date's day and NDVI after each date (NaN: none), for the dip of a canopy spell
    next_d, next_y = np.full((n_pix, n_t), np.nan, dtype=_F32), np.full((n_pix, n_t), np.nan, dtype=_F32)
    nd_, ny_ = np.full(n_pix, np.nan, dtype=_F32), np.full(n_pix, np.nan, dtype=_F32)
    for t in range(n_t - 1, -1, -1):
        next_d[:, t], next_y[:, t] = nd_, ny_
        nd_ = np.where(ok[:, t], _F32(days[t]), nd_)
        ny_ = np.where(ok[:, t], nd[:, t], ny_)
    # every clear date so far, packed (day, NDVI, LSWI), and their count: the young crop's run looks back over them
    h_d, h_y, h_w = (np.full((n_pix, n_t), np.nan, dtype=_F32) for _ in range(3))
    cnt = np.zeros(n_pix, dtype=np.int64)
    first_d = np.full(n_pix, np.nan, dtype=_F32)  # the first clear date
    green_seen = np.zeros(n_pix, dtype=bool)  # a canopy date seen before (gap_season_open_young)
    dry_seen = np.zeros(n_pix, dtype=bool)  # dry soil seen before (LSWI < harvest_lswi_max)
    open_young = (p.gap_season_open_young and p.gap_season_open_start and p.harvest_lswi_max is not None)
    for t in range(n_t):
        d, y, w, o = _F32(days[t]), nd[:, t], ls[:, t], ok[:, t]
        with np.errstate(invalid="ignore", divide="ignore"):
            green, wettest = y >= canopy_min, y >= high
            c = np.minimum(y - high, w - spell_bar) / scale
            # a running spell: its wettest canopy date, or its end and vote; a clear interval longer than
            # gap_season_open_end hides the end, measured then to the last canopy date
            unseen = (d - prev_d > _F32(p.gap_season_open_end)) if p.gap_season_open_end is not None \
                else np.zeros(n_pix, dtype=bool)
            can = np.where(o & on & green & wettest & ~unseen, np.maximum(can, c), can)
            last = np.where(unseen, prev_d, d)
            vote = np.minimum(np.minimum(start, can), (_F32(p.gap_season_days) - (last - low_d)) / scale_days)
            # one clear date below canopy greenness between canopy dates at most gap_season_dip_days apart is
            # passed over (gap_season_dip_days)
            dip = np.zeros(n_pix, dtype=bool) if p.gap_season_dip_days is None else (
                ~is_open & ~unseen & ~green & (next_y[:, t] >= canopy_min) & (next_d[:, t] - prev_d <= _F32(p.gap_season_dip_days)))
            ends = o & on & (~green | unseen) & ~dip
            best = np.where(ends & ~is_open, np.fmax(best, vote), best)
            best_open = np.where(ends & is_open, np.fmax(best_open, vote), best_open)
            # a new spell: a canopy date right after a clear interval (not the first clear date)
            gap = d - prev_d
            low = np.minimum(_F32(p.gap_season_low_ndvi) - prev_y, _F32(p.gap_season_low_lswi) - prev_w) / scale
            s0 = np.minimum(low, np.minimum(gap - _F32(p.gap_season_min_gap), _F32(p.gap_season_max_gap) - gap)
                            / scale_days)
            new = o & ~on & green & ~np.isnan(prev_d)
            start_d = prev_d
            if p.gap_season_young_days is not None:
                # or through a young crop on wetted soil on the first clear date(s) after the interval: the
                # run of the L clear dates before this one (L = 1 only without gap_season_young_run), all
                # within gap_season_young_days of this date, the bare date the one before them
                new_bar = np.full(n_pix, bar, dtype=_F32)
                wet = np.full(n_pix, np.inf, dtype=_F32)
                alive = np.ones(n_pix, dtype=bool)
                rows = np.arange(n_pix)
                for run in range(1, n_t):
                    j, b = cnt - run, cnt - run - 1  # history slots of the run's first date and the bare date
                    alive &= b >= 0
                    if run > 1 and not p.gap_season_young_run:
                        alive[:] = False
                    jd = np.where(alive, h_d[rows, np.maximum(j, 0)], np.nan)
                    alive &= d - jd <= _F32(p.gap_season_young_days)
                    if not alive.any():
                        break
                    jc, bc = np.maximum(j, 0), np.maximum(b, 0)
                    gap2 = h_d[rows, jc] - h_d[rows, bc]
                    low2 = np.minimum(_F32(p.gap_season_low_ndvi) - h_y[rows, bc],
                                      _F32(p.gap_season_low_lswi) - h_w[rows, bc]) / scale
                    wet = np.where(alive, np.minimum(wet, np.minimum(h_w[rows, jc] - _F32(p.gap_season_young_soil_lswi),
                                                                     canopy_min - h_y[rows, jc]) / scale), wet)
                    via = np.minimum(np.minimum(low2, wet), np.minimum(gap2 - _F32(p.gap_season_min_gap),
                                                                       _F32(p.gap_season_max_gap) - gap2) / scale_days)
                    take = alive & (via > s0)
                    s0 = np.where(take, via, s0)
                    start_d = np.where(take, h_d[rows, bc], start_d)
                    new_bar = np.where(take, _F32(p.gap_season_young_lswi), new_bar)
            else:
                new_bar = np.full(n_pix, bar, dtype=_F32)
            # or a spell on the first clear date (gap_season_open_start): the series' start hides the bare
            # date and the interval, taken as the shortest interval before it
            first = o & ~on & green & np.isnan(prev_d) & p.gap_season_open_start
            if open_young:
                # or the series' first spell soon after its start, after young-crop dates on soil not dry
                first |= (new & ~green_seen & ~dry_seen & (d - first_d < _F32(p.gap_season_min_gap)))
            s0 = np.where(first, _F32(np.inf), s0)
            start_d = np.where(first, d - _F32(p.gap_season_min_gap), start_d)
            new_bar = np.where(first, bar, new_bar)
            new = new | first
            c_new = np.minimum(y - high, w - new_bar) / scale
        is_open = np.where(new, first, is_open)
        start = np.where(new, s0, start)
        can = np.where(new, np.where(wettest, c_new, _F32(-np.inf)), can)
        spell_bar = np.where(new, new_bar, spell_bar)
        low_d = np.where(new, start_d, low_d)
        on = np.where(ends, False, np.where(new, True, on))
        if open_young:
            with np.errstate(invalid="ignore"):
                green_seen |= o & green
                dry_seen |= o & (w < _F32(p.harvest_lswi_max))
            first_d = np.where(o & np.isnan(first_d), d, first_d)
        h_d[o, cnt[o]], h_y[o, cnt[o]], h_w[o, cnt[o]] = d, y[o], w[o]
        cnt = cnt + o
        prev_d = np.where(o, d, prev_d)
        prev_y = np.where(o, y, prev_y)
        prev_w = np.where(o, w, prev_w)
    if p.gap_season_cut_end:
        # a spell still running on the last clear date: the series' end hides the harvest (gap_season_cut_end)
        with np.errstate(invalid="ignore"):
            vote = np.minimum(np.minimum(start, can), (_F32(p.gap_season_days) - (prev_d - low_d)) / scale_days)
        best = np.where(on & ~is_open, np.fmax(best, vote), best)
        best_open = np.where(on & is_open, np.fmax(best_open, vote), best_open)
    return best, best_open


def _plain_pond_crop(ok, nd, ls, flood, days, p):
    """A pond, then one rice crop (``pond_crop_green_days``): the package's whole-array reading, which the
    self-trained label step also uses, is the reference the compiled walk must match."""
    from agromap.rice.pond_crop import pond_then_crop

    return pond_then_crop(ok, nd, ls, flood, days, p)


def _plain_repuddled(ok, nd, ls, days, p):
    """``shrub_repuddle_drop``: a canopy standing in water, then within ``hidden_flood_link_days`` seedlings in
    water (the seedbed's test) at least the drop below that canopy's NDVI."""
    n_pix, n_t = ok.shape
    out = np.zeros(n_pix, dtype=bool)
    if p.shrub_repuddle_drop is None or p.seedbed_ndvi_max is None or p.wet_canopy_lswi is None:
        return out
    last_d, last_y = np.full(n_pix, -1e9, dtype=_F32), np.zeros(n_pix, dtype=_F32)
    for t in range(n_t):
        d, y, w, o = _F32(days[t]), nd[:, t], ls[:, t], ok[:, t]
        with np.errstate(invalid="ignore"):
            bed = (o & (y <= _F32(p.seedbed_ndvi_max)) & (w - y >= _F32(p.seedbed_lswi_margin))
                   & (d - last_d <= _F32(p.hidden_flood_link_days)) & (last_y - y >= _F32(p.shrub_repuddle_drop)))
            crop = o & (y >= _F32(p.ndvi_high)) & (w >= _F32(p.wet_canopy_lswi))
        out |= bed
        last_d, last_y = np.where(crop, d, last_d), np.where(crop, y, last_y)
    return out


def _plain_shrub_flood(ok, nd, ev, flood, days, p):
    """``shrub_flood_evi``: on a sparse series, a flooded trough (NDVI <= ``ndvi_low``, EVI <= the bar) whose
    previous or next clear date is at NDVI <= ``ndvi_low`` too, on a pixel with a canopy (NDVI >= ``ndvi_high``)
    on at least ``shrub_flood_canopy_share`` of its clear dates."""
    n_pix, n_t = ok.shape
    if p.shrub_flood_evi is None or p.shrub_lswi_min is None or p.sparse_max_dates is None:
        return np.zeros(n_pix, dtype=bool)
    with np.errstate(invalid="ignore"):
        low = ok & (nd <= _F32(p.ndvi_low))
        deep = flood & low & (ev <= _F32(p.shrub_flood_evi))
        canopy = (ok & (nd >= _F32(p.ndvi_high))).sum(axis=-1)
    near = np.zeros((n_pix, n_t), dtype=bool)
    for order in (range(n_t), range(n_t - 1, -1, -1)):  # the clear date before, then the one after
        seen = np.zeros(n_pix, dtype=bool)
        for t in order:
            near[:, t] |= seen
            seen = np.where(ok[:, t], low[:, t], seen)
    return (_plain_sparse_axis(ok, days, p) & (deep & near).any(axis=-1)
            & (canopy.astype(_F32) >= _F32(p.shrub_flood_canopy_share) * ok.sum(axis=-1).astype(_F32)))


def _plain_flooded_field(ok, nd, ls, p):
    """A clear date of a flooded bare field (``flood_not_evergreen``): no evergreen canopy shows one."""
    if p.flood_not_evergreen is None:
        return np.zeros(ok.shape[0], dtype=bool)
    with np.errstate(invalid="ignore"):
        return (ok & (nd <= _F32(p.ndvi_low)) & (ls - nd >= _F32(p.flood_not_evergreen))).any(axis=-1)


def _plain_sparse_axis(ok, days, p):
    """A sparse series per pixel: at most ``sparse_max_dates`` clear dates and a clear interval of at least
    ``sparse_gap_days``."""
    d = days.astype(_F32)
    longest = np.zeros(ok.shape[0], dtype=_F32)
    last_ok = np.full(ok.shape[0], np.nan, dtype=_F32)
    for t in range(ok.shape[1]):
        longest = np.where(ok[:, t] & ~np.isnan(last_ok), np.maximum(longest, d[t] - last_ok), longest)
        last_ok = np.where(ok[:, t], d[t], last_ok)
    return (ok.sum(axis=-1) <= p.sparse_max_dates) & (longest >= _F32(p.sparse_gap_days))


def _plain_dry_field(ok, nd, ls, days, p):
    """A clear date of bare, dry ground (``dry_not_evergreen``) on a sparse series: no evergreen canopy shows one."""
    if p.dry_not_evergreen is None or p.sparse_max_dates is None:
        return np.zeros(ok.shape[0], dtype=bool)
    with np.errstate(invalid="ignore"):
        return _plain_sparse_axis(ok, days, p) & (ok & (nd <= _F32(p.ndvi_low)) & (ls < _F32(p.dry_not_evergreen))).any(axis=-1)


def _plain_pond_ripe(ok, nd, ls, days, p):
    """On a sparse series, open water on clear dates at least ``max_flood_days`` apart, then after the last of them
    a ripening crop (``pond_ripe_ndvi`` <= NDVI < ``ndvi_high``, LSWI >= ``harvest_lswi_max``) and later stubble on
    dry soil."""
    n_pix = ok.shape[0]
    if p.pond_ripe_ndvi is None or p.harvest_lswi_max is None or p.sparse_max_dates is None:
        return np.zeros(n_pix, dtype=bool)
    d = days.astype(_F32)
    first = np.full(n_pix, np.inf, _F32)
    last = np.full(n_pix, -np.inf, _F32)
    ripe = np.zeros(n_pix, dtype=bool)
    out = np.zeros(n_pix, dtype=bool)
    with np.errstate(invalid="ignore"):
        for t in range(ok.shape[1]):
            y, w, o = nd[:, t], ls[:, t], ok[:, t]
            water = o & (y < _F32(p.water_ndvi_max)) & (y < w)
            stubble = (o & ~water & ripe & (y >= _F32(p.harvest_ndvi_min)) & (y <= _F32(p.ndvi_low))
                       & (w < _F32(p.harvest_lswi_max)))
            grow = (o & ~water & ~stubble & (last - first >= _F32(p.max_flood_days)) & (y >= _F32(p.pond_ripe_ndvi))
                    & (y < _F32(p.ndvi_high)) & (w >= _F32(p.harvest_lswi_max)))
            out |= stubble
            ripe = np.where(water, False, ripe | grow)
            first = np.where(water, np.minimum(first, d[t]), first)
            last = np.where(water, d[t], last)
    return out & _plain_sparse_axis(ok, days, p)


# ---- the whole-array numpy kernel (reference) -------------------------------------------------

def _ref_growth_margin(
    nd: npt.NDArray[np.float32], ev: npt.NDArray[np.float32], t: int, days: npt.NDArray[np.int32],
    p: OpticalRiceParams, ls: npt.NDArray[np.float32] | None = None, fl: npt.NDArray[np.bool_] | None = None,
    pond_end: npt.NDArray[np.bool_] | None = None,
) -> tuple[npt.NDArray[np.float32], int]:
    """Growth-confirmation margin (>= 0 passes) of onsets at index ``t``, and the cycle's end index; the onsets
    at a pond's end (``pond_end``) take neither the young flood's vote nor the early-vegetation one."""
    keep = np.zeros(nd.shape[0], dtype=bool) if pond_end is None else pond_end
    d0 = float(days[t])
    i_grow = rules_optical._stretched_end(days, d0 + p.growth_days)
    i_cyc = rules_optical._stretched_end(days, d0 + p.peak_window_days)
    i_tr = rules_optical._stretched_end(days, d0 + p.trough_days)
    evi_max = masked_max(ev[:, t:i_cyc])  # includes the onset, so finite
    xiao = np.minimum(masked_max(ev[:, t + 1:i_grow]) - _F32(p.growth_ratio) * evi_max,
                      evi_max - _F32(p.min_peak_evi))
    trough = masked_min(nd[:, t:i_tr])
    canopy = masked_max(nd[:, t + 1:i_cyc])
    climb = np.minimum(np.minimum(_F32(p.ndvi_trough_max) - trough, canopy - trough - _F32(p.ndvi_climb_min)),
                       canopy - _F32(p.ndvi_canopy_min))
    rules = {"xiao": xiao, "ndvi": climb, "either": np.maximum(xiao, climb), "both": np.minimum(xiao, climb)}
    margin = rules[p.growth_rule]
    i_pre = int(np.searchsorted(days, d0 + p.peak_window_days, side="right"))
    if p.gap_canopy_rise is not None and i_cyc > i_pre > t + 1:
        # the canopy only after the gap the cycle is stretched over, the last date before it a month after an onset
        # read from open water or through a green cover
        pre = nd[:, t + 1:i_pre]
        seen = np.isfinite(pre)
        last_i = np.where(seen.any(axis=1), pre.shape[1] - 1 - np.argmax(seen[:, ::-1], axis=1), -1)
        late = (last_i >= 0) & (days[t + 1 + np.maximum(last_i, 0)] >= d0 + p.gap_canopy_seen_days)
        top = np.where(seen.any(axis=1), masked_max(pre), -np.inf)
        after = masked_max(nd[:, t + 1:i_cyc]) > top
        onset_nd = nd[:, t]
        typed = (onset_nd < _F32(p.water_ndvi_max)) | (ls[:, t] + _F32(p.flood_t) < onset_nd) if ls is not None else False
        rise = (top - onset_nd - _F32(p.gap_canopy_rise)).astype(_F32)
        margin = np.where(late & after & typed, np.minimum(margin, rise), margin)
    if p.dry_lswi_max is not None and ls is not None and fl is not None:
        margin = np.minimum(margin, _ref_dry_margin(nd, ls, fl, t, i_cyc, p))
    if p.wet_canopy_lswi is not None and ls is not None:
        margin = np.minimum(margin, _ref_wet_canopy_margin(nd, ls, t, i_cyc, p, p.wet_canopy_lswi, ev))
        if p.cycle_wet_share is not None:
            margin = np.minimum(margin, _ref_cycle_wet_share(nd, ev, ls, t, i_cyc, p))
    if p.weak_flood_canopy_lswi is not None and ls is not None:
        # an onset without standing water by NDVI (its flood signal only through EVI) needs a wetter canopy
        weak = ls[:, t] + _F32(p.flood_t) < nd[:, t]
        wet = _ref_wet_canopy_margin(nd, ls, t, i_cyc, p, p.weak_flood_canopy_lswi, ev)
        margin = np.where(weak, np.minimum(margin, wet), margin)
    if p.young_flood_t is not None and p.early_ndvi_days is not None and ls is not None:
        i_young = int(np.searchsorted(days, d0 + p.early_ndvi_days, side="right"))
        i_reflood = int(np.searchsorted(days, d0 + (p.young_reflood_days or 0.0), side="right"))
        margin = np.where(keep, margin, np.minimum(margin, _ref_young_flood_margin(nd, ev, ls, t, i_young, p, i_reflood)))
    if p.early_ndvi_days is not None:
        i_e = int(np.searchsorted(days, d0 + p.early_ndvi_days, side="right"))
        seg = nd[:, t + 1:i_e]
        if seg.shape[1]:
            peak = masked_max(seg)
            first = np.isnan(nd[:, :t]).all(axis=1)
            early = np.where(np.isfinite(peak) & ~first, _F32(p.ndvi_trough_max) - peak, _F32(np.inf)).astype(_F32)
            margin = np.where(keep, margin, np.minimum(margin, early))
    return margin.astype(_F32), i_cyc


def _ref_wet_canopy_margin(nd: npt.NDArray[np.float32], ls: npt.NDArray[np.float32], t: int, i_cyc: int,
                             p: OpticalRiceParams, bar: float, ev: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Margin (index units) of "some canopy date of the cycle after the onset at ``t`` is wet".

    The wettest canopy date (NDVI >= ``ndvi_canopy_min``) in (onset, cycle end) minus ``bar``
    (``wet_canopy_lswi``, or ``weak_flood_canopy_lswi`` after an onset without standing water). A
    paddy holds water under its canopy until two or three weeks before harvest, so at least one
    canopy date of its cycle shows it; a rain puddle followed by an upland crop, or a missed cloud
    shadow that faked the flood, is followed by a dry canopy. With ``wet_canopy_evi_ratio``, a canopy
    date whose EVI is below that fraction of its NDVI (a missed cloud shadow) is not read.
    +inf (no vote) where the cycle shows no canopy date.
    """
    seg_ls = ls[:, t + 1:i_cyc]
    if seg_ls.shape[1] == 0:
        return np.full(nd.shape[0], np.inf, dtype=_F32)
    wet = np.where(_ref_read_canopy(nd, ev, t, i_cyc, p), seg_ls, _F32(-np.inf))
    wettest = wet.max(axis=1)
    return np.where(np.isneginf(wettest), _F32(np.inf), wettest - _F32(bar)).astype(_F32)


def _ref_young_flood_margin(nd: npt.NDArray[np.float32], ev: npt.NDArray[np.float32], ls: npt.NDArray[np.float32],
                            t: int, i_early: int, p: OpticalRiceParams, i_reflood: int = 0) -> npt.NDArray[np.float32]:
    """Margin of "the paddy still stands in water after the onset at ``t``" (``young_flood_t``): over the clear
    dates in (onset, ``i_early``: the end of its ``early_ndvi_days``) before the first canopy date (NDVI >=
    ``ndvi_canopy_min``), the best ``LSWI + young_flood_t - min(EVI, NDVI)``, NDVI alone on a date under a
    missed cloud shadow (EVI below ``wet_canopy_evi_ratio`` x NDVI). +inf (no vote) without such a date or
    when the onset is the first clear date. A failing margin may be lifted by the young crop's second flood
    (``young_reflood_days``: :func:`_ref_young_reflood`, dates ``i_early`` to before ``i_reflood``).
    """
    assert p.young_flood_t is not None
    seg_nd, seg_ev, seg_ls = nd[:, t + 1:i_early], ev[:, t + 1:i_early], ls[:, t + 1:i_early]
    inf = np.full(nd.shape[0], np.inf, dtype=_F32)
    if seg_nd.shape[1] == 0:
        return inf
    before = np.cumsum(np.nan_to_num(seg_nd, nan=-1.0) >= _F32(p.ndvi_canopy_min), axis=1) == 0
    with np.errstate(invalid="ignore"):
        low = np.minimum(seg_ev, seg_nd)
        if p.wet_canopy_evi_ratio is not None:
            low = np.where(seg_ev < _F32(p.wet_canopy_evi_ratio) * seg_nd, seg_nd, low)
    m = np.where(before & np.isfinite(seg_nd), (seg_ls + _F32(p.young_flood_t)) - low, _F32(-np.inf))
    best = m.max(axis=1)
    if p.young_reflood_days is not None and p.wet_canopy_lswi is not None:
        with np.errstate(invalid="ignore"):
            lift = np.isfinite(best) & (best < 0)
        best = np.where(lift, np.maximum(best, _ref_young_reflood(nd, ev, ls, t, i_early, i_reflood, p)), best)
    first = np.isnan(nd[:, :t]).all(axis=1)
    return np.where(np.isneginf(best) | first, inf, best).astype(_F32)


def _ref_young_reflood(nd: npt.NDArray[np.float32], ev: npt.NDArray[np.float32], ls: npt.NDArray[np.float32],
                       t: int, i_early: int, i_reflood: int, p: OpticalRiceParams) -> npt.NDArray[np.float32]:
    """The young crop's second flood (``young_reflood_days``): over the clear dates in [``i_early``, ``i_reflood``)
    before the first with NDVI >= ``ndvi_high`` and up to the first that passes, the best, on a date whose NDVI is
    ``young_reflood_rise`` above the highest from the onset to the date before, of the lower of ``LSWI +
    young_flood_t - min(EVI, NDVI)`` (NDVI alone under a missed shadow) and ``LSWI - wet_canopy_lswi``; -inf
    without such a date.
    """
    assert p.young_flood_t is not None and p.wet_canopy_lswi is not None
    seg_nd, seg_ev, seg_ls = nd[:, i_early:i_reflood], ev[:, i_early:i_reflood], ls[:, i_early:i_reflood]
    if seg_nd.shape[1] == 0:
        return np.full(nd.shape[0], -np.inf, dtype=_F32)
    before = np.cumsum(np.nan_to_num(seg_nd, nan=-1.0) >= _F32(p.ndvi_high), axis=1) == 0
    peak = np.fmax.accumulate(nd[:, t:i_reflood], axis=1)[:, i_early - t - 1:i_reflood - t - 1]
    with np.errstate(invalid="ignore"):
        low = np.minimum(seg_ev, seg_nd)
        if p.wet_canopy_evi_ratio is not None:
            low = np.where(seg_ev < _F32(p.wet_canopy_evi_ratio) * seg_nd, seg_nd, low)
        m = np.minimum((seg_ls + _F32(p.young_flood_t)) - low, seg_ls - _F32(p.wet_canopy_lswi))
        read = before & np.isfinite(seg_nd)
        wet = read & (m >= 0)
        read &= (np.cumsum(wet, axis=1) - wet) == 0  # up to the first date in water again
        read &= seg_nd >= peak + _F32(p.young_reflood_rise)
    m = np.where(read, m, _F32(-np.inf))
    return m.max(axis=1)


def _ref_read_canopy(nd: npt.NDArray[np.float32], ev: npt.NDArray[np.float32], t: int, i_cyc: int,
                     p: OpticalRiceParams) -> npt.NDArray[np.bool_]:
    """The canopy dates in (onset ``t``, cycle end) read for water: NDVI >= ``ndvi_canopy_min`` and, with
    ``wet_canopy_evi_ratio``, EVI at least that fraction of NDVI (not a missed cloud shadow)."""
    seg_nd, seg_ev = nd[:, t + 1:i_cyc], ev[:, t + 1:i_cyc]
    read = np.nan_to_num(seg_nd, nan=-1.0) >= _F32(p.ndvi_canopy_min)
    if p.wet_canopy_evi_ratio is not None:
        with np.errstate(invalid="ignore"):
            read &= seg_ev >= _F32(p.wet_canopy_evi_ratio) * seg_nd
    return read


def _ref_cycle_wet_share(nd: npt.NDArray[np.float32], ev: npt.NDArray[np.float32], ls: npt.NDArray[np.float32],
                         t: int, i_cyc: int, p: OpticalRiceParams) -> npt.NDArray[np.float32]:
    """Share of the cycle's canopy dates read for water that stand in it (LSWI >= ``wet_canopy_lswi``) minus
    ``cycle_wet_share``; +inf (no vote) without a canopy date read."""
    assert p.cycle_wet_share is not None and p.wet_canopy_lswi is not None
    read = _ref_read_canopy(nd, ev, t, i_cyc, p)
    n_read = read.sum(axis=1)
    with np.errstate(invalid="ignore"):
        n_wet = (read & (ls[:, t + 1:i_cyc] >= _F32(p.wet_canopy_lswi))).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = n_wet.astype(_F32) / n_read.astype(_F32) - _F32(p.cycle_wet_share)
    return np.where(n_read > 0, share, _F32(np.inf)).astype(_F32)


def _ref_dry_margin(nd: npt.NDArray[np.float32], ls: npt.NDArray[np.float32], fl: npt.NDArray[np.bool_], t: int,
                i_cyc: int, p: OpticalRiceParams) -> npt.NDArray[np.float32]:
    """Margin (index units / 0.05) of "no dry bare date between the flood onset at ``t`` and the canopy".

    A paddy stays flooded from puddling until its canopy closes; a rain puddle on a dryland field
    dries out (LSWI < 0 over bare soil) before the crop grows. Dates from the first canopy date
    (NDVI >= ``ndvi_canopy_min``) on are not looked at; +inf where no bare date is seen.
    """
    seg_nd, seg_ls, seg_fl = nd[:, t + 1:i_cyc], ls[:, t + 1:i_cyc], fl[:, t + 1:i_cyc]
    if seg_nd.shape[1] == 0:
        return np.full(nd.shape[0], np.inf, dtype=_F32)
    before_canopy = np.cumsum(np.nan_to_num(seg_nd, nan=-1.0) >= _F32(p.ndvi_canopy_min), axis=1) == 0
    bare = before_canopy & ~seg_fl & (seg_nd <= _F32(p.ndvi_trough_max)) & np.isfinite(seg_ls)
    m = np.where(bare, (seg_ls - _F32(p.dry_lswi_max)) / _F32(_SCORE_SCALE), _F32(np.inf))
    return m.min(axis=1)


def _ref_date_span(sel: npt.NDArray[np.bool_], days: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
    """Days from the first to the last selected date of each pixel (0 with fewer than two)."""
    d = days[None, :].astype(_F32)
    first = np.where(sel, d, _F32(np.inf)).min(axis=-1)
    last = np.where(sel, d, _F32(-np.inf)).max(axis=-1)
    return np.where(sel.any(axis=-1), last - first, _F32(0.0)).astype(_F32)


def _ref_hidden_crop_margin(
    wet: npt.NDArray[np.float32], ok: npt.NDArray[np.bool_], flood: npt.NDArray[np.bool_], nd: npt.NDArray[np.float32],
    ls: npt.NDArray[np.float32], days: npt.NDArray[np.int32], p: OpticalRiceParams, scale_days: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Margin of "a paddy season hidden in a cloud gap": flooded on bare ground before it, drained after.

    For every gap between two successive clear dates, all of:

    - the two clear dates before the gap both show the paddy flood signal (``wet`` >= 0: LSWI + T
      >= min(EVI, NDVI), LSWI > 0, NDVI <= 0.4), at most ``hidden_flood_link_days`` apart: a paddy
      stays flooded for weeks from puddling on, a rain puddle dries within days; or (with
      ``hidden_open_water_ndvi``) the one clear date before the gap shows the flood signal with
      NDVI at most that: the whole field under open water, as a bunded paddy is;
    - the flooded spell began on bare, dry ground: the last clear date without the flood signal
      before it has NDVI < ``ndvi_canopy_min`` and LSWI < ``hidden_bare_lswi_max``. A paddy is puddled on
      tilled soil; a seasonal wetland floods over its sedge and grass, still green and moist;
    - the gap is at least ``hidden_crop_days`` long, so the crop's canopy could fall inside it;
    - the first clear date after the gap is not flooded: paddies are drained for the harvest,
      while ponds, water bodies and wetlands in their flood season are still under water.

    The margin is the smallest of the wet margins and the bare-ground margin (index units /
    0.05) and the gap excess in units of ``scale_days``; -inf after a flooded date; the best
    gap of each pixel counts. It is weak evidence on its own (no canopy was seen), hence
    undated and never used with calendar windows.

    Also returns the state the series' end reads (``end_reflood``): the pending vote of a flood after the gap
    still unanswered on the last date (-inf: none), its day and its date index (``n_t``: none).
    """
    n_pix, n_t = wet.shape
    ninf = _F32(-np.inf)
    last_d = np.full(n_pix, -1e9, dtype=_F32)  # day of the last clear date ...
    prev_d = np.full(n_pix, -2e9, dtype=_F32)  # ... and of the clear date before it
    last_w = np.full(n_pix, ninf, dtype=_F32)  # their wet margins
    prev_w = np.full(n_pix, ninf, dtype=_F32)
    dry_nd = np.full(n_pix, np.inf, dtype=_F32)  # NDVI and LSWI of the last clear date without flood
    dry_ls = np.full(n_pix, np.inf, dtype=_F32)
    dry_d = np.zeros(n_pix, dtype=_F32)  # ... and its day
    dry_lswi = _F32(np.inf if p.hidden_bare_lswi_max is None else p.hidden_bare_lswi_max)
    last_nd = np.full(n_pix, np.inf, dtype=_F32)  # NDVI of the last clear date
    onset_bare = np.full(n_pix, ninf, dtype=_F32)  # bare-ground margin of the current flooded spell
    best = np.full(n_pix, ninf, dtype=_F32)
    # a flood after the gap (hidden_reflood_days): its pending vote, day and NDVI
    reflood = p.hidden_reflood_days is not None
    r_pend = np.full(n_pix, ninf, dtype=_F32)
    r_day = np.zeros(n_pix, dtype=_F32)
    r_nd = np.zeros(n_pix, dtype=_F32)
    r_t = np.full(n_pix, n_t, dtype=np.int64)
    wet_t, ok_t, flood_t, nd_t, ls_t = (np.ascontiguousarray(a.T) for a in (wet, ok, flood, nd, ls))
    for t in range(n_t):
        d, o, w = _F32(days[t]), ok_t[t], wet_t[t]
        linked = last_d - prev_d <= _F32(p.hidden_flood_link_days)
        wet_before = np.minimum(last_w, np.where(linked, prev_w, ninf)) / _F32(_SCORE_SCALE)
        if p.hidden_open_water_ndvi is not None:
            one = np.minimum(last_w, _F32(p.hidden_open_water_ndvi) - last_nd) / _F32(_SCORE_SCALE)
            wet_before = np.maximum(wet_before, one)
        gap = (d - last_d - _F32(p.hidden_crop_days)) / scale_days
        m = np.where(flood_t[t], ninf, np.minimum.reduce([wet_before, gap, onset_bare]))
        best = np.where(o, np.maximum(best, m), best)
        if reflood:
            # a young crop on wetted soil soon after a flood that followed the gap (hidden_reflood_days), not
            # within early_ndvi_days of it
            y, lw = nd_t[t], ls_t[t]
            since = d - r_day
            young = (~flood_t[t] & ((onset_bare != ninf) | (scale_days == 0)) & (r_pend != ninf)
                     & (since <= _F32(p.hidden_reflood_days)) & (y > r_nd))
            if p.early_ndvi_days is not None:
                young &= ~(since <= _F32(p.early_ndvi_days))
            m2 = np.where(young, np.minimum(r_pend, (lw - _F32(p.gap_season_low_lswi)) / _F32(_SCORE_SCALE)), ninf)
            best = np.where(o, np.maximum(best, m2), best)
            again = flood_t[t] & (w >= 0) & (onset_bare != ninf) & (d - last_d >= _F32(p.hidden_crop_days))
            pend = np.minimum(np.minimum(wet_before, gap), onset_bare)
            r_pend = np.where(o & ~flood_t[t], ninf, np.where(o & again, pend, r_pend))
            r_day = np.where(o & again, d, r_day)
            r_nd = np.where(o & again, y, r_nd)
            r_t = np.where(o & again, t, r_t)
        is_wet = w >= 0
        bare = np.minimum(_F32(p.ndvi_canopy_min) - dry_nd, dry_lswi - dry_ls) / _F32(_SCORE_SCALE)
        if p.hidden_canopy_lswi is not None:
            # or the previous crop's canopy standing in water, at most hidden_flood_link_days before the flood
            with np.errstate(invalid="ignore", divide="ignore"):
                crop = np.minimum(dry_nd - _F32(p.ndvi_high), dry_ls - _F32(p.hidden_canopy_lswi)) / _F32(_SCORE_SCALE)
                crop = np.minimum(crop, (_F32(p.hidden_flood_link_days) - (d - dry_d)) / scale_days)
            bare = np.where(dry_nd != _F32(np.inf), np.maximum(bare, crop), bare)
        onset_bare = np.where(o & is_wet & ~(last_w >= 0), bare, onset_bare)
        dry_nd = np.where(o & ~is_wet, nd_t[t], dry_nd)
        dry_ls = np.where(o & ~is_wet, ls_t[t], dry_ls)
        dry_d = np.where(o & ~is_wet, d, dry_d)
        prev_w, prev_d = np.where(o, last_w, prev_w), np.where(o, last_d, prev_d)
        last_w, last_d = np.where(o, w, last_w), np.where(o, d, last_d)
        last_nd = np.where(o, nd_t[t], last_nd)
    return best, r_pend, r_day, r_t


def _ref_young_before_gap_margin(
    ok: npt.NDArray[np.bool_], nd: npt.NDArray[np.float32], ls: npt.NDArray[np.float32], days: npt.NDArray[np.int32],
    p: OpticalRiceParams, scale_days: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Margin of "a young crop before the gap" (``hidden_young_rise``): a flooded spell that NDVI reads
    (LSWI + T >= NDVI, LSWI > 0, NDVI <= ``ndvi_low``) after a bare, dry date; within
    ``hidden_young_days`` of its last flooded date a young crop (NDVI ``ndvi_climb_min`` above the
    flood's lowest and ``hidden_young_rise`` above the bare date, LSWI >= ``gap_season_young_soil_lswi``)
    on the last clear date before an interval of at least ``hidden_crop_days``; the date after it not wet.
    -inf everywhere when the term is off.
    """
    n_pix, n_t = nd.shape
    ninf, pinf, sc = _F32(-np.inf), _F32(np.inf), _F32(_SCORE_SCALE)
    if p.hidden_young_rise is None or p.hidden_crop_days is None:
        return np.full(n_pix, ninf, dtype=_F32)
    t_allow = _F32(p.flood_t)
    spell = np.full(n_pix, ninf, dtype=_F32)  # bare margin of the current flooded spell
    fmin = np.full(n_pix, pinf, dtype=_F32)  # its lowest NDVI
    pre = np.full(n_pix, pinf, dtype=_F32)  # NDVI of the bare date before it
    flast = np.full(n_pix, -1e9, dtype=_F32)  # its last flooded day
    prev_fl = np.zeros(n_pix, dtype=bool)
    pend = np.full(n_pix, ninf, dtype=_F32)  # the previous clear date's vote as the young crop
    last_d = np.full(n_pix, np.nan, dtype=_F32)  # the previous clear date: day, NDVI, LSWI
    last_y = np.full(n_pix, np.nan, dtype=_F32)
    last_l = np.full(n_pix, np.nan, dtype=_F32)
    best = np.full(n_pix, ninf, dtype=_F32)
    ok_t, nd_t, ls_t = (np.ascontiguousarray(a.T) for a in (ok, nd, ls))
    for t in range(n_t):
        o, y, lw, d = ok_t[t], nd_t[t], ls_t[t], _F32(days[t])
        with np.errstate(invalid="ignore"):
            nf = (lw + t_allow >= y) & (lw > 0) & (y <= _F32(p.ndvi_low))
            drained = np.maximum(y - lw - t_allow, -lw) / sc
            vote = np.minimum(np.minimum(pend, (d - last_d - _F32(p.hidden_crop_days)) / scale_days), drained)
            best = np.where(o & (pend != ninf), np.fmax(best, vote), best)
            pend = np.where(o, ninf, pend)
            seen = ~np.isnan(last_d)
            new = o & nf & ~prev_fl
            bare = np.where(seen, np.minimum(_F32(p.ndvi_canopy_min) - last_y, _F32(p.gap_season_low_lswi) - last_l) / sc,
                            ninf)
            spell = np.where(new, bare, spell)
            fmin = np.where(new, y, np.where(o & nf, np.minimum(fmin, y), fmin))
            pre = np.where(new, np.where(seen, last_y, pinf), pre)
            flast = np.where(o & nf, d, flast)
            young = o & ~nf & (spell != ninf) & (d - flast <= _F32(p.hidden_young_days))
            q = np.minimum(np.minimum(spell, (y - fmin - _F32(p.ndvi_climb_min)) / sc),
                           np.minimum(y - pre - _F32(p.hidden_young_rise), lw - _F32(p.gap_season_young_soil_lswi)) / sc)
            pend = np.where(young, q, pend)
        prev_fl = np.where(o, nf, prev_fl)
        last_d, last_y, last_l = np.where(o, d, last_d), np.where(o, y, last_y), np.where(o, lw, last_l)
    return best


def _ref_end_flood_margin(
    ok: npt.NDArray[np.bool_], nd: npt.NDArray[np.float32], ls: npt.NDArray[np.float32], days: npt.NDArray[np.int32],
    p: OpticalRiceParams, scale_days: npt.NDArray[np.float32], flood: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float32]:
    """Margin of "a flood cut by the series' end" (``end_flood_days``): the run of clear dates that ends the
    series, all wet and below canopy greenness, holding open water, after a bare dry date and starting at
    most ``end_flood_days`` before the last clear date. Walked from the end. -inf when the term is off.

    With ``end_flood_turbid``, turbid water between the bare date and the run is passed over; its open water
    counts as the run's (``end_flood_turbid_water``) and the link may be measured from its first date when the
    whole flood is young enough (``end_flood_turbid_link``). With ``end_flood_after_canopy`` the date before
    the flood may be the previous crop's canopy standing in water, within ``hidden_flood_link_days``. With
    ``end_flood_rise_link`` a young crop greening in the run above ``ndvi_low`` links a bare date up to
    ``gap_season_max_gap`` days before the run. With ``end_flood_deep_lswi`` a run date of shallow water as wet as
    standing water stands for the open water where less than ``end_flood_deep_fallow`` of the clear dates up to
    the bare one show the flood signal (``flood``).

    Also returns the date index of the flood's first clear date (the one after the bare date; ``n_t``: none).
    """
    n_pix, n_t = nd.shape
    ninf, pinf, sc = _F32(-np.inf), _F32(np.inf), _F32(_SCORE_SCALE)
    out = np.full(n_pix, ninf, dtype=_F32)
    flood_t = np.full(n_pix, n_t, dtype=np.int64)
    if p.end_flood_days is None or p.wet_canopy_lswi is None or p.hidden_open_water_ndvi is None:
        return out, flood_t
    turbid_water = p.end_flood_turbid and p.end_flood_turbid_water
    turbid_link = p.end_flood_turbid and p.end_flood_turbid_link
    after_canopy = p.end_flood_after_canopy and p.hidden_canopy_lswi is not None
    nxt_t = np.full(n_pix, n_t, dtype=np.int64)  # the clear date after the one walked (in time)
    nxt_d = np.full(n_pix, np.nan, dtype=_F32)
    turbid_first = np.full(n_pix, np.nan, dtype=_F32)  # the earliest turbid date passed over (NaN: none)
    wl, cmin, opn = _F32(p.wet_canopy_lswi), _F32(p.ndvi_canopy_min), _F32(p.hidden_open_water_ndvi)
    bare_l = _F32(p.hidden_bare_lswi_max) if p.hidden_bare_lswi_max is not None else pinf
    rise = p.end_flood_rise is not None
    rise_link = rise and p.end_flood_rise_link
    canopy_on = p.end_flood_canopy_lswi is not None
    gap_on = canopy_on and p.end_canopy_min_gap is not None
    running = np.ones(n_pix, dtype=bool)
    # in the canopy standing in water that may end the series, before the run (walked from the end)
    in_canopy = np.full(n_pix, canopy_on, dtype=bool)
    canopy_seen = np.zeros(n_pix, dtype=bool)
    skipping = np.zeros(n_pix, dtype=bool)  # past the run, over turbid water
    # the flooded bare dates (open or shallow water) that end the series when no wet date does
    sh_on = p.end_flood_shallow_ndvi is not None
    shx, ft = _F32(p.end_flood_shallow_ndvi or 0.0), _F32(p.flood_t)
    shallow_mode = np.full(n_pix, sh_on, dtype=bool)
    # a run date of shallow water as wet as standing water reads stands for the open water (end_flood_deep_lswi)
    deep_on = sh_on and p.end_flood_deep_lswi is not None and p.early_ndvi_days is not None
    deep_bar = _F32(p.end_flood_deep_lswi or 0.0)
    deep = np.full(n_pix, ninf, dtype=_F32)
    last_t = n_t - 1 - np.argmax(ok[:, ::-1], axis=-1)  # each pixel's last clear date (dates may repeat a day)
    # the share of the clear dates up to each one that show the flood signal (the fallow before the flood)
    with np.errstate(invalid="ignore", divide="ignore"):
        fl_share = (np.cumsum(flood & ok, axis=-1).astype(_F32) / np.cumsum(ok, axis=-1).astype(_F32)).astype(_F32)
    n_run = np.zeros(n_pix, dtype=np.int64)
    shallow = np.full(n_pix, pinf, dtype=_F32)
    wet = np.full(n_pix, pinf, dtype=_F32)
    water = np.full(n_pix, ninf, dtype=_F32)
    later = np.full(n_pix, ninf, dtype=_F32)  # the highest NDVI of the run's later dates
    grown = np.full(n_pix, ninf, dtype=_F32)  # the young crop's rise in the run, above bare soil
    start = np.full(n_pix, np.nan, dtype=_F32)  # first day of the run (NaN: no run yet)
    first = np.full(n_pix, np.nan, dtype=_F32)  # first day of the run or the canopy after it
    last = np.full(n_pix, np.nan, dtype=_F32)  # the last clear day
    for t in range(n_t - 1, -1, -1):
        o = ok[:, t] & running
        y, lw, d = nd[:, t], ls[:, t], _F32(days[t])
        last = np.where(o & np.isnan(last), d, last)
        with np.errstate(invalid="ignore"):
            if canopy_on:
                cb = _F32(p.end_flood_canopy_lswi)
                can = o & in_canopy & (y >= cmin) & (lw >= cb)
                wet = np.where(can, np.minimum(wet, lw - cb), wet)
                later = np.where(can, np.maximum(later, y), later)
                first = np.where(can, d, first)
                canopy_seen |= can
                in_canopy &= ~(o & ~can)
            else:
                can = np.zeros(n_pix, dtype=bool)
            wet_date = (lw >= wl) & (y < cmin)
            fb = ((y <= opn) & (y < lw)) | ((y <= shx) & (lw + ft >= y))
            sh = o & shallow_mode & ~can & fb & ((n_run > 0) | ~wet_date)
            shallow_mode &= ~(o & ~sh)
            water = np.where(sh, np.maximum(water, np.minimum(opn - y, lw - y)), water)
            shallow = np.where(sh, np.minimum(shallow, np.minimum(shx - y, lw + ft - y)), shallow)
            in_run = o & ~can & ~skipping & ~sh & (n_run == 0) & wet_date
            n_run = n_run + sh
            start = np.where(sh, d, start)
            first = np.where(sh, d, first)
            wet = np.where(in_run, np.minimum(wet, np.minimum(lw - wl, cmin - y)), wet)
            water = np.where(in_run, np.maximum(water, np.minimum(opn - y, lw - y)), water)
            if deep_on:  # the last clear date only: the flood still standing when the series ends
                deep = np.where(in_run & (t == last_t), np.minimum(shx - y, lw - deep_bar), deep)
            if rise:
                water = np.where(in_run, np.maximum(water, later - y - _F32(p.end_flood_rise)), water)
                grown = np.where(in_run, np.maximum(grown, np.minimum(later - y - _F32(p.end_flood_rise),
                                                                      later - _F32(p.ndvi_low))), grown)
                later = np.where(in_run, np.maximum(later, y), later)
            start = np.where(in_run, d, start)
            first = np.where(in_run, d, first)
            ends = o & ~can & ~in_run & ~sh
            if p.end_flood_turbid:
                # turbid open water (and shallow water over moist mud) before the run is passed over on the way
                # to the bare date
                turbid = ends & ~np.isnan(start) & (((y <= opn) & (y < lw)) | (sh_on & fb & ~(lw < bare_l)))
                skipping |= turbid
                ends &= ~turbid
                if turbid_water:
                    water = np.where(turbid, np.maximum(water, np.minimum(opn - y, lw - y)), water)
                turbid_first = np.where(turbid, d, turbid_first)
            stop = ends & ~np.isnan(start)
            bare = np.minimum(cmin - y, bare_l - lw)
            age = (_F32(p.end_flood_days) - (last - start)) / scale_days
            link = (_F32(p.end_flood_link_days) - (start - d)) / scale_days
            if turbid_link:
                # the flood's first (turbid) date within the link of the bare date, the whole flood young enough
                via = np.minimum(_F32(p.end_flood_link_days) - (turbid_first - d),
                                 _F32(p.end_flood_days) - (last - turbid_first)) / scale_days
                link = np.where(np.isnan(turbid_first), link, np.maximum(link, via))
            if rise_link:
                # the fallow seen before a season's cloud gap, where the young crop greens in the flood
                via = np.minimum(grown / sc, (_F32(p.gap_season_max_gap) - (start - d)) / scale_days)
                link = np.where(grown >= 0, np.maximum(link, via), link)
            water_run = np.where(n_run >= 2, np.maximum(water, shallow), water)
            if deep_on:
                fallow = _F32(p.end_flood_deep_fallow) - fl_share[:, t]
                # the run no older than early_ndvi_days: the puddling flood's first days, before the seedlings show
                young = (last - start) <= _F32(p.early_ndvi_days or 0.0)
                water_run = np.where((deep != ninf) & young, np.maximum(water_run, np.minimum(deep, fallow)), water_run)
            before = np.minimum(bare / sc, link)
            if after_canopy:
                # the previous crop's canopy in water on the date before the flood, which is its next puddling
                crop = np.minimum(y - _F32(p.ndvi_high), lw - _F32(p.hidden_canopy_lswi)) / sc
                before = np.maximum(before, np.minimum(crop, (_F32(p.hidden_flood_link_days) - (nxt_d - d))
                                                       / scale_days))
            vote = np.minimum(np.minimum(np.minimum(wet, water_run) / sc, age), before)
            direct = np.zeros(n_pix, dtype=bool)
            if gap_on:
                # the canopy right after a bare date, the run between them unseen
                direct = ends & canopy_seen & np.isnan(start) & (y < cmin)
                gap = first - d
                low = np.minimum(_F32(p.gap_season_low_ndvi) - y, _F32(p.gap_season_low_lswi) - lw)
                span = np.minimum(gap - _F32(p.end_canopy_min_gap), _F32(p.gap_season_max_gap) - gap) / scale_days
                g_age = (_F32(p.end_flood_days) - (last - first)) / scale_days
                out = np.where(direct, np.minimum(np.minimum(np.minimum(wet, low) / sc, g_age), span), out)
        out = np.where(stop, vote, out)
        flood_t = np.where(stop | direct, nxt_t, flood_t)
        running &= ~ends
        nxt_t, nxt_d = np.where(o, t, nxt_t), np.where(o, d, nxt_d)
    return out, flood_t


def _ref_sown_run(
    ok: npt.NDArray[np.bool_], nd: npt.NDArray[np.float32], ls: npt.NDArray[np.float32], days: npt.NDArray[np.int32],
    p: OpticalRiceParams, scale_days: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Margin of a direct-seeded field sown in the series' last weeks (``end_sown_rise``), pixel by pixel: the run
    of wet dates that ends the series (after the young canopy standing in water, with ``end_flood_canopy_lswi``),
    sown soil before it (NDVI above ``hidden_open_water_ndvi``, below ``ndvi_canopy_min``, LSWI below
    ``hidden_bare_lswi_max``), the levelling flood's open water before that, ``end_sown_min_days`` to
    ``end_sown_max_days`` before the run, a clear date before the water, and the run's highest NDVI
    ``end_sown_rise`` above the soil's highest; the run's wet margin and its age against ``end_flood_days`` too.
    Also returns the levelling flood's date index (``n_t``: none). -inf where the term is off.
    """
    n_pix, n_t = nd.shape
    ninf, pinf, sc = _F32(-np.inf), _F32(np.inf), _F32(_SCORE_SCALE)
    vote = np.full(n_pix, ninf, dtype=_F32)
    first = np.full(n_pix, n_t, dtype=np.int64)
    if (p.end_sown_rise is None or p.hidden_bare_lswi_max is None or p.end_flood_days is None
            or p.wet_canopy_lswi is None or p.hidden_open_water_ndvi is None):
        return vote, first
    wl, cmin, opn, bl = (_F32(v) for v in (p.wet_canopy_lswi, p.ndvi_canopy_min, p.hidden_open_water_ndvi,
                                           p.hidden_bare_lswi_max))
    for i in range(n_pix):
        idx = np.flatnonzero(ok[i])
        y, lw, d = nd[i, idx], ls[i, idx], days[idx].astype(_F32)
        k, wet = idx.size - 1, pinf
        while p.end_flood_canopy_lswi is not None and k >= 0 and y[k] >= cmin and lw[k] >= _F32(p.end_flood_canopy_lswi):
            wet = np.minimum(wet, lw[k] - _F32(p.end_flood_canopy_lswi))
            k -= 1
        top = k
        while k >= 0 and lw[k] >= wl and y[k] < cmin:
            wet = np.minimum(wet, np.minimum(lw[k] - wl, cmin - y[k]))
            k -= 1
        soil = np.flatnonzero(~((y[:k + 1] > opn) & (y[:k + 1] < cmin) & (lw[:k + 1] < bl)))
        j = soil[-1] if soil.size else -1  # the last date before the run that is no sown soil
        if not (0 <= k < top) or j == k or j < 1:
            continue
        sown = slice(j + 1, k + 1)
        soil_m = np.min(np.minimum(np.minimum(y[sown] - opn, cmin - y[sown]), bl - lw[sown]))
        water = np.minimum(opn - y[j], lw[j] - y[j])
        rise = y[k + 1:top + 1].max() - y[sown].max() - _F32(p.end_sown_rise)
        span = d[k + 1] - d[j]
        near = np.minimum(span - _F32(p.end_sown_min_days), _F32(p.end_sown_max_days) - span) / scale_days[i]
        age = (_F32(p.end_flood_days) - (d[-1] - d[k + 1])) / scale_days[i]
        vote[i] = np.minimum(np.minimum(np.minimum(np.minimum(soil_m, water), rise) / sc, near),
                             np.minimum(wet / sc, age))
        first[i] = idx[j]
    return vote, first


def _ref_series_end(
    ok: npt.NDArray[np.bool_], nd: npt.NDArray[np.float32], ls: npt.NDArray[np.float32], days: npt.NDArray[np.int32],
    out_ok: npt.NDArray[np.bool_], reflood: tuple[npt.NDArray[Any], ...], p: OpticalRiceParams,
    scale_days: npt.NDArray[np.float32], flood: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The vote of the flood the series' end cuts, and the water share of the clear dates before it (+inf: none).

    The vote is :func:`_ref_end_flood_margin`'s, or (``end_reflood``) that of a field flooded again after a gap
    that hid a crop and flooded on every clear date since (``reflood``: the hidden-crop walk's pending vote, its
    day and date index), where higher: the pending vote, the flood's age against ``end_flood_days`` and the
    young crop's rise (NDVI ``end_flood_rise`` above the lowest NDVI since the flood, and above ``ndvi_low``).

    The water share (``end_flood_not_water``, where that vote is >= 0 over two clear dates or more): of the clear
    dates before the flood, the larger of the open-water dates the water mask counts (outside confirmed
    cycles) and the flooded dates (LSWI >= ``wet_canopy_lswi``, NDVI below canopy greenness), over their count.
    """
    n_pix, n_t = nd.shape
    ninf, pinf = _F32(-np.inf), _F32(np.inf)
    share = np.full(n_pix, pinf, dtype=_F32)
    vote, flood_t = _ref_end_flood_margin(ok, nd, ls, days, p, scale_days, flood)
    sown, sown_t = _ref_sown_run(ok, nd, ls, days, p, scale_days)
    vote, flood_t = np.where(sown > vote, sown, vote), np.where(sown > vote, sown_t, flood_t)
    if p.end_flood_days is None or p.wet_canopy_lswi is None or p.hidden_open_water_ndvi is None:
        return vote, share
    r_pend, r_day, r_t = reflood
    if (p.end_reflood and p.end_flood_rise is not None and p.hidden_reflood_days is not None
            and p.hidden_crop_days is not None):
        since = ok & (np.arange(n_t)[None, :] >= r_t[:, None])
        with np.errstate(invalid="ignore"):
            lowest = np.minimum.accumulate(np.where(since, nd, pinf), axis=-1)
            rise = np.where(since, np.minimum(nd - lowest - _F32(p.end_flood_rise), nd - _F32(p.ndvi_low)), ninf)
            last = np.where(ok, days[None, :].astype(_F32), ninf).max(axis=-1)
            rv = np.minimum(np.minimum(r_pend, (_F32(p.end_flood_days) - (last - r_day)) / scale_days),
                            rise.max(axis=-1) / _F32(_SCORE_SCALE))
        take = (r_pend != ninf) & (rv > vote)
        vote, flood_t = np.where(take, rv, vote), np.where(take, r_t, flood_t)
    if p.end_flood_not_water:
        before = np.arange(n_t)[None, :] < flood_t[:, None]
        n_before = (ok & before).sum(axis=-1)
        with np.errstate(invalid="ignore"):
            n_water = (out_ok & before & (nd < _F32(p.water_ndvi_max)) & (nd < ls)).sum(axis=-1)
            n_wet = (ok & before & (ls >= _F32(p.wet_canopy_lswi)) & (nd < _F32(p.ndvi_canopy_min))).sum(axis=-1)
        read = (vote >= 0) & ((ok & ~before).sum(axis=-1) >= 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.maximum(n_water, n_wet).astype(_F32) / n_before.astype(_F32)
        share = np.where(read, frac, share).astype(_F32)
    return vote, share


def _ref_undated_wet_share(undated: npt.NDArray[np.float32], ok: npt.NDArray[np.bool_], nd: npt.NDArray[np.float32],
                           ls: npt.NDArray[np.float32], p: OpticalRiceParams) -> npt.NDArray[np.float32]:
    """The oldest undated evidence with most canopy dates standing in water (``undated_wet_share``: the share of
    clear canopy dates with LSWI >= ``wet_canopy_lswi``, its excess / 0.05; no vote without a canopy date)."""
    if p.undated_wet_share is None or p.wet_canopy_lswi is None:
        return undated
    can = ok & (nd >= _F32(p.ndvi_canopy_min))
    n_all, n_wet = can.sum(axis=-1), (can & (ls >= _F32(p.wet_canopy_lswi))).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (n_wet.astype(_F32) / n_all.astype(_F32) - _F32(p.undated_wet_share)) / _F32(_SCORE_SCALE)
    return np.where(n_all > 0, np.minimum(undated, share), undated).astype(_F32)


def _reference_kernel(  # noqa: C901 (the rule's steps in the order the kernel takes them)
    ndvi: npt.NDArray[Any], evi: npt.NDArray[Any], lswi: npt.NDArray[Any], valid: npt.NDArray[Any], *,
    days: npt.NDArray[np.int32], doy: npt.NDArray[np.uint16], window: npt.NDArray[np.int8],
    n_windows: int, p: OpticalRiceParams,
) -> tuple[npt.NDArray[Any], ...]:
    """The rule on ``(..., time)`` arrays; returns the arrays of ``seasons.OUTPUT_DTYPES``."""
    lead, (nd, ev, ls, ok) = flatten_time(ndvi, evi, lswi, valid)
    nd, ev, ls = (a.astype(_F32, copy=False) for a in (nd, ev, ls))
    ok = ok.astype(bool) & np.isfinite(nd) & np.isfinite(ev) & np.isfinite(ls) & (np.abs(ev) <= _F32(p.max_abs_evi))
    nan = _F32(np.nan)
    nd, ev, ls = (np.where(ok, a, nan) for a in (nd, ev, ls))
    n_pix, n_t = nd.shape
    n_valid = ok.sum(axis=-1)
    in_win = window >= 0 if n_windows else np.ones(n_t, dtype=bool)
    n_window = (ok & in_win).sum(axis=-1)

    t_allow = _F32(p.flood_t)
    flood = ok & ((ls + t_allow >= ev) | (ls + t_allow >= nd))
    held = np.zeros_like(ok)
    if p.flood_shadow_ndvi and p.wet_canopy_evi_ratio is not None:  # under a missed shadow, the NDVI form only
        with np.errstate(invalid="ignore"):
            shaded = ev < _F32(p.wet_canopy_evi_ratio) * nd
        flood = np.where(shaded, ok & (ls + t_allow >= nd), flood)
    if p.flood_ndvi_max is not None:
        flood &= nd <= _F32(p.flood_ndvi_max)
    if p.flood_shadow_ndvi and p.wet_canopy_evi_ratio is not None:
        held = ok & shaded & ~flood & (ls + t_allow >= ev)  # the EVI form held under the shadow: the state stays

    # Flood onsets: flooded now, not flooded at the previous valid observation (NaN never votes).
    with np.errstate(invalid="ignore"):
        bare = nd <= _F32(p.ndvi_trough_max)
    onset = _plain_flood_onsets(flood, ok, in_win, p.onset_at_series_start, days, p.onset_gap_days, bare, held)
    pond_end = _plain_pond_end_onsets(flood, ok, in_win, onset, nd, ls, days, p)
    onset |= pond_end

    # Pass 1: the growth margin of every onset, and the dates of confirmed cycles [onset, +90 d].
    cands: list[tuple[int, npt.NDArray[np.intp], npt.NDArray[np.float32]]] = []
    in_cycle = np.zeros((n_pix, n_t), dtype=bool)
    for t in range(n_t):
        idx = np.flatnonzero(onset[:, t])
        if idx.size == 0:
            continue
        growth, i_cyc = _ref_growth_margin(nd[idx], ev[idx], t, days, p, ls[idx], flood[idx], pond_end[idx, t])
        cands.append((t, idx, growth))
        if p.mask_outside_cycles:
            in_cycle[idx[growth >= 0], t:i_cyc] = True

    # Masks as fractions of all valid observations. With mask_outside_cycles only dates outside
    # confirmed flood-growth cycles count as water/forest/shrub, so a paddy's own flooded and green
    # dates (over 22 % / 43 % of a 3-crop year or of a short monsoon series) never mask it.
    out_ok = ok & ~in_cycle
    # The flood signal on a dark date (the undated evidence's), for the sparse-series field evidence.
    with np.errstate(invalid="ignore"):
        wet = np.where(ok & (nd <= _F32(p.ndvi_trough_max)),
                       np.minimum(ls + t_allow - np.minimum(ev, nd), ls / _F32(2.0)), _F32(-np.inf))
    # Sparse series: a canopy standing in water and open water on another date mark a flooded
    # field, which is no forest (never open water) and is treated as a harvested field below.
    sparse, wrapped = _plain_sparse_field(ok, nd, ls, wet, days, p)
    water_frac = fraction((out_ok & (nd < _F32(p.water_ndvi_max)) & (nd < ls)).sum(axis=-1), n_valid)
    # A crop hidden in a cloud gap (see the function), and the flood after the gap that the series' end may cut.
    scale_days = _F32(10.0) + _F32(0.5) * _plain_clear_gap(ok, days)
    no_reflood = (np.full(n_pix, -np.inf, _F32), np.zeros(n_pix, _F32), np.full(n_pix, n_t, np.int64))
    gap_crop, *reflood = (_ref_hidden_crop_margin(wet, ok, flood, nd, ls, days, p, scale_days)
                          if p.hidden_crop_days is not None else (None, *no_reflood))
    # A flood the series' end cuts before its crop's canopy (-inf when off), and the water share before it, which
    # the water mask reads where lower (end_flood_not_water).
    end, water_before = _ref_series_end(ok, nd, ls, days, out_ok, tuple(reflood), p, scale_days, flood)
    water_frac = np.minimum(water_frac, water_before)
    # A season hidden in a gap that votes rice began on bare dry ground: no forest either.
    not_forest = sparse
    with np.errstate(invalid="ignore"):  # its two votes (not forest, undated) from one walk
        gap_season = _plain_gap_season(ok, nd, ls, days, p, scale_days) if p.gap_season_lswi is not None else None
    if gap_season is not None and p.gap_season_not_forest:
        not_forest = sparse | (gap_season[0] >= 0)
    not_forest = not_forest | _plain_flooded_field(ok, nd, ls, p) | _plain_dry_field(ok, nd, ls, days, p)
    forest_frac = fraction(np.where(not_forest, 0, (out_ok & (nd >= _F32(p.forest_ndvi_min))).sum(axis=-1)), n_valid)
    # A pixel with a confirmed flood-growth cycle is cropland: open water on a quarter of its
    # other dates is the flood season of a floodplain paddy (Mekong, Ganges), not a water body,
    # so it is masked only when water dominates (``cycle_water_fraction``).
    # A harvest (a canopy standing in water, then on a later date a bare field on dry soil) is
    # cropland whatever clouds hid of its cycles: the cycle's water limit, no evergreen shrub, no
    # limit on the undated evidence's flooded spell (its fallow under a river flood).
    harvest = np.zeros(n_pix, dtype=bool)
    if p.harvest_lswi_max is not None:
        crop_lswi = _F32(p.wet_canopy_lswi) if p.wet_canopy_lswi is not None else _F32(-np.inf)
        wet_crop = ok & (nd >= _F32(p.ndvi_high)) & (ls >= crop_lswi)
        before = np.zeros_like(wet_crop)
        before[:, 1:] = np.logical_or.accumulate(wet_crop, axis=-1)[:, :-1]
        bare = (nd >= _F32(p.harvest_ndvi_min)) & (nd <= _F32(p.ndvi_low)) & (ls < _F32(p.harvest_lswi_max))
        harvest = (before & ok & bare).any(axis=-1)
    harvest |= sparse | _plain_pond_ripe(ok, nd, ls, days, p)
    # A pond, then one rice crop: the water limit and the flooded spell's limit of a harvested field (not
    # its exemption from the shrub test).
    pond_crop = _plain_pond_crop(ok, nd, ls, flood, days, p)
    has_cycle = in_cycle.any(axis=-1) | harvest | pond_crop
    water_limit = np.where(has_cycle, _F32(max(p.cycle_water_fraction, p.water_fraction)), _F32(p.water_fraction))
    water = water_frac >= water_limit  # NaN (no valid obs) compares False
    forest = forest_frac >= _F32(p.forest_fraction)
    if p.shrub_lswi_min is not None:
        # Open-water dates say nothing about evergreen vegetation (the water mask weighs them),
        # and moist dates within a few months may be one unconfirmed paddy season (a flood seen
        # at the end of the series, a floodplain paddy's river flood): the evergreen shrub test
        # needs its dates to span ``shrub_min_span_days``.
        open_water = (nd < _F32(p.water_ndvi_max)) & (nd < ls)
        shrub_ok = out_ok & ~open_water
        forest |= (shrub_ok.any(axis=-1) & (~shrub_ok | (ls >= _F32(p.shrub_lswi_min))).all(axis=-1)
                   & (_ref_date_span(shrub_ok, days) >= _F32(p.shrub_min_span_days)) & ~harvest
                   & ~(_plain_repuddled(ok, nd, ls, days, p) & in_cycle.any(axis=-1))
                   & ~_plain_shrub_flood(ok, nd, ev, flood, days, p))
    with np.errstate(invalid="ignore"):
        mask_margin = np.minimum(water_limit - water_frac, _F32(p.forest_fraction) - forest_frac)
    mask_margin = np.where(np.isnan(mask_margin) | forest, _F32(-np.inf), mask_margin / _F32(_SCORE_SCALE))
    if p.max_green_days is not None:
        # Green for longer than a rice crop can be: perennial or long-season vegetation. Scale:
        # 10 days plus half the median gap between clear dates (the spell's uncertainty).
        green = ok & (nd >= _F32(p.ndvi_canopy_min)) & ~_plain_green_harvest(ok, nd, ls, days, p)
        spell = _plain_water_spell_days(green, ok, days, max_link=p.green_link_days)
        green_margin = (_F32(p.max_green_days) - spell) / scale_days
        forest |= green_margin < 0
        mask_margin = np.minimum(mask_margin, green_margin)
    masked = water | forest

    # Pass 2: seasons in time order (one per window with a calendar).
    seasons = SeasonSlots(n_pix, n_windows, p.max_seasons, p.min_season_days, mask_margin, masked)
    for t, idx, growth in cands:
        seasons.offer(t, idx, growth / _F32(_SCORE_SCALE), window, doy, days)
    best, count, slots = seasons.best, seasons.count, seasons.slots

    # Undated evidence: the one-line baseline's low and high NDVI, plus a flood signal seen on
    # a dark date. On a sparse, cloudy series the flood and the canopy of one season are often
    # further apart than any day window (gaps of 100+ days), so a paddy seen flooded once and
    # green once is rice even when no dated onset can be confirmed; its season is undated.
    # The canopy must follow a flooded date (within ``max_cycle_days``, gaps included): seasonal
    # wetland greens up before its flood and stays bare after it.
    with np.errstate(invalid="ignore"):
        lo = (_F32(p.ndvi_low) - masked_min(nd)) / _F32(_SCORE_SCALE)
        # LSWI > 0 too: a cloud shadow the mask missed darkens every band, and EVI ~ LSWI ~ 0
        # passes Xiao's test by its tolerance T; standing water under a paddy has LSWI > 0.
        fl = wet.max(axis=-1, initial=_F32(-np.inf)) / _F32(_SCORE_SCALE)
        # Only where the dated rule cannot follow the cycle: a cloud gap (no clear date for
        # more than ``gap_days``) or fewer than two clear dates between the flood and the
        # canopy. Where the dates are dense the dated rule decides (a rain puddle under a
        # young dryland crop, followed by its canopy, must not pass here).
        # The canopy's window: the best NDVI within max_cycle_days of the last flooded date, across a gap or
        # within two clear dates of it; a flooded date followed within early_ndvi_days by
        # a clear date on drained soil (no flood signal, LSWI < wet_canopy_lswi), not the pixel's first clear date,
        # closes the window instead of opening one (``undated_flood_stands``), unless it continues the flood that
        # opened the window (the previous clear date, or within early_ndvi_days of it): that flood stood.
        early_on = p.undated_flood_stands and p.early_ndvi_days is not None
        bar = _F32(np.inf if p.wet_canopy_lswi is None else p.wet_canopy_lswi)  # a date standing in no water
        i_early = np.searchsorted(days, days.astype(np.float64) + (p.early_ndvi_days or 0.0), side="right")
        first = ok & (np.cumsum(ok, axis=-1) == 1)  # each pixel's first clear date
        last_wet = np.full(n_pix, -np.inf, dtype=_F32)
        last_ok = np.full(n_pix, -np.inf, dtype=_F32)
        between = np.zeros(n_pix, dtype=np.int32)
        widest = np.zeros(n_pix, dtype=_F32)
        canopy = np.full(n_pix, -np.inf, dtype=_F32)
        for t in range(n_t):
            d = _F32(days[t])
            o = ok[:, t]
            widest = np.where(o, np.maximum(widest, d - last_ok), widest)
            hidden = (widest > _F32(p.gap_days)) | (between < 2)
            canopy = np.where(o & (d - last_wet <= _F32(p.max_cycle_days)) & hidden, np.maximum(canopy, nd[:, t]),
                              canopy)
            wet_now = wet[:, t] >= 0
            after = slice(t + 1, i_early[t])
            dry = np.where(flood[:, after] | (ls[:, after] >= bar), np.nan, nd[:, after])
            # a flooded date just after the one that opened the window (a flood that stood) is not refuted
            stood = (d - last_wet <= _F32(p.early_ndvi_days or 0.0)) | (last_wet == last_ok)
            # nor one that reads open water (hidden_open_water_ndvi): the whole field under water
            open_bar = _F32(-np.inf if p.hidden_open_water_ndvi is None else p.hidden_open_water_ndvi)
            open_w = (nd[:, t] <= open_bar) & (nd[:, t] < ls[:, t])
            refuted = early_on & wet_now & ~first[:, t] & ~stood & ~open_w & (masked_max(dry) > _F32(-np.inf))
            opens = wet_now & ~refuted
            between = np.where(opens, 0, between + (o & ~wet_now)).astype(np.int32)
            widest = np.where(opens, _F32(0.0), widest)
            last_wet = np.where(refuted, _F32(-np.inf), np.where(opens, d, last_wet))
            last_ok = np.where(o, d, last_ok)
        # A sparse series' field: its canopy may also be taken one year on, round the calendar.
        canopy = np.where(sparse, np.maximum(canopy, wrapped), canopy)
        hi = (canopy - _F32(p.ndvi_high)) / _F32(_SCORE_SCALE)
    # A paddy's flood lasts weeks; seasonal wetland and ponds stay flooded for months.
    dur = (_F32(p.max_flood_days) - _plain_water_spell_days(flood & (nd <= _F32(p.ndvi_low)), ok, days)) / _F32(10.0)
    dur = np.where(harvest | pond_crop, _F32(np.inf), dur)
    undated = np.minimum.reduce([lo, hi, fl, dur, mask_margin]).astype(_F32)
    undated = _ref_undated_wet_share(undated, ok, nd, ls, p)
    if p.hidden_crop_days is not None:
        # A crop hidden in a cloud gap: partial evidence, in units of gap days (see the function).
        assert gap_crop is not None
        undated = np.maximum(undated, np.minimum(gap_crop, mask_margin))
    if p.wet_canopy_lswi is not None and p.undated_wet_canopy_lswi is not None:
        # A canopy standing in water, seen after a gap that hid its flood (see the parameter).
        scale = _F32(_SCORE_SCALE)
        # Only canopy dates vote: a pixel that never shows one keeps the score 0 of "no evidence".
        wet_canopy = np.where(nd >= _F32(p.ndvi_canopy_min),
                              np.minimum((nd - _F32(p.ndvi_high)) / scale, (ls - _F32(p.undated_wet_canopy_lswi)) / scale),
                              _F32(-np.inf))
        # Dates below canopy greenness and wetter than ``wet_canopy_lswi`` (water, a young crop in
        # water) do not end the gap; a canopy date does, so a long green spell is no gap.
        young_wet = ok & (ls >= _F32(p.wet_canopy_lswi)) & (nd < _F32(p.ndvi_canopy_min))
        seen = _plain_canopy_after_gap(ok, wet_canopy, young_wet, days, gap_days=p.gap_days,
                                scale_days=scale_days)
        undated = np.maximum(undated, np.minimum.reduce([seen, lo, dur, mask_margin]))
    if p.flood_stubble_days is not None and p.hidden_open_water_ndvi is not None and p.harvest_lswi_max is not None:
        # A field flooded from bund to bund, then its stubble on dry soil (see the parameter).
        stubble = _plain_flood_stubble(ok, nd, ls, wet, days, p, scale_days)
        undated = np.maximum(undated, np.minimum(stubble, mask_margin))
    if p.gap_season_lswi is not None:
        # A season hidden in a gap: bare dry ground, a long clear interval, a wet canopy spell (see the parameter).
        bare, opening = gap_season
        undated = np.maximum(undated, np.minimum(np.maximum(bare, opening), mask_margin))
    # A young crop greening out of its flood before a gap that hides its canopy (-inf when off; see the function).
    young_gap = _ref_young_before_gap_margin(ok, nd, ls, days, p, scale_days)
    undated = np.maximum(undated, np.minimum(np.minimum(young_gap, dur), mask_margin))
    # A flood the series' end cuts before its crop's canopy (-inf when off; see the function).
    undated = np.maximum(undated, np.minimum(end, mask_margin))
    undated = np.where(np.isnan(undated), _F32(-np.inf), undated)
    if p.undated_seasons and not n_windows:
        add = (undated >= 0) & (count == 0) & ~masked
        count = np.where(add, 1, count)
        best = np.maximum(best, undated)

    score = np.where(np.isneginf(best), _F32(0.0), logistic(best))
    qa = (np.where(n_window > 0, QA_OBSERVED, 0) | np.where(count > 0, QA_OPTICAL, 0)
          | np.where(water, QA_WATER, 0) | np.where(forest, QA_FOREST_BUILT, 0)).astype(np.uint8)
    return finish_outputs(lead, n_valid, count, slots, score, n_window, qa)




# ---- the compiled kernel against the reference: random series, every switch ------------------

def _random_series(seed: int, n_pix: int = 4000, n_t: int = 23):
    """Irregular dates (gaps up to 120 d), clouds, NaN, inf and |EVI| > 1, flood and canopy dates."""
    rng = np.random.default_rng(seed)
    days = np.cumsum(rng.choice([5, 10, 12, 16, 45, 120], size=n_t, p=[.3, .3, .15, .15, .05, .05])).astype(np.int32)
    nd = rng.uniform(-0.2, 0.95, (n_pix, n_t)).astype(_F32)
    ev = (nd * rng.uniform(0.5, 1.15, (n_pix, n_t))).astype(_F32)
    ls = rng.uniform(-0.3, 0.55, (n_pix, n_t)).astype(_F32)
    valid = rng.random((n_pix, n_t)) < 0.7
    valid[:40] = False  # never clear
    valid[40:80] = False
    valid[40:80, rng.integers(0, n_t, 40)] = True  # one clear date
    valid[80:120] = True
    for a in (nd, ev, ls):  # missing values and the odd non-finite one
        a[rng.random(a.shape) < 0.05] = np.nan
    ev[rng.random(ev.shape) < 0.01] = np.inf
    ev[rng.random(ev.shape) < 0.01] = _F32(1.7)
    return days, nd, ev, ls, valid


_PARAM_CASES = {
    "default": {},
    "literal": {"onset_at_series_start": False, "mask_outside_cycles": False, "growth_rule": "both",
                "hidden_open_water_ndvi": None, "harvest_lswi_max": None, "sparse_max_dates": None,
                "flood_stubble_days": None, "seedbed_ndvi_max": None},
    "gap_season_off": {"gap_season_lswi": None},
    "weak_flood": {"weak_flood_canopy_lswi": 0.30},
    "flood_shadow_off": {"flood_shadow_ndvi": False},
    "pond_end_off": {"pond_end_onset": False},
    "wet_canopy_every_date": {"wet_canopy_evi_ratio": None},
    "cycle_wet_share_off": {"cycle_wet_share": None},
    "young_flood_off": {"young_flood_t": None},
    "young_flood_tuned": {"young_flood_t": 0.15, "wet_canopy_evi_ratio": None, "early_ndvi_days": 45.0},
    "young_flood_short": {"young_flood_t": 0.0, "early_ndvi_days": 4.0, "ndvi_canopy_min": 0.35},
    "young_reflood_off": {"young_reflood_days": None},
    "young_reflood_tuned": {"young_reflood_days": 60.0, "young_reflood_rise": 0.0, "young_flood_t": 0.0,
                            "ndvi_high": 0.8, "wet_canopy_lswi": 0.1, "wet_canopy_evi_ratio": None},
    "cycle_wet_share_high": {"cycle_wet_share": 0.8, "wet_canopy_evi_ratio": None},
    "wet_canopy_evi_ratio_high": {"wet_canopy_evi_ratio": 0.7, "weak_flood_canopy_lswi": 0.25, "flood_shadow_ndvi": False},
    "weak_flood_tuned": {"weak_flood_canopy_lswi": 0.25, "flood_t": 0.1, "wet_canopy_lswi": None},
    "gap_season_tuned": {"gap_season_lswi": 0.1, "gap_season_low_ndvi": 0.5, "gap_season_low_lswi": 0.3,
                         "gap_season_min_gap": 20.0, "gap_season_max_gap": 130.0, "gap_season_days": 200.0,
                         "gap_season_open_end": 30.0, "gap_season_young_days": 60.0, "gap_season_dip_days": 25.0},
    "gap_season_one_young_date": {"gap_season_young_run": False, "gap_season_dip_days": None},
    "gap_season_closed_end": {"gap_season_open_end": None, "gap_season_young_days": None,
                              "gap_season_not_forest": False, "gap_season_open_start": False},
    "gap_season_young_bar": {"gap_season_young_lswi": 0.18, "gap_season_young_days": 30.0},
    "gap_season_young_soil": {"gap_season_young_soil_lswi": 0.12, "gap_season_low_lswi": 0.02},
    "young_before_gap_tuned": {"hidden_young_rise": 0.05, "ndvi_climb_min": 0.15, "hidden_crop_days": 40.0,
                               "hidden_young_days": 60.0, "ndvi_low": 0.4, "flood_t": 0.1},
    "young_before_gap_off": {"hidden_young_rise": None},
    "pond_crop_off": {"pond_crop_green_days": None},
    "end_flood_off": {"end_flood_days": None},
    "end_flood_tuned": {"end_flood_days": 200.0, "wet_canopy_lswi": 0.05, "hidden_open_water_ndvi": 0.3,
                        "seedbed_ndvi_max": None},
    "end_flood_any_ground": {"end_flood_days": 30.0, "hidden_bare_lswi_max": None, "seedbed_ndvi_max": None},
    "end_flood_short_link": {"end_flood_link_days": 15.0, "hidden_flood_link_days": 90.0},
    "end_flood_young_off": {"end_flood_rise": None, "end_flood_canopy_lswi": None},
    "end_flood_canopy_gap_off": {"end_canopy_min_gap": None, "end_flood_turbid": False},
    "end_flood_shallow_off": {"end_flood_shallow_ndvi": None},
    "end_flood_deep_off": {"end_flood_deep_lswi": None},
    "end_sown_off": {"end_sown_rise": None},
    "end_sown_tuned": {"end_sown_rise": 0.0, "end_sown_min_days": 0.0, "end_sown_max_days": 60.0,
                       "hidden_bare_lswi_max": 0.2, "end_flood_canopy_lswi": None},
    "end_flood_deep_tuned": {"end_flood_deep_lswi": 0.12, "end_flood_shallow_ndvi": 0.3, "wet_canopy_lswi": 0.1,
                             "end_flood_deep_fallow": 0.9},
    "undated_wet_share_off": {"undated_wet_share": None},
    "undated_early_off": {"undated_flood_stands": False},
    "undated_early_off_young_flood_off": {"undated_flood_stands": False, "young_flood_t": None},
    "undated_early_tuned": {"undated_flood_stands": True, "early_ndvi_days": 25.0, "ndvi_trough_max": 0.3,
                            "gap_days": 20.0},
    "undated_wet_share_tuned": {"undated_wet_share": 0.8, "wet_canopy_lswi": 0.1, "ndvi_canopy_min": 0.45},
    "end_flood_shallow_tuned": {"end_flood_shallow_ndvi": 0.35, "flood_t": 0.15, "end_flood_days": 150.0,
                                "hidden_open_water_ndvi": 0.1},
    "end_flood_young_tuned": {"end_flood_rise": 0.02, "end_flood_canopy_lswi": 0.05, "end_canopy_min_gap": 10.0,
                              "end_flood_days": 150.0, "wet_canopy_lswi": 0.0},
    "pond_crop_tuned": {"pond_crop_green_days": 150.0, "max_flood_days": 20.0, "max_cycle_days": 60.0,
                        "wet_canopy_lswi": None, "ndvi_trough_max": 0.3},
    "shifted_calendar_off": {"seedbed_stubble_ndvi_max": 0.30, "hidden_canopy_lswi": None, "shrub_repuddle_drop": None},
    "shifted_calendar_tuned": {"seedbed_stubble_ndvi_max": 0.45, "harvest_ndvi_min": 0.05,
                               "hidden_canopy_lswi": 0.1, "hidden_flood_link_days": 60.0, "shrub_repuddle_drop": 0.2},
    "shrub_flood": {"shrub_flood_evi": 0.10, "shrub_lswi_min": -0.3},
    "shrub_flood_tuned": {"shrub_flood_evi": 0.25, "shrub_flood_canopy_share": 0.1, "ndvi_low": 0.35,
                          "shrub_lswi_min": -0.2},
    "series_ends_closed": {"gap_season_cut_end": False, "gap_season_open_young": False, "flood_not_evergreen": None,
                           "onset_gap_days": None, "dry_not_evergreen": None},
    # (a low forest fraction, so that the seedbed series of the case test has forest pixels for the term to exempt)
    "dry_not_evergreen_off": {"dry_not_evergreen": None, "forest_fraction": 0.2},
    "dry_not_evergreen_low_forest": {"forest_fraction": 0.2},
    "dry_not_evergreen_dense": {"forest_fraction": 0.2, "sparse_max_dates": 8, "sparse_gap_days": 30.0},
    "pond_ripe_tuned": {"pond_ripe_ndvi": 0.2, "max_flood_days": 30.0, "harvest_lswi_max": 0.1, "ndvi_high": 0.7,
                        "sparse_max_dates": 30, "sparse_gap_days": 20.0},
    "pond_ripe": {"pond_ripe_ndvi": 0.35, "sparse_max_dates": 30, "sparse_gap_days": 20.0},
    "dry_not_evergreen_tuned": {"dry_not_evergreen": 0.25, "ndvi_low": 0.4, "flood_not_evergreen": None},
    "series_ends_tuned": {"gap_season_min_gap": 40.0, "harvest_lswi_max": 0.1, "flood_not_evergreen": -0.05,
                          "wet_canopy_lswi": None, "gap_season_open_end": None, "onset_gap_days": 20.0},
    "xiao": {"growth_rule": "xiao", "growth_ratio": 0.37, "min_peak_evi": 0.45, "flood_t": 0.1},
    "ndvi": {"growth_rule": "ndvi", "flood_ndvi_max": 0.4, "trough_days": 20.0, "peak_window_days": 75.0},
    "switched_off": {"dry_lswi_max": None, "wet_canopy_lswi": None, "shrub_lswi_min": None, "max_green_days": None,
                     "hidden_crop_days": None, "early_ndvi_days": None, "flood_stubble_days": None,
                     "seedbed_ndvi_max": None},
    "partly_off": {"undated_wet_canopy_lswi": None, "dry_lswi_max": None, "cycle_water_fraction": 0.1,
                   "green_link_days": 30.0, "max_green_days": 90.0, "hidden_flood_link_days": 50.0,
                   "hidden_bare_lswi_max": None, "early_ndvi_days": 25.0, "hidden_open_water_ndvi": 0.2,
                   "flood_stubble_days": 120.0, "seedbed_ndvi_max": 0.3, "seedbed_lswi_margin": 0.0,
                   "seedbed_max_days": 90.0, "seedbed_after_canopy": False, "hidden_reflood_days": None},
    "tuned": {"max_abs_evi": 0.8, "water_fraction": 0.3, "forest_fraction": 0.35, "gap_days": 30.0,
              "max_cycle_days": 120.0, "max_flood_days": 40.0, "ndvi_low": 0.25, "ndvi_high": 0.65,
              "shrub_min_span_days": 60.0, "min_season_days": 60.0, "max_seasons": 2, "undated_seasons": False,
              "harvest_lswi_max": 0.1, "harvest_ndvi_min": -0.1, "sparse_max_dates": 20, "sparse_gap_days": 40.0,
              "sparse_canopy_lswi": 0.1, "peak_window_days": 120.0, "flood_stubble_days": 45.0,
              "seedbed_ndvi_max": 0.1, "seedbed_lswi_margin": 0.1, "seedbed_max_days": 30.0, "hidden_crop_days": 60.0,
              "hidden_reflood_days": 80.0, "early_ndvi_days": None},
}


def _same_outputs(fast, ref):
    assert len(fast) == len(ref)
    for a, b in zip(fast, ref, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)  # NaN-aware


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
@pytest.mark.parametrize("case", sorted(_PARAM_CASES))
@pytest.mark.parametrize("windows", [None, "india"])
def test_compiled_kernel_equals_the_numpy_kernel_on_random_series(case, windows):
    p = OpticalRiceParams(**_PARAM_CASES[case])
    for seed in (0, 1):
        # the series' first 2000 pixels: on them every case's parameters change outputs of seeds 0 and 1 wherever
        # they do on all 4000 (at least one pixel each)
        days, *arrays = _random_series(seed)
        nd, ev, ls, valid = (a[:2000] for a in arrays)
        dates = np.datetime64("2023-01-01") + (days.astype("timedelta64[D]") - 1)
        d, doy = time_axis(dates)
        win = rules_optical.resolve_windows(windows)
        kw: dict[str, Any] = {"days": d, "doy": doy, "window": window_index(doy, win), "n_windows": len(win), "p": p}
        fast = rules_optical._optical_kernel(nd, ev, ls, valid, **kw)
        ref = _reference_kernel(nd, ev, ls, valid, **kw)
        _same_outputs(fast, ref)
        assert (fast[0] == 1).any() and (fast[0] == 0).any() and (fast[0] == 255).any()  # all three classes seen
        if case == "end_flood_tuned" and windows is None:
            # the flood cut by the series' end decides pixels here, so the equality covers its vote
            kw["p"] = dataclasses.replace(p, end_flood_days=None)
            assert (fast[0] != rules_optical._optical_kernel(nd, ev, ls, valid, **kw)[0]).sum() >= 5
        if case == "end_flood_shallow_tuned" and windows is None:
            # the shallow flood (ending the series or passed over before a run) decides pixels here
            kw["p"] = dataclasses.replace(p, end_flood_shallow_ndvi=None)
            assert (fast[0] != rules_optical._optical_kernel(nd, ev, ls, valid, **kw)[0]).sum() >= 1
            kw["p"] = p
        if case == "end_flood_young_tuned" and windows is None:
            # the young crop's rise, its canopy at the end, that canopy after a gap and the turbid water before
            # the run each decide pixels here
            for off in ({"end_flood_rise": None}, {"end_flood_canopy_lswi": None}, {"end_canopy_min_gap": None},
                        {"end_flood_turbid": False}):
                kw["p"] = dataclasses.replace(p, **off)
                assert (fast[0] != rules_optical._optical_kernel(nd, ev, ls, valid, **kw)[0]).sum() >= 1
        # Leading dims, float64 and read-only (dask hands over read-only views) inputs.
        nd64, ev64, ls64 = (a.astype(np.float64).reshape(20, 100, -1) for a in (nd, ev, ls))
        for a in (nd64, ev64, ls64):
            a.flags.writeable = False
        # The reference flattens its inputs and reads them as float32 first, so on the same parameters its
        # outputs for these are its float32 ones reshaped: computed once.
        ref64 = (tuple(r.reshape(20, 100, *r.shape[1:]) for r in ref) if kw["p"] is p
                 else _reference_kernel(nd64, ev64, ls64, valid.reshape(20, 100, -1), **kw))
        _same_outputs(rules_optical._optical_kernel(nd64, ev64, ls64, valid.reshape(20, 100, -1), **kw), ref64)


def _seedbed_series(seed: int, n_pix: int = 3000):
    """Random paddy-like series around the flooded-seedbed thresholds: bare ground, a flooded spell of
    10-90 days, a canopy, stubble, sometimes a refill; a 10-day revisit with a per-pixel cloud gap of
    40-160 days and scattered clouds."""
    rng = np.random.default_rng(seed)
    days = np.arange(0, 365, 10, dtype=np.int32)
    n_t = days.size
    f = rng.uniform(-20, 200, (n_pix, 1))
    spell = rng.uniform(10, 90, (n_pix, 1))
    harvest = f + spell + rng.uniform(40, 120, (n_pix, 1))
    refill = np.where(rng.random((n_pix, 1)) < 0.2, harvest + rng.uniform(10, 80, (n_pix, 1)), np.inf)
    d = days[None, :].astype(float)
    phase = np.select([d < f, d < f + spell, d < harvest, d < refill], [0, 1, 2, 3], 1)
    lo = np.choose(phase, [0.05, -0.1, 0.45, 0.1])
    hi = np.choose(phase, [0.5, 0.3, 0.9, 0.35])
    nd = rng.uniform(lo, hi).astype(_F32)
    ls = np.choose(phase, [rng.uniform(-0.25, 0.2, nd.shape), nd + rng.uniform(-0.1, 0.4, nd.shape),
                           rng.uniform(-0.05, 0.4, nd.shape), rng.uniform(-0.2, 0.1, nd.shape)]).astype(_F32)
    ev = (nd * rng.uniform(0.6, 1.1, nd.shape)).astype(_F32)
    g0 = rng.uniform(0, 300, (n_pix, 1))
    valid = (rng.random((n_pix, n_t)) < 0.8) & ~((d >= g0) & (d < g0 + rng.uniform(40, 160, (n_pix, 1))))
    return days, nd, ev, ls, valid


def _compiled_equals_reference(days: np.ndarray, nd: np.ndarray, ev: np.ndarray, ls: np.ndarray, valid: np.ndarray,
                               p: OpticalRiceParams) -> tuple[Any, dict[str, Any]]:
    """The compiled kernel's outputs on an undated series (no season windows), after checking them equal
    to the numpy reference's; and the keywords it was called with."""
    kw: dict[str, Any] = {"days": days, "doy": (days + 1).astype(np.uint16),
                          "window": np.full(days.size, -1, np.int8), "n_windows": 0, "p": p}
    fast = rules_optical._optical_kernel(nd, ev, ls, valid, **kw)
    _same_outputs(fast, _reference_kernel(nd, ev, ls, valid, **kw))
    return fast, kw


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
@pytest.mark.parametrize("case", sorted(_PARAM_CASES))
def test_compiled_kernel_equals_the_numpy_kernel_on_paddy_like_series(case):
    """Series built around the flood-then-stubble terms, which the uniform random series seldom reach."""
    p = OpticalRiceParams(**_PARAM_CASES[case])
    days, nd, ev, ls, valid = _seedbed_series(0)
    fast, kw = _compiled_equals_reference(days, nd, ev, ls, valid, p)
    if p.seedbed_ndvi_max is not None and p.hidden_crop_days is not None and p.undated_seasons:
        # the flooded seedbed decides pixels here, so the equality covers its vote
        kw["p"] = dataclasses.replace(p, seedbed_ndvi_max=None)
        assert (fast[0] != rules_optical._optical_kernel(nd, ev, ls, valid, **kw)[0]).sum() >= 5
    if p.gap_season_lswi is not None and p.undated_seasons:
        # so does the season hidden in a gap (its vote is compared too)
        kw["p"] = dataclasses.replace(p, gap_season_lswi=None)
        assert (fast[0] != rules_optical._optical_kernel(nd, ev, ls, valid, **kw)[0]).sum() >= 5
    if p.weak_flood_canopy_lswi is not None:
        # and the canopy bar after an onset without standing water
        kw["p"] = dataclasses.replace(p, weak_flood_canopy_lswi=None)
        assert (fast[0] != rules_optical._optical_kernel(nd, ev, ls, valid, **kw)[0]).sum() >= 5
    if case == "default":
        # and the onset at a long flood's end (its seasons and scores)
        kw["p"] = dataclasses.replace(p, pond_end_onset=False)
        plain = rules_optical._optical_kernel(nd, ev, ls, valid, **kw)
        assert sum(int((a != b).sum()) for a, b in zip(fast, plain)) >= 5
    if case == "end_flood_short_link":
        # each switch of the flood at the series' end changes outputs here, so the equality covers its code
        for switch in ("end_flood_not_water", "end_flood_turbid_water", "end_flood_turbid_link",
                       "end_flood_after_canopy", "end_reflood"):
            kw["p"] = dataclasses.replace(p, **{switch: False})
            off = rules_optical._optical_kernel(nd, ev, ls, valid, **kw)
            assert sum(int((~((a == b) | ((a != a) & (b != b)))).sum()) for a, b in zip(fast, off, strict=True)) >= 2


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_every_parameter_case_changes_the_kernels_outputs():
    """A case equal to the defaults in effect (a default changed under it) would compare the default path
    twice and leave its parameters' code unchecked."""
    days, nd, ev, ls, valid = _seedbed_series(0)
    kw: dict[str, Any] = {"days": days, "doy": (days + 1).astype(np.uint16),
                          "window": np.full(days.size, -1, np.int8), "n_windows": 0}
    default = rules_optical._optical_kernel(nd, ev, ls, valid, p=OpticalRiceParams(), **kw)
    same = []
    for case, changed in _PARAM_CASES.items():
        out = rules_optical._optical_kernel(nd, ev, ls, valid, p=OpticalRiceParams(**changed), **kw)
        if case != "default" and all(a.shape == b.shape and ((a == b) | ((a != a) & (b != b))).all()
                                     for a, b in zip(out, default, strict=True)):
            same.append(case)
    assert not same, f"parameter cases that change no output: {same}"


def _jittered(seed: int, n_pix: int, days: list[int], nd0: list[float], ls0: list[float], nd_sd: float,
              evi_ratio: float):
    """``n_pix`` copies of one pixel's clear series (day, NDVI, LSWI): NDVI jittered by ``nd_sd``, LSWI by 0.05,
    EVI ``evi_ratio`` x NDVI, and a fifth of the dates clouded per pixel."""
    rng = np.random.default_rng(seed)
    d = np.array(days, dtype=np.int32)
    nd = (np.array(nd0, dtype=np.float32)[None, :] + rng.normal(0, nd_sd, (n_pix, d.size))).astype(np.float32)
    ls = (np.array(ls0, dtype=np.float32)[None, :] + rng.normal(0, 0.05, (n_pix, d.size))).astype(np.float32)
    ev = (nd * np.float32(evi_ratio)).astype(np.float32)
    valid = rng.random((n_pix, d.size)) > 0.2
    return d, nd, ev, ls, valid


def _gap_flood_series(seed: int, n_pix: int = 400):
    """A fallow seen to day 130, then the monsoon's cloud gap, a flood from day 225-260 to the end and a young crop
    greening in it on the last dates (``end_flood_rise_link``): a ``wetland_confusion`` paddy, its indices jittered
    and a fifth of its dates clouded per pixel."""
    days = [0, 10, 15, 20, 25, 30, 40, 65, 75, 80, 85, 95, 100, 105, 110, 125, 130, 225, 260, 265, 270, 275, 290]
    nd0 = [0.31, 0.26, 0.27, 0.29, 0.26, 0.25, 0.23, 0.27, 0.27, 0.22, 0.25, 0.28, 0.28, 0.32, 0.24, 0.29, 0.29, 0.01,
           -0.14, -0.06, -0.05, -0.08, 0.45]
    ls0 = [-0.04, -0.06, -0.07, -0.07, -0.09, -0.05, -0.08, -0.05, -0.07, -0.01, -0.09, -0.07, -0.07, -0.05, -0.02,
           -0.02, -0.04, 0.12, 0.37, 0.27, 0.33, 0.22, 0.37]
    return _jittered(seed, n_pix, days, nd0, ls0, nd_sd=0.08, evi_ratio=0.6)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
@pytest.mark.parametrize("case", ["default", "end_flood_short_link"])
def test_compiled_kernel_equals_the_numpy_kernel_on_a_flood_after_the_monsoon_gap(case):
    p = OpticalRiceParams(**_PARAM_CASES[case])
    days, nd, ev, ls, valid = _gap_flood_series(0)
    fast, kw = _compiled_equals_reference(days, nd, ev, ls, valid, p)
    # the young crop's link across the gap changes outputs here, so the equality covers its code
    kw["p"] = dataclasses.replace(p, end_flood_rise_link=False)
    off = rules_optical._optical_kernel(nd, ev, ls, valid, **kw)
    _same_outputs(off, _reference_kernel(nd, ev, ls, valid, **kw))
    assert (fast[0] != off[0]).sum() >= 5


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's 0 / 0
@pytest.mark.parametrize("case", ["default", "partly_off"])
def test_repeated_dates_with_a_median_gap_of_zero_days(case):
    """Three scenes a day: the median clear gap is 0 days and a gap of exactly the hidden-crop length
    divides 0 by 0 in the undated evidence (the walk keeps that vote even before a flooded spell)."""
    p = OpticalRiceParams(**_PARAM_CASES[case])
    _, nd, ev, ls, valid = _random_series(3, n_t=24)
    valid[120:] = True
    days = np.repeat(np.arange(1, 9, dtype=np.int32) * 90, 3)  # 90 d apart: hidden_crop_days
    kw: dict[str, Any] = {"days": days, "doy": days.astype(np.uint16), "window": np.full(days.size, -1, np.int8),
                          "n_windows": 0, "p": p}
    fast = rules_optical._optical_kernel(nd, ev, ls, valid, **kw)
    _same_outputs(fast, _reference_kernel(nd, ev, ls, valid, **kw))


def test_series_without_dates_or_pixels():
    p = OpticalRiceParams()
    for n_pix, n_t in ((0, 5), (6, 1), (6, 2)):
        days = np.arange(1, n_t + 1, dtype=np.int32) * 10
        kw: dict[str, Any] = {"days": days, "doy": days.astype(np.uint16), "window": np.full(n_t, -1, np.int8),
                              "n_windows": 0, "p": p}
        arrays = [np.full((n_pix, n_t), 0.3, _F32)] * 3 + [np.ones((n_pix, n_t), bool)]
        _same_outputs(rules_optical._optical_kernel(*arrays, **kw), _reference_kernel(*arrays, **kw))


# ---- the whole rule on scenes: numpy, dask, every hard scene ----------------------------------

def _with_reference(monkeypatch):
    # The reference reads indices from agromap.indices and the mask from clear_observations.
    monkeypatch.setattr(rules_optical, "_kernel_bands", lambda ds, p: None)
    monkeypatch.setattr(rules_optical, "_optical_kernel", _reference_kernel)


def _compare_rule(monkeypatch, ds, **kwargs):
    fast = optical_rice_rule(ds, **kwargs).compute()
    with monkeypatch.context() as m:
        _with_reference(m)
        ref = optical_rice_rule(ds, **kwargs).compute()
    for name in ref.data_vars:
        assert fast[name].dtype == ref[name].dtype
        np.testing.assert_array_equal(fast[name].values, ref[name].values)
    return fast


@pytest.mark.parametrize("case", ["cloudy_scl", "nan_gaps_windows", "literal_params", "triple_crop", "tuned_dask"])
def test_whole_rule_is_bit_identical_to_the_numpy_kernel(case, monkeypatch):
    dates = None
    if case == "triple_crop":  # a year every 8 days, up to three seasons per field
        dates = tuple(str(d.date()) for d in pd.date_range("2023-01-05", "2023-12-28", freq="8D"))
    spec = SceneSpec(shape=(48, 48), seed=3, n_seasons=3 if case == "triple_crop" else 2, cloud_fraction=0.35,
                     chunk=24, mask_clouds=case == "nan_gaps_windows", **({"dates": dates} if dates else {}))
    ds = make_s2_stack(spec)
    if case != "tuned_dask":
        ds = ds.compute()
    kwargs: dict = {}
    if case == "nan_gaps_windows":  # random lost pixel-dates and two whole lost dates
        rng = np.random.default_rng(5)
        lost = rng.random((ds.sizes["time"], 48, 48)) < 0.25
        lost[[3, 4]] = True
        ds = ds.assign({b: ds[b].where(~xr.DataArray(lost, dims=("time", "y", "x"))) for b in ("red", "nir", "blue",
                                                                                             "swir16", "green")})
        kwargs["windows"] = "india"
    if case == "literal_params":
        kwargs["params"] = OpticalRiceParams(onset_at_series_start=False, mask_outside_cycles=False,
                                             growth_rule="both", max_green_days=90.0, green_link_days=30.0)
    if case == "tuned_dask":
        kwargs["params"] = OpticalRiceParams(**_PARAM_CASES["xiao"])
    fast = _compare_rule(monkeypatch, ds, **kwargs)
    assert fast.rice_class.values.any()
    if case == "triple_crop":
        assert int(fast.n_seasons.where(fast.n_seasons < 255).max()) >= 2


@pytest.mark.parametrize("name", SCENE_NAMES)
def test_every_hard_scene_is_bit_identical(name, monkeypatch):
    sc = make_scene(name, size=24, chunk=12)
    assert sc.s2 is not None
    _compare_rule(monkeypatch, sc.s2)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
@pytest.mark.parametrize("qa", ["none", "scl", "valid"])
def test_indices_and_clear_tests_inside_the_kernel_equal_the_array_functions(qa, monkeypatch):
    """Reflectances with zero, subnormal and negative sums, NaN, inf, -0 and haze, cloud and snow dates."""
    spec = SceneSpec(shape=(40, 40), seed=11, n_seasons=2, cloud_fraction=0.3)
    ds = make_s2_stack(spec).compute()
    rng = np.random.default_rng(2)
    shape = (ds.sizes["time"], 40, 40)
    edits = {
        "red": [(0.02, lambda a: -a["nir"]), (0.01, lambda a: np.float32(1e-45)), (0.01, lambda a: np.float32(-0.0))],
        "nir": [(0.02, lambda a: np.float32(0.0)), (0.01, lambda a: np.float32(np.inf))],
        "swir16": [(0.02, lambda a: -a["nir"]), (0.02, lambda a: -a["green"]), (0.02, lambda a: np.float32(np.nan))],
        "blue": [(0.03, lambda a: np.float32(0.25)), (0.03, lambda a: a["red"] * np.float32(0.5) + np.float32(0.09)),
                 (0.02, lambda a: (a["nir"] + a["red"] * np.float32(6.0) + np.float32(1.0)) / np.float32(7.5))],
        "green": [(0.03, lambda a: np.float32(0.9))],
    }
    arrays = {b: ds[b].values.astype(np.float32) for b in ("red", "nir", "swir16", "blue", "green")}
    for band, changes in edits.items():
        for frac, value in changes:
            where = rng.random(shape) < frac
            arrays[band] = np.where(where, value(arrays), arrays[band]).astype(np.float32)
    for blue in (0.08, 0.2):  # exactly on the haze (red 0) and cloud thresholds
        where = rng.random(shape) < 0.03
        arrays["red"][where] = 0.0
        arrays["blue"][where] = np.float32(blue)
    ds = ds.assign({b: (("time", "y", "x"), a) for b, a in arrays.items()})
    kwargs: dict = {}
    if qa == "none":
        ds = ds.drop_vars("scl")
    if qa == "valid":
        kwargs["valid"] = xr.DataArray(rng.random(shape) < 0.8, dims=("time", "y", "x"), coords={"time": ds["time"]})
    assert rules_optical._kernel_bands(ds, OpticalRiceParams()) is not None
    fast = _compare_rule(monkeypatch, ds, **kwargs)
    assert fast.rice_class.values.any()
    # Each test switched off, the snow test without green, LSWI from another NIR band.
    for params in (OpticalRiceParams(cloud_blue=None, haze_hot=None, snow_ndsi=None), OpticalRiceParams(haze_hot=None),
                   OpticalRiceParams(lswi_nir_band="green")):
        _compare_rule(monkeypatch, ds, params=params, **kwargs)
    _compare_rule(monkeypatch, ds.drop_vars("green"), **kwargs)


def test_bands_other_than_float32_take_the_array_functions():
    ds = make_s2_stack(SceneSpec(shape=(8, 8), seed=1)).compute()
    p = OpticalRiceParams()
    assert rules_optical._kernel_bands(ds, p) is not None
    assert rules_optical._kernel_bands(ds.assign(red=ds["red"].astype(np.float64)), p) is None
    assert rules_optical._kernel_bands(ds.assign(ndvi=ds["red"]), p) is None


# ---- loading: no numba at start-up, the disk cache, no cache at all ---------------------------

def _probe(code: str, env: dict[str, str] | None = None, user: list[str] | None = None) -> str:
    done = subprocess.run([*(user or []), sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_importing_the_package_or_the_rule_does_not_load_numba():
    code = ("import sys, agromap, agromap.rice, agromap.rice.rules_optical, agromap.pipeline.cli\n"
            "print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))")
    assert _probe(code) == "[]"


_RUN_SMALL = ("import sys, numpy as np\n"
              "from agromap.testing import SceneSpec, make_s2_stack\n"
              "from agromap.rice.rules_optical import optical_rice_rule\n"
              "out = optical_rice_rule(make_s2_stack(SceneSpec(shape=(8, 8), seed=1)).compute())\n"
              "from agromap import jit as kernel_jit\n"
              "from agromap.rice import optical_kernel as k\n"
              "print(int(out.n_valid_obs.sum()), len(k._pixels.stats.cache_hits), kernel_jit.CACHE)\n")
_RULE_DIGEST = ("import hashlib\n"
                "print(hashlib.sha256(b''.join(out[v].values.tobytes() for v in sorted(out.data_vars))).hexdigest())\n")
_RUN_HELPER = ("from agromap import jit as kernel_jit\n"
               "print(kernel_jit.minimum(1.5, 2.5), len(kernel_jit.minimum.stats.cache_hits), kernel_jit.CACHE)\n")


def test_a_second_process_loads_the_compiled_kernel_from_the_cache():
    _probe(_RUN_SMALL)  # compiles (or loads) and writes the cache
    n_obs, hits, cached = _probe(_RUN_SMALL).split()
    assert int(n_obs) > 0 and int(hits) == 1 and cached == "True"


def test_a_user_who_cannot_write_any_cache_folder_still_runs_the_rule():
    """As 'nobody' the package folder and the home are not writable: a private folder under the
    temporary directory takes the cache; with that unwritable too, the kernel compiles in memory.

    The folder is chosen once for every compiled function (``agromap.jit``), so the smallest one
    shows where the cache goes and that the next process reads it; the rule itself is compiled
    once, in memory, and gives this process's result (the kernel loaded from the package's cache)
    bit for bit."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run as user nobody")
    as_nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    env = {"HOME": "/nonexistent", "NUMBA_CACHE_DIR": ""}
    probe = subprocess.run([*as_nobody, sys.executable, "-c", "import agromap"], capture_output=True, text=True,
                           env={**os.environ, **env})
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot import agromap from this checkout ({probe.stderr.strip()[-120:]})")
    root = Path(tempfile.mkdtemp(prefix="agromap-nobody-", dir="/tmp"))
    try:
        root.chmod(0o755)
        for name in ("open", "closed"):
            (root / name).mkdir(mode=0o777)
            (root / name).chmod(0o777)  # the temporary directory itself is writable ...
        (root / "closed" / "agromap-numba-65534").mkdir(mode=0o755)  # ... the private folder in it is not
        first = _probe(_RUN_HELPER, {**env, "TMPDIR": str(root / "open")}, as_nobody).split()
        assert first == ["1.5", "0", "True"]
        assert any((root / "open" / "agromap-numba-65534").rglob("*.nbi"))  # the cache went there ...
        again = _probe(_RUN_HELPER, {**env, "TMPDIR": str(root / "open")}, as_nobody).split()
        assert again == ["1.5", "1", "True"]  # ... and is read by the next run
        closed = subprocess.run([*as_nobody, sys.executable, "-c", _RUN_SMALL + _RULE_DIGEST], capture_output=True,
                                text=True, timeout=600, env={**os.environ, **env, "TMPDIR": str(root / "closed")})
        assert closed.returncode == 0, closed.stderr[-2000:]
        n_obs, hits, cached, digest = closed.stdout.split()[-4:]
        assert [hits, cached] == ["0", "False"]  # compiled in memory ...
        out = optical_rice_rule(make_s2_stack(SceneSpec(shape=(8, 8), seed=1)).compute())
        assert int(n_obs) == int(out.n_valid_obs.sum()) > 0
        assert digest == hashlib.sha256(b"".join(out[v].values.tobytes() for v in sorted(out.data_vars))).hexdigest()
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---- seasons, score and QA bits: the compiled walk against SeasonSlots and finish_outputs -----

def _reference_seasons_and_score(k, lead, *, days, doy, window, n_windows, p):
    """The numpy formulation of ``rules_optical._seasons_and_score``: slots filled date by date."""
    water, forest = k["water"], k["forest"]
    n_pix, n_t = k["onset"].shape
    seasons = SeasonSlots(n_pix, n_windows, p.max_seasons, p.min_season_days, k["mask_margin"], water | forest)
    for t in range(n_t):
        idx = np.flatnonzero(k["onset"][:, t])
        if idx.size:
            seasons.offer(t, idx, k["growth"][idx, t], window, doy, days)
    best, count, slots = seasons.best, seasons.count, seasons.slots
    if p.undated_seasons and not n_windows:
        undated = k["undated"]
        count = np.where((undated >= 0) & (count == 0) & ~(water | forest), 1, count)
        best = np.maximum(best, undated)
    score = np.where(np.isneginf(best), _F32(0.0), logistic(best))
    u8 = np.uint8
    qa = np.where(k["n_window"] > 0, u8(QA_OBSERVED), u8(0))
    qa |= np.where(count > 0, u8(QA_OPTICAL), u8(0))
    qa |= np.where(water, u8(QA_WATER), u8(0))
    qa |= np.where(forest, u8(QA_FOREST_BUILT), u8(0))
    return finish_outputs(lead, k["n_valid"], count, slots, score, k["n_window"], qa)


def _random_kernel_results(seed: int, n_pix: int = 4000, n_t: int = 24) -> dict[str, npt.NDArray[Any]]:
    """The optical kernel's per-pixel results at their edges: NaN and infinite margins, no valid
    observation, counts above 254, masked pixels, onsets on most dates."""
    rng = np.random.default_rng(seed)

    def margins(shape):
        m = rng.normal(0.0, 2.0, shape).astype(_F32)
        pick = rng.random(shape)
        m[pick < 0.05] = np.nan
        m[(pick >= 0.05) & (pick < 0.1)] = -np.inf
        m[(pick >= 0.1) & (pick < 0.12)] = np.inf
        m[(pick >= 0.12) & (pick < 0.15)] = 0.0
        return m

    n_valid = rng.integers(0, 300, n_pix).astype(np.int32)
    n_valid[rng.random(n_pix) < 0.1] = 0
    return {"onset": rng.random((n_pix, n_t)) < 0.4, "growth": margins((n_pix, n_t)),
            "n_valid": n_valid, "n_window": rng.integers(0, 300, n_pix).astype(np.int32) * (rng.random(n_pix) < 0.8),
            "water": rng.random(n_pix) < 0.1, "forest": rng.random(n_pix) < 0.1,
            "mask_margin": margins(n_pix), "undated": margins(n_pix)}


@pytest.mark.parametrize("windows", [0, 3])
@pytest.mark.parametrize("undated", [True, False])
def test_compiled_seasons_and_score_equal_the_numpy_slots(windows, undated):
    """Every output of the compiled season walk equals SeasonSlots + finish_outputs, with a calendar
    (onsets on dates outside every window included, which numpy's indexing puts in the last slot)
    and without (seasons closer than ``min_season_days`` refused, more onsets than slots)."""
    p = OpticalRiceParams(undated_seasons=undated)
    n_t = 24
    for seed in (0, 1):
        rng = np.random.default_rng(100 + seed)
        days = np.cumsum(rng.integers(1, 40, n_t)).astype(np.int32)
        doy = ((days - 1) % 365 + 1).astype(np.uint16)
        window = rng.integers(-1, windows, n_t).astype(np.int8) if windows else np.full(n_t, -1, np.int8)
        kw: dict[str, Any] = {"days": days, "doy": doy, "window": window, "n_windows": windows, "p": p}
        k = _random_kernel_results(seed, n_t=n_t)
        lead = (40, 100)
        fast = rules_optical._seasons_and_score(dict(k), lead, **kw)
        ref = _reference_seasons_and_score(dict(k), lead, **kw)
        _same_outputs(fast, ref)
        assert (fast[0] == 255).any() and (fast[0] == 1).any() and (fast[1] > 1).any()  # edges reached
        assert np.isnan(fast[3]).any() and (fast[3] == 0).any() and ((fast[3] > 0) & (fast[3] < 1)).any()


@pytest.mark.parametrize("windows", [0, 3])
def test_the_sar_rules_seasons_through_the_walk_equal_the_numpy_slots(windows):
    """The SAR rule's use of the walk: masks folded into every margin (-inf on water or built-up),
    no mask margin cap, the seasons' bit ``QA_SAR``; the same outputs as SeasonSlots without a
    masked pixel, so the walk refusing masked pixels changes nothing there."""
    from agromap.rice.seasons_kernel import rule_outputs, season_pixels

    p = OpticalRiceParams()
    n_t, lead = 24, (40, 100)
    rng = np.random.default_rng(7)
    days = np.cumsum(rng.integers(1, 40, n_t)).astype(np.int32)
    doy = ((days - 1) % 365 + 1).astype(np.uint16)
    window = rng.integers(-1, windows, n_t).astype(np.int8) if windows else np.full(n_t, -1, np.int8)
    k = _random_kernel_results(3, n_t=n_t)
    masked = k["water"] | k["forest"]
    k["growth"] = np.where(masked[:, None], np.minimum(k["growth"], _F32(-np.inf)), k["growth"]).astype(_F32)
    n_pix = masked.size
    k["mask_margin"], k["undated"] = np.full(n_pix, np.inf, _F32), np.zeros(n_pix, _F32)
    o = season_pixels(dict(k), n_slots=windows or p.max_seasons, window=window, doy=doy, days=days,
                      n_windows=windows, min_season_days=p.min_season_days, undated=False, found_bit=QA_SAR)
    fast = rule_outputs(o, lead)

    seasons = SeasonSlots(n_pix, windows, p.max_seasons, p.min_season_days, k["mask_margin"], np.zeros(n_pix, bool))
    for t in range(n_t):
        idx = np.flatnonzero(k["onset"][:, t])
        if idx.size:
            seasons.offer(t, idx, k["growth"][idx, t], window, doy, days)
    best, count = seasons.best, seasons.count
    score = np.where(np.isneginf(best), _F32(0.0), logistic(best))
    qa = (np.where(k["n_window"] > 0, QA_OBSERVED, 0) | np.where(count > 0, QA_SAR, 0)
          | np.where(k["water"], QA_WATER, 0) | np.where(k["forest"], QA_FOREST_BUILT, 0)).astype(np.uint8)
    ref = finish_outputs(lead, k["n_valid"], count, seasons.slots, score, k["n_window"], qa)
    _same_outputs(fast, ref)
    assert ((fast[6] & QA_SAR) > 0).any() and not (fast[6] & QA_OPTICAL).any()
    assert (fast[0] == 1).any() and (fast[1] > 1).any() and ((fast[6] & QA_WATER) > 0).any()


def _reflood_series(seed: int, n_pix: int = 3000):
    """Random series around the flood after the gap (``hidden_reflood_days``): bare ground, a flood seen on
    two or three dates, a clear gap of 60-150 days, water again for 0-30 days (sometimes none), then a young
    crop, soil or water at random, on a 5-day revisit with scattered clouds."""
    rng = np.random.default_rng(seed)
    days = np.arange(0, 365, 5, dtype=np.int32)
    d = days[None, :].astype(float)
    f = rng.uniform(10, 120, (n_pix, 1))
    gap0 = f + rng.uniform(5, 35, (n_pix, 1))
    gap1 = gap0 + rng.uniform(60, 150, (n_pix, 1))
    refill = gap1 + rng.uniform(0, 30, (n_pix, 1))
    phase = np.select([d < f, d < gap0, d < gap1, d < refill], [0, 1, 0, 1], 2)
    lo = np.choose(phase, [0.1, -0.1, 0.15])
    nd = (lo + rng.uniform(0.0, 0.35, lo.shape)).astype(_F32)
    ls = np.choose(phase, [rng.uniform(-0.2, 0.12, nd.shape), nd + rng.uniform(0.0, 0.3, nd.shape),
                           rng.uniform(-0.1, 0.35, nd.shape)]).astype(_F32)
    ev = (nd * rng.uniform(0.6, 1.1, nd.shape)).astype(_F32)
    valid = (rng.random(nd.shape) < 0.75) & ~((d >= gap0) & (d < gap1))
    return days, nd, ev, ls, valid


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
@pytest.mark.parametrize("case", ["default", "tuned", "partly_off"])
def test_compiled_kernel_equals_the_numpy_kernel_after_a_flood_beyond_the_gap(case):
    p = OpticalRiceParams(**_PARAM_CASES[case])
    days, nd, ev, ls, valid = _reflood_series(0)
    fast, kw = _compiled_equals_reference(days, nd, ev, ls, valid, p)
    if p.hidden_reflood_days is not None and p.undated_seasons:
        # the flood after the gap sets the score of many pixels here, so the equality covers its vote
        kw["p"] = dataclasses.replace(p, hidden_reflood_days=None)
        assert (fast[3] != rules_optical._optical_kernel(nd, ev, ls, valid, **kw)[3]).sum() >= 100


def _double_crop_series(seed: int, n_pix: int = 400):
    """A double-cropped paddy of ``wetland_confusion`` (10-month series shifted 60 days): the first crop's canopy in
    water on days 130-170, drained and harvested by day 185 (still green), the second crop's canopy in water from
    day 235 (``green_harvest_lswi``); its indices jittered and a fifth of its dates clouded per pixel."""
    days = [0, 10, 15, 25, 30, 60, 65, 90, 100, 130, 155, 165, 170, 185, 235, 245, 250, 260]
    nd0 = [0.27, 0.27, 0.26, 0.24, 0.28, 0.30, 0.24, -0.21, -0.10, 0.61, 0.82, 0.73, 0.72, 0.54, 0.68, 0.81, 0.77, 0.83]
    ls0 = [-0.07, -0.09, -0.09, -0.08, -0.06, -0.04, -0.08, 0.29, 0.31, 0.35, 0.36, 0.37, 0.37, 0.08, 0.34, 0.35, 0.40,
           0.37]
    return _jittered(seed, n_pix, days, nd0, ls0, nd_sd=0.05, evi_ratio=0.7)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
def test_compiled_kernel_equals_the_numpy_kernel_on_a_double_crop_with_a_drained_harvest():
    p = OpticalRiceParams()
    days, nd, ev, ls, valid = _double_crop_series(0)
    fast, kw = _compiled_equals_reference(days, nd, ev, ls, valid, p)
    # the harvest that ends the green spell changes outputs here, so the equality covers its code
    kw["p"] = dataclasses.replace(p, green_harvest_lswi=None)
    off = rules_optical._optical_kernel(nd, ev, ls, valid, **kw)
    _same_outputs(off, _reference_kernel(nd, ev, ls, valid, **kw))
    assert (fast[0] != off[0]).sum() >= 5
