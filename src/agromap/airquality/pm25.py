"""PM2.5 from aerosol optical depth: scaling factor or station regression (docs/science/air_quality.md#pm25-from-aod).

Every output is a **satellite estimate**: ``attrs["description"]`` says "satellite-estimated PM2.5,
not a regulatory measurement", and an AQI computed from it is a satellite-estimated sub-index,
never a CPCB or EPA AQI (docs/science/air_quality.md#satellite-caveat).

- :func:`pm25_from_eta`: ``PM2.5 = eta x AOD`` with eta a scalar or a raster (e.g. a CTM ratio).
- :func:`fit_pm25`: a calibrated regression fitted with scikit-learn on station-collocated pixels
  (:func:`agromap.airquality.stations.collocate`): ``linear`` (``PM = a + b AOD + c.x``) or
  ``loglog`` (``ln PM = a + b ln AOD + c.x``, back-transformed with Duan's smearing factor),
  optional covariates ``x`` (RH, PBLH...). Its skill is estimated by K-fold cross-validation
  **grouped by station** (a station never is in its own test fold), reported as pooled
  out-of-fold R² and RMSE in µg m-3, and stored with the model.
- :func:`save_model` / :func:`load_model`: plain JSON coefficients, so loading runs no code
  (no pickle, no skops needed for a linear model); the file itself is read and written by
  :mod:`agromap.io.pm25_model_io`. :func:`estimate_pm25` applies them lazily.

Fitting is a training step: it computes the collocated pixel values it is given (a few thousand
points); applying the model to rasters never computes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import CalibrationError, ConfigError, ModelFileError
from ..io.grid import require_same_grid
from ..io.layers import LayerSpec
from ..io.pm25_model_io import read_pm25_model, write_pm25_model

__all__ = [
    "ESTIMATE_NOTE", "LAYER_SPECS", "ModelForm", "CVScore", "PM25Model",
    "pm25_from_eta", "fit_pm25", "estimate_pm25", "save_model", "load_model",
]  # fmt: skip

ESTIMATE_NOTE = "satellite-estimated PM2.5, not a regulatory measurement"
ModelForm = Literal["linear", "loglog"]

LAYER_SPECS: dict[str, LayerSpec] = {
    "pm25_sat": LayerSpec("pm25_sat", "continuous", "float32", float("nan"), "µg m-3",
                          f"PM2.5 from AOD: {ESTIMATE_NOTE}", tags=(("ESTIMATE", "true"),)),
}


@dataclass(frozen=True)
class CVScore:
    """Cross-validated skill, grouped by station; R² and RMSE pooled over out-of-fold predictions."""

    r2: float
    rmse: float
    """µg m-3."""
    bias: float
    """Mean(predicted - observed), µg m-3."""
    n_splits: int
    n_obs: int
    n_stations: int
    fold_r2: tuple[float, ...]


@dataclass(frozen=True)
class PM25Model:
    """A fitted AOD -> PM2.5 regression as plain numbers (JSON-serialisable, tokenizes for dask)."""

    form: ModelForm
    features: tuple[str, ...]
    """``("aod", *covariates)``; in ``loglog`` the first enters as ln(max(aod, aod_floor))."""
    coef: tuple[float, ...]
    intercept: float
    cv: CVScore
    aod_floor: float = 0.01
    """AOD below this is raised to it before the log (``loglog`` only)."""
    smearing: float = 1.0
    """Duan's smearing factor mean(exp(residual)) multiplying the back-transform (``loglog``)."""
    fit_r2: float = float("nan")
    """In-sample R² in µg m-3 (optimistic; quote ``cv.r2``)."""
    sklearn_version: str = ""
    units: str = "µg m-3"

    @property
    def slope(self) -> float:
        """Coefficient of AOD (µg m-3 per unit AOD for ``linear``, the exponent for ``loglog``)."""
        return self.coef[0]


def _estimate_attrs(method: str, **extra: Any) -> dict[str, Any]:
    return {"units": "µg m-3", "long_name": "satellite-estimated PM2.5", "description": ESTIMATE_NOTE,
            "estimate": "true", "method": method, **extra}


# ------------------------------------------------------------------------------ scaling factor
def _eta_kernel(aod: np.ndarray, eta: np.ndarray) -> np.ndarray:
    out = np.asarray(aod, dtype=np.float32) * np.asarray(eta, dtype=np.float32)
    return np.maximum(out, np.float32(0.0))  # NaN stays NaN; slightly negative AOD -> 0, not negative mass


