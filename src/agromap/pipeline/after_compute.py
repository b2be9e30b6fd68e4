"""What a run makes of its computed layers besides the files themselves: the products' reports and
district tables, the derived reductions of a layer read back from a file, and the inputs' records
in the manifest. Kept apart from :mod:`agromap.pipeline.runner`, which calls them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr
from odc.geo.geobox import GeoBox

from ..errors import GridMismatchError
from ..io.grid import attach_geobox
from .recipes import source_files
from .scheduler import local_get

if TYPE_CHECKING:
    from .checksums import FileHashes
    from .config import RunConfig
    from .runner import AreaPlan, Job

__all__ = ["derived_from_file", "input_records", "on_run_grid", "product_tables"]


def input_records(plans: list[AreaPlan], hashes: FileHashes) -> list[dict[str, Any]]:
    """The manifest's record of every scene read: its area, id, date, metadata and files with checksums."""
    entries = []
    for plan in plans:
        for scene in plan.scenes:
            files = sorted({f for b in scene.bands.values() if b.attrs.get("source")
                            for f in source_files(b.attrs["source"])})
            entries.append({
                "area": plan.config.name, "scene_id": scene.id, "datetime": scene.datetime.isoformat(),
                "metadata": json.loads(json.dumps(scene.metadata, default=str)),
                "files": [hashes.entry(f) for f in files],
            })
    return entries


def product_tables(cfg: RunConfig, plans: list[AreaPlan], jobs: list[Job], outputs: list[dict[str, Any]],
                   out: Path) -> dict[str, Any]:
    """The products' after-compute reports (accuracy), then per-district tables of every layer."""
    from .products.base import Computed
    from .products.registry import get_product
    from .tables import district_tables

    accuracy: list[dict[str, Any]] = []
    estimates: dict[str, Any] = {}
    layers: list[tuple[dict[str, Any], Any, dict[str, Any]]] = []
    for job, entry in zip(jobs, outputs):
        if not job.layer.derived:
            continue
        values = job.derived if job.derived is not None else derived_from_file(job)
        layers.append((entry, job.layer.spec, values))
        hook = get_product(job.layer.layer_config["product"]).after_compute
        report = None if hook is None else hook(Computed(job.layer, values, entry["path"],
                                                          out / job.plan.config.name, cfg.resolve))
        if report is not None:
            accuracy.append({"area": job.plan.config.name, "layer": entry["path"], **report.entry})
            if report.estimate is not None:
                estimates[entry["path"]] = report.estimate
    tables = [t for plan in plans for t in district_tables(plan.config, plan.districts, layers, out, cfg.resolve,
                                                           estimates)]
    return {"accuracy": accuracy, "tables": tables}


def derived_from_file(job: Job, path: Path | None = None) -> dict[str, Any]:
    """A layer's derived reductions, read back from a file it was written to.

    ``path`` None: a reused layer's published COG (nothing else holds its values). Otherwise the
    staging file of a layer computed in spatial blocks, read in the layer's own chunks (the same
    reduction tree, hence the same sums, as when computed with the layer).
    """
    import dask

    from ..io.read import open_band

    stored = on_run_grid(open_band(job.final if path is None else path, raw=True, name=job.layer.spec.name),
                         job.plan.geobox)
    if path is not None:
        data = on_run_grid(job.layer.data, job.plan.geobox)
        if data.chunks is not None:
            stored = stored.chunk(dict(zip(data.dims, data.chunks)))
    keys = list(job.layer.derived)
    values = dask.compute(*[job.layer.derived[k](stored) for k in keys], scheduler=local_get("threads"))
    return dict(zip(keys, values))


def on_run_grid(data: xr.DataArray, gbox: GeoBox) -> xr.DataArray:
    """Georeference from the run grid, never from attributes that may not have survived arithmetic."""
    if tuple(data.shape[-2:]) != tuple(gbox.shape):
        raise GridMismatchError(f"layer {data.name!r} is {data.shape[-2:]} px, the area grid {tuple(gbox.shape)}; "
                                "a product builder returned an array off the grid (a bug).")
    return attach_geobox(data.drop_vars("spatial_ref", errors="ignore"), gbox)
