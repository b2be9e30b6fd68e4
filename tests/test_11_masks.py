"""Cloud/QA masks: SCL class table, QA_PIXEL bits, valid fraction, apply_mask; lazy and typed."""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pytest
import xarray as xr

import agromap.masks as masks
from agromap.errors import ConfigError, GridMismatchError, InputError, MaskDtypeError
from agromap.masks import QA, SCL, apply_mask, qa_pixel_valid, scl_valid, valid_fraction
from agromap.testing import make_raster, raise_if_dask_computes

TIMES = ["2024-06-01", "2024-06-11", "2024-06-21"]
CLEAR = 21824  # 0b0101010101000000: clear bit and low confidences only


@pytest.fixture(params=[None, {"y": 2, "x": 3}], ids=["numpy", "dask"])
def chunks(request: pytest.FixtureRequest) -> dict[str, int] | None:
    return request.param  # type: ignore[no-any-return]


# SCL class -> usable under the default mask (docs/science/indices_and_masks.md#scl-classes).
SCL_DEFAULT = {0: False, 1: False, 2: True, 3: False, 4: True, 5: True,
               6: True, 7: True, 8: False, 9: False, 10: False, 11: False}  # fmt: skip


def _scl_raster(chunks: Any) -> xr.DataArray:
    return make_raster(np.arange(12, dtype=np.uint8).reshape(3, 4), chunks=chunks, name="scl")


@pytest.mark.parametrize("cls", range(12))
def test_scl_default_table(cls: int, chunks: Any) -> None:
    scl = _scl_raster(chunks)
    with raise_if_dask_computes():
        valid = scl_valid(scl)
        assert valid.dtype == np.bool_
        assert valid.chunks == scl.chunks
        assert valid.odc.geobox == scl.odc.geobox and "spatial_ref" in valid.coords
    got = valid.values.ravel()[cls]
    assert got == SCL_DEFAULT[cls], f"SCL {cls} ({SCL(cls).name})"


def test_scl_default_constant_matches_table() -> None:
    assert set(masks.SCL_INVALID_DEFAULT) == {c for c, ok in SCL_DEFAULT.items() if not ok}
    assert [int(c) for c in SCL] == list(range(12))


def test_scl_snow_and_shadow_configurable(chunks: Any) -> None:
    scl = _scl_raster(chunks)
    keep_snow = scl_valid(scl, invalid_classes=(0, 1, 3, 8, 9, 10)).values.ravel()
    assert keep_snow[SCL.SNOW_ICE] and not keep_snow[SCL.CLOUD_SHADOW]
    flood_window = scl_valid(scl, invalid_classes=[0, 1, 8, 9, 10, 11]).values.ravel()
    assert flood_window[SCL.CLOUD_SHADOW] and not flood_window[SCL.SNOW_ICE]
    assert scl_valid(scl, invalid_classes=()).values.all()


def test_scl_rejects_unknown_class() -> None:
    with pytest.raises(ConfigError, match=r"\[12\]"):
        scl_valid(_scl_raster(None), invalid_classes=(0, 12))


def test_scl_time_stack_and_other_int_dtypes() -> None:
    scl = make_raster(np.array([[[4, 9]], [[0, 6]], [[11, 2]]], dtype=np.int16), times=TIMES, chunks={"time": 1})
    with raise_if_dask_computes():
        valid = scl_valid(scl)
        assert valid.dims == ("time", "y", "x") and valid.chunks == scl.chunks
    np.testing.assert_array_equal(valid.values[:, 0, :], [[True, False], [False, True], [False, True]])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_numpy_lookup_per_date_gives_the_whole_tile_lookup(dtype: Any) -> None:
    """Without the compiled pass a large tile is looked up a date at a time: numpy's values for the whole tile."""
    rng = np.random.default_rng(5)
    classes = rng.integers(0, np.iinfo(dtype).max, (3, 512, 513), endpoint=True).astype(dtype)
    table = rng.random(1 << (8 * classes.dtype.itemsize)) < 0.5
    assert classes.size >= masks._TAKE_SLICE
    got = masks._taken(table, classes)
    assert got.dtype == np.bool_ and got.shape == classes.shape
    np.testing.assert_array_equal(got, table[classes])
    np.testing.assert_array_equal(masks._taken(table, classes[0, 0]), table[classes[0, 0]])  # small: one take


@pytest.mark.parametrize(
    ("bit", "default_valid"),
    [(0, False), (1, False), (2, False), (3, False), (4, False), (5, True), (6, True), (7, True),
     (8, True), (10, True), (12, True), (14, True), (15, True)],
    ids=lambda v: str(v),
)  # fmt: skip
def test_qa_pixel_single_bits(bit: int, default_valid: bool, chunks: Any) -> None:
    base = 0 if bit == 6 else (CLEAR & ~(1 << 6) if bit < 6 else CLEAR)  # cloud bits unset "clear"
    values = np.array([[CLEAR, base | (1 << bit), CLEAR]], dtype=np.uint16)
    qa = make_raster(np.repeat(values, 2, axis=0), chunks=chunks, name="qa_pixel")
    with raise_if_dask_computes():
        valid = qa_pixel_valid(qa)
        assert valid.dtype == np.bool_ and valid.chunks == qa.chunks
    np.testing.assert_array_equal(valid.values[0], [True, default_valid, True])


def test_qa_pixel_documented_values() -> None:
    qa = xr.DataArray(np.array([CLEAR, 1, CLEAR | 0b11111, 0b11110, 0xFF40, 0], dtype=np.uint16), dims="x")
    np.testing.assert_array_equal(qa_pixel_valid(qa).values, [True, False, False, False, True, True])


