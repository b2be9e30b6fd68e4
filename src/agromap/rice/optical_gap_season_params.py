"""The gap-season part of :class:`~agromap.rice.optical_params.OpticalRiceParams`.

A season hidden in a cloud gap (bare, dry ground, an interval, a wet canopy spell that ends): its
young crop after the gap, its open end and dips, a field flooded again after the gap, and a young
crop seen before the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpticalGapSeasonParams"]


@dataclass(frozen=True)
class OpticalGapSeasonParams:
    """A season hidden in a gap, its young crop, end and dips; a reflood after the gap, a young crop before it."""

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
