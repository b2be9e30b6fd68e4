"""Settings of the label-free self-trained rice map (:mod:`agromap.rice.self_trained`).

One frozen dataclass, :class:`SelfTrainParams`: how pseudo-labels are drawn from the rules' scores,
how co-training corrects them and how the classifier is fitted (docs/rice_self_trained.md gives
the measured reasons for each default); the map's module re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError
from .model_record import TrainParams

__all__ = ["SelfTrainParams"]


@dataclass(frozen=True)
class SelfTrainParams:
    """How pseudo-labels are drawn from the rule and how the classifier is fitted on them."""

    rice_min_score: float = 0.7
    """Confident rice: the rule's ``rice_score >= rice_min_score`` (0.5 is the rule's own cut)."""
    other_max_score: float = 0.3
    """Confident non-rice: ``rice_score <= other_max_score`` (pixels without any flood signal score 0)."""
    spacing_px: int = 3
    """Lattice spacing: training pixels have global row and column both multiples of this (>= 2)."""
    n_per_class: int = 2000
    """Most training pixels per class."""
    min_per_class: int = 30
    """Fewer confident pixels than this in a class is an error (the map would be a guess)."""
    seed: int = 0
    """Seed of the pixel order within strata and of the estimator."""
    estimator: Literal["random_forest", "hist_gradient_boosting"] = "random_forest"
    """The classifier fitted on the pseudo-labels (as ``TrainParams.estimator``, balanced class weights)."""
    n_estimators: int = 100
    """Trees of the forest, or boosting iterations."""
    min_samples_leaf: int = 5
    """A few pixels per leaf: pseudo-labels are noisy, single-pixel leaves would memorise the noise.
    Co-training changes up to 40 % of the optical rule's labels on the hard scenes (the SAR view
    names the rice whose season fell in a cloud gap), so a leaf averages five of them."""
    threshold: float | None = None
    """Rice where the classifier's probability >= threshold; default the most probable class."""
    blind_gap_days: float | None = 100.0
    """``rule="optical"`` or ``"both"``: where the optical series has a clear-sky gap at least this
    long, the optical rule's non-rice verdict counts as no opinion (a whole season, about 100 days
    from puddling to harvest, can hide in the gap), so it is no non-rice pseudo-label.
    ``None``: the optical rule always votes."""
    cotrain: bool = True
    """``rule="sar"`` or ``"optical"`` with features of the other sensor: correct the rule's
    pseudo-labels with a classifier that reads only the other sensor's features (co-training,
    Blum & Mitchell 1998): the rule's misses are seldom the other sensor's misses."""
    view_rice_prob: float = 0.7
    """Co-training with the optical rule's labels: a lattice pixel the rule calls non-rice or
    hesitates on becomes rice when the radar-only classifier gives it at least this probability of
    rice (out-of-bag for its own training pixels). Heavy rain leaves puddles on upland crops, so
    the radar view's rice needs a high bar."""
    sar_view_rice_prob: float = 0.6
    """The same bar for the SAR rule's labels, read by the optical-only classifier. The SAR rule's
    non-rice is where its misses are (direct-seeded rice with a one-pass flood, rice at field edges
    mixed with a brighter neighbour), and the optical view sees their green canopy plainly; a
    lower bar than ``view_rice_prob`` gave the SAR-labelled map more OA on every hard scene's
    seeds 0-7 but two (docs/rice_self_trained.md)."""
    view_duration_rice: bool = False
    """Co-training: let ``vh_canopy_days`` alone make the other-sensor view's rice. Off by default: a
    rice relabel then also needs a second view classifier without that feature to reach the bar.
    How long a canopy stands tells what is not a paddy (lotus leaves stand 96-141 days, the
    transplanted paddies of ``mekong_triple_sar`` 42-54), but not what is: an upland crop of the
    paddies' season stands as long (48-90 days against 54-84 on ``monsoon_sparse_optical``), and
    with the duration alone the radar view turned the optical rule's non-rice upland crops into
    rice labels (docs/rice_self_trained.md). Non-rice relabels still read it."""
    long_canopy_days: float | None = 125.0
    """``rule="optical"``: a lattice pixel the rule hesitates on whose ``vh_canopy_days`` exceeds this
    becomes a non-rice pseudo-label: no single rice crop stands that long. A paddy is harvested 85-130
    days after transplanting and its VH sits near its peak for only part of that (42-54 days on the
    transplanted paddies of ``mekong_triple_sar``, 54-84 on ``monsoon_sparse_optical``), while lotus
    leaves stand over the pond for some 150 days (126-144 on the lotus the rule hesitates on). The
    rule's rice labels stand: a rice pixel at a field edge can show a spell that long (its neighbour's
    canopy joins its own), and taking those away cost up to 0.01 OA on ``monsoon_sparse_optical``.
    With ``"sar"`` only below ``long_canopy_sar_score``; never with ``"both"``. Never on a pixel whose
    season the series' end or start cuts (``end_flood_days``, ``start_canopy_days``): its flat VH over
    months of fallow is no canopy ("The canopy duration of a season cut by the series' ends"). ``None``:
    off (docs/rice_self_trained.md, "Lotus: non-rice labels from the canopy's duration")."""
    long_canopy_sar_score: float | None = 0.5
    """``rule="sar"``: ``long_canopy_days`` makes a non-rice label only of a hesitation scored below
    this (the SAR rule leans non-rice). The rule has read the radar series itself: a long canopy it
    still scores 0.5-0.7 is a paddy's edge pixel whose spell joins a neighbour's (on
    ``monsoon_sparse_optical`` seeds 0-2, 18 of the 19 rice lattice pixels with a canopy over 125
    days and a hesitant SAR score are at an edge, and none scores below 0.5), while most lotus it
    hesitates on lean non-rice (60 of 78 lattice pixels on ``mekong_triple_sar`` seeds 0-5, 50 of
    them with a canopy over 125 days). Not for ``"both"``: the fused
    score below 0.5 still holds paddy edges with a long canopy (9 on ``monsoon_sparse_optical`` seeds
    0-2), and there the labels cost that scene's labelled map up to 0.0023 OA
    (docs/rice_self_trained.md, "Lotus under the SAR rule: the duration where it leans non-rice").
    ``None``: no duration labels with ``rule="sar"``."""
    view_other_prob: float = 0.1
    """Co-training: a pixel the rule hesitates on becomes non-rice when the other-sensor classifier
    gives it at most this probability of rice."""
    persistent_fraction: float | None = 0.8
    """``rule="optical"`` or ``"both"``: where the series is blind (``blind_gap_days``) but at least
    this share of its clear dates shows one cover, evergreen canopy (NDVI >= ``evergreen_ndvi``) or
    open water (the optical rule's water test), the optical rule's non-rice verdict stands. A paddy
    is harvested, fallow, puddled and flooded every season and carries a canopy for about two
    thirds of it, so neither share reaches 0.8 of its clear dates, with a season hidden in a gap
    or not. With ``rule="optical"`` the rule's rice verdict on open water of at least this share is
    a non-rice label too (a lotus pond seen with its leaves on one or two clear dates).
    ``None``: every blind non-rice verdict counts as no opinion, and every rice verdict stands."""
    persistent_score: float | None = 0.0
    """``rule="both"``: where a blind series' non-rice verdict stands on a persistent cover
    (``persistent_fraction``), the optical score counts at most this in the fused score: open water or
    evergreen canopy on nearly every clear date is no paddy, however narrow the rule's own margin
    (a lotus pond's water-mask margin shrinks when the rule finds a flood and a canopy in its few
    clear dates), so a hesitant radar no longer lifts the fused score out of the non-rice labels.
    ``rule="optical"`` keeps the rule's score (its labels only see the ``other_max_score`` bar).
    ``None``: the rule's score stands (docs/rice_self_trained.md)."""
    persistent_min_dates: int = 8
    """Fewest clear dates for ``persistent_fraction`` to be judged (a share of three dates says little)."""
    evergreen_ndvi: float = 0.5
    """NDVI of a canopy date for ``persistent_fraction`` (a paddy's bare, flooded and young-crop
    dates are below it)."""
    water_crop_dates: int | None = 3
    """``rule="optical"``: where the optical rule's water mask calls a pixel non-rice but at least this
    many of its clear dates show a green canopy (NDVI >= ``evergreen_ndvi``), its verdict counts as no
    opinion: a pond that grows a crop is a rice-shrimp field, not water all year. On
    ``mekong_triple_sar`` over a year shifted 180 days (seed 2) the mask took 15 rice-shrimp lattice
    pixels with about 5 such dates each, and no aquaculture pond or river with one. ``None``: the
    mask's verdict stands (docs/rice_self_trained.md, "Rice-shrimp fields under the water mask")."""
    water_crop_water_fraction: float = 0.45
    """``water_crop_dates`` only where at least this share of the clear dates shows open water (the
    optical rule's water test): a rice-shrimp field is a pond on about half its clear dates (0.48-0.67
    where the mask takes it on ``mekong_triple_sar``), while lotus leaves hide the pond's water for
    months (0.25-0.38) and the lotus must keep its non-rice labels, the map's main confounder there."""
    edge_rescue_px: int | None = 1
    """``rule="both"``: where the SAR rule says non-rice (``<= other_max_score``), the optical rule is
    sure of rice (``>= rice_min_score``) and a pixel within this many pixels (a square window) is
    SAR-confident rice, the SAR verdict counts as no opinion and the optical one decides. Such a
    pixel is a field edge whose radar return is mixed with a brighter neighbour (a 10 m optical
    pixel sees the canopy, the speckle-filtered radar pixel does not see the flood); without a
    SAR-rice neighbour the contradiction stays undecided (upland crops puddled by rain, lotus).
    ``None``: contradictions always stay undecided."""
    edge_min_flood_dates: int = 0
    """``edge_rescue_px``: also ask the optical series for at least this many clear dates of open
    water with at most seedlings in it (the rule's flood signal at NDVI <= ``ndvi_low``), the
    paddy's puddling-to-tillering flood, which an upland crop beside the paddies shows only after
    heavy rain. 0 (default): the optical rule's score alone decides. 1 maps fewer upland crops
    beside paddies as rice but misses more edge paddies whose flood fell between clear dates, for
    a lower overall accuracy and a larger rice-area bias (docs/rice_self_trained.md)."""
    edge_max_ndvi_rms: float | None = 0.25
    """``edge_rescue_px``: rescue only a pixel whose NDVI series, on the dates clear in both, lies
    within this root mean square difference of a SAR-confident rice pixel within the window: a
    paddy's edge pixel carries the same crop as the paddy beside it, an upland crop beside the
    paddies does not (its canopy rises and falls on another course). On ``monsoon_sparse_optical``
    seeds 0-2 the rescued paddy pixels lie at a median of 0.09-0.11 from their nearest radar-seen
    paddy (90 % within 0.16-0.21) and the rescued upland-crop pixels at 0.20-0.27 (10 % within
    0.11-0.19), whose rice labels taught the classifier to map upland crops as rice. 0.2 kept
    fewer direct-seeded edges (OA -0.004 on seed 2), 0.3 kept less of the gain on upland crops
    (seed 1: 0.196 of them mapped rice against 0.134) (docs/rice_self_trained.md). ``None``: no such
    test."""
    edge_min_common_dates: int = 3
    """``edge_max_ndvi_rms``: fewest dates clear in both pixels for the comparison (a difference on
    one or two dates says little on a cloudy series); with fewer, that neighbour does not count."""
    dry_contradiction_lswi: float | None = 0.3
    """``rule="both"``: where the SAR rule is confident of non-rice, the optical rule confident of rice,
    the field-edge rescue does not apply and no clear date has LSWI at or above this, the SAR score
    decides (a non-rice label) instead of the mean (undecided). Every paddy, transplanted or
    direct-seeded, is wet on its clear dates at least once (open water reads about 0.3, a canopy
    standing in water at least 0.25); an upland crop whose optical rice verdict rests on a cloud
    shadow or a rain puddle read as a flood on a bare date is not, and the radar's dense series saw
    no flood there. Left undecided, such upland fields never became non-rice labels and the
    classifier mapped them as rice. On the contradictions of ``monsoon_sparse_optical`` seeds 0, 2
    and 4 the wettest clear date of direct-seeded rice has a median LSWI of 0.36 (7 % below 0.3),
    that of dryland crops 0.29 (57 % below); 0.28 caught fewer upland crops for no OA
    (docs/rice_self_trained.md). ``None``: the contradiction stays undecided."""
    drained_lswi: float | None = 0.25
    """``rule="both"``: the optical rule's rice verdict counts as no opinion (0.5) where no clear date
    has LSWI below this (the optical rule's ``sparse_canopy_lswi``: open water reads about 0.3 and
    a canopy standing in water at least this), and the radar decides. A paddy is drained before every
    harvest and lies as stubble on drying soil between seasons; a canal or pond under floating
    water hyacinth is water or a wet mat on every date, which the optical rule on a sparse series
    reads as a flood and a canopy standing in water. With ``rule="optical"`` the pixel is left out
    of the labels: the paddies a sparse series never shows drained leave with it, but the drained
    ones teach the classifier rice, while hyacinth rice labels taught it to map every canal as rice.
    ``None``: every rice verdict counts (docs/rice_self_trained.md)."""
    upland_dip_db: float | None = 3.5
    """``rule="optical"`` with a radar stack: the optical rule's rice verdict counts as no opinion (0.5)
    where the radar's VH never falls this far (dB) below the pixel's own median and no canopy date
    stood in water (``upland_canopy_lswi``): an upland crop sown on rain-soaked soil, which the
    optical rule reads as a flood and a season (:mod:`agromap.rice.self_train_upland`). A paddy's
    flood lies several dB below its level as land (median 7.5 dB, direct-seeded 6.1), an upland
    crop's rain-wet soil 2.3 dB (``wetland_confusion``, 10 months shifted 60 days, seed 0: OA 0.945
    -> 0.968). 4 dB took more upland crops (0.973) but also field edges of paddies beside bright
    bunds, and cost ``monsoon_sparse_optical`` shifted 120 days 0.001 on two seeds. ``None``: no such
    test (docs/rice_self_trained.md, "Upland crops the radar never saw flooded")."""
    upland_canopy_lswi: float = 0.33
    """``upland_dip_db``: a canopy stands in water where some clear date with NDVI at or above the
    optical rule's ``ndvi_canopy_min`` reaches this LSWI; a paddy's canopy does until shortly before harvest, an
    upland crop's over moist soil stays below (medians 0.38 and 0.31). 0.35 took more upland crops
    but also direct-seeded rice labels (``monsoon_sparse_optical`` whole year, seed 2: -0.003)."""
    upland_water_db: float = -21.0
    """``upland_dip_db``: a VH date at or below this (dB) is a flood however dark the pixel's median:
    a rice-shrimp field is a pond for most of the year (VH median -21.5 to -23 dB, lowest -24 to
    -26 dB on ``mekong_triple_sar``), an upland crop's lowest date lies at -16.5 to -19.5 dB."""
    upland_dip_px: int = 1
    """``upland_dip_db``: the radar's dip is the deepest within this many pixels (0: the pixel's own)."""
    seedbed_labels: bool = False
    """``rule="sar"`` or ``"both"``: let the SAR rule's seedbed-plateau reading alone take a pixel out
    of the non-rice labels. Off by default: where that reading lifts the score of a pixel the
    reading from the flood minimum calls non-rice (``qa_flags`` bit ``QA_SEEDBED_ONLY``) but not to
    the rule's cut of 0.5, the score is capped at ``other_max_score`` and the pixel stays a non-rice
    example. Such a lift rests on a plateau at the rule's wet-soil bar (``seedbed_min_db``): a lotus
    or floating-plant pond rising out of shallow water (docs/rice_self_trained.md)."""
    pond_water_fraction: float | None = 0.35
    """``rule="optical"`` or ``"both"``: where at least this share of a pixel's clear dates (of at
    least ``persistent_min_dates``) shows open water and fewer than ``pond_dry_fraction`` are dry
    (LSWI < 0), the optical rule's rice verdict counts as no opinion: a lotus or floating-plant
    pond whose canopy rises out of standing water looks like a paddy's flood and canopy to the
    rule, but a paddy is drained before harvest. With ``rule="both"`` the verdict is no vote at all
    and the radar alone decides there. ``None``: every rice verdict stands
    (docs/rice_self_trained.md)."""
    pond_dry_fraction: float = 0.25
    """``pond_water_fraction``: the share of dry clear dates below which a watery pixel is a pond."""
    pond_crop_labels: bool = True
    """``pond_water_fraction``: a pixel that shows a pond, then one short rice canopy (the optical rule's
    ``pond_crop_green_days``) keeps the rule's rice verdict, watery as it is. A rice-shrimp field is a
    brackish pond for five to six months and is drained only for its harvest, so the pond test takes its
    rice verdict away, and a classifier that never sees it labelled rice learns it as a pond. On
    ``mekong_triple_sar`` seeds 0-5 it lifts ``self_trained_optical`` from a mean OA of 0.981 to 0.988
    (seed 1 0.947 -> 0.989, rice-shrimp fields missed 0.54 -> 0.05) and ``self_trained_both`` from
    0.987 to 0.989; the cost is lotus, which the optical map takes with those fields on some seeds
    (seed 0: 0.26 -> 0.39 of it, OA 0.9885 -> 0.9860; docs/rice_rules.md, "A pond, then one rice crop
    under the optical rule"). False: the pond test takes every watery verdict away."""
    optical_canopy_labels: bool = False
    """``rule="optical"``: let the optical rule's undated wet-canopy evidence (a canopy standing in
    water seen after a cloud gap, no flood seen; ``undated_wet_canopy_lswi`` of
    :class:`~agromap.rice.rules_optical.OpticalRiceParams`, the season hidden in a gap,
    ``gap_season_lswi``, a canopy after a gap too, and the young crop before a gap, ``hidden_young_rise``,
    no canopy seen) give pseudo-labels. Off by default: a
    canopy alone is the rule's weakest rice evidence, and a classifier trained on it alone calls
    upland crops rice (docs/rice_self_trained.md). ``rule="both"`` always keeps it: there the SAR
    rule's score is averaged in, and the fused labels were better with it."""

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

    label_weight: float = 3.0
    """With user labels (``labels=``): the weight of one user-labelled pixel in the fit, in
    pseudo-labels. The rule gives a few thousand noisy labels, a desk a few dozen checked ones per
    class. On the hard scenes (seeds 0-9, 50 labels per class) weight 3 gave the best mean OA on
    all three; 10 let the few labels' own sampling gaps (a rare confounder no label fell on) pull
    the map back towards the supervised one's errors, 1 gained less (docs/rice_self_trained.md,
    "A desk's own labels")."""
    label_conflict_px: int | None = None
    """With user labels: a pseudo-label of the other class within this many pixels of a user label
    (square window) where the rule saw the same thing (same QA bits and season count) is dropped.
    ``None``: ``spacing_px``, the distance between two lattice pixels, so the lattice pixels next to
    the label are the ones judged."""
    label_edge_px: int | None = 1
    """With user labels: a non-rice label on a pixel the rule calls rice with confidence
    (``rice_min_score``), with a confident non-rice verdict within this many pixels (a square
    window), lies on the edge of a paddy as the rule sees it, and weighs ``label_edge_weight``. The
    signal of a 10 m pixel at a boundary mixes the two fields, and a paddy's flood and canopy
    dominate it: a non-rice label on a pond's corner pixel between three paddies (rule score 0.88)
    taught the map that a rice-like signal is non-rice, and it missed 0.118 of the rice-shrimp
    fields of ``mekong_triple_sar`` seed 9 instead of 0.085. Rice labels on the edge pixels the
    rule calls non-rice keep their weight: they are the edge paddies the rules miss
    (docs/rice_self_trained.md, "A desk's non-rice labels on a paddy's edge"). ``None``: every
    label weighs ``label_weight``."""
    label_edge_weight: float = 0.0
    """The weight of a non-rice label on a paddy's edge (``label_edge_px``) in the fit; 0 leaves it
    out (it still drops the pseudo-labels it contradicts): its mixed signal is no example of either
    ground. On ``mekong_triple_sar`` seed 9 weight 1, that of one pseudo-label, gave the same OA
    (0.9872) but missed 0.098 of the rice-shrimp fields against 0.091 (0.085 without labels)."""
    label_margin_weight: float | None = 1.0
    """The weight of a non-rice label beside a paddy: the rule does not call the pixel rice, but a
    confident rice verdict lies within ``label_edge_px``. The pixel mixes the field's ground with
    the paddy's flood and canopy; weighted as ``label_weight`` such labels (sugarcane, forest,
    fallow at a paddy's border) taught the map to drop the paddies' own mixed edge pixels:
    ``monsoon_sparse_optical`` seed 3 lost 0.0014 OA against the map without labels. Weight 1
    counts it as one pseudo-label, which the rule's confident non-rice verdicts there are too
    (docs/rice_self_trained.md, "A desk's non-rice labels beside a paddy"). ``None``:
    ``label_weight``."""
    label_n_estimators: int | None = 300
    """With user labels: the forest's trees in the refit that takes them (``None``: ``n_estimators``).
    Each tree bootstraps the few weighted labels differently, so a 100-tree refit moves pixels at
    random; 300 trees lifted the labelled map on ``mekong_triple_sar`` with a thinned optical series
    (seeds 0-9) from a mean OA of 0.9863 to 0.9870 and its worst seed against the map without labels
    from -0.0013 to -0.0012; 500 gave no more (docs/rice_self_trained.md, "The fit with a desk's
    labels"). Co-training keeps ``n_estimators``, so the pseudo-labels are those of the map without
    labels. Only the random forest: boosting keeps ``n_estimators`` (more iterations are no average)."""
    label_neighbour_k: int | None = 1
    """With user labels: a pseudo-label most of whose this many nearest user labels, in the
    classifier's scaled features, are of the other class and misread by the map without labels is
    dropped before the refit: the label says the rule's reading of ground like it is wrong
    (:func:`~agromap.rice.self_train_desk.misread_neighbours`). ``None``: no such drop."""
    label_misread_weight: float | None = 10.0
    """With user labels: the weight in the refit of a label the map without labels misreads
    (``None``: as the others). Such a label stands against the pseudo-labels around it in the
    features, which outvote it at ``label_weight``: on ``mekong_triple_sar`` shifted 180 days,
    seed 2, six lotus labels the map read as rice left 0.77 of the lotus mapped rice at weight 3
    and 0.53 with ``label_neighbour_k`` 1; at 10, 0.44 (docs/rice_self_trained.md, "Labels the map
    without them misreads"). A misread non-rice label on or beside a paddy's edge keeps its own weight unless
    the map misreads ground like it (self_train_desk.labelled_fit)."""
    label_cv_folds: int | None = None
    """With user labels and a label the map without them misreads: keep the refit with the labels
    only where, each fold of the labels read by a refit on the other folds, its rice probability on
    the labels has a smaller squared error than that of the map without labels (which never saw
    any); else the map without labels is the result. ``None`` (default): always refit. Measured
    with 5 folds it could not tell a refit that loses (``monsoon_sparse_optical`` 10 months shifted
    120 days, seed 0) from refits that gain up to 0.0028 (docs/rice_self_trained.md, "Labels the
    map without them misreads")."""
    label_refit_misread: bool = True
    """With user labels: fit the map without them first, and keep it where it reads every label that
    weighs in the fit right (the labels still count, but drop no pseudo-label): such labels teach the
    classifier nothing, and a refit on a changed table only moves pixels. On ``monsoon_sparse_optical``
    seed 2 the map without labels reads all 100 right and the refit lost 0.0020 OA (0.0024 with 300
    trees), dropping rice at field edges; on ``wetland_confusion`` seed 1 of a 10-month series shifted
    240 days, 0.0022. ``False``: always refit."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.other_max_score < 0.5 < self.rice_min_score <= 1.0:
            raise ConfigError("self-training needs 0 <= other_max_score < 0.5 < rice_min_score <= 1, got "
                              f"{self.other_max_score} and {self.rice_min_score}.")
        if self.spacing_px < 2:
            raise ConfigError(f"spacing_px must be >= 2 so training pixels are never neighbours, got "
                              f"{self.spacing_px}.")
        if not 1 <= self.min_per_class <= self.n_per_class:
            raise ConfigError(f"need 1 <= min_per_class <= n_per_class, got {self.min_per_class} and "
                              f"{self.n_per_class}.")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}.")
        for name in ("view_rice_prob", "sar_view_rice_prob"):
            if not 0.0 <= self.view_other_prob < 0.5 < getattr(self, name) <= 1.0:
                raise ConfigError(f"co-training needs 0 <= view_other_prob < 0.5 < {name} <= 1, got "
                                  f"{self.view_other_prob} and {getattr(self, name)}.")
        if self.persistent_fraction is not None and not 0.5 < self.persistent_fraction <= 1.0:
            raise ConfigError(f"persistent_fraction must be in (0.5, 1] (a share of clear dates) or null, got "
                              f"{self.persistent_fraction}.")
        if self.pond_water_fraction is not None and not (0.0 < self.pond_water_fraction <= 1.0
                                                         and 0.0 < self.pond_dry_fraction <= 1.0):
            raise ConfigError(f"pond_water_fraction (or null) and pond_dry_fraction must be shares in (0, 1], got "
                              f"{self.pond_water_fraction} and {self.pond_dry_fraction}.")
        if (self.persistent_min_dates < 1 or self.edge_min_flood_dates < 0
                or not (self.long_canopy_days is None or self.long_canopy_days > 0)):
            raise ConfigError(f"need persistent_min_dates >= 1, edge_min_flood_dates >= 0 and long_canopy_days > 0 "
                              f"(or null), got {self.persistent_min_dates}, {self.edge_min_flood_dates} and "
                              f"{self.long_canopy_days}.")
        if self.drained_lswi is not None and not -1.0 <= self.drained_lswi <= 1.0:
            raise ConfigError(f"drained_lswi must be an LSWI in [-1, 1] or null, got {self.drained_lswi}.")
        if self.persistent_score is not None and not 0.0 <= self.persistent_score < 0.5:
            raise ConfigError(f"persistent_score must be in [0, 0.5) (a non-rice score) or null, got "
                              f"{self.persistent_score}.")
        if self.dry_contradiction_lswi is not None and not -1.0 <= self.dry_contradiction_lswi <= 1.0:
            raise ConfigError(f"dry_contradiction_lswi must be an LSWI in [-1, 1] or null, got "
                              f"{self.dry_contradiction_lswi}.")
        if (self.edge_max_ndvi_rms is not None and not self.edge_max_ndvi_rms > 0) or self.edge_min_common_dates < 1:
            raise ConfigError(f"need edge_max_ndvi_rms > 0 (NDVI) or null and edge_min_common_dates >= 1, got "
                              f"{self.edge_max_ndvi_rms} and {self.edge_min_common_dates}.")
        if self.edge_rescue_px is not None and self.edge_rescue_px < 1:
            raise ConfigError(f"edge_rescue_px must be >= 1 (pixels) or null, got {self.edge_rescue_px}.")
        self._check_labels()
        self._check_ends()
        TrainParams(estimator=self.estimator, n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf)

    def _check_labels(self) -> None:
        if ((self.upland_dip_db is not None and not self.upland_dip_db > 0) or self.upland_dip_px < 0
                or not self.upland_water_db < 0
                or not -1.0 <= self.upland_canopy_lswi <= 1.0):
            raise ConfigError(f"need upland_dip_db > 0 (dB) or null, upland_dip_px >= 0 (pixels), upland_water_db < 0 (dB) "
                              f"and upland_canopy_lswi in [-1, 1], got {self.upland_dip_db}, {self.upland_dip_px}, "
                              f"{self.upland_water_db} and {self.upland_canopy_lswi}.")
        if (self.water_crop_dates is not None and self.water_crop_dates < 1) or not 0.0 <= self.water_crop_water_fraction <= 1.0:
            raise ConfigError(f"need water_crop_dates >= 1 (clear dates) or null and water_crop_water_fraction in [0, 1], "
                              f"got {self.water_crop_dates} and {self.water_crop_water_fraction}.")
        if self.long_canopy_sar_score is not None and not 0.0 < self.long_canopy_sar_score <= 1.0:
            raise ConfigError(f"long_canopy_sar_score must be a score in (0, 1] or null, got "
                              f"{self.long_canopy_sar_score}.")
        if not self.label_weight > 0 or (self.label_conflict_px is not None and self.label_conflict_px < 0):
            raise ConfigError(f"need label_weight > 0 and label_conflict_px >= 0 (pixels) or null, got "
                              f"{self.label_weight} and {self.label_conflict_px}.")
        if not self.label_edge_weight >= 0 or (self.label_edge_px is not None and self.label_edge_px < 1):
            raise ConfigError(f"need label_edge_weight >= 0 and label_edge_px >= 1 (pixels) or null, got "
                              f"{self.label_edge_weight} and {self.label_edge_px}.")
        if self.label_margin_weight is not None and not self.label_margin_weight >= 0:
            raise ConfigError(f"need label_margin_weight >= 0 or null, got {self.label_margin_weight}.")
        if self.label_neighbour_k is not None and self.label_neighbour_k < 1:
            raise ConfigError(f"label_neighbour_k must be >= 1 (labels) or null, got {self.label_neighbour_k}.")
        if self.label_misread_weight is not None and not self.label_misread_weight > 0:
            raise ConfigError(f"label_misread_weight must be > 0 or null, got {self.label_misread_weight}.")
        if self.label_cv_folds is not None and self.label_cv_folds < 2:
            raise ConfigError(f"label_cv_folds must be >= 2 or null, got {self.label_cv_folds}.")
        if self.label_n_estimators is not None and self.label_n_estimators < 1:
            raise ConfigError(f"label_n_estimators must be >= 1 (trees) or null, got {self.label_n_estimators}.")

    def _check_ends(self) -> None:
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
