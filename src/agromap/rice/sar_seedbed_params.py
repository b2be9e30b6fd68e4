"""The seedbed part of :class:`~agromap.rice.sar_params.SarRiceParams`.

A direct-seeded field read from its moist seedbed: the plateau after a brief levelling flood,
the dip below it, and the growth timing and persistence read from it
(:mod:`agromap.rice.rules_sar_seedbed`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SarSeedbedParams"]


@dataclass(frozen=True)
class SarSeedbedParams:
    """A direct-seeded field: the seedbed plateau after its levelling flood, the dip below it, and the timing read from it."""

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
