"""Rain ponded on a bunded field before puddling, in a dark spell cut by the series' end, for the
Sentinel-1 rice rule: the young crop (:mod:`agromap.rice.rules_sar_ends`) and the year's cycle
(:mod:`agromap.rice.rules_sar_cycle`).

A rainfed paddy holds the first monsoon rain for weeks before it is puddled, then stands flooded
under its young crop for three to five weeks more: at a series' end its dark spell is longer than
a transplanting flood's (``young_flood_days``), though far shorter than the months of a seasonal
wetland's water. One length, ``ponded_end_days``, bounds that spell for both readings. Per pixel
along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams

__all__ = ["ponded_margin", "ponded_lead_days"]

_F32 = np.float32


def ponded_margin(
    run: npt.NDArray[np.float32], scale: np.float32 | npt.NDArray[np.float32], p: SarRiceParams,
    floor: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """Margin, in units of ``scale`` (days), of a dark spell at the series' end of ``run`` days as
    rain ponded on a paddy before its puddling flood (see ``SarRiceParams.ponded_end_days``); -inf
    where the reading is off or the margin is undefined.

    ``floor`` is the spell's darkest smoothed level, dB, for a reading that has no open-water term
    of its own (the young crop): the margin is then also no more than that level's below
    ``water_db`` (open water held in the field, not moist bare soil). The year's cycle asks for
    open water in its own ``water`` term.
    """
    if p.ponded_end_days is None:
        return np.full(run.shape, -np.inf, dtype=_F32)
    out = ((_F32(p.ponded_end_days) - run) / scale).astype(_F32)
    if floor is not None:
        with np.errstate(invalid="ignore"):
            out = np.minimum(out, (_F32(p.water_db) - floor) / _F32(p.db_scale))
    return np.where(np.isnan(out), _F32(-np.inf), out).astype(_F32)


def ponded_lead_days(run: npt.NDArray[np.float32], p: SarRiceParams) -> npt.NDArray[np.float32]:
    """Days by which the puddling flood may follow the first dark date of a spell of ``run`` days
    that is longer than ``young_flood_days`` (rain ponded before it), at most
    ``ponded_end_days - young_flood_days``; 0 where the reading is off.
    """
    if p.ponded_end_days is None:
        return np.zeros(run.shape, dtype=_F32)
    return np.clip(run - _F32(p.young_flood_days), _F32(0.0),
                   _F32(max(p.ponded_end_days - p.young_flood_days, 0.0))).astype(_F32)
