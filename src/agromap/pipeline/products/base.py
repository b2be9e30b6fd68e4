"""What every product plug-in is made of: the :class:`Product` record, the area a builder sees,
and the :class:`PlannedLayer` it returns.

A product is registered once, by a :class:`Product` record in its own module
(docs/adding_a_product.md); the configuration union, the product names, the builders, the layer
registry and the quicklook styles are derived from those records. Builders are pure graph
building: they return lazy arrays and compute nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...io.layers import LayerSpec

if TYPE_CHECKING:  # imported where used: registering products must not load the array stack
    import pandas as pd
    import xarray as xr
    from pydantic import BaseModel

    from ...styles import Style
    from ..area_inputs import AreaInputs
    from ..config import AreaConfig

__all__ = ["Product", "PlannedLayer", "AreaContext", "Builder", "Preflight", "Pixels", "Computed", "Report",
           "AfterCompute", "mask_dataset", "masked_optical", "valid_mask", "reduce_time", "per_time", "each_date",
           "OPTICAL"]

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
    """Lazy 0-d values computed in the same pass and written to tags, STAC and the manifest
    (thresholds, flags); ``agromap:<name>`` in STAC and ``<NAME>`` in the tags."""
    tags: dict[str, str] = field(default_factory=dict)
    """Extra GeoTIFF dataset tags of this layer (``NOTE``, ``THRESHOLDS``...)."""
    stac_side: tuple[str, ...] = ()
    """Side values also published under their own name as STAC properties (``flood_detected``)."""
    derived: dict[str, Callable[[xr.DataArray], Any]] = field(default_factory=dict)
    """Lazy reductions of the layer's stored pixels (the encoded ``(y, x)`` array on the run grid)
    for the product's ``after_compute`` step: computed in the run's one pass with the layer, or,
    when the layer is reused from an earlier run, from its published file."""


@dataclass
class AreaContext:
    """What a builder may use: the masked stack, the area's settings and a path resolver."""

    area: AreaConfig
    ds: xr.Dataset
    resolve: Callable[[str], Path]

    @property
    def times(self) -> pd.DatetimeIndex:
        """The stack's dates, UTC."""
        import pandas as pd

        return pd.to_datetime(self.ds["time"].values).tz_localize("UTC")

    def scene_id(self, i: int) -> str:
        """The id of the scene behind date ``i`` ("" when unknown)."""
        ids = self.ds.attrs.get("scene_ids") or [""] * self.ds.sizes["time"]
        return str(ids[i])


#: ``build(ctx, layer_config) -> [PlannedLayer, ...]``, lazy.
Builder = Callable[[AreaContext, Any], list[PlannedLayer]]
#: ``preflight(inputs, layer_config) -> [file stem, ...]``, from headers alone.
Preflight = Callable[["AreaInputs", Any], list[str]]

#: ``pixels(ctx, layer_config) -> {stem: (y, x) DataArray}``: the data of the layers ``build`` plans.
Pixels = Callable[[AreaContext, Any], "Mapping[str, xr.DataArray]"]


