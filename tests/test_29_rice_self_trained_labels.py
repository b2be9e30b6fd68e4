"""A desk's field labels in the self-trained rice map: they join the pseudo-labels, are never
thinned away, and drop the pseudo-labels they contradict."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError, LabelError
from agromap.rice.self_train_desk import labelled_fit, misread_neighbours
from agromap.rice.self_train_user import (
    EDGE_BESIDE_PADDY,
    EDGE_ON_PADDY,
    LABEL_COUNT_NAMES,
    contradicted,
    label_edges,
    label_weights,
    paddy_edge,
    user_labels,
)
from agromap.rice.self_trained import SelfTrainParams, self_trained_rice_map, training_counts
from agromap.testing import SceneSpec, count_computes, make_s2_stack, make_truth, raise_if_dask_computes

SPEC = SceneSpec(shape=(96, 96), chunk=48, seed=3, n_seasons=2)
FAST = SelfTrainParams(n_estimators=40, n_per_class=800, label_n_estimators=40)
WATER = 2  # make_truth's permanent water


@pytest.fixture(scope="module")
def scene():
    s2 = make_s2_stack(SPEC)
    cover = make_truth(SPEC).landcover.values
    # A rule that is right everywhere but on water, which it calls rice with confidence: the
    # systematic mistake (a pond taken for a flooded paddy) no amount of pseudo-labels corrects.
    score = np.where((cover == 1) | (cover == WATER), 0.95, 0.05).astype(np.float32)
    ruled = xr.Dataset({"rice_score": (("y", "x"), score), "n_seasons": (("y", "x"), np.ones(score.shape, np.uint8)),
                        "qa_flags": (("y", "x"), np.zeros(score.shape, np.uint8))},
                       coords={"y": s2.y, "x": s2.x})  # fmt: skip
    return {"lazy": s2, "eager": s2.compute(), "cover": cover, "ruled": ruled}


def _draw(cover: np.ndarray, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` random pixels per cover, off the 3-pixel lattice (row % 3 == 1): rice 1, others 0."""
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(np.indices(cover.shape)[0] % 3 == 1)
    pick = np.concatenate([rng.choice(np.flatnonzero(cover[rows, cols] == c), n, replace=False)
                           for c in np.unique(cover)])  # fmt: skip
    r, c = rows[pick], cols[pick]
    return {"row": r, "col": c, "label_class": (cover[r, c] == 1).astype(np.int64)}


def test_labels_correct_the_rule_where_it_is_confidently_wrong(scene):
    cover, ruled = scene["cover"], scene["ruled"]
    plain = self_trained_rice_map(scene["eager"], rule="optical", params=FAST, rule_output=ruled)
    table = _draw(cover, 40)
    out = self_trained_rice_map(scene["eager"], rule="optical", params=FAST, rule_output=ruled, labels=table)
    kept = self_trained_rice_map(scene["eager"], rule="optical", rule_output=ruled, labels=table,
                                 params=replace(FAST, label_conflict_px=0, label_neighbour_k=None))  # none dropped
    water = cover == WATER
    before, after, undropped = ((m["rice_class"].values == 1)[water].mean() for m in (plain, out, kept))
    counts = training_counts(out)
    print(f"\n[user labels] water mapped rice: {before:.3f} without labels, {after:.3f} with 40 per cover "
          f"({undropped:.3f} keeping the contradicted pseudo-labels); {counts}")
    assert before > 0.9  # the pseudo-labels alone teach the mistake
    assert after < 0.05
    assert undropped > 0.3  # the weighted labels alone are outvoted by the wrong pseudo-labels
    # the rest of the map stays right
    assert ((out["rice_class"].values == 1) == (cover == 1))[~water].mean() > 0.97
    assert counts["n_user_rice"] == 40 and counts["n_user_other"] == 120
    assert counts["n_pseudo_dropped"] > 50 and training_counts(kept)["n_pseudo_dropped"] == 0
    assert set(LABEL_COUNT_NAMES) <= set(counts) and "n_user_rice" not in training_counts(plain)


