"""A desk's own field labels in the self-trained rice map (:mod:`agromap.rice.self_trained`).

A crop-statistics desk that maps rice usually holds some field labels already (it needs them
for the accuracy assessment). They join the rule's pseudo-labels:

- every user-labelled pixel whose features are all finite is a training pixel, off the thinning
  lattice and outside the per-class quota (a desk's few labels are never thinned away), with the
  weight ``SelfTrainParams.label_weight`` in the fit;
- a pseudo-label of the other class within ``label_conflict_px`` of a user label (a square
  window), where the rule saw the same thing (same QA bits and season count, the stratum of
  :func:`~agromap.rice.self_trained._select_block`), is dropped: the rule read that ground the
  way it read the labelled pixel, and the desk says that reading is wrong there;
- a non-rice label on a paddy's edge as the rule reads it (confident rice on the pixel, confident
  non-rice within ``label_edge_px``; :func:`paddy_edge`) weighs ``label_edge_weight`` (0: left
  out of the fit): the pixel's signal is mostly the paddy's, and the desk names the other ground;
- a non-rice label beside a paddy (no rice verdict on the pixel, confident rice within
  ``label_edge_px``; :func:`label_edges`) weighs ``label_margin_weight``, that of a pseudo-label:
  its signal carries some of the paddy's, and a larger weight pulls the paddies' own edge
  pixels out of the rice class;
- where the map without labels already reads every label that weighs in the fit right, it is
  the map (``label_refit_misread``): such labels teach nothing, and a refit only moves pixels at
  random; otherwise the labels it misreads judge the pseudo-labels like them and weigh more, and a
  refit measured on the labels decides (:mod:`agromap.rice.self_train_desk`); the fit with the
  labels takes ``label_n_estimators`` trees.

The labels are a small in-memory table (as for :func:`agromap.rice.model.train`): a GeoDataFrame
from :func:`~agromap.rice.labels.read_labels` (points, or polygons whose pixel centres they hold)
or a table with integer ``row``, ``col`` and ``label_class`` columns on the map's grid. Classes
are 1 (rice) and 0 (non-rice). ``docs/rice_self_trained.md`` ("A desk's own labels") gives the
measured effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..errors import LabelError

__all__ = ["EDGE_BESIDE_PADDY", "EDGE_ON_PADDY", "LABEL_COUNT_NAMES", "UserLabels", "user_labels", "block_labels",
           "user_table", "contradicted", "label_edges", "label_weights", "mixed_labels", "paddy_edge"]

#: 0-d counts a map trained with user labels adds to its result: user labels trained on, by
#: class, pseudo-labels dropped for contradicting one, and ``label_refit``: 1 where the forest was
#: refitted with the labels, 0 where the map without them read every label right and was kept.
LABEL_COUNT_NAMES: tuple[str, ...] = ("n_user_rice", "n_user_other", "n_pseudo_dropped", "label_refit")

#: :func:`label_edges` bits: the rule's confident rice beside its confident non-rice (a paddy's
#: own edge pixel), and a pixel the rule does not call rice beside its confident rice.
EDGE_ON_PADDY, EDGE_BESIDE_PADDY = np.uint8(1), np.uint8(2)

UserLabels = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Global ``rows``, ``cols`` (int64) and ``label_class`` (int8, 0/1) of the labelled pixels."""


