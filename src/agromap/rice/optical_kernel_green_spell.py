"""The optical rice kernel's green-spell date, compiled (numba): which clear dates continue a green spell.

The green-spell limit (``max_green_days``) of :mod:`agromap.rice.optical_kernel_terms` walks the
clear dates whose NDVI reaches canopy greenness. A double-cropped paddy's first crop is drained
before its harvest, and its ripe canopy or stubble may still read green on that date while the next
crop is puddled within weeks; with ``green_harvest_lswi`` that date ends the spell (see
:class:`~agromap.rice.optical_undated_params.OpticalUndatedParams`). Thresholds are read from the
parameter vector at the positions of :mod:`agromap.rice.optical_kernel_layout`.
"""

from __future__ import annotations

from typing import Any

from ..jit import jit as _jit
from .optical_kernel_layout import F_GREEN_HARVEST, P_CANOPY_MIN, P_GREEN_HARVEST, P_GREEN_LINK, P_WET_CANOPY_LSWI

__all__ = ["green_date"]


@_jit(nrt=False, inline=True)
def green_date(k: int, n: int, cd: Any, cn: Any, cl: Any, prm: Any, flags: Any) -> bool:
    """Whether packed clear date ``k`` continues a green spell (NDVI >= ``ndvi_canopy_min``), unless a harvest.

    With ``green_harvest_lswi`` a harvest on drained soil between two canopies standing in water ends it.

    The harvest: LSWI below ``green_harvest_lswi`` on this date, the previous clear date a canopy in
    water (NDVI >= ``ndvi_canopy_min``, LSWI >= ``wet_canopy_lswi``), and a later clear date at most
    ``green_link_days`` after this one a canopy in water too (the next crop).
    """
    canopy_min = prm[P_CANOPY_MIN]
    if not cn[k] >= canopy_min:
        return False
    if not flags[F_GREEN_HARVEST] or k == 0 or not cl[k] < prm[P_GREEN_HARVEST]:
        return True
    wet = prm[P_WET_CANOPY_LSWI]
    if not (cn[k - 1] >= canopy_min and cl[k - 1] >= wet):
        return True
    for j in range(k + 1, n):
        if cd[j] - cd[k] > prm[P_GREEN_LINK]:
            break
        if cn[j] >= canopy_min and cl[j] >= wet:
            return False
    return True
