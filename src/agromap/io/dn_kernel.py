"""Stored integers to values in one compiled pass: DN to float32 physical values, classes through a table.

:meth:`agromap.io.read.BandReader.convert` turns each window it reads into ``DN * scale + offset``
in float32, NaN where the DN is the nodata value, outside the valid range, or where a QA mask says
unusable. With numpy that is four passes over the window (the scaled copy, the nodata test, the
union with the QA mask, the NaN fill), each with a full-size temporary; here it is one loop that
reads each DN and mask byte once and writes each value once, about a seventh of the time on a
512 x 512 window (bench/README.md). The float32 operations are numpy's, in the same order: the DN
converted to float32, multiplied by ``float32(scale)``, then ``float32(offset)`` added when it is
not zero (two roundings, no fused multiply-add: numba compiles without fast-math). The tests for
nodata and the valid range compare the DN with the float64 bounds, as numpy does for an integer
array against a Python float; every 8- and 16-bit integer is exact in float64.

Compiled for the stored types of optical bands (uint8, uint16, int16) on C-ordered 2-D windows
(:func:`handles`); :meth:`~agromap.io.read.BandReader.convert` keeps numpy's passes for anything
else. :func:`table_lookup` looks stored classes up in a table over every uint8 or uint16 value
(the QA masks of :mod:`agromap.masks`). Compiled, or loaded from numba's disk cache, on the first
use in a process that already loaded numba (:func:`active`), never at import: importing this
module does not import numba.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

__all__ = ["DTYPES", "active", "convert_window", "handles", "load", "loaded", "table_lookup"]

DTYPES: frozenset[str] = frozenset({"uint8", "uint16", "int16"})
"""Stored dtypes the compiled conversion handles."""

#: Bits of ``flags``: which of the optional steps apply (tested once per window, not per pixel).
_OFFSET, _NODATA, _RANGE, _INVALID = 1, 2, 4, 8


def active() -> bool:
    """Whether the compiled passes are used in this process: once numba is loaded, or after :func:`load`.

    A compiled rule kernel (the optical rice rule's) loads numba; the passes then cost 13 ms to
    load from numba's cache. Loading numba for them alone costs about 0.5 CPU-s, more than they
    save on fewer than about 1 700 windows of 512 x 512 (0.28 ms each), so a process without
    compiled kernels keeps numpy's passes. The values are the same either way. While another
    thread loads them (numba's import included, :func:`load`), numpy's passes are used rather
    than waiting for it.
    """
    return bool(_KERNEL) or ("numba" in sys.modules and not _BUILD_LOCK.locked())


def load() -> None:
    """Compile the passes, or load them from numba's disk cache, now (imports numba)."""
    _kernels()


def loaded() -> bool:
    """Whether the passes are compiled (or loaded from the cache) in this process already."""
    return bool(_KERNEL)


def handles(dn: np.ndarray, out: np.ndarray | None, invalid: np.ndarray | None) -> bool:
    """Whether :func:`convert_window` converts this window (else numpy's passes do)."""
    return (active() and dn.ndim == 2 and dn.dtype.name in DTYPES and dn.flags.c_contiguous
            and (out is None or (out.dtype == np.float32 and out.shape == dn.shape and out.flags.c_contiguous))
            and (invalid is None or (invalid.dtype == np.bool_ and invalid.shape == dn.shape
                                     and invalid.flags.c_contiguous)))


def _build() -> Any:
    from ..jit import jit

    # dn, invalid, out, scale, offset, nodata, valid_lo, valid_hi, flags
    signatures = [f"void({t}[:, ::1], b1[:, ::1], f4[:, ::1], f4, f4, f8, f8, f8, i8)" for t in sorted(DTYPES)]

    @jit(signatures, nrt=False)
    def convert(dn: Any, invalid: Any, out: Any, scale: Any, offset: Any, nodata: Any, lo: Any, hi: Any,
                flags: Any) -> None:  # pragma: no cover - compiled; covered through convert_window
        rows, cols = dn.shape
        nan = np.float32(np.nan)
        use_offset = (flags & _OFFSET) != 0
        use_nodata = (flags & _NODATA) != 0
        use_range = (flags & _RANGE) != 0
        use_invalid = (flags & _INVALID) != 0
        for r in range(rows):
            for c in range(cols):
                d = dn[r, c]
                v = np.float32(d) * scale
                if use_offset:
                    v = v + offset
                bad = False
                if use_nodata:
                    bad = np.float64(d) == nodata
                if use_range:
                    bad = bad or np.float64(d) < lo or np.float64(d) > hi
                if use_invalid:
                    bad = bad or invalid[r, c]
                out[r, c] = nan if bad else v

    @jit([f"void(b1[::1], {t}[::1], b1[::1])" for t in ("uint8", "uint16")], nrt=False)
    def lookup(table: Any, values: Any, out: Any) -> None:  # pragma: no cover - compiled
        for i in range(values.size):
            out[i] = table[values[i]]

    return convert, lookup


_KERNEL: list[Any] = []
_BUILD_LOCK = threading.Lock()


def _kernels() -> tuple[Any, Any]:
    # Compiled (or loaded from numba's disk cache) on the first use in the process.
    if not _KERNEL:
        with _BUILD_LOCK:
            if not _KERNEL:
                _KERNEL.append(_build())
    return _KERNEL[0]


def convert_window(dn: np.ndarray, out: np.ndarray | None, scale: float, offset: float, nodata: float | None,
                   valid_range: tuple[float, float] | None, invalid: np.ndarray | None) -> np.ndarray:
    """The physical values of ``dn`` (checked by :func:`handles`), written into ``out``; returns ``out``.

    Parameters
    ----------
    dn : numpy.ndarray
        C-ordered 2-D window of a dtype in :data:`DTYPES`.
    out : numpy.ndarray or None
        C-ordered float32 array of the same shape, written in place (a new one when None).
    scale, offset : float
        ``value = float32(DN) * float32(scale) + float32(offset)`` (the offset added only when not 0).
    nodata : float or None
        DN that becomes NaN (a NaN nodata matches no integer).
    valid_range : (float, float) or None
        DN outside this closed range become NaN.
    invalid : numpy.ndarray of bool or None
        C-ordered mask of the same shape: True becomes NaN.
    """
    flags = 0
    if offset != 0.0:
        flags |= _OFFSET
    match = 0.0
    if nodata is not None and not np.isnan(nodata):
        flags |= _NODATA
        match = float(nodata)
    lo, hi = valid_range if valid_range is not None else (0.0, 0.0)
    if valid_range is not None:
        flags |= _RANGE
    if invalid is not None:
        flags |= _INVALID
    else:
        invalid = _NO_MASK
    if out is None:
        out = np.empty(dn.shape, dtype=np.float32)
    _kernels()[0](dn, invalid, out, np.float32(scale), np.float32(offset),
             match, float(lo), float(hi), flags)
    return out


_NO_MASK = np.zeros((1, 1), dtype=np.bool_)
"""Stands for "no QA mask" (never read: its flag is off)."""


def table_lookup(table: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """``table[values]`` for a bool table over every uint8 or uint16 value, in one compiled pass.

    numpy's ``take`` first widens the indices to 64-bit integers (eight bytes per pixel written and
    read back); this loop reads each stored value once. Returns ``None`` (the caller falls back to
    numpy) for any other table or values (another dtype, a table not covering the dtype, an array
    that is not C-ordered) and while the compiled passes are not :func:`active`.
    """
    if (not active() or values.dtype.name not in ("uint8", "uint16") or table.dtype != np.bool_ or table.ndim != 1
            or table.size != 1 << (8 * values.dtype.itemsize) or not values.flags.c_contiguous
            or not table.flags.c_contiguous):
        return None
    out = np.empty(values.shape, dtype=np.bool_)
    _kernels()[1](table, values.reshape(-1), out.reshape(-1))
    return out
