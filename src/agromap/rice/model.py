"""Supervised rice classifier: train with spatially blocked CV, save/load with skops, predict over dask.

One import for the whole workflow; each role lives in its own module:

- :mod:`~agromap.rice.model_record`: :class:`TrainParams`, :class:`CVReport`, :class:`RiceModel`
  and the file format constants.
- :mod:`~agromap.rice.model_train`: :func:`train` fits a ``RandomForestClassifier`` (or
  ``HistGradientBoostingClassifier``) with ``class_weight="balanced"``, a fixed ``random_state`` and
  ``n_jobs=1``, after :func:`cross_validate` has scored it on folds of whole spatial blocks (never
  random pixels: neighbouring pixels leak, docs/science/rice.md#supervised-classifier).
- :mod:`~agromap.rice.model_io`: :func:`save_model` writes a skops file plus a JSON sidecar
  (``<file>.json``) with the feature names, band scaling, training metadata, CV scores, versions and
  the file's SHA-256. :func:`load_model` refuses pickle/joblib and anything that is not a skops zip,
  types outside :data:`ALLOWED_TYPES`, a checksum other than the expected one, and scikit-learn
  version drift (docs/science/rice.md#model-files).
- :mod:`~agromap.rice.model_predict`: :func:`predict` classifies a ``(feature, y, x)`` or
  ``(feature, point)`` array block by block in one pass (``predict_proba`` once on valid rows), with
  the model as one dask key (docs/science/rice.md).
"""

from __future__ import annotations

from .model_io import ALLOWED_TYPES, load_model, save_model, sidecar_path
from .model_predict import LAYER_SPECS, predict
from .model_record import FORMAT, FORMAT_VERSION, NODATA_CLASS, CVReport, RiceModel, TrainParams
from .model_train import cross_validate, train

__all__ = [
    "LAYER_SPECS", "ALLOWED_TYPES", "TrainParams", "CVReport", "RiceModel",
    "cross_validate", "train", "save_model", "load_model", "sidecar_path", "predict",
    "FORMAT", "FORMAT_VERSION", "NODATA_CLASS",
]  # fmt: skip
