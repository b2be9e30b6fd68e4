"""Train the supervised rice classifier: spatially blocked cross-validation, then one fit on every sample.

:func:`train` fits a ``RandomForestClassifier`` (or ``HistGradientBoostingClassifier``) with
``class_weight="balanced"``, a fixed ``random_state`` and ``n_jobs=1``, after :func:`cross_validate`
has scored it on folds of whole spatial blocks (never random pixels: neighbouring pixels leak,
docs/science/rice.md#supervised-classifier).
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from dataclasses import asdict
from typing import Any

import numpy as np
import xarray as xr
from dask.base import is_dask_collection

from ..errors import ConfigError, FoldError, FoldReductionWarning, InputError, LazySamplesError, NoValidDataError
from .labels import check_classes
from .model_record import CVReport, RiceModel, TrainParams

__all__ = ["cross_validate", "train", "make_estimator", "library_versions"]


def make_estimator(spec: TrainParams) -> Any:
    """An unfitted, balanced, seeded, single-threaded scikit-learn classifier as ``spec`` describes."""
    if spec.estimator == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=spec.n_estimators, max_depth=spec.max_depth, min_samples_leaf=spec.min_samples_leaf,
            class_weight="balanced", random_state=spec.random_state, n_jobs=1,
        )  # fmt: skip
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=spec.n_estimators, max_depth=spec.max_depth, class_weight="balanced", random_state=spec.random_state
    )


def _training_table(samples: xr.Dataset, spec: TrainParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """X float32, y int64, CV groups and the number of rows dropped for NaN features."""
    if "features" not in samples or samples["features"].dims != ("sample", "feature"):
        raise InputError("samples must come from agromap.rice.labels.extract_samples() or samples_from_points().")
    if is_dask_collection(samples["features"].data):
        raise LazySamplesError("the sample table is lazy (dask); compute it first: samples = samples.compute(). "
                               "Training needs the values, and agromap never computes on its own.")  # fmt: skip
    X = np.asarray(samples["features"].values, dtype=np.float32)
    y = np.asarray(samples["label_class"].values, dtype=np.int64)
    groups = np.asarray(samples["block_id" if spec.group_by == "block" else "label_id"].values).astype(str)
    ok = np.isfinite(X).all(axis=1)
    if not ok.any():
        raise NoValidDataError("every labelled sample has nodata (NaN) features; check the rasters' coverage and "
                               "cloud masking at the label dates.")  # fmt: skip
    check_classes(y[ok], "the labels with valid features")
    if spec.positive_class not in set(y[ok].tolist()):
        raise ConfigError(f"positive_class={spec.positive_class} is not among the label classes "
                          f"{sorted(set(y[ok].tolist()))}.")  # fmt: skip
    return X[ok], y[ok], groups[ok], int((~ok).sum())


def _fold_scores(k: int, y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, n_groups: int,
                 classes: np.ndarray) -> dict[str, Any]:  # fmt: skip
    from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_recall_fscore_support

    ua, pa, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)

    def per_class(v: Any) -> dict[str, float]:
        return {str(c): float(x) for c, x in zip(classes, v, strict=True)}

    return {
        "fold": k, "n_train": int(y_train.size), "n_test": int(y_true.size), "groups_test": n_groups,
        "train_counts": {str(c): int((y_train == c).sum()) for c in classes},
        "test_counts": {str(c): int((y_true == c).sum()) for c in classes},
        "oa": float(accuracy_score(y_true, y_pred)), "kappa": float(cohen_kappa_score(y_true, y_pred)),
        "f1": per_class(f1), "producers_accuracy": per_class(pa), "users_accuracy": per_class(ua),
    }  # fmt: skip


def _single_site_error(y: np.ndarray, groups: np.ndarray, spec: TrainParams) -> FoldError | None:
    """A clear error when some class lives in one group only (leave-one-site-out is then impossible)."""
    per_class = {int(c): int(np.unique(groups[y == c]).size) for c in np.unique(y)}
    lonely = [c for c, n in per_class.items() if n < 2]
    if not lonely:
        return None
    unit = "spatial block" if spec.group_by == "block" else "labelled site (label_id)"
    where = {c: str(np.unique(groups[y == c])[0]) for c in lonely}
    return FoldError(
        f"class(es) {lonely} have labels in a single {unit} ({where}); groups per class {per_class}. Spatially "
        "blocked (leave-one-site-out) cross-validation holds out whole sites, so the fold that tests that site "
        "trains without the class and every other fold tests without it: no honest accuracy can be measured. "
        "Label every class in at least 2 (better 5+) separate sites, or use a smaller block_size_m in "
        "extract_samples() if the labels are spread within one block."
    )


def _blocked_folds(y: np.ndarray, groups: np.ndarray, spec: TrainParams) -> list[tuple[np.ndarray, np.ndarray]]:
    """StratifiedGroupKFold splits in which every training and test fold holds every class.

    Whole groups go to one fold. When clustered labels leave a class out of some fold, the number of
    folds is reduced (folds merged) until every fold has every class; :func:`_cross_validate` warns
    about it and records the folds used. With two folds still failing, :class:`FoldError` is
    raised (WorldCereal PR #687: a class emptied out of a test fold).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    lonely = _single_site_error(y, groups, spec)
    if lonely is not None:
        raise lonely
    classes = np.unique(y)
    n_groups = np.unique(groups).size
    for k in range(min(spec.n_splits, n_groups), 1, -1):
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=spec.random_state)
        with warnings.catch_warnings():  # "least populated class has only N members": handled below
            warnings.simplefilter("ignore", UserWarning)
            folds = list(splitter.split(np.zeros(y.size), y, groups))
        if all(np.isin(classes, y[tr]).all() and np.isin(classes, y[te]).all() for tr, te in folds):
            return folds
    per_class = {int(c): int(np.unique(groups[y == c]).size) for c in classes}
    raise FoldError(
        f"cannot make 2 or more spatially blocked folds that each contain every class: {n_groups} group(s) "
        f"({spec.group_by}), groups per class {per_class}. Collect labels of every class in more places, use a "
        "smaller block_size_m in extract_samples(), or group_by='label'."
    )


