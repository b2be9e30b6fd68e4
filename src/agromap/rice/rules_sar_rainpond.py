"""Rain ponded on a bunded field before puddling, at the series' end, for the year's cycle of the
Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar_cycle`). Per pixel along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams

__all__ = ["ponded_fresh_margin", "ponded_lead_days"]

_F32 = np.float32


def ponded_fresh_margin(
    run: npt.NDArray[np.float32], scale: np.float32 | npt.NDArray[np.float32], p: SarRiceParams,
) -> npt.NDArray[np.float32]:
    """Margin, in units of ``scale`` (days), of a dark spell at the series' end of ``run`` days as
    rain ponded on a paddy before its puddling flood (see ``SarRiceParams.cycle_ponded_days``);
    -inf where the reading is off.
    """
    if p.cycle_ponded_days is None:
        return np.full(run.shape, -np.inf, dtype=_F32)
    return ((_F32(p.cycle_ponded_days) - run) / scale).astype(_F32)


def ponded_lead_days(run: npt.NDArray[np.float32], p: SarRiceParams) -> npt.NDArray[np.float32]:
    """Days by which the puddling flood may follow the first dark date of a spell of ``run`` days
    that is longer than ``young_flood_days`` (rain ponded before it), at most
    ``cycle_ponded_days - young_flood_days``; 0 where the reading is off.
    """
    if p.cycle_ponded_days is None:
        return np.zeros(run.shape, dtype=_F32)
    return np.clip(run - _F32(p.young_flood_days), _F32(0.0),
                   _F32(max(p.cycle_ponded_days - p.young_flood_days, 0.0))).astype(_F32)
