"""Thresholds of the optical rice rule (:func:`agromap.rice.rules_optical.optical_rice_rule`).

One frozen dataclass, :class:`OpticalRiceParams`, whose defaults are the published values or the
documented design values (docs/rice_rules.md says which is which); the rule's module re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .optical_params_checks import check_optical_params

__all__ = ["OpticalRiceParams", "GrowthRule"]

GrowthRule = Literal["xiao", "ndvi", "either", "both"]


@dataclass(frozen=True)
class OpticalRiceParams:
    """Thresholds of the optical rule; defaults: the published values (docs/science/rice.md#optical-flooding-rule)."""

    flood_t: float = 0.05
    """T in ``LSWI + T >= EVI or NDVI`` (Xiao: 0.05 on MODIS; tune over {0, 0.05, 0.10})."""
    flood_ndvi_max: float | None = None
    """Optionally, a flood signal needs NDVI <= this (e.g. 0.4). Standing water in the pixel lowers
    NDVI; a cloud shadow the mask missed lowers EVI but hardly NDVI (a ratio of two bands darkened
    alike) and passes ``LSWI + T >= EVI`` under a full canopy. Off by default: on the hard scenes
    it removed as many true seasons (confirmed by such a date) as false ones (docs/rice_rules.md)."""
    growth_rule: GrowthRule = "either"
    """Which growth confirmation an onset needs: ``xiao``, ``ndvi``, ``either`` or ``both``."""
    growth_days: float = 40.0
    """Xiao: EVI must reach ``growth_ratio`` x the cycle max within this many days of onset."""
    growth_ratio: float = 0.5
    """Xiao: fraction of the cycle's maximum EVI to reach."""
    min_peak_evi: float = 0.5
    """Floor on the cycle's maximum EVI for the Xiao test (PhenoRice ``EVI max >= 0.5``)."""
    peak_window_days: float = 90.0
    """The cycle after an onset over which EVI/NDVI maxima are taken (onset-to-heading span)."""
    trough_days: float = 30.0
    """NDVI test: the trough is the minimum NDVI over [onset, onset + trough_days]."""
    ndvi_trough_max: float = 0.40
    """NDVI test: trough <= 0.40 (dawood-labs)."""
    ndvi_climb_min: float = 0.30
    """NDVI test: canopy - trough >= 0.30."""
    ndvi_canopy_min: float = 0.50
    """NDVI test: canopy (max NDVI in the cycle) >= 0.50."""
    min_season_days: float = 80.0
    """Minimum days between two accepted onsets (separate seasons)."""
    max_seasons: int = 3
    """Length of the ``season`` axis without windows (seasons beyond it are counted, not dated)."""
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
    ndvi_low: float = 0.30
    """Undated evidence: the lowest clear NDVI is at most this (bare or flooded soil) ..."""
    ndvi_high: float = 0.60
    """... the highest at least this (a canopy), and some clear date with NDVI <= ``ndvi_trough_max``
    shows the flood signal ``LSWI + T >= min(EVI, NDVI)``."""
    max_cycle_days: float = 180.0
    """Undated evidence: the canopy date comes at most this long after a flooded date."""
    gap_days: float = 45.0
    """Undated evidence is used only across a cloud gap longer than this (or with fewer than two
    clear dates between the flood and the canopy)."""
    max_flood_days: float = 75.0
    """Undated evidence: no flooded dark spell (NDVI <= ``ndvi_low``) longer than this (days)."""
    dry_lswi_max: float | None = 0.0
    """Dry-down test of a flood onset: no clear date between the onset and the canopy that is
    bare (NDVI <= ``ndvi_trough_max``), not flooded and dry (LSWI below this). ``None`` disables it."""
    max_green_days: float | None = 120.0
    """Perennial-vegetation limit: no green spell (successive clear dates with NDVI >=
    ``ndvi_canopy_min``, at most ``green_link_days`` apart) lasts longer than this (days). A paddy
    is green from about a month after transplanting to harvest, 60-90 days; sugarcane, lotus,
    water hyacinth, orchards and wetland grass stay green for months. ``None`` disables the term."""
    green_link_days: float = 60.0
    """Two green dates further apart than this do not make one spell: the non-green interval
    between two rice crops (ripening, harvest, fallow, flood, early growth) is about two months,
    so a longer gap may hide it."""
    undated_seasons: bool = True
    """Accept the undated evidence (a rice pixel whose season has no confirmed onset date) when no
    calendar windows are given; False keeps only dated flood-growth cycles."""
    shrub_min_span_days: float = 120.0
    """The evergreen-shrub test counts only when its (non-water, outside-cycle) dates span at least
    this many days: moist dates within a shorter span may be one paddy season whose canopy the
    series does not show (a flood at the end of the series), not evergreen vegetation."""
    hidden_crop_days: float | None = 90.0
    """Hidden-crop evidence (undated): a sustained flood on the two clear dates before a cloud gap
    of at least this many days (flood to canopy, about 30 days, plus the shortest green phase of
    a rice crop, about 60 days) and a drained field after it. ``None`` disables the term."""
    hidden_flood_link_days: float = 40.0
    """The two flooded dates before the gap are at most this many days apart (a rainfed paddy
    holds rainwater for 20-50 days before puddling; a rain puddle dries within days)."""
    hidden_bare_lswi_max: float | None = 0.10
    """The flooded spell before the gap began on bare ground: the last clear date before it
    without the flood signal has NDVI < ``ndvi_canopy_min`` and LSWI below this. Tilled soil in
    the monsoon reads LSWI about -0.1 to 0.1; a wetland's sedge and grass, green and moist, more
    (Xiao's evergreen test uses LSWI >= 0.10). ``None``: no LSWI condition."""
    hidden_canopy_lswi: float | None = 0.25
    """``hidden_crop_days``: the flooded spell before the gap may also begin on the previous crop's canopy standing
    in water (NDVI at least ``ndvi_high``, LSWI at least this) seen at most ``hidden_flood_link_days`` before its
    first flooded date, instead of on bare ground. A double- or triple-cropped paddy is puddled for its next crop
    within about two weeks of the harvest (Bouman et al. 2007), so on a clear date every two weeks the canopy
    gives way to water with no bare date between; a seasonal wetland floods over its grass too, but that grass
    reads LSWI 0.16-0.22 (the wetland scene, ``sparse_canopy_lswi``) against 0.30 or more for a paddy's closed
    canopy over its water. Twenty-five hundredths: the bar of ``sparse_canopy_lswi``, between the two. A design
    value (docs/rice_rules.md, "The crop calendar anywhere in the series"). ``None``: bare ground only."""
    hidden_open_water_ndvi: float | None = 0.0
    """Hidden-crop evidence from one flooded date: the last clear date before the gap may be the
    only flooded one when its NDVI is at most this. NDVI <= 0 means the footprint reflects more red
    than near-infrared light, which among the surfaces of a paddy landscape only open water does:
    the whole field under water, as a bunded paddy is when it is flooded for puddling or holds
    rainwater before it, while a rain puddle on upland soil or fallow covers only hollows and lets
    soil or stubble show (NDVI above 0) unless the rain fell a day or two before. The bare-ground,
    gap and drained-after conditions of ``hidden_crop_days`` still apply. ``None``: two flooded
    dates are needed."""
    early_ndvi_days: float | None = 10.0
    """A dated flood onset is not confirmed when a clear date within this many days after it has
    NDVI above ``ndvi_trough_max``: a paddy is water and seedlings for weeks after puddling (the
    canopy closes 40-60 days after transplanting), so vegetation seen right after the flood stood
    there before it (flood-irrigated orchards, rain on a growing crop, a wetland's grass). Not
    applied to an onset on the pixel's first clear date (a series that starts inside a season).
    ``None`` disables the term."""
    wet_canopy_lswi: float | None = 0.20
    """A paddy's canopy stands in water: a dated flood-growth cycle is confirmed only when one of
    its canopy dates (NDVI >= ``ndvi_canopy_min``) has LSWI at least this (no vote when the cycle
    shows no canopy date). Standing water keeps LSWI high under a growing rice canopy (Xiao et
    al. 2005 read the flood from LSWI); an upland canopy grows over drying soil (LSWI < 0) and
    stays lower until it closes. A design value (docs/rice_rules.md): below the closed rice
    canopies of the project's three synthetic generators (the hand-made point table's reach only
    0.30) and near the median upland canopy of the hard scenes (0.17-0.26). ``None`` disables
    this and the undated wet canopy."""
    weak_flood_canopy_lswi: float | None = None
    """Optionally (e.g. 0.30), a dated onset whose flood signal holds only through Xiao's EVI form
    (``LSWI + flood_t < NDVI``: no standing water read by NDVI) is confirmed only when one of its
    canopy dates has LSWI at least this, a canopy standing in water. Standing water lifts LSWI above
    NDVI on a flooded bare field (Xiao et al. 2005, 2006); a cloud shadow the scene classification
    missed, thin haze or a cloud fringe collapses EVI while NDVI hardly moves, and moist soil after
    rain lowers EVI, so all three pass the EVI form on a young upland crop, whose canopy then grows
    over moist soil (the hard scenes' upland canopies: LSWI 0.24-0.26 median, 0.28-0.30 at the 90th
    percentile; rice 0.34-0.35). Off by default: on the hard scenes it removes a quarter of the upland
    crops mapped rice but also direct-seeded and field-edge paddies whose only flood seen was such a
    date, and the self-trained maps lose on some seeds (figures in docs/rice_rules.md)."""
    undated_wet_canopy_lswi: float | None = 0.32
    """Undated evidence from a wet canopy (NDVI >= ``ndvi_high`` and LSWI >= this) seen more than
    ``gap_days`` after the last clear date that was neither water nor a young crop in water (NDVI
    < ``ndvi_canopy_min`` with LSWI >= ``wet_canopy_lswi``), or with none before it, on a pixel
    whose lowest clear NDVI is <= ``ndvi_low``: the flood that preceded the canopy fell in a cloud
    gap. With no flood
    seen the canopy alone must tell, so it must be wetter than a closed upland canopy over moist
    soil can be (about 0.30); a canopy over standing water reads 0.33-0.38. ``None`` disables it
    (as does ``wet_canopy_lswi=None``)."""
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
    gap_season_lswi: float | None = 0.30
    """Undated evidence of a season hidden in a cloud gap: a clear date of bare, dry ground (NDVI at most
    ``gap_season_low_ndvi``, LSWI below ``gap_season_low_lswi``), then a clear interval of
    ``gap_season_min_gap`` to ``gap_season_max_gap`` days (the flood and early growth of a rice crop), then a
    canopy spell (successive clear dates with NDVI >= ``ndvi_canopy_min``, the first right after the interval)
    whose wettest date with NDVI >= ``ndvi_high`` reads LSWI at least this, and which ends (a clear date below
    ``ndvi_canopy_min``) within ``gap_season_days`` of the bare date. The margin is the smallest of the bare
    date's, the interval's, the canopy's and the season length's (index units / 0.05, days / the rule's day
    scale). Unlike the undated wet canopy it takes the wettest canopy date, not the first after the gap,
    and needs the dry ground before and the end of the season. A design value (docs/rice_rules.md, "A
    season hidden in a gap"): at the 90th percentile of the hard scenes' closed upland canopies and
    sugarcane (0.29-0.31), below their rice canopies over water (0.33-0.38). Like the undated wet canopy
    it gives no pseudo-labels to self-training unless ``optical_canopy_labels`` is set. ``None``
    disables the term."""
    gap_season_low_ndvi: float = 0.35
    """``gap_season_lswi``: the bare date before the interval has NDVI at most this (tilled soil, stubble)."""
    gap_season_low_lswi: float = 0.10
    """``gap_season_lswi``: ... and LSWI below this (dry ground, as ``hidden_bare_lswi_max``)."""
    gap_season_min_gap: float = 65.0
    """``gap_season_lswi``: the clear interval after the bare date is at least this long (days): puddling
    (1-2 weeks) and the 40-60 days from transplanting to a closed canopy, when the flood is no longer
    seen. A design value (docs/rice_stress.md): at 60 days three cloudy 15-day revisits of
    ``agromap.testing`` before a closed upland canopy passed (dryland false positives 0.004 -> 0.025);
    at 75 the monsoon scene lost two thirds of the term's gain."""
    gap_season_max_gap: float = 150.0
    """``gap_season_lswi``: ... and at most this long (days): a longer interval can hide a whole crop and more."""
    gap_season_days: float = 170.0
    """``gap_season_lswi``: the canopy spell ends at most this many days after the bare date (a rice season's
    length; a lotus pond or a perennial crop stays green longer)."""
    gap_season_open_end: float | None = 45.0
    """``gap_season_lswi``: a clear interval longer than this (days) right after a canopy date of the spell
    hides the season's end, which may lie anywhere in it: the season length is then measured to the last
    canopy date seen, so that a cloud gap abstains instead of refuting. Without it, a rice season whose
    canopy the series sees just before the second cloud gap (a crop calendar that puts both the flood and
    the harvest in the gaps) counted as longer than a rice season and lost its vote. Forty-five days: the
    clear interval beyond which the undated evidence treats the series as gapped (``gap_days``); on a
    series with a clear date every two to three weeks the spell's end is seen and nothing changes. ``None``:
    the season ends on the first clear date below canopy greenness, however late (docs/rice_stress.md)."""
    gap_season_young_days: float | None = 45.0
    """``gap_season_lswi``: the canopy spell may also begin one clear date after the interval, when that
    date (at most this many days before the spell's first canopy date) shows a young crop on wetted soil:
    NDVI below ``ndvi_canopy_min`` and LSWI at least ``gap_season_young_soil_lswi``. The flood and the
    transplanting fell in the interval and the seedlings, 2-5 weeks old, are not yet a canopy; the bare, dry date before the interval and the wet canopy after still apply. An
    upland crop's young stand grows on the same dry soil (LSWI about -0.2 to 0.05 on the point tables).
    Forty-five days: a transplanted crop's cover closes 40-60 days after transplanting, so a young crop
    is green within about six weeks. ``None``: the spell must begin right after the interval."""
    gap_season_young_lswi: float = 0.25
    """``gap_season_young_days``: the LSWI bar of the wettest canopy date when the spell began through a
    young crop on wetted soil (instead of ``gap_season_lswi``). The wetted young crop is part of the flood
    evidence the canopy otherwise carries alone, so the bar sits between the dated cycle's
    ``wet_canopy_lswi`` (0.20, flood seen) and ``gap_season_lswi`` (0.30, no flood seen). A design value
    (docs/rice_stress.md): at 0.20-0.25 the shift of 120 days gains the same paddies, and neither the
    point tables nor the scenes gain a non-rice point."""
    gap_season_young_soil_lswi: float = 0.05
    """``gap_season_young_days``: a young crop's date after the interval reads LSWI at least this (soil wetted
    since the bare date). Paddies are drained for days at a time (after transplanting, mid-season drainage,
    alternate wetting and drying: Bouman et al. 2007) and their soil stays saturated under the seedlings
    (the point tables' drained paddies read about 0.05 on the first date after their flood), while an
    upland crop's young stand grows on dry soil (about -0.2 to 0.05). Below the bare date's bar
    (``gap_season_low_lswi``, 0.10): a date between the two may be either, and is a young crop only when a
    wet canopy follows within ``gap_season_young_days``. A design value at the upper end of the upland
    young stands (docs/rice_stress.md, "A drained young crop after the gap"): at 0.10 a paddy drained on
    the first date after the gap lost its season (shift 120 d 0.884, at 0.05 0.907); at 0.04 the monsoon
    scene's upland crops entered (0.2 % of the class on seed 0, 0.7 % at 0.03, 1.4 % at 0.0)."""
    gap_season_young_run: bool = True
    """``gap_season_young_days``: the young crop may be seen on several successive clear dates (each NDVI below
    ``ndvi_canopy_min`` with LSWI at least ``gap_season_young_soil_lswi``), all within ``gap_season_young_days`` of
    the spell's first canopy date; the interval is then the one before the first of them, and the wet margin
    the lowest of theirs. A transplanted crop stays below canopy greenness for four to six weeks while its
    field is kept wet (Bouman et al. 2007), so a clear date every two weeks sees it two or three times; an
    upland crop's young stand grows on dry soil. ``False``: only the one clear date before the spell may be
    the young crop (docs/rice_rules.md, "Where the series hides the evidence")."""
    gap_season_dip_days: float | None = 40.0
    """``gap_season_lswi``: a canopy spell is not ended by one clear date below ``ndvi_canopy_min`` when the
    clear dates on either side of it are canopy dates at most this many days apart: that date is passed
    over. A rice canopy that falls below canopy greenness does not recover within weeks (after a harvest
    the next crop is puddled and transplanted, and its cover closes 40-60 days later, Bouman et al. 2007),
    so such a dip is residual haze or cloud shadow the cloud mask missed (both lower NDVI), not the
    season's end; before, it split the spell in two, and neither half showed the bare date, the interval
    and the wettest canopy together. Forty days: below the shortest interval from one canopy to the next
    crop's. Only in a spell after a bare date: a spell that opens the series (``gap_season_open_start``,
    ``gap_season_open_young``) has no bare date to show a field, and the canopy of a flood-irrigated
    orchard dips on each irrigation (on ``mekong_triple_sar`` seed 0 eleven orchard edge pixels entered
    the rice class through such spells). ``None``: every clear date below canopy greenness ends the spell."""
    hidden_reflood_days: float | None = 45.0
    """``hidden_crop_days``: the clear date after the gap may be flooded again (a bare field with the paddy
    flood signal) when the first clear date after that flood without the flood signal comes at most this
    many days later, more than ``early_ndvi_days`` after it, and shows a young crop greener than the flood
    on soil still wet (LSWI at least ``gap_season_low_lswi``, the margin of the vote). A double-cropped field
    is puddled again within two weeks of its harvest (Bouman et al. 2007), so a gap of three months can hide
    the first crop's canopy and harvest and end on the second crop's flood; a pond or a wetland in its flood
    season is still water and shows no crop rising out of it, a puddle dries, and a canopy green again
    within days of the water (basin irrigation under an orchard) stood there before it. Forty-five days:
    seedlings cover the water within weeks and the cover closes 40-60 days after transplanting (as
    ``gap_season_young_days``). ``None``: a flooded date after the gap refutes the hidden crop
    (docs/rice_rules.md, "A flood after the gap")."""
    hidden_young_rise: float | None = 0.15
    """Hidden-crop evidence from a young crop before the gap (undated): a flooded spell on bare ground (every
    date LSWI + ``flood_t`` >= NDVI, LSWI > 0 and NDVI <= ``ndvi_low``: standing water that NDVI reads, after
    a clear date with NDVI below ``ndvi_canopy_min`` and LSWI below ``gap_season_low_lswi``), then, within
    ``hidden_young_days`` of its last flooded date, a young crop: NDVI at least ``ndvi_climb_min`` above
    the flood's lowest and at least this above the bare date before the flood, on soil not dry (LSWI at least
    ``gap_season_young_soil_lswi``), on the last clear date before an interval of at least
    ``hidden_crop_days`` (the canopy unseen), and a clear date after it that is not wet (neither LSWI + ``flood_t``
    >= NDVI nor LSWI > 0 both: the field drained, harvested or bare). A transplanted paddy greens fast out of
    its water (canopy cover closes 40-60 days after transplanting, Bouman et al. 2007), so a cloud gap that
    starts a month after the flood hides the canopy, which Xiao's growth test needs. The rise above the
    bare date keeps out a canopy that stood there before the water (a flood-irrigated orchard: the same
    canopy before and after its irrigation); a pond's algae and a wetland's grass green without the climb
    or stay wet after the gap. Fifteen hundredths: half of ``ndvi_climb_min``, a design value
    (docs/rice_stress.md, "A young crop before the gap"). Like the season hidden in a gap it gives no
    pseudo-labels to self-training unless ``optical_canopy_labels`` is set (the scenes' self-trained
    optical maps lost up to 0.0018 with them). As the other undated evidence without a harvest seen, the
    pixel's longest flooded dark spell must not outlast ``max_flood_days``: a marsh flooded for months under
    its sedge, drying for a few weeks, then greening reads as a flood, a bare date and a young crop
    (docs/rice_rules.md, "A flood cut by the series' end"). Needs ``hidden_crop_days``; ``None`` disables
    the term."""
    hidden_young_days: float = 45.0
    """``hidden_young_rise``: the young crop is seen at most this many days after the flood's last flooded
    date. Seedlings cover the water within weeks and the cover closes 40-60 days after transplanting (as
    ``gap_season_young_days``); a canopy seen later is the growth test's to read."""
    gap_season_not_forest: bool = True
    """``gap_season_lswi``: a pixel whose season hidden in a gap votes rice (its margin >= 0) is not
    evergreen forest, whatever share of its clear dates reads NDVI >= ``forest_ndvi_min``: it showed bare,
    dry ground (NDVI <= ``gap_season_low_ndvi``, LSWI < ``gap_season_low_lswi``), which a forest canopy never
    does, and a season that ended. On a dozen clear dates a double-cropped paddy whose dates fall in its
    two canopy phases reaches Xiao's 43 % of green dates (``forest_fraction``, set on 46 composites a year).
    ``False``: the forest fraction applies to every pixel."""
    gap_season_open_start: bool = True
    """``gap_season_lswi``: a canopy spell on the pixel's first clear date votes too, the series' start
    taking the place of the bare date and the interval (both unseen): the season is then measured from
    ``gap_season_min_gap`` days before that date, and its wettest canopy date and its end are tested as for
    any spell. A crop calendar can put the flood before the series starts (a season sown late in the
    previous year); the bare date is what shows a field, so such a vote does not exempt the pixel from
    the forest fraction (``gap_season_not_forest``). ``False``: a spell needs a bare date before it."""
    onset_gap_days: float | None = 75.0
    """A flooded clear date of a bare field (NDVI at most ``ndvi_trough_max``: water, soil or seedlings) that follows
    a clear interval longer than this (days) is a flood onset even when the clear date before the interval was
    flooded too: the flood state over an interval the series does not see
    is unknown, and one paddy flood, puddling to early growth, lasts weeks (``max_flood_days``, 75 d, bounds a
    paddy's flooded spell), so the two floods may be two seasons' with the harvest and the next puddling
    hidden between them. The onset still needs its growth confirmation; a wetland or a pond flooded on both
    sides of the interval shows no canopy after it, and a canopy under a cloud shadow the mask missed, which
    passes Xiao's flood test on EVI, is no bare field. ``None``: a flood seen on both sides of any interval is
    one flood (the onset rule of Xiao et al. on gap-free composites)."""
    gap_season_open_young: bool = True
    """``gap_season_open_start``: the series' first canopy spell votes as an open start also when it begins less
    than ``gap_season_min_gap`` days after the pixel's first clear date and every clear date before it is a young
    crop or a flooded field on soil that is not dry (LSWI at least ``harvest_lswi_max``, the dry-soil bound of the
    harvest evidence): the flood and the transplanting lay before the series' start, and the dates seen since
    are the crop growing, which no interval of ``gap_season_min_gap`` days can fit. A paddy is kept wet from
    puddling until two or three weeks before harvest (Bouman et al. 2007); an upland crop sown at the series'
    start shows dry soil before its canopy. The canopy bar stays ``gap_season_lswi`` and the vote does not exempt
    the pixel from the forest fraction, as for the open start. Needs ``harvest_lswi_max``; ``False``: only a
    spell on the first clear date opens the series."""
    gap_season_cut_end: bool = True
    """``gap_season_lswi``: a canopy spell still running on the pixel's last clear date votes too, the season
    measured to that date: the series' end hides the harvest as a long cloud interval does
    (``gap_season_open_end``), so the spell abstains on its length instead of never voting. The bare date, the
    interval and the wet canopy are still needed. ``False``: a spell cut by the series' end has no vote."""
    flood_not_evergreen: float | None = 0.05
    """A pixel with a clear date of a flooded bare field (NDVI at most ``ndvi_low``, LSWI at least this above
    NDVI: standing water with soil or seedlings, the reverse of Xiao's flood tolerance as for
    ``seedbed_lswi_margin``) is no evergreen forest, whatever share of its clear dates is green. An evergreen
    canopy is never a flooded bare field (under missed haze a forest reads NDVI about 0.4, above
    ``ndvi_low``), while on a dozen clear dates a double-cropped paddy's canopy phases fill Xiao's 43 % of
    green dates, a fraction set on 46 composites spread over the year, which a cloudy series does not
    sample. The evergreen-shrub test (``shrub_lswi_min``) and the green-spell limit (``max_green_days``)
    still apply: water hyacinth is flooded, green and moist on every date. ``None``: the forest fraction
    applies to every pixel (docs/rice_stress.md, "The series' ends and the forest fraction")."""
    pond_crop_green_days: float | None = 80.0
    """A pond, then one rice crop: a pixel whose flooded dark spell (NDVI <= ``ndvi_low`` with the flood
    signal) outlasts ``max_flood_days`` and whose first canopy after that spell (NDVI >= ``ndvi_canopy_min``,
    within ``max_cycle_days`` of the spell's last date) stands in water on one date (NDVI >= ``ndvi_high``,
    LSWI >= ``wet_canopy_lswi`` when set) and stays green, dates above ``ndvi_trough_max`` included, for at
    most this many days (first to last canopy date, cut by the series' end) is treated as one that shows a
    harvest: the water limit of ``cycle_water_fraction`` and no ``max_flood_days`` limit (the evergreen-shrub
    test stays: water hyacinth on a pond is moist on every date). A
    coastal rice-shrimp field is a brackish pond for five to six months, then grows one transplanted
    wet-season crop (Preston & Clayton 2003; Leigh et al. 2017, in Ca Mau), whose canopy stands from about a month
    after transplanting to harvest: 55-70 days for the delta's 85-100-day varieties, up to about 80 for a
    110-day one. A lotus pond's leaves stay green for four months or more, an aquaculture pond or open
    water never holds a canopy. Eighty days: a design value (docs/rice_rules.md, "A pond, then one rice
    crop under the optical rule"). ``None`` disables the term."""
    end_flood_days: float | None = 60.0
    """A flood cut by the series' end: a pixel whose clear dates from some date to the last one are all wet and below
    canopy greenness (LSWI >= ``wet_canopy_lswi``, NDVI < ``ndvi_canopy_min``: water, or a young crop standing
    in it), that run beginning at most this many days before the last clear date on bare, dry ground (the clear
    date before it, at most ``hidden_flood_link_days`` earlier: NDVI < ``ndvi_canopy_min``, LSWI <
    ``hidden_bare_lswi_max``) and holding a date of open water from bund to bund (NDVI <=
    ``hidden_open_water_ndvi``, below LSWI), is rice, undated. A paddy is puddled on tilled soil and kept
    flooded from puddling until its canopy closes, 40-60 days after transplanting (Bouman et al. 2007), so a
    series that ends within that span of the flood shows the water and the young crop and never the canopy the
    other evidence needs; a seasonal wetland floods over its green, moist grass, a rain puddle leaves the soil
    to dry within days, and ponds and water bodies keep the water masks (this term lifts none); a pond drained
    for months and refilled after a long cloud gap shows its bare bottom too long before the water. Sixty days:
    the closing canopy's span (docs/rice_rules.md, "A flood cut by the series' end"). Needs ``wet_canopy_lswi``
    and ``hidden_open_water_ndvi``; ``None`` disables the term."""
    end_flood_link_days: float = 100.0
    """``end_flood_days``: the bare, dry date before the run lies at most this many days before its first date.
    A paddy's fallow stays bare from one season's harvest to the next puddling, so the clear date that shows it
    may come long before the flood when the monsoon's clouds hide the weeks between: on
    ``monsoon_sparse_optical`` the wet-season crop is puddled after 70-85 days without a usable clear date.
    The link keeps out a pond drained for months and refilled after a longer cloud gap (the fixed point
    table's drained ponds: 140 days). A hundred days: a design value between the two (docs/rice_rules.md,
    "The flood at the series' end after the monsoon's cloud gap"); at 40 days (``hidden_flood_link_days``,
    the link before) the monsoon scene's 10-month series shifted 60 days missed 1319 of its 4926 interior
    transplanted paddies on seed 0, at 100 days 621."""
    end_flood_rise: float | None = 0.10
    """``end_flood_days``: in place of the open water, the young crop greening in it: a run date's NDVI at least this
    below a later one's (of the run or the canopy after it). Seedlings soon cover a puddled field (monsoon scene,
    10 months shifted 60 d, seed 0: 500 missed paddies ended in water, LSWI 0.25-0.40, NDVI 0.15-0.45 rising, no
    open water); water bodies, puddles and a wetland's flood do not green while the water stays. A design value
    (docs/rice_rules.md, "A young crop at the series' end"). ``None``: the open water only."""
    end_flood_canopy_lswi: float | None = 0.30
    """``end_flood_days``: the run may be followed to the last clear date by canopy dates standing in water (NDVI
    >= ``ndvi_canopy_min``, LSWI at least this on each), the young crop's canopy before it closes; the bar of
    ``gap_season_lswi`` (upland canopies 0.29-0.31 at their 90th percentile). ``None``: the run ends the series."""
    end_canopy_min_gap: float | None = 40.0
    """``end_flood_canopy_lswi``: that canopy also votes right after the bare, dry date (``gap_season_low_ndvi``,
    ``gap_season_low_lswi``) across a clear interval of at least this many days (at most ``gap_season_max_gap``):
    a season hidden in a gap cut by the series' end. A paddy's canopy closes 40-60 days after transplanting
    (Bouman et al. 2007) and passes NDVI 0.5 before (30-35 days in the scenes). A design value
    (docs/rice_rules.md, "A young crop at the series' end"). ``None``: off."""
    end_flood_turbid: bool = True
    """``end_flood_days``: open water (NDVI <= ``hidden_open_water_ndvi``, below LSWI) drier than the run's bar just
    before it is passed over on the way to the bare date: a flood's first days over puddled soil are turbid or
    shallow (NDVI -0.12 to -0.05, LSWI 0.14-0.19 on the monsoon scene), not bare ground."""
    end_flood_shallow_ndvi: float | None = 0.15
    """``end_flood_days``: a puddled field's first flooded days, shallow water over mud (NDVI at most this, with the
    flood signal ``LSWI + flood_t >= NDVI``) or open water (NDVI <= ``hidden_open_water_ndvi``, below LSWI), drier
    than the run's bar. Before a run they are passed over on the way to the bare date, as the open water of
    ``end_flood_turbid``; when they end the series themselves (no wet date after them) they are the run, holding
    open water on one date or a shallow flood on two (a rain puddle on a fallow dries within days). Soil, water
    and a few seedlings read NDVI below 0.15 (bare soil 0.1-0.25, water below 0); on ``wetland_confusion``'s
    10-month series shifted 120 days, the missed paddies' first flooded dates read NDVI -0.07 to 0.09 with LSWI
    0.05-0.13 (docs/rice_rules.md, "A flood cut by the series' end on its first days"). ``None``: off."""
    end_flood_turbid_water: bool = True
    """``end_flood_turbid``: the open water of those first days counts as the run's own (NDVI <=
    ``hidden_open_water_ndvi``, below LSWI): the run on the last dates may be the seedlings standing in the
    flood, above that NDVI, while the water was seen open from bund to bund a date or two before.
    ``False``: only the run's dates (docs/rice_rules.md, "The flood at the series' end and the water mask")."""
    end_flood_turbid_link: bool = True
    """``end_flood_turbid``: ``end_flood_link_days`` may also count from the flood's first date after the bare, dry
    one (a turbid or shallow date passed over) rather than from the run's, when that whole flood lies within
    ``end_flood_days`` of the last clear date: the link bounds the days in which the flood's start is unseen, and a
    flood that young is no pond's. ``False``: from the run's first date (docs/rice_rules.md, "The flood at the series' end and the
    water mask")."""
    end_flood_after_canopy: bool = True
    """``end_flood_days``: the flood may also begin on the previous crop's canopy standing in water (NDVI at least
    ``ndvi_high``, LSWI at least ``hidden_canopy_lswi``) seen at most ``hidden_flood_link_days`` before its first
    date, instead of on bare ground: the next crop's puddling within two weeks of a harvest, as for the crop hidden
    in a gap. ``False``: bare ground only (docs/rice_rules.md, "The flood at the series' end and the water
    mask")."""
    end_flood_rise_link: bool = True
    """``end_flood_rise``: where the young crop rises in the run (a date's NDVI ``end_flood_rise`` below a later
    one's, that one above ``ndvi_low``), the bare, dry date may lie up to ``gap_season_max_gap`` days before the
    run's first date instead of ``end_flood_link_days``: the monsoon's clouds may hide a fallow for as long as they
    hide a season, and the pond the link keeps out does not green in its water. ``False``: the link alone
    (docs/rice_rules.md, "The young crop after the monsoon's gap at the series' end")."""
    end_reflood: bool = True
    """``hidden_reflood_days`` at the series' end: a field flooded again after the gap (the gap's two flooded dates
    before it, on bare ground) and flooded on every clear date from then to the last one, the last of them no
    more than ``end_flood_days`` after that flood, is rice when its NDVI rises by ``end_flood_rise`` within that
    flood to above ``ndvi_low`` (seedlings standing in the water; a pond's algae stay below): the series ends before the young crop's field is drained. ``False``:
    no vote (docs/rice_rules.md, "The flood at the series' end and the water mask")."""
    end_flood_not_water: bool = True
    """``end_flood_days`` (and ``end_reflood``): where that flood votes rice on two clear dates or more, the water mask
    reads the clear dates before it: the larger of their open-water share and their share of flooded dates (LSWI >=
    ``wet_canopy_lswi`` below canopy greenness), where that is lower than the whole series' open-water share. A
    paddy's puddling flood, and the rain ponded on it for weeks before (``wetland_confusion`` ponds half its
    wet-season fields for 20-50 days), is no water body's, and its fallow before is dry; a pond, its edge or a
    marsh is wet on most dates before too. A pond refilled on the last date alone keeps its mask. ``False``: the
    term lifts no mask (docs/rice_rules.md, "The flood at the series' end and the water mask")."""
    undated_wet_share: float | None = 0.5
    """The oldest undated evidence (a date at most ``ndvi_low``, a canopy of ``ndvi_high``, a flooded date, the
    flooded spell within ``max_flood_days``) also needs at least this share of the pixel's clear canopy dates
    (NDVI >= ``ndvi_canopy_min``) standing in water (LSWI >= ``wet_canopy_lswi``); margin: the share's excess
    / 0.05. A paddy's canopy stands in water from transplanting until two or three weeks before harvest
    (Bouman et al. 2007; Xiao et al. 2005 read its canopy's LSWI above the upland crops'), so most of its canopy
    dates are wet; a flooded meadow's or marsh's grass greens over drained, moist soil (``wetland_confusion``
    shifted 180 d: LSWI 0.17-0.18 at the median of its canopy dates, 0.20-0.22 at the 90th percentile, where a
    single wettest date passes). Half: the median canopy date (docs/rice_rules.md, "Most canopy dates in
    water: the undated evidence"). Needs ``wet_canopy_lswi``; ``None``: off."""
    lswi_nir_band: str = "nir"
    """NIR band for LSWI: ``nir`` (B08) or ``nir08`` (B8A; docs/science/indices_and_masks.md#common-band-names)."""

    def __post_init__(self) -> None:
        check_optical_params(self)
