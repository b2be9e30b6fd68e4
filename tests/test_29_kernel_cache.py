"""The compiled kernels' disk cache follows the helpers and constants they take from other modules.

numba keys a cached function on its own source file; a kernel whose helper or constant lives in
another module would otherwise keep its old machine code after only that module changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from agromap import jit as kernel_jit

_HELPER = """
from agromap.jit import jit
OFFSET = {offset}
@jit()
def helper(x):
    return x + OFFSET + {extra}
"""
_CALLER = """
from agromap.jit import jit
from .helper import helper
@jit({sig})
def caller(x):
    return helper(x) * 2.0
"""


def _run(tmp_path) -> tuple[float, int]:
    code = "from kpkg.caller import caller; print(caller(1.0), sum(caller.stats.cache_hits.values()))"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    value, hits = done.stdout.split()
    return float(value), int(hits)


def _write(tmp_path, offset: float, extra: float, sig: str = "") -> None:
    pkg = tmp_path / "kpkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text(textwrap.dedent(_HELPER.format(offset=offset, extra=extra)))
    (pkg / "caller.py").write_text(_CALLER.format(sig=sig))


# A caller compiled at decoration for its signature (as the kernels are) too: numba loads such a
# function from its cache while it is decorated, so the key must be set before.
@pytest.mark.parametrize("sig", ["", "'float64(float64)'"])
def test_a_changed_helper_or_constant_in_another_module_recompiles_the_caller(tmp_path, sig):
    _write(tmp_path, 1.0, 0.0, sig)
    assert _run(tmp_path) == (4.0, 0)
    assert _run(tmp_path) == (4.0, 1)  # the cache is used while nothing changed
    _write(tmp_path, 1.0, 10.0, sig)  # the helper's code, in its own file
    assert _run(tmp_path) == (24.0, 0)
    _write(tmp_path, 5.0, 10.0, sig)  # a constant the helper reads
    assert _run(tmp_path) == (32.0, 0)
    assert _run(tmp_path) == (32.0, 1)


def test_the_kernels_cache_carries_the_dependency_stamp():
    """Pins the numba internals the stamp relies on: a numba that moves them fails here."""
    from agromap.rice import optical_kernel

    if not kernel_jit.CACHE:
        pytest.skip("no folder here can hold numba's cache")
    stamp = optical_kernel._pixels._cache._cache_file._source_stamp
    assert isinstance(stamp, tuple) and stamp[1] == kernel_jit.dependency_stamp(optical_kernel._pixels.py_func)
