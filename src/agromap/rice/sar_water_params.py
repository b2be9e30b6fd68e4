"""The water, pond and built-up masks part of :class:`~agromap.rice.sar_params.SarRiceParams`.

The masks: permanent water, ponds and the crops a pond may carry (a rice-shrimp field), and
built-up land or forest (:mod:`agromap.rice.rules_sar_masks`, :mod:`agromap.rice.rules_sar_pond`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SarWaterParams"]


@dataclass(frozen=True)
class SarWaterParams:
    """The masks: permanent water, ponds and the rice crops a pond may carry, built-up land or forest."""

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
