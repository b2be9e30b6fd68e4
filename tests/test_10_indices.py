"""Spectral indices: values against spyndex (test oracle only), laziness, dtype, NaN/zero rules, grids."""

from __future__ import annotations

import doctest
from typing import Any

import dask.array as da
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import spyndex  # test oracle only: never imported by agromap itself (docs/science/indices_and_masks.md#index-rules)
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import agromap.indices as idx
from agromap.errors import ConfigError, GridMismatchError, MissingBandError
from agromap.testing import make_raster, raise_if_dask_computes

# agromap index -> (spyndex index, {agromap band: spyndex symbol}, spyndex constants, agromap params)
ORACLE: dict[str, tuple[str, dict[str, str], dict[str, float], dict[str, Any]]] = {
    "ndvi": ("NDVI", {"nir": "N", "red": "R"}, {}, {}),
    "evi": ("EVI", {"nir": "N", "red": "R", "blue": "B"}, {"g": 2.5, "C1": 6.0, "C2": 7.5, "L": 1.0}, {}),
    "lswi": ("LSWI", {"nir": "N", "swir16": "S1"}, {}, {}),
    "ndwi_mcfeeters": ("NDWI", {"green": "G", "nir": "N"}, {}, {}),
    "mndwi": ("MNDWI", {"green": "G", "swir16": "S1"}, {}, {}),
    "nbr": ("NBR", {"nir": "N", "swir22": "S2"}, {}, {}),
    "nbr2": ("NBR2", {"swir16": "S1", "swir22": "S2"}, {}, {}),
    "bais2": (
        "BAIS2",
        {"rededge2": "RE2", "rededge3": "RE3", "nir08": "N2", "red": "R", "swir22": "S2"},
        {},
        {},
    ),
    # spyndex's default L is 1.0 (the EVI constant): SAVI's L = 0.5 must be passed explicitly.
    "savi": ("SAVI", {"nir": "N", "red": "R"}, {"L": 0.5}, {}),
    "ndbi": ("NDBI", {"swir16": "S1", "nir": "N"}, {}, {}),
    "ndsi": ("NDSI", {"green": "G", "swir16": "S1"}, {}, {}),
    # spyndex has no NDFI; NRFIr, the "Normalized Rapeseed Flowering Index Red", is the same formula.
    "ndfi": ("NRFIr", {"red": "R", "swir22": "S2"}, {}, {}),
    "mirbi": ("MIRBI", {"swir22": "S2", "swir16": "S1"}, {}, {}),
}
NAMES = sorted(ORACLE)
SHAPE = (8, 9)
# Realistic ranges keep EVI's denominator away from 0 (blue is dark), so float32 vs float64 stays tiny.
RANGES = {
    "blue": (0.0, 0.15), "green": (0.0, 0.3), "red": (0.0, 0.4), "rededge2": (0.02, 0.5),
    "rededge3": (0.02, 0.6), "nir": (0.0, 0.7), "nir08": (0.02, 0.7), "swir16": (0.0, 0.6), "swir22": (0.0, 0.5),
}  # fmt: skip


@pytest.fixture(params=[None, {"y": 3, "x": 4}], ids=["numpy", "dask"])
def chunks(request: pytest.FixtureRequest) -> dict[str, int] | None:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def bands() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    out = {b: rng.uniform(lo, hi, SHAPE).astype(np.float32) for b, (lo, hi) in RANGES.items()}
    out["red"][0, 0] = np.nan  # NaN goes through both implementations
    out["nir"][1, 2] = np.nan
    return out


def _oracle(name: str, values: dict[str, np.ndarray]) -> np.ndarray:
    sx_name, symbols, constants, _ = ORACLE[name]
    params: dict[str, Any] = {sym: values[b].astype(np.float64) for b, sym in symbols.items()}
    params.update(constants)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(spyndex.computeIndex(sx_name, params=params))


def _rasters(values: dict[str, np.ndarray], band_names: tuple[str, ...], chunks: Any, **kw: Any) -> list[xr.DataArray]:
    return [make_raster(values[b], name=b, chunks=chunks, **kw) for b in band_names]


