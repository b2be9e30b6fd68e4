"""Consistency checks of :class:`agromap.rice.sar_params.SarRiceParams`, kept apart from the
thresholds themselves so that the parameter modules stay readable lists of values and reasons.

Each check raises :class:`agromap.errors.ConfigError` with the offending values and the allowed range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .sar_params import SarRiceParams

__all__ = ["check_sar_params"]


def check_sar_params(p: SarRiceParams) -> None:
    """Raise :class:`ConfigError` if the SAR rule's parameters contradict each other or their ranges."""
    if not 1 <= int(p.max_seasons) <= 12:
        raise ConfigError(f"max_seasons must be within 1-12, got {p.max_seasons}.")
    if not p.rise_window_end_days > 0:
        raise ConfigError(f"rise_window_end_days must be > 0 (days), got {p.rise_window_end_days}.")
    if not p.min_rise_days <= p.max_rise_days:
        raise ConfigError(f"min_rise_days {p.min_rise_days} exceeds max_rise_days {p.max_rise_days}.")
    if min(p.timing_scale_days, p.duration_scale_days, p.db_scale, p.max_flood_days) <= 0:
        raise ConfigError("timing_scale_days, duration_scale_days, db_scale and max_flood_days must be > 0.")
    _check_seedbed(p)
    if p.growth_noise < 0:
        raise ConfigError(f"growth_noise must be >= 0 (0: off), got {p.growth_noise}.")
    if p.spell_noise < 0 or p.spell_break_days < 0:
        raise ConfigError(f"spell_noise and spell_break_days must be >= 0 (0: off), got {p.spell_noise} "
                          f"and {p.spell_break_days}.")
    if (p.regrowth_db is not None and p.regrowth_db < 0) or p.regrowth_noise < 0:
        raise ConfigError(f"regrowth_db must be >= 0 or null (off) and regrowth_noise >= 0, got {p.regrowth_db} "
                          f"and {p.regrowth_noise}.")
    if ((p.fallow_dip_db is not None and p.fallow_dip_db < 0) or p.fallow_noise < 0
            or p.fallow_days <= p.seedbed_start_days):
        raise ConfigError(f"fallow_dip_db must be >= 0 or null (off), fallow_noise >= 0 and fallow_days above "
                          f"seedbed_start_days, got {p.fallow_dip_db}, {p.fallow_noise} and {p.fallow_days}.")
    _check_vv(p)
    _check_last_pass_vv(p)
    _check_young(p.young_rise_db, p.young_flood_days, p.cycle_year_days, p.cycle_canopy_days,
                 p.max_rise_days, p.cycle_last_pass_dip_db, p.cycle_last_pass_noise, p.young_end_days)
    if p.max_ponded_days < p.max_flood_days:
        raise ConfigError(f"max_ponded_days {p.max_ponded_days} is below max_flood_days {p.max_flood_days}; "
                          "set it equal to max_flood_days to accept no longer spell.")
    _check_pond_crop(p.pond_crop_days, p.pond_crop_runs, p.pond_canopy_days, p.pond_young_days,
                     p.pond_old_days)
    if p.mixed_min_fraction is not None and not 0.0 < p.mixed_min_fraction <= 1.0:
        raise ConfigError(f"mixed_min_fraction must be within (0, 1] or null (off), got {p.mixed_min_fraction}.")
    if not 0.5 < p.mixed_source_score <= 1.0 or p.mixed_max_rms_db <= 0:
        raise ConfigError("mixed_source_score must be within (0.5, 1] and mixed_max_rms_db > 0, got "
                          f"{p.mixed_source_score} and {p.mixed_max_rms_db}.")
    if ((p.mixed_other_score is not None and not 0.0 <= p.mixed_other_score < 0.5)
            or not 0.5 < p.mixed_other_source_score <= 1.0 or p.mixed_other_rms_db <= 0):
        raise ConfigError("mixed_other_score must be within [0, 0.5) or null (off), mixed_other_source_score "
                          f"within (0.5, 1] and mixed_other_rms_db > 0, got {p.mixed_other_score}, "
                          f"{p.mixed_other_source_score} and {p.mixed_other_rms_db}.")
    cut = min(1.0 if v is None else v for v in (p.cut_canopy_days, p.curvature_noise_gap_days))
    if min(p.smooth_days, p.shape_days, p.shape_noise_db, p.offset_noise_db) < 0 or cut <= 0:
        raise ConfigError("smooth_days, shape_days, shape_noise_db and offset_noise_db must be >= 0 and "
                          "cut_canopy_days and curvature_noise_gap_days > 0 or null (off), got "
                          f"{p.smooth_days}, {p.shape_days}, {p.shape_noise_db}, {p.offset_noise_db}, "
                          f"{p.cut_canopy_days} and {p.curvature_noise_gap_days}.")
    if p.trough_halfwidth_days <= 0 or p.min_season_days <= 0:
        raise ConfigError("trough_halfwidth_days and min_season_days must be > 0.")
    _check_long_spells(p)
    _check_start(p)


