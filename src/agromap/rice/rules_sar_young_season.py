"""A young crop at the series' end read as a season of its own, for the Sentinel-1 rice rule
(:mod:`agromap.rice.rules_sar`; option ``young_season``, off by default).

A paddy transplanted in the last six to ten weeks of a series shows its flood and a young crop
rising from it, but not the canopy. The young-crop reading (:mod:`agromap.rice.rules_sar_ends`)
stands in for ``canopy`` and ``rise`` there; the terms that time and bound a canopy -- ``timing``
(the crossing of 70 % of the way to the canopy), ``harvest`` (the canopy's run) and ``regrowth``
(the canopy above the land around the flood) -- still read the young level as if it were the
canopy and refuse most such seasons. With the option, a passing young crop stands for the season
on the terms that read the flood and the rise themselves, as the year's cycle does
(:mod:`agromap.rice.rules_sar_cycle`). Per pixel along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["YOUNG_SEASON_TERMS", "young_season_margin"]

_F32 = np.float32

#: The terms that still vote with a young crop at the series' end: the flood's depth, its
#: persistence over passes, its dark spell's length and its dip below the land before it, the
#: rise's pace and, with VV, the flood in VV. ``canopy``, ``rise``, ``timing``, ``harvest`` and
#: ``regrowth`` read a canopy the series' end hides.
YOUNG_SEASON_TERMS = ("depth", "persistence", "duration", "fallow", "growth", "vv_dip")


def young_season_margin(ev: dict[str, npt.NDArray[np.float32]],
                        young: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Margin of the season at one candidate date read as a young crop at the series' end.

    ``ev`` holds the season's terms (NaN: unobservable, no vote); ``young`` the young-crop margin
    of :func:`agromap.rice.rules_sar_ends.young_crop_margin` (-inf where the series goes on long
    enough for the canopy to be seen, where the canopy was reached, or where the reading is off).
    The margin is the smallest of ``young`` and the observable terms of :data:`YOUNG_SEASON_TERMS`.
    """
    votes = [np.where(np.isnan(ev[k]), _F32(np.inf), ev[k]) for k in YOUNG_SEASON_TERMS if k in ev]
    return np.minimum(young, np.stack(votes, axis=-1).min(axis=-1)).astype(_F32)
