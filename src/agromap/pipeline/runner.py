"""The runner: plan every area lazily, compute once, publish COGs + STAC, write the manifest.

This is one of the two places in agromap that trigger computation (the other is the COG
publish step that converts finished files). All stale layers of all areas are stored by a
single ``compute``, so no source chunk is read twice; layers whose recipe is unchanged since
the last run are not computed at all (see :mod:`agromap.pipeline.recipes`). An area with more
input chunks than ``max_graph_chunks`` is computed as one graph per spatial block instead
(:mod:`agromap.pipeline.blocks`), with the same bytes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from ..errors import NoValidDataError
from ..io.files import atomic_write_group, folders_flushed_once
from ..io.scene import Scene, run_geobox, stack_scenes
from ..io.trust import allow_inputs
from ..io.write import clean_stale_partials
from ..report import render_report
from . import blocks, noop, preflight
from .after_compute import input_records as _inputs
from .after_compute import product_tables as _tables
from .checksums import FileHashes
from .compute_layers import compute_layers
from .config import AreaConfig, RunConfig
from .heap import frozen_heap
from .input_registry import check_input_kinds, load_input
from .lock import output_lock
from .manifest import build_manifest, catalog_files, manifest_text, read_json
from .meanwhile import AFTER_COMPUTE, hashed_meanwhile, imported_meanwhile
from .noop import config_hash
from .products import AreaContext, PlannedLayer, mask_dataset, plan_layers
from .products.base import valid_mask
from .publish_layers import MapsAhead, PreparedLayer, prepared_on_workers, publish
from .recipes import area_fingerprint, layer_recipe, recipe_of, remote_inputs, source_files
from .run_id import new_run_id
from .scheduler import (
    Execution,
    check_scheduler,
    execution_kind,
    opening,
    probe_scheduler,
    rule_kernels,
)

__all__ = ["AreaPlan", "RunResult", "plan_run", "plan_area", "run", "new_run_id", "config_hash"]

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
    districts: Any = None
    """The area's district polygons prepared on its grid (:class:`agromap.zonal.Districts`), if any."""
    valid: xr.DataArray | None = None
    """The ``(time, y, x)`` usable-pixel mask behind ``valid_fraction`` (counted block by block
    when the area is computed in spatial blocks)."""
    stack: xr.Dataset | None = None
    """The area's stack before its QA mask: what the direct tile graph reads
    (:mod:`agromap.pipeline.tile_graph`)."""

    @property
    def input_files(self) -> list[str]:
        """Every file read by the area's scenes, sorted and without repeats."""
        return sorted({f for s in self.scenes for b in s.bands.values() if b.attrs.get("source")
                       for f in source_files(b.attrs["source"])})


@dataclass
class RunResult:
    """What a run produced; ``outputs`` mirrors the manifest entries."""

    run_id: str
    out_dir: Path
    manifest: dict[str, Any]
    outputs: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def computed(self) -> list[dict[str, Any]]:
        """The outputs written by this run (not reused from an earlier one)."""
        return [o for o in self.outputs if not o["reused"]]


def plan_area(cfg: RunConfig, area: AreaConfig) -> AreaPlan:
    """Open headers, build the area's lazy stack and layers; reads no pixel.

    Remote reads and STAC hrefs outside their item's folder are refused unless the configuration
    allows them (``allow_remote``, ``allow_outside_paths``).
    """
    import dask

    # Merging dates into one chunk is a small per-tile rechunk, which dask builds as plain tasks
    # whenever no distributed client is active, as here (the client starts after planning).
    # Saying so up front skips dask's check for a client, which imports dask.distributed
    # (0.4-0.6 s) into every plan, ``agromap validate`` included. The graph is unchanged.
    with allow_inputs(remote=cfg.allow_remote, outside_paths=cfg.allow_outside_paths), \
            dask.config.set({"array.rechunk.method": "tasks"}):
        return _plan_area(cfg, area)


