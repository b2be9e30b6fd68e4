"""Shared machinery of the label-free rice rules: time axis, season windows, outputs.

Both rules (:mod:`agromap.rice.rules_optical`, :mod:`agromap.rice.rules_sar`) consume a
per-pixel time series on the kernel's **last axis** and produce the same output variables
(docs/science/rice.md#output-layers):

============================  ========  =======  ====================================================
variable                      dtype     nodata   content
============================  ========  =======  ====================================================
``rice_class``                uint8     255      0 non-rice, 1 rice; 255 where no valid observation
``n_seasons``                 uint8     255      rice seasons detected (0..n); 255 without valid obs
``transplant_doy``            uint16    0        ``(season, ...)``: calendar day of year per season
``rice_score``                float32   NaN      0-1 confidence; > 0.5 means the rule says rice
``n_valid_obs``               uint8     255*     valid observations in the series (capped at 254)
``n_valid_in_flood_window``   uint8     255*     valid observations inside the season windows
``qa_flags``                  uint8     255*     bits (docs/science/rice.md#output-layers): 0 observed in flood window,
                                                 1 optical rule passed, 2 SAR rule passed,
                                                 3 permanent-water mask, 4 SAR seedbed reading only,
                                                 6 forest/built-up mask
============================  ========  =======  ====================================================

(*) never written: counts saturate at 254 and flags use bits 0-6 only.

``transplant_doy`` carries a ``season`` dimension (coordinate 1..k, seasons in time order);
:func:`split_seasons` turns it into ``transplant_doy_1..k`` for tables and per-season files.

Time handling: dates are turned into integer day numbers counted from 1 January of the first
date's year (so windows and gaps work across year boundaries and with irregular or missing
dates) and into calendar day-of-year values for the outputs. Season windows are day-of-year
ranges that may wrap the new year (``SeasonWindow(319, 59)`` = 15 Nov - 28 Feb).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from ..errors import ConfigError, InputError
from ..io.layers import LayerSpec
from .calendars import CROP_CALENDARS, SeasonWindow, calendar_windows

__all__ = [
    "SeasonWindow",
    "CROP_CALENDARS",
    "LAYER_SPECS",
    "OUTPUT_DTYPES",
    "time_axis",
    "window_index",
    "resolve_windows",
    "doy_difference",
    "split_seasons",
    "prepare_series",
    "apply_rule",
]

_F32 = np.float32
FloatArr = npt.NDArray[np.float32]
BoolArr = npt.NDArray[np.bool_]

#: Bits of ``qa_flags`` (docs/science/rice.md#output-layers; bits 4 and 6 are agromap's).
QA_OBSERVED, QA_OPTICAL, QA_SAR, QA_WATER, QA_FOREST_BUILT = 1, 2, 4, 8, 64
#: SAR rule: the seedbed-plateau reading of a season's timing lifts the pixel's best margin, which
#: the reading from the flood minimum alone leaves below 0 (not rice); agromap's bit 4.
QA_SEEDBED_ONLY = 16


def resolve_windows(windows: str | Sequence[SeasonWindow] | None) -> tuple[SeasonWindow, ...]:
    """``None`` -> no windows; a calendar name -> :func:`agromap.rice.calendars.calendar_windows`
    (the built-in :data:`CROP_CALENDARS` and the regional table); else the windows.
    """
    if windows is None:
        return ()
    if isinstance(windows, str):
        return calendar_windows(windows)
    out = tuple(windows)
    if not all(isinstance(w, SeasonWindow) for w in out):
        raise ConfigError("windows must be SeasonWindow objects, e.g. (SeasonWindow(152, 243, 'kharif'),).")
    return out


def time_axis(time: npt.ArrayLike) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint16]]:
    """Day numbers and calendar day of year of a ``datetime64`` time coordinate.

    Returns
    -------
    days : numpy.ndarray of int32
        Days since 31 December before the first date's year (so day 1 = 1 January of that year;
        equal to the day of year within the first year, and continuing past 365 across years).
    doy : numpy.ndarray of uint16
        Calendar day of year (1-366) of each date.
    """
    t = np.asarray(time).astype("datetime64[D]")
    if t.size == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.uint16)
    year0 = t.min().astype("datetime64[Y]").astype("datetime64[D]")
    days = (t - year0).astype(np.int64) + 1
    doy = (t - t.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1
    return days.astype(np.int32), doy.astype(np.uint16)


def window_index(doy: npt.ArrayLike, windows: Sequence[SeasonWindow]) -> npt.NDArray[np.int8]:
    """Index of the window containing each date (-1 outside every window; first match wins)."""
    d = np.asarray(doy)
    out = np.full(d.shape, -1, dtype=np.int8)
    for k in range(len(windows) - 1, -1, -1):
        out[windows[k].contains(d)] = k
    return out


def doy_difference(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Signed difference ``a - b`` of days of year on a 365-day circle, in [-182, 182]."""
    d = (np.asarray(a, dtype=np.int32) - np.asarray(b, dtype=np.int32) + 182) % 365 - 182
    return d.astype(np.int16)


