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
                                                 3 permanent-water mask, 6 forest/built-up mask
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

import dataclasses
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr

from ..errors import ConfigError, InputError
from ..io.layers import LayerSpec

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
    "tune_thresholds",
    "read_point_table",
    "classify_points",
    "SeasonSlots",
]

_F32 = np.float32
FloatArr = npt.NDArray[np.float32]
BoolArr = npt.NDArray[np.bool_]

#: Bits of ``qa_flags`` (docs/science/rice.md#output-layers; bit 6 is agromap's).
QA_OBSERVED, QA_OPTICAL, QA_SAR, QA_WATER, QA_FOREST_BUILT = 1, 2, 4, 8, 64


@dataclass(frozen=True)
class SeasonWindow:
    """A flooding/transplanting window of one rice season, in calendar day of year."""

    start_doy: int
    """First day of year of the window (1-366)."""
    end_doy: int
    """Last day of year, inclusive; smaller than ``start_doy`` when the window wraps the new year."""
    name: str = ""
    """Season name (``kharif``, ``boro``...), for reports."""

    def __post_init__(self) -> None:
        for v in (self.start_doy, self.end_doy):
            if not 1 <= int(v) <= 366:
                raise ConfigError(f"season window {self.name or ''!s} day of year {v} is outside 1-366; "
                                  "write windows as SeasonWindow(start_doy, end_doy, name).")

    def contains(self, doy: npt.ArrayLike) -> BoolArr:
        """Whether each day of year falls inside the window (wrap-around aware)."""
        d = np.asarray(doy)
        if self.start_doy <= self.end_doy:
            return np.asarray((d >= self.start_doy) & (d <= self.end_doy))
        return np.asarray((d >= self.start_doy) | (d <= self.end_doy))


#: Default flooding/transplanting windows per region (docs/science/rice.md#crop-calendars;
#: recommendation, unverified: override per region). Windows cover the transplanting period of
#: each season, not the whole crop cycle.
CROP_CALENDARS: Mapping[str, tuple[SeasonWindow, ...]] = MappingProxyType({
    # kharif transplanting Jun-Aug; rabi/boro transplanting mid Nov - Feb.
    "india": (SeasonWindow(152, 243, "kharif"), SeasonWindow(319, 59, "rabi")),
    # Boro Dec-Feb, Aus Apr-May, Aman Jul - mid Sep.
    "bangladesh": (SeasonWindow(335, 46, "boro"), SeasonWindow(91, 151, "aus"), SeasonWindow(182, 258, "aman")),
})


def resolve_windows(windows: str | Sequence[SeasonWindow] | None) -> tuple[SeasonWindow, ...]:
    """``None`` -> no windows; a calendar name -> :func:`agromap.rice.calendars.calendar_windows`
    (the built-in :data:`CROP_CALENDARS` and the regional table); else the windows.
    """
    if windows is None:
        return ()
    if isinstance(windows, str):
        from .calendars import calendar_windows  # imports this module: resolved at call time

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
    out = ds.drop_vars("transplant_doy")
    for i in range(tdoy.sizes["season"]):
        out[f"transplant_doy_{i + 1}"] = tdoy.isel(season=i, drop=True).assign_attrs(tdoy.attrs)
    return out.drop_vars("season", errors="ignore")


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
              "Rice rule QA bits: 0 observed, 1 optical rule, 2 SAR rule, 3 permanent water, 6 forest/built-up",
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


