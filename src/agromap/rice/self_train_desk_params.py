"""The desk-label part of :class:`~agromap.rice.self_train_params.SelfTrainParams`.

A desk's own labels (``labels=``, :mod:`agromap.rice.self_train_desk`): their weight in the fit,
the pseudo-labels they overrule, and when the map refits with them (docs/rice_self_trained.md, "A
desk's own labels" and the sections after it, gives the measured reasons for each default).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["DeskLabelParams"]


@dataclass(frozen=True)
class DeskLabelParams:
    """A desk's own labels: their weight in the fit, the pseudo-labels they overrule, and when the map refits."""

    label_weight: float = 3.0
    """With user labels (``labels=``): the weight of one user-labelled pixel in the fit, in
    pseudo-labels. The rule gives a few thousand noisy labels, a desk a few dozen checked ones per
    class. On the hard scenes (seeds 0-9, 50 labels per class) weight 3 gave the best mean OA on
    all three; 10 let the few labels' own sampling gaps (a rare confounder no label fell on) pull
    the map back towards the supervised one's errors, 1 gained less (docs/rice_self_trained.md,
    "A desk's own labels")."""
    label_conflict_px: int | None = None
    """With user labels: a pseudo-label of the other class within this many pixels of a user label
    (square window) where the rule saw the same thing (same QA bits and season count) is dropped.
    ``None``: ``spacing_px``, the distance between two lattice pixels, so the lattice pixels next to
    the label are the ones judged."""
    label_edge_px: int | None = 1
    """With user labels: a non-rice label on a pixel the rule calls rice with confidence
    (``rice_min_score``), with a confident non-rice verdict within this many pixels (a square
    window), lies on the edge of a paddy as the rule sees it, and weighs ``label_edge_weight``. The
    signal of a 10 m pixel at a boundary mixes the two fields, and a paddy's flood and canopy
    dominate it: a non-rice label on a pond's corner pixel between three paddies (rule score 0.88)
    taught the map that a rice-like signal is non-rice, and it missed 0.118 of the rice-shrimp
    fields of ``mekong_triple_sar`` seed 9 instead of 0.085. Rice labels on the edge pixels the
    rule calls non-rice keep their weight: they are the edge paddies the rules miss
    (docs/rice_self_trained.md, "A desk's non-rice labels on a paddy's edge"). ``None``: every
    label weighs ``label_weight``."""
    label_edge_weight: float = 0.0
    """The weight of a non-rice label on a paddy's edge (``label_edge_px``) in the fit; 0 leaves it
    out (it still drops the pseudo-labels it contradicts): its mixed signal is no example of either
    ground. On ``mekong_triple_sar`` seed 9 weight 1, that of one pseudo-label, gave the same OA
    (0.9872) but missed 0.098 of the rice-shrimp fields against 0.091 (0.085 without labels)."""
    label_margin_weight: float | None = 1.0
    """The weight of a non-rice label beside a paddy: the rule does not call the pixel rice, but a
    confident rice verdict lies within ``label_edge_px``. The pixel mixes the field's ground with
    the paddy's flood and canopy; weighted as ``label_weight`` such labels (sugarcane, forest,
    fallow at a paddy's border) taught the map to drop the paddies' own mixed edge pixels:
    ``monsoon_sparse_optical`` seed 3 lost 0.0014 OA against the map without labels. Weight 1
    counts it as one pseudo-label, which the rule's confident non-rice verdicts there are too
    (docs/rice_self_trained.md, "A desk's non-rice labels beside a paddy"). ``None``:
    ``label_weight``."""
    label_n_estimators: int | None = 300
    """With user labels: the forest's trees in the refit that takes them (``None``: ``n_estimators``).
    Each tree bootstraps the few weighted labels differently, so a 100-tree refit moves pixels at
    random; 300 trees lifted the labelled map on ``mekong_triple_sar`` with a thinned optical series
    (seeds 0-9) from a mean OA of 0.9863 to 0.9870 and its worst seed against the map without labels
    from -0.0013 to -0.0012; 500 gave no more (docs/rice_self_trained.md, "The fit with a desk's
    labels"). Co-training keeps ``n_estimators``, so the pseudo-labels are those of the map without
    labels. Only the random forest: boosting keeps ``n_estimators`` (more iterations are no average)."""
    label_neighbour_k: int | None = 1
    """With user labels: a pseudo-label most of whose this many nearest user labels, in the
    classifier's scaled features, are of the other class and misread by the map without labels is
    dropped before the refit: the label says the rule's reading of ground like it is wrong
    (:func:`~agromap.rice.self_train_desk.misread_neighbours`). ``None``: no such drop."""
    label_misread_weight: float | None = 10.0
    """With user labels: the weight in the refit of a label the map without labels misreads
    (``None``: as the others). Such a label stands against the pseudo-labels around it in the
    features, which outvote it at ``label_weight``: on ``mekong_triple_sar`` shifted 180 days,
    seed 2, six lotus labels the map read as rice left 0.77 of the lotus mapped rice at weight 3
    and 0.53 with ``label_neighbour_k`` 1; at 10, 0.44 (docs/rice_self_trained.md, "Labels the map
    without them misreads"). A misread non-rice label on or beside a paddy's edge keeps its own weight unless
    the map misreads ground like it (self_train_desk.labelled_fit)."""
    label_cv_folds: int | None = None
    """With user labels and a label the map without them misreads: keep the refit with the labels
    only where, each fold of the labels read by a refit on the other folds, its rice probability on
    the labels has a smaller squared error than that of the map without labels (which never saw
    any); else the map without labels is the result. ``None`` (default): always refit. Measured
    with 5 folds it could not tell a refit that loses (``monsoon_sparse_optical`` 10 months shifted
    120 days, seed 0) from refits that gain up to 0.0028 (docs/rice_self_trained.md, "Labels the
    map without them misreads")."""
    label_refit_misread: bool = True
    """With user labels: fit the map without them first, and keep it where it reads every label that
    weighs in the fit right (the labels still count, but drop no pseudo-label): such labels teach the
    classifier nothing, and a refit on a changed table only moves pixels. On ``monsoon_sparse_optical``
    seed 2 the map without labels reads all 100 right and the refit lost 0.0020 OA (0.0024 with 300
    trees), dropping rice at field edges; on ``wetland_confusion`` seed 1 of a 10-month series shifted
    240 days, 0.0022. ``False``: always refit."""

    def _check_desk_labels(self) -> None:
        if not self.label_weight > 0 or (self.label_conflict_px is not None and self.label_conflict_px < 0):
            raise ConfigError(f"need label_weight > 0 and label_conflict_px >= 0 (pixels) or null, got "
                              f"{self.label_weight} and {self.label_conflict_px}.")
        if not self.label_edge_weight >= 0 or (self.label_edge_px is not None and self.label_edge_px < 1):
            raise ConfigError(f"need label_edge_weight >= 0 and label_edge_px >= 1 (pixels) or null, got "
                              f"{self.label_edge_weight} and {self.label_edge_px}.")
        if self.label_margin_weight is not None and not self.label_margin_weight >= 0:
            raise ConfigError(f"need label_margin_weight >= 0 or null, got {self.label_margin_weight}.")
        if self.label_neighbour_k is not None and self.label_neighbour_k < 1:
            raise ConfigError(f"label_neighbour_k must be >= 1 (labels) or null, got {self.label_neighbour_k}.")
        if self.label_misread_weight is not None and not self.label_misread_weight > 0:
            raise ConfigError(f"label_misread_weight must be > 0 or null, got {self.label_misread_weight}.")
        if self.label_cv_folds is not None and self.label_cv_folds < 2:
            raise ConfigError(f"label_cv_folds must be >= 2 or null, got {self.label_cv_folds}.")
        if self.label_n_estimators is not None and self.label_n_estimators < 1:
            raise ConfigError(f"label_n_estimators must be >= 1 (trees) or null, got {self.label_n_estimators}.")
