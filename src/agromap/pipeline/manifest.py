"""The run manifest (``manifest.json``) and the STAC catalog written beside the outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._version import __version__
from .._versions import versions
from ..errors import ExportError
from ..io.gdal_env import GDAL_PRESET
from ..io.grid import crs_name
from ..io.write import atomic_write_text

__all__ = ["build_manifest", "write_manifest", "write_catalog", "read_json"]


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
    """Write ``manifest`` atomically as ``out/manifest.json`` and return its path."""
    path = out / "manifest.json"
    atomic_write_text(path, json.dumps(manifest, indent=2, default=str))
    return path


#: A placeholder root the STAC objects are laid out under while links are computed. pystac
#: treats hrefs as URLs, so the real output path (which may hold '#', '?' or '%') never goes
#: through it; only the relative links it computes are written.
_VROOT = "/agromap-run"


def read_json(path: Path) -> Any:
    """A JSON file's content, or ``None`` when it is missing, empty, truncated or not JSON
    (a metadata file that cannot be read means "recompute", never a crash).
    """
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_catalog(out: Path, name: str, outputs: list[dict[str, Any]]) -> Path:
    """STAC catalog (root) -> one collection per area -> the items of its layers, self-contained.

    Item files stay beside their COGs; links are relative, so the run folder can be moved or served.
    Every file is written with :func:`~agromap.io.write.atomic_write_text` (temporary file, fsync,
    rename), so a killed run leaves the previous version or the new one, never a truncated file.
    """
    import pystac

    catalog = pystac.Catalog(id=f"agromap-{name}", title=f"agromap run '{name}'",
                             description=f"agromap run '{name}': Cloud-Optimized GeoTIFF layers with STAC items.",
                             catalog_type=pystac.CatalogType.SELF_CONTAINED)
    catalog.set_self_href(f"{_VROOT}/catalog.json")
    placed: list[tuple[pystac.Item, str]] = []
    written: list[tuple[Any, str]] = [(catalog, "catalog.json")]
    areas = sorted({o["area"] for o in outputs})
    for area in areas:
        entries = sorted((o for o in outputs if o["area"] == area), key=lambda o: o["stac_item"])
        items = []
        for e in entries:
            data = read_json(out / e["stac_item"])
            if not isinstance(data, dict):
                raise ExportError(f"{out / e['stac_item']}: STAC item is missing or unreadable; run again to "
                                  "recompute the layer.")
            item = pystac.Item.from_dict(data, preserve_dict=False)
            item.set_self_href(f"{_VROOT}/{Path(e['stac_item']).as_posix()}")
            items.append(item)
        collection = pystac.Collection(
            id=f"agromap-{name}-{area}", description=f"agromap layers of area '{area}' (run '{name}').",
            extent=pystac.Extent.from_items(items), license="other",
            summaries=pystac.Summaries({"agromap:layers": sorted({e["layer"] for e in entries})}))
        catalog.add_child(collection)
        collection.set_self_href(f"{_VROOT}/{area}/collection.json")
        written.append((collection, f"{area}/collection.json"))
        for item, entry in zip(items, entries):
            collection.add_item(item)
            placed.append((item, Path(entry["stac_item"]).as_posix()))
    # add_item re-homes items under the collection; keep each beside its COG instead.
    for item, rel in placed:
        item.set_self_href(f"{_VROOT}/{rel}")
        written.append((item, rel))
    # Items first, the catalog last: a reader following the catalog finds every file it links to.
    for obj, rel in reversed(written):
        data = obj.to_dict(include_self_link=False, transform_hrefs=True)
        atomic_write_text(out / rel, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return out / "catalog.json"
