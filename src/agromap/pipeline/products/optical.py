"""Per-date or time-reduced products: spectral indices, water masks, SAR backscatter."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ...errors import MissingBandError
from ...io.layers import BASE_SPECS, LayerSpec
from ...styles import DECIBEL, SIGNED, VEGETATION, WATER, Style
from ..schema import Strict, TimeReduce
from .base import AreaContext, PlannedLayer, Product, per_time

if TYPE_CHECKING:  # imported where used: registering products must not load the array stack
    import xarray as xr

    from ..area_inputs import AreaInputs

__all__ = ["INDEX_PRODUCTS", "IndexLayer", "WaterLayer", "BackscatterLayer", "index", "water", "backscatter",
           "index_needs", "water_needs", "backscatter_needs", "PRODUCTS"]

#: Spectral indices offered as products (each also in :data:`agromap.indices.INDICES` and
#: :data:`agromap.io.layers.BASE_SPECS`).
INDEX_PRODUCTS = ("ndvi", "evi", "lswi", "ndwi", "mndwi", "nbr", "bais2", "savi", "ndbi")
SAR_BANDS = ("vv", "vh", "hh", "hv")


class IndexLayer(Strict):
    """A spectral index per date or reduced over time."""

    product: Literal[INDEX_PRODUCTS]  # type: ignore[valid-type]
    """The spectral index (docs/science/indices_and_masks.md gives each formula and the bands it needs)."""
    time: TimeReduce = "each"
    """``each``: one layer per date; ``median``/``mean``/``max``/``min``/``first``/``last``: one layer
    reduced over the dates (masked pixels ignored)."""


class WaterLayer(Strict):
    """A thresholded water mask (optical index above, or SAR backscatter in dB below, a threshold)."""

    product: Literal["water_mask"]
    method: Literal["mndwi", "ndwi", "vh", "vv"]
    """Evidence: an optical index (water above the threshold) or SAR backscatter in dB (water below it)."""
    threshold: float | None = None
    """Default: 0 for mndwi/ndwi, -20 dB for vh, -15 dB for vv."""
    time: TimeReduce = "each"
    """``each``: one layer per date; otherwise the evidence is reduced over the dates first."""


class BackscatterLayer(Strict):
    """SAR backscatter in dB (reduced in linear power first)."""

    product: Literal["backscatter_db"]
    band: Literal["vv", "vh", "hh", "hv"]
    """SAR polarisation."""
    time: TimeReduce = "each"
    """``each``: one layer per date; otherwise reduced over the dates in linear power."""


_BACKSCATTER_SPECS: Mapping[str, LayerSpec] = {
    f"{b}_db": LayerSpec(f"{b}_db", "continuous", "float32", float("nan"), "dB",
                         f"{b.upper()} backscatter (dB), averaged in linear power") for b in SAR_BANDS}


def index(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """A spectral index per date, or reduced over time (``time``)."""
    from ... import indices

    evidence = indices.compute_index(ctx.ds, layer.product)
    return per_time(ctx, layer, evidence, lambda a: (a, BASE_SPECS[layer.product], {}))


def _band(ctx: AreaContext, band: str, what: str) -> xr.DataArray:
    if band not in ctx.ds:
        raise MissingBandError(f"{what} needs the {band} band; area {ctx.area.name} has {sorted(map(str, ctx.ds.data_vars))}.")
    return ctx.ds[band]


def backscatter(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """SAR backscatter of one band in dB."""
    from ...sensors.s1 import to_db

    band = layer.band
    spec = _BACKSCATTER_SPECS[f"{band}_db"]
    # Reductions happen in linear power; dB only at the end (docs/science/indices_and_masks.md#sentinel-1-backscatter).
    return per_time(ctx, layer, _band(ctx, band, "backscatter_db"), lambda a: (to_db(a), spec, {"band": band}))


def water(ctx: AreaContext, layer: Any) -> list[PlannedLayer]:
    """A water mask from an optical index or a SAR band."""
    from ... import indices
    from ...sensors.s1 import to_db
    from ...water import WATER_CLASSES, water_mask

    method = layer.method
    sar = method in ("vh", "vv")
    evidence = _band(ctx, method, f"water_mask method {method!r}") if sar else indices.compute_index(ctx.ds, method)

    def finish(ev: xr.DataArray) -> tuple[Any, ...]:
        mask = water_mask(to_db(ev) if sar else ev, method, layer.threshold)
        spec = dataclasses.replace(BASE_SPECS["water_mask"], name=f"water_mask_{method}", classes=WATER_CLASSES,
                                   description=mask.attrs["long_name"])
        used = {"method": method, "threshold": mask.attrs["threshold"]}
        return mask, spec, used, {"THRESHOLDS": json.dumps(used)}

    return per_time(ctx, layer, evidence, finish)


def index_needs(inputs: AreaInputs, layer: Any) -> list[str]:
    """Preflight of :func:`index`: the index's bands (:data:`agromap.index_bands.INDEX_BANDS`)."""
    from ...index_bands import INDEX_BANDS
    from ..area_inputs import per_time_stems

    inputs.need(INDEX_BANDS[layer.product], layer.product)
    return per_time_stems(inputs, BASE_SPECS[layer.product].name, layer.time)


def backscatter_needs(inputs: AreaInputs, layer: Any) -> list[str]:
    """Preflight of :func:`backscatter`: its polarisation."""
    from ..area_inputs import per_time_stems

    inputs.need((layer.band,), "backscatter_db")
    return per_time_stems(inputs, _BACKSCATTER_SPECS[f"{layer.band}_db"].name, layer.time)


def water_needs(inputs: AreaInputs, layer: Any) -> list[str]:
    """Preflight of :func:`water`: the SAR band, or the optical index's bands."""
    from ...index_bands import INDEX_BANDS
    from ..area_inputs import per_time_stems

    inputs.need((layer.method,) if layer.method in ("vh", "vv") else INDEX_BANDS[layer.method], "water_mask")
    return per_time_stems(inputs, f"water_mask_{layer.method}", layer.time)


_INDEX_STYLES: Mapping[str, Style] = {
    "ndvi": VEGETATION, "evi": VEGETATION, "savi": VEGETATION, "ndwi": WATER, "mndwi": WATER, "lswi": WATER,
    "nbr": SIGNED, "ndbi": SIGNED,
    # BAIS2 of burned surfaces is about 1-2.5 (Filipponi 2018); below 0 is vegetation that did not burn.
    "bais2": Style(-1.0, 3.0, "burn"),
}

def _index_specs(name: str) -> Callable[[], dict[str, LayerSpec]]:
    # A closure per index: the registry asks for the specs later, when it is first used.
    return lambda: {name: BASE_SPECS[name]}


def _always(layer: Any) -> bool:
    return True


PRODUCTS: tuple[Product, ...] = (
    # An index of the pixel's bands, per date or reduced over the pixel's dates: a per-pixel chain.
    *(Product(name, IndexLayer, index, _index_specs(name),
              {name: _INDEX_STYLES[name]}, preflight=index_needs, per_pixel=_always) for name in INDEX_PRODUCTS),
    Product("water_mask", WaterLayer, water, lambda: {"water_mask": BASE_SPECS["water_mask"]}, preflight=water_needs),
    Product("backscatter_db", BackscatterLayer, backscatter, lambda: _BACKSCATTER_SPECS,
            {name: DECIBEL for name in _BACKSCATTER_SPECS}, preflight=backscatter_needs),
)
