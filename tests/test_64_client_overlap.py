"""The run's own work during the compute: the publish and report libraries imported and a first
run's inputs hashed meanwhile, on threads that never outlive the compute, with the same outputs
and the same errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from agromap.pipeline.checksums import CACHE_DIR_ENV
from agromap.pipeline.meanwhile import AFTER_COMPUTE, hashed_meanwhile, imported_meanwhile
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs

BANDS = ["blue", "green", "red", "nir", "swir16", "scl"]

_PROBE = """
import json, sys, threading
from agromap.pipeline import checksums, runner
from agromap.pipeline.config import load_config
runner.MEANWHILE = {warm}
seen = {{"imported_on": {{}}}}
class Watch:  # which thread imports the compiled kernels (a finder asked first, finding nothing)
    def find_spec(self, name, path=None, target=None):
        if name in ("numba", "agromap.rice.optical_kernel", "agromap.rice.seasons_kernel"):
            seen["imported_on"][name] = threading.current_thread().name
        return None
sys.meta_path.insert(0, Watch())
from agromap.pipeline import meanwhile
real_imports = meanwhile._import_all
def import_all(names, kernels=()):
    seen["kernels"] = list(kernels)
    return real_imports(names, kernels)
meanwhile._import_all = import_all
real = runner.publish
def publish(*a, **k):
    seen["loaded"] = sorted(m for m in {names!r} if m in sys.modules)
    seen["threads"] = sorted(t.name for t in threading.enumerate())
    return real(*a, **k)
runner.publish = publish
hashed_on = set()
real_sha = checksums._sha256  # a file's bytes actually hashed (not a cache hit)
def sha256(path):
    hashed_on.add(threading.current_thread().name)
    return real_sha(path)
checksums._sha256 = sha256
import agromap.mapdraw as mapdraw
drawn = []
real_render = mapdraw.render_figure
def render_figure(view, *a, **k):
    drawn.append(view.product)
    return real_render(view, *a, **k)
mapdraw.render_figure = render_figure
result = runner.run(load_config({cfg!r}), {out!r}, force={force})
seen["drawn"] = drawn
seen["after"] = sorted(t.name for t in threading.enumerate())
seen["hashed_on"] = sorted(hashed_on)
seen["inputs"] = result.manifest["inputs"]
seen["recipes"] = [o["recipe"] for o in result.outputs]
seen["reused"] = [o["reused"] for o in result.outputs]
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


