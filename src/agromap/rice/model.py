"""Supervised rice classifier: train with spatially blocked CV, save/load with skops, predict over dask.

- :func:`train` fits a ``RandomForestClassifier`` (or ``HistGradientBoostingClassifier``) with
  ``class_weight="balanced"``, a fixed ``random_state`` and ``n_jobs=1``, after
  :func:`cross_validate` has scored it on folds of whole spatial blocks (never random pixels:
  neighbouring pixels leak, docs/science/rice.md#supervised-classifier).
- :func:`save_model` writes a skops file plus a JSON sidecar (``<file>.json``) with the feature
  names, band scaling, training metadata, CV scores, versions and the file's SHA-256.
  :func:`load_model` refuses pickle/joblib and anything that is not a skops zip, types outside
  :data:`ALLOWED_TYPES`, a checksum other than the expected one, and scikit-learn version drift
  (docs/science/rice.md#model-files).
- :func:`predict` classifies a ``(feature, y, x)`` or ``(feature, point)`` array block by block in
  one pass (``predict_proba`` once on valid rows), with the model as one dask key (docs/science/rice.md).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import dask
import dask.array as da
import numpy as np
import xarray as xr
from dask.base import is_dask_collection

from ..errors import (
    ConfigError,
    FeatureMismatchError,
    FoldError,
    FoldReductionWarning,
    InputError,
    LazySamplesError,
    ModelChecksumError,
    ModelFileError,
    ModelVersionError,
    NoValidDataError,
    UnknownModelFileError,
    UntrustedModelError,
)
from ..io.layers import LayerSpec
from ..io.write import atomic_write_bytes
from .labels import _check_classes

__all__ = [
    "LAYER_SPECS", "ALLOWED_TYPES", "TrainSpec", "CVReport", "RiceModel",
    "cross_validate", "train", "save_model", "load_model", "sidecar_path", "predict",
]  # fmt: skip

FORMAT = "agromap-rice-model"
FORMAT_VERSION = 1
NODATA_CLASS = 255

#: Types agromap's estimators need beyond skops' defaults, found with ``skops.io.get_untrusted_types``
#: on fitted models of both kinds (tests/test_28_rice_model.py checks it). skops warns that ``Tree``
#: node indices are not bounds-checked by scikit-learn, so :func:`load_model` checks them itself.
ALLOWED_TYPES: frozenset[str] = frozenset({
    "sklearn.tree._tree.Tree",                                            # RandomForestClassifier
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",   # HistGradientBoostingClassifier
})  # fmt: skip

LAYER_SPECS: dict[str, LayerSpec] = {
    "rice_class": LayerSpec(
        "rice_class", "class", "uint8", NODATA_CLASS, "class", "Rice map, supervised classifier",
        classes=((0, "non-rice", "C8C8C8"), (1, "rice", "1A9641")),
    ),
    # Probability 0-1 stored as percent (uint8, scale 0.01, nodata 255), like valid_fraction.
    "rice_prob": LayerSpec("rice_prob", "continuous", "uint8", 255, "1",
                           "Probability of rice from the classifier (stored as percent)", scale=0.01),
}  # fmt: skip


# ---- parameters, model, report -----------------------------------------------------------------


@dataclass(frozen=True)
class TrainSpec:
    """How the classifier is trained and cross-validated."""

    estimator: Literal["random_forest", "hist_gradient_boosting"] = "random_forest"
    """``random_forest`` (default) or ``hist_gradient_boosting``; both ``class_weight="balanced"``."""
    n_estimators: int = 200
    """Trees of the forest, or boosting iterations (``max_iter``)."""
    max_depth: int | None = None
    """Maximum tree depth (``None``: unlimited for the forest, the sklearn default for boosting)."""
    min_samples_leaf: int = 1
    """Minimum samples per leaf (forest only)."""
    random_state: int = 0
    """Seed of the estimator and of the fold shuffling: training is reproducible."""
    n_splits: int = 5
    """Folds requested; fewer are used (with a :class:`FoldReductionWarning`, recorded in the report)
    when there are fewer groups or some fold would miss a class (see :func:`cross_validate`)."""
    group_by: Literal["block", "label"] = "block"
    """CV groups: the spatial block of each label (``block_id``) or the label itself (``label_id``)."""
    positive_class: int = 1
    """The label value meaning rice; ``rice_prob`` is its probability."""

    def __post_init__(self) -> None:
        if self.estimator not in ("random_forest", "hist_gradient_boosting"):
            raise ConfigError(f"estimator must be 'random_forest' or 'hist_gradient_boosting', got {self.estimator!r}.")
        if self.group_by not in ("block", "label"):
            raise ConfigError(f"group_by must be 'block' or 'label', got {self.group_by!r}.")
        if self.n_splits < 2 or self.n_estimators < 1 or self.min_samples_leaf < 1:
            raise ConfigError("n_splits must be >= 2, n_estimators and min_samples_leaf >= 1.")


@dataclass(frozen=True)
class CVReport:
    """Spatially blocked cross-validation scores, per fold and averaged over folds."""

    folds: tuple[dict[str, Any], ...]
    """Per fold: ``n_train``, ``n_test``, ``groups_test``, ``train_counts``, ``test_counts`` (per class),
    ``oa``, ``kappa``, ``f1``, ``producers_accuracy``, ``users_accuracy`` (dicts keyed by class)."""
    mean: dict[str, Any]
    """Mean over folds of ``oa``, ``kappa`` and the per-class ``f1`` (plus ``oa_std``, ``kappa_std``)."""
    n_splits: int
    """Folds used."""
    n_splits_requested: int
    group_by: str
    n_groups: int
    fold_reduction: str = ""
    """Why fewer folds than requested were used (empty when ``n_splits == n_splits_requested``)."""

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (stored with the model file)."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class RiceModel:
    """A fitted classifier with the feature names (in order) and metadata it was trained with."""

    estimator: Any
    """Fitted scikit-learn classifier with ``predict_proba`` and ``classes_``."""
    feature_names: tuple[str, ...]
    """Feature names in the order the estimator expects them."""
    positive_class: int = 1
    """Label value of rice."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """JSON-serialisable training metadata (CV scores, versions, CRS, band scaling...)."""
    sha256: str | None = None
    """SHA-256 of the file the model was loaded from; ``None`` for a model not loaded from a file."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "feature_names", tuple(str(n) for n in self.feature_names))
        classes = [int(c) for c in getattr(self.estimator, "classes_", [])]
        if not hasattr(self.estimator, "predict_proba") or self.positive_class not in classes:
            raise ConfigError(f"the estimator must be a fitted classifier whose classes {classes} include "
                              f"positive_class={self.positive_class}.")  # fmt: skip
        n_in = getattr(self.estimator, "n_features_in_", len(self.feature_names))
        if n_in != len(self.feature_names):
            raise FeatureMismatchError(f"the estimator takes {n_in} features but {len(self.feature_names)} names "
                                       "were given.")  # fmt: skip

    @property
    def positive_index(self) -> int:
        """Column of ``predict_proba`` holding the rice probability."""
        return [int(c) for c in self.estimator.classes_].index(self.positive_class)

    @property
    def cv(self) -> dict[str, Any] | None:
        """The cross-validation report recorded at training, if any."""
        return self.metadata.get("cv")

    def __dask_tokenize__(self) -> tuple[str, str]:
        # Deterministic and cheap for a loaded model (its file hash); otherwise the hash of its
        # skops bytes, computed once. dask would otherwise pickle the estimator to tokenize it.
        if self.sha256 is None and "_token" not in self.__dict__:
            object.__setattr__(self, "_token", hashlib.sha256(_payload_bytes(self)).hexdigest())
        return ("agromap.rice.RiceModel", self.sha256 or self.__dict__["_token"])


