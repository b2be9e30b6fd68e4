"""The end-flood part of :class:`~agromap.rice.optical_params.OpticalRiceParams`.

A flood cut by the series' end (its link to the bare date, the young crop greening in it, its
first turbid or shallow days, the water mask it lifts), the undated evidence's share of canopy
dates in water, and the NIR band of LSWI.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OpticalEndFloodParams"]


@dataclass(frozen=True)
class OpticalEndFloodParams:
    """A flood cut by the series' end and the water mask, the undated wet share, LSWI's NIR band."""

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
    end_flood_deep_lswi: float | None = 0.30
    """``end_flood_days``: in place of the open water, the last clear date read as shallow water over mud (NDVI at most
    ``end_flood_shallow_ndvi``) whose LSWI reaches this, when the run holds it and began at most ``early_ndvi_days``
    before it: the puddled field under water from bund to bund in its first days, seedlings too small to show, which
    may be the run's only date. A paddy is puddled and flooded to a few centimetres before transplanting and kept
    flooded until its canopy closes (Bouman et al. 2007; Xiao et al. 2005 read that phase as LSWI at or above NDVI),
    and its seedlings show within days; a rain puddle wets part of a fallow's pixel and reads LSWI below 0.30 on the
    scenes' flood-signal dates with NDVI 0-0.15 (``wetland_confusion``, 10 months shifted 120 d, seeds 0-5: of the
    1844 dates of its fallows with puddles none at 0.30 or more, 11 at 0.25-0.30; dryland crops none above 0.25), while the
    paddies' dates fall in two groups, 0.05-0.15 (turbid, shallow) and 0.25-0.40 (standing water); a marsh that
    floods for weeks without greening is older than those first days. The bar of ``gap_season_lswi``
    (docs/rice_rules.md, "The puddling flood on the series' last date"). Needs ``end_flood_shallow_ndvi`` and
    ``early_ndvi_days``; ``None``: off."""
    end_flood_deep_fallow: float = 0.4
    """``end_flood_deep_lswi``: that date stands for the open water only where less than this share of the clear dates
    up to the bare one before the flood show the flood signal (``LSWI + flood_t >= EVI or NDVI``); margin: the
    share's shortfall / 0.05. A paddy's fallow before its puddling is dry soil and stubble (a double- or
    triple-cropped field adds its earlier seasons' flooded weeks, from puddling until the canopy hides the water:
    about a month of each four-month season); the edge of a pond refilled after its drained weeks mixes water and
    bund on most dates. On the scenes' pixels the reading admits, the share is at most 0.32 for the paddies and
    0.35-0.95 (median 0.65-0.85) for the aquaculture ponds' edges; 0.4 lies between (at 0.5, the median date,
    pond edges on the thinned Mekong series entered: docs/rice_rules.md, "The puddling flood on the series' last
    date")."""
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
    end_sown_rise: float | None = 0.05
    """``end_flood_days`` for a direct-seeded field sown in the series' last weeks: the run of wet dates that ends
    the series may hold no open water when the clear dates before it are sown soil (NDVI above
    ``hidden_open_water_ndvi`` and below ``ndvi_canopy_min``, LSWI below ``hidden_bare_lswi_max``) and the date
    before those is open water (NDVI <= ``hidden_open_water_ndvi``, below LSWI) ``end_sown_min_days`` to
    ``end_sown_max_days`` before the run's first date, the run's highest NDVI at least this above the sown soil's
    highest. A direct-seeded paddy is flooded for levelling for a few days, sown on saturated soil and flooded
    again under its first leaves about ten days later (Kumar & Ladha 2011; Farooq et al. 2011), so the series
    shows water, then soil, then a wet, greening run without open water, which the other readings of the flood
    refuse (no open water in the run, no rise of ``end_flood_rise`` within it); an aquaculture pond's edge refilled
    after its drained bottom reads the same sequence without the seedlings' rise. Five hundredths: the seedlings'
    first leaves over the soil; measured outside the rule, without the rise eight aquaculture pixels (two interior)
    and a seasonal-wetland pixel entered (docs/rice_rules.md, "A direct-seeded field sown in the series' last
    weeks": ``monsoon_sparse_optical``'s 10-month series shifted 60 d, seeds 0-2, 121 more direct-seeded pixels,
    no pixel lost on any scene or series). ``None``: off."""
    end_sown_min_days: float = 8.0
    """``end_sown_rise``: the levelling flood lies at least this many days before the run's first date: the sown
    soil between them is a stage of a week or more (the second flood from about day 12 after sowing), where a
    rain puddle on a fallow or a pond's edge flickers between water and mud from one date to the next."""
    end_sown_max_days: float = 30.0
    """``end_sown_rise``: the levelling flood lies at most this many days before the run's first date: sowing
    follows the levelling within days and the second flood about twelve days after sowing, so the span between
    the two floods is two to three weeks; thirty days leaves one missed clear date on a five- to ten-day revisit."""
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