def test_user_labels_survive_thinning_and_the_lazy_map_equals_the_eager_one(scene):
    table = _draw(scene["cover"], 40, seed=1)  # every label off the 3-pixel lattice
    with raise_if_dask_computes():
        lazy = self_trained_rice_map(scene["lazy"], rule="optical", params=FAST, rule_output=scene["ruled"].chunk(48),
                                     labels=table)
    assert all(lazy[n].ndim == 0 and lazy[n].chunks is not None for n in LABEL_COUNT_NAMES)
    with count_computes() as counter:
        got = lazy.compute()
    assert counter.total_computes == 1
    eager = self_trained_rice_map(scene["eager"], rule="optical", params=FAST, rule_output=scene["ruled"],
                                  labels=table)
    np.testing.assert_array_equal(got["rice_class"].values, eager["rice_class"].values)
    counts = training_counts(got)
    assert counts == {k: int(v) for k, v in json.loads(eager.attrs["training_counts"]).items()}
    assert (counts["n_user_rice"], counts["n_user_other"]) == (40, 120)
    # nor does the per-class quota thin them: all 160 train the map beside at most 60 pseudo-labels per class
    small = self_trained_rice_map(scene["eager"], rule="optical", params=replace(FAST, n_per_class=60),
                                  rule_output=scene["ruled"], labels=table)
    few = training_counts(small)
    assert (few["n_user_rice"], few["n_user_other"]) == (40, 120)
    assert few["n_train_rice"] == 60 and few["n_train_other"] == 60


def test_a_label_on_nodata_is_left_out(scene):
    ds = scene["eager"].copy()
    table = _draw(scene["cover"], 20, seed=2)
    r, c = int(table["row"][0]), int(table["col"][0])
    ds["nir"][:, r, c] = np.nan
    out = self_trained_rice_map(ds, rule="optical", params=FAST, rule_output=scene["ruled"], labels=table)
    counts = training_counts(out)
    assert counts["n_user_rice"] + counts["n_user_other"] == 79


def test_contradicted_needs_the_other_class_the_same_stratum_and_nearness():
    prow, pcol = np.array([0, 0, 3, 6, 3]), np.array([0, 3, 3, 6, 3])
    py, pstratum = np.array([1, 1, 1, 1, 0]), np.array([5, 5, 7, 5, 5])
    got = contradicted(prow, pcol, py, pstratum, np.array([1]), np.array([2]), np.array([0]), np.array([5]), 3)
    # (0,0) and (0,3): other class, same stratum, within 3 px; (3,3) rice: another stratum;
    # (6,6): 5 rows away; (3,3) non-rice: the same class as the label
    assert got.tolist() == [True, True, False, False, False]
    assert not contradicted(prow, pcol, py, pstratum, np.array([1]), np.array([2]), np.array([0]),
                            np.array([5]), 0).any()


def test_paddy_edges_are_the_rules_rice_beside_its_non_rice():
    score = np.full((5, 6), 0.9, np.float32)
    score[:, 3:] = 0.1  # a paddy (left) beside a pond (right), as the rule reads them
    score[0, 0], score[4, 5], score[0, 2] = np.nan, 0.5, 0.6
    got = paddy_edge(score, 0.7, 0.3, 1)
    want = np.zeros(score.shape, bool)
    want[1:, 2] = True  # the paddy's column beside the pond; (0, 2) is no confident rice
    np.testing.assert_array_equal(got, want)
    assert paddy_edge(score, 0.7, 0.3, 2)[:, 1].tolist() == [True] * 5  # (0, 1) sees the pond 2 px away
    bits = label_edges(score, 0.7, 0.3, 1)
    np.testing.assert_array_equal((bits & EDGE_ON_PADDY) > 0, want)
    beside = np.zeros(score.shape, bool)
    beside[:, 3] = True  # the pond's column beside the paddy
    beside[0, 2] = True  # no confident rice itself (0.6), beside the paddy's
    beside[0, 0] = True  # no verdict (NaN), beside the paddy's
    np.testing.assert_array_equal((bits & EDGE_BESIDE_PADDY) > 0, beside)
    assert not ((bits & EDGE_ON_PADDY) & (bits & EDGE_BESIDE_PADDY)).any()


