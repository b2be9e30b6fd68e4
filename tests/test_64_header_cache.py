"""Raster headers kept by file identity: an unchanged file is not opened again, a changed one always is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agromap.errors import CorruptInputError, RasterTooLargeError
from agromap.io import header, header_cache
from agromap.io.header import read_header
from agromap.pipeline.checksums import CACHE_DIR_ENV
from conftest import write_tif


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Path:
    """This test's own machine cache folder, and a process that holds nothing yet."""
    folder = tmp_path / "machine"
    monkeypatch.setenv(CACHE_DIR_ENV, str(folder))
    header_cache.clear_memory()
    yield folder
    header_cache.clear_memory()


@pytest.fixture
def opens(monkeypatch) -> list[str]:
    """Names the reader opens with GDAL."""
    seen: list[str] = []
    real = header.rasterio.open

    def counting(path, *a, **k):
        if (a[0] if a else k.get("mode", "r")) == "r":  # not the test's own writes
            seen.append(str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(header.rasterio, "open", counting)
    return seen


def _tif(path: Path, nodata: float | None = 0) -> Path:
    data = np.arange(300 * 280, dtype=np.uint16).reshape(300, 280)
    return write_tif(path, data, nodata=nodata)


def test_an_unchanged_file_is_described_without_opening_it(machine, opens, tmp_path):
    tif = _tif(tmp_path / "a.tif")
    first = read_header(str(tif))
    assert opens == [str(tif)]
    again = read_header(str(tif))
    assert again == first  # every field: size, type, nodata, CRS, transform, blocks, tags
    assert opens == [str(tif)]
    header_cache.save()
    header_cache.clear_memory()  # another process: from the machine's file
    assert read_header(str(tif)) == first
    assert opens == [str(tif)]
    assert (machine / header_cache.CACHE_FILE).is_file()


def test_a_rewritten_file_is_read_again(machine, opens, tmp_path):
    tif = _tif(tmp_path / "a.tif", nodata=0)
    assert read_header(str(tif)).nodata == 0
    _tif(tif, nodata=7)  # the same name and size, other contents
    assert read_header(str(tif)).nodata == 7
    assert len(opens) == 2


def test_a_side_car_added_later_is_seen(machine, opens, tmp_path, monkeypatch):
    # With directory listing on, GDAL reads a PAM side-car's nodata; the file itself is unchanged.
    monkeypatch.setenv("GDAL_DISABLE_READDIR_ON_OPEN", "FALSE")
    tif = _tif(tmp_path / "a.tif", nodata=None)
    assert read_header(str(tif)).nodata is None
    Path(f"{tif}.aux.xml").write_text(
        '<PAMDataset><PAMRasterBand band="1"><NoDataValue>5</NoDataValue></PAMRasterBand></PAMDataset>')
    assert read_header(str(tif)).nodata == 5
    assert len(opens) == 2


def test_the_pixel_budget_is_checked_on_every_read(machine, opens, tmp_path):
    tif = _tif(tmp_path / "a.tif")
    read_header(str(tif))
    with pytest.raises(RasterTooLargeError, match="above the budget of 1,000 px"):
        read_header(str(tif), max_pixels=1000)
    assert len(opens) == 1


def test_a_failed_read_is_not_kept(machine, opens, tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff at all")
    for _ in range(2):
        with pytest.raises(CorruptInputError):
            read_header(str(bad))
    assert len(opens) == 2


def test_no_cache_folder_means_no_cache(monkeypatch, opens, tmp_path):
    monkeypatch.setenv(CACHE_DIR_ENV, "")
    header_cache.clear_memory()
    tif = _tif(tmp_path / "a.tif")
    read_header(str(tif))
    read_header(str(tif))
    header_cache.save()
    assert len(opens) == 2


def test_a_damaged_cache_file_counts_as_empty(machine, opens, tmp_path):
    tif = _tif(tmp_path / "a.tif")
    first = read_header(str(tif))
    header_cache.save()
    path = machine / header_cache.CACHE_FILE
    data = json.loads(path.read_text())
    assert len(data["crs"]) == 1 and list(data["headers"]) == [str(tif)]
    path.write_text(path.read_text()[:40])
    header_cache.clear_memory()
    assert read_header(str(tif)) == first
    assert len(opens) == 2