def pm25_from_eta(aod: xr.DataArray, eta: float | xr.DataArray) -> xr.DataArray:
    """``PM2.5 = eta x AOD`` (docs/science/air_quality.md#pm25-from-aod, method 1), lazily.

    Parameters
    ----------
    aod : xarray.DataArray
        float32 AOD (unitless), NaN nodata, numpy or dask.
    eta : float or xarray.DataArray
        µg m-3 per unit AOD; a raster must be on ``aod``'s grid (e.g. a CTM PM2.5/AOD ratio).

    Returns
    -------
    xarray.DataArray
        float32 ``pm25`` in µg m-3, NaN where AOD or eta is NaN, negatives clipped to 0; attrs mark it
        as an estimate.
    """
    if isinstance(eta, xr.DataArray):
        require_same_grid(aod, eta)
        desc = "raster"
    else:
        if not math.isfinite(float(eta)) or float(eta) <= 0:
            raise ConfigError(f"eta must be a positive number of µg m-3 per unit AOD, got {eta!r}.")
        desc = f"{float(eta):g}"
        eta = xr.DataArray(np.float32(eta))
    out = xr.apply_ufunc(_eta_kernel, aod, eta, dask="parallelized", output_dtypes=[np.float32])
    return out.rename("pm25").assign_attrs(_estimate_attrs("scaling factor PM2.5 = eta x AOD", eta=desc))


# -------------------------------------------------------------------------------- regression
def _design(df: pd.DataFrame, form: ModelForm, aod: str, covariates: Sequence[str], floor: float) -> np.ndarray:
    a = df[aod].to_numpy(np.float64)
    first = np.log(np.maximum(a, floor)) if form == "loglog" else a
    return np.column_stack([first, *(df[c].to_numpy(np.float64) for c in covariates)])


def _table(table: pd.DataFrame | xr.Dataset, cols: list[str]) -> pd.DataFrame:
    if isinstance(table, xr.Dataset):
        missing = [c for c in cols if c not in table]
        if missing:
            raise ConfigError(f"collocated table lacks {missing}; collocate the covariate rasters too: "
                              "collocate(stations, {'aod': aod, 'rh': rh, ...}).")
        done = table[cols].compute()  # the training edge: one compute for every collocated column
        return pd.DataFrame({c: np.asarray(done[c].values) for c in cols})
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ConfigError(f"table lacks column(s) {missing} (has {list(table.columns)}).")
    return table[cols].copy()


def _predict(x: np.ndarray, coef: np.ndarray, intercept: float, form: ModelForm, smearing: float) -> np.ndarray:
    lin = intercept + x @ coef
    return smearing * np.exp(lin) if form == "loglog" else np.maximum(lin, 0.0)


def _fit_one(x: np.ndarray, y: np.ndarray, form: ModelForm) -> tuple[np.ndarray, float, float]:
    from sklearn.linear_model import LinearRegression

    reg = LinearRegression().fit(x, np.log(y) if form == "loglog" else y)
    resid = (np.log(y) if form == "loglog" else y) - reg.predict(x)
    smearing = float(np.mean(np.exp(resid))) if form == "loglog" else 1.0
    return np.asarray(reg.coef_, dtype=np.float64), float(reg.intercept_), smearing


