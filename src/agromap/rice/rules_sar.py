"""Sentinel-1 VH rice rule: a flooding minimum followed by a backscatter rise (docs/science/rice.md#sentinel-1-vh-rule).

Per pixel, in **linear power** (the contract of :mod:`agromap.sensors.s1`), compared in dB:

1. Values <= 0 or NaN are invalid. With ``smooth_days > 0`` each valid date is replaced by the
   mean, in linear power, of the valid dates within ``+-smooth_days / 2`` (irregular dates are
   fine). Then ``VH_db = 10 log10(VH)``.
2. **Candidate minima** ``t_min``: without windows, every valid date that is the minimum of VH
   within ``+-trough_halfwidth_days`` (30 d; the earliest one on ties); with season windows,
   ``t_min = argmin VH`` inside each window (the §3.2 "argmin within [season_start, season_start
   + planting_spread]").
3. **Default rule** (published starting values, docs/science/rice.md#sentinel-1-vh-rule): rice if
   ``VH_min_db <= -18``, the maximum of ``VH_db`` over ``[t_min + 30 d, t_min + 110 d]`` is
   ``>= -16.5``, the rise ``VH_max_db - VH_min_db >= 5`` dB, and ``40 d <= t_max - t_min <= 100 d``;
4. **and** not permanent water (``VH_p90_db < -20`` or a water frequency, the fraction of valid
   dates with ``VH_db < -20``, ``>= 0.8``), **and** not built-up/forest (``VH_p10_db > -15`` with
   low temporal variability, taken as an inter-decile range ``VH_p90_db - VH_p10_db < 3 dB``: a
   robust spread measure whose order statistics are the same in linear power and in dB).
   Percentiles interpolate linearly between order statistics in linear power.
5. **Seasons**: passing minima are accepted in time order when at least ``min_season_days``
   (80 d) after the previous accepted one (with windows: one per window). ``transplant_doy`` is
   the calendar day of year of ``t_min`` (the flood minimum, effectively the transplanting date).

``rice_score`` is ``logistic(m)`` of the best candidate's smallest margin, with dB margins in dB,
day margins in units of 5 d and the water frequency in units of 0.1: above 0.5 means rice.

Speckle: the rule expects a multi-temporal/spatial speckle filter upstream (§3.2 input). A
single-look-like pixel with about 2 dB of speckle crosses -18 dB on some date by chance;
:func:`boxcar_speckle_filter` is a simple spatial boxcar in linear power for rasters.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from ..errors import ConfigError, InputError, MissingBandError
from .seasons import (
    LAYER_SPECS,
    QA_FOREST_BUILT,
    QA_OBSERVED,
    QA_SAR,
    QA_WATER,
    SeasonSlots,
    SeasonWindow,
    apply_rule,
    finish_outputs,
    flatten_time,
    fraction,
    logistic,
    masked_min,
    prepare_series,
    resolve_windows,
    time_axis,
    window_index,
)

__all__ = ["SarRiceParams", "sar_rice_rule", "boxcar_speckle_filter", "LAYER_SPECS"]

_F32 = np.float32
_DAY_SCALE = 5.0   # days per logistic unit in rice_score
_FREQ_SCALE = 0.1  # water-frequency per logistic unit


@dataclass(frozen=True)
class SarRiceParams:
    """Thresholds of the VH rule; defaults are the §3.2 starting values (calibrate per AOI)."""

    vh_min_db: float = -18.0
    """Flood minimum: ``VH_min_db <= vh_min_db`` (published range -22 ... -17.7)."""
    vh_max_db: float = -16.5
    """Heading: max VH over the rise window ``>= vh_max_db`` (published -16.1 ... -14.2)."""
    rise_db: float = 5.0
    """``VH_max_db - VH_min_db >= rise_db`` (mean published increase 5.07 dB; tune 4 ... 7)."""
    rise_window_start_days: float = 30.0
    """The maximum is searched from ``t_min + rise_window_start_days`` ..."""
    rise_window_end_days: float = 110.0
    """... to ``t_min + rise_window_end_days``."""
    min_rise_days: float = 40.0
    """``t_max - t_min >= min_rise_days``."""
    max_rise_days: float = 100.0
    """``t_max - t_min <= max_rise_days``."""
    water_p90_db: float = -20.0
    """Permanent water when ``VH_p90_db < water_p90_db`` ..."""
    water_db: float = -20.0
    """... or when the fraction of dates with ``VH_db < water_db`` ..."""
    water_frequency: float = 0.8
    """... is ``>= water_frequency``."""
    built_p10_db: float = -15.0
    """Built-up/forest when ``VH_p10_db > built_p10_db`` ..."""
    built_range_db: float = 3.0
    """... and ``VH_p90_db - VH_p10_db < built_range_db`` (the "low temporal std"; recommendation)."""
    trough_halfwidth_days: float = 30.0
    """Without windows, a candidate ``t_min`` is the VH minimum within +- this many days."""
    smooth_days: float = 0.0
    """Temporal mean in linear power over dates within +- smooth_days/2 (0: none; e.g. 13 for a
    3-date mean at a 6-day revisit)."""
    min_season_days: float = 80.0
    """Minimum days between two accepted flood minima (separate seasons)."""
    max_seasons: int = 3
    """Length of the ``season`` axis without windows."""

    def __post_init__(self) -> None:
        if not 1 <= int(self.max_seasons) <= 12:
            raise ConfigError(f"max_seasons must be within 1-12, got {self.max_seasons}.")
        if not 0 <= self.rise_window_start_days < self.rise_window_end_days:
            raise ConfigError("rise_window_start_days must be >= 0 and below rise_window_end_days, got "
                              f"{self.rise_window_start_days} and {self.rise_window_end_days}.")
        if not self.min_rise_days <= self.max_rise_days:
            raise ConfigError(f"min_rise_days {self.min_rise_days} exceeds max_rise_days {self.max_rise_days}.")
        if self.smooth_days < 0 or self.trough_halfwidth_days <= 0 or self.min_season_days <= 0:
            raise ConfigError("smooth_days must be >= 0, trough_halfwidth_days and min_season_days > 0.")


def _to_db(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out = np.full(x.shape, np.nan, dtype=_F32)
    np.log10(x, out=out, where=x > 0)
    return (out * _F32(10.0)).astype(_F32)


def _smooth(vh: npt.NDArray[np.float32], days: npt.NDArray[np.int32], half: float) -> npt.NDArray[np.float32]:
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


def _percentile_db(sorted_lin: npt.NDArray[np.float32], n: npt.NDArray[Any], q: float) -> npt.NDArray[np.float32]:
    """q-th quantile (0-1) of the first ``n`` sorted values of each row, interpolated in linear, in dB."""
    pos = np.maximum(n - 1, 0).astype(_F32) * _F32(q)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0)).astype(np.intp)
    a = np.take_along_axis(sorted_lin, lo[:, None], axis=-1)[:, 0]
    b = np.take_along_axis(sorted_lin, hi[:, None], axis=-1)[:, 0]
    val = a + (b - a) * (pos - lo.astype(_F32))
    return np.where(n > 0, _to_db(np.where(n > 0, val, _F32(1.0))), _F32(np.nan)).astype(_F32)


def _candidates(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], window: npt.NDArray[np.int8],
                n_windows: int, p: SarRiceParams) -> npt.NDArray[np.bool_]:
    """Candidate flood minima: local minima (no windows) or the argmin inside each window."""
    n_pix, n_t = db.shape
    valid = ~np.isnan(db)
    cand = np.zeros((n_pix, n_t), dtype=bool)
    if n_windows:
        for w in range(n_windows):
            cols = np.flatnonzero(window == w)
            if cols.size == 0:
                continue
            seg = np.where(valid[:, cols], db[:, cols], _F32(np.inf))
            j = seg.argmin(axis=-1)  # first minimum
            has = np.isfinite(seg.min(axis=-1))
            cand[np.flatnonzero(has), cols[j[has]]] = True
        return cand
    h = p.trough_halfwidth_days
    for t in range(n_t):
        a = int(np.searchsorted(days, days[t] - h, side="left"))
        b = int(np.searchsorted(days, days[t] + h, side="right"))
        before = masked_min(db[:, a:t])
        after = masked_min(db[:, t + 1:b])
        cand[:, t] = valid[:, t] & (db[:, t] < before) & (db[:, t] <= after)
    return cand


def _sar_kernel(
    vh: npt.NDArray[Any], *, days: npt.NDArray[np.int32], doy: npt.NDArray[np.uint16],
    window: npt.NDArray[np.int8], n_windows: int, p: SarRiceParams,
) -> tuple[npt.NDArray[Any], ...]:
    """The VH rule on ``(..., time)`` linear power; returns the arrays of ``seasons.OUTPUT_DTYPES``."""
    lead, (lin,) = flatten_time(vh)
    lin = lin.astype(_F32, copy=False)
    lin = np.where(np.isfinite(lin) & (lin > 0), lin, _F32(np.nan))
    if p.smooth_days > 0:
        lin = _smooth(lin, days, p.smooth_days / 2.0)
    ok = ~np.isnan(lin)
    n_pix, n_t = lin.shape
    n_valid = ok.sum(axis=-1)
    in_win = window >= 0 if n_windows else np.ones(n_t, dtype=bool)
    n_window = (ok & in_win).sum(axis=-1)
    db = _to_db(lin)

    # Masks: percentiles (NaN sorts last, so the first n_valid are the valid values).
    srt = np.sort(lin, axis=-1)
    p10, p90 = _percentile_db(srt, n_valid, 0.10), _percentile_db(srt, n_valid, 0.90)
    water_freq = fraction((ok & (db < _F32(p.water_db))).sum(axis=-1), n_valid)
    water = (p90 < _F32(p.water_p90_db)) | (water_freq >= _F32(p.water_frequency))
    spread = p90 - p10
    built = (p10 > _F32(p.built_p10_db)) & (spread < _F32(p.built_range_db))
    masked = water | built
    with np.errstate(invalid="ignore"):
        mask_margin = np.minimum.reduce([
            p90 - _F32(p.water_p90_db),
            (_F32(p.water_frequency) - water_freq) / _F32(_FREQ_SCALE),
            np.maximum(_F32(p.built_p10_db) - p10, spread - _F32(p.built_range_db)),
        ])
    mask_margin = np.where(np.isnan(mask_margin), _F32(-np.inf), mask_margin).astype(_F32)

    cand = _candidates(db, days, window, n_windows, p) & in_win[None, :]
    seasons = SeasonSlots(n_pix, n_windows, p.max_seasons, p.min_season_days, mask_margin, masked)
    for t in range(n_t):
        idx = np.flatnonzero(cand[:, t])
        if idx.size == 0:
            continue
        d0 = float(days[t])
        a = int(np.searchsorted(days, d0 + p.rise_window_start_days, side="left"))
        b = int(np.searchsorted(days, d0 + p.rise_window_end_days, side="right"))
        vmin = db[idx, t]
        seg = np.where(ok[idx, a:b], db[idx, a:b], _F32(-np.inf))
        vmax = seg.max(axis=-1, initial=_F32(-np.inf))
        if b > a:
            t_max = days[a:b][seg.argmax(axis=-1)].astype(_F32)  # first maximum
        else:
            t_max = np.full(idx.size, np.nan, dtype=_F32)
        dt = np.where(np.isfinite(vmax), t_max - _F32(d0), _F32(np.nan))
        with np.errstate(invalid="ignore"):
            margins = np.minimum.reduce([
                _F32(p.vh_min_db) - vmin,
                vmax - _F32(p.vh_max_db),
                vmax - vmin - _F32(p.rise_db),
                np.minimum(dt - _F32(p.min_rise_days), _F32(p.max_rise_days) - dt) / _F32(_DAY_SCALE),
            ])
        margins = np.where(np.isnan(margins), _F32(-np.inf), margins).astype(_F32)
        seasons.offer(t, idx, margins, window, doy, days)
    best, count, slots = seasons.best, seasons.count, seasons.slots

    score = np.where(np.isneginf(best), _F32(0.0), logistic(best))
    qa = (np.where(n_window > 0, QA_OBSERVED, 0) | np.where(count > 0, QA_SAR, 0)
          | np.where(water, QA_WATER, 0) | np.where(built, QA_FOREST_BUILT, 0)).astype(np.uint8)
    return finish_outputs(lead, n_valid, count, slots, score, n_window, qa)


def _vh(obj: xr.Dataset | xr.DataArray) -> xr.DataArray:
    vh = obj
    if isinstance(obj, xr.Dataset):
        if "vh" not in obj:
            raise MissingBandError(
                f"the SAR rice rule needs a 'vh' variable (linear power); got {sorted(map(str, obj.data_vars))}. "
                "Convert dB with agromap.sensors.s1.to_linear(vh_db)."
            )
        vh = obj["vh"]
    if str(vh.attrs.get("units", "")).lower() == "db" or str(vh.name or "").endswith("_db"):
        raise InputError(f"{vh.name!r} is in dB; the SAR rule takes linear power. "
                         "Convert with agromap.sensors.s1.to_linear(vh_db).")
    return vh


def sar_rice_rule(
    vh: xr.Dataset | xr.DataArray,
    params: SarRiceParams | None = None,
    *,
    windows: str | Sequence[SeasonWindow] | None = None,
) -> xr.Dataset:
    """Label-free paddy rice map and transplanting dates from a Sentinel-1 VH time series.

    Parameters
    ----------
    vh : xarray.DataArray or xarray.Dataset
        VH backscatter in **linear power** (float, NaN or <= 0 = nodata), dims ``(time, y, x)``
        or ``(time, point)`` (any dims with ``time``), numpy or dask; or a Dataset with ``vh``.
        One orbit track, speckle-filtered (see :func:`boxcar_speckle_filter`). Irregular,
        unsorted or missing dates are fine; duplicated dates are an error.
    params : SarRiceParams, optional
        Thresholds (defaults: docs/science/rice.md#sentinel-1-vh-rule starting values).
    windows : str or sequence of SeasonWindow, optional
        Season windows in which to search ``t_min`` (a crop-calendar name or windows); ``None``
        takes every local VH minimum as a candidate.

    Returns
    -------
    xarray.Dataset
        The variables of :mod:`agromap.rice.seasons` (``rice_class`` uint8/255, ``n_seasons``
        uint8/255, ``transplant_doy`` uint16 ``(season, ...)``/0 = day of year of the VH minimum,
        ``rice_score`` float32/NaN, ``n_valid_obs``, ``n_valid_in_flood_window``, ``qa_flags``
        uint8), on the non-time dims of the input with its coordinates. Lazy for dask input
        (time merged into one chunk); dtypes known before computing. No float64.

    Raises
    ------
    MissingBandError
        A Dataset without ``vh``.
    InputError
        ``vh`` declared in dB; no ``time`` dimension; duplicated dates.

    References
    ----------
    S1 VH rule-based rice mapping, Cauvery Delta (PMC11894211); docs/science/rice.md#sentinel-1-vh-rule.
    """
    p = params if params is not None else SarRiceParams()
    win = resolve_windows(windows)
    arr = prepare_series(_vh(vh), "sar_rice_rule input")
    days, doy = time_axis(arr["time"].values)
    kwargs = {"days": days, "doy": doy, "window": window_index(doy, win), "n_windows": len(win), "p": p}
    attrs = {"algorithm": "s1-vh-min-rise-multiseason", "rice_rule": "sar",
             "parameters": json.dumps(dataclasses.asdict(p), sort_keys=True),
             "season_windows": json.dumps([dataclasses.asdict(w) for w in win])}
    return apply_rule(_sar_kernel, [arr], kwargs, len(win) or p.max_seasons, attrs)  # type: ignore[list-item]


def boxcar_speckle_filter(arr: xr.DataArray, size: int = 5) -> xr.DataArray:
    """Spatial boxcar mean of a ``(..., y, x)`` SAR raster in linear power (lazy; NaN ignored).

    A simple multilook: the mean of the valid pixels in a ``size x size`` window, per date.
    Field borders blur over ``size // 2`` pixels. float32 out; NaN where the window has no
    valid pixel. For point tables average the pixels of each field instead.
    """
    if size < 1 or size % 2 == 0:
        raise ConfigError(f"size must be an odd number of pixels >= 1, got {size}.")
    if not {"y", "x"} <= set(arr.dims):
        raise InputError(f"boxcar_speckle_filter needs y and x dims, got {tuple(arr.dims)}.")
    a32 = arr.where(arr > 0).astype(np.float32)
    out = a32.rolling(y=size, x=size, center=True, min_periods=1).mean()
    return out.astype(np.float32).assign_attrs(arr.attrs).rename(arr.name)
