"""The seedbed reading of a flood season of the Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar`).

A direct-seeded field is flooded briefly, then drained to moist soil on which the crop emerges:
its growth is timed from that seedbed plateau rather than from the flood's minimum. Per pixel
along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams
from .sar_series import window_mean_db
from .seasons import masked_max

__all__ = ["after_flood", "seedbed_timing"]

_F32 = np.float32


def after_flood(
    db: npt.NDArray[np.float32], sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int, b: int,
    p: SarRiceParams,
) -> tuple[int, npt.NDArray[np.float32] | None, npt.NDArray[np.float32] | None]:
    """The level after the minimum at ``t`` and the canopy above it, read once for the seedbed
    reading and the regrowth term: ``(a1, plateau, peak)``.

    ``a1`` is the first date past ``seedbed_end_days``; ``plateau`` the mean (linear power, in dB)
    of the dates ``seedbed_start_days`` to ``seedbed_end_days`` after ``t`` (NaN where none is
    valid); ``peak`` the smoothed series' maximum over dates ``a1`` to ``b``. Both are ``None``
    when no date lies in ``a1`` to ``b``.
    """
    a1 = int(np.searchsorted(days, float(days[t]) + p.seedbed_end_days, side="right"))
    if b <= a1:
        return a1, None, None
    n_pix = db.shape[0]
    d0 = _F32(days[t])
    plateau = window_mean_db(db, days, np.full(n_pix, d0 + _F32(p.seedbed_start_days), _F32),
                             np.full(n_pix, d0 + _F32(p.seedbed_end_days), _F32))
    return a1, plateau, masked_max(sm[:, a1:b])


def seedbed_timing(
    db: npt.NDArray[np.float32], sm: npt.NDArray[np.float32], db_next: npt.NDArray[np.float32],
    last_valid: npt.NDArray[np.intp], days: npt.NDArray[np.int32], t: int, b: int,
    canopy: npt.NDArray[np.float32], onset: npt.NDArray[np.float32], seen: npt.NDArray[np.bool_],
    p: SarRiceParams, a1: int, plateau: npt.NDArray[np.float32] | None, peak: npt.NDArray[np.float32] | None,
    noise: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """Growth timing of a direct-seeded season read from its seedbed plateau (see ``rules_sar._season_evidence``).

    The plateau is the mean, in linear power, of the dates from ``seedbed_start_days`` to ``seedbed_end_days`` after the minimum at
    ``t``; the crossing of ``rise_fraction`` of the way from it to ``canopy`` is timed as the
    minimum's. Returns the timing margin, capped by the margin of the smoothed peak over the
    plateau against ``seedbed_rise_db``; ``-inf`` where no plateau or canopy is seen.
    ``a1``, ``plateau`` and ``peak`` come from :func:`after_flood`; ``noise`` is the pixel's
    date-to-date noise, dB, with which the dip may be read on the minimum's own date
    (``seedbed_dip_noise``; ``None``: the smoothed series only). The dip is read below the plateau or,
    where brighter, below the sown seedbed's dates (``seedbed_dip_end_days``, ``seedbed_sown_noise``).
    """
    n_pix = db.shape[0]
    d0 = float(days[t])
    a0 = int(np.searchsorted(days, d0 + p.seedbed_start_days, side="left"))
    none = np.full(n_pix, -np.inf, dtype=_F32)
    if a1 <= a0 or plateau is None or peak is None:
        return none
    ok = seen & np.isfinite(plateau) & np.isfinite(peak)
    level = plateau + _F32(p.rise_fraction) * np.where(ok, canopy - plateau, _F32(0.0))
    raw, follow = db[:, a1:b], db_next[:, a1:b]
    reach = (raw >= level[:, None]) & ~(follow < (level - _F32(p.db_scale))[:, None])
    reach[:, -1] |= ~reach.any(axis=-1)
    j = reach.argmax(axis=-1) + a1
    upper = days[j].astype(_F32) - _F32(d0)
    lower = days[last_valid[np.arange(n_pix), j - 1]].astype(_F32) - _F32(d0)
    spread = _F32(p.timing_scale_days) + _F32(0.5) * (upper - lower)
    timing = np.minimum((upper - onset - _F32(p.min_rise_days)) / spread, (_F32(p.max_rise_days) - lower) / spread)
    regrowth = (peak - plateau - _F32(p.seedbed_rise_db)) / _F32(p.db_scale)
    # The seedbed is moist soil, not open water: a pond's lotus or floating plants also rise
    # slowly, but out of standing water.
    soil = (plateau - _F32(p.seedbed_min_db)) / _F32(p.db_scale)
    # The levelling flood is a dip well below the seedbed; bare upland soil before its crop shows
    # only a speckled date or two below its own level. The flood often lasts one pass, which the
    # three-date mean dilutes with the seedbed passes beside it: the date itself counts too, less
    # the speckle one date can carry (`seedbed_dip_noise`).
    low = sm[:, t]
    if p.seedbed_dip_noise is not None and noise is not None:
        low = np.minimum(low, db[:, t] + _F32(p.seedbed_dip_noise) * np.nan_to_num(noise))
    # The young crop's shallow water darkens the later part of the plateau window: the dip is read
    # below the sown seedbed when that is brighter (`seedbed_dip_end_days`).
    top = plateau
    if p.seedbed_dip_end_days is not None:
        sown = window_mean_db(db, days, np.full(n_pix, _F32(d0 + p.seedbed_start_days), _F32),
                              np.full(n_pix, _F32(d0 + p.seedbed_dip_end_days), _F32))
        if noise is not None:
            sown = sown - _F32(p.seedbed_sown_noise) * np.nan_to_num(noise)
        top = np.fmax(plateau, sown)
    dip = (top - low - _F32(p.seedbed_dip_db)) / _F32(p.db_scale)
    return np.where(ok, np.minimum.reduce([timing, regrowth, soil, dip]), none).astype(_F32)
