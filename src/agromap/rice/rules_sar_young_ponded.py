"""Rain ponded on a bunded field before a young crop cut by the series' end, for the Sentinel-1
rice rule (:mod:`agromap.rice.rules_sar_ends`).

A rainfed paddy holds the first monsoon rain for weeks before it is puddled, then stands flooded
under its young crop for three to five weeks more: at a series' end its dark spell is longer than
a transplanting flood's (``young_flood_days``), though far shorter than the months of a seasonal
wetland's water. Per pixel along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams
from .sar_series import spell_min

__all__ = ["young_ponded_margin"]

_F32 = np.float32


def young_ponded_margin(
    sm: npt.NDArray[np.float32], days: npt.NDArray[np.int32], first: npt.NDArray[np.int64],
    last: npt.NDArray[np.int64], run: npt.NDArray[np.float32], scale: npt.NDArray[np.float32] | np.float32,
    p: SarRiceParams,
) -> npt.NDArray[np.float32]:
    """Margin, in units of its uncertainty, of a young crop's dark spell of ``run`` days (from day
    ``first`` to day ``last``) as rain ponded before puddling (see
    ``SarRiceParams.young_ponded_days``); -inf where the reading is off.

    ``sm`` is the shape series in dB and ``scale`` the spell's uncertainty, days. The weaker of:
    the spell lasts less than ``young_ponded_days``, and its darkest smoothed level reaches
    ``water_db`` (open water held in the field, not moist bare soil).
    """
    if p.young_ponded_days is None:
        return np.full(run.shape, -np.inf, dtype=_F32)
    with np.errstate(invalid="ignore"):
        water = (_F32(p.water_db) - spell_min(sm, days, first, last)) / _F32(p.db_scale)
        out = np.minimum((_F32(p.young_ponded_days) - run) / scale, water)
    return np.where(np.isnan(out), _F32(-np.inf), out).astype(_F32)
