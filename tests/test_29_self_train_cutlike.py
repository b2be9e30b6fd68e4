"""The labels among the paddies whose season the series cuts (agromap.rice.self_train_cutlike)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from agromap.errors import ConfigError
from agromap.rice.self_train_cutlike import cut_like_labels
from agromap.rice.self_train_ends import QA_SERIES_CUT
from agromap.rice.self_train_params import SelfTrainParams
from agromap.rice.self_trained import _select_block


def _table(seed: int = 0):
    """Three clusters in a 4-feature space: cut paddies (rows 0-39, cut), forest (40-79), and a cut
    upland field alone among upland crops (80-119, row 80 cut)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0, 0.0], [5.0, 5.0, 5.0, 5.0], [0.0, 8.0, -6.0, 3.0]])
    X = np.concatenate([c + 0.3 * rng.standard_normal((40, 4)) for c in centres]).astype(np.float32)
    cut = np.zeros(120, bool)
    cut[:40] = True
    cut[80] = True
    y = np.full(120, -1, np.int8)  # the cut paddies: no opinion
    y[40:] = 0  # forest and upland crops: sure non-rice
    y[3] = -1
    y[80] = -1  # the cut upland field: no opinion too
    key = rng.random(120)
    return X, y, cut, key


def test_cut_pixels_among_cut_pixels_become_rice_and_a_lone_cut_field_does_not():
    X, y, cut, key = _table()
    new = cut_like_labels(X, y, cut, key, SelfTrainParams())
    assert (new[:40] == 1).all()  # the cut paddies: every neighbour is cut
    assert new[80] == -1  # one cut upland field among upland crops stays without a label
    assert (new[40:80] == 0).all() and (new[81:] == 0).all()  # the other labels stand


def test_a_non_rice_label_whose_neighbours_are_all_cut_is_dropped():
    X, y, cut, key = _table()
    y = y.copy()
    y[5] = 0  # a cut paddy that kept the rule's sure non-rice verdict (it missed the cut bars)
    cut = cut.copy()
    cut[5] = False
    new = cut_like_labels(X, y, cut, key, SelfTrainParams())
    assert new[5] == -1
    assert (np.delete(new[:40], 5) == 1).all() and (new[40:80] == 0).all()
    # below the share nothing is dropped: half of the neighbours cut
    y2, cut2 = y.copy(), cut.copy()
    cut2[:40:2] = False
    kept = cut_like_labels(X, y2, cut2, key, SelfTrainParams(cut_rice_share=None))
    assert kept[5] == 0 and (kept[:40][y2[:40] < 0] == -1).all()


def test_off_without_neighbours_or_cut_pixels_and_independent_of_row_order():
    X, y, cut, key = _table()
    assert np.array_equal(cut_like_labels(X, y, cut, key, SelfTrainParams(cut_like_neighbours=None)), y)
    assert np.array_equal(cut_like_labels(X, y, np.zeros_like(cut), key, SelfTrainParams()), y)
    spec = SelfTrainParams()
    perm = np.random.default_rng(1).permutation(y.size)
    ref = cut_like_labels(X, y, cut, key, spec)
    assert np.array_equal(cut_like_labels(X[perm], y[perm], cut[perm], key[perm], spec), ref[perm])


def test_the_training_table_carries_the_cut_bit_and_the_hesitations():
    score = np.full((6, 6), 0.5, np.float32)
    score[0, 0] = 0.05
    qa = np.zeros((6, 6), np.uint8)
    qa[0, 3] = QA_SERIES_CUT
    feats = np.ones((2, 6, 6), np.float32)
    spec = SelfTrainParams(cotrain=False)
    t = _select_block(score, qa, np.zeros((6, 6), np.uint8), feats, 0, 0, spec=spec, cap=100)
    assert t["y"].size == 4 and (t["y"] < 0).sum() == 3  # the cut paddy's hesitation votes
    assert t["cut"][(t["row"] == 0) & (t["col"] == 3)].tolist() == [True] and t["cut"].sum() == 1
    assert (t["stratum"] < 256 * QA_SERIES_CUT).all()  # the bit is no stratum of its own
    off = _select_block(score, qa, np.zeros((6, 6), np.uint8), feats, 0, 0,
                        spec=replace(spec, cut_like_neighbours=None), cap=100)
    assert off["y"].tolist() == [0]


@pytest.mark.parametrize("kw", [{"cut_like_neighbours": 0}, {"cut_like_share": 0.0}, {"cut_rice_share": 1.5}])
def test_bad_cut_like_settings(kw):
    with pytest.raises(ConfigError):
        SelfTrainParams(**kw)


def test_a_desk_label_beside_a_rice_label_from_the_cut_paddies_does_not_drop_it():
    from agromap.rice.self_trained import _fit

    X, y, cut, key = _table()
    n = y.size
    table = {"X": X, "y": y, "stratum": np.full(n, 256, np.int64), "key": key,
             "confident": np.array([int((y == 0).sum()), 0]), "row": 3 * np.arange(n), "col": np.zeros(n, np.int64),
             "cut": cut, "start": cut,
             # a desk's non-rice label one pixel beside the first cut paddy, read like a paddy, of the
             # stratum the rule's verdict there (no flood seen) would have
             "uX": X[:1] + 0.01, "uy": np.array([0], np.int8), "urow": np.array([1]), "ucol": np.array([0]),
             "ustratum": np.array([256]), "uedge": np.zeros(1, np.uint8)}
    names = tuple(f"f{i}" for i in range(X.shape[1]))
    model = _fit([table], names, spec=SelfTrainParams(cotrain=False), rule="sar", attrs={}, labelled=True)
    counts = model.metadata["training_counts"]
    assert counts["n_pseudo_dropped"] == 0 and counts["n_train_rice"] == 40
    assert counts["n_cut_rice"] == 40  # the rice labels taken from the cut paddies are counted


def test_an_end_flood_cut_fallow_cluster_gives_no_rice_label():
    # the cut cluster (rows 0-39) cut by the series-end flood alone: a fallow field's puddles
    X, y, cut, key = _table()
    start = np.zeros_like(cut)
    new = cut_like_labels(X, y, cut, key, SelfTrainParams(), start=start)
    assert (new[:40] == -1).all() and (new[40:80] == 0).all()
    # the same cluster opened by a wet canopy then a dry fallow but for two pixels: all rice labels
    start[:40] = True
    start[[1, 2]] = False
    new = cut_like_labels(X, y, cut, key, SelfTrainParams(), start=start)
    assert (new[:40][y[:40] < 0] == 1).all()
    # off: every cut pixel among cut ones, as before the guard
    new = cut_like_labels(X, y, cut, key, SelfTrainParams(cut_rice_start_share=None), start=np.zeros_like(cut))
    assert (new[:40] == 1).all()


def test_the_training_table_carries_the_start_cut():
    score = np.full((6, 6), 0.5, np.float32)
    qa = np.zeros((6, 6), np.uint8)
    qa[0, 3] = qa[3, 0] = QA_SERIES_CUT
    start = np.zeros((6, 6), bool)
    start[3, 0] = True
    feats = np.ones((2, 6, 6), np.float32)
    t = _select_block(score, qa, np.zeros((6, 6), np.uint8), feats, 0, 0, spec=SelfTrainParams(cotrain=False),
                      cap=100, start=start)
    assert t["start"].tolist() == [bool(start[r, c]) for r, c in zip(t["row"], t["col"])] and t["start"].sum() == 1
    assert t["cut"].sum() == 2
