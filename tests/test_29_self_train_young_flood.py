"""The optical rule's flood-seen-again vote (``young_flood_t``) stays out of the self-trained map's
pseudo-labels (``SelfTrainParams.young_flood_labels``), nor does the undated evidence's standing-flood test
(``SelfTrainParams.undated_stands_labels``), on point series built by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from agromap.rice.optical_params import OpticalRiceParams
from agromap.rice.rules_optical import optical_rice_rule
from agromap.rice.sar_params import SarRiceParams
from agromap.rice.self_train_params import SelfTrainParams
from agromap.rice.self_train_rule import label_params, run_rule

DAYS = np.arange(0, 300, 5)  # a clear date every 5 days: the onset's first 10 days hold two


def _series(direct_seeded: bool) -> list[tuple[float, float]]:
    """(NDVI, LSWI) per date: dry soil, the flood on day 100, the seedlings' first weeks (on saturated soil,
    LSWI 0.10 under their EVI, or standing in water), the canopy in water (LSWI 0.36), stubble, dry soil."""
    out = []
    for d in DAYS:
        if d < 100 or d > 230:
            out.append((0.2, -0.1))
        elif d == 100:
            out.append((-0.2, 0.3))
        elif d < 125:
            grow = 0.05 * (d - 105) / 5
            out.append((0.25 + grow, 0.10) if direct_seeded else (0.15 + 2 * grow, 0.3))
        else:
            out.append((0.8, 0.36) if d <= 210 else (0.3, -0.05))
    return out


def _stack(pixels: list[list[tuple[float, float]]]) -> xr.Dataset:
    """The reflectance bands of one row of pixels (NIR 0.3; red and SWIR from NDVI and LSWI)."""
    nd = np.array([[v[0] for v in p] for p in pixels], np.float32).T[:, None, :]
    ls = np.array([[v[1] for v in p] for p in pixels], np.float32).T[:, None, :]
    nir = np.full(nd.shape, 0.3, np.float32)
    bands = {"nir": nir, "red": nir * (1 - nd) / (1 + nd), "swir16": nir * (1 - ls) / (1 + ls),
             "blue": np.full(nd.shape, 0.04, np.float32), "green": np.full(nd.shape, 0.06, np.float32)}
    coords = {"time": np.datetime64("2023-01-01") + DAYS.astype("timedelta64[D]"), "y": [0.0],
              "x": np.arange(float(len(pixels)))}
    return xr.Dataset({b: (("time", "y", "x"), v.astype(np.float32)) for b, v in bands.items()}, coords=coords)


def _labels(optical: xr.Dataset, spec: SelfTrainParams, params: OpticalRiceParams | None = None) -> np.ndarray:
    out = run_rule(optical, None, "optical", params, None, spec.blind_gap_days, spec.optical_canopy_labels, spec=spec)
    return np.asarray(out["rice_score"].values[0])


def test_a_direct_seeded_paddy_keeps_the_score_the_flood_seen_again_would_take_from_its_label():
    """The direct-seeded paddy's seedlings grow on saturated soil (LSWI 0.10 + 0.05 under their EVI): the
    rule, with the vote on by default, scores it lower; its pseudo-label takes the score without the vote.
    The transplanted paddy, its young crop in water, scores the same either way."""
    optical = _stack([_series(True), _series(False)])
    rule = optical_rice_rule(optical)["rice_score"].values[0]
    plain = optical_rice_rule(optical, OpticalRiceParams(young_flood_t=None))["rice_score"].values[0]
    assert OpticalRiceParams().young_flood_t == pytest.approx(0.05)
    assert rule[0] < plain[0] - 0.1 and rule[1] == pytest.approx(plain[1])
    np.testing.assert_allclose(_labels(optical, SelfTrainParams()), plain, rtol=1e-6)
    # given parameters lose the vote alone: a changed canopy bar stays
    asked = OpticalRiceParams(ndvi_canopy_min=0.55)
    np.testing.assert_allclose(_labels(optical, SelfTrainParams(), asked),
                               optical_rice_rule(optical, dataclasses.replace(asked, young_flood_t=None))
                               ["rice_score"].values[0], rtol=1e-6)
    # asked for, the labels take the rule's map as it is
    np.testing.assert_allclose(_labels(optical, SelfTrainParams(young_flood_labels=True)), rule, rtol=1e-6)


def test_the_label_parameters_drop_the_vote_only():
    spec = SelfTrainParams()
    kept = {"flood_shadow_ndvi": False, "pond_end_onset": False, "pond_ripe_ndvi": None}  # kept out of the labels too
    assert label_params(None, spec) == OpticalRiceParams(young_flood_t=None, undated_flood_stands=False, **kept)
    off = OpticalRiceParams(young_flood_t=None, undated_flood_stands=False, **kept)
    assert label_params(off, spec) is off
    every = SelfTrainParams(young_flood_labels=True, undated_stands_labels=True, shadow_flood_labels=True,
                            pond_end_labels=True, pond_ripe_labels=True)
    assert label_params(None, None) is None and label_params(None, every) is None
    assert label_params(None, SelfTrainParams(young_flood_labels=True)) == OpticalRiceParams(undated_flood_stands=False,
                                                                                            **kept)
    assert label_params(None, SelfTrainParams(undated_stands_labels=True)) == OpticalRiceParams(young_flood_t=None,
                                                                                               **kept)
    assert label_params(None, SelfTrainParams(shadow_flood_labels=True)) == OpticalRiceParams(
        young_flood_t=None, undated_flood_stands=False, pond_end_onset=False, pond_ripe_ndvi=None)
    assert label_params(None, SelfTrainParams(pond_end_labels=True)) == OpticalRiceParams(
        young_flood_t=None, undated_flood_stands=False, flood_shadow_ndvi=False, pond_ripe_ndvi=None)
    assert label_params(None, SelfTrainParams(pond_ripe_labels=True)) == OpticalRiceParams(
        young_flood_t=None, undated_flood_stands=False, flood_shadow_ndvi=False, pond_end_onset=False)
    sar = SarRiceParams()
    assert label_params(sar, spec) is sar  # the wrong rule's parameters are refused by the rule itself


def test_the_labels_read_the_undated_evidence_without_the_standing_flood_test():
    """The dryland crop of tests/test_29_optical_undated_early.py (rain on its young crop, drained within days, read
    as the undated evidence's flood) as bands: the rule, with ``undated_flood_stands`` on by default, scores it
    non-rice; its pseudo-label takes the score of the rule without the test unless ``undated_stands_labels``."""
    from test_29_optical_undated_early import PIXELS

    reads = [(int(r.split(":")[0]), *map(float, r.split(":")[1].split("/"))) for r in PIXELS["dryland_crop"].split()]
    days = np.array([r[0] for r in reads])
    nd, ls, ev = (np.array([r[i] for r in reads], np.float32) for i in (1, 2, 3))
    nir = np.full(nd.shape, 0.2, np.float32)
    red = nir * (1 - nd) / (1 + nd)
    blue = np.maximum((nir + 6 * red + 1 - 2.5 * (nir - red) / ev) / 7.5, 0.01)  # the series' EVI (0.01: its floor)
    bands = {"nir": nir, "red": red, "swir16": nir * (1 - ls) / (1 + ls), "blue": blue,
             "green": np.full(nd.shape, 0.06, np.float32)}
    coords = {"time": np.datetime64("2019-01-18") + days.astype("timedelta64[D]"), "y": [0.0], "x": [0.0]}
    optical = xr.Dataset({b: (("time", "y", "x"), v.astype(np.float32)[:, None, None]) for b, v in bands.items()},
                         coords=coords)
    without = OpticalRiceParams(undated_flood_stands=False)
    assert OpticalRiceParams().undated_flood_stands
    assert optical_rice_rule(optical)["rice_score"].values.item() < 0.5
    assert optical_rice_rule(optical, without)["rice_score"].values.item() >= 0.5
    asked = SelfTrainParams(undated_stands_labels=True)
    labels = _labels(optical, SelfTrainParams())[0]
    assert labels == _labels(optical, asked, without)[0]
    assert _labels(optical, asked)[0] < labels


def test_the_labels_read_a_rice_shrimp_field_without_the_pond_then_ripe_harvest():
    """The rice-shrimp field of tests/test_29_optical_rule_terms.py (thinned ``mekong_triple_sar`` seed 0, pixel
    (33, 71): the brackish pond on four of twelve clear dates, the crop ripening on day 321, stubble on dry soil) as
    bands: the rule, with ``pond_ripe_ndvi`` on by default, maps it rice; its pseudo-label takes the score of the
    rule without the term (the pond months mask it as water) unless ``pond_ripe_labels``."""
    days = np.array([6, 11, 21, 31, 36, 151, 166, 321, 336, 351, 356, 361]) - 1
    nd = np.array([.26, .28, .28, -.05, .03, .01, -.04, .58, .25, .27, .18, .26], np.float32)
    ev = np.array([.16, .18, .18, -.02, .01, .0, -.02, .18, .07, .16, .06, .17], np.float32)
    ls = np.array([-.04, -.08, -.02, .25, .35, .34, .21, .27, -.01, -.05, .07, -.05], np.float32)
    nir = np.full(nd.shape, 0.2, np.float32)
    red = nir * (1 - nd) / (1 + nd)
    # the series' EVI where it is not zero (blue from EVI's formula), a plain blue on the one date it is
    blue = np.where(ev != 0, (nir + 6 * red + 1 - 2.5 * (nir - red) / np.where(ev != 0, ev, 1)) / 7.5, 0.04)
    bands = {"nir": nir, "red": red, "swir16": nir * (1 - ls) / (1 + ls), "blue": np.maximum(blue, 0.01),
             "green": np.full(nd.shape, 0.06, np.float32)}
    coords = {"time": np.datetime64("2023-01-01") + days.astype("timedelta64[D]"), "y": [0.0], "x": [0.0]}
    optical = xr.Dataset({b: (("time", "y", "x"), v.astype(np.float32)[:, None, None]) for b, v in bands.items()},
                         coords=coords)
    without = OpticalRiceParams(pond_ripe_ndvi=None)
    assert OpticalRiceParams().pond_ripe_ndvi == pytest.approx(0.35)
    assert optical_rice_rule(optical)["rice_class"].values.item() == 1
    assert optical_rice_rule(optical, without)["rice_class"].values.item() == 0
    asked = SelfTrainParams(pond_ripe_labels=True)
    labels = _labels(optical, SelfTrainParams())
    assert labels == _labels(optical, asked, without)
    assert _labels(optical, asked) > labels
