"""The label-free rice rules by name, on labelled data: threshold tuning and point tables.

:func:`tune_thresholds` searches rule thresholds against labels; :func:`read_point_table` and
:func:`classify_points` run a rule on per-point time series (a CSV or NetCDF table) instead of a
raster. Kept apart from :mod:`agromap.rice.seasons`, which both rules import, so that no module
of the rules imports the other back.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr

from ..errors import ConfigError, InputError
from .seasons import split_seasons

__all__ = ["RuleMethod", "tune_thresholds", "read_point_table", "classify_points"]


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
