"""How the self-trained map combines a desk's labels with the rule's pseudo-labels.

The pseudo-labels are the rule's readings; a desk's few labels (:mod:`agromap.rice.self_train_user`)
are checked ground. The forest fitted on the pseudo-labels alone (the map without labels) is read on
every label that weighs in the fit first:

- where it reads every label right, it is the map (``label_refit_misread``): such labels teach
  nothing, and a refit on a changed table only moves pixels at random;
- a label it misreads says that the rule's reading of ground like it is wrong: pseudo-labels of the
  other class whose nearest labels in the classifier's features are such misread labels are dropped
  (``label_neighbour_k``), besides those a label contradicts on the ground (``label_conflict_px``);
- a misread label weighs ``label_misread_weight`` in the refit: at ``label_weight`` the
  pseudo-labels around it in the features outvote it. A non-rice label on or beside a paddy's
  edge (:func:`~agromap.rice.self_train_user.mixed_labels`) keeps its own lower weight unless the
  map misreads ground like it: another non-rice label is misread too, or rice pseudo-labels read
  like it (they lie in its cell). Alone and judging none, its mixed signal lies between the two
  grounds, and weighed up it pulls the paddies' edges and the rice-shrimp fields out of the rice
  class; otherwise it is one more pixel of a ground the map misreads (lotus beside a paddy on a
  shifted calendar, a second pond's margin read as rice);
- optionally (``label_cv_folds``, off by default), the refit with the labels is measured against
  the map without them on the labels themselves: each fold of labels is read by a refit on the
  others, and the map without labels, which never saw any, stays the map unless the refit's rice
  probabilities are nearer the labels (squared error, summed over the labels).

docs/rice_self_trained.md ("The fit with a desk's labels") gives the measured effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .self_train_params import SelfTrainParams
from .self_train_user import contradicted, mixed_labels

__all__ = ["labelled_fit", "misread_neighbours"]

#: ``draw(y, use, strict, weight=None)``: the stratified draw of the pseudo-labels ``y`` (-1: none)
#: and one fit with the user labels ``use`` selects (pixel order), weighed ``weight`` (default: their
#: own); ``(estimator, ...)``, or ``None`` for too few pixels where not ``strict``.
Draw = Callable[..., Any]


def misread_neighbours(X: np.ndarray, y: np.ndarray, uX: np.ndarray, uy: np.ndarray, wrong: np.ndarray,
                       k: int) -> np.ndarray:
    """Which pseudo-labels (``X``, class ``y``; -1: none) read like user labels the map without
    labels misreads (``wrong``): a pseudo-label of class ``c`` most of whose ``k`` nearest user labels
    (``uX``, class ``uy``) are misread labels of the other class, bool per pseudo-label.

    The features are scaled by their median and interquartile range over the pseudo-labels (no
    feature's unit weighs more). Only where the labels hold both classes: a misread label's cell
    is then bounded by the labels of the other class. A misread label's own cell in feature space reaches as far as the
    labels around it let it: a cover the rule calls rice everywhere (lotus on a shifted calendar) is
    left by all its pseudo-labels, while rice pseudo-labels nearer a rice label stay.
    """
    out = np.zeros(y.size, dtype=bool)
    # a pseudo-label is judged only against labels of both classes: without a label of its own
    # class a misread label's cell would reach every pseudo-label of that class
    lab = np.flatnonzero(y >= 0)
    if not wrong.any() or lab.size == 0 or not ((uy == 0).any() and (uy == 1).any()):
        return out
    from sklearn.neighbors import NearestNeighbors

    Z = X[lab].astype(np.float64)
    lo, mid, hi = np.percentile(Z, (25, 50, 75), axis=0)
    scale = np.where(hi > lo, hi - lo, 1.0)
    k = min(int(k), uy.size)
    idx = NearestNeighbors(n_neighbors=k).fit((uX - mid) / scale).kneighbors((Z - mid) / scale,
                                                                             return_distance=False)
    against = wrong[idx] & (uy[idx] != y[lab][:, None])
    out[lab[against.mean(axis=1) > 0.5]] = True
    return out


def _folds(uy: np.ndarray, k: int) -> np.ndarray:
    """Fold of each label (pixel order): every k-th label of each class, so each fold holds both."""
    out = np.zeros(uy.size, np.int64)
    for c in (0, 1):
        idx = np.flatnonzero(uy == c)
        out[idx] = np.arange(idx.size) % k
    return out


def _label_error(est: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Sum over the labels of the squared error of the estimator's rice probability (Brier)."""
    prob = est.predict_proba(X)[:, list(est.classes_).index(1)]  # a draw holds both classes
    return float(((prob - y) ** 2).sum())


def labelled_fit(draw: Draw, X: np.ndarray, y: np.ndarray, prow: np.ndarray, pcol: np.ndarray,
                 pstratum: np.ndarray, u: dict[str, np.ndarray],
                 spec: SelfTrainParams) -> tuple[Any, np.ndarray, np.ndarray, int]:  # fmt: skip
    """The fit with the user labels ``u`` (pixel order: ``X``, ``y``, ``row``, ``col``, ``stratum``,
    :func:`~agromap.rice.self_train_user.label_edges` bits ``edge``, ``weight``) and the pseudo-labels ``X``, ``y`` at ``prow``, ``pcol`` (stratum ``pstratum``):
    the fit, the pseudo-labels it drew from, the dropped ones, and 1 for a refit with the labels
    (0: the map without them).
    """
    n = u["y"].size
    every = np.ones(n, dtype=bool)
    fit_w = u["weight"] > 0
    full = ~mixed_labels(u["y"], u["edge"], spec)  # the labels a misread weighs up
    radius = spec.spacing_px if spec.label_conflict_px is None else spec.label_conflict_px

    def drops(use: np.ndarray, wrong: np.ndarray | None) -> np.ndarray:
        # a non-rice label on or beside a paddy's edge still judges the pseudo-labels around it
        out = contradicted(prow, pcol, y, pstratum, u["row"][use], u["col"][use], u["y"][use], u["stratum"][use],
                           radius)
        if wrong is not None and spec.label_neighbour_k is not None:
            w = use & fit_w
            out |= misread_neighbours(X, y, u["X"][w], u["y"][w], wrong[w], spec.label_neighbour_k)
        return out

    def weighed_up(wrong: np.ndarray) -> np.ndarray:
        # a misread mixed label weighs up only where the map misreads ground like it: another
        # non-rice label is misread too (lotus beside and away from paddies, two ponds' margins),
        # or pseudo-labels of the other class read like it (its cell, the pseudo-labels whose
        # nearest label it is); alone and judging none, its signal between two grounds is no news
        up = wrong & full
        other = wrong & (u["y"] == 0)
        if (up & other).any() or other.sum() > 1:
            return wrong
        for i in np.flatnonzero(wrong & ~full):
            one = np.zeros(n, dtype=bool)
            one[i] = True
            up[i] = misread_neighbours(X, y, u["X"][fit_w], u["y"][fit_w], one[fit_w], 1).any()
        return up

    def refit(use: np.ndarray, wrong: np.ndarray | None, strict: bool) -> tuple[Any, np.ndarray, np.ndarray]:
        dropped = drops(use, wrong)
        yy = np.where(dropped, -1, y).astype(y.dtype)
        if wrong is not None and spec.label_misread_weight is not None:
            return draw(yy, use, strict, np.where(weighed_up(wrong), spec.label_misread_weight, u["weight"])), yy, dropped
        return draw(yy, use, strict), yy, dropped

    judge = spec.label_refit_misread or spec.label_neighbour_k is not None or spec.label_cv_folds is not None
    plain = draw(y, ~every, False) if n and fit_w.any() and judge else None
    if plain is None:
        fitted, yy, dropped = refit(every, None, True)
        return fitted, yy, dropped, 1
    keep = (plain, y, np.zeros(y.size, dtype=bool), 0)
    wrong = fit_w & (plain[0].predict(u["X"]) != u["y"])
    if not wrong.any() and spec.label_refit_misread:
        return keep
    if wrong.any() and spec.label_cv_folds is not None:
        # a refit must read the labels it did not see better than the map without labels, which
        # saw none: the squared error of the rice probability, as a few misread labels often tie
        folds, cv_error = _folds(u["y"], int(spec.label_cv_folds)), 0.0
        for f in range(int(spec.label_cv_folds)):
            held = (folds == f) & fit_w
            if not held.any():
                continue
            fold_fit = refit(folds != f, wrong, False)[0]
            if fold_fit is None:
                return keep
            cv_error += _label_error(fold_fit[0], u["X"][held], u["y"][held])
        if cv_error >= _label_error(plain[0], u["X"][fit_w], u["y"][fit_w]):
            return keep
    fitted, yy, dropped = refit(every, wrong, True)
    return fitted, yy, dropped, 1
