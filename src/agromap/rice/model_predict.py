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

__all__ = ["LAYER_SPECS", "predict", "predict_block"]

LAYER_SPECS: dict[str, LayerSpec] = {
    "rice_class": LayerSpec(
        "rice_class", "class", "uint8", NODATA_CLASS, "class", "Rice map, supervised classifier",
        classes=((0, "non-rice", "C8C8C8"), (1, "rice", "1A9641")),
    ),
    # Probability 0-1 stored as percent (uint8, scale 0.01, nodata 255), like valid_fraction.
    "rice_prob": LayerSpec("rice_prob", "continuous", "uint8", 255, "1",
                           "Probability of rice from the classifier (stored as percent)", scale=0.01),
}  # fmt: skip


def predict_block(block: np.ndarray, model: RiceModel, *, batch_rows: int, threshold: float | None) -> np.ndarray:
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
