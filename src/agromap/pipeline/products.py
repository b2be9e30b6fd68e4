"""From an area's stacked Dataset to the lazy 2-D layers the runner exports.

Pure graph building: every function here returns lazy arrays and computes nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import indices, masks
from ..errors import MissingBandError
from ..io.layers import LayerSpec, get_layer
from ..sensors.s1 import to_db
from ..water import WATER_CLASSES, water_mask
from .config import AreaConfig, LayerConfig

__all__ = ["PlannedLayer", "mask_dataset", "plan_layers"]

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
    optical = [v for v in ds.data_vars if v in OPTICAL]
    out = ds.copy()
    for name in optical:
        out[name] = masks.apply_mask(ds[name], valid)
    return out, masks.valid_fraction(valid)


def _reduce(arr: xr.DataArray, how: str) -> xr.DataArray:
    if how == "first":
        return arr.isel(time=0)
    if how == "last":
        return arr.isel(time=-1)
    # One chunk along time for the reduction; NaN-aware so clouds never vote.
    stacked = arr.chunk({"time": -1}) if arr.chunks is not None else arr
    out = getattr(stacked, how)("time", skipna=True)
    return out.astype(np.float32) if np.issubdtype(arr.dtype, np.floating) else out


def _evidence(ds: xr.Dataset, layer: LayerConfig) -> tuple[xr.DataArray, dict[str, Any]]:
    """The float32 ``(time, y, x)`` array a layer is made of, and the parameters used."""
    if layer.product in indices.INDICES:
        return indices.compute_index(ds, layer.product), {}
    if layer.product == "backscatter_db":
        band = layer.band or ""
        if band not in ds:
            raise MissingBandError(f"backscatter_db needs band {band!r}; the area has {sorted(ds.data_vars)}.")
        return ds[band], {"band": band}
    method = layer.method or ""
    if method in ("vh", "vv"):
        if method not in ds:
            raise MissingBandError(f"water_mask method {method!r} needs the {method} band; the area has "
                                   f"{sorted(ds.data_vars)}.")
        return ds[method], {"method": method}
    return indices.compute_index(ds, method), {"method": method}


def _finish(layer: LayerConfig, evidence: xr.DataArray, params: dict[str, Any]) -> tuple[xr.DataArray, LayerSpec]:
    """Turn reduced float evidence into the exported variable and its layer spec."""
    if layer.product == "backscatter_db":
        band = params["band"]
        spec = LayerSpec(f"{band}_db", "continuous", "float32", float("nan"), "dB",
                         f"{band.upper()} backscatter (dB), averaged in linear power")
        return to_db(evidence), spec
    if layer.product == "water_mask":
        method = params["method"]
        # SAR thresholds are defined in dB; the evidence was reduced in linear power first.
        ev = to_db(evidence) if method in ("vh", "vv") else evidence
        mask = water_mask(ev, method, layer.threshold)
        params["threshold"] = mask.attrs["threshold"]
        spec = dataclasses.replace(get_layer("water_mask"), name=f"water_mask_{method}", classes=WATER_CLASSES,
                                   description=mask.attrs["long_name"])
        return mask, spec
    return evidence, get_layer(layer.product)


def plan_layers(area: AreaConfig, ds: xr.Dataset) -> list[PlannedLayer]:
    """Every output layer of ``area`` as lazy 2-D arrays, one per date for ``time: each``."""
    planned: list[PlannedLayer] = []
    times = pd.to_datetime(ds["time"].values).tz_localize("UTC")
    for layer in area.layers:
        evidence, params = _evidence(ds, layer)
        if layer.time == "each":
            for i, t in enumerate(times):
                data, spec = _finish(layer, evidence.isel(time=i), dict(params))
                scene_id = str(ds.attrs.get("scene_ids", [""] * len(times))[i])
                planned.append(PlannedLayer(area.name, f"{spec.name}_{t:%Y%m%d}", spec, data, t, t, "each",
                                            {**params, "scene_id": scene_id}, layer.model_dump(mode="json")))
        else:
            reduced = _reduce(evidence, layer.time)
            data, spec = _finish(layer, reduced, dict(params))
            stem = f"{spec.name}_{layer.time}_{times[0]:%Y%m%d}_{times[-1]:%Y%m%d}"
            planned.append(PlannedLayer(area.name, stem, spec, data, times[0], times[-1], layer.time, params,
                                        layer.model_dump(mode="json")))
    stems = [p.stem for p in planned]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        from ..errors import ConfigError

        raise ConfigError(f"area {area.name}: layers {dup} would be written twice; two scenes share a date or "
                          "a layer is listed twice.")
    return planned