def test_qa_pixel_opt_in_and_out(chunks: Any) -> None:
    px = [CLEAR, CLEAR | QA.SNOW, CLEAR | QA.WATER, CLEAR | QA.CLOUD_SHADOW, CLEAR | QA.CLOUD]
    qa = make_raster(np.array([px], dtype=np.uint16), chunks=chunks)
    run = lambda **kw: qa_pixel_valid(qa, **kw).values[0].tolist()  # noqa: E731
    assert run() == [True, True, True, False, False]
    assert run(mask_snow=True) == [True, False, True, False, False]
    assert run(mask_water=True) == [True, True, False, False, False]
    assert run(mask_shadow=False) == [True, True, True, True, False]
    assert masks.QA_INVALID_DEFAULT == 0b11111


@pytest.mark.parametrize("func", [scl_valid, qa_pixel_valid])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.bool_])
def test_non_integer_input_rejected(func: Any, dtype: Any) -> None:
    arr = make_raster(np.array([[1, 0]]), dtype=dtype, name="mask_layer")
    with pytest.raises(MaskDtypeError, match="expected integer") as info:
        func(arr)
    assert isinstance(info.value, TypeError) and isinstance(info.value, InputError)
    assert "'mask_layer'" in str(info.value) and "\n" not in str(info.value)


def test_valid_fraction_per_date(chunks: Any) -> None:
    valid = make_raster(
        np.array([np.ones((2, 3)), [[1, 0, 1], [0, 1, 0]], np.zeros((2, 3))], dtype=bool), times=TIMES, chunks=chunks
    )
    with raise_if_dask_computes():
        frac = valid_fraction(valid)
        assert frac.dtype == np.float32 and frac.dims == ("time",)
        assert frac.name == "valid_fraction" and frac.attrs["units"] == "1"
    np.testing.assert_array_equal(frac.values, np.array([1.0, 0.5, 0.0], dtype=np.float32))
    assert frac.values.dtype == np.float32
    total = valid_fraction(valid, dims=("time", "y", "x"))
    assert total.dims == () and total.values == np.float32(0.5)


def test_valid_fraction_time_point() -> None:
    valid = xr.DataArray([[True, False, True, True], [False] * 4], dims=("time", "point")).chunk(point=2)
    with raise_if_dask_computes():
        frac = valid_fraction(valid, dims="point")
    np.testing.assert_array_equal(frac.values, [0.75, 0.0])


def test_valid_fraction_errors() -> None:
    with pytest.raises(MaskDtypeError, match="bool"):
        valid_fraction(make_raster([[1.0, 0.0]]))
    with pytest.raises(ValueError, match="not in the mask"):
        valid_fraction(xr.DataArray([True], dims="point"))


def test_apply_mask_dataarray(chunks: Any) -> None:
    red = make_raster([[0.1, 0.2, 0.3], [0.4, np.nan, 0.6]], chunks=chunks, name="red", attrs={"units": "1"})
    scl = make_raster(np.array([[4, 9, 6], [3, 4, 11]], dtype=np.uint8), chunks=chunks)
    with raise_if_dask_computes():
        out = apply_mask(red, scl_valid(scl))
        assert out.dtype == np.float32 and out.chunks == red.chunks
        assert out.name == "red" and out.attrs == {"units": "1"}
        assert out.odc.geobox == red.odc.geobox
    np.testing.assert_array_equal(
        out.values, np.array([[0.1, np.nan, 0.3], [np.nan, np.nan, np.nan]], dtype=np.float32)
    )


def test_apply_mask_dataset_and_broadcast(chunks: Any) -> None:
    cube = np.arange(12, dtype=np.float32).reshape(3, 2, 2) / 20
    ds = xr.Dataset(
        {
            "red": make_raster(cube, times=TIMES, chunks=chunks),
            "nir": make_raster(cube * 2, times=TIMES, chunks=chunks),
        },
        attrs={"title": "scene"},
    )
    static = make_raster(np.array([[True, False], [True, True]]), chunks=chunks)
    with raise_if_dask_computes():
        out = apply_mask(ds, static)
        assert set(out.data_vars) == {"red", "nir"} and out.attrs == {"title": "scene"}
        assert out.red.dims == ("time", "y", "x") and out.red.dtype == np.float32
        assert out.red.chunks == ds.red.chunks
    assert np.isnan(out.nir.values[:, 0, 1]).all() and not np.isnan(out.nir.values[:, 1, :]).any()
    per_date = make_raster(cube > 0.2, times=TIMES, chunks=chunks)
    np.testing.assert_array_equal(np.isnan(apply_mask(ds.red, per_date).values), cube <= 0.2)


def test_apply_mask_float64_kept() -> None:
    arr = make_raster([[0.5, 0.25]], dtype=np.float64)
    out = apply_mask(arr, make_raster(np.array([[True, False]])))
    assert out.dtype == np.float64


def test_apply_mask_errors() -> None:
    red = make_raster([[0.1, 0.2]], name="red")
    with pytest.raises(MaskDtypeError, match="needs float data"):
        apply_mask(make_raster(np.array([[4, 9]], dtype=np.uint8), name="scl"), make_raster(np.array([[True, False]])))
    with pytest.raises(MaskDtypeError, match="bool mask"):
        apply_mask(red, make_raster(np.array([[1, 0]], dtype=np.uint8)))
    with pytest.raises(MaskDtypeError, match="'scl'"):
        ds = xr.Dataset({"red": red, "scl": make_raster(np.array([[4, 9]], dtype=np.uint8))})
        apply_mask(ds, make_raster(np.array([[True, False]])))
    shifted = make_raster(np.array([[True, False]]), origin=(500_010.0, 2_000_000.0))
    with pytest.raises(GridMismatchError):
        apply_mask(red, shifted)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(masks, extraglobs={"xr": xr, "np": np})
    assert result.attempted >= 4 and result.failed == 0