def _check_start(p: SarRiceParams) -> None:
    if (p.start_harvest_db is not None and not p.start_harvest_db > 0) or not p.start_fallow_days > 0:
        raise ConfigError(f"start_harvest_db must be > 0 or null (off) and start_fallow_days > 0, got "
                          f"{p.start_harvest_db} and {p.start_fallow_days}.")
    if not p.start_harvest_noise >= 0:
        raise ConfigError(f"start_harvest_noise must be >= 0 (0: the drop's bar in dB alone), got {p.start_harvest_noise}.")
    if any(v is not None and not v > 0 for v in (p.start_rise_days, p.start_regrow_days)):
        raise ConfigError(f"start_rise_days and start_regrow_days must be > 0 or null (off), got "
                          f"{p.start_rise_days} and {p.start_regrow_days}.")


def _check_seedbed(p: SarRiceParams) -> None:
    if not 0 <= p.seedbed_start_days < p.seedbed_end_days:
        raise ConfigError("seedbed_start_days must be >= 0 and below seedbed_end_days, got "
                          f"{p.seedbed_start_days} and {p.seedbed_end_days}.")
    if p.seedbed_dip_end_days is not None and p.seedbed_dip_end_days <= p.seedbed_start_days:
        raise ConfigError("seedbed_dip_end_days must exceed seedbed_start_days or be null (off), got "
                          f"{p.seedbed_dip_end_days} and {p.seedbed_start_days}.")
    if p.seedbed_sown_noise < 0:
        raise ConfigError(f"seedbed_sown_noise must be >= 0, got {p.seedbed_sown_noise}.")
    if p.seedbed_dip_noise is not None and p.seedbed_dip_noise < 0:
        raise ConfigError(f"seedbed_dip_noise must be >= 0 or null (off), got {p.seedbed_dip_noise}.")


def _check_pond_crop(days: float | None, runs: int, canopy_days: float | None, young_days: float | None = None,
                     old_days: float | None = None) -> None:
    if (days is not None and days <= 0) or int(runs) < 1:
        raise ConfigError(f"pond_crop_days must be > 0 or null (off) and pond_crop_runs >= 1, got {days} and {runs}.")
    if canopy_days is not None and canopy_days <= 0:
        raise ConfigError(f"pond_canopy_days must be > 0 or null (off), got {canopy_days}.")
    if young_days is not None and young_days <= 0:
        raise ConfigError(f"pond_young_days must be > 0 or null (off), got {young_days}.")
    if old_days is not None and old_days <= 0:
        raise ConfigError(f"pond_old_days must be > 0 or null (off), got {old_days}.")