def split_seasons(ds: xr.Dataset) -> xr.Dataset:
    """Replace ``transplant_doy (season, ...)`` by ``transplant_doy_1..k`` variables (lazy)."""
    if "transplant_doy" not in ds or "season" not in ds["transplant_doy"].dims:
        return ds
    tdoy = ds["transplant_doy"]
    # One assignment for all seasons: each Dataset item assignment merges and aligns again (a
    # third of this function's time on a tile).
    seasons = {f"transplant_doy_{i + 1}": tdoy.isel(season=i, drop=True).assign_attrs(tdoy.attrs)
               for i in range(tdoy.sizes["season"])}
    return ds.drop_vars("transplant_doy").assign(seasons).drop_vars("season", errors="ignore")


# ---- layers ---------------------------------------------------------------------------------

def _transplant_spec(name: str, what: str) -> LayerSpec:
    return LayerSpec(name, "continuous", "uint16", 0, "day of year",
                     f"Transplanting (flood onset or VH minimum) day of year, {what}; 0 = none",
                     overview_resampling="nearest")


def _count_spec(name: str, description: str) -> LayerSpec:
    # Integer counts: nearest overviews show a real pixel's count instead of a rounded mean.
    return LayerSpec(name, "continuous", "uint8", 255, "1", description, overview_resampling="nearest")


_SPECS: tuple[LayerSpec, ...] = (
    LayerSpec("rice_class", "class", "uint8", 255, "class", "Paddy rice (label-free phenology rule)",
              overview_resampling="mode", classes=((0, "non-rice", "C8C8C8"), (1, "rice", "00A600"))),
    _transplant_spec("transplant_doy", "one band per season"),
    *(_transplant_spec(f"transplant_doy_{k}", f"season {k}") for k in (1, 2, 3)),
    # Stored as percent (uint8, scale 0.01) like rice_prob (docs/science/rice.md#output-layers): 4x smaller than
    # float32, and 1 % steps are finer than the rule's own uncertainty; readers applying the scale
    # get the 0-1 value back.
    LayerSpec("rice_score", "continuous", "uint8", 255, "1",
              "Rule confidence 0-1 (above 0.5: rule says rice)", scale=0.01, overview_resampling="average"),
    _count_spec("n_seasons", "Rice seasons detected in the series"),
    _count_spec("n_valid_obs", "Valid (clear) observations in the series"),
    _count_spec("n_valid_in_flood_window", "Valid observations inside the flooding/transplanting windows"),
    # A bit field: averaging would invent flags.
    LayerSpec("qa_flags", "continuous", "uint8", 255, "1",
              "Rice rule QA bits: 0 observed, 1 optical rule, 2 SAR rule, 3 permanent water, 4 SAR seedbed reading only, "
              "6 forest/built-up",
              overview_resampling="nearest"),
)

