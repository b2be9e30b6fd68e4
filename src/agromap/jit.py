"""Compiling the per-pixel kernels with numba: the disk cache, the compile options, NaN semantics.

Imported only by the compiled kernels (:mod:`agromap.rice.optical_kernel`, loaded on a rule's
first call, and :mod:`agromap.io.dn_kernel`, used once one of those is loaded), never at
start-up; it sits below both the readers and the science. The machine code is cached on disk
(``cache=True``): next to this file when the package folder is writable (``make venv`` compiles
it there once), else in numba's user-wide cache (``NUMBA_CACHE_DIR`` or ``~/.cache/numba``),
else in a private folder under the temporary directory; when no folder can be written the
kernels are compiled in memory for the process. ``nogil=True`` lets dask's threads run tiles
side by side; ``error_model="numpy"`` makes a division by zero give inf or NaN as numpy does,
and there is no fast-math, so the compiled float32 operations give numpy's bits.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
from collections.abc import Callable
from typing import Any, Literal

import numba
import numpy as np
from numba.core.dispatcher import Dispatcher

__all__ = ["CACHE", "dependency_stamp", "jit", "minimum", "maximum", "fmax"]


def _cache_ready() -> bool:
    """Point numba's cache at a writable folder when neither the package nor the user cache is one."""
    from numba.core import config

    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if getattr(config, "CACHE_DIR", "") or _writable(here):
        return True
    user = os.path.join(os.path.expanduser("~"), ".cache", "numba")
    if _writable(user):
        return True
    private = os.path.join(tempfile.gettempdir(), f"agromap-numba-{os.getuid() if hasattr(os, 'getuid') else 0}")
    if _writable(private):
        setattr(config, "CACHE_DIR", private)  # read when a cached function is decorated
        return True
    return False


def _writable(folder: str) -> bool:
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


CACHE = _cache_ready()
"""True when compiled functions are cached on disk."""


def array_type(dtype: Any, ndim: int, layout: Literal["C", "A"] = "C", readonly: bool = False) -> Any:
    """A numba array type for a kernel's signature: ``"A"`` takes any strides, ``readonly`` the
    read-only views dask and xarray hand over (a writable array converts to it).
    """
    return numba.types.Array(dtype, ndim, layout, readonly=readonly)


