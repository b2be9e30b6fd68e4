"""The masks of the Sentinel-1 rice rule (:mod:`agromap.rice.rules_sar`): permanent water,
built-up or forest, and ponds.

The water and built-up masks are hard, as published; each also has a soft margin, in units of its
uncertainty, that caps a season's confidence, as does the pond share (open water on too many
dates). Per pixel along time only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .rules_sar_pond import old_pond_crop_days, young_pond_crop_days
from .rules_sar_vv import VvSeries, vv_not_water
from .sar_params import SarRiceParams
from .sar_series import longest_bright_days, percentile_db
from .seasons import fraction

__all__ = ["sar_masks"]

_F32 = np.float32
_FREQ_SCALE = 0.1  # water-frequency per logistic unit


def sar_masks(
    lin: npt.NDArray[np.float32], db: npt.NDArray[np.float32], sm: npt.NDArray[np.float32],
    days: npt.NDArray[np.int32], n_valid: npt.NDArray[np.intp], noisy: npt.NDArray[np.bool_],
    cycle: npt.NDArray[np.bool_], median_gap: float, vvs: VvSeries | None, p: SarRiceParams,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.float32]]:
    """``(water, built, mask_z)``: the hard water and built-up/forest masks and the margin that
    caps every season (-inf where a hard mask holds).

    ``lin`` is the series in linear power (NaN: invalid), ``db`` the same in dB, ``sm`` the shape
    series in dB; ``noisy`` and ``cycle`` mark the pixels whose shape series is read over the
    repeat cycle (:func:`agromap.rice.sar_series.shape_series`); ``vvs`` the VV evidence or None.
    """
    ok = ~np.isnan(lin)
    # Masks: percentiles (NaN sorts last, so the first n_valid are the valid values).
    srt = np.sort(lin, axis=-1)
    p10, p90 = percentile_db(srt, n_valid, 0.10), percentile_db(srt, n_valid, 0.90)
    # With VV, a date VV shows to be wet soil is not open water (`vv_water_db`), for the water
    # mask as for the pond share: a waterlogged fallow is as dark as water in VH.
    water_dates = ok & (db < _F32(p.water_db))
    vv_land = vv_not_water(vvs, water_dates, p)
    water_freq = fraction((water_dates if vv_land is None else water_dates & ~vv_land).sum(axis=-1), n_valid)
    # Read over the repeat cycle, or over the neighbouring passes of the other tracks where three
    # dates span it, a noisy paddy's fallow on a darker track is not open water (`water_share_mean`).
    on_mean = (noisy if p.water_share_mean else cycle)[:, None]
    vh_water = ok & (np.where(on_mean, sm, db) < _F32(p.water_db))
    vv_land = vv_not_water(vvs, vh_water, p)
    water_share = fraction((vh_water if vv_land is None else vh_water & ~vv_land).sum(axis=-1), n_valid)
    water = (p90 < _F32(p.water_p90_db)) | (water_freq >= _F32(p.water_frequency))
    spread = p90 - p10
    built = (p10 > _F32(p.built_p10_db)) & (spread < _F32(p.built_range_db))
    with np.errstate(invalid="ignore"):
        not_water = np.minimum((p90 - _F32(p.water_p90_db)) / _F32(p.db_scale),
                               (_F32(p.water_frequency) - water_freq) / _F32(_FREQ_SCALE))
        not_built = np.maximum(_F32(p.built_p10_db) - p10, spread - _F32(p.built_range_db)) / _F32(p.db_scale)
    # Hard masks stay hard (the published rule); their soft margins cap the confidence.
    # Open water on most dates is a pond or a water body, even when it was drained once: a
    # paddy, triple-cropped included, is under open water for well under half of the year.
    with np.errstate(invalid="ignore"):
        not_pond = (_F32(p.max_water_share) - water_share) / _F32(_FREQ_SCALE)
        run_scale = _F32(p.duration_scale_days) + _F32(0.5 * median_gap)
        if p.pond_crop_days is not None:
            # A waterlogged fallow is as dark as a pond on most dates; a pond is not drained for
            # a crop's season, season after season. A run cut by the series' ends may be a
            # vegetation standing on past them (a wetland's sedge), not a harvested crop.
            stand = longest_bright_days(sm, days, p.vh_min_db, p.pond_crop_runs, closed=True)
            not_pond = _lifted(not_pond, (stand - _F32(p.pond_crop_days)) / run_scale)
        if p.pond_canopy_days is not None:
            # A rice-shrimp field: a pond for half the year, then one crop whose closed canopy
            # stands for weeks at a level no drained pond or floating mat reaches.
            canopy = longest_bright_days(sm, days, p.pond_canopy_db, 1, closed=True)
            not_pond = _lifted(not_pond, (canopy - _F32(p.pond_canopy_days)) / run_scale)
        if p.pond_young_days is not None:
            # The same crop still standing on the series' last dates (a series ending in the wet season).
            not_pond = _lifted(not_pond, _run_margin(young_pond_crop_days(sm, days, p), p.pond_young_days, run_scale))
        if p.pond_old_days is not None:
            # The same crop's predecessor standing on the series' first dates, harvested, then the
            # pond (a series starting in the wet season).
            not_pond = _lifted(not_pond, _run_margin(old_pond_crop_days(sm, days, p), p.pond_old_days, run_scale))
    mask_z = np.where(water | built, _F32(-np.inf), np.minimum.reduce([not_water, not_built, not_pond]))
    mask_z = np.where(np.isnan(mask_z), _F32(-np.inf), mask_z).astype(_F32)
    return water, built, mask_z


def _lifted(not_pond: np.ndarray, escape: np.ndarray) -> np.ndarray:
    """The pond margin raised to ``escape`` (a crop's run read as evidence against a pond); a pixel
    without a margin (NaN: no valid date) keeps none.
    """
    return np.where(np.isnan(not_pond), not_pond, np.maximum(not_pond, escape))


def _run_margin(span: np.ndarray, least_days: float, scale: np.float32) -> np.ndarray:
    """The margin of a crop's run spanning ``span`` days against ``least_days`` (units of ``scale``);
    -inf where there is no run (0 days): no such run is no evidence, and a margin from 0 days would
    lift every pond's share.
    """
    return np.where(span > 0, (span - _F32(least_days)) / scale, _F32(-np.inf))
