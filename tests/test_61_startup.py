"""Start-up: the command line loads the array stack only when it computes, and an unchanged
re-run decides from file stamps alone, leaving the output folder as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from agromap.pipeline.config import load_config
from agromap.pipeline.noop import STATE_FILE
from agromap.pipeline.runner import run
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs

HEAVY = ("xarray", "dask", "distributed", "sklearn", "rasterio", "pandas", "pystac", "odc", "geopandas",
         "matplotlib", "scipy")
BANDS = ["green", "red", "nir", "swir16", "scl"]
ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(code: str) -> set[str]:
    """Top-level packages of HEAVY imported by ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1])) & set(HEAVY)


def test_cli_module_imports_no_array_stack():
    assert _loaded_after("import agromap.pipeline.cli") == set()


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "pipelines").glob("*.yaml")))
def test_loading_a_config_imports_no_array_stack(config):
    assert _loaded_after(f"from agromap.pipeline.config import load_config\n"
                         f"load_config({str(ROOT / 'pipelines' / config)!r})") == set()


@pytest.mark.parametrize("text", ["2023-06-01", "2023-06-01T10:00", "2023-06-01T10:00:00Z", "2023-06-01 10:00:00",
                                  "2023-06-01T10:00:00.123456789", "2023-06-01T10:00:00+05:30", "20230601",
                                  "2023-06", "2023", "2023-06-01t10:00z", " 2023-06-01 "])
def test_layer_dates_parse_without_pandas_as_pandas_reads_them(text):
    from pydantic import TypeAdapter

    from agromap.pipeline.schema import LayerDate

    assert TypeAdapter(LayerDate).validate_python(text) == text
    assert pd.Timestamp(text) is not pd.NaT  # the science reads the same string with pandas


@pytest.mark.parametrize("text", ["", "after the monsoon", "2023-02-30", "2023-13", "2023/06/01", "June 1 2023",
                                  "2023-W22-4", "2023-152"])
def test_layer_dates_that_are_not_iso_calendar_dates_are_refused(text):
    from pydantic import TypeAdapter

    from agromap.pipeline.schema import LayerDate

    with pytest.raises(ValueError, match="is not an ISO date/time"):
        TypeAdapter(LayerDate).validate_python(text)


def test_help_lists_commands_without_array_stack():
    # --help goes through the whole typer app, product commands included.
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "agromap", "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "validate" in done.stdout and "rice-train" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert imported & set(HEAVY) == set()


@pytest.fixture()
def project(tmp_path):
    """A 64 px, 3-date stack in a folder input, and its configuration."""
    spec = SceneSpec(shape=(64, 64), dates=("2023-06-01", "2023-07-01", "2023-08-01"), chunk=64, seed=3)
    stack = make_s2_stack(spec)[BANDS]
    write_stack_geotiffs(stack, tmp_path / "tifs")
    cfg = {"name": "noop", "scheduler": "threads", "chunk": 256, "areas": [{
        "name": "scene",
        "inputs": [{"kind": "folder", "path": "tifs", "bands": BANDS, "scale": 1e-4, "nodata": 0, "raw": ["scl"]}],
        "layers": [{"product": "ndvi", "time": "median"}, {"product": "water_mask", "method": "mndwi"}]}]}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, tmp_path / "out", stack


def _snapshot(out: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(out)): (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*")
            if p.is_file() and ".agromap" not in p.parts}


