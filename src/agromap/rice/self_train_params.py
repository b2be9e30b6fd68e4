"""Settings of the label-free self-trained rice map (:mod:`agromap.rice.self_trained`).

One frozen dataclass, :class:`SelfTrainParams`; the map's module re-exports it. Its fields come in
three parts, each a frozen dataclass in a module of its own with the checks of its fields:

- :class:`~agromap.rice.self_train_label_params.PseudoLabelParams`: which rule verdicts become
  pseudo-labels, co-training, and the classifier fitted on them;
- :class:`~agromap.rice.self_train_cut_params.SeriesCutParams`: a season the series' end or start
  cuts (:mod:`agromap.rice.self_train_ends`, :mod:`agromap.rice.self_train_cutlike`);
- :class:`~agromap.rice.self_train_desk_params.DeskLabelParams`: a desk's own labels
  (:mod:`agromap.rice.self_train_desk`).

The parts are no settings of their own: code takes a ``SelfTrainParams``, which alone runs the
checks. docs/rice_parameters.md lists the fields part by part, from the docstrings under them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model_record import TrainParams
from .self_train_cut_params import SeriesCutParams
from .self_train_desk_params import DeskLabelParams
from .self_train_label_params import PseudoLabelParams

__all__ = ["SelfTrainParams"]


# A dataclass takes the fields of its bases from the last base to the first: pseudo-labels, series
# cuts, desk labels, the order of the constructor, of ``repr`` and ``asdict`` (the training metadata)
# and of the parameter page.
@dataclass(frozen=True)
class SelfTrainParams(DeskLabelParams, SeriesCutParams, PseudoLabelParams):
    """How pseudo-labels are drawn from the rule and how the classifier is fitted on them."""

    def __post_init__(self) -> None:
        self._check_pseudo_labels()
        self._check_desk_labels()
        self._check_series_cuts()
        TrainParams(estimator=self.estimator, n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf)
