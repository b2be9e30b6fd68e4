"""The disaster workflow end to end: flood classes with known truth and on the real chip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from agromap.pipeline.config import load_config
from agromap.pipeline.runner import run
from rasters import first_band

ROOT = Path(__file__).resolve().parents[1]
DELTA = ROOT / "sample_data" / "synthetic_rice_delta"
CHIP = ROOT / "sample_data" / "sen1floods11_india"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def disaster_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("disaster")
    result = run(load_config(ROOT / "pipelines" / "disaster.yaml"), out, scheduler="threads")
    return out, result


def test_flood_classes_against_synthetic_truth(disaster_run):
    out, _ = disaster_run
    flood = first_band(out / "delta" / "flood_class_20230830.tif")
    truth = first_band(DELTA / "truth_flood.tif").astype(bool)
    landcover = first_band(DELTA / "truth_landcover.tif")
    observed = np.isin(flood, (2, 3, 4))
    iou = (observed & truth).sum() / (observed | truth).sum()
    assert iou > 0.8, iou  # measured 0.829
    # Flooded paddies are flooded rice (4), never managed paddy water: the event is weeks after transplanting.
    paddy_flood = truth & (landcover == 1)
    assert (flood[paddy_flood] == 4).mean() > 0.85
    assert (flood[paddy_flood] == 5).sum() == 0
    # Normal water is reference water (1), not flood.
    assert (flood[landcover == 2] == 1).mean() > 0.7
    assert (flood[(landcover == 2)] == 2).mean() < 0.2


def test_flood_outputs_are_tagged_and_valid(disaster_run, offline_validator):
    import pystac

    out, result = disaster_run
    path = out / "delta" / "flood_class_20230830.tif"
    assert cog_validate(str(path), strict=True)[0]
    with rasterio.open(path) as src:
        tags = src.tags()
        assert tags["FLOOD_DETECTED"] == "true" and float(tags["VALID_FRACTION"]) > 0.99
        assert src.colormap(1)[4][:3] == (255, 127, 0)  # flooded rice, docs/science/disaster.md#flood-classes
        assert src.tags(1)["CLASS_5"] == "managed paddy water"
    item = json.loads(path.with_suffix(".json").read_text())
    assert item["properties"]["flood_detected"] is True
    assert pystac.Item.from_dict(item).validate(validator=offline_validator)


def test_flooded_rice_hectares_per_district(disaster_run):
    out, result = disaster_run
    table = next(t for t in result.manifest["tables"] if "flood_class" in t["layer"])
    df = pd.read_csv(out / table["files"][0])
    flood = first_band(out / "delta" / "flood_class_20230830.tif")
    assert df["flooded_rice_ha"].sum() == pytest.approx((flood == 4).sum() * 0.01, rel=1e-4)
    assert {"observed_flood_water_ha", "managed_paddy_water_ha"} <= set(df.columns)


def test_real_chip_iou(disaster_run):
    """Sen1Floods11 India chip: single-scene VV+VH fused with the same day's S2 (measured IoU 0.902)."""
    out, _ = disaster_run
    flood = first_band(out / "assam_flood" / "flood_class_20160812.tif")
    label = first_band(CHIP / "India_900498_LabelHand.tif")
    known = label >= 0
    water = np.isin(flood, (1, 2, 3, 4, 5, 7, 8)) & known
    truth = (label == 1) & known
    iou = (water & truth).sum() / (water | truth).sum()
    assert iou > 0.89, iou


def test_real_chip_without_reference_water_is_not_called_flood(disaster_run):
    """No reference water and no pre-event date: the Brahmaputra channel is water of unknown status, not flood."""
    out, result = disaster_run
    path = out / "assam_flood" / "flood_class_20160812.tif"
    flood = first_band(path)
    assert (flood == 7).mean() > 0.3 and not np.isin(flood, (1, 2, 3, 4, 8)).any()
    with rasterio.open(path) as src:
        tags = src.tags()
    assert tags["FLOOD_DETECTED"] == "false" and "class 7" in tags["NOTE"]
    assert 0.5 <= float(tags["WEIGHT_VV"]) <= 1 and 0.5 <= float(tags["WEIGHT_VH"]) <= 1  # both fitted
    assert float(tags["WEIGHT_OPTICAL"]) == 1.0
    item = json.loads(path.with_suffix(".json").read_text())
    props = item["properties"]
    assert props["flood_detected"] is False and props["agromap:reference_water"] == "none"
    assert props["agromap:threshold_split"] == "otsu"
    assert any("assam_flood" in w and "flood status unknown" in w for w in result.manifest["warnings"])
    # The delta has pre-event dates: its reference water comes from them, and no warning is raised for it.
    delta = json.loads((out / "delta" / "flood_class_20230830.json").read_text())["properties"]
    assert delta["agromap:reference_water"] == "pre-event dates"
    assert not any("delta" in w and "reference" in w for w in result.manifest["warnings"])