def user_labels(labels: Any, template: xr.DataArray, *, reproject: bool = False) -> UserLabels:
    """The labelled pixels of ``labels`` on the grid of ``template`` (a ``(y, x)`` array).

    A GeoDataFrame (``label_class`` and geometry, from :func:`~agromap.rice.labels.read_labels`)
    is placed with the grid's GeoBox, as :func:`~agromap.rice.labels.extract_samples` places it
    (same CRS or ``reproject``; labels outside the grid are left out, none inside is an error). A table (DataFrame or
    mapping of arrays) with ``row``, ``col`` and ``label_class`` is taken as pixel positions.

    Raises
    ------
    LabelError
        No labels, classes other than 0 and 1, positions outside the grid, a pixel labelled
        with both classes (and :class:`~agromap.errors.LabelCRSError` /
        :class:`~agromap.errors.LabelOverlapError` for a GeoDataFrame).
    """
    ny, nx = (int(template.sizes["y"]), int(template.sizes["x"]))
    if hasattr(labels, "geometry") and hasattr(labels, "crs"):
        rows, cols, cls = _geo_pixels(labels, template, reproject)
    elif isinstance(labels, Mapping) or hasattr(labels, "columns"):
        missing = [c for c in ("row", "col", "label_class") if c not in labels]
        if missing:
            raise LabelError(f"labels: a pixel table needs columns row, col and label_class; missing {missing}.")
        rows, cols = (np.asarray(labels[c]).ravel() for c in ("row", "col"))
        cls = np.asarray(labels["label_class"]).ravel()
        if not (rows.shape == cols.shape == cls.shape):
            raise LabelError("labels: row, col and label_class must have one value per label.")
        if rows.size and not (np.issubdtype(rows.dtype, np.integer) and np.issubdtype(cols.dtype, np.integer)):
            raise LabelError(f"labels: row and col must be integer pixel positions, got {rows.dtype} and {cols.dtype}.")
        outside = (rows < 0) | (rows >= ny) | (cols < 0) | (cols >= nx)
        if outside.any():
            raise LabelError(f"labels: {int(outside.sum())} of {rows.size} label(s) lie outside the {ny} x {nx} grid.")
    else:
        raise LabelError(f"labels must be a GeoDataFrame (read_labels) or a table with row, col and label_class; "
                         f"got {type(labels).__name__}.")
    if rows.size == 0:
        raise LabelError("labels: the label table is empty.")
    if not np.issubdtype(np.asarray(cls).dtype, np.integer) or not np.isin(cls, (0, 1)).all():
        found = sorted({str(v) for v in np.unique(cls)})
        raise LabelError(f"labels: the self-trained map takes classes 1 (rice) and 0 (non-rice); found {found}.")
    flat = rows.astype(np.int64) * nx + cols.astype(np.int64)
    order = np.argsort(flat, kind="stable")
    flat, cls_s = flat[order], np.asarray(cls)[order]
    same = flat[1:] == flat[:-1]
    if (same & (cls_s[1:] != cls_s[:-1])).any():
        raise LabelError(f"labels: {int((same & (cls_s[1:] != cls_s[:-1])).sum())} pixel(s) carry both classes; "
                         "each pixel may be labelled once.")
    keep = np.concatenate([[True], ~same])  # a pixel labelled twice with one class counts once
    flat, cls_s = flat[keep], cls_s[keep]
    return flat // nx, flat % nx, cls_s.astype(np.int8)


def _geo_pixels(labels: Any, template: xr.DataArray, reproject: bool) -> UserLabels:
    from ..io.grid import geobox_of
    from .labels import check_label_crs, label_pixels

    if "label_class" not in labels.columns:
        raise LabelError("labels: a GeoDataFrame needs a label_class column; read it with read_labels().")
    if "label_id" not in labels.columns:  # a GeoDataFrame built by hand: its row labels name the labels
        labels = labels.assign(label_id=labels.index.astype(str))
    gbox = geobox_of(template)
    labels = check_label_crs(labels, gbox, reproject=reproject)
    rows, cols, outside = label_pixels(labels, gbox)
    if len(outside) == len(labels):  # some outside is normal: one label file may serve several areas
        from ..errors import LabelOverlapError

        raise LabelOverlapError(f"labels: none of the {len(labels)} label(s) lies in the mapped area; check the "
                                "label file and its CRS.")
    counts = np.array([r.size for r in rows])
    cls = np.repeat(np.asarray(labels["label_class"]), counts)
    return np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64), cls


def block_labels(labels: UserLabels | None, row0: int, col0: int, ny: int, nx: int) -> UserLabels | None:
    """The labels inside the block ``[row0, row0 + ny) x [col0, col0 + nx)`` (global positions)."""
    if labels is None:
        return None
    r, c, k = labels
    inside = (r >= row0) & (r < row0 + ny) & (c >= col0) & (c < col0 + nx)
    return r[inside], c[inside], k[inside]


def paddy_edge(score: np.ndarray, rice_min: float, other_max: float, px: int) -> np.ndarray:
    """Where a ``(y, x)`` rule score is confident rice (``>= rice_min``) with a confident non-rice
    verdict (``<= other_max``) within ``px`` pixels (a square window; the grid's border repeats its
    last pixel): the edge pixels of the paddies the rule sees, bool.
    """
    return (label_edges(score, rice_min, other_max, px) & EDGE_ON_PADDY) > 0


