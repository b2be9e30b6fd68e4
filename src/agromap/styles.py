"""Fixed display styles: colour ramps and the stretch of each continuous product.

A :class:`Style` is a fixed range of decoded values and a palette, never derived from the data,
so two dates of one product compare by eye. The product plug-ins name their styles with these
(``Product.quicklook_style``); :mod:`agromap.quicklook`, :mod:`agromap.plot` and the report draw
with them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError

__all__ = ["Style", "PALETTES", "VEGETATION", "WATER", "SIGNED", "FRACTION", "DECIBEL", "AQI"]

#: Colour ramps as ``(position 0-1, "RRGGBB")`` stops, interpolated linearly in RGB.
PALETTES: Mapping[str, tuple[tuple[float, str], ...]] = {
    # brown (bare soil, water) -> pale yellow -> green -> dark green; NDVI 0.2 sits at 0.36
    "green": ((0.0, "8C6D31"), (0.18, "D9C48B"), (0.36, "EEF2B8"), (0.55, "9BCB6B"), (0.75, "3C9A3C"),
              (1.0, "0B4F1C")),
    # sand (dry) -> light blue at 0 -> dark blue (water)
    "blue": ((0.0, "F2EBDD"), (0.5, "C6DBEF"), (0.75, "4292C6"), (1.0, "08306B")),
    "grey": ((0.0, "000000"), (1.0, "FFFFFF")),
    "viridis": ((0.0, "440154"), (0.25, "3B528B"), (0.5, "21918C"), (0.75, "5EC962"), (1.0, "FDE725")),
    # ColorBrewer YlOrRd: concentrations and indices of pollution
    "heat": ((0.0, "FFFFCC"), (0.25, "FED976"), (0.5, "FD8D3C"), (0.75, "E31A1C"), (1.0, "800026")),
    # ColorBrewer BrBG: signed normalised differences other than vegetation and water
    "brbg": ((0.0, "8C510A"), (0.25, "D8B365"), (0.5, "F5F5F5"), (0.75, "5AB4AC"), (1.0, "01665E")),
    # ColorBrewer RdYlGn: condition indices (VCI), 0 bad, 1 good
    "rdylgn": ((0.0, "A50026"), (0.25, "F46D43"), (0.5, "FEE08B"), (0.75, "A6D96A"), (1.0, "1A9850")),
    # dNBR: regrowth green, unburned pale, severity yellow -> red -> dark red
    "burn": ((0.0, "1A9850"), (0.22, "D9EF8B"), (0.33, "FFFFBF"), (0.55, "FDAE61"), (0.8, "D73027"),
             (1.0, "67001F")),
}


@dataclass(frozen=True)
class Style:
    """Fixed display range (decoded physical values) and palette of a continuous product."""

    vmin: float
    """Value drawn with the first palette colour; lower values saturate."""
    vmax: float
    """Value drawn with the last palette colour; higher values saturate."""
    palette: str = "viridis"
    """A key of :data:`PALETTES`."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.vmin) and math.isfinite(self.vmax) and self.vmax > self.vmin):
            raise ConfigError(f"quicklook stretch needs finite vmin < vmax, got ({self.vmin}, {self.vmax}).")
        if self.palette not in PALETTES:
            raise ConfigError(f"unknown palette {self.palette!r}; known: {', '.join(sorted(PALETTES))}.")


#: Shared fixed styles, used by the product plug-ins' ``quicklook_style`` tables.
VEGETATION, WATER, SIGNED = Style(-0.2, 0.9, "green"), Style(-1.0, 1.0, "blue"), Style(-1.0, 1.0, "brbg")
FRACTION, DECIBEL, AQI = Style(0.0, 1.0, "viridis"), Style(-25.0, 0.0, "grey"), Style(0.0, 500.0, "heat")
