"""Thresholds and uncertainty scales of the Sentinel-1 VH rice rule
(:func:`agromap.rice.rules_sar.sar_rice_rule`).

One frozen dataclass, :class:`SarRiceParams`, whose defaults are the published starting values or
the documented design values (docs/rice_rules.md argues each); the rule's module re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sar_params_checks import check_sar_params

__all__ = ["SarRiceParams"]


@dataclass(frozen=True)
class SarRiceParams:
    """Thresholds and uncertainty scales of the VH rule (defaults: published starting values and
    the scales argued in docs/rice_rules.md; calibrate per AOI).
    """

    vh_min_db: float = -18.0
    """Flood minimum: ``VH_min_db <= vh_min_db`` (published range -22 ... -17.7)."""
    vh_max_db: float = -16.5
    """Heading: max VH over the rise window ``>= vh_max_db`` (published -16.1 ... -14.2)."""
    rise_db: float = 5.0
    """``VH_max_db - VH_min_db >= rise_db`` (mean published increase 5.07 dB; tune 4 ... 7)."""
    rise_window_end_days: float = 110.0
    """The rise and the canopy are read on every date from the minimum to ``t_min +
    rise_window_end_days`` (stretched by the local revisit gap); when the canopy may come is
    bounded by ``min_rise_days`` and ``max_rise_days``."""
    min_rise_days: float = 20.0
    """Growth timing: VH reaches 70 % of its rise no sooner than this after the minimum (a
    transplanted canopy needs weeks; a flood-irrigated orchard recovers at the next pass)."""
    max_rise_days: float = 100.0
    """... and no later than this (tillering to heading)."""
    min_growth_days: float = 10.0
    """Growth is gradual: VH takes at least this long from a quarter of its rise to the crossing
    of ``rise_fraction`` (refuted only when two passes closer than this bound the step)."""
    growth_noise: float = 1.0
    """The quarter level of ``min_growth_days`` is lowered by this many times the pixel's
    date-to-date noise (:func:`agromap.rice.sar_series.date_noise_db`) times the expected depth of
    the darkest of the valid dates within ``min_growth_days`` before the crossing, in units of one
    date's noise (:func:`agromap.rice.sar_series.darkest_of_dates`: 0 for one date, 0.85 for three).
    On a revisit denser than ``min_growth_days`` (3 days with four tracks) a rising canopy has
    several dates there, and on a speckled series the darkest of them falls below the quarter
    level by chance, which reads as a one-pass step; with one date there (a 6- or 12-day revisit)
    nothing changes. 0: the quarter level alone."""
    persistence_days: float = 12.0
    """A paddy's flood (puddling to early tillering) lasts at least about two weeks, so a pass
    within this many days of the minimum sees it too; farther passes say nothing."""
    persistence_offset_db: float = 1.5
    """The neighbouring pass counts as flooded when below ``vh_min_db + persistence_offset_db``
    (-16.5 dB): by the second pass the seedlings or the drained mud already lift VH."""
    rise_fraction: float = 0.7
    """Growth timing is read when VH has covered this fraction of the way from the minimum to the
    canopy level."""
    seedbed_start_days: float = 7.0
    """The dates from this many days after the minimum ..."""
    seedbed_end_days: float = 28.0
    """... to this many are the moist-seedbed plateau of a direct-seeded field (their mean level in
    linear power): its levelling flood lasts a pass or two, then the sown soil stays moist (-16 to
    -18 dB) for two to four weeks while the seedlings emerge."""
    seedbed_rise_db: float = 2.5
    """A direct-seeded season may read its growth timing from the seedbed plateau instead of the
    minimum when the smoothed canopy rises at least this far above the plateau, dB: a seedling
    canopy builds over 40-60 days, while a flood-irrigated orchard returns to its canopy level at
    once (within speckle, about 1 dB)."""
    seedbed_dip_db: float = 2.5
    """... when the smoothed series at the minimum lies at least this far below the plateau, dB:
    the levelling flood, which bare upland soil before its crop does not show (one speckled dark
    date in it lowers the smoothed series by 1-2 dB; the date itself may also count, see
    ``seedbed_dip_noise``) ..."""
    seedbed_min_db: float = -18.0
    """... and when the plateau lies above this level, dB: moist sown soil (-16 to -18 dB), not
    the open water (-20 dB and below) of a pond where lotus or floating plants rise as slowly."""
    seedbed_dip_noise: float | None = 3.0
    """The dip of ``seedbed_dip_db`` may also be read on the minimum's own date: that date plus this
    many units of the pixel's date-to-date noise (:func:`agromap.rice.sar_series.date_noise_db`)
    stands for the smoothed series at the minimum where lower. A direct-seeded field's levelling
    flood lasts a few days, so one pass of a 6- or 12-day revisit sees it (-21 to -23 dB VH), and
    the three-date mean of the shape series averages it with the seedbed passes on either side,
    1.5-3 dB shallower than the flood: on the hard scenes (seeds 0-2) the smoothed dip fails the
    bar on 169 of the 304 direct-seeded interior pixels left unmapped on Mekong seed 0 and 236 of
    240 on monsoon seed 0. On a filtered raster (0.4-0.8 dB a date) a 4-6 dB dip below the plateau
    is no speckle; on a noisy point (about 1.3 dB) 3 units ask for about 4 dB more, and bare
    upland soil with one speckled dark date still fails. 3: the point tables (VH and VH + VV,
    seeds 0-2) map every point as before; 2 lets 1-2 flood-irrigated orchards per table in.
    ``None``: the smoothed series only."""
    seedbed_dip_end_days: float | None = 14.0
    """The dip of ``seedbed_dip_db`` is read below the brighter of the plateau and the mean
    (linear power) of the dates ``seedbed_start_days`` to this many days after the minimum: the
    sown seedbed itself. A wet-seeded field is kept saturated, not flooded, until the seedlings
    establish and is then flooded shallowly again, one to three weeks after sowing (Kumar & Ladha
    2011); that water under the first leaves (about -18.5 dB VH) falls in the later part of the
    plateau window and darkens its mean towards the levelling flood. On the monsoon scene (seeds
    0-2) the dip fails the bar on 114 of the 157 unmapped direct-seeded seasons whose levelling
    flood a pass saw. 14: on a 6- or 12-day revisit one or two passes after the flood. An
    orchard back at its canopy, or bare soil with one speckled date, reads the same level over
    the whole window. ``None``: the plateau alone."""
    seedbed_sown_noise: float = 1.0
    """The sown seedbed's level of ``seedbed_dip_end_days`` is lowered by this many units of the
    pixel's date-to-date noise before it may replace the plateau: it averages one or two dates
    against the plateau's three or four, and the brighter of two means carries a date's speckle
    upwards. With 0 an upland point of the dense point table (seed 0, one dark speckled date)
    enters the map and the point tables lose a point or two; 1 leaves every point table as it was."""
    seedbed_persistence: bool = True
    """A season the seedbed reading holds (``seedbed_rise_db``, ``seedbed_min_db``,
    ``seedbed_dip_db`` and the timing from the plateau) passes ``persistence`` too (a soft OR):
    the levelling flood of a direct-seeded field is seen on one pass, and the weeks of moist
    seedbed and shallow water after it, below a canopy that then rises over 40-60 days, are the
    evidence that the field was kept wet, which one speckled date or an orchard's irrigation pulse
    (back at its canopy at the next pass, no rise after it) do not give. ``False``: the
    neighbouring pass alone."""
    regrowth_db: float | None = 1.0
    """Irrigation pulses under a standing canopy: a season is refuted when its canopy (the
    smoothed peak after the seedbed window) rises less than ``max(regrowth_db, regrowth_noise x
    the pixel's date-to-date noise)`` dB above *both* the level after the dip (the mean of the
    dates ``seedbed_start_days`` to ``seedbed_end_days`` after the minimum) and the level before
    the flood (the dates ``seedbed_end_days`` to ``seedbed_start_days`` before the first dark
    date). A flood-irrigated orchard is back at its canopy within a pass or two, and that canopy
    stood there before the water came; a paddy's canopy grows weeks after its flood and above the
    fallow before it. Unobservable (no vote) when either level or the peak has no date. ``None``
    turns the term off."""
    regrowth_noise: float = 1.5
    """The bar of ``regrowth_db`` in units of the pixel's date-to-date noise
    (:func:`agromap.rice.sar_series.date_noise_db`): the highest of many speckled dates of a level
    canopy stands 1-2 noise units above its mean, so a noisy series needs a larger rise."""
    timing_scale_days: float = 5.0
    """Uncertainty of the growth timing, days, to which half the observation gap around the
    crossing is added: sparse dates give a soft timing term, dense dates a sharp one."""
    max_flood_days: float = 75.0
    """The dark spell around the minimum (within 30 % of the rise, 1.5-3 dB, of it) lasts less than
    this: a paddy's transplanting flood; seasonal wetland and ponds stay dark for months, and upland
    soil can stay bare and moist for months before its crop. A longer spell is still a paddy on the
    terms of ``max_ponded_days``."""
    max_ponded_days: float = 95.0
    """A dark spell longer than ``max_flood_days`` but shorter than this is a paddy when its water
    is open (the smoothed series reaches ``water_db``) and the crop after it builds a full rice
    canopy (``ponded_canopy_db``): a bunded rainfed field holds rainwater for 20-50 days before it
    is puddled, then stands flooded 8-15 days before transplanting and weeks after. Moist bare soil
    never reaches open water, and seasonal wetland regrows sedge and grass, not a rice canopy."""
    spell_noise: float = 1.0
    """Before the minimum the dark spell takes the dates up to a quarter of the way to the canopy
    *or* within this many units of the pixel's date-to-date noise
    (:func:`agromap.rice.sar_series.date_noise_db`) of the minimum, whichever is higher: on a
    noisy series (a point without a filter, about 1.5 dB a date) the dates of a level wetland
    flood or of bare soil scatter by that much around their mean, and a quarter of the way alone
    breaks their spell into pieces short enough for ``max_flood_days``. A filtered series (about
    0.5 dB) keeps the quarter of the way. 0 turns it off."""
    spell_break_days: float = 12.0
    """On a noisy series (the three-date mean above ``shape_noise_db``), the bright dates that end
    the dark spell of ``max_flood_days`` must span at least this many days (two or more in a row;
    one never does): one satellite's repeat cycle, so the break is seen on every track. On a
    revisit denser than the cycle each smoothed date holds two or three passes, and one speckled
    or brighter-track pass lifts two or three of them in a row: a level wetland flood or bare
    soil breaks into pieces short enough to pass. On one 12-day track two dates span the cycle,
    as before; a filtered series (below the noise bar) keeps "two bright dates in a row". The
    same span ends the canopy of ``max_canopy_days``: two dark dates in a row that span less are
    one speckled pass of each track, and a wetland's grass standing for months would break into
    pieces short enough to pass as a harvested crop. That term is the only one left to refute a
    wetland whose flood the series' start cuts (its ``duration`` and the levels before it are
    unobserved). 0: two bright (dark) dates in a row everywhere."""
    fallow_dip_db: float | None = 2.0
    """A flood is a dip below the land's level before it: a season is refuted when the smoothed
    series at the minimum lies less than ``min(fallow_dip_db, fallow_noise x`` the pixel's
    date-to-date noise``)`` dB below the level before the flood: the mean (linear power) of the
    dates ``fallow_days`` to ``seedbed_start_days`` before the minimum or, when brighter, before
    the first date of the dark spell. A transplanted paddy is flooded 2.5-9 dB below its fallow or
    the previous crop's stubble; the darkest smoothed date of bare upland soil lies about one noise
    unit below the weeks of the same soil before it (speckle). Only a refutation votes; unobserved
    when the window before the minimum reaches past the series start or holds no valid date.
    ``None`` turns the term off."""
    fallow_noise: float = 1.25
    """The bar of ``fallow_dip_db`` in units of the pixel's date-to-date noise
    (:func:`agromap.rice.sar_series.date_noise_db`), when lower: a filtered raster (0.4-0.8 dB a
    date) keeps a rain-fed paddy's shallow flood (1-2 dB below a wet fallow); on a noisy point
    (1.3 dB of speckle) the estimate also holds the field's own floods and harvests, so the bar
    stops at ``fallow_dip_db``."""
    fallow_days: float = 60.0
    """Start of the window of ``fallow_dip_db``, days before the minimum (or the spell's first
    date): long enough for one 12-day track to give the level three or more dates."""
    vv_dip_db: float | None = 3.0
    """With VV in the input (a Dataset with ``vv``): a season is refuted when VV on the date of its
    VH minimum lies less than ``min(vv_dip_db, vv_dip_noise x`` the pixel's VV date-to-date
    noise``)`` dB below the pixel's VV level (``vv_level_quantile``). Open water is specular in VV
    too (a flooded paddy reads about -22 to -18 dB), while bare or ploughed soil, as dark as a
    flood in VH, stays bright in VV (about -12 to -8 dB). ``None`` turns every VV term off (the
    rule reads VH only); VH-only input never reads them (:mod:`agromap.rice.rules_sar_vv`)."""
    vv_dip_noise: float = 1.5
    """The bar of ``vv_dip_db`` in units of the pixel's VV date-to-date noise
    (:func:`agromap.rice.sar_series.date_noise_db`), when lower: a filtered raster (0.4-0.8 dB a
    date) keeps a shallow or partly flooded paddy whose VV dips only 1-3 dB."""
    vv_flood_db: float | None = 4.0
    """With VV: where VV on the date of the VH minimum lies at least this far below both the
    pixel's VV level and the mean VV of the dates ``fallow_days`` to ``seedbed_start_days``
    before it (a clear flood in VV; bare soil's darkest VV date lies 1-3 dB below its level), the
    ``duration`` term reads the VV dark spell (dates below the midpoint between that date and the
    level) instead of the VH one, with the same limits, and the ``fallow`` term does not refute:
    a wet fallow within a speckle unit of the flood in VH is bright in VV, while seasonal
    wetland and ponds stay dark in VV for months. ``None``: VV only refutes (``vv_dip_db``)."""
    vv_flood_noise: float = 2.0
    """The bar of ``vv_flood_db`` in units of the pixel's VV date-to-date noise, when higher: a
    series whose tracks are not named keeps their 1-2 dB offsets in VV, and one date's VV then
    scatters by more than the 4 dB a bare soil never dips."""
    vv_young_db: float | None = 3.0
    """With VV: the ``regrowth`` refutation is lifted where the mean VV of the dates
    ``seedbed_start_days`` to ``seedbed_end_days`` after the VH minimum lies at least
    ``max(vv_young_db, vv_young_noise x`` the noise of that mean``)`` dB below the pixel's VV
    level. A transplanted paddy stays flooded 1-3 weeks and its young canopy lets the water show
    through for weeks more, so VV climbs back from the flood (-22 to -18 dB) to the canopy (-11 to
    -8 dB) over the 45-70 days of tillering; a flood-irrigated orchard's VV is back at its canopy
    at the next pass, as its VH is. On a speckled series (a point of a few looks, or 3 dB track
    offsets) the VH canopy's rise above the levels around the flood is within the bar of
    ``regrowth_noise`` for many paddies, while their VV after the flood still lies 5-10 dB below
    its level. ``None``: ``regrowth`` reads VH alone."""
    vv_young_noise: float = 1.5
    """The bar of ``vv_young_db`` in units of the noise of the window's mean (the pixel's VV
    date-to-date noise over the square root of the window's valid dates), when higher: the mean
    of a few speckled dates of an orchard's level canopy lies below its 75th percentile by about
    one such unit (0.67 date noises over the unit), with a spread of one unit. On one 12-day track
    (two dates) the 3 dB floor decides up to a date noise of 2.8 dB (about ENL 4). On the VH + VV
    stress sweep 2 units map 0.010 less at ENL 4 on one track, 1 unit gains 0.007 more in all,
    sitting on the orchards' own spread (docs/rice_rules.md)."""
    vv_water_db: float | None = -13.0
    """With VV: the pond share (``max_water_share``) and the permanent-water mask
    (``water_frequency``) leave out the dates that are open water in VH but at or above this
    level in VV, dB, on pixels whose VV over their VH-water dates
    (``vv_level_quantile`` of it) lies there too. Open water is specular in both channels (calm
    -18 dB and below in VV; a few dB brighter with wind, to which VV is more sensitive than VH,
    or with a dyke in the pixel), while a waterlogged fallow, as dark as water in VH (-22 to -20
    dB), is rough soil, bright in VV (about -12 to -8 dB): without it a paddy whose fallow
    between crops is saturated reads as a pond. ``None``: VH alone decides."""
    vv_level_quantile: float = 0.75
    """The pixel's VV level, dB: this quantile of its valid VV dates. Above the median so that a
    triple-cropped paddy, under water or a young canopy on many dates, keeps its fallow's and
    canopy's level; a pond or a water body (open water on most dates) still has none above its
    water, so its dips are no floods."""
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
    duration_scale_days: float = 10.0
    """Uncertainty of the dark-spell duration, days, plus half the local revisit gap."""
    db_scale: float = 1.0
    """Uncertainty of the dB levels (speckle after filtering, incidence-angle offsets), dB: the
    unit of the depth, rise, canopy and mask margins."""
    water_p90_db: float = -20.0
    """Permanent water when ``VH_p90_db < water_p90_db`` ..."""
    water_db: float = -20.0
    """... or when the fraction of dates with ``VH_db < water_db`` ... (the open-water level, also
    the one a rain-ponded paddy's long dark spell must reach, see ``max_ponded_days``)"""
    water_frequency: float = 0.8
    """... is ``>= water_frequency``."""
    max_water_share: float = 0.5
    """Soft term: the fraction of dates below ``water_db`` stays under this (ponds and water
    bodies drained for a few weeks exceed it; a paddy's floods cover 10-35 % of a year). Where
    the shape terms read the repeat cycle (``shape_days``), the dates are read on that series: a
    paddy's fallow seen on a darker track or through speckle is not open water."""
    water_share_mean: bool = True
    """On a noisy series (the three-date mean above ``shape_noise_db``) the pond share reads every
    date on the smoothed series of the shape terms (about three dates, or the repeat cycle) even
    where that does not span the cycle: on two tracks 6 days apart the mean holds a pass of the
    other track, so a paddy's fallow seen through speckle on a track 2.5-3.5 dB darker (below
    ``water_db`` on half its dates) is not open water, while a pond stays water on every track.
    ``False``: the single dates there, as before."""
    pond_crop_days: float | None = 45.0
    """... or (a soft OR) the smoothed series stands above ``vh_min_db`` on ``pond_crop_runs``
    separate runs of dates each spanning at least this many days (a run reaching the first or last
    valid date does not count: a wetland's sedge stands on past them): a rice canopy stands above its
    flood from tillering to harvest, two months or more (the vegetative phase alone lasts 40-70
    days, Yoshida 1981), while a fish or shrimp pond is drained for a few weeks between stockings.
    A multi-cropped paddy whose fallow between seasons is waterlogged (about -21 dB) lies below
    ``water_db`` on most of its dates and fails the share alone. 45 rather than 40: a pond drained
    for 36 days spans about 42 once smoothed. ``None``: the share alone."""
    pond_crop_runs: int = 2
    """How many such runs (crop seasons) the soft OR of ``pond_crop_days`` needs. One is not
    enough: a pond drained once for a season, or twice in a row, stands as long above the water
    as one canopy does (on the fixed point tables, seeds 0-9, one run lets 5-9 more of the 600
    ponds per revisit in); a pond drained for a crop's season twice a year is rare."""
    pond_canopy_days: float | None = 40.0
    """... or (a soft OR) the smoothed series stands above ``pond_canopy_db`` on one run of dates
    spanning at least this many days (a run reaching the first or last valid date does not count):
    a rice-shrimp field is a brackish shrimp pond for five to six months of the dry season, then
    grows one wet-season rice crop (Preston & Clayton 2003), whose closed canopy stands from late
    tillering to maturity, about two months, while a drained pond's mud (-15.5 to -17.5 dB),
    floating leaves (about -16 dB) and a windy pond stay below a rice canopy's level.
    ``None``: off."""
    pond_canopy_db: float = -16.0
    """The canopy level of that run, dB. Heading rice reads about -14 dB VH (Nguyen et al. 2016);
    in a rice-shrimp field the trench that keeps water (and shrimp) through the rice season pulls
    the field's level towards -15 dB, and the filtered series scatters by about 1 dB from date to
    date. A drained pond's wet mud (about -15.5 dB) lasts only the first weeks of its drain."""
    pond_young_days: float | None = 10.0
    """... or (a soft OR) such a run reaches the last valid date and rose out of open water (a date
    at or below ``water_db`` within ``young_flood_days`` before its first date), spanning at least
    this many days: a series that ends in the wet season sees the rice-shrimp field as a pond on
    most dates and its crop still standing on the last ones, so the closed run of
    ``pond_canopy_days`` has not ended. Transplanted seedlings stand in the water for three to five
    weeks, then VH climbs from about -25 dB towards a closed canopy's -14 dB (Nguyen et al. 2016);
    10 days of it are three or more dates on a 3-day revisit, more than the one or two smoothed
    dates a single wind-roughened pass lifts. The season's own terms (``growth``, ``timing``) still tell the crop from a drained pond's
    mud. On ``mekong_triple_sar`` cut to its first 300 days (seed 0) the run spans 10 / 15 days or
    more for 80 / 68 % of the rice-shrimp fields and for no pond, lotus, hyacinth or orchard pixel;
    15 days gave back a sixth of the fields gained (docs/rice_rules.md). ``None``: off."""
    pond_old_days: float | None = 20.0
    """... or (a soft OR) such a run opens on the first valid date, ends inside the series and is
    followed by open water (a date at or below ``water_db``), spanning at least this many days: a
    series that starts in the wet season sees the rice-shrimp field's crop still standing on its
    first dates, then the harvest and the shrimp pond of the dry season (Preston & Clayton 2003),
    so the closed run of ``pond_canopy_days`` is cut by the series' start. On ``mekong_triple_sar``
    cut to 300 days with its calendar 60 days later (seeds 0-2, interior pixels) the run spans 10 /
    20 days or more for 85 / 66 % of the rice-shrimp fields; among the pixels failing the pond
    share, for 19 / 0 shrimp-pond pixels and no lotus, hyacinth, orchard or water pixel. At 10 days
    the SAR stress tables took one pond more on three settings (six with VV), at 20 days on one
    (docs/rice_rules.md). ``None``: off."""
    built_p10_db: float = -15.0
    """Built-up/forest when ``VH_p10_db > built_p10_db`` ..."""
    built_range_db: float = 3.0
    """... and ``VH_p90_db - VH_p10_db < built_range_db`` (the "low temporal std"; recommendation)."""
    shape_days: float = 12.0
    """The shape terms (``duration``, ``harvest``, the seedbed and regrowth levels) read a series
    smoothed over +- the median revisit gap (about three dates); where that series is still noisy
    (``shape_noise_db``) they read one smoothed over this span instead when it is longer: one
    satellite's repeat cycle, which holds a pass of every track. On a revisit denser than the
    cycle (S1A + S1B on both passes: 3 days) the extra dates then average more looks and the
    tracks' offsets instead of adding speckle extremes and chances for a level spell to break; a
    paddy's flood and canopy last weeks. 0: the revisit gap only."""
    shape_noise_db: float = 0.75
    """The noise, dB, of the three-date mean (the pixel's date-to-date noise over the square root
    of the number of dates averaged) above which ``shape_days`` applies: a speckle-filtered raster
    reads 0.4-0.8 dB a date and 0.3-0.5 dB after the mean, a point or field average of about 12
    looks 1.3-2.6 dB and 0.8-1.6 dB."""
    offset_noise_db: float = 0.6
    """Where the dates name their tracks (``align_tracks``) and the aligned series' three-date
    mean keeps more noise than this, dB (the pixel's date-to-date noise over the square root of
    the dates averaged; a point or field average of about 12 looks: 0.8-1.6 dB), that noise, the
    unit of ``fallow_noise``, ``regrowth_noise``, ``spell_noise`` and ``shape_noise_db``, is read
    on the series as observed, the tracks' offsets included, as when the tracks are not named:
    those bars allow for the speckle extremes and the offset errors that remain. A
    speckle-filtered raster (mostly below 0.5 dB) keeps the aligned noise."""
    curvature_noise_gap_days: float | None = 12.0
    """On a series whose median revisit gap is at least this many days (one satellite's repeat
    cycle: one track, so no zigzag between tracks' incidence offsets), the pixel's date-to-date
    noise is read from second differences (each date against the line between its valid
    neighbours) instead of consecutive steps: a crop's rise over 45-70 days or its senescence
    moves a 12-day series by about 2 dB a pass, which inflates the median step of a paddy (on the
    single-track point table the step estimate reads 2.0 dB for a paddy's median against 1.3 dB
    of speckle) but cancels in a second difference. Denser series keep the consecutive steps (a
    second difference doubles a two-track zigzag). ``None``: consecutive steps everywhere."""
    trough_halfwidth_days: float = 30.0
    """Without windows, a candidate ``t_min`` is the VH minimum within +- this many days."""
    smooth_days: float = 0.0
    """Temporal mean in linear power over dates within +- smooth_days/2 (0: none; e.g. 13 for a
    3-date mean at a 6-day revisit)."""
    align_tracks: bool = True
    """Remove each orbit track's backscatter offset (incidence angle) per pixel before the rule,
    when the input names the track of each date (see :data:`TRACK_COORDS`)."""
    track_pair_days: float = 12.0
    """Dates of other tracks within this many days serve as the reference of a date's offset."""
    mixed_min_fraction: float | None = 0.5
    """A pixel the rule leaves non-rice is a paddy's when its series is a mixture of a confident
    paddy neighbour's and the opposite neighbour's with at least this share of the paddy (a field
    border crossing the pixel, see :mod:`agromap.rice.sar_mixed`; 0.5: the centre's field).
    ``None`` turns the term off. Raster input ``(time, y, x)`` only."""
    mixed_source_score: float = 0.6
    """The paddy neighbour of a mixed pixel must have at least this ``rice_score``: a neighbour the
    rule maps rice with some margin. The pixel takes ``min(`` the neighbour's score, the
    mixture's ``)``, so a weak neighbour passes on a weak score (below the self-trained map's 0.7
    bar for a confident label). 0.9 left most edges of a 10-month series' paddies out, whose
    scores read only the year's cycle (best paddy neighbour of a missed edge pixel 0.60 / 0.82 /
    0.92 at the 10th / 50th / 90th percentile, monsoon_sparse_optical 10 months shifted 60 d,
    seed 0); 0.51 (any neighbour mapped rice) took in dryland crops beside weakly scored paddies
    and put the rule below the SAR baseline on ``clean_delta`` 10 months shifted 240 d (seeds 1
    and 2: 0.969 / 0.980 against 0.973 / 0.981); 0.7 left it below that baseline on
    monsoon_sparse_optical seed 1 (0.927 against 0.930; docs/rice_rules.md, "SAR: rain ponded
    before puddling")."""
    mixed_max_rms_db: float = 2.0
    """The mixture must reproduce the pixel's series to this RMS, dB (a filtered series errs by
    0.5-0.8 dB a date; a pixel on a border has fewer statistically homogeneous neighbours in the
    speckle filter, as for ``mixed_other_rms_db``: the missed edge pixels of that scene fit their
    neighbours to 0.4 dB at the median, 1.0-1.2 dB at the 90th percentile, seed 0)."""
    mixed_other_score: float | None = 0.3
    """The same reading the other way: a pixel the rule maps rice is its neighbour's when its series
    is a mixture of a paddy neighbour's and the opposite neighbour's with less than
    ``mixed_min_fraction`` of the paddy, the opposite neighbour scoring at most this (0.3, the
    self-trained map's bar for a confident non-rice label) and lying under open water (below
    ``water_db``) on at least ``max_water_share`` of the dates: a pond or a water body. In linear
    power a paddy's canopy dominates a pixel that a border crosses (half of a -13.5 dB canopy over
    -23 dB water reads about -16 dB), so a pond's edge pixel passes the rule's terms while its
    centre lies in the pond; beside a brighter field (trees, a village, fallow soil) a pixel that
    passes them is mostly paddy. ``None`` turns it off (and with ``mixed_min_fraction`` null)."""
    mixed_other_source_score: float = 0.7
    """For that reading, the paddy neighbour must have at least this ``rice_score`` (0.7, the
    self-trained map's bar for a confident rice label): the paddies beside a pond score lower than
    a 0.9 source score (``mixed_source_score`` before it fell to 0.6; median 0.92, a quarter
    under 0.88 on the Mekong scene, seed 0), and a pixel is given away here, not taken in."""
    mixed_other_rms_db: float = 2.0
    """For that reading, the mixture must reproduce the pixel's series to this RMS, dB: a pixel on
    a border has fewer statistically homogeneous neighbours in the speckle filter, and the pond
    edges the rule maps rice on the Mekong scene fit their paddy and pond neighbours to 1.0 dB
    (median; 90th percentile 1.3-1.6 dB, seed 0); the open-water gate, not the fit, keeps the paddies."""
    min_season_days: float = 80.0
    """Minimum days between two accepted flood minima (separate seasons)."""
    max_seasons: int = 3
    """Length of the ``season`` axis without windows."""
    young_end_days: float | None = 12.0
    """With ``young_rise_db``, the young crop's level may also be read as the mean, in linear
    power, of the valid passes within this many days of the pixel's last valid date (at least the
    last two), where that is above the lower of the last two dates of the shape series, days. At the
    series' end the three-date mean of the date before the last still holds the flood's last dark
    pass when the crop has grown for two passes only: on a 10-month series with the crop calendar
    60 days later (``clean_delta``, seed 1) the paddies transplanted 35-50 days before the series'
    end rise 6-9 dB from the water on the last two passes (about -25 to -16 dB) but 2.2-3.2 dB on
    the lower of the two smoothed dates, below ``young_rise_db``. One repeat cycle (12 days): on
    every track the level is read over the same span, so on a dense revisit one speckled or
    brighter-track last pass does not make a crop (the last date's three-date mean alone let in a
    dryland crop and an orchard of the dense point table and a dryland crop of the four-track
    table, seed 2). ``None``: the
    lower of the last two smoothed dates only (:mod:`agromap.rice.rules_sar_ends`)."""
    cycle_last_pass_dip_db: float | None = 3.0
    """With ``cycle_year_days``, a flood seen on the pixel's last valid pass alone stands for the
    open water of the year's cycle (in place of its two darkest passes) when that pass reaches
    ``water_db`` and lies at least this far, dB, below the land before it (the mean of the dates
    ``seedbed_end_days`` to ``seedbed_start_days`` before it), and at least ``cycle_last_pass_noise``
    times the pixel's date-to-date noise. A series that ends on the puddling pass shows one dark
    date and nothing after it; bare fallow soil (-16 to -17 dB in VH) does not fall 3 dB to open
    water within one pass on a filtered series (0.4-1.0 dB of noise a date), a puddling flood falls
    5-8 dB (:mod:`agromap.rice.rules_sar_last_pass`). ``None``: two passes of water always."""
    cycle_last_pass_noise: float = 2.5
    """The noise units of ``cycle_last_pass_dip_db``: speckle in dB has a long lower tail, and a
    series of 25-50 dates holds a bare-soil date two noise units below its level more often than
    not, so a single dark last pass of an unfiltered point must lie further below the land before
    it than speckle takes it (no later pass can confirm it)."""
    cycle_last_pass_vv_db: float | None = 2.0
    """With VV in the input and ``cycle_year_days``, the pixel's last valid pass also stands for the
    open water of the year's cycle when VH there does not reach ``water_db`` but reaches
    ``vh_min_db``, lies ``max(cycle_last_pass_vh_step_db, cycle_last_pass_noise x`` the VH noise``)``
    below the land before it (as for ``cycle_last_pass_dip_db``), and VV on the same pass lies
    ``max(`` this``, cycle_last_pass_noise x`` the VV noise``)`` below VV's own land before it (the
    same dates), dB. Open water is specular in both channels: a puddling flood drops VV 3-9 dB
    (Bouvet & Le Toan 2011; Nguyen et al. 2016; Lasko et al. 2018), while moist soil or a wet
    stubble brightens in VV. A filtered raster averages a field's flood pass with its neighbours'
    (puddled days apart), so a real puddling pass often reads -18 to -20 dB in VH: on
    ``clean_delta``'s 10-month series shifted 120 days (seed 0) the 226 paddies the SAR baseline
    alone finds have their flood on the last pass at -19.3 dB VH (median; 3.1 dB below their land)
    and 2.7 dB below it in VV, while the upland crops and fallows that pass the year's other terms
    step at most 2.0-2.3 dB in VV. ``None``: off (VH alone, ``cycle_last_pass_dip_db``)."""
    cycle_last_pass_vh_step_db: float = 2.5
    """The VH step below the land before it that ``cycle_last_pass_vv_db`` asks of the last pass,
    dB (with VV's confirming the water): 2.5 keeps the clean upland crops and fallows that pass the
    year's other terms out (at most 2 of 2780 upland crops, seed 0, against 4 at 2.0), where 3.0
    loses 30 of the 106 paddies it reads there."""
    cycle_last_pass_deep_db: float | None = 4.0
    """With VV in the input and ``cycle_year_days``, a last pass at open water (``water_db``) lying
    at least this far below the land before it in VH, and ``cycle_last_pass_deep_vv_db`` below it
    in VV (both at least ``cycle_last_pass_noise`` noise units), dB, on a quiet series
    (``cycle_last_pass_deep_noise_db``) that starts on a canopy's tail
    (``cycle_last_pass_deep_tail_db``), lifts the year's cycle's ``harvest`` and ``cleared``
    refutations: a series that starts at the end of the previous crop's season shows only the tail
    of its canopy, barely above the stubble and in one band with it, so that the canopy's harvest
    and clearing cannot be read, while a fresh puddling flood 4-9 dB deep in VH and 2-9 dB in VV
    is no irrigation pulse under a standing canopy when the series starts above the land it
    floods. On ``clean_delta``'s 10-month series shifted 120 days (seed 2) 35 of the 130 paddies
    that the SAR baseline alone finds have such a flood (VH -20 to -28 dB) and failed only these
    two terms; the rule maps 29 of them. ``None``: off (the canopy's harvest and clearing always
    read)."""
    cycle_last_pass_deep_vv_db: float = 3.0
    """The VV step of ``cycle_last_pass_deep_db`` below VV's land before the last pass, dB: a
    flood specular in both channels, where moist soil brightens in VV."""
    cycle_last_pass_deep_noise_db: float = 0.65
    """``cycle_last_pass_deep_db`` reads only a series whose VH date-to-date noise (the pixel's, dB)
    stays at or below this: on a filtered raster the last pass is the mean of a field's looks (29
    of the 36 deep paddies of ``clean_delta`` shifted 120 days, seed 2, read 0.24-0.65 dB), while
    on the SAR stress tables' points an orchard's irrigation pulse under a sparse canopy reads as
    deep in both channels (5-9 dB in VH, 4-7 dB in VV) and the harvest and clearing readings it
    would lift are what tell it from a paddy: at 1.0 dB nine orchard points of the sparse VH + VV
    table (fixed table seeds 0 and 2, shifted 180 and 240 days) were mapped rice, at 0.8 dB two
    at ENL 30 (0.68 and 0.76 dB of noise)."""
    cycle_last_pass_deep_tail_db: float | None = 0.5
    """``cycle_last_pass_deep_db`` reads only a series whose first valid VH date stands at least
    this far above the land before the last pass (the mean of the dates ``seedbed_end_days`` to
    ``seedbed_start_days`` before it), dB: the tail of the previous crop's canopy, where the
    irrigation pulse under an orchard's canopy leaves the first date at the level the canopy keeps
    all year. The 41 paddies of ``clean_delta`` (10 months shifted 120 days, seed 2) that the deep
    reading maps without a noise bound stand 0.6-1.7 dB above their land on the first date (10th
    and 90th percentiles; median 1.1), the orchard point of the sparse VH + VV stress table that
    it maps without this test (ENL 30, seed 2; 0.63 dB of noise) +0.07 dB. The test does not
    replace ``cycle_last_pass_deep_noise_db``: without that bound an orchard point with
    pulses through the year (ENL 30, seed 1; 1.5 dB of noise) starts 0.6 dB above its land. ``None``: no tail asked."""
    cycle_last_pass_vv_noise_db: float = 1.0
    """``cycle_last_pass_vv_db`` reads only a series whose VH date-to-date noise stays at or below
    this, dB: one speckled pass of a point (1.2 dB of noise) under an orchard's irrigation pulse
    steps 3.8 dB in VH and 4 dB in VV (sparse VH + VV table with 40 % orchards, seed 1), while the
    filtered paddies it is for read 0.3-0.75 dB (``clean_delta`` and ``monsoon_sparse_optical``
    shifted 120 days, seed 0: none above 1.0)."""
    river_flood_days: float | None = 170.0
    """A dark spell longer than ``max_flood_days`` and ``max_ponded_days`` but shorter than this is
    still a paddy's when it holds open water throughout (``river_water_db``), the crop after it builds
    a rice canopy (``river_canopy_db``) and that canopy is harvested within the series (``harvest`` observed and
    passing; :mod:`agromap.rice.rules_sar_river`), days. In the deep-flooded Mekong delta the fields
    stand under the river for two to four months (August to November) before the crop that follows
    is sown or transplanted as the water recedes, and the transplanted crop stays dark for three to
    five weeks more: 60-120 days of flood plus 30-40 of young crop. A seasonal wetland's flood is as
    long, but its grass stands for months after it; a pond's or a lake's water lasts longer.
    ``None``: off."""
    river_canopy_db: float = -15.0
    """The canopy level a crop after a river flood must reach, dB, read on the series averaged over
    ``cut_canopy_days`` (its peak is then the canopy's level, not a speckle extreme): rice at
    heading (-16.1 ... -14.2 dB, as for ``ponded_canopy_db``), above the -16 dB or so of the grass
    a wetland regrows after the same flood."""
    river_water_db: float = -20.5
    """The spell's mean level (linear power, dates from its first to its last dark date) lies at
    or below this, dB: a river standing on the field for months is open water over the whole spell
    (-22 to -25 dB VH under the Mekong's flood), while a dark bare soil's months (-19 to -21 dB)
    reach the open-water level only on speckled dates. On the Mekong scene (seed 0, 10 months
    shifted 180 days) -21.5 keeps 0.926 OA, -20.5 0.942, -20.0 0.943; on the SAR point tables
    (seeds 0-2) -20.5 admits no dryland field and two wetland points of 1800 (dense, shifted
    240 days), -20.0 one dryland field and two wetland points more."""
    ponded_end_days: float | None = 75.0
    """A dark spell cut by the series' end may last up to this many days, not only
    ``young_flood_days``, as rain ponded on a bunded field before its puddling flood
    (:mod:`agromap.rice.rules_sar_rainpond`): a rainfed field holds the first rain for 20-50 days
    before puddling (as for ``max_ponded_days``), is puddled 8-15 days before transplanting and
    its seedlings stand in water three to five weeks; a wetland's or a floodplain's water lasts
    months. It reads so for a young crop rising at the series' end (``young_rise_db``) when the
    spell's darkest smoothed level reaches ``water_db`` (open water, not moist bare soil), and for
    the flood of the year's cycle (``cycle_year_days``, whose ``water`` term asks for open water),
    whose previous crop's standing canopy is then read from as many days after the spell's first
    date as it exceeds ``young_flood_days``, at most this less ``young_flood_days`` (the previous
    year's crop was puddled as late after that year's rain). Not ``max_ponded_days`` (95): there a
    rice canopy after the spell confirms it, which a spell at the series' end never shows. 65 keeps
    out a seasonal wetland whose water fills the last 66 days of the dense SAR stress table (seed
    0), but misses rainfed paddies transplanted in the series' last weeks (10 months shifted 60
    days, ``monsoon_sparse_optical`` seed 1: 72 pixels, below the SAR baseline). ``None``: off."""

    def __post_init__(self) -> None:
        check_sar_params(self)