def test_registry_matches_oracle_table() -> None:
    assert set(idx.INDICES) == set(ORACLE) | {"ndwi"}
    for name, (_, symbols, _, _) in ORACLE.items():
        assert idx.INDICES[name].bands == tuple(symbols), name
    assert idx.ndwi is idx.ndwi_mcfeeters


@pytest.mark.parametrize("name", NAMES)
def test_values_match_spyndex(name: str, bands: dict[str, np.ndarray], chunks: Any) -> None:
    spec = idx.INDICES[name]
    arrays = _rasters(bands, spec.bands, chunks)
    with raise_if_dask_computes():
        out = spec.function(*arrays)
        assert out.dtype == np.float32  # advertised, not yet computed
        assert out.chunks == arrays[0].chunks  # None for numpy
        assert out.name == name
        assert out.attrs["units"] == "1" and out.attrs["long_name"]
        assert "spatial_ref" in out.coords
        assert out.odc.geobox == arrays[0].odc.geobox
    got = out.values
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, _oracle(name, bands), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_float64_and_integer_inputs_give_float32(name: str, bands: dict[str, np.ndarray], chunks: Any) -> None:
    spec = idx.INDICES[name]
    f64 = _rasters(bands, spec.bands, chunks, dtype=np.float64)
    dn = [make_raster(np.full(SHAPE, 1000 + 10 * i, np.uint16), chunks=chunks) for i in range(len(spec.bands))]
    with raise_if_dask_computes():
        assert spec.function(*f64).dtype == np.float32
        assert spec.function(*dn).dtype == np.float32
    assert spec.function(*f64).values.dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_nan_in_any_band_propagates(name: str, bands: dict[str, np.ndarray]) -> None:
    spec = idx.INDICES[name]
    clean = {b: np.nan_to_num(v, nan=0.3) + np.float32(0.05) for b, v in bands.items()}
    for i, band in enumerate(spec.bands):
        values = {b: v.copy() for b, v in clean.items()}
        values[band][2, 3] = np.nan
        out = spec.function(*_rasters(values, spec.bands, None)).values
        assert np.isnan(out[2, 3]), (name, band)
        assert np.isfinite(np.delete(out.ravel(), 2 * SHAPE[1] + 3)).all(), (name, band, i)


@pytest.mark.parametrize(
    ("func", "inputs"),
    [
        (idx.ndvi, ([0.0, 0.25], [0.0, -0.25])),
        (idx.lswi, ([0.0, 0.5], [0.0, -0.5])),
        (idx.nbr, ([0.0], [0.0])),
        (idx.evi, ([0.875], [0.0], [0.25])),  # 0.875 + 0 - 1.875 + 1 = 0
        (idx.savi, ([-0.25], [-0.25])),  # N + R + L = 0
        (idx.bais2, ([0.1], [0.1], [0.1], [0.0], [0.2])),  # red = 0
        (idx.bais2, ([0.1], [0.1], [0.1], [0.1], [-0.1])),  # sqrt(S2 + N2) = 0
        (idx.bais2, ([0.1], [0.1], [0.1], [0.1], [-0.3])),  # sqrt of a negative sum
        (idx.bais2, ([-0.1], [0.1], [0.1], [0.1], [0.2])),  # sqrt of a negative ratio
        (idx.ndvi, ([np.inf], [0.1])),  # inf in -> NaN out, never inf
    ],
)
def test_zero_denominator_or_bad_root_is_nan_not_inf(func: Any, inputs: tuple[list[float], ...]) -> None:
    arrays = [xr.DataArray(np.asarray([v], dtype=np.float32), dims=("y", "x")) for v in inputs]
    out = func(*arrays).values
    assert out.dtype == np.float32
    assert np.isnan(out).all()
    assert not np.isinf(out).any()


def test_values_not_clipped() -> None:
    out = idx.evi(*(xr.DataArray(v, dims="x") for v in ([0.9], [0.0], [0.13]))).values
    assert out[0] > 1  # EVI blows up near a zero denominator; flagging |EVI| > 1 is downstream's job
    out = idx.ndvi(xr.DataArray([0.3], dims="x"), xr.DataArray([-0.1], dims="x")).values
    np.testing.assert_allclose(out, [2.0])  # negative reflectance (S2 offset) pushes ND beyond [-1, 1]


