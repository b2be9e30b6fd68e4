"""Level tests of a flood season of the Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar`).

Does the land stand where it stood before and after the dip, or did a flood and a crop come?

Both read the mean level of the valid dates in a window (linear power, in dB) and vote only to
refute a season: ``regrowth`` (a standing canopy around an irrigation pulse) and ``fallow`` (bare
soil whose darkest date is no dip below the weeks before it). Per pixel along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams
from .sar_series import window_mean_db

__all__ = ["regrowth_margin", "fallow_dip_margin"]

_F32 = np.float32


def regrowth_margin(
    db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int, after: npt.NDArray[np.float32] | None,
    peak: npt.NDArray[np.float32] | None, onset: npt.NDArray[np.float32], noise: npt.NDArray[np.float32],
    p: SarRiceParams,
) -> npt.NDArray[np.float32]:
    """Margin of the canopy's rise above the levels after and before the flood at ``t`` (see
    ``SarRiceParams.regrowth_db``) where it refutes the season; NaN (no vote) where it holds, where
    the term is off or where a level is unobserved.

    ``after`` and ``peak`` are the level 7-28 days after the minimum and the smoothed canopy after
    it (read once by the rule for this and the seedbed reading); ``onset`` the first date of the
    dark spell, in days from the minimum; ``noise`` the pixel's date-to-date noise, dB.
    """
    nan = np.full(db.shape[0], np.nan, dtype=_F32)
    if p.regrowth_db is None or after is None or peak is None:
        return nan
    d0 = _F32(days[t])
    before = window_mean_db(db, days, d0 + onset - _F32(p.seedbed_end_days), d0 + onset - _F32(p.seedbed_start_days))
    bar = np.maximum(_F32(p.regrowth_db), _F32(p.regrowth_noise) * noise)
    # A paddy's canopy rises well above the flood's aftermath or above the fallow before it (a
    # fast-growing crop may be back at the fallow level a pass after the flood, but its canopy
    # then stands above the fallow); an orchard's stands at the level it had on both sides.
    # np.maximum keeps NaN: refuting takes both levels. Only a refutation votes (as for
    # `growth`): a canopy well above its surroundings is the other terms' business, so a paddy's
    # confidence, which the mixed-pixel term and the self-trained labels read, is left as it was.
    with np.errstate(invalid="ignore"):
        margin = (np.maximum(peak - after, peak - before) - bar) / _F32(p.db_scale)
    return np.where(np.isfinite(margin) & (margin < 0), margin, nan).astype(_F32)


def fallow_dip_margin(
    db: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int, smin: npt.NDArray[np.float32],
    onset: npt.NDArray[np.float32], noise: npt.NDArray[np.float32], p: SarRiceParams,
) -> npt.NDArray[np.float32]:
    """Margin of the flood's dip below the level before it (see ``SarRiceParams.fallow_dip_db``)
    where it refutes the season; NaN (no vote) where it holds, where the term is off or where the
    level is unobserved.

    ``smin`` is the shape series at the minimum ``t``; ``onset`` the first date of the dark spell,
    in days from the minimum; ``noise`` the pixel's date-to-date noise, dB.
    """
    n_pix = db.shape[0]
    nan = np.full(n_pix, np.nan, dtype=_F32)
    if p.fallow_dip_db is None:
        return nan
    d0 = _F32(days[t])
    if d0 - _F32(p.fallow_days) < _F32(days[0]):
        # The window is cut by the series start: it may hold only the flood's first dates.
        return nan
    near = window_mean_db(db, days, np.full(n_pix, d0 - _F32(p.fallow_days), _F32),
                          np.full(n_pix, d0 - _F32(p.seedbed_start_days), _F32))
    # The same window before the spell's first date holds no date of the spell, even when cut.
    spell = d0 + onset
    far = window_mean_db(db, days, spell - _F32(p.fallow_days), spell - _F32(p.seedbed_start_days))
    # The brighter reading: before the minimum a long flood's own dark dates lower the mean, and
    # before the spell's first date bare soil's spell can reach back past the window.
    # The darkest smoothed date of level soil lies about a noise unit below its mean; a noisy
    # point's noise estimate also holds its own floods and harvests, hence the cap.
    with np.errstate(invalid="ignore"):
        bar = np.minimum(_F32(p.fallow_dip_db), _F32(p.fallow_noise) * np.nan_to_num(noise))
        margin = (np.fmax(near, far) - smin - bar) / _F32(p.db_scale)
    return np.where(np.isfinite(margin) & (margin < 0), margin, nan).astype(_F32)