def saturate_u8(count: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Counts as uint8, capped at 254 so that 255 stays free for nodata."""
    return np.minimum(count, 254).astype(np.uint8)


def flatten_time(*arrays: npt.NDArray[Any]) -> tuple[tuple[int, ...], list[npt.NDArray[Any]]]:
    """Reshape ``(..., time)`` arrays to ``(pixels, time)``; returns the leading shape too."""
    lead = np.broadcast_shapes(*(a.shape[:-1] for a in arrays))
    n_t = arrays[0].shape[-1]
    return lead, [np.broadcast_to(a, (*lead, n_t)).reshape(-1, n_t) for a in arrays]


def finish_outputs(
    lead: tuple[int, ...], n_valid: npt.NDArray[Any], n_seasons: npt.NDArray[Any], slots: npt.NDArray[np.uint16],
    score: FloatArr, n_window: npt.NDArray[Any], qa: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[Any], ...]:
    """Apply the nodata conventions and reshape the per-pixel outputs back to ``lead``."""
    none = n_valid == 0
    rice_class = np.where(none, 255, n_seasons > 0).astype(np.uint8)
    n_seas = np.where(none, 255, np.minimum(n_seasons, 254)).astype(np.uint8)
    score = np.where(none, _F32(np.nan), score).astype(_F32)
    k = slots.shape[-1]
    return (rice_class.reshape(lead), n_seas.reshape(lead), slots.reshape(*lead, k), score.reshape(lead),
            saturate_u8(n_valid).reshape(lead), saturate_u8(n_window).reshape(lead), qa.reshape(lead))


# ---- xarray side ------------------------------------------------------------------------------

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


# ---- rules by name, tuning on labels, point tables -------------------------------------------

RuleMethod = Literal["optical", "sar"]


def _rule(method: RuleMethod) -> tuple[Callable[..., xr.Dataset], type]:
    """The rule function and its parameter class for ``method`` (imported lazily: no cycle)."""
    if method == "optical":
        from .rules_optical import OpticalRiceParams, optical_rice_rule

        return optical_rice_rule, OpticalRiceParams
    if method == "sar":
        from .rules_sar import SarRiceParams, sar_rice_rule

        return sar_rice_rule, SarRiceParams
    raise ConfigError(f"method {method!r} is not 'optical' or 'sar'.")


def _scores(pred: npt.NDArray[Any], truth: npt.NDArray[Any]) -> dict[str, float]:
    """Confusion counts and scores of rice (1) against non-rice; nodata (255) counts as non-rice."""
    p, t = pred == 1, truth == 1
    tp, fp = int((p & t).sum()), int((p & ~t).sum())
    fn, tn = int((~p & t).sum()), int((~p & ~t).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    spec = tn / (tn + fp) if tn + fp else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"n": tp + fp + fn + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn, "n_nodata": int((pred == 255).sum()),
            "precision": prec, "recall": rec, "f1": f1, "balanced_accuracy": (rec + spec) / 2}


def _align_labels(labels: xr.DataArray | npt.ArrayLike, pred: xr.DataArray) -> npt.NDArray[Any]:
    """Labels as a numpy array in the order of ``pred`` (by coordinates when labels carry them)."""
    if isinstance(labels, xr.DataArray):
        if set(labels.dims) == set(pred.dims):
            common = [d for d in pred.dims if d in labels.indexes and d in pred.indexes]
            labels = labels.reindex({d: pred.indexes[d] for d in common}).transpose(*pred.dims)
        arr = np.asarray(labels.values)
    else:
        arr = np.asarray(labels)
    if arr.shape != pred.shape:
        raise ConfigError(f"labels have shape {arr.shape}; the rule output has {pred.shape} {tuple(pred.dims)}. "
                          "Give one label per point (or pixel) of the series.")
    return arr


def _tuning_method(base_params: Any, grid: Mapping[str, Sequence[Any]], rule_kwargs: Mapping[str, Any]) -> RuleMethod:
    """The rule to tune, from the type of ``base_params`` or else from the grid's field names."""
    if "method" in rule_kwargs:
        raise ConfigError("tune_thresholds takes the rule from base_params (OpticalRiceParams or SarRiceParams), "
                          "not from a 'method' argument; pass base_params=SarRiceParams() to tune the SAR rule.")
    kinds = {m: _rule(m)[1] for m in ("optical", "sar")}
    if base_params is not None:
        for m, cls in kinds.items():
            if isinstance(base_params, cls):
                return m  # type: ignore[return-value]
        raise ConfigError(f"base_params must be OpticalRiceParams or SarRiceParams, got {type(base_params).__name__}.")
    fields = {m: {f.name for f in dataclasses.fields(cls)} for m, cls in kinds.items()}
    matches = [m for m in kinds if grid and set(grid) <= fields[m]]
    if len(matches) == 1:
        return matches[0]  # type: ignore[return-value]
    if not matches:
        raise ConfigError(f"grid keys {sorted(grid) or '(none)'} are not OpticalRiceParams fields nor SarRiceParams "
                          f"fields (the grid tunes one rule); OpticalRiceParams has {sorted(fields['optical'])}, "
                          f"SarRiceParams has {sorted(fields['sar'])}.")
    raise ConfigError(f"grid keys {sorted(grid)} exist in both rules' parameters; say which rule to tune with "
                      "base_params=OpticalRiceParams() or base_params=SarRiceParams().")


def tune_thresholds(
    series: xr.Dataset | xr.DataArray,
    labels: xr.DataArray | npt.ArrayLike,
    grid: Mapping[str, Sequence[Any]],
    *,
    base_params: Any = None,
    metric: str = "f1",
    **rule_kwargs: Any,
) -> tuple[Any, Any]:
    """Pick rule thresholds on labelled samples by a grid search (deterministic).

    Every combination of ``grid`` (the Cartesian product, parameter names sorted, values in the
    order given) replaces those fields of ``base_params`` (default: the published defaults),
    runs the rule on ``series`` and scores ``rice_class`` against ``labels``.

    Parameters
    ----------
    series : xarray.Dataset or xarray.DataArray
        Rule input with a ``time`` dim, typically a ``(time, point)`` table of labelled samples
        (see :func:`read_point_table`). **Eager**: loaded into memory once (keep it small).
    labels : xarray.DataArray or array-like
        1 = rice, 0 = not rice, on the non-time dims of ``series``; other values (NaN, 255, -1)
        are unlabelled and ignored.
    grid : mapping of str to sequence
        Field name of :class:`OpticalRiceParams` / :class:`SarRiceParams` -> values to try,
        e.g. ``{"flood_t": [0.0, 0.05, 0.10]}``.
    base_params : OpticalRiceParams or SarRiceParams, optional
        The starting thresholds. **Their type chooses the rule** (optical or SAR), so the rule
        and its parameters can never disagree. Without it, the rule is the one whose fields the
        grid names (an error when the grid names only fields both rules have).
    metric : {"f1", "balanced_accuracy"}
        The selection score; ties go to the other score, then to the combination with the
        fewest values differing from ``base_params``, then to the first in grid order.
    **rule_kwargs
        Passed to the rule (``windows=``, ``valid=`` for the optical rule).

    Returns
    -------
    best_params : OpticalRiceParams or SarRiceParams
    table : pandas.DataFrame
        One row per combination: the grid values, ``n, tp, fp, fn, tn, n_nodata, precision,
        recall, f1, balanced_accuracy`` and ``rank`` (1 = chosen); predictions of 255 (no valid
        observation) count as non-rice.

    Examples
    --------
    >>> best, table = tune_thresholds(points, points["label"], {"flood_t": [0.0, 0.05, 0.10]})  # doctest: +SKIP
    >>> best, table = tune_thresholds(s1_points, s1_points["label"], {"vh_min_db": [-20, -18]},
    ...                               base_params=SarRiceParams(rise_db=4.0))  # doctest: +SKIP
    """
    import pandas as pd

    method = _tuning_method(base_params, grid, rule_kwargs)
    rule, cls = _rule(method)
    base = base_params if base_params is not None else cls()
    if metric not in ("f1", "balanced_accuracy"):
        raise ConfigError(f"metric {metric!r} is not 'f1' or 'balanced_accuracy'.")
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(grid) - fields)
    if unknown or not grid:
        raise ConfigError(f"grid keys {unknown or '(none)'} are not {cls.__name__} fields; "
                          f"choose among {sorted(fields)}.")
    names = sorted(grid)
    values = [list(grid[n]) for n in names]
    if any(not v for v in values):
        raise ConfigError("every grid entry needs at least one value.")

    series = series.load()
    rows: list[dict[str, Any]] = []
    lab: npt.NDArray[Any] | None = None
    for combo in itertools.product(*values):
        params = dataclasses.replace(base, **dict(zip(names, combo, strict=True)))
        pred_da = rule(series, params, **rule_kwargs)["rice_class"]
        if lab is None:
            lab = _align_labels(labels, pred_da)
            keep = np.isin(lab, (0, 1))  # NaN, 255, -1: unlabelled
        pred = np.asarray(pred_da.values)
        rows.append({**dict(zip(names, combo, strict=True)), **_scores(pred[keep], lab[keep].astype(np.int8))})
    table = pd.DataFrame(rows)
    other = "balanced_accuracy" if metric == "f1" else "f1"
    # Ties: the other score, then the fewest departures from base_params, then grid order.
    departures = [sum(rows[i][n] != getattr(base, n) for n in names) for i in range(len(rows))]
    order = sorted(range(len(rows)), key=lambda i: (-rows[i][metric], -rows[i][other], departures[i], i))
    table["rank"] = 0
    table.loc[order, "rank"] = np.arange(1, len(order) + 1)
    best = dataclasses.replace(base, **{n: rows[order[0]][n] for n in names})
    return best, table


