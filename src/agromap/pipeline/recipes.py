"""What decides an output's content, hashed: the basis of idempotent, incremental runs.

A layer's *recipe* is the SHA-256 of everything that can change its pixels: agromap's version,
the area's inputs and their file checksums, grid, mask and chunking, and the layer's own
configuration. The recipe is written into the COG's tags; a re-run skips a layer whose file
carries the same recipe, and recomputes exactly the layers whose recipe changed.

Input checksums are cached per output directory, keyed by path, size, modification and change
time and inode, so an unchanged multi-gigabyte input is hashed once, not on every nightly run,
and a file corrected in place with its old size and mtime (``cp -p``, ``rsync -t``) is re-hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import rasterio

from .._version import __version__
from ..io.write import atomic_write_text
from .config import AreaConfig, RunConfig

__all__ = ["RECIPE_TAG", "FileHashes", "area_fingerprint", "layer_recipe", "recipe_of", "source_files"]

RECIPE_TAG = "AGROMAP_RECIPE"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FileHashes:
    """SHA-256 of files, cached in ``<out>/.agromap/file-hashes.json`` by (path, size, mtime, ctime, inode)."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / ".agromap" / "file-hashes.json"
        try:
            self._cache: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._cache = {}
        self._dirty = False

    def sha256(self, path: str | os.PathLike[str]) -> str:
        p = Path(path).resolve()
        st = p.stat()
        key = str(p)
        hit = self._cache.get(key)
        # ctime and inode too: `cp -p` and `rsync -t` restore size and mtime, but no user can set
        # ctime, and any write (or a rename over the file) changes it. A chmod changes it as well,
        # which costs one re-hash, never a wrong reuse.
        stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}
        if hit and all(hit.get(k) == v for k, v in stamp.items()):
            return str(hit["sha256"])
        digest = _sha256(p)
        self._cache[key] = {**stamp, "sha256": digest}
        self._dirty = True
        return digest

    def entry(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        p = Path(path)
        return {"path": str(p), "size": p.stat().st_size, "sha256": self.sha256(p)}

    def save(self) -> None:
        if self._dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self._cache, indent=1, sort_keys=True))
            self._dirty = False


def source_files(source: str) -> list[str]:
    """The files behind a band's ``source``: a path, ``;``-joined paths, or a GDAL name (``GPKG:f.gpkg:t``)."""
    import re

    files = []
    for part in str(source).split(";"):
        if os.path.isfile(part):
            files.append(part)
            continue
        m = re.match(r"^[A-Za-z0-9_]+:(.+):[^:]+$", part)
        if m and os.path.isfile(m.group(1)):
            files.append(m.group(1))
    return files


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def area_fingerprint(cfg: RunConfig, area: AreaConfig, input_files: list[str], hashes: FileHashes) -> str:
    """Hash of an area's inputs (config and file contents), grid, mask and chunking."""
    payload = {
        "agromap": __version__,
        "chunk": cfg.chunk,
        "area": area.model_dump(mode="json", exclude={"layers"}),
        "files": sorted(hashes.sha256(f) for f in input_files),
    }
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def layer_recipe(area_fp: str, stem: str, layer_config: dict[str, Any]) -> str:
    """Recipe of one output layer of an area."""
    return hashlib.sha256(_canonical({"area": area_fp, "stem": stem, "layer": layer_config}).encode()).hexdigest()


def recipe_of(path: Path) -> str | None:
    """The recipe tag of an existing output file, or ``None`` if absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with rasterio.open(path) as src:
            return src.tags().get(RECIPE_TAG)
    except rasterio.errors.RasterioIOError:
        return None
