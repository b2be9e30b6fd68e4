"""The Vegetation Health Index product end to end, against values computed by hand (Kogan 1995)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from agromap.errors import MissingBandError
from agromap.pipeline.config import parse_config
from agromap.pipeline.runner import plan_run, run

DATES = ("2020-06-01", "2021-06-01", "2022-06-01")
SHAPE = (16, 16)
# NDVI 0.2, 0.6, 0.4 with red 0.1 -> VCI 0, 100, 50 (the June record of every pixel).
NIR = (0.15, 0.4, 0.1 * 1.4 / 0.6)
# Left half: 310, 300, 305 K -> TCI 0, 100, 50; right half: 300, 310, 305 K -> TCI 100, 0, 50.
LEFT, RIGHT = (310.0, 300.0, 305.0), (300.0, 310.0, 305.0)
CLOUD = (3, 2)  # cloudy (red and nir NaN) on the second date, and a cold cloud top of 280 K


def _write(path: Path, values: np.ndarray) -> str:
    profile = {"driver": "GTiff", "height": SHAPE[0], "width": SHAPE[1], "count": 1, "dtype": "float32",
               "crs": "EPSG:32643", "transform": from_origin(500_000, 2_000_000, 30, 30), "nodata": float("nan")}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(np.float32), 1)
    return path.name


def _config(tmp: Path, **layer) -> dict:
    inputs = []
    for k, date in enumerate(DATES):
        red = np.full(SHAPE, 0.1)
        nir = np.full(SHAPE, NIR[k])
        temp = np.where(np.arange(SHAPE[1])[None, :] < SHAPE[1] // 2, LEFT[k], RIGHT[k]) * np.ones(SHAPE)
        if k == 1:
            red[CLOUD], nir[CLOUD], temp[CLOUD] = np.nan, np.nan, 280.0
        bands = {b: _write(tmp / f"{date}_{b}.tif", v) for b, v in (("red", red), ("nir", nir), ("lwir11", temp))}
        inputs.append({"kind": "files", "datetime": date, "bands": bands})
    return {"name": "vhi", "scheduler": "synchronous", "chunk": 256,
            "areas": [{"name": "farm", "inputs": inputs, "layers": [{"product": "vhi", **layer}]}]}


def _read(path: Path) -> tuple[np.ndarray, dict]:
    with rasterio.open(path) as src:
        return src.read(1), {"dtype": src.dtypes[0], "nodata": src.nodata, "description": src.tags()["DESCRIPTION"]}


def test_vhi_matches_hand_computed_values(tmp_path):
    cfg = parse_config(_config(tmp_path), base_dir=tmp_path)
    result = run(cfg, tmp_path / "out")
    got = {d: _read(tmp_path / "out" / "farm" / f"vhi_{d.replace('-', '')}.tif") for d in DATES}
    left, right = (slice(None), slice(0, 8)), (slice(None), slice(8, None))
    expected = {DATES[0]: (0, 50), DATES[1]: (100, 50), DATES[2]: (50, 50)}  # 0.5 VCI + 0.5 TCI
    for date, (vals, meta) in got.items():
        assert meta["dtype"] == "uint8" and meta["nodata"] == 255 and "Kogan 1995" in meta["description"]
        lv, rv = vals[left].copy(), vals[right]
        lv[CLOUD] = expected[date][0]  # checked below
        assert (lv == expected[date][0]).all() and (rv == expected[date][1]).all(), (date, np.unique(vals))
    # The cloudy pixel: no value on the cloudy date, and its cold cloud top never enters the record:
    # VCI 0 and 100 from NDVI 0.2 and 0.4, TCI 0 and 100 from 310 and 305 K.
    assert [got[d][0][CLOUD] for d in DATES] == [0, 255, 100]
    entry = next(o for o in result.outputs if o["path"].endswith("vhi_20200601.tif"))
    assert entry["layer"] == "vhi" and entry["dtype"] == "uint8"
    ql = result.manifest["outputs"][0]["quicklook"]
    assert (tmp_path / "out" / ql).exists()


def test_vhi_needs_its_thermal_band(tmp_path):
    cfg = parse_config(_config(tmp_path, thermal_band="lwir"), base_dir=tmp_path)
    with pytest.raises(MissingBandError, match="'lwir' band"):
        plan_run(cfg)
