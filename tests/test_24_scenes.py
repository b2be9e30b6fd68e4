"""Hard synthetic rice scenes: their properties match the published figures they are built from.

Accuracy numbers are not asserted here (they live in ``make accuracy``); these tests check the
scenes themselves: revisit and missing passes, speckle ENL, the VH ranges of rice and wetland,
the Sentinel-2 clear-date statistics, the confounder classes, and determinism across chunkings.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError
from agromap.scenes import COVER_NAMES, SCENE_NAMES, make_scene, scene_config
from agromap.scenes import landscape as L
from agromap.scenes.acquisitions import clear_dates, s2_schedule

SIZE = 64


@pytest.fixture(scope="module")
def scenes() -> dict[str, tuple]:
    """Each named scene at 64 px, computed once: (scene, s1, s2, truth)."""
    out = {}
    for name in SCENE_NAMES:
        sc = make_scene(name, size=SIZE, seed=0)
        out[name] = (sc, sc.s1.compute(), sc.s2.compute(), sc.truth.compute())
    return out


def _field_means(vh: np.ndarray, truth: xr.Dataset, code: int) -> np.ndarray:
    """(fields, time) dB series of the mean linear VH over each field's interior pixels."""
    fid = truth.field_id.values
    sel = (truth.cover.values == code) & ~truth.edge.values
    series = []
    for f in np.unique(fid[sel]):
        m = sel & (fid == f)
        if m.sum() >= 12:
            series.append(10 * np.log10(vh[:, m].mean(axis=1)))
    return np.array(series)


def test_scene_api_and_dtypes(scenes):
    assert set(SCENE_NAMES) >= {"clean_delta", "monsoon_sparse_optical", "mekong_triple_sar", "wetland_confusion"}
    sc, s1, s2, truth = scenes["wetland_confusion"]
    assert sc.name == "wetland_confusion" and sc.description
    assert sc.cover_names == COVER_NAMES
    assert sc.s1.vh.chunks is not None  # lazy
    assert s1.vh.dims == ("time", "y", "x") and s1.vh.dtype == np.float32
    assert s1.vh.attrs["units"] == "linear" and float(s1.vh.min()) > 0
    assert set(np.unique(s1.orbit.values)) == {"ascending", "descending"}
    assert set(s2.data_vars) == {"blue", "green", "red", "nir", "swir16", "swir22", "scl"}
    assert s2.nir.dtype == np.float32 and s2.scl.dtype == np.uint8
    assert float(s2.nir.min()) > 0 and float(s2.nir.max()) <= 1
    assert truth.rice.dtype == np.uint8 and truth.cover.dtype == np.uint8
    assert truth.transplant_doy.dims == ("season", "y", "x") and truth.transplant_doy.dtype == np.float32
    np.testing.assert_array_equal(truth.rice.values, np.isin(truth.cover.values, L.RICE_CODES))
    # Transplanting dates exist exactly on rice pixels, and are days of year.
    has = np.isfinite(truth.transplant_doy.values).any(axis=0)
    assert not has[truth.rice.values == 0].any() and has[truth.rice.values == 1].mean() > 0.95
    doy = truth.transplant_doy.values[np.isfinite(truth.transplant_doy.values)]
    assert doy.min() >= 1 and doy.max() <= 366
    assert sc.s1.odc.geobox == sc.truth.odc.geobox == sc.s2.odc.geobox
    assert sc.s1.odc.geobox.shape == (SIZE, SIZE)


def test_unknown_scene_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown scene"):
        make_scene("nowhere")


def test_values_never_depend_on_chunking():
    a = make_scene("mekong_triple_sar", size=40, seed=3)
    b = make_scene("mekong_triple_sar", size=40, seed=3, chunk=16, time_chunk=7)
    for x, y in ((a.s1, b.s1), (a.s2, b.s2), (a.truth, b.truth)):
        assert y.vh.data.numblocks[1:] == (3, 3) if "vh" in y else True
        xr.testing.assert_identical(x.compute(), y.compute())
    # A different seed is a different scene.
    c = make_scene("mekong_triple_sar", size=40, seed=4)
    assert not np.array_equal(a.truth.cover.values, c.truth.cover.values)


# ---- the accuracy benchmark harness ---------------------------------------------------------------


def test_evaluate_map_scores_against_truth():
    from agromap.scenes.evaluate import evaluate_map

    truth = make_scene("wetland_confusion", size=32, seed=1).truth.compute()
    perfect = xr.Dataset({"rice_class": truth.rice, "transplant_doy": truth.transplant_doy.fillna(0).astype("uint16")})
    r = evaluate_map(perfect, truth, COVER_NAMES)
    assert r["oa"] == 1.0 and r["rice_f1"] == 1.0 and r["nodata"] == 0.0
    assert r["transplant_mae_days"] == 0.0 and r["transplant_matched"] == 1.0
    assert set(r["fp_rate"].values()) == {0.0}
    everything = xr.Dataset({"rice_class": xr.full_like(truth.rice, 1)})
    r = evaluate_map(everything, truth, COVER_NAMES)
    assert r["oa"] == pytest.approx(float(truth.rice.mean()))
    assert set(r["fp_rate"].values()) == {1.0} and "rice" not in r["fp_rate"]
    # Nodata counts as "not rice"; excluded (training) pixels are not scored.
    nothing = xr.Dataset({"rice_class": xr.full_like(truth.rice, 255)})
    excl = np.zeros(truth.rice.shape, bool)
    excl[:4] = True
    r = evaluate_map(nothing, truth, COVER_NAMES, exclude=excl)
    assert r["nodata"] == 1.0 and r["rice_f1"] == 0.0 and r["n_pixels"] == 32 * 28


def test_benchmark_harness_runs_on_a_tiny_scene():
    from agromap.scenes.evaluate import BASELINES, format_table, run_benchmark

    res = run_benchmark(["wetland_confusion"], size=32, n_labels=10)
    methods = [r["method"] for r in res["rows"]]
    assert {"optical_rule", "sar_rule", "supervised", *BASELINES} <= set(methods)
    errors = [r["error"] for r in res["rows"] if "error" in r]
    assert not errors, errors
    for r in res["rows"]:
        assert 0.0 <= r["oa"] <= 1.0 and set(r["fp_rate"]) <= set(COVER_NAMES.values())
    sup = next(r for r in res["rows"] if r["method"] == "supervised")
    assert sup["n_pixels"] == 32 * 32 - 20  # the 2 x 10 training pixels are not scored
    assert any(t["target"] == "beats both baselines" for t in res["targets"])
    table = format_table(res)
    assert "wetland_confusion" in table and "targets:" in table and ("met" in table or "MISSED" in table)