_BANDS = {"optical": (("nir", "red", "blue", "swir16"), ("ndvi", "evi", "lswi")), "sar": (("vh",), ("vh_db",))}
_POINT_COLUMNS = ("x", "y", "label")


def _read_point_csv(path: str) -> xr.Dataset:
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read CSV {path!r}: {exc}") from exc
    missing = [c for c in ("point_id", "time") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; a point table needs point_id, time and "
                         f"band columns, got {list(df.columns)}.")
    try:
        df["time"] = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: column 'time' holds values that are not dates ({exc}); write ISO dates "
                         "like 2023-06-01.") from exc
    dup = df.duplicated(["point_id", "time"])
    if dup.any():
        first = df.loc[dup, ["point_id", "time"]].iloc[0].tolist()
        raise InputError(f"{path}: {int(dup.sum())} duplicated (point_id, time) rows, e.g. {first}; "
                         "keep one row per point and date.")
    per_point = [c for c in _POINT_COLUMNS if c in df.columns]
    bands = [c for c in df.columns if c not in ("point_id", "time", *per_point)]
    ds = df.set_index(["time", "point_id"])[bands].to_xarray().rename(point_id="point")
    if per_point:
        first_rows = df.groupby("point_id", sort=True)[per_point].first()
        for c in per_point:
            ds = ds.assign_coords({c: ("point", first_rows[c].reindex(ds["point"].values).to_numpy())})
    return ds


