"""Air-quality inputs: S5P QA filtering and gridding, AOD decoding, station tables, PM2.5 from AOD.

Real data: the TROPOMI L2 CO subset (sample_data/s5p_co_l2_subset) and the Sentinel-2 AOT band.
Synthetic swaths are written as NetCDF files with the TROPOMI group layout, so the reader, the QA
filter and the binning run exactly as on real files.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from agromap.airquality import aod as aodm
from agromap.airquality import pm25 as pmm
from agromap.airquality import s5p, s5p_binning
from agromap.airquality import stations as st
from agromap.errors import (
    CalibrationError,
    CollocationError,
    ConfigError,
    EmptySwathError,
    GridMismatchError,
    InputError,
    MissingBandError,
    ModelFileError,
    NoValidDataError,
    S5PLayoutError,
    StationsOutsideGridError,
    StationTableError,
    WrongUnitsError,
)
from agromap.io import aod_read, s5p_read
from agromap.io.layers import LayerSpec
from agromap.sensors import s5p as s5p_products
from agromap.testing import make_geobox, make_raster, raise_if_dask_computes

ROOT = Path(__file__).resolve().parents[1]
CO_FILE = ROOT / "sample_data" / "s5p_co_l2_subset" / "S5P_OFFL_L2__CO_____20190913_subset_test.nc"
AOT_FILE = ROOT / "sample_data" / "sentinel2_l2a_29RKH_20200219" / "AOT.tif"
BLR_GPKG = Path(__file__).resolve().parents[1] / "sample_data" / "s5p_no2_bengaluru" / "s5p_no2_plots.gpkg"

# A 4 x 4 grid of 0.1 deg cells over Delhi-ish coordinates: lon 77.0-77.4, lat 28.6-29.0.
GRID = make_geobox((4, 4), crs="EPSG:4326", res=0.1, origin=(77.0, 29.0))
CELL_LON = 77.0 + 0.1 * np.arange(4) + 0.05
CELL_LAT = 29.0 - 0.1 * np.arange(4) - 0.05


# ---------------------------------------------------------------------------------- helpers
def write_swath(path: Path, lat, lon, value, qa=None, *, lat_b=None, lon_b=None, product="NO2",
                units="mol m-2", time="2023-11-05T08:00:00", with_qa=True) -> Path:
    """A NetCDF4 file with the TROPOMI L2 layout: PRODUCT/{latitude, longitude, qa_value, <var>}."""
    lat, lon, value = (np.atleast_2d(np.asarray(a, dtype=np.float32)) for a in (lat, lon, value))
    ns, ng = value.shape
    var = s5p_products.S5P_PRODUCTS[product].variable
    with netCDF4.Dataset(path, "w") as nc:
        nc.time_coverage_start = time + "Z"
        nc.time_coverage_end = time + "Z"
        g = nc.createGroup("PRODUCT")
        for d, n in (("time", 1), ("scanline", ns), ("ground_pixel", ng), ("corner", 4)):
            g.createDimension(d, n)
        dims = ("time", "scanline", "ground_pixel")
        for name, arr in (("latitude", lat), ("longitude", lon)):
            g.createVariable(name, "f4", dims)[:] = arr[None]
        v = g.createVariable(var, "f4", dims, fill_value=np.float32(9.96921e36))
        v.units = units
        v[:] = value[None]
        if with_qa:
            q = g.createVariable("qa_value", "u1", dims)
            q.scale_factor, q.add_offset = np.float32(0.01), np.float32(0.0)
            q.set_auto_maskandscale(False)
            q[:] = np.rint(np.broadcast_to(np.asarray(1.0 if qa is None else qa), value.shape) * 100)[None]
        dt = g.createVariable("delta_time", "i4", ("time", "scanline"))
        dt.units = f"milliseconds since {time[:10]} 00:00:00"
        dt[:] = np.full((1, ns), int(pd.Timedelta(pd.Timestamp(time) - pd.Timestamp(time[:10])).total_seconds() * 1000))
        if lat_b is not None:
            geo = g.createGroup("SUPPORT_DATA").createGroup("GEOLOCATIONS")
            for name, arr in (("latitude_bounds", lat_b), ("longitude_bounds", lon_b)):
                geo.createVariable(name, "f4", (*dims, "corner"))[:] = np.asarray(arr, dtype=np.float32).reshape(
                    ns, ng, 4)[None]
    return path


def square_pixels(lons, lats, half):
    """Centre arrays (ns, ng) -> corner arrays (ns, ng, 4) of axis-aligned squares of half-edge ``half``."""
    lons, lats = np.asarray(lons, float), np.asarray(lats, float)
    lon_b = np.stack([lons - half, lons + half, lons + half, lons - half], -1)
    lat_b = np.stack([lats - half, lats - half, lats + half, lats + half], -1)
    return lat_b, lon_b


def cell_centres():
    lon, lat = np.meshgrid(CELL_LON, CELL_LAT)
    return lat, lon


# -------------------------------------------------------------------------- real L2 CO subset
def _direct_from_file():
    """Kept pixels computed straight from the file with netCDF4 + numpy (the oracle)."""
    with netCDF4.Dataset(CO_FILE) as nc:
        p = nc["PRODUCT"]
        p.set_auto_maskandscale(False)
        qa = p["qa_value"][:][0].astype(int)
        co = np.asarray(p["carbonmonoxide_total_column"][:][0], dtype=np.float64)
        lat = np.asarray(p["latitude"][:][0], dtype=np.float64)
        lon = np.asarray(p["longitude"][:][0], dtype=np.float64)
    valid = co < 1e30
    return valid, qa, co, lat, lon


@pytest.mark.integration
def test_co_subset_qa_counts_match_direct_numpy():
    valid, qa, co, _lat, _lon = _direct_from_file()
    hdr = s5p_read.read_s5p_header(CO_FILE)
    assert (hdr.product.key, hdr.date, hdr.has_bounds, hdr.shape) == ("CO", "2019-09-13", False, (2, 215))
    sw = s5p.qa_filter(s5p_read.read_s5p_l2(CO_FILE))
    kept = valid & (qa > 50)
    assert sw.attrs["n_pixels"] == qa.size == 430
    assert sw.attrs["n_valid"] == int(valid.sum()) == 226
    assert sw.attrs["n_kept"] == int(kept.sum()) == 180
    assert sw.attrs["n_qa_rejected"] == int((valid & (qa <= 50)).sum()) == 46
    assert sw.attrs["n_outliers"] == 0
    np.testing.assert_array_equal(np.isfinite(sw["value"].values), kept)
    # A looser threshold keeps the qa 0.4 pixels too, but still not the 4 with a value and qa 0.
    loose = s5p.qa_filter(s5p_read.read_s5p_l2(CO_FILE), qa_threshold=0.3).attrs["n_kept"]
    assert loose == int((valid & (qa > 30)).sum()) == 222


@pytest.mark.integration
def test_co_subset_point_gridding_matches_histogram():
    valid, qa, co, lat, lon = _direct_from_file()
    kept = valid & (qa > 50)
    gbox = make_geobox((14, 50), crs="EPSG:4326", res=0.5, origin=(-7.0, 10.0))
    out = s5p_binning.bin_swath(s5p.qa_filter(s5p_read.read_s5p_l2(CO_FILE)), gbox)
    assert out.attrs["bin_method"] == "point" and out["co"].attrs["units"] == "mol m-2"
    assert out["co"].dtype == np.float32 and out["count"].dtype == np.uint16 and out["weight"].dtype == np.float32
    assert out.odc.geobox == gbox and out["co"].dims == ("y", "x")
    # Oracle: numpy histogram2d over the same cell edges (rows run north -> south).
    lat_edges, lon_edges = 10.0 - 0.5 * np.arange(15)[::-1], -7.0 + 0.5 * np.arange(51)
    cnt, _, _ = np.histogram2d(lat[kept], lon[kept], bins=[lat_edges, lon_edges])
    tot, _, _ = np.histogram2d(lat[kept], lon[kept], bins=[lat_edges, lon_edges], weights=co[kept])
    cnt, tot = cnt[::-1], tot[::-1]
    np.testing.assert_array_equal(out["count"].values, cnt)
    assert int(out["count"].sum()) == 180
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(out["co"].values, np.where(cnt > 0, tot / cnt, np.nan), rtol=1e-6)
    assert 0.0248 <= float(out["co"].min()) and float(out["co"].max()) <= 0.0423


@pytest.mark.integration
def test_co_subset_lazy_daily_grid_equals_eager():
    gbox = make_geobox((14, 50), crs="EPSG:4326", res=0.5, origin=(-7.0, 10.0))
    with raise_if_dask_computes():
        daily = s5p.grid_s5p([CO_FILE], gbox)
        monthly = s5p.monthly_mean(daily)
        assert daily["co"].dtype == np.float32 and daily["count"].dtype == np.uint16
        assert monthly["co"].dtype == np.float32 and monthly["n_days"].dtype == np.uint16
        assert daily["co"].dims == ("time", "y", "x") and daily["co"].chunks is not None
    eager = s5p_binning.bin_swath(s5p.qa_filter(s5p_read.read_s5p_l2(CO_FILE)), gbox)
    assert [str(t)[:10] for t in daily.time.values] == ["2019-09-13"]
    np.testing.assert_array_equal(daily["co"].values[0], eager["co"].values)
    np.testing.assert_array_equal(daily["count"].values[0], eager["count"].values)
    m = monthly.compute()
    assert str(m.time.values[0])[:10] == "2019-09-01"
    np.testing.assert_allclose(m["co"].values[0], eager["co"].values, rtol=1e-6)  # (mean x w) / w in float32
    assert int(m["count"].sum()) == 180 and int(m["n_days"].max()) == 1


# ------------------------------------------------------------------------- synthetic swaths
@pytest.mark.parametrize("method", ["area", "point"])
def test_constant_field_low_qa_dropped_mean_exact(tmp_path, method):
    lat, lon = cell_centres()
    const = np.float32(1.2e-4)
    # Two swath rows per cell row: the good pixels, and bad ones (qa 0.3) with a spoiled value.
    value = np.concatenate([np.full_like(lat, const), np.full_like(lat, 9e-4)])
    qa = np.concatenate([np.full_like(lat, 0.9), np.full_like(lat, 0.3)])
    lat2, lon2 = np.concatenate([lat, lat]), np.concatenate([lon, lon])
    lat_b, lon_b = square_pixels(lon2, lat2, 0.05)
    f = write_swath(tmp_path / "s.nc", lat2, lon2, value, qa, lat_b=lat_b, lon_b=lon_b)
    sw = s5p.qa_filter(s5p_read.read_s5p_l2(f))
    assert sw.attrs["n_kept"] == 16 and sw.attrs["n_qa_rejected"] == 16
    out = s5p_binning.bin_swath(sw, GRID, method=method)
    assert out.attrs["bin_method"] == method
    np.testing.assert_array_equal(out["no2"].values, np.full((4, 4), const, dtype=np.float32))
    np.testing.assert_array_equal(out["count"].values, np.ones((4, 4)))
    # Corners are float32 in the file (as in TROPOMI): areas are exact to ~1e-5 of a cell.
    np.testing.assert_allclose(out["weight"].values, 1.0, rtol=2e-4)


def test_area_weighting_by_overlap(tmp_path):
    # One pixel (0.1 deg square) centred on the corner shared by four cells: a quarter in each.
    # A second one covering exactly the top-left cell, with another value.
    lat = np.array([[28.9, 28.95]])
    lon = np.array([[77.1, 77.05]])
    lat_b, lon_b = square_pixels(lon, lat, 0.05)
    f = write_swath(tmp_path / "a.nc", lat, lon, [[4e-4, 2e-4]], lat_b=lat_b, lon_b=lon_b)
    out = s5p_binning.bin_swath(s5p.qa_filter(s5p_read.read_s5p_l2(f)), GRID)
    assert out.attrs["bin_method"] == "area"
    w = out["weight"].values
    # float32 corners (as in TROPOMI files): areas exact to ~1e-5 of a cell.
    np.testing.assert_allclose(w[:2, :2], [[1.25, 0.25], [0.25, 0.25]], rtol=2e-4)
    np.testing.assert_allclose(w.sum(), 2.0, rtol=2e-4)  # total weight = the pixels' areas in cells
    # Top-left cell: 1.0 x 2e-4 + 0.25 x 4e-4 over weight 1.25.
    np.testing.assert_allclose(out["no2"].values[0, 0], (2e-4 + 0.25 * 4e-4) / 1.25, rtol=2e-4)
    np.testing.assert_allclose(out["no2"].values[[0, 1, 1], [1, 0, 1]], 4e-4, rtol=1e-6)
    np.testing.assert_array_equal(out["count"].values[:2, :2], [[2, 1], [1, 1]])
    assert np.isnan(out["no2"].values[2:, :]).all()


def test_area_weighting_tilted_pixel_total_area(tmp_path):
    # A rotated quadrilateral (a diamond) of half-diagonal 0.1 deg centred in the grid: area 0.02 deg2 = 2 cells.
    c_lon, c_lat = 77.2, 28.8
    lon_b = np.array([[[c_lon - 0.1, c_lon, c_lon + 0.1, c_lon]]])
    lat_b = np.array([[[c_lat, c_lat - 0.1, c_lat, c_lat + 0.1]]])
    f = write_swath(tmp_path / "d.nc", [[c_lat]], [[c_lon]], [[3e-4]], lat_b=lat_b, lon_b=lon_b)
    out = s5p_binning.bin_swath(s5p.qa_filter(s5p_read.read_s5p_l2(f)), GRID)
    np.testing.assert_allclose(float(out["weight"].sum()), 2.0, rtol=2e-4)
    # Each of the 4 cells around the centre holds a triangle of half a cell.
    np.testing.assert_allclose(out["weight"].values[1:3, 1:3], 0.5, rtol=2e-4)
    np.testing.assert_array_equal(out["count"].values[1:3, 1:3], 1)
    assert int(out["count"].sum()) == 4
    np.testing.assert_allclose(np.nanmax(out["no2"].values), 3e-4, rtol=1e-6)


def test_area_weights_match_shapely(tmp_path):
    # Oracle: shapely's polygon intersection areas for random rotated, skewed pixels.
    from shapely.geometry import Polygon, box

    rng = np.random.default_rng(11)
    n = 40
    c_lon, c_lat = rng.uniform(76.95, 77.45, n), rng.uniform(28.55, 29.05, n)
    ang = rng.uniform(0, np.pi, n)[:, None] + np.array([0.0, 0.5, 1.0, 1.5]) * np.pi + rng.uniform(-0.3, 0.3, (n, 4))
    rad = rng.uniform(0.02, 0.09, (n, 4))
    lon_b, lat_b = c_lon[:, None] + rad * np.cos(ang), c_lat[:, None] + rad * np.sin(ang)
    vals = rng.uniform(1e-5, 1e-4, n)
    f = write_swath(tmp_path / "r.nc", c_lat[None], c_lon[None], vals[None], lat_b=lat_b[None], lon_b=lon_b[None])
    sw = s5p.qa_filter(s5p_read.read_s5p_l2(f))
    out = s5p_binning.bin_swath(sw, GRID, method="area")
    lonb, latb = sw["longitude_bounds"].values[0].astype(float), sw["latitude_bounds"].values[0].astype(float)
    w, wv = np.zeros((4, 4)), np.zeros((4, 4))
    for i in range(n):  # the oracle may loop; the code under test does not
        poly = Polygon(zip(lonb[i], latb[i], strict=True))
        for r in range(4):
            for c in range(4):
                a = poly.intersection(box(77.0 + 0.1 * c, 28.9 - 0.1 * r, 77.1 + 0.1 * c, 29.0 - 0.1 * r)).area / 0.01
                if a >= 1e-3:
                    w[r, c] += a
                    wv[r, c] += a * sw["value"].values[0, i]
    np.testing.assert_allclose(out["weight"].values, w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["no2"].values, np.where(w > 0, wv / np.where(w > 0, w, 1), np.nan), rtol=1e-4)


def test_negative_columns_kept_outliers_dropped(tmp_path):
    lat, lon = cell_centres()
    value = np.full_like(lat, 5e-5)
    value[0, 0] = -5e-4   # noise: kept
    value[0, 1] = -2e-3   # outlier below -0.001 mol m-2: dropped
    f = write_swath(tmp_path / "n.nc", lat, lon, value)
    sw = s5p.qa_filter(s5p_read.read_s5p_l2(f))
    assert sw.attrs["n_outliers"] == 1 and sw.attrs["n_kept"] == 15
    out = s5p_binning.bin_swath(sw, GRID)
    np.testing.assert_allclose(out["no2"].values[0, 0], -5e-4, rtol=1e-6)
    assert np.isnan(out["no2"].values[0, 1]) and out["count"].values[0, 1] == 0
    # The aerosol index has no lower bound.
    assert s5p_products.S5P_PRODUCTS["AER_AI"].min_value is None


def test_two_days_monthly_mean_and_count(tmp_path):
    lat, lon = cell_centres()
    day1 = write_swath(tmp_path / "d1.nc", lat, lon, np.full_like(lat, 1e-4), time="2023-11-05T08:00:00")
    # Day 2 covers the left half of the grid with 4 pixels per cell at 3e-4.
    sub = np.array([-0.025, 0.025])
    lat2 = (CELL_LAT[:, None, None, None] + sub[None, None, :, None] + 0 * sub[None, None, None, :])
    lon2 = (CELL_LON[None, :2, None, None] + sub[None, None, None, :] + 0 * sub[None, None, :, None])
    lat2, lon2 = np.broadcast_arrays(lat2, lon2)
    day2 = write_swath(tmp_path / "d2.nc", lat2.reshape(4, -1), lon2.reshape(4, -1),
                       np.full((4, 8), 3e-4), time="2023-11-20T08:30:00")
    # A second orbit on day 1 over the top row only, same value: merged into day 1.
    day1b = write_swath(tmp_path / "d1b.nc", lat[:1], lon[:1], np.full_like(lat[:1], 1e-4),
                        time="2023-11-05T10:10:00")
    with raise_if_dask_computes():
        daily = s5p.grid_s5p([day2, day1, day1b], GRID, method="point")
        mon_obs = s5p.monthly_mean(daily)
        mon_day = s5p.monthly_mean(daily, weighting="day")
    d = daily.compute()
    assert [str(t)[:10] for t in d.time.values] == ["2023-11-05", "2023-11-20"]
    np.testing.assert_array_equal(d["count"].values[0], np.r_[[[2] * 4], np.ones((3, 4))])
    m, md = mon_obs.compute(), mon_day.compute()
    assert m.sizes["time"] == 1
    left, right = np.s_[:, :2], np.s_[:, 2:]
    # Pooled: (1 x 1e-4 + 4 x 3e-4) / 5 in the overlap rows 1-3; the top row has 2 day-1 pixels.
    np.testing.assert_allclose(m["no2"].values[0][1:, :2], (1e-4 + 4 * 3e-4) / 5, rtol=1e-6)
    np.testing.assert_allclose(m["no2"].values[0][0, :2], (2 * 1e-4 + 4 * 3e-4) / 6, rtol=1e-6)
    np.testing.assert_allclose(m["no2"].values[0][right], 1e-4, rtol=1e-6)
    np.testing.assert_allclose(md["no2"].values[0][left], 2e-4, rtol=1e-6)  # mean of daily means
    np.testing.assert_array_equal(m["count"].values[0][1:], np.c_[np.full((3, 2), 5), np.ones((3, 2))])
    np.testing.assert_array_equal(m["n_days"].values[0], np.c_[np.full((4, 2), 2), np.ones((4, 2))])
    np.testing.assert_allclose(m["weight"].values[0], m["count"].values[0])  # point method: weight = count


def test_parallel_days_on_threads(tmp_path):
    # libhdf5 is not thread-safe: without the reader's lock, parallel day tasks segfaulted.
    import dask

    lat, lon = cell_centres()
    files = [write_swath(tmp_path / f"p{i}.nc", lat, lon, np.full_like(lat, (i + 1) * 1e-5),
                         time=f"2023-11-{i + 1:02d}T08:00:00") for i in range(12)]
    with dask.config.set(scheduler="threads", num_workers=4):
        daily = s5p.grid_s5p(files, GRID).compute()
    np.testing.assert_allclose(daily["no2"].values[:, 0, 0], (np.arange(12) + 1) * 1e-5, rtol=1e-6)


def test_qa_threshold_table_and_strict_comparison(tmp_path):
    assert dict(s5p_products.QA_THRESHOLDS) == {"NO2": 0.75, "CO": 0.5, "SO2": 0.5, "AER_AI": 0.8, "HCHO": 0.5}
    lat, lon = cell_centres()
    qa = np.full_like(lat, 0.75)
    qa[:2] = 0.76
    f = write_swath(tmp_path / "q.nc", lat, lon, np.full_like(lat, 1e-4), qa)
    sw = s5p.qa_filter(s5p_read.read_s5p_l2(f))
    assert sw.attrs["n_kept"] == 8  # qa_value > 0.75: exactly 0.75 is rejected, 0.76 kept
    assert sw.attrs["QA_FILTER"].startswith("qa_value>0.75")


def test_product_names_and_a_custom_product_kept_from_reading_to_grid(tmp_path):
    no2 = s5p_products.S5P_PRODUCTS["NO2"]
    assert all(s5p_products.get_s5p_product(n) is no2 for n in ("NO2", "no2", "L2__NO2___"))
    with pytest.raises(ConfigError, match="unknown S5P product 'O3'; known: NO2, CO, SO2, AER_AI, HCHO"):
        s5p_products.get_s5p_product("O3")
    lat, lon = cell_centres()
    qa = np.tile([0.4, 0.6, 0.8, 1.0], lat.size // 4).reshape(lat.shape)
    f = write_swath(tmp_path / "c.nc", lat, lon, np.full_like(lat, -0.002), qa)
    # NO2 defaults: qa > 0.75 and values below -0.001 mol m-2 dropped, so nothing is left.
    assert s5p.qa_filter(s5p_read.read_s5p_l2(f)).attrs["n_kept"] == 0
    loose = dataclasses.replace(no2, qa_threshold=0.5, min_value=None, layer="no2_loose")
    sw = s5p_read.read_s5p_l2(f, loose)
    assert s5p_products.product_from_attrs(sw.attrs) == loose
    kept = s5p.qa_filter(sw)
    assert kept.attrs["n_kept"] == int((qa > 0.5).sum()) == 12 and kept.attrs["QA_FILTER"] == "qa_value>0.5"
    out = s5p_binning.bin_swath(kept, GRID, method="point")
    assert out["no2"].attrs["layer"] == "no2_loose"
    assert np.nanmax(np.abs(out["no2"].values + 0.002)) < 1e-9 and int(out["count"].values.sum()) == 12


# ----------------------------------------------------------------------------- bad inputs
def test_missing_qa_value_is_refused_before_compute(tmp_path):
    lat, lon = cell_centres()
    f = write_swath(tmp_path / "noqa.nc", lat, lon, np.full_like(lat, 1e-4), with_qa=False)
    with pytest.raises(S5PLayoutError, match="qa_value") as ei:
        with raise_if_dask_computes():
            s5p.grid_s5p([f], GRID)
    assert isinstance(ei.value, MissingBandError) and ei.value.exit_code == 3


def test_wrong_units_in_file(tmp_path):
    lat, lon = cell_centres()
    f = write_swath(tmp_path / "u.nc", lat, lon, np.full_like(lat, 6e15), units="molec cm-2")
    with pytest.raises(WrongUnitsError, match="molec cm-2"):
        s5p_read.read_s5p_l2(f)


def test_empty_swath_after_qa(tmp_path):
    lat, lon = cell_centres()
    f = write_swath(tmp_path / "e.nc", lat, lon, np.full_like(lat, 1e-4), np.full_like(lat, 0.5))
    with pytest.raises(EmptySwathError, match="no pixel left after QA") as ei:
        s5p_binning.bin_swath(s5p.qa_filter(s5p_read.read_s5p_l2(f)), GRID)
    assert isinstance(ei.value, NoValidDataError) and ei.value.exit_code == 4
    daily = s5p.grid_s5p([f], GRID)  # default: an all-NaN day with count 0
    assert np.isnan(daily["no2"].values).all() and int(daily["count"].sum()) == 0
    with pytest.raises(EmptySwathError):
        s5p.grid_s5p([f], GRID, on_empty="raise").compute()


def test_swath_off_grid_and_bad_grid(tmp_path):
    lat, lon = cell_centres()
    f = write_swath(tmp_path / "o.nc", lat - 20, lon, np.full_like(lat, 1e-4))
    with pytest.raises(EmptySwathError, match="none on the grid"):
        s5p_binning.bin_swath(s5p.qa_filter(s5p_read.read_s5p_l2(f)), GRID)
    with pytest.raises(ConfigError, match="geographic"):
        s5p_binning.bin_swath(s5p.qa_filter(s5p_read.read_s5p_l2(f)), make_geobox((4, 4)))
    with pytest.raises(S5PLayoutError, match="corners"):
        s5p_binning.bin_swath(s5p.qa_filter(s5p_read.read_s5p_l2(f)), GRID, method="area")
    not_nc = tmp_path / "x.nc"
    not_nc.write_bytes(b"not a netcdf")
    with pytest.raises(InputError, match="not a readable NetCDF4"):
        s5p_read.read_s5p_header(not_nc)


# ------------------------------------------------------------------------------------ Level 3
def test_l3_geotiff_units(tmp_path):
    vals = np.array([[0, 50.0], [80.0, 28.0]], dtype=np.float32)  # µmol m-2, 0 = nodata
    path = tmp_path / "l3.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32", nodata=0,
                       crs="EPSG:4326", transform=Affine(0.01, 0, 77.5, 0, -0.01, 13.0)) as dst:
        dst.write(vals, 1)
    with raise_if_dask_computes():
        arr = s5p_read.open_l3_raster(path, units="µmol/m²", time="2020-04-01")
        assert arr.dtype == np.float32 and arr.dims == ("time", "y", "x") and arr.attrs["units"] == "mol m-2"
    np.testing.assert_allclose(arr.values[0], [[np.nan, 5e-5], [8e-5, 2.8e-5]], rtol=1e-6)
    with pytest.raises(WrongUnitsError, match="not a column unit"):
        s5p_read.open_l3_raster(path, units="µg m-3")
    mol = s5p_read.open_l3_raster(path, units="molec cm-2")
    np.testing.assert_allclose(mol.values[1, 0], 80.0 / 6.02214076e19, rtol=1e-6)  # N_A x 1e-4 factor


@pytest.mark.integration

def test_l3_bengaluru_gpkg_raster():
    arr = s5p_read.open_l3_raster(f"GPKG:{BLR_GPKG}:s5p_no2_plots_2020", units="umol m-2", time="2020-03-01")
    v = arr.values
    assert arr.odc.geobox.crs.epsg == 4326 and v.shape == (1, 344, 359)
    valid = np.isfinite(v)
    assert 0.55 < valid.mean() < 0.65  # ~59 % inside the city outline
    assert 2.7e-5 < np.nanmin(v) and np.nanmax(v) < 4.5e-5  # 27.7-44.2 µmol m-2


# ------------------------------------------------------------------------------------ AOD
@pytest.mark.parametrize(
    ("qa", "keep"),
    [
        (0b001, True),                       # clear, best
        (0b010, False),                      # possibly cloudy
        (0b011, False),                      # cloudy
        (0b101, False),                      # cloud shadow
        (0b110, False),                      # fire hot spot
        (0b000, False),                      # undefined
        (1 | (3 << 8), False),               # clear, neighbouring cloud
        (1 | (7 << 8), False),               # clear, climatology
        (1 | (11 << 8), False),              # clear, research quality
        (1 | (1 << 3) | (3 << 5), True),     # land/water and adjacency bits do not matter
        (1 | (1 << 12) | (1 << 13), True),   # glint and aerosol model (smoke) do not matter
    ],
)
def test_maiac_qa_bits_table(qa, keep):
    arr = make_raster(np.array([[qa]], dtype=np.uint16), crs="EPSG:4326", res=0.01, dtype=np.uint16)
    assert bool(aodm.maiac_qa_valid(arr).values[0, 0]) is keep


def test_maiac_qa_configurable_and_decoding():
    qa = make_raster(np.array([[0b010, 1 | (11 << 8)]], dtype=np.uint16), dtype=np.uint16)
    loose = aodm.MaiacQA(cloud_keep=(1, 2), qa_keep=(0, 11))
    assert aodm.maiac_qa_valid(qa, loose).values.tolist() == [[True, True]]
    with pytest.raises(ConfigError):
        aodm.MaiacQA(cloud_keep=(9,))
    dn = make_raster(np.array([[-100, 5000, -101, 5001, -28672, 250]], dtype=np.int16), dtype=np.int16,
                     chunks={"x": 2})
    with raise_if_dask_computes():
        out = aodm.decode_maiac_aod(dn)
        assert out.dtype == np.float32 and out.attrs["units"] == "1"
    np.testing.assert_allclose(out.values, [[-0.1, 5.0, np.nan, np.nan, np.nan, 0.25]], rtol=1e-6)


def _write(path, data, dtype, *, crs="EPSG:4326", transform=Affine(0.01, 0, 77.0, 0, -0.01, 29.0)):
    data = np.asarray(data, dtype=dtype)
    data = data if data.ndim == 3 else data[None]
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                       dtype=dtype, crs=crs, transform=transform) as dst:
        dst.write(data)
    return path


def test_open_maiac_geotiff_two_orbits(tmp_path):
    good, cloudy, nbr = 1, 3, 1 | (3 << 8)
    dn = [[[250, 400], [-28672, 100]], [[350, 800], [600, -28672]]]
    qa = [[[good, good], [good, good]], [[good, cloudy], [good, nbr]]]
    a = _write(tmp_path / "aod.tif", dn, "int16")
    q = _write(tmp_path / "qa.tif", qa, "uint16")
    with raise_if_dask_computes():
        out = aodm.open_maiac(a, q, time="2023-11-05")
        assert out.dtype == np.float32 and out.dims == ("time", "y", "x")
    # (0.25+0.35)/2; 0.4 (orbit 2 cloudy); 0.6 (orbit 1 fill); 0.1 (orbit 2 fill... and its QA rejects)
    np.testing.assert_allclose(out.values[0], [[0.3, 0.4], [0.6, 0.1]], rtol=1e-6)
    with pytest.raises(MissingBandError, match="same orbits"):
        aodm.open_maiac(a, _write(tmp_path / "qa1.tif", qa[0], "uint16"))


def test_open_maiac_netcdf(tmp_path):
    path = tmp_path / "maiac.nc"
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("lat", 2)
        nc.createDimension("lon", 3)
        la = nc.createVariable("lat", "f8", ("lat",))
        la[:], la.units, la.standard_name = [28.995, 28.985], "degrees_north", "latitude"
        lo = nc.createVariable("lon", "f8", ("lon",))
        lo[:], lo.units, lo.standard_name = [77.005, 77.015, 77.025], "degrees_east", "longitude"
        v = nc.createVariable("Optical_Depth_055", "i2", ("lat", "lon"))
        v.set_auto_maskandscale(False)
        v[:] = np.array([[120, 5001, 300], [-28672, 450, 60]], dtype=np.int16)
        q = nc.createVariable("AOD_QA", "u2", ("lat", "lon"))
        q.set_auto_maskandscale(False)
        q[:] = np.array([[1, 1, 2], [1, 1, 1]], dtype=np.uint16)
    a, qa = aod_read.maiac_netcdf_paths(path)
    with pytest.raises(InputError, match="no coordinate reference system"):
        aodm.open_maiac(a, qa)  # plain lat/lon variables declare no CRS: the caller must say which
    out = aodm.open_maiac(a, qa, crs="EPSG:4326")
    np.testing.assert_allclose(out.values, [[0.12, np.nan, np.nan], [np.nan, 0.45, 0.06]], rtol=1e-6)
    gb = out.odc.geobox
    assert gb.crs.geographic and abs(gb.affine.c - 77.0) < 1e-9 and abs(gb.affine.f - 29.0) < 1e-9


@pytest.mark.integration
def test_s2_aot_scaling_on_sample():
    with rasterio.open(AOT_FILE) as src:
        dn = src.read(1)
    with raise_if_dask_computes():
        aot = aod_read.open_s2_aot(AOT_FILE)
        assert aot.dtype == np.float32 and aot.attrs["units"] == "1"
    v = aot.values
    assert dn.min() == 188 and dn.max() == 196 and not (dn == 0).any()
    np.testing.assert_array_equal(v, dn.astype(np.float32) * np.float32(0.001))
    assert 0.188 - 1e-7 <= v.min() and v.max() <= 0.196 + 1e-7


def test_layer_specs():
    specs = {**s5p.LAYER_SPECS, **aodm.LAYER_SPECS, **pmm.LAYER_SPECS}
    for name in ("no2_trop_column", "co_column", "aod550", "pm25_sat", "obs_count"):
        assert isinstance(specs[name], LayerSpec)
    assert (specs["no2_trop_column"].dtype, specs["no2_trop_column"].units) == ("float32", "mol m-2")
    assert specs["co_column"].overview_resampling == "average" and np.isnan(specs["co_column"].nodata)
    assert (specs["aod550"].dtype, specs["aod550"].units) == ("float32", "1")
    assert specs["pm25_sat"].units == "µg m-3" and "not a regulatory measurement" in specs["pm25_sat"].description
    assert (specs["obs_count"].dtype, specs["obs_count"].nodata) == ("uint16", 65535)


# ------------------------------------------------------------------------------- stations
def _station_rows(n=20, days=40, *, seed=1, relation=lambda a, rng: 60 * a + 10 + rng.normal(0, 10, a.shape),
                  covariate=None):
    """AOD cube on a 0.1 deg grid and hourly-ish station PM2.5 following ``relation`` at the pixel."""
    rng = np.random.default_rng(seed)
    ny = nx = 8
    aod = rng.uniform(0.1, 1.5, (days, ny, nx)).astype(np.float32)
    times = pd.date_range("2023-10-01", periods=days, freq="D")
    cube = make_raster(aod, crs="EPSG:4326", res=0.1, origin=(77.0, 29.0), times=times, name="aod",
                       chunks={"time": 10, "y": 4, "x": 4})
    rows = []
    for s in range(n):
        r, c = rng.integers(0, ny), rng.integers(0, nx)
        lon, lat = 77.0 + 0.1 * c + 0.03, 29.0 - 0.1 * r - 0.07
        a = aod[:, r, c].astype(np.float64)
        extra = 0.0 if covariate is None else covariate[:, r, c]
        pm = relation(a, rng) + extra
        for t in range(days):
            for h, d in ((6, -1.0), (18, 1.0)):  # two records per day averaging to pm
                rows.append({"station_id": f"S{s:02d}", "lon": lon, "lat": lat,
                             "time": (times[t] + pd.Timedelta(hours=h)).isoformat(), "pollutant": "PM2.5",
                             "value": pm[t] + d, "unit": "µg/m³"})
    return cube, pd.DataFrame(rows)


def test_read_stations_units_and_errors(tmp_path):
    _, df = _station_rows(n=3, days=2)
    csv = tmp_path / "st.csv"
    df.to_csv(csv, index=False)
    t = st.read_stations(csv)
    assert set(t.columns) == set(st.REQUIRED_COLUMNS) and (t["pollutant"] == "pm25").all()
    assert (t["unit"] == "µg m-3").all() and t["time"].dtype == np.dtype("datetime64[ns]")
    mg = df.assign(value=df["value"] / 1000.0, unit="mg/m3")
    np.testing.assert_allclose(st.read_stations(mg)["value"].to_numpy(), t["value"].to_numpy())
    bad = df.copy()
    bad.loc[[0, 5], "unit"] = "ppb"
    with pytest.raises(WrongUnitsError, match="ppb") as ei:
        st.read_stations(bad)
    assert "0, 5" in str(ei.value) and "µg m-3" in str(ei.value)
    with pytest.raises(StationTableError, match=r"missing column\(s\) \['unit'\]"):
        st.read_stations(df.drop(columns="unit"))
    with pytest.raises(StationTableError, match="unknown pollutant"):
        st.read_stations(df.assign(pollutant="pm1"))
    moved = df.copy()
    moved.loc[1, "lon"] += 0.5
    with pytest.raises(StationTableError, match="change coordinates"):
        st.read_stations(moved)
    # The file is read in io/: a missing or empty file is one clear input error, not a pandas traceback.
    with pytest.raises(StationTableError, match="station table not found"):
        st.read_stations(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(StationTableError, match="station table is empty"):
        st.read_stations(tmp_path / "empty.csv")


def test_stations_outside_grid_listed():
    cube, df = _station_rows(n=3, days=2)
    df.loc[df["station_id"] == "S01", ["lon", "lat"]] = (80.0, 20.0)
    df.loc[df["station_id"] == "S02", ["lon", "lat"]] = (76.95, 28.5)
    with pytest.raises(StationsOutsideGridError, match=r"2 of 3 station\(s\).*S01 \(80\.0000, 20\.0000\).*S02"):
        st.collocate(st.read_stations(df), cube)


def test_collocation_picks_pixel_and_date():
    cube, df = _station_rows(n=4, days=5)
    t = st.read_stations(df[~df["time"].str.startswith("2023-10-03")])  # one day without records
    with raise_if_dask_computes():
        col = st.collocate(t, cube.isel(time=slice(0, 4)))  # and a raster without the 5th day
        assert col["aod"].dtype == np.float32 and col["aod"].chunks is not None
    assert col.sizes["obs"] == 4 * 3 and (col["n_records"].values == 2).all()
    pix = st.station_pixels(t, cube).set_index("station_id")
    for i in range(col.sizes["obs"]):
        sid, day = str(col["station_id"].values[i]), pd.Timestamp(col["time"].values[i])
        r, c = pix.loc[sid, ["row", "col"]]
        assert col["aod"].values[i] == cube.sel(time=day).values[r, c]
        raw = t[(t["station_id"] == sid) & (t["time"].dt.floor("D") == day)]["value"].mean()
        assert col["observed"].values[i] == pytest.approx(raw)
    with pytest.raises(CollocationError, match="no pm25 station-day matches"):
        st.collocate(t, cube.isel(time=slice(2, 3)))
    # Station-days by local date (UTC+9): the 18:00 UTC record is 03:00 the next local day.
    local = st.collocate(t, cube, tz="Asia/Tokyo")
    first = local.isel(obs=local["time"].values == np.datetime64("2023-10-01"))
    assert first.sizes["obs"] == 4 and (first["n_records"].values == 1).all()


# ---------------------------------------------------------------------------------- PM2.5
def test_scaling_factor_method():
    aod = make_raster([[0.5, np.nan], [-0.05, 1.0]], crs="EPSG:4326", res=0.1, chunks={"x": 1})
    eta = make_raster([[60.0, 60.0], [60.0, 80.0]], crs="EPSG:4326", res=0.1)
    with raise_if_dask_computes():
        a = pmm.pm25_from_eta(aod, 60.0)
        b = pmm.pm25_from_eta(aod, eta)
        assert a.dtype == np.float32 and b.dtype == np.float32
    np.testing.assert_allclose(a.values, [[30.0, np.nan], [0.0, 60.0]])
    np.testing.assert_allclose(b.values, [[30.0, np.nan], [0.0, 80.0]])
    assert a.attrs["units"] == "µg m-3" and a.attrs["description"] == pmm.ESTIMATE_NOTE
    with pytest.raises(GridMismatchError):
        pmm.pm25_from_eta(aod, make_raster([[1.0, 1.0], [1.0, 1.0]], crs="EPSG:4326", res=0.2))
    with pytest.raises(ConfigError):
        pmm.pm25_from_eta(aod, -3.0)


def test_linear_regression_recovers_relation_with_grouped_cv(tmp_path):
    cube, df = _station_rows()
    col = st.collocate(st.read_stations(df), cube)
    model = pmm.fit_pm25(col, form="linear", n_splits=5)
    print(f"\nlinear: slope={model.slope:.3f} intercept={model.intercept:.3f} CV R2={model.cv.r2:.3f} "
          f"RMSE={model.cv.rmse:.2f} ug/m3 n_obs={model.cv.n_obs} stations={model.cv.n_stations}")
    assert abs(model.slope - 60.0) / 60.0 < 0.05
    assert abs(model.intercept - 10.0) < 3.0
    assert model.cv.r2 > 0.8 and model.cv.n_splits == 5 and model.cv.n_stations == 20
    assert 5.0 < model.cv.rmse < 12.0  # noise sd 10 per station-day: the CV RMSE cannot beat it much
    assert len(model.cv.fold_r2) == 5 and model.fit_r2 >= model.cv.r2 - 0.02
    # Persisted as JSON and reloaded to the same numbers; the raster estimate is lazy and labelled.
    path = tmp_path / "pm25.json"
    pmm.save_model(model, path)
    assert json.loads(path.read_text())["description"] == pmm.ESTIMATE_NOTE
    assert json.loads(path.read_text())["schema"] == "agromap.pm25_model/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pm25.json"]  # written atomically, no partial left
    again = pmm.load_model(path)
    assert again == model
    with raise_if_dask_computes():
        est = pmm.estimate_pm25(cube, again)
        assert est.dtype == np.float32 and est.chunks == cube.chunks
    np.testing.assert_allclose(est.values, np.maximum(model.intercept + model.slope * cube.values, 0), rtol=1e-5)
    assert est.attrs["estimate"] == "true" and "not a regulatory measurement" in est.attrs["description"]
    assert est.attrs["cv_r2"] == model.cv.r2


def test_loglog_regression_recovers_exponent():
    cube, df = _station_rows(relation=lambda a, rng: np.exp(np.log(45.0) + 0.6 * np.log(a)
                                                            + rng.normal(0, 0.08, a.shape)), seed=3)
    model = pmm.fit_pm25(st.collocate(st.read_stations(df), cube), form="loglog")
    print(f"\nloglog: beta={model.slope:.3f} alpha={model.intercept:.3f} CV R2={model.cv.r2:.3f} "
          f"RMSE={model.cv.rmse:.2f} ug/m3 smearing={model.smearing:.4f}")
    # The station records are +-1 around the daily value, so the daily mean is the model's value.
    assert abs(model.slope - 0.6) / 0.6 < 0.05
    assert model.cv.r2 > 0.8 and 1.0 <= model.smearing < 1.01
    est = pmm.estimate_pm25(cube, model).values
    expect = model.smearing * np.exp(model.intercept + model.slope * np.log(np.maximum(cube.values, 0.01)))
    np.testing.assert_allclose(est, expect, rtol=1e-5)


def test_regression_with_covariate():
    rng = np.random.default_rng(7)
    rh = rng.uniform(30, 90, (40, 8, 8)).astype(np.float32)
    cube, df = _station_rows(covariate=0.5 * rh, seed=5)
    rh_da = cube.copy(data=rh).rename("rh")
    col = st.collocate(st.read_stations(df), {"aod": cube, "rh": rh_da})
    model = pmm.fit_pm25(col, covariates=["rh"])
    assert model.features == ("aod", "rh")
    assert abs(model.coef[0] - 60) / 60 < 0.05 and abs(model.coef[1] - 0.5) < 0.1
    with pytest.raises(ConfigError, match="rh"):
        pmm.estimate_pm25(cube, model)
    est = pmm.estimate_pm25(cube, model, {"rh": rh_da})
    np.testing.assert_allclose(est.values, np.maximum(model.intercept + model.coef[0] * cube.values
                                                      + model.coef[1] * rh, 0), rtol=1e-5)


def test_calibration_and_model_file_errors(tmp_path):
    cube, df = _station_rows(n=1, days=30)
    with pytest.raises(CalibrationError, match="1 station"):
        pmm.fit_pm25(st.collocate(st.read_stations(df), cube))
    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(pickle.dumps({"coef": [60.0]}))
    with pytest.raises(ModelFileError, match="not a JSON model"):
        pmm.load_model(pkl)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "agromap.pm25_model/1", "form": "linear", "features": ["aod"],
                               "coef": ["60"], "intercept": 10, "cv": {}, "aod_floor": 0.01, "smearing": 1}))
    with pytest.raises(ModelFileError):
        pmm.load_model(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "something/else"}))
    with pytest.raises(ModelFileError, match="schema"):
        pmm.load_model(other)
