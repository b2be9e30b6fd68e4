"""A paddy crop that grows out of the river's flood, for the ``duration`` term of the Sentinel-1
rice rule (:mod:`agromap.rice.rules_sar`).

In a deep-flooded delta (the Mekong's) the fields stand under the river for two to four months
before the crop that follows the flood is sown or transplanted as the water goes; with the young
crop's first weeks in water, the dark spell lasts far longer than a transplanting flood. A seasonal
wetland's flood lasts as long, but its sedge and grass regrow to a lower level and stand for
months; the paddy's crop builds a rice canopy and is harvested within a crop's life. Per pixel
along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .sar_params import SarRiceParams
from .sar_series import bright_run_days

__all__ = ["river_crop_margin"]

_F32 = np.float32


def river_crop_margin(
    run: npt.NDArray[np.float32], scale: npt.NDArray[np.float32] | np.float32, spell_mean: npt.NDArray[np.float32],
    level: npt.NDArray[np.float32], days: npt.NDArray[np.int32], t: int, b: int, gap: npt.NDArray[np.float32],
    break_days: npt.NDArray[np.float32], p: SarRiceParams,
) -> npt.NDArray[np.float32]:
    """Margin, in units of its uncertainty, of the dark spell of the flood minimum at date ``t``,
    ``run`` days long, as a river flood with a crop after it (see
    ``SarRiceParams.river_flood_days``); -inf where the reading is off or fails outright.

    ``scale`` is the spell's uncertainty (days), ``spell_mean`` the spell's mean level (dB),
    ``level`` the series averaged over ``cut_canopy_days`` (dB; its canopy is the canopy's level,
    not a speckle extreme), read on dates ``t + 1`` to ``b``; ``gap`` the local
    revisit gap per date and ``break_days`` the dark span that ends a bright run. The weakest of:
    the spell lasts less than ``river_flood_days``; it is open water throughout (``river_water_db``);
    the canopy's peak on ``level`` reaches ``river_canopy_db``; and that canopy (within
    ``canopy_drop_db`` of its peak) ends within the series and lasts less than ``max_canopy_days``
    (a canopy still standing at the series' end may be a wetland's grass).
    """
    n_pix = run.shape[0]
    if p.river_flood_days is None or b <= t + 1:
        return np.full(n_pix, -np.inf, dtype=_F32)
    seg = np.where(np.isnan(level[:, t + 1:b]), _F32(-np.inf), level[:, t + 1:b])
    peak = seg.argmax(axis=-1) + t + 1
    top = seg.max(axis=-1)
    lasting, open_end = bright_run_days(level, days, peak, (top - _F32(p.canopy_drop_db)).astype(_F32), break_days)
    with np.errstate(invalid="ignore"):
        harvest = (_F32(p.max_canopy_days) - lasting) / (_F32(p.duration_scale_days) + _F32(0.5) * gap[peak])
        terms = np.stack([(_F32(p.river_flood_days) - run) / scale,
                          (_F32(p.river_water_db) - spell_mean) / _F32(p.db_scale),
                          (top - _F32(p.river_canopy_db)) / _F32(p.db_scale),
                          np.where(open_end | ~np.isfinite(top), _F32(-np.inf), harvest)], axis=-1)
    out = np.where(np.isnan(terms), _F32(-np.inf), terms).min(axis=-1)
    return out.astype(_F32)
