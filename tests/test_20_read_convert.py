"""DN to physical values: the compiled one-pass conversion gives numpy's float32 bits."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from agromap.io import dn_kernel
from agromap.io.read import BandReader
from conftest import write_tif

dn_kernel.load()  # the compiled passes, as in a process running the optical rule


def _reference(dn, scale=1.0, offset=0.0, nodata=None, valid_range=None, invalid=None):
    """The conversion written the plain way: float32 DN, times float32 scale, plus float32 offset."""
    value = dn.astype(np.float32) * np.float32(scale)
    if offset != 0.0:
        value = value + np.float32(offset)
    bad = np.zeros(dn.shape, dtype=bool)
    if nodata is not None:
        bad |= dn.astype(np.float64) == nodata
    if valid_range is not None:
        wide = dn.astype(np.float64)
        bad |= (wide < valid_range[0]) | (wide > valid_range[1])
    if invalid is not None:
        bad |= invalid
    value[bad] = np.nan
    return value


def _bits(a):
    assert a.dtype == np.float32
    return np.ascontiguousarray(a).view(np.uint32)


def _every_value(dtype):
    info = np.iinfo(dtype)
    values = np.arange(info.min, info.max + 1, dtype=np.int64).astype(dtype)
    return values.reshape(-1, 256)  # 2-D, C-ordered, as a window is read


def _strided(a):
    """The same values as a view that is not C-ordered."""
    wide = np.zeros((a.shape[0], 2 * a.shape[1]), dtype=a.dtype)
    wide[:, ::2] = a
    return wide[:, ::2]


CASES = [
    {},
    {"scale": 1e-4, "nodata": 0.0},
    {"scale": 2.75e-5, "offset": -0.2, "nodata": 0.0},  # Landsat C2: rounding twice differs from fma
    {"scale": 1e-4, "offset": -0.1, "nodata": 0.0, "valid_range": (1.0, 10000.0)},
    {"scale": -0.5, "nodata": float("nan")},  # -0.0 kept: no offset added
    {"offset": 0.5, "nodata": 3.5},  # a nodata no integer equals
    {"scale": 3.0, "nodata": -1.0, "valid_range": (-5.5, 200.25)},
]


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16"])
@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_every_stored_value_converts_to_numpys_bits(dtype, case):
    dn = _every_value(dtype)
    assert dn_kernel.handles(dn, None, None)
    invalid = np.zeros(dn.shape, dtype=bool)
    invalid.flat[::7] = True
    reader = BandReader("unused.tif", 1, *dn.shape, dtype, **case)
    for mask in (None, invalid):
        want = _bits(_reference(dn, invalid=mask, **case))
        assert np.array_equal(_bits(reader.convert(dn, invalid=mask)), want)
        out = np.full(dn.shape, 7.0, dtype=np.float32)
        assert reader.convert(dn, out=out, invalid=mask) is out
        assert np.array_equal(_bits(out), want)
        # numpy's passes (taken for a window the compiled loop does not handle) agree too
        strided = _strided(dn)
        assert not dn_kernel.handles(strided, None, mask)
        assert np.array_equal(_bits(reader.convert(strided, invalid=mask)), want)


def test_other_windows_keep_numpys_passes():
    dn = np.arange(12, dtype=np.uint16).reshape(3, 4)
    assert not dn_kernel.handles(dn.astype(np.float32), None, None)
    assert not dn_kernel.handles(dn.astype(np.uint32), None, None)
    assert not dn_kernel.handles(dn[:, ::2], None, None)
    assert not dn_kernel.handles(dn, np.empty((3, 4), np.float64), None)
    assert not dn_kernel.handles(dn, np.empty((4, 3), np.float32), None)
    assert not dn_kernel.handles(dn, None, np.zeros((3, 4), np.uint8))
    reader = BandReader("unused.tif", 1, 3, 4, "float32", scale=2.0, nodata=3.0)
    got = reader.convert(dn.astype(np.float32))
    assert np.isnan(got[0, 3]) and got[1, 0] == 8.0


def test_a_window_read_into_a_stack_is_converted_in_place(tmp_path):
    rng = np.random.default_rng(4)
    dn = rng.integers(0, 12000, size=(70, 90)).astype(np.uint16)
    dn[:3] = 0
    path = tmp_path / "red.tif"
    write_tif(path, dn, nodata=0)
    reader = BandReader(str(path), 1, 70, 90, "uint16", scale=1e-4, offset=-0.1, nodata=0.0)
    stack = np.zeros((2, 30, 40), dtype=np.float32)
    invalid = rng.random((30, 40)) < 0.25
    reader.read(slice(10, 40), slice(20, 60), out=stack[1], invalid=invalid)
    with rasterio.open(path) as src:
        window = src.read(1, window=Window(20, 10, 40, 30))
    assert np.array_equal(_bits(stack[1]), _bits(_reference(window, 1e-4, -0.1, 0.0, None, invalid)))
    assert not stack[0].any()


def _python_lines(code: str) -> list[str]:
    """The lines a fresh interpreter prints running ``code`` (a new process: which modules it loads is the point)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def test_reading_and_masking_without_a_compiled_kernel_do_not_load_numba():
    code = ("import sys, numpy as np, xarray as xr\n"
            "from agromap.io.read import BandReader\n"
            "from agromap import masks\n"
            "from agromap.io import dn_kernel\n"
            "dn = np.arange(12, dtype=np.uint16).reshape(3, 4)\n"
            "got = BandReader('x.tif', 1, 3, 4, 'uint16', scale=0.5, nodata=0.0).convert(dn)\n"
            "ok = masks.scl_valid(xr.DataArray(dn.astype(np.uint8), dims=('y', 'x'))).values\n"
            "print(dn_kernel.active(), float(np.nansum(got)), int(ok.sum()))\n"
            "print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))")
    *_, values, loaded = _python_lines(code)
    assert values == "False 33.0 5"  # 0.5 * (1 + ... + 11); classes 2, 4, 5, 6, 7 usable
    assert loaded == "[]"


