"""The ``.agromap`` accessor on xarray Datasets and DataArrays: the public functions, bound.

docs/architecture.md#functions-and-the-accessor: functions are the API; the accessor only binds them. It stores the
wrapped object in ``_obj`` and nothing else (``__slots__``), has no ``inplace=`` and never mutates
its input. Each method is the function with the object as first argument (``da.agromap.lswi``
is :func:`agromap.indices.lswi` on ``da``), with the function's docstring for Jupyter's ``?``.
Dataset index methods read their bands by name: ``ds.agromap.ndvi()`` is
``agromap.indices.compute_index(ds, "ndvi")``.

Functions are imported on first use of the method, so importing this module costs only xarray.
Methods of optional parts (rice, air quality, disaster) raise :class:`AccessorUnavailableError`
(an ``AttributeError``, so ``hasattr`` is False) when their module cannot be imported.

Register the accessor with ``import agromap.accessor`` (``import agromap`` does it when the
package imports this module).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import types
from collections.abc import Callable
from typing import Any

import xarray as xr

from .errors import AccessorUnavailableError, ConfigError

__all__ = ["AgromapDatasetAccessor", "AgromapDataArrayAccessor", "write_cog"]


_SELF = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)


class _Bound:
    """Descriptor binding ``module:function`` onto an accessor; the module is imported on access.

    ``adapt(obj, fn, *args, **kwargs)`` replaces the default call ``fn(obj, *args, **kwargs)``;
    the method then has the adapter's signature (or the function's, with ``same_signature``)
    and ``note`` heads its docstring.
    Holds only these settings (class level); nothing is stored per object.
    """

    def __init__(self, target: str, adapt: Callable[..., Any] | None = None, *, note: str = "",
                 same_signature: bool = False) -> None:
        self.module, self.func = target.rsplit(":", 1)
        self.adapt, self.note, self.same_signature = adapt, note, same_signature
        self.name = self.func

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def function(self) -> Callable[..., Any]:
        try:
            fn = getattr(importlib.import_module(self.module), self.func)
        except (ImportError, AttributeError) as exc:
            raise AccessorUnavailableError(
                f".agromap.{self.name} needs {self.module}.{self.func}, which cannot be imported here ({exc}); "
                f"install the optional dependencies of {self.module} or call another method.") from exc
        return fn

    def method(self) -> Callable[..., Any]:
        fn = self.function()
        adapt = self.adapt

        if adapt is None:
            @functools.wraps(fn)  # keeps the docstring for Jupyter's `?`
            def method(self: Any, *args: Any, **kwargs: Any) -> Any:
                return fn(self._obj, *args, **kwargs)

            params = list(inspect.signature(fn).parameters.values())[1:]
        else:
            @functools.wraps(fn)
            def method(self: Any, *args: Any, **kwargs: Any) -> Any:
                return adapt(self._obj, fn, *args, **kwargs)

            params = list(inspect.signature(fn if self.same_signature else adapt).parameters.values())
            params = params[1:] if self.same_signature else params[2:]
            method.__doc__ = f"{self.note}\n\n{inspect.getdoc(fn) or ''}"
        method.__name__ = method.__qualname__ = self.name
        method.__signature__ = inspect.Signature([_SELF, *params])  # type: ignore[attr-defined]
        return method

    def __get__(self, acc: Any, owner: type | None = None) -> Any:
        method = self.method()
        return method if acc is None else types.MethodType(method, acc)


# ---------------------------------------------------------------------------------------- adapters
def _index(name: str) -> _Bound:
    def adapt(ds: xr.Dataset, fn: Callable[..., Any], *, bands: dict[str, str] | None = None,
              **params: Any) -> xr.DataArray:
        from .indices import compute_index

        return compute_index(ds, name, bands=bands, **params)

    func = "ndwi_mcfeeters" if name == "ndwi" else name
    return _Bound(f"agromap.indices:{func}", adapt, note=(
        f"``ds.agromap.{name}(bands=None, **params)`` = ``agromap.indices.compute_index(ds, {name!r}, "
        "bands=bands, **params)``: the bands are taken from the Dataset by their common names "
        "(``bands={'nir': 'nir08'}`` substitutes one). The index function's documentation follows."))


def _band(band: str) -> Callable[..., Any]:
    def adapt(ds: xr.Dataset, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from .errors import MissingBandError

        if band not in ds.data_vars:
            raise MissingBandError(f"{fn.__name__} needs the variable {band!r}, not in the dataset (variables: "
                                   f"{', '.join(map(str, ds.data_vars)) or 'none'}); call it on the band instead.")
        return fn(ds[band], *args, **kwargs)

    return adapt


def _water_ds(ds: xr.Dataset, fn: Callable[..., Any], method: str = "mndwi", threshold: float | None = None,
              **index_kw: Any) -> xr.DataArray:
    if method in ("vh", "vv"):
        from .sensors.s1 import to_db

        if method not in ds.data_vars:
            raise ConfigError(f"water_mask(method={method!r}) needs the {method!r} band (linear power).")
        evidence = to_db(ds[method])
    else:
        from .indices import compute_index

        evidence = compute_index(ds, method, **index_kw)
    return fn(evidence, method, threshold)


def _flood_da(da: xr.DataArray, fn: Callable[..., Any], pre: Any = None, **kwargs: Any) -> Any:
    if da.name not in ("vv", "vh"):
        raise ConfigError(f"da.agromap.flood() needs a DataArray named 'vv' or 'vh' (got {da.name!r}); "
                          "rename it, or call ds.agromap.flood() on a Dataset with both polarisations.")
    if isinstance(pre, xr.DataArray):
        pre = pre.to_dataset(name=str(da.name))
    return fn(da.to_dataset(name=str(da.name)), pre, **kwargs)


def _index_map_da(da: xr.DataArray, fn: Callable[..., Any], product: str | None = None, **kwargs: Any) -> Any:
    return fn(da, product or str(da.name or "ndvi"), **kwargs)


def write_cog(arr: xr.DataArray, path: str | os.PathLike[str], layer: Any = None, *,
              tags: dict[str, Any] | None = None, run_id: str = "interactive") -> Any:
    """Compute ``arr`` and publish it as a validated COG at ``path`` (the export edge; it computes).

    Parameters
    ----------
    arr : xarray.DataArray
        ``(y, x)`` science output with its grid in the coordinates, numpy or dask.
    path : path
        Final COG path; written atomically (:func:`agromap.io.write.publish_cog`).
    layer : LayerSpec or str, optional
        The layer (or its registered name); default: the layer named ``arr.name``.
    tags : dict, optional
        Dataset tags (``ALGORITHM``, ``RUN_ID``...).
    run_id : str
        Names the staging file.

    Returns
    -------
    agromap.io.write.CogInfo
    """
    import dask

    from .io.layers import LayerSpec
    from .io.write import discard_staging, publish_cog, staging_path_for, store_gtiff
    from .quicklook import find_layer_spec

    spec = layer if isinstance(layer, LayerSpec) else find_layer_spec(layer or str(arr.name))
    if spec is None:
        raise ConfigError(f"write_cog: no layer registered as {layer or arr.name!r}; pass layer=LayerSpec(...) "
                          "or a registered name such as 'ndvi' or 'flood_class'.")
    staging = staging_path_for(path, run_id)
    try:
        dask.compute(store_gtiff(arr, staging, spec))
        return publish_cog(staging, path, spec, tags=tags)
    finally:
        discard_staging(staging)


class _Base:
    __slots__ = ("_obj",)

    def __init__(self, obj: Any) -> None:
        self._obj = obj  # the only attribute; never written again

    def __repr__(self) -> str:
        name = getattr(self._obj, "name", None)
        return f"<agromap accessor on {type(self._obj).__name__}{f' {name!r}' if name is not None else ''}>"


@xr.register_dataset_accessor("agromap")
class AgromapDatasetAccessor(_Base):
    """``ds.agromap``: agromap functions with the Dataset as first argument (bands by name)."""

    __slots__ = ()

    # indices (bands by common name) and the generic entry point
    ndvi, evi, lswi, ndwi = _index("ndvi"), _index("evi"), _index("lswi"), _index("ndwi")
    ndwi_mcfeeters, mndwi, nbr, nbr2 = _index("ndwi_mcfeeters"), _index("mndwi"), _index("nbr"), _index("nbr2")
    bais2, savi, ndbi, ndsi = _index("bais2"), _index("savi"), _index("ndbi"), _index("ndsi")
    ndfi, mirbi = _index("ndfi"), _index("mirbi")
    index = _Bound("agromap.indices:compute_index")
    # masks and water
    scl_valid = _Bound("agromap.masks:scl_valid", _band("scl"), same_signature=True, note="``ds.agromap.scl_valid(...)`` = "
                       "``agromap.masks.scl_valid(ds['scl'], ...)``.")
    qa_pixel_valid = _Bound("agromap.masks:qa_pixel_valid", _band("qa_pixel"), same_signature=True,
                            note="``ds.agromap.qa_pixel_valid"
                            "(...)`` = ``agromap.masks.qa_pixel_valid(ds['qa_pixel'], ...)``.")
    apply_mask = _Bound("agromap.masks:apply_mask")
    water_mask = _Bound("agromap.water:water_mask", _water_ds, note=(
        "``ds.agromap.water_mask(method='mndwi', threshold=None)``: the evidence is computed from the Dataset "
        "(MNDWI/NDWI with ``compute_index``; ``vh``/``vv`` linear power converted to dB with "
        "``agromap.sensors.s1.to_db``), then ``agromap.water.water_mask(evidence, method, threshold)``."))
    # plots
    true_colour = _Bound("agromap.plot:true_colour")
    false_colour = _Bound("agromap.plot:false_colour")
    index_map = _Bound("agromap.plot:index_map")
    time_series = _Bound("agromap.plot:time_series")
    # rice, air quality, disaster (optional; imported on use)
    rice_optical = _Bound("agromap.rice.rules_optical:optical_rice_rule")
    rice_sar = _Bound("agromap.rice.rules_sar:sar_rice_rule")
    aqi = _Bound("agromap.airquality.aqi:aqi_from_concentrations")
    aqi_from_subindices = _Bound("agromap.airquality.aqi:aqi")
    flood = _Bound("agromap.disaster.flood:flood_map")
    clear_composite = _Bound("agromap.disaster.burn:clear_composite")


@xr.register_dataarray_accessor("agromap")
class AgromapDataArrayAccessor(_Base):
    """``da.agromap``: agromap functions with the DataArray as first argument."""

    __slots__ = ()

    # indices with this array as the first band: nir.agromap.ndvi(red) = agromap.indices.ndvi(nir, red)
    ndvi, evi, lswi = _Bound("agromap.indices:ndvi"), _Bound("agromap.indices:evi"), _Bound("agromap.indices:lswi")
    ndwi, ndwi_mcfeeters = _Bound("agromap.indices:ndwi"), _Bound("agromap.indices:ndwi_mcfeeters")
    mndwi, nbr, nbr2 = _Bound("agromap.indices:mndwi"), _Bound("agromap.indices:nbr"), _Bound("agromap.indices:nbr2")
    bais2, savi, ndbi = _Bound("agromap.indices:bais2"), _Bound("agromap.indices:savi"), _Bound("agromap.indices:ndbi")
    ndsi, ndfi, mirbi = _Bound("agromap.indices:ndsi"), _Bound("agromap.indices:ndfi"), _Bound("agromap.indices:mirbi")
    # masks, water, SAR units
    scl_valid = _Bound("agromap.masks:scl_valid")
    qa_pixel_valid = _Bound("agromap.masks:qa_pixel_valid")
    valid_fraction = _Bound("agromap.masks:valid_fraction")
    apply_mask = _Bound("agromap.masks:apply_mask")
    water_mask = _Bound("agromap.water:water_mask")
    to_db = _Bound("agromap.sensors.s1:to_db")
    to_linear = _Bound("agromap.sensors.s1:to_linear")
    # plots
    index_map = _Bound("agromap.plot:index_map", _index_map_da, note=(
        "``da.agromap.index_map(product=None, ...)`` = ``agromap.plot.index_map(da, product or da.name, ...)``."))
    class_map = _Bound("agromap.plot:class_map")
    time_series = _Bound("agromap.plot:time_series")
    # export
    to_cog = _Bound("agromap.accessor:write_cog")
    # rice, air quality, disaster (optional; imported on use)
    rice_sar = _Bound("agromap.rice.rules_sar:sar_rice_rule")
    subindex = _Bound("agromap.airquality.aqi:subindex")
    flood = _Bound("agromap.disaster.flood:flood_map", _flood_da, note=(
        "``da.agromap.flood(pre=None, **kw)`` = ``agromap.disaster.flood.flood_map(da.to_dataset(), pre, **kw)`` "
        "for a DataArray named ``vv`` or ``vh``."))
    flood_exposure = _Bound("agromap.disaster.exposure:flood_exposure")
    burn_severity = _Bound("agromap.disaster.burn:burn_severity")
    vci = _Bound("agromap.disaster.drought:vci")
