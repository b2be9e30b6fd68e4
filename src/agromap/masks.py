"""Cloud and quality masks: Sentinel-2 SCL classes and Landsat C2 ``QA_PIXEL`` bits (docs/science/indices_and_masks.md).

A mask is a bool DataArray, True = usable. Masks are built by small numpy kernels wrapped once
with ``xarray.apply_ufunc(dask="parallelized")``, so they stay lazy, keep chunks and coordinates,
and take the same path for numpy and dask input.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from enum import IntEnum, IntFlag
from math import prod
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import xarray as xr

from .errors import ConfigError, MaskDtypeError
from .io.dn_kernel import table_lookup
from .io.grid import require_same_grid

__all__ = [
    "SCL", "SCL_INVALID_DEFAULT", "SCL_KEEP_AND_FLAG", "QA", "QA_INVALID_DEFAULT",
    "scl_valid", "qa_pixel_valid", "valid_fraction", "apply_mask",
]  # fmt: skip

_Obj = TypeVar("_Obj", xr.DataArray, xr.Dataset)


class SCL(IntEnum):
    """Sentinel-2 L2A Scene Classification (Sen2Cor) values (docs/science/indices_and_masks.md#scl-classes)."""

    NO_DATA = 0
    SATURATED_DEFECTIVE = 1
    DARK_AREA = 2
    CLOUD_SHADOW = 3
    VEGETATION = 4
    NOT_VEGETATED = 5
    WATER = 6
    UNCLASSIFIED = 7
    CLOUD_MEDIUM_PROBABILITY = 8
    CLOUD_HIGH_PROBABILITY = 9
    THIN_CIRRUS = 10
    SNOW_ICE = 11


#: Invalid by default: nodata, defective, shadow, cloud, cirrus, snow (docs/science/indices_and_masks.md#scl-classes).
SCL_INVALID_DEFAULT: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11)
#: Kept by default but worth flagging: flooded paddies are dark (2); 7 is low-probability cloud.
SCL_KEEP_AND_FLAG: tuple[int, ...] = (2, 7)


class QA(IntFlag):
    """Landsat Collection 2 ``QA_PIXEL`` single-bit flags (USGS LSDS-1619); C1 ``BQA`` bits differ."""

    FILL = 1 << 0
    DILATED_CLOUD = 1 << 1
    CIRRUS = 1 << 2
    CLOUD = 1 << 3
    CLOUD_SHADOW = 1 << 4
    SNOW = 1 << 5
    CLEAR = 1 << 6
    WATER = 1 << 7


#: Bits that make a pixel unusable by default: fill, dilated cloud, cirrus, cloud, shadow (0b11111).
QA_INVALID_DEFAULT: int = QA.FILL | QA.DILATED_CLOUD | QA.CIRRUS | QA.CLOUD | QA.CLOUD_SHADOW


