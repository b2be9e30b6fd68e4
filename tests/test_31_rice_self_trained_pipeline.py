"""`method: self_trained` end to end from the command line, on the synthetic delta's Sentinel-1 files."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import rasterio
import yaml

from agromap.errors import ConfigError
from agromap.pipeline.config import parse_config
from rasters import first_band

ROOT = Path(__file__).resolve().parents[1]
DELTA = ROOT / "sample_data" / "synthetic_rice_delta"

pytestmark = pytest.mark.integration


S2 = {"kind": "folder", "path": str(DELTA / "s2"), "bands": ["blue", "green", "red", "nir", "swir16", "swir22", "scl"],
      "scale": 0.0001, "nodata": 0, "raw": ["scl"]}
S1 = {"kind": "folder", "path": str(DELTA / "s1"), "bands": ["vv", "vh"], "sar_units": "linear"}


#: The delta's top-left 112 x 112 px (EPSG:32644, 10 m): a small area keeps the CLI run quick.
GRID = {"crs": "EPSG:32644", "resolution": 10, "bounds": [500000, 2898880, 501120, 2900000]}
N = 112


def _config(tmp: Path, inputs: tuple[dict, ...] = (S1,), **layer: object) -> Path:
    cfg = {"version": 1, "name": "selftrain", "scheduler": "threads", "chunk": 256, "areas": [{
        "name": "delta", "grid": GRID, "inputs": list(inputs),
        "layers": [{"product": "rice", "method": "self_trained", "rule": "sar", "speckle_filter": 3,
                    **layer}]}]}  # fmt: skip
    path = tmp / "selftrain.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, agromap_cli):
    tmp = tmp_path_factory.mktemp("selftrain")
    cfg = _config(tmp, (S2, S1), rule="both", self_train={"n_estimators": 60})
    out = tmp / "out"
    proc = agromap_cli.run("run", str(cfg), "--out", str(out), "--scheduler", "threads", timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def test_cli_run_writes_the_self_trained_map_and_its_training_counts(cli_run):
    out = cli_run
    (cls_path,) = sorted((out / "delta").glob("rice_class_self_trained_*.tif"))
    (prob_path,) = sorted((out / "delta").glob("rice_prob_self_trained_*.tif"))
    rice = first_band(cls_path)
    truth = first_band(DELTA / "truth_landcover.tif")[:N, :N] == 1
    assert rice.shape == truth.shape
    oa = ((rice == 1) == truth)[rice != 255].mean()
    print(f"\n[self-trained map (S1 + S2, both rules), synthetic delta 112 px] OA {oa:.3f} vs truth")
    assert oa > 0.95
    assert first_band(prob_path).max() <= 100
    with rasterio.open(cls_path) as src:
        tags = src.tags()
    n_rice, n_other = int(tags["N_TRAIN_RICE"]), int(tags["N_TRAIN_OTHER"])
    assert 30 <= n_rice <= 2000 and 30 <= n_other <= 2000 and int(tags["N_CONFIDENT_RICE"]) >= n_rice
    item = json.loads(cls_path.with_suffix(".json").read_text())
    assert item["properties"]["agromap:n_train_rice"] == n_rice and item["properties"]["agromap:rule"] == "both"
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(o for o in manifest["outputs"] if o["path"].endswith(cls_path.name))
    assert entry["values"]["n_train_other"] == n_other


def test_config_checks_for_self_training_and_calendars(tmp_path):
    base = yaml.safe_load(_config(tmp_path).read_text())
    layer = base["areas"][0]["layers"][0]
    parse_config(base)
    for bad, msg in (({"rule": None}, "needs rule"), ({"method": "sar", "rule": "sar"}, "self_trained only"),
                     ({"calendar": "atlantis"}, "unknown crop calendar 'atlantis'"),
                     ({"self_train": {"spacing": 3}}, None)):
        cfg = json.loads(json.dumps(base))
        cfg["areas"][0]["layers"][0] = {**layer, **bad}
        if msg is None:  # unknown SelfTrainParams field: refused when the layer is planned
            from agromap.pipeline.runner import plan_run

            with pytest.raises(ConfigError, match="unknown rice parameter"):
                plan_run(parse_config(cfg))
            continue
        with pytest.raises(ConfigError, match=msg):
            parse_config(cfg)
    cfg = json.loads(json.dumps(base))
    cfg["areas"][0]["layers"][0]["calendar"] = "mekong_delta"
    assert parse_config(cfg).areas[0].layers[0].calendar == "mekong_delta"


def test_validate_checks_the_reference_column(tmp_path, agromap_cli):
    pts = gpd.read_file(DELTA / "reference_sample.geojson")
    good = tmp_path / "good.geojson"
    pts.to_file(good)
    old = tmp_path / "old.geojson"
    pts.rename(columns={"reference": "reference_class"}).to_file(old)
    empty = tmp_path / "empty.geojson"
    pts.assign(reference=None).to_file(empty)
    from agromap.errors import LabelError
    from agromap.pipeline.config import load_config
    from agromap.pipeline.runner import plan_run

    (plan,) = plan_run(load_config(_config(tmp_path, reference_sample=str(good), speckle_filter=0)))
    assert any(p.stem.startswith("rice_class_self_trained") for p in plan.layers)
    # The old column name: `agromap validate` refuses it in one line, before anything is computed.
    proc = agromap_cli.run("validate", str(_config(tmp_path, reference_sample=str(old))))
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "no class column 'reference'" in proc.stderr and "'reference_class'" in proc.stderr
    assert proc.stderr.startswith("agromap: error:") and len(proc.stderr.strip().splitlines()) == 1
    with pytest.raises(LabelError, match="Fill 'reference'"):  # the sample was drawn but never interpreted
        plan_run(load_config(_config(tmp_path, reference_sample=str(empty), speckle_filter=0)))
    # The older column name works when the layer says so.
    plan_run(load_config(_config(tmp_path, reference_sample=str(old), reference_field="reference_class",
                                 speckle_filter=0)))


def test_both_rules_take_each_parameter_where_it_belongs():
    from agromap.pipeline.products.rice import _both_params
    from agromap.rice.rules_optical import OpticalRiceParams
    from agromap.rice.rules_sar import SarRiceParams

    sar, opt = _both_params({"vh_min_db": -19.0, "flood_t": 0.1, "min_season_days": 70}, "here")
    assert isinstance(sar, SarRiceParams) and isinstance(opt, OpticalRiceParams)
    assert (sar.vh_min_db, opt.flood_t, sar.min_season_days, opt.min_season_days) == (-19.0, 0.1, 70, 70)
    with pytest.raises(ConfigError, match="unknown rice parameter"):
        _both_params({"T": 1}, "here")


def test_a_desk_s_labels_file_validates_and_a_wrong_one_is_one_line(tmp_path, agromap_cli):
    """``labels:`` on a self-trained layer: read with the reader `rice-train` uses, when the layer is
    planned, so `agromap validate` refuses a file the map cannot use."""
    from agromap.errors import LabelError
    from agromap.pipeline.config import load_config
    from agromap.pipeline.runner import plan_run

    pts = gpd.read_file(DELTA / "reference_sample.geojson")  # lon/lat; the area is in UTM 44N
    good = tmp_path / "labels.geojson"
    pts.to_crs(GRID["crs"]).rename(columns={"reference": "class"}).to_file(good)
    (plan,) = plan_run(load_config(_config(tmp_path, labels=str(good), speckle_filter=0)))
    (cls,) = [p for p in plan.layers if p.stem.startswith("rice_class_self_trained")]
    assert set(cls.side) >= {"n_user_rice", "n_user_other", "n_pseudo_dropped", "label_refit"}
    wrong = tmp_path / "wrong.geojson"
    pts.to_file(wrong)
    for path, field, msg in ((wrong, "reference", "labels are in EPSG:4326 but the raster is in EPSG:32644"),
                             (good, "reference", "no class column 'reference'")):
        proc = agromap_cli.run("validate", str(_config(tmp_path, labels=str(path), label_field=field)))
        assert proc.returncode == LabelError.exit_code == 3 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("agromap: error:") and len(proc.stderr.strip().splitlines()) == 1
        assert msg in proc.stderr
    with pytest.raises(ConfigError, match="self_trained only"):
        parse_config(yaml.safe_load(_config(tmp_path, method="sar", rule=None, labels=str(good)).read_text()))


def test_cli_run_with_labels_reports_the_user_counts(tmp_path, agromap_cli):
    pts = gpd.read_file(DELTA / "reference_sample.geojson").to_crs(GRID["crs"])
    labels = tmp_path / "labels.geojson"
    pts.rename(columns={"reference": "class"}).to_file(labels)
    inside = pts.cx[GRID["bounds"][0]:GRID["bounds"][2], GRID["bounds"][1]:GRID["bounds"][3]]
    cfg = _config(tmp_path, (S2, S1), rule="both", self_train={"n_estimators": 30}, labels=str(labels))
    out = tmp_path / "out"
    proc = agromap_cli.run("run", str(cfg), "--out", str(out), "--scheduler", "threads", timeout=600)
    assert proc.returncode == 0, proc.stderr
    (cls_path,) = sorted((out / "delta").glob("rice_class_self_trained_*.tif"))
    with rasterio.open(cls_path) as src:
        tags = src.tags()
    # every label in the area trains the map (the others lie outside it), whatever the lattice
    assert (int(tags["N_USER_RICE"]), int(tags["N_USER_OTHER"])) == (int((inside.reference == 1).sum()),
                                                                     int((inside.reference == 0).sum()))
    assert int(tags["N_PSEUDO_DROPPED"]) >= 0
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(o for o in manifest["outputs"] if o["path"].endswith(cls_path.name))
    assert entry["values"]["n_user_rice"] == int(tags["N_USER_RICE"])