def test_savi_soil_factor() -> None:
    nir, red = xr.DataArray([0.5], dims="x"), xr.DataArray([0.25], dims="x")
    np.testing.assert_allclose(idx.savi(nir, red, L=0.0).values, idx.ndvi(nir, red).values)
    np.testing.assert_allclose(idx.savi(nir, red, L=1.0).values, [2 * 0.25 / 1.75], rtol=1e-6)


def test_mixed_numpy_and_dask_inputs(bands: dict[str, np.ndarray]) -> None:
    nir = make_raster(bands["nir"])
    red = make_raster(bands["red"], chunks={"y": 4, "x": 5})
    with raise_if_dask_computes():
        out = idx.ndvi(nir, red)
        assert out.chunks == red.chunks
    np.testing.assert_allclose(out.values, _oracle("ndvi", bands), atol=1e-5)


def test_time_stack_keeps_time_chunks(bands: dict[str, np.ndarray]) -> None:
    times = ["2024-06-01", "2024-06-11", "2024-06-21"]
    nir = make_raster(np.stack([bands["nir"]] * 3), times=times, chunks={"time": 1, "y": 4, "x": -1})
    swir = make_raster(np.stack([bands["swir16"]] * 3), times=times, chunks={"time": 1, "y": 4, "x": -1})
    with raise_if_dask_computes():
        out = idx.lswi(nir, swir)
        assert out.dims == ("time", "y", "x") and out.chunks == nir.chunks
        assert (out.time == nir.time).all()
    np.testing.assert_allclose(out.values[2], _oracle("lswi", bands), atol=1e-5)


@pytest.mark.parametrize("point_chunks", [None, {"point": 2}], ids=["numpy", "dask"])
def test_time_point_samples_without_spatial_coords(point_chunks: Any) -> None:
    rng = np.random.default_rng(7)
    coords = {"time": np.array(["2024-06-01", "2024-06-11", "2024-06-21"], dtype="datetime64[ns]"),
              "point": ["p0", "p1", "p2", "p3", "p4"]}  # fmt: skip
    nir = xr.DataArray(rng.uniform(0, 0.7, (3, 5)).astype(np.float32), dims=("time", "point"), coords=coords)
    red = xr.DataArray(rng.uniform(0, 0.4, (3, 5)).astype(np.float32), dims=("time", "point"), coords=coords)
    if point_chunks:
        nir, red = nir.chunk(point_chunks), red.chunk(point_chunks)
    with raise_if_dask_computes():
        out = idx.ndvi(nir, red)
        assert out.dims == ("time", "point") and out.dtype == np.float32 and out.chunks == nir.chunks
    xr.testing.assert_equal(out.coords.to_dataset(), nir.coords.to_dataset())
    want = _oracle("ndvi", {"nir": nir.values, "red": red.values})
    np.testing.assert_allclose(out.values, want, atol=1e-5)


def test_grid_mismatch_is_an_error(bands: dict[str, np.ndarray]) -> None:
    nir = make_raster(bands["nir"], name="nir")
    shifted = make_raster(bands["red"], name="red", origin=(500_100.0, 2_000_000.0))
    with pytest.raises(GridMismatchError, match="to_grid"):
        idx.ndvi(nir, shifted)
    with pytest.raises(GridMismatchError):
        idx.ndvi(nir, make_raster(bands["red"], name="red", res=20.0))
    # A Dataset cannot hold two grids (xarray aligns its variables), so compute_index needs no case here.


