"""District statistics: exact fractional coverage × true pixel area, zonal stats, tables."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod, Transformer
from shapely.geometry import Polygon, box

from agromap.area import row_area_m2
from agromap.errors import NoOverlapError, UnknownCRSError, ZonalError
from agromap.rice.accuracy import olofsson
from agromap.testing import count_computes, make_raster
from agromap.zonal import class_area_by_polygon, write_table, zonal_stats
from conftest import SAMPLES, write_tif

UTM = "EPSG:32643"
X0, Y0 = 700_000.0, 1_450_000.0  # top-left corner of the synthetic 10 m map


@pytest.fixture(scope="module")
def class_values() -> np.ndarray:
    """12 x 10 px: rice (1) in rows 0-5, cols 0-4; water (2) in rows 6-11, cols 5-9; nodata at (11, 0)."""
    v = np.zeros((12, 10), dtype=np.uint8)
    v[:6, :5] = 1
    v[6:, 5:] = 2
    v[11, 0] = 255
    return v


@pytest.fixture(scope="module")
def polygons() -> gpd.GeoDataFrame:
    """Two hand-made districts; 'B' straddles pixel edges so fractional coverage matters."""
    a = box(X0, Y0 - 60.0, X0 + 50.0, Y0)  # exactly the rice block: 0.30 ha of rice
    # B: a triangle and rectangle mix cutting cells: vertices off the 10 m grid.
    b = Polygon([(X0 + 33.0, Y0 - 27.0), (X0 + 87.0, Y0 - 27.0), (X0 + 87.0, Y0 - 104.0), (X0 + 3.0, Y0 - 119.5)])
    return gpd.GeoDataFrame({"code": ["A", "B"], "district": ["Alpha", "Beta"]}, geometry=[a, b], crs=UTM)


def _hand_area(poly: Polygon, mask: np.ndarray) -> float:
    """Σ over cells of mask of |cell ∩ poly| (m² → ha), by shapely: the hand computation."""
    total = 0.0
    for r, c in zip(*np.nonzero(mask)):
        cell = box(X0 + 10 * c, Y0 - 10 * (r + 1), X0 + 10 * (c + 1), Y0 - 10 * r)
        total += cell.intersection(poly).area
    return total / 1e4


@pytest.mark.parametrize("kind", ["numpy", "dask", "file"])
def test_class_area_matches_hand_computation(kind, class_values, polygons, tmp_path) -> None:
    arr = make_raster(class_values, crs=UTM, origin=(X0, Y0))
    src = {"numpy": arr, "dask": arr.chunk(y=5, x=4),
           "file": write_tif(tmp_path / "cls.tif", class_values, crs=UTM, origin=(X0, Y0), nodata=255)}[kind]
    table = class_area_by_polygon(src, polygons, class_value=1, id_field="code", name_field="district")
    assert table["id"].tolist() == ["A", "B"] and table["name"].tolist() == ["Alpha", "Beta"]
    for i, poly in enumerate(polygons.geometry):
        rice = _hand_area(poly, class_values == 1)
        valid = _hand_area(poly, class_values != 255)
        assert table["area_ha"][i] == pytest.approx(rice, rel=1e-6)
        assert table["valid_area_ha"][i] == pytest.approx(valid, rel=1e-6)
        assert table["polygon_area_ha"][i] == pytest.approx(poly.area / 1e4, rel=1e-9)
    assert table["area_ha"][0] == pytest.approx(0.30, rel=1e-9)
    # B is not aligned with the grid: a centre-in-polygon count would give a different area.
    b = polygons.geometry[1]
    centres = sum(b.contains(box(X0 + 10 * c + 4.9, Y0 - 10 * r - 5.1, X0 + 10 * c + 5.1, Y0 - 10 * r - 4.9))
                  for r, c in zip(*np.nonzero(class_values == 1)))
    assert abs(centres * 0.01 - table["area_ha"][1]) > 1e-3
    assert table["covered_fraction"][1] < 1.0  # B leaves the map at the bottom and holds the nodata cell


def test_dask_class_map_read_once_per_chunk_row(class_values, polygons) -> None:
    arr = make_raster(class_values, crs=UTM, origin=(X0, Y0), chunks={"y": 4, "x": 5})
    with count_computes() as counter:
        class_area_by_polygon(arr, polygons, 1, "code")
    assert counter.total_computes == 3  # 12 rows / 4: one compute per chunk row, not per polygon or source


def test_water_class_and_partition(class_values, polygons) -> None:
    whole = gpd.GeoDataFrame({"code": ["all"]}, geometry=[box(X0, Y0 - 120, X0 + 100, Y0)], crs=UTM)
    t = class_area_by_polygon(make_raster(class_values, crs=UTM, origin=(X0, Y0)), whole, 2, "code")
    assert t["area_ha"][0] == pytest.approx(0.30) and t["valid_area_ha"][0] == pytest.approx(1.19)
    assert t["covered_fraction"][0] == pytest.approx(1.19 / 1.20)
    assert t["class_fraction"][0] == pytest.approx(0.30 / 1.19)


def _disc_map(crs: str, res: float, x0: float, y0: float, shape: tuple[int, int], centre, radius_m: float):
    """Class 1 where the pixel centre is within radius_m (geodesic) of centre, else 0."""
    ny, nx = shape
    xs = x0 + res * (np.arange(nx) + 0.5)
    ys = y0 - res * (np.arange(ny) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(gx, gy)
    _, _, dist = Geod(ellps="WGS84").inv(np.full(lon.shape, centre[0]), np.full(lat.shape, centre[1]), lon, lat)
    return make_raster((dist <= radius_m).astype(np.uint8), crs=crs, res=res, origin=(x0, y0))


def test_geographic_map_area_equals_utm_map_area() -> None:
    """The same 600 m disc mapped on a 0.0001° grid and on a 10 m UTM grid: areas agree within 1 %."""
    centre = (77.60, 12.97)
    to_utm = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    cx, cy = to_utm.transform(*centre)
    utm = _disc_map(UTM, 10.0, round(cx) - 800.0, round(cy) + 800.0, (160, 160), centre, 600.0)
    geo = _disc_map("EPSG:4326", 1e-4, centre[0] - 0.0075, centre[1] + 0.0075, (150, 150), centre, 600.0)
    district = gpd.GeoDataFrame({"id": [1]}, geometry=[box(77.592, 12.962, 77.608, 12.978)], crs="EPSG:4326")
    a_utm = class_area_by_polygon(utm, district, 1, "id")["area_ha"][0]
    a_geo = class_area_by_polygon(geo, district, 1, "id")["area_ha"][0]
    true_disc = np.pi * 600.0**2 / 1e4  # 113.1 ha
    assert a_geo == pytest.approx(a_utm, rel=0.01)
    assert a_geo == pytest.approx(true_disc, rel=0.01) and a_utm == pytest.approx(true_disc, rel=0.01)
    # Counting EPSG:4326 pixels at the equator's cell size would be off by far more than 1 %.
    equator_cell_ha = row_area_m2(geo.odc.geobox)[0] / 1e4 / np.cos(np.radians(12.97))
    assert abs(int(geo.sum()) * equator_cell_ha - true_disc) / true_disc > 0.02


def test_geographic_hand_case_whole_cells() -> None:
    """A polygon made of whole 0.01° cells: area = Σ ellipsoidal row areas = pyproj.Geod area."""
    values = np.ones((6, 5), dtype=np.uint8)
    arr = make_raster(values, crs="EPSG:4326", res=0.01, origin=(10.0, 60.0))
    poly = box(10.01, 59.96, 10.04, 59.99)  # rows 1-3, cols 1-3
    t = class_area_by_polygon(arr, gpd.GeoDataFrame({"id": [0]}, geometry=[poly], crs="EPSG:4326"), 1, "id")
    rows = row_area_m2(arr.odc.geobox) / 1e4
    assert t["area_ha"][0] == pytest.approx(3 * rows[1:4].sum(), rel=1e-6)
    geod_ha = abs(Geod(ellps="WGS84").geometry_area_perimeter(poly)[0]) / 1e4
    assert t["area_ha"][0] == pytest.approx(geod_ha, rel=1e-4)
    assert t["polygon_area_ha"][0] == pytest.approx(geod_ha, rel=1e-9)


def test_polygons_are_reprojected(class_values, polygons) -> None:
    arr = make_raster(class_values, crs=UTM, origin=(X0, Y0))
    utm = class_area_by_polygon(arr, polygons, 1, "code")
    ll = class_area_by_polygon(arr, polygons.to_crs("EPSG:4326"), 1, "code")
    np.testing.assert_allclose(ll["area_ha"], utm["area_ha"], rtol=1e-6)


def test_errors(class_values, polygons) -> None:
    arr = make_raster(class_values, crs=UTM, origin=(X0, Y0))
    far = gpd.GeoDataFrame({"code": ["Z"]}, geometry=[box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)], crs=UTM)
    with pytest.raises(NoOverlapError, match="none of the 1 polygons"):
        class_area_by_polygon(arr, far, 1, "code")
    mixed = pd.concat([polygons, far], ignore_index=True)
    with pytest.raises(NoOverlapError, match=r"outside='keep'"):
        class_area_by_polygon(arr, mixed, 1, "code")
    kept = class_area_by_polygon(arr, mixed, 1, "code", outside="keep")
    assert np.isnan(kept["area_ha"][2]) and kept["covered_fraction"][2] == 0.0
    with pytest.raises(UnknownCRSError, match="set_crs"):
        class_area_by_polygon(arr, polygons.set_crs(None, allow_override=True), 1, "code")
    with pytest.raises(ZonalError, match="not unique"):
        class_area_by_polygon(arr, polygons.assign(code=["A", "A"]), 1, "code")
    with pytest.raises(ZonalError, match="'nope'"):
        class_area_by_polygon(arr, polygons, 1, "nope")


def test_zonal_stats_hand_computed(polygons) -> None:
    values = np.arange(120, dtype=np.float32).reshape(12, 10)
    values[0, 0] = np.nan
    arr = make_raster(values, crs=UTM, origin=(X0, Y0))
    t = zonal_stats(arr, polygons, ("mean", "max", "count", "sum"), "code")
    for i, poly in enumerate(polygons.geometry):
        cov = np.zeros_like(values, dtype=np.float64)
        for r in range(12):
            for c in range(10):
                cell = box(X0 + 10 * c, Y0 - 10 * (r + 1), X0 + 10 * (c + 1), Y0 - 10 * r)
                cov[r, c] = cell.intersection(poly).area / 100.0
        ok = ~np.isnan(values) & (cov > 0)
        assert t["count"][i] == pytest.approx(cov[ok].sum(), rel=1e-6)  # exactextract stores float32 fractions
        assert t["sum"][i] == pytest.approx((values[ok] * cov[ok]).sum(), rel=1e-6)
        assert t["mean"][i] == pytest.approx((values[ok] * cov[ok]).sum() / cov[ok].sum(), rel=1e-6)
        assert t["max"][i] == values[ok].max()
    with pytest.raises(ZonalError, match="unknown statistic"):
        zonal_stats(arr, polygons, ("mode",), "code")


def test_district_ci_from_olofsson(class_values) -> None:
    arr = make_raster(class_values, crs=UTM, origin=(X0, Y0))
    halves = gpd.GeoDataFrame({"code": ["N", "S"]}, crs=UTM, geometry=[
        box(X0, Y0 - 40, X0 + 100, Y0), box(X0, Y0 - 120, X0 + 100, Y0 - 40)])
    # mapped: other 0.59 ha, rice 0.30 ha, water 0.30 ha (the whole map)
    est = olofsson([[80, 15, 5], [10, 88, 2], [3, 0, 97]], [0.59, 0.30, 0.30],
                   class_names=["other", "rice", "water"], class_values=[0, 1, 2])
    t = class_area_by_polygon(arr, halves, 1, "code", estimate=est)
    assert t["area_ha"].sum() == pytest.approx(0.30)
    assert t["adj_area_ha"].sum() == pytest.approx(est.area_ha[1], rel=1e-9)
    assert t["adj_area_ci95_ha"].sum() == pytest.approx(est.area_ci_ha[1], rel=1e-9)
    np.testing.assert_allclose(t["adj_area_ha"] / t["area_ha"], est.area_ha[1] / 0.30)
    assert t.attrs["adjustment"].startswith("global Olofsson estimate pro-rated")
    t2 = class_area_by_polygon(arr, halves, 1, "code", estimate=est, estimate_class="rice")
    np.testing.assert_allclose(t2["adj_area_ha"], t["adj_area_ha"])


def test_write_table_csv_and_geojson(tmp_path, class_values, polygons) -> None:
    arr = make_raster(class_values, crs=UTM, origin=(X0, Y0))
    t = class_area_by_polygon(arr, polygons, 1, "code", name_field="district")
    paths = write_table(t, tmp_path / "rice_by_district.csv", tmp_path / "rice_by_district.geojson", polygons)
    assert [p.name for p in paths] == ["rice_by_district.csv", "rice_by_district.geojson"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rice_by_district.csv", "rice_by_district.geojson"]
    back = pd.read_csv(paths[0])
    np.testing.assert_allclose(back["area_ha"], t["area_ha"], atol=5e-5)  # rounded to 1 m²
    doc = json.loads(paths[1].read_text())
    assert [f["properties"]["id"] for f in doc["features"]] == ["A", "B"]
    assert doc["features"][0]["properties"]["area_ha"] == pytest.approx(t["area_ha"][0], abs=5e-5)
    lon = doc["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 70 < lon < 80  # written in lon/lat
    with pytest.raises(ZonalError, match="polygons="):
        write_table(t, tmp_path / "x.csv", tmp_path / "x.geojson")


@pytest.mark.integration
def test_bengaluru_wards_on_geographic_map() -> None:
    """Real ward polygons (EPSG:4326) over a synthetic 0.0009° class map covering the city."""
    wards_path = SAMPLES / "bengaluru_wards" / "bbmpwards.shp"
    wards = gpd.read_file(wards_path)
    res = 0.0009
    x0, y0 = 77.455, 13.150
    ny, nx = int((13.150 - 12.825) / res) + 1, int((77.790 - 77.455) / res) + 1
    cols = np.arange(nx)
    values = np.broadcast_to((cols % 2 == 0).astype(np.uint8), (ny, nx)).copy()  # every other column rice
    values[:10] = 255  # a nodata strip north of the city
    arr = make_raster(values, crs="EPSG:4326", res=res, origin=(x0, y0))
    t = class_area_by_polygon(arr.chunk(y=128, x=128), wards_path, 1, "WARD_NO", name_field="WARD_NAME")
    assert len(t) == 198 and t["id"].is_unique
    geod = Geod(ellps="WGS84")
    want = np.array([abs(geod.geometry_area_perimeter(g)[0]) / 1e4 for g in wards.geometry])
    np.testing.assert_allclose(t["polygon_area_ha"], want, rtol=1e-9)
    assert t["polygon_area_ha"].sum() == pytest.approx(71_160, rel=0.01)  # about 712 km²
    # The map covers the city except a nodata strip north of 13.141° N, which clips the northern wards.
    clipped = (wards.geometry.bounds["maxy"] > y0 - 10 * res).to_numpy()
    assert 0 < clipped.sum() < 10
    np.testing.assert_allclose(t["valid_area_ha"][~clipped], t["polygon_area_ha"][~clipped], rtol=1e-4)
    assert (t["covered_fraction"][clipped] < 0.999).all()
    # Alternate columns are rice: about half of each ward (within a column's width of 50 %).
    assert t["class_fraction"].between(0.40, 0.60).all()
    assert t["area_ha"].sum() == pytest.approx(0.5 * t["polygon_area_ha"].sum(), rel=0.01)
    out = class_area_by_polygon(arr, wards.to_crs(UTM), 1, "WARD_NO")  # numpy path, polygons in UTM
    np.testing.assert_allclose(out["area_ha"], t["area_ha"], rtol=1e-6)


def test_lazy_class_area_sums_equal_the_table_of_the_whole_map(class_values, polygons) -> None:
    """Chunk by chunk sums (computed with the map in the run's one pass) give the same table as
    exactextract over the whole map, to float round-off, with nothing computed while planning."""
    from agromap.testing import raise_if_dask_computes
    from agromap.zonal import class_area_sums, class_area_table, prepare_districts

    arr = make_raster(class_values, crs=UTM, origin=(X0, Y0)).chunk(y=5, x=4)  # chunk edges cut district B
    districts = prepare_districts(polygons, arr.odc.geobox, "code", name_field="district")
    with raise_if_dask_computes():
        lazy = class_area_sums(arr, districts, [0, 1, 2])
    sums = lazy.compute()
    for value in (1, 2):
        whole = class_area_by_polygon(arr, polygons, value, "code", name_field="district")
        part = class_area_table(sums, districts, [0, 1, 2], value)
        assert part["id"].tolist() == ["A", "B"] and part["name"].tolist() == ["Alpha", "Beta"]
        for col in ("area_ha", "valid_area_ha", "polygon_area_ha", "covered_fraction", "class_fraction"):
            np.testing.assert_allclose(part[col], whole[col], rtol=1e-9, atol=1e-12)
    assert part["area_ha"][1] == pytest.approx(_hand_area(polygons.geometry[1], class_values == 2), rel=1e-6)
