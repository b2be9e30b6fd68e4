"""Test helpers for agromap and for users' own tests.

- :func:`make_raster`: a tiny georeferenced DataArray (numpy or dask) from literal values.
- :func:`raise_if_dask_computes`: a context manager that fails if anything computes.
- :func:`count_computes`: a scheduler that counts how many times dask computed.
- :class:`SceneSpec`, :func:`make_truth`, :func:`make_s2_stack`, :func:`make_s1_stack`,
  :func:`write_stack_geotiffs`: synthetic multi-date scenes with known truth (from
  :mod:`agromap.synthetic`, imported on first use).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dask
import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from .io.grid import attach_geobox, north_up_geobox

if TYPE_CHECKING:  # re-exported lazily by __getattr__ below
    from .synthetic import SceneSpec, make_s1_stack, make_s2_stack, make_truth, write_stack_geotiffs

__all__ = [
    "make_raster",
    "make_geobox",
    "raise_if_dask_computes",
    "count_computes",
    "ComputeCounter",
    "SceneSpec",
    "make_truth",
    "make_s2_stack",
    "make_s1_stack",
    "write_stack_geotiffs",
]


def make_geobox(
    shape: tuple[int, int],
    *,
    crs: str = "EPSG:32643",
    res: float = 10.0,
    origin: tuple[float, float] = (500_000.0, 2_000_000.0),
) -> GeoBox:
    """A north-up GeoBox of ``shape`` (rows, cols) whose top-left corner is ``origin`` (x, y)."""
    return north_up_geobox(shape, crs, res, origin)


def make_raster(
    values: Any,
    *,
    crs: str = "EPSG:32643",
    res: float = 10.0,
    origin: tuple[float, float] = (500_000.0, 2_000_000.0),
    chunks: Mapping[str, int] | int | None = None,
    dtype: Any = None,
    name: str | None = None,
    times: Sequence[Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """A small georeferenced raster from literal values.

    Parameters
    ----------
    values : array-like
        2-D ``(y, x)``, or 3-D ``(time, y, x)`` when ``times`` is given.
    crs, res, origin : str, float, (float, float)
        Grid CRS, pixel edge and top-left corner (x, y).
    chunks : dict or int, optional
        ``None`` for numpy-backed, otherwise dask chunks (e.g. ``{"y": 2, "x": 2}``).
    dtype : numpy dtype, optional
        Cast the values (default: float32 for float input, else as given).
    name : str, optional
        Variable name.
    times : sequence, optional
        Dates for the leading axis.

    Examples
    --------
    >>> make_raster([[0.1, 0.2]]).dims
    ('y', 'x')
    """
    arr = np.asarray(values)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    if times is not None:
        if arr.ndim != 3 or arr.shape[0] != len(times):
            raise ValueError(f"values must be (time, y, x) with {len(times)} dates, got {arr.shape}")
        dims: tuple[str, ...] = ("time", "y", "x")
    elif arr.ndim == 2:
        dims = ("y", "x")
    else:
        raise ValueError(f"values must be 2-D (y, x) unless times is given, got {arr.shape}")
    gbox = make_geobox(arr.shape[-2:], crs=crs, res=res, origin=origin)
    coords: dict[str, Any] = {}
    if times is not None:
        coords["time"] = np.asarray(times, dtype="datetime64[ns]")
    da = xr.DataArray(arr, dims=dims, coords=coords, name=name, attrs=dict(attrs or {}))
    da = attach_geobox(da, gbox)
    if chunks is not None:
        da = da.chunk(chunks)
    return da


class ComputeCounter:
    """A dask scheduler that counts computes and optionally refuses them."""

    def __init__(self, max_computes: int | None = 0) -> None:
        self.max_computes = max_computes
        self.total_computes = 0

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        """Count one compute, fail past ``max_computes``, then run the graph synchronously."""
        self.total_computes += 1
        if self.max_computes is not None and self.total_computes > self.max_computes:
            raise RuntimeError(
                f"Too many dask computations were scheduled: {self.total_computes} > {self.max_computes}"
            )
        return dask.get(dsk, keys, **kwargs)


@contextlib.contextmanager
def count_computes(max_computes: int | None = None) -> Iterator[ComputeCounter]:
    """Run dask on a synchronous scheduler that counts computations."""
    counter = ComputeCounter(max_computes)
    with dask.config.set(scheduler=counter):
        yield counter


@contextlib.contextmanager
def raise_if_dask_computes(max_computes: int = 0) -> Iterator[ComputeCounter]:
    """Fail with ``RuntimeError`` if more than ``max_computes`` dask computations happen inside."""
    with count_computes(max_computes) as counter:
        yield counter


_SYNTHETIC = ("SceneSpec", "make_truth", "make_s2_stack", "make_s1_stack", "write_stack_geotiffs")


def __getattr__(name: str) -> Any:
    # The synthetic scene generator is re-exported here lazily, so importing the light helpers
    # above does not pay for it.
    if name in _SYNTHETIC:
        from . import synthetic

        return getattr(synthetic, name)
    raise AttributeError(f"module 'agromap.testing' has no attribute {name!r}")
