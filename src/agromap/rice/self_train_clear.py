"""The label steps' clear dates, NDVI and LSWI, as the self-trained map's optical rule saw them.

One module of its own: the label steps (:mod:`agromap.rice.self_train_labels`) and the neighbour kernels
(:mod:`agromap.rice.self_train_neighbours`) both read it, and the labels module imports the kernels.
"""

from __future__ import annotations

from typing import Any, cast

import xarray as xr

__all__ = ["clear_indices"]


def clear_indices(optical: xr.Dataset, params: Any = None) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """The clear-date mask (as the optical rule with ``params`` sees it: its cloud, haze and snow tests;
    default :class:`~agromap.rice.optical_params.OpticalRiceParams`), NDVI and LSWI of an optical stack (lazy).
    The label steps pass the parameters the self-trained map's optical rule ran with, so that an
    override of those tests reaches them too.
    """
    from .self_train_once import once

    return once("clear_indices", (optical, params), lambda: _clear_indices(optical, params))


def _clear_indices(optical: xr.Dataset, params: Any) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    from .. import indices
    from .rules_optical import OpticalRiceParams, clear_observations
    from .seasons import prepare_series

    ds = cast(xr.Dataset, prepare_series(optical, "optical stack"))
    ok = clear_observations(ds, ds["nir"], params if params is not None else OpticalRiceParams(), None)
    return ok, indices.ndvi(ds["nir"], ds["red"]), indices.lswi(ds["nir"], ds["swir16"])
