"""Measurement 2: supervised inference with one fitted RandomForest, in pixels per second.

Setup (not timed): the temporal features of a synthetic Sentinel-2 + Sentinel-1 scene
(``agromap.rice.features.temporal_features``, 39 features), tiled up to ``size`` x ``size``
pixels, with the left 15 % of columns set to NaN (an orbit edge: invalid pixels). A forest of
``trees`` trees (agromap's estimator settings: balanced classes, ``n_jobs=1``) is fitted on 20 000
valid pixels labelled with the scene's truth, then saved and loaded with ``agromap.rice.model``
(so the model token is its file hash, as in the pipeline).

Timed, all on the same in-memory feature array:

- ``agromap``: ``agromap.rice.model.predict`` on the dask-backed features (chunks = pipeline
  chunks), class and probability computed together on dask's threaded scheduler with ``threads``
  workers: one pass of the forest per block on the valid rows only, every tree on a cache-sized
  slice of rows before the next slice (``agromap.rice.model_predict.forest_proba``).
- ``sklearn``: one process, one call: ``estimator.predict`` on the valid rows (the same rows).
- ``map_blocks x2``: the common pattern: class (``predict``) and probability (``predict_proba``)
  as two separate ``dask.array.map_blocks`` over every pixel (nodata filled with 0, masked after),
  computed together on the same threads.

Rates are valid pixels per second of wall time; the CPU seconds of each path (all threads) are
reported too, since they hold on a shared machine. The three class maps must agree exactly on the
valid pixels (reported).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .data import scene_spec

__all__ = ["measure"]

_FEATURE_EDGE = 1024
_TRAIN_ROWS = 20_000
_NODATA_COLUMNS = 0.15


def _features(size: int, seed: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(feature, size, size) float32 features, the truth (paddy = 1) and the feature names."""
    import dask

    from agromap.rice.features import temporal_features
    from agromap.testing import make_s1_stack, make_s2_stack, make_truth

    edge = min(size, _FEATURE_EDGE)
    spec = scene_spec(edge, 12, seed)
    s2 = make_s2_stack(spec)[["blue", "green", "red", "nir", "swir16", "scl"]]
    feats = temporal_features(optical=s2, sar=make_s1_stack(spec))
    with dask.config.set(scheduler="threads"):
        values = feats.values
        truth = (make_truth(spec)["landcover"].values == 1).astype(np.int64)
    reps = -(-size // edge)
    values = np.tile(values, (1, reps, reps))[:, :size, :size]
    truth = np.tile(truth, (reps, reps))[:size, :size]
    values[:, :, : int(_NODATA_COLUMNS * size)] = np.nan
    return np.ascontiguousarray(values), truth, tuple(str(n) for n in feats["feature"].values)


def _fit(values: np.ndarray, truth: np.ndarray, names: tuple[str, ...], trees: int, seed: int) -> Any:
    """A forest with agromap's settings, round-tripped through agromap's skops model file."""
    from sklearn.ensemble import RandomForestClassifier

    from agromap.rice.model import RiceModel, load_model, save_model

    rows = values.reshape(values.shape[0], -1).T
    ok = np.flatnonzero(np.isfinite(rows).all(axis=1))
    pick = np.random.default_rng(seed).choice(ok, min(_TRAIN_ROWS, ok.size), replace=False)
    est = RandomForestClassifier(n_estimators=trees, class_weight="balanced", random_state=seed, n_jobs=1)
    est.fit(rows[pick], truth.ravel()[pick])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rf.skops"
        save_model(RiceModel(est, names, 1, {"bench": True}), path)
        return load_model(path)


def _best(fn: Any, repeat: int, cpu: list[float] | None = None) -> tuple[float, Any]:
    """Fastest wall time of ``repeat`` calls; the CPU seconds of that call are appended to ``cpu``."""
    import os

    best, out, best_cpu = float("inf"), None, 0.0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), os.times()
        out = fn()
        wall, c1 = time.perf_counter() - t0, os.times()
        if wall < best:
            best, best_cpu = wall, (c1.user - c0.user) + (c1.system - c0.system)
    if cpu is not None:
        cpu.append(best_cpu)
    return best, out


def measure(size: int, trees: int, seed: int, chunk: int, threads: int, repeat: int = 1) -> dict[str, Any]:
    """Time the three prediction paths; returns rates (valid px/s), ratios and agreement."""
    import dask
    import dask.array as da
    import xarray as xr

    from agromap.rice.model import predict

    t0 = time.perf_counter()
    values, truth, names = _features(size, seed)
    model = _fit(values, truth, names, trees, seed)
    setup_s = time.perf_counter() - t0
    nfeat = values.shape[0]
    rows = values.reshape(nfeat, -1).T
    valid = np.isfinite(rows).all(axis=1)
    n_valid = int(valid.sum())
    est = model.estimator
    pos = model.positive_index
    feats = xr.DataArray(da.from_array(values, chunks=(nfeat, chunk, chunk)), dims=("feature", "y", "x"),
                         coords={"feature": list(names)})

    def run_agromap() -> np.ndarray:
        out = predict(model, feats)
        cls, _prob = dask.compute(out["rice_class"].data, out["rice_prob"].data, scheduler="threads",
                                  num_workers=threads)
        return np.asarray(cls)

    def run_sklearn() -> np.ndarray:
        return est.predict(np.ascontiguousarray(rows[valid]))

    def _rows(block: np.ndarray) -> np.ndarray:
        return np.nan_to_num(block.reshape(block.shape[0], -1).T, nan=0.0)

    def run_map_blocks() -> np.ndarray:
        data = feats.data

        def cls_block(b: np.ndarray) -> np.ndarray:
            return est.predict(_rows(b)).astype(np.uint8).reshape(b.shape[1:])

        def prob_block(b: np.ndarray) -> np.ndarray:
            return est.predict_proba(_rows(b))[:, pos].astype(np.float32).reshape(b.shape[1:])

        cls = da.map_blocks(cls_block, data, drop_axis=0, dtype=np.uint8)
        prob = da.map_blocks(prob_block, data, drop_axis=0, dtype=np.float32)
        c, _p = dask.compute(cls, prob, scheduler="threads", num_workers=threads)
        nodata = ~valid.reshape(c.shape)
        return np.where(nodata, 255, c)

    cpu: list[float] = []
    t_ag, cls_ag = _best(run_agromap, repeat, cpu)
    t_sk, cls_sk = _best(run_sklearn, repeat, cpu)
    t_mb, cls_mb = _best(run_map_blocks, repeat, cpu)
    flat_ag = cls_ag.ravel()
    agree_sk = float((flat_ag[valid] == cls_sk).mean())
    agree_mb = float((flat_ag == cls_mb.ravel()).mean())
    return {
        "pixels": int(valid.size), "valid_pixels": n_valid, "features": nfeat, "trees": trees,
        "setup_s": round(setup_s, 1), "threads": threads,
        "agromap_s": round(t_ag, 3), "sklearn_s": round(t_sk, 3), "map_blocks_s": round(t_mb, 3),
        "agromap_cpu_s": round(cpu[0], 2), "sklearn_cpu_s": round(cpu[1], 2), "map_blocks_cpu_s": round(cpu[2], 2),
        "agromap_px_s": n_valid / t_ag, "sklearn_px_s": n_valid / t_sk, "map_blocks_px_s": n_valid / t_mb,
        "agreement_sklearn": agree_sk, "agreement_map_blocks": agree_mb,
        "rice_fraction": float((flat_ag[valid] == 1).mean()),
    }  # fmt: skip
