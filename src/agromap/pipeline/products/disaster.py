"""Disaster builders: flood classes for an event, burn severity, burned paddy, VCI drought."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ...errors import ConfigError, MissingBandError, NoValidDataError
from ...io.layers import LayerSpec
from ...styles import Style
from ..schema import LayerDate, Period, Strict
from .base import AreaContext, PlannedLayer, Product, each_date

if TYPE_CHECKING:  # imported where used: registering products must not load the array stack
    import pandas as pd
    import xarray as xr

    from ..area_inputs import AreaInputs

__all__ = ["FloodLayer", "BurnSeverityLayer", "BurnedPaddyLayer", "VciLayer", "flood", "burn_severity",
           "burned_paddy", "vci", "flood_needs", "burn_severity_needs", "burned_paddy_needs", "PRODUCTS"]


class FloodLayer(Strict):
    """Flood extent and classes for one event from the area's Sentinel-1 (and optical) dates."""

    product: Literal["flood"]
    event_date: LayerDate
    """The first SAR date on or after this is the post-event scene; earlier dates are pre-event."""
    change_detection: bool = True
    """Use the pre-event dates (change detection and reference water) when there are any."""
    use_optical: bool = True
    """Fuse the first optical date on or after the event when the area has one."""
    use_rice: bool = True
    """Use the area's rice layer (if any) for flooded rice (4) and managed paddy water (5)."""
    reference_water: str | None = None
    """Optional raster of normal water (non-zero = water, e.g. JRC GSW occurrence >= 75 %)."""
    dem: str | None = None
    """Optional elevation raster (m): slopes above params.slope_max_deg (5) become class 6."""
    hand: str | None = None
    """Optional height-above-nearest-drainage raster (m): above params.hand_max_m (15) is class 6."""
    params: dict[str, float | int | bool | str | None] = {}
    """FloodParams overrides (e.g. mmu_pixels, ratio_threshold, require_dark_post)."""


class BurnSeverityLayer(Strict):
    """USGS burn severity classes and dNBR from clear pre- and post-fire composites."""

    product: Literal["burn_severity"]
    pre: Period
    """[start, end] dates of the pre-fire composite (median of clear dates)."""
    post: Period
    """[start, end] dates of the post-fire composite."""


class BurnedPaddyLayer(Strict):
    """Burned paddy stubble (rice mask from the area's rice layer) between two composites."""

    product: Literal["burned_paddy"]
    pre: Period
    """[start, end] dates of the composite before residue burning (after harvest)."""
    post: Period
    """[start, end] dates of the composite after burning."""
    rice_mask: str | None = None
    """A rice_class COG to use instead of the area's rice layer."""


class VciLayer(Strict):
    """Vegetation Condition Index of each date (per-pixel extremes over the stack's record)."""

    product: Literal["vci"]
    period: Literal["month", "dekad", "16day", "dayofyear"] = "month"
    """Dates compared with each other for the per-pixel extremes: the same month, dekad, 16-day
    composite period or day of year in every year of the stack."""

SAR = ("vv", "vh")
OPTICAL_WATER = ("green", "nir", "swir16")


def _rice_layer(ctx: AreaContext) -> Any:
    return next((layer for layer in ctx.area.layers if layer.product == "rice"), None)


def _rice_masks(ctx: AreaContext, before: pd.Timestamp | None = None) -> tuple[xr.DataArray | None,
                                                                              xr.DataArray | None]:
    """The area's rice map and transplanting dates, from the dates before ``before`` if given.

    For a flood, the rice rule must not see the event: flood water over a growing crop looks
    like a new flooding-then-growth cycle, and would turn flooded rice into "managed paddy water".
    """
    import numpy as np

    from .rice import rice_dataset

    layer = _rice_layer(ctx)
    if layer is None:
        return None, None
    if before is not None:
        pre = ctx.ds.sel(time=ctx.ds["time"] < np.datetime64(before.tz_localize(None) if before.tzinfo else before))
        if pre.sizes["time"] < 3:
            return None, None
        ctx = AreaContext(ctx.area, pre, ctx.resolve)
    result = rice_dataset(ctx, layer)
    rice = result["rice_class"] == 1
    return rice, result["transplant_doy"] if "transplant_doy" in result else None


