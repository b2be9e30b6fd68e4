"""The air-quality workflow end to end on the real samples, and PM2.5 calibration on stations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from agromap.pipeline.config import load_config, parse_config
from agromap.pipeline.runner import run
from conftest import write_tif
from rasters import first_band

ROOT = Path(__file__).resolve().parents[1]
DELTA = ROOT / "sample_data" / "synthetic_rice_delta"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def aq_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("aq")
    return out, run(load_config(ROOT / "pipelines" / "airquality.yaml"), out, scheduler="threads")


def test_co_swath_gridded_with_counts(aq_run):
    out, _ = aq_run
    count = first_band(out / "co_swath" / "co_column_count_201909.tif")
    co = first_band(out / "co_swath" / "co_column_20190913.tif")
    # 180 of the subset's pixels pass qa_value > 0.5, and all fall inside the grid.
    assert int(count[count != 65535].sum()) == 180
    assert np.isfinite(co).sum() == (count[count != 65535] > 0).sum()
    with rasterio.open(out / "co_swath" / "co_column_20190913.tif") as src:
        assert src.crs.to_epsg() == 4326 and src.res == (0.5, 0.5)


def test_no2_by_ward_and_exceedance(aq_run):
    out, result = aq_run
    tables = [t for t in result.manifest["tables"] if t["layer"].startswith("bengaluru_no2/")
              or t["layer"] == "no2_trop_column"]
    per_date = pd.read_csv(out / next(t for t in tables if "20200415" in t["layer"])["files"][0])
    assert len(per_date) == 198 and {"mean", "max", "count"} <= set(per_date.columns)
    # 2020 (lockdown) is lower than 2019 city-wide, as the sample's own value ranges say.
    y2019 = pd.read_csv(out / next(t for t in tables if "20190415" in t["layer"])["files"][0])
    assert per_date["mean"].median() < y2019["mean"].median()
    exceed = pd.read_csv(out / next(t for t in tables if t.get("kind") == "exceedance")["files"][0])
    assert len(exceed) == 198 and exceed["dates"].max() == 3
    assert ((exceed["exceedance_days"] >= 0) & (exceed["exceedance_days"] <= 3)).all()


def test_pm25_estimate_and_cpcb_category(aq_run):
    out, _ = aq_run
    with rasterio.open(ROOT / "sample_data" / "sentinel2_l2a_29RKH_20200219" / "AOT.tif") as src:
        aot = src.read(1).astype(np.float32) * np.float32(0.001)
    pm = first_band(out / "aot_pm25" / "pm25_sat_20200219.tif")
    np.testing.assert_allclose(pm, aot * 80, rtol=1e-6)
    sub = first_band(out / "aot_pm25" / "aqi_pm25_subindex_cpcb_20200219.tif")
    # CPCB PM2.5 0-30 ug m-3 -> 0-50: 15.04..15.68 ug m-3 -> 25..26.
    assert set(np.unique(sub)) <= {25, 26}
    with rasterio.open(out / "aot_pm25" / "aqi_category_cpcb_20200219.tif") as src:
        assert set(np.unique(src.read(1))) == {1}
        assert src.colormap(1)[1][:3] == (0x00, 0xB0, 0x50)
        assert src.tags()["AQI_STANDARD"] == "cpcb:2014"
        assert "satellite-estimated" in src.tags()["DESCRIPTION"] and "not a regulatory AQI" in src.tags()["NOTE"]
    item = json.loads((out / "aot_pm25" / "aqi_category_cpcb_20200219.json").read_text())
    assert item["properties"]["agromap:estimate"] is True


def test_burned_paddy_against_truth(aq_run):
    out, _ = aq_run
    (path,) = (out / "delta_burning").glob("burned_paddy_*.tif")
    paddy = first_band(path)
    burn = first_band(DELTA / "truth_burn.tif").astype(bool)
    burned, seen = np.isin(paddy, (2, 3)), paddy != 255
    precision = (burned & burn).sum() / burned.sum()
    recall = (burned & burn & seen).sum() / (burn & seen).sum()
    assert precision > 0.9 and recall > 0.7, (precision, recall)


def test_pm25_fit_on_stations_then_map(tmp_path, agromap_cli):
    """Stations with a known relation (PM = 60 AOD + 10 + noise) -> fitted model -> PM2.5 map."""
    rng = np.random.default_rng(4)
    dates = pd.date_range("2023-11-01", periods=12, freq="D")
    inputs, aods = [], []
    yy, xx = np.mgrid[0:40, 0:40]
    for i, d in enumerate(dates):
        aod = (0.3 + 0.5 * np.sin(xx / 7 + i) ** 2 + 0.3 * (yy / 40)).astype(np.float32)
        dn = np.round(aod * 1000).astype(np.uint16)
        write_tif(tmp_path / f"aot_{i}.tif", dn, crs="EPSG:32643", res=1000, origin=(700_000, 3_400_000),
                  nodata=0)
        aods.append(dn * np.float32(0.001))
        inputs.append({"kind": "aod", "source": "s2_aot", "path": str(tmp_path / f"aot_{i}.tif"),
                       "datetime": f"{d:%Y-%m-%d}T05:30:00Z"})
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32643", "EPSG:4326", always_xy=True)
    rows = []
    for s in range(20):
        r, c = rng.integers(2, 38, 2)
        lon, lat = to_ll.transform(700_000 + (c + 0.5) * 1000, 3_400_000 - (r + 0.5) * 1000)
        for i, d in enumerate(dates):
            pm = 60 * aods[i][r, c] + 10 + rng.normal(0, 3)
            rows.append({"station_id": f"S{s:02d}", "lon": lon, "lat": lat, "time": f"{d:%Y-%m-%d}T12:00:00",
                         "pollutant": "pm25", "value": pm, "unit": "ug/m3"})
    stations = tmp_path / "stations.csv"
    pd.DataFrame(rows).to_csv(stations, index=False)
    cfg = {"name": "pm", "scheduler": "threads", "areas": [{"name": "city", "inputs": inputs,
                                                            "layers": [{"product": "pm25", "method": "eta",
                                                                        "eta": 60}]}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    model = tmp_path / "pm25.json"
    proc = agromap_cli.run("pm25-fit", str(tmp_path / "run.yaml"), "--area", "city", "--stations", str(stations),
                           "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    fitted = json.loads(model.read_text())
    assert abs(fitted["coef"][0] - 60) / 60 < 0.05 and fitted["cv"]["r2"] > 0.8
    cfg["areas"][0]["layers"] = [{"product": "pm25", "method": "model", "model": str(model)}]
    result = run(parse_config(cfg), tmp_path / "out")
    first = next(o for o in result.outputs if o["path"].endswith("20231101.tif"))
    pm = first_band(tmp_path / "out" / first["path"])
    np.testing.assert_allclose(pm, fitted["coef"][0] * aods[0] + fitted["intercept"], rtol=1e-4)