def label_edges(score: np.ndarray, rice_min: float, other_max: float, px: int) -> np.ndarray:
    """The paddy boundaries of a ``(y, x)`` rule score as a label sees them, uint8 bits:
    :data:`EDGE_ON_PADDY` where :func:`paddy_edge` holds, :data:`EDGE_BESIDE_PADDY` where the
    rule does not call the pixel rice (a NaN score is no verdict) but a confident rice verdict
    (``>= rice_min``) lies within ``px`` pixels (a square window; the border repeats its last pixel).
    """
    from scipy.ndimage import maximum_filter

    with np.errstate(invalid="ignore"):  # a NaN score is no verdict
        rice, other = score >= rice_min, score <= other_max
    size = 2 * px + 1
    on = rice & maximum_filter(other, size=size, mode="nearest")
    beside = ~rice & maximum_filter(rice, size=size, mode="nearest")
    return (on * EDGE_ON_PADDY | beside * EDGE_BESIDE_PADDY).astype(np.uint8)


def label_weights(uy: np.ndarray, uedge: np.ndarray, spec: Any) -> np.ndarray:
    """The weight in the fit of each user label of class ``uy`` with :func:`label_edges` bits ``uedge``.

    ``spec.label_weight`` (a :class:`~agromap.rice.self_train_params.SelfTrainParams`), but for a
    non-rice label on a paddy's edge pixel (``spec.label_edge_weight``) and one beside a paddy
    (``spec.label_margin_weight``, unless ``None``): both are mixed pixels whose signal carries
    some of the paddy's flood and canopy. Rice labels always weigh ``spec.label_weight``.
    """
    weight = np.full(uy.shape, float(spec.label_weight))
    other = uy == 0
    weight[other & ((uedge & EDGE_ON_PADDY) > 0)] = spec.label_edge_weight
    if spec.label_margin_weight is not None:
        weight[other & ((uedge & EDGE_BESIDE_PADDY) > 0)] = spec.label_margin_weight
    return weight


def mixed_labels(uy: np.ndarray, uedge: np.ndarray, spec: Any) -> np.ndarray:
    """Which user labels of class ``uy`` with :func:`label_edges` bits ``uedge`` :func:`label_weights`
    weighs as mixed pixels, bool per label: non-rice labels on a paddy's edge pixel, and beside a
    paddy unless ``spec.label_margin_weight`` is ``None`` (those weigh ``label_weight``).
    """
    bits = EDGE_ON_PADDY | (EDGE_BESIDE_PADDY if spec.label_margin_weight is not None else np.uint8(0))
    return (uy == 0) & ((uedge & bits) > 0)


def user_table(labels: UserLabels | None, qa: np.ndarray, seasons: np.ndarray, feats: np.ndarray, row0: int,
               col0: int, edge: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The user labels of one block as training rows: ``uX``, ``uy``, ``urow``, ``ucol``, ``ustratum``
    and ``uedge`` (the block's :func:`label_edges` bits ``edge`` at the label; 0 without it).

    Labels on a pixel with a non-finite feature are left out (``unodata`` counts them).
    """
    if labels is None:
        r = c = np.zeros(0, np.int64)
        k = np.zeros(0, np.int8)
    else:
        r, c, k = labels
    lr, lc = r - row0, c - col0
    ok = np.isfinite(feats[:, lr, lc]).all(axis=0)
    lr, lc = lr[ok], lc[ok]
    stratum = qa[lr, lc].astype(np.int64) * 256 + seasons[lr, lc].astype(np.int64)
    uedge = edge[lr, lc].astype(np.uint8) if edge is not None else np.zeros(lr.size, np.uint8)
    return {"uX": feats[:, lr, lc].T.astype(np.float32), "uy": k[ok].astype(np.int8), "urow": r[ok], "ucol": c[ok],
            "ustratum": stratum, "uedge": uedge, "unodata": np.array(int((~ok).sum()), np.int64)}


def contradicted(prow: np.ndarray, pcol: np.ndarray, py: np.ndarray, pstratum: np.ndarray, urow: np.ndarray,
                 ucol: np.ndarray, uy: np.ndarray, ustratum: np.ndarray, radius: int) -> np.ndarray:
    """Which pseudo-labels a user label contradicts: the other class, the same stratum, and at most
    ``radius`` pixels away in row and in column.
    """
    out = np.zeros(py.size, dtype=bool)
    if uy.size == 0 or py.size == 0:
        return out
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([prow, pcol]).astype(np.float64))
    near = tree.query_ball_point(np.column_stack([urow, ucol]).astype(np.float64), r=radius + 0.5, p=np.inf)
    for i, idx in enumerate(near):
        if idx:
            j = np.asarray(idx, dtype=np.int64)
            out[j[(py[j] >= 0) & (py[j] != uy[i]) & (pstratum[j] == ustratum[i])]] = True
    return out