def _period(ds: xr.Dataset, period: tuple[str, str], what: str, area: str) -> xr.Dataset:
    import pandas as pd

    sub = ds.sel(time=slice(pd.Timestamp(period[0]), pd.Timestamp(period[1])))
    if sub.sizes["time"] == 0:
        raise ConfigError(f"area {area}: {what} period {period[0]}..{period[1]} holds none of the area's dates "
                          f"{[str(t)[:10] for t in ds['time'].values]}.")
    return sub


def flood(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the flood class layers (and their evidence) from pre- and post-event SAR."""
    import pandas as pd

    from ...disaster.flood import LAYER_SPECS, FloodParams, flood_map  # noqa: F401 (FloodParams: fields)

    ds, area = ctx.ds, ctx.area.name
    fields = {f.name for f in dataclasses.fields(FloodParams)} | {"threshold_split"}
    unknown = sorted(set(layer.params) - fields)
    if unknown:
        raise ConfigError(f"area {area} flood layer: unknown parameter(s) {unknown}; valid: {sorted(fields)}.")
    params = _flood_params(layer.params)
    event = pd.Timestamp(layer.event_date)
    times = pd.to_datetime(ds["time"].values)
    sar = [b for b in SAR if b in ds]
    post = pre = optical = None
    start = end = pd.Timestamp(event).tz_localize("UTC")
    if sar:
        present = ctx.ds.attrs.get("present", {}).get(sar[0], [True] * len(times))
        sar_times = [t for t, has in zip(times, present) if has]
        after = [t for t in sar_times if t >= event]
        if not after:
            raise NoValidDataError(f"area {area}: no Sentinel-1 date on or after the event {event:%Y-%m-%d}; "
                                   f"SAR dates are {[f'{t:%Y-%m-%d}' for t in sar_times]}.")
        post = ds[sar].sel(time=after[0])
        start = end = after[0].tz_localize("UTC")
        angle = _incidence_on(ctx, after[0], times)
        if angle is not None:
            post["angle"] = angle
        before = [t for t in sar_times if t < event]
        if layer.change_detection and before:
            pre = ds[sar].sel(time=before)
            if angle is not None:
                # Change detection needs the same orbit, hence the same incidence geometry: a
                # pre-event date without its own angle band borrows the post-event one.
                pre["angle"] = ds["angle"].sel(time=before).fillna(angle)
    if layer.use_optical and all(b in ds for b in ("green", "swir16")):
        has_opt = ctx.ds.attrs.get("present", {}).get("green", [True] * len(times))
        after_opt = [t for t, has in zip(times, has_opt) if has and t >= event]
        if after_opt:
            bands = [b for b in ("green", "nir", "swir16", "scl") if b in ds]
            optical = ds[bands].sel(time=after_opt[0])
    if post is None and optical is None:
        raise MissingBandError(f"area {area}: a flood layer needs vv/vh or green+swir16 bands on or after the event.")
    rice, tdoy = _rice_masks(ctx, before=event) if layer.use_rice else (None, None)
    from ...io.grid import geobox_of, to_grid
    from ...io.read import open_band

    reference = None
    if layer.reference_water:
        ref = open_band(ctx.resolve(layer.reference_water), raw=True, name="reference_water")
        reference = to_grid(ref, geobox_of(ctx.ds), resampling="nearest") != 0
    terrain = {}
    for key in ("dem", "hand"):
        if getattr(layer, key):
            raw = open_band(ctx.resolve(getattr(layer, key)), name=key)
            # Continuous terrain: bilinear onto the run grid.
            terrain[key] = to_grid(raw, geobox_of(ctx.ds), resampling="bilinear")
    result = flood_map(post, pre, optical=optical, reference=reference, rice=rice, transplant_doy=tdoy,
                       event_date=event, units="linear", params=params, **terrain)
    config = layer.model_dump(mode="json")
    ref_source = result["flood_class"].attrs["reference_water"]
    props = {"event_date": f"{event:%Y-%m-%d}", "change_detection": pre is not None,
             "optical_fused": optical is not None, "rice_used": rice is not None,
             "reference_water": ref_source, "threshold_split": params.vh.split,
             "evidence_weighting": "threshold reliability (fitted 0.5-1 with Ashman D, fallback "
                                   f"{params.vh.fallback_weight})",
             "angle_normalisation": params.angle_normalisation if post is not None and "angle" in post
             else "none (no angle band)"}
    if props["angle_normalisation"] in ("cos2", "linear"):
        props["angle_ref_deg"] = params.angle_ref_deg
    if ref_source == "none":
        msg = (f"area {area}: no reference water (no reference_water layer and no SAR date before the event), "
               "so water is class 7 'water, flood status unknown' and flood_detected stays false; give "
               "reference_water: (e.g. JRC Global Surface Water occurrence >= 75 %) or pre-event dates")
        props["warning"] = msg  # the runner lists it in the manifest's warnings and the CLI prints it
        props["note"] = "no reference water: water is class 7 (flood status unknown), not flood"  # NOTE tag
    side = {str(k): result[k] for k in result.data_vars if result[k].ndim == 0}
    stem = f"{event:%Y%m%d}"
    tags = {"NOTE": props["note"]} if "note" in props else {}
    return [
        # No-flood dates say so in STAC, never look empty (docs/science/disaster.md#flood-classes).
        PlannedLayer(area, f"flood_class_{stem}", LAYER_SPECS["flood_class"], result["flood_class"], start, end,
                     "flood", props, config, side, tags=tags, stac_side=("flood_detected",)),
        PlannedLayer(area, f"flood_likelihood_{stem}", LAYER_SPECS["flood_likelihood"], result["flood_likelihood"],
                     start, end, "flood", {k: v for k, v in props.items() if k != "warning"}, config, tags=tags),
    ]


def _incidence_on(ctx: AreaContext, when: pd.Timestamp, times: pd.DatetimeIndex) -> xr.DataArray | None:
    """The incidence angle (deg) of the date ``when`` if a Sentinel-1 input of that date gave one."""
    if "angle" not in ctx.ds:
        return None
    present = ctx.ds.attrs.get("present", {}).get("angle", [True] * len(times))
    if not any(has for t, has in zip(times, present) if t == when):
        return None
    return ctx.ds["angle"].sel(time=when)


def _flood_params(raw: dict[str, Any]) -> Any:
    """FloodParams from a layer's ``params``; ``threshold_split`` (otsu|ki) sets both polarisations."""
    from ...disaster.flood import FloodParams

    values = dict(raw)
    split = values.pop("threshold_split", None)
    params = FloodParams(**values)
    if split is not None:
        params = dataclasses.replace(params, vv=dataclasses.replace(params.vv, split=str(split)),
                                     vh=dataclasses.replace(params.vh, split=str(split)))
    return params


def burn_severity(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the dNBR and burn severity class layers."""
    import pandas as pd

    from ...disaster.burn import LAYER_SPECS, clear_composite, dnbr
    from ...disaster.burn import burn_severity as classes
    from ...indices import nbr

    area = ctx.area.name
    pre = clear_composite(_period(ctx.ds[["nir", "swir22"]], layer.pre, "pre", area))
    post = clear_composite(_period(ctx.ds[["nir", "swir22"]], layer.post, "post", area))
    d = dnbr(nbr(pre["nir"], pre["swir22"]), nbr(post["nir"], post["swir22"]))
    start, end = pd.Timestamp(layer.pre[0]).tz_localize("UTC"), pd.Timestamp(layer.post[1]).tz_localize("UTC")
    stem = f"{start:%Y%m%d}_{end:%Y%m%d}"
    config = layer.model_dump(mode="json")
    props = {"pre": list(layer.pre), "post": list(layer.post)}
    return [
        PlannedLayer(area, f"burn_severity_{stem}", LAYER_SPECS["burn_severity"], classes(d), start, end,
                     "dnbr-usgs", props, config),
        PlannedLayer(area, f"dnbr_{stem}", LAYER_SPECS["dnbr"], d, start, end, "dnbr", props, config),
    ]


def burned_paddy(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the burned-paddy layers (burned area within rice fields)."""
    import pandas as pd

    from ...disaster.burn import LAYER_SPECS, clear_composite
    from ...disaster.burn import burned_paddy as classify
    from ...io.grid import geobox_of, to_grid
    from ...io.read import open_band

    area = ctx.area.name
    rice: xr.DataArray | None
    if layer.rice_mask:
        rice = to_grid(open_band(ctx.resolve(layer.rice_mask), raw=True, name="rice_class"),
                       geobox_of(ctx.ds), resampling="nearest")
    else:
        rice, _ = _rice_masks(ctx)
        if rice is None:
            raise ConfigError(f"area {area}: burned_paddy needs a rice layer in the area or rice_mask: <COG>.")
    bands = [b for b in ("red", "rededge2", "rededge3", "nir", "nir08", "swir22", "scl") if b in ctx.ds]
    pre = clear_composite(_period(ctx.ds[bands], layer.pre, "pre", area))
    post = clear_composite(_period(ctx.ds[bands], layer.post, "post", area))
    result = classify(rice, pre, post, period=(layer.pre[1], layer.post[0]))
    start, end = pd.Timestamp(layer.pre[0]).tz_localize("UTC"), pd.Timestamp(layer.post[1]).tz_localize("UTC")
    side = {str(k): result[k] for k in result.data_vars if result[k].ndim == 0}
    return [PlannedLayer(area, f"burned_paddy_{start:%Y%m%d}_{end:%Y%m%d}", LAYER_SPECS["burned_paddy"],
                         result["burned_paddy"], start, end, "burned-paddy",
                         {"pre": list(layer.pre), "post": list(layer.post)}, layer.model_dump(mode="json"), side)]


def vci(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Plan the Vegetation Condition Index layers."""
    from ...disaster.drought import LAYER_SPECS
    from ...disaster.drought import vci as vci_fn
    from ...indices import compute_index

    series = vci_fn(compute_index(ctx.ds, "ndvi"), period=layer.period)
    spec = LAYER_SPECS["vci"]
    return each_date(ctx, layer, series, lambda a: (a, spec, {"period": layer.period}))


def _periods(inputs: AreaInputs, layer: Any) -> str:
    """Both composites hold some of the area's dates (else the plan refuses); the layers' date stem."""
    from ...errors import PlanNeeded
    from ..area_inputs import naive_utc

    for period in (layer.pre, layer.post):
        if not inputs.period(*period):
            raise PlanNeeded(f"period {period} holds no date")
    return f"{naive_utc(layer.pre[0]):%Y%m%d}_{naive_utc(layer.post[1]):%Y%m%d}"


def burn_severity_needs(inputs: AreaInputs, layer: Any) -> list[str]:
    """Preflight of :func:`burn_severity`: NBR's bands and dates in both periods."""
    inputs.need(("nir", "swir22"), "burn_severity")
    stem = _periods(inputs, layer)
    return [f"burn_severity_{stem}", f"dnbr_{stem}"]


#: Bands of the post-burn composite (:func:`agromap.disaster.burn.burned_paddy`: NBR and BAIS2).
_PADDY_BANDS = ("nir", "swir22", "rededge2", "rededge3", "nir08", "red")


def burned_paddy_needs(inputs: AreaInputs, layer: Any) -> list[str]:
    """Preflight of :func:`burned_paddy`: the area's rice layer, the composites' bands and dates."""
    from ...errors import PlanNeeded
    from .rice import preflight as rice_preflight

    if layer.rice_mask:
        raise PlanNeeded("burned_paddy with a rice_mask file")
    rice = next((one for one in inputs.area.layers if one.product == "rice"), None)
    if rice is None:
        raise PlanNeeded("burned_paddy without a rice layer")
    rice_preflight(inputs, rice)  # its rice mask is the area's rice layer, planned again
    inputs.need(_PADDY_BANDS, "burned_paddy")
    return [f"burned_paddy_{_periods(inputs, layer)}"]


#: Flood parameters the preflight follows (any other override is left to the full plan): numbers
#: that only enter the computation, and the histogram split (its two values, as ThresholdParams checks).
_FLOOD_PREFLIGHT_NUMBERS = ("reference_frequency",)
_FLOOD_SPLITS = ("otsu", "ki")


def flood_needs(inputs: AreaInputs, layer: Any) -> list[str]:
    """Preflight of :func:`flood`: a post-event SAR date or a clear optical one, the rice layer it
    uses, a metric or geographic grid; a layer with terrain or reference rasters, incidence angles
    or parameters other than the plain ones is left to the full plan.
    """
    from ...errors import PlanNeeded
    from ..area_inputs import naive_utc
    from .rice import preflight as rice_preflight

    for key, value in layer.params.items():
        plain = (key in _FLOOD_PREFLIGHT_NUMBERS and isinstance(value, (int, float)) and not isinstance(value, bool)
                 or key == "threshold_split" and value in _FLOOD_SPLITS)
        if not plain:
            raise PlanNeeded(f"flood parameter {key!r}")
    if layer.reference_water or layer.dem or layer.hand or "angle" in inputs.bands:
        raise PlanNeeded("flood with terrain, reference water or incidence angles")
    crs = inputs.geobox.crs
    if crs is None or not (crs.geographic or "metre" in str(crs.units[0])) or abs(inputs.geobox.resolution.x) < (
            1e-5 if crs.geographic else 1.0):
        raise PlanNeeded("flood on a grid whose pixel size the speckle filter may not take")
    event = naive_utc(layer.event_date)
    naive = [d.replace(tzinfo=None) for d in inputs.dates]
    sar = [b for b in SAR if b in inputs.bands]
    has_post = bool(sar) and any(t >= event for t, has in zip(naive, inputs.present[sar[0]]) if has)
    if sar and not has_post:
        raise PlanNeeded("no SAR date on or after the event")
    has_optical = layer.use_optical and all(b in inputs.bands for b in ("green", "swir16")) and any(
        t >= event for t, has in zip(naive, inputs.present["green"]) if has)
    if not has_post and not has_optical:
        raise PlanNeeded("no post-event scene")
    rice = next((one for one in inputs.area.layers if one.product == "rice"), None)
    if layer.use_rice and rice is not None and sum(t < event for t in naive) >= 3:
        rice_preflight(inputs, rice)  # the rule runs on the pre-event dates: same bands and parameters
    return [f"flood_class_{event:%Y%m%d}", f"flood_likelihood_{event:%Y%m%d}"]


def _flood_specs() -> Mapping[str, LayerSpec]:
    from ...disaster.flood import LAYER_SPECS

    return LAYER_SPECS


def _burn_specs() -> Mapping[str, LayerSpec]:
    from ...disaster.burn import LAYER_SPECS

    return {k: LAYER_SPECS[k] for k in ("burn_severity", "dnbr")}


def _paddy_specs() -> Mapping[str, LayerSpec]:
    from ...disaster.burn import LAYER_SPECS

    return {"burned_paddy": LAYER_SPECS["burned_paddy"]}


def _vci_specs() -> Mapping[str, LayerSpec]:
    from ...disaster.drought import LAYER_SPECS

    return LAYER_SPECS


PRODUCTS: tuple[Product, ...] = (
    Product("flood", FloodLayer, flood, _flood_specs,
            {"flood_likelihood": Style(0.0, 1.0, "blue"), "flood_duration_days": Style(0.0, 30.0, "blue")},
            side_values=("flood_detected", "valid_fraction", "terrain_fuzzy", "angle_normalised"),
            # Per sensor present (VV, VH, a clear optical scene) and, for a single radar scene, region growing.
            optional_side_values=("region_growing", *(f"{k}_{s}" for s in ("vv", "vh", "optical")
                                                      for k in ("threshold", "threshold_method", "weight"))),
            preflight=flood_needs),
    Product("burn_severity", BurnSeverityLayer, burn_severity, _burn_specs, {"dnbr": Style(-0.5, 1.3, "burn")},
            preflight=burn_severity_needs),
    Product("burned_paddy", BurnedPaddyLayer, burned_paddy, _paddy_specs,
            side_values=("bais2_threshold", "bais2_threshold_method"), preflight=burned_paddy_needs),
    # VCI 0 (worst) to 100 (best) per cent (Kogan 1995).
    Product("vci", VciLayer, vci, _vci_specs, {"vci": Style(0.0, 100.0, "rdylgn")}),
)
