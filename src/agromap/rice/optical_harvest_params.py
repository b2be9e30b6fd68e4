"""The harvest part of :class:`~agromap.rice.optical_params.OpticalRiceParams`.

A field's evidence when clouds hide its cycles: a canopy in water, then stubble on dry soil (the
harvest), a flooded field on a sparse series, open water then stubble, and a flooded seedbed then
stubble.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpticalHarvestParams"]


@dataclass(frozen=True)
class OpticalHarvestParams:
    """The harvest, a flooded field on a sparse series, flood then stubble, a flooded seedbed."""

    harvest_lswi_max: float | None = 0.0
    """Harvest evidence: a clear date with a canopy standing in water (NDVI >= ``ndvi_high``,
    LSWI >= ``wet_canopy_lswi`` when that is set) followed, on any later clear date, by a bare field
    on dry soil (``harvest_ndvi_min`` <= NDVI <= ``ndvi_low``, LSWI below this): a paddy drained before
    its harvest, then stubble. A pixel that shows one is a field, whatever clouds hid of its flood-growth
    cycles (a flood before the series starts, a canopy inside a cloud gap or after the series
    ends), so (1) the water mask takes ``cycle_water_fraction`` as for a confirmed cycle, (2) it is
    not an evergreen shrub, and (3) the undated evidence has no ``max_flood_days`` limit: its long
    flooded spell is the fallow under the river's flood (the Mekong upper delta between the
    summer-autumn and the winter-spring crop) or under rainwater before puddling, not a wetland.
    Permanent water shows no canopy, an evergreen shrub or a wetland's grass no dry bare soil, an
    aquaculture pond no canopy; a lotus pond shows both, but its senescent stems are darker than
    stubble (``harvest_ndvi_min``; docs/rice_rules.md). ``None`` disables the term."""
    harvest_ndvi_min: float = 0.15
    """The bare date of the harvest evidence has NDVI at least this: a harvested paddy keeps its
    stubble and straw over the drying soil (NDVI 0.22-0.30 on the scenes' paddies, 10th-90th
    percentile of the greenest such date), while the senescent leaves and stems of a lotus pond
    over its mud read 0.06-0.17 with LSWI just below 0, and would otherwise pass as a harvest.
    Kept well below the paddies' range, since real stubble and soil vary more than the scenes'
    (a field ploughed bare after the harvest reads lower). At or above ``ndvi_low`` no date is a
    harvest. A design value (docs/rice_rules.md)."""
    sparse_max_dates: int | None = 15
    """Sparse-series field evidence, for a pixel with at most this many clear dates (and a gap of
    ``sparse_gap_days``): a clear date with a canopy standing in water (NDVI >= ``ndvi_high``, LSWI
    >= ``sparse_canopy_lswi``) and another with open water (the water mask's test, NDVI <
    ``water_ndvi_max`` and NDVI < LSWI) mark a flooded field. Such a pixel is treated as one that
    shows a harvest (the water limit of ``cycle_water_fraction``, no evergreen shrub, no
    ``max_flood_days`` limit), is no evergreen forest (a forest is never open water), and its undated
    evidence may take the canopy round the year: a canopy seen early in the series within
    ``peak_window_days`` after the series' last flooded date, one year on (the crop calendar repeats;
    the flood at the end of the series is the puddling of the season whose canopy the series showed at
    its start). On 8-15 clear dates a year with gaps of 100-130 days a floodplain paddy shows one canopy
    and months of river flood, no whole cycle, and its clear dates fall where the sky clears (often in
    the flood season), so the masks' fractions and the dated order are not measured; on 25-30 clear
    dates the cycles are seen and the rule is unchanged. Fifteen: the upper end of a cloudy delta's
    clear dates a year (docs/rice_rules.md, "A flooded field on a sparse series"). ``None`` disables the term."""
    sparse_gap_days: float = 90.0
    """... and only when the pixel's longest interval between clear dates is at least this long (days):
    a gap that can hide a rice crop from its flood to its harvest (flood to canopy about 30 days, the
    shortest green phase about 60), so the series cannot show every cycle it holds."""
    sparse_canopy_lswi: float = 0.25
    """The canopy of the sparse-series field evidence stands in water: LSWI at least this. The wettest
    canopy date (NDVI >= 0.6) of a floodplain paddy with open water on another date reads 0.33-0.41
    (10th-90th percentile, Mekong scene thinned to a dozen dates); a seasonal wetland's grass over
    moist ground, which floods to open water in autumn, 0.16-0.22 (wetland scene). A design value
    between the two (docs/rice_rules.md); ``wet_canopy_lswi`` (0.20) is the bar of a canopy inside a
    confirmed cycle, whose flood the series saw. Lotus and water hyacinth leaves over water pass it
    too (0.35-0.40): the water mask keeps the ponds that are water on more than three quarters of
    their clear dates."""
    flood_stubble_days: float | None = 90.0
    """Flood-then-stubble evidence (undated): a clear date of open water from bund to bund (NDVI at most
    ``hidden_open_water_ndvi`` and below LSWI) and, at least this many days after the first such date,
    the stubble of the harvest evidence (``harvest_ndvi_min`` <= NDVI <= ``ndvi_low``, LSWI below
    ``harvest_lswi_max``): a bunded field flooded for puddling, then harvested, its crop hidden in a cloud
    gap. Ninety days: transplanting to harvest takes 90-120 days, so a shorter interval is no rice crop.
    Upland soil, a village or fallow under rain shows puddles in hollows (NDVI above 0), not open water;
    seasonal wetland shows no stubble on dry soil. The margin is the smallest of the deepest open water
    seen before the stubble (index units / 0.05), the stubble's and the interval's excess in units of
    half the median clear interval plus 10 days. Needs ``hidden_open_water_ndvi`` and
    ``harvest_lswi_max``; ``None`` disables the term (docs/rice_rules.md, "Flooded, then stubble")."""
    seedbed_stubble_ndvi_max: float = 0.35
    """The flooded seedbed's vote (``seedbed_ndvi_max``) takes stubble up to this NDVI; the open-water vote of
    ``flood_stubble_days`` keeps ``ndvi_low``. The seedbed's clear date after the gap may come months after a
    harvest the gap hid, when the stubble has regrown (ratoon tillers, weeds) or the field has been tilled, no
    longer straw over soil: the scenes' paddies read 0.22-0.30 on their greenest stubble date (10th-90th
    percentile, ``harvest_ndvi_min``), the point tables' fallow 0.22-0.32 before noise. The seedbed's gates
    (a flood episode of at most ``seedbed_max_days`` on bare ground or after a canopy in water, a clear interval
    of at least ``hidden_crop_days`` after it, no dry soil before that interval) and the stubble's dry soil
    (LSWI below ``harvest_lswi_max``) still apply, so an upland crop's young stand or a wetland's grass is no
    stubble. Thirty-five hundredths: the bare date's bar of the season hidden in a gap (``gap_season_low_ndvi``,
    tilled soil and stubble). A design value (docs/rice_rules.md, "The crop calendar anywhere in the series").
    Above ``ndvi_low`` it gives no pseudo-labels to the self-trained optical map unless ``optical_canopy_labels``
    is set (its labels changed on ``monsoon_sparse_optical`` seed 0, OA -0.0021)."""
    seedbed_ndvi_max: float | None = 0.20
    """Flood-then-stubble evidence from a flooded seedbed: the flood of ``flood_stubble_days`` may also be
    a clear date with NDVI at most this and LSWI at least ``seedbed_lswi_margin`` above NDVI (seedlings
    standing in water: the young crop's NDVI 0.05-0.2, the water's LSWI above it), seen at most
    ``hidden_flood_link_days`` after a clear date of bare ground (as for ``hidden_bare_lswi_max``), when
    the flood episode lasts at most ``seedbed_max_days`` and at least ``hidden_crop_days`` pass between two
    clear dates after it (the cloud gap that hid the canopy). A paddy is puddled on tilled soil, its
    seedlings stand in water for three to five weeks, and its canopy grows in the gap; a rain puddle on
    fallow needs no gap to be followed by bare soil, and an aquaculture pond stays under water for
    months. The three are gates (a pixel that fails one keeps its score). Needs ``hidden_crop_days`` and
    the flood-then-stubble term (``flood_stubble_days`` and what it needs); ``None`` disables the seedbed
    (docs/rice_rules.md, "A flooded seedbed, then stubble")."""
    seedbed_lswi_margin: float = 0.05
    """The flooded seedbed's LSWI exceeds its NDVI by at least this (Xiao's flood tolerance ``flood_t`` with
    the sign reversed: standing water, not only moist soil). Villages and bare soil after rain read LSWI
    close to NDVI (docs/rice_rules.md)."""
    seedbed_max_days: float = 60.0
    """The flooded seedbed's episode (its first to its last seedbed date) lasts at most this many days:
    puddling 1-2 weeks before transplanting, and seedlings in water until the canopy rises, 3-5 weeks
    after (Bouman et al. 2007). A pond stays flooded for months."""
    seedbed_after_canopy: bool = True
    """The flooded seedbed may also follow a canopy standing in water (NDVI >= ``ndvi_high``, LSWI >=
    ``wet_canopy_lswi``) instead of bare ground: the last clear date without the flood signal, at most
    ``hidden_flood_link_days`` before it, is the previous crop. Double- and triple-cropped paddies are
    puddled for the next crop within days to two weeks of the harvest, so between two clear dates the
    canopy gives way to seedlings in water; the episode, gap, dry-soil and stubble gates still apply, and
    a lotus pond's senescent stems are darker than stubble (``harvest_ndvi_min``). Needs the seedbed and
    ``wet_canopy_lswi``; ``False``: bare ground only (docs/rice_stress.md)."""
