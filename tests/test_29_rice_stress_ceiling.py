"""The stress sweep's supervised ceiling (bench/rice_ceiling.py, docs/rice_stress.md "The ceiling").

Small tables and small forests: the mechanics, not the sweep's figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, where bench/ lives

from bench.rice_ceiling import (  # noqa: E402
    CeilingParams,
    ceiling_oa,
    optical_point_features,
    raw_point_series,
    sar_point_features,
)
from bench.rice_stress import _optical_run, sweep  # noqa: E402
from rice_series import one_line_optical_baseline, one_line_sar_baseline, optical_points, sar_points, scores  # noqa: E402

SMALL = CeilingParams(n_estimators=20, n_splits=3)


def test_optical_ceiling_beats_the_baseline_on_the_fixed_table():
    ds, truth = optical_points(150, seed=0)
    feats = optical_point_features(ds)
    assert feats.dims == ("feature", "point") and feats.sizes["point"] == 150
    # MNDWI has no green band to come from: constant, so it carries nothing the rule lacks.
    assert (feats.sel(feature="mndwi_max") == 0).all() and (feats.sel(feature="mndwi_std") == 0).all()
    assert np.isfinite(feats.sel(feature="lswi_max")).all()
    oa, dropped = ceiling_oa(feats, truth.rice.values, SMALL)
    base = scores(one_line_optical_baseline(ds.ndvi.values), truth.rice.values)["oa"]
    assert dropped == 0
    assert 0.9 <= oa <= 1.0 and oa > base + 0.1


def test_sar_ceiling_reads_vv_when_the_rule_does():
    table, truth = sar_points(150, "sparse", seed=0, vv=True)
    feats = sar_point_features(table)
    assert "vh_vv_peak_db" in feats.feature.values
    assert "vh_vv_peak_db" not in sar_point_features(table["vh"]).feature.values
    oa, _ = ceiling_oa(feats, truth.rice.values, SMALL)
    base = scores(one_line_sar_baseline(table["vh"].values), truth.rice.values)["oa"]
    assert 0.8 <= oa <= 1.0 and oa > base + 0.2


def test_a_point_without_features_counts_as_mapped_non_rice():
    # One feature equal to the class: every scored point is right, so the OA counts the dropped one alone.
    y = np.tile([0, 1], 30)
    feats = xr.DataArray(np.stack([y, np.arange(60) % 7]).astype(np.float32), dims=("feature", "point"),
                         coords={"feature": ["label", "noise"]})
    assert ceiling_oa(feats, y, SMALL) == (1.0, 0)
    rice_lost = feats.copy()
    rice_lost[0, 1] = np.nan  # a paddy with no valid date: unclassified, so missed
    assert ceiling_oa(rice_lost, y, SMALL) == (59 / 60, 1)
    other_lost = feats.copy()
    other_lost[0, 0] = np.nan  # a non-rice point with no valid date: unclassified, so right
    assert ceiling_oa(other_lost, y, SMALL) == (1.0, 1)


def test_raw_series_hold_each_date_and_no_nan():
    ds, _ = optical_points(50, seed=0)
    raw = raw_point_series(ds)
    n_t = ds.sizes["time"]
    assert raw.sizes["feature"] == 2 * n_t and raw.sizes["point"] == 50
    cloud = np.isnan(ds.ndvi.values)
    assert cloud.any() and (raw.values[:n_t][cloud] == -9.0).all()
    np.testing.assert_allclose(raw.values[:n_t][~cloud], ds.ndvi.values[~cloud])
    table, _ = sar_points(50, "sparse", seed=0, vv=True)
    sar = raw_point_series(table)
    assert sar.sizes["feature"] == 2 * table.sizes["time"]
    np.testing.assert_allclose(sar.values[0], 10 * np.log10(table["vh"].values[0]), rtol=1e-5)
    assert raw_point_series(table["vh"]).sizes["feature"] == table.sizes["time"]


def test_the_sweep_row_carries_the_ceiling_and_the_gap():
    rows = sweep("optical", iter([("table", {})]), _optical_run, [0], 150, "", "all", raw=True)
    (row,) = rows
    assert row["ceiling_oa"] is not None and len(row["ceiling_oa"]) == 1
    assert 0.9 <= row["ceiling_mean"] <= 1.0 and 0.9 <= row["raw_series_mean"] <= 1.0
    assert row["gap_to_ceiling"] == row["ceiling_mean"] - row["rule_mean"]
    (skipped,) = sweep("optical", iter([("table", {})]), _optical_run, [0], 150, "", "none", raw=True)
    assert skipped["ceiling_mean"] is None and skipped["gap_to_ceiling"] is None
    assert skipped["raw_series_mean"] is None
    assert skipped["rule_oa"] == row["rule_oa"]
