"""The flood and growth part of :class:`~agromap.rice.sar_params.SarRiceParams`.

The flood and the canopy that grows after it: the flood's depth and its persistence to the next
pass, the canopy's level and rise, and when and how gradually it rises (the ``depth``, ``rise``,
``canopy``, ``persistence``, ``timing`` and ``growth`` terms of :mod:`agromap.rice.rules_sar`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SarFloodGrowthParams"]


@dataclass(frozen=True)
class SarFloodGrowthParams:
    """The flood's depth and persistence, the canopy's level and rise, and the growth's timing and pace."""

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
