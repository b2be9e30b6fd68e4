"""A crop harvested in the series' first weeks, whose flood came before the series, for the
Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar`).

A single-season paddy whose transplanting falls after a short (10-month) series' end, and whose
previous crop was transplanted before its start, shows no flood in the series: only that
previous crop's canopy standing on the first dates (or still growing there, when it was
transplanted a few weeks before the first pass), its harvest drop and months of bare fallow.
With ``start_harvest_db`` set, that reading stands for a season without a transplanting date in
the series. Per pixel along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams
from .sar_series import bright_run_bounds, window_mean_db

__all__ = ["start_harvest_margin"]

_F32 = np.float32


def start_harvest_margin(
    sm: npt.NDArray[np.float32], db: npt.NDArray[np.float32], days: npt.NDArray[np.int32],
    break_days: npt.NDArray[np.float32], gap: npt.NDArray[np.float32], p: SarRiceParams,
    mean_noise: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Margin, in units of its uncertainty, of a crop standing on the pixel's first valid date
    and harvested within the series (see ``SarRiceParams.start_harvest_db``); -inf where the
    reading is off or nothing can be read.

    ``sm`` is the shape series (dB), ``db`` the series in dB, ``break_days`` the bright span that
    ends a dark spell (here: the dark span that ends a canopy), ``gap`` the local revisit gap of
    each date, ``mean_noise`` each pixel's noise of a three-date mean (dB). The weakest of:

    - ``canopy``: the highest smoothed level on the dates up to ``max_canopy_days`` after the
      first valid date reaches ``ponded_canopy_db`` (a crop at heading, above regrown wetland
      grass), and its run (within ``canopy_drop_db`` of that level) reaches the first date; or
      (``start_rise_days``) the crop is still growing there: half its rise from the first date's
      level is reached within ``start_rise_days`` of it and no date from there to the peak is as
      dark as ``vh_min_db`` (dark dates before the half rise are the crop's own flood, cut by the
      series' start; a flood after it is read as a dated season);
    - ``harvest``: that run ends within the series and less than ``max_canopy_days`` after the
      first date (rice is harvested; sugarcane, orchards and wetland grass stand on);
    - ``drop``: the mean of the ``start_fallow_days`` after the run lies at least
      ``start_harvest_db`` below the canopy (the harvest leaves stubble and bare soil), and at
      least ``start_harvest_noise`` units of ``mean_noise`` (a speckled point's brightest
      smoothed date stands that far above its level);
    - ``fallow``: no canopy comes back to the series' end: the level the brightest
      ``start_regrow_days`` of smoothed dates after the run reach stays below the canopy's band
      (a ratoon of sugarcane or a re-sown upland crop come back and stand for weeks; the single
      brightest of months of fallow dates is the speckle's extreme) and its dates below
      ``start_water_db`` stand for less than ``max_ponded_days`` (a seasonal
      wetland's water lasts months, rain ponded before a paddy's puddling weeks), and the series
      goes on at least ``start_fallow_days`` after the harvest (a short tail proves nothing);
    - ``year``: the series spans less than ``cycle_year_days`` less ``young_flood_days``: a paddy
      cropped once a year shows its flood in a series as long as that, and an upland crop
      harvested at the start of a year-long series and never sown again is no paddy. Without
      ``cycle_year_days`` the reading is off.
    """
    n_pix, n_t = sm.shape
    fail = np.full(n_pix, -np.inf, dtype=_F32)
    ok = ~np.isnan(sm)
    first_i = ok.argmax(axis=-1)
    if p.start_harvest_db is None or p.cycle_year_days is None:
        return fail
    d0 = days[first_i].astype(_F32)
    early = ok & (days[None, :].astype(_F32) <= (d0 + _F32(p.max_canopy_days))[:, None])
    seg = np.where(early, sm, _F32(-np.inf))
    peak = seg.argmax(axis=-1)
    top = seg.max(axis=-1)
    band = (top - _F32(p.canopy_drop_db)).astype(_F32)
    _, run_last, _ = bright_run_bounds(sm, days, peak, band, break_days)
    # The run reaches the first date: no valid date before the peak lies below the band.
    before = np.arange(n_t)[None, :] < peak[:, None]
    dark_before = (before & ok & (sm < band[:, None])).any(axis=-1)
    if p.start_rise_days is not None:
        dark_before &= ~_growing_at_start(sm, days, ok, first_i, d0, peak, top, before, p)
    with np.errstate(invalid="ignore"):
        canopy = np.where(np.isfinite(top) & ~dark_before, (top - _F32(p.ponded_canopy_db)) / _F32(p.db_scale),
                          _F32(-np.inf))
    # The run's last day is the harvest; it starts on the first date, or weeks later where the crop
    # was still growing there (`start_rise_days`).
    end = run_last.astype(_F32)
    last_day = np.where(ok, days[None, :], -1).max(axis=-1).astype(_F32)
    gap_end = gap[np.minimum(np.searchsorted(days, end), n_t - 1)]  # the revisit gap at the harvest
    scale = _F32(p.duration_scale_days) + _F32(0.5) * gap_end
    harvest = np.where(end < last_day, (_F32(p.max_canopy_days) - (end - d0)) / scale, _F32(-np.inf))
    # The fallow after the harvest: its mean level against the canopy.
    lo, hi = end + _F32(1.0), end + _F32(p.start_fallow_days)
    after = window_mean_db(db, days, lo, hi)
    # The canopy is the brightest smoothed date of weeks: on a speckled point its excess over the
    # level is noise, about two units of the smoothed series' noise (`start_harvest_noise`).
    bar = np.maximum(_F32(p.start_harvest_db), _F32(p.start_harvest_noise) * np.nan_to_num(mean_noise))
    drop = (top - after - bar) / _F32(p.db_scale)
    # No canopy comes back to the series' end: an upland field is sown again from its dry soil,
    # with no flood before the crop (a paddy's next crop, flooded first, is read as a season of
    # its own). The smoothed dates right after the run still average the canopy's last pass.
    settle = days[None, :].astype(_F32) > (end + gap_end)[:, None]
    later = _regrown_level(np.where(ok & settle, sm, _F32(-np.inf)), gap, p)
    regrow = np.where(np.isfinite(later), (band - later) / _F32(p.db_scale), _F32(-np.inf))
    # The fallow is land: a seasonal wetland's grass goes under open water for months, a paddy
    # holds rain before its next puddling for weeks at most (`max_ponded_days`).
    water_days = np.where(ok & settle & (sm < _F32(p.start_water_db)), gap[None, :], _F32(0.0)).sum(axis=-1)
    regrow = np.minimum(regrow, (_F32(p.max_ponded_days) - water_days) / scale)
    span = (last_day - end - _F32(p.start_fallow_days)) / scale
    # A paddy cropped once a year floods once a year: a series as long as a cycle less a
    # transplanting flood's weeks (`young_flood_days`) holds that flood, read as a season.
    year = (_F32(p.cycle_year_days) - _F32(p.young_flood_days) - (last_day - d0)) / scale
    terms = np.stack([canopy, harvest, np.where(np.isnan(drop), _F32(-np.inf), drop), regrow, span, year], axis=-1)
    return terms.min(axis=-1).astype(_F32)


