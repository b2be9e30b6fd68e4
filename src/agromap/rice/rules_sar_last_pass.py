"""A flood seen on a series' last pass alone, for the year's cycle of the Sentinel-1 rice rule
(:mod:`agromap.rice.rules_sar_cycle`). Per pixel along time only.

A series that ends on the puddling pass of a single-season paddy shows one dark date and nothing
after it: the two darkest passes that the cycle's ``water`` asks for hold the fallow before it.
On a filtered raster that pass often falls short of open water in VH (the field's neighbours were
puddled days apart); with VV, a step below the land in both channels marks the water instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams
from .sar_series import window_mean_db

if TYPE_CHECKING:
    from .rules_sar_vv import VvSeries

__all__ = ["last_pass_water", "last_pass_vv_water", "last_passes_db"]

_F32 = np.float32


def last_pass_water(
    db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int, noise: npt.NDArray[np.float32],
    p: SarRiceParams,
) -> npt.NDArray[np.float32]:
    """Margin, in units of ``db_scale``, of open water on date ``t`` where ``t`` is the pixel's last
    valid date (see ``SarRiceParams.cycle_last_pass_dip_db``); -inf elsewhere or when off.

    ``db`` is the series in dB (rows of the rule), ``noise`` the pixel's date-to-date noise, dB.
    The weaker of: the pass reaches ``water_db``; it lies ``max(cycle_last_pass_dip_db,
    cycle_last_pass_noise x noise)`` below the mean of the dates ``seedbed_end_days`` to
    ``seedbed_start_days`` before it (the land it floods; no such date: unobserved, -inf).
    """
    n_pix = db.shape[0]
    fail = np.full(n_pix, -np.inf, dtype=_F32)
    if p.cycle_last_pass_dip_db is None:
        return fail
    valid = ~np.isnan(db)
    last = valid[:, t] & ~valid[:, t + 1:].any(axis=-1)
    d = _F32(days[t])
    land = window_mean_db(db, days, np.full(n_pix, d - _F32(p.seedbed_end_days), dtype=_F32),
                          np.full(n_pix, d - _F32(p.seedbed_start_days), dtype=_F32))
    bar = np.maximum(_F32(p.cycle_last_pass_dip_db), _F32(p.cycle_last_pass_noise) * np.nan_to_num(noise))
    with np.errstate(invalid="ignore"):
        margin = np.minimum(_F32(p.water_db) - db[:, t], land - db[:, t] - bar) / _F32(p.db_scale)
    return np.where(last & np.isfinite(margin), margin, fail).astype(_F32)


def last_pass_vv_water(
    db: npt.NDArray[np.float32], vv: VvSeries | None, days: npt.NDArray[np.int32], t: int,
    noise: npt.NDArray[np.float32], p: SarRiceParams,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Margins, in units of ``db_scale``, of a flood on date ``t``, the pixel's last valid date,
    read in both channels: a flood (see ``SarRiceParams.cycle_last_pass_vv_db``) and a deep one
    (``cycle_last_pass_deep_db``); -inf elsewhere, without VV or when off.

    ``db`` is the VH series in dB, ``vv`` the VV series of the same rows, ``noise`` the VH
    date-to-date noise, dB. The flood is the weakest of: VH on ``t`` reaches ``vh_min_db``; it lies
    ``max(cycle_last_pass_vh_step_db, cycle_last_pass_noise x noise)`` below the mean of the dates
    ``seedbed_end_days`` to ``seedbed_start_days`` before it; VV on ``t`` lies
    ``max(cycle_last_pass_vv_db, cycle_last_pass_noise x`` the VV noise``)`` below the mean VV of
    the same dates; ``noise`` stays within ``cycle_last_pass_vv_noise_db``. The deep flood reaches ``water_db`` with the steps ``cycle_last_pass_deep_db``
    and ``cycle_last_pass_deep_vv_db``, on a series whose noise stays within
    ``cycle_last_pass_deep_noise_db``, whose first valid VH date stands at least
    ``cycle_last_pass_deep_tail_db`` above that land (the previous canopy's tail). No date in that
    window in either channel: unobserved, -inf.
    """
    n_pix = db.shape[0]
    fail = np.full(n_pix, -np.inf, dtype=_F32)
    if vv is None or p.cycle_year_days is None:
        return fail, fail
    valid = ~np.isnan(db)
    last = valid[:, t] & ~valid[:, t + 1:].any(axis=-1)
    d = _F32(days[t])
    lo = np.full(n_pix, d - _F32(p.seedbed_end_days), dtype=_F32)
    hi = np.full(n_pix, d - _F32(p.seedbed_start_days), dtype=_F32)
    vh_step = window_mean_db(db, days, lo, hi) - db[:, t]
    vv_step = window_mean_db(vv.db, days, lo, hi) - vv.db[:, t]
    k = _F32(p.cycle_last_pass_noise)
    vh_noise, vv_noise = k * np.nan_to_num(noise), k * np.nan_to_num(vv.noise)

    def margin(level_db: float, vh_db: float | None, vv_db: float) -> npt.NDArray[np.float32]:
        if vh_db is None:
            return fail
        with np.errstate(invalid="ignore"):
            m = np.minimum.reduce([_F32(level_db) - db[:, t], vh_step - np.maximum(_F32(vh_db), vh_noise),
                                   vv_step - np.maximum(_F32(vv_db), vv_noise)]) / _F32(p.db_scale)
        return np.where(last & np.isfinite(m), m, fail).astype(_F32)

    # On a quiet series only, where the pass is the mean of a field's looks: a speckled point's
    # irrigation pulse under a sparse orchard steps as far (`cycle_last_pass_vv_noise_db`,
    # `cycle_last_pass_deep_noise_db`).
    seen = np.nan_to_num(noise, nan=np.inf)

    def quiet(bar_db: float) -> npt.NDArray[np.float32]:
        return ((_F32(bar_db) - seen) / _F32(p.db_scale)).astype(_F32)

    deep = np.minimum(margin(p.water_db, p.cycle_last_pass_deep_db, p.cycle_last_pass_deep_vv_db),
                      quiet(p.cycle_last_pass_deep_noise_db))
    if p.cycle_last_pass_deep_tail_db is not None:
        # The previous canopy's tail: the first pass stands above the land the flood covers. An
        # orchard's canopy stands at one level all year, its first pass at that land
        # (`cycle_last_pass_deep_tail_db`).
        first_db = db[np.arange(n_pix), valid.argmax(axis=-1)]
        with np.errstate(invalid="ignore"):
            tail = (first_db - (vh_step + db[:, t]) - _F32(p.cycle_last_pass_deep_tail_db)) / _F32(p.db_scale)
        deep = np.minimum(deep, np.where(np.isfinite(tail), tail, _F32(-np.inf))).astype(_F32)
    return (np.minimum(margin(p.vh_min_db, None if p.cycle_last_pass_vv_db is None else p.cycle_last_pass_vh_step_db,
                              p.cycle_last_pass_vv_db or 0.0), quiet(p.cycle_last_pass_vv_noise_db)), deep)


def last_passes_db(db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], last_i: npt.NDArray[np.intp],
                   prev_i: npt.NDArray[np.intp], span_days: float) -> npt.NDArray[np.float32]:
    """The mean, in linear power, of each row's valid dates of ``db`` (dB) within ``span_days`` of its
    last valid date ``last_i``, and at least from the valid date before it, ``prev_i`` (indices of
    ``days`` per row), in dB.
    """
    lo = np.minimum(days[last_i].astype(_F32) - _F32(span_days), days[prev_i].astype(_F32))
    return window_mean_db(db, days, lo, days[last_i].astype(_F32))
