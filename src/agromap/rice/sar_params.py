"""Thresholds and uncertainty scales of the Sentinel-1 VH rice rule
(:func:`agromap.rice.rules_sar.sar_rice_rule`).

One frozen dataclass, :class:`SarRiceParams`, whose defaults are the published starting values or
the documented design values (docs/rice_rules.md argues each); the rule's module re-exports it.
Its fields come in eight parts, each a frozen dataclass in a module of its own:

- :class:`~agromap.rice.sar_growth_params.SarFloodGrowthParams`: the flood's depth and persistence,
  the canopy's level and rise, the growth's timing and pace;
- :class:`~agromap.rice.sar_seedbed_params.SarSeedbedParams`: a direct-seeded field's seedbed;
- :class:`~agromap.rice.sar_spell_params.SarSpellParams`: the levels around the flood (regrowth,
  fallow) and the dark spell's length;
- :class:`~agromap.rice.sar_vv_params.SarVvParams`: the VV terms;
- :class:`~agromap.rice.sar_canopy_params.SarCanopyParams`: the canopy's level, run and harvest, a
  young crop at the series' end, the year's cycle, and the uncertainty scales;
- :class:`~agromap.rice.sar_water_params.SarWaterParams`: the water, pond and built-up masks;
- :class:`~agromap.rice.sar_reading_params.SarReadingParams`: the shape series and the pixel's
  noise, candidate minima and seasons, orbit tracks, mixed pixels;
- :class:`~agromap.rice.sar_last_pass_params.SarLastPassParams`: the series' last passes, a river's
  flood and rain ponded at the series' end.

The parts are no settings of their own: code takes a ``SarRiceParams``, which alone runs the checks
(:mod:`agromap.rice.sar_params_checks`). docs/rice_parameters.md lists the fields part by part, from
the docstrings under them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sar_canopy_params import SarCanopyParams
from .sar_growth_params import SarFloodGrowthParams
from .sar_last_pass_params import SarLastPassParams
from .sar_params_checks import check_sar_params
from .sar_reading_params import SarReadingParams
from .sar_seedbed_params import SarSeedbedParams
from .sar_spell_params import SarSpellParams
from .sar_vv_params import SarVvParams
from .sar_water_params import SarWaterParams

__all__ = ["SarRiceParams"]


# A dataclass takes the fields of its bases from the last base to the first: flood and growth,
# seedbed, spell, VV, canopy, masks, reading, last passes, the order of the constructor, of ``repr``
# and ``asdict`` and of the parameter page.
@dataclass(frozen=True)
class SarRiceParams(SarLastPassParams, SarReadingParams, SarWaterParams, SarCanopyParams, SarVvParams,
                    SarSpellParams, SarSeedbedParams, SarFloodGrowthParams):
    """Thresholds and uncertainty scales of the VH rule (defaults: published starting values and
    the scales argued in docs/rice_rules.md; calibrate per AOI).
    """

    def __post_init__(self) -> None:
        check_sar_params(self)