def test_the_compiled_passes_are_used_once_numba_is_loaded():
    code = ("import numpy as np, numba\n"
            "from agromap.io import dn_kernel\n"
            "from agromap.io.read import BandReader\n"
            "dn = np.ones((3, 4), np.uint16)\n"
            "got = BandReader('x.tif', 1, 3, 4, 'uint16', scale=0.5).convert(dn)\n"
            "print(dn_kernel.active(), dn_kernel.handles(dn, None, None), float(got.sum()))")
    assert _python_lines(code)[-1] == "True True 6.0"


def test_reads_do_not_wait_for_the_compiled_passes_another_thread_is_loading():
    """While a thread loads numba and the passes, the others convert with numpy's passes (the same
    values) instead of waiting on the load; once it is loaded, everyone uses the compiled pass."""
    code = ("import sys, threading, numpy as np\n"
            "from agromap.io import dn_kernel\n"
            "from agromap.io.read import BandReader\n"
            "dn = np.ones((3, 4), np.uint16)\n"
            "real = dn_kernel._build\n"
            "importing, go = threading.Event(), threading.Event()\n"
            "def slow_build():\n"
            "    import numba\n"  # numba now in sys.modules, the passes not loaded yet
            "    importing.set(); go.wait(5)\n"  # a reader that waited on the load would print after it
            "    return real()\n"
            "dn_kernel._build = slow_build\n"
            "loader = threading.Thread(target=dn_kernel.load); loader.start(); importing.wait()\n"
            "got = BandReader('x.tif', 1, 3, 4, 'uint16', scale=0.5).convert(dn)\n"
            "print('numba' in sys.modules, dn_kernel.active(), dn_kernel.loaded(), float(got.sum()))\n"
            "go.set(); loader.join()\n"
            "print(dn_kernel.active(), dn_kernel.handles(dn, None, None), dn_kernel.loaded())")
    *_, during, after = _python_lines(code)
    assert during == "True False False 6.0"
    assert after == "True True True"


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_class_table_lookup_is_numpys(dtype):
    rng = np.random.default_rng(1)
    table = rng.random(1 << (8 * np.dtype(dtype).itemsize)) < 0.5
    values = _every_value(dtype)
    stack = np.stack([values, values[::-1]])  # (time, y, x), any shape
    got = dn_kernel.table_lookup(table, stack)
    assert got is not None and got.dtype == np.bool_ and got.shape == stack.shape
    assert np.array_equal(got, table[stack])


def test_class_table_lookup_leaves_other_inputs_to_numpy():
    table = np.ones(256, dtype=bool)
    u8 = np.zeros((4, 4), dtype=np.uint8)
    assert dn_kernel.table_lookup(table, u8.astype(np.int16)) is None
    assert dn_kernel.table_lookup(table[:100], u8) is None
    assert dn_kernel.table_lookup(table.astype(np.uint8), u8) is None
    assert dn_kernel.table_lookup(table, u8[:, ::2]) is None


def test_scl_mask_is_the_same_through_the_compiled_lookup():
    import xarray as xr

    from agromap import masks

    scl = np.random.default_rng(2).integers(0, 12, size=(3, 20, 30)).astype(np.uint8)
    want = ~np.isin(scl, masks.SCL_INVALID_DEFAULT)
    for arr in (scl, scl[:, :, ::-1]):  # C-ordered (compiled) and reversed (numpy's take)
        got = masks.scl_valid(xr.DataArray(arr, dims=("time", "y", "x"))).values
        assert np.array_equal(got, ~np.isin(arr, masks.SCL_INVALID_DEFAULT))
    assert want.any() and not want.all()
