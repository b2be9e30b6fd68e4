"""Rice builder: label-free optical or SAR rules, a self-trained or a trained model, over the whole stack.

Outputs (docs/science/rice.md#output-layers): ``rice_class`` (uint8, 0/1, 255 nodata) and a confidence layer
(``rice_score`` for the rules, ``rice_prob`` for a model or the self-trained classifier), plus for
the rules the transplanting day of year of each detected season, the season count and the
valid-observation count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ...errors import ConfigError, MissingBandError
from ...io.layers import LayerSpec
from ...styles import FRACTION, Style
from ..schema import Strict
from .base import AreaContext, Computed, PlannedLayer, Product, Report

if TYPE_CHECKING:  # imported where used: registering products must not load the array stack
    import xarray as xr

    from ..area_inputs import AreaInputs

__all__ = ["RiceLayer", "build", "pixels", "rice_dataset", "speckle_method", "preflight", "PRODUCTS"]


class RiceLayer(Strict):
    """Rice map for the season(s) in the stack: label-free rules, a self-trained or a trained model."""

    product: Literal["rice"]
    method: Literal["optical", "sar", "model", "self_trained"]
    """``optical``/``sar``: the label-free rules; ``self_trained``: the classifier trained on the
    confident pixels of the rule named by ``rule`` (no labels); ``model``: a trained model file."""
    rule: Literal["optical", "sar", "both"] | None = None
    """method=self_trained: the rule whose confident pixels train the classifier; ``both``: pixels
    on which the optical and the SAR rule agree confidently (needs both sensors in the area)."""
    self_train: dict[str, float | int | str | None] = {}
    """method=self_trained: SelfTrainParams overrides (rice_min_score, other_max_score, spacing_px, n_per_class...)."""
    labels: str | None = None
    """method=self_trained: the desk's field labels (points or polygons; GeoJSON, GeoPackage or CSV
    with x,y, as for `agromap rice-train`), 1 rice and 0 other, in the area's CRS. They train the
    classifier with the rule's confident pixels (docs/rice_self_trained.md, "A desk's own labels")."""
    label_field: str = "class"
    """Column of ``labels`` holding the class (1 rice, 0 other)."""
    calendar: str | None = None
    """Crop calendar (agromap.rice.calendars names, e.g. mekong_delta, india_west_bengal) whose
    transplanting windows bound the seasons; none = find seasons anywhere."""
    params: dict[str, float | int | bool | str | None] = {}
    """Rule thresholds overriding the published defaults (OpticalRiceParams / SarRiceParams fields)."""
    speckle_filter: Annotated[int, Field(ge=0, le=15)] = 7
    """SAR rule and self-trained features: speckle filter window (odd, pixels) in linear power; 0 or 1 = off."""
    speckle_method: Literal["homogeneous", "boxcar", "none"] = "homogeneous"
    """``homogeneous``: average only the neighbours whose time series match the pixel's (keeps field
    borders, docs/rice_rules.md); ``boxcar``: every pixel of the window; ``none``: no filter."""
    model: str | None = None
    """method=model: a skops model file written by `agromap rice-train`."""
    model_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    """method=model: the model file's SHA-256; a file with another checksum is refused before it is
    unpickled (skops files run code on load only through trusted types, but pin what you deploy)."""
    reference_sample: str | None = None
    """GeoJSON/GeoPackage/CSV of reference points (class field `reference`): accuracy and area estimate."""
    reference_field: str = "reference"
    """Column of ``reference_sample`` holding the class (1 rice, 0 other)."""

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, v: str | None) -> str | None:
        from ...rice.calendars import calendar_names

        if v is not None and v not in calendar_names():
            raise ValueError(f"unknown crop calendar {v!r}; choose one of {', '.join(calendar_names())}")
        return v

    @field_validator("speckle_filter")
    @classmethod
    def _odd_window(cls, v: int) -> int:
        if v > 1 and v % 2 == 0:
            raise ValueError(f"speckle_filter must be an odd window (3, 5, 7...) or 0 = off, got {v}")
        return v

    @model_validator(mode="after")
    def _model_needs_file(self) -> RiceLayer:
        if self.method == "model" and not self.model:
            raise ValueError("method: model needs model: <path to a .skops file>")
        if self.method != "model" and (self.model or self.model_sha256):
            raise ValueError("model/model_sha256 apply to method: model only")
        if self.method == "self_trained" and self.rule is None:
            raise ValueError("method: self_trained needs rule: sar, optical or both (the rule whose confident "
                             "pixels train the classifier)")
        if self.method != "self_trained" and (self.rule is not None or self.self_train or self.labels):
            raise ValueError("rule/self_train/labels apply to method: self_trained only (method: model is trained "
                             "from labels with `agromap rice-train`)")
        return self


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
    from ...rice.rules_sar import boxcar_speckle_filter, homogeneous_speckle_filter

    if "vh" not in ds:
        raise MissingBandError(f"{where}: the SAR rule needs a vh band; the area has {sorted(map(str, ds.data_vars))}.")
    out = ds.drop_vars([v for v in ("scl", "qa_pixel") if v in ds])
    method = speckle_method(layer)
    if method != "none":
        filt = homogeneous_speckle_filter if method == "homogeneous" else boxcar_speckle_filter
        for band in (b for b in ("vh", "vv") if b in ds):
            out[band] = filt(ds[band], layer.speckle_filter)
    return out


