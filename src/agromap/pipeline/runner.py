"""The runner: plan every area lazily, compute once, publish COGs + STAC, write the manifest.

This is one of the two places in agromap that triggers computation (the other is the COG
publish step that converts finished files). All layers of all areas are stored by a single
``compute`` so no source chunk is read twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from .._version import __version__
from .._versions import versions
from ..errors import NoValidDataError, NoValidDataWarning, OutputLockedError
from ..io import loaders
from ..io.gdal_env import GDAL_PRESET
from ..io.grid import crs_name
from ..io.layers import encode
from ..io.scene import Scene, run_geobox, stack_scenes
from ..io.stac import item_for_layer, write_item
from ..io.write import (
    atomic_write_text,
    clean_stale_partials,
    lock_for_scheduler,
    publish_cog,
    staging_path_for,
    store_gtiff,
)
from .config import AreaConfig, RunConfig
from .products import PlannedLayer, mask_dataset, plan_layers
from .scheduler import open_execution

__all__ = ["AreaPlan", "RunResult", "plan_run", "run"]

log = logging.getLogger(__name__)


@dataclass
class AreaPlan:
    """Everything about one area before computing: its grid, scenes, stack and layers."""

    config: AreaConfig
    geobox: GeoBox
    scenes: list[Scene]
    dataset: xr.Dataset
    valid_fraction: xr.DataArray | None
    layers: list[PlannedLayer]


@dataclass
class RunResult:
    """What a run produced; ``outputs`` mirrors the manifest entries."""

    run_id: str
    out_dir: Path
    manifest: dict[str, Any]
    outputs: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _load_scene(cfg: RunConfig, inp: Any) -> Scene:
    common = {"chunk": cfg.chunk, "max_pixels": cfg.max_pixels}
    if inp.kind == "files":
        bands = {n: (str(cfg.resolve(b.path)), b.band) for n, b in inp.bands.items()}
        return loaders.load_files(bands, datetime=inp.datetime, scene_id=inp.id, scale=inp.scale,
                                  offset=inp.offset, nodata=inp.nodata, raw=inp.raw, **common)
    if inp.kind == "sentinel2_l2a":
        return loaders.load_sentinel2_l2a(cfg.resolve(inp.path), bands=inp.bands,
                                          processing_baseline=inp.processing_baseline, **common)
    if inp.kind == "landsat_c2":
        return loaders.load_landsat_c2(cfg.resolve(inp.path), bands=inp.bands, **common)
    if inp.kind == "sentinel1":
        bands = {n: (str(cfg.resolve(b.path)), b.band) for n, b in inp.bands.items()}
        return loaders.load_sentinel1(bands, datetime=inp.datetime, units=inp.units, scene_id=inp.id, **common)
    asset_root = cfg.resolve(inp.asset_root) if inp.asset_root else None
    return loaders.load_stac_item(cfg.resolve(inp.path), bands=inp.bands, asset_root=asset_root, **common)


def plan_area(cfg: RunConfig, area: AreaConfig) -> AreaPlan:
    """Open headers, build the area's lazy stack and layers; reads no pixel."""
    scenes = [_load_scene(cfg, inp) for inp in area.inputs]
    gbox = run_geobox(scenes, area.grid.spec(cfg.chunk))
    ds = stack_scenes(scenes, gbox, resampling=area.grid.resampling, chunk=cfg.chunk)
    masked, valid_fraction = mask_dataset(ds, area)
    return AreaPlan(area, gbox, scenes, masked, valid_fraction, plan_layers(area, masked))


def plan_run(cfg: RunConfig) -> list[AreaPlan]:
    """Plan every area; this is what ``agromap validate`` runs."""
    return [plan_area(cfg, area) for area in cfg.areas]