@dataclass(frozen=True)
class Product:
    """A product plug-in: everything agromap needs to know about one ``product:`` name.

    Defined once, in the product's own module, and listed in that module's ``PRODUCTS``; the
    registry (:mod:`agromap.pipeline.products.registry`) derives everything else from it.
    """

    name: str
    """The value users write as ``layers: - product: <name>``."""
    config_model: type[BaseModel]
    """The frozen pydantic model of one layer entry; its ``product`` field is a ``Literal`` holding ``name``."""
    build: Builder
    """Turns the area and one validated layer entry into lazy :class:`PlannedLayer` objects."""
    layer_specs: Callable[[], Mapping[str, LayerSpec]]
    """The specs of every layer the product can write, by name (called once, when the layer
    registry is first used, so that validating a configuration imports no science module)."""
    quicklook_style: Mapping[str, Style] = field(default_factory=dict)
    """Fixed stretch and palette of its continuous layers, by layer name or name prefix
    (``transplant_doy`` also styles ``transplant_doy_2``); class layers are drawn from their classes."""
    after_compute: AfterCompute | None = None
    """Optional step run once per layer with ``derived`` values, after the compute (accuracy report)."""
    side_values: tuple[str, ...] = ()
    """Names of the 0-d values (thresholds, flags) its layers report in tags, STAC and the
    manifest: a layer that reports side values reports every one of these."""
    optional_side_values: tuple[str, ...] = ()
    """Side values reported only by some configurations (a polarisation's threshold only when
    the input has that polarisation). A layer reporting a name in neither tuple is a bug."""
    preflight: Preflight | None = None
    """What a layer needs of its area, for ``agromap validate``'s header-only check
    (:mod:`agromap.pipeline.light_plan`): ``preflight(inputs, layer)`` returns the file stems
    ``build`` would plan and raises :class:`~agromap.errors.PlanNeeded` when the area lacks a band
    or a date the builder reads, or for an option it does not model; the full plan then decides.
    It must never accept what ``build`` refuses (tests/test_60_cli.py compares both). ``None``:
    the full plan always decides."""
    pixels: Pixels | None = None
    """Optional: the data of the layers ``build`` plans, by file stem, from the same context (the
    builder without the layers' metadata), for a builder that does costly work besides its
    pixels (reading a reference sample). Without it, the data of ``build``'s layers is used."""
    per_pixel: Callable[[Any], bool] | None = None
    """Optional: whether a layer entry is a per-pixel chain: every output pixel depends on the
    area's stack at that pixel only (no neighbourhood, no statistic of the area), so the builder
    (or ``pixels``) run on a window of the stack gives that window of the layers, bit for bit. The
    runner then computes the area by one task per tile on windows of its stack held in memory
    (:mod:`agromap.pipeline.tile_graph`)."""

    def check_side(self, layer: PlannedLayer) -> None:
        """Refuse a planned layer whose side values differ from the declared ones.

        Raises
        ------
        ProductContractError
            The layer reports a side value not declared in ``side_values`` or
            ``optional_side_values``, misses one of ``side_values``, reports one that is not 0-d,
            or publishes (``stac_side``) one it does not report.
        """
        from ...errors import ProductContractError

        names = set(layer.side)
        problems = []
        if undeclared := sorted(names - set(self.side_values) - set(self.optional_side_values)):
            problems.append(f"reports undeclared side value(s) {undeclared}")
        if names and (missing := sorted(set(self.side_values) - names)):
            problems.append(f"misses declared side value(s) {missing}")
        if not_0d := sorted(k for k, v in layer.side.items() if getattr(v, "ndim", 0) != 0):
            problems.append(f"reports side value(s) {not_0d} that are not 0-d")
        if unknown := sorted(set(layer.stac_side) - names):
            problems.append(f"publishes side value(s) {unknown} in STAC that it does not report")
        if problems:
            raise ProductContractError(
                f"product {self.name!r}: layer {layer.stem} {'; '.join(problems)}. This is a bug in the product's "
                "plug-in: make its builder and the side_values / optional_side_values of its Product record agree.")


@dataclass(frozen=True)
class Computed:
    """A published layer as an ``after_compute`` step sees it."""

    layer: PlannedLayer
    values: Mapping[str, Any]
    """The computed ``derived`` values of the layer, by name."""
    path: str
    """The COG's path relative to the output folder (``<area>/<stem>.tif``)."""
    area_dir: Path
    """The area's output folder, where reports are written (atomically)."""
    resolve: Callable[[str], Path]
    """Resolves paths of the configuration (relative to the YAML file)."""


@dataclass(frozen=True)
class Report:
    """What an ``after_compute`` step adds to the run."""

    entry: dict[str, Any]
    """The manifest's ``accuracy`` entry (the runner adds ``area`` and ``layer``); ``files`` lists
    the files written in the area folder."""
    estimate: Any = None
    """An area estimate of the layer's classes that the per-district tables pro-rate, if any."""


#: ``after_compute(Computed) -> Report | None``.
AfterCompute = Callable[[Computed], "Report | None"]