def speckle_method(layer: Any) -> str:
    """The speckle filter the layer's SAR bands get: ``homogeneous``, ``boxcar`` or ``none`` (window <= 1)."""
    return "none" if layer.speckle_filter <= 1 else str(layer.speckle_method)


def _rule_params_class(rule: str) -> type:
    if rule == "optical":
        from ...rice.optical_params import OpticalRiceParams

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

    sar = inputs[[v for v in ("vh", "vv") if v in inputs]]  # VV, when the area has it, adds the VV evidence
    return sar_rice_rule(sar, _params(SarRiceParams, layer.params, where), windows=layer.calendar)


def rice_dataset(ctx: AreaContext, layer: Any) -> xr.Dataset:
    """The rule's or model's output Dataset for the area (lazy)."""
    where = f"area {ctx.area.name} rice layer"
    if layer.method in ("optical", "sar"):
        return _rule_output(_rule_inputs(ctx, layer, layer.method, where), layer, layer.method, where)
    if layer.method == "self_trained":
        from ...rice.self_trained import SelfTrainParams, self_trained_rice_map

        # The classifier reads every band of the area (optical, and SAR speckle-filtered as the rule reads it).
        inputs = _rule_inputs(ctx, layer, "optical" if layer.rule == "optical" and "vh" not in ctx.ds else "sar",
                              where)
        spec = _params(SelfTrainParams, layer.self_train, f"{where} self_train")
        if layer.rule == "both":
            params: Any = _both_params(layer.params, where)
        else:
            params = _params(_rule_params_class(layer.rule), layer.params, where)
        labels = None
        if layer.labels:  # read when planning, so `agromap validate` refuses a label file the map cannot use
            from ...io.trust import check_regular_file
            from ...rice.labels import read_labels

            labels = read_labels(check_regular_file(ctx.resolve(layer.labels), "label file"),
                                 class_column=layer.label_field)
        return self_trained_rice_map(inputs, rule=layer.rule, rule_params=params, windows=layer.calendar,
                                     params=spec, labels=labels)
    ds = ctx.ds
    from ...rice.model import load_model, predict
    from ...rice.model_predict import model_features

    model = load_model(ctx.resolve(layer.model), sha256=layer.model_sha256)
    optical = ds if any(b in ds for b in ("red", "nir")) else None
    sar = ds[["vh", "vv"]] if "vh" in ds and "vv" in ds else (ds[["vh"]] if "vh" in ds else None)
    return predict(model, model_features(model, optical, sar))


def _specs(method: str) -> dict[str, Any]:
    from ...rice import seasons
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


def _outputs(ctx: AreaContext, layer: Any) -> tuple[xr.Dataset, list[tuple[str, str]]]:
    """The rule's or model's output Dataset, and the ``(variable, file stem)`` of each layer written."""
    from ...rice import seasons

    result = seasons.split_seasons(rice_dataset(ctx, layer))
    specs = _specs(layer.method)
    times = ctx.times
    period = f"{times[0]:%Y%m%d}_{times[-1]:%Y%m%d}"
    names = ["rice_class", "rice_prob"] if layer.method in ("model", "self_trained") else [
        "rice_class", "rice_score", *sorted(str(v) for v in result.data_vars if str(v).startswith("transplant_doy_")),
        "n_seasons", "n_valid_obs"]
    return result, [(name, f"{name}_{layer.method}_{period}") for name in names if name in specs]