def config_hash(cfg: RunConfig) -> str:
    canonical = json.dumps(cfg.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """One writer per output directory; a second run gets :class:`OutputLockedError` (exit 5)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_dir / ".agromap.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputLockedError(
                f"{out_dir} is being written by another agromap run; wait for it or choose another --out."
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the flock; it also dies with the process


def _file_entry(path: str) -> dict[str, Any]:
    p = Path(path)
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(p), "size": p.stat().st_size, "sha256": digest.hexdigest()}


def _inputs(plans: list[AreaPlan]) -> list[dict[str, Any]]:
    entries = []
    for plan in plans:
        for scene in plan.scenes:
            files = sorted({str(b.attrs.get("source")) for b in scene.bands.values() if b.attrs.get("source")})
            entries.append({
                "area": plan.config.name,
                "scene_id": scene.id,
                "datetime": scene.datetime.isoformat(),
                "metadata": json.loads(json.dumps(scene.metadata, default=str)),
                "files": [_file_entry(f) for f in files],
            })
    return entries


def _item_properties(layer: PlannedLayer, run_id: str, cfg_hash: str) -> dict[str, Any]:
    props = {f"agromap:{k}": v for k, v in layer.properties.items()}
    props.update({"agromap:run_id": run_id, "agromap:config_sha256": cfg_hash, "agromap:reduce": layer.reduce})
    return props


def run(cfg: RunConfig, out_dir: str | Path, *, scheduler: str | None = None) -> RunResult:
    """Run a validated configuration and publish its products under ``out_dir``.

    Returns a :class:`RunResult`; raises an :class:`~agromap.errors.AgromapError` subclass
    (with its exit code) on bad input, and never leaves a partial file at an output path.
    """
    out = Path(out_dir)
    started = pd.Timestamp.now(tz="UTC")
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    cfg_hash = config_hash(cfg)
    with output_lock(out):
        for area in cfg.areas:
            clean_stale_partials(out / area.name)
        plans = plan_run(cfg)
        t_plan = time.perf_counter() - t0
        staged: list[tuple[PlannedLayer, Path, Path]] = []
        try:
            with open_execution(scheduler or cfg.scheduler) as execu:
                lock = lock_for_scheduler()
                stores = []
                for plan in plans:
                    (out / plan.config.name).mkdir(parents=True, exist_ok=True)
                    for layer in plan.layers:
                        final = out / plan.config.name / f"{layer.stem}.tif"
                        staging = staging_path_for(final, run_id)
                        staged.append((layer, staging, final))
                        stores.append(store_gtiff(encode(layer.data, layer.spec), staging, layer.spec, lock=lock))
                fractions = [p.valid_fraction for p in plans if p.valid_fraction is not None]
                t1 = time.perf_counter()
                results = execu.compute(*stores, *fractions)
                t_compute = time.perf_counter() - t1
                shape = execu.shape
            computed_fractions = iter(results[len(stores):])
            outputs, warn = _publish(staged, plans, run_id, cfg_hash, out)
        finally:
            for _, staging, _ in staged:
                staging.unlink(missing_ok=True)
        valid_by_area = {p.config.name: [float(v) for v in np.atleast_1d(next(computed_fractions))]
                         for p in plans if p.valid_fraction is not None}
        catalog = _write_catalog(out, cfg.name, [o["stac_item"] for o in outputs])
        manifest = {
            "run_id": run_id,
            "started": started.isoformat(),
            "finished": pd.Timestamp.now(tz="UTC").isoformat(),
            "status": "success",
            "agromap_version": __version__,
            "config": cfg.model_dump(mode="json"),
            "config_sha256": cfg_hash,
            "inputs": _inputs(plans),
            "grids": {p.config.name: {"crs": crs_name(p.geobox.crs), "shape": list(p.geobox.shape),
                                      "transform": list(p.geobox.affine)[:6]} for p in plans},
            "valid_fraction_by_date": valid_by_area,
            "versions": versions(),
            "gdal_env": dict(GDAL_PRESET),
            "cluster": shape,
            "outputs": outputs,
            "catalog": str(catalog),
            "timings_s": {"plan": round(t_plan, 3), "compute": round(t_compute, 3),
                          "total": round(time.perf_counter() - t0, 3)},
            "warnings": warn,
        }
        empty = bool(outputs) and all(o["valid_fraction"] == 0.0 for o in outputs)
        if empty:
            manifest["status"] = "no_valid_data"
        atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, default=str))
    if empty:
        raise NoValidDataError(
            f"every layer of the run is nodata (all cloud or fill); see {out / 'manifest.json'}. "
            "Choose other dates or relax the mask (areas[].mask)."
        )
    return RunResult(run_id, out, manifest, outputs, warn)


def _publish(staged: list[tuple[PlannedLayer, Path, Path]], plans: list[AreaPlan], run_id: str, cfg_hash: str,
             out: Path) -> tuple[list[dict[str, Any]], list[str]]:
    outputs: list[dict[str, Any]] = []
    warn: list[str] = []
    for layer, staging, final in staged:
        tags = {
            "PRODUCT": layer.spec.name,
            "ALGORITHM": layer.reduce,
            "ALGORITHM_VERSION": __version__,
            "RUN_ID": run_id,
            "CONFIG_SHA256": cfg_hash,
            "DATETIME": layer.start.isoformat() if layer.start == layer.end
            else f"{layer.start.isoformat()}/{layer.end.isoformat()}",
            "SOURCE_PRODUCTS": str(layer.properties.get("scene_id", "")),
        }
        if "threshold" in layer.properties:
            tags["THRESHOLDS"] = json.dumps({k: v for k, v in layer.properties.items() if k in ("method", "threshold")})
        info = publish_cog(staging, final, layer.spec, tags=tags, band_description=layer.spec.name)
        if info.valid_fraction == 0.0:
            msg = f"{final}: no valid pixel (all cloud or fill)"
            warn.append(msg)
            log.warning(msg, extra={"category": NoValidDataWarning.__name__})
        item = item_for_layer(
            final, layer.spec, item_id=f"agromap-{layer.area}-{layer.stem}",
            datetime=layer.start if layer.start == layer.end else (layer.start, layer.end),
            properties=_item_properties(layer, run_id, cfg_hash), info=info,
        )
        item_path = final.with_suffix(".json")
        write_item(item, item_path)
        outputs.append({
            "area": layer.area, "layer": layer.spec.name, "path": str(final.relative_to(out)),
            "stac_item": str(item_path.relative_to(out)), "size": info.size, "sha256": info.sha256,
            "dtype": info.dtype, "nodata": info.nodata, "valid_fraction": info.valid_fraction,
            "overviews": info.overview_count,
        })
    return outputs, warn


def _write_catalog(out: Path, name: str, item_paths: list[str]) -> Path:
    """A STAC catalog linking every item of the run (relative links, so the folder can move)."""
    links = [{"rel": "item", "href": f"./{p}", "type": "application/geo+json"} for p in item_paths]
    links.insert(0, {"rel": "root", "href": "./catalog.json", "type": "application/json"})
    catalog = {
        "type": "Catalog", "stac_version": "1.1.0", "id": f"agromap-{name}",
        "description": f"agromap run '{name}': Cloud-Optimized GeoTIFF layers with one STAC item each.",
        "links": links,
    }
    path = out / "catalog.json"
    atomic_write_text(path, json.dumps(catalog, indent=2))
    return path
