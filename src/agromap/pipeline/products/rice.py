"""Rice builder: label-free optical or SAR rules, or a trained model, over the whole stack.

Outputs (docs/science/rice.md#output-layers): ``rice_class`` (uint8, 0/1, 255 nodata) and a confidence layer
(``rice_score`` for the rules, ``rice_prob`` for a model), plus for the rules the transplanting
day of year of each detected season, the season count and the valid-observation count.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import xarray as xr

from ...errors import ConfigError, MissingBandError
from ...rice import seasons
from . import AreaContext, PlannedLayer

__all__ = ["build", "rice_dataset"]


def _params(cls: type, overrides: dict[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown rice parameter(s) {unknown}; valid ones are {sorted(names)}.")
    return cls(**overrides)


def rice_dataset(ctx: AreaContext, layer: Any) -> xr.Dataset:
    """The rule's or model's output Dataset for the area (lazy)."""
    where = f"area {ctx.area.name} rice layer"
    ds = ctx.ds
    if layer.method == "optical":
        from ...rice.rules_optical import OpticalRiceParams, optical_rice_rule

        # Clouds were already set to NaN by the area's QA mask; the rule must not re-read SCL.
        optical = ds.drop_vars([v for v in ("scl", "qa_pixel") if v in ds])
        return optical_rice_rule(optical, _params(OpticalRiceParams, layer.params, where), windows=layer.calendar)
    if layer.method == "sar":
        from ...rice.rules_sar import SarRiceParams, boxcar_speckle_filter, sar_rice_rule

        if "vh" not in ds:
            raise MissingBandError(f"{where}: the SAR rule needs a vh band; the area has {sorted(ds.data_vars)}.")
        vh = boxcar_speckle_filter(ds["vh"], layer.speckle_filter) if layer.speckle_filter > 1 else ds["vh"]
        return sar_rice_rule(vh, _params(SarRiceParams, layer.params, where), windows=layer.calendar)
    from ...rice.features import temporal_features
    from ...rice.model import load_model, predict

    model = load_model(ctx.resolve(layer.model), sha256=layer.model_sha256)
    optical = ds if any(b in ds for b in ("red", "nir")) else None
    sar = ds[["vh", "vv"]] if "vh" in ds and "vv" in ds else (ds[["vh"]] if "vh" in ds else None)
    return predict(model, temporal_features(optical=optical, sar=sar))


def _specs(method: str) -> dict[str, Any]:
    from ...rice.model import LAYER_SPECS as MODEL_SPECS

    specs = dict(seasons.LAYER_SPECS)
    if method == "model":
        specs["rice_class"] = MODEL_SPECS["rice_class"]
        specs["rice_prob"] = MODEL_SPECS["rice_prob"]
    return specs


def build(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Planned rice layers of one area, named ``<layer>_<method>_<first date>_<last date>``."""
    result = seasons.split_seasons(rice_dataset(ctx, layer))
    specs = _specs(layer.method)
    times = ctx.times
    start, end = times[0], times[-1]
    period = f"{start:%Y%m%d}_{end:%Y%m%d}"
    config = layer.model_dump(mode="json")
    names = ["rice_class", "rice_prob"] if layer.method == "model" else [
        "rice_class", "rice_score", *sorted(v for v in result.data_vars if str(v).startswith("transplant_doy_")),
        "n_seasons", "n_valid_obs"]
    props = {"method": layer.method, "calendar": layer.calendar, "params": dict(layer.params)}
    planned = []
    for name in names:
        spec = dataclasses.replace(specs[name], name=f"{name}_{layer.method}") if name in specs else None
        if spec is None:
            continue
        planned.append(PlannedLayer(ctx.area.name, f"{name}_{layer.method}_{period}", spec, result[name],
                                    start, end, f"rice-{layer.method}", props, config))
    return planned