def test_a_non_rice_label_on_a_paddys_edge_is_left_out_of_the_fit(scene):
    cover, ruled = scene["cover"], scene["ruled"]
    bits = label_edges(ruled["rice_score"].values, 0.7, 0.3, 1)
    edge = (bits & EDGE_ON_PADDY) > 0
    r, c = np.nonzero(edge & (cover == WATER))  # the rule calls every water pixel rice
    other = (cover != WATER) & (cover != 1)
    ir, ic = np.argwhere((bits == 0) & other)[0]  # non-rice inside a field the rule reads right
    br, bc = np.argwhere(((bits & EDGE_BESIDE_PADDY) > 0) & other)[0]  # non-rice beside a paddy
    table = {"row": np.r_[r[:5], ir, br], "col": np.r_[c[:5], ic, bc], "label_class": np.zeros(7, np.int64)}
    seen = []

    class Spy:  # the forest, recording the weights of its fit
        def __init__(self, est):
            self.est = est

        def fit(self, X, y, sample_weight=None):
            seen.append(sample_weight)
            return self.est.fit(X, y, sample_weight=sample_weight) and self

        def __getattr__(self, name):
            return getattr(self.est, name)

    import agromap.rice.self_trained as st

    make = st.make_estimator
    try:
        st.make_estimator = lambda spec: Spy(make(spec))
        # the map reads these labels right: no refit else; one fit per map
        refit = replace(FAST, label_refit_misread=False, label_neighbour_k=None, label_cv_folds=None)
        out = self_trained_rice_map(scene["eager"], rule="optical", params=refit, rule_output=ruled, labels=table)
        self_trained_rice_map(scene["eager"], rule="optical", params=replace(refit, label_edge_px=None),
                              rule_output=ruled, labels=table)
        self_trained_rice_map(scene["eager"], rule="optical", params=replace(refit, label_margin_weight=None),
                              rule_output=ruled, labels=table)
    finally:
        st.make_estimator = make
    assert len(r) >= 5
    # user rows come last, in pixel order: the five edge labels weigh 0, the one beside a paddy that
    # of a pseudo-label, the interior one label_weight
    assert sorted(seen[0][-7:].tolist()) == [0.0] * 5 + [1.0, 3.0]
    assert seen[1][-7:].tolist() == [3.0] * 7
    assert sorted(seen[2][-7:].tolist()) == [0.0] * 5 + [3.0, 3.0]
    assert training_counts(out)["n_user_other"] + training_counts(out)["n_user_rice"] == 7  # still counted


def test_label_tables_are_checked(scene):
    template = scene["ruled"]["rice_score"]
    ok = user_labels({"row": [1, 2, 2], "col": [1, 2, 2], "label_class": [1, 0, 0]}, template)
    assert [a.tolist() for a in ok] == [[1, 2], [1, 2], [1, 0]]  # a pixel labelled twice alike counts once
    for bad, msg in (({"row": [1], "col": [1], "label_class": [2]}, "classes 1 .rice. and 0"),
                     ({"row": [1], "col": [500], "label_class": [1]}, "outside the 96 x 96 grid"),
                     ({"row": [1, 1], "col": [1, 1], "label_class": [1, 0]}, "carry both classes"),
                     ({"row": [1], "label_class": [1]}, "missing \\['col'\\]"),
                     ({"row": [], "col": [], "label_class": []}, "empty")):
        with pytest.raises(LabelError, match=msg):
            user_labels(bad, template)
    with pytest.raises(LabelError, match="GeoDataFrame"):
        user_labels([1, 2, 3], template)
    with pytest.raises(ConfigError, match="label_weight"):
        SelfTrainParams(label_weight=0)
    with pytest.raises(ConfigError, match="label_edge_px"):
        SelfTrainParams(label_edge_px=0)
    with pytest.raises(ConfigError, match="label_margin_weight"):
        SelfTrainParams(label_margin_weight=-1.0)


def test_points_in_the_grid_crs_are_placed_on_their_pixels(scene):
    import geopandas as gpd

    s2 = scene["lazy"]
    xs, ys = s2.x.values[[4, 50]], s2.y.values[[7, 60]]
    gdf = gpd.GeoDataFrame({"label_class": [1, 0]}, geometry=gpd.points_from_xy(xs, ys), crs=s2.odc.geobox.crs)
    rows, cols, cls = user_labels(gdf, s2["nir"].isel(time=0))
    assert (rows.tolist(), cols.tolist(), cls.tolist()) == ([7, 60], [4, 50], [1, 0])


