"""The index kernels evaluated block by block in place give, bit for bit, the whole-array formulas:
zero and subnormal denominators, overflow to infinity, NaN, negative zero, blocks with a remainder,
broadcasting, strided and float64 inputs, numpy and dask. And the SCL lookup table is ``~isin``."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from agromap import indices, masks

F = np.float32


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """The reference: the quotient where the denominator is not 0, NaN elsewhere and where infinite."""
    with np.errstate(all="ignore"):
        q = np.where(den != 0, num / den, F(np.nan)).astype(F)
    q[np.isinf(q)] = np.nan
    return q


def _nd(a, b):
    a, b = np.asarray(a).astype(F), np.asarray(b).astype(F)
    with np.errstate(all="ignore"):
        return _divide(a - b, a + b)


def _evi(n, r, b):
    n, r, b = (np.asarray(v).astype(F) for v in (n, r, b))
    with np.errstate(all="ignore"):
        return _divide(F(2.5) * (n - r), n + F(6.0) * r - F(7.5) * b + F(1.0))


def _savi(n, r, soil=F(0.5)):
    n, r = np.asarray(n).astype(F), np.asarray(r).astype(F)
    with np.errstate(all="ignore"):
        return _divide((F(1.0) + soil) * (n - r), n + r + soil)


def _bands(shape: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    """Three reflectance bands with every awkward value sprinkled in."""
    rng = np.random.default_rng(seed)
    out = [rng.uniform(-0.05, 0.8, shape).astype(F) for _ in range(3)]
    flat = [o.reshape(-1) for o in out]
    n = flat[0].size
    for k, (x, y, z) in enumerate([(0.0, 0.0, 0.0), (0.3, -0.3, 0.1), (np.nan, 0.2, 0.1), (0.2, np.nan, 0.0),
                                   (1e-45, 0.0, 0.0), (0.5, -0.5 + 1e-8, 0.0), (-0.0, 0.0, -0.0),
                                   (3e38, 3e38, 0.0), (0.1, 0.1, 0.18666667), (0.0, -1e-45, 0.0)]):
        idx = np.arange(k, n, 97)
        flat[0][idx], flat[1][idx], flat[2][idx] = x, y, z
    return out


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype == F and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # NaN payloads and signed zeros included


@pytest.mark.parametrize("shape", [(3 * (1 << 15) + 17,), (12, 40, 33), (1,), (0, 5)])
def test_blocked_kernels_are_the_formulas(shape):
    n, r, b = _bands(shape)
    wrap = [xr.DataArray(v) for v in (n, r, b)]
    _same(indices.ndvi(wrap[0], wrap[1]).values, _nd(n, r))
    _same(indices.lswi(wrap[0], wrap[2]).values, _nd(n, b))
    _same(indices.evi(*wrap).values, _evi(n, r, b))
    _same(indices.savi(wrap[0], wrap[1], L=0.25).values, _savi(n, r, F(0.25)))
    if n.size:  # the awkward values really are there: zero denominators and overflow give NaN
        assert np.isnan(indices.ndvi(wrap[0], wrap[1]).values).sum() > np.isnan(n).sum() + np.isnan(r).sum()


def test_kernels_take_broadcast_strided_float64_and_dask_inputs():
    n, r, b = _bands((12, 64, 64), seed=1)
    # Broadcasting (one date against all), strided views, float64 and dask chunks all give the formula.
    one = r[:1]
    _same(indices.ndvi(xr.DataArray(n, dims=("t", "y", "x")), xr.DataArray(one[0], dims=("y", "x"))).values,
          _nd(n, one))
    _same(indices.evi(*(xr.DataArray(v[:, ::2, 1::3]) for v in (n, r, b))).values,
          _evi(n[:, ::2, 1::3], r[:, ::2, 1::3], b[:, ::2, 1::3]))
    _same(indices.ndvi(xr.DataArray(n.astype(np.float64)), xr.DataArray(r.astype(np.float64))).values, _nd(n, r))
    lazy = [xr.DataArray(da.from_array(v, chunks=(5, 30, 17))) for v in (n, r, b)]
    _same(indices.evi(*lazy).values, _evi(n, r, b))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32])
def test_scl_lookup_is_not_isin(dtype):
    classes = np.random.default_rng(2).integers(0, 12, (4, 33, 35)).astype(dtype)
    got = masks.scl_valid(xr.DataArray(classes)).values
    assert got.dtype == bool and (got == ~np.isin(classes, masks.SCL_INVALID_DEFAULT)).all()
    assert (masks.scl_valid(xr.DataArray(classes), invalid_classes=(4,)).values == (classes != 4)).all()
