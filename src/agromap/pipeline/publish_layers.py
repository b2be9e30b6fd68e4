"""Publishing a run's computed layers: validated COGs, their STAC items and quicklooks.

:func:`publish` prepares every layer first and only then renames them all into place, so whatever
can fail late fails while nothing is published. The expensive part of a layer,
:func:`prepare_layer`, takes paths and plain values only: it runs on threads of the run's process
or, when the run computed on a cluster of worker processes, as a task on a worker.
:func:`reused_entry` reads the manifest fields of an up-to-date output back from its file and item.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pystac
import rasterio

from .._version import __version__
from ..errors import output_error
from ..io.files import fsync_dir, partial_path, remove_partial, write_partial
from ..io.layers import LayerSpec
from ..io.stac import item_for_layer
from ..io.write import CogInfo, prepare_cog, sha256_file
from ..quicklook import write_quicklook
from .manifest import catalog_item_text, read_json
from .recipes import RECIPE_TAG

if TYPE_CHECKING:
    from .runner import Job
    from .scheduler import Execution

__all__ = ["PUBLISH_ON_WORKERS", "PUBLISH_THREADS", "MAPS_AHEAD", "MapsAhead", "PreparedLayer", "prepare_layer",
           "prepared_on_workers", "publish", "layer_tags", "in_parallel", "reused_entry"]

log = logging.getLogger(__name__)


def layer_tags(job: Job) -> dict[str, str]:
    """GeoTIFF metadata tags of a layer's COG: product, description, algorithm, recipe, dates, side values."""
    layer = job.layer
    tags = {
        "PRODUCT": layer.spec.name,
        "DESCRIPTION": layer.spec.description,
        "ALGORITHM": f"agromap.{layer.layer_config.get('product', layer.spec.name)}:{layer.reduce}",
        "ALGORITHM_VERSION": __version__,
        RECIPE_TAG: job.recipe,
        "DATETIME": layer.start.isoformat() if layer.start == layer.end
        else f"{layer.start.isoformat()}/{layer.end.isoformat()}",
        "SOURCE_PRODUCTS": str(layer.properties.get("scene_id", "")),
    }
    tags.update(layer.tags)
    for key, value in job.side.items():
        tags[key.upper()] = json.dumps(value)
    return tags


@dataclass(frozen=True)
class PreparedLayer:
    """A layer ready to be renamed into place: its validated COG and quicklook beside the final paths."""

    cog: Path
    """The validated COG (a ``.partial`` name beside the final path)."""
    quicklook: Path
    """Its quicklook PNG (a ``.partial`` name beside the final PNG)."""
    info: CogInfo
    """What the COG holds, for the manifest and the STAC item."""
    item: Path | None = None
    """Its STAC item, once written (a ``.partial`` name beside the final JSON)."""

    def discard(self) -> None:
        """Remove its files (a run that fails before publishing them all)."""
        remove_partial(self.cog)
        self.quicklook.unlink(missing_ok=True)
        if self.item is not None:
            self.item.unlink(missing_ok=True)


def prepare_layer(staging: Path, final: Path, spec: LayerSpec, tags: dict[str, str],
                  report_map: Path | None = None) -> PreparedLayer:
    """The expensive part of publishing one layer: its validated COG and its quicklook, not yet in place.

    Takes paths and plain values only, so it runs in the run's process or as a task on a worker
    (which sees the output folder, as it wrote the staging file): the COG is converted, checked and
    read for its statistics (:func:`~agromap.io.write.prepare_cog`, which removes the staging file),
    then the quicklook is drawn from it. Either file fails alone: nothing is left of the layer.

    ``report_map`` (the run's output folder): also draw the layer's report map into the report's
    map cache there (:func:`agromap.report_maps.draw_map_ahead`), as the run's drawing thread otherwise
    does; a failure there only leaves the map to the report.
    """
    cog, info = prepare_cog(staging, final, spec, tags=tags, band_description=spec.name)
    png = partial_path(final.with_suffix(".png"))
    try:
        # Drawn from the COG before its rename: the same bytes as from the published file.
        write_quicklook(cog, png, annotate=True, partial=True)
        if report_map is not None:
            _draw_map_ahead(report_map, final, spec.name, info.sha256, cog)
    except BaseException:
        remove_partial(cog)
        png.unlink(missing_ok=True)
        raise
    return PreparedLayer(cog, png, info)