def test_the_fit_with_labels_takes_label_n_estimators_trees_and_the_same_pseudo_labels(scene):
    cover, ruled = scene["cover"], scene["ruled"]
    table = _draw(cover, 10, seed=2)
    specs = []
    import agromap.rice.self_trained as st

    make = st.make_estimator
    try:
        st.make_estimator = lambda spec: specs.append(spec) or make(spec)
        # no pseudo-label dropped, a refit whatever the map without labels reads
        more = replace(FAST, label_n_estimators=120, label_conflict_px=0, label_refit_misread=False,
                       label_neighbour_k=None, label_cv_folds=None)
        plain = self_trained_rice_map(scene["eager"], rule="optical", params=more, rule_output=ruled)
        out = self_trained_rice_map(scene["eager"], rule="optical", params=more, rule_output=ruled, labels=table)
        self_trained_rice_map(scene["eager"], rule="optical", params=replace(more, label_n_estimators=None),
                              rule_output=ruled, labels=table)
        self_trained_rice_map(scene["eager"], rule="optical", rule_output=ruled, labels=table,
                              params=replace(more, estimator="hist_gradient_boosting"))
    finally:
        st.make_estimator = make
    # the map without labels keeps n_estimators; boosting keeps its iterations
    assert [s.n_estimators for s in specs] == [40, 120, 40, 40]
    assert all(s.random_state == 0 for s in specs)
    # co-training (n_estimators trees) and the draw are those of the map without labels
    a, b = training_counts(plain), training_counts(out)
    assert b["n_pseudo_dropped"] == 0
    assert all(a[k] == b[k] for k in a)


def test_label_n_estimators_is_checked():
    with pytest.raises(ConfigError, match="label_n_estimators"):
        SelfTrainParams(label_n_estimators=0)


def test_labels_the_map_without_them_reads_right_leave_it_as_it_is(scene):
    cover, ruled = scene["cover"], scene["ruled"]
    gate = FAST  # label_refit_misread by default
    plain = self_trained_rice_map(scene["eager"], rule="optical", params=gate, rule_output=ruled)
    prob = plain["rice_prob"].values
    table = _draw(cover, 40, seed=4)
    sure = ((prob[table["row"], table["col"]] >= 0.5) == (table["label_class"] == 1))
    right = {k: v[sure] for k, v in table.items()}  # the labels the map without them reads right
    kept = self_trained_rice_map(scene["eager"], rule="optical", params=gate, rule_output=ruled, labels=right)
    refit = self_trained_rice_map(scene["eager"], rule="optical", params=replace(FAST, label_refit_misread=False),
                                  rule_output=ruled, labels=right)
    fixed = self_trained_rice_map(scene["eager"], rule="optical", params=gate, rule_output=ruled, labels=table)
    water = cover == WATER
    assert (~sure).sum() > 10  # the water labels: the rule calls water rice
    np.testing.assert_array_equal(kept["rice_prob"].values, prob)
    counts = training_counts(kept)
    assert counts["n_user_rice"] + counts["n_user_other"] == int(sure.sum()) and counts["n_pseudo_dropped"] == 0
    assert counts["label_refit"] == 0 and training_counts(refit)["label_refit"] == 1
    assert not np.array_equal(refit["rice_prob"].values, prob)  # without the check: a refit
    # labels it misreads refit the map as before
    assert (fixed["rice_class"].values == 1)[water].mean() < 0.05
    assert training_counts(fixed)["n_pseudo_dropped"] > 50 and training_counts(fixed)["label_refit"] == 1


def test_pseudo_labels_like_a_misread_label_are_dropped_far_from_it(scene):
    # no label contradicts a pseudo-label on the ground (label_conflict_px=0): only the misread
    # water labels' neighbours in the features judge the rule's water-as-rice pseudo-labels
    cover, ruled = scene["cover"], scene["ruled"]
    table = _draw(cover, 40)
    far = replace(FAST, label_conflict_px=0, label_cv_folds=None)
    near = self_trained_rice_map(scene["eager"], rule="optical", params=far, rule_output=ruled, labels=table)
    none = self_trained_rice_map(scene["eager"], rule="optical", params=replace(far, label_neighbour_k=None),
                                 rule_output=ruled, labels=table)
    water = cover == WATER
    assert (none["rice_class"].values == 1)[water].mean() > 0.3
    assert (near["rice_class"].values == 1)[water].mean() < 0.05
    assert training_counts(near)["n_pseudo_dropped"] > 50 and training_counts(none)["n_pseudo_dropped"] == 0
    assert ((near["rice_class"].values == 1) == (cover == 1))[~water].mean() > 0.97


