"""Input files' SHA-256 checksums, cached so an unchanged file is hashed once per machine.

A layer's recipe and the manifest name every local input by its SHA-256
(:mod:`agromap.pipeline.recipes`). Hashing reads the whole file: about 0.34 CPU-s for the 312 MB of
a 12-date 2048² stack, in the run's own process, which on a cluster of local worker processes
shares its cores with them. The checksums are therefore kept in two caches:

- ``<out>/.agromap/file-hashes.json``: the output folder's, which travels with it;
- the machine's, shared by every run of the user, whatever its output folder (a nightly run into
  a dated folder, a forced run, another configuration over the same archive):
  ``$AGROMAP_CACHE_DIR/file-hashes.json``, by default under ``$XDG_CACHE_HOME/agromap`` or
  ``~/.cache/agromap``; ``AGROMAP_CACHE_DIR=`` (empty) turns it off.

An entry is reused only while the file's stamp is unchanged: its size, modification and change
time (nanoseconds), inode and device. ``cp -p`` and ``rsync -t`` restore size and modification
time, but no user can set the change time, and any write or rename over the file changes it, so
a corrected file is always hashed again (a ``chmod`` changes it too: one needless re-hash, never
a wrong reuse). Both files are replaced atomically; an unreadable or damaged cache counts as empty,
and a machine cache that cannot be written is skipped (the run keeps its folder's cache). Two
runs saving the machine cache at once each merge their entries into what is on disk; the one
that renames last may drop the other's new entries, which costs that file one more hash later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from ..errors import AgromapError
from ..io.files import CACHE_DIR_ENV, atomic_write_text, file_stamp, machine_cache_dir

__all__ = ["CACHE_DIR_ENV", "MACHINE_ENTRIES_MAX", "FileHashes", "machine_cache_dir"]

log = logging.getLogger(__name__)

MACHINE_ENTRIES_MAX = 20_000
"""Entries kept in the machine's cache (about 4 MB of JSON, read by every run in 0.05 s); beyond
it, those hashed longest ago are dropped."""

_STAMP = ("size", "mtime_ns", "ctime_ns", "inode", "device")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """The well-formed entries of a cache file; a missing, unreadable or damaged file gives none."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(v, dict) and isinstance(v.get("sha256"), str)
            and _HEX64.match(v["sha256"]) and all(isinstance(v.get(s), int) for s in _STAMP)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        # 4 MiB reads: hashlib and the read release the GIL, and fewer, larger pieces mean fewer
        # waits for it while the run's thread plans or waits for the scheduler.
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


class FileHashes:
    """SHA-256 of input files, cached in the output folder and on the machine (see the module).

    Parameters
    ----------
    out_dir : Path
        The run's output folder; its cache is ``out_dir/.agromap/file-hashes.json``.
    The machine's cache is the one :func:`machine_cache_dir` names when the object is made.
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / ".agromap" / "file-hashes.json"
        shared = machine_cache_dir()
        self.machine_path = None if shared is None else Path(shared) / "file-hashes.json"
        self._cache = _read_cache(self.path)
        self._machine = {} if self.machine_path is None else _read_cache(self.machine_path)
        self._new: dict[str, dict[str, Any]] = {}
        """Entries hashed by this run, or found only in one of the caches: what each save adds."""
        self.hashed = 0
        """Files read and hashed by this object (the others came from a cache)."""

    def sha256(self, path: str | os.PathLike[str]) -> str:
        """SHA-256 of the file at ``path``, reused from a cache while the file's stamp is unchanged."""
        p = Path(path).resolve()
        stamp = file_stamp(p.stat())
        key = str(p)
        for cache in (self._new, self._cache, self._machine):
            hit = cache.get(key)
            if hit is not None and all(hit[k] == v for k, v in stamp.items()):
                if cache is not self._new and (self._cache.get(key) != hit or self._machine.get(key) != hit):
                    self._new[key] = hit  # in one cache only: the other learns it at the save
                return str(hit["sha256"])
        digest = _sha256(p)
        self.hashed += 1
        self._new[key] = {**stamp, "sha256": digest, "hashed_at": int(time.time())}
        return digest

    def entry(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """The manifest record of an input file: path, size and SHA-256."""
        p = Path(path)
        return {"path": str(p), "size": p.stat().st_size, "sha256": self.sha256(p)}

    def save(self, group: list[tuple[Path, bytes]] | None = None) -> None:
        """Add what this run learnt to both caches, each written atomically.

        The folder's cache failing to write is the run's error (exit 7, as any output file); the
        machine's is skipped with a debug message (a read-only home, a full cache disk).
        ``group``: the folder's cache is added to it, for the caller to write with its other files
        (:func:`~agromap.io.files.atomic_write_group`), rather than written here.
        """
        if not self._new:
            return
        self._cache.update(self._new)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self._cache, indent=1, sort_keys=True)
        if group is None:
            atomic_write_text(self.path, text)
        else:
            group.append((self.path, text.encode()))
        if self.machine_path is not None and any(self._machine.get(k) != v for k, v in self._new.items()):
            try:
                self._save_machine(self.machine_path)
            except (OSError, AgromapError) as exc:
                log.debug("machine checksum cache %s not written: %s", self.machine_path, exc)
        self._new = {}

    def _save_machine(self, path: Path) -> None:
        merged = _read_cache(path)  # what other runs saved since this one started
        merged.update(self._new)
        if len(merged) > MACHINE_ENTRIES_MAX:
            newest = sorted(merged, key=lambda k: merged[k].get("hashed_at", 0), reverse=True)
            merged = {k: merged[k] for k in newest[:MACHINE_ENTRIES_MAX]}
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(merged, separators=(",", ":"), sort_keys=True))
        self._machine = merged