def publish(jobs: list[Job], run_id: str, out: Path, execution: Execution | None = None, *, name: str,
            maps: MapsAhead | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Prepare every computed layer (validated COG, quicklook, STAC item) first, then rename them all into place.

    Whatever can fail late (a GDAL or validation error, statistics, JSON encoding) fails while
    nothing is published; the renames and small JSON writes that follow are all that remains.
    On a cluster of worker processes (``execution`` connected to one) each layer is prepared by a
    task on a worker (:func:`prepare_layer`), as the compute was, so the run's own process keeps
    only the bookkeeping, and each task also draws its layer's report map (:data:`MAPS_AHEAD`).
    Otherwise layers are prepared ``PUBLISH_THREADS`` at a time here: GDAL encodes, validates and
    draws quicklooks with the GIL released, while one more thread of this process draws each
    prepared layer's report map. Either way the report then finds the maps drawn. Every file is
    made alone, so the bytes are those of a serial publication. Each STAC item is written once,
    already linked to its collection and to the catalog of the run called ``name``
    (:func:`~agromap.pipeline.manifest.catalog_item_text`), as the run's catalog then finds it.

    ``maps``: draw the report maps there, and return once the files are in place, with the maps
    that no longer need them still being drawn (the caller closes it); otherwise they are all drawn
    on return.
    """
    items: dict[int, str] = {}
    infos: dict[int, Any] = {}
    from_file: dict[int, Future[None]] = {}
    remote = prepared_on_workers(None if execution is None else execution.kind)
    drawing = (MapsAhead() if maps is None else maps) if MAPS_AHEAD and not remote else None

    def prepared(i: int, ready: PreparedLayer) -> None:
        """The run's part of a prepared layer: its STAC item, and its report map started."""
        job = jobs[i]
        layer, final, info = job.layer, job.final, ready.info
        job.prepared = ready  # from here on the runner removes its files if the run fails
        # An area with districts gets its tables only after publication, and its maps show them.
        if drawing is not None and job.plan.districts is None:
            # Started before the item is made and flushed: the drawing thread ends the publication.
            # The view is read here: this thread has time to spare.
            view = _map_view(ready.cog, final)
            drawn = drawing.draw(out, final, layer.spec.name, info.sha256, ready.cog, view)
            if view is None:  # drawn from the prepared file, which must not move under the drawing
                from_file[i] = drawn
        item = item_for_layer(
            ready.cog, layer.spec, item_id=f"agromap-{layer.area}-{layer.stem}", href=final.name,
            datetime=layer.start if layer.start == layer.end else (layer.start, layer.end),
            properties={**{f"agromap:{k}": v for k, v in layer.properties.items()},
                        "agromap:recipe": job.recipe, "agromap:reduce": layer.reduce,
                        "agromap:run_id": run_id, **{f"agromap:{k}": v for k, v in job.side.items()},
                        **{k: job.side[k] for k in layer.stac_side if k in job.side}},
            info=info,
        )
        item.add_asset("thumbnail", pystac.Asset(
            href=final.with_suffix(".png").name, media_type="image/png", roles=["thumbnail", "overview"],
            title=f"{layer.spec.name} quicklook (fixed palette, from an overview)"))
        items[i] = catalog_item_text(item, name, layer.area, final.with_suffix(".json").relative_to(out).as_posix())
        infos[i] = info
        # Written and flushed now, while other layers are prepared: the commit only renames it.
        job.prepared = dataclasses.replace(ready, item=write_partial(final.with_suffix(".json"), items[i].encode()))

    todo = [i for i, job in enumerate(jobs) if job.stale and job.staging is not None]
    calls: dict[int, tuple[Path, Path, LayerSpec, dict[str, str]]] = {}
    for i in todo:
        staging = jobs[i].staging
        assert staging is not None  # every stale job got its staging path when it was computed
        calls[i] = (staging, jobs[i].final, jobs[i].layer.spec, layer_tags(jobs[i]))
    on_workers: list[Any] = []  # the report maps drawn by tasks of their own (MAP_TASKS)
    try:
        if remote and execution is not None:
            # Each report map is drawn on a worker too: matplotlib, which holds the GIL, off this process.
            ahead = {i: MAPS_AHEAD and jobs[i].plan.districts is None for i in todo}

            def done(k: int, ready: PreparedLayer) -> None:
                jobs[todo[k]].prepared = ready  # removed by the runner if the run fails
                # Submitted before the item is made and flushed here: the last map ends the publication.
                if ahead[todo[k]] and MAP_TASKS:
                    on_workers.append(_map_task(execution, out, jobs[todo[k]], ready, run_id))
                prepared(todo[k], ready)

            execution.map(prepare_layer,
                          [(*calls[i], out if ahead[i] and not MAP_TASKS else None) for i in todo],
                          keys=[f"agromap-publish-{jobs[i].layer.stem}-{run_id}" for i in todo], done=done)
            _drawn(on_workers)  # they read the prepared files
        else:
            in_parallel(lambda i: prepared(i, prepare_layer(*calls[i])), todo)
        _commit([jobs[i] for i in sorted(items)], list(from_file.values()))
    except BaseException:
        if drawing is not None:  # before the prepared files are removed
            drawing.close(drop=True)
        _drawn(on_workers)
        raise
    if drawing is not None and maps is None:
        drawing.close()
    return _entries(jobs, infos, run_id, out)


def _entries(jobs: list[Job], infos: dict[int, CogInfo], run_id: str, out: Path
             ) -> tuple[list[dict[str, Any]], list[str]]:
    """The manifest entries of every layer (``infos``: those published now, by index) and the warnings."""
    outputs: list[dict[str, Any]] = []
    warn: list[str] = []
    for i, job in enumerate(jobs):
        layer, final = job.layer, job.final
        if i in infos:
            info = infos[i]
            entry = {"size": info.size, "sha256": info.sha256, "dtype": info.dtype, "nodata": info.nodata,
                     "valid_fraction": info.valid_fraction, "overviews": info.overview_count,
                     "reused": False, "run_id": run_id, **({"values": dict(job.side)} if job.side else {})}
        else:
            entry = reused_entry(final)
        if "warning" in layer.properties:  # a builder's caveat about the science (e.g. no reference water)
            warn.append(f"{final}: {layer.properties['warning']}")
        if entry["valid_fraction"] == 0.0:
            msg = f"{final}: nodata everywhere (all cloud or fill, or nothing detected)"
            warn.append(msg)
            log.warning(msg)
        if not final.with_suffix(".png").exists():  # a quicklook lost since the last run
            write_quicklook(final, final.with_suffix(".png"), annotate=True)
        outputs.append({"area": layer.area, "layer": layer.spec.name, "path": str(final.relative_to(out)),
                        "stac_item": str(final.with_suffix(".json").relative_to(out)),
                        "quicklook": str(final.with_suffix(".png").relative_to(out)), "recipe": job.recipe,
                        **entry})
    return outputs, warn


PUBLISH_ON_WORKERS = True
"""On a cluster of worker processes, prepare each layer (COG, checks, quicklook, report map) as a
task there; ``False``: in the run's own process, as with threads."""


MAP_TASKS = True
"""On a cluster of worker processes, draw each layer's report map as a task of its own, submitted
as its layer is prepared, rather than at the end of the layer's task: the workers then take the
maps as they become free, so the layers' unequal costs (a decision map drawn twice as wide, a
layer without a valid pixel and no map) no longer decide which worker ends the publication last.
``False``: each layer's task draws its map."""


def _map_task(execution: Execution, out: Path, job: Job, ready: PreparedLayer, run_id: str) -> Any:
    """A prepared layer's report map (:func:`_draw_map_ahead`), submitted as a task to the cluster."""
    assert execution.client is not None  # a cluster's execution
    return execution.client.submit(_draw_map_ahead, out, job.final, job.layer.spec.name, ready.info.sha256,
                                   ready.cog, key=f"agromap-report-map-{job.layer.stem}-{run_id}",
                                   pure=False)


def _drawn(futures: list[Any]) -> None:
    """Wait for the map tasks; one that did not finish (a lost worker) only leaves its map to the report."""
    if not futures:
        return
    from distributed import wait

    wait(futures)
    for f in futures:
        if f.status != "finished":
            log.debug("report map task %s ended as %s: left to the report", f.key, f.status)


def prepared_on_workers(kind: str | None) -> bool:
    """Whether :func:`publish` prepares the layers on the worker processes of an execution of this
    :attr:`~agromap.pipeline.scheduler.Execution.kind` (``None``: nothing computed) rather than in
    this process, which then needs none of the publication's libraries.
    """
    return PUBLISH_ON_WORKERS and kind == "distributed"

PUBLISH_THREADS: int | None = None
"""Layers published at once; ``None``: one per core. 1 is the serial publication."""

MAPS_AHEAD = True
"""Draw each layer's report map on a background thread as soon as its file is prepared
(:func:`agromap.report_maps.draw_map_ahead`): matplotlib holds the GIL, GDAL's encoding of the other
layers does not, so the report's drawing overlaps the publication instead of following it. The
maps' PNG encoding (zlib, GIL released) and cache writes run on one more thread, so the drawing
thread, the publication's last, goes on with the next map meanwhile.
``False``: the report draws every map itself."""


class MapsAhead:
    """The report maps drawn during publication (:data:`MAPS_AHEAD`), on a thread of this process,
    and their PNG encoding and cache writes on one more. A run keeps it open over its publication,
    tables, catalog and manifest and closes it before its report: the drawing, which holds the GIL
    and ends last, then overlaps those steps as well as the layers' preparation.
    """

    def __init__(self) -> None:
        self._drawer: ThreadPoolExecutor | None = None
        self._encoder: ThreadPoolExecutor | None = None
        self._drawn: list[Future[None]] = []

    def draw(self, out: Path, final: Path, layer: str, sha256: str, cog: Path, view: Any) -> Future[None]:
        """Draw a prepared layer's map (:func:`_draw_map_ahead`); the threads start with the first map."""
        if self._drawer is None:
            self._drawer = ThreadPoolExecutor(1, thread_name_prefix="agromap-report-maps")
            self._encoder = ThreadPoolExecutor(1, thread_name_prefix="agromap-report-png")
        drawn = self._drawer.submit(_draw_map_ahead, out, final, layer, sha256, cog, self._encoder, view)
        self._drawn.append(drawn)
        return drawn

    def close(self, *, drop: bool = False) -> None:
        """Wait for every map drawn and written, then end the threads; ``drop`` (a failed run): maps
        not yet started are dropped, a running one ends first.
        """
        try:
            for drawn in [] if drop else self._drawn:
                drawn.result()
        finally:
            if self._drawer is not None:
                self._drawer.shutdown(wait=True, cancel_futures=True)
            if self._encoder is not None:  # after the drawer, which hands it work; the report reads what it wrote
                self._encoder.shutdown(wait=True)
            self._drawer = self._encoder = None
            self._drawn = []

    def __enter__(self) -> MapsAhead:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        self.close(drop=kind is not None)


def _map_view(cog: Path, final: Path) -> Any:
    """:func:`agromap.report_maps.map_view`, or ``None`` (failing: the drawing reads it and reports)."""
    from ..report_maps import map_view

    try:
        return map_view(cog)
    except Exception as exc:  # the drawing tries again
        log.debug("view of %s not read ahead: %s", final, exc)
        return None


def _draw_map_ahead(out: Path, final: Path, layer: str, sha256: str, cog: Path,
                    encoder: ThreadPoolExecutor | None = None, view: Any = None) -> None:
    """:func:`agromap.report_maps.draw_map_ahead`, its encoding on ``encoder`` if given; a failure only
    leaves the map to the report, which draws it again (and then reports any error itself).
    """
    from ..report_maps import draw_map_ahead

    def finish(write: Any) -> None:
        assert encoder is not None
        encoder.submit(_ahead, final, write)

    _ahead(final, lambda: draw_map_ahead(out, str(final.relative_to(out)), {"layer": layer, "sha256": sha256}, cog,
                                         finish if encoder is not None else None, view))


def _ahead(final: Path, work: Any) -> None:
    """``work()``, a part of ``final``'s map drawn ahead; failing, it only leaves the map to the report,
    which draws it again (and then reports any error itself).
    """
    try:
        work()
    except Exception as exc:  # the report redraws it
        log.debug("report map of %s not drawn ahead: %s", final, exc)


def _commit(jobs: list[Job], drawing: list[Future[None]]) -> None:
    """Rename every prepared layer into place: the COGs and quicklooks, then the STAC items, which
    mark their layers complete, each group made durable by one flush of its folders. Once the
    ``drawing`` (maps read from prepared files) is done.
    """
    for f in drawing:
        f.result()
    folders = sorted({job.final.parent for job in jobs})
    for job in jobs:
        ready = job.prepared
        assert ready is not None and ready.item is not None  # prepared() ran first for every job
        _rename(ready.cog, job.final)
        _rename(ready.quicklook, job.final.with_suffix(".png"))
    for folder in folders:
        fsync_dir(folder)
    for job in jobs:
        assert job.prepared is not None and job.prepared.item is not None
        _rename(job.prepared.item, job.final.with_suffix(".json"))
        job.prepared = None
        log.info("published %s", job.final)
    for folder in folders:
        fsync_dir(folder)


def _rename(tmp: Path, final: Path) -> None:
    try:
        os.replace(tmp, final)
    except OSError as exc:
        raise output_error(exc, final) from None


def in_parallel(work: Any, indices: list[int]) -> None:
    """``work(i)`` for every index on a thread pool; the first failure (in index order) is raised
    once every started call has finished, and calls not yet started are dropped.
    """
    threads = max(1, min(len(indices), PUBLISH_THREADS or os.cpu_count() or 1))
    if threads == 1:
        for i in indices:
            work(i)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="agromap-publish") as pool:
        futures = [pool.submit(work, i) for i in indices]
        try:
            for f in futures:
                f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def reused_entry(final: Path) -> dict[str, Any]:
    """Manifest fields of an up-to-date output, read back from the file and its STAC item."""
    item = read_json(final.with_suffix(".json"))
    asset = next(iter(item["assets"].values()))
    band = (asset.get("raster:bands") or [{}])[0]
    with rasterio.open(final) as src:
        dtype, nodata, overviews = src.dtypes[0], src.nodata, len(src.overviews(1))
    valid = item["properties"].get("valid_fraction")
    if valid is None:
        valid = band.get("statistics", {}).get("valid_percent", 0.0) / 100.0
    return {"size": final.stat().st_size, "sha256": sha256_file(final), "dtype": dtype, "nodata": nodata,
            "valid_fraction": float(valid),
            "overviews": overviews, "reused": True, "run_id": item["properties"].get("agromap:run_id")}