def _score(obs: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    from sklearn.metrics import r2_score

    return float(r2_score(obs, pred)), float(np.sqrt(np.mean((pred - obs) ** 2))), float(np.mean(pred - obs))


def fit_pm25(table: pd.DataFrame | xr.Dataset, *, form: ModelForm = "linear", covariates: Sequence[str] = (),
             aod: str = "aod", target: str = "observed", group: str = "station_id", n_splits: int = 5,
             random_state: int = 0, aod_floor: float = 0.01, min_obs: int = 10) -> PM25Model:
    """Fit PM2.5 on collocated AOD (and covariates), with station-grouped K-fold cross-validation.

    Parameters
    ----------
    table : pandas.DataFrame or xarray.Dataset
        One row per station-day: ``aod``, ``target`` (µg m-3), ``group`` and the covariates
        (:func:`~agromap.airquality.stations.collocate` output). Rows with NaN are dropped; in
        ``loglog`` so are rows with observed PM2.5 <= 0.
    form : {"linear", "loglog"}
    covariates : sequence of str
        Extra columns entering linearly (on the log scale in ``loglog``).
    n_splits : int
        Folds of :class:`sklearn.model_selection.GroupKFold` (shuffled with ``random_state``); at
        most the number of stations.
    aod_floor : float
        ``loglog``: AOD is raised to it before the log, in fitting and in :func:`estimate_pm25`.

    Returns
    -------
    PM25Model
        Coefficients from all rows; ``cv`` holds the out-of-fold R², RMSE and bias in µg m-3.

    Raises
    ------
    CalibrationError
        Fewer than ``min_obs`` usable rows or fewer than 2 stations.
    """
    import sklearn
    from sklearn.model_selection import GroupKFold

    if form not in ("linear", "loglog"):
        raise ConfigError(f"form {form!r} is not 'linear' or 'loglog'.")
    covs = list(covariates)
    df = _table(table, [aod, target, group, *covs])
    num = df[[aod, target, *covs]].to_numpy(np.float64)
    ok = np.isfinite(num).all(axis=1) & ((df[target].to_numpy() > 0) if form == "loglog" else True)
    df = df[ok]
    n_groups = int(df[group].nunique())
    if len(df) < min_obs or n_groups < 2:
        raise CalibrationError(f"only {len(df)} usable station-days from {n_groups} station(s) (need >= {min_obs} "
                               "and >= 2 stations); collocate more dates or stations.")
    x, y = _design(df, form, aod, covs, aod_floor), df[target].to_numpy(np.float64)
    groups = df[group].astype(str).to_numpy()
    k = min(int(n_splits), n_groups)
    if k < 2:
        raise ConfigError(f"n_splits must be >= 2, got {n_splits}.")
    pred = np.full(len(y), np.nan)
    fold_r2 = []
    for train, test in GroupKFold(n_splits=k, shuffle=True, random_state=random_state).split(x, y, groups):
        c, b, s = _fit_one(x[train], y[train], form)
        pred[test] = _predict(x[test], c, b, form, s)
        fold_r2.append(_score(y[test], pred[test])[0] if len(test) > 1 else float("nan"))
    r2, rmse, bias = _score(y, pred)
    coef, intercept, smearing = _fit_one(x, y, form)
    return PM25Model(
        form=form, features=(aod, *covs), coef=tuple(float(v) for v in coef), intercept=intercept,
        cv=CVScore(r2, rmse, bias, k, len(y), n_groups, tuple(fold_r2)), aod_floor=float(aod_floor),
        smearing=smearing, fit_r2=_score(y, _predict(x, coef, intercept, form, smearing))[0],
        sklearn_version=sklearn.__version__,
    )


def _predict_kernel(aod: np.ndarray, *covs: np.ndarray, model: PM25Model) -> np.ndarray:
    a = np.asarray(aod, dtype=np.float64)
    lin = np.float64(model.intercept) + model.coef[0] * (np.log(np.maximum(a, model.aod_floor))
                                                         if model.form == "loglog" else a)
    for c, cov in zip(model.coef[1:], covs, strict=True):
        lin = lin + c * np.asarray(cov, dtype=np.float64)
    out = model.smearing * np.exp(lin) if model.form == "loglog" else np.maximum(lin, 0.0)
    return out.astype(np.float32)  # NaN in any input stays NaN (max and exp propagate it)


def estimate_pm25(aod: xr.DataArray, model: PM25Model, covariates: Mapping[str, xr.DataArray] | None = None
                  ) -> xr.DataArray:
    """Apply a fitted model to rasters, lazily.

    Parameters
    ----------
    aod : xarray.DataArray
        float32 AOD, NaN nodata, ``(time, y, x)`` or ``(y, x)``, numpy or dask.
    model : PM25Model
    covariates : mapping name -> DataArray
        One raster per ``model.features[1:]``, on ``aod``'s grid (static ``(y, x)`` broadcasts).

    Returns
    -------
    xarray.DataArray
        float32 ``pm25`` in µg m-3, NaN where any input is NaN; linear predictions clipped at 0.
        ``attrs`` mark it as an estimate and carry the form, coefficients and CV R²/RMSE.
    """
    covs = dict(covariates or {})
    need = list(model.features[1:])
    missing = [c for c in need if c not in covs]
    if missing:
        raise ConfigError(f"the model needs covariate raster(s) {missing}; pass covariates={{name: raster}}.")
    arrays = [covs[c] for c in need]
    require_same_grid(aod, *arrays)
    out = xr.apply_ufunc(_predict_kernel, aod, *arrays, kwargs={"model": model}, dask="parallelized",
                         output_dtypes=[np.float32])
    terms = " + ".join([f"{model.coef[0]:.4g}*{'ln ' if model.form == 'loglog' else ''}aod"]
                       + [f"{c:.4g}*{n}" for c, n in zip(model.coef[1:], need, strict=True)])
    return out.rename("pm25").assign_attrs(_estimate_attrs(
        f"{model.form} regression on stations", formula=f"{model.intercept:.4g} + {terms}",
        cv_r2=model.cv.r2, cv_rmse=model.cv.rmse, cv_n_stations=model.cv.n_stations))


# --------------------------------------------------------------------------------- persistence
def save_model(model: PM25Model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as JSON (coefficients, CV scores, provenance), atomically; loading it runs no code.

    The file is written by :func:`agromap.io.pm25_model_io.write_pm25_model`.
    """
    write_pm25_model(path, {"description": ESTIMATE_NOTE, **asdict(model)})


def load_model(path: str | os.PathLike[str]) -> PM25Model:
    """Read a JSON model written by :func:`save_model`, validating every field.

    Raises
    ------
    ModelFileError
        Not JSON (a pickle, joblib or skops file is refused: refit and save with save_model), a
        different schema, or missing/non-finite coefficients.
    """
    doc = read_pm25_model(path)
    try:
        score = CVScore(**doc["cv"])
    except TypeError as exc:
        raise ModelFileError(f"{os.fspath(path)}: 'cv' has unexpected fields ({exc}).") from exc
    return PM25Model(**{**doc, "cv": score})
