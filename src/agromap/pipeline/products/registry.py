"""The product registry: every :class:`~agromap.pipeline.products.base.Product`, by name.

Each product module lists its records in a module-level ``PRODUCTS`` tuple; :data:`MODULES`
names those modules, one line each. Everything that used to be typed by hand in several places
is derived from here: the configuration union and the product names
(:mod:`agromap.pipeline.config`), the builders (:func:`agromap.pipeline.products.plan_layers`),
the layer registry (:mod:`agromap.layer_registry`) and the quicklook styles
(:mod:`agromap.quicklook`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ..plugins import gather
from .base import Product

__all__ = ["MODULES", "products", "get_product", "product_names", "config_models"]

#: Modules holding product plug-ins (each with a ``PRODUCTS`` tuple), in the order products are listed.
MODULES: tuple[str, ...] = (
    "agromap.pipeline.products.optical",
    "agromap.pipeline.products.rice",
    "agromap.pipeline.products.disaster",
    "agromap.pipeline.products.airquality",
    "agromap.pipeline.products.vhi",
)


@functools.cache
def products() -> Mapping[str, Product]:
    """Every registered product by name, in registration order (read-only)."""
    return gather(MODULES, "PRODUCTS", "name", "product")


def get_product(name: str) -> Product:
    """The product called ``name``; a :class:`~agromap.errors.ConfigError` listing the known ones."""
    try:
        return products()[name]
    except KeyError:
        raise ConfigError(f"unknown product {name!r}; choose one of {', '.join(product_names())}.") from None


def product_names() -> tuple[str, ...]:
    """The names users may write as ``product:``, in registration order."""
    return tuple(products())


def config_models() -> tuple[type[Any], ...]:
    """The distinct layer configuration models, in registration order (one model may serve several products)."""
    return tuple(dict.fromkeys(p.config_model for p in products().values()))