def _read_point_netcdf(path: str) -> xr.Dataset:
    try:
        with xr.open_dataset(path) as f:
            ds = f.load()
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read NetCDF {path!r}: {exc}") from exc
    if "time" not in ds.dims or "point" not in ds.dims:
        raise InputError(f"{path}: a NetCDF point table needs dims (time, point), got {dict(ds.sizes)}.")
    if "point_id" in ds and "point" in ds["point_id"].dims:
        ds = ds.set_coords("point_id").swap_dims(point="point_id").drop_vars("point", errors="ignore")
        ds = ds.rename(point_id="point")
    return ds


def read_point_table(path: str | os.PathLike[str], method: RuleMethod = "optical") -> xr.Dataset:
    """Read a point time-series table into a ``(time, point)`` Dataset (eager, float32).

    Parameters
    ----------
    path : str or path-like
        ``.csv`` in long format: one row per point and date with columns ``point_id``, ``time``
        (ISO dates), the band columns, and optional per-point ``x``, ``y``, ``label``
        (the first row of each point is used); or ``.nc``/``.nc4`` NetCDF with dims
        ``(time, point)``, the point ids in the ``point`` coordinate or a ``point_id`` variable.
    method : {"optical", "sar"}
        Which columns are required: optical ``nir, red, blue, swir16`` (plus optional ``green``,
        ``scl``) or ``ndvi, evi, lswi``; SAR ``vh`` in linear power, or ``vh_db`` (converted to
        linear here).

    Raises
    ------
    InputError
        Unreadable file or unknown extension, missing ``point_id``/``time`` columns, unparseable
        dates, or duplicated (point_id, time) rows.
    MissingBandError
        The band columns of ``method`` are absent.
    """
    from ..errors import MissingBandError

    _rule(method)
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if not os.path.exists(path):
        raise InputError(f"point table {path!r} does not exist.")
    if ext == ".csv":
        ds = _read_point_csv(path)
    elif ext in (".nc", ".nc4", ".netcdf"):
        ds = _read_point_netcdf(path)
    else:
        raise InputError(f"{path}: unknown point-table type {ext!r}; use .csv (long format) or .nc (time, point).")

    required, alternative = _BANDS[method]
    if not (set(required) <= set(ds.data_vars) or set(alternative) <= set(ds.data_vars)):
        raise MissingBandError(f"{path}: the {method} rule needs columns {list(required)} or {list(alternative)}; "
                               f"missing {sorted(set(required) - set(ds.data_vars))}, "
                               f"got {sorted(map(str, ds.data_vars))}.")
    for v in list(ds.data_vars):
        if v == "scl":
            ds[v] = ds[v].fillna(0).astype(np.uint8)  # absent dates become SCL 0 (no data)
        elif v not in _POINT_COLUMNS:
            ds[v] = ds[v].astype(np.float32)
    if method == "sar" and "vh" not in ds:
        ds["vh"] = (np.float32(10.0) ** (ds["vh_db"] / np.float32(10.0))).astype(np.float32)
    return ds.transpose("time", "point", ...)


