"""A fresh flood at the series' end that closes the year of the crop seen at its start, for the
Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar`).

A single-season paddy transplanted in the last weeks of a series shows its flood but no crop yet
(not even the young crop of :mod:`agromap.rice.rules_sar_ends`). Its previous crop, transplanted a
calendar year earlier, stands at the series' start: the two partial seasons make one cycle. Per
pixel along time only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .rules_sar_last_pass import last_pass_vv_water, last_pass_water
from .rules_sar_levels import fallow_dip_margin
from .rules_sar_previous import standing_previous
from .rules_sar_rainpond import ponded_lead_days, ponded_margin
from .sar_params import SarRiceParams
from .sar_series import bright_run_days, flood_run_bounds, window_mean_db

if TYPE_CHECKING:
    from .rules_sar_vv import VvSeries

__all__ = ["end_cycle_margin", "CYCLE_FLOOD_TERMS"]

_F32 = np.float32

#: The terms of a season that read the flood itself, not the canopy after it: they still vote
#: where the series ends before the canopy (the other terms have nothing to read there).
CYCLE_FLOOD_TERMS = ("depth", "persistence", "vv_dip")


def end_cycle_margin(
    db: npt.NDArray[np.float32], sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int,
    next_valid: npt.NDArray[np.intp], break_days: npt.NDArray[np.float32], noise: npt.NDArray[np.float32],
    scale: np.float32, p: SarRiceParams, vv: VvSeries | None = None,
) -> npt.NDArray[np.float32]:
    """Margin, in units of its uncertainty, of the flood at ``t`` as the start of the season whose
    previous crop stands at the series' start (see ``SarRiceParams.cycle_year_days``); -inf where
    the reading is off or the series goes on long enough for the canopy itself to be seen.

    ``db`` is the series in dB, ``sm`` the shape series; ``next_valid`` each date's next valid
    date, ``break_days`` the bright span that ends a dark spell, ``noise`` the pixel's
    date-to-date noise (dB), ``scale`` the spell's uncertainty (days), ``vv`` the VV series of the
    same rows (``None``: VH only). The weakest of:

    - ``water``: the flood's darkest smoothed level from ``t`` on reaches ``water_db``, and so
      does the mean of the two darkest passes of its spell; or ``t`` is the pixel's last pass and
      lies at open water well below the land before it (``cycle_last_pass_dip_db``), or below the
      land before it in VH and VV alike (``cycle_last_pass_vv_db``);
    - ``fresh``: its dark spell (below half-way from that level to ``vh_max_db``, to the series'
      end) lasts less than ``young_flood_days``, or than ``ponded_end_days`` (rain ponded before
      puddling, :mod:`agromap.rice.rules_sar_rainpond`; the day one cycle before then counts from
      as many days after the spell's first date as it exceeds ``young_flood_days``);
    - ``previous``: the smoothed level reaches ``vh_max_db`` before ``max_rise_days`` after the
      day one cycle before the spell's first date (``cycle_canopy_days`` for a canopy standing on
      the first date);
    - ``harvest``: that canopy lasts less than ``max_canopy_days`` (votes only when known);
    - ``cleared``: it stands above the land before the flood as a canopy above its irrigation
      pulse's surroundings does for ``regrowth`` (votes only when that land is observed); these
      two pass where ``t`` is the last pass and deep below its land in VH and VV alike
      (``cycle_last_pass_deep_db``);
    - ``fallow``: the flood lies below the land before it (votes only to refute).
    """
    n_pix, n_t = sm.shape
    fail = np.full(n_pix, -np.inf, dtype=_F32)
    if p.cycle_year_days is None or days[-1] >= days[t] + p.rise_window_end_days:
        return fail
    rows = np.arange(n_pix)
    with np.errstate(invalid="ignore"):
        floor = np.where(np.isnan(sm[:, t:]), _F32(np.inf), sm[:, t:]).min(axis=-1).astype(_F32)
        water = (_F32(p.water_db) - floor) / _F32(p.db_scale)
        half = (floor + _F32(0.5) * (_F32(p.vh_max_db) - floor)).astype(_F32)
    first, last = flood_run_bounds(sm, days, t, half, half, break_days)
    # Open water on two passes of the spell at least: one dark last date may be speckle on bare
    # soil, and no later pass can confirm it (the mean, in linear power, of the two darkest).
    spell_dates = (days[None, :] >= first[:, None]) & ~np.isnan(db)
    two = np.sort(np.where(spell_dates, db, _F32(np.inf)), axis=-1)[:, :2]
    with np.errstate(invalid="ignore"):
        pair = 10.0 * np.log10(np.mean(_F32(10.0) ** (two / _F32(10.0)), axis=-1)).astype(_F32)
        water = np.minimum(water, (_F32(p.water_db) - pair) / _F32(p.db_scale))
    # A series that ends on the puddling pass: one pass of water, deep below the land before it
    # (`cycle_last_pass_dip_db`).
    water = np.maximum(water, last_pass_water(db, days, t, noise, p))
    # ... or short of open water in VH (a filtered pass mixes the field with neighbours puddled
    # days apart) but a step below the land in both channels (`cycle_last_pass_vv_db`).
    flood_vv, deep_vv = last_pass_vv_water(db, vv, days, t, noise, p)
    water = np.maximum(water, flood_vv)
    k = np.minimum(np.searchsorted(days, last) + 1, n_t - 1)
    run = (np.maximum(days[next_valid[rows, k]], last) - first).astype(_F32)
    # Rain ponded before puddling lengthens it (`ponded_end_days`; `water` asks for open water).
    fresh = np.maximum((_F32(p.young_flood_days) - run) / scale, ponded_margin(run, scale, p))
    # The previous crop's flood came one cycle before this one's first dark date; its canopy
    # stands within max_rise_days of it. A wetland's grass comes back only after months of water.
    until = first.astype(_F32) - _F32(p.cycle_year_days) + _F32(p.max_rise_days)
    early = (days[None, :].astype(_F32) <= until[:, None]) & ~np.isnan(sm)
    seg = np.where(early, sm, _F32(-np.inf))
    peak = seg.argmax(axis=-1)
    top = seg.max(axis=-1)
    # ... or until its harvest where it already stands on the first date (`cycle_canopy_days`),
    # counted, after rain ponded before the puddling, from as many days later as the spell exceeds
    # a transplanting flood's (the previous year's rain came as early). Only for a canopy standing
    # from the start: a lotus pond's weeks of mud between its water and its leaves are no crop.
    ref = first.astype(_F32) + ponded_lead_days(run, p)
    peak, top = standing_previous(sm, days, ref, peak, top, break_days, p)
    previous = np.where(np.isfinite(top), (top - _F32(p.vh_max_db)) / _F32(p.db_scale), _F32(-np.inf))
    # A crop is harvested; sugarcane, a wetland's grass or an orchard stand on.
    lasting, open_end = bright_run_days(sm, days, peak, (top - _F32(p.canopy_drop_db)).astype(_F32), break_days)
    harvest = (_F32(p.max_canopy_days) - lasting) / scale
    harvest = np.where(np.isfinite(top) & ~(open_end & (harvest > 0)), harvest, _F32(np.nan))
    # The crop was harvested and the field lay bare before this flood; an orchard's canopy, the
    # same at the start as before its irrigation pulse at the end, was not.
    spell = first.astype(_F32)
    land = window_mean_db(db, days, spell - _F32(p.seedbed_end_days), spell - _F32(p.seedbed_start_days))
    bar = np.maximum(_F32(p.regrowth_db or 0.0), _F32(p.regrowth_noise) * np.nan_to_num(noise))
    with np.errstate(invalid="ignore"):
        cleared = (top - land - bar) / _F32(p.db_scale)
    onset = (first - days[t]).astype(_F32)
    fallow = fallow_dip_margin(db, days, t, floor, onset, noise, p)
    # A fresh flood deep in both channels after the mere tail of the previous canopy: the series
    # starts too late to read that canopy's harvest or clearing (`cycle_last_pass_deep_db`).
    harvest = np.where(np.isnan(harvest), harvest, np.maximum(harvest, deep_vv))
    cleared = np.where(np.isnan(cleared), cleared, np.maximum(cleared, deep_vv))
    terms = np.stack([water, fresh, previous, harvest, cleared, fallow], axis=-1)
    out = np.where(np.isnan(terms), _F32(np.inf), terms).min(axis=-1)
    return np.where(np.isfinite(floor), out, fail).astype(_F32)
