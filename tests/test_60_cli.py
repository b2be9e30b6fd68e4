"""The command line as users and cron call it: real processes, real exit codes.

``--version`` starts a fresh interpreter; the other commands run as processes forked from one that
imported the array stack once (the ``agromap_cli`` fixture, tests/forked_cli.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_version():
    proc = subprocess.run([sys.executable, "-m", "agromap", "--version"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("agromap 0.")


def test_help_documents_exit_codes(agromap_cli):
    proc = agromap_cli.run("--help", cwd=ROOT)
    assert proc.returncode == 0
    flat = " ".join(proc.stdout.split())
    for text in ("2 bad configuration", "3 input unreadable", "4 no valid data", "5 output directory locked"):
        assert text in flat


def test_show_versions(agromap_cli):
    proc = agromap_cli.run("show-versions", cwd=ROOT)
    assert proc.returncode == 0 and "GDAL:" in proc.stdout and "PROJ:" in proc.stdout


def test_validate_demo_computes_nothing(agromap_cli):
    proc = agromap_cli.run("validate", "pipelines/demo.yaml", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "hokkaido: 3 scene(s) on 243x266 px in EPSG:32654" in proc.stdout
    assert "configuration and inputs are valid" in proc.stdout


def test_locked_output_exits_5(tmp_path, agromap_cli):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / ".agromap.lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = agromap_cli.run("run", "pipelines/demo.yaml", "--out", str(out), "--scheduler", "threads", cwd=ROOT)
    finally:
        os.close(fd)
    assert proc.returncode == 5
    assert proc.stderr.strip().splitlines()[-1].startswith("agromap: error:")
    assert "another agromap run" in proc.stderr
    assert not list(out.rglob("*.tif"))


def test_run_with_a_relative_output_folder(tmp_path, agromap_cli):
    """`make demo` passes a relative --out; every path in the run must hold from the caller's cwd."""
    proc = agromap_cli.run("run", str(ROOT / "pipelines" / "demo.yaml"), "--out", "runs/demo", "--scheduler",
                           "threads", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "runs" / "demo"
    assert (out / "report.html").stat().st_size > 10_000 and (out / "manifest.json").exists()
    assert len(list(out.rglob("*.png"))) == 15
    # Every path the manifest and the STAC items give resolves inside the output folder.
    manifest = json.loads((out / "manifest.json").read_text())
    for o in manifest["outputs"]:
        assert all((out / o[k]).is_file() for k in ("path", "stac_item", "quicklook")), o
        item = json.loads((out / o["stac_item"]).read_text())
        for asset in item["assets"].values():
            assert not Path(asset["href"]).is_absolute() and (out / o["stac_item"]).parent.joinpath(asset["href"]).is_file()