# ---- training ----------------------------------------------------------------------------------


def _make_estimator(spec: TrainSpec) -> Any:
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


def _training_table(samples: xr.Dataset, spec: TrainSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
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
    _check_classes(y[ok], "the labels with valid features")
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


def _single_site_error(y: np.ndarray, groups: np.ndarray, spec: TrainSpec) -> FoldError | None:
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


def _blocked_folds(y: np.ndarray, groups: np.ndarray, spec: TrainSpec) -> list[tuple[np.ndarray, np.ndarray]]:
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


def _cross_validate(X: np.ndarray, y: np.ndarray, groups: np.ndarray, spec: TrainSpec) -> CVReport:
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
    base = _make_estimator(spec)
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


def cross_validate(samples: xr.Dataset, spec: TrainSpec = TrainSpec()) -> CVReport:
    """Spatially blocked cross-validation of the classifier ``spec`` describes.

    Parameters
    ----------
    samples : xarray.Dataset
        In-memory table from :func:`~agromap.rice.labels.extract_samples` (``.compute()`` it first).
        Rows with a NaN feature are left out, as :func:`predict` leaves such pixels unclassified.
    spec : TrainSpec

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
        Fewer folds than ``spec.n_splits`` were possible; ``CVReport.n_splits`` records the folds
        used and ``CVReport.fold_reduction`` why. The number of folds is never reduced silently.
    """
    X, y, groups, _ = _training_table(samples, spec)
    return _cross_validate(X, y, groups, spec)


def _versions() -> dict[str, str]:
    import sklearn
    import skops

    from .._version import __version__

    return {"agromap": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "skops": skops.__version__}  # fmt: skip


def train(samples: xr.Dataset, spec: TrainSpec = TrainSpec()) -> RiceModel:
    """Cross-validate, then fit the classifier on every sample.

    Parameters
    ----------
    samples : xarray.Dataset
        In-memory table from :func:`~agromap.rice.labels.extract_samples` or ``samples_from_points``.
    spec : TrainSpec

    Returns
    -------
    RiceModel
        ``metadata`` holds ``cv`` (:meth:`CVReport.to_dict`), ``n_samples``, ``n_dropped_nodata``,
        ``class_counts``, ``classes``, ``crs``, ``band_scaling``, ``feature_spec``, ``train_spec``,
        ``versions`` and ``created`` (UTC).
    """
    X, y, groups, dropped = _training_table(samples, spec)
    report = _cross_validate(X, y, groups, spec)
    est = _make_estimator(spec).fit(X, y)
    attrs = samples.attrs
    parse = {k: json.loads(attrs[k]) if attrs.get(k) else None for k in ("band_scaling", "feature_spec")}
    metadata = {
        "n_samples": int(y.size), "n_dropped_nodata": dropped,
        "classes": [int(c) for c in est.classes_],
        "class_counts": {str(c): int((y == c).sum()) for c in est.classes_},
        "n_labels": attrs.get("n_labels"), "block_size_m": attrs.get("block_size_m"),
        "crs": attrs.get("crs", ""), **parse, "train_spec": asdict(spec),
        "cv": report.to_dict(), "versions": _versions(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    names = tuple(str(n) for n in samples["feature"].values)
    return RiceModel(est, names, spec.positive_class, json.loads(json.dumps(metadata)))


# ---- persistence -------------------------------------------------------------------------------


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar of a model file: ``<path>.json`` (``rice.skops`` -> ``rice.skops.json``)."""
    return Path(f"{path}.json")


def _payload_bytes(model: RiceModel) -> bytes:
    import skops.io as sio

    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "estimator": model.estimator,
        "feature_names": list(model.feature_names), "positive_class": int(model.positive_class),
        "metadata_json": json.dumps(dict(model.metadata), sort_keys=True),
    }  # fmt: skip
    return bytes(sio.dumps(payload, compression=zipfile.ZIP_DEFLATED))


def save_model(model: RiceModel, path: str | Path) -> str:
    """Write ``model`` as a skops file and its JSON sidecar, atomically; return the file's SHA-256.

    The skops file holds the estimator, the feature names, the positive class and the metadata; the
    sidecar repeats them for people and catalogues, with ``sha256`` of the skops file (pin it in the
    run configuration and pass it to :func:`load_model`). Never pickle or joblib.
    """
    path = Path(path)
    data = _payload_bytes(model)
    digest = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(path, data)
    side = {"format": FORMAT, "format_version": FORMAT_VERSION, "file": path.name, "sha256": digest,
            "feature_names": list(model.feature_names), "positive_class": int(model.positive_class),
            "metadata": dict(model.metadata)}  # fmt: skip
    atomic_write_bytes(sidecar_path(path), json.dumps(side, indent=2, sort_keys=True).encode())
    return digest


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip-compressed file (joblib with compress='gzip'?)"),
    (b"BZh", "a bz2-compressed file (joblib with compress='bz2'?)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file (joblib with compress='xz'?)"),
    (b"\x5d\x00\x00", "an lzma-compressed file (joblib with compress='lzma'?)"),
    (b"\x04\x22\x4d\x18", "an lz4-compressed file (joblib with compress='lz4'?)"),
)


def _sniff(data: bytes) -> str | None:
    """What the bytes are if not a skops zip (``None`` when they are one)."""
    if not data:
        return "an empty file"
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return "a damaged zip archive"
        return None if "schema.json" in names else "a zip archive that is not a skops file (no schema.json)"
    if data[:1] == b"\x80" and len(data) > 1 and 2 <= data[1] <= 5:
        return "a pickle file (pickle.dump or uncompressed joblib.dump)"
    if data[:1] == b"\x78" and len(data) > 1 and data[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return "a zlib-compressed joblib file"
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary file"
    return "a text file"


def _check_trees(est: Any) -> None:
    """Bounds-check the node arrays skops cannot vouch for (a crafted file could read out of bounds)."""
    n_feat = int(getattr(est, "n_features_in_", 0))
    for tree in getattr(est, "estimators_", []):
        t = tree.tree_
        n = t.node_count
        if not (((t.children_left >= -1) & (t.children_left < n)).all()
                and ((t.children_right >= -1) & (t.children_right < n)).all()
                and ((t.feature >= -2) & (t.feature < n_feat)).all()):  # fmt: skip
            raise UntrustedModelError("a tree has node or feature indices out of range: the file is corrupt or "
                                      "crafted. Retrain the model.")  # fmt: skip
    for stage in getattr(est, "_predictors", []):
        for p in stage:
            nd, n = p.nodes, len(p.nodes)
            inner = ~nd["is_leaf"].astype(bool)
            if (inner & ((nd["left"] >= n) | (nd["right"] >= n) | (nd["feature_idx"] >= n_feat))).any():
                raise UntrustedModelError("a boosting tree has node or feature indices out of range; retrain it.")


def load_model(path: str | Path, *, sha256: str | None = None) -> RiceModel:
    """Load a model saved by :func:`save_model`, refusing anything unsafe or inconsistent.

    Parameters
    ----------
    path : str or Path
        The skops file.
    sha256 : str, optional
        Expected SHA-256 of the file (from the run configuration); checked before anything in the
        file is interpreted.

    Returns
    -------
    RiceModel
        With ``n_jobs=1`` set on the estimator (threads come from dask) and ``sha256``.

    Raises
    ------
    UnknownModelFileError
        Empty, pickle, joblib, text or other non-skops files (the message says how to convert), and
        skops files that are not agromap models.
    ModelChecksumError
        The file's SHA-256 differs from ``sha256``, or from the sidecar's when one is present.
    UntrustedModelError
        A type outside :data:`ALLOWED_TYPES` and skops' defaults, or out-of-range tree indices.
    ModelVersionError
        Saved with another scikit-learn (``InconsistentVersionWarning`` is an error here).
    """
    import skops.io as sio
    from sklearn.exceptions import InconsistentVersionWarning

    from ..io.trust import check_regular_file

    path = check_regular_file(path, "model file")  # a named pipe would block, /dev/zero never end
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist.")
    data = path.read_bytes()
    kind = _sniff(data)
    if kind is not None:
        raise UnknownModelFileError(
            f"{path} is {kind}, not a skops model file. agromap loads only skops files against an allow-list, "
            "because loading pickle/joblib runs arbitrary code. If you trust the file, convert it once: "
            f"est = joblib.load('{path.name}'); agromap.rice.model.save_model(RiceModel(est, feature_names), "
            "'model.skops'), or retrain with agromap.rice.model.train()."
        )
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256.lower():
        raise ModelChecksumError(f"{path} has SHA-256 {digest}, expected {sha256}; use the model file the "
                                 "configuration was written for, or update the pinned checksum.")  # fmt: skip
    side = sidecar_path(path)
    if side.is_file():
        try:
            recorded = json.loads(side.read_text()).get("sha256")
        except (ValueError, AttributeError):
            recorded = "an unreadable value"
        if recorded != digest:
            raise ModelChecksumError(f"{path} has SHA-256 {digest} but its sidecar {side.name} records {recorded}: "
                                     "the file changed after it was saved. Restore it, or save the model again.")
    from ..io.trust import check_archive

    check_archive(data, str(path), "model file")  # decompressed size, before skops inflates anything
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # malformed schema.json: skops raises KeyError, ValueError, ...
        raise UnknownModelFileError(f"{path} is a damaged skops file ({exc!r}); save the model again.") from exc
    refused = sorted(set(untrusted) - ALLOWED_TYPES)
    if refused:
        raise UntrustedModelError(f"{path} contains types outside agromap's allow-list: {refused}. agromap model "
                                  "files hold only scikit-learn forests/boosting; retrain with agromap.")  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            payload = sio.loads(data, trusted=sorted(untrusted))
    except InconsistentVersionWarning as w:
        raise ModelVersionError(
            f"{path} was saved with scikit-learn {w.original_sklearn_version}; this is "
            f"{w.current_sklearn_version}. Retrain the model, or run with scikit-learn {w.original_sklearn_version}."
        ) from None
    if not (isinstance(payload, dict) and payload.get("format") == FORMAT):
        raise UnknownModelFileError(f"{path} is a skops file but not an agromap rice model (no '{FORMAT}' "
                                    "payload); save it with agromap.rice.model.save_model().")  # fmt: skip
    if payload.get("format_version") != FORMAT_VERSION:
        raise UnknownModelFileError(f"{path} has model format version {payload.get('format_version')}; this "
                                    f"agromap reads version {FORMAT_VERSION}. Retrain or upgrade agromap.")  # fmt: skip
    est = payload["estimator"]
    _check_trees(est)
    if "n_jobs" in est.get_params():
        est.set_params(n_jobs=1)
    return RiceModel(est, tuple(payload["feature_names"]), int(payload["positive_class"]),
                     json.loads(payload["metadata_json"]), sha256=digest)  # fmt: skip


# ---- prediction --------------------------------------------------------------------------------


def _predict_block(block: np.ndarray, model: RiceModel, *, batch_rows: int, threshold: float | None) -> np.ndarray:
    """``(feature, ...)`` -> ``(2, ...)`` float32: rice class (0/1, 255 nodata) and rice probability (NaN).

    ``predict_proba`` runs once per batch of at most ``batch_rows`` rows on rows whose every feature
    is finite; the class is derived from those probabilities. Any NaN feature gives 255 / NaN.
    """
    nfeat = block.shape[0]
    rows = block.reshape(nfeat, -1).T
    valid = np.isfinite(rows).all(axis=1)
    cls = np.full(rows.shape[0], NODATA_CLASS, dtype=np.float32)
    prob = np.full(rows.shape[0], np.nan, dtype=np.float32)
    idx = np.flatnonzero(valid)
    pos = model.positive_index
    for start in range(0, idx.size, batch_rows):
        sel = idx[start : start + batch_rows]
        p = model.estimator.predict_proba(np.ascontiguousarray(rows[sel], dtype=np.float32))
        prob[sel] = p[:, pos]
        cls[sel] = (p.argmax(axis=1) == pos) if threshold is None else (p[:, pos] >= threshold)
    return np.stack([cls, prob]).reshape((2, *block.shape[1:]))


def _check_features(features: xr.DataArray, model: RiceModel) -> None:
    if "feature" not in features.dims:
        raise FeatureMismatchError(f"features need a 'feature' dimension; got dims {features.dims}.")
    got = tuple(str(v) for v in features["feature"].values) if "feature" in features.coords else ()
    want = model.feature_names
    if got == want:
        return
    missing, extra = [n for n in want if n not in got], [n for n in got if n not in want]
    if not missing and not extra:
        first = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
        detail = f"same names in another order (first difference at {first}: {got[first]!r} vs {want[first]!r})"
    else:
        detail = f"missing {missing[:10]}, unexpected {extra[:10]}"
    raise FeatureMismatchError(
        f"features do not match the model's {len(want)} features: {detail}. Compute them with the same "
        "temporal_features() settings, and select the model's order: features.sel(feature=list(model.feature_names))."
    )


def predict(
    model: RiceModel, features: xr.DataArray, *, batch_rows: int = 1_000_000, threshold: float | None = None
) -> xr.Dataset:
    """Classify every valid pixel (or point) in one pass per block.

    Parameters
    ----------
    model : RiceModel
        From :func:`train` or :func:`load_model`.
    features : xarray.DataArray
        ``(feature, y, x)`` or ``(feature, point)`` (any other dims after ``feature``), float, NaN =
        nodata, feature names and order exactly the model's. numpy or dask; a split ``feature`` axis
        is rechunked to one chunk.
    batch_rows : int
        Most rows per ``predict_proba`` call (forests materialise float64 per-tree outputs).
    threshold : float, optional
        Rice where its probability >= threshold; default: the most probable class is rice.

    Returns
    -------
    xarray.Dataset
        ``rice_class`` uint8 (1 rice, 0 other, 255 where any feature is NaN) and ``rice_prob``
        float32 0-1 (NaN there), with the coordinates of ``features`` minus ``feature``. Lazy for
        dask input: one ``map_blocks`` task per block yields both variables, with the model as a
        single graph key (``dask.delayed(model, pure=True)``).

    Raises
    ------
    FeatureMismatchError
        When feature names or their order differ from the model's.
    """
    _check_features(features, model)
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be >= 1, got {batch_rows}.")
    stack = features.transpose("feature", ...)
    data = stack.data
    kwargs: dict[str, Any] = {"batch_rows": int(batch_rows), "threshold": threshold}
    if is_dask_collection(data):
        if len(data.chunks[0]) > 1:
            data = data.rechunk({0: -1})
        both = da.map_blocks(
            _predict_block, data, dask.delayed(model, pure=True), **kwargs,
            chunks=((2,), *data.chunks[1:]), dtype=np.float32, meta=np.empty((0,) * data.ndim, dtype=np.float32),
        )  # fmt: skip
    else:
        both = _predict_block(np.asarray(data), model, **kwargs)
    template = stack.isel(feature=0, drop=True)
    coords, dims = template.coords, template.dims
    cls = xr.DataArray(both[0].astype(np.uint8), dims=dims, coords=coords, name="rice_class").assign_attrs(
        nodata=NODATA_CLASS, units="class", long_name="rice (1) / non-rice (0), supervised", flag_values="0 1",
    )  # fmt: skip
    prob = xr.DataArray(both[1], dims=dims, coords=coords, name="rice_prob").assign_attrs(
        units="1", long_name="probability of rice", nodata=float("nan")
    )
    return xr.Dataset({"rice_class": cls, "rice_prob": prob}).assign_attrs(
        model_sha256=model.sha256 or "", feature_names=" ".join(model.feature_names)
    )