def _not_in_kernel(classes: npt.NDArray[Any], invalid: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if classes.dtype.kind == "u" and classes.dtype.itemsize <= 2:
        # One lookup per pixel in a table over every value of the dtype (256 or 65 536 entries):
        # half the time of isin's comparisons on a (time, y, x) tile, the same answer.
        table = np.ones(1 << (8 * classes.dtype.itemsize), dtype=bool)
        table[invalid] = False
        # Compiled: a tenth of numpy's take, which first widens every class to a 64-bit index.
        looked_up = table_lookup(table, classes)
        return _taken(table, classes) if looked_up is None else looked_up
    return ~np.isin(classes, invalid)


def _taken(table: npt.NDArray[np.bool_], classes: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """``table[classes]`` with numpy, a leading slice at a time.

    ``take`` widens the classes to 64-bit indices first: for a whole ``(time, y, x)`` tile that is
    a temporary eight times its size (24 MiB for twelve 512² dates), fresh memory on each tile;
    per date it is 2 MiB, which the allocator reuses from one date to the next. The same values.
    """
    if classes.ndim < 2 or classes.size < _TAKE_SLICE:
        return np.asarray(np.take(table, classes))
    out = np.empty(classes.shape, dtype=np.bool_)
    for i in range(classes.shape[0]):
        np.take(table, classes[i], out=out[i], mode="clip")  # every class is in the table: never clipped
    return out


_TAKE_SLICE = 1 << 18
"""Classes above which :func:`_taken` looks a tile up a leading slice at a time (2 MiB of indices)."""


def _bits_clear_kernel(qa: npt.NDArray[Any], bits: int) -> npt.NDArray[np.bool_]:
    clear: npt.NDArray[np.bool_] = np.bitwise_and(qa, bits) == 0
    return clear


def _mask_kernel(data: npt.NDArray[Any], valid: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
    return np.where(valid, data, np.array(np.nan, dtype=data.dtype))


def _require_integer(arr: xr.DataArray, what: str) -> None:
    # Float SCL/QA means a reader already resampled or NaN-filled it: classes and bits are lost.
    if not np.issubdtype(arr.dtype, np.integer):
        raise MaskDtypeError(
            f"{what} {arr.name or 'input'!r} is {arr.dtype}; expected integer classes/bits (uint8 SCL, uint16 "
            "QA_PIXEL). Read it raw, with nearest/mode resampling and no scale or NaN fill."
        )


def _require_bool(valid: xr.DataArray, func: str) -> None:
    if valid.dtype != np.bool_:
        raise MaskDtypeError(
            f"{func} needs a bool mask (True = usable), got {valid.dtype}; build one with scl_valid() or "
            "qa_pixel_valid(), or compare explicitly (e.g. arr > 0)."
        )


def _bool_ufunc(kernel: Any, arr: xr.DataArray, name: str, long_name: str, **kwargs: Any) -> xr.DataArray:
    out: xr.DataArray = xr.apply_ufunc(kernel, arr, kwargs=kwargs, dask="parallelized", output_dtypes=[np.bool_])
    return out.rename(name).assign_attrs(long_name=long_name)


def scl_valid(scl: xr.DataArray, invalid_classes: Iterable[int] = SCL_INVALID_DEFAULT) -> xr.DataArray:
    """Usable-pixel mask from the Sentinel-2 L2A Scene Classification layer.

    Parameters
    ----------
    scl : xarray.DataArray
        SCL classes 0-11, integer dtype (uint8 as read), numpy or dask, any dims.
    invalid_classes : iterable of int
        Classes to mask. The default, :data:`SCL_INVALID_DEFAULT` = (0, 1, 3, 8, 9, 10, 11),
        follows docs/science/indices_and_masks.md#scl-classes; drop 11 to keep snow, or 3 to keep shadow.

    Returns
    -------
    xarray.DataArray
        ``scl_valid``, bool, True = usable; same dims, coordinates and chunks as ``scl``. Lazy.

    Raises
    ------
    MaskDtypeError
        When ``scl`` is not an integer array.
    ConfigError
        When a class is outside 0-11.

    Examples
    --------
    >>> scl_valid(xr.DataArray(np.array([0, 4, 9, 11], dtype=np.uint8))).values
    array([False,  True, False, False])
    >>> scl_valid(xr.DataArray(np.array([3, 11], dtype=np.uint8)), invalid_classes=(0, 1, 8, 9, 10)).values
    array([ True,  True])
    """
    _require_integer(scl, "SCL")
    invalid = sorted({int(c) for c in invalid_classes})
    bad = [c for c in invalid if c not in SCL._value2member_map_]
    if bad:
        raise ConfigError(f"invalid_classes {bad} are not SCL classes; SCL values are 0-11.")
    return _bool_ufunc(
        _not_in_kernel, scl, "scl_valid", "usable pixel (Sentinel-2 SCL)", invalid=np.asarray(invalid, dtype=scl.dtype)
    )


def qa_pixel_valid(
    qa: xr.DataArray, *, mask_snow: bool = False, mask_water: bool = False, mask_shadow: bool = True
) -> xr.DataArray:
    """Usable-pixel mask from Landsat Collection 2 ``QA_PIXEL`` bits.

    A pixel is invalid when any of fill (bit 0), dilated cloud (1), cirrus (2), cloud (3) or,
    by default, cloud shadow (4) is set, i.e. ``qa & 0b11111 != 0``.

    Parameters
    ----------
    qa : xarray.DataArray
        ``QA_PIXEL`` as read (uint16; any integer dtype), numpy or dask, any dims.
    mask_snow : bool
        Also mask snow/ice (bit 5); off by default (docs/science/indices_and_masks.md#landsat-collection-2-level-2).
    mask_water : bool
        Also mask water (bit 7); off by default, since water is the flood and paddy signal.
    mask_shadow : bool
        Mask cloud shadow (bit 4). The rice flood window sets False and flags it instead.

    Returns
    -------
    xarray.DataArray
        ``qa_pixel_valid``, bool, True = usable; same dims, coordinates and chunks as ``qa``. Lazy.

    Raises
    ------
    MaskDtypeError
        When ``qa`` is not an integer array (C2 bits cannot survive a float conversion with NaN).

    Examples
    --------
    >>> qa_pixel_valid(xr.DataArray(np.array([21824, 1, 21832, 21952], dtype=np.uint16))).values
    array([ True, False, False,  True])
    """
    _require_integer(qa, "QA_PIXEL")
    bits = int(QA_INVALID_DEFAULT)
    if not mask_shadow:
        bits &= ~int(QA.CLOUD_SHADOW)
    if mask_snow:
        bits |= int(QA.SNOW)
    if mask_water:
        bits |= int(QA.WATER)
    return _bool_ufunc(_bits_clear_kernel, qa, "qa_pixel_valid", "usable pixel (Landsat C2 QA_PIXEL)", bits=bits)


def valid_fraction(valid: xr.DataArray, dims: str | Sequence[Hashable] = ("y", "x")) -> xr.DataArray:
    """Fraction of usable pixels over ``dims`` (by default, per date).

    Parameters
    ----------
    valid : xarray.DataArray
        Bool mask, True = usable (from :func:`scl_valid` or :func:`qa_pixel_valid`), numpy or dask.
    dims : str or sequence of str
        Dimensions to reduce, ``("y", "x")`` for rasters or ``"point"`` for (time, point) samples.

    Returns
    -------
    xarray.DataArray
        ``valid_fraction``, float32 in [0, 1], over the remaining dims (e.g. ``time``); a 0-d
        array for a single scene. Lazy if ``valid`` is: compute it with the products.

    Raises
    ------
    MaskDtypeError
        When ``valid`` is not bool.
    ValueError
        When a dim is absent or the reduced dims are empty.

    Examples
    --------
    >>> valid_fraction(xr.DataArray([[True, False], [True, True]], dims=("y", "x"))).values
    array(0.75, dtype=float32)
    """
    _require_bool(valid, "valid_fraction")
    dim_list = [dims] if isinstance(dims, str) else list(dims)
    missing = [d for d in dim_list if d not in valid.dims]
    if missing:
        raise ValueError(f"valid_fraction: dims {missing} not in the mask's dims {valid.dims}; pass dims=...")
    n = prod(valid.sizes[d] for d in dim_list)
    if n == 0:
        raise ValueError(f"valid_fraction: the mask has no pixels along {dim_list} (sizes {dict(valid.sizes)}).")
    # Count in integers, divide once: a float32 running mean drifts on large rasters.
    out = valid.sum(dim=dim_list).astype(np.float32) / np.float32(n)
    return out.rename("valid_fraction").assign_attrs(units="1", long_name="fraction of usable pixels")


def _mask_array(data: xr.DataArray, valid: xr.DataArray) -> xr.DataArray:
    if not np.issubdtype(data.dtype, np.floating):
        raise MaskDtypeError(
            f"apply_mask sets NaN, so it needs float data; {data.name or 'input'!r} is {data.dtype}. Convert "
            "to float32 reflectance first (ingest does), or drop class/QA layers before masking."
        )
    # Non-spatial inputs (time, point) have no GeoBox and pass; xarray's exact join checks their coordinates.
    require_same_grid(data, valid)
    out: xr.DataArray = xr.apply_ufunc(
        _mask_kernel, data, valid, dask="parallelized", output_dtypes=[data.dtype], keep_attrs="override"
    )
    # A mask with dims the data lacks (e.g. time) broadcasts; keep the data's own order last.
    return out.transpose(..., *data.dims).rename(data.name)


def apply_mask(obj: _Obj, valid: xr.DataArray) -> _Obj:
    """Set pixels where ``valid`` is False to NaN.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Float data (every data variable of a Dataset), numpy or dask. The dtype is kept (float32
        stays float32).
    valid : xarray.DataArray
        Bool mask, True = usable, on the same grid; broadcast by dimension name, so a
        ``(time, y, x)`` mask applies date by date. Coordinates must match exactly.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        Like ``obj`` (name, attrs, coordinates, chunks, dtype) with NaN where ``valid`` is False.
        Lazy if either input is.

    Raises
    ------
    MaskDtypeError
        When ``valid`` is not bool or a variable is not floating point.
    GridMismatchError
        When ``obj`` and ``valid`` are on different grids.

    Examples
    --------
    >>> red = xr.DataArray(np.array([0.1, 0.2], dtype=np.float32), dims="x")
    >>> apply_mask(red, xr.DataArray([True, False], dims="x")).values
    array([0.1, nan], dtype=float32)
    """
    _require_bool(valid, "apply_mask")
    if isinstance(obj, xr.Dataset):
        return obj.map(_mask_array, keep_attrs=True, args=(valid,))
    return _mask_array(obj, valid)