def pixels(ctx: AreaContext, layer: Any) -> dict[str, xr.DataArray]:
    """The data of the layers :func:`build` plans, by file stem (lazy on a lazy stack)."""
    result, names = _outputs(ctx, layer)
    return {stem: result[name] for name, stem in names}


def _per_pixel(layer: Any) -> bool:
    # The optical rule reads each pixel's own series only; the SAR rule's speckle filter and its
    # mixed-pixel term (field edges) read neighbours, and the self-trained map learns from the whole area (a model's feature
    # pipeline is per pixel too, but loading it in every tile would cost more than it saves).
    return bool(layer.method == "optical")


def build(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """Planned rice layers of one area, named ``<layer>_<method>_<first date>_<last date>``."""
    derived: dict[str, Any] = {}
    if layer.reference_sample:
        # Read first, so `agromap validate` and `run` refuse a sample the accuracy step cannot use.
        from ...io.grid import geobox_of
        from ..tables import read_reference_sample

        points = read_reference_sample(ctx.resolve(layer.reference_sample), layer.reference_field)
        derived = _accuracy_inputs(points, geobox_of(ctx.ds))
    result, names = _outputs(ctx, layer)
    specs = _specs(layer.method)
    times = ctx.times
    start, end = times[0], times[-1]
    config = layer.model_dump(mode="json")
    props = {"method": layer.method, "calendar": layer.calendar, "params": dict(layer.params)}
    if layer.method == "sar" or (layer.method == "self_trained" and "vh" in ctx.ds):
        method = speckle_method(layer)
        props.update(speckle_method=method, speckle_filter=layer.speckle_filter if method != "none" else 0)
    side: dict[str, Any] = {}
    if layer.method == "self_trained":
        from ...rice.self_trained import COUNT_NAMES, LABEL_COUNT_NAMES

        props.update(rule=layer.rule, self_train=dict(layer.self_train))
        # 0-d, computed in the run's one pass; the label counts only with labels
        side = {n: result[n] for n in COUNT_NAMES + LABEL_COUNT_NAMES if n in result}
    return [PlannedLayer(ctx.area.name, stem, dataclasses.replace(specs[name], name=f"{name}_{layer.method}"),
                         result[name], start, end, f"rice-{layer.method}", props, config, dict(side),
                         derived=derived if name == "rice_class" else {})
            for name, stem in names]


def _accuracy_inputs(points: Any, gbox: Any) -> dict[str, Any]:
    """Lazy reductions of the stored class map for its accuracy report: the map at the reference
    points (255 off the map) and its true area of classes 0 and 1, computed with the map.
    """
    import numpy as np
    import xarray as xr

    from ...area import mapped_area_ha
    from ..tables import reference_pixels

    inside, rows, cols = reference_pixels(points, gbox)

    def at_points(stored: xr.DataArray) -> xr.DataArray:
        picked = stored.isel(y=xr.DataArray(rows, dims="point"), x=xr.DataArray(cols, dims="point"), drop=True)
        return xr.where(xr.DataArray(inside, dims="point"), picked, np.uint8(255)).astype(np.uint8)

    return {"at_points": at_points, "mapped_area_ha": lambda stored: mapped_area_ha(stored, [0, 1])}


def _accuracy(done: Computed) -> Report | None:
    """The rice map's accuracy report and Olofsson area estimate (docs/science/rice.md)."""
    from pathlib import Path

    import numpy as np

    from ..tables import read_reference_sample, rice_accuracy

    cfg = done.layer.layer_config
    if "at_points" not in done.values:  # a map without a reference sample
        return None
    points = read_reference_sample(done.resolve(cfg["reference_sample"]), cfg["reference_field"])
    report, estimate = rice_accuracy(done.layer.area, cfg["method"], points, np.asarray(done.values["at_points"]),
                                     np.asarray(done.values["mapped_area_ha"]), done.area_dir, Path(done.path).stem)
    return Report(report, estimate)


#: Bands the optical rule reads besides ``lswi_nir_band`` (:func:`agromap.rice.rules_optical.optical_rice_rule`).
_OPTICAL_RULE_BANDS = ("nir", "red", "blue", "swir16")


def preflight(inputs: AreaInputs, layer: Any) -> list[str]:
    """Preflight of :func:`build`: the rule's bands and parameters, the reference sample, the stems.

    The rules' parameter classes live with the rules (which import the array stack), so a layer
    that overrides parameters is checked by constructing them; a layer with the defaults is not.
    A model is checked from its file without scikit-learn; the self-trained classifier is left
    to the full plan.
    """
    from ...errors import PlanNeeded

    where = f"area {inputs.area.name} rice layer"
    if layer.method == "self_trained":
        raise PlanNeeded(f"rice method {layer.method!r}")
    if any(v in inputs.bands for v in ("ndvi", "evi", "lswi")):
        raise PlanNeeded("index variables among the bands")
    if layer.method == "model":
        _model_inputs(inputs, layer)
    else:
        seasons = _seasons(inputs, layer, where)
    if layer.reference_sample:
        from ..tables import read_reference_sample, reference_pixels

        points = read_reference_sample(inputs.resolve(layer.reference_sample), layer.reference_field)
        reference_pixels(points, inputs.geobox)
    period = f"{inputs.dates[0]:%Y%m%d}_{inputs.dates[-1]:%Y%m%d}"
    if layer.method == "model":
        names = ["rice_class", "rice_prob"]
    else:
        names = ["rice_class", "rice_score", *(f"transplant_doy_{k}" for k in range(1, min(seasons, 3) + 1)),
                 "n_seasons", "n_valid_obs"]
    return [f"{name}_{layer.method}_{period}" for name in names]


def _model_inputs(inputs: AreaInputs, layer: Any) -> None:
    """The model file loads (checked from its schema, :mod:`agromap.rice.model_check`) and its
    features are the ones the area's optical bands give (SAR features are left to the full plan).
    """
    from ...errors import PlanNeeded
    from ...rice.feature_names import OPTICAL_FEATURE_BANDS, feature_names
    from ...rice.model_check import model_features

    if "vh" in inputs.bands or "vv" in inputs.bands or not {"red", "nir"} & inputs.bands:
        raise PlanNeeded("model features other than optical ones")
    inputs.need(OPTICAL_FEATURE_BANDS, "the model's optical features")
    if model_features(inputs.resolve(layer.model), sha256=layer.model_sha256) != feature_names(sar=False):
        raise PlanNeeded("the model's features differ from the area's")


def _seasons(inputs: AreaInputs, layer: Any, where: str) -> int:
    """Checks the rule's bands and parameters; the number of season slots of its output."""
    from ...rice.calendars import calendar_windows

    if layer.method == "optical":
        lswi_nir = "nir"
        max_seasons = 3
        if layer.params:
            p = _params(_rule_params_class("optical"), layer.params, where)
            lswi_nir, max_seasons = p.lswi_nir_band, p.max_seasons
        inputs.need((*_OPTICAL_RULE_BANDS, lswi_nir), "the optical rice rule")
    else:
        inputs.need(("vh",), "the SAR rice rule")
        max_seasons = _params(_rule_params_class("sar"), layer.params, where).max_seasons if layer.params else 3
    windows = calendar_windows(layer.calendar) if layer.calendar else ()
    return len(windows) or int(max_seasons)


def _layer_specs() -> Mapping[str, LayerSpec]:
    from ...rice import seasons
    from ...rice.model import LAYER_SPECS as MODEL_SPECS

    return {**seasons.LAYER_SPECS, "rice_prob": MODEL_SPECS["rice_prob"]}


_STYLES: Mapping[str, Style] = {
    "rice_score": FRACTION, "rice_prob": FRACTION, "transplant_doy": Style(1.0, 366.0, "viridis"),
    "n_seasons": Style(0.0, 3.0, "viridis"), "n_valid_obs": Style(0.0, 60.0, "viridis"),
    "n_valid_in_flood_window": Style(0.0, 20.0, "viridis"),
    # A bit field (bits 0-6): a fixed range keeps the same flags the same colour on every map.
    "qa_flags": Style(0.0, 127.0, "viridis"),
}


PRODUCTS: tuple[Product, ...] = (
    Product("rice", RiceLayer, build, _layer_specs, _STYLES, after_compute=_accuracy, preflight=preflight,
            pixels=pixels, per_pixel=_per_pixel,
            # rice.self_trained.COUNT_NAMES, reported by self-trained maps (checked when planning)
            side_values=("n_train_rice", "n_train_other", "n_confident_rice", "n_confident_other", "n_strata_rice",
                         "n_strata_other", "n_relabelled", "n_cut_rice"),
            optional_side_values=("n_user_rice", "n_user_other", "n_pseudo_dropped", "label_refit")),
)
