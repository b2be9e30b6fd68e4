"""Layers published on several threads at once are byte for byte the serial publication."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import pytest
import yaml

from agromap.io import write
from agromap.pipeline import runner
from agromap.pipeline.config import load_config
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs

BANDS = ["blue", "green", "red", "nir", "swir16", "scl"]


def _digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*"))
            if p.suffix in (".tif", ".png")}


def test_parallel_publication_is_the_serial_one(tmp_path, monkeypatch):
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9, 10) for d in (1, 16))
    spec = SceneSpec(shape=(64, 64), dates=dates, chunk=64, seed=5)
    write_stack_geotiffs(make_s2_stack(spec)[BANDS], tmp_path / "tifs")
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump({"name": "pub", "scheduler": "threads", "chunk": 256, "areas": [{
        "name": "a",
        "inputs": [{"kind": "folder", "path": "tifs", "bands": BANDS, "scale": 1e-4, "nodata": 0, "raw": ["scl"]}],
        "layers": [{"product": "rice", "method": "optical"}, {"product": "ndvi", "time": "median"}]}]}))
    cfg = load_config(cfg_path)
    monkeypatch.setattr(runner, "PUBLISH_THREADS", 1)
    serial = runner.run(cfg, tmp_path / "serial")
    seen: set[str] = set()
    real = write.prepare_cog

    def spy(*args, **kwargs):  # which threads prepared the layers
        seen.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "prepare_cog", spy)
    monkeypatch.setattr(runner, "PUBLISH_THREADS", 4)
    parallel = runner.run(cfg, tmp_path / "parallel")
    assert len(serial.outputs) == len(parallel.outputs) >= 7
    assert len(seen) > 1 and all(name.startswith("agromap-publish") for name in seen)
    a, b = _digests(tmp_path / "serial"), _digests(tmp_path / "parallel")
    assert len(a) == 2 * len(serial.outputs) and a == b
    assert [o["sha256"] for o in serial.outputs] == [o["sha256"] for o in parallel.outputs]


def test_gdal_warning_is_blamed_on_its_own_thread():
    """A warning raised while one layer converts fails that layer, not its neighbour."""
    logger = logging.getLogger("rasterio._env")
    ready, done = threading.Barrier(2), threading.Event()
    caught: dict[str, list[str]] = {}

    def layer(name: str, warn: bool) -> None:
        with write._capture_gdal_warnings() as handler:
            ready.wait()
            if warn:
                logger.warning("TIFFWriteDirectory: something odd")
                done.set()
            else:
                done.wait(5)
            caught[name] = handler.messages

    threads = [threading.Thread(target=layer, args=("a", True)), threading.Thread(target=layer, args=("b", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert caught == {"a": ["TIFFWriteDirectory: something odd"], "b": []}
    # A warning from a thread that captures nothing (GDAL's own workers) reaches every capture.
    with write._capture_gdal_warnings() as handler:
        t = threading.Thread(target=logger.warning, args=("from a GDAL worker",))
        t.start()
        t.join()
    assert handler.messages == ["from a GDAL worker"]
    assert not write._CAPTURING


@pytest.mark.parametrize("level", [logging.ERROR, logging.NOTSET])
def test_capture_restores_the_logger_level(level):
    logger = logging.getLogger("rasterio._env")
    old = logger.level
    logger.setLevel(level)
    try:
        with write._capture_gdal_warnings():
            with write._capture_gdal_warnings():
                pass
        assert logger.level == level
    finally:
        logger.setLevel(old)
