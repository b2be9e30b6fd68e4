"""Batch safety under faults: real schedulers, killed workers, SIGKILLed runners, concurrent runs.

Everything runs for real: the CLI in its own processes (forked from an interpreter that imported
the array stack once: tests/forked_cli.py), a `dask scheduler` and two `dask worker` processes on
127.0.0.1 started by the test, kills with SIGKILL.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rio_cogeo.cogeo import cog_validate

from agromap.pipeline.config import load_config
from agromap.pipeline.runner import run
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs
from forked_cli import ForkedProcess, ForkServer

pytestmark = pytest.mark.integration

BANDS = ["green", "red", "nir", "swir16", "scl"]


def _digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*.tif"))}


def _write_config(path: Path, files: dict[str, dict[str, str]], scheduler: str = "local", **layer_kw: object) -> Path:
    inputs = [{"kind": "files", "datetime": date, "bands": bands, "scale": 1e-4, "nodata": 0, "raw": ["scl"]}
              for date, bands in files.items()]
    layers = [{"product": "ndvi"}, {"product": "water_mask", "method": "mndwi", **layer_kw},
              {"product": "ndvi", "time": "median"}]
    cfg = {"name": "batch", "scheduler": scheduler, "chunk": 256, "areas": [{"name": "scene", "inputs": inputs,
                                                                           "layers": layers}]}
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A synthetic Sentinel-2 stack on disk: four 256 px tiles per layer, seven layers.

    A run of it lasts a few seconds (start-up, compute, then publishing seven COGs one by one),
    long enough to be killed during its compute or its publishing; the kill tests assert that
    the run had not finished. A larger scene only makes the compute longer, not the test stronger.
    """
    root = tmp_path_factory.mktemp("stack")
    spec = SceneSpec(shape=(512, 512), dates=("2023-06-01", "2023-07-01", "2023-08-01"), chunk=512, seed=7)
    files = write_stack_geotiffs(make_s2_stack(spec)[BANDS], root / "tifs")
    return root, files


@pytest.fixture(scope="module")
def reference(stack, tmp_path_factory):
    """The uninterrupted embedded run every faulty run must reproduce byte for byte."""
    root, files = stack
    cfg = _write_config(root / "ref.yaml", files)
    out = tmp_path_factory.mktemp("reference")
    result = run(load_config(cfg), out)
    return out, _digests(out), result


def _cli(agromap_cli: ForkServer, config: Path, out: Path, *extra: str) -> ForkedProcess:
    return agromap_cli.popen("run", str(config), "--out", str(out), *extra)


def _assert_no_partial_at_final_paths(out: Path) -> None:
    for tif in out.rglob("*.tif"):
        if tif.name.startswith("."):
            continue  # staging and temporary files are hidden and never final
        assert cog_validate(str(tif), strict=True)[0], f"{tif} is not a complete COG"


def test_rerun_is_idempotent_and_incremental(stack, reference, tmp_path):
    import shutil

    root, files = stack
    ref_out, ref_digests, _ = reference
    # A private copy of the inputs: this test edits one of them.
    shutil.copytree(root / "tifs", tmp_path / "tifs")
    files = {d: {b: str(tmp_path / "tifs" / Path(p).name) for b, p in bands.items()} for d, bands in files.items()}
    out = tmp_path / "out"
    cfg = _write_config(tmp_path / "run.yaml", files, scheduler="threads")
    first = run(load_config(cfg), out)
    # Input paths differ from the reference run (they are part of the recipe tag), pixels do not.
    for rel in ref_digests:
        with rasterio.open(ref_out / rel) as a, rasterio.open(out / rel) as b:
            np.testing.assert_array_equal(a.read(), b.read())
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.tif")}
    again = run(load_config(cfg), out)
    assert again.computed == [] and len(again.outputs) == len(first.outputs)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.tif")} == mtimes
    assert again.manifest["outputs"][0]["reused"] and again.manifest["outputs"][0]["sha256"]
    # A changed parameter recomputes exactly the layers it affects.
    _write_config(cfg, files, scheduler="threads", threshold=0.2)
    changed = run(load_config(cfg), out)
    assert {o["path"] for o in changed.computed} == {o["path"] for o in first.outputs if "water_mask" in o["path"]}
    # A changed input recomputes the layers of its area.
    red = Path(files[next(iter(files))]["red"])
    with rasterio.open(red, "r+") as dst:
        dst.write(np.full((1, 8, 8), 1234, np.uint16), window=((0, 8), (0, 8)))
    after = run(load_config(cfg), out)
    assert len(after.computed) == len(first.outputs)


