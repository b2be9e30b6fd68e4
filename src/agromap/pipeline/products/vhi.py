"""The Vegetation Health Index product: VCI from NDVI and TCI from the thermal band, each date."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from ...errors import MissingBandError
from ...io.layers import LayerSpec
from ...styles import Style
from ..schema import Strict
from .base import AreaContext, PlannedLayer, Product, each_date

if TYPE_CHECKING:  # loading a configuration must not import the array stack
    import xarray as xr

__all__ = ["VhiLayer", "build", "PRODUCTS"]


class VhiLayer(Strict):
    """Vegetation Health Index of each date (Kogan 1995): VCI from NDVI and TCI from surface temperature."""

    product: Literal["vhi"]
    period: Literal["month", "dekad", "16day", "dayofyear"] = "month"
    """Dates compared with each other for the per-pixel extremes (as for ``vci``)."""
    thermal_band: str = "lwir11"
    """Band of surface or brightness temperature (Landsat Collection 2 ``lwir11``, ST_B10, in K)."""
    vci_weight: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Share of the VCI; the TCI gets the rest (Kogan 1995: 0.5)."""


def build(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """One ``vhi`` layer per date of the area."""
    from ...disaster.drought import vci
    from ...disaster.health import LAYER_SPECS, tci, vhi
    from ...indices import compute_index

    if layer.thermal_band not in ctx.ds:
        raise MissingBandError(f"area {ctx.area.name}: vhi needs the {layer.thermal_band!r} band (surface "
                               f"temperature, e.g. Landsat ST_B10 as lwir11); the area has {sorted(map(str, ctx.ds.data_vars))}.")
    ndvi = compute_index(ctx.ds, "ndvi")
    # The area's QA mask blanks clouds in the optical bands only; a cloud is cold and would read
    # as no heat stress, so the temperature of a date counts only where its NDVI does.
    temperature: xr.DataArray = ctx.ds[layer.thermal_band].where(ndvi.notnull())
    health = vhi(vci(ndvi, period=layer.period), tci(temperature, period=layer.period), weight=layer.vci_weight)
    spec = LAYER_SPECS["vhi"]
    props = {"period": layer.period, "vci_weight": layer.vci_weight, "thermal_band": layer.thermal_band}
    return each_date(ctx, layer, health, lambda a: (a, spec, props))


def _specs() -> Mapping[str, LayerSpec]:
    from ...disaster.health import LAYER_SPECS

    return LAYER_SPECS


# VHI below 40 is drought stress (Kogan 1995): the red half of the ramp.
PRODUCTS: tuple[Product, ...] = (
    Product("vhi", VhiLayer, build, _specs, {"vhi": Style(0.0, 100.0, "rdylgn"), "tci": Style(0.0, 100.0, "rdylgn")}),
)