def test_misread_neighbours_takes_the_cells_of_misread_labels_of_the_other_class():
    X = np.array([[0.0], [0.1], [1.0], [1.1], [2.0], [5.0]], np.float32)
    y = np.array([1, 1, 1, 0, 1, -1], np.int8)
    uX = np.array([[0.05], [1.05], [2.0]], np.float32)
    uy = np.array([0, 0, 1], np.int8)
    wrong = np.array([True, False, False])
    # rows 0 and 1 lie nearest the misread non-rice label; row 2 nearest a label read right; row 3
    # is of the label's own class; row 5 has no label
    np.testing.assert_array_equal(misread_neighbours(X, y, uX, uy, wrong, 1), [True, True, False, False, False, False])
    assert not misread_neighbours(X, y, uX, uy, np.zeros(3, bool), 1).any()


def test_label_cv_folds_keeps_the_map_without_labels_where_no_refit_reads_them_better(scene):
    cover, ruled = scene["cover"], scene["ruled"]
    plain = self_trained_rice_map(scene["eager"], rule="optical", params=FAST, rule_output=ruled)
    prob = plain["rice_prob"].values
    table = _draw(cover, 20, seed=5)
    sure = ((prob[table["row"], table["col"]] >= 0.5) == (table["label_class"] == 1))
    right = {k: v[sure] for k, v in table.items()}
    # one wrong label (a rice pixel labelled other ground, deep in the rice class): the map without
    # labels misreads it, and so does every refit that did not see it
    i = int(np.flatnonzero(right["label_class"] == 1)[0])
    right["label_class"] = right["label_class"].copy()
    right["label_class"][i] = 0
    kept = self_trained_rice_map(scene["eager"], rule="optical", params=replace(FAST, label_cv_folds=5),
                                 rule_output=ruled, labels=right)
    refit = self_trained_rice_map(scene["eager"], rule="optical", params=FAST, rule_output=ruled, labels=right)
    assert training_counts(kept)["label_refit"] == 0 and training_counts(refit)["label_refit"] == 1
    np.testing.assert_array_equal(kept["rice_prob"].values, prob)


def test_label_neighbour_k_and_label_cv_folds_are_checked():
    with pytest.raises(ConfigError, match="label_neighbour_k"):
        SelfTrainParams(label_neighbour_k=0)
    with pytest.raises(ConfigError, match="label_cv_folds"):
        SelfTrainParams(label_cv_folds=1)


def test_a_misread_label_judges_no_pseudo_label_without_a_label_of_the_other_class():
    X = np.array([[0.0], [0.1], [1.0]], np.float32)
    y = np.array([1, 1, 0], np.int8)
    uX, uy = np.array([[0.05]], np.float32), np.array([0], np.int8)
    assert not misread_neighbours(X, y, uX, uy, np.array([True]), 1).any()


class _ReadsRiceAbove:
    """A map that reads rice below 1 and above ``t`` in the one feature."""

    classes_ = np.array([0, 1])

    def __init__(self, t: float) -> None:
        self.t = t

    def predict(self, X: np.ndarray) -> np.ndarray:
        return ((X[:, 0] < 1) | (X[:, 0] > self.t)).astype(np.int64)


def _label_table(x: list[float], y: list[int], edge: list[int], spec: SelfTrainParams) -> dict[str, np.ndarray]:
    """A desk's labels on one feature (value ``x``), class ``y`` and edge kind ``edge``, with their weights."""
    uy, ue = np.array(y, np.int8), np.array(edge, np.uint8)
    n = uy.size
    return {"X": np.array(x, np.float32)[:, None], "y": uy, "row": np.arange(n) + 50, "col": np.arange(n) + 50,
            "stratum": np.zeros(n, np.int64), "edge": ue, "weight": label_weights(uy, ue, spec)}


