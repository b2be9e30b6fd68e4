"""Classify rice with a fitted model over dask: one ``predict_proba`` pass per block.

:func:`predict` classifies a ``(feature, y, x)`` or ``(feature, point)`` array block by block in
one pass (``predict_proba`` once on valid rows), with the model as one dask key (docs/science/rice.md).
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr
from dask.base import is_dask_collection

from ..errors import ConfigError, FeatureMismatchError
from ..io.layers import LayerSpec
from .model_record import NODATA_CLASS, RiceModel

__all__ = ["CACHE_ROWS", "LAYER_SPECS", "forest_proba", "model_features", "predict", "predict_block"]

LAYER_SPECS: dict[str, LayerSpec] = {
    "rice_class": LayerSpec(
        "rice_class", "class", "uint8", NODATA_CLASS, "class", "Rice map, supervised classifier",
        classes=((0, "non-rice", "C8C8C8"), (1, "rice", "1A9641")),
    ),
    # Probability 0-1 stored as percent (uint8, scale 0.01, nodata 255), like valid_fraction.
    "rice_prob": LayerSpec("rice_prob", "continuous", "uint8", 255, "1",
                           "Probability of rice from the classifier (stored as percent)", scale=0.01),
}  # fmt: skip


#: Rows a forest classifies tree after tree before it moves on to the next rows. 16 384 rows of 39
#: float32 features (2.4 MiB; the trees read only the few features on their paths) and their
#: float64 class sums stay in the processor's caches while all trees walk over them; a whole
#: 512 x 512 block (40 MiB of features) would be read from memory again for every tree. On an
#: idle 2-core machine both cost the same (0.86 CPU-s for one block of a 200-tree forest); when
#: other processes share the caches, one call over the block cost 1.52-1.63 CPU-s and these
#: slices 0.94-1.04 (bench/README.md, supervised inference).
CACHE_ROWS = 16_384


def forest_proba(estimator: Any, rows: np.ndarray) -> np.ndarray:
    """Class probabilities of ``rows``, equal bit for bit to ``estimator.predict_proba(rows)``.

    A random forest or extra-trees classifier with one output is evaluated in slices of
    :data:`CACHE_ROWS` rows, every tree on a slice before the next slice, summing the trees'
    probabilities in the forest's own order and dividing by their number, as scikit-learn does
    (scikit-learn runs each tree over all rows instead). The trees run on the calling thread, so
    ``n_jobs`` is not used: dask's threads work on other blocks meanwhile. Any other estimator gets
    one ``predict_proba`` call.

    Parameters
    ----------
    estimator : scikit-learn classifier
        Fitted. A forest is evaluated tree by tree only when it is exactly
        ``RandomForestClassifier`` or ``ExtraTreesClassifier`` (a subclass may predict otherwise)
        with one output.
    rows : numpy.ndarray
        ``(n, features)`` float32, every value finite, in any memory order (the trees skip their
        input checks: :func:`predict_block` guarantees both).

    Returns
    -------
    numpy.ndarray
        ``(n, classes)`` float64.
    """
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    if type(estimator) not in (RandomForestClassifier, ExtraTreesClassifier) or estimator.n_outputs_ != 1:
        return np.asarray(estimator.predict_proba(rows))
    trees = estimator.estimators_
    out = np.zeros((rows.shape[0], len(estimator.classes_)), dtype=np.float64)
    for start in range(0, rows.shape[0], CACHE_ROWS):
        part, acc = rows[start : start + CACHE_ROWS], out[start : start + CACHE_ROWS]
        for tree in trees:
            acc += tree.predict_proba(part, check_input=False)
    out /= len(trees)
    return out


def predict_block(block: np.ndarray, model: RiceModel, *, batch_rows: int, threshold: float | None) -> np.ndarray:
    """``(feature, ...)`` -> ``(2, ...)`` float32: rice class (0/1, 255 nodata) and rice probability (NaN).

    The probabilities come once per batch of at most ``batch_rows`` rows whose every feature is
    finite as float32 (:func:`forest_proba`); the class is derived from those probabilities. Any
    NaN feature (or one beyond float32's range) gives 255 / NaN. The rows are a view of the block (one feature after the other, i.e. columns
    in Fortran order), copied only to drop invalid rows or to convert to float32: trees read
    either order equally fast once the rows are sliced to fit the cache.
    """
    nfeat = block.shape[0]
    planes = block.reshape(nfeat, -1)
    if planes.dtype != np.float32:
        planes = planes.astype(np.float32)
    valid = np.isfinite(planes).all(axis=0)
    cls = np.full(planes.shape[1], NODATA_CLASS, dtype=np.float32)
    prob = np.full(planes.shape[1], np.nan, dtype=np.float32)
    idx = np.flatnonzero(valid)
    every = idx.size == planes.shape[1]
    pos = model.positive_index
    for start in range(0, idx.size, batch_rows):
        sel = slice(start, start + batch_rows) if every else idx[start : start + batch_rows]
        p = forest_proba(model.estimator, planes[:, sel].T)
        prob[sel] = p[:, pos]
        cls[sel] = (p.argmax(axis=1) == pos) if threshold is None else (p[:, pos] >= threshold)
    return np.stack([cls, prob]).reshape((2, *block.shape[1:]))


def model_features(model: RiceModel, optical: xr.Dataset | None = None,
                   sar: xr.Dataset | None = None) -> xr.DataArray:
    """The features ``model`` was trained on, from these stacks, with the settings it was trained with.

    The settings are the model file's ``feature_spec`` (a setting the file predates takes its
    default). Features added to the project after the model was trained are computed and left out,
    so a model file keeps working as the feature set grows; one the model needs and the stacks
    cannot give (a SAR feature without SAR bands) is left to :func:`predict`, which names it. Lazy.
    """
    from dataclasses import fields

    from .features import FeatureSpec, temporal_features

    recorded = model.metadata.get("feature_spec") or {}
    known = {f.name for f in fields(FeatureSpec)}
    # JSON turned the tuples of the spec into lists
    settings: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items() if k in known}
    spec = FeatureSpec(**settings)
    features = temporal_features(optical=optical, sar=sar, spec=spec)
    got = {str(v) for v in features["feature"].values}
    if set(model.feature_names) <= got:
        features = features.sel(feature=list(model.feature_names))
    return features


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
        Most valid rows gathered and classified at once (bounds the copy and the float64
        probabilities; a forest then runs over them in slices of :data:`CACHE_ROWS` rows).
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
            predict_block, data, dask.delayed(model, pure=True), **kwargs,
            chunks=((2,), *data.chunks[1:]), dtype=np.float32, meta=np.empty((0,) * data.ndim, dtype=np.float32),
        )  # fmt: skip
    else:
        both = predict_block(np.asarray(data), model, **kwargs)
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
