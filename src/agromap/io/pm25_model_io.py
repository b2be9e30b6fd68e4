"""PM2.5 model files: plain JSON coefficients, written atomically and read back with every field checked.

A model file holds numbers only, so loading it runs no code (a pickle, joblib or skops file is
refused). The model itself (:class:`agromap.airquality.pm25.PM25Model`) and how it predicts live
in the science package; this module knows only the file layout.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any

from ..errors import ModelFileError
from .files import atomic_write_text

__all__ = ["PM25_MODEL_SCHEMA", "write_pm25_model", "read_pm25_model"]

PM25_MODEL_SCHEMA = "agromap.pm25_model/1"
"""The ``schema`` tag of a PM2.5 model file."""


def write_pm25_model(path: str | os.PathLike[str], doc: Mapping[str, Any]) -> None:
    """Write a model document as indented JSON tagged with :data:`PM25_MODEL_SCHEMA`, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.json`` file to write; a reader never sees it half written.
    doc : mapping
        JSON-serialisable fields (``form``, ``features``, ``coef``, ``intercept``, ``cv``, ...).

    Raises
    ------
    OutputError
        The file cannot be written (disk full, permission denied, ...).
    """
    atomic_write_text(path, json.dumps({"schema": PM25_MODEL_SCHEMA, **doc}, indent=2, allow_nan=True))


def _num(value: Any, key: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise ModelFileError(f"{path}: '{key}' must be a finite number, got {value!r}.")
    return float(value)


def _load_json(path: str) -> Any:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not a JSON model; agromap loads PM2.5 models only as JSON coefficients "
                             "(pickle/joblib/skops are refused: loading them can run code). Refit with "
                             "fit_pm25 and save with save_model.") from exc
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc}).") from exc


def read_pm25_model(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a model file written by :func:`write_pm25_model`, checking the schema and every number.

    Parameters
    ----------
    path : str or os.PathLike
        A JSON model file.

    Returns
    -------
    dict
        ``form`` (``"linear"`` or ``"loglog"``), ``features`` (tuple of str), ``coef`` (tuple of
        float, one per feature), ``intercept``, ``aod_floor``, ``smearing``, ``fit_r2`` (float),
        ``cv`` (dict of the cross-validation scores, ``fold_r2`` as a tuple of float),
        ``sklearn_version`` and ``units`` (str).

    Raises
    ------
    ModelFileError
        Not JSON (a pickle, joblib or skops file is refused), a different schema, or missing or
        non-finite coefficients.
    """
    p = os.fspath(path)
    doc = _load_json(p)
    if not isinstance(doc, dict) or doc.get("schema") != PM25_MODEL_SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else None
        raise ModelFileError(f"{p}: schema {got!r}, expected {PM25_MODEL_SCHEMA!r}; write models with save_model.")
    feats, coef, cv = doc.get("features"), doc.get("coef"), doc.get("cv")
    if doc.get("form") not in ("linear", "loglog") or not isinstance(feats, list) or not isinstance(coef, list) \
            or len(feats) != len(coef) or not feats or not all(isinstance(f, str) for f in feats):
        raise ModelFileError(f"{p}: 'form' must be linear|loglog and 'features'/'coef' lists of equal length.")
    if not isinstance(cv, dict):
        raise ModelFileError(f"{p}: 'cv' scores are missing.")
    try:
        folds = tuple(float(v) for v in cv.get("fold_r2", ()))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{p}: 'cv.fold_r2' must be a list of numbers ({exc}).") from exc
    return {
        "form": doc["form"], "features": tuple(feats), "coef": tuple(_num(c, "coef", p) for c in coef),
        "intercept": _num(doc.get("intercept"), "intercept", p), "cv": {**cv, "fold_r2": folds},
        "aod_floor": _num(doc.get("aod_floor"), "aod_floor", p), "smearing": _num(doc.get("smearing"), "smearing", p),
        "fit_r2": float(doc.get("fit_r2", float("nan"))), "sklearn_version": str(doc.get("sklearn_version", "")),
        "units": str(doc.get("units", "µg m-3")),
    }
