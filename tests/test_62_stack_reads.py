"""A tile's dates read with one GDAL call (agromap.io.read.read_stack, agromap.io.open_files.read_bands):
the values of reading each file alone, one read call for the whole stack, a damaged file still named, the
files kept open within the process's bound and none left open after the compute, a replaced file read afresh."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.io import DatasetReader
from rasterio.transform import from_origin

from agromap.errors import CorruptInputError
from agromap.io import dn_kernel, open_files
from agromap.io.open_files import kept_open, open_count
from agromap.io.read import BandReader, read_stack
from open_fds import fds_on

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")

dn_kernel.load()  # the compiled passes, as in a process running the optical rule

SIZE = 96
YS, XS = slice(32, 96), slice(0, 64)  # two tiles of 32 px down, two across


def _write(path: Path, data: np.ndarray) -> Path:
    """A tiled deflate GeoTIFF of 32 px tiles (written beside and renamed: a new inode)."""
    tmp = path.with_suffix(".part.tif")
    with rasterio.open(tmp, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype.name, nodata=0, crs="EPSG:32644",
                       transform=from_origin(500_000.0, 2_900_000.0, 10.0, 10.0), tiled=True, blockxsize=32,
                       blockysize=32, compress="deflate") as dst:
        dst.write(data, 1)
    os.replace(tmp, path)
    return path


def _dates(folder: Path, n: int, dtype: str = "uint16", seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for t in range(n):
        data = rng.integers(0, 12000 if dtype == "uint16" else 12, size=(SIZE, SIZE)).astype(dtype)
        data[t] = 0  # a nodata row, a different one on each date
        paths.append(_write(folder / f"d{t}.tif", data))
    return paths


def _readers(paths: list[Path], dtype: str = "uint16", **conversion) -> list[BandReader]:
    raw = dtype == "uint8"
    kw = {} if raw else {"scale": 1e-4, "nodata": 0.0, **conversion}
    return [BandReader(str(p), 1, SIZE, SIZE, dtype, raw=raw, **kw) for p in paths]


def _alone(readers: list[BandReader], invalid: np.ndarray | None) -> np.ndarray:
    """Each file's window read alone, as the readers did one date at a time."""
    return np.stack([r.read(YS, XS, invalid=None if invalid is None else invalid[t]) for t, r in enumerate(readers)])



@pytest.fixture
def read_calls(monkeypatch):
    """Every window read rasterio makes (one GDAL raster read each)."""
    calls: list[str] = []
    real = DatasetReader.read

    def counting(self, *args, **kwargs):
        calls.append(self.name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DatasetReader, "read", counting)
    return calls


@pytest.mark.parametrize("kept", [True, False], ids=["in a compute", "outside"])
@pytest.mark.parametrize("case", ["masked", "unmasked", "raw classes", "dates scaled apart"])
def test_a_stack_read_in_one_call_gives_each_file_read_alone(tmp_path, read_calls, kept, case):
    dtype = "uint8" if case == "raw classes" else "uint16"
    paths = _dates(tmp_path, 5, dtype)
    readers = _readers(paths, dtype)
    if case == "dates scaled apart":  # one date with its own offset: converted date by date
        readers[2] = BandReader(str(paths[2]), 1, SIZE, SIZE, dtype, scale=1e-4, offset=-0.1, nodata=0.0)
    invalid = np.random.default_rng(1).random((5, 64, 64)) < 0.3 if case == "masked" else None
    expected = _alone(readers, invalid)
    read_calls.clear()
    out = np.full((5, 64, 64), 7, dtype=readers[0].dtype)
    with kept_open() if kept else open_files.contextlib.nullcontext():
        got = read_stack(readers, YS, XS, out, invalid)
        assert got is out and read_calls == [read_calls[0]]  # one read for the five files
        assert read_stack(readers, YS, XS, np.empty_like(out), invalid).tobytes() == expected.tobytes()
    assert out.dtype == expected.dtype and out.tobytes() == expected.tobytes()  # NaN bits included
    assert open_count() == 0 and fds_on(*paths) == 0


def test_files_that_differ_are_read_one_by_one_with_the_same_values(tmp_path, read_calls):
    """A date of another size or stored type is not a band of the same virtual raster."""
    paths = _dates(tmp_path, 3)
    odd = _write(tmp_path / "odd.tif", np.arange(SIZE * SIZE, dtype=np.int16).reshape(SIZE, SIZE))
    readers = [*_readers(paths), BandReader(str(odd), 1, SIZE, SIZE, "int16", scale=1e-4, nodata=0.0)]
    expected = _alone(readers, None)
    read_calls.clear()
    out = np.empty((4, 64, 64), dtype=np.float32)
    with kept_open():
        read_stack(readers, YS, XS, out)
    assert len(read_calls) == 4 and out.tobytes() == expected.tobytes()


def test_a_damaged_file_in_a_stack_is_named(tmp_path):
    paths = _dates(tmp_path, 4)
    victim = paths[2]
    with rasterio.open(victim) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
    raw = bytearray(victim.read_bytes())
    raw[offset:offset + 400] = b"\xff" * 400  # header intact, one tile of the window undecodable
    victim.write_bytes(bytes(raw))
    readers = _readers(paths)
    with kept_open():
        with pytest.raises(CorruptInputError, match=rf"^{victim}: band 1 failed to decode .*corrupt or truncated"):
            read_stack(readers, YS, XS, np.empty((4, 64, 64), dtype=np.float32))
        # The window without the damaged tile still reads, from the kept files.
        good = read_stack(readers, slice(0, 32), XS, np.empty((4, 32, 64), dtype=np.float32))
        assert np.isfinite(good).any()
    assert open_count() == 0 and fds_on(*paths) == 0


def test_stacks_keep_within_the_open_file_bound_on_every_thread(tmp_path, monkeypatch):
    """Twelve files per stack on three threads, with a bound of four open inputs: GDAL's pool of the
    virtual rasters' files keeps to it, the values are unchanged, and nothing stays open after the compute."""
    monkeypatch.setattr(open_files, "_MAX_OPEN", 4)
    paths = _dates(tmp_path, 12)
    readers = _readers(paths)
    expected = _alone(readers, None)
    seen: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                out = read_stack(readers, YS, XS, np.empty((12, 64, 64), dtype=np.float32))
                assert out.tobytes() == expected.tobytes()
                seen.append(fds_on(*paths))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with kept_open():
        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert open_count() == 3  # one virtual stack per thread
        assert max(seen) <= 4
    assert open_count() == 0 and fds_on(*paths) == 0


def test_a_file_replaced_during_a_compute_is_read_afresh(tmp_path):
    paths = _dates(tmp_path, 3)
    readers = _readers(paths)
    with kept_open():
        before = read_stack(readers, YS, XS, np.empty((3, 64, 64), dtype=np.float32))
        _write(paths[1], np.full((SIZE, SIZE), 5000, dtype=np.uint16))
        after = read_stack(readers, YS, XS, np.empty((3, 64, 64), dtype=np.float32))
    assert (after[1] == np.float32(5000) * np.float32(1e-4)).all()
    assert after[[0, 2]].tobytes() == before[[0, 2]].tobytes() and not np.array_equal(after[1], before[1])
    assert fds_on(*paths) == 0
