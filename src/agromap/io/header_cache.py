"""Raster headers kept by file identity, so that planning over unchanged inputs opens no file.

Planning a run opens every input once for its header (:func:`agromap.io.header.read_header`):
72 opens and about 0.09 CPU-s for a 12-date, 6-band stack, on the run's critical path before the
first tile, and again for each run, ``agromap validate`` or configuration over the same archive.
A header that passed every check of the reader is kept here, in memory for the process and in
the machine's cache folder (``$AGROMAP_CACHE_DIR/raster-headers.json``, the folder of the
checksum cache, :func:`agromap.pipeline.checksums.machine_cache_dir`; an empty value turns both
off), and given back while the file is the same file:

- the same name, and the same size, modification and change time (nanoseconds), inode and
  device, as the checksum cache requires (no user can set the change time; any write or rename
  over the file changes it);
- the same GDAL side-car ``<name>.aux.xml`` (absent, or with the same stamp), which can carry a
  nodata value, tags or band descriptions that the header reports.

Only local regular files are kept (no remote or GDAL virtual paths). The pixel budget is checked
again on every hit, as it depends on the caller. The file is replaced atomically; an unreadable
or damaged cache counts as empty and a cache that cannot be written is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

from .files import atomic_write_text, file_stamp, machine_cache_dir

__all__ = ["CACHE_FILE", "ENTRIES_MAX", "identity", "lookup", "remember", "save", "clear_memory"]

log = logging.getLogger(__name__)

CACHE_FILE = "raster-headers.json"
"""Name of the cache file in the machine's cache folder."""

ENTRIES_MAX = 5_000
"""Headers kept on disk (about 0.3 kB each with the CRS texts stored once: ~1.5 MB, read in
~15 ms); beyond it, those read longest ago are dropped."""

_FORMAT = 2
"""Bump when :class:`~agromap.io.header.RasterHeader` or the reader's checks change: older entries
are then read again."""

_LOCK = threading.Lock()
_MEMORY: dict[str, dict[str, Any]] | None = None
"""Entries by name: those loaded from disk, then those read in this process."""
_MEMORY_OF: Path | None = None
"""The cache file :data:`_MEMORY` was loaded from (another one, named later, is loaded afresh)."""
_NEW: set[str] = set()
"""Names read in this process and not yet saved."""


def identity(path: str) -> list[Any] | None:
    """The identity of a local regular file and its ``.aux.xml`` side-car, or ``None`` (not cached)."""
    if path.startswith("/vsi") or "://" in path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        aux: dict[str, int] | None = file_stamp(os.stat(path + ".aux.xml"))
    except OSError:
        aux = None
    return [_FORMAT, file_stamp(st), aux]


def _cache_path() -> Path | None:
    folder = machine_cache_dir()
    return None if folder is None else folder / CACHE_FILE


def _load(path: Path) -> dict[str, dict[str, Any]]:
    global _MEMORY, _MEMORY_OF
    if _MEMORY is None or _MEMORY_OF != path:
        _MEMORY, _MEMORY_OF = _read(path), path
        _NEW.clear()
    return _MEMORY


def _read(path: Path) -> dict[str, dict[str, Any]]:
    """The well-formed entries of the cache file; a missing, unreadable or damaged file gives none."""
    try:
        raw = json.loads(path.read_text())
        crs = raw["crs"]
        entries = raw["headers"]
        out = {}
        for name, e in entries.items():
            h = dict(e["header"])
            h["crs_wkt"] = None if h["crs_wkt"] is None else crs[h["crs_wkt"]]
            out[name] = {"identity": e["identity"], "read_at": int(e["read_at"]), "header": h}
        return out
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}


def lookup(path: str, ident: list[Any]) -> dict[str, Any] | None:
    """The header fields kept for ``path`` if read from the file ``ident`` names, else ``None``."""
    cache = _cache_path()
    if cache is None:
        return None
    with _LOCK:
        entry = _load(cache).get(path)
    if entry is None or entry["identity"] != ident:
        return None
    return dict(entry["header"])


def remember(path: str, ident: list[Any], fields: dict[str, Any]) -> None:
    """Keep the fields of a header that passed the reader's checks, for :func:`lookup` and the
    next :func:`save`.
    """
    cache = _cache_path()
    if cache is None:
        return
    with _LOCK:
        _load(cache)[path] = {"identity": ident, "read_at": int(time.time()), "header": fields}
        _NEW.add(path)


def save() -> None:
    """Merge the headers read in this process into the cache file (atomically; skipped on error)."""
    path = _cache_path()
    with _LOCK:
        if not _NEW or path is None or _MEMORY is None or _MEMORY_OF != path:
            _NEW.clear()
            return
        mine = {k: _MEMORY[k] for k in _NEW if k in _MEMORY}
        _NEW.clear()
    merged = _read(path)  # what other runs saved since this process loaded it
    merged.update(mine)
    if len(merged) > ENTRIES_MAX:
        newest = sorted(merged, key=lambda k: merged[k]["read_at"], reverse=True)[:ENTRIES_MAX]
        merged = {k: merged[k] for k in newest}
    crs: list[str] = []
    index: dict[str, int] = {}
    headers = {}
    for name, e in merged.items():
        h = dict(e["header"])
        wkt = h["crs_wkt"]
        if wkt is not None:
            h["crs_wkt"] = index.setdefault(wkt, len(index))
            if h["crs_wkt"] == len(crs):
                crs.append(wkt)
        headers[name] = {"identity": e["identity"], "read_at": e["read_at"], "header": h}
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"crs": crs, "headers": headers}, separators=(",", ":")))
    except Exception as exc:  # a read-only home or a full disk: the next run opens the files again
        log.debug("raster header cache %s not written: %s", path, exc)


def clear_memory() -> None:
    """Forget what this process holds (the file stays): the next lookup reads the file again."""
    global _MEMORY, _MEMORY_OF
    with _LOCK:
        _MEMORY = _MEMORY_OF = None
        _NEW.clear()
