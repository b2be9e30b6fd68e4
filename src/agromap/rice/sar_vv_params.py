"""The VV part of :class:`~agromap.rice.sar_params.SarRiceParams`.

The VV terms, read when the input has ``vv`` (:mod:`agromap.rice.rules_sar_vv`): the flood dark in
VV too, the VV dark spell and the young crop after the flood, and the dates VV shows to be wet
soil rather than open water.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SarVvParams"]


@dataclass(frozen=True)
class SarVvParams:
    """With VV in the input: the flood dark in VV, the young crop after it, and wet soil told from open water."""

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
    vv_cut_soil_db: float | None = None
    """With VV: a season whose VH dark spell reaches the pixel's first valid date (a "flood" cut
    by the series' start, where ``fallow`` has no land before it and ``duration`` no start) is
    refuted when the darkest VV of the spell (each date the mean of the dates within half of
    ``persistence_days``) lies above this level, dB (votes only to refute). An upland field's
    tilled or bare soil is as dark as a shallow flood in VH (-20 to -17.5 dB) but rough, bright in
    VV (about -12 to -8 dB), while a paddy's flood is specular in VV too: open water -22 to -18
    dB, a direct-seeded field's thin flood -17 to -14 dB (Bouvet & Le Toan 2011; Nguyen et al.
    2016; Inoue et al. 2014; Veloso et al. 2017). Off by default (``None``; -12 dB when on): a
    direct-seeded seedbed on saturated, unflooded soil is as bright in VV as upland soil, and the
    whole-year scenes lose such paddies (docs/rice_rules.md, "SAR: bare soil at the series' start,
    read in VV")."""
    vv_level_quantile: float = 0.75
    """The pixel's VV level, dB: this quantile of its valid VV dates. Above the median so that a
    triple-cropped paddy, under water or a young canopy on many dates, keeps its fallow's and
    canopy's level; a pond or a water body (open water on most dates) still has none above its
    water, so its dips are no floods."""
