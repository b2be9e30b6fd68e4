"""The layer registry: every :class:`~agromap.io.layers.LayerSpec` agromap can write, by name.

One registry, derived rather than typed: the layers that belong to no single product
(:data:`agromap.io.layers.BASE_SPECS`), the true-area grid (:mod:`agromap.area`) and each
product plug-in's ``layer_specs`` (docs/adding_a_product.md). Each spec is defined once, next
to its science; two different specs under one name are refused.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from .errors import ConfigError
from .io.layers import BASE_SPECS, LayerSpec

__all__ = ["LAYERS", "layer_specs", "get_layer", "find_layer_spec"]  # noqa: F822 (LAYERS comes from __getattr__)

if TYPE_CHECKING:
    LAYERS: Mapping[str, LayerSpec]  # provided by __getattr__ below


@functools.cache
def layer_specs() -> Mapping[str, LayerSpec]:
    """Every registered layer spec by name (read-only), built on first use."""
    from .area import LAYER_SPECS as AREA_SPECS
    from .pipeline.products.registry import products

    merged: dict[str, LayerSpec] = {}
    sources: dict[str, str] = {}
    groups = [("agromap.io.layers", BASE_SPECS), ("agromap.area", AREA_SPECS)]
    groups += [(f"product {p.name!r}", p.layer_specs()) for p in products().values()]
    for source, specs in groups:
        for name, spec in specs.items():
            if spec.name != name:
                raise ConfigError(f"{source}: layer spec registered as {name!r} is named {spec.name!r}.")
            if merged.setdefault(name, spec) != spec:
                raise ConfigError(f"layer {name!r} is defined twice, differently, by {sources[name]} and {source}; "
                                  "keep one definition next to its science.")
            sources.setdefault(name, source)
    return MappingProxyType(merged)


def get_layer(name: str) -> LayerSpec:
    """The registered :class:`~agromap.io.layers.LayerSpec` called ``name``.

    Raises
    ------
    ConfigError
        No layer of that name; the message lists the registered ones.
    """
    specs = layer_specs()
    try:
        return specs[name]
    except KeyError:
        raise ConfigError(f"unknown layer {name!r}; registered layers: {', '.join(sorted(specs))}.") from None


def find_layer_spec(name: str | None) -> LayerSpec | None:
    """The registered spec called ``name``, or None (for legends and styles of any array or file)."""
    return layer_specs().get(name) if name else None


def __getattr__(name: str) -> object:
    # LAYERS is derived from the product registry on first use, not when this module is imported.
    if name == "LAYERS":
        return layer_specs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
