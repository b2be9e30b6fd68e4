"""Rice builder: label-free optical or SAR rules, a self-trained or a trained model, over the whole stack.

Outputs (docs/science/rice.md#output-layers): ``rice_class`` (uint8, 0/1, 255 nodata) and a confidence layer
(``rice_score`` for the rules, ``rice_prob`` for a model or the self-trained classifier), plus for
the rules the transplanting day of year of each detected season, the season count and the
valid-observation count.
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


def _rule_inputs(ctx: AreaContext, layer: Any, rule: str, where: str) -> xr.Dataset:
    """The area's bands as the rule reads them: optical without QA bands, SAR speckle-filtered."""
    ds = ctx.ds
    if rule == "optical":
        # Clouds were already set to NaN by the area's QA mask; the rule must not re-read SCL.
        return ds.drop_vars([v for v in ("scl", "qa_pixel") if v in ds])
    from ...rice.rules_sar import boxcar_speckle_filter

    if "vh" not in ds:
        raise MissingBandError(f"{where}: the SAR rule needs a vh band; the area has {sorted(map(str, ds.data_vars))}.")
    out = ds.drop_vars([v for v in ("scl", "qa_pixel") if v in ds])
    if layer.speckle_filter > 1:
        for band in (b for b in ("vh", "vv") if b in ds):
            out[band] = boxcar_speckle_filter(ds[band], layer.speckle_filter)
    return out


def _rule_params_class(rule: str) -> type:
    if rule == "optical":
        from ...rice.rules_optical import OpticalRiceParams

        return OpticalRiceParams
    from ...rice.rules_sar import SarRiceParams

    return SarRiceParams


def _both_params(overrides: dict[str, Any], where: str) -> tuple[Any, Any]:
    """SAR and optical parameters from one mapping: each field goes to the rule(s) that have it."""
    sar_cls, opt_cls = _rule_params_class("sar"), _rule_params_class("optical")
    sar_f, opt_f = ({f.name for f in dataclasses.fields(c)} for c in (sar_cls, opt_cls))
    unknown = sorted(set(overrides) - sar_f - opt_f)
    if unknown:
        raise ConfigError(f"{where}: unknown rice parameter(s) {unknown}; valid ones are {sorted(sar_f | opt_f)}.")
    return (sar_cls(**{k: v for k, v in overrides.items() if k in sar_f}),
            opt_cls(**{k: v for k, v in overrides.items() if k in opt_f}))


def _rule_output(inputs: xr.Dataset, layer: Any, rule: str, where: str) -> xr.Dataset:
    if rule == "optical":
        from ...rice.rules_optical import OpticalRiceParams, optical_rice_rule

        optical = inputs.drop_vars([v for v in ("vh", "vv") if v in inputs])
        return optical_rice_rule(optical, _params(OpticalRiceParams, layer.params, where), windows=layer.calendar)
    from ...rice.rules_sar import SarRiceParams, sar_rice_rule

    return sar_rice_rule(inputs["vh"], _params(SarRiceParams, layer.params, where), windows=layer.calendar)


def rice_dataset(ctx: AreaContext, layer: Any) -> xr.Dataset:
    """The rule's or model's output Dataset for the area (lazy)."""
    where = f"area {ctx.area.name} rice layer"
    if layer.method in ("optical", "sar"):
        return _rule_output(_rule_inputs(ctx, layer, layer.method, where), layer, layer.method, where)
    if layer.method == "self_trained":
        from ...rice.self_trained import SelfTrainSpec, self_trained_rice_map

        # The classifier reads every band of the area (optical, and SAR speckle-filtered as the rule reads it).
        inputs = _rule_inputs(ctx, layer, "optical" if layer.rule == "optical" and "vh" not in ctx.ds else "sar",
                              where)
        spec = _params(SelfTrainSpec, layer.self_train, f"{where} self_train")
        if layer.rule == "both":
            params: Any = _both_params(layer.params, where)
        else:
            params = _params(_rule_params_class(layer.rule), layer.params, where)
        return self_trained_rice_map(inputs, rule=layer.rule, params=params, windows=layer.calendar, spec=spec)
    ds = ctx.ds
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
    if method == "self_trained":
        specs["rice_class"] = dataclasses.replace(
            MODEL_SPECS["rice_class"], description="Rice map, classifier self-trained on a rule's confident pixels")
        specs["rice_prob"] = dataclasses.replace(
            MODEL_SPECS["rice_prob"],
            description="Probability of rice from the self-trained classifier (stored as percent)")
    return specs


def build(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Planned rice layers of one area, named ``<layer>_<method>_<first date>_<last date>``."""
    if layer.reference_sample:
        # Checked first, so `agromap validate` and `run` refuse a sample the accuracy step cannot use.
        from ..tables import read_reference_sample

        read_reference_sample(ctx.resolve(layer.reference_sample), layer.reference_field)
    result = seasons.split_seasons(rice_dataset(ctx, layer))
    specs = _specs(layer.method)
    times = ctx.times
    start, end = times[0], times[-1]
    period = f"{start:%Y%m%d}_{end:%Y%m%d}"
    config = layer.model_dump(mode="json")
    names = ["rice_class", "rice_prob"] if layer.method in ("model", "self_trained") else [
        "rice_class", "rice_score", *sorted(str(v) for v in result.data_vars if str(v).startswith("transplant_doy_")),
        "n_seasons", "n_valid_obs"]
    props = {"method": layer.method, "calendar": layer.calendar, "params": dict(layer.params)}
    side: dict[str, Any] = {}
    if layer.method == "self_trained":
        from ...rice.self_trained import COUNT_NAMES

        props.update(rule=layer.rule, self_train=dict(layer.self_train))
        side = {n: result[n] for n in COUNT_NAMES}  # 0-d, computed in the run's one pass
    planned = []
    for name in names:
        spec = dataclasses.replace(specs[name], name=f"{name}_{layer.method}") if name in specs else None
        if spec is None:
            continue
        planned.append(PlannedLayer(ctx.area.name, f"{name}_{layer.method}_{period}", spec, result[name],
                                    start, end, f"rice-{layer.method}", props, config, dict(side)))
    return planned