def _drawing(u: dict[str, np.ndarray], model: _ReadsRiceAbove, weights: list[np.ndarray]) -> Any:
    """A fit for :func:`labelled_fit` that returns ``model`` and records the label weights of each fit in ``weights``."""

    def draw(yy: np.ndarray, use: np.ndarray, strict: bool, weight: np.ndarray | None = None):
        weights.append(u["weight"] if weight is None else weight)
        return model, np.flatnonzero(yy >= 0), [1, 1], None

    return draw


def _refit_weights(spec: SelfTrainParams, t: float, near: int) -> np.ndarray:
    """The label weights of the refit in :func:`labelled_fit` with four labels (feature 0.5, 1.5,
    2.5, 3.5): a rice label, and non-rice labels inside a field, beside a paddy and on a paddy's
    edge, read by a map that reads rice below 1 and above ``t``; the pseudo-label nearest the
    label beside a paddy (2.6) is of class ``near``."""
    X = np.array([[0.0], [0.6], [3.2], [2.6]], np.float32)
    y = np.array([1, 1, 0, near], np.int8)
    u = _label_table([0.5, 1.5, 2.5, 3.5], [1, 0, 0, 0], [0, 0, EDGE_BESIDE_PADDY, EDGE_ON_PADDY], spec)
    weights: list[np.ndarray] = []
    draw = _drawing(u, _ReadsRiceAbove(t), weights)

    *_, refit = labelled_fit(draw, X, y, np.arange(4), np.arange(4), np.zeros(4, np.int64), u, spec)
    assert refit == 1
    return weights[-1]


def test_a_misread_label_beside_a_paddy_weighs_up_only_where_the_map_misreads_ground_like_it():
    spec = SelfTrainParams()
    w, mis, margin, edge = spec.label_weight, spec.label_misread_weight, spec.label_margin_weight, spec.label_edge_weight
    # the map misreads the label beside a paddy (and the one on the edge, out of the fit); no rice
    # pseudo-label reads like it: its mixed signal, weighed up, would pull paddies' edges out of rice
    np.testing.assert_array_equal(_refit_weights(spec, 2.0, 0), [w, w, margin, edge])
    # a rice pseudo-label reads like it (lotus the rule calls rice): the rule misread that ground
    np.testing.assert_array_equal(_refit_weights(spec, 2.0, 1), [w, w, mis, edge])
    # a non-rice label inside a field is misread too: the map misreads that ground, both weigh up
    np.testing.assert_array_equal(_refit_weights(spec, 1.0, 0), [w, mis, mis, edge])
    # without a margin weight a label beside a paddy is a full label, and a misread one weighs up
    np.testing.assert_array_equal(_refit_weights(replace(spec, label_margin_weight=None), 2.0, 0), [w, w, mis, edge])


def test_two_misread_labels_beside_paddies_weigh_up_though_their_cells_are_empty():
    # two non-rice labels beside paddies (1.5 and 2.5), the one inside a field (1.1) read right;
    # the map reads rice above 1.2, so both margin labels are misread, and the pseudo-labels
    # nearest them are non-rice (empty cells): neither is a lone mixed pixel, both weigh up
    spec = SelfTrainParams()
    X = np.array([[0.0], [0.6], [1.05], [1.6], [2.6]], np.float32)
    y = np.array([1, 1, 0, 0, 0], np.int8)
    u = _label_table([0.5, 1.1, 1.5, 2.5], [1, 0, 0, 0], [0, 0, EDGE_BESIDE_PADDY, EDGE_BESIDE_PADDY], spec)
    weights: list[np.ndarray] = []
    draw = _drawing(u, _ReadsRiceAbove(1.2), weights)

    def refit_weights(labels: np.ndarray) -> np.ndarray:
        weights.clear()
        part = {k: v[labels] for k, v in u.items()}
        *_, refit = labelled_fit(draw, X, y, np.arange(5), np.arange(5), np.zeros(5, np.int64), part, spec)
        assert refit == 1
        return weights[-1]

    w, mis, margin = spec.label_weight, spec.label_misread_weight, spec.label_margin_weight
    np.testing.assert_array_equal(refit_weights(np.arange(4)), [w, w, mis, mis])
    # either margin label alone, its cell empty, keeps its own weight
    np.testing.assert_array_equal(refit_weights(np.array([0, 1, 2])), [w, w, margin])
    np.testing.assert_array_equal(refit_weights(np.array([0, 1, 3])), [w, w, margin])
