"""From an area's stacked Dataset to the lazy 2-D layers the runner exports.

Pure graph building: every builder returns lazy arrays and computes nothing. Each product
kind has a builder module (``optical``, ``rice``); :func:`plan_layers` dispatches on the
layer configuration's ``product``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ... import masks
from ...errors import ConfigError
from ...io.layers import LayerSpec
from ..config import AreaConfig

__all__ = ["PlannedLayer", "AreaContext", "mask_dataset", "plan_layers", "reduce_time", "OPTICAL"]

OPTICAL = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "nir09",
           "swir16", "swir22")


@dataclass(frozen=True)
class PlannedLayer:
    """One output file to be: its name, what it is, and its lazy ``(y, x)`` pixels."""

    area: str
    stem: str
    """File name without extension, e.g. ``ndvi_20230531``."""
    spec: LayerSpec
    data: xr.DataArray
    start: pd.Timestamp
    end: pd.Timestamp
    reduce: str
    properties: dict[str, Any]
    layer_config: dict[str, Any]
    """The layer's configuration, part of the recipe that decides whether a re-run recomputes it."""
    side: dict[str, Any] = field(default_factory=dict)
    """Lazy 0-d values computed in the same pass and written to tags and STAC (thresholds, flags)."""


@dataclass
class AreaContext:
    """What a builder may use: the masked stack, the area's settings and a path resolver."""

    area: AreaConfig
    ds: xr.Dataset
    resolve: Callable[[str], Path]

    @property
    def times(self) -> pd.DatetimeIndex:
        """Acquisition times of the stack, in UTC."""
        return pd.to_datetime(self.ds["time"].values).tz_localize("UTC")

    def scene_id(self, i: int) -> str:
        """The scene id(s) of time slice ``i`` (``+``-joined when mosaicked)."""
        ids = self.ds.attrs.get("scene_ids") or [""] * self.ds.sizes["time"]
        return str(ids[i])


def mask_dataset(ds: xr.Dataset, area: AreaConfig) -> tuple[xr.Dataset, xr.DataArray | None]:
    """Optical bands set to NaN where the scene's own QA says invalid; lazy.

    Returns the masked Dataset and the per-date valid fraction (``None`` without a QA band).
    """
    valid = None
    if "scl" in ds:
        valid = masks.scl_valid(ds["scl"], invalid_classes=area.mask.scl_invalid)
    elif "qa_pixel" in ds:
        valid = masks.qa_pixel_valid(ds["qa_pixel"], mask_snow=area.mask.qa_pixel_snow)
    if valid is None:
        return ds, None
    out = ds.copy()
    for name in (v for v in ds.data_vars if v in OPTICAL):
        out[name] = masks.apply_mask(ds[name], valid)
    return out, masks.valid_fraction(valid)


def reduce_time(arr: xr.DataArray, how: str) -> xr.DataArray:
    """NaN-aware reduction over ``time`` (clouds never vote); float32 stays float32."""
    if how == "first":
        return arr.isel(time=0)
    if how == "last":
        return arr.isel(time=-1)
    stacked = arr.chunk({"time": -1}) if arr.chunks is not None else arr
    out = getattr(stacked, how)("time", skipna=True)
    return out.astype(np.float32) if np.issubdtype(arr.dtype, np.floating) else out


def plan_layers(ctx: AreaContext) -> list[PlannedLayer]:
    """Every output layer of the area as lazy 2-D arrays."""
    from . import airquality, disaster, optical, rice

    builders = {"water_mask": optical.water, "backscatter_db": optical.backscatter, "rice": rice.build,
                "flood": disaster.flood, "burn_severity": disaster.burn_severity,
                "burned_paddy": disaster.burned_paddy, "vci": disaster.vci,
                "trace_gas": airquality.trace_gas, "pm25": airquality.pm25, "aqi": airquality.aqi}
    planned: list[PlannedLayer] = []
    for layer in ctx.area.layers:
        builder = builders.get(layer.product, optical.index)
        planned.extend(builder(ctx, layer))
    stems = [p.stem for p in planned]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ConfigError(f"area {ctx.area.name}: layers {dup} would be written twice; two scenes share a date or "
                          "a layer is listed twice.")
    return planned
