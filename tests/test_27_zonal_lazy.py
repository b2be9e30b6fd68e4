"""Per-district statistics of continuous layers computed with the layer (no read-back), against the
read-back reference :func:`agromap.zonal.zonal_stats` on a real Sentinel-1 chip and in a real run."""

from __future__ import annotations

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import Polygon, box

from agromap.io.grid import geobox_of
from agromap.io.layers import LayerSpec
from agromap.io.read import open_band
from agromap.layer_registry import get_layer
from agromap.testing import count_computes
from agromap.zonal import prepare_districts, zonal_stats
from agromap.zonal_lazy import STAT_COLUMNS, DistrictCover, continuous_sums, continuous_table
from conftest import SAMPLES

CHIP = SAMPLES / "sen1floods11_india" / "India_900498_S1Hand.tif"  # 512 x 512 px, EPSG:4326, NaN nodata


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    """Hand-made wards over the chip: overlapping, cutting chunk edges, half off, off, inside one cell."""
    with rasterio.open(CHIP) as src:
        left, bottom, right, top = src.bounds
        px = src.res[0]
    w, h = right - left, top - bottom
    at = lambda fx, fy: (left + fx * w, bottom + fy * h)  # noqa: E731
    polys = [
        Polygon([at(0.05, 0.1), at(0.6, 0.03), at(0.71, 0.64), at(0.12, 0.52)]),
        Polygon([at(0.4, 0.4), at(0.93, 0.45), at(0.55, 0.9)]),  # overlaps the first
        box(*at(0.8, 0.7), *at(1.2, 1.1)),  # half off the chip
        box(*at(1.5, 1.5), *at(1.6, 1.6)),  # off the chip
        box(left + 100.2 * px, top - 300.8 * px, left + 100.7 * px, top - 300.3 * px),  # inside one cell
    ]
    return gpd.GeoDataFrame({"ward": [11, 12, 13, 14, 15], "name": list("ABCDE")}, geometry=polys, crs="EPSG:4326")


def _lazy_table(path, polygons, spec: LayerSpec, chunks) -> pd.DataFrame:
    stored = open_band(path, raw=True, name=spec.name).chunk(chunks)
    gbox = geobox_of(stored)
    d = prepare_districts(polygons, gbox, "ward", name_field="name", outside="keep")
    with count_computes() as counter:
        sums = continuous_sums(stored, DistrictCover(d, gbox), spec)
    assert counter.total_computes == 0 and dask.is_dask_collection(sums)  # nothing computed before the run's compute
    return continuous_table(dask.compute(sums, scheduler="threads")[0], d)


def _assert_same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    for col in STAT_COLUMNS:
        a, b = new[col].to_numpy(), old[col].to_numpy()
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=col)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=col)


def test_continuous_stats_equal_the_read_back(districts):
    """VV backscatter (dB) of the real chip in chunks of 100 x 130 px: mean (area-weighted), min, max and
    fractional count per ward equal exactextract's on the whole file, NaN where exactextract has NaN."""
    spec = LayerSpec("vv", "continuous", "float32", float("nan"), "dB", "test layer")
    new = _lazy_table(CHIP, districts, spec, {"y": 100, "x": 130})
    old = zonal_stats(CHIP, districts, ("mean", "min", "max", "count"), "ward", name_field="name", outside="keep")
    _assert_same(new, old)
    assert list(new["id"]) == [11, 12, 13, 14, 15] and list(new["name"]) == list("ABCDE")
    # Real values, not all NaN: VV dB over the Assam chip lies in -40..+10 dB.
    assert np.isfinite(new["mean"][:3]).all() and (new["count"][:2] > 1000).all()
    assert np.isnan(new.loc[3, STAT_COLUMNS]).all()  # off the chip
    assert 0 < new.loc[4, "count"] < 1  # a ward inside one cell counts that cell's covered fraction


def test_stored_integers_are_decoded(tmp_path, districts):
    """A layer stored as int16 x 0.01 with nodata: statistics of the decoded values, nodata left out."""
    with rasterio.open(CHIP) as src:
        vv = src.read(1).astype(np.float64)
        profile = {"crs": src.crs, "transform": src.transform}
    stored = np.where(np.isfinite(vv), np.rint(vv / 0.01), -32768).astype(np.int16)
    stored[200:260, 50:400] = -32768  # a band of nodata across two wards
    decoded = np.where(stored == -32768, np.nan, stored * 0.01).astype(np.float64)
    spec = LayerSpec("vv_int", "continuous", "int16", -32768, "dB", "test layer", scale=0.01)
    paths = {}
    for name, arr, nodata in (("stored", stored, -32768), ("decoded", decoded, None)):
        paths[name] = tmp_path / f"{name}.tif"
        with rasterio.open(paths[name], "w", driver="GTiff", height=512, width=512, count=1, dtype=arr.dtype,
                           nodata=nodata, **profile) as dst:
            dst.write(arr, 1)
    new = _lazy_table(paths["stored"], districts, spec, 200)
    old = zonal_stats(paths["decoded"], districts, ("mean", "min", "max", "count"), "ward", name_field="name",
                      outside="keep")
    _assert_same(new, old)


def test_registered_continuous_spec_is_summarised():
    from agromap.pipeline.tables import has_district_stats

    assert has_district_stats(get_layer("ndvi")) and has_district_stats(get_layer("no2_trop_column"))
    # Bit fields and scaled counts have no mean worth a table; classes get class areas instead.
    assert not has_district_stats(get_layer("qa_flags")) and not has_district_stats(get_layer("water_mask"))


