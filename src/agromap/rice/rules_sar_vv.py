"""VV evidence of the Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar`), read when the input has ``vv``.

On one 12-day track a paddy's transplanting flood is often a single VH date, and in VH it
overlaps bare upland soil (-20 to -17.5 dB), a wet fallow that lies within a speckle unit of the
flood, and a direct-seeded field's shallow flood. Co-polarised VV separates them: open water is
specular in VV as in VH (a flooded paddy reads about -22 to -18 dB), while bare, ploughed or
moist soil stays bright in VV (about -12 to -8 dB). So in VV a flood is a deep dip below the
pixel's own level, and its dark spell ends with the flood and the first weeks of the canopy,
where a fallow dark in VH is bright. Figures and references: ``docs/rice_rules.md``, "VV
evidence".

Four readings at the VH minimum ``t`` of a candidate season (per pixel along time only; the
VV level is the pixel's ``vv_level_quantile`` of its valid VV dates, dB):

- ``vv_dip`` (votes only to refute): VV on the minimum's date lies at least
  ``min(vv_dip_db, vv_dip_noise x`` the pixel's VV date-to-date noise``)`` dB below the level;
- where VV lies at least ``max(vv_flood_db, vv_flood_noise x`` the noise``)`` below both the level and the mean of the dates
  ``fallow_days`` to ``seedbed_start_days`` before the minimum (a clear flood in VV):
  ``duration`` is read on the VV dark spell (the dates below the midpoint between VV at the
  minimum and the level) instead of the VH one, with the same limits (``max_flood_days``, or
  ``max_ponded_days`` before a full rice canopy), and the VH ``fallow`` term does not refute.
- ``regrowth`` (a soft OR, :func:`_young_margin`): its refutation is lifted where the mean VV
  of the dates ``seedbed_start_days`` to ``seedbed_end_days`` after the minimum lies at least
  ``max(vv_young_db, vv_young_noise x`` the noise of that mean``)`` below the level: a young
  crop through which the water still shows, where an orchard's VV is back at its canopy.

Optionally (``vv_cut_soil_db``, :func:`vv_cut_soil_margin`): a VH dark spell cut by the series'
start whose darkest VV stays bright is an upland field's bare soil, not a flood.

For the rule's water masks (the permanent-water frequency and the pond share,
:func:`vv_not_water`): a date dark as open water in VH but bright in VV (``vv_water_db``) is a
waterlogged fallow, not water.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xarray as xr

from .sar_params import SarRiceParams
from .sar_series import (
    date_noise_db,
    flood_run_bounds,
    percentile_db,
    smooth_linear,
    to_db,
    track_offsets_db,
    window_mean_db,
)

__all__ = ["VvSeries", "vv_band", "vv_series", "vv_season_terms", "vv_not_water", "vv_cut_soil_margin", "vv_near_dates"]

_F32 = np.float32


@dataclass(frozen=True)
class VvSeries:
    """A block's VV series as the terms read it: ``db`` ``(pixels, time)`` in dB (track offsets
    removed as the VH's are), the pixel's ``level`` (dB, see ``SarRiceParams.vv_level_quantile``)
    and its date-to-date ``noise`` (dB, :func:`agromap.rice.sar_series.date_noise_db`).
    """

    db: npt.NDArray[np.float32]
    level: npt.NDArray[np.float32]
    noise: npt.NDArray[np.float32]

    def rows(self, idx: npt.NDArray[np.intp]) -> VvSeries:
        """The series of the pixels ``idx``."""
        return VvSeries(self.db[idx], self.level[idx], self.noise[idx])


def vv_band(obj: xr.Dataset | xr.DataArray, p: SarRiceParams) -> xr.DataArray | None:
    """The ``vv`` (or ``vv_db``) variable of a Dataset input when the VV terms are on, else ``None``."""
    if p.vv_dip_db is None or not isinstance(obj, xr.Dataset):
        return None
    name = "vv" if "vv" in obj else ("vv_db" if "vv_db" in obj else None)
    return None if name is None else obj[name]


def vv_series(lin: npt.NDArray[np.float32], days: npt.NDArray[np.int32], track: npt.NDArray[np.int8] | None,
              p: SarRiceParams) -> VvSeries:
    """Prepare a ``(pixels, time)`` VV block in linear power (NaN or <= 0: invalid) for the terms.

    Each track's offset is removed as for VH (when the dates name their track and
    ``align_tracks``); the series is not smoothed in time: a flood may be one date.
    """
    lin = np.where(np.isfinite(lin) & (lin > 0), lin, _F32(np.nan)).astype(_F32)
    db = to_db(lin)
    if p.align_tracks and track is not None:
        db = (db - track_offsets_db(db, days, track, p.track_pair_days)).astype(_F32)
    # The quantile of the valid dates, interpolated in linear power (as the VH masks' percentiles;
    # NaN sorts last). NaN for a pixel without a valid VV date.
    srt = np.sort(_F32(10.0) ** (db / _F32(10.0)), axis=-1)
    level = percentile_db(srt, (~np.isnan(db)).sum(axis=-1), p.vv_level_quantile)
    return VvSeries(db, level, date_noise_db(db))


def vv_not_water(vv: VvSeries | None, vh_water: npt.NDArray[np.bool_], p: SarRiceParams) -> npt.NDArray[np.bool_] | None:
    """The dates of ``vh_water`` ``(pixels, time)``, open water in VH, that VV shows to be wet
    land, for the water masks (``SarRiceParams.vv_water_db``); ``None`` without VV or with the
    test off.

    A pixel's VH-water dates are land where their VV level (the ``vv_level_quantile`` of VV over
    those dates, so that a paddy's floods among them do not set it) lies at or above
    ``vv_water_db``; then the dates whose VV lies there. A pond's VH-water dates are water in VV
    too, its few windy dates aside, so its share stays the VH one.
    """
    if vv is None or p.vv_water_db is None:
        return None
    bar = _F32(p.vv_water_db)
    on_water = np.where(vh_water, vv.db, _F32(np.nan))
    srt = np.sort(_F32(10.0) ** (on_water / _F32(10.0)), axis=-1).astype(_F32)
    level = percentile_db(srt, (~np.isnan(on_water)).sum(axis=-1), p.vv_level_quantile)
    with np.errstate(invalid="ignore"):
        return np.asarray((on_water >= bar) & (level >= bar)[:, None])


def _young_margin(vv: VvSeries, days: npt.NDArray[np.int32], t: int, p: SarRiceParams) -> npt.NDArray[np.float32]:
    """How far the mean VV of the dates ``seedbed_start_days`` to ``seedbed_end_days`` after the
    minimum at ``t`` lies below the pixel's VV level beyond its bar (``vv_young_db``), in
    ``db_scale`` units; NaN where the window has no valid VV date.
    """
    assert p.vv_young_db is not None
    n_pix = vv.db.shape[0]
    d = days.astype(_F32)
    lo, hi = _F32(days[t]) + _F32(p.seedbed_start_days), _F32(days[t]) + _F32(p.seedbed_end_days)
    n = ((d >= lo) & (d <= hi) & ~np.isnan(vv.db)).sum(axis=-1)
    after = window_mean_db(vv.db, days, np.full(n_pix, lo, _F32), np.full(n_pix, hi, _F32))
    with np.errstate(invalid="ignore", divide="ignore"):
        bar = np.maximum(_F32(p.vv_young_db),
                         _F32(p.vv_young_noise) * np.nan_to_num(vv.noise) / np.sqrt(np.maximum(n, 1)).astype(_F32))
        return ((vv.level - after - bar) / _F32(p.db_scale)).astype(_F32)


def _lift(term: npt.NDArray[np.float32], young: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A refuting-only ``term`` (NaN: no vote) as a soft OR with ``young``: the better margin,
    no vote where it passes; NaN ``young`` (an unobserved window) lifts nothing.
    """
    with np.errstate(invalid="ignore"):
        lifted = np.where(np.isnan(young), term, np.maximum(term, young))
        return np.where(lifted >= 0, _F32(np.nan), lifted).astype(_F32)