def test_unchanged_rerun_writes_nothing(project):
    cfg_path, out, _ = project
    cli = [sys.executable, "-X", "importtime", "-m", "agromap", "run", str(cfg_path), "--out", str(out)]
    first = subprocess.run(cli, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    assert (out / STATE_FILE).is_file()
    first_id = json.loads((out / "manifest.json").read_text())["run_id"]
    before = _snapshot(out)
    # Through the API: the published manifest comes back, every layer reused, nothing written.
    again = run(load_config(cfg_path), out)
    assert again.computed == [] and again.run_id != first_id and len(again.outputs) == 4
    assert all(o["reused"] for o in again.manifest["outputs"])
    assert again.manifest["run_id"] == first_id
    assert _snapshot(out) == before
    # Through the command line: decided before the array stack is imported; the key figures of
    # the run that published the manifest are repeated.
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    log = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert any("nothing changed since run" in line for line in log), log
    figures = [line.split("] ", 1)[1] for line in first.stderr.splitlines() if "water_mask" in line and " ha" in line]
    assert figures and all(any(f in line for line in log) for f in figures)
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert imported & {"xarray", "dask", "distributed", "sklearn", "pandas", "odc"} == set()
    assert _snapshot(out) == before


def _manifest_mtime(out: Path) -> int:
    return (out / "manifest.json").stat().st_mtime_ns


def test_any_change_takes_the_full_run(project):
    cfg_path, out, stack = project
    run(load_config(cfg_path), out)
    # Same bytes, newer file: the full run decides from checksums (nothing recomputed), but it runs.
    stamp = _manifest_mtime(out)
    red = out.parent / "tifs" / "2023-06-01_red.tif"
    st = red.stat()
    os.utime(red, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = run(load_config(cfg_path), out)
    assert again.computed == [] and _manifest_mtime(out) != stamp
    assert again.manifest["run_id"] == again.run_id
    # A lost quicklook is drawn again.
    png = out / again.outputs[0]["quicklook"]
    png.unlink()
    run(load_config(cfg_path), out)
    assert png.is_file()
    # force never takes the short cut.
    stamp = _manifest_mtime(out)
    run(load_config(cfg_path), out, force=True)
    assert _manifest_mtime(out) != stamp
    # Another configuration.
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["areas"][0]["layers"].append({"product": "ndvi", "time": "max"})
    cfg_path.write_text(yaml.safe_dump(cfg))
    again = run(load_config(cfg_path), out)
    assert [o["path"] for o in again.computed if "ndvi_max" in o["path"]]
    # A fourth date lands in the input folder.
    extra = stack.isel(time=[0]).assign_coords(time=[stack.time.values[-1] + np.timedelta64(45, "D")])
    write_stack_geotiffs(extra, out.parent / "tifs")
    again = run(load_config(cfg_path), out)
    assert any("20230915" in o["path"] for o in again.computed)
    assert len(again.manifest["inputs"]) == 4
    assert run(load_config(cfg_path), out).manifest["run_id"] == again.run_id  # and then nothing changed


def test_planning_does_not_load_distributed(project):
    """Planning merges dates into one chunk per tile; dask would import dask.distributed just to
    look for a client (none exists before the compute), half a second of every plan."""
    cfg_path, _, _ = project
    loaded = _loaded_after("from agromap.pipeline.config import load_config\n"
                           "from agromap.pipeline.runner import plan_run\n"
                           f"plan_run(load_config({str(cfg_path)!r}))")
    assert "dask" in loaded and "distributed" not in loaded


def test_a_threaded_run_does_not_load_distributed(project):
    """Named "threads", dask's compute imports dask.distributed to look for a client first (~0.1
    CPU-s of every run); the runner hands dask the scheduler's function instead."""
    cfg_path, out, _ = project
    loaded = _loaded_after("from agromap.pipeline.config import load_config\n"
                           "from agromap.pipeline.runner import run\n"
                           f"r = run(load_config({str(cfg_path)!r}), {str(out)!r})\n"
                           "assert r.computed and r.manifest['cluster']['scheduler'] == 'threads'")
    assert "dask" in loaded and "distributed" not in loaded


def test_validate_settles_from_headers_without_the_array_stack(project):
    """`agromap validate` of a configuration the header-only check covers builds no graph: xarray,
    dask.array, pandas and the science stay unimported."""
    cfg_path, _, _ = project
    probe = ("import sys\nfrom agromap.pipeline.cli import app\n"
             f"sys.argv = ['agromap', 'validate', {str(cfg_path)!r}]\n"
             "try:\n    app()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
             "assert 'dask.array' not in sys.modules")
    loaded = _loaded_after(probe)
    assert loaded & {"xarray", "distributed", "pandas", "sklearn", "scipy", "matplotlib"} == set()
