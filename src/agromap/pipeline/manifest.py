"""The run manifest (``manifest.json``) and the STAC catalog written beside the outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._version import __version__
from .._versions import versions
from ..io.gdal_env import GDAL_PRESET
from ..io.grid import crs_name
from ..io.write import atomic_write_text

__all__ = ["build_manifest", "write_manifest", "write_catalog"]


def build_manifest(*, run_id: str, started: str, finished: str, status: str, cfg_dump: dict[str, Any],
                   cfg_hash: str, inputs: list[dict[str, Any]], plans: list[Any], valid_by_area: dict[str, Any],
                   cluster: dict[str, Any], outputs: list[dict[str, Any]], timings: dict[str, float],
                   warnings: list[str], argv: list[str] | None = None) -> dict[str, Any]:
    """Everything needed to reproduce or audit a run (SCIENCE.md §7.4)."""
    return {
        "run_id": run_id,
        "started": started,
        "finished": finished,
        "status": status,
        "agromap_version": __version__,
        "argv": argv or [],
        "config": cfg_dump,
        "config_sha256": cfg_hash,
        "inputs": inputs,
        "grids": {p.config.name: {"crs": crs_name(p.geobox.crs), "shape": list(p.geobox.shape),
                                  "transform": list(p.geobox.affine)[:6]} for p in plans},
        "valid_fraction_by_date": valid_by_area,
        "versions": versions(),
        "gdal_env": dict(GDAL_PRESET),
        "cluster": cluster,
        "outputs": outputs,
        "timings_s": timings,
        "warnings": warnings,
    }


def write_manifest(out: Path, manifest: dict[str, Any]) -> Path:
    path = out / "manifest.json"
    atomic_write_text(path, json.dumps(manifest, indent=2, default=str))
    return path


def write_catalog(out: Path, name: str, item_paths: list[str]) -> Path:
    """A STAC catalog linking every item of the run (relative links, so the folder can move)."""
    links = [{"rel": "root", "href": "./catalog.json", "type": "application/json"}]
    links += [{"rel": "item", "href": f"./{p}", "type": "application/geo+json"} for p in sorted(item_paths)]
    catalog = {
        "type": "Catalog", "stac_version": "1.1.0", "id": f"agromap-{name}",
        "description": f"agromap run '{name}': Cloud-Optimized GeoTIFF layers with one STAC item each.",
        "links": links,
    }
    path = out / "catalog.json"
    atomic_write_text(path, json.dumps(catalog, indent=2))
    return path