#: Layer specs of the rule outputs (docs/architecture.md#layer-registry), for the layer registry.
LAYER_SPECS: Mapping[str, LayerSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: Output variables of both rules and their dtypes, in kernel output order.
OUTPUT_DTYPES: tuple[tuple[str, type[np.generic]], ...] = (
    ("rice_class", np.uint8),
    ("n_seasons", np.uint8),
    ("transplant_doy", np.uint16),
    ("rice_score", np.float32),
    ("n_valid_obs", np.uint8),
    ("n_valid_in_flood_window", np.uint8),
    ("qa_flags", np.uint8),
)

_ATTRS: dict[str, dict[str, Any]] = {
    "rice_class": {"long_name": "paddy rice", "flag_values": [0, 1], "flag_meanings": "non_rice rice", "nodata": 255},
    "n_seasons": {"long_name": "rice seasons detected", "units": "1", "nodata": 255},
    "transplant_doy": {"long_name": "transplanting day of year per season", "units": "day of year", "nodata": 0},
    "rice_score": {"long_name": "rule confidence", "units": "1", "valid_range": [0.0, 1.0]},
    "n_valid_obs": {"long_name": "valid observations", "units": "1"},
    "n_valid_in_flood_window": {"long_name": "valid observations in the flooding windows", "units": "1"},
    "qa_flags": {"long_name": "rice rule QA bits", "flag_masks": [1, 2, 4, 8, 64],
                 "flag_meanings": "observed optical_rule sar_rule permanent_water forest_or_built_up"},
}


# ---- kernel helpers (numpy, last axis = time) -------------------------------------------------

def masked_max(x: FloatArr, keep: BoolArr | None = None) -> FloatArr:
    """Max over the last axis ignoring NaN (and ``~keep``); -inf where nothing is left. No warnings."""
    ok = ~np.isnan(x) if keep is None else keep & ~np.isnan(x)
    return np.where(ok, x, _F32(-np.inf)).max(axis=-1, initial=_F32(-np.inf))


def masked_min(x: FloatArr, keep: BoolArr | None = None) -> FloatArr:
    """Min over the last axis ignoring NaN (and ``~keep``); +inf where nothing is left."""
    ok = ~np.isnan(x) if keep is None else keep & ~np.isnan(x)
    return np.where(ok, x, _F32(np.inf)).min(axis=-1, initial=_F32(np.inf))


def fraction(count: npt.NDArray[Any], n: npt.NDArray[Any]) -> FloatArr:
    """``count / n`` as float32; NaN where ``n`` is 0 (a fraction of no observation)."""
    out = np.full(np.shape(count), np.nan, dtype=_F32)
    np.divide(np.asarray(count, _F32), np.asarray(n, _F32), out=out, where=np.asarray(n) > 0)
    return out


def logistic(margin: FloatArr) -> FloatArr:
    """1 / (1 + exp(-m)) in float32, with the margin clipped to +-40 (no overflow, inf allowed)."""
    m = np.clip(np.nan_to_num(margin, nan=-40.0), -40.0, 40.0).astype(_F32)
    return (_F32(1.0) / (_F32(1.0) + np.exp(-m))).astype(_F32)


def flatten_time(*arrays: npt.NDArray[Any]) -> tuple[tuple[int, ...], list[npt.NDArray[Any]]]:
    """Reshape ``(..., time)`` arrays to ``(pixels, time)``; returns the leading shape too."""
    lead = np.broadcast_shapes(*(a.shape[:-1] for a in arrays))
    n_t = arrays[0].shape[-1]
    return lead, [np.broadcast_to(a, (*lead, n_t)).reshape(-1, n_t) for a in arrays]


def prepare_series(obj: xr.DataArray | xr.Dataset, what: str) -> xr.DataArray | xr.Dataset:
    """Check the ``time`` dimension, sort it, and put it in one dask chunk.

    Raises
    ------
    InputError
        No ``time`` dimension, or duplicated dates.
    """
    if "time" not in obj.dims:
        raise InputError(f"{what} needs a 'time' dimension, got dims {tuple(obj.dims)}; pass a (time, y, x) "
                         "raster or a (time, point) table.")
    if "time" not in obj.coords:
        raise InputError(f"{what}: the 'time' dimension has no coordinate; assign datetime64 dates with "
                         "obj.assign_coords(time=dates).")
    if obj["time"].dtype.kind != "M":
        raise InputError(f"{what}: 'time' holds {obj['time'].dtype} values, not dates; assign datetime64 "
                         "dates with obj.assign_coords(time=pandas.to_datetime(...)).")
    t = obj.indexes["time"]
    if t.has_duplicates:
        raise InputError(f"{what}: duplicated dates {sorted(set(t[t.duplicated()].astype(str)))}; "
                         "mosaic same-day scenes first (e.g. obj.groupby('time').max()).")
    if not t.is_monotonic_increasing:
        obj = obj.sortby("time")
    # The per-pixel kernels read the whole series on their last axis, and apply_ufunc refuses
    # a core dimension split over chunks: merge time into one chunk here, once (the spatial
    # chunks stay as they are, so memory is bounded by chunk edge x series length).
    arrays = obj.data_vars.values() if isinstance(obj, xr.Dataset) else [obj]
    if any(a.chunks is not None for a in arrays):  # (Dataset.chunks raises on mixed chunkings)
        obj = obj.chunk({"time": -1})
    return obj


def apply_rule(
    kernel: Callable[..., tuple[npt.NDArray[Any], ...]],
    inputs: Sequence[xr.DataArray],
    kwargs: Mapping[str, Any],
    n_slots: int,
    attrs: Mapping[str, Any],
) -> xr.Dataset:
    """Wrap a rule kernel once with :func:`xarray.apply_ufunc` and assemble the output Dataset.

    The kernel takes the inputs with time on the last axis and returns the arrays of
    :data:`OUTPUT_DTYPES` (``transplant_doy`` with a trailing season axis of ``n_slots``).
    """
    out = xr.apply_ufunc(
        kernel,
        *inputs,
        kwargs=dict(kwargs),
        input_core_dims=[["time"]] * len(inputs),
        output_core_dims=[[] if n != "transplant_doy" else ["season"] for n, _ in OUTPUT_DTYPES],
        dask="parallelized",
        output_dtypes=[dt for _, dt in OUTPUT_DTYPES],
        dask_gufunc_kwargs={"output_sizes": {"season": n_slots}},
        keep_attrs=True,  # keeps the coordinates' attributes (spatial_ref's CRS); variable attrs are reset below
    )
    data = {}
    for (name, _dt), arr in zip(OUTPUT_DTYPES, out, strict=True):
        if name == "transplant_doy":
            arr = arr.transpose("season", ...)
        arr = arr.rename(name)
        arr.attrs = dict(_ATTRS[name])
        data[name] = arr
    ds = xr.Dataset(data).assign_coords(season=np.arange(1, n_slots + 1, dtype=np.uint8))
    return ds.assign_attrs(dict(attrs))
