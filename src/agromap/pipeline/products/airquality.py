"""Air-quality builders: trace-gas columns, satellite-estimated PM2.5, and its AQI sub-index."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from ...errors import MissingBandError
from ...io.layers import LayerSpec
from ...styles import AQI, Style
from ..schema import Strict
from .base import AreaContext, PlannedLayer, Product, each_date, per_time

if TYPE_CHECKING:  # imported where used: registering products must not load the array stack
    import xarray as xr

__all__ = ["GAS_PRODUCTS", "TraceGasLayer", "Pm25Layer", "AqiLayer", "trace_gas", "pm25", "aqi", "PRODUCTS"]

#: layer-config gas -> S5P product key.
GAS_PRODUCTS = {"no2": "NO2", "co": "CO", "so2": "SO2", "hcho": "HCHO", "aai": "AER_AI"}


class TraceGasLayer(Strict):
    """A trace-gas column per day, or monthly means with observation counts."""

    product: Literal["trace_gas"]
    gas: Literal["no2", "co", "so2", "hcho", "aai"]
    """The Sentinel-5P product: tropospheric NO2, CO, SO2, HCHO columns or the UV aerosol index."""
    time: Literal["each", "monthly"] = "each"
    """``each``: one layer per day; ``monthly``: the mean of each month with its observation count."""


class Pm25Layer(Strict):
    """Satellite-estimated PM2.5 from AOD: a scaling factor, or a model fitted by `agromap pm25-fit`."""

    product: Literal["pm25"]
    method: Literal["eta", "model"]
    """``eta``: PM2.5 = eta x AOD; ``model``: a regression fitted on stations by `agromap pm25-fit`."""
    eta: Annotated[float, Field(gt=0)] | None = None
    """µg m-3 per unit AOD (method eta)."""
    model: str | None = None
    """JSON model file (method model)."""

    @model_validator(mode="after")
    def _complete(self) -> Pm25Layer:
        if self.method == "eta" and self.eta is None:
            raise ValueError("method: eta needs eta: <µg m-3 per unit AOD>")
        if self.method == "model" and not self.model:
            raise ValueError("method: model needs model: <path to a JSON model from agromap pm25-fit>")
        return self


class AqiLayer(Pm25Layer):
    """AQI sub-index and category of the satellite PM2.5 estimate (an estimate, never a regulatory AQI)."""

    product: Literal["aqi"]  # type: ignore[assignment]
    standard: Literal["cpcb:2014", "epa:2024"] = "cpcb:2014"
    """Breakpoint table: India's National AQI (CPCB 2014) or the US EPA AQI (2024 PM2.5 revision)."""


def _need(ctx: AreaContext, band: str, what: str) -> xr.DataArray:
    if band not in ctx.ds:
        raise MissingBandError(f"area {ctx.area.name}: {what} needs the {band!r} band from its inputs; the area has "
                               f"{sorted(map(str, ctx.ds.data_vars))}.")
    return ctx.ds[band]


