"""Unit spellings: one canonical form, so ``"µg/m³"``, ``"ug m-3"`` and ``"ug.m-3"`` compare equal.

Station tables, Sentinel-5P files and Level-3 rasters spell units in many ways; readers compare the
canonical forms rather than the raw strings.
"""

from __future__ import annotations

import re

__all__ = ["normalise_unit"]

_UNIT_SUBS = (("micrograms", "ug"), ("milligrams", "mg"), ("µ", "u"), ("μ", "u"), ("⁻", "-"), ("²", "2"), ("³", "3"),
              ("^", ""), ("**", ""), ("molecules", "molec"), ("molec.", "molec"), ("·", " "), ("*", " "), (".", " "))  # fmt: skip

_ALIASES = {"ppbv": "ppb", "ppmv": "ppm"}  # volume mixing ratios are what ppb/ppm mean for gases


def normalise_unit(unit: str) -> str:
    """Canonical spelling of a unit: ``"µg/m³"`` -> ``"ug m-3"``, ``"mol/m2"`` -> ``"mol m-2"``, ``"ppbv"`` -> ``"ppb"``.

    Parameters
    ----------
    unit : str
        A unit as spelled in a file or an ``attrs["units"]`` (``"µg m⁻³"``, ``"micrograms/m3"``, ...).

    Returns
    -------
    str
        Lower case, ASCII ``u`` for micro, ``/x`` written ``x-1``, single spaces.
    """
    u = str(unit).strip().lower()
    for a, b in _UNIT_SUBS:
        u = u.replace(a, b)
    u = re.sub(r"/\s*([a-z]+)(\d*)", lambda m: f" {m.group(1)}-{m.group(2) or '1'}", u)
    u = " ".join(u.split())
    return _ALIASES.get(u, u)