@pytest.mark.integration
def test_run_writes_district_tables_without_reading_layers_back(tmp_path, monkeypatch):
    """A real run (two dates of the synthetic delta on a 5 m grid: 320 x 320 px in four chunks that cut the districts):
    every published COG is moved away before the tables are written, so a table that read a layer
    back would fail; the tables still equal the read-back statistics of the COGs."""
    from agromap.pipeline import runner
    from agromap.pipeline.config import parse_config
    from agromap.zonal import round_table

    delta = SAMPLES / "synthetic_rice_delta"

    def config(layers: list[dict]) -> object:
        return parse_config({"chunk": 256, "areas": [{
            "name": "delta", "grid": {"crs": "EPSG:32644", "resolution": 5, "resampling": "bilinear"},
            "inputs": [{"kind": "files", "datetime": day, "scale": 0.0001, "nodata": 0, "raw": ["scl"],
                        "bands": {b: str(delta / "s2" / f"{day}_{b}.tif")
                                  for b in ("green", "red", "nir", "swir16", "scl")}}
                       for day in ("2023-08-15", "2023-09-14")],
            "layers": layers,
            "districts": {"path": str(delta / "districts.geojson"), "id_field": "district_id", "name_field": "name"}}]})

    first = [{"product": "ndvi", "time": "max"}, {"product": "water_mask", "method": "mndwi", "time": "median"}]
    cfg = config(first)
    out = tmp_path / "out"
    tables_phase = runner._tables
    moved: list[str] = []

    def without_layers(cfg, plans, jobs, outputs, out_dir):
        cogs = sorted(out_dir.rglob("*.tif"))
        for cog in cogs:
            cog.rename(cog.with_suffix(".away"))
        moved.extend(str(c.relative_to(out_dir)) for c in cogs)
        try:
            return tables_phase(cfg, plans, jobs, outputs, out_dir)
        finally:
            for cog in cogs:
                cog.with_suffix(".away").rename(cog)

    monkeypatch.setattr(runner, "_tables", without_layers)
    result = runner.run(cfg, out, scheduler="threads")
    assert len(moved) == 2
    tables = {t["layer"]: t for t in result.manifest["tables"]}
    assert set(tables) == set(moved)
    ndvi = next(p for p in moved if "ndvi" in p)
    new = pd.read_csv(out / tables[ndvi]["files"][0])
    old = round_table(zonal_stats(out / ndvi, delta / "districts.geojson", ("mean", "min", "max", "count"),
                                  "district_id", name_field="name", outside="keep"))
    assert len(new) == len(old) == 3 and new["count"].min() > 100
    for t in tables.values():  # every column is described from the layer's spec, with its unit
        columns = list(pd.read_csv(out / t["files"][0]).columns)
        assert list(t["columns"]) == columns and all(t["columns"].values()), t["columns"]
    assert "(1)" in tables[ndvi]["columns"]["mean"] and "Normalized Difference" in tables[ndvi]["columns"]["mean"]
    for col in STAT_COLUMNS:
        np.testing.assert_allclose(new[col], old[col], rtol=2e-6, err_msg=col)
    # A later run that adds a layer reuses the published ones: their sums come from their files
    # then (nothing else has them), and give the same table.
    monkeypatch.setattr(runner, "_tables", tables_phase)
    again = runner.run(config([*first, {"product": "lswi", "time": "max"}]), out, scheduler="threads")
    assert {o["path"]: o["reused"] for o in again.outputs}[ndvi] is True
    reused = next(t for t in again.manifest["tables"] if t["layer"] == ndvi)
    assert pd.read_csv(out / reused["files"][0]).equals(new)


def test_class_areas_from_the_shared_cover_equal_exactextract(tmp_path, districts):
    """A water map of the real chip (VV < -18 dB) in 100 x 130 px chunks: class and valid areas per
    ward from the block coverage equal exactextract's on the whole file (overlapping, cut, tiny wards)."""
    from agromap.zonal import class_area_by_polygon
    from agromap.zonal_lazy import class_sums

    with rasterio.open(CHIP) as src:
        vv = src.read(1)
        profile = {"crs": src.crs, "transform": src.transform}
    water = np.where(np.isfinite(vv), (vv < -18).astype(np.uint8), 255).astype(np.uint8)
    path = tmp_path / "water.tif"
    with rasterio.open(path, "w", driver="GTiff", height=512, width=512, count=1, dtype="uint8", nodata=255,
                       **profile) as dst:
        dst.write(water, 1)
    stored = open_band(path, raw=True, name="water").chunk({"y": 100, "x": 130})
    gbox = geobox_of(stored)
    d = prepare_districts(districts, gbox, "ward", outside="keep")
    sums = dask.compute(class_sums(stored, DistrictCover(d, gbox), [0, 1], 255), scheduler="threads")[0]
    for k, value in enumerate((0, 1)):
        ref = class_area_by_polygon(path, districts, value, "ward", outside="keep")
        np.testing.assert_allclose(sums[:, k][d.overlap], ref["area_ha"][d.overlap], rtol=1e-9)
        np.testing.assert_allclose(sums[:, -1][d.overlap], ref["valid_area_ha"][d.overlap], rtol=1e-9)
    assert sums[:2, 1].min() > 1.0 and sums[:2, 0].min() > 1.0  # both classes present in the big wards (ha)