def test_grid_check_of_one_datasets_bands_reads_no_geobox(bands: dict[str, np.ndarray], monkeypatch) -> None:
    """Bands of one dataset share their coordinate objects: the check passes without reading a GeoBox;
    the same grid built twice is read and passes; a shifted grid still fails with its message."""
    from agromap.io import grid

    calls: list[str] = []
    real = grid.grid_or_none
    monkeypatch.setattr(grid, "grid_or_none", lambda arr: calls.append(str(arr.name)) or real(arr))
    ds = xr.Dataset({"nir": make_raster(bands["nir"]), "red": make_raster(bands["red"])})
    grid.require_same_grid(ds["nir"], ds["red"], ds["nir"] * 2)
    assert calls == []
    grid.require_same_grid(make_raster(bands["nir"], name="nir"), make_raster(bands["red"], name="red"))
    assert calls == ["nir", "red"]
    # The same coordinate objects but another grid mapping named: read, not assumed.
    other = ds["red"].assign_attrs(grid_mapping="spatial_ref")
    grid.require_same_grid(ds["nir"], other)
    assert calls[2:] == ["nir", "red"]
    with pytest.raises(GridMismatchError, match=r"'red' is 8x9 px .*500100.*expected .*500000.*to_grid"):
        grid.require_same_grid(ds["nir"], make_raster(bands["red"], name="red", origin=(500_100.0, 2_000_000.0)))


def test_compute_index_reads_bands_by_name(bands: dict[str, np.ndarray], chunks: Any) -> None:
    ds = xr.Dataset({b: make_raster(v, chunks=chunks) for b, v in bands.items()})
    with raise_if_dask_computes():
        out = idx.compute_index(ds, "SAVI", L=0.25)
        assert out.name == "savi" and out.dtype == np.float32
    xr.testing.assert_identical(out, idx.savi(ds.nir, ds.red, L=0.25))
    alias = idx.compute_index(ds, "ndwi")
    xr.testing.assert_identical(alias, idx.ndwi_mcfeeters(ds.green, ds.nir))
    b8a = idx.compute_index(ds, "lswi", bands={"nir": "nir08"})
    xr.testing.assert_identical(b8a, idx.lswi(ds.nir08, ds.swir16))


def test_compute_index_missing_band_message(bands: dict[str, np.ndarray]) -> None:
    ds = xr.Dataset({"nir": make_raster(bands["nir"]), "red": make_raster(bands["red"])})
    with pytest.raises(MissingBandError) as info:
        idx.compute_index(ds, "lswi")
    msg = str(info.value)
    assert "'swir16'" in msg and "nir, red" in msg and "\n" not in msg
    assert isinstance(info.value, KeyError)  # callers catching KeyError still work
    with pytest.raises(MissingBandError, match="'nir08'"):
        idx.compute_index(ds, "lswi", bands={"nir": "nir08"})


def test_compute_index_bad_config() -> None:
    ds = xr.Dataset({"nir": make_raster([[0.5]]), "red": make_raster([[0.2]])})
    with pytest.raises(ConfigError, match="known indices"):
        idx.compute_index(ds, "gndvi")
    with pytest.raises(ConfigError, match="does not read"):
        idx.compute_index(ds, "ndvi", bands={"swir16": "nir"})


@settings(deadline=None, max_examples=40)
@given(
    values=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
        elements=st.one_of(st.floats(-0.25, 1.0, width=32), st.just(np.nan)),
    ),
    cy=st.integers(1, 5),
    cx=st.integers(1, 5),
)
def test_chunked_equals_unchunked(values: np.ndarray, cy: int, cx: int) -> None:
    nir, swir = make_raster(values), make_raster(values[::-1, ::-1].copy())
    lazy = idx.lswi(nir.chunk(y=cy, x=cx), swir.chunk(y=cy, x=cx))
    xr.testing.assert_identical(idx.lswi(nir, swir), lazy.compute())


def test_docstring_examples_run() -> None:
    result = doctest.testmod(idx, extraglobs={"xr": xr, "np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= len(NAMES) and result.failed == 0


def test_dask_kernel_runs_per_block() -> None:
    nir = make_raster(np.full((6, 6), 0.5, np.float32), chunks={"y": 3, "x": 2})
    red = make_raster(np.full((6, 6), 0.25, np.float32), chunks={"y": 3, "x": 2})
    out = idx.ndvi(nir, red)
    assert isinstance(out.data, da.Array) and out.data.npartitions == nir.data.npartitions
