"""The undated-evidence part of :class:`~agromap.rice.optical_params.OpticalRiceParams`.

A rice pixel whose season has no confirmed onset date: a flood and a canopy across a cloud gap,
the dry-down and green-spell limits, and a crop hidden in a cloud gap after a flood on bare
ground, on the previous crop's canopy or on open water.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpticalUndatedParams"]


@dataclass(frozen=True)
class OpticalUndatedParams:
    """Undated evidence across a cloud gap, the dry-down and green-spell limits, a crop hidden in a gap."""

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
    green_harvest_lswi: float | None = 0.10
    """A green date on drained soil (LSWI below this, NDVI still >= ``ndvi_canopy_min``) right after a canopy
    standing in water (the previous clear date: NDVI >= ``ndvi_canopy_min``, LSWI >= ``wet_canopy_lswi``) and
    followed within ``green_link_days`` by another canopy standing in water ends the green spell of
    ``max_green_days``: a paddy is drained two or three weeks before harvest and its ripe canopy and stubble
    stay green on drained soil while the next crop is puddled and transplanted within weeks (a double crop's
    harvest drop, then a new rise in water; Bouman et al. 2007), whereas an evergreen canopy, an orchard or
    a wetland's grass neither drains so fast nor stands in water again. Tilled or drained soil reads LSWI
    -0.1 to 0.1 (``hidden_bare_lswi_max``); the double-cropped paddies of ``wetland_confusion`` (10 months,
    shifted 60 d) read 0.06-0.08 on that date, their canopies 0.30-0.42 before and after (docs/rice_rules.md,
    "A harvest on drained soil between two canopies in water"). Needs ``wet_canopy_lswi``; ``None``: off."""
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
    undated_flood_stands: bool = True
    """Undated evidence: a flooded date followed within ``early_ndvi_days`` by a clear date on drained soil (no
    flood signal, LSWI below ``wet_canopy_lswi``) opens no window for the canopy and closes an earlier flood's (its
    canopy would otherwise count within two clear dates or across a cloud gap). A paddy stands in water with its
    seedlings for one or two weeks after puddling and transplanting (Bouman et al. 2007; Xiao et al. 2005, whose
    flood signal this is), so its dates in those days keep the flood signal or LSWI of 0.2 and more, green
    seedlings or not; rain on a field sown to an upland crop, or on one already growing, drains within days. The
    dated rule's ``young_flood_t`` reads the same days after an onset. The pixel's first clear date is exempt (the
    series may start inside a season), and so is a flooded date that continues the flood that opened the window
    (on the next clear date or within ``early_ndvi_days``): that flood stood its first days, and a paddy drained
    weeks after transplanting drains after its last flooded date; and so is a date that reads open water
    (``hidden_open_water_ndvi``: the whole field under water, as rain on an upland field never is; a direct-seeded
    paddy is drained for sowing days after it). Needs ``early_ndvi_days``. Every scene's
    mean gains or holds, and the optical stress sweep is unchanged; the self-trained maps take their labels from
    the rule without it (``undated_stands_labels`` of :class:`~agromap.rice.self_trained.SelfTrainParams`;
    docs/rice_rules.md, "The undated flood drained within days"). False: off."""
