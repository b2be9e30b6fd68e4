"""A season cut by the series' end, for the Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar`).

A paddy transplanted in the last weeks of a series shows its flood and the first rise of the
young crop, but not the canopy the rule's ``canopy`` and ``rise`` terms wait for. Per pixel along
time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .rules_sar_last_pass import last_passes_db
from .rules_sar_rainpond import ponded_margin
from .sar_params import SarRiceParams
from .sar_series import flood_run_bounds, spell_min

__all__ = ["young_crop_margin"]

_F32 = np.float32


def young_crop_margin(
    sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int, smin: npt.NDArray[np.float32],
    before: npt.NDArray[np.float32], after: npt.NDArray[np.float32], break_days: npt.NDArray[np.float32],
    last_valid: npt.NDArray[np.intp], next_valid: npt.NDArray[np.intp], scale: npt.NDArray[np.float32] | np.float32,
    p: SarRiceParams, db: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """Margin, in units of its uncertainty, of a young crop still rising at the series' end after
    the flood at ``t`` (see ``SarRiceParams.young_rise_db``: the rise counts from the lowest
    smoothed level from ``t`` on); -inf where the series goes on long
    enough for the canopy itself to be seen, where nothing follows the flood, or where it is off.

    ``sm`` is the smoothed series in dB, ``smin`` its level at ``t``; ``before`` and ``after`` the
    levels of the flood's dark spell before and after ``t`` (as for ``duration``), ``break_days``
    the bright span that ends it; ``last_valid`` / ``next_valid`` each date's last / next valid
    date (rows of the rule); ``scale`` the spell's uncertainty, days; ``db`` the series in dB, for
    ``young_end_days`` (``None``: the lower of the last two smoothed dates).
    """
    n_pix, n_t = sm.shape
    fail = np.full(n_pix, -np.inf, dtype=_F32)
    if p.young_rise_db is None or t + 1 >= n_t or days[-1] >= days[t] + p.rise_window_end_days:
        return fail
    rows = np.arange(n_pix)
    last_i = last_valid[:, -1]
    # The spell is read at the half-way level on both sides: read before the minimum only a
    # quarter of the way up, as for `duration`, a wetland's months of water before its darkest
    # date pass for fallow. It ends somewhere before the next valid date: lost passes must not
    # shorten it.
    first, last = flood_run_bounds(sm, days, t, np.maximum(before, after), after, break_days)
    k = np.minimum(np.searchsorted(days, last) + 1, n_t - 1)
    run = (np.maximum(days[next_valid[rows, k]], last) - first).astype(_F32)
    # The level on the last two valid dates, and still the highest after the flood: a young crop
    # grows to the last date; a harvested or regrown canopy has fallen back from an earlier peak.
    prev_i = last_valid[rows, np.maximum(last_i - 1, 0)]
    end = np.minimum(sm[rows, last_i], np.where(prev_i > t, sm[rows, prev_i], _F32(-np.inf)))
    # The date before the last one's three-date mean may still hold the flood's last dark pass: the
    # mean of the last repeat cycle's passes will do as well (`young_end_days`).
    if p.young_end_days is not None and db is not None:
        end = np.fmax(end, last_passes_db(db, days, last_i, prev_i, p.young_end_days))
    top = np.where(np.isnan(sm[:, t + 1:]), _F32(-np.inf), sm[:, t + 1:]).max(axis=-1)
    # The rise counts from the flood's darkest smoothed level, not the level on the minimum's date:
    # when that date opens the flood (the lowest pass on the first dark date), its three-date mean
    # still holds the fallow before it and sits 3-4 dB above the water the young crop rises from.
    floor = np.fmin(smin, np.where(np.isnan(sm[:, t:]), _F32(np.inf), sm[:, t:]).min(axis=-1))
    with np.errstate(invalid="ignore"):
        young = np.minimum(end - floor - _F32(p.young_rise_db), _F32(p.canopy_drop_db) - (top - end)) / _F32(p.db_scale)
        # No canopy and no harvest can refute a wetland here, whose grass regrows as fast after
        # months of water: the spell must be a transplanting flood's (`young_flood_days`).
        # Rain ponded before puddling lengthens a paddy's spell, with open water (`ponded_end_days`).
        ponded = ponded_margin(run, scale, p, spell_min(sm, days, first, last))
        spell = np.fmax((_F32(p.young_flood_days) - run) / scale, ponded)
        young = np.minimum(young, spell)
    return np.where((last_i > t) & np.isfinite(young), young, fail).astype(_F32)
