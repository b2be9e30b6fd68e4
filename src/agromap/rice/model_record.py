"""The supervised rice classifier's record: training parameters, CV report, fitted model, file format.

The roles live in their own modules, all re-exported by :mod:`agromap.rice.model`:
:mod:`~agromap.rice.model_train` (cross-validate and fit), :mod:`~agromap.rice.model_io` (skops
files) and :mod:`~agromap.rice.model_predict` (classify over dask).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, FeatureMismatchError

__all__ = ["FORMAT", "FORMAT_VERSION", "NODATA_CLASS", "TrainParams", "CVReport", "RiceModel", "skops_bytes", "sidecar_path"]

#: ``format`` and ``format_version`` written into every model file and checked on load.
FORMAT = "agromap-rice-model"
FORMAT_VERSION = 1
NODATA_CLASS = 255


@dataclass(frozen=True)
class TrainParams:
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
            object.__setattr__(self, "_token", hashlib.sha256(skops_bytes(self)).hexdigest())
        return ("agromap.rice.RiceModel", self.sha256 or self.__dict__["_token"])


def skops_bytes(model: RiceModel) -> bytes:
    """The model as the bytes of an agromap skops file (what :func:`~agromap.rice.model_io.save_model` writes)."""
    import skops.io as sio

    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "estimator": model.estimator,
        "feature_names": list(model.feature_names), "positive_class": int(model.positive_class),
        "metadata_json": json.dumps(dict(model.metadata), sort_keys=True),
    }  # fmt: skip
    return bytes(sio.dumps(payload, compression=zipfile.ZIP_DEFLATED))


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar of a model file: ``<path>.json`` (``rice.skops`` -> ``rice.skops.json``)."""
    return Path(f"{path}.json")
