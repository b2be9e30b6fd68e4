"""Co-training of the self-trained rice map: the other sensor corrects the rule's pseudo-labels.

A rule reads one sensor; its misses are systematic (the SAR rule misses direct-seeded rice and
mixed field edges, the optical rule crops hidden in cloud gaps), and the other sensor does not
share them. A forest that reads only the other sensor's features, trained on the rule's confident
pixels, judges each of them out of bag and relabels (Blum & Mitchell 1998; docs/science/rice.md,
"Self-trained maps").
"""

from __future__ import annotations

import numpy as np

from .features import feature_names
from .self_train_params import SelfTrainParams

__all__ = ["view_columns", "cotrain"]


def view_columns(names: tuple[str, ...], rule: str) -> np.ndarray:
    """Indices of the features of the sensor the rule does not read (empty for ``both``)."""
    if rule not in ("sar", "optical"):
        return np.zeros(0, dtype=np.int64)
    view = set(feature_names(sar=False) if rule == "sar" else feature_names(optical=False))
    return np.array([i for i, n in enumerate(names) if n in view], dtype=np.int64)


def _view_prob(X: np.ndarray, y: np.ndarray, conf: np.ndarray, cols: np.ndarray,
               spec: SelfTrainParams) -> np.ndarray:
    """The view's probability of rice: out-of-bag on the confident rows ``conf``, predicted on the rest (``y < 0``)."""
    from sklearn.ensemble import RandomForestClassifier

    rf = RandomForestClassifier(n_estimators=spec.n_estimators, min_samples_leaf=spec.min_samples_leaf,
                                oob_score=True, random_state=spec.seed, n_jobs=1)  # fmt: skip
    rf.fit(X[conf][:, cols], y[conf].astype(np.int64))
    p = np.full(y.size, np.nan)
    p[conf] = np.nan_to_num(rf.oob_decision_function_[:, 1], nan=0.5)  # NaN: never out of bag
    amb = np.flatnonzero(y < 0)
    if amb.size:
        p[amb] = rf.predict_proba(X[amb][:, cols])[:, 1]
    return p


def cotrain(X: np.ndarray, y: np.ndarray, key: np.ndarray, cols: np.ndarray, spec: SelfTrainParams,
             rice_prob: float | None = None, rice_cols: np.ndarray | None = None) -> np.ndarray:
    """Pseudo-labels corrected by a classifier that sees only the other sensor (co-training).

    A random forest reads the columns ``cols`` (the sensor the rule did not read) of the rule's
    confident pixels; its out-of-bag probability of rice (a pixel is never judged by trees that
    saw it) then relabels: a rule non-rice pixel the other sensor finds clearly rice
    (>= ``rice_prob``, by default ``spec.view_rice_prob``) becomes rice, and a pixel the rule hesitated on (``y == -1``)
    takes the other sensor's confident verdict. The rule's rice labels stand: its confident rice
    is rarely wrong (under 0.3 % on the hard scenes), its misses are what this corrects.
    Returns the new labels (-1: still no label).
    """
    conf = np.flatnonzero(y >= 0)
    conf = conf[np.argsort(key[conf], kind="stable")]  # row order by pixel key: independent of chunking
    if np.unique(y[conf]).size < 2:
        return y
    p = _view_prob(X, y, conf, cols, spec)
    bar = spec.view_rice_prob if rice_prob is None else rice_prob
    rice = p >= bar
    if rice_cols is not None and rice_cols.size < cols.size and rice.any():
        # a feature that only tells what is not rice must not be the reason for a rice label
        rice &= _view_prob(X, y, conf, rice_cols, spec) >= bar
    new = y.copy()
    new[(y <= 0) & rice] = 1
    new[(y < 0) & (p <= spec.view_other_prob)] = 0
    return new
