"""Sentinel-1 band names: the polarisations and the incidence-angle band a scene may carry.

Apart from :mod:`agromap.sensors.s1` (which imports the array stack) so that checking a
configuration's band maps stays light; :mod:`agromap.sensors.s1` re-exports both.
"""

from __future__ import annotations

__all__ = ["POLARISATIONS", "INCIDENCE_BAND"]

POLARISATIONS = ("vv", "vh", "hh", "hv")
#: Band name of the incidence angle (degrees from the ellipsoid normal) that may ride with a scene.
INCIDENCE_BAND = "angle"
