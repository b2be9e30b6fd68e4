"""The supervised ceiling of a stress-sweep table (docs/rice_stress.md, "The ceiling").

What a user with labels reaches on the same table: the project's temporal features
(:mod:`agromap.rice.features`) and its classifier, scored by the project's own cross-validation
(:func:`agromap.rice.model.cross_validate`) on stratified folds of single points. The points of a
table are drawn independently, so a fold of single points leaks nothing a spatial block would
hold back. A rule far below the ceiling leaves signal unused; a rule within a few points of it is
limited by what the table shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class CeilingParams:
    """How the ceiling is trained and scored."""

    n_splits: int = 5
    """Stratified folds; each point is predicted once, by a model that never saw it."""
    n_estimators: int = 100
    """Trees of the random forest (the classifier's default is 200): on the sweep's tables 100 trees
    score within 0.003 of 200 at half the CPU (docs/rice_stress.md)."""
    random_state: int = 0
    """Seed of the forest and of the folds: the column is reproducible."""


def optical_point_features(ds: xr.Dataset) -> xr.DataArray:
    """The classifier's optical features of a ``(time, point)`` table of ``ndvi``, ``evi``, ``lswi``.

    The tables carry the indices, not reflectances, so these are
    :func:`~agromap.rice.features.index_features` (NaN = cloud, as the rule reads them). With no green
    band MNDWI is a constant 0: its six statistics carry nothing, and the ceiling sees what the
    optical rule sees.
    """
    from agromap.rice.features import index_features

    return index_features(ds).transpose("feature", "point").compute()


SAR_SMOOTH_DAYS = 12.0
"""The SAR ceiling reads the series' extremes from a +-12-day mean (``FeatureSpec.sar_smooth_days``),
the setting a user with labels would pick on a speckled point series: on the fixed tables it scores
above the single-date extremes on every date axis (seeds 0-2: VH two tracks 0.933 against 0.902,
four tracks 0.933 against 0.907, one track 0.926 against 0.915; with VV 0.947-0.958 against
0.942-0.947), so a rule "at the ceiling" is not at a ceiling lowered by speckle extremes."""


def sar_point_features(table: xr.DataArray | xr.Dataset, smooth_days: float = SAR_SMOOTH_DAYS) -> xr.DataArray:
    """The classifier's SAR features of a ``(time, point)`` table in linear power (VH, and VV if given),
    the extremes read over +-``smooth_days`` (0: single dates, the features' default)."""
    from agromap.rice.features import FeatureSpec, sar_features

    ds = table.to_dataset(name="vh") if isinstance(table, xr.DataArray) else table
    return sar_features(ds, FeatureSpec(sar_smooth_days=smooth_days)).compute()


def raw_point_series(table: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Each date's values as features (``(feature, point)``): the series the summary features condense.

    Optical (a dataset with ``ndvi``): NDVI and LSWI of every date (EVI is 0.75 NDVI on the tables),
    a cloud (NaN) read as -9, a value no index takes, since the classifier drops a row with a NaN. SAR
    (linear power): VH, and VV if given, in dB. Not the supervised path: a forest on these learns the
    table's own date axis, which a model meant for other years or places cannot; it shows how much the
    summary statistics leave out.
    """
    if isinstance(table, xr.Dataset) and "ndvi" in table:
        parts = [(v, table[v]) for v in ("ndvi", "lswi")]
    else:
        ds = table.to_dataset(name="vh") if isinstance(table, xr.DataArray) else table
        parts = [(v, 10.0 * xr.apply_ufunc(np.log10, ds[v])) for v in ("vh", "vv") if v in ds]
    cols, names = [], []
    for name, arr in parts:
        cols.append(np.nan_to_num(np.asarray(arr.transpose("time", "point").values, np.float32), nan=-9.0))
        names += [f"{name}_{k}" for k in range(arr.sizes["time"])]
    return xr.DataArray(np.concatenate(cols), dims=("feature", "point"), coords={"feature": names})


def ceiling_oa(features: xr.DataArray, rice: Any, params: CeilingParams | None = None) -> tuple[float, int]:
    """Cross-validated OA of the classifier on ``features`` against ``rice`` (1/0), and the points dropped.

    A point with a NaN feature is left out of training, as :func:`~agromap.rice.model.train` leaves
    it, and counts as mapped non-rice, as :func:`~agromap.rice.model.predict` leaves it unclassified:
    the OA is over every point, as the rule's is.
    """
    from agromap.rice.labels import samples_from_points
    from agromap.rice.model import TrainParams, cross_validate

    p = params if params is not None else CeilingParams()
    y = np.asarray(rice).astype(np.int64)
    n = y.size
    samples = samples_from_points(features, y, np.arange(n))
    report = cross_validate(samples, TrainParams(n_estimators=p.n_estimators, random_state=p.random_state,
                                                 n_splits=p.n_splits, group_by="label"))
    correct = sum(f["oa"] * f["n_test"] for f in report.folds)
    scored = sum(f["n_test"] for f in report.folds)
    dropped = n - scored
    ok = np.isfinite(np.asarray(features.transpose("point", "feature").values)).all(axis=1)
    correct += int((y[~ok] == 0).sum())
    return float(correct / n), int(dropped)
