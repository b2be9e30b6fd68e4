"""The public Python API: ``import agromap as am`` is light, every public name resolves and is
documented, and a notebook session (load -> index -> COG) works end to end on real samples."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import numpy as np
import pytest
import rasterio
import xarray as xr

import agromap as am
from agromap.errors import ConfigError, InputError

S2 = "sentinel2_l2a_29RKH_20200219"
#: ``agromap`` and every subpackage: each declares its public names in ``__all__``.
PACKAGES = ("agromap", *sorted(m.name for m in pkgutil.walk_packages(am.__path__, "agromap.") if m.ispkg))


def _public(package: str) -> list[tuple[str, object]]:
    module = importlib.import_module(package)
    assert "__all__" in vars(module), f"{package} declares no __all__"
    return [(name, getattr(module, name)) for name in module.__all__ if not name.startswith("__")]


def test_import_agromap_loads_no_science_library():
    # The command line imports the package before it prints --help: it must not pay for xarray & co.
    code = ("import sys, agromap; heavy = {'numpy', 'xarray', 'dask', 'rasterio', 'pandas', 'odc', 'pydantic'}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_and_is_documented(package):
    names = _public(package)
    assert names, f"{package} has an empty __all__"
    undocumented = []
    for name, obj in names:
        if not callable(obj):
            continue  # constants and type aliases are described where they are defined
        own = vars(obj).get("__doc__") if isinstance(obj, type) else obj.__doc__
        # a dataclass without a docstring gets its signature as __doc__
        if not own or not own.strip() or own.startswith(f"{obj.__name__}("):
            undocumented.append(name)
    assert not undocumented, f"{package}: public names without a docstring: {undocumented}"


def test_facade_names_are_the_functions_of_their_modules():
    from agromap.indices import ndvi
    from agromap.rice.model import train

    assert am.ndvi is ndvi and am.train_rice_model is train
    assert set(am.__all__) <= set(dir(am))
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        am.not_a_function  # noqa: B018


def test_subpackage_export_does_not_shadow_a_module():
    # `agromap.airquality.aqi` is a module: a function of that name in __all__ would flip between the two.
    for package in PACKAGES[1:]:
        module = importlib.import_module(package)
        path = getattr(module, "__path__", [])
        submodules = {info.name for info in pkgutil.iter_modules(path)}
        assert not submodules & set(module.__all__), package


@pytest.fixture(scope="module")
def s2(samples):
    return am.load(samples / S2, bands=["red", "nir", "scl"], chunk=256)


def test_load_detects_the_product_and_attaches_the_grid(s2):
    assert isinstance(s2, xr.Dataset) and set(s2.data_vars) == {"red", "nir", "scl"}
    assert s2.red.dims == ("time", "y", "x") and s2.sizes["time"] == 1 and s2.red.chunks is not None
    assert s2.red.dtype == np.float32 and s2.scl.dtype == np.uint8
    gbox = s2.odc.geobox
    assert gbox.crs.epsg == 32629 and gbox.shape == (600, 600) and gbox.resolution.x == 100.0
    # rioxarray reads the same grid, and every band names its CF grid mapping
    assert s2.rio.crs.to_epsg() == 32629 and s2.red.rio.crs.to_epsg() == 32629
    assert tuple(s2.rio.transform())[:6] == tuple(gbox.affine)[:6]
    assert all(v.attrs["grid_mapping"] == "spatial_ref" for v in s2.data_vars.values())
    assert "crs_wkt" in s2["spatial_ref"].attrs


def test_load_registers_the_accessor(s2):
    a = s2.agromap.ndvi().isel(time=0, y=slice(0, 32), x=slice(0, 32))
    b = am.ndvi(s2.nir, s2.red).isel(time=0, y=slice(0, 32), x=slice(0, 32))
    xr.testing.assert_allclose(a.compute(), b.compute())


def test_notebook_flow_load_index_to_cog(s2, samples, tmp_path):
    window = {"y": slice(100, 228), "x": slice(300, 428)}
    ds = s2.isel(time=0, **window)
    ndvi = am.ndvi(am.apply_mask(ds.nir, am.scl_valid(ds.scl)), am.apply_mask(ds.red, am.scl_valid(ds.scl)))
    assert ndvi.chunks is not None  # still lazy: only to_cog computes
    info = am.to_cog(ndvi.rename("ndvi"), tmp_path / "ndvi.tif")
    assert (tmp_path / "ndvi.tif").is_file() and info is not None

    # Reference from the raw files with rasterio alone: baseline 02.14 has no BOA offset, so NDVI is
    # the DN ratio; SCL (200 m) covers 2 x 2 pixels of the 100 m bands.
    folder = samples / S2
    with rasterio.open(folder / "B04.tif") as r, rasterio.open(folder / "B08.tif") as n, \
            rasterio.open(folder / "SCL.tif") as c:
        red, nir = r.read(1).astype(np.float64), n.read(1).astype(np.float64)
        scl = np.repeat(np.repeat(c.read(1), 2, axis=0), 2, axis=1)
    rows, cols = slice(100, 228), slice(300, 428)
    red, nir, scl = red[rows, cols], nir[rows, cols], scl[rows, cols]
    valid = ~np.isin(scl, [0, 1, 3, 8, 9, 10, 11]) & (red > 0) & (nir > 0)
    expected = np.where(valid, (nir - red) / (nir + red), np.nan)

    with rasterio.open(tmp_path / "ndvi.tif") as cog:
        got = cog.read(1)
        assert cog.crs.to_epsg() == 32629 and cog.shape == (128, 128)
        assert tuple(cog.transform)[:6] == tuple(ndvi.odc.geobox.affine)[:6]
        assert cog.overviews(1) or cog.shape[0] <= 512
    assert 0.2 < valid.mean() < 1.0  # the window holds both clear and masked pixels
    np.testing.assert_array_equal(np.isnan(got), ~valid)
    np.testing.assert_allclose(got[valid], expected[valid], atol=1e-6)


def test_load_list_and_band_map(samples, tmp_path):
    folder = samples / S2
    one = am.load({"red": folder / "B04.tif", "nir": folder / "B08.tif"}, datetime="2020-02-19T11:34:25Z",
                  scale=1e-4)
    assert set(one.data_vars) == {"red", "nir"} and one.sizes["time"] == 1
    assert one.red.attrs["grid_mapping"] == "spatial_ref"
    both = am.load([folder, folder], bands=["red"])  # one solar day: mosaicked into one date
    single = am.load(folder, bands=["red"])
    assert both.sizes["time"] == 1
    xr.testing.assert_identical(both.red.isel(y=slice(0, 64)).compute(), single.red.isel(y=slice(0, 64)).compute())


def test_load_errors_say_what_to_do(samples, tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        am.load(tmp_path / "missing")
    with pytest.raises(InputError, match="band map"):
        am.load(samples / S2 / "B04.tif")
    (tmp_path / "f").mkdir()
    with pytest.raises(ConfigError, match="bands="):
        am.load(tmp_path / "f")
    with pytest.raises(ConfigError, match="cannot load a int"):
        am.load(3)


def test_schema_command_prints_json_schema():
    out = subprocess.run([sys.executable, "-m", "agromap", "schema"], capture_output=True, text=True, check=True)
    schema = json.loads(out.stdout)
    assert schema["$schema"].endswith("2020-12/schema") and "areas" in schema["properties"]


def test_load_detects_landsat_and_stac_items(samples, s2):
    ls = am.load(samples / "landsat8_c2_l2sp_001062", bands=["red", "nir", "qa_pixel"])
    assert ls.rio.crs.to_epsg() == 32620 and ls.qa_pixel.dtype == np.uint16 and ls.red.dtype == np.float32
    item = am.load(samples / S2 / "S2A_29RKH_20200219_0_L2A.json", bands=["red", "nir"])
    window = {"time": 0, "y": slice(0, 48), "x": slice(0, 48)}
    # the item and the product folder describe the same files: same grid, same reflectance
    assert item.odc.geobox == s2.odc.geobox
    xr.testing.assert_allclose(item.red.isel(window).compute(), s2.red.isel(window).compute())
