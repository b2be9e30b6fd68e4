"""The rice workflow end to end on the synthetic delta (known truth) and on the real samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from agromap.pipeline.config import load_config, parse_config
from agromap.pipeline.runner import run
from rasters import first_band

ROOT = Path(__file__).resolve().parents[1]
DELTA = ROOT / "sample_data" / "synthetic_rice_delta"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rice_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rice")
    result = run(load_config(ROOT / "pipelines" / "rice.yaml"), out, scheduler="threads")
    return out, result


def _truth(name: str) -> np.ndarray:
    return first_band(DELTA / f"truth_{name}.tif")


def _one(out: Path, area: str, prefix: str) -> Path:
    (hit,) = sorted((out / area).glob(f"{prefix}*.tif"))
    return hit


def test_optical_rule_recovers_paddies_and_dates(rice_run):
    out, _ = rice_run
    rice = first_band(_one(out, "delta_optical", "rice_class_optical"))
    truth = _truth("landcover") == 1
    valid = rice != 255
    pred = (rice == 1) & valid
    precision = (pred & truth).sum() / pred.sum()
    recall = (pred & truth).sum() / (truth & valid).sum()
    assert precision > 0.9 and recall > 0.9, (precision, recall)
    doy = first_band(_one(out, "delta_optical", "transplant_doy_1_optical")).astype(float)
    true_doy = _truth("transplant_doy_1").astype(float)
    both = pred & truth & (doy > 0) & (true_doy > 0)
    mae = np.abs(doy[both] - true_doy[both]).mean()
    assert mae <= 16, mae  # ~15-day revisit; the onset is the puddling date, ~8 d before transplanting


def test_sar_rule_recovers_paddies(rice_run):
    out, _ = rice_run
    rice = first_band(_one(out, "delta_sar", "rice_class_sar"))
    truth = _truth("landcover") == 1
    pred = rice == 1
    f1 = 2 * (pred & truth).sum() / (pred.sum() + truth.sum())
    assert f1 > 0.85, f1


def test_accuracy_report_and_area_interval(rice_run):
    out, result = rice_run
    (acc,) = result.manifest["accuracy"]
    report = json.loads((out / "delta_optical" / acc["files"][0]).read_text())
    assert report["classes"] == ["non-rice", "rice"] and report["n_reference_points"] == 250
    assert report["overall_accuracy"] > 0.9
    md = (out / "delta_optical" / acc["files"][1]).read_text()
    assert "Overall accuracy" in md and "Olofsson" in md
    # The true rice area (truth pixels x 0.01 ha) lies inside the estimate's 95 % interval,
    # while the map's own pixel count need not.
    true_ha = float((_truth("landcover") == 1).sum()) * 0.01
    est, ci = report["area_ha"][1], report["area_ci95_ha"][1]
    assert abs(est - true_ha) <= ci, (est, ci, true_ha)


def test_district_table(rice_run):
    out, result = rice_run
    table = next(t for t in result.manifest["tables"] if "rice_class_optical" in t["layer"])
    df = pd.read_csv(out / table["files"][0])
    assert list(df["id"]) == ["D01", "D02", "D03"]
    assert {"rice_ha", "rice_adjusted_ha", "rice_adjusted_ci95_ha", "name"} <= set(df.columns)
    rice = first_band(_one(out, "delta_optical", "rice_class_optical"))
    assert df["rice_ha"].sum() == pytest.approx(float((rice == 1).sum()) * 0.01, rel=1e-4)
    assert (out / table["files"][1]).exists()


def test_real_samples_run(rice_run):
    out, _ = rice_run
    hok = first_band(_one(out, "hokkaido", "rice_class_optical"))
    assert set(np.unique(hok)) <= {0, 1, 255} and (hok != 255).mean() > 0.9
    assam = first_band(_one(out, "assam_sar", "rice_class_sar"))
    assert (assam == 0).all(), "one SAR date cannot show a flooding minimum and a rise"


def test_train_save_reload_predict(tmp_path, agromap_cli):
    model = tmp_path / "rice_rf.skops"
    proc = agromap_cli.run("rice-train", str(ROOT / "pipelines" / "rice.yaml"), "--area", "delta_optical",
                           "--labels", str(DELTA / "training_labels.geojson"), "--out", str(model),
                           "--block-size", "400", "--trees", "60", timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["cv_mean"]["oa"] > 0.9 and summary["cv_folds"] >= 2
    cfg = yaml.safe_load((ROOT / "pipelines" / "rice_model.yaml").read_text())
    area = cfg["areas"][0]
    area["inputs"][0]["path"] = str(DELTA / "s2")
    area["layers"][0]["model"] = str(model)
    area["layers"][0]["model_sha256"] = summary["sha256"]
    area["districts"]["path"] = str(DELTA / "districts.geojson")
    cfg["scheduler"] = "threads"
    result = run(parse_config(cfg), tmp_path / "out")
    rice = first_band(_one(tmp_path / "out", "delta_model", "rice_class_model"))
    truth = _truth("landcover") == 1
    assert ((rice == 1) == truth)[rice != 255].mean() > 0.95
    # A pinned checksum that does not match refuses the file.
    area["layers"][0]["model_sha256"] = "0" * 64
    from agromap.errors import InputError

    with pytest.raises(InputError):
        run(parse_config(cfg), tmp_path / "out2")
    assert result.outputs


def test_points_and_sample_commands(tmp_path, rice_run, agromap_cli):
    out, _ = rice_run
    # A point table of three pixels' S2 series, extracted with rasterio from the sample files.
    rows = []
    for f in sorted((DELTA / "s2").glob("*_red.tif")):
        date = f.name[:10]
        vals = {b: first_band(DELTA / "s2" / f"{date}_{b}.tif")[[40, 80, 120], [40, 80, 120]] * 1e-4
                for b in ("blue", "red", "nir", "swir16")}
        for i in range(3):
            rows.append({"point_id": f"p{i}", "time": date, **{b: float(v[i]) for b, v in vals.items()}})
    csv = tmp_path / "points.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    res = agromap_cli.run("rice-points", str(csv), str(tmp_path / "labels.csv"))
    assert res.returncode == 0, res.stderr
    labels = pd.read_csv(tmp_path / "labels.csv")
    assert list(labels["point_id"]) == ["p0", "p1", "p2"] and set(labels["rice_class"]) <= {0, 1, 255}
    cog = _one(out, "delta_optical", "rice_class_optical")
    res = agromap_cli.run("rice-sample", str(cog), str(tmp_path / "s.geojson"), "--rice", "20", "--other", "30",
                          "--seed", "3")
    assert res.returncode == 0, res.stderr
    import geopandas as gpd

    pts = gpd.read_file(tmp_path / "s.geojson")
    assert len(pts) == 50 and "map_class" not in pts.columns  # blind by default


def test_accuracy_of_a_reused_map_comes_from_its_file(rice_run):
    """A re-run reuses every layer and recomputes the accuracy report from the published map,
    with the values of the run that computed it (the map at the points, its true areas)."""
    out, first = rice_run
    again = run(load_config(ROOT / "pipelines" / "rice.yaml"), out, scheduler="threads")
    assert again.computed == []
    (a,), (b,) = first.manifest["accuracy"], again.manifest["accuracy"]
    assert a["files"] == b["files"] and a["n_points_on_nodata"] == b["n_points_on_nodata"]
    assert b["overall_accuracy"] == pytest.approx(a["overall_accuracy"], rel=1e-9)
    np.testing.assert_allclose(b["area_ha"], a["area_ha"], rtol=1e-6)
    np.testing.assert_allclose(b["mapped_area_ha"], a["mapped_area_ha"], rtol=1e-6)
