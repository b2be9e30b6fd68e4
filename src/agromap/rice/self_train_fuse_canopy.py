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
(docs/rice_self_trained.md, "Upland crops that only the optical canopy evidence lifted"), but only
where the season hidden in a gap (``gap_season_lswi``) is among the evidence that lifted the pixel:
its bar, LSWI 0.30 on one canopy date, is what an upland canopy over moist soil reads, while the
other canopy terms need water seen (a canopy wetter than that, a flooded spell, a flooded seedbed)
and lift direct-seeded paddies the radar never saw flooded. And only on a field lifted as a whole
(``fuse_canopy_field_px``): a lone lifted pixel lies among neighbours whose labels already speak for
its field, and every label the step adds moves the classifier's refit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr

from .optical_params import OpticalRiceParams
from .self_train_neighbours import in_blocks_of
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
    lies between it and the rule's cut of 0.5 (a hesitation: the lift took the verdict out of the
    confident non-rice), the rule without the season hidden in a gap alone
    (``gap_season_lswi=None``) scores it lower than ``opt``, the SAR rule's ``sar_score`` leans non-rice too
    (below 0.5) and, with a ``radar`` stack (``vh``) and ``spec.upland_dip_db`` set, the radar never
    saw the pixel in water (:func:`~agromap.rice.self_train_upland.radar_saw_water`, the upland
    step's test: no VH date ``upland_dip_db`` below the pixel's median nor at ``upland_water_db``),
    and at least ``spec.fuse_canopy_field_share`` of the pixels within ``spec.fuse_canopy_field_px``
    meet all these tests too (lazy).

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
    # only the season hidden in a gap reads an upland canopy over moist soil (LSWI about 0.30, its
    # bar) as a paddy's; the other canopy terms need water an upland field does not show and lift
    # direct-seeded paddies the radar never saw flooded
    gap_lift = optical_rice_rule(optical, replace(base, gap_season_lswi=None), windows=windows)["rice_score"] < score
    # the canopy evidence took the verdict out of the rule's confident non-rice (a lifted score still at
    # or below other_max_score is the rule's non-rice: the radar's hesitation holds the mean, not the lift)
    sure = np.float32(spec.other_max_score)
    hit = (score < half) & (score > sure) & (plain <= sure) & (sar_score < half) & gap_lift
    if radar is not None and "vh" in radar and spec.upland_dip_db is not None:
        from .self_train_upland import radar_saw_water

        hit = hit & ~radar_saw_water(radar, spec.upland_dip_db, spec.upland_water_db)
    if spec.fuse_canopy_field_px is not None:
        # a field the lift kept out of the labels as a whole, not a pixel among labelled neighbours
        w = 2 * spec.fuse_canopy_field_px + 1
        share = in_blocks_of(hit.astype(np.float32).rolling(y=w, x=w, center=True, min_periods=1).mean(), hit)
        hit = hit & (share >= np.float32(spec.fuse_canopy_field_share))
    return opt.assign(rice_score=xr.where(hit, plain, score).astype(np.float32))
