"""The series reading part of :class:`~agromap.rice.sar_params.SarRiceParams`.

How the series is read: the smoothed shape series and the pixel's date-to-date noise
(:mod:`agromap.rice.sar_series`), the candidate minima and the seasons kept, orbit tracks, and
mixed pixels on field borders (:mod:`agromap.rice.sar_mixed`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SarReadingParams"]


@dataclass(frozen=True)
class SarReadingParams:
    """The shape series and the pixel's noise, candidate minima and seasons, orbit tracks, and mixed pixels at field borders."""

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
