"""Consistency checks of :class:`agromap.rice.optical_params.OpticalRiceParams`, kept apart from the
thresholds themselves so that the parameter modules stay readable lists of values and reasons.

Each check raises :class:`agromap.errors.ConfigError` with the offending values and the allowed range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .optical_params import OpticalRiceParams

__all__ = ["check_optical_params"]


def check_optical_params(p: OpticalRiceParams) -> None:
    """Raise :class:`ConfigError` if the optical rule's parameters contradict each other or their ranges."""
    if p.growth_rule not in ("xiao", "ndvi", "either", "both"):
        raise ConfigError(f"growth_rule {p.growth_rule!r} is not one of 'xiao', 'ndvi', 'either', 'both'.")
    if not 1 <= int(p.max_seasons) <= 12:
        raise ConfigError(f"max_seasons must be within 1-12, got {p.max_seasons}.")
    if p.flood_stubble_days is not None and not p.flood_stubble_days > 0:
        raise ConfigError(f"flood_stubble_days must be > 0 days (or null), got {p.flood_stubble_days}.")
    if not 0 <= p.gap_season_min_gap <= p.gap_season_max_gap <= p.gap_season_days:
        raise ConfigError("gap_season_min_gap <= gap_season_max_gap <= gap_season_days (days, >= 0) is needed, got "
                          f"{p.gap_season_min_gap}, {p.gap_season_max_gap}, {p.gap_season_days}.")
    if not p.seedbed_max_days > 0:
        raise ConfigError(f"seedbed_max_days must be > 0 days, got {p.seedbed_max_days}.")
    for name in ("growth_days", "peak_window_days", "trough_days", "min_season_days"):
        if not getattr(p, name) > 0:
            raise ConfigError(f"{name} must be > 0 days, got {getattr(p, name)}.")
    for name in ("water_fraction", "forest_fraction"):
        if not 0 < getattr(p, name) <= 1:
            raise ConfigError(f"{name} must be a fraction in (0, 1], got {getattr(p, name)}.")
    if p.pond_crop_green_days is not None and not p.pond_crop_green_days > 0:
        raise ConfigError(f"pond_crop_green_days must be > 0 days (or null), got {p.pond_crop_green_days}.")
    if p.end_flood_days is not None and not p.end_flood_days > 0:
        raise ConfigError(f"end_flood_days must be > 0 days (or null), got {p.end_flood_days}.")
    if not p.end_flood_link_days >= 0:
        raise ConfigError(f"end_flood_link_days must be >= 0 days, got {p.end_flood_link_days}.")
    negative = [f"{n}={getattr(p, n)}" for n in ("end_flood_rise", "end_canopy_min_gap", "end_flood_deep_lswi",
                                                 "end_sown_rise")
                if getattr(p, n) is not None and not getattr(p, n) >= 0]
    if negative:
        raise ConfigError(f"{', '.join(negative)}: must be >= 0 (or null).")
    if p.sparse_max_dates is not None and not 2 <= int(p.sparse_max_dates) <= 10000:
        raise ConfigError(f"sparse_max_dates must be a count of clear dates >= 2 (or null), got {p.sparse_max_dates}.")
    _check_wet_canopy(p)
    _check_end_sown(p)


def _check_end_sown(p: OpticalRiceParams) -> None:
    """The span from a direct-seeded field's levelling flood to its second flood (``end_sown_rise``)."""
    if not 0 <= p.end_sown_min_days <= p.end_sown_max_days:
        raise ConfigError("end_sown_min_days <= end_sown_max_days (days, >= 0) is needed, got "
                          f"{p.end_sown_min_days}, {p.end_sown_max_days}.")


def _check_wet_canopy(p: OpticalRiceParams) -> None:
    """The wet canopy's reading: a fraction of NDVI below 1 (a clear canopy's EVI stays below its NDVI), and a share;
    the share of flooded dates before a puddled field's water (``end_flood_deep_fallow``).
    """
    if not 0 <= p.end_flood_deep_fallow <= 1:
        raise ConfigError(f"end_flood_deep_fallow must be a share in [0, 1], got {p.end_flood_deep_fallow}.")
    if p.wet_canopy_evi_ratio is not None and not 0 <= p.wet_canopy_evi_ratio < 1:
        raise ConfigError(f"wet_canopy_evi_ratio must be a fraction in [0, 1) (or null), got {p.wet_canopy_evi_ratio}.")
    if p.cycle_wet_share is not None and not 0 <= p.cycle_wet_share <= 1:
        raise ConfigError(f"cycle_wet_share must be a share in [0, 1] (or null), got {p.cycle_wet_share}.")
    if p.young_reflood_days is not None and not p.young_reflood_days > 0:
        raise ConfigError(f"young_reflood_days must be > 0 days (or null), got {p.young_reflood_days}.")