def vv_season_terms(
    ev: dict[str, npt.NDArray[np.float32]], vv: VvSeries, days: npt.NDArray[np.int32], t: int,
    gap: npt.NDArray[np.float32], p: SarRiceParams,
) -> dict[str, npt.NDArray[np.float32]]:
    """The margins ``ev`` of the season at the VH minimum of date ``t`` with the VV evidence.

    Adds ``vv_dip`` (NaN, no vote, where it holds or VV has no valid value at ``t``); where VV
    shows a clear flood, replaces ``duration`` by its VV reading and lifts the ``fallow``
    refutation; lifts the ``regrowth`` refutation where VV after the flood shows a young crop
    (``vv_young_db``; see the module docstring). ``vv`` holds the rows of ``ev``; ``gap`` is the
    rule's local revisit gap per date. Terms that ``ev`` leaves unobservable (NaN) stay so.
    """
    assert p.vv_dip_db is not None
    n_pix = vv.db.shape[0]
    at = vv.db[:, t]
    seen = np.isfinite(at) & np.isfinite(vv.level)
    out = dict(ev)
    with np.errstate(invalid="ignore"):
        bar = np.minimum(_F32(p.vv_dip_db), _F32(p.vv_dip_noise) * np.nan_to_num(vv.noise))
        dip = (vv.level - at - bar) / _F32(p.db_scale)
    out["vv_dip"] = np.where(seen & (dip < 0), dip, _F32(np.nan)).astype(_F32)
    if p.vv_young_db is not None:
        # A crop still young in VV weeks after its flood: the VH canopy's small rise above the
        # levels around the flood is speckle, not an orchard's canopy standing through a pulse.
        # (`growth` is left to VH: lotus leaves rise from open water as slowly, docs/rice_rules.md.)
        out["regrowth"] = _lift(out["regrowth"], _young_margin(vv, days, t, p))
    if p.vv_flood_db is None:
        return out
    d0 = _F32(days[t])
    before = window_mean_db(vv.db, days, np.full(n_pix, d0 - _F32(p.fallow_days), _F32),
                            np.full(n_pix, d0 - _F32(p.seedbed_start_days), _F32))
    with np.errstate(invalid="ignore"):
        # On a noisy series (unnamed tracks' offsets left in VV) one date's VV scatters by more:
        # the bar grows to vv_flood_noise noise units.
        flood_bar = np.maximum(_F32(p.vv_flood_db), _F32(p.vv_flood_noise) * np.nan_to_num(vv.noise))
        clear = seen & (vv.level - at >= flood_bar)
        # A dip below the weeks before it too: then the VH fallow test is moot. A long flood (a
        # wetland's) seen in mid-spell has its own dark dates there, and keeps its VH reading.
        dip_before = clear & (before - at >= flood_bar)
    if not clear.any():
        return out
    # The VV dark spell: the rules of the VH spell (a missing pass says nothing, one bright date
    # does not end it), below the midpoint between the flood and the level on both sides.
    # Only the clear rows are read (the spell walks the series from t, date by date).
    rows = np.flatnonzero(clear)
    mid = (at[rows] + _F32(0.5) * (vv.level[rows] - at[rows])).astype(_F32)
    first, last = flood_run_bounds(vv.db[rows], days, t, mid, mid)
    run = np.zeros(n_pix, dtype=_F32)
    run[rows] = (last - first).astype(_F32)
    scale = _F32(p.duration_scale_days) + _F32(0.5) * gap[t]
    # A rain-ponded paddy's spell may last to max_ponded_days when a full rice canopy follows.
    canopy = ev["canopy"] * _F32(p.db_scale) + _F32(p.vh_max_db)
    ponded = np.minimum((_F32(p.max_ponded_days) - run) / scale, (canopy - _F32(p.ponded_canopy_db)) / _F32(p.db_scale))
    spell = np.fmax((_F32(p.max_flood_days) - run) / scale, ponded)
    out["duration"] = np.where(clear & ~np.isnan(ev["duration"]), spell, ev["duration"]).astype(_F32)
    out["fallow"] = np.where(dip_before, _F32(np.nan), ev["fallow"]).astype(_F32)
    return out


