"""The notebooks in notebooks/ run top to bottom on sample_data/, offline, and are stored clean.

Each notebook is executed with nbclient in a fresh kernel started from *this* interpreter
(``sys.executable -m ipykernel_launcher``), through a kernelspec written to a temporary folder,
so neither an installed ``python3`` kernelspec nor the user's Jupyter set-up can substitute
another Python. The working directory is notebooks/, as when an analyst opens them.

The notebooks are also runnable with nbmake: ``.venv/bin/python -m pytest --nbmake notebooks/``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
#: One notebook per capability; more may be added.
REQUIRED = ("01_ingest_and_indices", "02_rice", "03_air_quality", "04_disaster")
#: Per-notebook budget: each runs in about 5 s on 2 cores; this only catches a runaway.
TIMEOUT_S = 120
#: A stored notebook is source only; outputs would make it megabytes of PNG.
MAX_BYTES = 60_000
#: agromap's own warnings are errors in the test suite (pyproject); in a kernel they print to stderr.
AGROMAP_WARNING = re.compile(r"agromap[\w.]*:\d+: \w*Warning|\b(AgromapWarning|RadiometryWarning|NoValidDataWarning)\b")


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_every_capability_has_a_notebook() -> None:
    stems = {p.stem for p in NOTEBOOKS}
    missing = [s for s in REQUIRED if s not in stems]
    assert not missing, f"notebooks missing from {NOTEBOOKS_DIR}: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them before "
                       "committing (Jupyter: Edit > Clear All Outputs, or "
                       "`jupyter nbconvert --clear-output --inplace`).")
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes; keep notebooks small."
    assert nb.metadata.get("kernelspec", {}).get("language") == "python"
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert len(markdown) >= 5 and markdown[0].source.startswith("# "), \
        f"{path.name}: a notebook for newcomers starts with a title and explains its steps in markdown."
    assert "sample_data" in "".join(c.source for c in nb.cells), f"{path.name} must run on sample_data/."


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec folder whose only kernel is this interpreter."""
    kernels = tmp_path_factory.mktemp("jupyter") / "kernels"
    spec = kernels / "agromap-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "agromap (test venv)",
        "language": "python",
    }))
    return kernels


def _stderr(nb: nbformat.NotebookNode) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stderr")


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(path: Path, kernel_dir: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)], ensure_native_kernel=False)
    km = KernelManager(kernel_name="agromap-test", kernel_spec_manager=specs)
    client = NotebookClient(nb, km=km, timeout=TIMEOUT_S, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    t0 = time.perf_counter()
    try:
        # The kernel draws inline (ipykernel's default backend) even if the test process set a backend.
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
        client.execute(env=env)  # raises CellExecutionError, with the cell and traceback, on any error
    finally:
        if km.has_kernel:  # nbclient leaves a kernel it did not create running
            km.shutdown_kernel(now=True)
    elapsed = time.perf_counter() - t0
    print(f"\n{path.name}: {elapsed:.1f} s")
    assert elapsed < TIMEOUT_S
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in ran), f"{path.name}: some cells did not run"
    images = sum("image/png" in o.get("data", {}) for c in ran for o in c.outputs)
    assert images >= 2, f"{path.name}: expected its maps and plots, got {images} images"
    warned = AGROMAP_WARNING.findall(_stderr(nb))
    assert not warned, f"{path.name}: agromap warnings while running: {warned}"