def _cross_validate(X: np.ndarray, y: np.ndarray, groups: np.ndarray, spec: TrainParams) -> CVReport:
    from sklearn.base import clone

    folds = _blocked_folds(y, groups, spec)
    reason = ""
    if len(folds) < spec.n_splits:
        n_groups = int(np.unique(groups).size)
        reason = (f"only {n_groups} {spec.group_by} group(s)" if n_groups < spec.n_splits else
                  "with more folds some fold would miss a class (labels clustered in few groups)")
        warnings.warn(FoldReductionWarning(
            f"cross-validation uses {len(folds)} spatially blocked folds, not the {spec.n_splits} requested: "
            f"{reason}. Scores from fewer, larger folds are noisier; the report records n_splits="
            f"{len(folds)}. Label more places to get the folds you asked for."), stacklevel=3)
    classes = np.unique(y)
    base = make_estimator(spec)
    scores = []
    for k, (tr, te) in enumerate(folds):
        est = clone(base).fit(X[tr], y[tr])
        pred = est.classes_[est.predict_proba(X[te]).argmax(axis=1)]  # as predict() decides
        scores.append(_fold_scores(k, y[te], pred, y[tr], int(np.unique(groups[te]).size), classes))
    oa, kappa = np.array([s["oa"] for s in scores]), np.array([s["kappa"] for s in scores])
    mean = {
        "oa": float(oa.mean()), "oa_std": float(oa.std()), "kappa": float(kappa.mean()),
        "kappa_std": float(kappa.std()),
        "f1": {str(c): float(np.mean([s["f1"][str(c)] for s in scores])) for c in classes},
    }  # fmt: skip
    return CVReport(tuple(scores), mean, len(folds), spec.n_splits, spec.group_by, int(np.unique(groups).size),
                    reason)


def cross_validate(samples: xr.Dataset, params: TrainParams | None = None) -> CVReport:
    """Spatially blocked cross-validation of the classifier ``params`` describes.

    Parameters
    ----------
    samples : xarray.Dataset
        In-memory table from :func:`~agromap.rice.labels.extract_samples` (``.compute()`` it first).
        Rows with a NaN feature are left out, as :func:`predict` leaves such pixels unclassified.
    params : TrainParams, optional
        How to train and cross-validate; ``None`` uses the defaults (``TrainParams()``).

    Returns
    -------
    CVReport
        Per fold: sizes, class balance, OA, kappa, per-class F1/PA/UA; and their means. No imputation
        or scaling is fitted (trees need none), so nothing leaks from test folds into training.

    Raises
    ------
    LazySamplesError, SingleClassError, NoValidDataError
    FoldError
        A class has labels in one group only (leave-one-site-out cannot test it; the message says
        why), or no split of 2+ folds keeps every class in every fold.

    Warns
    -----
    FoldReductionWarning
        Fewer folds than ``params.n_splits`` were possible; ``CVReport.n_splits`` records the folds
        used and ``CVReport.fold_reduction`` why. The number of folds is never reduced silently.
    """
    spec = params if params is not None else TrainParams()
    X, y, groups, _ = _training_table(samples, spec)
    return _cross_validate(X, y, groups, spec)


def library_versions() -> dict[str, str]:
    """Versions of agromap and the libraries a model file depends on (stored in its metadata)."""
    import sklearn
    import skops

    from .._version import __version__

    return {"agromap": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "skops": skops.__version__}  # fmt: skip


def train(samples: xr.Dataset, params: TrainParams | None = None) -> RiceModel:
    """Cross-validate, then fit the classifier on every sample.

    Parameters
    ----------
    samples : xarray.Dataset
        In-memory table from :func:`~agromap.rice.labels.extract_samples` or ``samples_from_points``.
    params : TrainParams, optional
        How to train and cross-validate; ``None`` uses the defaults (``TrainParams()``).

    Returns
    -------
    RiceModel
        ``metadata`` holds ``cv`` (:meth:`CVReport.to_dict`), ``n_samples``, ``n_dropped_nodata``,
        ``class_counts``, ``classes``, ``crs``, ``band_scaling``, ``feature_spec``, ``train_spec``,
        ``versions`` and ``created`` (UTC).
    """
    spec = params if params is not None else TrainParams()
    X, y, groups, dropped = _training_table(samples, spec)
    report = _cross_validate(X, y, groups, spec)
    est = make_estimator(spec).fit(X, y)
    attrs = samples.attrs
    parse = {k: json.loads(attrs[k]) if attrs.get(k) else None for k in ("band_scaling", "feature_spec")}
    metadata = {
        "n_samples": int(y.size), "n_dropped_nodata": dropped,
        "classes": [int(c) for c in est.classes_],
        "class_counts": {str(c): int((y == c).sum()) for c in est.classes_},
        "n_labels": attrs.get("n_labels"), "block_size_m": attrs.get("block_size_m"),
        "crs": attrs.get("crs", ""), **parse, "train_spec": asdict(spec),
        "cv": report.to_dict(), "versions": library_versions(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    names = tuple(str(n) for n in samples["feature"].values)
    return RiceModel(est, names, spec.positive_class, json.loads(json.dumps(metadata)))