def mask_dataset(ds: xr.Dataset, area: AreaConfig) -> tuple[xr.Dataset, xr.DataArray | None]:
    """Optical bands set to NaN where the scene's own QA says invalid; lazy.

    Returns the masked Dataset and the per-date valid fraction (``None`` without a QA band).
    """
    from ... import masks

    valid = valid_mask(ds, area)
    if valid is None:
        return ds, None
    return masked_optical(ds, valid), masks.valid_fraction(valid)


def masked_optical(ds: xr.Dataset, valid: xr.DataArray | None) -> xr.Dataset:
    """``ds`` with its optical bands NaN where ``valid`` (from :func:`valid_mask`) is False; lazy."""
    from ... import masks

    if valid is None:
        return ds
    out = ds.copy()
    for name in (v for v in ds.data_vars if v in OPTICAL):
        out[name] = masks.apply_mask(ds[name], valid)
    return out


def valid_mask(ds: xr.Dataset, area: AreaConfig) -> xr.DataArray | None:
    """The ``(time, y, x)`` mask of usable pixels from the scenes' own QA band (``None`` without one); lazy."""
    from ... import masks

    if "scl" in ds:
        return masks.scl_valid(ds["scl"], invalid_classes=area.mask.scl_invalid)
    if "qa_pixel" in ds:
        return masks.qa_pixel_valid(ds["qa_pixel"], mask_snow=area.mask.qa_pixel_snow)
    return None


def reduce_time(arr: xr.DataArray, how: str) -> xr.DataArray:
    """NaN-aware reduction over ``time`` (clouds never vote); float32 stays float32."""
    import numpy as np

    if how == "first":
        return arr.isel(time=0)
    if how == "last":
        return arr.isel(time=-1)
    stacked = arr.chunk({"time": -1}) if arr.chunks is not None else arr
    out = getattr(stacked, how)("time", skipna=True)
    return out.astype(np.float32) if np.issubdtype(arr.dtype, np.floating) else out


#: ``finish(2-D evidence) -> (data, spec, properties)`` or ``(data, spec, properties, tags)``.
Finish = Callable[["xr.DataArray"], tuple[Any, ...]]  # xarray is imported only for type checking here


def per_time(ctx: AreaContext, layer: Any, evidence: xr.DataArray, finish: Finish,
             time: str | None = None) -> list[PlannedLayer]:
    """One layer per date (``time: each``) or one reduced layer, named after the spec and dates.

    Parameters
    ----------
    ctx : AreaContext
        The area.
    layer : pydantic model
        The layer entry; its ``time`` field (``each`` or a reduction) applies unless ``time`` is given.
    evidence : xarray.DataArray
        Lazy ``(time, y, x)`` values.
    finish : callable
        ``finish(2-D array) -> (data, LayerSpec, properties[, tags])`` for each date or the reduction.
    time : str, optional
        Overrides ``layer.time`` (products without a ``time`` field pass ``"each"``).
    """
    times = ctx.times
    config = layer.model_dump(mode="json")
    how = time if time is not None else layer.time
    if how == "each":
        out = []
        for i, t in enumerate(times):
            data, spec, props, *tags = finish(evidence.isel(time=i))
            out.append(PlannedLayer(ctx.area.name, f"{spec.name}_{t:%Y%m%d}", spec, data, t, t, "each",
                                    {**props, "scene_id": ctx.scene_id(i)}, config, tags=dict(*tags)))
        return out
    data, spec, props, *tags = finish(reduce_time(evidence, how))
    stem = f"{spec.name}_{how}_{times[0]:%Y%m%d}_{times[-1]:%Y%m%d}"
    return [PlannedLayer(ctx.area.name, stem, spec, data, times[0], times[-1], how, props, config,
                         tags=dict(*tags))]


def each_date(ctx: AreaContext, layer: Any, evidence: xr.DataArray, finish: Finish) -> list[PlannedLayer]:
    """:func:`per_time` with one layer per date, for products whose entry has no ``time`` field."""
    return per_time(ctx, layer, evidence, finish, time="each")
