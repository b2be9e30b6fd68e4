"""Label-free self-trained rice map: a rule's most confident pixels train the classifier.

A phenology rule (:func:`~agromap.rice.rules_sar.sar_rice_rule` or
:func:`~agromap.rice.rules_optical.optical_rice_rule`) labels every pixel with a ``rice_score``.
Pixels the rule is sure about (``rice_score >= rice_min_score`` for rice, ``<= other_max_score``
for non-rice) become pseudo-labels; the project's classifier (:mod:`agromap.rice.features` +
:mod:`agromap.rice.model`) is trained on them and then classifies **every** pixel, including the
ambiguous ones the rule hesitated on. No user label is needed. This is self-training in the sense
of Yarowsky (1995) and pseudo-labelling (Lee 2013); ``docs/rice_self_trained.md`` gives the
references, the choices and the measured comparison with the rules.

With ``rule="both"`` the two rules run and their scores are averaged
(:func:`~agromap.rice.self_train_labels.fuse_scores`): a pixel is a pseudo-label where both rules
lean the same way, or one is sure and the other hesitates, never where they contradict each
other, but for one case: SAR non-rice against sure optical rice next to a SAR-confident paddy is a
field edge the radar sees mixed, and the optical verdict stands
(:func:`~agromap.rice.self_train_labels.edge_rescue`). With ``rule="optical"`` or ``"both"``,
where the optical series has a clear-sky gap as long as a rice season, the optical rule's non-rice
verdict counts as no opinion (nothing could be seen), except on evergreen canopy or open water
seen on nearly every clear date (:mod:`agromap.rice.self_train_labels`), and its rice verdict
counts as no opinion on a pixel never seen drained (floating plants on a canal) and, with
``rule="optical"``, on one neither sensor saw in water (an upland crop sown on rain-soaked soil,
:mod:`agromap.rice.self_train_upland`). Every rule's
non-rice verdict counts as no opinion on a fallow field whose series ends in a flood, a paddy
whose season the series end cuts, and on one whose series opens in a wet canopy then lies fallow,
a paddy whose season the series start cuts (:mod:`agromap.rice.self_train_ends`). Where such cut
pixels gather in the classifier's features, those without a label become rice labels and a non-rice
label among nothing but them is dropped (:mod:`agromap.rice.self_train_cutlike`).

How the training pixels are chosen
----------------------------------
1. **Confident**: the rule's score is beyond one of the two thresholds and every feature is finite.
2. **Spatially thinned**: only pixels on a lattice of ``spacing_px`` pixels (global row and
   column both multiples of it) are eligible, so no two training pixels are neighbours and one
   field cannot dominate by sheer pixel count.
3. **Stratified**: within each class, candidates are grouped by what the rule saw (its QA bits
   and number of seasons: multi-season rice, masked water, masked forest/built-up, no flood
   signal, ...). Half of the class's quota is shared equally between groups and half in
   proportion to their size, so rare but informative groups (a few confidently non-rice wetland
   pixels) are not drowned by the easy majority. Inside a group, pixels are taken in a
   pseudo-random order that depends only on the seed and the pixel's global position, never on
   chunking.

The rule's own ``rice_score`` is never a feature: a model trained on labels thresholded from the
score would only learn the threshold back.

A desk's own field labels (``labels=``, optional) join the pseudo-labels, weighted, off the
lattice and outside the quota, and drop the pseudo-labels they contradict
(:mod:`agromap.rice.self_train_user`).

Laziness
--------
For dask input nothing is computed here. Candidate selection runs per block (one small table
per block, one ``map_blocks`` layer), one training task fits the classifier on the gathered tables
(a ``blockwise`` layer whose one block holds the model), and the prediction ``map_blocks`` reads
that block, so the whole map is produced by the caller's single compute and the graph grows with
the blocks, not with their square. The training counts are 0-d dask variables of the
result (``n_train_rice`` ...), computed in the same pass; the pipeline runner writes them to
the COG tags, the STAC item and the manifest. Because every pixel's features feed both the
training tables and the prediction, the scheduler keeps the feature blocks until the model is
fitted: memory grows with the area's feature cube (about 4 bytes x 45 features per pixel).
For numpy input everything runs at once and ``attrs["training_counts"]`` holds the counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, cast

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import is_dask_collection

from ..errors import ConfigError, TooFewConfidentPixelsError
from .features import FeatureSpec, temporal_features
from .model_predict import predict_block
from .model_record import NODATA_CLASS, RiceModel, TrainParams
from .model_train import library_versions, make_estimator
from .self_train_cotrain import cotrain, view_columns
from .self_train_cutlike import cut_like_labels
from .self_train_desk import labelled_fit
from .self_train_ends import QA_SERIES_CUT, SERIES_START_CUT
from .self_train_labels import QA_PERSISTENT_ONLY
from .self_train_params import SelfTrainParams
from .self_train_rule import RuleName, run_rule, split_stacks
from .self_train_user import (
    LABEL_COUNT_NAMES,
    UserLabels,
    block_labels,
    label_edges,
    label_weights,
    user_labels,
    user_table,
)

__all__ = ["SelfTrainParams", "COUNT_NAMES", "LABEL_COUNT_NAMES", "self_trained_rice_map", "training_counts"]

#: Names of the 0-d training-count variables of the result, in report order.
COUNT_NAMES: tuple[str, ...] = (
    "n_train_rice", "n_train_other", "n_confident_rice", "n_confident_other", "n_strata_rice", "n_strata_other",
    "n_relabelled", "n_cut_rice",
)  # fmt: skip


# ---- numpy kernels -----------------------------------------------------------------------------


def _hash01(rows: np.ndarray, cols: np.ndarray, seed: int) -> np.ndarray:
    """Uniform [0, 1) per global pixel (splitmix64 of seed, row, col): chunk-independent order."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + rows.astype(np.uint64) * np.uint64(0x100000001B3)
             + cols.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def _select_block(score: np.ndarray, qa: np.ndarray, seasons: np.ndarray, feats: np.ndarray, row0: int,
                  col0: int, *, spec: SelfTrainParams, cap: int,
                  user: UserLabels | None = None, canopy_col: int | None = None,
                  canopy_below: float = np.inf, edge: np.ndarray | None = None,
                  start: np.ndarray | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Confident lattice pixels of one ``(y, x)`` block, at most ``cap`` per class.

    ``canopy_col``: the row of ``feats`` holding ``vh_canopy_days``; a pixel whose canopy stood
    longer than ``spec.long_canopy_days`` is a non-rice label where the rule hesitated with a score
    below ``canopy_below`` (every hesitation by default), unless ``qa`` marks its season as cut by
    the series' end or start (:data:`~agromap.rice.self_train_ends.QA_SERIES_CUT`, a bit that is
    stripped before ``qa`` makes the strata).

    Returns a table: ``X`` (n, feature) float32, ``y`` (n,) 0/1 (and -1 for pixels the rule
    hesitates on, kept only when ``spec.cotrain`` or ``spec.cut_like_neighbours``), ``stratum`` (n,)
    int, ``key`` (n,) the pixel's order key, ``row``/``col`` its global position, ``cut`` (n,) whether
    ``qa`` marks its season as cut, ``start`` (n,) whether the series start cuts it (``start``, the
    rule output's :data:`~agromap.rice.self_train_ends.SERIES_START_CUT`; all False without), and ``confident`` (2,) counts of confident
    lattice pixels per class before the cap; plus the block's user labels (``user``, global
    positions) as :func:`~agromap.rice.self_train_user.user_table` rows, with the block's
    :func:`~agromap.rice.self_train_user.label_edges` bits ``edge``.
    """
    ny, nx = score.shape
    rows = np.arange(row0, row0 + ny)[:, None]
    cols = np.arange(col0, col0 + nx)[None, :]
    s = spec.spacing_px
    on_lattice = (rows % s == 0) & (cols % s == 0)
    finite = np.isfinite(feats).all(axis=0) & np.isfinite(score)
    cut = (qa & QA_SERIES_CUT) > 0
    qa = (qa & ~np.uint8(QA_SERIES_CUT)).astype(qa.dtype)
    with np.errstate(invalid="ignore"):
        label = np.where(score >= spec.rice_min_score, 1, np.where(score <= spec.other_max_score, 0, -1))
        if canopy_col is not None and spec.long_canopy_days is not None:
            # a cut paddy's long flat VH is its fallow, not a canopy (docs/rice_self_trained.md,
            # "The canopy duration of a season cut by the series' ends")
            long = (label < 0) & (score < canopy_below) & (feats[canopy_col] > spec.long_canopy_days) & ~cut
            label = np.where(long, 0, label)
    # the hesitations join co-training and, with the cut ones, the neighbours of cut_like_labels
    ok = on_lattice & finite & ((label >= 0) | spec.cotrain | (spec.cut_like_neighbours is not None))
    r, c = np.nonzero(ok)
    key = _hash01(r + row0, c + col0, spec.seed)
    y = label[r, c].astype(np.int8)
    # What the rule saw: QA bits and season count (0-254); 255 never reaches here (finite score).
    stratum = qa[r, c].astype(np.int64) * 256 + seasons[r, c].astype(np.int64)
    keep = np.zeros(r.size, dtype=bool)
    confident = np.zeros(2, dtype=np.int64)
    for k in (-1, 0, 1):
        idx = np.flatnonzero(y == k)
        if k >= 0:
            confident[k] = idx.size
        keep[idx[np.argsort(key[idx], kind="stable")[:cap]]] = True
    X = feats[:, r[keep], c[keep]].T.astype(np.float32)
    return {"X": X, "y": y[keep], "stratum": stratum[keep], "key": key[keep], "confident": confident,
            "row": r[keep] + row0, "col": c[keep] + col0, "cut": cut[r[keep], c[keep]],
            "start": np.zeros(int(keep.sum()), bool) if start is None else start[r[keep], c[keep]].astype(bool),
            **user_table(user, qa, seasons, feats, row0, col0, edge)}


def _long_canopy_below(rule: str, spec: SelfTrainParams) -> float | None:
    """The score below which a hesitation with a canopy over ``spec.long_canopy_days`` is a non-rice
    label (``None``: no such labels).

    The optical rule never read the radar's duration: every hesitation of it may take the label. The
    SAR rule read that series itself; only where it leans non-rice does the duration add evidence
    (its 0.5-0.7 hesitations with a long canopy are paddy edges). The fused score gets none.
    """
    if spec.long_canopy_days is None or rule == "both":
        return None
    if rule == "optical":
        return float(np.inf)
    return None if spec.long_canopy_sar_score is None else float(spec.long_canopy_sar_score)


def _allocate(sizes: np.ndarray, quota: int) -> np.ndarray:
    """Half of ``quota`` shared equally between strata, half in proportion to their sizes, capped by size."""
    take = np.zeros(sizes.size, dtype=np.int64)
    left = min(int(quota), int(sizes.sum()))
    # Equal part first (water-filling), then proportional on what is left, then round-robin.
    equal = left // 2
    while equal > 0 and (sizes > take).any():
        open_ = np.flatnonzero(sizes > take)
        share = max(equal // open_.size, 1)
        for i in open_:
            add = min(share, int(sizes[i] - take[i]), equal)
            take[i] += add
            equal -= add
            if equal == 0:
                break
    rest = left - int(take.sum())
    room = sizes - take
    if rest > 0 and room.sum() > 0:
        add = np.floor(rest * room / room.sum()).astype(np.int64)
        take += np.minimum(add, room)
        rest = left - int(take.sum())
        for i in np.argsort(-(sizes - take), kind="stable"):
            if rest == 0:
                break
            if take[i] < sizes[i]:
                take[i] += 1
                rest -= 1
    return take


def _blind_hint(k: int, rule: str, spec: SelfTrainParams) -> str:
    """Why non-rice labels may be missing on a cloudy optical series: the rule abstains where it was blind."""
    if k != 0 or rule == "sar" or spec.blind_gap_days is None:
        return ""
    return (f" The optical rule's non-rice verdict counts as no opinion where its clear-sky series has a gap of "
            f"blind_gap_days={spec.blind_gap_days:g} days or more, unless evergreen canopy or open water fills "
            "persistent_fraction of its clear dates; where such gaps are everywhere and no such cover is seen, use "
            "rule 'sar' or raise blind_gap_days.")


def _fit(tables: Sequence[dict[str, np.ndarray]], names: tuple[str, ...], *, spec: SelfTrainParams,
         rule: str, attrs: Mapping[str, Any], labelled: bool = False) -> RiceModel:  # fmt: skip
    """Stratified draw from the block tables (after co-training's relabelling and, with user labels
    (``labelled``), the drop of the pseudo-labels they contradict), then one fit with the user
    labels added; the counts go in the model metadata.
    """
    def cat(k: str, empty: np.ndarray) -> np.ndarray:  # a table without user labels may lack their keys
        return np.concatenate([t[k] for t in tables if k in t] or [empty])

    X, y = cat("X", np.zeros((0, len(names)), np.float32)), cat("y", np.zeros(0, np.int8))
    stratum, key = cat("stratum", np.zeros(0, np.int64)), cat("key", np.zeros(0))
    confident = np.sum([t["confident"] for t in tables], axis=0) if tables else np.zeros(2, np.int64)
    # the labels among the cut paddies are judged before co-training learns from them
    new = cut_like_labels(X, y, cat("cut", np.zeros(0, bool)), key, spec, start=cat("start", np.zeros(0, bool)))
    # a rice label from the cut paddies around it is its own stratum: what the rule saw there is the
    # cut, and a desk's non-rice label on the field beside it contradicts no such label
    stratum = np.where((y < 0) & (new == 1), stratum | (QA_SERIES_CUT * 256), stratum)
    cut_rice = int(((y < 0) & (new == 1)).sum())
    y = new
    cols = view_columns(names, rule)
    relabelled = 0
    if spec.cotrain and cols.size and (y == 0).sum() >= spec.min_per_class and (y == 1).sum() >= spec.min_per_class:
        rice_prob = spec.sar_view_rice_prob if rule == "sar" else spec.view_rice_prob
        if ((y == 0) & ((stratum // 256) & QA_PERSISTENT_ONLY == 0)).sum() < spec.min_per_class:
            # Every non-rice label is an evergreen canopy or open water: the other view's "rice" then
            # only means "neither", so it may add non-rice labels but no rice.
            rice_prob = np.inf
        rice_cols = cols if spec.view_duration_rice else cols[np.asarray(names)[cols] != "vh_canopy_days"]
        new = cotrain(X, y, key, cols, spec, rice_prob, rice_cols)
        relabelled = int((new != y).sum())
        y = new
    z = np.zeros(0, np.int64)
    uX, uy = cat("uX", np.zeros((0, len(names)), np.float32)), cat("uy", np.zeros(0, np.int8))
    urow, ucol, ustratum = cat("urow", z), cat("ucol", z), cat("ustratum", z)
    uorder = np.lexsort((ucol, urow))  # pixel order: the fit never depends on chunking
    uedge = cat("uedge", np.zeros(0, np.uint8))[uorder]
    u = {"X": uX[uorder], "y": uy[uorder], "row": urow[uorder], "col": ucol[uorder], "stratum": ustratum[uorder],
         "edge": uedge, "weight": label_weights(uy[uorder], uedge, spec)}

    def draw(yy: np.ndarray, use: np.ndarray, strict: bool, weight: np.ndarray | None = None) -> Any:
        w = u["weight"] if weight is None else weight
        return _draw_fit(X, yy, stratum, key, u["y"][use], u["X"][use], w[use], spec, rule, strict=strict)

    fitted, y, dropped, refit = labelled_fit(draw, X, y, cat("row", z), cat("col", z), stratum, u, spec)
    assert fitted is not None  # strict: too few pixels raised
    est, sel, n_strata, tspec = fitted
    counts = {
        "n_train_rice": int((y[sel] == 1).sum()), "n_train_other": int((y[sel] == 0).sum()),
        "n_confident_rice": int(confident[1]), "n_confident_other": int(confident[0]),
        "n_strata_rice": n_strata[1], "n_strata_other": n_strata[0], "n_relabelled": relabelled,
        "n_cut_rice": cut_rice,
    }  # fmt: skip
    if labelled:
        counts.update(n_user_rice=int((uy == 1).sum()), n_user_other=int((uy == 0).sum()),
                      n_pseudo_dropped=int(dropped.sum()), label_refit=refit)
    metadata = {"self_trained": True, "rule": rule, "training_counts": counts, "self_train_spec": asdict(spec),
                "train_spec": asdict(tspec), "versions": library_versions(), **dict(attrs)}  # fmt: skip
    return RiceModel(est, names, 1, json.loads(json.dumps(metadata, default=str)))


def _draw_fit(X: np.ndarray, y: np.ndarray, stratum: np.ndarray, key: np.ndarray, uy: np.ndarray, uX: np.ndarray,
              uweight: np.ndarray, spec: SelfTrainParams, rule: str,
              strict: bool = False) -> tuple[Any, np.ndarray, list[int], TrainParams] | None:  # fmt: skip
    """The stratified draw of the pseudo-labels ``y`` (-1: none) and one fit with the user labels
    ``uy`` (pixel order) added: the estimator, the drawn rows, the strata per class and the
    classifier's settings. Too few pixels in a class raises with ``strict``, else gives ``None``.
    """
    chosen: list[np.ndarray] = []
    n_strata = [0, 0]
    for k in (0, 1):
        idx = np.flatnonzero(y == k)
        if idx.size + int((uy == k).sum()) < spec.min_per_class:
            if not strict:
                return None
            what = "rice" if k == 1 else "non-rice"
            cut = (f"rice_score >= {spec.rice_min_score}" if k == 1 else f"rice_score <= {spec.other_max_score}")
            raise TooFewConfidentPixelsError(
                f"self-trained rice map: the {rule} rule is confident ({cut}) about only {idx.size} {what} pixel(s) "
                f"on the {spec.spacing_px}-pixel training lattice, fewer than min_per_class={spec.min_per_class}. "
                "Use a larger area or a longer series, relax the score threshold, or map with the rule itself."
                + _blind_hint(k, rule, spec)
            )
        groups, inverse = np.unique(stratum[idx], return_inverse=True)
        n_strata[k] = int(groups.size)
        take = _allocate(np.bincount(inverse, minlength=groups.size), spec.n_per_class)
        for g in range(groups.size):
            members = idx[inverse == g]
            chosen.append(members[np.argsort(key[members], kind="stable")[: take[g]]])
    sel = np.concatenate(chosen)
    sel = sel[np.argsort(key[sel], kind="stable")]  # rows in pixel-key order: the fit never depends on chunking
    tspec = TrainParams(estimator=spec.estimator, n_estimators=_fit_trees(spec, bool(uy.size)),
                        min_samples_leaf=spec.min_samples_leaf, random_state=spec.seed)
    # without user labels no weights at all: the unlabelled map stays the same fit
    weight = np.concatenate([np.ones(sel.size), uweight]) if uy.size else None
    est = make_estimator(tspec).fit(np.concatenate([X[sel], uX]), np.concatenate([y[sel], uy]).astype(np.int64),
                                    sample_weight=weight)
    return est, sel, n_strata, tspec


def _fit_trees(spec: SelfTrainParams, labelled: bool) -> int:
    """Trees (or boosting iterations) of the final fit: ``spec.label_n_estimators`` for a forest
    that takes user labels, whose few weighted labels each tree's bootstrap draws differently.
    """
    if labelled and spec.label_n_estimators is not None and spec.estimator == "random_forest":
        return int(spec.label_n_estimators)
    return int(spec.n_estimators)


def _count(model: RiceModel | np.ndarray, name: str) -> np.ndarray:
    return np.asarray(_held(model).metadata["training_counts"][name], dtype=np.int64)


def _held(model: RiceModel | np.ndarray) -> RiceModel:
    """The model a 0-d object block holds (the lazy fit's output), or the model itself."""
    return cast(RiceModel, model[()]) if isinstance(model, np.ndarray) else model


def _select_located(score: np.ndarray, qa: np.ndarray, seasons: np.ndarray, feats: np.ndarray,
                    edge: np.ndarray | None, start: np.ndarray | None, *, user: UserLabels | None,
                    block_info: Any = None, **kwargs: Any) -> np.ndarray:  # fmt: skip
    """:func:`_select_block` of one dask block (its global position from ``block_info``) as a 1 x 1 object block."""
    (row0, row1), (col0, col1) = block_info[0]["array-location"]
    out = np.empty((1, 1), dtype=object)
    out[0, 0] = _select_block(score, qa, seasons, feats, row0, col0, edge=edge, start=start,
                              user=block_labels(user, row0, col0, row1 - row0, col1 - col0), **kwargs)
    return out


def _fit_located(blocks: list[list[np.ndarray]], names: tuple[str, ...], **kwargs: Any) -> np.ndarray:
    """:func:`_fit` on the tables of :func:`_select_located`'s blocks (row-major), as a 0-d object block."""
    out = np.empty((), dtype=object)
    out[()] = _fit([b[0, 0] for row in blocks for b in row], names, **kwargs)
    return out


def _predict_located(block: np.ndarray, model: np.ndarray, **kwargs: Any) -> np.ndarray:
    return predict_block(block, _held(model), **kwargs)


# ---- xarray side -------------------------------------------------------------------------------



def self_trained_rice_map(
    ds: xr.Dataset,
    *,
    rule: RuleName = "sar",
    sar: xr.Dataset | None = None,
    rule_params: Any = None,
    windows: Any = None,
    params: SelfTrainParams | None = None,
    feature_spec: FeatureSpec | None = None,
    rule_output: xr.Dataset | None = None,
    labels: Any = None,
) -> xr.Dataset:
    """Rice map from the classifier trained on a rule's most confident pixels (and a desk's labels, if any).

    Parameters
    ----------
    ds : xarray.Dataset
        ``(time, y, x)`` stack, numpy or dask: Sentinel-1 ``vh`` (and ``vv``) in linear power,
        and/or optical reflectance ``blue, green, red, nir, swir16`` (0-1, optional integer
        ``scl``). Every band present becomes classifier features
        (:func:`~agromap.rice.features.temporal_features`). Speckle-filter SAR first
        (:func:`~agromap.rice.rules_sar.boxcar_speckle_filter`).
    rule : {"sar", "optical", "both"}
        Which rule provides the pseudo-labels. ``both`` runs the two rules and averages their
        scores (:func:`~agromap.rice.self_train_labels.fuse_scores`): confident where they lean the same way or one is sure and the
        other hesitates, undecided where they contradict each other; the optical rule abstains
        from non-rice verdicts where its series has a clear-sky gap of ``params.blind_gap_days``;
        where one sensor has no valid date the other alone decides (``docs/rice_self_trained.md``).
    sar : xarray.Dataset, optional
        A Sentinel-1 stack (``vh``, ``vv``) on the grid of ``ds`` whose dates may differ from the
        optical ones; ``ds`` then holds the optical bands.
    rule_params : SarRiceParams or OpticalRiceParams, optional
        The rule's thresholds (the rule's defaults otherwise); for ``rule="both"`` a pair
        ``(SarRiceParams or None, OpticalRiceParams or None)``.
    windows : str or sequence of SeasonWindow, optional
        Crop-calendar name or season windows, passed to the rule.
    params : SelfTrainParams, optional
        Confidence thresholds, thinning, sample sizes and the classifier's settings (defaults:
        ``SelfTrainParams()``).
    feature_spec : FeatureSpec, optional
        The classifier's features (defaults: ``FeatureSpec()``).
    rule_output : xarray.Dataset, optional
        An already built rule output (``rice_score``, ``qa_flags``, ``n_seasons`` on the grid of
        ``ds``), e.g. the rule run on a speckle-filtered band; ``rule``/``params``/``windows`` then
        only name it.
    labels : GeoDataFrame or table, optional
        A desk's field labels (1 rice, 0 other; :func:`~agromap.rice.self_train_user.user_labels`):
        each labelled pixel trains the classifier with the weight ``params.label_weight`` and
        drops the pseudo-labels it contradicts, unless the map without labels reads every label
        right (``params.label_refit_misread``: that map is kept). In memory: the label table is small.

    Returns
    -------
    xarray.Dataset
        ``rice_class`` uint8 (1 rice, 0 other, 255 where a feature is nodata), ``rice_prob``
        float32 0-1, ``rule_score`` (the rule's ``rice_score``, for comparison) and the 0-d int64
        training counts of :data:`COUNT_NAMES` (with ``labels``, also those of
        :data:`~agromap.rice.self_train_user.LABEL_COUNT_NAMES`). ``attrs``: ``method="self_trained"``, ``rule``,
        ``self_train_spec`` (JSON) and, for numpy input, ``training_counts`` (JSON). Lazy for
        dask input (see the module docstring); :func:`training_counts` reads the counts after
        computing.

    Raises
    ------
    TooFewConfidentPixelsError
        (at compute time for dask input) a class has fewer than ``params.min_per_class``
        confident pixels on the lattice.
    ConfigError, InputError
        Unknown rule, parameters of the other rule, missing bands.
    """
    if rule not in ("sar", "optical", "both"):
        raise ConfigError(f"rule must be 'sar', 'optical' or 'both', got {rule!r}.")
    if not isinstance(ds, xr.Dataset):
        raise ConfigError("self_trained_rice_map takes an xarray.Dataset of bands (vh/vv and/or optical bands).")
    if params is not None and not isinstance(params, SelfTrainParams):
        raise ConfigError(f"params takes SelfTrainParams, got {type(params).__name__}; the rule's thresholds go in "
                          "rule_params.")
    spec = params if params is not None else SelfTrainParams()
    feature_spec = feature_spec if feature_spec is not None else FeatureSpec()
    optical, radar = split_stacks(ds, sar)
    ruled = (rule_output if rule_output is not None
             else run_rule(optical, radar, rule, rule_params, windows, spec.blind_gap_days,
                            spec.optical_canopy_labels or rule == "both", spec=spec))
    feats = temporal_features(optical=optical, sar=radar, spec=feature_spec).transpose("feature", "y", "x")
    names = tuple(str(n) for n in feats["feature"].values)
    canopy_below = _long_canopy_below(rule, spec)
    canopy_col = names.index("vh_canopy_days") if canopy_below is not None and "vh_canopy_days" in names else None
    canopy_below = np.inf if canopy_below is None else canopy_below
    score = ruled["rice_score"].transpose("y", "x")
    qa, seas = ruled["qa_flags"].transpose("y", "x"), ruled["n_seasons"].transpose("y", "x")
    fit_attrs = {"band_scaling": json.loads(feats.attrs.get("band_scaling", "null")),
                 "feature_spec": json.loads(feats.attrs.get("feature_spec", "null")),
                 "rule_parameters": ruled.attrs.get("parameters", "")}  # fmt: skip
    user = None if labels is None else user_labels(labels, score)
    count_names = COUNT_NAMES + (LABEL_COUNT_NAMES if user is not None else ())
    lazy = any(is_dask_collection(a.data) for a in (feats, score, qa, seas))
    if lazy:
        fdata = feats.data if is_dask_collection(feats.data) else da.from_array(feats.data, chunks=(-1, 1024, 1024))
        fdata = fdata.rechunk({0: -1})
        chunks2d = fdata.chunks[1:]
        blocks = [da.asarray(a.data).rechunk(chunks2d) for a in (score, qa, seas)]
        edge = None
        if user is not None and spec.label_edge_px is not None:  # the rule's paddy edges, for the labels on them
            edge = blocks[0].map_overlap(_paddy_edge, depth=spec.label_edge_px, boundary="nearest", dtype=np.uint8,
                                         spec=spec)
        opened = None if SERIES_START_CUT not in ruled else \
            da.asarray(ruled[SERIES_START_CUT].transpose("y", "x").data).rechunk(chunks2d)
        cap = _block_cap(spec, max(len(chunks2d[0]) * len(chunks2d[1]), 1))
        # Three array layers, no graph materialised here: one task per block picks its candidates,
        # one task fits the classifier on all the tables (blocks in row-major order), and the
        # prediction reads the same feature blocks, so that each block of the rule and of the
        # features is computed once and feeds both the training tables and the map. (A delayed
        # call per block culled the whole graph once per block: the build grew as blocks squared.)
        tables = da.map_blocks(
            _select_located, *blocks, fdata, edge, opened, drop_axis=0, chunks=tuple((1,) * len(c) for c in chunks2d),
            dtype=object, meta=np.empty((0, 0), dtype=object), spec=spec, cap=cap, user=user,
            canopy_col=canopy_col, canopy_below=canopy_below,
        )  # fmt: skip
        model = da.blockwise(_fit_located, "", tables, "yx", concatenate=False, dtype=object,
                             meta=np.empty((), dtype=object), names=names, spec=spec, rule=rule, attrs=fit_attrs,
                             labelled=user is not None)  # fmt: skip
        both = da.map_blocks(
            _predict_located, fdata, model, batch_rows=1_000_000, threshold=spec.threshold,
            chunks=((2,), *chunks2d), dtype=np.float32, meta=np.empty((0, 0, 0), dtype=np.float32),
        )  # fmt: skip
        counts = {n: da.map_blocks(_count, model, n, dtype=np.int64, meta=np.empty((), dtype=np.int64))
                  for n in count_names}  # fmt: skip
        extra_attrs: dict[str, Any] = {}
    else:
        table = _select_block(np.asarray(score.values), np.asarray(qa.values), np.asarray(seas.values),
                              np.asarray(feats.values), 0, 0, spec=spec, cap=_block_cap(spec, 1), user=user,
                              canopy_col=canopy_col, canopy_below=canopy_below,
                              edge=None if user is None else _paddy_edge(np.asarray(score.values), spec),
                              start=None if SERIES_START_CUT not in ruled
                              else np.asarray(ruled[SERIES_START_CUT].transpose("y", "x").values))  # fmt: skip
        fitted = _fit([table], names, spec=spec, rule=rule, attrs=fit_attrs, labelled=user is not None)
        both = predict_block(np.asarray(feats.values), fitted, batch_rows=1_000_000, threshold=spec.threshold)
        counts = {n: _count(fitted, n) for n in count_names}
        extra_attrs = {"training_counts": json.dumps(dict(fitted.metadata["training_counts"]), sort_keys=True)}
    template = score
    cls = xr.DataArray(both[0].astype(np.uint8), dims=template.dims, coords=template.coords, name="rice_class")
    prob = xr.DataArray(both[1], dims=template.dims, coords=template.coords, name="rice_prob")
    cls.attrs = {"nodata": NODATA_CLASS, "units": "class", "flag_values": "0 1",
                 "long_name": f"rice (1) / non-rice (0), classifier self-trained on the {rule} rule"}
    prob.attrs = {"units": "1", "nodata": float("nan"), "long_name": "probability of rice (self-trained classifier)"}
    out = xr.Dataset({"rice_class": cls, "rice_prob": prob, "rule_score": score.rename("rule_score")})
    for n, v in counts.items():
        out[n] = xr.DataArray(v, attrs={"long_name": n.replace("_", " ")})
    return out.assign_attrs(method="self_trained", rule=rule, self_train_spec=json.dumps(asdict(spec), sort_keys=True),
                            feature_names=" ".join(names), **extra_attrs)  # fmt: skip


def _paddy_edge(score: np.ndarray, spec: SelfTrainParams) -> np.ndarray | None:
    if spec.label_edge_px is None:
        return None
    return label_edges(score, spec.rice_min_score, spec.other_max_score, spec.label_edge_px)


def _block_cap(spec: SelfTrainParams, n_blocks: int) -> int:
    """Most candidates one block keeps per class: a generous share of the quota, never the whole block."""
    return int(max(200, np.ceil(4 * spec.n_per_class / n_blocks)))


def training_counts(result: xr.Dataset) -> dict[str, int]:
    """The training counts of a computed :func:`self_trained_rice_map` result, as plain ints."""
    missing = [n for n in COUNT_NAMES if n not in result]
    if missing:
        raise ConfigError(f"not a self_trained_rice_map result: missing {missing}.")
    names = COUNT_NAMES + tuple(n for n in LABEL_COUNT_NAMES if n in result)  # the latter with user labels
    if any(is_dask_collection(result[n].data) for n in names):
        raise ConfigError("the result is lazy; compute it first (result = result.compute()).")
    return {n: int(result[n].values) for n in names}
