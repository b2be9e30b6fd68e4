"""The optical rule's vote in the fused labels where only its canopy evidence lifted a non-rice verdict.

With ``rule="both"`` the optical rule runs with its canopy-only evidence (a canopy standing in
water after a cloud gap, a season hidden in a gap, a young crop before one), its weakest rice
evidence: averaged with the SAR rule's score it gave the fused labels more paddies than it cost.
Where that evidence lifts a pixel the rule's other evidence calls surely non-rice into hesitation,
but not past the rule's own cut of 0.5, the rule still calls the pixel non-rice; averaged with a
radar that hesitates below its own cut, the lifted score keeps the pixel out of the labels. Upland
crops under a canopy over moist soil are such pixels: neither sensor calls them rice nor saw them
in water, yet whole fields went without a non-rice label and the classifier extended the rice
labels to them.
:func:`canopy_lift_nonrice` lets the verdict without the canopy evidence stand there, as
:func:`~agromap.rice.self_train_labels.keep_seedbed_nonrice` does for the SAR rule's weakest reading
(docs/rice_self_trained.md, "Upland crops that only the optical canopy evidence lifted").
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr

from .optical_params import OpticalRiceParams
from .self_train_params import SelfTrainParams

__all__ = ["canopy_lift_nonrice", "without_canopy_evidence"]


def without_canopy_evidence(base: OpticalRiceParams) -> OpticalRiceParams:
    """The optical rule's parameters without its canopy-only rice evidence (undated wet canopy, the
    season hidden in a gap, the young crop before a gap) and with the seedbed's stubble no higher
    than ``ndvi_low`` (weak evidence too).
    """
    return replace(base, undated_wet_canopy_lswi=None, gap_season_lswi=None, hidden_young_rise=None,
                   seedbed_stubble_ndvi_max=min(base.seedbed_stubble_ndvi_max, base.ndvi_low))


def canopy_lift_nonrice(opt: xr.Dataset, optical: xr.Dataset | None, sar_score: xr.DataArray,
                        spec: SelfTrainParams | None, params: OpticalRiceParams | None = None,
                        windows: Any = None, radar: xr.Dataset | None = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's output ``opt`` (its label steps applied, before :func:`fuse_scores`) with the
    score of the rule run without its canopy evidence (:func:`without_canopy_evidence` of ``params``)
    where that score is a confident non-rice (``<= spec.other_max_score``), the score of ``opt``
    lies below the rule's cut of 0.5 and above it, the SAR rule's ``sar_score`` leans non-rice too
    (below 0.5) and, with a ``radar`` stack (``vh``) and ``spec.upland_dip_db`` set, the radar never
    saw the pixel in water (:func:`~agromap.rice.self_train_upland.radar_saw_water`, the upland
    step's test: no VH date ``upland_dip_db`` below the pixel's median nor at ``upland_water_db``;
    lazy).

    A score a label step set to no opinion (0.5, e.g. a blind series) or no vote (NaN) is left, as is
    every pixel where the radar abstains (0.5, a season the series' ends cut) or leans rice, and
    every pixel the radar saw flooded: a rice-shrimp field's pond, a direct-seeded paddy's flood,
    which both rules may under-read while the optical canopy evidence reads their crop. Unchanged
    without ``optical`` or ``spec``, or when ``spec.fuse_canopy_nonrice`` is false.
    """
    if optical is None or spec is None or not spec.fuse_canopy_nonrice:
        return opt
    from .rules_optical import optical_rice_rule

    base = params if params is not None else OpticalRiceParams()
    plain = optical_rice_rule(optical, without_canopy_evidence(base), windows=windows)["rice_score"]
    score = opt["rice_score"]
    half = np.float32(0.5)
    hit = (score < half) & (plain <= np.float32(spec.other_max_score)) & (plain < score) & (sar_score < half)
    if radar is not None and "vh" in radar and spec.upland_dip_db is not None:
        from .self_train_upland import radar_saw_water

        hit = hit & ~radar_saw_water(radar, spec.upland_dip_db, spec.upland_water_db)
    return opt.assign(rice_score=xr.where(hit, plain, score).astype(np.float32))
