"""What decides an output's content, hashed: the basis of idempotent, incremental runs.

A layer's *recipe* is the SHA-256 of everything that can change its pixels: agromap's version,
the area's inputs and their file checksums, grid, mask and chunking, and the layer's own
configuration. The recipe is written into the COG's tags; a re-run skips a layer whose file
carries the same recipe, and recomputes exactly the layers whose recipe changed.

Remote inputs are never downloaded to be hashed: a STAC item counts by its id, ``updated``
time and asset hrefs, another remote file by its ``ETag``/``Last-Modified`` (:func:`remote_inputs`).
Input checksums are cached in the output folder and on the machine, keyed by path, size,
modification and change time, inode and device (:mod:`agromap.pipeline.checksums`), so an
unchanged multi-gigabyte input is hashed once, not on every nightly run, and a file corrected in
place with its old size and mtime (``cp -p``, ``rsync -t``) is re-hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import rasterio

from .._version import __version__
from .checksums import FileHashes
from .config import AreaConfig, RunConfig

__all__ = ["RECIPE_TAG", "area_fingerprint", "http_validators", "layer_recipe", "recipe_of",
           "remote_inputs", "source_files"]

RECIPE_TAG = "AGROMAP_RECIPE"


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


def http_validators(href: str, timeout: float = 10.0) -> dict[str, str]:
    """``ETag``/``Last-Modified``/``Content-Length`` of an HTTP(S) file from one HEAD request.

    What changes when a server's file changes, without downloading it; empty when the server
    does not answer (the read itself then fails with its own clear error).
    """
    import urllib.request

    url = href[len("/vsicurl/"):] if href.startswith("/vsicurl/") else href
    if not url.startswith(("http://", "https://")):
        return {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as r:
            return {k.lower(): r.headers[k] for k in ("ETag", "Last-Modified", "Content-Length") if r.headers.get(k)}
    except OSError:
        return {}


def remote_inputs(scenes: list[Any]) -> list[dict[str, Any]]:
    """What identifies an area's remote inputs without reading their bytes.

    A STAC item is its id, collection, ``updated`` time, checksums it publishes and asset
    hrefs; any other remote file is its href with the server's ``ETag``/``Last-Modified``.
    Local files are hashed instead (:class:`FileHashes`).
    """
    from ..io.remote import is_remote

    out = []
    for scene in scenes:
        hrefs = sorted({part for b in scene.bands.values() for part in str(b.attrs.get("source", "")).split(";")
                        if part and is_remote(part)})
        if not hrefs:
            continue
        prov = scene.metadata.get("provenance")
        if prov:
            out.append({**prov, "hrefs": hrefs})
        else:
            out.append({"hrefs": [{"href": h, **http_validators(h)} for h in hrefs]})
    return sorted(out, key=_canonical)


def area_fingerprint(cfg: RunConfig, area: AreaConfig, input_files: list[str], hashes: FileHashes,
                     remote: list[dict[str, Any]] | None = None) -> str:
    """Hash of an area's inputs (config, local file contents, remote identities), grid, mask and chunking."""
    payload = {
        "agromap": __version__,
        "chunk": cfg.chunk,
        "area": area.model_dump(mode="json", exclude={"layers"}),
        "files": sorted(hashes.sha256(f) for f in input_files),
    }
    if remote:
        payload["remote"] = remote
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