def vv_cut_soil_margin(vv_near: npt.NDArray[np.float32], days: npt.NDArray[np.int32], first: npt.NDArray[np.float32],
                       last: npt.NDArray[np.float32], first_valid: npt.NDArray[np.float32],
                       p: SarRiceParams) -> npt.NDArray[np.float32]:
    """Margin of a dark VH spell cut by the series' start against bare soil, in ``db_scale`` units
    (see ``SarRiceParams.vv_cut_soil_db``): negative where the darkest VV of the spell's dates
    ``first`` to ``last`` (day numbers) lies above the level; NaN (no vote) where it holds, where
    the spell starts after the pixel's first valid date ``first_valid``, where the spell holds no
    valid VV date, or where the term is off.

    ``vv_near`` ``(pixels, time)`` is VV in dB, each date the mean (linear power) of the valid
    dates within half of ``persistence_days`` of it (:func:`vv_near_dates`): one speckled date
    does not make a flood. The darkest of the spell, not VV at the VH minimum: a paddy's fallow
    dark in VH (waterlogged, or wet soil before puddling) may open the spell weeks before its
    flood and hold the VH minimum, bright in VV as any soil. Only the cut spell is read: a spell
    with land before it is the ``fallow`` and ``duration`` terms' business.
    """
    nan = np.full(vv_near.shape[0], np.nan, dtype=_F32)
    if p.vv_cut_soil_db is None:
        return nan
    cut = first <= first_valid
    if not cut.any():
        return nan
    d = days.astype(_F32)[None, :]
    inside = cut[:, None] & (d >= first[:, None]) & (d <= last[:, None]) & ~np.isnan(vv_near)
    darkest = np.where(inside, vv_near, _F32(np.inf)).min(axis=-1)
    with np.errstate(invalid="ignore"):
        margin = (_F32(p.vv_cut_soil_db) - darkest) / _F32(p.db_scale)
    return np.where(cut & np.isfinite(darkest) & (margin < 0), margin, nan).astype(_F32)


def vv_near_dates(vv: VvSeries, days: npt.NDArray[np.int32], p: SarRiceParams) -> npt.NDArray[np.float32]:
    """VV in dB, each valid date the mean (linear power) of the valid dates within half of
    ``persistence_days`` of it, for :func:`vv_cut_soil_margin`.
    """
    lin = (_F32(10.0) ** (vv.db / _F32(10.0))).astype(_F32)
    return to_db(smooth_linear(lin, days, 0.5 * p.persistence_days))