def _growing_at_start(
    sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], ok: npt.NDArray[np.bool_],
    first_i: npt.NDArray[np.intp], d0: npt.NDArray[np.float32], peak: npt.NDArray[np.intp],
    top: npt.NDArray[np.float32], before: npt.NDArray[np.bool_], p: SarRiceParams,
) -> npt.NDArray[np.bool_]:
    """Whether the crop is still growing on the first valid date (``start_rise_days``): half its
    rise from that date's smoothed level to the peak is reached within ``start_rise_days`` of
    it, and no date from that half rise to the peak is as dark as ``vh_min_db``.

    A paddy transplanted weeks before the series starts shows its young crop rising from the
    first date, often from the water still standing between the seedlings on the first passes:
    the dated reading cannot time that flood (it began before the series, so the canopy comes
    sooner than ``min_rise_days`` after its first seen date), and it is the crop's own. An upland
    field sown after the start shows weeks of level bare soil first, and a flood after the half
    rise is another season's, read as a dated one.
    """
    assert p.start_rise_days is not None
    n_pix, n_t = sm.shape
    s0 = sm[np.arange(n_pix), first_i]
    half = s0 + _F32(0.5) * (top - s0)
    upto = ok & (np.arange(n_t)[None, :] <= peak[:, None])
    with np.errstate(invalid="ignore"):
        j = (upto & (sm >= half[:, None])).argmax(axis=-1)
        # The crop's own flood, cut by the series' start, lies before its half rise; a flood
        # after it is another season's.
        risen = np.arange(n_t)[None, :] >= j[:, None]
        flooded = (before & risen & ok & (sm <= _F32(p.vh_min_db))).any(axis=-1)
    return (days[j].astype(_F32) - d0 <= _F32(p.start_rise_days)) & ~flooded & np.isfinite(top)


def _regrown_level(later: npt.NDArray[np.float32], gap: npt.NDArray[np.float32],
                   p: SarRiceParams) -> npt.NDArray[np.float32]:
    """The level the brightest ``start_regrow_days`` of the fallow's smoothed dates reach
    (``later``: -inf off the fallow): its k-th brightest date, k that many days over the series'
    median revisit gap; the brightest date alone without ``start_regrow_days``.
    """
    if p.start_regrow_days is None:
        return later.max(axis=-1)
    k = max(1, int(np.ceil(p.start_regrow_days / max(float(np.median(gap)), 1.0))))
    k = min(k, later.shape[-1])
    return np.partition(later, later.shape[-1] - k, axis=-1)[:, -k].astype(_F32)
