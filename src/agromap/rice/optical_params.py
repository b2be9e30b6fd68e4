"""Thresholds of the optical rice rule (:func:`agromap.rice.rules_optical.optical_rice_rule`).

One frozen dataclass, :class:`OpticalRiceParams`, whose defaults are the published values or the
documented design values (docs/rice_rules.md says which is which); the rule's module re-exports it.
Its fields come in eight parts, each a frozen dataclass in a module of its own:

- :class:`~agromap.rice.optical_cycle_params.OpticalCycleParams`: Xiao's flood signal, the growth
  confirmations (Xiao's EVI test, the NDVI trough and canopy), the seasons' spacing and count;
- :class:`~agromap.rice.optical_mask_params.OpticalMaskParams`: the water, evergreen forest and shrub
  masks, the clear-sky tests (cloud, haze, snow, invalid EVI), an onset on the series' first date
  and the masks outside confirmed cycles;
- :class:`~agromap.rice.optical_undated_params.OpticalUndatedParams`: the undated evidence across a
  cloud gap, the dry-down and green-spell limits, a crop hidden in a gap;
- :class:`~agromap.rice.optical_wet_canopy_params.OpticalWetCanopyParams`: no vegetation right after
  an onset, a dated cycle's canopy standing in water, the undated wet canopy;
- :class:`~agromap.rice.optical_harvest_params.OpticalHarvestParams`: the harvest, a flooded field on
  a sparse series, a flood then stubble, a flooded seedbed;
- :class:`~agromap.rice.optical_gap_season_params.OpticalGapSeasonParams`: a season hidden in a gap,
  a field flooded again after the gap, a young crop before it;
- :class:`~agromap.rice.optical_series_ends_params.OpticalSeriesEndsParams`: seasons at the series'
  start and end, the forest fraction of a pixel that shows a field, an onset across a long interval,
  a pond then one rice crop;
- :class:`~agromap.rice.optical_end_flood_params.OpticalEndFloodParams`: a flood cut by the series'
  end and the water mask, the undated evidence's wet share, LSWI's NIR band.

The parts are no settings of their own: code takes an ``OpticalRiceParams``, which alone runs the
checks (:mod:`agromap.rice.optical_params_checks`). docs/rice_parameters.md lists the fields part by
part, from the docstrings under them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .optical_cycle_params import GrowthRule, OpticalCycleParams
from .optical_end_flood_params import OpticalEndFloodParams
from .optical_gap_season_params import OpticalGapSeasonParams
from .optical_harvest_params import OpticalHarvestParams
from .optical_mask_params import OpticalMaskParams
from .optical_params_checks import check_optical_params
from .optical_series_ends_params import OpticalSeriesEndsParams
from .optical_undated_params import OpticalUndatedParams
from .optical_wet_canopy_params import OpticalWetCanopyParams

__all__ = ["OpticalRiceParams", "GrowthRule"]


# A dataclass takes the fields of its bases from the last base to the first: cycle, masks, undated
# evidence, wet canopy, harvest, gap season, series' ends, end flood, the order of the constructor,
# of ``repr`` and ``asdict`` and of the parameter page.
@dataclass(frozen=True)
class OpticalRiceParams(OpticalEndFloodParams, OpticalSeriesEndsParams, OpticalGapSeasonParams, OpticalHarvestParams,
                        OpticalWetCanopyParams, OpticalUndatedParams, OpticalMaskParams, OpticalCycleParams):
    """Thresholds of the optical rule; defaults: the published values (docs/science/rice.md#optical-flooding-rule)."""

    def __post_init__(self) -> None:
        check_optical_params(self)
