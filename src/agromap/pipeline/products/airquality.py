"""Air-quality builders: trace-gas columns, satellite-estimated PM2.5, and its AQI sub-index."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...errors import MissingBandError
from ..aq_inputs import GAS_PRODUCTS
from . import AreaContext, PlannedLayer
from .optical import _per_time

__all__ = ["trace_gas", "pm25", "aqi"]


class _Each:
    """Per-date naming for layer configs without a ``time`` field."""

    time = "each"

    def __init__(self, layer: Any) -> None:
        self._layer = layer

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return self._layer.model_dump(mode=mode)


def _need(ctx: AreaContext, band: str, what: str) -> xr.DataArray:
    if band not in ctx.ds:
        raise MissingBandError(f"area {ctx.area.name}: {what} needs the {band!r} band from its inputs; the area has "
                               f"{sorted(map(str, ctx.ds.data_vars))}.")
    return ctx.ds[band]


def trace_gas(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the monthly-mean Sentinel-5P column layers of one trace gas."""
    from ...airquality.s5p import LAYER_SPECS, S5P_PRODUCTS, monthly_mean

    prod = S5P_PRODUCTS[GAS_PRODUCTS[layer.gas]]
    band = prod.band
    column = _need(ctx, band, f"trace_gas {layer.gas}")
    spec = LAYER_SPECS[prod.layer]
    if layer.time == "each":
        return _per_time(ctx, layer, column, lambda a: (a, spec, {"qa_threshold": prod.qa_threshold}))
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
    return _per_time(ctx, _Each(layer), _pm25(ctx, layer), lambda a: (a, LAYER_SPECS["pm25_sat"], props))


def aqi(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the PM2.5 sub-index layers of the chosen AQI standard."""
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
                                    "aqi-" + layer.standard, {**props, "scene_id": ctx.scene_id(i)}, config))
    return out
