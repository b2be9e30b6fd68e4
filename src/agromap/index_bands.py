"""The common band names each spectral index reads, in the order its function takes them.

Kept apart from :mod:`agromap.indices` (which builds :data:`agromap.indices.INDICES` from this
table) so that checking what a configuration's layers need does not import the array stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["INDEX_BANDS"]

#: Index name -> the bands it reads (docs/science/indices_and_masks.md#common-band-names).
INDEX_BANDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "ndvi": ("nir", "red"),
    "evi": ("nir", "red", "blue"),
    "lswi": ("nir", "swir16"),
    "ndwi_mcfeeters": ("green", "nir"),
    "ndwi": ("green", "nir"),
    "mndwi": ("green", "swir16"),
    "nbr": ("nir", "swir22"),
    "nbr2": ("swir16", "swir22"),
    "bais2": ("rededge2", "rededge3", "nir08", "red", "swir22"),
    "savi": ("nir", "red"),
    "ndbi": ("swir16", "nir"),
    "ndsi": ("green", "swir16"),
    "ndfi": ("red", "swir22"),
    "mirbi": ("swir22", "swir16"),
})
