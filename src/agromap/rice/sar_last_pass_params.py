"""The last-pass and long-spell part of :class:`~agromap.rice.sar_params.SarRiceParams`.

The series' last passes and the longest dark spells: the young crop's level on the last passes
(:mod:`agromap.rice.rules_sar_ends`), a flood seen on the last pass alone
(:mod:`agromap.rice.rules_sar_last_pass`), months of river flood before the crop
(:mod:`agromap.rice.rules_sar_river`) and rain ponded up to the series' end
(:mod:`agromap.rice.rules_sar_rainpond`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SarLastPassParams"]


@dataclass(frozen=True)
class SarLastPassParams:
    """The last passes (a young crop's level, a flood seen on the last pass alone), a river's flood, rain ponded at the end."""

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