def _plan_area(cfg: RunConfig, area: AreaConfig) -> AreaPlan:
    scenes = [scene for inp in area.inputs for scene in load_input(cfg, inp, area)]
    gbox = run_geobox(scenes, area.grid.spec(cfg.chunk), group_by=area.dates.group_by)
    ds = stack_scenes(scenes, gbox, resampling=area.grid.resampling, chunk=cfg.chunk,
                      group_by=area.dates.group_by, mosaic=area.dates.mosaic)
    masked, valid_fraction = mask_dataset(ds, area)
    layers = plan_layers(AreaContext(area, masked, cfg.resolve))
    districts = None
    if area.districts is not None:  # found now, not after the compute with layers published
        d = area.districts
        preflight.check_districts(cfg.resolve(d.path), d.id_field, d.name_field, gbox, area.name)
        districts, layers = _with_district_areas(cfg.resolve(d.path), d, gbox, layers)
    return AreaPlan(area, gbox, scenes, masked, valid_fraction, layers, districts, valid_mask(ds, area), ds)


def _with_district_areas(path: Path, d: Any, gbox: GeoBox,
                         layers: list[PlannedLayer]) -> tuple[Any, list[PlannedLayer]]:
    """Every layer also yields its per-district summary, computed with it (no read-back): class
    areas for class layers, the sums behind mean/min/max/count for continuous ones.
    """
    import dataclasses
    import functools

    from ..zonal import prepare_districts
    from ..zonal_lazy import DistrictCover, class_sums, continuous_sums
    from .tables import has_district_stats

    districts = prepare_districts(path, gbox, d.id_field, name_field=d.name_field, outside="keep")
    cover = DistrictCover(districts, gbox)  # shared by the area's layers: coverage made once per block
    out = []
    for layer in layers:
        extra: dict[str, Any] = {}
        if layer.spec.kind == "class":
            classes = sorted(v for v, _n, _c in layer.spec.classes)
            extra["district_areas"] = functools.partial(class_sums, cover=cover, classes=classes,
                                                        nodata=layer.spec.nodata)
        elif has_district_stats(layer.spec):
            extra["district_stats"] = functools.partial(continuous_sums, cover=cover, spec=layer.spec)
        out.append(dataclasses.replace(layer, derived={**layer.derived, **extra}) if extra else layer)
    return districts, out


def plan_run(cfg: RunConfig) -> list[AreaPlan]:
    """Plan every area; ``agromap validate`` runs it when its header-only check leaves the decision to the plan."""
    from ..io import header_cache

    check_scheduler(cfg.scheduler)
    check_input_kinds(cfg)
    plans = [plan_area(cfg, area) for area in cfg.areas]
    header_cache.save()  # the next plan over these files opens none of them
    return plans


@dataclass
class Job:
    """One output layer: where it goes, its recipe, and whether it must be computed."""

    plan: AreaPlan
    layer: PlannedLayer
    final: Path
    recipe: str
    stale: bool
    staging: Path | None = None
    side: dict[str, Any] = field(default_factory=dict)
    """Computed values of the layer's lazy side results (thresholds, flags)."""
    derived: dict[str, Any] | None = None
    """Computed values of the layer's ``derived`` reductions (for its product's after-compute step)."""
    prepared: PreparedLayer | None = None
    """The validated COG and quicklook waiting beside ``final`` until every layer is ready."""


def _final(out: Path, plan: AreaPlan, layer: PlannedLayer) -> Path:
    return out / plan.config.name / f"{layer.stem}.tif"


def _jobs(plans: list[AreaPlan], out: Path, force: bool, fingerprints: dict[int, str] | None) -> list[Job]:
    """The run's jobs; ``fingerprints`` (by ``id`` of the plan) None: every layer is computed and
    the recipes are set after the compute (:func:`_set_recipes`).
    """
    jobs = []
    for plan in plans:
        for layer in plan.layers:
            final = _final(out, plan, layer)
            if fingerprints is None:
                jobs.append(Job(plan, layer, final, "", True))
                continue
            recipe = layer_recipe(fingerprints[id(plan)], layer.stem, layer.layer_config)
            # An item that cannot be read (killed mid-write by an older version, edited by hand)
            # means "recompute", never a crash.
            stale = force or recipe_of(final) != recipe or not _item_ok(final.with_suffix(".json"))
            jobs.append(Job(plan, layer, final, recipe, stale))
    return jobs


def _fingerprints(cfg: RunConfig, plans: list[AreaPlan], hashes: FileHashes,
                  remote: dict[int, list[dict[str, Any]]]) -> dict[int, str]:
    return {id(p): area_fingerprint(cfg, p.config, p.input_files, hashes, remote[id(p)]) for p in plans}


