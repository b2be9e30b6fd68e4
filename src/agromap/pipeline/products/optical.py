"""Builders for per-date or time-reduced layers: spectral indices, water masks, backscatter."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import xarray as xr

from ... import indices
from ...errors import MissingBandError
from ...io.layers import LayerSpec, get_layer
from ...sensors.s1 import to_db
from ...water import WATER_CLASSES, water_mask
from . import AreaContext, PlannedLayer, reduce_time

__all__ = ["index", "water", "backscatter"]

Finish = Callable[[xr.DataArray], tuple[xr.DataArray, LayerSpec, dict[str, Any]]]


def _per_time(ctx: AreaContext, layer: Any, evidence: xr.DataArray, finish: Finish) -> list[PlannedLayer]:
    """One layer per date (``time: each``) or one reduced layer, named after the spec and dates."""
    times = ctx.times
    config = layer.model_dump(mode="json")
    if layer.time == "each":
        out = []
        for i, t in enumerate(times):
            data, spec, props = finish(evidence.isel(time=i))
            out.append(PlannedLayer(ctx.area.name, f"{spec.name}_{t:%Y%m%d}", spec, data, t, t, "each",
                                    {**props, "scene_id": ctx.scene_id(i)}, config))
        return out
    data, spec, props = finish(reduce_time(evidence, layer.time))
    stem = f"{spec.name}_{layer.time}_{times[0]:%Y%m%d}_{times[-1]:%Y%m%d}"
    return [PlannedLayer(ctx.area.name, stem, spec, data, times[0], times[-1], layer.time, props, config)]


def index(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan one spectral index layer per date (or per reduction)."""
    evidence = indices.compute_index(ctx.ds, layer.product)
    return _per_time(ctx, layer, evidence, lambda a: (a, get_layer(layer.product), {}))


def _band(ctx: AreaContext, band: str, what: str) -> xr.DataArray:
    if band not in ctx.ds:
        raise MissingBandError(f"{what} needs the {band} band; area {ctx.area.name} has {sorted(map(str, ctx.ds.data_vars))}.")
    return ctx.ds[band]


def backscatter(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the SAR backscatter layers, reduced in linear power and written in dB."""
    band = layer.band
    spec = LayerSpec(f"{band}_db", "continuous", "float32", float("nan"), "dB",
                     f"{band.upper()} backscatter (dB), averaged in linear power")
    # Reductions happen in linear power; dB only at the end (docs/science/indices_and_masks.md#sentinel-1-backscatter).
    return _per_time(ctx, layer, _band(ctx, band, "backscatter_db"), lambda a: (to_db(a), spec, {"band": band}))


def water(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the water mask layers from an optical index or SAR backscatter."""
    method = layer.method
    sar = method in ("vh", "vv")
    evidence = _band(ctx, method, f"water_mask method {method!r}") if sar else indices.compute_index(ctx.ds, method)

    def finish(ev: xr.DataArray) -> tuple[xr.DataArray, LayerSpec, dict[str, Any]]:
        mask = water_mask(to_db(ev) if sar else ev, method, layer.threshold)
        spec = dataclasses.replace(get_layer("water_mask"), name=f"water_mask_{method}", classes=WATER_CLASSES,
                                   description=mask.attrs["long_name"])
        return mask, spec, {"method": method, "threshold": mask.attrs["threshold"]}

    return _per_time(ctx, layer, evidence, finish)
