"""The dark spell and levels part of :class:`~agromap.rice.sar_params.SarRiceParams`.

The levels around the flood and the length of its dark spell: the canopy's rise above the land
before and after the dip (``regrowth``), the flood's dip below the fallow before it (``fallow``;
:mod:`agromap.rice.rules_sar_levels`), and how long the dark spell may last and what breaks it
(``duration``), with the uncertainty of the growth timing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SarSpellParams"]


@dataclass(frozen=True)
class SarSpellParams:
    """The canopy's rise above the levels around the flood, the dip below the fallow, and the dark spell's length."""

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