def _set_recipes(jobs: list[Job], fingerprints: dict[int, str]) -> None:
    for job in jobs:
        job.recipe = layer_recipe(fingerprints[id(job.plan)], job.layer.stem, job.layer.layer_config)


def _item_ok(path: Path) -> bool:
    item = read_json(path)
    return isinstance(item, dict) and isinstance(item.get("assets"), dict) and bool(item["assets"]) \
        and isinstance(item.get("properties"), dict)


def _staging_bytes(job: Job) -> int:
    h, w = job.plan.geobox.shape
    return int(h) * int(w) * np.dtype(job.layer.spec.dtype).itemsize


def run(cfg: RunConfig, out_dir: str | Path, *, scheduler: str | None = None, run_id: str | None = None,
        wait_lock: float = 0.0, force: bool = False, progress: bool = False,
        argv: list[str] | None = None) -> RunResult:
    """Run a validated configuration and publish its products under ``out_dir``.

    Layers whose recipe is unchanged since the last run in ``out_dir`` are reused, not
    recomputed (``force=True`` recomputes everything). Raises an
    :class:`~agromap.errors.AgromapError` subclass (with its exit code) on bad input, and never
    leaves a partial file at an output path.
    """
    out = Path(out_dir)
    run_id = run_id or new_run_id()
    started = pd.Timestamp.now(tz="UTC")
    t0 = time.perf_counter()
    cfg_hash = config_hash(cfg)
    wait_lock = preflight.check_wait(wait_lock)
    sched = scheduler or cfg.scheduler
    if "://" in check_scheduler(sched):
        probe_scheduler(sched)  # before the lock or any output: an unreachable cluster fails in seconds
    preflight.check_output_folder(out)
    # Files besides the layers are flushed before their renames, their folders once at the end: a crash may
    # lose a rename, which the next run sees and repairs (docs/architecture.md#cog-publishing).
    with output_lock(out, wait=wait_lock), frozen_heap(), folders_flushed_once():
        # Holding the lock: any staging or partial file here belongs to a run that died.
        clean_stale_partials(out, include_live=True)
        if not force and (same := noop.unchanged_manifest(cfg, out, cfg_hash)) is not None:
            log.info("run %s: nothing changed since run %s; the output folder is left as it is", run_id,
                     same.get("run_id"))
            return RunResult(run_id, out, same, same["outputs"], list(same.get("warnings") or []))
        noop.forget(out)  # this run may change the folder: the kept stamps no longer hold
        hashes = FileHashes(out)
        plans = plan_run(cfg)
        remote = {id(p): remote_inputs(p.scenes) for p in plans}
        # A forced run, or a first one into this folder, computes every layer whatever its recipe:
        # the input files are then hashed during the compute (recipes and manifest need them only
        # at publication), otherwise now, to tell which layers are up to date.
        later = force or not any(_final(out, p, layer).exists() for p in plans for layer in p.layers)
        jobs = _jobs(plans, out, force, None if later else _fingerprints(cfg, plans, hashes, remote))
        hashes.save()
        preflight.check_output_names(out, [j.final for j in jobs])
        preflight.check_inputs_outside(out, [f for p in plans for f in p.input_files])
        t_plan = time.perf_counter() - t0
        stale = [j for j in jobs if j.stale]
        preflight.check_free_space(out, [_staging_bytes(j) for j in stale])
        log.info("run %s: %d layer(s), %d to compute, %d up to date", run_id, len(jobs), len(stale),
                 len(jobs) - len(stale))
        if stale:
            # The old manifest's checksums stop matching as soon as one layer is replaced: remove it
            # first, so a run killed from here on leaves no manifest rather than a wrong one.
            _invalidate(out)
        fractions: dict[str, list[float]] = {}
        shape: dict[str, Any] = {"scheduler": "none (nothing to compute)"}
        t_compute = 0.0
        # The report maps drawn during publication go on while the tables, catalog and manifest are
        # written; the report, which shows them, waits for them.
        with MapsAhead() as maps:
            try:
                # The scheduler stays open for the publication: on worker processes each layer's COG
                # and quicklook are made there too (publish_layers.prepare_layer).
                with contextlib.ExitStack() as scheduler_open:
                    execu: Execution | None = None
                    if stale:
                        limit = blocks.max_graph_chunks(cfg.max_graph_chunks)
                        files = sorted({f for p in plans for f in p.input_files}) if later and MEANWHILE else []
                        # Layers prepared on worker processes (maps included) need none of the publication's
                        # libraries here; importing them would only take CPU from the workers' compute. The
                        # report still draws the maps of areas with districts (over their tables) itself.
                        here = MEANWHILE and not (prepared_on_workers(execution_kind(sched))
                                                  and all(p.districts is None for p in plans))
                        # Started before the scheduler, so that starting or connecting to it overlaps them too.
                        # The rule kernels the compute calls, when it runs in this process (a cluster's
                        # workers load them in their warm-up).
                        kernels = rule_kernels() if MEANWHILE and execution_kind(sched) != "distributed" else ()
                        with imported_meanwhile(AFTER_COMPUTE if here else (), kernels=kernels), \
                                hashed_meanwhile(files, hashes.sha256):
                            begun = scheduler_open.enter_context(opening(sched, progress=progress))
                            shape, fractions, t_compute = compute_layers(begun, stale, plans, run_id, limit, cfg.resolve)
                            execu = begun.ready()
                    if later:
                        _set_recipes(jobs, _fingerprints(cfg, plans, hashes, remote))
                    inputs = _inputs(plans, hashes)
                    outputs, warn = publish(jobs, run_id, out, execu, name=cfg.name, maps=maps)
            finally:
                for job in stale:
                    if job.staging is not None:
                        job.staging.unlink(missing_ok=True)
                    if job.prepared is not None:
                        job.prepared.discard()
            products = _tables(cfg, plans, jobs, outputs, out)
            catalog, linked, root = catalog_files(out, cfg.name, outputs)
            empty = bool(outputs) and all(o["valid_fraction"] == 0.0 for o in outputs)
            manifest = build_manifest(
                run_id=run_id, started=started.isoformat(), finished=pd.Timestamp.now(tz="UTC").isoformat(),
                status="no_valid_data" if empty else "success", cfg_dump=cfg.model_dump(mode="json"),
                cfg_hash=cfg_hash, inputs=inputs, plans=plans, valid_by_area=fractions, cluster=shape,
                outputs=outputs, warnings=warn, argv=argv,
                timings={"plan": round(t_plan, 3), "compute": round(t_compute, 3),
                         "total": round(time.perf_counter() - t0, 3)},
            )
            manifest["catalog"] = catalog.name
            manifest["accuracy"] = products["accuracy"]
            manifest["tables"] = products["tables"]
            manifest["report"] = "report.html"
        # Flushed at once: the collections (linked by the catalog), then the catalog, the manifest and the
        # report, which shows the maps drawn ahead (waited for above); a report that fails leaves the rest.
        meta = [*linked, *root, (out / "manifest.json", manifest_text(manifest).encode())]
        try:
            meta.append((out / "report.html", render_report(
                manifest, quicklooks={o["path"]: o["quicklook"] for o in outputs},
                accuracy=products["accuracy"] or None, base_dir=out).encode()))
            hashes.save(meta)  # a cache: lost in a crash, it costs the next run the hashing, nothing else
        finally:
            atomic_write_group(meta, first=len(linked))
        if cfg.mapsheets:
            from ..mapsheet import write_mapsheets

            write_mapsheets(out)
        if not empty:
            noop.record(cfg, out, cfg_hash, plans)
    if empty:
        raise NoValidDataError(
            f"every layer of the run is nodata (all cloud or fill); see {out / 'manifest.json'}. "
            "Choose other dates or relax the mask (areas[].mask)."
        )
    return RunResult(run_id, out, manifest, outputs, warn)


def _invalidate(out: Path) -> None:
    from ..errors import output_error

    try:
        (out / "manifest.json").unlink(missing_ok=True)
    except OSError as exc:
        raise output_error(exc, out / "manifest.json") from None


MEANWHILE = True
"""Load the compute's rule kernels and import the publish and report steps' libraries, and hash
the inputs of a first or forced run, on background threads during the compute (:mod:`agromap.pipeline.meanwhile`); ``False``: after it."""