def classify_points(
    path_in: str | os.PathLike[str],
    path_out: str | os.PathLike[str],
    method: RuleMethod = "optical",
    params: Any = None,
    **rule_kwargs: Any,
) -> Any:
    """Run a rice rule on a point time-series table and write one row of labels per point.

    Parameters
    ----------
    path_in : str or path-like
        CSV (long format) or NetCDF point table, see :func:`read_point_table`.
    path_out : str or path-like
        Output CSV (``.nc`` writes NetCDF instead), replaced atomically. Columns: ``point_id,
        rice_class, n_seasons, transplant_doy_1..k, rice_score, n_valid_obs,
        n_valid_in_flood_window, qa_flags`` and ``x, y, label`` when the input has them.
        Nodata as in the rasters: 255 for classes and counts, 0 for dates, empty for the score.
    method : {"optical", "sar"}
    params : OpticalRiceParams or SarRiceParams, optional
    **rule_kwargs
        Passed to the rule (e.g. ``windows="india"``).

    Returns
    -------
    pandas.DataFrame
        The table written. Eager: this is an edge function that reads, computes and writes.
    """
    rule, _cls = _rule(method)
    ds = read_point_table(path_in, method)
    out = split_seasons(rule(ds, params, **rule_kwargs)).drop_vars("spatial_ref", errors="ignore")
    table = out.to_dataframe().reset_index().rename(columns={"point": "point_id"})
    cols = ["point_id", "rice_class", "n_seasons", *sorted(c for c in table.columns if c.startswith("transplant_doy_")),
            "rice_score", "n_valid_obs", "n_valid_in_flood_window", "qa_flags",
            *[c for c in _POINT_COLUMNS if c in table.columns]]
    table = table[cols]
    path_out = os.fspath(path_out)
    tmp = f"{path_out}.partial-{os.getpid()}"
    try:
        if path_out.lower().endswith((".nc", ".nc4")):
            out.to_netcdf(tmp)
        else:
            table.to_csv(tmp, index=False, float_format="%.4f")
        os.replace(tmp, path_out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return table


class SeasonSlots:
    """Flooding onsets accepted into season slots, in time order, shared by both rules' kernels.

    With calendar windows a pixel gets at most one onset per window; without, successive onsets
    must be ``min_season_days`` apart, up to ``max_seasons``. ``best`` keeps the best margin seen
    (the rule's evidence, capped by the land-cover mask margin) for the confidence score.
    """

    def __init__(self, n_pix: int, n_windows: int, max_seasons: int, min_season_days: float,
                 mask_margin: np.ndarray, masked: np.ndarray) -> None:
        self.n_windows = n_windows
        self.n_slots = n_windows or max_seasons
        self.slots = np.zeros((n_pix, self.n_slots), dtype=np.uint16)
        self.count = np.zeros(n_pix, dtype=np.int32)
        self.last = np.full(n_pix, np.iinfo(np.int32).min // 2, dtype=np.int64)
        self.best = np.full(n_pix, -np.inf, dtype=np.float32)
        self.min_season_days = min_season_days
        self.mask_margin = mask_margin
        self.masked = masked

    def offer(self, t: int, idx: np.ndarray, margin: np.ndarray, window: np.ndarray, doy: np.ndarray,
              days: np.ndarray) -> None:
        """Candidates ``idx`` at date ``t`` with evidence ``margin`` (>= 0 passes the rule)."""
        self.best[idx] = np.maximum(self.best[idx], np.minimum(margin, self.mask_margin[idx]))
        acc = (margin >= 0) & ~self.masked[idx]
        if self.n_windows:
            w = int(window[t])
            acc &= self.slots[idx, w] == 0
            self.slots[idx[acc], w] = doy[t]
        else:
            acc &= (days[t] - self.last[idx]) >= self.min_season_days
            sel = idx[acc]
            fits = self.count[sel] < self.n_slots
            self.slots[sel[fits], self.count[sel[fits]]] = doy[t]
            self.last[sel] = days[t]
        self.count[idx[acc]] += 1
