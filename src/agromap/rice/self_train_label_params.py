"""The pseudo-label part of :class:`~agromap.rice.self_train_params.SelfTrainParams`.

Which of the rules' verdicts become pseudo-labels: the score bars and the training lattice, then the
corrections of the rules' known misreadings (a blind optical series, persistent covers, ponds,
field edges, upland crops, lotus); how co-training corrects them with the other sensor's view; and
the classifier fitted on them (docs/rice_self_trained.md gives the measured reasons for each
default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError

__all__ = ["PseudoLabelParams"]


@dataclass(frozen=True)
class PseudoLabelParams:
    """Which rule verdicts become pseudo-labels, how co-training corrects them, and the classifier fitted on them."""

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
    fuse_canopy_nonrice: bool = True
    """``rule="both"``: where the optical rule's canopy-only evidence (``undated_wet_canopy_lswi``,
    ``gap_season_lswi``, ``hidden_young_rise``) lifts a pixel its other evidence calls confident
    non-rice (``<= other_max_score``) into hesitation (above ``other_max_score``) but not to its cut
    of 0.5, the season hidden in a gap (``gap_season_lswi``) is part of that lift, the SAR rule's score
    lies below 0.5 too, the radar never saw the pixel in water (``upland_dip_db``,
    ``upland_water_db``) and the pixel lies in a field so lifted (``fuse_canopy_field_px``), the
    optical vote is the score without that evidence (:mod:`agromap.rice.self_train_fuse_canopy`).
    Upland crops whose canopy over moist soil the gap-season term half-read as a paddy's otherwise
    stayed out of the fused labels whole fields at a time, and the classifier mapped them rice
    (``wetland_confusion`` shifted 180 days: fused map 0.9811 -> 0.9865 mean OA, labelled 0.9822 ->
    0.9875). The other canopy terms read water an upland field does not show and lift direct-seeded
    paddies the radar never saw flooded; every whole-year map reads as without the step
    (docs/rice_self_trained.md, "The canopy step on lifted fields only"). False: the lifted score is
    averaged in."""
    fuse_canopy_field_px: int | None = 2
    """``fuse_canopy_nonrice``: act only where at least ``fuse_canopy_field_share`` of the pixels within
    this many pixels (a square window, the pixel itself included) meet the step's tests too: a field
    that the lift kept out of the labels as a whole. A lone lifted pixel lies among neighbours whose
    labels already describe its field, and each label the step adds moves the classifier's refit by
    up to 27 pixels (``wetland_confusion`` 180 days, seed 2: the upland fields keep 230 of their 233
    lifted pixels, 158 at a share of 0.5; no whole-year lattice change remains) (docs/rice_self_trained.md).
    ``None``: every pixel that meets the tests."""
    fuse_canopy_field_share: float = 0.25
    """``fuse_canopy_field_px``: the share of the window's pixels that must meet the step's tests."""
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
    """``upland_dip_db``: a canopy stands in water where ``upland_canopy_dates`` clear dates with NDVI at
    or above the optical rule's ``ndvi_canopy_min`` reach this LSWI; a paddy's canopy does until shortly before harvest, an
    upland crop's over moist soil stays below (medians 0.38 and 0.31). 0.35 took more upland crops
    but also direct-seeded rice labels (``monsoon_sparse_optical`` whole year, seed 2: -0.003)."""
    upland_water_db: float = -21.0
    """``upland_dip_db``: a VH date at or below this (dB) is a flood however dark the pixel's median:
    a rice-shrimp field is a pond for most of the year (VH median -21.5 to -23 dB, lowest -24 to
    -26 dB on ``mekong_triple_sar``), an upland crop's lowest date lies at -16.5 to -19.5 dB."""
    upland_dip_px: int = 1
    """``upland_dip_db``: the radar's dip is the deepest within this many pixels (0: the pixel's own)."""
    upland_canopy_dates: int = 2
    """``upland_dip_db``: the canopy stands in water where this many clear canopy dates reach
    ``upland_canopy_lswi`` (all of them where fewer are clear). A paddy's canopy stands in water for
    weeks; an upland crop's reaches a paddy's LSWI on one date at most, after a shower: on
    ``wetland_confusion`` 10 months shifted 60 days, seed 0, 12 of the 26 upland-crop rice labels the
    test left had one such date, their second wettest at 0.26-0.34. 1: the wettest date alone
    (docs/rice_self_trained.md, "An upland crop's one wet canopy date")."""
    upland_bare_flood_lswi: float | None = 0.22
    """``upland_canopy_dates`` > 1: one canopy date at ``upland_canopy_lswi`` is enough where a bare
    clear date (NDVI at or below the optical rule's ``ndvi_low``) reaches this LSWI, the paddy's
    flood (open water about 0.3; the paddies of ``clean_delta`` 10 months shifted 120 days whose
    radar saw no flood 0.24-0.36), above an upland crop's rain-soaked soil at sowing (at most 0.18
    on ``wetland_confusion`` shifted 60 days, seeds 0-2), or where the series opens inside a
    paddy's canopy (``start_canopy_days``). ``None``: the bare flood does not count."""
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
    young_flood_labels: bool = False
    """``rule="optical"`` or ``"both"``: let the optical rule's flood-seen-again vote (``young_flood_t`` of
    :class:`~agromap.rice.rules_optical.OpticalRiceParams`) shape the pseudo-labels. Off by default: the
    labels come from the rule run with ``young_flood_t=None``. The vote reads a transplanted paddy's
    standing water in the onset's first days; a direct-seeded paddy is sown on saturated, not flooded,
    soil (Farooq et al. 2011; Kumar & Ladha 2011) and a paddy's edge pixel mixes its water with the bund,
    so on the labels' lattice it takes rice labels from both (``wetland_confusion`` 10 months shifted 120
    days, seed 2: 3 direct-seeded, 1 transplanted edge), while the upland crops it removes from the rule's
    map seldom carry a rice label there (the upland test and co-training keep them out), and the
    self-trained optical map lost 41 pixels of paddy edges (docs/rice_self_trained.md, "The flood seen
    again stays out of the labels"). True: the labels take the rule's map as it is."""
    undated_stands_labels: bool = False
    """``rule="optical"`` or ``"both"``: let the optical rule's standing-flood test of its undated evidence
    (``undated_flood_stands`` of :class:`~agromap.rice.rules_optical.OpticalRiceParams`) shape the
    pseudo-labels. Off by default: the labels come from the rule run with ``undated_flood_stands=False``.
    The upland crops the test removes from the rule's map are hesitations on the labels' lattice, not rice
    labels, while the paddies it removes are mostly field edges whose flood a cloud gap hid (the undated
    evidence had read a rain date before it): on ``wetland_confusion``'s whole year, seed 2, it took 4 rice
    labels, all transplanted paddy edges, and made 7 paddy hesitations non-rice labels, and the self-trained
    optical map lost 0.9726 -> 0.9711 (docs/rice_self_trained.md, "The standing flood stays out of the
    labels"). True: the labels take the rule's map as it is."""
    shadow_flood_labels: bool = False
    """``rule="optical"`` or ``"both"``: let the optical rule's reading of the flood under a missed cloud shadow
    (``flood_shadow_ndvi`` of :class:`~agromap.rice.rules_optical.OpticalRiceParams`) shape the pseudo-labels.
    Off by default: the labels come from the rule run with ``flood_shadow_ndvi=False``. The upland crops it
    removes from the rule's map mostly sit between the labels' cuts, while the classifier's field edges move
    with every label it changes: on ``monsoon_sparse_optical``'s whole year the self-trained optical map lost
    19 and 13 pixels on seeds 0 and 2, mostly paddy edges, against 24 gained on seed 1 (mean 0.9804 -> 0.9801;
    docs/rice_rules.md, "Dryland crops on a sparse monsoon series: a flood read under a cloud shadow"). True:
    the labels take the rule's map as it is."""
    pond_end_labels: bool = False
    """``rule="optical"`` or ``"both"``: let the optical rule's onset at a pond's end (``pond_end_onset`` of
    :class:`~agromap.rice.rules_optical.OpticalRiceParams`) shape the pseudo-labels. Off by default: the labels
    come from the rule run with ``pond_end_onset=False``, whose rice-shrimp verdicts the pond-crop labels
    (``pond_crop_labels``) already keep; with more rice-shrimp fields labelled rice the classifier took lotus
    ponds and lost rice-shrimp edges (``mekong_triple_sar`` whole year, seed 1: 0.9905 -> 0.9886; docs/rice_rules.md,
    "A pond's last flooded date as the onset"). True: the labels take the rule's map as it is."""
    pond_ripe_labels: bool = False
    """``rule="optical"`` or ``"both"``: let the optical rule's pond-then-ripe harvest (``pond_ripe_ndvi`` of
    :class:`~agromap.rice.rules_optical.OpticalRiceParams`) shape the pseudo-labels. Off by default: the labels
    come from the rule run with ``pond_ripe_ndvi=None``. The rice-shrimp interiors it adds on a sparse series sit
    among aquaculture ponds, and the classifier's pond edges move with the labels it changes: on
    ``mekong_triple_sar`` thinned to its clear dates (``ACCURACY_S2_DROP=41-139,171-299``, 96 px) the self-trained
    optical map lost 24 pixels on seed 5 (0.9750 -> 0.9724; docs/rice_rules.md, "A pond, then a ripening crop").
    True: the labels take the rule's map as it is."""
    sar_start_labels: bool = False
    """``rule="sar"`` or ``"both"``: let the SAR rule's reading of a crop harvested in the series' first weeks
    (``start_harvest_db`` of :class:`~agromap.rice.sar_params.SarRiceParams`) shape the pseudo-labels. Off by
    default: the labels come from the rule run with ``start_harvest_db=None``. The reading reads no flood, so it
    also maps upland crops harvested in the same weeks and left fallow, and the classifier trained on those rice
    labels maps the upland fields whole (``wetland_confusion`` shifted 180 days: self-trained SAR map 0.9715 ->
    0.9538, upland crops mapped 0.31 -> 0.81; docs/rice_rules.md, "SAR: a crop harvested on a 10-month series'
    first weeks"). True: the labels take the rule's map as it is."""

    def _check_pseudo_labels(self) -> None:
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
        self._check_verdict_corrections()

    def _check_verdict_corrections(self) -> None:
        if ((self.upland_dip_db is not None and not self.upland_dip_db > 0) or self.upland_dip_px < 0
                or not self.upland_water_db < 0
                or not -1.0 <= self.upland_canopy_lswi <= 1.0 or self.upland_canopy_dates < 1
                or (self.upland_bare_flood_lswi is not None and not -1.0 <= self.upland_bare_flood_lswi <= 1.0)):
            raise ConfigError(f"need upland_dip_db > 0 (dB) or null, upland_dip_px >= 0 (pixels), upland_water_db < 0 (dB), "
                              f"upland_canopy_lswi in [-1, 1], upland_canopy_dates >= 1 and upland_bare_flood_lswi in [-1, 1] "
                              f"or null, got {self.upland_dip_db}, {self.upland_dip_px}, {self.upland_water_db}, "
                              f"{self.upland_canopy_lswi}, {self.upland_canopy_dates} and {self.upland_bare_flood_lswi}.")
        if (self.fuse_canopy_field_px is not None and self.fuse_canopy_field_px < 1) \
                or not 0.0 < self.fuse_canopy_field_share <= 1.0:
            raise ConfigError(f"need fuse_canopy_field_px >= 1 (pixels) or null and fuse_canopy_field_share in (0, 1], "
                              f"got {self.fuse_canopy_field_px} and {self.fuse_canopy_field_share}.")
        if (self.water_crop_dates is not None and self.water_crop_dates < 1) or not 0.0 <= self.water_crop_water_fraction <= 1.0:
            raise ConfigError(f"need water_crop_dates >= 1 (clear dates) or null and water_crop_water_fraction in [0, 1], "
                              f"got {self.water_crop_dates} and {self.water_crop_water_fraction}.")
        if self.long_canopy_sar_score is not None and not 0.0 < self.long_canopy_sar_score <= 1.0:
            raise ConfigError(f"long_canopy_sar_score must be a score in (0, 1] or null, got "
                              f"{self.long_canopy_sar_score}.")
