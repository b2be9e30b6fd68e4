"""Shared fixtures: paths to the real samples and tiny raster files written on the fly."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"

# The machine's checksum cache (agromap.pipeline.checksums) of the tests' runs, and of the
# processes they start: a throwaway folder, never the user's.
os.environ["AGROMAP_CACHE_DIR"] = _MACHINE_CACHE = tempfile.mkdtemp(prefix="agromap-test-cache-")
atexit.register(shutil.rmtree, _MACHINE_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def offline_validator():
    """pystac's validator with extension schemas from tests/schemas (no network; see its README)."""
    from pystac.validation.stac_validator import JsonSchemaSTACValidator

    validator = JsonSchemaSTACValidator()
    for f in (Path(__file__).parent / "schemas").glob("*.json"):
        schema = json.loads(f.read_text())
        validator.schema_cache[schema["$id"]] = schema
    return validator


@pytest.fixture(scope="session")
def agromap_cli():
    """``python -m agromap ARGS`` as real processes forked from one interpreter that imported the
    array stack once (tests/forked_cli.py): ``agromap_cli.run(*args)`` -> CompletedProcess,
    ``agromap_cli.popen(*args)`` -> a Popen-like handle to watch, signal or kill."""
    from forked_cli import ForkServer

    server = ForkServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(params=[None, 64], ids=["numpy", "dask"])
def chunks(request: pytest.FixtureRequest) -> int | None:
    return request.param


def write_tif(path: Path, data: np.ndarray, *, crs: str | None = "EPSG:32643", res: float = 10.0,
              origin: tuple[float, float] = (500_000.0, 2_000_000.0), nodata: float | None = None,
              tiled: bool = True, block: int = 256, **extra: object) -> Path:
    """Write a small GeoTIFF (2-D or (band, y, x)) for a test."""
    arr = data if data.ndim == 3 else data[None]
    profile = {
        "driver": "GTiff", "width": arr.shape[2], "height": arr.shape[1], "count": arr.shape[0],
        "dtype": arr.dtype.name, "nodata": nodata, "compress": "deflate",
    }
    if tiled and arr.shape[1] >= block and arr.shape[2] >= block:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    if crs is not None:
        profile.update(crs=crs, transform=Affine(res, 0, origin[0], 0, -res, origin[1]))
    profile.update(extra)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)
    return path
