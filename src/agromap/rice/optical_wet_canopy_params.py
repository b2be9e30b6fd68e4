"""The wet-canopy part of :class:`~agromap.rice.optical_params.OpticalRiceParams`.

A paddy's young crop and canopy stand in water: no vegetation right after a dated onset, a canopy
in water to confirm a dated cycle (and one whose flood only EVI reads), and the undated wet canopy
after a cloud gap.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpticalWetCanopyParams"]


@dataclass(frozen=True)
class OpticalWetCanopyParams:
    """No vegetation right after an onset, a dated cycle's canopy in water, the undated wet canopy."""

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
    wet_canopy_evi_ratio: float | None = 0.40
    """A canopy date shows the water under a dated cycle's canopy (``wet_canopy_lswi``,
    ``weak_flood_canopy_lswi``) only when its EVI is at least this fraction of its NDVI. Under a cloud
    shadow the scene classification missed, the blue-rich diffuse light darkens the SWIR more than the
    NIR, so LSWI reads a few hundredths wetter (a wetland's regrown grass 0.17 -> 0.25-0.27), while EVI,
    whose soil and blue terms do not cancel, falls to 0.2-0.4 x NDVI; a clear canopy reads EVI at
    0.45-1.2 x NDVI (the hard scenes' canopy dates leave 0.40-0.45 empty), a rice canopy in water about
    0.6. Such a date stays a canopy date for every other term. ``None`` counts every canopy date."""
    cycle_wet_share: float | None = 0.5
    """A dated flood-growth cycle is confirmed only when at least this share of its canopy dates read for
    water (NDVI >= ``ndvi_canopy_min`` in the cycle's span after the onset, ``wet_canopy_evi_ratio``) stand in
    it (LSWI >= ``wet_canopy_lswi``); margin: the share's excess (0.05 a logistic unit). A paddy is flooded from
    puddling until two or three weeks before harvest (Bouman et al. 2007), after the cycle's span
    (``peak_window_days``, onset to heading), so every canopy date of its cycle is wet; a seasonal wetland's or
    flooded grassland's grass regrows after the flood recedes over moist, drained soil, and an upland crop
    grows over soil the rains wet now and then, wet on a few of their canopy dates. Half: the median canopy
    date, as ``undated_wet_share`` for the undated evidence (docs/rice_rules.md, "Most canopy dates in
    water: a dated cycle"). No vote without a canopy date read; needs ``wet_canopy_lswi``; ``None``: off."""
    young_flood_t: float | None = 0.05
    """A dated flood-growth cycle is confirmed only when one of its clear dates in the ``early_ndvi_days``
    after the onset (before its first canopy date, NDVI < ``ndvi_canopy_min``) still reads Xiao's flood
    signal with this allowance (0.05, Xiao et al.'s): LSWI + this >= EVI or NDVI (NDVI alone on a date under
    a missed cloud shadow, EVI below ``wet_canopy_evi_ratio`` x NDVI: EVI collapses there while NDVI hardly
    moves). Margin: the best such date's excess. A paddy stands in water from puddling, 8-15 days before
    transplanting, through the first one or two weeks after it, whatever its later water management (Bouman
    et al. 2007), so a date in the onset's first days sees the flood again (Xiao et al. 2005 read the
    flooding and transplanting period from this signal); a dryland crop sown into soil a monsoon rain wetted
    grows over soil that drains within days, its young crop reading LSWI well below its EVI. No vote without
    such a date, or when the onset is the pixel's first clear date (the series may start inside a season).
    Needs ``early_ndvi_days``. On ``wetland_confusion`` shifted 120 days it removes 14-52 % of the upland
    crops mapped rice through a dated cycle (seeds 0-5) and every scene's mean gains; direct-seeded paddies,
    sown on saturated soil, fail it more often, so the self-trained maps take their labels from the rule
    without it (``young_flood_labels`` of :class:`~agromap.rice.self_trained.SelfTrainParams`;
    docs/rice_rules.md, "The flood seen again after a dated onset"). ``None``: off."""
    young_reflood_days: float | None = 30.0
    """``young_flood_t``: when the clear dates of the onset's first ``early_ndvi_days`` all fail it, a later
    clear date up to this many days after the onset may still pass, as the young crop's second flood: the
    first date after those days standing in water again (the same flood signal, and LSWI >=
    ``wet_canopy_lswi``: water, not moist soil), before any date with NDVI >= ``ndvi_high`` (leaves not yet
    closed over the water), with its NDVI ``young_reflood_rise`` above the highest since the onset (young
    leaves grown out of the sown soil). A wet-seeded (direct-seeded) paddy is sown on saturated, not flooded,
    soil after its levelling flood and flooded again once the seedlings have established, one to three weeks
    after sowing (Kumar & Ladha 2011; Farooq et al. 2011); an upland crop's young canopy stands on drained
    soil, a flood let into an orchard's rows finds the trees as before, and a pond fills before its lotus
    leaves emerge. Only a pass counts: a failing later date leaves the first days' margin, and an onset
    whose first days have no clear date keeps no vote (a transplanted paddy drained three weeks after
    transplanting is not read there). Thirty days: the levelling flood ends a few days before sowing and
    the water comes back one to three weeks after sowing. Over the hard scenes' 60 runs (four scenes, the
    whole year and four 10-month shifts, seeds 0-2) it maps 51 more direct-seeded and 3 more transplanted
    paddy pixels, and 2 orchard and 1 upland pixels (docs/rice_rules.md, "The flood seen again after a dated onset"). Needs
    ``wet_canopy_lswi``; a window no longer than ``early_ndvi_days`` reads nothing. ``None``: off."""
    young_reflood_rise: float = 0.12
    """``young_reflood_days``: how far the NDVI of the date in water again must rise above the highest NDVI
    since the onset (the onset's included). A young crop grows out of the sown soil, while the tree rows of a
    flood-irrigated orchard or a wetland's grass read the same cover before and after their water (on the
    hard scenes the orchards and wetlands this reading took rose 0.01-0.18 above it, the direct-seeded
    paddies mostly 0.1-0.4)."""
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
