"""The flood-growth cycle part of :class:`~agromap.rice.optical_params.OpticalRiceParams`.

Xiao's flood signal (``LSWI + T >= EVI or NDVI``) and the growth that confirms an onset: Xiao's EVI
test and the NDVI trough-and-canopy test, the cycle after the onset over which they read, and the
seasons' spacing and count (:mod:`agromap.rice.rules_optical`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OpticalCycleParams", "GrowthRule"]

GrowthRule = Literal["xiao", "ndvi", "either", "both"]


@dataclass(frozen=True)
class OpticalCycleParams:
    """The flood signal, the growth confirmations (Xiao's EVI, the NDVI trough and canopy), the seasons."""

    flood_t: float = 0.05
    """T in ``LSWI + T >= EVI or NDVI`` (Xiao: 0.05 on MODIS; tune over {0, 0.05, 0.10})."""
    flood_ndvi_max: float | None = None
    """Optionally, a flood signal needs NDVI <= this (e.g. 0.4). Standing water in the pixel lowers
    NDVI; a cloud shadow the mask missed lowers EVI but hardly NDVI (a ratio of two bands darkened
    alike) and passes ``LSWI + T >= EVI`` under a full canopy. Off by default: on the hard scenes
    it removed as many true seasons (confirmed by such a date) as false ones (docs/rice_rules.md)."""
    growth_rule: GrowthRule = "either"
    """Which growth confirmation an onset needs: ``xiao``, ``ndvi``, ``either`` or ``both``."""
    flood_shadow_ndvi: bool = True
    """On a date under a cloud shadow the scene classification missed (EVI below ``wet_canopy_evi_ratio`` x
    NDVI) the flood signal holds only in its NDVI form, ``LSWI + flood_t >= NDVI``: the shadow darkens EVI
    (not a ratio of bands) and the SWIR more than the NIR, so a green or sown upland field under it passes the
    EVI form, while standing water lifts LSWI above NDVI whatever the light (Xiao et al. 2005, 2006; Zhu &
    Woodcock 2012 on the shadows a cloud mask misses). A date where only the EVI form held tells neither flood
    nor dry ground and, as a cloudy date, leaves the flood state for the onsets: the next flooded date opens no
    season of its own (a floating canopy on a pond under a shadow). No effect without ``wet_canopy_evi_ratio``. The
    self-trained maps' labels read the rule without it (``shadow_flood_labels`` of
    :class:`~agromap.rice.self_trained.SelfTrainParams`). False: both forms on every date (docs/rice_rules.md
    "Dryland crops on a sparse monsoon series: a flood read under a cloud shadow")."""
    pond_end_onset: bool = True
    """The last date of a flooded dark spell (the flood signal with NDVI <= ``ndvi_low``, dates at most 45 days
    apart) that began more than ``max_flood_days`` before is an onset when it shows standing water by NDVI
    (``LSWI + flood_t >= NDVI``), the next clear date, at most ``gap_days`` later, has NDVI above ``ndvi_low``
    (the crop seen rising out of the water, not across a cloud gap that hides when the water went) and a
    short canopy follows (the pond-crop test's, ``pond_crop_green_days``: a lotus pond stays green longer); its
    growth is confirmed without the young crop's votes (``young_flood_t``, ``early_ndvi_days``), which read the
    days after a flood's first date. A coastal rice-shrimp field is a brackish pond for five to six months, then is
    flushed and puddled for one transplanted wet-season crop (Preston & Clayton 2003; Leigh et al. 2017): the
    flood signal seldom clears between the pond and the paddy (the drained, moist field passes its EVI form), so the
    paddy's flood is no onset of its own, and the crop was dated only where a missed shadow on its canopy faked a
    new flood. No effect without ``max_flood_days`` or ``pond_crop_green_days``; the self-trained maps' labels read
    the rule without it (``pond_end_labels``). False: onsets only where the flood signal begins (docs/rice_rules.md,
    "A pond's last flooded date as the onset")."""
    growth_days: float = 40.0
    """Xiao: EVI must reach ``growth_ratio`` x the cycle max within this many days of onset."""
    growth_ratio: float = 0.5
    """Xiao: fraction of the cycle's maximum EVI to reach."""
    min_peak_evi: float = 0.5
    """Floor on the cycle's maximum EVI for the Xiao test (PhenoRice ``EVI max >= 0.5``)."""
    peak_window_days: float = 90.0
    """The cycle after an onset over which EVI/NDVI maxima are taken (onset-to-heading span)."""
    gap_canopy_rise: float | None = 0.15
    """A cycle whose canopy is seen only after an observation gap (its windows stretched over the gap,
    :func:`~agromap.rice.rules_optical._stretched_end`), from an onset read on open water (NDVI below
    ``water_ndvi_max``) or through a green cover (the flood signal's EVI form alone, LSWI + ``flood_t`` below NDVI),
    is confirmed only when the clear dates the series saw after the onset, before the gap, show a crop establishing:
    when the last of them lies at least ``gap_canopy_seen_days`` after the onset, the highest NDVI among them is at
    least this much above the onset's. A paddy's seedlings raise NDVI within a month of puddling and transplanting
    (Xiao et al. 2005, 2006: EVI reaches half its peak within 40 days), so a month of clear dates that shows no rise
    leaves the canopy after the gap unlinked to the flood: a mat of water hyacinth drifts and grows over a pond all
    year, never drained (Thamaga & Dube 2018), and a lotus pond is open water until its leaves emerge in the gap
    (Villa et al. 2015). A flood with the soil or seedlings showing through (NDVI from ``water_ndvi_max`` up, the
    flood signal in its NDVI form) is a puddled field, which the term does not read, and neither is a cycle whose
    canopy the dates before the gap show. The margin is the rise minus this value. Fifteen hundredths: the
    slowest young crops of the stress tables rise 0.10-0.13 from a flood with soil showing, the scenes' floating
    mats drift within 0.10 of their onset (docs/rice_rules.md, "A canopy after the gap that the flood did not
    start"). ``None``: the canopy after the gap confirms the cycle whatever the dates before it showed."""
    gap_canopy_seen_days: float = 25.0
    """``gap_canopy_rise`` reads the dates before the gap only when the last of them lies at least this many days
    after the onset: a shorter view is the puddling flood (one to two weeks before transplanting, then two to
    three weeks before the seedlings' NDVI rises), which a paddy flooded just before a cloud season shows too."""
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