def _check_young(rise_db: float | None, flood_days: float, year_days: float | None,
                 canopy_days: float | None = None, max_rise_days: float = 0.0, last_pass_dip_db: float | None = None,
                 last_pass_noise: float = 0.0, end_days: float | None = None) -> None:
    if (rise_db is not None and rise_db < 0) or flood_days <= 0:
        raise ConfigError(f"young_rise_db must be >= 0 or null (off) and young_flood_days > 0, got {rise_db} "
                          f"and {flood_days}.")
    if year_days is not None and not year_days > 0:
        raise ConfigError(f"cycle_year_days must be > 0 (days) or null (off), got {year_days}.")
    if canopy_days is not None and canopy_days < max_rise_days:
        raise ConfigError(f"cycle_canopy_days must be at least max_rise_days ({max_rise_days}) or null (off), "
                          f"got {canopy_days}.")
    if (last_pass_dip_db is not None and last_pass_dip_db < 0) or last_pass_noise < 0:
        raise ConfigError(f"cycle_last_pass_dip_db must be >= 0 or null (off) and cycle_last_pass_noise >= 0, "
                          f"got {last_pass_dip_db} and {last_pass_noise}.")
    if end_days is not None and end_days < 0:
        raise ConfigError(f"young_end_days must be >= 0 or null (off), got {end_days}.")


def _check_last_pass_vv(p: SarRiceParams) -> None:
    if (p.cycle_last_pass_vv_db is not None and p.cycle_last_pass_vv_db < 0) or p.cycle_last_pass_vh_step_db < 0:
        raise ConfigError(f"cycle_last_pass_vv_db must be >= 0 or null (off) and cycle_last_pass_vh_step_db >= 0, "
                          f"got {p.cycle_last_pass_vv_db} and {p.cycle_last_pass_vh_step_db}.")
    if p.cycle_last_pass_deep_tail_db is not None and p.cycle_last_pass_deep_tail_db < 0:
        raise ConfigError(f"cycle_last_pass_deep_tail_db must be >= 0 or null (off), got {p.cycle_last_pass_deep_tail_db}.")
    if ((p.cycle_last_pass_deep_db is not None and p.cycle_last_pass_deep_db < 0) or p.cycle_last_pass_deep_vv_db < 0
            or min(p.cycle_last_pass_deep_noise_db, p.cycle_last_pass_vv_noise_db) < 0):
        raise ConfigError(f"cycle_last_pass_deep_db must be >= 0 or null (off), cycle_last_pass_deep_vv_db, "
                          f"cycle_last_pass_deep_noise_db and cycle_last_pass_vv_noise_db >= 0, got "
                          f"{p.cycle_last_pass_deep_db}, {p.cycle_last_pass_deep_vv_db}, "
                          f"{p.cycle_last_pass_deep_noise_db} and {p.cycle_last_pass_vv_noise_db}.")


def _check_vv(p: SarRiceParams) -> None:
    if ((p.vv_dip_db is not None and p.vv_dip_db < 0) or min(p.vv_dip_noise, p.vv_flood_noise) < 0
            or (p.vv_flood_db is not None and p.vv_flood_db <= 0) or not 0 <= p.vv_level_quantile <= 1):
        raise ConfigError(f"vv_dip_db must be >= 0 or null (off), vv_dip_noise and vv_flood_noise >= 0, "
                          f"vv_flood_db > 0 or null and vv_level_quantile within [0, 1], got {p.vv_dip_db}, "
                          f"{p.vv_dip_noise}, {p.vv_flood_noise}, {p.vv_flood_db} and {p.vv_level_quantile}.")
    if (p.vv_young_db is not None and p.vv_young_db <= 0) or p.vv_young_noise < 0:
        raise ConfigError(f"vv_young_db must be > 0 or null (off) and vv_young_noise >= 0, got {p.vv_young_db} "
                          f"and {p.vv_young_noise}.")
    if p.vv_cut_soil_db is not None and not -30.0 <= p.vv_cut_soil_db <= 0.0:
        raise ConfigError(f"vv_cut_soil_db must be a VV level within [-30, 0] dB or null (off), got {p.vv_cut_soil_db}.")


def _check_long_spells(p: SarRiceParams) -> None:
    if p.river_flood_days is not None and not p.river_flood_days > 0:
        raise ConfigError(f"river_flood_days must be > 0 (days) or null (off), got {p.river_flood_days}.")
    if p.ponded_end_days is not None and not p.ponded_end_days >= p.young_flood_days:
        raise ConfigError(f"ponded_end_days must be at least young_flood_days ({p.young_flood_days}) or null "
                          f"(off), got {p.ponded_end_days}.")
