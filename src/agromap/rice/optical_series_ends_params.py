"""The series' ends part of :class:`~agromap.rice.optical_params.OpticalRiceParams`.

Seasons opened by the series' start or cut by its end, the forest fraction for a pixel that shows
a field (bare, dry ground or a flooded bare field), an onset after a long clear interval, and a
pond followed by one rice crop.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpticalSeriesEndsParams"]


@dataclass(frozen=True)
class OpticalSeriesEndsParams:
    """Seasons at the series' start and end, the forest fraction, onsets across a gap, a pond then one crop."""

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
    dry_not_evergreen: float | None = 0.10
    """On a sparse series (at most ``sparse_max_dates`` clear dates and a clear interval of at least
    ``sparse_gap_days``), a pixel with a clear date of bare, dry ground (NDVI at most ``ndvi_low``, LSWI below this)
    is no evergreen forest, whatever share of its clear dates is green. Xiao et al. (2005, 2006) read evergreen
    vegetation as a canopy that stays green (NDVI >= ``forest_ndvi_min``) and moist (LSWI >= 0.10, the shrub test's
    ``shrub_lswi_min``) the year round, so a date neither green nor moist is soil or stubble, which an evergreen
    canopy never shows (the scenes' forest reads LSWI 0.21 or more on every clear date). A direct-seeded paddy is
    sown on saturated soil after a levelling flood of days (Kumar & Ladha 2011), so a cloudy series rarely sees it
    flooded (``flood_not_evergreen``), and on a dozen clear dates its two or three canopy phases fill Xiao's 43 % of
    green dates (``forest_fraction``, set on 46 composites spread over the year); its harvest and the tilled soil
    before the next sowing are what shows it is a field. The evergreen-shrub test and the green-spell limit still
    apply. On a series that samples the year the fraction reads as Xiao set it: there a sugarcane field's ratoon
    harvest (trash on dry soil) is the only bare date of a canopy that stands for eight months. 0.10: the shrub
    test's moisture bound, as ``hidden_bare_lswi_max`` and ``gap_season_low_lswi`` read bare ground. ``None`` (or
    ``sparse_max_dates`` ``None``): the forest fraction applies to every pixel that shows neither a flooded bare
    field nor a season hidden in a gap (docs/rice_rules.md, "Bare, dry ground is no evergreen forest")."""
    pond_ripe_ndvi: float | None = 0.35
    """On a sparse series (at most ``sparse_max_dates`` clear dates and a clear interval of at least
    ``sparse_gap_days``), a pond, then a ripening crop and its stubble: a pixel with open
    water (the water mask's test) on clear dates at least ``max_flood_days`` apart, then, after the last of them, a
    clear date of a ripening crop (NDVI at least this and below ``ndvi_high``, LSWI at least ``harvest_lswi_max``: a
    canopy yellowing over moist soil) and, on a later date, stubble on dry soil (the harvest evidence's
    ``harvest_ndvi_min`` <= NDVI <= ``ndvi_low``, LSWI < ``harvest_lswi_max``) is treated as one that shows a
    harvest (the water limit of ``cycle_water_fraction``, no evergreen shrub, no ``max_flood_days`` limit; open
    water again before the stubble starts over). A rice-shrimp field is a brackish pond from the dry season to
    June-August, then grows one transplanted wet-season crop harvested in November-December (Preston & Clayton 2003;
    Leigh et al. 2017); a cloudy series may see the pond, then only the crop ripening and its stubble, its canopy in
    water (``pond_crop_green_days``) falling in the monsoon's cloud gap. An aquaculture pond drained for its harvest
    shows mud and its bund grass (NDVI about 0.25) but no crop, a lotus pond's leaves die back into water, water
    hyacinth never shows dry soil. 0.35: above the stubble's ``ndvi_low`` (0.30) and a drained pond's bund grass
    (NDVI about 0.25). The self-trained maps' labels read the rule without it (``pond_ripe_labels`` of
    :class:`~agromap.rice.self_trained.SelfTrainParams`). ``None`` (or ``harvest_lswi_max`` or ``sparse_max_dates``
    ``None``): no pond-then-ripe harvest (docs/rice_rules.md, "A pond, then a ripening crop")."""
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