def _run(config: Path, out: Path, warm: bool, force: bool = False) -> dict[str, Any]:
    code = _PROBE.format(warm=warm, names=list(AFTER_COMPUTE), cfg=str(config), out=str(out), force=force)
    # Without the machine's checksum cache: each run's hashing is what this module watches.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, CACHE_DIR_ENV: ""})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def warm(config, tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """One first run with the overlap (its output folder and what the probe saw), for the tests
    that only read it."""
    out = tmp_path_factory.mktemp("overlap_warm") / "out"
    return out, _run(config, out, True)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.suffix in (".tif", ".png")}


def _report_images(out: Path) -> list[str]:
    return re.findall(r'src="(data:image/[^"]+)"', (out / "report.html").read_text())


def test_libraries_and_input_hashes_are_done_during_the_compute(config, warm, tmp_path):
    """With the overlap, publishing starts with every listed library loaded, the inputs of a
    first run hashed on the background thread, and both threads gone; without it, the libraries
    are still to import and the inputs are hashed on the run's thread. Every COG, quicklook,
    report map, recipe and input record is the same."""
    warm_out, warm = warm
    cold = _run(config, tmp_path / "cold", False)
    assert warm["loaded"] == sorted(AFTER_COMPUTE)
    assert "matplotlib.figure" not in cold["loaded"] and "rio_cogeo.cogeo" not in cold["loaded"]
    assert warm["hashed_on"] == ["agromap-hashes"] and cold["hashed_on"] == ["MainThread"]
    # The rule's compiled kernels are loaded from before the first tile on the background thread (a
    # tile may still import them first on a run this small); without the overlap, by a tile task.
    assert warm["kernels"] == ["agromap.rice.optical_kernel", "agromap.rice.seasons_kernel"] and cold["kernels"] == []
    assert set(cold["imported_on"]) == {"numba", "agromap.rice.optical_kernel", "agromap.rice.seasons_kernel"}
    assert not {"agromap-imports", "MainThread"} & set(cold["imported_on"].values())
    assert not {"agromap-imports", "agromap-hashes"} & set(warm["threads"] + warm["after"])
    assert warm["inputs"] == cold["inputs"] and len(warm["inputs"]) == 8
    assert warm["recipes"] == cold["recipes"] and all(len(r) == 64 for r in warm["recipes"])
    assert _files(warm_out) == _files(tmp_path / "cold") and len(_files(warm_out)) == 16
    assert _report_images(warm_out) == _report_images(tmp_path / "cold")
    assert len(_report_images(warm_out)) == 6  # the layers with valid pixels


def test_the_report_draws_only_the_maps_it_shows(warm):
    """A layer without valid pixels is named under the maps, not shown: its map is not drawn."""
    out, seen = warm
    page = (out / "report.html").read_text()
    hidden = re.search(r"Not shown, no valid pixel \(or under 0.1 %\): ([^<]+)<", page)
    assert hidden is not None and len(hidden.group(1).split(", ")) == 2
    assert len(seen["drawn"]) == len(_report_images(out)) == 6


def test_a_rerun_decides_from_hashes_before_the_compute(config, tmp_path):
    """Into a folder with outputs, which layers are stale depends on the inputs' hashes: they are
    taken first, on the run's thread; a forced run computes everything and hashes meanwhile."""
    first = _run(config, tmp_path / "out", True)
    red = sorted((config.parent / "tifs").glob("*_red.tif"))[0]
    st = red.stat()
    os.utime(red, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same bytes, newer file: hashed again
    again = _run(config, tmp_path / "out", True)
    assert again["hashed_on"] == ["MainThread"] and all(again["reused"]) and again["recipes"] == first["recipes"]
    os.utime(red, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))
    forced = _run(config, tmp_path / "out", True, force=True)
    assert forced["hashed_on"] == ["agromap-hashes"] and not any(forced["reused"])
    assert forced["recipes"] == first["recipes"] and forced["inputs"] == first["inputs"]


def _hash_calls(fail_at: int | None = None) -> tuple[list[str], Any]:
    calls: list[str] = []

    def sha256(path: str) -> str:
        calls.append(path)
        if fail_at is not None and len(calls) == fail_at:
            raise PermissionError(f"[Errno 13] Permission denied: {path!r}")
        return "0" * 64

    return calls, sha256


def test_a_hashing_failure_surfaces_after_the_compute():
    """The background's failure is raised once the body is done, as the same exception; hashing
    stops at the failed file."""
    calls, sha256 = _hash_calls(fail_at=2)
    body_done = []
    with pytest.raises(PermissionError, match="Permission denied: 'b.tif'"):
        with hashed_meanwhile(["a.tif", "b.tif", "c.tif"], sha256):
            body_done.append(True)
    assert body_done == [True] and calls == ["a.tif", "b.tif"]
    assert not [t for t in threading.enumerate() if t.name == "agromap-hashes"]


def test_an_interrupted_compute_stops_hashing():
    """An interruption inside the block propagates alone (no hashing error in its place); the
    hashing thread stops at the next file and is gone after the block."""
    started = threading.Event()
    release = threading.Event()
    calls: list[str] = []

    def sha256(path: str) -> str:
        calls.append(path)
        started.set()
        release.wait(5)
        return "0" * 64

    with pytest.raises(KeyboardInterrupt):
        with hashed_meanwhile([f"{i}.tif" for i in range(100)], sha256):
            started.wait(5)
            threading.Timer(0.2, release.set).start()
            raise KeyboardInterrupt
    assert calls == ["0.tif"]
    assert not [t for t in threading.enumerate() if t.name == "agromap-hashes"]


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
