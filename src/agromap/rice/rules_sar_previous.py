"""The previous crop seen only after its heading, for the year's cycle of the Sentinel-1 rice rule
(:mod:`agromap.rice.rules_sar_cycle`). Per pixel along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams
from .sar_series import bright_run_days

__all__ = ["standing_previous"]

_F32 = np.float32


def standing_previous(
    sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], first: npt.NDArray[np.float32] | npt.NDArray[np.int64],
    peak: npt.NDArray[np.intp], top: npt.NDArray[np.float32], break_days: npt.NDArray[np.float32],
    p: SarRiceParams,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """The previous crop's canopy peak (date index) and level, read up to ``cycle_canopy_days``
    after the day one cycle (``cycle_year_days``) before the flood's first dark date ``first``
    where that canopy already stands on the pixel's first valid date (its run, as for
    ``harvest``, reaches the series' start); elsewhere ``peak`` and ``top``, read up to
    ``max_rise_days``. A series that starts after the previous crop's heading shows only its
    standing canopy; a bright spell that begins inside the series after that (a pond drained
    between its water and its lotus) is no crop of one cycle before.
    """
    if p.cycle_canopy_days is None or p.cycle_year_days is None:
        return peak, top
    until = np.asarray(first, dtype=_F32) - _F32(p.cycle_year_days) + _F32(p.cycle_canopy_days)
    seg = np.where((days[None, :].astype(_F32) <= until[:, None]) & ~np.isnan(sm), sm, _F32(-np.inf))
    late_peak = seg.argmax(axis=-1)
    late_top = seg.max(axis=-1)
    _, open_end = bright_run_days(sm, days, late_peak, (late_top - _F32(p.canopy_drop_db)).astype(_F32), break_days)
    # The run reaches the start: no valid date before it lies below the canopy band.
    before = np.arange(sm.shape[1])[None, :] < late_peak[:, None]
    dark_before = (before & ~np.isnan(sm) & (sm < (late_top - _F32(p.canopy_drop_db))[:, None])).any(axis=-1)
    use = np.isfinite(late_top) & (late_top > top) & open_end & ~dark_before
    return np.where(use, late_peak, peak).astype(np.intp), np.where(use, late_top, top).astype(_F32)