def trace_gas(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the monthly-mean Sentinel-5P column layers of one trace gas."""
    import pandas as pd
    import xarray as xr

    from ...airquality.s5p import LAYER_SPECS, monthly_mean
    from ...sensors.s5p import S5P_PRODUCTS

    prod = S5P_PRODUCTS[GAS_PRODUCTS[layer.gas]]
    band = prod.band
    column = _need(ctx, band, f"trace_gas {layer.gas}")
    spec = LAYER_SPECS[prod.layer]
    if layer.time == "each":
        return per_time(ctx, layer, column, lambda a: (a, spec, {"qa_threshold": prod.qa_threshold}))
    daily = xr.Dataset({band: column, "weight": _need(ctx, f"{band}_weight", "monthly means"),
                        "count": _need(ctx, f"{band}_count", "monthly means")})
    monthly = monthly_mean(daily)
    config = layer.model_dump(mode="json")
    out = []
    for i, t in enumerate(pd.to_datetime(monthly["time"].values).tz_localize("UTC")):
        end = (t + pd.offsets.MonthEnd(0))
        props = {"period": f"{t:%Y-%m}", "qa_threshold": prod.qa_threshold}
        out.append(PlannedLayer(ctx.area.name, f"{prod.layer}_monthly_{t:%Y%m}", spec, monthly[band].isel(time=i),
                                t, end, "monthly-mean", props, config))
        out.append(PlannedLayer(ctx.area.name, f"{prod.layer}_count_{t:%Y%m}", LAYER_SPECS["obs_count"],
                                monthly["count"].isel(time=i), t, end, "monthly-count", props, config))
    return out


def _pm25(ctx: AreaContext, layer: Any) -> xr.DataArray:
    from ...airquality.pm25 import estimate_pm25, load_model, pm25_from_eta

    aod = _need(ctx, "aod", f"{layer.product}")
    if layer.method == "eta":
        return pm25_from_eta(aod, float(layer.eta))
    return estimate_pm25(aod, load_model(ctx.resolve(layer.model)))


def pm25(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the satellite PM2.5 estimate layers."""
    from ...airquality.pm25 import LAYER_SPECS

    props = {"method": layer.method, "eta": layer.eta, "estimate": True}
    return each_date(ctx, layer, _pm25(ctx, layer), lambda a: (a, LAYER_SPECS["pm25_sat"], props))


def aqi(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the PM2.5 sub-index layers of the chosen AQI standard."""
    import numpy as np

    from ...airquality.aqi import LAYER_SPECS, aqi_from_concentrations

    short = layer.standard.split(":")[0]
    estimate = _pm25(ctx, layer).astype(np.float32).assign_attrs(units="µg m-3")
    out: list[PlannedLayer] = []
    config = layer.model_dump(mode="json")
    props = {"standard": layer.standard, "estimate": True,
             "note": "satellite-estimated PM2.5 sub-index, not a regulatory AQI"}
    for i, t in enumerate(ctx.times):
        result = aqi_from_concentrations({"pm25": estimate.isel(time=i)}, layer.standard,
                                         require_min_pollutants=False)
        for name, var in ((f"aqi_pm25_subindex_{short}", "pm25_subindex"), (f"aqi_category_{short}", "category")):
            out.append(PlannedLayer(ctx.area.name, f"{name}_{t:%Y%m%d}", LAYER_SPECS[name], result[var], t, t,
                                    "aqi-" + layer.standard, {**props, "scene_id": ctx.scene_id(i)}, config,
                                    tags={"NOTE": props["note"]}))
    return out


def _gas_specs() -> Mapping[str, LayerSpec]:
    from ...airquality.s5p import LAYER_SPECS

    return LAYER_SPECS


def _pm25_specs() -> Mapping[str, LayerSpec]:
    from ...airquality.aod import LAYER_SPECS as AOD_SPECS
    from ...airquality.pm25 import LAYER_SPECS

    return {**LAYER_SPECS, **AOD_SPECS}  # the AOD it is estimated from, for legends of the input


def _aqi_specs() -> Mapping[str, LayerSpec]:
    from ...airquality.aqi import LAYER_SPECS

    return LAYER_SPECS


_HEAT = "heat"
PRODUCTS: tuple[Product, ...] = (
    Product("trace_gas", TraceGasLayer, trace_gas, _gas_specs, {
        "no2_trop_column": Style(0.0, 3e-4, _HEAT), "so2_column": Style(0.0, 1e-3, _HEAT),
        "co_column": Style(0.0, 0.1, _HEAT), "hcho_column": Style(0.0, 3e-4, _HEAT),
        "uv_aerosol_index": Style(-2.0, 5.0, _HEAT),
        # Daily overpasses: at most about 31 observations per cell and month, more where swaths overlap.
        "obs_count": Style(0.0, 60.0, "viridis")}),
    Product("pm25", Pm25Layer, pm25, _pm25_specs,
            {"pm25_sat": Style(0.0, 250.0, _HEAT), "aod550": Style(0.0, 2.0, _HEAT)}),
    # aqi_ styles every aqi_<pollutant>_subindex_<standard>; aqi_qa is a bit field.
    Product("aqi", AqiLayer, aqi, _aqi_specs, {"aqi_value": AQI, "aqi_": AQI, "aqi_qa": Style(0.0, 255.0, "viridis")}),
)
