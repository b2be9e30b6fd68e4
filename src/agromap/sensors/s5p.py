"""Sentinel-5P TROPOMI products: variables, units and the per-product QA rule.

docs/science/air_quality.md#sentinel-5p-tropomi. The readers (:mod:`agromap.io.s5p_read`) and the
QA filter and binning (:mod:`agromap.airquality.s5p`) all take their product facts from
:data:`S5P_PRODUCTS`; a swath carries its product through ``attrs`` (:func:`product_attrs`,
:func:`product_from_attrs`), so a custom :class:`S5PProduct` survives from reading to binning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, WrongUnitsError
from ..units import normalise_unit

__all__ = [
    "S5PProduct", "S5P_PRODUCTS", "QA_THRESHOLDS", "MIN_COLUMN", "COLUMN_NOTE", "L3_UNITS", "get_s5p_product",
    "product_attrs", "product_from_attrs", "l3_unit_factor",
]  # fmt: skip

MIN_COLUMN = -0.001
"""Columns below this (mol m-2) are outliers and dropped; other negative columns are real noise and kept."""
COLUMN_NOTE = "vertical column density, not a surface concentration: never use it in a µg m-3 AQI table"


@dataclass(frozen=True)
class S5PProduct:
    """One TROPOMI L2 product: variable, unit and QA rule (docs/science/air_quality.md#sentinel-5p-tropomi)."""

    key: str
    """Short name and band name stem (``"NO2"``); the common band name is ``key.lower()``."""
    product_type: str
    """File-name product type (``"L2__NO2___"``)."""
    variable: str
    """Variable in the ``PRODUCT`` group."""
    qa_threshold: float
    """Keep pixels with ``qa_value > qa_threshold``, compared in whole percent (the stored precision)."""
    units: str
    """Unit of the variable (``"mol m-2"``, ``"1"`` for the aerosol index)."""
    layer: str
    """Output layer name (docs/architecture.md#layer-registry)."""
    min_value: float | None = MIN_COLUMN
    """Values below this are outliers and dropped; ``None`` for no lower bound."""

    @property
    def band(self) -> str:
        """Common band name of the gridded variable (``"no2"``)."""
        return self.key.lower()

    @property
    def note(self) -> str:
        """What the values are, for the ``note`` attribute of gridded and Level-3 arrays."""
        return COLUMN_NOTE if self.units != "1" else "aerosol index, unitless"


#: The per-product QA table. SO2, CO, AER_AI and HCHO thresholds are GEE's rules (unverified).
S5P_PRODUCTS: Mapping[str, S5PProduct] = {
    p.key: p
    for p in (
        S5PProduct("NO2", "L2__NO2___", "nitrogendioxide_tropospheric_column", 0.75, "mol m-2", "no2_trop_column"),
        S5PProduct("CO", "L2__CO____", "carbonmonoxide_total_column", 0.5, "mol m-2", "co_column"),
        S5PProduct("SO2", "L2__SO2___", "sulfurdioxide_total_vertical_column", 0.5, "mol m-2", "so2_column"),
        S5PProduct("AER_AI", "L2__AER_AI", "aerosol_index_354_388", 0.8, "1", "uv_aerosol_index", None),
        S5PProduct("HCHO", "L2__HCHO__", "formaldehyde_tropospheric_vertical_column", 0.5, "mol m-2",
                   "hcho_column"),
    )
}
QA_THRESHOLDS: Mapping[str, float] = {k: p.qa_threshold for k, p in S5P_PRODUCTS.items()}

_AVOGADRO = 6.02214076e23
#: Accepted L3 raster units -> factor to mol m-2 (molec cm-2 = mol m-2 x N_A x 1e-4; docs/science/air_quality.md).
L3_UNITS: Mapping[str, float] = {
    "mol m-2": 1.0, "mmol m-2": 1e-3, "umol m-2": 1e-6, "molec cm-2": 1e4 / _AVOGADRO,
    "du": 4.4615e-4,  # Dobson unit: 2.6867e20 molec m-2
}  # fmt: skip


def get_s5p_product(name: str) -> S5PProduct:
    """The product called ``name`` (``"NO2"``, ``"no2"`` or the file type ``"L2__NO2___"``).

    Raises
    ------
    ConfigError
        ``name`` is none of :data:`S5P_PRODUCTS`.
    """
    key = str(name).upper().replace("L2__", "").strip("_")
    if key not in S5P_PRODUCTS:
        raise ConfigError(f"unknown S5P product {name!r}; known: {', '.join(S5P_PRODUCTS)}.")
    return S5P_PRODUCTS[key]


def product_attrs(prod: S5PProduct) -> dict[str, Any]:
    """The ``attrs`` by which a swath remembers the product it was read as."""
    return {"product": prod.key, "product_type": prod.product_type, "variable": prod.variable,
            "units": prod.units, "layer": prod.layer, "product_qa_threshold": prod.qa_threshold,
            "product_min_value": "none" if prod.min_value is None else prod.min_value}


def product_from_attrs(attrs: Mapping[str, Any]) -> S5PProduct:
    """The product a swath was read as, from the ``attrs`` written by :func:`product_attrs`."""
    lo = attrs["product_min_value"]
    return S5PProduct(attrs["product"], attrs["product_type"], attrs["variable"], float(attrs["product_qa_threshold"]),
                      attrs["units"], attrs["layer"], None if lo == "none" else float(lo))


def l3_unit_factor(prod: S5PProduct, units: str, where: str) -> float:
    """Factor from a Level-3 raster's declared ``units`` to the product unit (mol m-2 for columns).

    Raises
    ------
    WrongUnitsError
        ``units`` is not ``"1"`` for the aerosol index, or not one of :data:`L3_UNITS` for a column.
    """
    u = normalise_unit(units)
    if prod.units == "1":
        if u != "1":
            raise WrongUnitsError(f"{where}: {prod.key} is unitless, got units={units!r}; pass units='1'.")
        return 1.0
    if u in L3_UNITS:
        return L3_UNITS[u]
    raise WrongUnitsError(f"{where}: units={units!r} is not a column unit; use one of {sorted(L3_UNITS)} "
                          "(a surface concentration in µg m-3 is not an S5P column).")
