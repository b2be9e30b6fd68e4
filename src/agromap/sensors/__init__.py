"""Sensor knowledge in one place: band names, scale/offset rules and QA bit layouts.

Science code never sees ``B8A`` or ``SR_B5``: readers rename bands to the STAC eo
common names listed here and apply the radiometry decided here.
"""

from .._lazy import attach

__all__, __getattr__, __dir__ = attach(__name__, {
    # radiometry
    "radiometry_from_metadata": ".s2_l2a",
    "read_mtl": ".landsat_c2",
    "to_db": ".s1",
    "to_linear": ".s1",
})
