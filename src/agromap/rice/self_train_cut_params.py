"""The series-cut part of :class:`~agromap.rice.self_train_params.SelfTrainParams`.

A season the series' end or start cuts: where a rule's non-rice verdict on such a paddy counts as
no opinion (:mod:`agromap.rice.self_train_ends`), and which labels the cut paddies and their
neighbours in the features give (:mod:`agromap.rice.self_train_cutlike`); docs/rice_self_trained.md
gives the measured reasons for each default.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["SeriesCutParams"]


@dataclass(frozen=True)
class SeriesCutParams:
    """A season the series' end or start cuts: the rules' verdicts there and the labels among the cut paddies."""

    end_flood_days: float | None = 45.0
    """Every rule: a non-rice verdict counts as no opinion where the radar's last this-many days hold
    a dark spell ``end_flood_drop_db`` below the pixel's median VH: a paddy puddled in the series'
    last weeks shows its flood but not yet the canopy's rise both rules look for, so a single-season
    paddy the series end cuts scored non-rice and taught the classifier that such paddies are no
    rice. A paddy is flooded from puddling to about tillering, four to six weeks after
    transplanting (docs/rice_self_trained.md, "A season cut by the series end"). ``None``: off."""
    end_flood_drop_db: float = 3.0
    """``end_flood_days``: how far (dB) below its median VH the lowest VH of the last weeks must lie."""
    end_flood_max_db: float = -19.0
    """``end_flood_days``: and that lowest VH must reach this level (dB): open water, where a paddy's
    flood reads -25 to -21 dB, past the SAR rule's flood minimum ``vh_min_db`` (-18). Sugarcane
    harvested in the series' last weeks drops 3 dB and more below the median of its tall canopy
    too, but its bare soil stays at -18.7 to -17.4 dB (``monsoon_sparse_optical`` seed 2, 10th to 90th
    percentile); -19 keeps 0.95-1.00 of the cut paddies of ``wetland_confusion`` and
    ``monsoon_sparse_optical`` shifted 120 days (docs/rice_self_trained.md)."""
    end_flood_dry_fraction: float = 0.25
    """``end_flood_days``: and at least this share of the pixel's clear optical dates (of at least
    ``persistent_min_dates``) must be dry (LSWI < 0): a paddy lies fallow on dry soil between seasons,
    a lotus or shrimp pond, floating plants or a flood-irrigated orchard, whose radar darkens at the
    series end too, are wet on nearly every clear date (the pond test's ``pond_dry_fraction``).
    Without an optical stack the verdicts stand."""
    end_flood_held_days: float | None = 6.0
    """``end_flood_days``: a series-end flood whose radar passes stay dark (each at both bars,
    ``end_flood_drop_db`` and ``end_flood_max_db``) one after the other over at least this many days
    vouches for a paddy like the series start's cut does (``cut_rice_start_share``): a puddled field
    stays under water from puddling past transplanting (8-15 days and more), while the puddles of a
    heavy rain on a fallow field drain within days and darken a single pass. On
    ``wetland_confusion`` (whole year, seed 4) none of the 708 end-cut fallow-with-puddles pixels nor
    the 79 upland crops hold two dark passes in a row, while 10 months shifted 120 days 0.96 of the
    6932 end-cut paddies do (docs/rice_self_trained.md, "Labels among the cut paddies"). ``None``:
    only the series start's cut vouches."""
    start_canopy_days: float | None = 45.0
    """Every rule: a non-rice verdict also counts as no opinion where the series opens inside a
    paddy's season: within this many days of the first date a clear optical date shows a wet canopy
    (``start_canopy_lswi``, ``start_canopy_ndvi``), the radar's VH over those days stays at a rice
    canopy's level (``start_canopy_max_db``), and the clear dates are dry often enough
    (``start_dry_fraction``) for a field harvested and left fallow. A single-season paddy whose
    transplanting fell before the series shows only its canopy's tail, its harvest and the fallow,
    which neither rule takes for rice (docs/rice_self_trained.md, "A season cut by the series
    start"). ``None``: off."""
    start_canopy_lswi: float = 0.30
    """``start_canopy_days``: the LSWI a clear date of a canopy must reach: a paddy's canopy over wet
    soil read 0.32-0.39 (10th to 90th percentile, ``wetland_confusion`` shifted 180 days), an upland
    crop's 0.25-0.30, a seasonal wetland's or a grassland's 0.16-0.25 (a forest's 0.28-0.40, but a
    forest is never dry)."""
    start_canopy_ndvi: float = 0.5
    """``start_canopy_days``: the NDVI that makes a clear date a canopy (a bare or flooded field stays
    below 0.3)."""
    start_canopy_max_db: float = -14.0
    """``start_canopy_days``: the median VH (dB) of the radar's dates in those days must stay at or
    below this: a ripening paddy reads -16.2 to -14.4 dB (10th to 90th percentile), an upland crop's
    canopy -15.1 to -13.2 and sugarcane -14.2 to -12.9. With the LSWI test alone 0.09 of the upland
    crops of ``wetland_confusion`` and 0.22 of those of ``monsoon_sparse_optical`` (shifted 180 days)
    passed, with this bar 0.05 and 0.04, while 0.98 of the cut paddies that passed still do."""
    start_dry_fraction: float = 0.25
    """``start_canopy_days``: at least this share of the clear optical dates (of at least
    ``persistent_min_dates``) must be dry (LSWI < 0): the fallow after the harvest (0.38-0.70 of the
    cut paddies' clear dates), where a forest, a wetland or a flood-irrigated orchard are never dry."""
    cut_edge_ndvi_rms: float | None = 0.12
    """``end_flood_days``, ``start_canopy_days``: a pixel at least ``cut_edge_neighbours`` of whose eight
    neighbours those steps judged cut counts as cut too where its NDVI series, on the dates clear in
    both (at least ``edge_min_common_dates``), lies within this root mean square difference of theirs: a
    paddy's edge pixel carries the paddy's crop but mixes its canopy and fallow with the bund or the
    next field, and misses the per-pixel bars by little (LSWI 0.19-0.29, VH -14.0 to -13.1 dB, a dry
    share under 0.25). On ``wetland_confusion`` shifted 180 days (seed 0) 34 rice pixels of the
    training lattice kept the SAR rule's sure non-rice verdict, 32 of them on field edges, at 0.02-0.12
    (0.17 and 0.28 for two) from a cut neighbour; the seasonal wetlands, grasslands and orchards beside
    cut paddies lie at 0.13-0.27 from them, and an upland crop of the paddies' calendar as close as
    the paddy's own edge (docs/rice_self_trained.md, "The edges of a season cut by the series' ends").
    ``None``: off."""
    cut_edge_neighbours: int = 2
    """``cut_edge_ndvi_rms``: how many of the eight neighbours must be cut and that close in NDVI. A
    paddy's edge pixel has the paddy's inner pixels along a whole side; one close cut neighbour alone
    also took the edge pixels of upland crops beside the cut paddies' own edge pixels
    (``monsoon_sparse_optical`` shifted 180 days, seed 0, ``rule: both``: 7 upland-crop labels and
    no rice one, the upland crops mapped as rice 0.09 -> 0.22, OA 0.9932 -> 0.9899; with two, 0.13 and
    0.9925; with three, 0.08 and 0.9930 but ``wetland_confusion``'s SAR map 0.9572 against 0.9600)."""
    cut_like_neighbours: int | None = 10
    """How many nearest lattice pixels, in the classifier's features, judge a label against the pixels
    whose season the series cuts (``end_flood_days``, ``start_canopy_days``; ``cut_like_share``,
    ``cut_rice_share``). Those steps make the rule's non-rice verdict on a cut paddy no opinion, so the
    cut paddies gave no rice label at all, and the few that miss one bar of those steps by little (a
    canopy near heading brighter than ``start_canopy_max_db``) kept the rule's sure non-rice verdict:
    the only examples of their kind, and the map missed the cut paddies. On ``monsoon_sparse_optical``
    in a 10-month series shifted 120 days (seed 2) 48 of the SAR rule's 1085 non-rice labels were such
    paddies and the SAR-fed map missed 0.36 of the rice (docs/rice_self_trained.md, "Labels among the
    cut paddies"). ``None``: off."""
    cut_like_share: float = 1.0
    """``cut_like_neighbours``: a non-rice label at least this share of whose neighbours are cut is
    dropped. With the rice labels of ``cut_rice_share`` a lower share (0.7, 0.5) dropped the labels of
    upland crops beside the cut paddies in the features and mapped more of them as rice."""
    cut_rice_share: float | None = 0.7
    """``cut_like_neighbours``: a cut lattice pixel whose rule verdict is no opinion becomes a rice
    label when at least this share of its neighbours are cut too: it lies among the cut paddies (0.99
    of the cut lattice pixels were rice on ``monsoon_sparse_optical`` and ``clean_delta`` shifted 120
    days, seed 2), not one cut upland field among its own kind. ``None``: no such labels."""
    cut_rice_start_share: float | None = 0.2
    """``cut_rice_share``: a cut pixel becomes a rice label only when the series start cuts it (a wet
    canopy in the first weeks, then a fallow on dry soil: a harvested paddy; or a series-end flood held
    over several passes, ``end_flood_held_days``) or at least this share of its ``cut_like_neighbours``
    are so cut (0.2: two of ten). A flood in the last weeks (``end_flood_days``) is also a
    fallow field's puddles: on ``wetland_confusion`` (whole year, seed 4) the end flood cut 708
    fallow-with-puddles pixels and 245 paddies, the start cut 563 paddies and nothing else, and the
    fallow's own cluster of end-cut pixels gave 66 wrong rice labels (docs/rice_self_trained.md,
    "Labels among the cut paddies"). ``None``: any cut pixel (the end flood's too)."""
    start_canopy_rice: bool = True
    """``rule="optical"`` (without ``optical_canopy_labels``): where the series opens inside a paddy's
    season (``start_canopy_days``), the optical rule's rice verdict from a canopy alone (the season
    hidden before the first date, ``gap_season_lswi``) stays a rice label. There it is the only
    evidence of a single-season paddy whose season the series start cuts: on ``clean_delta`` shifted
    120 days in a 10-month series the strict rule called 0.51 of the rice sure non-rice and the
    self-trained map missed 0.35 of it (docs/rice_self_trained.md, "A 10-month series opening in
    the canopy"). False: off."""
    fuse_cut_sar_no_vote: bool = True
    """``rule="both"``: where the series-end or series-start step made the SAR rule's non-rice verdict
    no opinion (a season the series cuts, ``end_flood_days``, ``start_canopy_days``), the SAR rule
    casts no vote in the fusion and the optical rule decides alone. Its 0.5 averaged with the
    optical rule's rice verdict on a paddy the series opens in (0.74-0.85 on ``clean_delta`` shifted
    120 days in a 10-month series) gave a hesitation, no label, and the map missed those paddies
    (docs/rice_self_trained.md, "A 10-month series opening in the canopy"). False: off."""
    start_pond_water_fraction: float | None = 0.25
    """``rule="optical"``: where the series opens in a wet canopy (``start_canopy_days``), a pond after
    the harvest stands for the dry fallow of ``start_dry_fraction``: at least this share of the clear
    dates (of at least ``persistent_min_dates``) open water (the optical rule's water test) and at
    least ``start_pond_dry_dates`` dry. A rice-shrimp field opens a series that starts in its wet
    season's crop, is drained for the harvest and then kept as a brackish pond for five to six
    months, so it is seldom dry and the fallow test misses it; the optical rule's non-rice verdicts
    on it were then labels, and the map missed 0.85 of those fields on ``mekong_triple_sar`` shifted
    120 days, seed 1 (docs/rice_self_trained.md, "A rice-shrimp field cut by the series start").
    Not with the SAR rule or both rules: there it took non-rice labels from lotus and the radar
    misses few such fields. ``None``: off."""
    start_pond_dry_dates: int = 2
    """``start_pond_water_fraction``: the fewest dry clear dates (LSWI < 0): the drained field between
    the harvest and the stocking of the pond. A shrimp pond, floating plants and an orchard are not
    drained; a lotus pond shows dry dates when its leaves die back, which the water share separates."""
    start_pond_rice: bool = True
    """``rule="optical"`` (and ``"both"`` with ``start_pond_fused``): where the series opens in a wet
    canopy (``start_canopy_days``) and a pond after a drained harvest follows (``start_pond_water_fraction``), the optical rule's rice
    verdict is no pond's (``pond_water_fraction`` keeps it), and its non-rice verdict there is no
    opinion. A rice-shrimp field in a series that opens in its crop and
    ends before its next one is open water on most clear dates and seldom dry, so the pond test took
    away the only rice verdict it had, the SAR rule saw a pond, and the maps missed 0.30-0.99 of
    those fields on ``mekong_triple_sar`` in a 10-month series shifted 60 days
    (docs/rice_self_trained.md, "A rice-shrimp field in a 10-month series"). False: off."""
    start_pond_fused: bool = True
    """``rule="both"``: ``start_pond_rice`` for the fused rules too: the optical rule's rice verdict
    on such a field is no pond's, the SAR rule's non-rice verdict under it casts no vote, and a fused
    non-rice verdict there is no opinion. On ``mekong_triple_sar`` in a 10-month series shifted 60
    days it lifts the fused map from 0.969 / 0.930 / 0.956 to 0.985 / 0.957 / 0.968 (seeds 0-2) and
    the labelled map from 0.974 / 0.945 / 0.962 to 0.988 / 0.964 / 0.972. Without
    ``start_pond_stubble_ndvi`` the field test took lotus opening a series in leaf, and shifted 240
    days it cost the fused map 0.017 on seed 1 (docs/rice_self_trained.md, "A rice-shrimp field in a
    10-month series", "Lotus in the rice-shrimp field test"). False: off."""
    start_pond_sar_labels: bool = False
    """``rule="sar"`` with an optical stack: the SAR rule's non-rice verdict on such a field
    (``start_pond_rice``) is no opinion too, and co-training's optical view decides there. The
    radar sees the field as a pond until the series ends, and its sure non-rice labels taught the
    map to miss most of those fields: on ``mekong_triple_sar`` in a 10-month series shifted 60 days
    it lifts the SAR map from 0.974 / 0.955 / 0.947 to 0.979 / 0.966 / 0.963 (seeds 0-2). With
    ``start_pond_stubble_ndvi`` it no longer takes lotus, but in a 10-month series shifted 180 days
    ``wetland_confusion`` seed 0 still loses 0.0097 (0.9443 -> 0.9346; 0.0045 with the
    classifier's seed 1) from one label: a shrimp pond's edge pixel beside a paddy, whose course
    is the paddy's, is no non-rice label and co-training relabels differently
    (docs/rice_self_trained.md, "Lotus in the rice-shrimp field test"). Off: the SAR rule's verdicts
    stand there; the fused maps are the same either way."""
    start_pond_stubble_ndvi: float | None = 0.2
    """``start_pond_rice``: between the opening canopy and the pond's first open water a dry clear
    date (LSWI < 0) must show at least this NDVI: the straw and stubble of a harvest on a drained
    field (NDVI 0.27-0.39, 10th to 90th percentile, on the rice-shrimp fields of
    ``mekong_triple_sar`` in a 10-month series shifted 60 days). A lotus pond opening a series in
    leaf passes the canopy and the pond tests too (0.36 of the lotus, seed 1, shifted 240 days;
    0.41 shifted 180 days), but its leaves die back into the water and onto mud (NDVI at most
    0.22 on those dry dates); as rice labels it taught the fused map to take 0.99 of the lotus
    (docs/rice_self_trained.md, "Lotus in the rice-shrimp field test"). ``None``: off."""
    start_pond_canopy_lswi: float = 0.0
    """``start_pond_rice``: the LSWI the canopy in the series' first ``start_canopy_days`` must reach,
    in place of ``start_canopy_lswi`` (0.30). A rice-shrimp field is drained before its harvest, so a
    series opening in the last weeks of its crop sees a canopy over drying soil (LSWI 0.13 at the
    median on the first clear date of ``mekong_triple_sar`` seed 1 in a 10-month series shifted 60
    days); with 0.30 the test took 0.42 of those fields, with 0.0 0.58. No other cover of the
    scenes turns from such a canopy into a pond after a drained harvest: on the hard scenes at
    shifts 0-240 only rice passes, and lotus at most 0.05 whatever the bar."""

    def _check_series_cuts(self) -> None:
        if (self.cut_edge_ndvi_rms is not None and not self.cut_edge_ndvi_rms > 0) or not 1 <= self.cut_edge_neighbours <= 8:
            raise ConfigError(f"need cut_edge_ndvi_rms > 0 (NDVI) or null and cut_edge_neighbours in 1-8, got "
                              f"{self.cut_edge_ndvi_rms} and {self.cut_edge_neighbours}.")
        if ((self.cut_like_neighbours is not None and self.cut_like_neighbours < 1) or not 0.0 < self.cut_like_share <= 1.0
                or not (self.cut_rice_share is None or 0.0 < self.cut_rice_share <= 1.0)
                or not (self.cut_rice_start_share is None or 0.0 <= self.cut_rice_start_share <= 1.0)):
            raise ConfigError(f"need cut_like_neighbours >= 1 or null and cut_like_share and cut_rice_share in (0, 1] "
                              f"(the latter or null), got {self.cut_like_neighbours}, {self.cut_like_share} and "
                              f"{self.cut_rice_share}.")
        if ((self.end_flood_days is not None and not self.end_flood_days > 0) or not self.end_flood_drop_db > 0
                or not 0.0 <= self.end_flood_dry_fraction <= 1.0 or not self.end_flood_max_db < 0):
            raise ConfigError(f"need end_flood_days > 0 (days) or null, end_flood_drop_db > 0 (dB) and "
                              f"end_flood_dry_fraction in [0, 1] and end_flood_max_db < 0 (dB), got {self.end_flood_days}, "
                              f"{self.end_flood_drop_db}, {self.end_flood_dry_fraction} and {self.end_flood_max_db}.")
        if self.end_flood_held_days is not None and not self.end_flood_held_days >= 0:
            raise ConfigError(f"need end_flood_held_days >= 0 (days) or null, got {self.end_flood_held_days}.")
        if ((self.start_canopy_days is not None and not self.start_canopy_days > 0)
                or not -1.0 <= self.start_canopy_lswi <= 1.0 or not -1.0 <= self.start_canopy_ndvi <= 1.0
                or not -1.0 <= self.start_pond_canopy_lswi <= 1.0
                or not (self.start_pond_stubble_ndvi is None or -1.0 <= self.start_pond_stubble_ndvi <= 1.0)
                or not 0.0 <= self.start_dry_fraction <= 1.0 or not self.start_canopy_max_db < 0
                or not (self.start_pond_water_fraction is None or 0.0 <= self.start_pond_water_fraction <= 1.0)
                or self.start_pond_dry_dates < 0):
            raise ConfigError(f"need start_canopy_days > 0 (days) or null, start_canopy_lswi, start_pond_canopy_lswi "
                              f"and start_canopy_ndvi in "
                              f"[-1, 1], start_dry_fraction in [0, 1], start_canopy_max_db < 0 (dB), "
                              f"start_pond_water_fraction in [0, 1] or null, start_pond_stubble_ndvi in [-1, 1] or null "
                              f"and start_pond_dry_dates >= 0, got "
                              f"{self.start_canopy_days}, {self.start_canopy_lswi}, {self.start_pond_canopy_lswi}, "
                              f"{self.start_canopy_ndvi}, "
                              f"{self.start_dry_fraction}, {self.start_canopy_max_db}, "
                              f"{self.start_pond_water_fraction}, {self.start_pond_stubble_ndvi} and {self.start_pond_dry_dates}.")
