"""The client's work around the compute: the publish and report libraries imported while the
compute runs, on a thread that never outlives it and whose failures surface where they did."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from agromap.pipeline.warm_imports import AFTER_COMPUTE, imported_meanwhile
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs

BANDS = ["blue", "green", "red", "nir", "swir16", "scl"]

_PROBE = """
import json, sys, threading
from agromap.pipeline import runner
from agromap.pipeline.config import load_config
runner.WARM_IMPORTS = {warm}
seen = {{}}
real = runner.publish
def publish(*a, **k):
    seen["loaded"] = sorted(m for m in {names!r} if m in sys.modules)
    seen["threads"] = sorted(t.name for t in threading.enumerate())
    return real(*a, **k)
runner.publish = publish
result = runner.run(load_config({cfg!r}), {out!r})
seen["after"] = sorted(t.name for t in threading.enumerate())
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("overlap")
    dates = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9) for d in (1, 16))
    write_stack_geotiffs(make_s2_stack(SceneSpec(shape=(96, 96), dates=dates, chunk=64, seed=2))[BANDS], tmp / "tifs")
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump({"name": "overlap", "scheduler": "threads", "chunk": 256, "areas": [{
        "name": "a",
        "inputs": [{"kind": "folder", "path": "tifs", "bands": BANDS, "scale": 1e-4, "nodata": 0, "raw": ["scl"]}],
        "layers": [{"product": "rice", "method": "optical"}, {"product": "ndvi", "time": "median"}]}]}))
    return path


def _run(config: Path, out: Path, warm: bool) -> dict[str, list[str]]:
    code = _PROBE.format(warm=warm, names=list(AFTER_COMPUTE), cfg=str(config), out=str(out))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.suffix in (".tif", ".png")}


def _report_images(out: Path) -> list[str]:
    return re.findall(r'src="(data:image/[^"]+)"', (out / "report.html").read_text())


def test_publish_libraries_are_imported_during_the_compute(config, tmp_path):
    """With the overlap, publishing starts with every listed library loaded and the import thread
    gone; without it, they are still to import. Every COG, quicklook and report map is the same."""
    warm = _run(config, tmp_path / "warm", True)
    cold = _run(config, tmp_path / "cold", False)
    assert warm["loaded"] == sorted(AFTER_COMPUTE)
    assert "matplotlib.figure" not in cold["loaded"] and "rio_cogeo.cogeo" not in cold["loaded"]
    assert "agromap-imports" not in warm["threads"] and "agromap-imports" not in warm["after"]
    assert _files(tmp_path / "warm") == _files(tmp_path / "cold") and len(_files(tmp_path / "warm")) == 16
    assert _report_images(tmp_path / "warm") == _report_images(tmp_path / "cold")
    assert len(_report_images(tmp_path / "warm")) == 6  # the layers with valid pixels


def _module(folder: Path, name: str, body: str) -> str:
    (folder / f"{name}.py").write_text(body)
    return name


def test_a_failed_background_import_fails_in_its_step(tmp_path, monkeypatch):
    """The background drops the failure; the step importing the library gets the same error as
    without the overlap (nothing half-imported is left in between)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = _module(tmp_path, "agromap_test_broken_lib", "raise RuntimeError('broken library: reinstall it')\n")
    missing = "agromap_test_no_such_lib"
    with imported_meanwhile([missing, broken]):
        pass
    assert broken not in sys.modules
    assert not [t for t in threading.enumerate() if t.name == "agromap-imports"]
    with pytest.raises(RuntimeError, match="broken library: reinstall it"):
        __import__(broken)
    with pytest.raises(ModuleNotFoundError, match=missing):
        __import__(missing)


def test_an_interrupted_compute_leaves_no_import_thread(tmp_path, monkeypatch):
    """An interruption inside the block surfaces unchanged once the import under way is done;
    the thread does not outlive the block."""
    monkeypatch.syspath_prepend(str(tmp_path))
    slow = _module(tmp_path, "agromap_test_slow_lib", "import time\ntime.sleep(0.3)\nLOADED = True\n")
    monkeypatch.delitem(sys.modules, slow, raising=False)
    with pytest.raises(KeyboardInterrupt):
        with imported_meanwhile([slow]):
            raise KeyboardInterrupt
    assert sys.modules[slow].LOADED
    assert not [t for t in threading.enumerate() if t.name == "agromap-imports"]
