"""The run manifest (``manifest.json``) and the STAC catalog written beside the outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._version import __version__
from .._versions import versions
from ..errors import ExportError
from ..io.files import atomic_write_group
from ..io.gdal_env import GDAL_PRESET
from ..io.grid import crs_name

__all__ = ["build_manifest", "manifest_text", "write_catalog", "catalog_files", "catalog_item_text",
           "read_json"]


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


def manifest_text(manifest: dict[str, Any]) -> str:
    """The text of ``manifest.json``; the runner writes it with the catalog files as one atomic group."""
    return json.dumps(manifest, indent=2, default=str)


#: A placeholder root the STAC objects are laid out under while links are computed. pystac
#: treats hrefs as URLs, so the real output path (which may hold '#', '?' or '%') never goes
#: through it; only the relative links it computes are written.
_VROOT = "/agromap-run"


def read_json(path: Path) -> Any:
    """A JSON file's content, or ``None`` when it is missing, empty, truncated or not JSON
    (a metadata file that cannot be read means "recompute", never a crash).
    """
    return _json_or_none(_read_bytes(path))


def write_catalog(out: Path, name: str, outputs: list[dict[str, Any]]) -> Path:
    """STAC catalog (root) -> one collection per area -> the items of its layers, self-contained.

    Item files stay beside their COGs; links are relative, so the run folder can be moved or served.
    A file whose text is already the one the catalog gives it is left as it is: publication writes
    each new item in its catalog form (:func:`catalog_item_text`), so a run writes every item once,
    and a run that changed nothing rewrites nothing. Every file that changes is replaced atomically
    (temporary file, fsync, rename: :func:`~agromap.io.files.atomic_write_group`), so a killed run
    leaves the previous version or the new one, never a truncated file; the catalog is renamed
    only once what it links to is on disk. The runner writes the same files
    (:func:`catalog_files`) together with its manifest.
    """
    path, linked, root = catalog_files(out, name, outputs)
    atomic_write_group([*linked, *root], first=len(linked))
    return path


def catalog_files(out: Path, name: str, outputs: list[dict[str, Any]]
                  ) -> tuple[Path, list[tuple[Path, bytes]], list[tuple[Path, bytes]]]:
    """What :func:`write_catalog` writes, not yet written: the catalog's path, the items and
    collections whose text changes (they must be on disk before the catalog linking them), and the
    catalog's own file if its text changes (else an empty list).
    """
    import pystac

    catalog = _catalog(name)
    placed: list[tuple[pystac.Item, str]] = []
    written: list[tuple[Any, str]] = [(catalog, "catalog.json")]
    on_disk: dict[str, bytes] = {}
    areas = sorted({o["area"] for o in outputs})
    for area in areas:
        entries = sorted((o for o in outputs if o["area"] == area), key=lambda o: o["stac_item"])
        items = []
        for e in entries:
            rel = Path(e["stac_item"]).as_posix()
            raw = _read_bytes(out / rel)
            data = _json_or_none(raw)
            if not isinstance(data, dict):
                raise ExportError(f"{out / e['stac_item']}: STAC item is missing or unreadable; run again to "
                                  "recompute the layer.")
            on_disk[rel] = raw or b""
            item = pystac.Item.from_dict(data, preserve_dict=False)
            item.set_self_href(f"{_VROOT}/{rel}")  # its own relative links resolve from there
            items.append(item)
        collection = _collection(catalog, name, area, items, sorted({e["layer"] for e in entries}))
        written.append((collection, f"{area}/collection.json"))
        placed.extend(zip(items, (Path(e["stac_item"]).as_posix() for e in entries)))
    # add_item re-homes items under the collection; keep each beside its COG instead.
    for item, rel in placed:
        item.set_self_href(f"{_VROOT}/{rel}")
        written.append((item, rel))
    # Items first, the catalog last: a reader following the catalog finds every file it links to.
    changed: list[tuple[Path, bytes]] = []
    for obj, rel in reversed(written):
        text = _stac_text(obj).encode("utf-8")
        old = on_disk[rel] if rel in on_disk else _read_bytes(out / rel)
        # A symbolic link is replaced by a file even with the same text (nothing is written through links).
        if old != text or (out / rel).is_symlink():
            changed.append((out / rel, text))
    root = [f for f in changed if f[0] == out / "catalog.json"]
    return out / "catalog.json", [f for f in changed if f[0] != out / "catalog.json"], root


def catalog_item_text(item: Any, name: str, area: str, rel: str) -> str:
    """The text of a layer's STAC item as :func:`write_catalog` writes it, links to its collection
    and to the run's catalog included, so that publication writes the item once, in its final form.

    Parameters
    ----------
    item : pystac.Item
        The layer's new item, without links; it is linked into a catalog of its own here (so it
        should not be used afterwards). Taking the object rather than its dictionary spares
        pystac's migration of a dictionary, whose first call looks up every STAC extension
        installed (15-25 ms).
    name : str
        The run's name (the catalog's id and title).
    area : str
        The layer's area (its collection).
    rel : str
        The item file's path relative to the output folder, with ``/`` separators.
    """
    item.set_self_href(f"{_VROOT}/{rel}")
    _collection(_catalog(name), name, area, [item], [])
    item.set_self_href(f"{_VROOT}/{rel}")  # add_item re-homes it under the collection
    return _stac_text(item)


def _catalog(name: str) -> Any:
    """The run's root catalog, not yet holding its collections."""
    import pystac

    catalog = pystac.Catalog(id=f"agromap-{name}", title=f"agromap run '{name}'",
                             description=f"agromap run '{name}': Cloud-Optimized GeoTIFF layers with STAC items.",
                             catalog_type=pystac.CatalogType.SELF_CONTAINED)
    catalog.set_self_href(f"{_VROOT}/catalog.json")
    return catalog


def _collection(catalog: Any, name: str, area: str, items: list[Any], layers: list[str]) -> Any:
    """An area's collection, child of ``catalog``, holding ``items`` (whose links then point to both).

    The links an item gets depend only on the run's name and the area, not on the other items:
    :func:`catalog_item_text` relies on that.
    """
    import pystac

    collection = pystac.Collection(
        id=f"agromap-{name}-{area}", description=f"agromap layers of area '{area}' (run '{name}').",
        extent=pystac.Extent.from_items(items), license="other",
        summaries=pystac.Summaries({"agromap:layers": layers}))
    catalog.add_child(collection)
    collection.set_self_href(f"{_VROOT}/{area}/collection.json")
    for item in items:
        collection.add_item(item)
    return collection


def _stac_text(obj: Any) -> str:
    """The JSON text of a STAC object as the run writes it (relative links, no self link)."""
    data = obj.to_dict(include_self_link=False, transform_hrefs=True)
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def _read_bytes(path: Path) -> bytes | None:
    """A file's bytes, or ``None`` when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _json_or_none(raw: bytes | None) -> Any:
    """Parsed JSON, or ``None`` for missing, empty, truncated or non-JSON bytes."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