def test_burn_layers_on_the_burn_scar(disaster_run):
    out, _ = disaster_run
    burn = first_band(DELTA / "truth_burn.tif").astype(bool)
    (path,) = (out / "delta").glob("burn_severity_*.tif")
    sev = first_band(path)
    valid = sev != 255
    # dNBR severity flags the scar; on cropland it also flags harvest, hence burned_paddy below.
    assert np.isin(sev, (4, 5, 6, 7))[burn & valid].mean() > 0.8
    (path,) = (out / "delta").glob("burned_paddy_*.tif")
    paddy = first_band(path)
    burned = np.isin(paddy, (2, 3))
    seen = paddy != 255
    precision = (burned & burn).sum() / burned.sum()
    recall = (burned & burn & seen).sum() / (burn & seen).sum()
    assert precision > 0.9 and recall > 0.7, (precision, recall)


def test_vci_and_terrain_exclusion(tmp_path):
    """VCI per date from the delta's NDVI series, and a DEM that excludes a steep strip (class 6)."""
    import yaml

    from agromap.pipeline.config import parse_config
    from conftest import write_tif

    with rasterio.open(DELTA / "truth_landcover.tif") as src:
        transform, crs, shape = src.transform, src.crs, src.shape
    dem = np.zeros(shape, np.float32)
    dem[:, :40] = np.arange(40, dtype=np.float32) * 10.0  # 10 m per 10 m pixel: a 45 deg slope
    dem_path = write_tif(tmp_path / "dem.tif", dem, crs=crs.to_string(), res=transform.a,
                         origin=(transform.c, transform.f))
    cfg = yaml.safe_load((ROOT / "pipelines" / "disaster.yaml").read_text())
    area = cfg["areas"][0]
    for inp in area["inputs"]:
        inp["path"] = str(ROOT / "pipelines" / inp["path"])
    area["districts"]["path"] = str(ROOT / "pipelines" / area["districts"]["path"])
    area["layers"] = [{"product": "flood", "event_date": "2023-08-30", "dem": str(dem_path),
                       "params": {"reference_frequency": 0.5}},
                      {"product": "vci"}]
    cfg["areas"] = [area]
    cfg["scheduler"] = "threads"
    result = run(parse_config(cfg), tmp_path / "out")
    flood = first_band(tmp_path / "out" / "delta" / "flood_class_20230830.tif")
    assert (flood[:, 2:38] == 6).mean() > 0.95 and (flood[:, 45:] == 6).mean() < 0.01
    vci_files = sorted((tmp_path / "out" / "delta").glob("vci_*.tif"))
    assert len(vci_files) == 12
    values = np.stack([first_band(p) for p in vci_files])
    assert values.dtype == np.uint8 and ((values <= 100) | (values == 255)).all()
    assert result.manifest["status"] == "success"


def test_real_chip_with_a_reference_water_layer(tmp_path):
    """A supplied normal-water raster (as JRC GSW occurrence >= 75 % would be): water on it is class 1,
    other water is flood (2), flood_detected is true and there is no reference warning."""
    import yaml

    from agromap.pipeline.config import parse_config
    from conftest import write_tif

    label = first_band(CHIP / "India_900498_LabelHand.tif")
    with rasterio.open(CHIP / "India_900498_LabelHand.tif") as src:
        transform, crs = src.transform, src.crs
    normal = ((label == 1) & (np.arange(label.shape[1])[None, :] < 256)).astype(np.uint8)  # west half's water
    ref_path = write_tif(tmp_path / "normal_water.tif", normal, crs=crs.to_string(), res=transform.a,
                         origin=(transform.c, transform.f))
    cfg = yaml.safe_load((ROOT / "pipelines" / "disaster.yaml").read_text())
    area = cfg["areas"][1]
    for inp in area["inputs"]:
        for band in inp["bands"].values():
            band[0] = str(ROOT / "pipelines" / band[0])
    area["layers"] = [{"product": "flood", "event_date": "2016-08-12", "reference_water": str(ref_path),
                       "use_optical": False}]
    cfg["areas"], cfg["scheduler"] = [area], "threads"
    result = run(parse_config(cfg), tmp_path / "out")
    path = tmp_path / "out" / "assam_flood" / "flood_class_20160812.tif"
    flood = first_band(path)
    assert (flood[normal == 1] == 1).all()
    east_water = (label == 1) & (normal == 0) & (np.arange(label.shape[1])[None, :] >= 256)
    assert (flood[east_water] == 2).mean() > 0.7 and not (flood == 7).any()
    props = json.loads(path.with_suffix(".json").read_text())["properties"]
    assert props["flood_detected"] is True and props["agromap:reference_water"] == "supplied layer"
    assert not any("reference" in w for w in result.manifest["warnings"])
