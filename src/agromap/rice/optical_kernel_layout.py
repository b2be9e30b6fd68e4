"""The optical rice kernel's parameter vector: the order of its thresholds and switches.

The compiled kernel (:mod:`agromap.rice.optical_kernel`) takes the rule's thresholds as one
float32 vector and its switches (a ``None`` parameter, a boolean option, the growth rule) as one
int64 vector; numba reads the positions below as compile-time constants. Kept apart from the
kernel so that the layout is one list, read by the kernel's pieces
(:mod:`agromap.rice.optical_kernel_steps`), its second walk per pixel
(:mod:`agromap.rice.optical_kernel_terms`) and :func:`kernel_parameters`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from .optical_params import OpticalRiceParams

__all__ = ["PARAM_NAMES", "N_FLAGS", "GROWTH_RULES", "MARGIN_SCALE", "NAN32", "NEG_INF", "POS_INF", "kernel_parameters"]

#: float32 constants of the kernel's arithmetic (numba reads them as compile-time constants).
NEG_INF = np.float32(-np.inf)
POS_INF = np.float32(np.inf)
NAN32 = np.float32(np.nan)
MARGIN_SCALE = np.float32(0.05)
"""Margin units per logistic unit (the score scale of :mod:`agromap.rice.rules_optical`)."""

# Float32 thresholds of :class:`~agromap.rice.optical_params.OpticalRiceParams` in the
#: kernel's parameter vector, in this order (``None`` parameters are switched off by a flag).
PARAM_NAMES = (
    "max_abs_evi", "flood_t", "flood_ndvi_max", "growth_ratio", "min_peak_evi", "ndvi_trough_max",
    "ndvi_climb_min", "ndvi_canopy_min", "dry_lswi_max", "wet_canopy_lswi", "water_ndvi_max",
    "forest_ndvi_min", "water_fraction", "water_limit_cycle", "forest_fraction", "shrub_lswi_min",
    "shrub_min_span_days", "max_green_days", "green_link_days", "ndvi_low", "ndvi_high", "gap_days",
    "max_cycle_days", "max_flood_days", "hidden_crop_days", "hidden_flood_link_days",
    "undated_wet_canopy_lswi", "hidden_bare_lswi_max", "cloud_blue", "haze_hot", "snow_ndsi", "snow_nir",
    "hidden_open_water_ndvi", "harvest_lswi_max", "harvest_ndvi_min", "sparse_max_dates", "sparse_gap_days",
    "sparse_canopy_lswi", "peak_window_days", "flood_stubble_days", "seedbed_ndvi_max", "seedbed_lswi_margin",
    "seedbed_max_days", "gap_season_lswi", "gap_season_low_ndvi", "gap_season_low_lswi", "gap_season_min_gap",
    "gap_season_max_gap", "gap_season_days", "gap_season_open_end",
    "gap_season_young_days", "gap_season_young_lswi", "flood_not_evergreen", "onset_gap_days", "gap_season_dip_days",
    "hidden_reflood_days", "early_ndvi_days", "weak_flood_canopy_lswi", "gap_season_young_soil_lswi",
    "hidden_young_rise", "hidden_young_days", "pond_crop_green_days", "seedbed_stubble_ndvi_max",
    "hidden_canopy_lswi", "shrub_repuddle_drop", "end_flood_days", "end_flood_link_days", "end_flood_rise", "end_flood_canopy_lswi", "end_canopy_min_gap",
    "end_flood_shallow_ndvi", "undated_wet_share", "green_harvest_lswi", "wet_canopy_evi_ratio", "cycle_wet_share",
    "young_flood_t", "young_reflood_rise", "end_flood_deep_lswi", "end_flood_deep_fallow", "dry_not_evergreen",
    "pond_ripe_ndvi", "end_sown_rise", "end_sown_min_days", "end_sown_max_days", "gap_canopy_rise",
    "shrub_flood_evi", "shrub_flood_canopy_share",
)
(P_MAX_ABS_EVI, P_FLOOD_T, P_FLOOD_NDVI_MAX, P_GROWTH_RATIO, P_MIN_PEAK_EVI, P_TROUGH_MAX, P_CLIMB_MIN, P_CANOPY_MIN,
 P_DRY_LSWI_MAX, P_WET_CANOPY_LSWI, P_WATER_NDVI_MAX, P_FOREST_NDVI_MIN, P_WATER_FRACTION, P_WATER_LIMIT_CYCLE,
 P_FOREST_FRACTION, P_SHRUB_LSWI_MIN, P_SHRUB_SPAN, P_MAX_GREEN_DAYS, P_GREEN_LINK, P_NDVI_LOW, P_NDVI_HIGH, P_GAP_DAYS,
 P_MAX_CYCLE_DAYS, P_MAX_FLOOD_DAYS, P_HIDDEN_CROP_DAYS, P_HIDDEN_LINK, P_UNDATED_WET_LSWI,
 P_HIDDEN_BARE_LSWI, P_CLOUD_BLUE, P_HAZE_HOT, P_SNOW_NDSI, P_SNOW_NIR, P_HIDDEN_OPEN_NDVI, P_HARVEST_LSWI,
 P_HARVEST_NDVI, P_SPARSE_DATES, P_SPARSE_GAP, P_SPARSE_LSWI, P_PEAK_WINDOW, P_FLOOD_STUBBLE,
 P_SEEDBED_NDVI, P_SEEDBED_MARGIN, P_SEEDBED_DAYS, P_GAP_SEASON_LSWI, P_GAP_SEASON_LOW_NDVI, P_GAP_SEASON_LOW_LSWI,
 P_GAP_SEASON_MIN_GAP, P_GAP_SEASON_MAX_GAP, P_GAP_SEASON_DAYS, P_GAP_SEASON_OPEN_END,
 P_GAP_SEASON_YOUNG_DAYS, P_GAP_SEASON_YOUNG_LSWI, P_FLOOD_NOT_EVERGREEN, P_ONSET_GAP, P_GAP_SEASON_DIP,
 P_HIDDEN_REFLOOD, P_EARLY_DAYS, P_WEAK_FLOOD_CANOPY, P_GAP_SEASON_YOUNG_SOIL,
 P_HIDDEN_YOUNG_RISE, P_HIDDEN_YOUNG_DAYS, P_POND_CROP_GREEN, P_SEEDBED_STUBBLE_NDVI,
 P_HIDDEN_CANOPY_LSWI, P_SHRUB_REPUDDLE_DROP, P_END_FLOOD, P_END_FLOOD_LINK, P_END_FLOOD_RISE, P_END_FLOOD_CANOPY, P_END_CANOPY_GAP,
 P_END_FLOOD_SHALLOW, P_UNDATED_WET_SHARE, P_GREEN_HARVEST, P_WET_CANOPY_EVI_RATIO,
 P_CYCLE_WET_SHARE, P_YOUNG_FLOOD_T, P_YOUNG_REFLOOD_RISE, P_END_FLOOD_DEEP,
 P_END_FLOOD_DEEP_FALLOW, P_DRY_NOT_EVERGREEN, P_POND_RIPE, P_END_SOWN_RISE, P_END_SOWN_MIN,
 P_END_SOWN_MAX, P_GAP_CANOPY_RISE, P_SHRUB_FLOOD_EVI, P_SHRUB_FLOOD_SHARE) = range(len(PARAM_NAMES))

# Switches in the kernel's flag vector: a None-able parameter set, or a boolean option.
(F_FLOOD_NDVI_MAX, F_DRY, F_WET_CANOPY, F_SHRUB, F_GREEN, F_HIDDEN, F_UNDATED_WET, F_AT_START, F_OUTSIDE_CYCLES,
 F_RULE, F_EARLY, F_HIDDEN_BARE, F_CLOUD, F_HAZE, F_SNOW, F_BASE, F_HIDDEN_OPEN, F_HARVEST, F_SPARSE,
 F_FLOOD_STUBBLE, F_SEEDBED, F_SEEDBED_CANOPY, F_GAP_SEASON, F_GAP_SEASON_OPEN_END,
 F_GAP_SEASON_YOUNG, F_GAP_SEASON_NOT_FOREST, F_GAP_SEASON_OPEN_START, F_GAP_SEASON_CUT_END,
 F_FLOOD_NOT_EVERGREEN, F_GAP_SEASON_OPEN_YOUNG, F_ONSET_GAP, F_GAP_SEASON_YOUNG_RUN, F_GAP_SEASON_DIP,
 F_HIDDEN_REFLOOD, F_WEAK_FLOOD_CANOPY, F_HIDDEN_YOUNG, F_POND_CROP, F_HIDDEN_CANOPY,
 F_SHRUB_REPUDDLE, F_END_FLOOD, F_END_FLOOD_RISE, F_END_FLOOD_CANOPY, F_END_CANOPY_GAP, F_END_FLOOD_TURBID,
 F_END_FLOOD_SHALLOW, F_UNDATED_WET_SHARE, F_END_FLOOD_NOT_WATER, F_END_FLOOD_TURBID_WATER,
 F_END_FLOOD_TURBID_LINK, F_END_REFLOOD, F_END_FLOOD_AFTER_CANOPY, F_END_FLOOD_RISE_LINK,
 F_GREEN_HARVEST, F_WET_CANOPY_EVI_RATIO, F_CYCLE_WET_SHARE, F_YOUNG_FLOOD, F_UNDATED_EARLY, F_YOUNG_REFLOOD,
 F_END_FLOOD_DEEP, F_FLOOD_SHADOW, F_DRY_NOT_EVERGREEN, F_POND_RIPE, F_END_SOWN, F_POND_END_ONSET,
 F_GAP_CANOPY_RISE, F_SHRUB_FLOOD) = range(66)
N_FLAGS = 66
# ``flags[F_RULE]``: the growth rule's code.
GROWTH_RULES = {"xiao": 0, "ndvi": 1, "either": 2, "both": 3}


def kernel_parameters(p: OpticalRiceParams) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """The kernel's threshold vector (float32, :data:`PARAM_NAMES` order) and switches."""
    values = dataclasses.asdict(p)
    values["water_limit_cycle"] = max(p.cycle_water_fraction, p.water_fraction)
    prm = np.array([np.float32(0.0 if values[n] is None else values[n]) for n in PARAM_NAMES], dtype=np.float32)
    flags = np.zeros(N_FLAGS, dtype=np.int64)
    for flag, on in ((F_FLOOD_NDVI_MAX, p.flood_ndvi_max is not None), (F_DRY, p.dry_lswi_max is not None),
                     (F_WET_CANOPY, p.wet_canopy_lswi is not None), (F_SHRUB, p.shrub_lswi_min is not None),
                     (F_GREEN, p.max_green_days is not None), (F_HIDDEN, p.hidden_crop_days is not None),
                     (F_UNDATED_WET, p.undated_wet_canopy_lswi is not None), (F_AT_START, p.onset_at_series_start),
                     (F_OUTSIDE_CYCLES, p.mask_outside_cycles), (F_EARLY, p.early_ndvi_days is not None),
                     (F_HIDDEN_BARE, p.hidden_bare_lswi_max is not None), (F_CLOUD, p.cloud_blue is not None),
                     (F_HAZE, p.haze_hot is not None), (F_SNOW, p.snow_ndsi is not None),
                     (F_HIDDEN_OPEN, p.hidden_open_water_ndvi is not None),
                     (F_HARVEST, p.harvest_lswi_max is not None), (F_SPARSE, p.sparse_max_dates is not None),
                     (F_FLOOD_STUBBLE, p.flood_stubble_days is not None),
                     (F_SEEDBED, p.seedbed_ndvi_max is not None),
                     (F_SEEDBED_CANOPY, p.seedbed_after_canopy and p.wet_canopy_lswi is not None),
                     (F_GAP_SEASON, p.gap_season_lswi is not None),
                     (F_GAP_SEASON_OPEN_END, p.gap_season_open_end is not None),
                     (F_GAP_SEASON_YOUNG, p.gap_season_young_days is not None),
                     (F_GAP_SEASON_NOT_FOREST, p.gap_season_not_forest and p.gap_season_lswi is not None),
                     (F_GAP_SEASON_OPEN_START, p.gap_season_open_start and p.gap_season_lswi is not None),
                     (F_GAP_SEASON_CUT_END, p.gap_season_cut_end and p.gap_season_lswi is not None),
                     (F_FLOOD_NOT_EVERGREEN, p.flood_not_evergreen is not None),
                     (F_GAP_SEASON_OPEN_YOUNG, p.gap_season_open_young and p.gap_season_open_start
                      and p.gap_season_lswi is not None and p.harvest_lswi_max is not None),
                     (F_ONSET_GAP, p.onset_gap_days is not None),
                     (F_GAP_SEASON_YOUNG_RUN, p.gap_season_young_run and p.gap_season_young_days is not None),
                     (F_GAP_SEASON_DIP, p.gap_season_dip_days is not None and p.gap_season_lswi is not None),
                     (F_HIDDEN_REFLOOD, p.hidden_reflood_days is not None),
                     (F_WEAK_FLOOD_CANOPY, p.weak_flood_canopy_lswi is not None),
                     (F_HIDDEN_YOUNG, p.hidden_young_rise is not None and p.hidden_crop_days is not None),
                     (F_POND_CROP, p.pond_crop_green_days is not None),
                     (F_HIDDEN_CANOPY, p.hidden_canopy_lswi is not None),
                     (F_SHRUB_REPUDDLE, p.shrub_repuddle_drop is not None and p.seedbed_ndvi_max is not None
                                        and p.wet_canopy_lswi is not None),
                     (F_END_FLOOD, p.end_flood_days is not None and p.wet_canopy_lswi is not None
                      and p.hidden_open_water_ndvi is not None),
                     (F_END_FLOOD_RISE, p.end_flood_rise is not None),
                     (F_END_FLOOD_CANOPY, p.end_flood_canopy_lswi is not None),
                     (F_END_CANOPY_GAP, p.end_canopy_min_gap is not None and p.end_flood_canopy_lswi is not None),
                     (F_END_FLOOD_TURBID, p.end_flood_turbid), (F_END_FLOOD_SHALLOW, p.end_flood_shallow_ndvi is not None),
                     (F_UNDATED_WET_SHARE, p.undated_wet_share is not None and p.wet_canopy_lswi is not None),
                     (F_END_FLOOD_NOT_WATER, p.end_flood_not_water),
                     (F_END_FLOOD_TURBID_WATER, p.end_flood_turbid_water and p.end_flood_turbid),
                     (F_END_FLOOD_TURBID_LINK, p.end_flood_turbid_link and p.end_flood_turbid),
                     (F_END_REFLOOD, p.end_reflood and p.end_flood_days is not None and p.end_flood_rise is not None
                      and p.hidden_reflood_days is not None and p.hidden_crop_days is not None),
                     (F_END_FLOOD_AFTER_CANOPY, p.end_flood_after_canopy and p.hidden_canopy_lswi is not None),
                     (F_END_FLOOD_RISE_LINK, p.end_flood_rise_link and p.end_flood_rise is not None),
                     (F_GREEN_HARVEST, p.green_harvest_lswi is not None and p.wet_canopy_lswi is not None),
                     (F_WET_CANOPY_EVI_RATIO, p.wet_canopy_evi_ratio is not None),
                     (F_CYCLE_WET_SHARE, p.cycle_wet_share is not None and p.wet_canopy_lswi is not None),
                     (F_YOUNG_FLOOD, p.young_flood_t is not None and p.early_ndvi_days is not None),
                     (F_UNDATED_EARLY, p.undated_flood_stands and p.early_ndvi_days is not None),
                     (F_YOUNG_REFLOOD, p.young_reflood_days is not None and p.young_flood_t is not None
                      and p.early_ndvi_days is not None and p.wet_canopy_lswi is not None),
                     (F_END_FLOOD_DEEP, p.end_flood_deep_lswi is not None and p.end_flood_shallow_ndvi is not None
                      and p.early_ndvi_days is not None),
                     (F_FLOOD_SHADOW, p.flood_shadow_ndvi and p.wet_canopy_evi_ratio is not None),
                     (F_DRY_NOT_EVERGREEN, p.dry_not_evergreen is not None and p.sparse_max_dates is not None),
                     (F_POND_RIPE, p.pond_ripe_ndvi is not None and p.harvest_lswi_max is not None and p.sparse_max_dates is not None),
                     (F_END_SOWN, p.end_sown_rise is not None and p.hidden_bare_lswi_max is not None),
                     (F_POND_END_ONSET, p.pond_end_onset and p.max_flood_days is not None
                      and p.pond_crop_green_days is not None),
                     (F_GAP_CANOPY_RISE, p.gap_canopy_rise is not None),
                     (F_SHRUB_FLOOD, p.shrub_flood_evi is not None and p.shrub_lswi_min is not None
                      and p.sparse_max_dates is not None)):
        flags[flag] = on
    flags[F_RULE] = GROWTH_RULES[p.growth_rule]
    return prm, flags
