"""The canopy and crop cycle part of :class:`~agromap.rice.sar_params.SarRiceParams`.

The canopy after the flood: its level after a long ponded spell, its run and harvest
(``harvest``), a young crop for a canopy the series' end hides (:mod:`agromap.rice.rules_sar_ends`),
the previous crop of the year's cycle (:mod:`agromap.rice.rules_sar_cycle`,
:mod:`agromap.rice.rules_sar_previous`), a crop harvested in the series' first weeks
(:mod:`agromap.rice.rules_sar_start`, off by default), and the uncertainty scales of the durations
and levels.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SarCanopyParams"]


@dataclass(frozen=True)
class SarCanopyParams:
    """The canopy's level, run and harvest, a young crop at the series' end, the year's cycle, and the uncertainty scales."""

    ponded_canopy_db: float = -15.0
    """The canopy level (mean of the two highest dates after the minimum) a long-flooded season
    must reach, dB: rice at heading (published -16.1 ... -14.2 dB), above the -16 dB or so of
    regrown wetland vegetation."""
    max_canopy_days: float = 110.0
    """The canopy (VH within ``canopy_drop_db`` of the season's smoothed peak) lasts less than
    this: rice is harvested 85-130 days after transplanting and its VH falls with senescence and
    harvest; lotus, water hyacinth, sugarcane and regrown wetland grass keep theirs for months."""
    canopy_drop_db: float = 1.5
    """Depth of the band below the smoothed peak that counts as the canopy, dB."""
    cut_canopy_days: float | None = 18.0
    """Where a season's dark spell reaches the pixel's first valid date (a flood cut by the
    series' start), ``harvest`` reads the canopy on the series averaged over +- this many days
    instead of the three-date mean. The spell's ``duration`` and the ``fallow`` and ``regrowth``
    levels before it are then unobserved, so ``harvest`` alone can refute a seasonal wetland whose
    flood ran over the calendar's year end: the grass that regrows after it stands for months,
    but the peak of a three-date mean of a speckled level is 1.5-2 dB above its level, so the
    band of ``canopy_drop_db`` below it misses half the grass and the canopy "ends" within weeks.
    18 days hold three passes of each 12-day track (two tracks: six or seven dates, one track:
    the three of the three-date mean, unchanged); a paddy's harvest drop (1-5 dB from canopy to
    fallow, docs/rice_rules.md) lasts until its next flood, weeks, and survives the average.
    ``None``: the three-date mean everywhere."""
    young_rise_db: float | None = 3.0
    """A flood seen less than ``rise_window_end_days`` before the series' end may show no canopy
    yet: there a young crop stands in for ``canopy`` and ``rise`` when the smoothed level on the
    pixel's last two valid dates lies at least this far above the flood's and within
    ``canopy_drop_db`` of the highest level after it (still rising), dB. VH climbs from about
    -25 dB over the flooded field to about -14 dB under the closed canopy (Nguyen et al. 2016;
    Bazzi et al. 2019) within the 40-100 days from transplanting to heading, some 0.1-0.3 dB a
    day: three weeks of growth after the water shows 3 dB or more, more than the smoothed noise of
    a level water surface. Applies only to seasons whose canopy is below ``vh_max_db``. ``None``:
    off (a flood without its canopy is never rice)."""
    young_flood_days: float = 45.0
    """Such a season's dark spell, read on both sides of the minimum below the level half-way to
    ``vh_max_db`` and up to the first valid date after it, lasts less than this, days. Nothing
    else can refute a seasonal wetland whose water ends in the series' last weeks (no canopy, no
    harvest), and its grass regrows as fast as a young crop; but transplanted seedlings stand in
    water for three to five weeks (docs/science/rice.md) while a floodplain holds water for months
    (Junk et al. 1989): a flood plus the first weeks of growth below the half-way level fits
    within about six weeks."""
    young_season: bool = False
    """With ``young_rise_db``, a young crop that passes that reading stands for the season on the
    terms that read the flood and the rise themselves (``depth``, ``persistence``, ``duration``,
    ``fallow``, ``growth`` and, with VV, ``vv_dip``) instead of also on ``timing``, ``harvest``
    and ``regrowth``, which read the young level as a canopy: a paddy transplanted six to ten
    weeks before the series' end is still 3-8 dB below its canopy (0.1-0.3 dB a day; Nguyen et
    al. 2016; Bazzi et al. 2019), often not yet above its fallow, so ``regrowth`` and ``timing``
    refuse it (:mod:`agromap.rice.rules_sar_young_season`). Off by default: a seasonal wetland
    whose water recedes in the last weeks, or bare upland soil before its crop, then passes on a
    noisy or flood-irrigated table (docs/rice_rules.md, "SAR: the calendar shifted 180-240 days")."""
    cycle_year_days: float | None = 365.0
    """A single-season paddy flooded in the series' last weeks, before even a young crop shows,
    is read with its previous crop, which stands at the series' start: a flood that reaches
    ``water_db`` (its darkest smoothed level and the mean of its two darkest passes) and lasts
    less than ``young_flood_days`` so far stands in for the canopy after it when the level
    reached ``vh_max_db`` within ``cycle_canopy_days`` of the day this many days before the flood's
    first dark date, and that canopy lasted less than ``max_canopy_days`` and stood above the land
    before the flood as for ``regrowth`` (harvested; :mod:`agromap.rice.rules_sar_cycle`). A crop
    calendar repeats with the year; a seasonal wetland's grass comes back only months after its
    flood, sugarcane and orchards are never harvested, and an upland crop's field is not flooded
    to open water. ``None``: off."""
    cycle_canopy_days: float | None = 130.0
    """With ``cycle_year_days``, a previous crop's canopy that already stands on the pixel's first
    valid date (its run reaches the series' start) is read on the dates up to this many days after
    the day one cycle before the flood's first dark date, not only up to ``max_rise_days`` (its
    heading): rice is harvested 85-130 days after transplanting (see ``max_canopy_days``), so a
    series that starts after the previous crop's heading still shows its canopy standing on the
    first dates, before harvest. A bright spell that begins inside the series (a pond drained
    between its water and its lotus) is read up to ``max_rise_days`` as before. The canopy must
    still be harvested (``max_canopy_days``) and stand above the land before the flood
    (:mod:`agromap.rice.rules_sar_previous`). ``None``: up to ``max_rise_days`` only."""
    start_harvest_db: float | None = 1.5
    """A crop standing on the pixel's first valid date, harvested within the series and followed
    by fallow without a canopy to the series' end stands for a season without a transplanting
    date (it came before the series) where no dated season passes, when the fallow's mean level
    lies at least this far below the canopy, dB (:mod:`agromap.rice.rules_sar_start`): a
    10-month series that starts after a single-season paddy's flood and ends before its next one
    holds nothing else of it. The canopy reaches ``ponded_canopy_db`` and its run
    (``canopy_drop_db``) reaches the first date, or the crop is still growing there
    (``start_rise_days``), and the run ends less than ``max_canopy_days`` after the first date;
    the series goes on at least ``start_fallow_days`` after the harvest and spans less than
    ``cycle_year_days`` less ``young_flood_days`` (a longer one shows a yearly paddy's flood). Rice
    VH falls 1-5 dB from canopy to stubble and fallow at harvest (Nguyen et al. 2016; Bazzi et al.
    2019; Lasko et al. 2018); a dim canopy (-14 to -15 dB) over wet-season stubble and moist soil
    (-16 to -16.5 dB) drops by less than 2 dB. As deep as the canopy's band (``canopy_drop_db``):
    the fallow's mean must lie below the band its weeks of regrowth are held under. No flood is
    read: an upland field harvested in the same weeks and left fallow as long passes too, so the
    self-trained maps' labels read the rule without it (``sar_start_labels`` of
    :class:`~agromap.rice.self_train_label_params.PseudoLabelParams`). On by default: on 10 months
    shifted 120 days the rule otherwise loses to the one-line VH baseline (docs/rice_rules.md, "SAR:
    a crop harvested on a 10-month series' first weeks"). Not read with season windows. ``None``:
    off."""
    start_harvest_noise: float = 2.0
    """With ``start_harvest_db``, the drop must also reach this many times the noise of the
    pixel's three-date mean (its date-to-date noise, ``pixel_noise_db``, over the square root of
    the dates that mean averages), noise units. The canopy's level is the brightest smoothed date
    of its first ``max_canopy_days``, and on a speckled point that stands for no crop (an orchard, a
    forest, a wetland's grass; unfiltered, ENL 4-12) the brightest of about twenty such means lies
    about two of their noise units above their level, as far above the months after it as a
    harvest. A field's filtered series keeps that bar below ``start_harvest_db``. Measured at 1.5-3.0
    on the stress tables (docs/rice_rules.md, "SAR: a crop growing from its own flood on the
    series' first passes, a shallower harvest drop and its noise bar"). 0: the bar in dB alone."""
    start_rise_days: float | None = 25.0
    """With ``start_harvest_db``, a crop still growing on the first valid date stands for that
    canopy too, days: half its rise from the first date's smoothed level to its peak comes within
    this many days of the first date, and no date from that half rise to the peak reaches
    ``vh_min_db`` (:mod:`agromap.rice.rules_sar_start`). A paddy transplanted a few weeks before
    the series starts shows its young crop climbing from the first date, VH rising by about
    0.1-0.2 dB a day through tillering (Inoue et al. 2002; Nguyen et al. 2016), often from the
    water still standing between the seedlings on the first passes (dark dates before the half
    rise are that crop's own flood, cut by the series' start); an upland field sown after the
    start shows weeks of level bare soil first. ``None``: the canopy's run must reach the first
    date."""
    start_regrow_days: float | None = 20.0
    """With ``start_harvest_db``, the fallow after the harvest must stay below the canopy's band
    on all but its brightest this many days of smoothed dates (the k-th brightest date, k this
    many days over the median revisit gap), days: a crop sown again stands for weeks, while the
    single brightest of months of fallow dates is the speckle's and the incidence angle's
    extreme. ``None``: the single brightest date."""
    start_water_db: float = -19.0
    """With ``start_harvest_db``, the fallow's smoothed dates below this level count as water,
    dB, and may add up to less than ``max_ponded_days``: a seasonal wetland's shallow water under
    emergent grass reads about -19 to -22 dB in VH, a paddy's dry-season stubble and bare soil
    about -15 to -18 dB (Nguyen et al. 2016; Bazzi et al. 2019). One decibel above ``water_db``,
    which marks open water, because the wetland's smoothed level straddles it for months."""
    start_fallow_days: float = 150.0
    """With ``start_harvest_db``, the series must go on at least this long after the harvest, and
    the fallow's mean level is read over it, days: a fallow seen for a few weeks proves nothing
    (an upland field is sown again within weeks to months, sugarcane's ratoon stands again within
    three to five), while a single-season paddy lies fallow until its next flood, half a year and
    more in a 10-month series."""
    duration_scale_days: float = 10.0
    """Uncertainty of the dark-spell duration, days, plus half the local revisit gap."""
    db_scale: float = 1.0
    """Uncertainty of the dB levels (speckle after filtering, incidence-angle offsets), dB: the
    unit of the depth, rise, canopy and mask margins."""
