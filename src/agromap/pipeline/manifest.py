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
    """Everything needed to reproduce or audit a run (docs/architecture.md#run-manifest)."""
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


def write_catalog(out: Path, name: str, outputs: list[dict[str, Any]]) -> Path:
    """STAC catalog (root) -> one collection per area -> the items of its layers, self-contained.

    Item files stay beside their COGs; links are relative, so the run folder can be moved or served.
    """
    import pystac

    catalog = pystac.Catalog(id=f"agromap-{name}", title=f"agromap run '{name}'",
                             description=f"agromap run '{name}': Cloud-Optimized GeoTIFF layers with STAC items.")
    catalog.set_self_href(str(out / "catalog.json"))
    placed: list[tuple[pystac.Item, Path]] = []
    areas = sorted({o["area"] for o in outputs})
    for area in areas:
        entries = sorted((o for o in outputs if o["area"] == area), key=lambda o: o["stac_item"])
        items = [pystac.Item.from_file(str(out / e["stac_item"])) for e in entries]
        collection = pystac.Collection(
            id=f"agromap-{name}-{area}", description=f"agromap layers of area '{area}' (run '{name}').",
            extent=pystac.Extent.from_items(items), license="other",
            summaries=pystac.Summaries({"agromap:layers": sorted({e["layer"] for e in entries})}))
        catalog.add_child(collection)
        collection.set_self_href(str(out / area / "collection.json"))
        for item, entry in zip(items, entries):
            collection.add_item(item)
            placed.append((item, out / entry["stac_item"]))
    # add_item re-homes items under the collection; keep each beside its COG instead.
    for item, path in placed:
        item.set_self_href(str(path))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return out / "catalog.json"