def jit(sig: Any = None, nrt: bool = True, inline: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit`` with the disk cache when one can be written (never an error at decoration).

    ``nrt=False`` for a helper that allocates nothing and receives its arrays from the caller:
    numba then does not count references to them. With counting, every call of a helper with
    array arguments costs two atomic operations per array; the per-onset growth walk and the
    two walks per pixel spent 40 % of the kernel's time in them. ``inline=True`` asks LLVM to
    inline a helper called once per date or per pixel.
    """

    def wrap(fn: Callable[..., Any]) -> Any:
        for cache in (True, False) if CACHE else (False,):
            options: dict[str, Any] = {"cache": cache, "nogil": True, "error_model": "numpy", "_nrt": nrt,
                                       "forceinline": inline}
            try:
                compiled = numba.njit(**options)(fn)
                if cache:
                    _stamp_with_dependencies(compiled, fn)
            except RuntimeError:  # "cannot cache function ...: no locator available"
                if not cache:
                    raise
                continue
            if sig is not None:
                # Compiled (or loaded) only now, once the cache is keyed on the dependencies too:
                # ``numba.njit(sig)`` loads at decoration, under the key of the function's own file.
                from numba.core import typeinfer

                with typeinfer.register_dispatcher(compiled):
                    for one in sig if isinstance(sig, list) else [sig]:
                        compiled.compile(one)
                compiled.disable_compile()
            return compiled
        raise AssertionError("unreachable")

    return wrap


def dependency_stamp(fn: Callable[..., Any]) -> str:
    """A digest of what a compiled function takes from outside its own source file.

    numba keys a function's disk cache on its own file only, yet the machine code holds the
    compiled functions it calls (inlined or linked in) and the values of the globals it reads
    (frozen as constants). A change to a helper's or a constant's module alone would leave a
    stale kernel in the cache, giving the old results without any error. The digest covers, for
    every global the function names, a compiled function's source file (and its own dependencies)
    or a constant's value.

    A compiled function counts by the whole text of its file, read once per process while the
    file is unchanged: an edit elsewhere in a helper's file recompiles its callers too, where
    ``inspect.getsource`` of each function (tokenising its file from the function on) cost the
    optical kernel's load 0.03 CPU-s of a 0.3 CPU-s load in every process, on the thread every
    tile waits for at the start of a run.
    """
    digest = hashlib.sha256()
    seen: set[int] = set()

    def visit(f: Callable[..., Any]) -> None:
        if id(f) in seen:
            return
        seen.add(id(f))
        digest.update(f.__qualname__.encode() + _source_digest(f))
        scope = getattr(f, "__globals__", {})
        for name in sorted(_global_names(f.__code__)):
            value = scope.get(name)
            if isinstance(value, Dispatcher):
                visit(value.py_func)
            elif isinstance(value, np.ndarray):
                digest.update(name.encode() + value.tobytes() + str(value.dtype).encode())
            elif isinstance(value, (bool, int, float, complex, str, bytes, tuple, np.generic)) or value is None:
                digest.update(f"{name}={value!r}".encode())

    visit(fn)
    return digest.hexdigest()


def _source_digest(f: Callable[..., Any]) -> bytes:
    """SHA-256 of the file that defines ``f`` (``inspect.getsource`` where it has no readable file)."""
    path = f.__code__.co_filename
    try:
        st = os.stat(path)
    except OSError:
        return hashlib.sha256(inspect.getsource(f).encode()).digest()
    key = (path, st.st_mtime_ns, st.st_size, st.st_ino)
    found = _SOURCES.get(key)
    if found is None:
        with open(path, "rb") as src:
            found = _SOURCES[key] = hashlib.sha256(src.read()).digest()
    return found


_SOURCES: dict[tuple[str, int, int, int], bytes] = {}
"""File digests by path and identity (:func:`_source_digest`)."""


def _global_names(code: Any) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _global_names(const)
    return names


def _stamp_with_dependencies(compiled: Any, fn: Callable[..., Any]) -> None:
    """Key ``compiled``'s disk cache on its dependencies too (see :func:`dependency_stamp`).

    numba checks the stamp stored in its cache index against this one when it loads and
    recompiles on a mismatch. Its cache file object is internal: with a numba that lays it out
    otherwise the stamp stays numba's own (a test pins the layout of the version in use).
    """
    cache_file = getattr(getattr(compiled, "_cache", None), "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        cache_file._source_stamp = (cache_file._source_stamp, dependency_stamp(fn))


# ---- NaN semantics of the numpy ufuncs the rule was written with ------------------------------
#
# Each is one selection between its operands, on tests joined with ``|`` (not ``or``, which
# branches): the optical walk takes dozens of these per date, and written as early returns they
# compiled to a compare and a jump each; as selections its machine code has 44 % fewer jumps and
# 22 % fewer stack accesses, and a tile takes about 5 % less CPU (docs/performance.md). The
# result is the same operand in every case (NaN payloads and signed zeros included): the first
# when both are equal.

@jit()
def minimum(a: Any, b: Any) -> Any:
    """The smaller of two scalars, NaN when either is NaN (``numpy.minimum``)."""
    return a if (a <= b) | (a != a) else b


@jit()
def maximum(a: Any, b: Any) -> Any:
    """The larger of two scalars, NaN when either is NaN (``numpy.maximum``)."""
    return a if (a >= b) | (a != a) else b


@jit()
def fmax(a: Any, b: Any) -> Any:
    """The larger of two scalars, a NaN ignored (``numpy.fmax``)."""
    return a if (a >= b) | (b != b) else b
