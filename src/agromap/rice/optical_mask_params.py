"""The masks part of :class:`~agromap.rice.optical_params.OpticalRiceParams`.

Xiao's land-cover masks (permanent water, evergreen forest, evergreen shrub), the clear-sky tests
of each observation (cloud, haze, snow, an invalid EVI), and how the onsets and the masks read the
series (an onset on the first date, the masks outside confirmed cycles).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpticalMaskParams"]


@dataclass(frozen=True)
class OpticalMaskParams:
    """The water, forest and shrub masks, the clear-sky tests, an onset on the first date, masks outside cycles."""

    water_ndvi_max: float = 0.10
    """Permanent water: NDVI < 0.10 and NDVI < LSWI ..."""
    water_fraction: float = 0.22
    """... in at least this fraction of valid observations (10 of 46 composites)."""
    cycle_water_fraction: float = 0.75
    """... or of this fraction when the pixel has a confirmed flood-growth cycle (a floodplain
    paddy under water for its fallow months is not a water body). Three quarters, a design value
    (docs/rice_rules.md): the river's flood covers a floodplain paddy for three or four months
    a year, but the sky clears as the flood peaks and recedes, so on a sparse series the flood can
    fill two thirds of the clear dates; a water body with a cycle-like date pattern (floating
    leaves) is water on nearly all the others."""
    forest_ndvi_min: float = 0.70
    """Evergreen forest: NDVI >= 0.70 ..."""
    forest_fraction: float = 0.43
    """... in at least this fraction of valid observations (20 of 46 composites)."""
    shrub_lswi_min: float | None = 0.10
    """Evergreen shrub: LSWI >= 0.10 in every valid observation; ``None`` disables the mask."""
    shrub_repuddle_drop: float | None = 0.55
    """A pixel with a confirmed flood-growth cycle that shows a canopy standing in water (NDVI at least
    ``ndvi_high``, LSWI at least ``wet_canopy_lswi``) followed within ``hidden_flood_link_days`` by seedlings in
    water (the flooded seedbed's test: NDVI at most ``seedbed_ndvi_max``, LSWI ``seedbed_lswi_margin`` above it)
    whose NDVI is at least this below the canopy's is no evergreen shrub: a harvest and the next crop's
    puddling, which double- and triple-cropped paddies fit into about two weeks (Bouman et al. 2007), so that
    every date outside the one cycle the series confirms is canopy or water, moist like a shrub. A
    floating mat of water hyacinth grows and drifts but does not fall from a closed cover to open water
    within weeks. Fifty-five hundredths: a closed canopy (0.7-0.9) to seedlings in water (0.05-0.2), a design
    value (docs/rice_rules.md, "The crop calendar anywhere in the series": without a drop the rule mapped 0.045
    of ``mekong_triple_sar``'s water hyacinth, seeds 0-2, against 0.030 before and 0.032 with it). ``None``: the
    shrub test applies as before."""
    shrub_flood_evi: float | None = 0.10
    """On a sparse series (at most ``sparse_max_dates`` clear dates and a gap of at least
    ``sparse_gap_days``), a pixel that shows a flooded field's trough (a clear date with Xiao's flood signal, NDVI at most
    ``ndvi_low`` and EVI at most this, the clear date before or after it at NDVI at most ``ndvi_low`` too)
    and a canopy (NDVI at least ``ndvi_high``) on at least ``shrub_flood_canopy_share`` of its clear dates
    is no evergreen shrub. A paddy at a field's edge mixes its flood-growth cycle with a near-constant
    fraction of bund grass, trees or shrubs: linear spectral mixing keeps the cycle, damped by that fraction
    (Settle & Campbell 1998; small fields, Dong & Xiao 2016), so the pixel stays moist on every date (flooded
    soil, then a canopy beside trees) and the evergreen-shrub test refuses it. EVI, nearly linear in the
    reflectances and near zero over water, shows the flood through a green fraction of about a fifth
    (0.2 x a canopy's 0.45-0.6); a shrub or an orchard never falls that low with NDVI at most ``ndvi_low``
    (a missed shadow darkens EVI but leaves NDVI a canopy's). A flood and its seedlings stand for weeks, so
    the trough holds on two clear dates; a floating water hyacinth mat opens to water for one. 0.10: design
    value. Sparse series only: on the thinned Mekong series it maps 286 more paddy pixels (128 px, seeds 0-9,
    OA 0.9520 -> 0.9538), but read on every series it took seasonal wetland and flooded grassland on
    whole-year and 10-month series, up to 12 pixels a seed, whose dense dates show the edge paddy's bare
    soil anyway (docs/rice_rules.md, "Field-edge paddies and the shrub test"). ``None``: off (the shrub test
    applies as before)."""
    shrub_flood_canopy_share: float = 0.35
    """``shrub_flood_evi`` reads a pixel whose canopy (NDVI >= ``ndvi_high``) covers at least this share of
    its clear dates: a rice canopy stands for two to three months of a four-month cycle (Yoshida 1981),
    a floating water hyacinth mat seldom reaches NDVI 0.6. 0.35: design value (docs/rice_rules.md)."""
    cloud_blue: float | None = 0.20
    """Observations with ``blue >= cloud_blue`` are cloud; ``None`` disables the test."""
    haze_hot: float | None = 0.08
    """Haze and thin cloud: observations with ``blue - 0.5 red > haze_hot`` are not clear (needs
    ``blue`` and ``red``). The haze-optimised transform's test of Fmask (Zhu & Woodcock 2012,
    after Zhang et al. 2002): haze scatters blue more than red, while soil, water and vegetation
    are no brighter in blue than in red. Haze the scene classification misses lowers NDVI and
    raises LSWI over bare soil, which fakes a flood date. ``None`` disables the test."""
    snow_ndsi: float | None = 0.40
    """Snow: NDSI > snow_ndsi and NIR > snow_nir (needs ``green``); ``None`` disables the test."""
    snow_nir: float = 0.11
    """See ``snow_ndsi``."""
    max_abs_evi: float = 1.0
    """|EVI| above this is invalid (denominator near 0; docs/science/indices_and_masks.md#index-rules)."""
    onset_at_series_start: bool = True
    """A flooded first valid observation counts as an onset (False: strict previous-obs rule)."""
    mask_outside_cycles: bool = True
    """Count water/forest/shrub dates only outside confirmed flood-growth cycles (10-30 m adaptation,
    see the module docstring); False counts every valid date, as Xiao did on annual MODIS composites."""
