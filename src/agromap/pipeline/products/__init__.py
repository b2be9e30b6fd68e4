"""From an area's stacked Dataset to the lazy 2-D layers the runner exports.

Pure graph building: every builder returns lazy arrays and computes nothing. Each product is a
plug-in (:class:`Product`, registered in :mod:`.registry`); :func:`plan_layers` dispatches on
the layer configuration's ``product``.
"""

from __future__ import annotations

from ...errors import ConfigError
from .base import OPTICAL, AreaContext, PlannedLayer, Product, each_date, mask_dataset, per_time, reduce_time

__all__ = ["PlannedLayer", "AreaContext", "Product", "mask_dataset", "plan_layers", "reduce_time", "per_time",
           "each_date", "OPTICAL"]


def plan_layers(ctx: AreaContext) -> list[PlannedLayer]:
    """Every output layer of the area as lazy 2-D arrays.

    Raises
    ------
    ConfigError
        A layer names a product nobody registered, or two layers would write the same file.
    ProductContractError
        A builder returned side values its product does not declare, or missed declared ones.
    """
    from .registry import get_product

    planned: list[PlannedLayer] = []
    for layer in ctx.area.layers:
        product = get_product(layer.product)
        built = product.build(ctx, layer)
        for one in built:
            product.check_side(one)
        planned.extend(built)
    stems = [p.stem for p in planned]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ConfigError(f"area {ctx.area.name}: layers {dup} would be written twice; two scenes share a date or "
                          "a layer is listed twice.")
    return planned