def test_external_cluster_with_a_killed_worker(stack, reference, tmp_path, agromap_cli):
    root, files = stack
    _, ref_digests, _ = reference
    sched_file = tmp_path / "scheduler.json"
    procs = [agromap_cli.popen("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file), module="dask")]
    try:
        for _ in range(100):
            if sched_file.exists() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        workers = [agromap_cli.popen("worker", "--scheduler-file", str(sched_file), "--nthreads", "1", "--no-nanny",
                                     "--no-dashboard", "--name", f"w{i}", module="dask") for i in range(2)]
        procs += workers
        from distributed import Client

        with Client(address, timeout="20s") as client:
            client.wait_for_workers(2, timeout=60)
            # The GDAL preset reaches every worker: the runner pushes it before tasks run.
            from agromap.pipeline.scheduler import open_execution

            with open_execution(address) as execu:
                got = execu.client.run(lambda: {k: os.environ.get(k) for k in ("GDAL_CACHEMAX", "GDAL_NUM_THREADS",
                                                                              "GDAL_DISABLE_READDIR_ON_OPEN")})
            assert len(got) == 2
            assert all(v == {"GDAL_CACHEMAX": "256", "GDAL_NUM_THREADS": "1",
                             "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"} for v in got.values())
            (victim,) = [a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "w0"]
            cfg = _write_config(tmp_path / "run.yaml", files, scheduler=address)
            out = tmp_path / "out"
            proc = _cli(agromap_cli, cfg, out)
            # Kill one worker while the scheduler has run tasks on it: its results and its queue are
            # lost and must be recomputed on the other worker.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None and not client.processing([victim])[victim]:
                time.sleep(0.01)
            assert client.processing([victim])[victim], "the run's tasks never reached the worker to kill"
            workers[0].send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert _digests(out) == ref_digests
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["cluster"]["scheduler"] == address
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.mark.parametrize("moment", ["compute", "publish"])
def test_sigkill_runner_then_rerun(stack, reference, tmp_path, moment, agromap_cli):
    root, files = stack
    _, ref_digests, _ = reference
    cfg = _write_config(tmp_path / "run.yaml", files)
    out = tmp_path / "out"
    proc = _cli(agromap_cli, cfg, out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        staged = list(out.rglob(".*staging*"))
        published = [p for p in out.rglob("*.tif") if not p.name.startswith(".")]
        if (moment == "compute" and staged) or (moment == "publish" and published):
            break
        time.sleep(0.01)
    if moment == "compute":
        time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    _assert_no_partial_at_final_paths(out)
    assert not (out / "manifest.json").exists()
    rerun = _cli(agromap_cli, cfg, out)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert _digests(out) == ref_digests
    assert not [p for p in out.rglob(".*") if p.is_file() and ("staging" in p.name or p.name.endswith(".partial"))]


def test_two_concurrent_runs_one_writer(stack, reference, tmp_path, agromap_cli):
    root, files = stack
    _, ref_digests, _ = reference
    # The lock does not depend on the scheduler; threads spare four cluster start-ups.
    cfg = _write_config(tmp_path / "run.yaml", files, scheduler="threads")
    out = tmp_path / "out"
    a, b = _cli(agromap_cli, cfg, out), _cli(agromap_cli, cfg, out)
    (_, err_a), (_, err_b) = a.communicate(timeout=300), b.communicate(timeout=300)
    assert sorted([a.returncode, b.returncode]) == [0, 5], (err_a, err_b)
    loser = err_a if a.returncode == 5 else err_b
    assert "being written by another agromap run" in loser.strip().splitlines()[-1]
    assert _digests(out) == ref_digests
    # With --wait-lock the second run waits, then finds everything up to date.
    c, d = (_cli(agromap_cli, cfg, out, "--force", "--wait-lock", "120"),
            _cli(agromap_cli, cfg, out, "--wait-lock", "120"))
    (_, err_c), (_, err_d) = c.communicate(timeout=300), d.communicate(timeout=300)
    assert (c.returncode, d.returncode) == (0, 0), (err_c, err_d)
    assert _digests(out) == ref_digests


def test_killed_worker_every_time_is_exit_6(tmp_path):
    """A task that kills its worker on every try ends as ComputeLostError (exit 6), not a hang."""
    import dask
    from distributed import Client, LocalCluster

    from agromap.errors import ComputeLostError
    from agromap.pipeline.scheduler import Execution

    def suicide(x: int) -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return x

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            execu = Execution("local", client, {})
            with pytest.raises(ComputeLostError) as info:
                execu.compute(dask.delayed(suicide)(1))
            # Let the nanny finish restarting the killed worker: closing the cluster in the middle
            # of a restart trips distributed's own teardown ("can only join a started process").
            client.wait_for_workers(1, timeout=60)
    assert info.value.exit_code == 6
