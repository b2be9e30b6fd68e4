"""Pseudo-labels among the paddies whose season the series cuts.

The series-end and series-start tests (:mod:`agromap.rice.self_train_ends`) read each pixel with
fixed bars: a paddy's canopy at the series start darker than ``start_canopy_max_db``, its clear
dates wet enough and dry often enough. Whole paddies miss one bar by little (a canopy near heading
is brighter in VH than the bar), and there the rule's sure non-rice verdict stays a label. Those
labels are few but they are the only examples of their kind: every other cut paddy gave no label, so
the classifier learns that kind from them alone and maps every cut paddy as non-rice.

:func:`cut_like_labels` judges the labels in the classifier's own feature space: a non-rice label
whose nearest lattice pixels are all cut ones (:data:`~agromap.rice.self_train_ends.QA_SERIES_CUT`)
reads like a cut paddy, not like the non-rice covers, and is dropped; a cut pixel without a label
among mostly cut neighbours, beside pixels the series start cuts, becomes a rice label, so that the
classifier sees the cut paddies at all (docs/rice_self_trained.md, "Labels among the cut paddies").
"""

from __future__ import annotations

import numpy as np

from .self_train_params import SelfTrainParams

__all__ = ["cut_like_labels"]


def cut_like_labels(X: np.ndarray, y: np.ndarray, cut: np.ndarray, key: np.ndarray,
                    spec: SelfTrainParams, start: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The training table's labels ``y`` (1 rice, 0 non-rice, -1 none) judged by the cut pixels around
    each row in the classifier's features: the new labels.

    ``X`` (n, feature): the lattice pixels' features (every row finite), ``cut``: the rows whose season
    the series cuts, ``key``: their order key. Each row's ``spec.cut_like_neighbours`` nearest other
    rows, in features scaled by their median and interquartile range over the table (no feature's unit
    weighs more), vote. A non-rice label with at least ``spec.cut_like_share`` of them cut reads like a
    cut paddy and is dropped; a cut row without a label (the series-end and series-start steps made
    the rule's verdict no opinion) with at least ``spec.cut_rice_share`` of them cut lies among cut
    paddies and becomes a rice label when it is itself in ``start`` (the series start cuts it: a wet
    canopy, then a dry fallow; or a series-end flood held over several passes, a puddled field) or at
    least ``spec.cut_rice_start_share`` of its neighbours are: a flood at the series end is also a
    fallow field's rain puddles, and a cluster of such pixels far from every vouched one is no paddy. ``start`` ``None``: every cut row counts as start-cut. Unchanged when ``spec.cut_like_neighbours`` is ``None``, no row
    is cut or the table has too few rows.
    """
    k = spec.cut_like_neighbours
    if k is None or not cut.any() or y.size <= k:
        return y
    from sklearn.neighbors import NearestNeighbors

    order = np.argsort(key, kind="stable")  # the neighbours never depend on the tables' chunk order
    Z = X[order].astype(np.float64)
    lo, mid, hi = np.percentile(Z, (25, 50, 75), axis=0)
    Z = (Z - mid) / np.where(hi > lo, hi - lo, 1.0)
    yo, co = y[order], cut[order]
    so = co if start is None or spec.cut_rice_start_share is None else start[order]
    ask = np.flatnonzero((yo == 0) | ((yo < 0) & co))
    idx = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z[ask], return_distance=False)
    # the row itself is its own nearest neighbour (distance 0): drop the first column
    share = co[idx[:, 1:]].mean(axis=1)
    new = yo.copy()
    new[ask[(yo[ask] == 0) & (share >= spec.cut_like_share)]] = -1
    if spec.cut_rice_share is not None:
        opened = so[ask] | (so[idx[:, 1:]].mean(axis=1) >= (spec.cut_rice_start_share or 0.0))
        new[ask[(yo[ask] < 0) & co[ask] & opened & (share >= spec.cut_rice_share)]] = 1
    out = y.copy()
    out[order] = new
    return out
